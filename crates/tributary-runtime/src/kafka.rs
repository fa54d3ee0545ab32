//! Kafka clients for tasks, configured as Kafka Connect configures them (`Worker.baseProducerConfigs`,
//! `baseConsumerConfigs`), with librdkafka underneath.

use crate::error::RuntimeError;
use crate::worker_config::WorkerConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer, ProducerContext};
use rdkafka::ClientConfig;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tributary_api::config::with_prefix;
use tributary_api::ConfigMap;
use tributary_kafka_security::{is_security_key, ClientSecurity};

/// Java client keys that have no librdkafka equivalent. They appear in Kafka Connect worker
/// files; passing them on would make librdkafka refuse the whole config, so they are dropped.
const JAVA_ONLY_KEYS: &[&str] = &[
    "key.serializer",
    "value.serializer",
    "key.deserializer",
    "value.deserializer",
    "max.block.ms",
    "buffer.memory",
    "interceptor.classes",
    "partitioner.class",
    "max.poll.records",
    "default.api.timeout.ms",
    "metric.reporters",
    "client.dns.lookup",
];

fn apply(config: &mut ClientConfig, overrides: &ConfigMap, what: &str) {
    for (k, v) in overrides {
        if is_security_key(k) {
            continue; // translated by `secure`
        }
        if JAVA_ONLY_KEYS.contains(&k.as_str()) {
            tracing::warn!(key = %k, client = what, "Java client setting has no librdkafka equivalent; ignored");
            continue;
        }
        config.set(k, v);
    }
}

/// Which of Kafka Connect's client scopes a client takes its security keys from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientScope {
    /// The worker's own clients (cluster id, internal topics, group membership): the
    /// top-level keys.
    Worker,
    /// Admin clients: the top-level keys, then `admin.*`, then the connector's `admin.override.*`.
    Admin,
    /// Task producers and dead letter queues: `producer.*`, then `producer.override.*`.
    Producer,
    /// Sink task consumers: `consumer.*`, then `consumer.override.*`.
    Consumer,
}

impl ClientScope {
    fn prefixes(self) -> (&'static str, &'static str) {
        match self {
            Self::Worker => ("", ""),
            Self::Admin => ("admin.", "admin.override."),
            Self::Producer => ("producer.", "producer.override."),
            Self::Consumer => ("consumer.", "consumer.override."),
        }
    }

    /// The worker-file prefix of this scope's keys, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Worker => "worker",
            Self::Admin => "admin",
            Self::Producer => "producer",
            Self::Consumer => "consumer",
        }
    }
}

/// The security keys of a client in `scope`, as Kafka Connect scopes them.
pub fn security_keys(worker: &WorkerConfig, scope: ClientScope, connector_config: Option<&ConfigMap>) -> ConfigMap {
    let mut keys = ConfigMap::new();
    if matches!(scope, ClientScope::Worker | ClientScope::Admin) {
        keys.extend(worker.originals().iter().filter(|(k, _)| is_security_key(k)).map(|(k, v)| (k.clone(), v.clone())));
    }
    let (worker_prefix, override_prefix) = scope.prefixes();
    if !worker_prefix.is_empty() {
        keys.extend(worker.with_prefix(worker_prefix).into_iter().filter(|(k, _)| is_security_key(k)));
        if let Some(connector) = connector_config {
            keys.extend(with_prefix(connector, override_prefix).into_iter().filter(|(k, _)| is_security_key(k)));
        }
    }
    keys
}

/// The security of a client in `scope`, translated from Kafka's keys.
pub fn client_security(worker: &WorkerConfig, scope: ClientScope, connector_config: Option<&ConfigMap>) -> Result<ClientSecurity, RuntimeError> {
    ClientSecurity::from_config(&security_keys(worker, scope, connector_config)).map_err(|e| {
        let origin = match (scope, connector_config.is_some()) {
            (ClientScope::Worker, _) => "the worker's Kafka client settings".to_owned(),
            (_, false) => format!("the worker's {}.* settings", scope.name()),
            (_, true) => format!("the {0}.* and {0}.override.* settings", scope.name()),
        };
        RuntimeError::Config(format!("{origin}: {e}"))
    })
}

/// Checks every client scope of the worker file at start-up, so a bad key or an unreadable
/// keystore stops the worker with its name instead of failing the first task.
/// Returns the admin scope's, which the cluster id look-up uses.
pub fn check_client_security(worker: &WorkerConfig) -> Result<ClientSecurity, RuntimeError> {
    for scope in [ClientScope::Worker, ClientScope::Producer, ClientScope::Consumer] {
        client_security(worker, scope, None)?;
    }
    client_security(worker, ClientScope::Admin, None)
}

fn secure(config: &mut ClientConfig, worker: &WorkerConfig, scope: ClientScope, connector_config: Option<&ConfigMap>) -> Result<(), RuntimeError> {
    for (k, v) in client_security(worker, scope, connector_config)?.librdkafka_settings() {
        config.set(k, v);
    }
    Ok(())
}

/// A client of the worker's own (`ClientScope::Worker`): bootstrap servers, client id and the
/// worker's top-level security keys.
pub fn worker_client_config(worker: &WorkerConfig, client_id: &str) -> Result<ClientConfig, RuntimeError> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", worker.bootstrap()).set("client.id", client_id);
    secure(&mut c, worker, ClientScope::Worker, None)?;
    Ok(c)
}

/// The producer of source task `<connector>-<task>`: [`connect_producer_defaults`], then the
/// worker's `producer.*` and the connector's `producer.override.*` settings.
pub fn producer_config(worker: &WorkerConfig, connector: &str, task: u32, connector_config: &ConfigMap) -> Result<ClientConfig, RuntimeError> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", worker.bootstrap()).set("client.id", format!("connector-producer-{connector}-{task}"));
    connect_producer_defaults(&mut c);
    c
        // Java's partitioner: keys hashed with murmur2, as Kafka Connect's producer does (the
        // librdkafka default, CRC32, would put a key on another partition). Keyless records get
        // their partition from the task loop, one per polled batch (`source_partitions`).
        .set("partitioner", "murmur2_random")
        // Records are batched in the producer; a short linger keeps batches full under load
        // without adding visible latency.
        .set("linger.ms", "5");
    apply(&mut c, &worker.with_prefix("producer."), "producer");
    apply(&mut c, &with_prefix(connector_config, "producer.override."), "producer");
    secure(&mut c, worker, ClientScope::Producer, Some(connector_config))?;
    Ok(c)
}

/// The dead letter queue producer of task `<connector>-<task>`: [`connect_producer_defaults`],
/// then the worker's `producer.*` settings (security keys translated).
pub fn dlq_producer_config(worker: &WorkerConfig, connector: &str, task: u32) -> Result<ClientConfig, RuntimeError> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", worker.bootstrap()).set("client.id", format!("connector-dlq-producer-{connector}-{task}"));
    connect_producer_defaults(&mut c);
    for (k, v) in worker.with_prefix("producer.") {
        if !is_security_key(&k) {
            c.set(k, v);
        }
    }
    secure(&mut c, worker, ClientScope::Producer, None)?;
    Ok(c)
}

/// A consumer-side client of the worker's admin scope (offsets of sink groups, as Kafka
/// Connect reads them with its admin client).
pub fn admin_scoped_config(worker: &WorkerConfig, client_id: &str) -> Result<ClientConfig, RuntimeError> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", worker.bootstrap()).set("client.id", client_id);
    secure(&mut c, worker, ClientScope::Admin, None)?;
    Ok(c)
}

/// A producer's failure to send to `topic`, with the resource named when the broker refused
/// the principal (Kafka: "Not authorized to access topics: [...]").
pub fn produce_error_text(topic: &str, e: &KafkaError) -> String {
    match e.rdkafka_error_code() {
        Some(RDKafkaErrorCode::TopicAuthorizationFailed) => format!("Not authorized to access topics: [{topic}] (operation Write): {e}"),
        Some(RDKafkaErrorCode::ClusterAuthorizationFailed) => format!("Cluster authorization failed (operation IdempotentWrite) writing to topic {topic}: {e}"),
        _ => e.to_string(),
    }
}

/// A consumer error that ends a sink task as Kafka's consumer would (it throws): no ACL to read
/// the group or a topic, or failed authentication.
pub fn consumer_authorization_error(e: &KafkaError, group: &str) -> Option<String> {
    match e.rdkafka_error_code()? {
        RDKafkaErrorCode::GroupAuthorizationFailed => Some(format!("Not authorized to access group: {group} (operation Read): {e}")),
        RDKafkaErrorCode::TopicAuthorizationFailed => Some(format!("Not authorized to access topics of group {group} (operation Read or Describe): {e}")),
        RDKafkaErrorCode::Authentication => Some(format!("Authentication failed for the consumer of group {group}: {e}")),
        _ => None,
    }
}

/// Whether the task loop places keyless records itself (`source_partitions`): only when the
/// producer keeps the worker's partitioner settings, so a user's `partitioner` or
/// `sticky.partitioning.linger.ms` override is left to librdkafka.
pub fn worker_places_keyless_records(producer: &ClientConfig) -> bool {
    producer.get("partitioner") == Some("murmur2_random") && producer.get("sticky.partitioning.linger.ms").is_none()
}

/// Kafka Connect's producer defaults for source tasks and dead letter queues (`Worker`'s base
/// producer configs): `acks=all`, one request in flight, so retries cannot reorder records, and
/// no idempotence. Offsets are committed only for acknowledged records either way; a retry
/// may write a record twice, as in Kafka Connect without exactly-once support.
///
/// Not idempotent on purpose, beyond matching Kafka Connect: librdkafka's idempotent producer
/// keeps one request in flight per partition (it caps requests by the count of in-flight
/// *messages*), and while that request waits for the broker its broker thread polls with a
/// zero timeout as soon as the next batch has lingered: measured at 0.9 CPU-seconds per million
/// records, half the worker's source path (BENCHMARKS.md).
pub fn connect_producer_defaults(c: &mut ClientConfig) {
    c.set("acks", "all").set("enable.idempotence", "false").set("max.in.flight.requests.per.connection", "1");
}

/// The consumer group of a sink connector: `connect-<name>`, or `consumer.override.group.id`
/// when the connector sets it, as in Kafka Connect.
pub fn sink_group_id(connector: &str, connector_config: &ConfigMap) -> String {
    connector_config.get("consumer.override.group.id").filter(|g| !g.trim().is_empty()).cloned().unwrap_or_else(|| format!("connect-{connector}"))
}

/// The consumer of sink task `<connector>-<task>`: group [`sink_group_id`], no auto-commit,
/// earliest reset, then `consumer.*` and `consumer.override.*`.
pub fn consumer_config(worker: &WorkerConfig, connector: &str, task: u32, connector_config: &ConfigMap) -> Result<ClientConfig, RuntimeError> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", worker.bootstrap())
        .set("group.id", sink_group_id(connector, connector_config))
        .set("client.id", format!("connector-consumer-{connector}-{task}"))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        // librdkafka stops fetching for 1 s (its default) whenever its local queue passes
        // queued.min.messages; a sink that briefly falls behind then idles. Measured: 0.21M → 0.5M
        // records/s for FileStreamSink (BENCHMARKS.md).
        .set("fetch.queue.backoff.ms", "10");
    apply(&mut c, &worker.with_prefix("consumer."), "consumer");
    apply(&mut c, &with_prefix(connector_config, "consumer.override."), "consumer");
    secure(&mut c, worker, ClientScope::Consumer, Some(connector_config))?;
    Ok(c)
}

/// The admin clients of the worker and its tasks.
pub type Admin = AdminClient<DefaultClientContext>;

/// An admin client for topic creation (and the cluster id): the worker's top-level security
/// keys, then `admin.*`, as Kafka Connect's `Worker.adminConfigs`.
pub fn admin_client(worker: &WorkerConfig, client_id: &str) -> Result<Admin, RuntimeError> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", worker.bootstrap()).set("client.id", client_id);
    apply(&mut c, &worker.with_prefix("admin."), "admin");
    secure(&mut c, worker, ClientScope::Admin, None)?;
    c.create().map_err(|e| RuntimeError::kafka("creating an admin client", e))
}

/// The last error librdkafka reported that waiting will not cure: authentication or TLS.
#[derive(Debug, Clone)]
pub struct FatalClientError {
    pub code: RDKafkaErrorCode,
    pub reason: String,
}

/// A client context that remembers authentication and TLS failures, so a caller waiting on the
/// cluster can stop at once with the broker's reason (librdkafka itself retries them forever).
#[derive(Default)]
pub struct WorkerClientContext {
    fatal: Mutex<Option<FatalClientError>>,
    last: Mutex<Option<String>>,
}

impl WorkerClientContext {
    pub fn fatal_error(&self) -> Option<FatalClientError> {
        self.fatal.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    fn last_error(&self) -> Option<String> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl ProducerContext for WorkerClientContext {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {}
}

impl ClientContext for WorkerClientContext {
    fn error(&self, error: KafkaError, reason: &str) {
        let code = error.rdkafka_error_code();
        tracing::debug!(%error, reason, "librdkafka error");
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason.to_owned());
        if let Some(code @ (RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SSL)) = code {
            *self.fatal.lock().unwrap_or_else(|p| p.into_inner()) = Some(FatalClientError { code, reason: reason.to_owned() });
        }
    }
}

/// Creates `topic` unless it exists. `-1` partitions or replication factor mean the broker's
/// default (KIP-464).
pub async fn ensure_topic(admin: &Admin, topic: &str, partitions: i32, replication_factor: i32) -> Result<bool, RuntimeError> {
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(replication_factor));
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin.create_topics([&new], &opts).await.map_err(|e| RuntimeError::kafka(format!("creating topic {topic}"), e))?;
    match results.into_iter().next() {
        Some(Ok(_)) => {
            tracing::info!(topic, partitions, replication_factor, "created topic");
            Ok(true)
        }
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) | None => Ok(false),
        Some(Err((_, code))) => Err(RuntimeError::Other(format!(
            "Task failed to create new topic {topic} (partitions {partitions}, replication factor {replication_factor}): {code}. Ensure that the task is authorized to create topics or that the topic exists and restart the task"
        ))),
    }
}

/// How long the worker waits for its Kafka cluster at start-up.
const CLUSTER_WAIT: Duration = Duration::from_secs(30);
/// How often it says that it is still waiting.
const CLUSTER_WAIT_LOG: Duration = Duration::from_secs(5);

/// The cluster id, as `GET /` reports it, read with a short-lived client of the admin scope
/// (librdkafka reports authentication and TLS failures only to a client whose main queue is
/// polled, which an admin client's is not). Logs while the cluster is unreachable; an
/// authentication or TLS failure ends the wait at once with the broker's reason, named with
/// `security` (mechanism and principal).
pub async fn cluster_id(worker: &WorkerConfig, security: &ClientSecurity) -> Result<String, RuntimeError> {
    let bootstrap = worker.bootstrap().to_owned();
    let probe: BaseProducer<WorkerClientContext> = admin_scoped_config(worker, "connect-cluster-id")?
        .create_with_context(WorkerClientContext::default())
        .map_err(|e| RuntimeError::kafka("creating a client to read the cluster id", e))?;
    let probe = Arc::new(probe);
    let started = Instant::now();
    let mut logged = started;
    let outcome = loop {
        let p = probe.clone();
        let id = tokio::task::spawn_blocking(move || {
            let id = p.client().fetch_cluster_id(Duration::from_millis(250));
            // Hands queued error events to the context; waits for nothing.
            p.poll(Duration::ZERO);
            id
        })
        .await
        .map_err(|e| RuntimeError::Other(format!("cluster id lookup panicked: {e}")))?;
        if let Some(id) = id {
            break Ok(id);
        }
        let context = probe.context();
        if let Some(fatal) = context.fatal_error() {
            break Err(RuntimeError::Config(describe_fatal(&fatal, &bootstrap, security)));
        }
        let last = context.last_error().unwrap_or_else(|| "no answer yet".into());
        if started.elapsed() >= CLUSTER_WAIT {
            break Err(RuntimeError::Other(format!(
                "could not reach the Kafka cluster at {bootstrap} ({}) to read its cluster id within {} s: {last}",
                security.protocol.name(),
                CLUSTER_WAIT.as_secs()
            )));
        }
        if logged.elapsed() >= CLUSTER_WAIT_LOG {
            logged = Instant::now();
            tracing::warn!(bootstrap = %bootstrap, security.protocol = security.protocol.name(), last_error = %last, "waiting for the Kafka cluster");
        }
    };
    // Dropping a librdkafka client waits out its polling thread (~100 ms): not on start-up's path.
    std::thread::spawn(move || drop(probe));
    outcome
}

/// An authentication or TLS failure, in words an operator can act on.
pub fn describe_fatal(fatal: &FatalClientError, bootstrap: &str, security: &ClientSecurity) -> String {
    match (fatal.code, &security.sasl) {
        (RDKafkaErrorCode::Authentication, Some(sasl)) => format!(
            "Authentication failed at the Kafka cluster {bootstrap} with SASL mechanism {} as principal {} ({}): {}",
            sasl.mechanism(),
            sasl.principal(),
            security.protocol.name(),
            fatal.reason
        ),
        (RDKafkaErrorCode::Authentication, None) => {
            format!("Authentication failed at the Kafka cluster {bootstrap} ({}): {}", security.protocol.name(), fatal.reason)
        }
        _ => format!(
            "TLS with the Kafka cluster {bootstrap} failed ({}; check ssl.truststore.* and ssl.endpoint.identification.algorithm): {}",
            security.protocol.name(),
            fatal.reason
        ),
    }
}

/// Kafka's rules for a topic name (`Topic.validate`), with its wording. Checked before a source
/// task first sends to a topic: a name with a NUL byte would otherwise abort the task's thread
/// inside rdkafka (which passes topic names to librdkafka as C strings).
pub fn check_topic_name(topic: &str) -> Result<(), String> {
    if topic.is_empty() {
        return Err("Topic name is illegal, it can't be empty".into());
    }
    if topic == "." || topic == ".." {
        return Err("Topic name cannot be \".\" or \"..\"".into());
    }
    if topic.len() > 249 {
        return Err(format!("Topic name is illegal, it can't be longer than 249 characters, topic name: {topic}"));
    }
    if !topic.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
        return Err(format!("Topic name \"{}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'", topic.escape_debug()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{check_topic_name, producer_config, worker_places_keyless_records};
    use crate::worker_config::WorkerConfig;
    use tributary_api::ConfigMap;

    fn config(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn source_producers_start_from_kafka_connects_defaults_and_take_overrides() {
        let worker = WorkerConfig::parse(config(&[("key.converter", "a"), ("value.converter", "b"), ("bootstrap.servers", "k:9092")])).unwrap();
        let c = producer_config(&worker, "orders", 2, &ConfigMap::new()).unwrap();
        assert_eq!(c.get("acks"), Some("all"));
        assert_eq!(c.get("enable.idempotence"), Some("false"));
        assert_eq!(c.get("max.in.flight.requests.per.connection"), Some("1"));
        assert_eq!(c.get("client.id"), Some("connector-producer-orders-2"));

        let worker = WorkerConfig::parse(config(&[
            ("key.converter", "a"),
            ("value.converter", "b"),
            ("producer.enable.idempotence", "true"),
            ("producer.max.in.flight.requests.per.connection", "5"),
        ]))
        .unwrap();
        let c = producer_config(&worker, "orders", 0, &config(&[("producer.override.linger.ms", "50")])).unwrap();
        assert_eq!(c.get("enable.idempotence"), Some("true"));
        assert_eq!(c.get("max.in.flight.requests.per.connection"), Some("5"));
        assert_eq!(c.get("linger.ms"), Some("50"));
        assert!(worker_places_keyless_records(&c));
        let c = producer_config(&worker, "orders", 0, &config(&[("producer.override.partitioner", "random")])).unwrap();
        assert!(!worker_places_keyless_records(&c));
        let c = producer_config(&worker, "orders", 0, &config(&[("producer.override.sticky.partitioning.linger.ms", "0")])).unwrap();
        assert!(!worker_places_keyless_records(&c));
    }

    #[test]
    fn topic_names_follow_kafkas_rules() {
        for ok in ["a", "connect-offsets", "A.b_c-9", &"x".repeat(249)] {
            assert_eq!(check_topic_name(ok), Ok(()), "{ok}");
        }
        assert_eq!(check_topic_name(""), Err("Topic name is illegal, it can't be empty".into()));
        assert_eq!(check_topic_name(".."), Err("Topic name cannot be \".\" or \"..\"".into()));
        assert!(check_topic_name(&"x".repeat(250)).is_err_and(|e| e.contains("longer than 249")));
        assert_eq!(
            check_topic_name("bad\0topic"),
            Err("Topic name \"bad\\0topic\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'".into())
        );
        assert!(check_topic_name("with space").is_err());
        assert!(check_topic_name("é").is_err());
    }
}
