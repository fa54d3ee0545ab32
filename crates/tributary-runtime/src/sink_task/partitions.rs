//! The sink loop's partitions: rebalances, the task's rewinds and pauses, `put` with its
//! redelivery, and consumer offset commits.

use super::consumer::{PartitionEvent, SinkConsumer};
use super::state::lock;
use super::SinkTaskRunner;
use crate::task_events::TaskEvent;
use rdkafka::consumer::CommitMode;
use std::collections::HashMap;
use std::time::Duration;
use tributary_api::sink::Offsets;
use tributary_api::{ConnectError, SinkRecord, TopicPartition};

/// The first wait before a batch whose `put` failed with a retriable error is put again; it
/// doubles up to [`MAX_REDELIVERY_BACKOFF`] unless the task set its own (`timeout(ms)`).
const FIRST_REDELIVERY_BACKOFF: Duration = Duration::from_millis(100);
const MAX_REDELIVERY_BACKOFF: Duration = Duration::from_secs(10);

impl<C: SinkConsumer> SinkTaskRunner<C> {
    pub(super) fn set_paused(&self, partitions: &[TopicPartition], paused: bool) -> Result<(), ConnectError> {
        if partitions.is_empty() {
            return Ok(());
        }
        let result = if paused { self.consumer.pause(partitions) } else { self.consumer.resume(partitions) };
        result.map_err(|e| ConnectError::fatal(format!("cannot {} partitions: {e}", if paused { "pause" } else { "resume" })))
    }

    /// Partitions assigned (`open`, paused too when the connector is) and revoked (their
    /// records and offsets dropped: they belong to the new owner; `close`) since the last turn.
    pub(super) async fn handle_partition_events(&mut self, paused: bool) -> Result<(), ConnectError> {
        for event in self.consumer.take_partition_events() {
            match event {
                PartitionEvent::Assigned(parts) => {
                    lock(&self.context.state).assignment.extend(parts.iter().cloned());
                    if paused {
                        self.set_paused(&parts, true)?;
                    }
                    self.task.open(&parts).await?;
                }
                PartitionEvent::Revoked(parts) => {
                    lock(&self.context.state).assignment.retain(|tp| !parts.contains(tp));
                    let revoked = |topic: &str, partition: i32| parts.iter().any(|tp| *tp.topic == *topic && tp.partition == partition);
                    self.state.batch.retain(|r| !revoked(&r.meta.original_topic, r.meta.original_kafka_partition));
                    for tp in &parts {
                        self.state.offsets.current.remove(tp);
                        self.state.offsets.committed.remove(tp);
                        self.consumer.forget(tp);
                    }
                    self.task.close(&parts).await?;
                }
            }
        }
        Ok(())
    }

    /// The task's rewinds (`offset`), pauses and resumes since the last turn.
    pub(super) fn apply_context_requests(&mut self) -> Result<(), ConnectError> {
        if !self.context.requests.swap(false, std::sync::atomic::Ordering::AcqRel) {
            return Ok(());
        }
        let (rewinds, pause, resume) = {
            let mut s = lock(&self.context.state);
            (std::mem::take(&mut s.rewinds), std::mem::take(&mut s.pause), std::mem::take(&mut s.resume))
        };
        for (tp, offset) in rewinds {
            self.consumer.seek(&tp, offset).map_err(|e| ConnectError::fatal(format!("cannot rewind {tp} to {offset}: {e}")))?;
            self.state.offsets.current.insert(tp, offset);
        }
        if !pause.is_empty() {
            self.consumer
                .pause(&pause)
                .map_err(|e| ConnectError::fatal(format!("SinkTasks may not pause partitions that are not currently assigned to them: {e}")))?;
        }
        if !resume.is_empty() {
            self.consumer.resume(&resume).map_err(|e| ConnectError::fatal(format!("cannot resume partitions: {e}")))?;
        }
        Ok(())
    }

    /// Puts the batch, putting it again after a retriable error: after the task's own
    /// `timeout(ms)` when it set one, else with a backoff doubling from 100 ms to 10 s.
    pub(super) async fn put_with_retry(&mut self, batch: &[SinkRecord]) -> Result<(), ConnectError> {
        let mut backoff = FIRST_REDELIVERY_BACKOFF;
        loop {
            match self.task.put(batch).await {
                Ok(()) => {
                    if !batch.is_empty() {
                        self.events.emit(TaskEvent::Sent { records: batch.len() });
                    }
                    return Ok(());
                }
                Err(e) if e.is_retriable() => {
                    let wait = lock(&self.context.state).redelivery_timeout.take();
                    let wait = wait.unwrap_or_else(|| {
                        let b = backoff;
                        backoff = (backoff * 2).min(MAX_REDELIVERY_BACKOFF);
                        b
                    });
                    tracing::warn!(connector = %self.connector, task = self.task_id, error = %e, retry_in = ?wait, "retriable error from put; redelivering the batch");
                    tokio::select! {
                        _ = self.state.cancel.cancelled() => return Err(ConnectError::retriable("stopped while redelivering a batch")),
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `pre_commit` with the consumed offsets, then commit what it returned (never beyond
    /// what was consumed, only for partitions we hold).
    pub(super) async fn commit(&mut self, mode: CommitMode) -> Result<(), ConnectError> {
        let offsets = &self.state.offsets;
        if offsets.current.is_empty() || offsets.current == offsets.committed {
            return Ok(());
        }
        let approved: Offsets = match self.task.pre_commit(offsets.current.clone()).await {
            Ok(a) => a,
            Err(e) => {
                // Nothing is committed; rewind to the last commit so the data is redelivered.
                tracing::error!(connector = %self.connector, task = self.task_id, error = %e, "pre_commit failed; rewinding to the last committed offsets");
                let offsets = &mut self.state.offsets;
                for (tp, o) in &offsets.committed {
                    let _ = self.consumer.seek(tp, *o);
                }
                offsets.current = offsets.committed.clone();
                return Ok(());
            }
        };
        let offsets = &mut self.state.offsets;
        let sanitized: HashMap<TopicPartition, i64> = approved
            .into_iter()
            .filter(|(tp, o)| offsets.current.get(tp).is_some_and(|c| *o <= *c))
            .filter(|(tp, o)| offsets.committed.get(tp) != Some(o))
            .collect();
        if sanitized.is_empty() {
            return Ok(());
        }
        self.consumer.commit(&sanitized, mode).map_err(|e| ConnectError::retriable(format!("offset commit failed: {e}")))?;
        self.consumer.approved(&sanitized);
        let partitions = sanitized.len();
        offsets.committed.extend(sanitized);
        self.events.emit(TaskEvent::Committed { partitions });
        Ok(())
    }
}
