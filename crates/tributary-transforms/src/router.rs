//! Topic routers: `RegexRouter` and `TimestampRouter`.

use crate::util;
use tributary_api::config::{ConfigKey, ConfigType, Importance};
use tributary_api::{ConfigDef, ConfigMap, ConnectError, ConnectRecord, RecordMeta, Result, Transformation};

fn regex_def() -> ConfigDef {
    ConfigDef::new().define(ConfigKey::new("regex", ConfigType::String, Importance::High, "Regular expression to use for matching.")).define(ConfigKey::new(
        "replacement",
        ConfigType::String,
        Importance::High,
        "Replacement string.",
    ))
}

/// Kafka's RegexRouter: when the whole topic name matches `regex`, it becomes `replacement`
/// (`$1`... refer to groups).
#[derive(Default)]
pub struct RegexRouter {
    regex: Option<regex::Regex>,
    replacement: String,
}

impl<M: RecordMeta> Transformation<M> for RegexRouter {
    fn configure(&mut self, config: &ConfigMap) -> Result<()> {
        let p = util::parse(&regex_def(), config, "RegexRouter")?;
        let pattern = p.string("regex").unwrap_or_default();
        // Kafka uses Matcher.matches(): the whole name must match.
        let re = regex::Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| ConnectError::config(format!("Invalid value {pattern} for configuration regex: {e}")))?;
        self.regex = Some(re);
        self.replacement = p.string("replacement").unwrap_or_default().to_owned();
        Ok(())
    }

    fn apply(&self, mut r: ConnectRecord<M>) -> Result<Option<ConnectRecord<M>>> {
        if let Some(re) = &self.regex {
            if re.is_match(&r.topic) {
                r.topic = re.replace(&r.topic, self.replacement.as_str()).into();
            }
        }
        Ok(Some(r))
    }

    fn config_def(&self) -> ConfigDef {
        regex_def()
    }
}

fn timestamp_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(
                "topic.format",
                ConfigType::String,
                Importance::High,
                "Format string which can contain ${topic} and ${timestamp} as placeholders for the topic and timestamp, respectively.",
            )
            .default_value("${topic}-${timestamp}"),
        )
        .define(
            ConfigKey::new(
                "timestamp.format",
                ConfigType::String,
                Importance::High,
                "Format string for the timestamp that is compatible with java.text.SimpleDateFormat.",
            )
            .default_value("yyyyMMdd"),
        )
}

/// Kafka's TimestampRouter: `topic.format` with `${topic}` and `${timestamp}` (the record
/// timestamp in UTC, formatted with a SimpleDateFormat pattern).
#[derive(Default)]
pub struct TimestampRouter {
    topic_format: String,
    timestamp_format: Vec<DatePart>,
}

impl<M: RecordMeta> Transformation<M> for TimestampRouter {
    fn configure(&mut self, config: &ConfigMap) -> Result<()> {
        let p = util::parse(&timestamp_def(), config, "TimestampRouter")?;
        self.topic_format = p.string("topic.format").unwrap_or("${topic}-${timestamp}").to_owned();
        self.timestamp_format = parse_date_format(p.string("timestamp.format").unwrap_or("yyyyMMdd"))?;
        Ok(())
    }

    fn apply(&self, mut r: ConnectRecord<M>) -> Result<Option<ConnectRecord<M>>> {
        let ts = r.timestamp.ok_or_else(|| ConnectError::data(format!("Timestamp missing on record: topic {}", r.topic)))?;
        let formatted = format_date(&self.timestamp_format, ts);
        r.topic = self.topic_format.replace("${topic}", &r.topic).replace("${timestamp}", &formatted).into();
        Ok(Some(r))
    }

    fn config_def(&self) -> ConfigDef {
        timestamp_def()
    }
}

/// One piece of a SimpleDateFormat pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum DatePart {
    Literal(String),
    /// A pattern letter and how many times it repeats (`yyyy` → ('y', 4)).
    Field(char, usize),
}

/// Parses the subset of SimpleDateFormat that routing and conversion use: `y M d H m s S`
/// (numbers, zero-padded to the letter count), quoted literals and other characters.
pub fn parse_date_format(pattern: &str) -> Result<Vec<DatePart>> {
    let mut parts = Vec::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let end = chars[i + 1..].iter().position(|&x| x == '\'').map(|p| i + 1 + p).unwrap_or(chars.len());
            let lit: String = chars[i + 1..end].iter().collect();
            parts.push(DatePart::Literal(if lit.is_empty() { "'".into() } else { lit }));
            i = end + 1;
        } else if c.is_ascii_alphabetic() {
            if !"yMdHmsS".contains(c) {
                return Err(ConnectError::config(format!("Unsupported date format letter '{c}' in {pattern}: supported are y, M, d, H, m, s, S")));
            }
            let n = chars[i..].iter().take_while(|&&x| x == c).count();
            parts.push(DatePart::Field(c, n));
            i += n;
        } else {
            parts.push(DatePart::Literal(c.to_string()));
            i += 1;
        }
    }
    Ok(parts)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats epoch milliseconds in UTC.
pub fn format_date(parts: &[DatePart], millis: i64) -> String {
    let days = millis.div_euclid(86_400_000);
    let ms_of_day = millis.rem_euclid(86_400_000);
    let (y, mo, d) = civil_from_days(days);
    let mut out = String::new();
    for p in parts {
        match p {
            DatePart::Literal(l) => out.push_str(l),
            DatePart::Field(c, n) => {
                let v: i64 = match c {
                    'y' if *n == 2 => y.rem_euclid(100),
                    'y' => y,
                    'M' => mo.into(),
                    'd' => d.into(),
                    'H' => ms_of_day / 3_600_000,
                    'm' => ms_of_day / 60_000 % 60,
                    's' => ms_of_day / 1000 % 60,
                    _ => ms_of_day % 1000,
                };
                out.push_str(&format!("{v:0width$}", width = *n));
            }
        }
    }
    out
}
