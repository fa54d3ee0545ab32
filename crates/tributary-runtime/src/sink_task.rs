//! The sink task loop (`WorkerSinkTask`): consume → convert → `put`, and commit consumer
//! offsets only for what `pre_commit` (by default: `flush`) made durable.

use crate::error_handling::{ErrorReporter, RawRecord, Stage};
use crate::transformation_chain::TransformationChain;
use futures_util::StreamExt as _;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers as _, Message, Timestamp};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tributary_api::sink::Offsets;
use tributary_api::{
    ConfigMap, ConnectError, Converter, ErrantRecordReporter, HeaderConverter, Headers, SinkMeta, SinkRecord, SinkTask, SinkTaskContext, TimestampType,
    TopicPartition,
};

/// Most records handed to one `put` (Kafka's `max.poll.records` default).
const MAX_BATCH: usize = 500;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Partition events seen by the consumer's rebalance callbacks, handled by the task loop.
enum PartitionEvent {
    Assigned(Vec<TopicPartition>),
    Revoked(Vec<TopicPartition>),
}

/// The consumer's context: records rebalance events and, on revocation, re-commits the offsets
/// the task already approved (never more), since the task cannot be flushed from inside
/// librdkafka's callback.
pub struct SinkConsumerContext {
    events: Mutex<Vec<PartitionEvent>>,
    approved: Mutex<HashMap<TopicPartition, i64>>,
}

impl ClientContext for SinkConsumerContext {}

impl ConsumerContext for SinkConsumerContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let revoked = to_partitions(tpl);
            let approved = lock(&self.approved);
            let mut commit = TopicPartitionList::new();
            for tp in &revoked {
                if let Some(o) = approved.get(tp) {
                    let _ = commit.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*o));
                }
            }
            drop(approved);
            if commit.count() > 0 {
                if let Err(e) = consumer.commit(&commit, CommitMode::Sync) {
                    tracing::warn!(error = %e, "offset commit on partition revocation failed");
                }
            }
            lock(&self.events).push(PartitionEvent::Revoked(revoked));
        }
    }
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            lock(&self.events).push(PartitionEvent::Assigned(to_partitions(tpl)));
        }
    }
}

fn to_partitions(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements().iter().map(|e| TopicPartition::new(e.topic(), e.partition())).collect()
}

fn to_tpl(offsets: &HashMap<TopicPartition, i64>) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for (tp, o) in offsets {
        let _ = tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*o));
    }
    tpl
}

/// Creates the context for a sink task's consumer.
pub fn consumer_context() -> SinkConsumerContext {
    SinkConsumerContext { events: Mutex::new(Vec::new()), approved: Mutex::new(HashMap::new()) }
}

#[derive(Default)]
struct ContextState {
    assignment: Vec<TopicPartition>,
    rewinds: Vec<(TopicPartition, i64)>,
    pause: Vec<TopicPartition>,
    resume: Vec<TopicPartition>,
    commit_requested: bool,
    /// Set by `timeout(ms)`: the wait before the next redelivery of a failed batch.
    redelivery_timeout: Option<Duration>,
}

/// The [`SinkTaskContext`] given to a sink task.
pub struct WorkerSinkTaskContext {
    config: ConfigMap,
    state: Mutex<ContextState>,
    reporter: Arc<WorkerErrantRecordReporter>,
}

impl SinkTaskContext for WorkerSinkTaskContext {
    fn config(&self) -> &ConfigMap {
        &self.config
    }
    fn offset(&self, tp: TopicPartition, offset: i64) {
        lock(&self.state).rewinds.push((tp, offset));
    }
    fn assignment(&self) -> Vec<TopicPartition> {
        lock(&self.state).assignment.clone()
    }
    fn pause(&self, partitions: &[TopicPartition]) {
        lock(&self.state).pause.extend_from_slice(partitions);
    }
    fn resume(&self, partitions: &[TopicPartition]) {
        lock(&self.state).resume.extend_from_slice(partitions);
    }
    fn request_commit(&self) {
        lock(&self.state).commit_requested = true;
    }
    fn timeout(&self, timeout_ms: u64) {
        lock(&self.state).redelivery_timeout = Some(Duration::from_millis(timeout_ms));
    }
    fn errant_record_reporter(&self) -> Option<Arc<dyn ErrantRecordReporter>> {
        Some(self.reporter.clone())
    }
}

/// Consumed bytes of the current batch by (topic, partition, offset): kept only when a dead
/// letter queue needs the original record.
type RawBatch = Mutex<HashMap<(Arc<str>, i32, i64), RawRecord>>;

/// KIP-610's reporter: a record the task could not write gets the connector's error handling.
pub struct WorkerErrantRecordReporter {
    errors: Arc<ErrorReporter>,
    raw: Arc<RawBatch>,
    task_class: String,
    /// Set when a report exceeded the tolerance: the task fails after `put` even if it swallowed
    /// the error.
    failure: Mutex<Option<String>>,
}

#[async_trait::async_trait]
impl ErrantRecordReporter for WorkerErrantRecordReporter {
    async fn report(&self, record: &SinkRecord, error: ConnectError) -> Result<(), ConnectError> {
        let key = (record.meta.original_topic.clone(), record.meta.original_kafka_partition, record.meta.original_kafka_offset);
        let raw = lock(&self.raw).get(&key).cloned().unwrap_or_else(|| coordinates(record));
        let result = self.errors.report(&raw, Stage::TaskPut, &self.task_class, error).await;
        if let Err(e) = &result {
            *lock(&self.failure) = Some(e.trace());
        }
        result
    }
}

/// A record's coordinates without its bytes (for the log when no DLQ keeps bytes).
fn coordinates(record: &SinkRecord) -> RawRecord {
    let meta = &record.meta;
    RawRecord {
        topic: meta.original_topic.to_string(),
        partition: Some(meta.original_kafka_partition),
        offset: Some(meta.original_kafka_offset),
        timestamp: record.timestamp,
        timestamp_type: timestamp_type_name(meta.timestamp_type),
        ..Default::default()
    }
}

fn timestamp_type_name(t: TimestampType) -> Option<&'static str> {
    match t {
        TimestampType::CreateTime => Some("CreateTime"),
        TimestampType::LogAppendTime => Some("LogAppendTime"),
        TimestampType::NoTimestampType => None,
    }
}

/// The consumed record as bytes, for the dead letter queue.
fn raw_of(m: &BorrowedMessage<'_>) -> RawRecord {
    let (timestamp, timestamp_type) = match m.timestamp() {
        Timestamp::NotAvailable => (None, None),
        Timestamp::CreateTime(t) => (Some(t), Some("CreateTime")),
        Timestamp::LogAppendTime(t) => (Some(t), Some("LogAppendTime")),
    };
    RawRecord {
        topic: m.topic().to_owned(),
        partition: Some(m.partition()),
        offset: Some(m.offset()),
        timestamp: timestamp.filter(|t| *t >= 0),
        timestamp_type,
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().map(<[u8]>::to_vec),
        headers: m.headers().map(|hs| hs.iter().map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec))).collect()).unwrap_or_default(),
        extra_headers: Vec::new(),
    }
}

/// Everything a sink task needs to run.
pub struct SinkTaskRunner {
    pub connector: String,
    pub task_id: u32,
    /// The consumer group, for error messages.
    pub group_id: String,
    pub task: Box<dyn SinkTask>,
    /// Shared with the task loop's message stream, which lives as long as the loop (a stream
    /// per `recv` registered and dropped a waker slot per record).
    pub consumer: Arc<StreamConsumer<SinkConsumerContext>>,
    pub key_converter: Box<dyn Converter>,
    pub value_converter: Box<dyn Converter>,
    pub header_converter: Box<dyn HeaderConverter>,
    pub commit_interval: Duration,
    pub chain: TransformationChain<SinkMeta>,
    /// Where active topics are recorded (KIP-558); `None` when topic tracking is off.
    pub topic_tracker: Option<Arc<crate::status::StatusStore>>,
    /// Topics already recorded.
    pub seen_topics: std::collections::HashSet<String>,
    /// Retries, tolerance, log and dead letter queue (`errors.*`).
    pub errors: Arc<ErrorReporter>,
    /// Kafka's class names of the key, value and header converters, for error reports.
    pub converter_classes: [String; 3],
}

/// A record whose conversion failed, kept for retries and the error report.
struct FailedConversion {
    raw: RawRecord,
    stage: Stage,
    error: ConnectError,
}

/// Offsets of the loop: consumed (next to read) and last committed, per partition.
#[derive(Default)]
struct OffsetState {
    current: HashMap<TopicPartition, i64>,
    committed: HashMap<TopicPartition, i64>,
}

impl SinkTaskRunner {
    /// The context to hand the task's `start`, with its errant record reporter.
    pub fn new_context(config: ConfigMap, errors: Arc<ErrorReporter>) -> Arc<WorkerSinkTaskContext> {
        let task_class = config.get("task.class").cloned().unwrap_or_default();
        let reporter = Arc::new(WorkerErrantRecordReporter { errors, raw: Arc::new(Mutex::new(HashMap::new())), task_class, failure: Mutex::new(None) });
        Arc::new(WorkerSinkTaskContext { config, state: Mutex::new(ContextState::default()), reporter })
    }

    /// Subscribes and runs a started task until `cancel` fires or the task fails.
    pub async fn run(
        mut self,
        cancel: CancellationToken,
        context: Arc<WorkerSinkTaskContext>,
        topics: Vec<String>,
        topics_regex: Option<String>,
        paused: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), ConnectError> {
        let subscription: Vec<String> = match topics_regex {
            // librdkafka treats a leading '^' as a regex subscription; Kafka matches the whole name.
            Some(r) => vec![format!("^(?:{r})$")],
            None => topics,
        };
        let subs: Vec<&str> = subscription.iter().map(String::as_str).collect();
        self.consumer.subscribe(&subs).map_err(|e| ConnectError::fatal(format!("cannot subscribe to {subs:?}: {e}")))?;
        let mut offsets = OffsetState::default();
        let result = self.run_loop(&cancel, &context, &mut offsets, paused).await;
        // Commit what the task flushed, then close and stop it.
        if let Err(e) = self.commit(&mut offsets, CommitMode::Sync).await {
            tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "final offset commit failed");
        }
        let assigned = lock(&context.state).assignment.clone();
        if let Err(e) = self.task.close(&assigned).await {
            tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "error closing partitions");
        }
        if let Err(e) = self.task.stop().await {
            tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "error stopping task");
        }
        self.consumer.unsubscribe();
        result
    }

    async fn run_loop(
        &mut self,
        cancel: &CancellationToken,
        context: &Arc<WorkerSinkTaskContext>,
        offsets: &mut OffsetState,
        mut paused: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), ConnectError> {
        let mut next_commit = tokio::time::Instant::now() + self.commit_interval;
        let mut pause_watch_alive = true;
        let keep_raw = self.errors.has_dlq();
        // Nothing reads headers when the task, the converters and the (empty) chain do not:
        // then they are not decoded (a buffer allocated per record by librdkafka).
        let decode_headers = self.task.reads_headers() || !self.chain.is_empty() || self.key_converter.reads_headers() || self.value_converter.reads_headers();
        let mut topics = TopicNames::default();
        let consumer = self.consumer.clone();
        let mut messages = consumer.stream();
        // Reused: a fresh vector grown to 500 records each turn was a reallocation chain per batch.
        let mut batch: Vec<SinkRecord> = Vec::with_capacity(MAX_BATCH);
        loop {
            batch.clear();
            let mut failed: Vec<FailedConversion> = Vec::new();
            // Consumed positions advance for every record, including those the chain drops and
            // those tolerated as errors. Runs of one partition share one entry: no per-record clone.
            let mut positions: Vec<(TopicPartition, i64)> = Vec::new();
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Ok(()),
                changed = paused.changed(), if pause_watch_alive => {
                    pause_watch_alive = changed.is_ok();
                    // A paused connector keeps its partitions (and group membership) but
                    // fetches nothing; commits continue.
                    let assigned = lock(&context.state).assignment.clone();
                    let is_paused = *paused.borrow();
                    self.set_paused(&assigned, is_paused)?;
                    lock(&context.state).commit_requested = true;
                }
                _ = tokio::time::sleep_until(next_commit) => {}
                msg = messages.next() => {
                    match msg {
                        Some(Ok(m)) => self.accept(&m, context, (keep_raw, decode_headers), &mut batch, &mut failed, &mut positions, &mut topics),
                        Some(Err(e)) => {
                            // No ACL for the group or a topic: Kafka's consumer throws, and the
                            // task fails; librdkafka would report it again on every poll.
                            if let Some(message) = crate::kafka::consumer_authorization_error(&e, &self.group_id) {
                                return Err(ConnectError::fatal(message));
                            }
                            tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "consumer error")
                        }
                        // rdkafka's stream does not end while the consumer lives; if it did,
                        // waiting on it again would spin, so the task fails instead.
                        None => return Err(ConnectError::fatal("the consumer's message stream ended")),
                    }
                    // Take what else is already fetched, without waiting.
                    while batch.len() + failed.len() < MAX_BATCH {
                        match futures_util::FutureExt::now_or_never(messages.next()) {
                            Some(Some(Ok(m))) => self.accept(&m, context, (keep_raw, decode_headers), &mut batch, &mut failed, &mut positions, &mut topics),
                            _ => break,
                        }
                    }
                }
            }
            for f in failed {
                if let Some(record) = self.handle_failed_conversion(f, cancel).await? {
                    batch.push(record);
                }
            }
            let is_paused = *paused.borrow();
            self.handle_partition_events(context, offsets, &mut batch, is_paused).await?;
            self.apply_context_requests(context, offsets)?;
            if let Some(t) = &self.topic_tracker {
                let mut last: Option<&Arc<str>> = None;
                for r in &batch {
                    // Consecutive records share their topic's name: hash only when it changes.
                    if last.is_some_and(|l| Arc::ptr_eq(l, &r.meta.original_topic)) {
                        continue;
                    }
                    last = Some(&r.meta.original_topic);
                    if !self.seen_topics.contains(&*r.meta.original_topic) {
                        t.add_topic(&self.connector, &r.meta.original_topic);
                        self.seen_topics.insert(r.meta.original_topic.to_string());
                    }
                }
            }
            let transformed;
            let to_put: &[SinkRecord] = if self.chain.is_empty() {
                &batch
            } else {
                let mut kept = Vec::with_capacity(batch.len());
                for r in batch.drain(..) {
                    if let Some(t) = self.transform(r, context, cancel).await? {
                        kept.push(t);
                    }
                }
                transformed = kept;
                &transformed
            };
            // `put` runs on every iteration, empty batches included, as in Kafka: sinks that
            // flush on time rather than on volume rely on it.
            self.put_with_retry(to_put, context, cancel).await?;
            if let Some(trace) = lock(&context.reporter.failure).take() {
                return Err(ConnectError::fatal(format!("a record reported by the task exceeded the error tolerance: {trace}")));
            }
            if keep_raw {
                lock(&context.reporter.raw).clear();
            }
            // Positions of partitions revoked meanwhile belong to their new owner.
            let assigned = lock(&context.state).assignment.clone();
            for (tp, next) in positions {
                if assigned.contains(&tp) {
                    offsets.current.insert(tp, next);
                }
            }
            let requested = std::mem::take(&mut lock(&context.state).commit_requested);
            if requested || tokio::time::Instant::now() >= next_commit {
                self.commit(offsets, CommitMode::Async).await?;
                next_commit = tokio::time::Instant::now() + self.commit_interval;
            }
        }
    }

    /// Converts a consumed record into the batch, or sets it aside when a converter fails.
    #[allow(clippy::too_many_arguments)]
    fn accept(
        &self,
        m: &BorrowedMessage<'_>,
        context: &Arc<WorkerSinkTaskContext>,
        (keep_raw, decode_headers): (bool, bool),
        batch: &mut Vec<SinkRecord>,
        failed: &mut Vec<FailedConversion>,
        positions: &mut Vec<(TopicPartition, i64)>,
        topics: &mut TopicNames,
    ) {
        // librdkafka hands the topic out as a C string, checked for UTF-8 on each call: once.
        let topic = topics.get(m.topic());
        match positions.last_mut() {
            Some((tp, o)) if tp.partition == m.partition() && tp.topic == *topic => *o = m.offset() + 1,
            _ => positions.push((TopicPartition::new(&*topic, m.partition()), m.offset() + 1)),
        }
        if keep_raw {
            lock(&context.reporter.raw).insert((topic.clone(), m.partition(), m.offset()), raw_of(m));
        }
        match self.to_sink_record(m, topic, decode_headers) {
            Ok(r) => batch.push(r),
            Err((stage, error)) => failed.push(FailedConversion { raw: raw_of(m), stage, error }),
        }
    }

    fn class_of(&self, stage: Stage) -> &str {
        match stage {
            Stage::KeyConverter => &self.converter_classes[0],
            Stage::ValueConverter => &self.converter_classes[1],
            _ => &self.converter_classes[2],
        }
    }

    /// Retries a failed conversion (retriable errors, within `errors.retry.timeout`), then
    /// reports it: `None` when the record is skipped under `errors.tolerance=all`.
    async fn handle_failed_conversion(&mut self, f: FailedConversion, cancel: &CancellationToken) -> Result<Option<SinkRecord>, ConnectError> {
        let FailedConversion { raw, mut stage, error } = f;
        let conv = Conv { key: &*self.key_converter, value: &*self.value_converter, header: &*self.header_converter };
        let error = if error.is_retriable() {
            let stage_seen = Mutex::new(stage);
            let retried = self
                .errors
                .retry_failed(Err(error), cancel, || {
                    conv.convert_raw(&raw).map_err(|(s, e)| {
                        *lock(&stage_seen) = s;
                        e
                    })
                })
                .await;
            stage = *lock(&stage_seen);
            match retried {
                Ok(r) => return Ok(Some(r)),
                Err(e) => e,
            }
        } else {
            error
        };
        self.errors.report(&raw, stage, self.class_of(stage), error).await.map(|()| None)
    }

    /// Applies the chain to one record; a failing transformation is retried (retriable errors)
    /// and reported, and the record skipped under `errors.tolerance=all`.
    async fn transform(&mut self, r: SinkRecord, context: &Arc<WorkerSinkTaskContext>, cancel: &CancellationToken) -> Result<Option<SinkRecord>, ConnectError> {
        // The chain consumes the record: its coordinates are kept for a report (one copy of
        // the topic name; the lookup key is made from them only on failure).
        let coords = coordinates(&r);
        let backup = self.errors.config.retry_timeout.filter(|t| t.is_zero()).is_none().then(|| r.clone());
        let failure = match self.chain.apply_reporting(r) {
            Ok(out) => return Ok(out),
            Err(f) => f,
        };
        let (class, mut error) = (failure.class, failure.error);
        if let (Some(backup), true) = (backup, error.is_retriable()) {
            let retried = self.errors.retry_failed(Err(error), cancel, || self.chain.apply_reporting(backup.clone()).map_err(|f| f.error)).await;
            match retried {
                Ok(out) => return Ok(out),
                Err(e) => error = e,
            }
        }
        let key = (Arc::from(coords.topic.as_str()), coords.partition.unwrap_or(0), coords.offset.unwrap_or(-1));
        let raw = lock(&context.reporter.raw).get(&key).cloned().unwrap_or(coords);
        self.errors.report(&raw, Stage::Transformation, class, error).await.map(|()| None)
    }

    /// Puts the batch, putting it again after a retriable error: after the task's own
    /// `timeout(ms)` when it set one, else with a backoff of 100 ms doubling to 10 s.
    async fn put_with_retry(&mut self, batch: &[SinkRecord], context: &WorkerSinkTaskContext, cancel: &CancellationToken) -> Result<(), ConnectError> {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.task.put(batch).await {
                Ok(()) => return Ok(()),
                Err(e) if e.is_retriable() => {
                    let wait = lock(&context.state).redelivery_timeout.take();
                    let wait = wait.unwrap_or_else(|| {
                        let b = backoff;
                        backoff = (backoff * 2).min(Duration::from_secs(10));
                        b
                    });
                    tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, retry_in = ?wait, "retriable error from put; redelivering the batch");
                    tokio::select! {
                        _ = cancel.cancelled() => return Err(ConnectError::retriable("stopped while redelivering a batch")),
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn set_paused(&self, partitions: &[TopicPartition], paused: bool) -> Result<(), ConnectError> {
        if partitions.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for tp in partitions {
            tpl.add_partition(&tp.topic, tp.partition);
        }
        let result = if paused { self.consumer.pause(&tpl) } else { self.consumer.resume(&tpl) };
        result.map_err(|e| ConnectError::fatal(format!("cannot {} partitions: {e}", if paused { "pause" } else { "resume" })))
    }

    async fn handle_partition_events(
        &mut self,
        context: &Arc<WorkerSinkTaskContext>,
        offsets: &mut OffsetState,
        batch: &mut Vec<SinkRecord>,
        paused: bool,
    ) -> Result<(), ConnectError> {
        let events = std::mem::take(&mut *lock(&self.consumer.context().events));
        for event in events {
            match event {
                PartitionEvent::Assigned(parts) => {
                    lock(&context.state).assignment.extend(parts.iter().cloned());
                    if paused {
                        self.set_paused(&parts, true)?;
                    }
                    self.task.open(&parts).await?;
                }
                PartitionEvent::Revoked(parts) => {
                    lock(&context.state).assignment.retain(|tp| !parts.contains(tp));
                    // Records of revoked partitions go to their new owner.
                    batch.retain(|r| !parts.iter().any(|tp| *tp.topic == *r.meta.original_topic && tp.partition == r.meta.original_kafka_partition));
                    for tp in &parts {
                        offsets.current.remove(tp);
                        offsets.committed.remove(tp);
                        lock(&self.consumer.context().approved).remove(tp);
                    }
                    self.task.close(&parts).await?;
                }
            }
        }
        Ok(())
    }

    fn apply_context_requests(&mut self, context: &Arc<WorkerSinkTaskContext>, offsets: &mut OffsetState) -> Result<(), ConnectError> {
        let (rewinds, pause, resume) = {
            let mut s = lock(&context.state);
            (std::mem::take(&mut s.rewinds), std::mem::take(&mut s.pause), std::mem::take(&mut s.resume))
        };
        for (tp, offset) in rewinds {
            self.consumer
                .seek(&tp.topic, tp.partition, Offset::Offset(offset), Duration::from_secs(10))
                .map_err(|e| ConnectError::fatal(format!("cannot rewind {tp} to {offset}: {e}")))?;
            offsets.current.insert(tp, offset);
        }
        let tpl = |parts: &[TopicPartition]| {
            let mut l = TopicPartitionList::new();
            for tp in parts {
                l.add_partition(&tp.topic, tp.partition);
            }
            l
        };
        if !pause.is_empty() {
            self.consumer
                .pause(&tpl(&pause))
                .map_err(|e| ConnectError::fatal(format!("SinkTasks may not pause partitions that are not currently assigned to them: {e}")))?;
        }
        if !resume.is_empty() {
            self.consumer.resume(&tpl(&resume)).map_err(|e| ConnectError::fatal(format!("cannot resume partitions: {e}")))?;
        }
        Ok(())
    }

    /// `pre_commit` with the consumed offsets, then commit what it returned (never beyond
    /// what was consumed, only for partitions we hold).
    async fn commit(&mut self, offsets: &mut OffsetState, mode: CommitMode) -> Result<(), ConnectError> {
        if offsets.current.is_empty() || offsets.current == offsets.committed {
            return Ok(());
        }
        let approved: Offsets = match self.task.pre_commit(offsets.current.clone()).await {
            Ok(a) => a,
            Err(e) => {
                // Nothing is committed; rewind to the last commit so the data is redelivered.
                tracing::error!(connector = %self.connector, task = self.task_id, error = %e, "pre_commit failed; rewinding to the last committed offsets");
                for (tp, o) in &offsets.committed {
                    let _ = self.consumer.seek(&tp.topic, tp.partition, Offset::Offset(*o), Duration::from_secs(10));
                }
                offsets.current = offsets.committed.clone();
                return Ok(());
            }
        };
        let sanitized: HashMap<TopicPartition, i64> = approved
            .into_iter()
            .filter(|(tp, o)| offsets.current.get(tp).is_some_and(|c| *o <= *c))
            .filter(|(tp, o)| offsets.committed.get(tp) != Some(o))
            .collect();
        if sanitized.is_empty() {
            return Ok(());
        }
        self.consumer.commit(&to_tpl(&sanitized), mode).map_err(|e| ConnectError::retriable(format!("offset commit failed: {e}")))?;
        let mut approved_shared = lock(&self.consumer.context().approved);
        for (tp, o) in sanitized {
            approved_shared.insert(tp.clone(), o);
            offsets.committed.insert(tp, o);
        }
        Ok(())
    }

    fn converters(&self) -> Conv<'_> {
        Conv { key: &*self.key_converter, value: &*self.value_converter, header: &*self.header_converter }
    }

    fn to_sink_record(&self, m: &BorrowedMessage<'_>, topic: Arc<str>, decode_headers: bool) -> Result<SinkRecord, (Stage, ConnectError)> {
        let headers = if decode_headers { m.headers() } else { None };
        let header_iter = headers.iter().flat_map(|hs| hs.iter().map(|h| (h.key, h.value)));
        self.converters().convert(topic, m.partition(), m.offset(), m.timestamp(), m.key(), m.payload(), header_iter)
    }
}

/// The topic names of consumed records, shared by the records of one topic: consecutive
/// records are almost always of one topic, so the last name is reused.
#[derive(Default)]
struct TopicNames {
    last: Option<Arc<str>>,
}

impl TopicNames {
    fn get(&mut self, name: &str) -> Arc<str> {
        match &self.last {
            Some(t) if **t == *name => t.clone(),
            _ => self.last.insert(Arc::from(name)).clone(),
        }
    }
}

/// The three converters of a sink task, borrowed (Sync, so a retry closure may hold them).
struct Conv<'c> {
    key: &'c dyn Converter,
    value: &'c dyn Converter,
    header: &'c dyn HeaderConverter,
}

impl Conv<'_> {
    fn convert_raw(&self, raw: &RawRecord) -> Result<SinkRecord, (Stage, ConnectError)> {
        let timestamp = match (raw.timestamp, raw.timestamp_type) {
            (Some(t), Some("LogAppendTime")) => Timestamp::LogAppendTime(t),
            (Some(t), _) => Timestamp::CreateTime(t),
            (None, _) => Timestamp::NotAvailable,
        };
        let headers = raw.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref()));
        self.convert(
            raw.topic.as_str().into(),
            raw.partition.unwrap_or(0),
            raw.offset.unwrap_or(-1),
            timestamp,
            raw.key.as_deref(),
            raw.value.as_deref(),
            headers,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn convert<'a>(
        &self,
        topic: Arc<str>,
        partition: i32,
        offset: i64,
        ts: Timestamp,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        raw_headers: impl Iterator<Item = (&'a str, Option<&'a [u8]>)>,
    ) -> Result<SinkRecord, (Stage, ConnectError)> {
        let mut headers = Headers::new();
        for (k, v) in raw_headers {
            let sv = self.header.to_connect_header(&topic, k, v).map_err(|e| (Stage::HeaderConverter, e))?;
            headers.add(k, sv.schema, sv.value);
        }
        let key = self.key.to_connect_data(&topic, &headers, key).map_err(|e| (Stage::KeyConverter, e))?;
        let value = self.value.to_connect_data(&topic, &headers, value).map_err(|e| (Stage::ValueConverter, e))?;
        let (timestamp, timestamp_type) = match ts {
            Timestamp::NotAvailable => (None, TimestampType::NoTimestampType),
            Timestamp::CreateTime(t) => (Some(t).filter(|t| *t >= 0), TimestampType::CreateTime),
            Timestamp::LogAppendTime(t) => (Some(t).filter(|t| *t >= 0), TimestampType::LogAppendTime),
        };
        Ok(SinkRecord {
            topic: topic.clone(),
            kafka_partition: Some(partition),
            key_schema: key.schema,
            key: key.value,
            value_schema: value.schema,
            value: value.value,
            timestamp,
            headers,
            meta: SinkMeta { kafka_offset: offset, timestamp_type, original_topic: topic, original_kafka_partition: partition, original_kafka_offset: offset },
        })
    }
}
