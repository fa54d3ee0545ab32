//! The sink loop's state between turns, and the small types it is made of. A leaf: it
//! imports none of the loop's other files.

use crate::error_handling::{RawRecord, Stage};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use tributary_api::{ConnectError, SinkRecord, TopicPartition};

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the loop keeps between turns; the batch buffers are reused from turn to turn.
#[derive(Default)]
pub(crate) struct LoopState {
    /// Consumed and committed offsets per partition.
    pub(super) offsets: OffsetState,
    /// Records converted this turn.
    pub(super) batch: Vec<SinkRecord>,
    /// Records whose conversion failed this turn.
    pub(super) failed: Vec<FailedConversion>,
    /// The position after each run of records of one partition consumed this turn. Positions
    /// advance for every record, including those the chain drops and those tolerated.
    pub(super) positions: Vec<(TopicPartition, i64)>,
    pub(super) topics: TopicNames,
    /// Topics already recorded as active.
    pub(super) seen_topics: std::collections::HashSet<String>,
    /// Whether consumed bytes are kept for the dead letter queue.
    pub(super) keep_raw: bool,
    /// Whether anything reads headers (the task, the converters, the chain): if not, they are
    /// not decoded (a buffer allocated per record by librdkafka).
    pub(super) decode_headers: bool,
    pub(super) next_commit: Option<tokio::time::Instant>,
    /// Fires when the task is to stop (retries give up then).
    pub(super) cancel: CancellationToken,
}

/// Offsets of the loop: consumed (next to read) and last committed, per partition.
#[derive(Default)]
pub(super) struct OffsetState {
    pub current: HashMap<TopicPartition, i64>,
    pub committed: HashMap<TopicPartition, i64>,
}

/// The topic names of consumed records, shared by the records of one topic: consecutive
/// records are almost always of one topic, so the last name is reused.
#[derive(Default)]
pub(super) struct TopicNames {
    last: Option<Arc<str>>,
}

impl TopicNames {
    #[inline]
    pub fn get(&mut self, name: &str) -> Arc<str> {
        match &self.last {
            Some(t) if **t == *name => t.clone(),
            _ => self.last.insert(Arc::from(name)).clone(),
        }
    }
}

/// A record whose conversion failed, kept for retries and the error report.
pub(super) struct FailedConversion {
    pub raw: RawRecord,
    pub stage: Stage,
    pub error: ConnectError,
}
