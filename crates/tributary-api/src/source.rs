//! Source tasks: poll records from an external system (`org.apache.kafka.connect.source.SourceTask`).

use crate::config::ConfigMap;
use crate::error::Result;
use crate::record::{OffsetMap, RecordMetadata, SourceRecord};
use async_trait::async_trait;
use std::sync::Arc;

/// Reads the last committed offsets of this connector's source partitions
/// (`OffsetStorageReader`).
#[async_trait]
pub trait OffsetStorageReader: Send + Sync {
    /// The committed offset of `partition`, if any.
    async fn offset(&self, partition: &OffsetMap) -> Result<Option<OffsetMap>>;

    /// The committed offsets of many partitions in one call, in the order asked, `None` for a
    /// partition with no committed offset. The default asks for each in turn.
    async fn offsets(&self, partitions: &[OffsetMap]) -> Result<Vec<(OffsetMap, Option<OffsetMap>)>> {
        let mut out = Vec::with_capacity(partitions.len());
        for p in partitions {
            out.push((p.clone(), self.offset(p).await?));
        }
        Ok(out)
    }
}

/// What the runtime hands a source task at start (`SourceTaskContext`). Opaque: the runtime
/// may give it more (a transaction context for exactly-once sources) without breaking tasks.
#[derive(Clone)]
pub struct SourceTaskContext {
    config: ConfigMap,
    offset_reader: Arc<dyn OffsetStorageReader>,
}

impl SourceTaskContext {
    /// A context for a task with `config` whose offsets `offset_reader` reads; the runtime
    /// makes these, and so can a task's own unit tests.
    pub fn new(config: ConfigMap, offset_reader: Arc<dyn OffsetStorageReader>) -> Self {
        Self { config, offset_reader }
    }

    /// The task's configuration.
    pub fn configs(&self) -> &ConfigMap {
        &self.config
    }

    /// The reader of the connector's committed offsets.
    pub fn offset_storage_reader(&self) -> Arc<dyn OffsetStorageReader> {
        self.offset_reader.clone()
    }

    /// The committed offset of one source partition, to resume where the last run stopped.
    pub async fn offset(&self, partition: &OffsetMap) -> Result<Option<OffsetMap>> {
        self.offset_reader.offset(partition).await
    }

    /// The committed offsets of many source partitions (a JDBC task's tables) in one call.
    pub async fn offsets(&self, partitions: &[OffsetMap]) -> Result<Vec<(OffsetMap, Option<OffsetMap>)>> {
        self.offset_reader.offsets(partitions).await
    }
}

impl std::fmt::Debug for SourceTaskContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceTaskContext").field("config", &self.config).finish_non_exhaustive()
    }
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
