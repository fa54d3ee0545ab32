//! Source tasks: poll records from an external system (`org.apache.kafka.connect.source.SourceTask`).

use crate::config::ConfigMap;
use crate::error::Result;
use crate::record::{OffsetMap, RecordMetadata, SourceRecord};
use async_trait::async_trait;
use std::sync::Arc;

/// Reads the last committed offsets of this connector's source partitions.
#[async_trait]
pub trait OffsetStorageReader: Send + Sync {
    /// The committed offset of `partition`, if any.
    async fn offset(&self, partition: &OffsetMap) -> Result<Option<OffsetMap>>;
}

/// What the runtime hands a source task at start.
#[derive(Clone)]
pub struct SourceTaskContext {
    /// The task's configuration.
    pub config: ConfigMap,
    /// Committed offsets, to resume where the last run stopped.
    pub offset_reader: Arc<dyn OffsetStorageReader>,
}

/// A source task. The runtime drives it from one async task:
/// `start`, then `poll` in a loop, `commit_record` for each record the broker acknowledged,
/// `commit` after each offset flush, and `stop`.
#[async_trait]
pub trait SourceTask: Send {
    fn version(&self) -> String;

    /// Starts the task; read committed offsets through the context here.
    async fn start(&mut self, context: SourceTaskContext) -> Result<()>;

    /// Returns the next records, or an empty batch when there is nothing now (after waiting a
    /// little: the runtime calls `poll` again at once). Must be cancel-safe: the runtime may drop
    /// the future to stop or pause the task, and no record may be lost when it does.
    async fn poll(&mut self) -> Result<Vec<SourceRecord>>;

    /// Called after offsets were flushed: everything before them is durably in Kafka.
    async fn commit(&mut self) -> Result<()> {
        Ok(())
    }

    /// Called for each record the broker acknowledged (`metadata` set), or that was dropped by
    /// a transformation or tolerated error (`metadata` is `None`). Synchronous, as Kafka's
    /// `commitRecord` is: it runs once per record on the task's loop, so it must be quick (an
    /// async call here cost a boxed future per record).
    fn commit_record(&mut self, _record: &SourceRecord, _metadata: Option<&RecordMetadata<'_>>) -> Result<()> {
        Ok(())
    }

    /// Hands back a batch from `poll` once every record of it is settled (`commit_record`
    /// called, its offset taken for the next flush), for the task to reuse the records'
    /// allocations in later batches: a task that builds a record per line can refill a string
    /// in place of allocating one and freeing it again. Synchronous, like `commit_record`: it
    /// must be quick. Not a Kafka Connect call. The default drops them.
    fn recycle(&mut self, records: Vec<SourceRecord>) {
        drop(records);
    }
    /// Stops the task and releases its resources.
    async fn stop(&mut self) -> Result<()>;
}
