//! Reading Kafka Connect JSON: schemas from their JSON form, values under a schema, and
//! schemaless values.

use base64::Engine;
use serde_json::Value as Json;
use std::sync::Arc;
use tributary_api::schema::logical;
use tributary_api::{ConnectError, Decimal, Result, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value};

/// Parses a schema from Kafka's JSON schema form.
pub fn read_schema(json: &Json) -> Result<SchemaRef> {
    let obj = json.as_object().ok_or_else(|| ConnectError::data(format!("Schema must be a JSON object, found {json}")))?;
    let type_name = obj.get("type").and_then(Json::as_str).ok_or_else(|| ConnectError::data("Schema must contain 'type' field"))?;
    let mut builder = match type_name {
        "boolean" => SchemaBuilder::new(SchemaType::Boolean),
        "int8" => SchemaBuilder::new(SchemaType::Int8),
        "int16" => SchemaBuilder::new(SchemaType::Int16),
        "int32" => SchemaBuilder::new(SchemaType::Int32),
        "int64" => SchemaBuilder::new(SchemaType::Int64),
        "float" => SchemaBuilder::new(SchemaType::Float32),
        "double" => SchemaBuilder::new(SchemaType::Float64),
        "bytes" => SchemaBuilder::new(SchemaType::Bytes),
        "string" => SchemaBuilder::new(SchemaType::String),
        "array" => {
            let items = obj.get("items").ok_or_else(|| ConnectError::data("Array schema did not specify the element type"))?;
            SchemaBuilder::array(read_schema(items)?)
        }
        "map" => {
            let keys = obj.get("keys").ok_or_else(|| ConnectError::data("Map schema did not specify the key type"))?;
            let values = obj.get("values").ok_or_else(|| ConnectError::data("Map schema did not specify the value type"))?;
            SchemaBuilder::map(read_schema(keys)?, read_schema(values)?)
        }
        "struct" => {
            let fields =
                obj.get("fields").and_then(Json::as_array).ok_or_else(|| ConnectError::data("Struct schema's \"fields\" argument is not an array."))?;
            let mut b = SchemaBuilder::struct_();
            for f in fields {
                let name = f.get("field").and_then(Json::as_str).ok_or_else(|| ConnectError::data("Struct schema's field name not specified properly"))?;
                b = b.field(name, read_schema(f)?);
            }
            b
        }
        other => return Err(ConnectError::data(format!("Unknown schema type: {other}"))),
    };
    if obj.get("optional").and_then(Json::as_bool) == Some(true) {
        builder = builder.optional();
    }
    if let Some(name) = obj.get("name").and_then(Json::as_str) {
        builder = builder.name(name);
    }
    if let Some(v) = obj.get("version").and_then(Json::as_i64) {
        builder = builder.version(i32::try_from(v).map_err(|_| ConnectError::data(format!("Schema version {v} is out of range")))?);
    }
    if let Some(doc) = obj.get("doc").and_then(Json::as_str) {
        builder = builder.doc(doc);
    }
    if let Some(params) = obj.get("parameters") {
        let params = params.as_object().ok_or_else(|| ConnectError::data("Schema parameters must be a JSON object."))?;
        for (k, v) in params {
            let v = v.as_str().ok_or_else(|| ConnectError::data("Schema parameters must have string values."))?;
            builder = builder.parameter(k.clone(), v);
        }
    }
    if let Some(default) = obj.get("default") {
        // The default is read under the schema built so far (without its default).
        let base = builder.clone().try_build().map_err(|e| ConnectError::data(e.0))?;
        let value = read_value(&base, default)?;
        builder = builder.default_value(value);
    }
    builder.try_build().map(Arc::new).map_err(|e| ConnectError::data(e.0))
}

fn bad(schema: &Schema, json: &Json) -> ConnectError {
    let shown = json.to_string();
    let shown = if shown.len() > 80 { format!("{}...", &shown[..shown.char_indices().nth(77).map(|(i, _)| i).unwrap_or(shown.len())]) } else { shown };
    ConnectError::data(format!("Invalid JSON for {} schema: {shown}", schema.type_()))
}

fn int_in<T: TryFrom<i64>>(schema: &Schema, json: &Json) -> Result<T> {
    json.as_i64().and_then(|v| T::try_from(v).ok()).ok_or_else(|| bad(schema, json))
}

/// Reads a value under `schema`.
pub fn read_value(schema: &Schema, json: &Json) -> Result<Value> {
    if json.is_null() {
        if let Some(d) = schema.default_value() {
            return Ok(d.clone());
        }
        if schema.is_optional() {
            return Ok(Value::Null);
        }
        return Err(ConnectError::data(format!("Invalid null value for required {} field", schema.type_())));
    }
    Ok(match schema.type_() {
        SchemaType::Boolean => Value::Boolean(json.as_bool().ok_or_else(|| bad(schema, json))?),
        SchemaType::Int8 => Value::Int8(int_in(schema, json)?),
        SchemaType::Int16 => Value::Int16(int_in(schema, json)?),
        SchemaType::Int32 => Value::Int32(int_in(schema, json)?),
        SchemaType::Int64 => Value::Int64(int_in(schema, json)?),
        SchemaType::Float32 => Value::Float32(json.as_f64().ok_or_else(|| bad(schema, json))? as f32),
        SchemaType::Float64 => Value::Float64(json.as_f64().ok_or_else(|| bad(schema, json))?),
        SchemaType::String => Value::String(json.as_str().ok_or_else(|| bad(schema, json))?.to_owned()),
        SchemaType::Bytes if schema.name() == Some(logical::DECIMAL) => {
            let scale = logical::decimal_scale(schema).map_err(|e| ConnectError::data(e.0))?;
            match json {
                Json::Number(n) => {
                    let d = Decimal::parse(&n.to_string()).ok_or_else(|| bad(schema, json))?;
                    Value::Decimal(rescale(d, scale).ok_or_else(|| ConnectError::data(format!("Decimal {n} does not fit scale {scale}")))?)
                }
                Json::String(s) => Value::Decimal(Decimal::from_bytes(&decode_base64(s)?, scale)),
                _ => return Err(bad(schema, json)),
            }
        }
        SchemaType::Bytes => Value::Bytes(decode_base64(json.as_str().ok_or_else(|| bad(schema, json))?)?),
        SchemaType::Array => {
            let items = schema.value_schema().ok_or_else(|| ConnectError::data("ARRAY schema without items"))?;
            let arr = json.as_array().ok_or_else(|| bad(schema, json))?;
            Value::Array(arr.iter().map(|v| read_value(items, v)).collect::<Result<_>>()?)
        }
        SchemaType::Map => {
            let (ks, vs) = match (schema.key_schema(), schema.value_schema()) {
                (Some(k), Some(v)) => (k, v),
                _ => return Err(ConnectError::data("MAP schema without keys or values")),
            };
            if ks.type_() == SchemaType::String {
                let obj = json.as_object().ok_or_else(|| bad(schema, json))?;
                Value::Map(obj.iter().map(|(k, v)| Ok((Value::String(k.clone()), read_value(vs, v)?))).collect::<Result<_>>()?)
            } else {
                let arr = json.as_array().ok_or_else(|| bad(schema, json))?;
                let mut entries = Vec::with_capacity(arr.len());
                for pair in arr {
                    match pair.as_array().map(Vec::as_slice) {
                        Some([k, v]) => entries.push((read_value(ks, k)?, read_value(vs, v)?)),
                        _ => return Err(ConnectError::data("Found invalid map entry instead of array tuple")),
                    }
                }
                Value::Map(entries)
            }
        }
        SchemaType::Struct => {
            let obj = json.as_object().ok_or_else(|| bad(schema, json))?;
            let mut s = Struct::new(Arc::new(schema.clone())).map_err(|e| ConnectError::data(e.0))?;
            for f in schema.fields() {
                let v = read_value(f.schema(), obj.get(f.name()).unwrap_or(&Json::Null))
                    .map_err(|e| ConnectError::data(format!("{} (field {})", e.message(), f.name())))?;
                s.put(f.name(), v).map_err(|e| ConnectError::data(e.0))?;
            }
            Value::Struct(s)
        }
    })
}

fn rescale(d: Decimal, scale: i32) -> Option<Decimal> {
    use num_bigint::BigInt;
    let diff = scale - d.scale();
    if diff == 0 {
        return Some(d);
    }
    let ten = BigInt::from(10);
    if diff > 0 {
        Some(Decimal::new(d.unscaled() * ten.pow(diff.unsigned_abs()), scale))
    } else {
        let div = ten.pow(diff.unsigned_abs());
        let zero = BigInt::from(0);
        // Only exact rescaling: Kafka would fail rather than round.
        (d.unscaled() % &div == zero).then(|| Decimal::new(d.unscaled() / div, scale))
    }
}

fn decode_base64(s: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).map_err(|e| ConnectError::data(format!("Invalid base64 bytes: {e}")))
}

/// Reads a value without a schema: integers become INT64, other numbers FLOAT64, objects maps
/// with string keys.
pub fn read_schemaless(json: &Json) -> Result<Value> {
    Ok(match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => Value::Float64(n.as_f64().ok_or_else(|| ConnectError::data(format!("Number out of range: {n}")))?),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(items.iter().map(read_schemaless).collect::<Result<_>>()?),
        Json::Object(obj) => Value::Map(obj.iter().map(|(k, v)| Ok((Value::String(k.clone()), read_schemaless(v)?))).collect::<Result<_>>()?),
    })
}
