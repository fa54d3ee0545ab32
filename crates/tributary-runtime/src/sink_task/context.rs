//! What a sink task can ask of the loop ([`SinkTaskContext`]: rewind, pause, commit, the
//! redelivery timeout) and its errant record reporter (KIP-610).

use super::state::lock;
use crate::error_handling::{ErrorReporter, RawRecord, Stage};
use crate::task_events::{TaskEvent, TaskEvents};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tributary_api::{ConfigMap, ConnectError, ErrantRecordReporter, SinkRecord, SinkTaskContext, TimestampType, TopicPartition};

/// The task's requests, taken by the loop once per batch.
#[derive(Default)]
pub(super) struct ContextState {
    pub assignment: Vec<TopicPartition>,
    pub rewinds: Vec<(TopicPartition, i64)>,
    pub pause: Vec<TopicPartition>,
    pub resume: Vec<TopicPartition>,
    pub commit_requested: bool,
    /// Set by `timeout(ms)`: the wait before the next redelivery of a failed batch.
    pub redelivery_timeout: Option<Duration>,
}

/// The [`SinkTaskContext`] given to a sink task.
pub struct WorkerSinkTaskContext {
    config: ConfigMap,
    pub(super) state: Mutex<ContextState>,
    /// Set with every rewind, pause or resume, so the loop takes the lock only when there is
    /// something to apply (it checks on every turn).
    pub(super) requests: AtomicBool,
    pub(super) reporter: Arc<WorkerErrantRecordReporter>,
}

impl WorkerSinkTaskContext {
    /// The context to hand the task's `start`, with its errant record reporter.
    pub fn new(config: ConfigMap, errors: Arc<ErrorReporter>, events: TaskEvents) -> Arc<Self> {
        let task_class = config.get("task.class").cloned().unwrap_or_default();
        let reporter =
            Arc::new(WorkerErrantRecordReporter { errors, raw: Arc::new(Mutex::new(HashMap::new())), task_class, failure: Mutex::new(None), events });
        Arc::new(WorkerSinkTaskContext { config, state: Mutex::new(ContextState::default()), requests: AtomicBool::new(false), reporter })
    }

    pub(super) fn assignment(&self) -> Vec<TopicPartition> {
        lock(&self.state).assignment.clone()
    }
}

impl SinkTaskContext for WorkerSinkTaskContext {
    fn config(&self) -> &ConfigMap {
        &self.config
    }
    fn offset(&self, tp: TopicPartition, offset: i64) {
        lock(&self.state).rewinds.push((tp, offset));
        self.requests.store(true, Ordering::Release);
    }
    fn assignment(&self) -> Vec<TopicPartition> {
        WorkerSinkTaskContext::assignment(self)
    }
    fn pause(&self, partitions: &[TopicPartition]) {
        lock(&self.state).pause.extend_from_slice(partitions);
        self.requests.store(true, Ordering::Release);
    }
    fn resume(&self, partitions: &[TopicPartition]) {
        lock(&self.state).resume.extend_from_slice(partitions);
        self.requests.store(true, Ordering::Release);
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
pub(super) type RawBatch = Mutex<HashMap<(Arc<str>, i32, i64), RawRecord>>;

/// KIP-610's reporter: a record the task could not write gets the connector's error handling.
pub struct WorkerErrantRecordReporter {
    errors: Arc<ErrorReporter>,
    pub(super) raw: Arc<RawBatch>,
    task_class: String,
    /// Set when a report exceeded the tolerance: the task fails after `put` even if it swallowed
    /// the error.
    pub(super) failure: Mutex<Option<String>>,
    events: TaskEvents,
}

#[async_trait::async_trait]
impl ErrantRecordReporter for WorkerErrantRecordReporter {
    async fn report(&self, record: &SinkRecord, error: ConnectError) -> Result<(), ConnectError> {
        let key = (record.meta.original_topic.clone(), record.meta.original_kafka_partition, record.meta.original_kafka_offset);
        let raw = lock(&self.raw).get(&key).cloned().unwrap_or_else(|| coordinates(record));
        self.events.emit(TaskEvent::Failed { stage: Stage::TaskPut });
        let result = self.errors.report(&raw, Stage::TaskPut, &self.task_class, error).await;
        if let Err(e) = &result {
            *lock(&self.failure) = Some(e.trace());
        }
        result
    }
}

/// A record's coordinates without its bytes (for the log when no DLQ keeps bytes).
pub(super) fn coordinates(record: &SinkRecord) -> RawRecord {
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
