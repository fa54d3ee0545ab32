//! Record-level transforms: `Filter`, `DropHeaders`, `InsertHeader`, `SetSchemaMetadata`.

use crate::util::{self, build_struct, Side};
use std::sync::Arc;
use tributary_api::config::{ConfigKey, ConfigType, Importance};
use tributary_api::{ConfigDef, ConfigMap, ConnectError, ConnectRecord, RecordMeta, Result, SchemaBuilder, SchemaRef, Transformation, Value};

/// Kafka's Filter: drops every record it is applied to; used with a predicate.
#[derive(Default)]
pub struct Filter;

impl<M: RecordMeta> Transformation<M> for Filter {
    fn configure(&mut self, _config: &ConfigMap) -> Result<()> {
        Ok(())
    }
    fn apply(&self, _r: ConnectRecord<M>) -> Result<Option<ConnectRecord<M>>> {
        Ok(None)
    }
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }
}

fn drop_headers_def() -> ConfigDef {
    ConfigDef::new().define(ConfigKey::new("headers", ConfigType::List, Importance::High, "The name of the headers to be removed."))
}

/// Kafka's DropHeaders.
#[derive(Default)]
pub struct DropHeaders {
    headers: Vec<String>,
}

impl<M: RecordMeta> Transformation<M> for DropHeaders {
    fn configure(&mut self, config: &ConfigMap) -> Result<()> {
        let p = util::parse(&drop_headers_def(), config, "DropHeaders")?;
        self.headers = p.list("headers").map(<[String]>::to_vec).unwrap_or_default();
        if self.headers.is_empty() {
            return Err(ConnectError::config("Invalid value  for configuration headers: Empty list"));
        }
        Ok(())
    }
    fn apply(&self, mut r: ConnectRecord<M>) -> Result<Option<ConnectRecord<M>>> {
        for h in &self.headers {
            r.headers.remove(h);
        }
        Ok(Some(r))
    }
    fn config_def(&self) -> ConfigDef {
        drop_headers_def()
    }
}

fn insert_header_def() -> ConfigDef {
    ConfigDef::new().define(ConfigKey::new("header", ConfigType::String, Importance::High, "The name of the header.")).define(ConfigKey::new(
        "value.literal",
        ConfigType::String,
        Importance::High,
        "The literal value that is to be set as the header value on all records.",
    ))
}

/// Kafka's InsertHeader: a header with a literal value, typed as `Values.parseString` would.
#[derive(Default)]
pub struct InsertHeader {
    header: String,
    schema: Option<SchemaRef>,
    value: Value,
}

impl<M: RecordMeta> Transformation<M> for InsertHeader {
    fn configure(&mut self, config: &ConfigMap) -> Result<()> {
        let p = util::parse(&insert_header_def(), config, "InsertHeader")?;
        self.header = p.string("header").unwrap_or_default().to_owned();
        // The literal keeps its spaces: parse the raw value, not the trimmed one.
        let literal = config.get("value.literal").map(String::as_str).unwrap_or_default();
        (self.schema, self.value) = tributary_api::values::parse_string(literal);
        Ok(())
    }
    fn apply(&self, mut r: ConnectRecord<M>) -> Result<Option<ConnectRecord<M>>> {
        r.headers.add(self.header.clone(), self.schema.clone(), self.value.clone());
        Ok(Some(r))
    }
    fn config_def(&self) -> ConfigDef {
        insert_header_def()
    }
}

fn set_schema_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::new("schema.name", ConfigType::String, Importance::High, "Schema name to set.").default_null())
        .define(ConfigKey::new("schema.version", ConfigType::Int, Importance::High, "Schema version to set.").default_null())
        .define(util::replace_null_key())
}

/// Kafka's SetSchemaMetadata: sets the name and/or version of the key or value schema (and of
/// a struct value's schema with it).
#[derive(Default)]
pub struct SetSchemaMetadata {
    side: Side,
    name: Option<String>,
    version: Option<i32>,
    replace_null: bool,
}

impl SetSchemaMetadata {
    pub fn new(side: Side) -> Self {
        Self { side, ..Self::default() }
    }
}

impl<M: RecordMeta> Transformation<M> for SetSchemaMetadata {
    fn configure(&mut self, config: &ConfigMap) -> Result<()> {
        let p = util::parse(&set_schema_def(), config, "SetSchemaMetadata")?;
        self.name = p.string("schema.name").map(str::to_owned);
        self.version = p.int("schema.version");
        self.replace_null = p.boolean(util::REPLACE_NULL).unwrap_or(true);
        if self.name.is_none() && self.version.is_none() {
            return Err(ConnectError::config("Neither schema name nor version configured"));
        }
        Ok(())
    }

    fn apply(&self, r: ConnectRecord<M>) -> Result<Option<ConnectRecord<M>>> {
        let Some(schema) = self.side.schema(&r).cloned() else {
            return Err(ConnectError::data("Schema required for [updating schema metadata]"));
        };
        let mut b = match schema.type_() {
            tributary_api::SchemaType::Array => SchemaBuilder::array(schema.value_schema().cloned().ok_or_else(|| ConnectError::data("ARRAY without items"))?),
            tributary_api::SchemaType::Map => SchemaBuilder::map(
                schema.key_schema().cloned().ok_or_else(|| ConnectError::data("MAP without keys"))?,
                schema.value_schema().cloned().ok_or_else(|| ConnectError::data("MAP without values"))?,
            ),
            t => SchemaBuilder::new(t),
        };
        for f in schema.fields() {
            b = b.field(f.name(), f.schema().clone());
        }
        if schema.is_optional() {
            b = b.optional();
        }
        if let Some(d) = schema.doc() {
            b = b.doc(d);
        }
        for (k, v) in schema.parameters() {
            b = b.parameter(k.clone(), v.clone());
        }
        if let Some(d) = schema.default_value() {
            b = b.default_value(d.clone());
        }
        if let Some(n) = self.name.clone().or_else(|| schema.name().map(str::to_owned)) {
            b = b.name(n);
        }
        if let Some(v) = self.version.or(schema.version()) {
            b = b.version(v);
        }
        let updated: SchemaRef = Arc::new(b.try_build().map_err(|e| ConnectError::data(e.0))?);
        // A struct value carries its schema: rebuild it under the renamed schema.
        let value = match self.side.value(&r) {
            Value::Struct(s) => {
                let fields = s.schema().fields().iter().map(|f| (f.name().to_owned(), util::field_value(s, f.name(), self.replace_null)));
                Value::Struct(build_struct(&updated, fields.collect::<Vec<_>>())?)
            }
            other => other.clone(),
        };
        Ok(Some(self.side.set(r, Some(updated), value)))
    }

    fn config_def(&self) -> ConfigDef {
        set_schema_def()
    }
}
