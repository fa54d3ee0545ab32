//! The source task loop (`WorkerSourceTask`): poll → transform → convert → produce, and commit
//! source offsets only for records the broker acknowledged.
//!
//! Records are tracked in send order. Acknowledgements are consumed from the front, so the
//! committable offsets always describe a prefix of acknowledged records: a crash replays at most
//! what was sent after the last flush, and loses nothing.
//!
//! - [`producer`]: the producer seam ([`RecordSender`]) and its delivery reports;
//! - `send`: a polled batch through the chain and the converters to the producer;
//! - `settle`: acknowledgements, `commit_record`, and offset flushes;
//! - `in_flight`, `pending`, [`partitions`]: the records between `poll` and their offsets.

mod convert;
mod in_flight;
pub mod partitions;
mod pending;
pub mod producer;
mod send;
mod settle;
#[cfg(test)]
pub(crate) mod tests;

use crate::error::RuntimeError;
use crate::error_handling::ErrorReporter;
use crate::offset_store::{OffsetBackingStore, OffsetCodec};
use crate::task_events::TaskEvents;
use crate::transformation_chain::TransformationChain;
use in_flight::{Committable, InFlight};
use partitions::{same_topic, KeylessPartitions};
use pending::PendingSends;
pub use producer::{RecordSender, SourceProducer, SourceProducerContext};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tributary_api::{ConnectError, Converter, HeaderConverter, SourceMeta, SourceRecord, SourceTask};

/// Most records sent and not yet acknowledged; beyond it the loop waits for acknowledgements
/// before polling again (backpressure from the broker to the connector).
const MAX_IN_FLIGHT: usize = 50_000;

/// How often the loop serves delivery reports while it waits with records in flight (the task
/// idle, or the in-flight cap reached). Busy, it serves them on every turn.
const ACK_POLL_INTERVAL: Duration = Duration::from_millis(1);

/// Topic creation settings of a source connector (KIP-158 `topic.creation.default.*`).
#[derive(Debug, Clone)]
pub struct TopicCreation {
    pub enabled: bool,
    pub partitions: i32,
    pub replication_factor: i32,
}

/// Everything a source task needs to run. `P` is the producer: rdkafka's, or a fake in tests.
pub struct SourceTaskRunner<P: RecordSender = SourceProducer> {
    pub connector: String,
    pub task_id: u32,
    pub task: Box<dyn SourceTask>,
    pub producer: P,
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
    /// Where the loop's [`TaskEvent`]s go.
    pub events: TaskEvents,
    /// The loop's own state (`Default` to start).
    pub(crate) state: LoopState,
}

/// What the loop keeps between turns.
#[derive(Default)]
pub(crate) struct LoopState {
    /// Records sent and not yet settled, in send order.
    in_flight: InFlight,
    /// Offsets of the acknowledged prefix, not yet flushed.
    committable: Committable,
    /// Topics this task created (or found) already.
    known_topics: KnownTopics,
    /// Records converted and not yet sent (empty between batches).
    pending: PendingSends,
    /// Fires when the task is to stop (retries give up then).
    cancel: CancellationToken,
    /// A record failed to settle (a send failure not tolerated, or `commit_record` failed):
    /// no record after it settles.
    halted: bool,
}

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

impl<P: RecordSender> SourceTaskRunner<P> {
    /// Runs until `cancel` fires or the task fails. Returns the failure, if any.
    /// While `paused` holds true the task is not polled (PAUSED); acknowledgements and offset
    /// flushes go on.
    pub async fn run(mut self, cancel: CancellationToken, mut paused: tokio::sync::watch::Receiver<bool>) -> Result<(), ConnectError> {
        self.state.cancel = cancel.clone();
        let mut pause_watch_alive = true;
        let mut flush_tick = tokio::time::interval_at(tokio::time::Instant::now() + self.flush_interval, self.flush_interval.max(Duration::from_millis(1)));
        flush_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let result = loop {
            // Consume every acknowledgement that is already in, before anything else: this
            // keeps the in-flight list short and the committable offsets fresh.
            self.producer.serve();
            if let Err(e) = self.acknowledge_resolved().await {
                break Err(e);
            }
            let in_flight = &self.state.in_flight;
            let may_poll = !*paused.borrow() && in_flight.len() < MAX_IN_FLIGHT;
            let waiting = in_flight.front_in_flight();
            let result: Result<(), ConnectError> = tokio::select! {
                biased;
                _ = cancel.cancelled() => break Ok(()),
                changed = paused.changed(), if pause_watch_alive => {
                    pause_watch_alive = changed.is_ok();
                    Ok(())
                }
                // Not polling the task (paused, or the in-flight cap reached) with records in
                // flight: acknowledgements may come in, and the next turn of the loop takes them.
                _ = tokio::time::sleep(ACK_POLL_INTERVAL), if waiting && !may_poll => Ok(()),
                _ = flush_tick.tick() => self.flush_offsets().await,
                polled = poll_serving(&mut self.task, &self.producer, waiting), if may_poll => match polled {
                    // Acknowledgements came in: the next turn of the loop settles them.
                    None => Ok(()),
                    Some(Ok(records)) => self.send(records).await,
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
        self.drain_and_stop().await;
        result
    }

    /// Stopping (or failed): waits a bounded time for what is in flight, commits the
    /// acknowledged prefix so a restart does not replay it, and stops the task.
    async fn drain_and_stop(&mut self) {
        let deadline = tokio::time::Instant::now() + self.flush_timeout;
        loop {
            self.producer.serve();
            if self.acknowledge_resolved().await.is_err() || self.state.in_flight.len() == 0 {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                let outstanding = self.state.in_flight.len();
                tracing::warn!(connector = %self.connector, task = self.task_id, outstanding, "timed out waiting for in-flight records; their offsets are not committed");
                break;
            }
            tokio::time::sleep(ACK_POLL_INTERVAL).await;
        }
        if let Err(e) = self.flush_offsets().await {
            tracing::error!(connector = %self.connector, task = self.task_id, error = %e, "final offset flush failed");
        }
        if let Err(e) = self.task.stop().await {
            tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "error stopping task");
        }
    }
}

/// The task's `poll`, with the producer's delivery reports served every [`ACK_POLL_INTERVAL`]
/// meanwhile when records are in flight (`serving`). `None` when acknowledgements arrived: the
/// loop then drops this poll (`SourceTask::poll` is cancel-safe) to settle them, as often as it
/// did when a notification woke it, not once per interval.
async fn poll_serving<P: RecordSender>(task: &mut Box<dyn SourceTask>, producer: &P, serving: bool) -> Option<Result<Vec<SourceRecord>, ConnectError>> {
    let poll = task.poll();
    tokio::pin!(poll);
    loop {
        tokio::select! {
            biased;
            polled = &mut poll => return Some(polled),
            _ = tokio::time::sleep(ACK_POLL_INTERVAL), if serving => {
                if producer.serve() {
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
