//! `org.apache.kafka.connect.storage.SimpleHeaderConverter`: header values as text, with types
//! inferred back from the text.
//!
//! Serialization: strings as their bytes, other primitives in their text form, bytes in base64,
//! arrays, maps and structs as compact JSON. Deserialization infers booleans, integers (the
//! narrowest of INT8..INT64) and decimals (FLOAT32 when finite, else FLOAT64), as Kafka's
//! `Values.parseString` does; everything else — including text that looks like an array or map,
//! which Kafka parses further — stays a string.

use base64::Engine;
use tributary_api::{ConfigMap, ConnectError, HeaderConverter, Result, SchemaAndValue, SchemaRef, Value};

/// Kafka's SimpleHeaderConverter (the worker's default header converter).
#[derive(Debug, Clone, Default)]
pub struct SimpleHeaderConverter;

impl HeaderConverter for SimpleHeaderConverter {
    fn configure(&mut self, _config: &ConfigMap) -> Result<()> {
        Ok(())
    }

    fn from_connect_header(&self, _t: &str, _k: &str, schema: Option<&SchemaRef>, value: &Value) -> Result<Option<Vec<u8>>> {
        Ok(match value {
            Value::Null => None,
            Value::String(s) => Some(s.as_bytes().to_vec()),
            Value::Bytes(b) => Some(base64::engine::general_purpose::STANDARD.encode(b).into_bytes()),
            Value::Array(_) | Value::Map(_) | Value::Struct(_) => Some(crate::json::to_json_text(schema, value)?.into_bytes()),
            other => Some(other.to_string().into_bytes()),
        })
    }

    fn to_connect_header(&self, _t: &str, _k: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue> {
        let Some(bytes) = bytes else { return Ok(SchemaAndValue::NULL) };
        let text = std::str::from_utf8(bytes).map_err(|e| ConnectError::data(format!("Failed to deserialize header value: invalid UTF-8 ({e})")))?;
        Ok(parse_string(text))
    }
}

fn parse_string(text: &str) -> SchemaAndValue {
    let (schema, value) = tributary_api::values::parse_string(text);
    SchemaAndValue { schema, value }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(v: Value) -> Vec<u8> {
        SimpleHeaderConverter.from_connect_header("t", "k", None, &v).unwrap().unwrap()
    }

    #[test]
    fn writes_text_and_infers_types_back() {
        assert_eq!(round(Value::String("abc".into())), b"abc");
        assert_eq!(round(Value::Int64(5)), b"5");
        assert_eq!(round(Value::Array(vec![Value::Int32(1), Value::String("a".into())])), br#"[1,"a"]"#);
        let c = SimpleHeaderConverter;
        assert_eq!(c.to_connect_header("t", "k", Some(b"true")).unwrap().value, Value::Boolean(true));
        assert_eq!(c.to_connect_header("t", "k", Some(b"12")).unwrap().value, Value::Int8(12));
        assert_eq!(c.to_connect_header("t", "k", Some(b"70000")).unwrap().value, Value::Int32(70000));
        assert_eq!(c.to_connect_header("t", "k", Some(b"1.5")).unwrap().value, Value::Float32(1.5));
        assert_eq!(c.to_connect_header("t", "k", Some(b"hello")).unwrap().value, Value::String("hello".into()));
        assert_eq!(c.to_connect_header("t", "k", Some(b"1-2")).unwrap().value, Value::String("1-2".into()));
        assert_eq!(c.to_connect_header("t", "k", None).unwrap(), SchemaAndValue::NULL);
    }
}
