//! `HeaderFrom$Key` / `HeaderFrom$Value`: copy or move fields into headers.

use crate::util::{self, build_struct, copy_struct_basics, require_map, require_struct, SchemaCache, Side};
use std::sync::Arc;
use tributary_api::config::{ConfigKey, ConfigType, Importance, Validator};
use tributary_api::{ConfigDef, ConfigMap, ConnectError, ConnectRecord, RecordMeta, Result, Transformation, Value};

const PURPOSE: &str = "header from";

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::new("fields", ConfigType::List, Importance::High, "Field names in the record whose values are to be copied or moved to headers."))
        .define(ConfigKey::new("headers", ConfigType::List, Importance::High, "Header names, in the same order as the field names listed in the fields configuration property."))
        .define(ConfigKey::new("operation", ConfigType::String, Importance::High, "Either move if the fields are to be moved to the headers (removed from the key/value), or copy if the fields are to be copied to the headers (retained in the key/value).").validator(Validator::OneOf(vec!["move", "copy"])))
        .define(util::replace_null_key())
}

/// Kafka's HeaderFrom.
#[derive(Default)]
pub struct HeaderFrom {
    side: Side,
    pairs: Vec<(String, String)>,
    move_fields: bool,
    replace_null: bool,
    cache: SchemaCache,
}

impl HeaderFrom {
    pub fn new(side: Side) -> Self {
        Self { side, ..Self::default() }
    }
    fn moved(&self, field: &str) -> bool {
        self.move_fields && self.pairs.iter().any(|(f, _)| f == field)
    }
}

impl<M: RecordMeta> Transformation<M> for HeaderFrom {
    fn configure(&mut self, config: &ConfigMap) -> Result<()> {
        let p = util::parse(&config_def(), config, "HeaderFrom")?;
        let fields = p.list("fields").map(<[String]>::to_vec).unwrap_or_default();
        let headers = p.list("headers").map(<[String]>::to_vec).unwrap_or_default();
        if fields.len() != headers.len() {
            return Err(ConnectError::config(format!(
                "Invalid value {} for configuration headers: 'fields' config must have the same number of elements as 'headers' config.",
                headers.join(",")
            )));
        }
        self.pairs = fields.into_iter().zip(headers).collect();
        self.replace_null = p.boolean(util::REPLACE_NULL).unwrap_or(true);
        self.move_fields = p.string("operation").is_some_and(|o| o.eq_ignore_ascii_case("move"));
        Ok(())
    }

    fn apply(&self, mut r: ConnectRecord<M>) -> Result<Option<ConnectRecord<M>>> {
        if self.side.value(&r).is_null() {
            return Ok(Some(r));
        }
        match self.side.schema(&r).cloned() {
            None => {
                let map = require_map(self.side.value(&r), PURPOSE)?.to_vec();
                for (field, header) in &self.pairs {
                    let v = map.iter().find(|(k, _)| k.as_str() == Some(field)).map(|(_, v)| v.clone()).unwrap_or(Value::Null);
                    r.headers.add(header.clone(), None, v);
                }
                let kept = map.into_iter().filter(|(k, _)| !k.as_str().is_some_and(|k| self.moved(k))).collect();
                Ok(Some(self.side.set(r, None, Value::Map(kept))))
            }
            Some(schema) => {
                let value = require_struct(self.side.value(&r), PURPOSE)?.clone();
                for (field, header) in &self.pairs {
                    let f = schema.field(field).ok_or_else(|| ConnectError::data(format!("{field} is not a valid field name")))?;
                    r.headers.add(header.clone(), Some(f.schema().clone()), util::field_value(&value, field, self.replace_null));
                }
                if !self.move_fields {
                    return Ok(Some(r));
                }
                let updated = self.cache.get_or_build(&schema, || {
                    let mut b = copy_struct_basics(&schema);
                    for f in schema.fields().iter().filter(|f| !self.moved(f.name())) {
                        b = b.field(f.name(), f.schema().clone());
                    }
                    b.try_build().map(Arc::new).map_err(|e| ConnectError::data(e.0))
                })?;
                let values = updated.fields().iter().map(|f| (f.name().to_owned(), util::field_value(&value, f.name(), self.replace_null))).collect::<Vec<_>>();
                let s = build_struct(&updated, values)?;
                Ok(Some(self.side.set(r, Some(updated), Value::Struct(s))))
            }
        }
    }

    fn config_def(&self) -> ConfigDef {
        config_def()
    }
}
