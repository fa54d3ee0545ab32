//! Worker configuration, with Kafka Connect's keys and defaults (`WorkerConfig`,
//! `StandaloneConfig`). Unknown keys are warned about, never fatal, as in Kafka.

use crate::error::RuntimeError;
use std::net::SocketAddr;
use std::time::Duration;
use tributary_api::config::{with_prefix, ConfigKey, ConfigType, Importance, Validator};
use tributary_api::{ConfigDef, ConfigMap};

pub const BOOTSTRAP_SERVERS: &str = "bootstrap.servers";
pub const KEY_CONVERTER: &str = "key.converter";
pub const VALUE_CONVERTER: &str = "value.converter";
pub const HEADER_CONVERTER: &str = "header.converter";
pub const OFFSET_STORAGE_FILE: &str = "offset.storage.file.filename";
pub const OFFSET_FLUSH_INTERVAL_MS: &str = "offset.flush.interval.ms";
pub const OFFSET_FLUSH_TIMEOUT_MS: &str = "offset.flush.timeout.ms";
pub const TASK_SHUTDOWN_TIMEOUT_MS: &str = "task.shutdown.graceful.timeout.ms";
pub const LISTENERS: &str = "listeners";
pub const REST_ADVERTISED_HOST: &str = "rest.advertised.host.name";
pub const REST_ADVERTISED_PORT: &str = "rest.advertised.port";
pub const TOPIC_CREATION_ENABLE: &str = "topic.creation.enable";
pub const TOPIC_TRACKING_ENABLE: &str = "topic.tracking.enable";
pub const TOPIC_TRACKING_ALLOW_RESET: &str = "topic.tracking.allow.reset";
/// Beyond Kafka: where the embedded broker keeps its data (used when `bootstrap.servers` is
/// absent or `embedded`).
pub const EMBEDDED_DATA_DIR: &str = "embedded.broker.data.dir";
/// Beyond Kafka: the embedded broker's listener, `host:port`.
pub const EMBEDDED_LISTENER: &str = "embedded.broker.listener";

/// The value of `bootstrap.servers` that asks for the embedded broker.
pub const EMBEDDED: &str = "embedded";

/// Keys Kafka Connect knows that this worker accepts without acting on them (yet); they are not
/// warned about, so that existing worker files stay quiet.
const ACCEPTED_KEYS: &[&str] = &[
    "client.dns.lookup",
    "plugin.path",
    "plugin.discovery",
    "config.providers",
    "connector.client.config.override.policy",
    "metrics.sample.window.ms",
    "metrics.num.samples",
    "metrics.recording.level",
    "metric.reporters",
    "rest.advertised.listener",
    "access.control.allow.origin",
    "access.control.allow.methods",
    "response.http.headers.config",
    "rest.extension.classes",
    "admin.listeners",
    "ssl.client.auth",
    "rest.basic.auth.credentials.file",
    "rest.request.timeout.ms",
    "security.protocol",
    "client.id",
    "key.converter.schemas.enable",
    "value.converter.schemas.enable",
    "internal.key.converter",
    "internal.value.converter",
];

/// Key prefixes whose keys belong to a sub-component (clients, converters, providers).
const ACCEPTED_PREFIXES: &[&str] = &[
    "producer.",
    "consumer.",
    "admin.",
    "key.converter.",
    "value.converter.",
    "header.converter.",
    "config.providers.",
    "listeners.https.",
    "admin.listeners.https.",
    "ssl.",
    "sasl.",
    "metrics.context.",
    "embedded.broker.",
];

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(
                BOOTSTRAP_SERVERS,
                ConfigType::List,
                Importance::High,
                "Kafka brokers to connect to; absent or `embedded` starts the embedded broker",
            )
            .default_value(EMBEDDED),
        )
        .define(ConfigKey::new(KEY_CONVERTER, ConfigType::Class, Importance::High, "Converter class for record keys"))
        .define(ConfigKey::new(VALUE_CONVERTER, ConfigType::Class, Importance::High, "Converter class for record values"))
        .define(
            ConfigKey::new(HEADER_CONVERTER, ConfigType::Class, Importance::Low, "HeaderConverter class for record headers")
                .default_value("org.apache.kafka.connect.storage.SimpleHeaderConverter"),
        )
        .define(ConfigKey::new(OFFSET_STORAGE_FILE, ConfigType::String, Importance::High, "File to store source offsets in (standalone mode)").default_null())
        .define(
            ConfigKey::new(OFFSET_FLUSH_INTERVAL_MS, ConfigType::Long, Importance::Low, "Interval at which to commit task offsets")
                .default_value("60000")
                .validator(Validator::at_least(0.0)),
        )
        .define(
            ConfigKey::new(OFFSET_FLUSH_TIMEOUT_MS, ConfigType::Long, Importance::Low, "Maximum time to wait for an offset flush")
                .default_value("5000")
                .validator(Validator::at_least(0.0)),
        )
        .define(
            ConfigKey::new(TASK_SHUTDOWN_TIMEOUT_MS, ConfigType::Long, Importance::Low, "Time to wait for tasks to shut down gracefully")
                .default_value("5000")
                .validator(Validator::at_least(0.0)),
        )
        .define(ConfigKey::new(LISTENERS, ConfigType::List, Importance::Low, "REST API listeners").default_value("http://:8083"))
        .define(ConfigKey::new(REST_ADVERTISED_HOST, ConfigType::String, Importance::Low, "Host name advertised to other workers").default_null())
        .define(ConfigKey::new(REST_ADVERTISED_PORT, ConfigType::Int, Importance::Low, "Port advertised to other workers").default_null())
        .define(
            ConfigKey::new(TOPIC_CREATION_ENABLE, ConfigType::Boolean, Importance::Low, "Whether source connectors may create topics (KIP-158)")
                .default_value("true"),
        )
        .define(
            ConfigKey::new(TOPIC_TRACKING_ENABLE, ConfigType::Boolean, Importance::Low, "Whether connectors' active topics are tracked (KIP-558)")
                .default_value("true"),
        )
        .define(
            ConfigKey::new(TOPIC_TRACKING_ALLOW_RESET, ConfigType::Boolean, Importance::Low, "Whether active topics may be reset through the REST API")
                .default_value("true"),
        )
        .define(ConfigKey::new(EMBEDDED_DATA_DIR, ConfigType::String, Importance::Low, "Data directory of the embedded broker").default_value("tributary-data"))
        .define(ConfigKey::new(EMBEDDED_LISTENER, ConfigType::String, Importance::Low, "host:port of the embedded broker").default_value("127.0.0.1:9092"))
}

/// A validated worker configuration.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    originals: ConfigMap,
    /// `None` when the embedded broker is requested.
    pub bootstrap_servers: Option<String>,
    pub key_converter: String,
    pub value_converter: String,
    pub header_converter: String,
    pub offset_storage_file: Option<String>,
    pub offset_flush_interval: Duration,
    pub offset_flush_timeout: Duration,
    pub task_shutdown_timeout: Duration,
    pub rest_listen: SocketAddr,
    pub rest_advertised_host: Option<String>,
    pub rest_advertised_port: Option<u16>,
    pub topic_creation_enable: bool,
    pub topic_tracking_enable: bool,
    pub topic_tracking_allow_reset: bool,
    pub embedded_data_dir: String,
    pub embedded_listener: String,
    /// `connector.client.config.override.policy` (Kafka's default: `All`).
    pub client_override_policy: crate::client_override_policy::ClientOverridePolicy,
}

impl WorkerConfig {
    /// Parses and validates; the error names every bad key. Unknown keys are logged.
    pub fn parse(config: ConfigMap) -> Result<Self, RuntimeError> {
        let def = config_def();
        for key in config.keys() {
            let known = def.key(key).is_some()
                || ACCEPTED_KEYS.contains(&key.as_str())
                || ACCEPTED_PREFIXES.iter().any(|p| key.starts_with(p))
                || is_distributed_key(key);
            if !known {
                tracing::warn!(key = %key, "unknown worker configuration key; it is ignored");
            }
        }
        let parsed = def.parse(&config).map_err(|e| RuntimeError::Config(format!("Invalid worker configuration: {e}")))?;
        let servers = parsed.list(BOOTSTRAP_SERVERS).unwrap_or_default().join(",");
        let bootstrap_servers = if servers.is_empty() || servers == EMBEDDED { None } else { Some(servers) };
        let listeners = parsed.list(LISTENERS).unwrap_or_default();
        let first = listeners.first().ok_or_else(|| RuntimeError::Config("Invalid worker configuration: listeners must not be empty".into()))?;
        let rest_listen = parse_listener(first)?;
        let ms = |k: &str| Duration::from_millis(parsed.long(k).unwrap_or(0).max(0) as u64);
        let rest_advertised_port = match parsed.int(REST_ADVERTISED_PORT) {
            None => None,
            Some(p) => {
                Some(u16::try_from(p).map_err(|_| RuntimeError::Config(format!("Invalid value {p} for configuration {REST_ADVERTISED_PORT}: not a port")))?)
            }
        };
        let client_override_policy = match config.get(crate::client_override_policy::CONNECTOR_CLIENT_POLICY).filter(|v| !v.trim().is_empty()) {
            Some(v) => {
                crate::client_override_policy::ClientOverridePolicy::parse(v).map_err(|e| RuntimeError::Config(format!("Invalid worker configuration: {e}")))?
            }
            None => Default::default(),
        };
        Ok(Self {
            client_override_policy,
            bootstrap_servers,
            key_converter: parsed.string(KEY_CONVERTER).unwrap_or_default().to_owned(),
            value_converter: parsed.string(VALUE_CONVERTER).unwrap_or_default().to_owned(),
            header_converter: parsed.string(HEADER_CONVERTER).unwrap_or_default().to_owned(),
            offset_storage_file: parsed.string(OFFSET_STORAGE_FILE).map(str::to_owned),
            offset_flush_interval: ms(OFFSET_FLUSH_INTERVAL_MS),
            offset_flush_timeout: ms(OFFSET_FLUSH_TIMEOUT_MS),
            task_shutdown_timeout: ms(TASK_SHUTDOWN_TIMEOUT_MS),
            rest_listen,
            rest_advertised_host: parsed.string(REST_ADVERTISED_HOST).map(str::to_owned),
            rest_advertised_port,
            topic_creation_enable: parsed.boolean(TOPIC_CREATION_ENABLE).unwrap_or(true),
            topic_tracking_enable: parsed.boolean(TOPIC_TRACKING_ENABLE).unwrap_or(true),
            topic_tracking_allow_reset: parsed.boolean(TOPIC_TRACKING_ALLOW_RESET).unwrap_or(true),
            embedded_data_dir: parsed.string(EMBEDDED_DATA_DIR).unwrap_or("tributary-data").to_owned(),
            embedded_listener: parsed.string(EMBEDDED_LISTENER).unwrap_or("127.0.0.1:9092").to_owned(),
            originals: config,
        })
    }

    /// The configuration as given.
    pub fn originals(&self) -> &ConfigMap {
        &self.originals
    }

    /// Keys under `prefix`, prefix stripped (`producer.`, `value.converter.`...).
    pub fn with_prefix(&self, prefix: &str) -> ConfigMap {
        with_prefix(&self.originals, prefix)
    }

    /// The bootstrap servers in use. Call after the embedded broker, if any, was started and
    /// [`WorkerConfig::set_bootstrap_servers`] was called.
    pub fn bootstrap(&self) -> &str {
        self.bootstrap_servers.as_deref().unwrap_or(&self.embedded_listener)
    }

    /// Points the worker at a broker started on its behalf (the embedded default).
    pub fn set_bootstrap_servers(&mut self, servers: String) {
        self.bootstrap_servers = Some(servers);
    }

    /// The worker id: `host:port` of the advertised REST URL, as Kafka Connect reports it.
    pub fn worker_id(&self) -> String {
        let host = self.rest_advertised_host.clone().unwrap_or_else(|| {
            if self.rest_listen.ip().is_unspecified() {
                local_hostname()
            } else {
                self.rest_listen.ip().to_string()
            }
        });
        let port = self.rest_advertised_port.unwrap_or(self.rest_listen.port());
        format!("{host}:{port}")
    }
}

fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_owned()).ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "localhost".into())
}

fn is_distributed_key(key: &str) -> bool {
    const KEYS: &[&str] = &[
        "group.id",
        "session.timeout.ms",
        "rebalance.timeout.ms",
        "heartbeat.interval.ms",
        "worker.sync.timeout.ms",
        "worker.unsync.backoff.ms",
        "config.storage.topic",
        "offset.storage.topic",
        "status.storage.topic",
        "offset.storage.partitions",
        "status.storage.partitions",
        "connect.protocol",
        "scheduled.rebalance.max.delay.ms",
        "exactly.once.source.support",
    ];
    KEYS.contains(&key)
        || key.starts_with("config.storage.")
        || key.starts_with("offset.storage.")
        || key.starts_with("status.storage.")
        || key.starts_with("inter.worker.")
}

/// Parses a listener URL such as `http://:8083`, `https://0.0.0.0:8443` or
/// `http://localhost:8083` into the address it binds and whether it is HTTPS.
pub fn parse_listener_url(url: &str) -> Result<(SocketAddr, bool), String> {
    let (rest, https) = if let Some(r) = url.strip_prefix("http://") {
        (r, false)
    } else if let Some(r) = url.strip_prefix("https://") {
        (r, true)
    } else {
        return Err("expected http://host:port or https://host:port".into());
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest.rsplit_once(':').ok_or("expected a port: scheme://host:port")?;
    let port: u16 = port.parse().map_err(|_| "the port is not a number")?;
    let host = match host {
        "" => "0.0.0.0",
        "localhost" => "127.0.0.1",
        h => h.trim_start_matches('[').trim_end_matches(']'),
    };
    let ip = host.parse().map_err(|_| "the host must be an IP address, `localhost` or empty")?;
    Ok((SocketAddr::new(ip, port), https))
}

/// [`parse_listener_url`]'s address, with the error naming `listeners`.
pub fn parse_listener(listener: &str) -> Result<SocketAddr, RuntimeError> {
    parse_listener_url(listener)
        .map(|(addr, _)| addr)
        .map_err(|why| RuntimeError::Config(format!("Invalid value {listener} for configuration {LISTENERS}: {why}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn parses_kafka_keys_with_defaults() {
        let c = WorkerConfig::parse(cfg(&[
            ("bootstrap.servers", "localhost:9092"),
            ("key.converter", "org.apache.kafka.connect.json.JsonConverter"),
            ("value.converter", "org.apache.kafka.connect.storage.StringConverter"),
            ("value.converter.schemas.enable", "false"),
            ("offset.storage.file.filename", "/tmp/x.offsets"),
            ("listeners", "http://127.0.0.1:18083"),
        ]))
        .unwrap();
        assert_eq!(c.bootstrap_servers.as_deref(), Some("localhost:9092"));
        assert_eq!(c.offset_flush_interval, Duration::from_secs(60));
        assert_eq!(c.header_converter, "org.apache.kafka.connect.storage.SimpleHeaderConverter");
        assert_eq!(c.rest_listen, "127.0.0.1:18083".parse().unwrap());
        assert_eq!(c.with_prefix("value.converter."), cfg(&[("schemas.enable", "false")]));
        assert_eq!(c.worker_id(), "127.0.0.1:18083");
    }

    #[test]
    fn missing_converter_and_bad_numbers_are_named() {
        let err = WorkerConfig::parse(cfg(&[("offset.flush.interval.ms", "soon")])).unwrap_err().to_string();
        assert!(err.contains("Missing required configuration \"key.converter\""), "{err}");
        assert!(err.contains("Invalid value soon for configuration offset.flush.interval.ms"), "{err}");
    }

    #[test]
    fn unknown_keys_are_not_fatal() {
        let c = WorkerConfig::parse(cfg(&[("key.converter", "a"), ("value.converter", "b"), ("some.future.key", "1"), ("group.id", "x")])).unwrap();
        assert_eq!(c.originals().get("some.future.key").map(String::as_str), Some("1"));
    }

    #[test]
    fn embedded_when_bootstrap_absent() {
        let c = WorkerConfig::parse(cfg(&[("key.converter", "a"), ("value.converter", "b")])).unwrap();
        assert_eq!(c.bootstrap_servers, None);
        assert_eq!(parse_listener("http://:8083").unwrap(), "0.0.0.0:8083".parse().unwrap());
        assert!(parse_listener("ftp://x:1").is_err());
    }
}
