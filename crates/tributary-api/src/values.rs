//! Parsing text into typed Connect values (the part of `org.apache.kafka.connect.data.Values`
//! that header converters and `InsertHeader` use).

use crate::data::Value;
use crate::schema::{Schema, SchemaRef};

/// Infers a typed value from text: `true`/`false` → BOOLEAN; integers → the narrowest of
/// INT8..INT64; other numbers → FLOAT32 when finite, else FLOAT64; anything else → an optional
/// STRING. Kafka also parses `[..]` / `{..}` text into arrays and maps; here such text stays a
/// string.
pub fn parse_string(text: &str) -> (Option<SchemaRef>, Value) {
    let t = text.trim();
    if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
        return (Some(Schema::boolean()), Value::Boolean(t.eq_ignore_ascii_case("true")));
    }
    let numeric =
        !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')) && t.bytes().any(|b| b.is_ascii_digit());
    if numeric {
        if let Ok(i) = t.parse::<i64>() {
            return if let Ok(v) = i8::try_from(i) {
                (Some(Schema::int8()), Value::Int8(v))
            } else if let Ok(v) = i16::try_from(i) {
                (Some(Schema::int16()), Value::Int16(v))
            } else if let Ok(v) = i32::try_from(i) {
                (Some(Schema::int32()), Value::Int32(v))
            } else {
                (Some(Schema::int64()), Value::Int64(i))
            };
        }
        if let Ok(f) = t.parse::<f32>() {
            if f.is_finite() {
                return (Some(Schema::float32()), Value::Float32(f));
            }
        }
        if let Ok(f) = t.parse::<f64>() {
            if f.is_finite() {
                return (Some(Schema::float64()), Value::Float64(f));
            }
        }
    }
    (Some(Schema::optional_string()), Value::String(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_types() {
        assert_eq!(parse_string("true").1, Value::Boolean(true));
        assert_eq!(parse_string("12").1, Value::Int8(12));
        assert_eq!(parse_string("300").1, Value::Int16(300));
        assert_eq!(parse_string("70000").1, Value::Int32(70000));
        assert_eq!(parse_string("5000000000").1, Value::Int64(5_000_000_000));
        assert_eq!(parse_string("1.5").1, Value::Float32(1.5));
        assert_eq!(parse_string("1-2").1, Value::String("1-2".into()));
        assert_eq!(parse_string("hello").1, Value::String("hello".into()));
    }
}
