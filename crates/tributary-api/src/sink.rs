//! Sink tasks: deliver records to an external system (`org.apache.kafka.connect.sink.SinkTask`).

use crate::config::ConfigMap;
use crate::error::{ConnectError, Result};
use crate::record::SinkRecord;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;

/// A topic and partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        Self { topic: topic.into(), partition }
    }
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// Offsets to commit: the next offset to consume, per partition.
pub type Offsets = HashMap<TopicPartition, i64>;

/// What a sink task can ask of the runtime (`SinkTaskContext`).
pub trait SinkTaskContext: Send + Sync {
    /// The task's configuration.
    fn config(&self) -> &ConfigMap;
    /// Rewinds (or advances) consumption of a partition to `offset` before the next batch.
    fn offset(&self, tp: TopicPartition, offset: i64);
    /// [`SinkTaskContext::offset`] for many partitions at once.
    fn offsets(&self, offsets: Offsets) {
        for (tp, o) in offsets {
            self.offset(tp, o);
        }
    }
    /// After `put` fails with a retriable error, how long to wait before the same batch is put
    /// again (Kafka's `timeout(ms)`); it applies to the next retry only. Without it the runtime
    /// backs off from 100 ms, doubling to 10 s.
    fn timeout(&self, timeout_ms: u64);
    /// The partitions currently assigned to this task.
    fn assignment(&self) -> Vec<TopicPartition>;
    /// Stops fetching from these partitions until resumed.
    fn pause(&self, partitions: &[TopicPartition]);
    /// Resumes partitions paused with [`SinkTaskContext::pause`].
    fn resume(&self, partitions: &[TopicPartition]);
    /// Asks for an offset commit as soon as possible.
    fn request_commit(&self);
    /// Where a task reports single records it cannot write (Kafka's `ErrantRecordReporter`,
    /// KIP-610): they get the connector's error handling (log, dead letter queue, tolerance).
    /// `None` when the runtime offers none.
    fn errant_record_reporter(&self) -> Option<Arc<dyn ErrantRecordReporter>> {
        None
    }
}

/// Reports a record a sink task failed to write. With `errors.tolerance=all` the record is
/// logged and/or sent to the dead letter queue and the task goes on; with `none` the call
/// returns the error that fails the task.
#[async_trait]
pub trait ErrantRecordReporter: Send + Sync {
    async fn report(&self, record: &SinkRecord, error: ConnectError) -> Result<()>;
}

/// A sink task. The runtime drives it from one async task: `start`, `open` on partition
/// assignment, `put` for every batch (possibly empty), `pre_commit` before committing consumer
/// offsets, `close` on revocation, and `stop`.
#[async_trait]
pub trait SinkTask: Send {
    fn version(&self) -> String;

    async fn start(&mut self, context: Arc<dyn SinkTaskContext>) -> Result<()>;

    /// Partitions newly assigned to this task.
    async fn open(&mut self, _partitions: &[TopicPartition]) -> Result<()> {
        Ok(())
    }

    /// Partitions taken away from this task; their offsets were just committed.
    async fn close(&mut self, _partitions: &[TopicPartition]) -> Result<()> {
        Ok(())
    }

    /// Delivers a batch. A retriable error makes the runtime redeliver the same batch later.
    /// The batch is borrowed: the runtime keeps it for redelivery without copying it, and most
    /// sinks serialize records into their own format anyway.
    async fn put(&mut self, records: &[SinkRecord]) -> Result<()>;

    /// Makes everything `put` so far durable in the external system.
    async fn flush(&mut self, _offsets: &Offsets) -> Result<()> {
        Ok(())
    }

    /// Returns the offsets that are safe to commit; the default flushes and returns them all.
    /// Returning fewer (or none) holds the commit back.
    async fn pre_commit(&mut self, offsets: Offsets) -> Result<Offsets> {
        self.flush(&offsets).await?;
        Ok(offsets)
    }

    async fn stop(&mut self) -> Result<()>;

    /// Whether `put` reads records' headers. A task that never does may return `false`: when no
    /// transformation runs and neither converter reads headers either, the runtime then skips
    /// decoding consumed records' headers (librdkafka allocates a parse buffer per record for
    /// that, even when a record has none) and the records reach `put` without headers.
    fn reads_headers(&self) -> bool {
        true
    }
}
