//! The distributed worker's own keys (`DistributedConfig`), with Kafka Connect's names and
//! defaults except where a default is ours on purpose (documented on the constant).

use crate::connect_protocol::Protocol;
use std::time::Duration;
use tributary_api::config::{with_prefix, ConfigKey, ConfigType, Importance, Validator};
use tributary_api::{ConfigDef, ConfigMap};
use tributary_runtime::error::RuntimeError;
use tributary_runtime::worker_config::WorkerConfig;

pub const GROUP_ID: &str = "group.id";
pub const CONFIG_TOPIC: &str = "config.storage.topic";
pub const OFFSET_TOPIC: &str = "offset.storage.topic";
pub const STATUS_TOPIC: &str = "status.storage.topic";
pub const CONNECT_PROTOCOL: &str = "connect.protocol";
pub const SCHEDULED_REBALANCE_MAX_DELAY_MS: &str = "scheduled.rebalance.max.delay.ms";

/// Our default for `scheduled.rebalance.max.delay.ms` (Kafka's is 300000). Kafka holds a
/// vanished worker's connectors and tasks for five minutes in case it comes back; with its
/// 10 s session timeout that puts failover at over five minutes. Tributary moves them at once:
/// a SIGKILLed worker's tasks run elsewhere within the session timeout plus a rebalance. The
/// price is paid in rolling restarts, where a restarted worker finds its old work moved and
/// gets a share back through load-balancing revocations. Set Kafka's value to restore its
/// behaviour.
pub const DEFAULT_SCHEDULED_REBALANCE_MAX_DELAY_MS: &str = "0";

/// Our default for `heartbeat.interval.ms` (Kafka's is 3000). A surviving worker learns that
/// the group is rebalancing on its next heartbeat; at one second instead of three, failover
/// after a crash is the session timeout plus about a second. The cost is one small request
/// per second per worker to the group coordinator.
pub const DEFAULT_HEARTBEAT_INTERVAL_MS: &str = "1000";

/// One internal topic: its name, the key that named it, partitions, replication factor and
/// extra topic configs (`<prefix>.<topic config>`).
#[derive(Debug, Clone, PartialEq)]
pub struct TopicSettings {
    pub name: String,
    pub property: &'static str,
    pub partitions: i32,
    pub replication_factor: i32,
    pub configs: ConfigMap,
    /// What the topic keeps, as Kafka's error messages name it.
    pub purpose: &'static str,
}

/// A validated distributed worker configuration.
#[derive(Debug, Clone)]
pub struct DistributedConfig {
    pub group_id: String,
    pub config_topic: TopicSettings,
    pub offset_topic: TopicSettings,
    pub status_topic: TopicSettings,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub worker_sync_timeout: Duration,
    pub scheduled_rebalance_max_delay: Duration,
    pub protocol: Protocol,
    pub key_ttl: Duration,
    /// `rest.advertised.listener`: `http` or `https`, when set.
    pub advertised_listener: Option<String>,
}

fn config_def() -> ConfigDef {
    let ms = |name: &'static str, default: &'static str, doc: &'static str| {
        ConfigKey::new(name, ConfigType::Int, Importance::Medium, doc).default_value(default).validator(Validator::at_least(0.0))
    };
    ConfigDef::new()
        .define(ConfigKey::new(
            GROUP_ID,
            ConfigType::String,
            Importance::High,
            "A unique string that identifies the Connect cluster group this worker belongs to.",
        ))
        .define(ConfigKey::new(CONFIG_TOPIC, ConfigType::String, Importance::High, "The name of the Kafka topic where connector configurations are stored"))
        .define(ConfigKey::new(OFFSET_TOPIC, ConfigType::String, Importance::High, "The name of the Kafka topic where source connector offsets are stored"))
        .define(ConfigKey::new(STATUS_TOPIC, ConfigType::String, Importance::High, "The name of the Kafka topic where connector and task status are stored"))
        .define(
            ConfigKey::new(
                "offset.storage.partitions",
                ConfigType::Int,
                Importance::Low,
                "The number of partitions used when creating the offset storage topic",
            )
            .default_value("25"),
        )
        .define(
            ConfigKey::new(
                "status.storage.partitions",
                ConfigType::Int,
                Importance::Low,
                "The number of partitions used when creating the status storage topic",
            )
            .default_value("5"),
        )
        .define(
            ConfigKey::new(
                "config.storage.replication.factor",
                ConfigType::Short,
                Importance::Low,
                "Replication factor used when creating the configuration storage topic",
            )
            .default_value("3"),
        )
        .define(
            ConfigKey::new(
                "offset.storage.replication.factor",
                ConfigType::Short,
                Importance::Low,
                "Replication factor used when creating the offset storage topic",
            )
            .default_value("3"),
        )
        .define(
            ConfigKey::new(
                "status.storage.replication.factor",
                ConfigType::Short,
                Importance::Low,
                "Replication factor used when creating the status storage topic",
            )
            .default_value("3"),
        )
        .define(ms("session.timeout.ms", "10000", "The timeout used to detect worker failures."))
        .define(ms("rebalance.timeout.ms", "60000", "The maximum allowed time for each worker to join the group once a rebalance has begun."))
        .define(ms("heartbeat.interval.ms", DEFAULT_HEARTBEAT_INTERVAL_MS, "The expected time between heartbeats to the group coordinator."))
        .define(ms("worker.sync.timeout.ms", "3000", "How long to wait to catch up on the config topic before leaving the group."))
        .define(ms(SCHEDULED_REBALANCE_MAX_DELAY_MS, DEFAULT_SCHEDULED_REBALANCE_MAX_DELAY_MS, "How long to hold a departed worker's work before moving it."))
        .define(
            ConfigKey::new(CONNECT_PROTOCOL, ConfigType::String, Importance::Low, "Compatibility mode for Kafka Connect Protocol")
                .default_value("sessioned")
                .validator(Validator::OneOf(vec!["eager", "compatible", "sessioned"])),
        )
        .define(
            ConfigKey::new(
                "inter.worker.key.ttl.ms",
                ConfigType::Int,
                Importance::Low,
                "The TTL of generated session keys used for internal request validation",
            )
            .default_value("3600000")
            .validator(Validator::at_least(0.0)),
        )
        .define(ConfigKey::new("rest.advertised.listener", ConfigType::String, Importance::Low, "Advertised listener (HTTP or HTTPS)").default_null())
}

impl DistributedConfig {
    /// Parses the distributed keys of a worker file; the error names the key.
    pub fn parse(worker: &WorkerConfig) -> Result<Self, RuntimeError> {
        let originals = worker.originals();
        let parsed = config_def().parse(originals).map_err(|e| RuntimeError::Config(format!("Invalid worker configuration: {e}")))?;
        let ms = |k: &str| Duration::from_millis(parsed.int(k).unwrap_or(0).max(0) as u64);
        let required = |k: &str| -> Result<String, RuntimeError> {
            match parsed.string(k).map(str::trim) {
                Some(v) if !v.is_empty() => Ok(v.to_owned()),
                _ => Err(RuntimeError::Config(format!("Invalid worker configuration: Missing required configuration \"{k}\" which has no default value."))),
            }
        };
        let topic = |property: &'static str, prefix: &str, partitions: i32, purpose: &'static str| -> Result<TopicSettings, RuntimeError> {
            // Extra topic configs; the ones that are worker settings, not topic settings, and
            // cleanup.policy (always compact), are left out as Kafka does.
            let mut configs = with_prefix(originals, &format!("{prefix}."));
            for k in ["topic", "partitions", "replication.factor", "cleanup.policy"] {
                configs.remove(k);
            }
            Ok(TopicSettings {
                name: required(property)?,
                property,
                partitions,
                replication_factor: i32::from(parsed.short(&format!("{prefix}.replication.factor")).unwrap_or(3)),
                configs,
                purpose,
            })
        };
        let protocol = match parsed.string(CONNECT_PROTOCOL).unwrap_or("sessioned").to_ascii_lowercase().as_str() {
            "eager" => Protocol::Eager,
            "compatible" => Protocol::Compatible,
            _ => Protocol::Sessioned,
        };
        let partitions = |k: &str| parsed.int(k).unwrap_or(-1);
        Ok(Self {
            group_id: required(GROUP_ID)?,
            config_topic: topic(CONFIG_TOPIC, "config.storage", 1, "connector configurations")?,
            offset_topic: topic(OFFSET_TOPIC, "offset.storage", partitions("offset.storage.partitions"), "source connector offsets")?,
            status_topic: topic(STATUS_TOPIC, "status.storage", partitions("status.storage.partitions"), "connector and task statuses")?,
            session_timeout: ms("session.timeout.ms"),
            rebalance_timeout: ms("rebalance.timeout.ms"),
            heartbeat_interval: ms("heartbeat.interval.ms"),
            worker_sync_timeout: ms("worker.sync.timeout.ms"),
            scheduled_rebalance_max_delay: ms(SCHEDULED_REBALANCE_MAX_DELAY_MS),
            protocol,
            key_ttl: ms("inter.worker.key.ttl.ms"),
            advertised_listener: parsed.string("rest.advertised.listener").map(|s| s.to_ascii_lowercase()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(pairs: &[(&str, &str)]) -> WorkerConfig {
        let mut m: ConfigMap =
            [("key.converter", "StringConverter"), ("value.converter", "StringConverter")].into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        m.extend(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        WorkerConfig::parse(m).expect("worker config")
    }

    const BASE: &[(&str, &str)] =
        &[("group.id", "connect-cluster"), ("config.storage.topic", "c"), ("offset.storage.topic", "o"), ("status.storage.topic", "s")];

    #[test]
    fn kafkas_defaults_except_the_rebalance_delay_and_heartbeat() {
        let c = DistributedConfig::parse(&worker(BASE)).expect("parses");
        assert_eq!(c.group_id, "connect-cluster");
        assert_eq!((c.config_topic.partitions, c.offset_topic.partitions, c.status_topic.partitions), (1, 25, 5));
        assert_eq!(c.offset_topic.replication_factor, 3);
        assert_eq!((c.session_timeout, c.heartbeat_interval, c.rebalance_timeout), (Duration::from_secs(10), Duration::from_secs(1), Duration::from_secs(60)));
        assert_eq!(c.scheduled_rebalance_max_delay, Duration::ZERO);
        assert_eq!(c.protocol, Protocol::Sessioned);
    }

    #[test]
    fn topic_settings_take_their_prefixed_keys() {
        let mut pairs = BASE.to_vec();
        pairs.extend([
            ("offset.storage.partitions", "3"),
            ("offset.storage.replication.factor", "1"),
            ("offset.storage.segment.bytes", "1048576"),
            ("config.storage.partitions", "9"),
            ("status.storage.cleanup.policy", "delete"),
        ]);
        let c = DistributedConfig::parse(&worker(&pairs)).expect("parses");
        assert_eq!((c.offset_topic.partitions, c.offset_topic.replication_factor), (3, 1));
        assert_eq!(c.offset_topic.configs.get("segment.bytes").map(String::as_str), Some("1048576"));
        assert_eq!(c.config_topic.partitions, 1, "the config topic always has one partition");
        assert!(c.status_topic.configs.is_empty(), "cleanup.policy is always compact");
    }

    #[test]
    fn missing_and_bad_keys_are_named() {
        let e = DistributedConfig::parse(&worker(&BASE[1..])).expect_err("no group.id");
        assert_eq!(e.to_string(), "Invalid worker configuration: Missing required configuration \"group.id\" which has no default value.");
        let mut pairs = BASE.to_vec();
        pairs.push(("connect.protocol", "chatty"));
        let e = DistributedConfig::parse(&worker(&pairs)).expect_err("bad protocol");
        assert!(e.to_string().contains("connect.protocol"), "{e}");
    }
}
