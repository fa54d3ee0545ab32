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
use crate::source_in_flight::{Batch, Committable, InFlight, Outcome, Resolved};
use crate::source_partitions::{same_topic, KeylessPartitions};
use crate::source_pending::{Pending, PendingSends, Placement};
use crate::source_producer::{serve, Acks, Delivery, SourceProducer};
use crate::transformation_chain::TransformationChain;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer as _};
use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tributary_api::{ConnectError, Converter, HeaderConverter, Headers, RecordMetadata, SchemaRef, SourceMeta, SourceRecord, SourceTask, Value};
use tributary_batch_producer::BatchRecord;

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

/// Bytes of a record's key or value: lent by the record when the converter can (String,
/// ByteArray), else the converter's output.
type Bytes<'r> = Option<Cow<'r, [u8]>>;

/// The parts of a record the converters read: its key and value are borrowed apart from its
/// headers (which converters may add to), so the bytes can borrow the record.
struct Parts<'r> {
    topic: &'r Arc<str>,
    headers: &'r mut Headers,
    key_schema: Option<&'r SchemaRef>,
    key: &'r Value,
    value_schema: Option<&'r SchemaRef>,
    value: &'r Value,
    kafka_partition: Option<i32>,
    timestamp: Option<i64>,
}

impl<'r> Parts<'r> {
    fn of(record: &'r mut SourceRecord) -> Self {
        Parts {
            topic: &record.topic,
            headers: &mut record.headers,
            key_schema: record.key_schema.as_ref(),
            key: &record.key,
            value_schema: record.value_schema.as_ref(),
            value: &record.value,
            kafka_partition: record.kafka_partition,
            timestamp: record.timestamp,
        }
    }
}

/// The record's key, value and headers as bytes; on failure, the stage that failed. A free
/// function over the converters (all `Sync`) so a retry loop can hold it across awaits.
#[allow(clippy::type_complexity)]
fn convert<'r>(
    key_converter: &dyn Converter,
    value_converter: &dyn Converter,
    header_converter: &dyn HeaderConverter,
    parts: &mut Parts<'r>,
) -> Result<(Bytes<'r>, Bytes<'r>, Option<OwnedHeaders>), (Stage, ConnectError)> {
    let topic = parts.topic;
    let key = key_converter.from_connect_data(topic, parts.headers, parts.key_schema, parts.key).map_err(|e| (Stage::KeyConverter, e))?;
    let value = value_converter.from_connect_data(topic, parts.headers, parts.value_schema, parts.value).map_err(|e| (Stage::ValueConverter, e))?;
    if parts.headers.is_empty() {
        // Most records have none: no librdkafka header list to allocate and copy.
        return Ok((key, value, None));
    }
    let mut headers = OwnedHeaders::new_with_capacity(parts.headers.len());
    for h in parts.headers.iter() {
        let bytes = header_converter.from_connect_header(topic, &h.key, h.schema.as_ref(), &h.value).map_err(|e| (Stage::HeaderConverter, e))?;
        headers = headers.insert(KafkaHeader { key: &h.key, value: bytes.as_deref() });
    }
    Ok((key, value, Some(headers)))
}

/// Most records sent and not yet acknowledged; beyond it the loop waits for acknowledgements
/// before polling again (backpressure from the broker to the connector).
const MAX_IN_FLIGHT: usize = 50_000;

/// How often the loop serves delivery reports while it waits with records in flight (the task
/// idle, or the in-flight cap reached). Busy, it serves them on every turn.
const ACK_POLL_INTERVAL: Duration = Duration::from_millis(1);

/// How long reading a topic's partition count may take before the record is left to
/// librdkafka's partitioner.
const PARTITION_COUNT_TIMEOUT: Duration = Duration::from_secs(5);

/// Topics this task created (or found) already: checked for every record, so the last one is
/// compared before the set is hashed.
#[derive(Default)]
struct KnownTopics {
    set: HashSet<String>,
    last: Option<Arc<str>>,
}

impl KnownTopics {
    fn contains(&mut self, topic: &Arc<str>) -> bool {
        if self.last.as_ref().is_some_and(|l| same_topic(l, topic)) {
            return true;
        }
        let known = self.set.contains(&**topic);
        if known {
            self.last = Some(topic.clone());
        }
        known
    }
    fn insert(&mut self, topic: &Arc<str>) {
        self.set.insert(topic.to_string());
        self.last = Some(topic.clone());
    }
}

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
    pub admin: Arc<crate::kafka::Admin>,
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
    /// Partitions of keyless records, one per topic and polled batch.
    pub keyless_partitions: KeylessPartitions,
    /// Records converted and not yet sent (empty between batches).
    pub(crate) pending: PendingSends,
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
        let mut known_topics = KnownTopics::default();
        let mut flush_tick = tokio::time::interval_at(tokio::time::Instant::now() + self.flush_interval, self.flush_interval.max(Duration::from_millis(1)));
        flush_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let result = loop {
            // Consume every acknowledgement that is already in, before anything else: this
            // keeps the in-flight list short and the committable offsets fresh.
            serve(&self.producer);
            if let Err(e) = self.acknowledge_resolved(&mut in_flight, &acks, &mut committable).await {
                break Err(e);
            }
            let may_poll = !*paused.borrow() && in_flight.len() < MAX_IN_FLIGHT;
            let result: Result<(), ConnectError> = tokio::select! {
                biased;
                _ = cancel.cancelled() => break Ok(()),
                changed = paused.changed(), if pause_watch_alive => {
                    pause_watch_alive = changed.is_ok();
                    Ok(())
                }
                // Not polling the task (paused, or the in-flight cap reached) with records in
                // flight: acknowledgements may come in, and the next turn of the loop takes them.
                _ = tokio::time::sleep(ACK_POLL_INTERVAL), if in_flight.front_in_flight() && !may_poll => Ok(()),
                _ = flush_tick.tick() => self.flush_offsets(&mut committable).await,
                polled = poll_serving(&mut self.task, &self.producer, in_flight.front_in_flight()), if may_poll => match polled {
                    // Acknowledgements came in: the next turn of the loop settles them.
                    None => Ok(()),
                    Some(Ok(records)) => self.send(records, &mut in_flight, &acks, &mut committable, &mut known_topics, &cancel).await,
                    Some(Err(e)) if e.is_retriable() => {
                        tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "retriable error from poll; polling again");
                        Ok(())
                    }
                    Some(Err(e)) => Err(e),
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
            serve(&self.producer);
            if self.acknowledge_resolved(&mut in_flight, &acks, &mut committable).await.is_err() || in_flight.len() == 0 {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(connector = %self.connector, task = self.task_id, outstanding = in_flight.len(), "timed out waiting for in-flight records; their offsets are not committed");
                break;
            }
            tokio::time::sleep(ACK_POLL_INTERVAL).await;
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
        in_flight.collect(acks, None);
        self.settle_resolved(in_flight, committable).await
    }

    /// Settles the oldest records whose outcome is known, in send order: `commit_record`, then
    /// each record's offset becomes committable; batches settled whole go back to the task
    /// (`recycle`). Synchronous for the common outcomes, so no future is built per record; a
    /// failed send goes through [`Self::acknowledge_failed`], which may write to the DLQ.
    async fn settle_resolved(&mut self, in_flight: &mut InFlight, committable: &mut Committable) -> Result<(), ConnectError> {
        while let Some(r) = in_flight.next_resolved() {
            if r.outcome.is_send_failure() {
                self.acknowledge_failed(r, committable).await?;
            } else {
                self.settle(r, committable)?;
            }
        }
        for records in in_flight.take_spent() {
            self.task.recycle(records);
        }
        Ok(())
    }

    /// Settles a record acknowledged by the broker or never sent.
    fn settle(&mut self, resolved: Resolved<'_>, committable: &mut Committable) -> Result<(), ConnectError> {
        let Resolved { record, outcome, routed_topic } = resolved;
        let committed = match outcome {
            Outcome::NotSent => self.task.commit_record(record, None),
            Outcome::Delivered(Delivery::Acked { partition, offset }) => {
                let meta = RecordMetadata { topic: routed_topic.unwrap_or(&record.topic), partition, offset };
                self.task.commit_record(record, Some(&meta))
            }
            Outcome::Delivered(Delivery::Failed(_)) | Outcome::Unsent | Outcome::InFlight | Outcome::Settled => {
                return Err(ConnectError::fatal("internal error: a record was settled before its acknowledgement"));
            }
        };
        if let Some(offset) = record.meta.source_offset.take() {
            committable.update(&record.meta.source_partition, offset);
        }
        committed
    }

    /// Settles a record the producer could not send (KAFKA_PRODUCE): tolerated under
    /// errors.tolerance=all (the record is skipped, its offset commits in order), else the task
    /// fails.
    async fn acknowledge_failed(&mut self, resolved: Resolved<'_>, committable: &mut Committable) -> Result<(), ConnectError> {
        let Resolved { record, outcome, routed_topic } = resolved;
        let Outcome::Delivered(Delivery::Failed(failed)) = outcome else {
            return Err(ConnectError::fatal("internal error: a delivered record settled as failed"));
        };
        let (error, message) = *failed;
        let error = ConnectError::fatal(format!(
            "Unrecoverable exception from producer send callback: {}",
            kafka::produce_error_text(rdkafka::message::Message::topic(&message), &error)
        ));
        self.errors.report(&produced_raw(&message), Stage::KafkaProduce, WORKER_SOURCE_TASK, error).await?;
        // Tolerated: settled as a record that was never sent.
        self.settle(Resolved { record, outcome: Outcome::NotSent, routed_topic }, committable)
    }

    #[allow(clippy::too_many_arguments)]
    async fn send(
        &mut self,
        records: Vec<SourceRecord>,
        in_flight: &mut InFlight,
        acks: &Acks,
        committable: &mut Committable,
        known_topics: &mut KnownTopics,
        cancel: &CancellationToken,
    ) -> Result<(), ConnectError> {
        if !records.is_empty() {
            self.keyless_partitions.next_batch();
        }
        let mut batch = Batch::new(in_flight.next_seq(), records);
        let sent = self.send_batch(&mut batch, in_flight, acks, committable, known_topics, cancel).await;
        if sent.is_err() {
            batch.truncate_unsent();
        }
        // What was sent is tracked either way: its offsets commit once acknowledged.
        in_flight.push(batch);
        sent
    }

    /// Sends a polled batch, record by record, in place: each record's outcome goes in the batch.
    async fn send_batch(
        &mut self,
        batch: &mut Batch,
        in_flight: &mut InFlight,
        acks: &Acks,
        committable: &mut Committable,
        known_topics: &mut KnownTopics,
        cancel: &CancellationToken,
    ) -> Result<(), ConnectError> {
        self.pending.clear();
        for i in 0..batch.records.len() {
            if self.pending.is_full() {
                self.send_pending(batch, in_flight, acks, committable).await?;
            }
            // `commit_record` gets the record as the task produced it, so the chain works on a
            // copy; without transforms there is nothing to copy.
            let mut transformed = None;
            if !self.chain.is_empty() {
                let original = &batch.records[i];
                let outcome = match self.chain.apply_reporting(original.clone()) {
                    Ok(out) => Ok(out),
                    Err(f) if f.error.is_retriable() => {
                        let chain = &self.chain;
                        let retried = self.errors.retry_failed(Err(f.error), cancel, || chain.apply_reporting(original.clone()).map_err(|f| f.error)).await;
                        retried.map_err(|e| (f.class, e))
                    }
                    Err(f) => Err((f.class, f.error)),
                };
                match outcome {
                    Ok(Some(t)) => {
                        if t.topic != original.topic {
                            batch.routed(i, t.topic.clone());
                        }
                        transformed = Some(t);
                    }
                    Ok(None) => {
                        batch.outcomes[i] = Outcome::NotSent;
                        continue;
                    }
                    Err((class, error)) => {
                        // Tolerated: the record is in the DLQ (acknowledged) and its offset
                        // commits in send order like a dropped record's.
                        let raw = self.source_raw(original, &original.topic);
                        self.errors.report(&raw, Stage::Transformation, class, error).await?;
                        batch.outcomes[i] = Outcome::NotSent;
                        continue;
                    }
                }
            }
            let record = match &mut transformed {
                Some(t) => t,
                None => &mut batch.records[i],
            };
            if !known_topics.contains(&record.topic) {
                if let Err(problem) = kafka::check_topic_name(&record.topic) {
                    // What the producer would refuse, refused here, as a send failure.
                    let error = ConnectError::fatal(format!("Unrecoverable exception trying to send: {problem}"));
                    let topic = record.topic.to_string();
                    let raw = self.source_raw(&batch.records[i], &topic);
                    self.errors.report(&raw, Stage::KafkaProduce, WORKER_SOURCE_TASK, error).await?;
                    batch.outcomes[i] = Outcome::NotSent;
                    continue;
                }
                self.create_topic(&record.topic).await?;
                if let Some(t) = &self.topic_tracker {
                    t.add_topic(&self.connector, &record.topic);
                }
                known_topics.insert(&record.topic);
            }
            let mut parts = Parts::of(record);
            let converted = match convert(&*self.key_converter, &*self.value_converter, &*self.header_converter, &mut parts) {
                Err((stage, error)) if error.is_retriable() => {
                    let (kc, vc, hc) = (&*self.key_converter, &*self.value_converter, &*self.header_converter);
                    let stage_seen = std::sync::Mutex::new(stage);
                    let retried = self
                        .errors
                        .retry_failed(Err(error), cancel, || {
                            convert(kc, vc, hc, &mut parts).map_err(|(s, e)| {
                                *stage_seen.lock().unwrap_or_else(|p| p.into_inner()) = s;
                                e
                            })
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
                    // Reported with the record as the task produced it, under the topic it
                    // was going to.
                    let topic = parts.topic.to_owned();
                    let raw = self.source_raw(&batch.records[i], &topic);
                    let class = self.converter_classes[match stage {
                        Stage::KeyConverter => 0,
                        Stage::ValueConverter => 1,
                        _ => 2,
                    }]
                    .clone();
                    self.errors.report(&raw, stage, &class, error).await?;
                    batch.outcomes[i] = Outcome::NotSent;
                    continue;
                }
            };
            let topic = parts.topic;
            let mut partition = parts.kafka_partition;
            let chosen = partition.is_none() && key.is_none();
            if chosen {
                if self.keyless_partitions.needs_count(topic) {
                    let count = self.partition_count(topic);
                    self.keyless_partitions.set_count(topic, count);
                }
                partition = self.keyless_partitions.partition(topic);
            }
            let placement = Placement { partition, chosen, headers, timestamp: parts.timestamp };
            self.pending.push(i, topic, key.as_deref(), value.as_deref(), placement);
        }
        self.send_pending(batch, in_flight, acks, committable).await
    }

    /// Sends what the loop converted, in order: runs of records for one topic in one batch
    /// call, records with headers or a timestamp of their own one by one. Each record's outcome
    /// goes in the batch.
    async fn send_pending(&mut self, batch: &mut Batch, in_flight: &mut InFlight, acks: &Acks, committable: &mut Committable) -> Result<(), ConnectError> {
        let mut pending = std::mem::take(&mut self.pending);
        let mut sent = Ok(());
        for (topic, run) in pending.send_runs() {
            sent = match pending.entries[run.start].solo {
                Some(solo) => self.send_one(&mut pending, run.start, solo, &topic, batch, in_flight, acks, committable).await,
                None => self.send_run(&pending, run, &topic, batch, in_flight, acks, committable).await,
            };
            if sent.is_err() {
                break;
            }
        }
        pending.clear();
        self.pending = pending;
        sent
    }

    /// Sends pending records `run`, all for `topic`, through librdkafka's batch call; records it
    /// refuses for a full queue go again once acknowledgements have made room.
    #[allow(clippy::too_many_arguments)]
    async fn send_run(
        &mut self,
        pending: &PendingSends,
        run: std::ops::Range<usize>,
        topic: &Arc<str>,
        batch: &mut Batch,
        in_flight: &mut InFlight,
        acks: &Acks,
        committable: &mut Committable,
    ) -> Result<(), ConnectError> {
        let first_seq = batch.seq(0);
        let mut todo: Vec<Pending> = pending.entries[run].to_vec();
        let mut results = Vec::with_capacity(todo.len());
        while !todo.is_empty() {
            let records =
                todo.iter().map(|e| BatchRecord { key: pending.key(e), payload: pending.value(e), partition: e.partition, opaque: first_seq + e.index });
            if let Err(e) = self.producer.send_batch(topic, records, &mut results) {
                for p in &todo {
                    self.refuse(batch, pending, p, topic, &e).await?;
                }
                return Ok(());
            }
            let mut again = Vec::new();
            let mut full = false;
            for (p, result) in todo.iter().zip(results.drain(..)) {
                match result {
                    Ok(()) => batch.outcomes[p.index] = Outcome::InFlight,
                    Err((RDKafkaErrorCode::QueueFull, _)) => {
                        // Every later record of the call is refused too: sent again in order.
                        full = true;
                        again.push(*p);
                    }
                    Err((RDKafkaErrorCode::UnknownPartition, _)) if p.chosen && p.partition.is_some() => {
                        // The topic has fewer partitions than it had (recreated): read its count
                        // again for the next batch, and let librdkafka place this record.
                        self.keyless_partitions.forget(topic);
                        let mut placed_by_librdkafka = *p;
                        placed_by_librdkafka.partition = None;
                        again.push(placed_by_librdkafka);
                    }
                    Err((code, _)) => self.refuse(batch, pending, p, topic, &KafkaError::MessageProduction(code)).await?,
                }
            }
            if full {
                self.make_room(batch, in_flight, acks, committable).await?;
            }
            todo = again;
        }
        Ok(())
    }

    /// Sends pending record `k` alone (`producev`), with its headers and timestamp.
    #[allow(clippy::too_many_arguments)]
    async fn send_one(
        &mut self,
        pending: &mut PendingSends,
        k: usize,
        solo: u32,
        topic: &Arc<str>,
        batch: &mut Batch,
        in_flight: &mut InFlight,
        acks: &Acks,
        committable: &mut Committable,
    ) -> Result<(), ConnectError> {
        let first_seq = batch.seq(0);
        let p = pending.entries[k];
        let (headers, timestamp) = pending.solo.get_mut(solo as usize).map(|(h, t)| (h.take(), *t)).unwrap_or_default();
        let mut out: BaseRecord<'_, [u8], [u8], usize> = BaseRecord::with_opaque_to(topic, first_seq + p.index);
        out.key = pending.key(&p);
        out.payload = pending.value(&p);
        out.partition = p.partition;
        out.timestamp = timestamp;
        out.headers = headers;
        loop {
            match self.producer.send(out) {
                Ok(()) => {
                    batch.outcomes[p.index] = Outcome::InFlight;
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    out = back;
                    self.make_room(batch, in_flight, acks, committable).await?;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::UnknownPartition), back)) if p.chosen && back.partition.is_some() => {
                    self.keyless_partitions.forget(topic);
                    out = back;
                    out.partition = None;
                }
                Err((e, _)) => return self.refuse(batch, pending, &p, topic, &e).await,
            }
        }
    }

    /// The producer's queue is full: waits for acknowledgements (they make room), files them,
    /// and settles what they resolved.
    async fn make_room(&mut self, batch: &mut Batch, in_flight: &mut InFlight, acks: &Acks, committable: &mut Committable) -> Result<(), ConnectError> {
        if !serve(&self.producer) {
            tokio::time::sleep(ACK_POLL_INTERVAL).await;
        }
        in_flight.collect(acks, Some((batch.seq(0), &mut batch.outcomes)));
        self.settle_resolved(in_flight, committable).await
    }

    /// A record the producer refused (KAFKA_PRODUCE): reported; tolerated, it settles as never
    /// sent, so its offset commits in order.
    async fn refuse(&mut self, batch: &mut Batch, pending: &PendingSends, p: &Pending, topic: &str, e: &KafkaError) -> Result<(), ConnectError> {
        let error = ConnectError::fatal(format!("Unrecoverable exception trying to send: {}", kafka::produce_error_text(topic, e)));
        let raw = RawRecord {
            topic: topic.to_owned(),
            // The record's own partition, not the one the loop chose for it.
            partition: if p.chosen { None } else { p.partition },
            key: pending.key(p).map(<[u8]>::to_vec),
            value: pending.value(p).map(<[u8]>::to_vec),
            ..Default::default()
        };
        self.errors.report(&raw, Stage::KafkaProduce, WORKER_SOURCE_TASK, error).await?;
        batch.outcomes[p.index] = Outcome::NotSent;
        Ok(())
    }

    /// The partition count of `topic` from the broker's metadata; `None` when it cannot be read
    /// now. Blocks this task's thread for one metadata request, once per topic every few minutes.
    fn partition_count(&self, topic: &str) -> Option<i32> {
        let metadata = self.producer.client().fetch_metadata(Some(topic), PARTITION_COUNT_TIMEOUT).ok()?;
        // A topic created a moment ago may report no leader yet, with its partitions listed:
        // the count is what matters here (records wait in librdkafka for the leader).
        let t = metadata.topics().iter().find(|t| t.name() == topic)?;
        i32::try_from(t.partitions().len()).ok().filter(|n| *n > 0)
    }

    /// A failed source record as DLQ bytes: the connector's converters where they work, else
    /// schemaless JSON; the source partition and offset go in context headers.
    fn source_raw(&self, record: &SourceRecord, topic: &str) -> RawRecord {
        if !self.errors.has_dlq() {
            return RawRecord { topic: topic.to_owned(), partition: record.kafka_partition, timestamp: record.timestamp, ..Default::default() };
        }
        let mut scratch = record.headers.clone();
        let mut bytes = |c: &dyn Converter, schema, value: &Value| {
            c.from_connect_data(topic, &mut scratch, schema, value)
                .or_else(|_| self.fallback_converter.from_connect_data(topic, &mut scratch, schema, value))
                .ok()
                .flatten()
                .map(Cow::into_owned)
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

/// The task's `poll`, with the producer's delivery reports served every [`ACK_POLL_INTERVAL`]
/// meanwhile when records are in flight (`serving`). `None` when acknowledgements arrived: the
/// loop then drops this poll (`SourceTask::poll` is cancel-safe) to settle them, as often as it
/// did when a notification woke it, not once per interval.
async fn poll_serving(task: &mut Box<dyn SourceTask>, producer: &SourceProducer, serving: bool) -> Option<Result<Vec<SourceRecord>, ConnectError>> {
    let poll = task.poll();
    tokio::pin!(poll);
    loop {
        tokio::select! {
            biased;
            polled = &mut poll => return Some(polled),
            _ = tokio::time::sleep(ACK_POLL_INTERVAL), if serving => {
                if serve(producer) {
                    return None;
                }
            }
        }
    }
}

impl From<RuntimeError> for ConnectError {
    fn from(e: RuntimeError) -> Self {
        ConnectError::fatal(e.to_string())
    }
}
