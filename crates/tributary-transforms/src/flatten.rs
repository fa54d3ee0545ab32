//! `Flatten$Key` / `Flatten$Value`: nested structs or maps become top-level fields named
//! `parent<delimiter>child`.

use crate::util::{self, build_struct, copy_struct_basics, require_map, require_struct, SchemaCache, Side};
use std::sync::Arc;
use tributary_api::config::{ConfigKey, ConfigType, Importance};
use tributary_api::{
    ConfigDef, ConfigMap, ConnectError, ConnectRecord, RecordMeta, Result, SchemaBuilder, SchemaRef, SchemaType, Struct, Transformation, Value,
};

const PURPOSE: &str = "flattening";

fn config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new(
            "delimiter",
            ConfigType::String,
            Importance::Medium,
            "Delimiter to insert between field names from the input record when generating field names for the output record",
        )
        .default_value("."),
    )
}

/// Kafka's Flatten.
#[derive(Default)]
pub struct Flatten {
    side: Side,
    delimiter: String,
    cache: SchemaCache,
}

impl Flatten {
    pub fn new(side: Side) -> Self {
        Self { side, delimiter: ".".into(), ..Self::default() }
    }

    fn name(&self, prefix: &str, field: &str) -> String {
        if prefix.is_empty() {
            field.to_owned()
        } else {
            format!("{prefix}{}{field}", self.delimiter)
        }
    }

    fn flatten_map(&self, prefix: &str, entries: &[(Value, Value)], out: &mut Vec<(Value, Value)>) -> Result<()> {
        for (k, v) in entries {
            let key = k.as_str().ok_or_else(|| ConnectError::data(format!("Flatten only supports string keys in maps, found {}", k.type_name())))?;
            let name = self.name(prefix, key);
            match v {
                Value::Map(inner) => self.flatten_map(&name, inner, out)?,
                other => out.push((Value::String(name), other.clone())),
            }
        }
        Ok(())
    }

    fn flatten_schema(&self, prefix: &str, schema: &SchemaRef, optional: bool, b: SchemaBuilder) -> Result<SchemaBuilder> {
        let mut b = b;
        for f in schema.fields() {
            let name = self.name(prefix, f.name());
            let fs = f.schema();
            let opt = optional || fs.is_optional();
            if fs.type_() == SchemaType::Struct {
                b = self.flatten_schema(&name, fs, opt, b)?;
            } else if opt && !fs.is_optional() {
                // A field under an optional struct becomes optional: the struct may be null.
                let mut fb = util::with_metadata(SchemaBuilder::new(fs.type_()).optional(), fs);
                if let Some(d) = fs.default_value() {
                    fb = fb.default_value(d.clone());
                }
                if fs.type_() == SchemaType::Array || fs.type_() == SchemaType::Map {
                    b = b.field(name, fs.clone());
                } else {
                    b = b.field(name, fb.try_build().map(Arc::new).map_err(|e| ConnectError::data(e.0))?);
                }
            } else {
                b = b.field(name, fs.clone());
            }
        }
        Ok(b)
    }

    fn flatten_struct(&self, prefix: &str, schema: &SchemaRef, value: Option<&Struct>, out: &mut Vec<(String, Value)>) {
        for f in schema.fields() {
            let name = self.name(prefix, f.name());
            let v = value.and_then(|s| s.get(f.name())).cloned().unwrap_or(Value::Null);
            if f.schema().type_() == SchemaType::Struct {
                let inner = match &v {
                    Value::Struct(s) => Some(s),
                    _ => None,
                };
                self.flatten_struct(&name, f.schema(), inner, out);
            } else {
                out.push((name, v));
            }
        }
    }
}

impl<M: RecordMeta> Transformation<M> for Flatten {
    fn configure(&mut self, config: &ConfigMap) -> Result<()> {
        let p = util::parse(&config_def(), config, "Flatten")?;
        // The delimiter is taken as written: spaces are meaningful.
        self.delimiter = config.get("delimiter").cloned().unwrap_or_else(|| p.string("delimiter").unwrap_or(".").to_owned());
        Ok(())
    }

    fn apply(&self, r: ConnectRecord<M>) -> Result<Option<ConnectRecord<M>>> {
        if self.side.value(&r).is_null() {
            return Ok(Some(r));
        }
        match self.side.schema(&r).cloned() {
            None => {
                let map = require_map(self.side.value(&r), PURPOSE)?;
                let mut out = Vec::new();
                self.flatten_map("", map, &mut out)?;
                Ok(Some(self.side.set(r, None, Value::Map(out))))
            }
            Some(schema) => {
                let value = require_struct(self.side.value(&r), PURPOSE)?;
                let updated = self.cache.get_or_build(&schema, || {
                    self.flatten_schema("", &schema, false, copy_struct_basics(&schema))?.try_build().map(Arc::new).map_err(|e| ConnectError::data(e.0))
                })?;
                let mut values = Vec::new();
                self.flatten_struct("", &schema, Some(value), &mut values);
                let s = build_struct(&updated, values)?;
                Ok(Some(self.side.set(r, Some(updated), Value::Struct(s))))
            }
        }
    }

    fn config_def(&self) -> ConfigDef {
        config_def()
    }
}
