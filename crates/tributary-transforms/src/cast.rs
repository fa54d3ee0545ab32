//! `Cast$Key` / `Cast$Value`: cast the whole key/value or some fields to another primitive type.

use crate::util::{self, build_struct, copy_struct_basics, require_map, require_struct, SchemaCache, Side};
use std::sync::Arc;
use tributary_api::config::{ConfigKey, ConfigType, Importance};
use tributary_api::{ConfigDef, ConfigMap, ConnectError, ConnectRecord, RecordMeta, Result, SchemaBuilder, SchemaRef, SchemaType, Transformation, Value};

const PURPOSE: &str = "cast types";

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::new("spec", ConfigType::List, Importance::High, "List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of Maps or Structs. A single type to cast the entire value. Valid types are int8, int16, int32, int64, float32, float64, boolean, and string."))
        .define(util::replace_null_key())
}

fn parse_type(name: &str) -> Result<SchemaType> {
    match name.trim().to_ascii_lowercase().as_str() {
        "int8" => Ok(SchemaType::Int8),
        "int16" => Ok(SchemaType::Int16),
        "int32" => Ok(SchemaType::Int32),
        "int64" => Ok(SchemaType::Int64),
        "float32" => Ok(SchemaType::Float32),
        "float64" => Ok(SchemaType::Float64),
        "boolean" => Ok(SchemaType::Boolean),
        "string" => Ok(SchemaType::String),
        other => Err(ConnectError::config(format!("Invalid type found in casting spec: {other}"))),
    }
}

/// Casts one primitive value, as Kafka's `Cast` does (numbers truncate, strings parse,
/// booleans become 0/1, anything primitive can become a string).
pub fn cast(value: &Value, to: SchemaType) -> Result<Value> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let bad = || ConnectError::data(format!("Unexpected type in Cast transformation: {} to {}", value.type_name(), to));
    let as_f64 = || -> Result<f64> {
        Ok(match value {
            Value::Int8(v) => f64::from(*v),
            Value::Int16(v) => f64::from(*v),
            Value::Int32(v) => f64::from(*v),
            Value::Int64(v) => *v as f64,
            Value::Float32(v) => f64::from(*v),
            Value::Float64(v) => *v,
            Value::Boolean(b) => f64::from(u8::from(*b)),
            Value::String(s) => s.trim().parse().map_err(|_| ConnectError::data(format!("Value {s} cannot be cast to {to}")))?,
            _ => return Err(bad()),
        })
    };
    let as_i64 = || -> Result<i64> {
        Ok(match value {
            Value::Int8(v) => (*v).into(),
            Value::Int16(v) => (*v).into(),
            Value::Int32(v) => (*v).into(),
            Value::Int64(v) => *v,
            Value::Float32(v) => *v as i64,
            Value::Float64(v) => *v as i64,
            Value::Boolean(b) => i64::from(*b),
            Value::String(s) => s.trim().parse().map_err(|_| ConnectError::data(format!("Value {s} cannot be cast to {to}")))?,
            _ => return Err(bad()),
        })
    };
    let narrow = |v: i64, ok: bool| if ok { Ok(v) } else { Err(ConnectError::data(format!("Value {v} is out of range for {to}"))) };
    Ok(match to {
        SchemaType::Int8 => {
            let v = as_i64()?;
            Value::Int8(narrow(v, i8::try_from(v).is_ok())? as i8)
        }
        SchemaType::Int16 => {
            let v = as_i64()?;
            Value::Int16(narrow(v, i16::try_from(v).is_ok())? as i16)
        }
        SchemaType::Int32 => {
            let v = as_i64()?;
            Value::Int32(narrow(v, i32::try_from(v).is_ok())? as i32)
        }
        SchemaType::Int64 => Value::Int64(as_i64()?),
        SchemaType::Float32 => Value::Float32(as_f64()? as f32),
        SchemaType::Float64 => Value::Float64(as_f64()?),
        SchemaType::Boolean => Value::Boolean(match value {
            Value::String(s) => s.trim().eq_ignore_ascii_case("true"),
            Value::Boolean(b) => *b,
            _ => as_f64()? != 0.0,
        }),
        SchemaType::String => match value {
            Value::String(s) => Value::String(s.clone()),
            Value::Array(_) | Value::Map(_) | Value::Struct(_) | Value::Bytes(_) => return Err(bad()),
            other => Value::String(other.to_string()),
        },
        _ => return Err(bad()),
    })
}

fn cast_schema(from: &SchemaRef, to: SchemaType) -> Result<SchemaRef> {
    if !from.type_().is_primitive() {
        return Err(ConnectError::data(format!("Cast transformation does not support casting to/from {}", from.type_())));
    }
    let mut b = SchemaBuilder::new(to);
    if from.is_optional() {
        b = b.optional();
    }
    if let Some(d) = from.default_value() {
        b = b.default_value(cast(d, to)?);
    }
    b.try_build().map(Arc::new).map_err(|e| ConnectError::data(e.0))
}

/// Kafka's Cast.
#[derive(Default)]
pub struct Cast {
    side: Side,
    /// `None` field: the whole value.
    spec: Vec<(Option<String>, SchemaType)>,
    replace_null: bool,
    cache: SchemaCache,
}

impl Cast {
    pub fn new(side: Side) -> Self {
        Self { side, ..Self::default() }
    }
    fn target(&self, field: &str) -> Option<SchemaType> {
        self.spec.iter().find(|(f, _)| f.as_deref() == Some(field)).map(|(_, t)| *t)
    }
}

impl<M: RecordMeta> Transformation<M> for Cast {
    fn configure(&mut self, config: &ConfigMap) -> Result<()> {
        let p = util::parse(&config_def(), config, "Cast")?;
        self.replace_null = p.boolean(util::REPLACE_NULL).unwrap_or(true);
        let items = p.list("spec").map(<[String]>::to_vec).unwrap_or_default();
        if items.is_empty() {
            return Err(ConnectError::config("Invalid value  for configuration spec: Must specify at least one field to cast."));
        }
        self.spec = items
            .iter()
            .map(|item| match item.split_once(':') {
                Some((f, t)) => Ok((Some(f.trim().to_owned()), parse_type(t)?)),
                None => Ok((None, parse_type(item)?)),
            })
            .collect::<Result<_>>()?;
        if self.spec.iter().any(|(f, _)| f.is_none()) && self.spec.len() > 1 {
            return Err(ConnectError::config(
                "Cast transformations that specify a type to cast the entire value to may only specify a single cast in their spec",
            ));
        }
        Ok(())
    }

    fn apply(&self, r: ConnectRecord<M>) -> Result<Option<ConnectRecord<M>>> {
        if self.side.value(&r).is_null() {
            return Ok(Some(r));
        }
        let schema = self.side.schema(&r).cloned();
        if let [(None, to)] = self.spec.as_slice() {
            let value = cast(self.side.value(&r), *to)?;
            let schema = match &schema {
                Some(s) => Some(self.cache.get_or_build(s, || cast_schema(s, *to))?),
                None => None,
            };
            return Ok(Some(self.side.set(r, schema, value)));
        }
        match schema {
            None => {
                let map = require_map(self.side.value(&r), PURPOSE)?;
                let out = map
                    .iter()
                    .map(|(k, v)| match k.as_str().and_then(|n| self.target(n)) {
                        Some(to) => Ok((k.clone(), cast(v, to)?)),
                        None => Ok((k.clone(), v.clone())),
                    })
                    .collect::<Result<_>>()?;
                Ok(Some(self.side.set(r, None, Value::Map(out))))
            }
            Some(schema) => {
                let value = require_struct(self.side.value(&r), PURPOSE)?;
                let updated = self.cache.get_or_build(&schema, || {
                    let mut b = copy_struct_basics(&schema);
                    for f in schema.fields() {
                        b = match self.target(f.name()) {
                            Some(to) => b.field(f.name(), cast_schema(f.schema(), to)?),
                            None => b.field(f.name(), f.schema().clone()),
                        };
                    }
                    b.try_build().map(Arc::new).map_err(|e| ConnectError::data(e.0))
                })?;
                let mut values = Vec::with_capacity(schema.fields().len());
                for f in schema.fields() {
                    let v = util::field_value(value, f.name(), self.replace_null);
                    values.push((
                        f.name().to_owned(),
                        match self.target(f.name()) {
                            Some(to) => cast(&v, to)?,
                            None => v,
                        },
                    ));
                }
                let s = build_struct(&updated, values)?;
                Ok(Some(self.side.set(r, Some(updated), Value::Struct(s))))
            }
        }
    }

    fn config_def(&self) -> ConfigDef {
        config_def()
    }
}
