//! `TimestampConverter$Key` / `TimestampConverter$Value`: convert timestamps between Connect's
//! Timestamp, Date and Time logical types, unix epoch numbers and formatted strings.

use crate::router::{civil_from_days, format_date, parse_date_format, DatePart};
use crate::util::{self, build_struct, copy_struct_basics, require_map, require_struct, SchemaCache, Side};
use std::sync::Arc;
use tributary_api::config::{ConfigKey, ConfigType, Importance, Validator};
use tributary_api::schema::logical;
use tributary_api::{ConfigDef, ConfigMap, ConnectError, ConnectRecord, RecordMeta, Result, Schema, SchemaRef, SchemaType, Transformation, Value};

const PURPOSE: &str = "converting timestamp formats";
const DAY_MS: i64 = 86_400_000;

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::new("field", ConfigType::String, Importance::High, "The field containing the timestamp, or empty if the entire value is a timestamp").default_value(""))
        .define(ConfigKey::new("target.type", ConfigType::String, Importance::High, "The desired timestamp representation: string, unix, Date, Time, or Timestamp").validator(Validator::OneOf(vec!["string", "unix", "Date", "Time", "Timestamp"])))
        .define(ConfigKey::new("format", ConfigType::String, Importance::Medium, "A SimpleDateFormat-compatible format for the timestamp. Used to generate the output when type=string or used to parse the input if the input is a string.").default_value(""))
        .define(ConfigKey::new("unix.precision", ConfigType::String, Importance::Low, "The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds.").default_value("milliseconds").validator(Validator::OneOf(vec!["seconds", "milliseconds", "microseconds", "nanoseconds"])))
        .define(util::replace_null_key())
}

/// A timestamp representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Kind {
    String,
    Unix,
    Date,
    Time,
    #[default]
    Timestamp,
}

/// Kafka's TimestampConverter (formats: the SimpleDateFormat letters `y M d H m s S`, in UTC).
#[derive(Default)]
pub struct TimestampConverter {
    side: Side,
    field: String,
    target: Kind,
    format: Option<Vec<DatePart>>,
    precision_per_ms: (i64, i64),
    replace_null: bool,
    cache: SchemaCache,
}

impl TimestampConverter {
    pub fn new(side: Side) -> Self {
        Self { side, precision_per_ms: (1, 1), ..Self::default() }
    }

    fn kind_of(schema: Option<&SchemaRef>, value: &Value) -> Result<Kind> {
        match schema {
            Some(s) => match (s.name(), s.type_()) {
                (Some(logical::TIMESTAMP), _) => Ok(Kind::Timestamp),
                (Some(logical::DATE), _) => Ok(Kind::Date),
                (Some(logical::TIME), _) => Ok(Kind::Time),
                (_, SchemaType::Int64) => Ok(Kind::Unix),
                (_, SchemaType::String) => Ok(Kind::String),
                _ => Err(ConnectError::data(format!("Schema {} does not correspond to a known timestamp type format", s.type_()))),
            },
            None => match value {
                Value::Int64(_) => Ok(Kind::Unix),
                Value::String(_) => Ok(Kind::String),
                other => Err(ConnectError::data(format!("TimestampConverter does not support {} objects as timestamps", other.type_name()))),
            },
        }
    }

    /// The value as epoch milliseconds.
    fn to_millis(&self, kind: Kind, value: &Value) -> Result<i64> {
        let bad = || ConnectError::data(format!("Expected a {kind:?} timestamp, found {}", value.type_name()));
        Ok(match (kind, value) {
            (Kind::Timestamp, Value::Int64(v)) => *v,
            (Kind::Date, Value::Int32(d)) => i64::from(*d) * DAY_MS,
            (Kind::Time, Value::Int32(t)) => i64::from(*t),
            (Kind::Unix, Value::Int64(v)) => v * self.precision_per_ms.1 / self.precision_per_ms.0,
            (Kind::String, Value::String(s)) => {
                let format = self
                    .format
                    .as_ref()
                    .ok_or_else(|| ConnectError::config("TimestampConverter requires format option to be specified when using string timestamps"))?;
                parse_date(format, s).ok_or_else(|| ConnectError::data(format!("Could not parse timestamp: value ({s}) does not match the format")))?
            }
            _ => return Err(bad()),
        })
    }

    fn millis_to_target(&self, ms: i64) -> Result<Value> {
        Ok(match self.target {
            Kind::Timestamp => Value::Int64(ms),
            Kind::Date => Value::Int32(i32::try_from(ms.div_euclid(DAY_MS)).map_err(|_| ConnectError::data("date out of range"))?),
            Kind::Time => Value::Int32(ms.rem_euclid(DAY_MS) as i32),
            Kind::Unix => Value::Int64((ms * self.precision_per_ms.0).div_euclid(self.precision_per_ms.1)),
            Kind::String => {
                let format = self
                    .format
                    .as_ref()
                    .ok_or_else(|| ConnectError::config("TimestampConverter requires format option to be specified when using string timestamps"))?;
                Value::String(format_date(format, ms))
            }
        })
    }

    fn target_schema(&self, optional: bool) -> SchemaRef {
        let b = match self.target {
            Kind::Timestamp => logical::timestamp(),
            Kind::Date => logical::date(),
            Kind::Time => logical::time(),
            Kind::Unix => return if optional { Schema::optional_int64() } else { Schema::int64() },
            Kind::String => return if optional { Schema::optional_string() } else { Schema::string() },
        };
        if optional {
            b.optional().build_ref()
        } else {
            b.build_ref()
        }
    }

    fn convert(&self, schema: Option<&SchemaRef>, value: &Value) -> Result<Value> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let kind = Self::kind_of(schema, value)?;
        self.millis_to_target(self.to_millis(kind, value)?)
    }
}

/// Parses text written in `parts` (UTC). Adjacent numeric fields take exactly their width.
fn parse_date(parts: &[DatePart], text: &str) -> Option<i64> {
    let (mut y, mut mo, mut d, mut h, mut mi, mut s, mut ms) = (1970i64, 1i64, 1i64, 0i64, 0i64, 0i64, 0i64);
    let bytes = text.as_bytes();
    let mut pos = 0;
    for (i, p) in parts.iter().enumerate() {
        match p {
            DatePart::Literal(l) => {
                if !text[pos..].starts_with(l.as_str()) {
                    return None;
                }
                pos += l.len();
            }
            DatePart::Field(c, n) => {
                let fixed = matches!(parts.get(i + 1), Some(DatePart::Field(..)));
                let digits = bytes[pos..].iter().take_while(|b| b.is_ascii_digit()).count();
                let take = if fixed { *n } else { digits };
                if take == 0 || digits < take {
                    return None;
                }
                let v: i64 = text[pos..pos + take].parse().ok()?;
                pos += take;
                match c {
                    'y' => y = if *n == 2 && take == 2 { 2000 + v } else { v },
                    'M' => mo = v,
                    'd' => d = v,
                    'H' => h = v,
                    'm' => mi = v,
                    's' => s = v,
                    _ => ms = v,
                }
            }
        }
    }
    if pos != text.len() || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, mo as u32, d as u32);
    // Reject dates like February 30th instead of rolling them over.
    if civil_from_days(days) != (y, mo as u32, d as u32) {
        return None;
    }
    Some(days * DAY_MS + h * 3_600_000 + mi * 60_000 + s * 1000 + ms)
}

/// (year, month, day) to days since 1970-01-01, proleptic Gregorian.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl<M: RecordMeta> Transformation<M> for TimestampConverter {
    fn configure(&mut self, config: &ConfigMap) -> Result<()> {
        let p = util::parse(&config_def(), config, "TimestampConverter")?;
        self.field = p.string("field").unwrap_or_default().to_owned();
        self.replace_null = p.boolean(util::REPLACE_NULL).unwrap_or(true);
        self.target = match p.string("target.type").unwrap_or_default() {
            "string" => Kind::String,
            "unix" => Kind::Unix,
            "Date" => Kind::Date,
            "Time" => Kind::Time,
            _ => Kind::Timestamp,
        };
        let format = p.string("format").unwrap_or_default();
        self.format = if format.is_empty() { None } else { Some(parse_date_format(format)?) };
        if self.target == Kind::String && self.format.is_none() {
            return Err(ConnectError::config("TimestampConverter requires format option to be specified when using string timestamps"));
        }
        // (units per ms numerator, denominator): value_ms = value * den / num.
        self.precision_per_ms = match p.string("unix.precision").unwrap_or("milliseconds") {
            "seconds" => (1, 1000),
            "microseconds" => (1000, 1),
            "nanoseconds" => (1_000_000, 1),
            _ => (1, 1),
        };
        Ok(())
    }

    fn apply(&self, r: ConnectRecord<M>) -> Result<Option<ConnectRecord<M>>> {
        if self.side.value(&r).is_null() {
            return Ok(Some(r));
        }
        let schema = self.side.schema(&r).cloned();
        if self.field.is_empty() {
            let value = self.convert(schema.as_ref(), self.side.value(&r))?;
            let out_schema = schema.map(|s| self.target_schema(s.is_optional()));
            return Ok(Some(self.side.set(r, out_schema, value)));
        }
        match schema {
            None => {
                let map = require_map(self.side.value(&r), PURPOSE)?;
                let out = map
                    .iter()
                    .map(|(k, v)| if k.as_str() == Some(self.field.as_str()) { Ok((k.clone(), self.convert(None, v)?)) } else { Ok((k.clone(), v.clone())) })
                    .collect::<Result<_>>()?;
                Ok(Some(self.side.set(r, None, Value::Map(out))))
            }
            Some(schema) => {
                let value = require_struct(self.side.value(&r), PURPOSE)?;
                let field = schema.field(&self.field).ok_or_else(|| ConnectError::data(format!("{} is not a valid field name", self.field)))?.schema().clone();
                let updated = self.cache.get_or_build(&schema, || {
                    let mut b = copy_struct_basics(&schema);
                    for f in schema.fields() {
                        b = if f.name() == self.field {
                            b.field(f.name(), self.target_schema(f.schema().is_optional()))
                        } else {
                            b.field(f.name(), f.schema().clone())
                        };
                    }
                    b.try_build().map(Arc::new).map_err(|e| ConnectError::data(e.0))
                })?;
                let mut values = Vec::new();
                for f in schema.fields() {
                    let v = util::field_value(value, f.name(), self.replace_null);
                    values.push((f.name().to_owned(), if f.name() == self.field { self.convert(Some(&field), &v)? } else { v }));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_dates() {
        let f = parse_date_format("yyyy-MM-dd HH:mm:ss.SSS").unwrap();
        let ms = parse_date(&f, "2023-11-14 22:13:20.123").unwrap();
        assert_eq!(ms, 1_700_000_000_123);
        assert_eq!(format_date(&f, ms), "2023-11-14 22:13:20.123");
        let compact = parse_date_format("yyyyMMdd").unwrap();
        assert_eq!(parse_date(&compact, "20231114"), Some(1_699_920_000_000));
        assert_eq!(parse_date(&compact, "20230230"), None, "no February 30th");
        assert_eq!(parse_date(&f, "nope"), None);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}
