//! `org.apache.kafka.connect.storage.StringConverter`: values as text.

use std::borrow::Cow;
use tributary_api::config::{ConfigKey, ConfigType, Importance};
use tributary_api::{ConfigDef, ConfigMap, ConnectError, Converter, HeaderConverter, Headers, Result, Schema, SchemaAndValue, SchemaRef, Value};

pub const ENCODING: &str = "converter.encoding";

/// Kafka's StringConverter. Only UTF-8 is supported; other encodings are refused at configure.
#[derive(Debug, Clone, Default)]
pub struct StringConverter;

fn config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new(ENCODING, ConfigType::String, Importance::High, "The name of the Java character set to use for encoding strings as byte arrays.")
            .default_value("UTF8"),
    )
}

fn check_encoding(config: &ConfigMap) -> Result<()> {
    for key in [ENCODING, "serializer.encoding", "deserializer.encoding"] {
        if let Some(enc) = config.get(key) {
            let norm = enc.to_ascii_uppercase().replace('-', "");
            if norm != "UTF8" {
                return Err(ConnectError::config(format!("Invalid value {enc} for configuration {key}: only UTF-8 is supported")));
            }
        }
    }
    Ok(())
}

fn to_bytes(value: &Value) -> Option<Cow<'_, [u8]>> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(Cow::Borrowed(s.as_bytes())),
        other => Some(Cow::Owned(other.to_string().into_bytes())),
    }
}

fn from_bytes(bytes: Option<&[u8]>) -> Result<SchemaAndValue> {
    match bytes {
        None => Ok(SchemaAndValue { schema: Some(Schema::optional_string()), value: Value::Null }),
        Some(b) => {
            let s = std::str::from_utf8(b).map_err(|e| ConnectError::data(format!("Failed to deserialize string: invalid UTF-8 ({e})")))?;
            Ok(SchemaAndValue { schema: Some(Schema::optional_string()), value: Value::String(s.to_owned()) })
        }
    }
}

impl Converter for StringConverter {
    fn configure(&mut self, config: &ConfigMap, _is_key: bool) -> Result<()> {
        check_encoding(config)
    }
    fn from_connect_data<'v>(&self, _t: &str, _h: &mut Headers, _s: Option<&SchemaRef>, value: &'v Value) -> Result<Option<Cow<'v, [u8]>>> {
        Ok(to_bytes(value))
    }
    fn to_connect_data(&self, _t: &str, _h: &Headers, bytes: Option<&[u8]>) -> Result<SchemaAndValue> {
        from_bytes(bytes)
    }
    fn reads_headers(&self) -> bool {
        false
    }
    fn config_def(&self) -> ConfigDef {
        config_def()
    }
}

impl HeaderConverter for StringConverter {
    fn configure(&mut self, config: &ConfigMap) -> Result<()> {
        check_encoding(config)
    }
    fn from_connect_header(&self, _t: &str, _k: &str, _s: Option<&SchemaRef>, value: &Value) -> Result<Option<Vec<u8>>> {
        Ok(to_bytes(value).map(Cow::into_owned))
    }
    fn to_connect_header(&self, _t: &str, _k: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue> {
        from_bytes(bytes)
    }
    fn config_def(&self) -> ConfigDef {
        config_def()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_text_and_stringifies_others() {
        let c = StringConverter;
        let mut h = Headers::new();
        let value = Value::String("héllo".into());
        let lent = c.from_connect_data("t", &mut h, None, &value).unwrap();
        assert!(matches!(lent, Some(Cow::Borrowed(b)) if b == "héllo".as_bytes()), "a string's bytes are lent, not copied");
        assert_eq!(c.from_connect_data("t", &mut h, None, &Value::Int32(42)).unwrap().as_deref(), Some(&b"42"[..]));
        assert_eq!(c.from_connect_data("t", &mut h, None, &Value::Null).unwrap(), None);
        let back = Converter::to_connect_data(&c, "t", &h, Some(b"abc")).unwrap();
        assert_eq!(back, SchemaAndValue { schema: Some(Schema::optional_string()), value: Value::String("abc".into()) });
        assert!(Converter::to_connect_data(&c, "t", &h, Some(&[0xff, 0xfe])).is_err());
        let mut c2 = StringConverter;
        let bad: ConfigMap = [(ENCODING.to_owned(), "ISO-8859-1".to_owned())].into();
        assert!(Converter::configure(&mut c2, &bad, false).unwrap_err().to_string().contains("converter.encoding"));
    }
}
