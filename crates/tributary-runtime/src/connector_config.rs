//! The framework's connector keys (`ConnectorConfig`, `SinkConnectorConfig`,
//! `SourceConnectorConfig`) and whole-config validation: framework keys plus the connector's own.

use tributary_api::config::{ConfigKey, ConfigType, Importance, Validator};
use tributary_api::{ConfigDef, ConfigMap, PluginType};

pub const NAME: &str = "name";
pub const CONNECTOR_CLASS: &str = "connector.class";
pub const TASKS_MAX: &str = "tasks.max";
pub const TOPICS: &str = "topics";
pub const TOPICS_REGEX: &str = "topics.regex";
pub const TRANSFORMS: &str = "transforms";
pub const PREDICATES: &str = "predicates";
pub const ERRORS_TOLERANCE: &str = "errors.tolerance";
pub const ERRORS_RETRY_TIMEOUT: &str = "errors.retry.timeout";
pub const ERRORS_RETRY_DELAY_MAX_MS: &str = "errors.retry.delay.max.ms";
pub const ERRORS_LOG_ENABLE: &str = "errors.log.enable";
pub const ERRORS_LOG_INCLUDE_MESSAGES: &str = "errors.log.include.messages";
pub const DLQ_TOPIC_NAME: &str = "errors.deadletterqueue.topic.name";
pub const DLQ_REPLICATION_FACTOR: &str = "errors.deadletterqueue.topic.replication.factor";
pub const DLQ_CONTEXT_HEADERS: &str = "errors.deadletterqueue.context.headers.enable";
const ERROR_GROUP: &str = "Error Handling";

const COMMON: &str = "Common";

/// Keys every connector has.
pub fn common_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(NAME, ConfigType::String, Importance::High, "Globally unique name to use for this connector.")
                .group(COMMON, 1)
                .validator(Validator::NonEmptyStringWithoutControlChars)
                .display_name("Connector name"),
        )
        .define(
            ConfigKey::new(CONNECTOR_CLASS, ConfigType::String, Importance::High, "Name or alias of the class for this connector.")
                .group(COMMON, 2)
                .display_name("Connector class"),
        )
        .define(
            ConfigKey::new(TASKS_MAX, ConfigType::Int, Importance::High, "Maximum number of tasks to use for this connector.")
                .default_value("1")
                .validator(Validator::at_least(1.0))
                .group(COMMON, 3)
                .display_name("Tasks max"),
        )
        .define(
            ConfigKey::new("key.converter", ConfigType::Class, Importance::Low, "Converter class for keys; the worker's when unset.")
                .default_null()
                .group(COMMON, 4),
        )
        .define(
            ConfigKey::new("value.converter", ConfigType::Class, Importance::Low, "Converter class for values; the worker's when unset.")
                .default_null()
                .group(COMMON, 5),
        )
        .define(
            ConfigKey::new("header.converter", ConfigType::Class, Importance::Low, "HeaderConverter class; the worker's when unset.")
                .default_null()
                .group(COMMON, 6),
        )
        .define(
            ConfigKey::new(TRANSFORMS, ConfigType::List, Importance::Low, "Aliases for the transformations to be applied to records.")
                .default_value("")
                .group("Transforms", 0),
        )
        .define(
            ConfigKey::new(PREDICATES, ConfigType::List, Importance::Low, "Aliases for the predicates used by transformations.")
                .default_value("")
                .group("Predicates", 0),
        )
        .define(
            ConfigKey::new(
                ERRORS_RETRY_TIMEOUT,
                ConfigType::Long,
                Importance::Medium,
                "The maximum duration in milliseconds that a failed operation will be reattempted. 0 = no retries, -1 = forever.",
            )
            .default_value("0")
            .validator(Validator::at_least(-1.0))
            .group(ERROR_GROUP, 1),
        )
        .define(
            ConfigKey::new(
                ERRORS_RETRY_DELAY_MAX_MS,
                ConfigType::Long,
                Importance::Medium,
                "The maximum duration in milliseconds between consecutive retry attempts.",
            )
            .default_value("60000")
            .validator(Validator::at_least(1.0))
            .group(ERROR_GROUP, 2),
        )
        .define(
            ConfigKey::new(ERRORS_TOLERANCE, ConfigType::String, Importance::Medium, "Behavior for tolerating errors during connector operation.")
                .default_value("none")
                .validator(Validator::OneOf(vec!["none", "all"]))
                .group(ERROR_GROUP, 3),
        )
        .define(
            ConfigKey::new(ERRORS_LOG_ENABLE, ConfigType::Boolean, Importance::Medium, "Log each failed operation and problematic record.")
                .default_value("false")
                .group(ERROR_GROUP, 4),
        )
        .define(
            ConfigKey::new(ERRORS_LOG_INCLUDE_MESSAGES, ConfigType::Boolean, Importance::Medium, "Include the record's coordinates and content in the log.")
                .default_value("false")
                .group(ERROR_GROUP, 5),
        )
        // Kafka has these for sinks only; Tributary's dead letter queue covers sources too.
        .define(
            ConfigKey::new(DLQ_TOPIC_NAME, ConfigType::String, Importance::Medium, "The topic to write records that failed to process to; empty: none.")
                .default_value("")
                .group(ERROR_GROUP, 6),
        )
        .define(
            ConfigKey::new(
                DLQ_REPLICATION_FACTOR,
                ConfigType::Short,
                Importance::Medium,
                "Replication factor of the dead letter queue topic when it is created.",
            )
            .default_value("3")
            .validator(Validator::at_least(-1.0))
            .group(ERROR_GROUP, 7),
        )
        .define(
            ConfigKey::new(
                DLQ_CONTEXT_HEADERS,
                ConfigType::Boolean,
                Importance::Medium,
                "Add __connect.errors.* headers with the failure's context to DLQ records.",
            )
            .default_value("false")
            .group(ERROR_GROUP, 8),
        )
}

/// The `errors.*` keys of every connector, which the runtime reads into
/// `ErrorHandling` (`error_handling`).
pub fn error_handling_def() -> ConfigDef {
    common_def().keys().filter(|k| k.name.starts_with("errors.")).fold(ConfigDef::new(), |def, k| def.define(k.clone()))
}

/// Keys of sink connectors.
pub fn sink_def() -> ConfigDef {
    common_def()
        .merge(&crate::task_restarts::config_def())
        .define(ConfigKey::new(TOPICS, ConfigType::List, Importance::High, "List of topics to consume, separated by commas").default_value("").group(COMMON, 4))
        .define(
            ConfigKey::new(TOPICS_REGEX, ConfigType::String, Importance::High, "Regular expression giving topics to consume.")
                .default_value("")
                .group(COMMON, 4),
        )
}

/// Keys of source connectors (topic creation keys are prefixed and checked separately).
pub fn source_def() -> ConfigDef {
    common_def().merge(&crate::task_restarts::config_def())
}

/// A connector's type, as the REST API names it.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorKind {
    Source,
    Sink,
    Unknown,
}

pub(crate) fn cross_key_errors(kind: PluginType, config: &ConfigMap) -> Vec<String> {
    let mut errors = Vec::new();
    let set = |k: &str| config.get(k).is_some_and(|v| !v.trim().is_empty());
    if kind == PluginType::Sink {
        match (set(TOPICS), set(TOPICS_REGEX)) {
            (true, true) => errors.push(format!("{TOPICS}: topics and topics.regex are mutually exclusive options, but both are set.")),
            (false, false) => errors.push(format!("{TOPICS}: Must configure one of topics or topics.regex")),
            (false, true) => {
                if let Some(Err(e)) = config.get(TOPICS_REGEX).map(|r| regex::Regex::new(r)) {
                    errors.push(format!("{TOPICS_REGEX}: Invalid regex: {e}"));
                }
            }
            _ => {}
        }
    }
    if kind == PluginType::Sink {
        if let Some(dlq) = config.get(DLQ_TOPIC_NAME).map(|t| t.trim()).filter(|t| !t.is_empty()) {
            let topics = config.get(TOPICS).map(String::as_str).unwrap_or("");
            if topics.split(',').any(|t| t.trim() == dlq) {
                errors.push(format!("{DLQ_TOPIC_NAME}: The DLQ topic '{dlq}' may not be included in the list of topics ('{TOPICS}={topics}') to be consumed."));
            }
            if let Some(Ok(re)) = config.get(TOPICS_REGEX).filter(|r| !r.trim().is_empty()).map(|r| regex::Regex::new(&format!("^(?:{r})$"))) {
                if re.is_match(dlq) {
                    let r = config.get(TOPICS_REGEX).map(String::as_str).unwrap_or("");
                    errors.push(format!(
                        "{DLQ_TOPIC_NAME}: The DLQ topic '{dlq}' may not be included in the regex matching the topics ('{TOPICS_REGEX}={r}') to be consumed."
                    ));
                }
            }
        }
    }
    if kind == PluginType::Source {
        for key in ["topic.creation.default.partitions", "topic.creation.default.replication.factor"] {
            if let Some(v) = config.get(key) {
                match v.trim().parse::<i32>() {
                    Ok(n) if n == -1 || n >= 1 => {}
                    _ => errors.push(format!("{key}: Invalid value {v} for configuration {key}: must be -1 or at least 1")),
                }
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config_infos::validate_connector as validate;
    use crate::plugins::Plugins;

    fn cfg(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn sink_needs_exactly_one_of_topics_and_regex() {
        let p = Plugins::new(tributary_plugins::builtin());
        let err = validate(&p, &cfg(&[("name", "s"), ("connector.class", "FileStreamSink")])).unwrap_err().to_string();
        assert!(
            err.starts_with("Connector configuration is invalid and contains the following 1 error(s):\nMust configure one of topics or topics.regex\n"),
            "{err}"
        );
        let err = validate(&p, &cfg(&[("name", "s"), ("connector.class", "FileStreamSink"), ("topics", "a"), ("topics.regex", "b")])).unwrap_err().to_string();
        assert!(err.contains("mutually exclusive"), "{err}");
        validate(&p, &cfg(&[("name", "s"), ("connector.class", "FileStreamSink"), ("topics", "a")])).unwrap();
    }

    #[test]
    fn source_errors_list_every_bad_key() {
        let p = Plugins::new(tributary_plugins::builtin());
        let err = validate(&p, &cfg(&[("name", ""), ("connector.class", "FileStreamSource"), ("tasks.max", "0")])).unwrap_err().to_string();
        assert!(err.contains("following 3 error(s)"), "{err}");
        // Kafka's messages as they are: each already names its key.
        assert!(err.contains("\nInvalid value  for configuration name: String may not be empty\n"), "{err}");
        assert!(err.contains("\nInvalid value 0 for configuration tasks.max: Value must be at least 1\n"), "{err}");
        assert!(err.contains("\nMissing required configuration \"topic\" which has no default value.\n"), "{err}");
    }

    #[test]
    fn unknown_class_lists_available_connectors() {
        let err = validate(&Plugins::new(tributary_plugins::builtin()), &cfg(&[("name", "x"), ("connector.class", "Nope")])).unwrap_err().to_string();
        assert!(err.contains("available connectors are"), "{err}");
        let err = validate(&Plugins::new(tributary_plugins::builtin()), &cfg(&[("name", "x")])).unwrap_err().to_string();
        assert!(err.contains("contains no connector type"), "{err}");
    }
}
