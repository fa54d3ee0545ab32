//! A JSON writer that produces exactly what Kafka Connect's JsonConverter (Jackson, compact)
//! produces: field order, number formatting and string escaping included. Going through
//! `serde_json::Value` would lose float widths and reorder nothing we could control.

use base64::Engine;
use tributary_api::schema::logical;
use tributary_api::{ConnectError, Result, Schema, SchemaType, Value};

/// How Decimal values are written (`decimal.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalFormat {
    /// Base64 of the two's-complement unscaled integer (Kafka's default).
    Base64,
    /// A JSON number.
    Numeric,
}

/// Writer settings.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    pub decimal_format: DecimalFormat,
    pub replace_null_with_default: bool,
}

/// Appends `s` as a JSON string, escaped as Jackson escapes it.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    // Runs that need no escaping (most text) are copied whole; only a quote, a backslash or a
    // control character is written one by one. A byte of a multi-byte character is never one
    // of those, so the cuts fall on character boundaries.
    let mut rest = s;
    while let Some(i) = rest.bytes().position(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(&rest[..i]);
        let (special, after) = rest[i..].split_at(1);
        write_escaped(out, special);
        rest = after;
    }
    out.push_str(rest);
    out.push('"');
}

/// Appends characters escaped one by one (`write_str`'s slow path).
fn write_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                let b = c as u32 as usize;
                out.push_str("\\u00");
                out.push(HEX[b >> 4] as char);
                out.push(HEX[b & 0xf] as char);
            }
            c => out.push(c),
        }
    }
}

/// Java's `Double.toString` / `Float.toString` layout over Rust's shortest round-trip digits:
/// plain notation for 10^-3 <= |x| < 10^7 (always with a fractional part), else `d.dddE±n`.
fn java_float(out: &mut String, x: f64, shortest: String, sci: String) -> Result<()> {
    if !x.is_finite() {
        return Err(ConnectError::data(format!("Cannot write the non-finite number {x} as JSON")));
    }
    let abs = x.abs();
    if abs == 0.0 || (1e-3..1e7).contains(&abs) {
        out.push_str(&shortest);
        if !shortest.contains(['.', 'e', 'E']) {
            out.push_str(".0");
        }
        return Ok(());
    }
    // `sci` looks like "1.5e-5" or "1e10".
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    out.push_str(mantissa);
    if !mantissa.contains('.') {
        out.push_str(".0");
    }
    out.push('E');
    out.push_str(exp);
    Ok(())
}

pub fn write_f32(out: &mut String, x: f32) -> Result<()> {
    java_float(out, f64::from(x), format!("{x}"), format!("{x:e}"))
}

pub fn write_f64(out: &mut String, x: f64) -> Result<()> {
    java_float(out, x, format!("{x}"), format!("{x:e}"))
}

/// Writes a schema as Kafka's JSON schema: `type`, then `items` / `keys`+`values` / `fields`,
/// then `optional`, `name`, `version`, `doc`, `parameters`, `default`.
pub fn write_schema(out: &mut String, schema: &Schema, opts: WriteOptions) -> Result<()> {
    write_schema_inner(out, schema, None, opts)
}

fn write_schema_inner(out: &mut String, schema: &Schema, field: Option<&str>, opts: WriteOptions) -> Result<()> {
    let type_name = match schema.type_() {
        SchemaType::Int8 => "int8",
        SchemaType::Int16 => "int16",
        SchemaType::Int32 => "int32",
        SchemaType::Int64 => "int64",
        SchemaType::Float32 => "float",
        SchemaType::Float64 => "double",
        SchemaType::Boolean => "boolean",
        SchemaType::String => "string",
        SchemaType::Bytes => "bytes",
        SchemaType::Array => "array",
        SchemaType::Map => "map",
        SchemaType::Struct => "struct",
    };
    out.push_str("{\"type\":\"");
    out.push_str(type_name);
    out.push('"');
    match schema.type_() {
        SchemaType::Array => {
            out.push_str(",\"items\":");
            let items = schema.value_schema().ok_or_else(|| ConnectError::data("ARRAY schema without items"))?;
            write_schema_inner(out, items, None, opts)?;
        }
        SchemaType::Map => {
            let (k, v) = match (schema.key_schema(), schema.value_schema()) {
                (Some(k), Some(v)) => (k, v),
                _ => return Err(ConnectError::data("MAP schema without keys or values")),
            };
            out.push_str(",\"keys\":");
            write_schema_inner(out, k, None, opts)?;
            out.push_str(",\"values\":");
            write_schema_inner(out, v, None, opts)?;
        }
        SchemaType::Struct => {
            out.push_str(",\"fields\":[");
            for (i, f) in schema.fields().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_schema_inner(out, f.schema(), Some(f.name()), opts)?;
            }
            out.push(']');
        }
        _ => {}
    }
    out.push_str(",\"optional\":");
    out.push_str(if schema.is_optional() { "true" } else { "false" });
    if let Some(name) = schema.name() {
        out.push_str(",\"name\":");
        write_str(out, name);
    }
    if let Some(version) = schema.version() {
        out.push_str(",\"version\":");
        out.push_str(&version.to_string());
    }
    if let Some(doc) = schema.doc() {
        out.push_str(",\"doc\":");
        write_str(out, doc);
    }
    if !schema.parameters().is_empty() {
        out.push_str(",\"parameters\":{");
        for (i, (k, v)) in schema.parameters().iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_str(out, k);
            out.push(':');
            write_str(out, v);
        }
        out.push('}');
    }
    if let Some(default) = schema.default_value() {
        out.push_str(",\"default\":");
        write_value(out, Some(schema), default, opts)?;
    }
    if let Some(f) = field {
        out.push_str(",\"field\":");
        write_str(out, f);
    }
    out.push('}');
    Ok(())
}

/// Writes a value, under its schema when there is one.
pub fn write_value(out: &mut String, schema: Option<&Schema>, value: &Value, opts: WriteOptions) -> Result<()> {
    if value.is_null() {
        match schema {
            None => out.push_str("null"),
            Some(s) => match (s.default_value(), opts.replace_null_with_default) {
                (Some(d), true) => write_value(out, Some(s), d, opts)?,
                _ if s.is_optional() => out.push_str("null"),
                (Some(_), false) => out.push_str("null"),
                _ => return Err(ConnectError::data("Conversion error: null value for field that is required and has no default value")),
            },
        }
        return Ok(());
    }
    let Some(schema) = schema else { return write_schemaless(out, value, opts) };
    let mismatch = || ConnectError::data(format!("Invalid type for {}: {}", schema.type_(), value.type_name()));
    match (schema.type_(), value) {
        (SchemaType::Int8, Value::Int8(v)) => out.push_str(&v.to_string()),
        (SchemaType::Int16, Value::Int16(v)) => out.push_str(&v.to_string()),
        (SchemaType::Int32, Value::Int32(v)) => out.push_str(&v.to_string()),
        (SchemaType::Int64, Value::Int64(v)) => out.push_str(&v.to_string()),
        (SchemaType::Float32, Value::Float32(v)) => write_f32(out, *v)?,
        (SchemaType::Float64, Value::Float64(v)) => write_f64(out, *v)?,
        (SchemaType::Boolean, Value::Boolean(v)) => out.push_str(if *v { "true" } else { "false" }),
        (SchemaType::String, Value::String(v)) => write_str(out, v),
        (SchemaType::Bytes, Value::Decimal(d)) if schema.name() == Some(logical::DECIMAL) => {
            let scale = logical::decimal_scale(schema).map_err(|e| ConnectError::data(e.0))?;
            if d.scale() != scale {
                return Err(ConnectError::data(format!("Decimal value has scale {} but the schema's scale is {scale}", d.scale())));
            }
            write_decimal(out, d, opts.decimal_format);
        }
        (SchemaType::Bytes, Value::Bytes(b)) => write_str(out, &base64::engine::general_purpose::STANDARD.encode(b)),
        (SchemaType::Array, Value::Array(items)) => {
            let item_schema = schema.value_schema().map(|s| s.as_ref());
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item_schema, v, opts)?;
            }
            out.push(']');
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let ks = schema.key_schema().map(|s| s.as_ref());
            let vs = schema.value_schema().map(|s| s.as_ref());
            let as_object = ks.is_some_and(|k| k.type_() == SchemaType::String);
            write_map(out, entries, as_object, ks, vs, opts)?;
        }
        (SchemaType::Struct, Value::Struct(s)) => {
            if s.schema().as_ref() != schema {
                return Err(ConnectError::data("Mismatching schema."));
            }
            out.push('{');
            for (i, f) in schema.fields().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, f.name());
                out.push(':');
                write_value(out, Some(f.schema()), &s.values()[f.index()], opts)?;
            }
            out.push('}');
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}

fn write_decimal(out: &mut String, d: &tributary_api::Decimal, format: DecimalFormat) {
    match format {
        DecimalFormat::Base64 => write_str(out, &base64::engine::general_purpose::STANDARD.encode(d.to_bytes())),
        DecimalFormat::Numeric => out.push_str(&d.to_string()),
    }
}

fn write_map(out: &mut String, entries: &[(Value, Value)], as_object: bool, ks: Option<&Schema>, vs: Option<&Schema>, opts: WriteOptions) -> Result<()> {
    if as_object {
        out.push('{');
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let Value::String(k) = k else { return Err(ConnectError::data("Map key is not a string")) };
            write_str(out, k);
            out.push(':');
            write_value(out, vs, v, opts)?;
        }
        out.push('}');
    } else {
        out.push('[');
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('[');
            write_value(out, ks, k, opts)?;
            out.push(',');
            write_value(out, vs, v, opts)?;
            out.push(']');
        }
        out.push(']');
    }
    Ok(())
}

fn write_schemaless(out: &mut String, value: &Value, opts: WriteOptions) -> Result<()> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Int8(v) => out.push_str(&v.to_string()),
        Value::Int16(v) => out.push_str(&v.to_string()),
        Value::Int32(v) => out.push_str(&v.to_string()),
        Value::Int64(v) => out.push_str(&v.to_string()),
        Value::Float32(v) => write_f32(out, *v)?,
        Value::Float64(v) => write_f64(out, *v)?,
        Value::Boolean(v) => out.push_str(if *v { "true" } else { "false" }),
        Value::String(v) => write_str(out, v),
        Value::Bytes(b) => write_str(out, &base64::engine::general_purpose::STANDARD.encode(b)),
        Value::Decimal(d) => write_decimal(out, d, DecimalFormat::Numeric),
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_schemaless(out, v, opts)?;
            }
            out.push(']');
        }
        Value::Map(entries) => {
            let as_object = entries.iter().all(|(k, _)| matches!(k, Value::String(_)));
            write_map(out, entries, as_object, None, None, opts)?;
        }
        Value::Struct(s) => write_value(out, Some(s.schema()), value, opts)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Copying clean runs whole writes exactly what escaping character by character does.
        #[test]
        fn runs_copied_whole_write_what_char_by_char_escaping_writes(s in "(\\PC|[\\x00-\\x1f\"\\\\\\x7f])*") {
            let mut fast = String::new();
            write_str(&mut fast, &s);
            let mut slow = String::from("\"");
            write_escaped(&mut slow, &s);
            slow.push('"');
            prop_assert_eq!(fast, slow);
        }
    }

    #[test]
    fn quotes_backslashes_and_control_characters_are_escaped_as_jackson_does() {
        let mut out = String::new();
        write_str(&mut out, "a\"b\\c\nd\u{1}é\u{7f}");
        assert_eq!(out, "\"a\\\"b\\\\c\\nd\\u0001é\u{7f}\"");
    }
}
