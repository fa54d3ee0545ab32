//! The sink task loop (`WorkerSinkTask`): consume → convert → `put`, and commit consumer
//! offsets only for what `pre_commit` (by default: `flush`) made durable.

use crate::transformation_chain::TransformationChain;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers as _, Message, Timestamp};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tributary_api::sink::Offsets;
use tributary_api::{
    ConfigMap, ConnectError, Converter, HeaderConverter, Headers, SinkMeta, SinkRecord, SinkTask, SinkTaskContext, TimestampType, TopicPartition,
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
}

/// The [`SinkTaskContext`] given to a sink task.
pub struct WorkerSinkTaskContext {
    config: ConfigMap,
    state: Mutex<ContextState>,
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
}

/// Everything a sink task needs to run.
pub struct SinkTaskRunner {
    pub connector: String,
    pub task_id: u32,
    pub task: Box<dyn SinkTask>,
    pub consumer: StreamConsumer<SinkConsumerContext>,
    pub key_converter: Box<dyn Converter>,
    pub value_converter: Box<dyn Converter>,
    pub header_converter: Box<dyn HeaderConverter>,
    pub commit_interval: Duration,
    pub chain: TransformationChain<SinkMeta>,
    /// Where active topics are recorded (KIP-558); `None` when topic tracking is off.
    pub topic_tracker: Option<Arc<crate::status::StatusStore>>,
    /// Topics already recorded.
    pub seen_topics: std::collections::HashSet<String>,
}

/// Offsets of the loop: consumed (next to read) and last committed, per partition.
#[derive(Default)]
struct OffsetState {
    current: HashMap<TopicPartition, i64>,
    committed: HashMap<TopicPartition, i64>,
}

impl SinkTaskRunner {
    /// The context to hand the task's `start`.
    pub fn new_context(config: ConfigMap) -> Arc<WorkerSinkTaskContext> {
        Arc::new(WorkerSinkTaskContext { config, state: Mutex::new(ContextState::default()) })
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
        loop {
            let mut batch: Vec<SinkRecord> = Vec::new();
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
                msg = self.consumer.recv() => {
                    let msg = msg.map_err(|e| ConnectError::retriable(format!("consumer error: {e}")));
                    match msg {
                        Ok(m) => batch.push(self.to_sink_record(&m)?),
                        Err(e) => tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "consumer error"),
                    }
                    // Take what else is already fetched, without waiting.
                    while batch.len() < MAX_BATCH {
                        match futures_util::FutureExt::now_or_never(self.consumer.recv()) {
                            Some(Ok(m)) => batch.push(self.to_sink_record(&m)?),
                            _ => break,
                        }
                    }
                }
            }
            let is_paused = *paused.borrow();
            self.handle_partition_events(context, offsets, &mut batch, is_paused).await?;
            self.apply_context_requests(context, offsets)?;
            if let Some(t) = &self.topic_tracker {
                for r in &batch {
                    if !self.seen_topics.contains(&r.meta.original_topic) {
                        t.add_topic(&self.connector, &r.meta.original_topic);
                        self.seen_topics.insert(r.meta.original_topic.clone());
                    }
                }
            }
            // Consumed positions advance for every record, including those the chain drops.
            // Only the last record of each run of one partition matters: no per-record clone.
            let mut positions: Vec<(TopicPartition, i64)> = Vec::new();
            for (i, r) in batch.iter().enumerate() {
                let last_of_run = batch
                    .get(i + 1)
                    .is_none_or(|n| n.meta.original_kafka_partition != r.meta.original_kafka_partition || n.meta.original_topic != r.meta.original_topic);
                if last_of_run {
                    positions.push((TopicPartition::new(r.meta.original_topic.clone(), r.meta.original_kafka_partition), r.meta.original_kafka_offset + 1));
                }
            }
            let batch = if self.chain.is_empty() {
                batch
            } else {
                let mut kept = Vec::with_capacity(batch.len());
                for r in batch {
                    if let Some(t) = self.chain.apply(r)? {
                        kept.push(t);
                    }
                }
                kept
            };
            // `put` runs on every iteration, empty batches included, as in Kafka: sinks that
            // flush on time rather than on volume rely on it.
            self.put_with_retry(&batch, cancel).await?;
            for (tp, next) in positions {
                offsets.current.insert(tp, next);
            }
            let requested = std::mem::take(&mut lock(&context.state).commit_requested);
            if requested || tokio::time::Instant::now() >= next_commit {
                self.commit(offsets, CommitMode::Async).await?;
                next_commit = tokio::time::Instant::now() + self.commit_interval;
            }
        }
    }

    async fn put_with_retry(&mut self, batch: &[SinkRecord], cancel: &CancellationToken) -> Result<(), ConnectError> {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.task.put(batch).await {
                Ok(()) => return Ok(()),
                Err(e) if e.is_retriable() => {
                    tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, "retriable error from put; redelivering the batch");
                    tokio::select! {
                        _ = cancel.cancelled() => return Err(ConnectError::retriable("stopped while redelivering a batch")),
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
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
                    batch.retain(|r| !parts.iter().any(|tp| tp.topic == r.meta.original_topic && tp.partition == r.meta.original_kafka_partition));
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

    fn to_sink_record(&self, m: &BorrowedMessage<'_>) -> Result<SinkRecord, ConnectError> {
        let topic = m.topic();
        let mut headers = Headers::new();
        if let Some(hs) = m.headers() {
            for h in hs.iter() {
                let sv = self.header_converter.to_connect_header(topic, h.key, h.value)?;
                headers.add(h.key, sv.schema, sv.value);
            }
        }
        let key = self.key_converter.to_connect_data(topic, &headers, m.key())?;
        let value = self.value_converter.to_connect_data(topic, &headers, m.payload())?;
        let (timestamp, timestamp_type) = match m.timestamp() {
            Timestamp::NotAvailable => (None, TimestampType::NoTimestampType),
            Timestamp::CreateTime(t) => (Some(t).filter(|t| *t >= 0), TimestampType::CreateTime),
            Timestamp::LogAppendTime(t) => (Some(t).filter(|t| *t >= 0), TimestampType::LogAppendTime),
        };
        Ok(SinkRecord {
            topic: topic.to_owned(),
            kafka_partition: Some(m.partition()),
            key_schema: key.schema,
            key: key.value,
            value_schema: value.schema,
            value: value.value,
            timestamp,
            headers,
            meta: SinkMeta {
                kafka_offset: m.offset(),
                timestamp_type,
                original_topic: topic.to_owned(),
                original_kafka_partition: m.partition(),
                original_kafka_offset: m.offset(),
            },
        })
    }
}
