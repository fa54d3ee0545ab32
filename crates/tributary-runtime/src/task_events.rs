//! What the task loops report as they work: the moments Kafka Connect's task metrics count
//! (`source-record-poll`, `sink-record-send`, `offset-commit-*`, `total-record-errors`, ...).
//!
//! Events are counted per batch, never per record, so a listener costs one call per `poll` or
//! `put`, whatever the batch size.

use crate::error_handling::Stage;
use std::sync::Arc;

/// One step of a task loop, for `records` records (or `partitions` offsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskEvent {
    /// Source: `poll` returned this many records. Sink: this many records were consumed.
    Polled { records: usize },
    /// Records converted: by the source's converters to bytes, by the sink's to Connect data.
    Converted { records: usize },
    /// Source: records handed to the producer. Sink: records handed to `put`, which took them.
    Sent { records: usize },
    /// Source: records the broker acknowledged, settled in send order (`commit_record`).
    Acknowledged { records: usize },
    /// One record failed at `stage` and went to the error handling (tolerated or not).
    Failed { stage: Stage },
    /// Offsets made durable: source offsets flushed to the offset store, or consumer offsets
    /// committed, for this many partitions.
    Committed { partitions: usize },
}

/// Receives the events of every task of a worker (the metrics registry, or a test's recorder).
/// Called on the task's own thread: it must not block.
pub trait TaskEventListener: Send + Sync {
    fn on_event(&self, connector: &str, task: u32, event: TaskEvent);
}

/// The listener when nothing listens.
pub struct NoTaskEvents;

impl TaskEventListener for NoTaskEvents {
    fn on_event(&self, _connector: &str, _task: u32, _event: TaskEvent) {}
}

/// One task's events to its worker's listener: what the loops and the sink's errant record
/// reporter emit through.
#[derive(Clone)]
pub struct TaskEvents {
    listener: Arc<dyn TaskEventListener>,
    connector: Arc<str>,
    task: u32,
}

impl TaskEvents {
    pub fn new(listener: Arc<dyn TaskEventListener>, connector: &str, task: u32) -> Self {
        TaskEvents { listener, connector: connector.into(), task }
    }

    pub fn emit(&self, event: TaskEvent) {
        self.listener.on_event(&self.connector, self.task, event);
    }
}
