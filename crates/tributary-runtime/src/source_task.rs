//! The source task loop (`WorkerSourceTask`): poll → convert → produce, and commit source
//! offsets only for records the broker acknowledged.
//!
//! Records are tracked in send order. Acknowledgements are consumed from the front, so the
//! committable offsets always describe a prefix of acknowledged records: a crash replays at most
//! what was sent after the last flush, and loses nothing.

use crate::error::RuntimeError;
use crate::error_handling::{ErrorReporter, RawRecord, Stage};
use crate::kafka;
use crate::offset_store::{OffsetBackingStore, OffsetCodec};
use crate::source_producer::{Acks, Delivery, SourceProducer};
use crate::transformation_chain::TransformationChain;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer as _};
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tributary_api::{ConnectError, Converter, HeaderConverter, OffsetMap, RecordMetadata, SourceMeta, SourceRecord, SourceTask};

/// The class Kafka names in KAFKA_PRODUCE error reports.
const WORKER_SOURCE_TASK: &str = "org.apache.kafka.connect.runtime.AbstractWorkerSourceTask";

/// A record the producer gave back, as bytes for the error report.
fn produced_raw(m: &rdkafka::message::OwnedMessage) -> RawRecord {
    use rdkafka::message::{Headers as _, Message as _};
    RawRecord {
        topic: m.topic().to_owned(),
        partition: Some(m.partition()).filter(|p| *p >= 0),
        timestamp: m.timestamp().to_millis(),
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().map(<[u8]>::to_vec),
        headers: m.headers().map(|hs| hs.iter().map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec))).collect()).unwrap_or_default(),
        ..Default::default()
    }
}

/// The record's key, value and headers as bytes; on failure, the stage that failed. A free
/// function over the converters (all `Sync`) so a retry loop can hold it across awaits.
#[allow(clippy::type_complexity)]
fn convert(
    key_converter: &dyn Converter,
    value_converter: &dyn Converter,
    header_converter: &dyn HeaderConverter,
    record: &mut SourceRecord,
) -> Result<(Option<Vec<u8>>, Option<Vec<u8>>, Option<OwnedHeaders>), (Stage, ConnectError)> {
    let topic = record.topic.as_str();
    let key = key_converter.from_connect_data(topic, &mut record.headers, record.key_schema.as_ref(), &record.key).map_err(|e| (Stage::KeyConverter, e))?;
    let value =
        value_converter.from_connect_data(topic, &mut record.headers, record.value_schema.as_ref(), &record.value).map_err(|e| (Stage::ValueConverter, e))?;
    if record.headers.is_empty() {
        // Most records have none: no librdkafka header list to allocate and copy.
        return Ok((key, value, None));
    }
    let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
    for h in &record.headers {
        let bytes = header_converter.from_connect_header(topic, &h.key, h.schema.as_ref(), &h.value).map_err(|e| (Stage::HeaderConverter, e))?;
        headers = headers.insert(KafkaHeader { key: &h.key, value: bytes.as_deref() });
    }
    Ok((key, value, Some(headers)))
}

/// Most records sent and not yet acknowledged; beyond it the loop waits for acknowledgements
/// before polling again (backpressure from the broker to the connector).
const MAX_IN_FLIGHT: usize = 50_000;

/// Topic creation settings of a source connector (KIP-158 `topic.creation.default.*`).
#[derive(Debug, Clone)]
pub struct TopicCreation {
    pub enabled: bool,
    pub partitions: i32,
    pub replication_factor: i32,
}

/// Everything a source task needs to run.
pub struct SourceTaskRunner {
    pub connector: String,
    pub task_id: u32,
    pub task: Box<dyn SourceTask>,
    pub producer: SourceProducer,
    /// The worker's admin client, shared by its tasks (topic creation is rare; one client per
    /// task cost a librdkafka instance, its threads and buffers, each).
    pub admin: Arc<AdminClient<DefaultClientContext>>,
    pub key_converter: Box<dyn Converter>,
    pub value_converter: Box<dyn Converter>,
    pub header_converter: Box<dyn HeaderConverter>,
    pub offset_store: Arc<dyn OffsetBackingStore>,
    pub codec: Arc<OffsetCodec>,
    pub flush_interval: Duration,
    pub flush_timeout: Duration,
    pub topic_creation: TopicCreation,
    pub chain: TransformationChain<SourceMeta>,
    /// Where active topics are recorded (KIP-558); `None` when topic tracking is off.
    pub topic_tracker: Option<Arc<crate::status::StatusStore>>,
    /// Tolerance, log and dead letter queue (`errors.*`); beyond Kafka, sources have a DLQ too.
    pub errors: Arc<ErrorReporter>,
    /// Kafka's class names of the key, value and header converters, for error reports.
    pub converter_classes: [String; 3],
    /// Schemaless JSON, for DLQ bytes of a record the connector's converters cannot write.
    pub fallback_converter: Box<dyn Converter>,
}

/// A record in send order, and what became of it once known.
struct Pending {
    outcome: Outcome,
    record: SourceRecord,
}

enum Outcome {
    /// Sent; no acknowledgement yet.
    InFlight,
    Delivered(Delivery),
    /// Never sent (dropped by the chain, or a tolerated error): nothing to wait for, but its
    /// offset still commits only after every earlier record's.
    NotSent,
}

/// Records in send order. Each has a sequence number (`front_seq` + its index), sent with it
/// to the producer, which is how acknowledgements, arriving in any order across partitions,
/// find their record.
#[derive(Default)]
struct InFlight {
    pending: VecDeque<Pending>,
    front_seq: usize,
    /// Scratch for draining acknowledgements (kept to reuse its allocation).
    arrived: Vec<(usize, Delivery)>,
}

impl InFlight {
    fn next_seq(&self) -> usize {
        self.front_seq + self.pending.len()
    }
    fn push(&mut self, outcome: Outcome, record: SourceRecord) {
        self.pending.push_back(Pending { outcome, record });
    }
    /// Files every acknowledgement received so far under its record.
    fn collect(&mut self, acks: &Acks) {
        acks.drain(&mut self.arrived);
        for (seq, delivery) in self.arrived.drain(..) {
            match seq.checked_sub(self.front_seq).and_then(|i| self.pending.get_mut(i)) {
                Some(p) => p.outcome = Outcome::Delivered(delivery),
                None => tracing::warn!(seq, "acknowledgement for a record no longer tracked; ignored"),
            }
        }
    }
    /// The oldest record, once its outcome is known.
    fn pop_resolved(&mut self) -> Option<Pending> {
        if matches!(self.pending.front()?.outcome, Outcome::InFlight) {
            return None;
        }
        self.front_seq += 1;
        self.pending.pop_front()
    }
    fn front_in_flight(&self) -> bool {
        self.pending.front().is_some_and(|p| matches!(p.outcome, Outcome::InFlight))
    }
    fn len(&self) -> usize {
        self.pending.len()
    }
}

/// Offsets acknowledged but not yet flushed, per source partition.
#[derive(Default)]
struct Committable {
    entries: Vec<(Arc<OffsetMap>, OffsetMap)>,
    dirty: bool,
}

impl Committable {
    /// Takes the maps of an acknowledged record (moved, not cloned: this runs once per record).
    fn update(&mut self, partition: Arc<OffsetMap>, offset: OffsetMap) {
        // Most tasks have one or a few partitions: a scan beats hashing a map of values.
        // Records of one stream usually share one map: pointer equality first, no hashing.
        let same = |p: &Arc<OffsetMap>| Arc::ptr_eq(p, &partition) || *p == partition;
        match self.entries.iter_mut().rev().find(|(p, _)| same(p)) {
            Some((_, o)) => *o = offset,
            None => self.entries.push((partition, offset)),
        }
        self.dirty = true;
    }
}

impl SourceTaskRunner {
    /// Runs until `cancel` fires or the task fails. Returns the failure, if any.
    /// While `paused` holds true the task is not polled (PAUSED); acknowledgements and offset
    /// flushes go on.
    pub async fn run(mut self, cancel: CancellationToken, mut paused: tokio::sync::watch::Receiver<bool>) -> Result<(), ConnectError> {
        let mut pause_watch_alive = true;
        let mut in_flight = InFlight::default();
        let acks = self.producer.context().acks().clone();
        let mut committable = Committable::default();
        let mut known_topics: HashSet<String> = HashSet::new();
        let mut flush_tick = tokio::time::interval_at(tokio::time::Instant::now() + self.flush_interval, self.flush_interval.max(Duration::from_millis(1)));
        flush_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let result = loop {
            // Consume every acknowledgement that is already in, before anything else: this
            // keeps the in-flight list short and the committable offsets fresh.
            if let Err(e) = self.acknowledge_resolved(&mut in_flight, &acks, &mut committable).await {
                break Err(e);
            }
            let is_paused = *paused.borrow();
            let result: Result<(), ConnectError> = tokio::select! {
                biased;
                _ = cancel.cancelled() => break Ok(()),
                changed = paused.changed(), if pause_watch_alive => {
                    pause_watch_alive = changed.is_ok();
                    Ok(())
                }
                // Acknowledgements came in: the next turn of the loop takes them.
                _ = acks.arrived(), if in_flight.front_in_flight() => Ok(()),
                _ = flush_tick.tick() => self.flush_offsets(&mut committable).await,
                batch = self.task.poll(), if !is_paused && in_flight.len() < MAX_IN_FLIGHT => match batch {
                    Ok(records) => self.send(records, &mut in_flight, &acks, &mut committable, &mut known_topics, &cancel).await,
                    Err(e) if e.is_retriable() => {
                        tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "retriable error from poll; polling again");
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
            };
            if let Err(e) = result {
                break Err(e);
            }
        };
        // Stopping (or failed): wait a bounded time for what is in flight, then commit the
        // acknowledged prefix so a restart does not replay it.
        let deadline = tokio::time::Instant::now() + self.flush_timeout;
        loop {
            if self.acknowledge_resolved(&mut in_flight, &acks, &mut committable).await.is_err() || in_flight.len() == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, acks.arrived()).await.is_err() {
                tracing::warn!(connector = %self.connector, task = self.task_id, outstanding = in_flight.len(), "timed out waiting for in-flight records; their offsets are not committed");
                break;
            }
        }
        if let Err(e) = self.flush_offsets(&mut committable).await {
            tracing::error!(connector = %self.connector, task = self.task_id, error = %e, "final offset flush failed");
        }
        if let Err(e) = self.task.stop().await {
            tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "error stopping task");
        }
        result
    }

    /// Takes the acknowledgements that came in and settles the oldest records whose outcome is
    /// known, in send order.
    async fn acknowledge_resolved(&mut self, in_flight: &mut InFlight, acks: &Acks, committable: &mut Committable) -> Result<(), ConnectError> {
        in_flight.collect(acks);
        while let Some(p) = in_flight.pop_resolved() {
            self.acknowledge(p, committable).await?;
        }
        Ok(())
    }

    async fn acknowledge(&mut self, pending: Pending, committable: &mut Committable) -> Result<(), ConnectError> {
        let Pending { record, outcome } = pending;
        let meta = match outcome {
            Outcome::NotSent => None,
            Outcome::Delivered(Delivery::Acked { partition, offset }) => Some(RecordMetadata { topic: record.topic.clone(), partition, offset }),
            Outcome::Delivered(Delivery::Failed { error, message }) => {
                // KAFKA_PRODUCE: tolerated under errors.tolerance=all (the record is skipped, its
                // offset commits in order), else the task fails.
                let error = ConnectError::fatal(format!("Unrecoverable exception from producer send callback: {error}"));
                self.errors.report(&produced_raw(&message), Stage::KafkaProduce, WORKER_SOURCE_TASK, error).await?;
                None
            }
            Outcome::InFlight => return Err(ConnectError::fatal("internal error: a record was settled before its acknowledgement")),
        };
        let committed = self.task.commit_record(&record, meta.as_ref()).await;
        let SourceMeta { source_partition, source_offset } = record.meta;
        if let Some(offset) = source_offset {
            committable.update(source_partition, offset);
        }
        committed
    }

    async fn send(
        &mut self,
        records: Vec<SourceRecord>,
        in_flight: &mut InFlight,
        acks: &Acks,
        committable: &mut Committable,
        known_topics: &mut HashSet<String>,
        cancel: &CancellationToken,
    ) -> Result<(), ConnectError> {
        for original in records {
            // `commit_record` gets the record as the task produced it, so the chain works on a
            // copy; without transforms there is nothing to copy.
            let (mut record, original) = if self.chain.is_empty() {
                (original, None)
            } else {
                let outcome = match self.chain.apply_reporting(original.clone()) {
                    Ok(out) => Ok(out),
                    Err(f) if f.error.is_retriable() => {
                        let (chain, mut first) = (&self.chain, Some(f.error));
                        let retried = self
                            .errors
                            .retry(cancel, || match first.take() {
                                Some(e) => Err(e),
                                None => chain.apply_reporting(original.clone()).map_err(|f| f.error),
                            })
                            .await;
                        retried.map_err(|e| (f.class, e))
                    }
                    Err(f) => Err((f.class, f.error)),
                };
                match outcome {
                    Ok(Some(transformed)) => (transformed, Some(original)),
                    Ok(None) => {
                        in_flight.push(Outcome::NotSent, original);
                        continue;
                    }
                    Err((class, error)) => {
                        // Tolerated: the record is in the DLQ (acknowledged) and its offset
                        // commits in send order like a dropped record's.
                        let raw = self.source_raw(&original, &original.topic);
                        self.errors.report(&raw, Stage::Transformation, class, error).await?;
                        in_flight.push(Outcome::NotSent, original);
                        continue;
                    }
                }
            };
            if !known_topics.contains(&record.topic) {
                self.create_topic(&record.topic).await?;
                if let Some(t) = &self.topic_tracker {
                    t.add_topic(&self.connector, &record.topic);
                }
                known_topics.insert(record.topic.clone());
            }
            let converted = match convert(&*self.key_converter, &*self.value_converter, &*self.header_converter, &mut record) {
                Err((stage, error)) if error.is_retriable() => {
                    let (kc, vc, hc) = (&*self.key_converter, &*self.value_converter, &*self.header_converter);
                    let (stage_seen, mut first) = (std::sync::Mutex::new(stage), Some(error));
                    let retried = self
                        .errors
                        .retry(cancel, || match first.take() {
                            Some(e) => Err(e),
                            None => convert(kc, vc, hc, &mut record).map_err(|(s, e)| {
                                *stage_seen.lock().unwrap_or_else(|p| p.into_inner()) = s;
                                e
                            }),
                        })
                        .await;
                    let stage = *stage_seen.lock().unwrap_or_else(|p| p.into_inner());
                    retried.map_err(|e| (stage, e))
                }
                other => other,
            };
            let (key, value, headers) = match converted {
                Ok(c) => c,
                Err((stage, error)) => {
                    let topic = record.topic.clone();
                    let failed = original.unwrap_or(record);
                    let raw = self.source_raw(&failed, &topic);
                    let class = self.converter_classes[match stage {
                        Stage::KeyConverter => 0,
                        Stage::ValueConverter => 1,
                        _ => 2,
                    }]
                    .clone();
                    self.errors.report(&raw, stage, &class, error).await?;
                    in_flight.push(Outcome::NotSent, failed);
                    continue;
                }
            };
            let topic = record.topic.as_str();
            let mut out: BaseRecord<'_, [u8], [u8], usize> = BaseRecord::with_opaque_to(topic, in_flight.next_seq());
            out.key = key.as_deref();
            out.payload = value.as_deref();
            out.partition = record.kafka_partition;
            out.timestamp = record.timestamp;
            out.headers = headers;
            let outcome = loop {
                match self.producer.send(out) {
                    Ok(()) => break Outcome::InFlight,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        // The producer's queue is full: make room by settling what it acknowledged.
                        out = back;
                        if in_flight.front_in_flight() {
                            acks.arrived().await;
                        } else {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                        self.acknowledge_resolved(in_flight, acks, committable).await?;
                    }
                    Err((e, _)) => {
                        let error = ConnectError::fatal(format!("Unrecoverable exception trying to send: {e}"));
                        let raw = RawRecord {
                            topic: topic.to_owned(),
                            partition: record.kafka_partition,
                            key: key.clone(),
                            value: value.clone(),
                            ..Default::default()
                        };
                        self.errors.report(&raw, Stage::KafkaProduce, WORKER_SOURCE_TASK, error).await?;
                        // Tolerated: queued like a dropped record, so its offset commits in order.
                        break Outcome::NotSent;
                    }
                }
            };
            in_flight.push(outcome, original.unwrap_or(record));
        }
        Ok(())
    }

    /// A failed source record as DLQ bytes: the connector's converters where they work, else
    /// schemaless JSON; the source partition and offset go in context headers.
    fn source_raw(&self, record: &SourceRecord, topic: &str) -> RawRecord {
        if !self.errors.has_dlq() {
            return RawRecord { topic: topic.to_owned(), partition: record.kafka_partition, timestamp: record.timestamp, ..Default::default() };
        }
        let mut scratch = record.headers.clone();
        let mut bytes = |c: &dyn Converter, schema, value| {
            c.from_connect_data(topic, &mut scratch, schema, value)
                .or_else(|_| self.fallback_converter.from_connect_data(topic, &mut scratch, schema, value))
                .ok()
                .flatten()
        };
        let key = bytes(&*self.key_converter, record.key_schema.as_ref(), &record.key);
        let value = bytes(&*self.value_converter, record.value_schema.as_ref(), &record.value);
        let headers = record
            .headers
            .iter()
            .map(|h| (h.key.clone(), self.header_converter.from_connect_header(topic, &h.key, h.schema.as_ref(), &h.value).ok().flatten()))
            .collect();
        let mut extra = vec![("source.partition".to_owned(), serde_json::Value::Object(crate::offsets_api::to_map(&record.meta.source_partition)).to_string())];
        if let Some(o) = &record.meta.source_offset {
            extra.push(("source.offset".to_owned(), serde_json::Value::Object(crate::offsets_api::to_map(o)).to_string()));
        }
        RawRecord {
            topic: topic.to_owned(),
            partition: record.kafka_partition,
            offset: None,
            timestamp: record.timestamp,
            timestamp_type: None,
            key,
            value,
            headers,
            extra_headers: extra,
        }
    }

    // `&mut self` (not `&self`): the runner is Send but not Sync, and this future is held across
    // an await inside the spawned task.
    async fn create_topic(&mut self, topic: &str) -> Result<(), ConnectError> {
        if !self.topic_creation.enabled {
            return Ok(());
        }
        kafka::ensure_topic(&self.admin, topic, self.topic_creation.partitions, self.topic_creation.replication_factor)
            .await
            .map(|_| ())
            .map_err(|e| ConnectError::fatal(e.to_string()))
    }

    async fn flush_offsets(&mut self, committable: &mut Committable) -> Result<(), ConnectError> {
        if !committable.dirty {
            return self.task.commit().await;
        }
        let mut entries = Vec::with_capacity(committable.entries.len());
        for (partition, offset) in &committable.entries {
            entries.push((self.codec.key(&self.connector, partition)?, Some(self.codec.value(offset)?)));
        }
        match tokio::time::timeout(self.flush_timeout, self.offset_store.set(entries)).await {
            Ok(Ok(())) => {
                committable.dirty = false;
                self.task.commit().await
            }
            Ok(Err(e)) => {
                // Kept dirty: the next flush writes them again.
                tracing::error!(connector = %self.connector, task = self.task_id, error = %e, "offset flush failed; will retry");
                Ok(())
            }
            Err(_) => {
                tracing::error!(connector = %self.connector, task = self.task_id, "offset flush timed out; will retry");
                Ok(())
            }
        }
    }
}

impl From<RuntimeError> for ConnectError {
    fn from(e: RuntimeError) -> Self {
        ConnectError::fatal(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_api::Value;

    fn map(entries: &[(&str, Value)]) -> OffsetMap {
        entries.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    #[test]
    fn committable_keeps_the_latest_offset_per_partition_whatever_the_key_order() {
        let mut c = Committable::default();
        let a = || Arc::new(map(&[("file", Value::String("a".into())), ("n", Value::Int32(1))]));
        let a_reordered = Arc::new(map(&[("n", Value::Int32(1)), ("file", Value::String("a".into()))]));
        let b = Arc::new(map(&[("file", Value::String("b".into())), ("n", Value::Int32(1))]));
        let shared = a();
        c.update(shared.clone(), map(&[("position", Value::Int64(1))]));
        c.update(b, map(&[("position", Value::Int64(7))]));
        c.update(shared, map(&[("position", Value::Int64(2))]));
        c.update(a_reordered, map(&[("position", Value::Int64(3))]));
        assert_eq!(c.entries.len(), 2);
        assert_eq!(c.entries[0], (a(), map(&[("position", Value::Int64(3))])));
        assert_eq!(c.entries[1].1, map(&[("position", Value::Int64(7))]));
        assert!(c.dirty);
    }

    #[test]
    fn in_flight_settles_in_send_order_whatever_the_acknowledgement_order() {
        let acks = Acks::default();
        let mut f = InFlight::default();
        let record = |n: i64| {
            SourceRecord::new(OffsetMap::new(), Some(map(&[("position", Value::Int64(n))])), "t".to_owned(), None::<tributary_api::SchemaRef>, Value::Null)
        };
        for n in 0..3 {
            assert_eq!(f.next_seq(), n as usize);
            f.push(Outcome::InFlight, record(n));
        }
        f.push(Outcome::NotSent, record(3));
        // The third and the second record are acknowledged first: nothing settles before the first.
        crate::source_producer::tests::push(&acks, 2, 20);
        crate::source_producer::tests::push(&acks, 1, 10);
        f.collect(&acks);
        assert!(f.pop_resolved().is_none());
        assert!(f.front_in_flight());
        crate::source_producer::tests::push(&acks, 0, 0);
        f.collect(&acks);
        let settled: Vec<i64> = std::iter::from_fn(|| f.pop_resolved())
            .map(|p| match p.record.meta.source_offset.as_ref().and_then(|o| o.get("position")) {
                Some(Value::Int64(n)) => *n,
                other => panic!("unexpected offset {other:?}"),
            })
            .collect();
        assert_eq!(settled, vec![0, 1, 2, 3]);
        assert_eq!(f.len(), 0);
        // Sequence numbers continue where they were.
        assert_eq!(f.next_seq(), 4);
    }
}
