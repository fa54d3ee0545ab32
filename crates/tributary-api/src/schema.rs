//! Connect schemas: the type of a key, value, header or field (`org.apache.kafka.connect.data.Schema`).

use crate::data::Value;
use indexmap::IndexMap;
use std::fmt;
use std::sync::Arc;

/// A shared, immutable schema. Records and structs hold schemas by reference count.
pub type SchemaRef = Arc<Schema>;

/// The physical type of a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaType {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    Array,
    Map,
    Struct,
}

impl SchemaType {
    /// The name Kafka Connect uses in `Schema.Type` (`INT8`, ..., `STRUCT`).
    pub fn name(self) -> &'static str {
        match self {
            SchemaType::Int8 => "INT8",
            SchemaType::Int16 => "INT16",
            SchemaType::Int32 => "INT32",
            SchemaType::Int64 => "INT64",
            SchemaType::Float32 => "FLOAT32",
            SchemaType::Float64 => "FLOAT64",
            SchemaType::Boolean => "BOOLEAN",
            SchemaType::String => "STRING",
            SchemaType::Bytes => "BYTES",
            SchemaType::Array => "ARRAY",
            SchemaType::Map => "MAP",
            SchemaType::Struct => "STRUCT",
        }
    }

    /// True for every type but ARRAY, MAP and STRUCT.
    pub fn is_primitive(self) -> bool {
        !matches!(self, SchemaType::Array | SchemaType::Map | SchemaType::Struct)
    }

    /// Parses a type name, case-insensitively (`int32`, `INT32`).
    pub fn parse(name: &str) -> Option<SchemaType> {
        let t = match name.to_ascii_uppercase().as_str() {
            "INT8" => SchemaType::Int8,
            "INT16" => SchemaType::Int16,
            "INT32" => SchemaType::Int32,
            "INT64" => SchemaType::Int64,
            "FLOAT32" => SchemaType::Float32,
            "FLOAT64" => SchemaType::Float64,
            "BOOLEAN" => SchemaType::Boolean,
            "STRING" => SchemaType::String,
            "BYTES" => SchemaType::Bytes,
            "ARRAY" => SchemaType::Array,
            "MAP" => SchemaType::Map,
            "STRUCT" => SchemaType::Struct,
            _ => return None,
        };
        Some(t)
    }
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A field of a STRUCT schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    name: String,
    index: usize,
    schema: SchemaRef,
}

impl Field {
    /// The field's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The field's position in its struct.
    pub fn index(&self) -> usize {
        self.index
    }
    /// The field's schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }
}

/// A Connect schema. Build one with [`SchemaBuilder`] or the constants-like constructors
/// ([`Schema::int32`], [`Schema::optional_string`], ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    type_: SchemaType,
    optional: bool,
    default: Option<Value>,
    name: Option<String>,
    version: Option<i32>,
    doc: Option<String>,
    parameters: IndexMap<String, String>,
    fields: Vec<Field>,
    key_schema: Option<SchemaRef>,
    value_schema: Option<SchemaRef>,
}

/// Errors found while building or validating against a schema.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SchemaError(pub String);

// Like Java's `Schema.STRING_SCHEMA` constants: one shared instance each, so converters that
// hand out the same schema for every record pay an atomic increment, not an allocation.
macro_rules! primitive_ctors {
    ($($req:ident, $opt:ident => $t:ident;)*) => {$(
        #[doc = concat!("The required ", stringify!($t), " schema (shared).")]
        pub fn $req() -> SchemaRef {
            static SCHEMA: std::sync::OnceLock<SchemaRef> = std::sync::OnceLock::new();
            SCHEMA.get_or_init(|| SchemaBuilder::new(SchemaType::$t).build_ref()).clone()
        }
        #[doc = concat!("The optional ", stringify!($t), " schema (shared).")]
        pub fn $opt() -> SchemaRef {
            static SCHEMA: std::sync::OnceLock<SchemaRef> = std::sync::OnceLock::new();
            SCHEMA.get_or_init(|| SchemaBuilder::new(SchemaType::$t).optional().build_ref()).clone()
        }
    )*};
}

impl Schema {
    primitive_ctors! {
        int8, optional_int8 => Int8;
        int16, optional_int16 => Int16;
        int32, optional_int32 => Int32;
        int64, optional_int64 => Int64;
        float32, optional_float32 => Float32;
        float64, optional_float64 => Float64;
        boolean, optional_boolean => Boolean;
        string, optional_string => String;
        bytes, optional_bytes => Bytes;
    }

    pub fn type_(&self) -> SchemaType {
        self.type_
    }
    pub fn is_optional(&self) -> bool {
        self.optional
    }
    pub fn default_value(&self) -> Option<&Value> {
        self.default.as_ref()
    }
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    pub fn version(&self) -> Option<i32> {
        self.version
    }
    pub fn doc(&self) -> Option<&str> {
        self.doc.as_deref()
    }
    pub fn parameters(&self) -> &IndexMap<String, String> {
        &self.parameters
    }
    /// The fields of a STRUCT schema, in order; empty for other types.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }
    /// The field with the given name, for STRUCT schemas.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
    /// The key schema of a MAP schema.
    pub fn key_schema(&self) -> Option<&SchemaRef> {
        self.key_schema.as_ref()
    }
    /// The value schema of a MAP schema, or the element schema of an ARRAY schema.
    pub fn value_schema(&self) -> Option<&SchemaRef> {
        self.value_schema.as_ref()
    }

    /// Checks that `value` conforms to this schema (type, required fields, logical-type ranges).
    /// Mirrors `ConnectSchema.validateValue`.
    pub fn validate_value(&self, value: &Value) -> Result<(), SchemaError> {
        validate(self, value, None)
    }
}

fn validate(schema: &Schema, value: &Value, field: Option<&str>) -> Result<(), SchemaError> {
    let at = || field.map(|f| format!(" for field: \"{f}\"")).unwrap_or_default();
    if value.is_null() {
        if schema.optional || schema.default.is_some() {
            return Ok(());
        }
        return Err(SchemaError(format!("Invalid value: null used for required field{}, schema type: {}", at_field(field), schema.type_)));
    }
    let logical = schema.name.as_deref();
    let ok = match (schema.type_, value) {
        (SchemaType::Int8, Value::Int8(_))
        | (SchemaType::Int16, Value::Int16(_))
        | (SchemaType::Float32, Value::Float32(_))
        | (SchemaType::Float64, Value::Float64(_))
        | (SchemaType::Boolean, Value::Boolean(_))
        | (SchemaType::String, Value::String(_))
        | (SchemaType::Int64, Value::Int64(_)) => true,
        (SchemaType::Int32, Value::Int32(v)) => match logical {
            Some(crate::schema::logical::TIME) if !(0..86_400_000).contains(v) => {
                return Err(SchemaError(format!("Time value {v} is outside 0..86400000 ms{}", at())));
            }
            _ => true,
        },
        (SchemaType::Bytes, Value::Bytes(_)) => logical != Some(logical::DECIMAL),
        (SchemaType::Bytes, Value::Decimal(d)) => {
            if logical != Some(logical::DECIMAL) {
                false
            } else {
                let scale = logical::decimal_scale(schema)?;
                if d.scale() != scale {
                    return Err(SchemaError(format!("Decimal value has mismatching scale {} (schema scale {scale}){}", d.scale(), at())));
                }
                true
            }
        }
        (SchemaType::Array, Value::Array(items)) => {
            let item_schema = schema.value_schema.as_ref().ok_or_else(|| SchemaError("ARRAY schema without an item schema".into()))?;
            for item in items {
                validate(item_schema, item, field)?;
            }
            true
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let (ks, vs) = match (&schema.key_schema, &schema.value_schema) {
                (Some(k), Some(v)) => (k, v),
                _ => return Err(SchemaError("MAP schema without key and value schemas".into())),
            };
            for (k, v) in entries {
                validate(ks, k, field)?;
                validate(vs, v, field)?;
            }
            true
        }
        (SchemaType::Struct, Value::Struct(s)) => {
            if s.schema().as_ref() != schema {
                return Err(SchemaError(format!("Struct schemas do not match{}", at())));
            }
            s.validate()?;
            true
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(SchemaError(format!("Invalid Java object for schema with type {}: {}{}", schema.type_, value.type_name(), at())))
    }
}

fn at_field(field: Option<&str>) -> String {
    field.map(|f| format!(" \"{f}\"")).unwrap_or_default()
}

/// Builds a [`Schema`]. Mirrors `SchemaBuilder`.
#[derive(Debug, Clone)]
pub struct SchemaBuilder {
    schema: Schema,
}

impl SchemaBuilder {
    /// A builder for a required schema of the given type.
    pub fn new(type_: SchemaType) -> Self {
        Self {
            schema: Schema {
                type_,
                optional: false,
                default: None,
                name: None,
                version: None,
                doc: None,
                parameters: IndexMap::new(),
                fields: Vec::new(),
                key_schema: None,
                value_schema: None,
            },
        }
    }
    /// A STRUCT builder.
    pub fn struct_() -> Self {
        Self::new(SchemaType::Struct)
    }
    /// An ARRAY of `items`.
    pub fn array(items: SchemaRef) -> Self {
        let mut b = Self::new(SchemaType::Array);
        b.schema.value_schema = Some(items);
        b
    }
    /// A MAP from `keys` to `values`.
    pub fn map(keys: SchemaRef, values: SchemaRef) -> Self {
        let mut b = Self::new(SchemaType::Map);
        b.schema.key_schema = Some(keys);
        b.schema.value_schema = Some(values);
        b
    }
    pub fn optional(mut self) -> Self {
        self.schema.optional = true;
        self
    }
    pub fn required(mut self) -> Self {
        self.schema.optional = false;
        self
    }
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.schema.name = Some(name.into());
        self
    }
    pub fn version(mut self, version: i32) -> Self {
        self.schema.version = Some(version);
        self
    }
    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.schema.doc = Some(doc.into());
        self
    }
    pub fn parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.schema.parameters.insert(key.into(), value.into());
        self
    }
    /// Sets the default value; checked against the schema by [`SchemaBuilder::try_build`].
    pub fn default_value(mut self, value: Value) -> Self {
        self.schema.default = Some(value);
        self
    }
    /// Appends a field to a STRUCT schema. A repeated name replaces nothing: it is reported by
    /// [`SchemaBuilder::try_build`].
    pub fn field(mut self, name: impl Into<String>, schema: SchemaRef) -> Self {
        let index = self.schema.fields.len();
        self.schema.fields.push(Field { name: name.into(), index, schema });
        self
    }
    /// Builds the schema, checking field names, container parts and the default value.
    pub fn try_build(self) -> Result<Schema, SchemaError> {
        let s = self.schema;
        if s.type_ != SchemaType::Struct && !s.fields.is_empty() {
            return Err(SchemaError(format!("Cannot create fields on type {}", s.type_)));
        }
        for (i, f) in s.fields.iter().enumerate() {
            if s.fields[..i].iter().any(|g| g.name == f.name) {
                return Err(SchemaError(format!("Cannot create field because of field name duplication {}", f.name)));
            }
        }
        if s.type_ == SchemaType::Array && s.value_schema.is_none() {
            return Err(SchemaError("ARRAY schema needs an item schema".into()));
        }
        if s.type_ == SchemaType::Map && (s.key_schema.is_none() || s.value_schema.is_none()) {
            return Err(SchemaError("MAP schema needs key and value schemas".into()));
        }
        if let Some(d) = &s.default {
            validate(&s, d, None).map_err(|e| SchemaError(format!("Invalid default value: {}", e.0)))?;
        }
        Ok(s)
    }
    /// Builds the schema. Panics only on builder misuse that is a programming error (duplicate
    /// field names, a default of the wrong type); use [`SchemaBuilder::try_build`] for schemas
    /// derived from user input.
    #[allow(clippy::expect_used)]
    pub fn build(self) -> Schema {
        self.try_build().expect("invalid schema built in code")
    }
    /// [`SchemaBuilder::build`] behind an [`Arc`].
    pub fn build_ref(self) -> SchemaRef {
        Arc::new(self.build())
    }
}

/// Kafka Connect's logical types: names and helpers.
pub mod logical {
    use super::{Schema, SchemaBuilder, SchemaError, SchemaType};

    /// `org.apache.kafka.connect.data.Decimal`: BYTES holding a big-endian two's-complement
    /// unscaled integer, with the `scale` parameter.
    pub const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
    /// `org.apache.kafka.connect.data.Date`: INT32 days since the epoch.
    pub const DATE: &str = "org.apache.kafka.connect.data.Date";
    /// `org.apache.kafka.connect.data.Time`: INT32 milliseconds since midnight.
    pub const TIME: &str = "org.apache.kafka.connect.data.Time";
    /// `org.apache.kafka.connect.data.Timestamp`: INT64 milliseconds since the epoch.
    pub const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
    /// The parameter holding a Decimal's scale.
    pub const SCALE_FIELD: &str = "scale";

    /// A Decimal schema builder with the given scale.
    pub fn decimal(scale: i32) -> SchemaBuilder {
        SchemaBuilder::new(SchemaType::Bytes).name(DECIMAL).parameter(SCALE_FIELD, scale.to_string()).version(1)
    }
    /// A Date schema builder.
    pub fn date() -> SchemaBuilder {
        SchemaBuilder::new(SchemaType::Int32).name(DATE).version(1)
    }
    /// A Time schema builder.
    pub fn time() -> SchemaBuilder {
        SchemaBuilder::new(SchemaType::Int32).name(TIME).version(1)
    }
    /// A Timestamp schema builder.
    pub fn timestamp() -> SchemaBuilder {
        SchemaBuilder::new(SchemaType::Int64).name(TIMESTAMP).version(1)
    }
    /// The scale of a Decimal schema.
    pub fn decimal_scale(schema: &Schema) -> Result<i32, SchemaError> {
        schema
            .parameters()
            .get(SCALE_FIELD)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| SchemaError("Invalid Decimal schema: scale parameter not found.".into()))
    }
}
