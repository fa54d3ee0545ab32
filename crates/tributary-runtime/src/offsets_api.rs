//! The connector offsets API (KIP-875): list, alter and reset a connector's offsets. Source
//! offsets live in the offset store; sink offsets are the `connect-<name>` group's committed
//! offsets, shown as `{"kafka_topic", "kafka_partition"}` → `{"kafka_offset"}`.

use crate::error::RuntimeError;
use crate::offset_store::to_map;
use crate::offset_store::{OffsetBackingStore, OffsetCodec};
use crate::worker_config::WorkerConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tributary_api::{ConfigMap, OffsetMap, Value};

/// The offset operations both herders share: reading, altering and resetting a connector's
/// offsets once the herder has found its stored config and kind (and, for changes, checked
/// that it is STOPPED). `store` holds source offsets (a file, or the offsets topic).
pub struct ConnectorOffsetsOps<'a> {
    pub worker: &'a crate::worker::Worker,
    pub store: &'a dyn OffsetBackingStore,
    pub name: &'a str,
    /// The connector's config as stored (provider references unresolved).
    pub config: &'a ConfigMap,
    pub kind: crate::connector_config::ConnectorKind,
}

/// Kafka's message for offset changes to a connector that is not STOPPED.
pub fn not_stopped(name: &str) -> RuntimeError {
    RuntimeError::BadRequest(format!(
        "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
    ))
}

impl ConnectorOffsetsOps<'_> {
    pub async fn read(&self) -> Result<ConnectorOffsets, RuntimeError> {
        match self.kind {
            crate::connector_config::ConnectorKind::Sink => sink_offsets(&self.worker.config, self.name, &self.worker.providers.resolve(self.config)).await,
            _ => source_offsets(self.store, &self.worker.codec, self.name).await,
        }
    }

    /// Asks the connector whether the change is acceptable; true when it manages no offsets
    /// of its own.
    fn connector_accepts(&self, offsets: &[(OffsetMap, Option<OffsetMap>)]) -> Result<bool, RuntimeError> {
        use tributary_api::ConnectorType;
        let class = self.config.get(crate::connector_config::CONNECTOR_CLASS).cloned().unwrap_or_default();
        let resolved = self.worker.providers.resolve(self.config);
        let accepted = match self.worker.plugins.new_connector(&class)? {
            ConnectorType::Source(c) => c.alter_offsets(&resolved, offsets),
            ConnectorType::Sink(c) => c.alter_offsets(&resolved, offsets),
        };
        accepted.map_err(|e| RuntimeError::BadRequest(format!("Failed to alter offsets: {}", e.message())))
    }

    pub async fn alter(&self, offsets: ConnectorOffsets) -> Result<Message, RuntimeError> {
        if offsets.offsets.is_empty() {
            return Err(RuntimeError::BadRequest("Offsets must be specified".into()));
        }
        let parsed = parse_offsets(&offsets)?;
        let managed = self.connector_accepts(&parsed)?;
        match self.kind {
            crate::connector_config::ConnectorKind::Sink => alter_sink_offsets(&self.worker.config, self.name, self.config, &parsed).await?,
            _ => alter_source_offsets(self.store, &self.worker.codec, self.name, &parsed).await?,
        }
        Ok(Message { message: if managed { ALTERED } else { ALTERED_FRAMEWORK }.into() })
    }

    pub async fn reset(&self) -> Result<Message, RuntimeError> {
        let current = parse_offsets(&self.read().await?)?;
        let resets: Vec<_> = current.into_iter().map(|(p, _)| (p, None)).collect();
        let managed = self.connector_accepts(&resets)?;
        match self.kind {
            crate::connector_config::ConnectorKind::Sink => reset_sink_offsets(&self.worker.config, self.name, self.config).await?,
            _ => reset_source_offsets(self.store, &self.worker.codec, self.name).await?,
        }
        Ok(Message { message: if managed { RESET } else { RESET_FRAMEWORK }.into() })
    }
}

/// `{"offsets": [{"partition": {...}, "offset": {...} | null}]}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ConnectorOffsets {
    pub offsets: Vec<ConnectorOffset>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConnectorOffset {
    pub partition: serde_json::Map<String, serde_json::Value>,
    pub offset: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `{"message": "..."}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Message {
    pub message: String,
}

pub const ALTERED: &str = "The offsets for this connector have been altered successfully";
pub const ALTERED_FRAMEWORK: &str = "The Connect framework-managed offsets for this connector have been altered successfully. However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses.";
pub const RESET: &str = "The offsets for this connector have been reset successfully";
pub const RESET_FRAMEWORK: &str = "The Connect framework-managed offsets for this connector have been reset successfully. However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses.";

fn from_json(key: &str, v: &serde_json::Value) -> Result<Value, RuntimeError> {
    Ok(match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Boolean(*b),
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => Value::Float64(n.as_f64().unwrap_or_default()),
        },
        _ => return Err(RuntimeError::BadRequest(format!("Offset and partition values must be primitives; the value of '{key}' is not"))),
    })
}

fn from_map(m: &serde_json::Map<String, serde_json::Value>) -> Result<OffsetMap, RuntimeError> {
    m.iter().map(|(k, v)| Ok((k.clone(), from_json(k, v)?))).collect()
}

/// The request's offsets as offset maps.
pub fn parse_offsets(offsets: &ConnectorOffsets) -> Result<Vec<(OffsetMap, Option<OffsetMap>)>, RuntimeError> {
    offsets.offsets.iter().map(|o| Ok((from_map(&o.partition)?, o.offset.as_ref().map(from_map).transpose()?))).collect()
}

/// A source connector's stored offsets.
pub async fn source_offsets(store: &dyn OffsetBackingStore, codec: &OffsetCodec, connector: &str) -> Result<ConnectorOffsets, RuntimeError> {
    let mut offsets = Vec::new();
    for (k, v) in store.all().await? {
        let Some((name, partition)) = codec.decode_key(&k) else { continue };
        if name != connector {
            continue;
        }
        let offset = codec.decode_value(&v).map_err(|e| RuntimeError::Other(format!("stored offset of {connector} is unreadable: {e}")))?;
        offsets.push(ConnectorOffset { partition: to_map(&partition), offset: offset.as_ref().map(to_map) });
    }
    Ok(ConnectorOffsets { offsets })
}

/// Writes (or, for `None`, deletes) source offsets.
pub async fn alter_source_offsets(
    store: &dyn OffsetBackingStore,
    codec: &OffsetCodec,
    connector: &str,
    offsets: &[(OffsetMap, Option<OffsetMap>)],
) -> Result<(), RuntimeError> {
    let mut entries = Vec::new();
    for (partition, offset) in offsets {
        let key = codec.key(connector, partition)?;
        let value = offset.as_ref().map(|o| codec.value(o)).transpose()?;
        entries.push((key, value));
    }
    store.set(entries).await
}

/// Deletes every stored offset of a source connector.
pub async fn reset_source_offsets(store: &dyn OffsetBackingStore, codec: &OffsetCodec, connector: &str) -> Result<(), RuntimeError> {
    let mut entries = Vec::new();
    for (k, _) in store.all().await? {
        if codec.decode_key(&k).is_some_and(|(name, _)| name == connector) {
            entries.push((k, None));
        }
    }
    store.set(entries).await
}

fn group_consumer(worker: &WorkerConfig, group: &str) -> Result<BaseConsumer, RuntimeError> {
    crate::kafka::admin_scoped_config(worker, &format!("connector-worker-adminclient-{group}"))?
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| RuntimeError::kafka("creating a consumer for offsets", e))
}

/// The partitions of the topics a sink config names.
fn sink_partitions(consumer: &BaseConsumer, config: &ConfigMap) -> Result<TopicPartitionList, RuntimeError> {
    let metadata = consumer.fetch_metadata(None, Duration::from_secs(30)).map_err(|e| RuntimeError::kafka("reading cluster metadata", e))?;
    let topics: Vec<String> = config.get("topics").map(|t| t.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()).unwrap_or_default();
    let regex = match config.get("topics.regex").filter(|r| !r.trim().is_empty()) {
        Some(r) => Some(regex::Regex::new(&format!("^(?:{r})$")).map_err(|e| RuntimeError::BadRequest(format!("Invalid topics.regex: {e}")))?),
        None => None,
    };
    let mut tpl = TopicPartitionList::new();
    for t in metadata.topics() {
        if topics.iter().any(|x| x == t.name()) || regex.as_ref().is_some_and(|r| r.is_match(t.name())) {
            for p in t.partitions() {
                tpl.add_partition(t.name(), p.id());
            }
        }
    }
    Ok(tpl)
}

/// A sink connector's committed group offsets.
pub async fn sink_offsets(worker: &WorkerConfig, connector: &str, config: &ConfigMap) -> Result<ConnectorOffsets, RuntimeError> {
    let (worker, connector, config) = (worker.clone(), connector.to_owned(), config.clone());
    tokio::task::spawn_blocking(move || {
        let consumer = group_consumer(&worker, &crate::kafka::sink_group_id(&connector, &config))?;
        let tpl = sink_partitions(&consumer, &config)?;
        let committed = consumer.committed_offsets(tpl, Duration::from_secs(30)).map_err(|e| RuntimeError::kafka("reading committed offsets", e))?;
        let offsets = committed
            .elements()
            .iter()
            .filter_map(|e| e.offset().to_raw().filter(|o| *o >= 0).map(|o| (e.topic().to_owned(), e.partition(), o)))
            .map(|(t, p, o)| ConnectorOffset {
                partition: serde_json::Map::from_iter([("kafka_topic".to_owned(), t.into()), ("kafka_partition".to_owned(), p.into())]),
                offset: Some(serde_json::Map::from_iter([("kafka_offset".to_owned(), o.into())])),
            })
            .collect();
        Ok(ConnectorOffsets { offsets })
    })
    .await
    .map_err(|e| RuntimeError::Other(format!("offset lookup panicked: {e}")))?
}

/// Commits new group offsets for a (stopped) sink connector.
pub async fn alter_sink_offsets(
    worker: &WorkerConfig,
    connector: &str,
    config: &ConfigMap,
    offsets: &[(OffsetMap, Option<OffsetMap>)],
) -> Result<(), RuntimeError> {
    let mut tpl = TopicPartitionList::new();
    for (partition, offset) in offsets {
        let topic = partition
            .get("kafka_topic")
            .and_then(Value::as_str)
            .ok_or_else(|| RuntimeError::BadRequest("Sink connector offsets must have a 'kafka_topic' partition key".into()))?;
        let p = partition
            .get("kafka_partition")
            .and_then(Value::as_i64)
            .and_then(|p| i32::try_from(p).ok())
            .ok_or_else(|| RuntimeError::BadRequest("Sink connector offsets must have an integer 'kafka_partition' partition key".into()))?;
        let Some(offset) = offset else {
            return Err(RuntimeError::BadRequest(
                "Resetting single sink partitions (null offsets) is not supported yet; DELETE the connector's offsets to reset them all".into(),
            ));
        };
        let o = offset
            .get("kafka_offset")
            .and_then(Value::as_i64)
            .filter(|o| *o >= 0)
            .ok_or_else(|| RuntimeError::BadRequest("Sink connector offsets must have a non-negative integer 'kafka_offset'".into()))?;
        tpl.add_partition_offset(topic, p, Offset::Offset(o)).map_err(|e| RuntimeError::kafka("building the offsets to commit", e))?;
    }
    let (worker, group) = (worker.clone(), crate::kafka::sink_group_id(connector, config));
    tokio::task::spawn_blocking(move || {
        let consumer = group_consumer(&worker, &group)?;
        consumer.commit(&tpl, CommitMode::Sync).map_err(|e| RuntimeError::kafka(format!("committing offsets for group {group}"), e))
    })
    .await
    .map_err(|e| RuntimeError::Other(format!("offset commit panicked: {e}")))?
}

/// Deletes the sink connector's consumer group, and with it every committed offset.
pub async fn reset_sink_offsets(worker: &WorkerConfig, connector: &str, config: &ConfigMap) -> Result<(), RuntimeError> {
    let admin = crate::kafka::admin_client(worker, &format!("connector-worker-adminclient-{connector}"))?;
    let group = crate::kafka::sink_group_id(connector, config);
    let results = admin
        .delete_groups(&[group.as_str()], &rdkafka::admin::AdminOptions::new())
        .await
        .map_err(|e| RuntimeError::kafka(format!("deleting group {group}"), e))?;
    for r in results {
        match r {
            Ok(_) | Err((_, rdkafka::error::RDKafkaErrorCode::GroupIdNotFound)) => {}
            Err((_, code)) => return Err(RuntimeError::Other(format!("Failed to reset offsets of group {group}: {code}"))),
        }
    }
    Ok(())
}
