//! Field-level transforms on maps and structs: `ReplaceField`, `MaskField`, `ValueToKey`,
//! `ExtractField`, `HoistField`.

use crate::util::{self, build_struct, copy_struct_basics, require_map, require_struct, SchemaCache, Side};
use std::sync::Arc;
use tributary_api::config::{ConfigKey, ConfigType, Importance};
use tributary_api::{ConfigDef, ConfigMap, ConnectError, ConnectRecord, Decimal, RecordMeta, Result, SchemaBuilder, Transformation, Value};

fn struct_field_values(s: &tributary_api::Struct, replace_null: bool) -> impl Iterator<Item = (String, Value)> + '_ {
    s.schema().fields().iter().map(move |f| (f.name().to_owned(), util::field_value(s, f.name(), replace_null)))
}

// ---------------------------------------------------------------- ReplaceField

fn replace_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new("exclude", ConfigType::List, Importance::Medium, "Fields to exclude. This takes precedence over the fields to include.")
                .default_value(""),
        )
        .define(
            ConfigKey::new("include", ConfigType::List, Importance::Medium, "Fields to include. If specified, only these fields will be used.")
                .default_value(""),
        )
        .define(ConfigKey::new("renames", ConfigType::List, Importance::Medium, "Field rename mappings, as old:new pairs.").default_value(""))
        .define(ConfigKey::new("blacklist", ConfigType::List, Importance::Low, "Deprecated. Use exclude instead.").default_null())
        .define(ConfigKey::new("whitelist", ConfigType::List, Importance::Low, "Deprecated. Use include instead.").default_null())
}

/// Kafka's ReplaceField: drop (`exclude`), keep only (`include`) and rename (`renames`) fields.
#[derive(Default)]
pub struct ReplaceField {
    side: Side,
    exclude: Vec<String>,
    include: Vec<String>,
    renames: Vec<(String, String)>,
    cache: SchemaCache,
}

impl ReplaceField {
    pub fn new(side: Side) -> Self {
        Self { side, ..Self::default() }
    }
    fn keep(&self, name: &str) -> bool {
        !self.exclude.iter().any(|e| e == name) && (self.include.is_empty() || self.include.iter().any(|i| i == name))
    }
    fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames.iter().find(|(from, _)| from == name).map(|(_, to)| to.as_str()).unwrap_or(name)
    }
}

impl<M: RecordMeta> Transformation<M> for ReplaceField {
    fn configure(&mut self, config: &ConfigMap) -> Result<()> {
        let p = util::parse(&replace_def(), config, "ReplaceField")?;
        let list = |k: &str| p.list(k).map(<[String]>::to_vec).unwrap_or_default();
        self.exclude = [list("exclude"), list("blacklist")].concat();
        self.include = [list("include"), list("whitelist")].concat();
        self.renames = list("renames")
            .into_iter()
            .map(|pair| match pair.split_once(':') {
                Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok((a.to_owned(), b.to_owned())),
                _ => Err(ConnectError::config(format!("Invalid value {pair} for configuration renames: Invalid rename mapping: {pair}"))),
            })
            .collect::<Result<_>>()?;
        Ok(())
    }

    fn apply(&self, r: ConnectRecord<M>) -> Result<Option<ConnectRecord<M>>> {
        if self.side.value(&r).is_null() {
            return Ok(Some(r));
        }
        match self.side.schema(&r).cloned() {
            None => {
                let map = require_map(self.side.value(&r), "field replacement")?;
                let out = map
                    .iter()
                    .filter_map(|(k, v)| {
                        let name = k.as_str()?;
                        self.keep(name).then(|| (Value::String(self.renamed(name).to_owned()), v.clone()))
                    })
                    .collect();
                Ok(Some(self.side.set(r, None, Value::Map(out))))
            }
            Some(schema) => {
                let value = require_struct(self.side.value(&r), "field replacement")?;
                let updated = self.cache.get_or_build(&schema, || {
                    let mut b = copy_struct_basics(&schema);
                    for f in schema.fields().iter().filter(|f| self.keep(f.name())) {
                        b = b.field(self.renamed(f.name()), f.schema().clone());
                    }
                    b.try_build().map(Arc::new).map_err(|e| ConnectError::data(e.0))
                })?;
                let values = struct_field_values(value, false).filter(|(k, _)| self.keep(k)).map(|(k, v)| (self.renamed(&k).to_owned(), v)).collect::<Vec<_>>();
                let s = build_struct(&updated, values)?;
                Ok(Some(self.side.set(r, Some(updated), Value::Struct(s))))
            }
        }
    }

    fn config_def(&self) -> ConfigDef {
        replace_def()
    }
}

// ---------------------------------------------------------------- MaskField

fn mask_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::new("fields", ConfigType::List, Importance::High, "Names of fields to mask."))
        .define(
            ConfigKey::new(
                "replacement",
                ConfigType::String,
                Importance::Low,
                "Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty string values only).",
            )
            .default_null(),
        )
        .define(util::replace_null_key())
}

/// Kafka's MaskField: replace field values with the type's "empty" value, or `replacement`.
#[derive(Default)]
pub struct MaskField {
    side: Side,
    fields: Vec<String>,
    replacement: Option<String>,
    replace_null: bool,
}

impl MaskField {
    pub fn new(side: Side) -> Self {
        Self { side, ..Self::default() }
    }

    fn mask(&self, value: &Value, field: &str) -> Result<Value> {
        let bad = |what: &str| ConnectError::data(format!("Unable to mask value of type {} for field {field} with replacement: {what}", value.type_name()));
        if let Some(rep) = &self.replacement {
            return Ok(match value {
                Value::Null => Value::Null,
                Value::String(_) => Value::String(rep.clone()),
                Value::Int8(_) => Value::Int8(rep.parse().map_err(|_| bad(rep))?),
                Value::Int16(_) => Value::Int16(rep.parse().map_err(|_| bad(rep))?),
                Value::Int32(_) => Value::Int32(rep.parse().map_err(|_| bad(rep))?),
                Value::Int64(_) => Value::Int64(rep.parse().map_err(|_| bad(rep))?),
                Value::Float32(_) => Value::Float32(rep.parse().map_err(|_| bad(rep))?),
                Value::Float64(_) => Value::Float64(rep.parse().map_err(|_| bad(rep))?),
                Value::Decimal(d) => {
                    let parsed = Decimal::parse(rep).ok_or_else(|| bad(rep))?;
                    if parsed.scale() != d.scale() {
                        return Err(bad(rep));
                    }
                    Value::Decimal(parsed)
                }
                _ => return Err(bad(rep)),
            });
        }
        Ok(match value {
            Value::Null => Value::Null,
            Value::Int8(_) => Value::Int8(0),
            Value::Int16(_) => Value::Int16(0),
            Value::Int32(_) => Value::Int32(0),
            Value::Int64(_) => Value::Int64(0),
            Value::Float32(_) => Value::Float32(0.0),
            Value::Float64(_) => Value::Float64(0.0),
            Value::Boolean(_) => Value::Boolean(false),
            Value::String(_) => Value::String(String::new()),
            Value::Bytes(_) => Value::Bytes(Vec::new()),
            Value::Decimal(d) => Value::Decimal(Decimal::new(0, d.scale())),
            Value::Array(_) => Value::Array(Vec::new()),
            Value::Map(_) => Value::Map(Vec::new()),
            Value::Struct(_) => return Err(ConnectError::data(format!("Cannot mask value of type Struct for field {field}"))),
        })
    }
}

impl<M: RecordMeta> Transformation<M> for MaskField {
    fn configure(&mut self, config: &ConfigMap) -> Result<()> {
        let p = util::parse(&mask_def(), config, "MaskField")?;
        self.fields = p.list("fields").map(<[String]>::to_vec).unwrap_or_default();
        self.replacement = p.string("replacement").map(str::to_owned);
        self.replace_null = p.boolean(util::REPLACE_NULL).unwrap_or(true);
        if self.replacement.as_deref() == Some("") {
            return Err(ConnectError::config("Invalid value  for configuration replacement: String must be non-empty"));
        }
        Ok(())
    }

    fn apply(&self, r: ConnectRecord<M>) -> Result<Option<ConnectRecord<M>>> {
        if self.side.value(&r).is_null() {
            return Ok(Some(r));
        }
        match self.side.schema(&r).cloned() {
            None => {
                let map = require_map(self.side.value(&r), "mask fields")?;
                let out = map
                    .iter()
                    .map(|(k, v)| match k.as_str() {
                        Some(name) if self.fields.iter().any(|f| f == name) => Ok((k.clone(), self.mask(v, name)?)),
                        _ => Ok((k.clone(), v.clone())),
                    })
                    .collect::<Result<_>>()?;
                Ok(Some(self.side.set(r, None, Value::Map(out))))
            }
            Some(schema) => {
                let value = require_struct(self.side.value(&r), "mask fields")?;
                let values = struct_field_values(value, self.replace_null)
                    .map(|(k, v)| if self.fields.contains(&k) { Ok((k.clone(), self.mask(&v, &k)?)) } else { Ok((k, v)) })
                    .collect::<Result<Vec<_>>>()?;
                let s = build_struct(&schema, values)?;
                Ok(Some(self.side.set(r, Some(schema), Value::Struct(s))))
            }
        }
    }

    fn config_def(&self) -> ConfigDef {
        mask_def()
    }
}

// ---------------------------------------------------------------- ValueToKey

fn value_to_key_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::new("fields", ConfigType::List, Importance::High, "Field names on the record value to extract as the record key."))
        .define(util::replace_null_key())
}

/// Kafka's ValueToKey: the key becomes a map (or struct) of some value fields.
#[derive(Default)]
pub struct ValueToKey {
    fields: Vec<String>,
    replace_null: bool,
    cache: SchemaCache,
}

impl<M: RecordMeta> Transformation<M> for ValueToKey {
    fn configure(&mut self, config: &ConfigMap) -> Result<()> {
        let p = util::parse(&value_to_key_def(), config, "ValueToKey")?;
        self.fields = p.list("fields").map(<[String]>::to_vec).unwrap_or_default();
        self.replace_null = p.boolean(util::REPLACE_NULL).unwrap_or(true);
        if self.fields.is_empty() {
            return Err(ConnectError::config("Invalid value  for configuration fields: Empty list"));
        }
        Ok(())
    }

    fn apply(&self, mut r: ConnectRecord<M>) -> Result<Option<ConnectRecord<M>>> {
        match r.value_schema.clone() {
            None => {
                let map = require_map(&r.value, "copying fields from value to key")?;
                let key = self
                    .fields
                    .iter()
                    .map(|f| (Value::String(f.clone()), map.iter().find(|(k, _)| k.as_str() == Some(f)).map(|(_, v)| v.clone()).unwrap_or(Value::Null)))
                    .collect();
                r.key_schema = None;
                r.key = Value::Map(key);
            }
            Some(schema) => {
                let value = require_struct(&r.value, "copying fields from value to key")?;
                let key_schema = self.cache.get_or_build(&schema, || {
                    let mut b = SchemaBuilder::struct_();
                    for f in &self.fields {
                        let field = schema.field(f).ok_or_else(|| ConnectError::data(format!("Field does not exist: {f}")))?;
                        b = b.field(f.clone(), field.schema().clone());
                    }
                    b.try_build().map(Arc::new).map_err(|e| ConnectError::data(e.0))
                })?;
                let values = self.fields.iter().map(|f| (f.clone(), util::field_value(value, f, self.replace_null))).collect::<Vec<_>>();
                r.key = Value::Struct(build_struct(&key_schema, values)?);
                r.key_schema = Some(key_schema);
            }
        }
        Ok(Some(r))
    }

    fn config_def(&self) -> ConfigDef {
        value_to_key_def()
    }
}

// ---------------------------------------------------------------- ExtractField

fn extract_def() -> ConfigDef {
    ConfigDef::new().define(ConfigKey::new("field", ConfigType::String, Importance::Medium, "Field name to extract.")).define(util::replace_null_key())
}

/// Kafka's ExtractField: the key or value becomes one of its fields.
#[derive(Default)]
pub struct ExtractField {
    side: Side,
    field: String,
    replace_null: bool,
}

impl ExtractField {
    pub fn new(side: Side) -> Self {
        Self { side, ..Self::default() }
    }
}

impl<M: RecordMeta> Transformation<M> for ExtractField {
    fn configure(&mut self, config: &ConfigMap) -> Result<()> {
        let p = util::parse(&extract_def(), config, "ExtractField")?;
        self.field = p.string("field").unwrap_or_default().to_owned();
        self.replace_null = p.boolean(util::REPLACE_NULL).unwrap_or(true);
        Ok(())
    }

    fn apply(&self, r: ConnectRecord<M>) -> Result<Option<ConnectRecord<M>>> {
        if self.side.value(&r).is_null() {
            return Ok(Some(r));
        }
        match self.side.schema(&r).cloned() {
            None => {
                let map = require_map(self.side.value(&r), "field extraction")?;
                let v = map.iter().find(|(k, _)| k.as_str() == Some(self.field.as_str())).map(|(_, v)| v.clone()).unwrap_or(Value::Null);
                Ok(Some(self.side.set(r, None, v)))
            }
            Some(schema) => {
                let value = require_struct(self.side.value(&r), "field extraction")?;
                let field = schema.field(&self.field).ok_or_else(|| ConnectError::data(format!("Unknown field: {}", self.field)))?;
                let (fs, v) = (field.schema().clone(), util::field_value(value, &self.field, self.replace_null));
                Ok(Some(self.side.set(r, Some(fs), v)))
            }
        }
    }

    fn config_def(&self) -> ConfigDef {
        extract_def()
    }
}

// ---------------------------------------------------------------- HoistField

fn hoist_def() -> ConfigDef {
    ConfigDef::new().define(ConfigKey::new(
        "field",
        ConfigType::String,
        Importance::Medium,
        "Field name for the single field that will be created in the resulting Struct or Map.",
    ))
}

/// Kafka's HoistField: wraps the key or value in a struct (or map) with one field.
#[derive(Default)]
pub struct HoistField {
    side: Side,
    field: String,
    cache: SchemaCache,
}

impl HoistField {
    pub fn new(side: Side) -> Self {
        Self { side, ..Self::default() }
    }
}

impl<M: RecordMeta> Transformation<M> for HoistField {
    fn configure(&mut self, config: &ConfigMap) -> Result<()> {
        let p = util::parse(&hoist_def(), config, "HoistField")?;
        self.field = p.string("field").unwrap_or_default().to_owned();
        Ok(())
    }

    fn apply(&self, r: ConnectRecord<M>) -> Result<Option<ConnectRecord<M>>> {
        let value = self.side.value(&r).clone();
        match self.side.schema(&r).cloned() {
            None => Ok(Some(self.side.set(r, None, Value::Map(vec![(Value::String(self.field.clone()), value)])))),
            Some(schema) => {
                let updated = self.cache.get_or_build(&schema, || {
                    SchemaBuilder::struct_().field(self.field.clone(), schema.clone()).try_build().map(Arc::new).map_err(|e| ConnectError::data(e.0))
                })?;
                let s = build_struct(&updated, [(self.field.clone(), value)])?;
                Ok(Some(self.side.set(r, Some(updated), Value::Struct(s))))
            }
        }
    }

    fn config_def(&self) -> ConfigDef {
        hoist_def()
    }
}
