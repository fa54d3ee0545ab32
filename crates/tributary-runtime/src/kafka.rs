//! Kafka clients for tasks, configured as Kafka Connect configures them (`Worker.baseProducerConfigs`,
//! `baseConsumerConfigs`), with librdkafka underneath.

use crate::error::RuntimeError;
use crate::worker_config::WorkerConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::ClientConfig;
use std::sync::Arc;
use std::time::Duration;
use tributary_api::config::with_prefix;
use tributary_api::ConfigMap;

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
        if JAVA_ONLY_KEYS.contains(&k.as_str()) {
            tracing::warn!(key = %k, client = what, "Java client setting has no librdkafka equivalent; ignored");
            continue;
        }
        config.set(k, v);
    }
}

/// The producer of source task `<connector>-<task>`: [`connect_producer_defaults`], then the
/// worker's `producer.*` and the connector's `producer.override.*` settings.
pub fn producer_config(worker: &WorkerConfig, connector: &str, task: u32, connector_config: &ConfigMap) -> ClientConfig {
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
    c
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
pub fn consumer_config(worker: &WorkerConfig, connector: &str, task: u32, connector_config: &ConfigMap) -> ClientConfig {
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
    c
}

/// An admin client for topic creation.
pub fn admin_client(worker: &WorkerConfig, client_id: &str) -> Result<AdminClient<DefaultClientContext>, RuntimeError> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", worker.bootstrap()).set("client.id", client_id);
    apply(&mut c, &worker.with_prefix("admin."), "admin");
    c.create().map_err(|e| RuntimeError::kafka("creating an admin client", e))
}

/// Creates `topic` unless it exists. `-1` partitions or replication factor mean the broker's
/// default (KIP-464).
pub async fn ensure_topic(admin: &AdminClient<DefaultClientContext>, topic: &str, partitions: i32, replication_factor: i32) -> Result<bool, RuntimeError> {
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

/// The cluster id, as `GET /` reports it, read with `admin` (the worker keeps that client for
/// its tasks: dropping a librdkafka client costs ~100 ms, the period of its polling thread).
pub async fn cluster_id(admin: Arc<AdminClient<DefaultClientContext>>, bootstrap: &str) -> Result<String, RuntimeError> {
    tokio::task::spawn_blocking(move || admin.inner().fetch_cluster_id(Duration::from_secs(30)))
        .await
        .map_err(|e| RuntimeError::Other(format!("cluster id lookup panicked: {e}")))?
        .ok_or_else(|| RuntimeError::Other(format!("could not reach the Kafka cluster at {bootstrap} to read its cluster id")))
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
        let c = producer_config(&worker, "orders", 2, &ConfigMap::new());
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
        let c = producer_config(&worker, "orders", 0, &config(&[("producer.override.linger.ms", "50")]));
        assert_eq!(c.get("enable.idempotence"), Some("true"));
        assert_eq!(c.get("max.in.flight.requests.per.connection"), Some("5"));
        assert_eq!(c.get("linger.ms"), Some("50"));
        assert!(worker_places_keyless_records(&c));
        let c = producer_config(&worker, "orders", 0, &config(&[("producer.override.partitioner", "random")]));
        assert!(!worker_places_keyless_records(&c));
        let c = producer_config(&worker, "orders", 0, &config(&[("producer.override.sticky.partitioning.linger.ms", "0")]));
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
