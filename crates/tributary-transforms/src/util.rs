//! Shared pieces: which side of the record a transform works on, Kafka's error messages for
//! unsupported shapes, config parsing, and a one-entry schema cache.

use std::sync::{Arc, Mutex};
use tributary_api::{ConfigDef, ConfigMap, ConnectError, ConnectRecord, ParsedConfig, Result, SchemaBuilder, SchemaRef, Struct, Value};

/// The part of the record a `$Key` or `$Value` transform works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Side {
    Key,
    #[default]
    Value,
}

impl Side {
    pub fn schema<M>(self, r: &ConnectRecord<M>) -> Option<&SchemaRef> {
        match self {
            Side::Key => r.key_schema.as_ref(),
            Side::Value => r.value_schema.as_ref(),
        }
    }
    pub fn value<M>(self, r: &ConnectRecord<M>) -> &Value {
        match self {
            Side::Key => &r.key,
            Side::Value => &r.value,
        }
    }
    /// The record with this side replaced.
    pub fn set<M>(self, mut r: ConnectRecord<M>, schema: Option<SchemaRef>, value: Value) -> ConnectRecord<M> {
        match self {
            Side::Key => {
                r.key_schema = schema;
                r.key = value;
            }
            Side::Value => {
                r.value_schema = schema;
                r.value = value;
            }
        }
        r
    }
}

/// `replace.null.with.default`, shared by the transforms that read struct fields.
pub const REPLACE_NULL: &str = "replace.null.with.default";

/// The definition of `replace.null.with.default`.
pub fn replace_null_key() -> tributary_api::ConfigKey {
    tributary_api::ConfigKey::new(
        REPLACE_NULL,
        tributary_api::ConfigType::Boolean,
        tributary_api::Importance::Medium,
        "Whether to replace fields that have a default value and that are null to the default value.",
    )
    .default_value("true")
}

/// A struct field's value; with `replace_null`, a null field that has a default gives the default.
pub fn field_value(s: &Struct, name: &str, replace_null: bool) -> Value {
    let v = if replace_null { s.get(name) } else { s.get_without_default(name) };
    v.cloned().unwrap_or(Value::Null)
}

/// Parses a transform's config with its definition; the error names the transform.
pub fn parse(def: &ConfigDef, config: &ConfigMap, what: &str) -> Result<ParsedConfig> {
    def.parse(config).map_err(|e| ConnectError::config(format!("{what}: {e}")))
}

/// Kafka's message for a schemaless value that is not a map.
pub fn require_map<'a>(value: &'a Value, purpose: &str) -> Result<&'a [(Value, Value)]> {
    match value {
        Value::Map(m) => Ok(m),
        other => Err(ConnectError::data(format!("Only Map objects supported in absence of schema for [{purpose}], found: {}", other.type_name()))),
    }
}

/// Kafka's message for a schema'd value that is not a struct.
pub fn require_struct<'a>(value: &'a Value, purpose: &str) -> Result<&'a Struct> {
    match value {
        Value::Struct(s) => Ok(s),
        other => Err(ConnectError::data(format!("Only Struct objects supported for [{purpose}], found: {}", other.type_name()))),
    }
}

/// A builder for a STRUCT schema carrying over name, version, doc, parameters and optionality
/// (Kafka's `SchemaUtil.copySchemaBasics`).
pub fn copy_struct_basics(schema: &SchemaRef) -> SchemaBuilder {
    let b = with_metadata(SchemaBuilder::struct_(), schema);
    if schema.is_optional() {
        b.optional()
    } else {
        b
    }
}

/// `b` with the name, version, doc and parameters of `schema`.
pub fn with_metadata(mut b: SchemaBuilder, schema: &tributary_api::Schema) -> SchemaBuilder {
    if let Some(n) = schema.name() {
        b = b.name(n);
    }
    if let Some(v) = schema.version() {
        b = b.version(v);
    }
    if let Some(d) = schema.doc() {
        b = b.doc(d);
    }
    for (k, v) in schema.parameters() {
        b = b.parameter(k.clone(), v.clone());
    }
    b
}

/// Remembers the output schema of the last input schema: most topics carry one schema, so one
/// entry saves rebuilding it for every record.
#[derive(Default)]
pub struct SchemaCache(Mutex<Option<(SchemaRef, SchemaRef)>>);

impl SchemaCache {
    pub fn get_or_build(&self, input: &SchemaRef, build: impl FnOnce() -> Result<SchemaRef>) -> Result<SchemaRef> {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((i, o)) = slot.as_ref() {
            if Arc::ptr_eq(i, input) || i == input {
                return Ok(o.clone());
            }
        }
        let out = build()?;
        *slot = Some((input.clone(), out.clone()));
        Ok(out)
    }
}

/// A struct under `schema` with the given values (by field name), checked.
pub fn build_struct(schema: &SchemaRef, values: impl IntoIterator<Item = (String, Value)>) -> Result<Struct> {
    let mut s = Struct::new(schema.clone()).map_err(|e| ConnectError::data(e.0))?;
    for (k, v) in values {
        s.put(&k, v).map_err(|e| ConnectError::data(e.0))?;
    }
    Ok(s)
}
