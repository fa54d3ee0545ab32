//! The sink task loop (`WorkerSinkTask`): consume → convert → transform → `put`, and commit
//! consumer offsets only for what `pre_commit` (by default: `flush`) made durable.
//!
//! - [`consumer`]: the consumer seam ([`SinkConsumer`]) and rdkafka's consumer behind it;
//! - [`context`]: the task's [`SinkTaskContext`](tributary_api::SinkTaskContext) and errant
//!   record reporter;
//! - `convert`: consumed records to Connect records, through the chain;
//! - `partitions`: rebalances, the task's rewinds and pauses, `put` and offset commits.

pub mod consumer;
pub mod context;
mod convert;
mod partitions;
mod state;
#[cfg(test)]
mod tests;

use crate::error_handling::{ErrorReporter, RawRecord, Stage};
use crate::task_events::{TaskEvent, TaskEvents};
use crate::transformation_chain::TransformationChain;
pub use consumer::{consumer_context, SinkConsumer, SinkConsumerContext};
pub use context::WorkerSinkTaskContext;
use futures_util::StreamExt as _;
use rdkafka::consumer::{CommitMode, StreamConsumer};
use state::{lock, LoopState};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tributary_api::{ConnectError, Converter, HeaderConverter, SinkMeta, SinkRecord, SinkTask};

/// Most records handed to one `put` (Kafka's `max.poll.records` default).
const MAX_BATCH: usize = 500;

/// Everything a sink task needs to run. `C` is the consumer: rdkafka's, or a fake in tests.
pub struct SinkTaskRunner<C: SinkConsumer = StreamConsumer<SinkConsumerContext>> {
    pub connector: String,
    pub task_id: u32,
    /// The consumer group, for error messages.
    pub group_id: String,
    pub task: Box<dyn SinkTask>,
    /// Shared with the task loop's message stream, which lives as long as the loop (a stream
    /// per `recv` registered and dropped a waker slot per record).
    pub consumer: Arc<C>,
    /// The context the task was started with.
    pub context: Arc<WorkerSinkTaskContext>,
    pub key_converter: Box<dyn Converter>,
    pub value_converter: Box<dyn Converter>,
    pub header_converter: Box<dyn HeaderConverter>,
    pub commit_interval: Duration,
    pub chain: TransformationChain<SinkMeta>,
    /// Where active topics are recorded (KIP-558); `None` when topic tracking is off.
    pub topic_tracker: Option<Arc<crate::status::StatusStore>>,
    /// Retries, tolerance, log and dead letter queue (`errors.*`).
    pub errors: Arc<ErrorReporter>,
    /// Kafka's class names of the key, value and header converters, for error reports.
    pub converter_classes: [String; 3],
    /// Where the loop's [`TaskEvent`]s go.
    pub events: TaskEvents,
    /// The loop's own state (`Default` to start).
    pub(crate) state: LoopState,
}

/// What a turn of the loop is to do after waiting for records.
enum Turn {
    Stop,
    Deliver,
}

impl<C: SinkConsumer> SinkTaskRunner<C> {
    /// Subscribes and runs a started task until `cancel` fires or the task fails.
    pub async fn run(
        mut self,
        cancel: CancellationToken,
        topics: Vec<String>,
        topics_regex: Option<String>,
        paused: watch::Receiver<bool>,
    ) -> Result<(), ConnectError> {
        let subscription: Vec<String> = match topics_regex {
            // librdkafka treats a leading '^' as a regex subscription; Kafka matches the whole name.
            Some(r) => vec![format!("^(?:{r})$")],
            None => topics,
        };
        let subs: Vec<&str> = subscription.iter().map(String::as_str).collect();
        self.consumer.subscribe(&subs).map_err(|e| ConnectError::fatal(format!("cannot subscribe to {subs:?}: {e}")))?;
        self.state.cancel = cancel;
        let result = self.run_loop(paused).await;
        // Commit what the task flushed, then close and stop it.
        if let Err(e) = self.commit(CommitMode::Sync).await {
            tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "final offset commit failed");
        }
        let assigned = self.context.assignment();
        if let Err(e) = self.task.close(&assigned).await {
            tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "error closing partitions");
        }
        if let Err(e) = self.task.stop().await {
            tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "error stopping task");
        }
        self.consumer.unsubscribe();
        result
    }

    async fn run_loop(&mut self, mut paused: watch::Receiver<bool>) -> Result<(), ConnectError> {
        self.state.next_commit = Some(tokio::time::Instant::now() + self.commit_interval);
        self.state.keep_raw = self.errors.has_dlq();
        self.state.decode_headers =
            self.task.reads_headers() || !self.chain.is_empty() || self.key_converter.reads_headers() || self.value_converter.reads_headers();
        let consumer = self.consumer.clone();
        let mut messages = consumer.messages();
        let mut pause_watch_alive = true;
        loop {
            // A rewind asked for in `put` takes effect before the next wait, not when the next
            // record happens to arrive.
            self.apply_context_requests()?;
            if let Turn::Stop = self.receive(&mut messages, &mut paused, &mut pause_watch_alive).await? {
                return Ok(());
            }
            let is_paused = *paused.borrow();
            self.deliver(is_paused).await?;
        }
    }

    /// Waits for records (or a pause, or the commit deadline), then takes what else is already
    /// fetched, up to a batch.
    async fn receive(
        &mut self,
        messages: &mut C::Messages<'_>,
        paused: &mut watch::Receiver<bool>,
        pause_watch_alive: &mut bool,
    ) -> Result<Turn, ConnectError> {
        self.state.batch.clear();
        self.state.positions.clear();
        let next_commit = self.state.next_commit.unwrap_or_else(tokio::time::Instant::now);
        tokio::select! {
            biased;
            _ = self.state.cancel.cancelled() => return Ok(Turn::Stop),
            changed = paused.changed(), if *pause_watch_alive => {
                *pause_watch_alive = changed.is_ok();
                // A paused connector keeps its partitions (and group membership) but fetches
                // nothing; commits continue.
                let is_paused = *paused.borrow();
                self.set_paused(&self.context.assignment(), is_paused)?;
                lock(&self.context.state).commit_requested = true;
            }
            _ = tokio::time::sleep_until(next_commit) => {}
            msg = messages.next() => {
                match msg {
                    Some(Ok(m)) => self.accept(&m),
                    Some(Err(e)) => {
                        // No ACL for the group or a topic: Kafka's consumer throws, and the task
                        // fails; librdkafka would report it again on every poll.
                        if let Some(message) = crate::kafka::consumer_authorization_error(&e, &self.group_id) {
                            return Err(ConnectError::fatal(message));
                        }
                        tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "consumer error")
                    }
                    // rdkafka's stream does not end while the consumer lives; if it did, waiting
                    // on it again would spin, so the task fails instead.
                    None => return Err(ConnectError::fatal("the consumer's message stream ended")),
                }
                // Take what else is already fetched, without waiting.
                while self.state.batch.len() + self.state.failed.len() < MAX_BATCH {
                    match futures_util::FutureExt::now_or_never(messages.next()) {
                        Some(Some(Ok(m))) => self.accept(&m),
                        _ => break,
                    }
                }
            }
        }
        let consumed = self.state.batch.len() + self.state.failed.len();
        if consumed > 0 {
            self.events.emit(TaskEvent::Polled { records: consumed });
        }
        Ok(Turn::Deliver)
    }

    /// The turn's records to the task: failed conversions retried or reported, rebalances and
    /// the task's requests applied, the chain, `put`, then the consumed positions and a commit
    /// when one is due.
    async fn deliver(&mut self, paused: bool) -> Result<(), ConnectError> {
        for f in std::mem::take(&mut self.state.failed) {
            if let Some(record) = self.handle_failed_conversion(f).await? {
                self.state.batch.push(record);
            }
        }
        if !self.state.batch.is_empty() {
            self.events.emit(TaskEvent::Converted { records: self.state.batch.len() });
        }
        self.handle_partition_events(paused).await?;
        self.apply_context_requests()?;
        self.track_topics();
        let mut batch = std::mem::take(&mut self.state.batch);
        let put = self.transform_and_put(&mut batch).await;
        self.state.batch = batch;
        put?;
        if let Some(trace) = lock(&self.context.reporter.failure).take() {
            return Err(ConnectError::fatal(format!("a record reported by the task exceeded the error tolerance: {trace}")));
        }
        if self.state.keep_raw {
            lock(&self.context.reporter.raw).clear();
        }
        // Positions of partitions revoked meanwhile belong to their new owner.
        let assigned = self.context.assignment();
        for (tp, next) in self.state.positions.drain(..) {
            if assigned.contains(&tp) {
                self.state.offsets.current.insert(tp, next);
            }
        }
        let requested = std::mem::take(&mut lock(&self.context.state).commit_requested);
        let now = tokio::time::Instant::now();
        if requested || self.state.next_commit.is_none_or(|at| now >= at) {
            self.commit(CommitMode::Async).await?;
            self.state.next_commit = Some(tokio::time::Instant::now() + self.commit_interval);
        }
        Ok(())
    }

    /// The chain over the batch (when there is one), then `put`. `put` runs on every turn,
    /// empty batches included, as in Kafka: sinks that flush on time rather than on volume
    /// rely on it.
    async fn transform_and_put(&mut self, batch: &mut Vec<SinkRecord>) -> Result<(), ConnectError> {
        if self.chain.is_empty() {
            return self.put_with_retry(batch).await;
        }
        let mut kept = Vec::with_capacity(batch.len());
        for r in batch.drain(..) {
            if let Some(t) = self.transform(r).await? {
                kept.push(t);
            }
        }
        self.put_with_retry(&kept).await
    }

    /// Records the topics of the batch as active (KIP-558).
    fn track_topics(&mut self) {
        let Some(t) = &self.topic_tracker else { return };
        let mut last: Option<&Arc<str>> = None;
        for r in &self.state.batch {
            // Consecutive records share their topic's name: hash only when it changes.
            if last.is_some_and(|l| Arc::ptr_eq(l, &r.meta.original_topic)) {
                continue;
            }
            last = Some(&r.meta.original_topic);
            if !self.state.seen_topics.contains(&*r.meta.original_topic) {
                t.add_topic(&self.connector, &r.meta.original_topic);
                self.state.seen_topics.insert(r.meta.original_topic.to_string());
            }
        }
    }

    /// Reports a failed record to the error handling (log, DLQ, tolerance), as a
    /// [`TaskEvent::Failed`] too.
    async fn report(&mut self, raw: &RawRecord, stage: Stage, class: &str, error: ConnectError) -> Result<(), ConnectError> {
        self.events.emit(TaskEvent::Failed { stage });
        self.errors.report(raw, stage, class, error).await
    }
}
