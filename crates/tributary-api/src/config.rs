//! Configuration definitions (`org.apache.kafka.common.config.ConfigDef`): typed keys with
//! defaults, validators, importance and documentation. One definition serves parsing, the error
//! messages for bad configs, and the REST `config/validate` endpoint.

use indexmap::IndexMap;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A flat connector or worker configuration, as Kafka Connect passes it around.
pub type ConfigMap = BTreeMap<String, String>;

/// The type of a config key (`ConfigDef.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean,
    String,
    Int,
    Short,
    Long,
    Double,
    List,
    Class,
    Password,
}

impl ConfigType {
    /// The name the REST API reports (`BOOLEAN`, `STRING`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Int => "INT",
            ConfigType::Short => "SHORT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::List => "LIST",
            ConfigType::Class => "CLASS",
            ConfigType::Password => "PASSWORD",
        }
    }
}

/// How much a key matters to users (`ConfigDef.Importance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Importance {
    High,
    Medium,
    Low,
}

impl Importance {
    pub fn name(self) -> &'static str {
        match self {
            Importance::High => "HIGH",
            Importance::Medium => "MEDIUM",
            Importance::Low => "LOW",
        }
    }
}

/// Display width hint for UIs (`ConfigDef.Width`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Width {
    #[default]
    None,
    Short,
    Medium,
    Long,
}

impl Width {
    pub fn name(self) -> &'static str {
        match self {
            Width::None => "NONE",
            Width::Short => "SHORT",
            Width::Medium => "MEDIUM",
            Width::Long => "LONG",
        }
    }
}

/// A key's default.
#[derive(Debug, Clone, PartialEq)]
pub enum Default {
    /// No default: the key is required.
    Required,
    /// Optional, and absent means null.
    Null,
    /// Optional with this default, written as the user would write it.
    Value(String),
}

/// A parsed config value.
#[derive(Clone, PartialEq)]
pub enum ConfigValue {
    Null,
    Boolean(bool),
    String(String),
    Int(i32),
    Short(i16),
    Long(i64),
    Double(f64),
    List(Vec<String>),
    Class(String),
    Password(String),
}

impl fmt::Debug for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Secrets never reach logs through Debug.
            ConfigValue::Password(_) => f.write_str("Password([hidden])"),
            ConfigValue::Null => f.write_str("Null"),
            ConfigValue::Boolean(v) => write!(f, "Boolean({v})"),
            ConfigValue::String(v) => write!(f, "String({v:?})"),
            ConfigValue::Int(v) => write!(f, "Int({v})"),
            ConfigValue::Short(v) => write!(f, "Short({v})"),
            ConfigValue::Long(v) => write!(f, "Long({v})"),
            ConfigValue::Double(v) => write!(f, "Double({v})"),
            ConfigValue::List(v) => write!(f, "List({v:?})"),
            ConfigValue::Class(v) => write!(f, "Class({v})"),
        }
    }
}

/// A check on a parsed value; returns the reason it is wrong.
pub type ValidatorFn = Arc<dyn Fn(&ConfigValue) -> Result<(), String> + Send + Sync>;

/// Validators with Kafka's messages.
#[derive(Clone)]
pub enum Validator {
    /// Numeric range, inclusive (`ConfigDef.Range`).
    Range { min: Option<f64>, max: Option<f64> },
    /// One of these strings, case-insensitively (`ConfigDef.CaseInsensitiveValidString`).
    OneOf(Vec<&'static str>),
    /// Non-empty, without ISO control characters (`NonEmptyStringWithoutControlChars`).
    NonEmptyStringWithoutControlChars,
    /// Non-empty string (`ConfigDef.NonEmptyString`).
    NonEmptyString,
    /// Anything else.
    Custom(ValidatorFn),
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Validator::Range { min, max } => write!(f, "Range({min:?}, {max:?})"),
            Validator::OneOf(v) => write!(f, "OneOf({v:?})"),
            Validator::NonEmptyStringWithoutControlChars => f.write_str("NonEmptyStringWithoutControlChars"),
            Validator::NonEmptyString => f.write_str("NonEmptyString"),
            Validator::Custom(_) => f.write_str("Custom"),
        }
    }
}

impl Validator {
    /// `[min, ∞)`.
    pub fn at_least(min: f64) -> Self {
        Validator::Range { min: Some(min), max: None }
    }
    /// `[min, max]`.
    pub fn between(min: f64, max: f64) -> Self {
        Validator::Range { min: Some(min), max: Some(max) }
    }

    fn check(&self, value: &ConfigValue) -> Result<(), String> {
        match self {
            Validator::Range { min, max } => {
                let n = match value {
                    ConfigValue::Int(v) => f64::from(*v),
                    ConfigValue::Short(v) => f64::from(*v),
                    ConfigValue::Long(v) => *v as f64,
                    ConfigValue::Double(v) => *v,
                    _ => return Ok(()),
                };
                let fmt_n = |x: f64| if x.fract() == 0.0 { format!("{}", x as i64) } else { x.to_string() };
                if let Some(m) = min {
                    if n < *m {
                        return Err(format!("Value must be at least {}", fmt_n(*m)));
                    }
                }
                if let Some(m) = max {
                    if n > *m {
                        return Err(format!("Value must be no more than {}", fmt_n(*m)));
                    }
                }
                Ok(())
            }
            Validator::OneOf(allowed) => match value {
                ConfigValue::String(s) if allowed.iter().any(|a| a.eq_ignore_ascii_case(s)) => Ok(()),
                ConfigValue::String(_) => Err(format!("String must be one of (case insensitive): {}", allowed.join(", "))),
                _ => Ok(()),
            },
            Validator::NonEmptyString => match value {
                ConfigValue::String(s) if s.is_empty() => Err("String must be non-empty".into()),
                _ => Ok(()),
            },
            Validator::NonEmptyStringWithoutControlChars => match value {
                ConfigValue::Null => Err("String may not be null".into()),
                ConfigValue::String(s) if s.is_empty() => Err("String may not be empty".into()),
                ConfigValue::String(s) => {
                    let bad: Vec<String> = s.chars().filter(|c| c.is_control()).map(|c| (c as u32).to_string()).collect();
                    if bad.is_empty() {
                        Ok(())
                    } else {
                        Err(format!("String may not contain control sequences but had the following ASCII chars: {}", bad.join(", ")))
                    }
                }
                _ => Ok(()),
            },
            Validator::Custom(f) => f(value),
        }
    }
}

/// One config key's definition (`ConfigDef.ConfigKey`).
#[derive(Debug, Clone)]
pub struct ConfigKey {
    pub name: String,
    pub type_: ConfigType,
    pub default: Default,
    pub validator: Option<Validator>,
    pub importance: Importance,
    pub documentation: String,
    pub group: Option<String>,
    pub order: i32,
    pub width: Width,
    pub display_name: String,
    pub dependents: Vec<String>,
}

impl ConfigKey {
    /// A key with no default (required), no validator, no group.
    pub fn new(name: impl Into<String>, type_: ConfigType, importance: Importance, documentation: impl Into<String>) -> Self {
        let name = name.into();
        Self {
            display_name: name.clone(),
            name,
            type_,
            default: Default::Required,
            validator: None,
            importance,
            documentation: documentation.into(),
            group: None,
            order: -1,
            width: Width::None,
            dependents: Vec::new(),
        }
    }
    /// Sets a default value.
    pub fn default_value(mut self, value: impl Into<String>) -> Self {
        self.default = Default::Value(value.into());
        self
    }
    /// Makes the key optional with a null default.
    pub fn default_null(mut self) -> Self {
        self.default = Default::Null;
        self
    }
    pub fn validator(mut self, validator: Validator) -> Self {
        self.validator = Some(validator);
        self
    }
    pub fn group(mut self, group: impl Into<String>, order: i32) -> Self {
        self.group = Some(group.into());
        self.order = order;
        self
    }
    pub fn width(mut self, width: Width) -> Self {
        self.width = width;
        self
    }
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = name.into();
        self
    }

    /// True when the key has no default.
    pub fn is_required(&self) -> bool {
        self.default == Default::Required
    }

    /// The default as the REST API renders it (`null` when none; passwords hidden).
    pub fn default_string(&self) -> Option<String> {
        match &self.default {
            Default::Value(v) if self.type_ == ConfigType::Password => Some(if v.is_empty() { String::new() } else { "[hidden]".into() }),
            Default::Value(v) => Some(v.clone()),
            _ => None,
        }
    }

    /// Parses a raw value of this key. The error is Kafka's message.
    pub fn parse(&self, raw: &str) -> Result<ConfigValue, String> {
        let bad = |what: &str| format!("Invalid value {} for configuration {}: {what}", shown(self.type_, raw), self.name);
        let trimmed = raw.trim();
        Ok(match self.type_ {
            ConfigType::Boolean => match trimmed.to_ascii_lowercase().as_str() {
                "true" => ConfigValue::Boolean(true),
                "false" => ConfigValue::Boolean(false),
                _ => return Err(bad("Expected value to be either true or false")),
            },
            ConfigType::String => ConfigValue::String(trimmed.to_owned()),
            ConfigType::Password => ConfigValue::Password(raw.to_owned()),
            ConfigType::Class => ConfigValue::Class(trimmed.to_owned()),
            ConfigType::Int => ConfigValue::Int(trimmed.parse().map_err(|_| bad("Not a number of type INT"))?),
            ConfigType::Short => ConfigValue::Short(trimmed.parse().map_err(|_| bad("Not a number of type SHORT"))?),
            ConfigType::Long => ConfigValue::Long(trimmed.parse().map_err(|_| bad("Not a number of type LONG"))?),
            ConfigType::Double => ConfigValue::Double(trimmed.parse().map_err(|_| bad("Not a number of type DOUBLE"))?),
            ConfigType::List => ConfigValue::List(if trimmed.is_empty() { Vec::new() } else { trimmed.split(',').map(|s| s.trim().to_owned()).collect() }),
        })
    }
}

fn shown(type_: ConfigType, raw: &str) -> String {
    if type_ == ConfigType::Password {
        "[hidden]".into()
    } else {
        raw.to_owned()
    }
}

/// The outcome of validating one key: its value and the problems found
/// (`org.apache.kafka.common.config.ConfigValue`, as the REST validate endpoint reports it).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedValue {
    pub name: String,
    /// The raw value given, or the default (passwords hidden).
    pub value: Option<String>,
    pub recommended_values: Vec<String>,
    pub errors: Vec<String>,
    pub visible: bool,
}

/// A set of config key definitions, in definition order.
#[derive(Debug, Clone, std::default::Default)]
pub struct ConfigDef {
    keys: IndexMap<String, ConfigKey>,
}

/// A configuration that failed to parse; the message names every bad key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", .errors.join("; "))]
pub struct ConfigError {
    pub errors: Vec<String>,
}

impl ConfigDef {
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a key (replacing one of the same name).
    pub fn define(mut self, key: ConfigKey) -> Self {
        self.keys.insert(key.name.clone(), key);
        self
    }
    /// Adds every key of `other`.
    pub fn merge(mut self, other: &ConfigDef) -> Self {
        for k in other.keys.values() {
            self.keys.insert(k.name.clone(), k.clone());
        }
        self
    }
    pub fn keys(&self) -> impl Iterator<Item = &ConfigKey> {
        self.keys.values()
    }
    pub fn key(&self, name: &str) -> Option<&ConfigKey> {
        self.keys.get(name)
    }
    /// The names of the groups, in first-seen order.
    pub fn groups(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for k in self.keys.values() {
            if let Some(g) = &k.group {
                if !out.contains(g) {
                    out.push(g.clone());
                }
            }
        }
        out
    }

    fn parse_one(&self, key: &ConfigKey, config: &ConfigMap) -> Result<ConfigValue, String> {
        let value = match (config.get(&key.name), &key.default) {
            (Some(raw), _) => key.parse(raw)?,
            (None, Default::Value(d)) => key.parse(d)?,
            (None, Default::Null) => ConfigValue::Null,
            (None, Default::Required) => {
                return Err(format!("Missing required configuration \"{}\" which has no default value.", key.name));
            }
        };
        if let Some(v) = &key.validator {
            if value != ConfigValue::Null || matches!(v, Validator::NonEmptyStringWithoutControlChars) {
                v.check(&value).map_err(|why| {
                    let raw = config.get(&key.name).map(String::as_str).unwrap_or("null");
                    format!("Invalid value {} for configuration {}: {why}", shown(key.type_, raw), key.name)
                })?;
            }
        }
        Ok(value)
    }

    /// Validates every defined key, as the REST validate endpoint reports it.
    pub fn validate(&self, config: &ConfigMap) -> Vec<ValidatedValue> {
        self.keys
            .values()
            .map(|key| {
                let errors = match self.parse_one(key, config) {
                    Ok(_) => Vec::new(),
                    Err(e) => vec![e],
                };
                let value = match config.get(&key.name) {
                    Some(_) if key.type_ == ConfigType::Password => Some("[hidden]".to_owned()),
                    // As Kafka: a value that does not parse as its type is reported as null.
                    Some(v) if key.parse(v).is_err() => None,
                    Some(v) => Some(v.clone()),
                    None => key.default_string(),
                };
                ValidatedValue { name: key.name.clone(), value, recommended_values: Vec::new(), errors, visible: true }
            })
            .collect()
    }

    /// Parses a configuration, collecting every error.
    pub fn parse(&self, config: &ConfigMap) -> Result<ParsedConfig, ConfigError> {
        let mut values = BTreeMap::new();
        let mut errors = Vec::new();
        for key in self.keys.values() {
            match self.parse_one(key, config) {
                Ok(v) => {
                    values.insert(key.name.clone(), v);
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(ParsedConfig { values, originals: config.clone() })
        } else {
            Err(ConfigError { errors })
        }
    }
}

/// A parsed configuration: typed values of the defined keys, plus the originals.
#[derive(Debug, Clone)]
pub struct ParsedConfig {
    values: BTreeMap<String, ConfigValue>,
    originals: ConfigMap,
}

impl ParsedConfig {
    pub fn get(&self, name: &str) -> Option<&ConfigValue> {
        self.values.get(name)
    }
    /// A STRING, CLASS or PASSWORD value, `None` when null or undefined.
    pub fn string(&self, name: &str) -> Option<&str> {
        match self.values.get(name) {
            Some(ConfigValue::String(s) | ConfigValue::Class(s) | ConfigValue::Password(s)) => Some(s),
            _ => None,
        }
    }
    pub fn int(&self, name: &str) -> Option<i32> {
        match self.values.get(name) {
            Some(ConfigValue::Int(v)) => Some(*v),
            _ => None,
        }
    }
    pub fn short(&self, name: &str) -> Option<i16> {
        match self.values.get(name) {
            Some(ConfigValue::Short(v)) => Some(*v),
            _ => None,
        }
    }
    pub fn long(&self, name: &str) -> Option<i64> {
        match self.values.get(name) {
            Some(ConfigValue::Long(v)) => Some(*v),
            _ => None,
        }
    }
    pub fn boolean(&self, name: &str) -> Option<bool> {
        match self.values.get(name) {
            Some(ConfigValue::Boolean(v)) => Some(*v),
            _ => None,
        }
    }
    pub fn list(&self, name: &str) -> Option<&[String]> {
        match self.values.get(name) {
            Some(ConfigValue::List(v)) => Some(v),
            _ => None,
        }
    }
    /// The configuration as given.
    pub fn originals(&self) -> &ConfigMap {
        &self.originals
    }
    /// Original keys starting with `prefix`, with the prefix stripped
    /// (`originalsWithPrefix`, e.g. `value.converter.` settings).
    pub fn originals_with_prefix(&self, prefix: &str) -> ConfigMap {
        with_prefix(&self.originals, prefix)
    }
}

/// Keys of `config` starting with `prefix`, with the prefix stripped.
pub fn with_prefix(config: &ConfigMap, prefix: &str) -> ConfigMap {
    config.range(prefix.to_owned()..).take_while(|(k, _)| k.starts_with(prefix)).map(|(k, v)| (k[prefix.len()..].to_owned(), v.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> ConfigDef {
        ConfigDef::new()
            .define(ConfigKey::new("name", ConfigType::String, Importance::High, "n").validator(Validator::NonEmptyStringWithoutControlChars))
            .define(ConfigKey::new("tasks.max", ConfigType::Int, Importance::High, "t").default_value("1").validator(Validator::at_least(1.0)))
            .define(ConfigKey::new("mode", ConfigType::String, Importance::Low, "m").default_value("none").validator(Validator::OneOf(vec!["none", "all"])))
            .define(ConfigKey::new("secret", ConfigType::Password, Importance::Low, "s").default_null())
            .define(ConfigKey::new("topics", ConfigType::List, Importance::Low, "l").default_value(""))
    }

    fn cfg(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn parses_typed_values_and_defaults() {
        let p = def().parse(&cfg(&[("name", "c"), ("topics", "a, b"), ("secret", "pw")])).unwrap();
        assert_eq!(p.string("name"), Some("c"));
        assert_eq!(p.int("tasks.max"), Some(1));
        assert_eq!(p.list("topics"), Some(&["a".to_owned(), "b".to_owned()][..]));
        assert_eq!(format!("{:?}", p.get("secret")), "Some(Password([hidden]))");
    }

    #[test]
    fn errors_use_kafkas_messages() {
        let e = def().parse(&cfg(&[("tasks.max", "0"), ("mode", "some")])).unwrap_err();
        assert_eq!(
            e.errors,
            vec![
                "Missing required configuration \"name\" which has no default value.".to_owned(),
                "Invalid value 0 for configuration tasks.max: Value must be at least 1".to_owned(),
                "Invalid value some for configuration mode: String must be one of (case insensitive): none, all".to_owned(),
            ]
        );
        let e = def().parse(&cfg(&[("name", ""), ("tasks.max", "x")])).unwrap_err();
        assert_eq!(e.errors[0], "Invalid value  for configuration name: String may not be empty");
        assert_eq!(e.errors[1], "Invalid value x for configuration tasks.max: Not a number of type INT");
    }

    #[test]
    fn validate_hides_passwords() {
        let v = def().validate(&cfg(&[("name", "c"), ("secret", "pw")]));
        let secret = v.iter().find(|v| v.name == "secret").unwrap();
        assert_eq!(secret.value.as_deref(), Some("[hidden]"));
        assert!(v.iter().all(|v| v.errors.is_empty()));
    }

    #[test]
    fn prefix_strips() {
        let c = cfg(&[("value.converter", "x"), ("value.converter.schemas.enable", "false"), ("value.other", "y")]);
        assert_eq!(with_prefix(&c, "value.converter."), cfg(&[("schemas.enable", "false")]));
    }
}
