//! Kafka's predicates: `TopicNameMatches`, `HasHeaderKey`, `RecordIsTombstone`.

use crate::util;
use tributary_api::config::{ConfigKey, ConfigType, Importance};
use tributary_api::{ConfigDef, ConfigMap, ConnectError, ConnectRecord, Predicate, RecordMeta, Result};

fn topic_def() -> ConfigDef {
    ConfigDef::new().define(ConfigKey::new(
        "pattern",
        ConfigType::String,
        Importance::Medium,
        "A Java regular expression for matching against the name of a record's topic.",
    ))
}

/// True when the whole topic name matches `pattern`.
#[derive(Default)]
pub struct TopicNameMatches {
    pattern: Option<regex::Regex>,
}

impl<M: RecordMeta> Predicate<M> for TopicNameMatches {
    fn configure(&mut self, config: &ConfigMap) -> Result<()> {
        let p = util::parse(&topic_def(), config, "TopicNameMatches")?;
        let pattern = p.string("pattern").unwrap_or_default();
        if pattern.is_empty() {
            return Err(ConnectError::config("Invalid value  for configuration pattern: String must be non-empty"));
        }
        self.pattern = Some(regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
            ConnectError::config(format!("Invalid value {pattern} for configuration pattern: entry must be a Java-compatible regular expression: {e}"))
        })?);
        Ok(())
    }
    fn test(&self, r: &ConnectRecord<M>) -> bool {
        self.pattern.as_ref().is_some_and(|p| p.is_match(&r.topic))
    }
    fn config_def(&self) -> ConfigDef {
        topic_def()
    }
}

fn header_def() -> ConfigDef {
    ConfigDef::new().define(ConfigKey::new("name", ConfigType::String, Importance::Medium, "The header name."))
}

/// True when the record has at least one header called `name`.
#[derive(Default)]
pub struct HasHeaderKey {
    name: String,
}

impl<M: RecordMeta> Predicate<M> for HasHeaderKey {
    fn configure(&mut self, config: &ConfigMap) -> Result<()> {
        let p = util::parse(&header_def(), config, "HasHeaderKey")?;
        self.name = p.string("name").unwrap_or_default().to_owned();
        if self.name.is_empty() {
            return Err(ConnectError::config("Invalid value  for configuration name: String must be non-empty"));
        }
        Ok(())
    }
    fn test(&self, r: &ConnectRecord<M>) -> bool {
        r.headers.last_with_name(&self.name).is_some()
    }
    fn config_def(&self) -> ConfigDef {
        header_def()
    }
}

/// True for tombstones (null value).
#[derive(Default)]
pub struct RecordIsTombstone;

impl<M: RecordMeta> Predicate<M> for RecordIsTombstone {
    fn configure(&mut self, _config: &ConfigMap) -> Result<()> {
        Ok(())
    }
    fn test(&self, r: &ConnectRecord<M>) -> bool {
        r.value.is_null()
    }
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }
}
