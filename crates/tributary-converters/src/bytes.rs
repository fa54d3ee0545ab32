//! `org.apache.kafka.connect.converters.ByteArrayConverter`: bytes through untouched.

use std::borrow::Cow;
use tributary_api::{ConfigMap, ConnectError, Converter, HeaderConverter, Headers, Result, Schema, SchemaAndValue, SchemaRef, SchemaType, Value};

/// Kafka's ByteArrayConverter.
#[derive(Debug, Clone, Default)]
pub struct ByteArrayConverter;

fn to_bytes<'v>(schema: Option<&SchemaRef>, value: &'v Value) -> Result<Option<Cow<'v, [u8]>>> {
    if let Some(s) = schema {
        if s.type_() != SchemaType::Bytes {
            return Err(ConnectError::data(format!("Invalid schema type for ByteArrayConverter: {}", s.type_())));
        }
    }
    match value {
        Value::Null => Ok(None),
        Value::Bytes(b) => Ok(Some(Cow::Borrowed(b))),
        other => Err(ConnectError::data(format!("ByteArrayConverter is not compatible with objects of type {}", other.type_name()))),
    }
}

fn from_bytes(bytes: Option<&[u8]>) -> SchemaAndValue {
    SchemaAndValue { schema: Some(Schema::optional_bytes()), value: bytes.map(|b| Value::Bytes(b.to_vec())).unwrap_or(Value::Null) }
}

impl Converter for ByteArrayConverter {
    fn configure(&mut self, _config: &ConfigMap, _is_key: bool) -> Result<()> {
        Ok(())
    }
    fn from_connect_data<'v>(&self, _t: &str, _h: &mut Headers, schema: Option<&SchemaRef>, value: &'v Value) -> Result<Option<Cow<'v, [u8]>>> {
        to_bytes(schema, value)
    }
    fn to_connect_data(&self, _t: &str, _h: &Headers, bytes: Option<&[u8]>) -> Result<SchemaAndValue> {
        Ok(from_bytes(bytes))
    }
    fn reads_headers(&self) -> bool {
        false
    }
}

impl HeaderConverter for ByteArrayConverter {
    fn configure(&mut self, _config: &ConfigMap) -> Result<()> {
        Ok(())
    }
    fn from_connect_header(&self, _t: &str, _k: &str, schema: Option<&SchemaRef>, value: &Value) -> Result<Option<Vec<u8>>> {
        Ok(to_bytes(schema, value)?.map(Cow::into_owned))
    }
    fn to_connect_header(&self, _t: &str, _k: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue> {
        Ok(from_bytes(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_bytes_and_refuses_other_schemas() {
        let c = ByteArrayConverter;
        let mut h = Headers::new();
        assert_eq!(c.from_connect_data("t", &mut h, Some(&Schema::bytes()), &Value::Bytes(vec![0, 255])).unwrap().as_deref(), Some(&[0u8, 255][..]));
        assert_eq!(
            c.from_connect_data("t", &mut h, Some(&Schema::string()), &Value::String("x".into())).unwrap_err().to_string(),
            "Invalid schema type for ByteArrayConverter: STRING"
        );
        assert!(c.from_connect_data("t", &mut h, None, &Value::Int8(1)).is_err());
        assert_eq!(Converter::to_connect_data(&c, "t", &h, Some(&[1, 2])).unwrap().value, Value::Bytes(vec![1, 2]));
        assert_eq!(Converter::to_connect_data(&c, "t", &h, None).unwrap().value, Value::Null);
    }
}
