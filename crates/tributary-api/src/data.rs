//! Connect values: what a key, value, header or field holds (Java's `Object` under a `Schema`).

use crate::schema::{SchemaError, SchemaRef, SchemaType};
use num_bigint::BigInt;
use std::fmt;

/// A Connect value. With a schema, the variant must match the schema's type (see
/// [`crate::Schema::validate_value`]); without one (schemaless data) any variant may appear.
///
/// Logical types: Date and Time are `Int32`, Timestamp is `Int64` (the schema's name says which);
/// Decimal has its own variant because its value carries a scale.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    Boolean(bool),
    String(String),
    Bytes(Vec<u8>),
    Decimal(Decimal),
    Array(Vec<Value>),
    /// Entries in insertion order; keys may be of any type, as in Java's `Map<?, ?>`.
    Map(Vec<(Value, Value)>),
    Struct(Struct),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    /// A short name of the variant, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Int8(_) => "Byte",
            Value::Int16(_) => "Short",
            Value::Int32(_) => "Integer",
            Value::Int64(_) => "Long",
            Value::Float32(_) => "Float",
            Value::Float64(_) => "Double",
            Value::Boolean(_) => "Boolean",
            Value::String(_) => "String",
            Value::Bytes(_) => "byte[]",
            Value::Decimal(_) => "BigDecimal",
            Value::Array(_) => "List",
            Value::Map(_) => "Map",
            Value::Struct(_) => "Struct",
        }
    }
    /// The schema type a schemaless value would be given (`Schema.Type` inference).
    pub fn inferred_type(&self) -> Option<SchemaType> {
        Some(match self {
            Value::Null => return None,
            Value::Int8(_) => SchemaType::Int8,
            Value::Int16(_) => SchemaType::Int16,
            Value::Int32(_) => SchemaType::Int32,
            Value::Int64(_) => SchemaType::Int64,
            Value::Float32(_) => SchemaType::Float32,
            Value::Float64(_) => SchemaType::Float64,
            Value::Boolean(_) => SchemaType::Boolean,
            Value::String(_) => SchemaType::String,
            Value::Bytes(_) | Value::Decimal(_) => SchemaType::Bytes,
            Value::Array(_) => SchemaType::Array,
            Value::Map(_) => SchemaType::Map,
            Value::Struct(_) => SchemaType::Struct,
        })
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    /// The value as an i64 when it is an integer of any width.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int8(v) => Some(v.into()),
            Value::Int16(v) => Some(v.into()),
            Value::Int32(v) => Some(v.into()),
            Value::Int64(v) => Some(v),
            _ => None,
        }
    }
    /// Looks up a string key in a map value.
    pub fn map_get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int32(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int64(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Boolean(v)
    }
}
impl From<Struct> for Value {
    fn from(v: Struct) -> Self {
        Value::Struct(v)
    }
}

impl fmt::Display for Value {
    /// Java's `String.valueOf` rendering for primitives (what FileStreamSink writes).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Int8(v) => write!(f, "{v}"),
            Value::Int16(v) => write!(f, "{v}"),
            Value::Int32(v) => write!(f, "{v}"),
            Value::Int64(v) => write!(f, "{v}"),
            Value::Float32(v) => write!(f, "{v:?}"),
            Value::Float64(v) => write!(f, "{v:?}"),
            Value::Boolean(v) => write!(f, "{v}"),
            Value::String(v) => f.write_str(v),
            Value::Bytes(v) => write!(f, "{v:?}"),
            Value::Decimal(d) => write!(f, "{d}"),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}={v}")?;
                }
                f.write_str("}")
            }
            Value::Struct(s) => write!(f, "{s}"),
        }
    }
}

/// An arbitrary-precision decimal: `unscaled × 10^-scale` (Java's `BigDecimal`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal {
    unscaled: BigInt,
    scale: i32,
}

impl Decimal {
    pub fn new(unscaled: impl Into<BigInt>, scale: i32) -> Self {
        Self { unscaled: unscaled.into(), scale }
    }
    pub fn unscaled(&self) -> &BigInt {
        &self.unscaled
    }
    pub fn scale(&self) -> i32 {
        self.scale
    }
    /// The big-endian two's-complement bytes of the unscaled value (`BigInteger.toByteArray`).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.unscaled.to_signed_bytes_be()
    }
    /// The inverse of [`Decimal::to_bytes`].
    pub fn from_bytes(bytes: &[u8], scale: i32) -> Self {
        Self { unscaled: BigInt::from_signed_bytes_be(bytes), scale }
    }
    /// Parses plain decimal text (`-12.340`, `5`, `1.5E3`), keeping the digits as written.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (mantissa, exp) = match text.find(['e', 'E']) {
            Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
            None => (text, 0),
        };
        let (int_part, frac_part) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, ""),
        };
        if frac_part.contains(['-', '+']) || (int_part.len() <= 1 && int_part.trim_start_matches(['-', '+']).is_empty() && frac_part.is_empty()) {
            return None;
        }
        let digits = format!("{int_part}{frac_part}");
        let unscaled: BigInt = digits.parse().ok()?;
        let scale = i32::try_from(frac_part.len()).ok()?.checked_sub(exp)?;
        Some(Self { unscaled, scale })
    }
}

impl fmt::Display for Decimal {
    /// Plain notation, like `BigDecimal.toPlainString`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.unscaled.sign() == num_bigint::Sign::Minus;
        let digits = self.unscaled.magnitude().to_string();
        let sign = if neg { "-" } else { "" };
        if self.scale <= 0 {
            let zeros = "0".repeat(self.scale.unsigned_abs() as usize);
            return write!(f, "{sign}{digits}{zeros}");
        }
        let scale = self.scale as usize;
        if digits.len() > scale {
            let (i, d) = digits.split_at(digits.len() - scale);
            write!(f, "{sign}{i}.{d}")
        } else {
            write!(f, "{sign}0.{}{digits}", "0".repeat(scale - digits.len()))
        }
    }
}

/// A structured value whose fields are described by a STRUCT schema
/// (`org.apache.kafka.connect.data.Struct`).
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    schema: SchemaRef,
    values: Vec<Value>,
}

impl Struct {
    /// A struct with every field null. Fails when the schema is not a STRUCT.
    pub fn new(schema: SchemaRef) -> Result<Self, SchemaError> {
        if schema.type_() != SchemaType::Struct {
            return Err(SchemaError(format!("Not a struct schema: {}", schema.type_())));
        }
        let values = vec![Value::Null; schema.fields().len()];
        Ok(Self { schema, values })
    }
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }
    /// Sets a field, checking the value against the field's schema.
    pub fn put(&mut self, field: &str, value: impl Into<Value>) -> Result<&mut Self, SchemaError> {
        let f = self.schema.field(field).ok_or_else(|| SchemaError(format!("{field} is not a valid field name")))?;
        let value = value.into();
        f.schema().validate_value(&value).map_err(|e| SchemaError(format!("{} for field: \"{field}\"", e.0)))?;
        self.values[f.index()] = value;
        Ok(self)
    }
    /// Builder-style [`Struct::put`].
    pub fn with(mut self, field: &str, value: impl Into<Value>) -> Result<Self, SchemaError> {
        self.put(field, value)?;
        Ok(self)
    }
    /// The raw value of a field (null if unset), without applying the default.
    pub fn get_without_default(&self, field: &str) -> Option<&Value> {
        self.schema.field(field).map(|f| &self.values[f.index()])
    }
    /// The value of a field, or the field schema's default when the value is null.
    pub fn get(&self, field: &str) -> Option<&Value> {
        let f = self.schema.field(field)?;
        let v = &self.values[f.index()];
        match (v, f.schema().default_value()) {
            (Value::Null, Some(d)) => Some(d),
            _ => Some(v),
        }
    }
    /// The values in field order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }
    /// Checks every field against its schema: required fields must be set.
    pub fn validate(&self) -> Result<(), SchemaError> {
        for f in self.schema.fields() {
            f.schema().validate_value(&self.values[f.index()]).map_err(|e| SchemaError(format!("{} for field: \"{}\"", e.0, f.name())))?;
        }
        Ok(())
    }
}

impl fmt::Display for Struct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Struct{")?;
        let mut first = true;
        for field in self.schema.fields() {
            let v = &self.values[field.index()];
            if v.is_null() {
                continue;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{}={v}", field.name())?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{logical, Schema, SchemaBuilder};

    fn person() -> SchemaRef {
        SchemaBuilder::struct_()
            .name("Person")
            .field("id", Schema::int32())
            .field("name", Schema::optional_string())
            .field("score", SchemaBuilder::new(SchemaType::Int64).default_value(Value::Int64(7)).build_ref())
            .build_ref()
    }

    #[test]
    fn struct_put_checks_types_and_required_fields() {
        let mut s = Struct::new(person()).unwrap();
        assert!(s.validate().is_err(), "id is required and unset");
        assert!(s.put("id", Value::String("x".into())).is_err());
        assert!(s.put("nope", 1).is_err());
        s.put("id", 1).unwrap();
        s.validate().unwrap();
        assert_eq!(s.get("score"), Some(&Value::Int64(7)));
        assert_eq!(s.get_without_default("score"), Some(&Value::Null));
        assert_eq!(s.to_string(), "Struct{id=1}");
    }

    #[test]
    fn decimal_bytes_match_java_biginteger() {
        // BigInteger(300).toByteArray() == [0x01, 0x2c]; BigInteger(-1) == [0xff]; 128 == [0x00, 0x80]
        assert_eq!(Decimal::new(300, 2).to_bytes(), vec![0x01, 0x2c]);
        assert_eq!(Decimal::new(-1, 0).to_bytes(), vec![0xff]);
        assert_eq!(Decimal::new(128, 0).to_bytes(), vec![0x00, 0x80]);
        assert_eq!(Decimal::from_bytes(&[0x01, 0x2c], 2), Decimal::new(300, 2));
        assert_eq!(Decimal::new(300, 2).to_string(), "3.00");
        assert_eq!(Decimal::new(-5, 3).to_string(), "-0.005");
        assert_eq!(Decimal::new(5, -2).to_string(), "500");
        assert_eq!(Decimal::parse("-12.340"), Some(Decimal::new(-12340, 3)));
        assert_eq!(Decimal::parse("1.5E3"), Some(Decimal::new(15, -2)));
        assert_eq!(Decimal::parse("abc"), None);
    }

    #[test]
    fn logical_types_validate() {
        let dec = logical::decimal(2).build();
        dec.validate_value(&Value::Decimal(Decimal::new(1, 2))).unwrap();
        assert!(dec.validate_value(&Value::Decimal(Decimal::new(1, 3))).is_err());
        assert!(dec.validate_value(&Value::Bytes(vec![1])).is_err());
        let time = logical::time().build();
        time.validate_value(&Value::Int32(0)).unwrap();
        assert!(time.validate_value(&Value::Int32(86_400_000)).is_err());
    }

    #[test]
    fn builder_rejects_duplicate_fields_and_bad_defaults() {
        let dup = SchemaBuilder::struct_().field("a", Schema::int8()).field("a", Schema::int8()).try_build();
        assert!(dup.is_err());
        let bad = SchemaBuilder::new(SchemaType::Int32).default_value(Value::String("x".into())).try_build();
        assert!(bad.is_err());
    }
}
