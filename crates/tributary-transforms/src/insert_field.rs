//! `InsertField$Key` / `InsertField$Value`: add the record's topic, partition, offset,
//! timestamp, or a static value as fields.

use crate::util::{self, build_struct, copy_struct_basics, require_map, require_struct, SchemaCache, Side};
use tributary_api::config::{ConfigKey, ConfigType, Importance};
use tributary_api::schema::logical;
use tributary_api::{ConfigDef, ConfigMap, ConnectError, ConnectRecord, RecordMeta, Result, Schema, SchemaRef, Transformation, Value};

const PURPOSE: &str = "field insertion";

/// A field to insert: its name and whether it is optional (`name?`, the default) or required (`name!`).
#[derive(Debug, Clone)]
struct InsertionSpec {
    name: String,
    optional: bool,
}

impl InsertionSpec {
    fn parse(spec: Option<&str>) -> Option<Self> {
        let spec = spec.filter(|s| !s.is_empty())?;
        Some(match spec.strip_suffix('!') {
            Some(n) => Self { name: n.to_owned(), optional: false },
            None => Self { name: spec.strip_suffix('?').unwrap_or(spec).to_owned(), optional: true },
        })
    }
}

fn config_def() -> ConfigDef {
    let field = |name: &str, doc: &str| ConfigKey::new(name, ConfigType::String, Importance::Medium, doc).default_null();
    ConfigDef::new()
        .define(field("topic.field", "Field name for Kafka topic. Suffix with ! to make this a required field, or ? to keep it optional (the default)."))
        .define(field("partition.field", "Field name for Kafka partition. Suffix with ! to make this a required field, or ? to keep it optional (the default)."))
        .define(field("offset.field", "Field name for Kafka offset - only applicable to sink connectors. Suffix with ! to make this a required field, or ? to keep it optional (the default)."))
        .define(field("timestamp.field", "Field name for record timestamp. Suffix with ! to make this a required field, or ? to keep it optional (the default)."))
        .define(field("static.field", "Field name for static data field. Suffix with ! to make this a required field, or ? to keep it optional (the default)."))
        .define(field("static.value", "Static field value, if field name configured."))
        .define(util::replace_null_key())
}

/// Kafka's InsertField.
#[derive(Default)]
pub struct InsertField {
    side: Side,
    topic: Option<InsertionSpec>,
    partition: Option<InsertionSpec>,
    offset: Option<InsertionSpec>,
    timestamp: Option<InsertionSpec>,
    static_field: Option<InsertionSpec>,
    static_value: Option<String>,
    replace_null: bool,
    cache: SchemaCache,
}

impl InsertField {
    pub fn new(side: Side) -> Self {
        Self { side, ..Self::default() }
    }

    /// The fields to add to one record, in Kafka's order.
    fn insertions<M: RecordMeta>(&self, r: &ConnectRecord<M>) -> Result<Vec<(String, Value)>> {
        let mut out = Vec::new();
        if let Some(f) = &self.topic {
            out.push((f.name.clone(), Value::String(r.topic.to_string())));
        }
        if let Some(f) = &self.partition {
            out.push((f.name.clone(), r.kafka_partition.map(Value::Int32).unwrap_or(Value::Null)));
        }
        if let Some(f) = &self.offset {
            let offset = r.meta.kafka_offset().ok_or_else(|| ConnectError::data(format!("Only SinkRecord supported for [{PURPOSE}], found: SourceRecord")))?;
            out.push((f.name.clone(), Value::Int64(offset)));
        }
        if let Some(f) = &self.timestamp {
            out.push((f.name.clone(), r.timestamp.map(Value::Int64).unwrap_or(Value::Null)));
        }
        if let (Some(f), Some(v)) = (&self.static_field, &self.static_value) {
            out.push((f.name.clone(), Value::String(v.clone())));
        }
        Ok(out)
    }

    fn updated_schema(&self, schema: &SchemaRef) -> Result<SchemaRef> {
        let mut b = copy_struct_basics(schema);
        for f in schema.fields() {
            b = b.field(f.name(), f.schema().clone());
        }
        let pick = |spec: &InsertionSpec, optional: SchemaRef, required: SchemaRef| if spec.optional { optional } else { required };
        if let Some(f) = &self.topic {
            b = b.field(f.name.clone(), pick(f, Schema::optional_string(), Schema::string()));
        }
        if let Some(f) = &self.partition {
            b = b.field(f.name.clone(), pick(f, Schema::optional_int32(), Schema::int32()));
        }
        if let Some(f) = &self.offset {
            b = b.field(f.name.clone(), pick(f, Schema::optional_int64(), Schema::int64()));
        }
        if let Some(f) = &self.timestamp {
            b = b.field(f.name.clone(), pick(f, logical::timestamp().optional().build_ref(), logical::timestamp().build_ref()));
        }
        if let (Some(f), Some(_)) = (&self.static_field, &self.static_value) {
            b = b.field(f.name.clone(), pick(f, Schema::optional_string(), Schema::string()));
        }
        b.try_build().map(std::sync::Arc::new).map_err(|e| ConnectError::data(e.0))
    }
}

impl<M: RecordMeta> Transformation<M> for InsertField {
    fn configure(&mut self, config: &ConfigMap) -> Result<()> {
        let p = util::parse(&config_def(), config, "InsertField")?;
        self.topic = InsertionSpec::parse(p.string("topic.field"));
        self.partition = InsertionSpec::parse(p.string("partition.field"));
        self.offset = InsertionSpec::parse(p.string("offset.field"));
        self.timestamp = InsertionSpec::parse(p.string("timestamp.field"));
        self.static_field = InsertionSpec::parse(p.string("static.field"));
        self.static_value = p.string("static.value").map(str::to_owned);
        self.replace_null = p.boolean(util::REPLACE_NULL).unwrap_or(true);
        if self.static_field.is_some() != self.static_value.is_some() {
            return Err(ConnectError::config("InsertField: static.field and static.value must be set together"));
        }
        Ok(())
    }

    fn apply(&self, r: ConnectRecord<M>) -> Result<Option<ConnectRecord<M>>> {
        // Tombstones pass through untouched.
        if self.side.value(&r).is_null() {
            return Ok(Some(r));
        }
        let inserts = self.insertions(&r)?;
        match self.side.schema(&r).cloned() {
            None => {
                let mut map = require_map(self.side.value(&r), PURPOSE)?.to_vec();
                for (k, v) in inserts {
                    map.retain(|(key, _)| key.as_str() != Some(k.as_str()));
                    map.push((Value::String(k), v));
                }
                Ok(Some(self.side.set(r, None, Value::Map(map))))
            }
            Some(schema) => {
                let value = require_struct(self.side.value(&r), PURPOSE)?;
                let updated = self.cache.get_or_build(&schema, || self.updated_schema(&schema))?;
                let fields = schema.fields().iter().map(|f| (f.name().to_owned(), util::field_value(value, f.name(), self.replace_null)));
                let s = build_struct(&updated, fields.chain(inserts))?;
                Ok(Some(self.side.set(r, Some(updated), Value::Struct(s))))
            }
        }
    }

    fn config_def(&self) -> ConfigDef {
        config_def()
    }
}
