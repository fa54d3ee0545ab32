//! `org.apache.kafka.connect.json.JsonConverter`: Connect data as JSON, with or without the
//! `{"schema": ..., "payload": ...}` envelope.

mod read;
mod write;

pub use write::DecimalFormat;

use std::borrow::Cow;
use tributary_api::config::{ConfigKey, ConfigType, Importance, Validator};
use tributary_api::{ConfigDef, ConfigMap, ConnectError, Converter, HeaderConverter, Headers, Result, SchemaAndValue, SchemaRef, Value};
use write::WriteOptions;

pub const SCHEMAS_ENABLE: &str = "schemas.enable";
pub const SCHEMAS_CACHE_SIZE: &str = "schemas.cache.size";
pub const DECIMAL_FORMAT: &str = "decimal.format";
pub const REPLACE_NULL_WITH_DEFAULT: &str = "replace.null.with.default";

const ENVELOPE_ERROR: &str = "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.";

/// Kafka's JsonConverter.
#[derive(Debug, Clone)]
pub struct JsonConverter {
    schemas_enable: bool,
    opts: WriteOptions,
    /// Parsed schemas by their JSON text (`schemas.cache.size`): a topic usually carries one
    /// schema, and parsing it for every record was most of the converter's cost.
    cache: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<Box<str>, SchemaRef>>>,
    cache_size: usize,
}

/// The envelope, with both parts left as raw JSON so the schema's text can key the cache.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(borrow)]
    schema: &'a serde_json::value::RawValue,
    #[serde(borrow)]
    payload: &'a serde_json::value::RawValue,
}

impl Default for JsonConverter {
    fn default() -> Self {
        Self::new(true, DecimalFormat::Base64)
    }
}

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(SCHEMAS_ENABLE, ConfigType::Boolean, Importance::High, "Include schemas within each serialized value and key").default_value("true"),
        )
        .define(
            ConfigKey::new(
                SCHEMAS_CACHE_SIZE,
                ConfigType::Int,
                Importance::High,
                "The maximum number of schemas that can be cached in this converter instance",
            )
            .default_value("1000")
            .validator(Validator::at_least(0.0)),
        )
        .define(
            ConfigKey::new(
                DECIMAL_FORMAT,
                ConfigType::String,
                Importance::Low,
                "Controls which format this converter will serialize decimals in: BASE64 or NUMERIC",
            )
            .default_value("BASE64")
            .validator(Validator::OneOf(vec!["BASE64", "NUMERIC"])),
        )
        .define(
            ConfigKey::new(
                REPLACE_NULL_WITH_DEFAULT,
                ConfigType::Boolean,
                Importance::Low,
                "Whether to replace fields that have a default value and that are null to the default value",
            )
            .default_value("true"),
        )
}

impl JsonConverter {
    /// A converter with the given settings (what `configure` produces).
    pub fn new(schemas_enable: bool, decimal_format: DecimalFormat) -> Self {
        Self { schemas_enable, opts: WriteOptions { decimal_format, replace_null_with_default: true }, cache: Default::default(), cache_size: 1000 }
    }

    fn cached_schema(&self, raw: &str) -> Result<SchemaRef> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = cache.get(raw) {
            return Ok(s.clone());
        }
        let json: serde_json::Value = serde_json::from_str(raw).map_err(|e| ConnectError::data(format!("Invalid schema JSON: {e}")))?;
        let schema = read::read_schema(&json)?;
        if self.cache_size > 0 {
            if cache.len() >= self.cache_size {
                // Bounded: a stream of ever-new schemas starts the cache over.
                cache.clear();
            }
            cache.insert(raw.into(), schema.clone());
        }
        Ok(schema)
    }

    fn configure_from(&mut self, config: &ConfigMap) -> Result<()> {
        // Keys other than ours (converter.type, ...) are allowed, as in Kafka.
        let ours: ConfigMap = config.iter().filter(|(k, _)| config_def().key(k).is_some()).map(|(k, v)| (k.clone(), v.clone())).collect();
        let parsed = config_def().parse(&ours).map_err(|e| ConnectError::config(format!("JsonConverter: {e}")))?;
        self.schemas_enable = parsed.boolean(SCHEMAS_ENABLE).unwrap_or(true);
        self.cache_size = usize::try_from(parsed.int(SCHEMAS_CACHE_SIZE).unwrap_or(1000)).unwrap_or(0);
        self.opts.replace_null_with_default = parsed.boolean(REPLACE_NULL_WITH_DEFAULT).unwrap_or(true);
        self.opts.decimal_format = match parsed.string(DECIMAL_FORMAT).map(str::to_ascii_uppercase).as_deref() {
            Some("NUMERIC") => DecimalFormat::Numeric,
            _ => DecimalFormat::Base64,
        };
        Ok(())
    }

    /// Serializes without touching headers.
    pub fn serialize(&self, schema: Option<&SchemaRef>, value: &Value) -> Result<Option<Vec<u8>>> {
        if schema.is_none() && value.is_null() {
            return Ok(None);
        }
        // Room for the envelope and a string or bytes payload, so the buffer does not grow
        // (each doubling copies what was written).
        let payload = match value {
            Value::String(s) => s.len(),
            Value::Bytes(b) => b.len() / 3 * 4,
            _ => 0,
        };
        let mut out = String::with_capacity(128 + payload);
        if self.schemas_enable {
            out.push_str("{\"schema\":");
            match schema {
                Some(s) => write::write_schema(&mut out, s, self.opts)?,
                None => out.push_str("null"),
            }
            out.push_str(",\"payload\":");
            write::write_value(&mut out, schema.map(|s| s.as_ref()), value, self.opts)?;
            out.push('}');
        } else {
            write::write_value(&mut out, schema.map(|s| s.as_ref()), value, self.opts)?;
        }
        Ok(Some(out.into_bytes()))
    }

    /// Deserializes without touching headers.
    pub fn deserialize(&self, bytes: Option<&[u8]>) -> Result<SchemaAndValue> {
        let Some(bytes) = bytes else { return Ok(SchemaAndValue::NULL) };
        let syntax = |e: serde_json::Error| ConnectError::data(format!("Converting byte[] to Kafka Connect data failed due to serialization error: {e}"));
        if !self.schemas_enable {
            let json: serde_json::Value = serde_json::from_slice(bytes).map_err(syntax)?;
            return Ok(SchemaAndValue { schema: None, value: read::read_schemaless(&json)? });
        }
        let envelope: Envelope<'_> = match serde_json::from_slice(bytes) {
            Ok(e) => e,
            // Valid JSON of another shape is Kafka's envelope error; invalid JSON is a syntax error.
            Err(_) => {
                serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(syntax)?;
                return Err(ConnectError::data(ENVELOPE_ERROR));
            }
        };
        let payload: serde_json::Value = serde_json::from_str(envelope.payload.get()).map_err(syntax)?;
        if envelope.schema.get() == "null" {
            return Ok(SchemaAndValue { schema: None, value: read::read_schemaless(&payload)? });
        }
        let schema = self.cached_schema(envelope.schema.get())?;
        let value = read::read_value(&schema, &payload)?;
        Ok(SchemaAndValue { schema: Some(schema), value })
    }
}

impl Converter for JsonConverter {
    fn configure(&mut self, config: &ConfigMap, _is_key: bool) -> Result<()> {
        self.configure_from(config)
    }
    fn from_connect_data<'v>(&self, _topic: &str, _headers: &mut Headers, schema: Option<&SchemaRef>, value: &'v Value) -> Result<Option<Cow<'v, [u8]>>> {
        Ok(self.serialize(schema, value)?.map(Cow::Owned))
    }
    fn to_connect_data(&self, _topic: &str, _headers: &Headers, bytes: Option<&[u8]>) -> Result<SchemaAndValue> {
        self.deserialize(bytes)
    }
    fn reads_headers(&self) -> bool {
        false
    }
    fn config_def(&self) -> ConfigDef {
        config_def()
    }
}

impl HeaderConverter for JsonConverter {
    fn configure(&mut self, config: &ConfigMap) -> Result<()> {
        self.configure_from(config)
    }
    fn from_connect_header(&self, _topic: &str, _key: &str, schema: Option<&SchemaRef>, value: &Value) -> Result<Option<Vec<u8>>> {
        self.serialize(schema, value)
    }
    fn to_connect_header(&self, _topic: &str, _key: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue> {
        self.deserialize(bytes)
    }
    fn config_def(&self) -> ConfigDef {
        config_def()
    }
}

/// Writes a value as compact schemaless JSON (used by the header converter for structured values).
pub fn to_json_text(schema: Option<&SchemaRef>, value: &Value) -> Result<String> {
    let mut out = String::new();
    write::write_value(&mut out, schema.map(|s| s.as_ref()), value, WriteOptions { decimal_format: DecimalFormat::Numeric, replace_null_with_default: true })?;
    Ok(out)
}

#[cfg(test)]
mod tests;
