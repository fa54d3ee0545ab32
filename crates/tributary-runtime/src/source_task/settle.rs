//! Records whose outcome is known, settled in send order: `commit_record`, their offsets made
//! committable, batches handed back to the task (`recycle`), and offsets flushed.

use super::in_flight::{Outcome, Resolved};
use super::producer::{Delivery, RecordSender};
use super::SourceTaskRunner;
use crate::error_handling::{ErrorReporter, RawRecord, Stage};
use crate::kafka;
use crate::task_events::TaskEvent;
use rdkafka::error::KafkaError;
use rdkafka::message::OwnedMessage;
use tributary_api::{ConnectError, RecordMetadata};

/// The class Kafka names in KAFKA_PRODUCE error reports.
pub(super) const WORKER_SOURCE_TASK: &str = "org.apache.kafka.connect.runtime.AbstractWorkerSourceTask";

/// A record the producer gave back, as bytes for the error report.
fn produced_raw(m: &OwnedMessage) -> RawRecord {
    use rdkafka::message::{Headers as _, Message as _};
    RawRecord {
        topic: m.topic().to_owned(),
        partition: Some(m.partition()).filter(|p| *p >= 0),
        timestamp: m.timestamp().to_millis(),
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().map(<[u8]>::to_vec),
        headers: m.headers().map(|hs| hs.iter().map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec))).collect()).unwrap_or_default(),
        ..Default::default()
    }
}

impl<P: RecordSender> SourceTaskRunner<P> {
    /// Takes the acknowledgements that came in and settles the oldest records whose outcome is
    /// known, in send order.
    pub(super) async fn acknowledge_resolved(&mut self) -> Result<(), ConnectError> {
        self.state.in_flight.collect(self.producer.acks(), None);
        self.settle_resolved().await
    }

    /// Settles the oldest records whose outcome is known, in send order: `commit_record`, then
    /// each record's offset becomes committable; batches settled whole go back to the task
    /// (`recycle`). Synchronous for the common outcomes, so no future is built per record; a
    /// failed send is reported first, which may write to the DLQ.
    pub(super) async fn settle_resolved(&mut self) -> Result<(), ConnectError> {
        if self.state.halted {
            return Err(ConnectError::fatal("a record before these failed: they are not settled"));
        }
        let mut acknowledged = 0;
        let result = loop {
            let Some(mut r) = self.state.in_flight.next_resolved() else { break Ok(()) };
            let settled = match take_failure(&mut r) {
                Some(failed) => {
                    // KAFKA_PRODUCE: tolerated under errors.tolerance=all (the record is
                    // skipped, its offset commits in order), else the task fails. Fields, not
                    // `&self`: the record is borrowed from the in-flight list meanwhile.
                    self.events.emit(TaskEvent::Failed { stage: Stage::KafkaProduce });
                    match report_send_failure(&self.errors, *failed).await {
                        Ok(()) => settle(&mut *self.task, &mut self.state.committable, r),
                        Err(e) => Err(e),
                    }
                }
                None => {
                    acknowledged += usize::from(matches!(r.outcome, Outcome::Delivered(_)));
                    settle(&mut *self.task, &mut self.state.committable, r)
                }
            };
            if settled.is_err() {
                // Nothing after a record that failed settles, so no later offset commits past
                // it: a restart polls it again.
                self.state.halted = true;
                break settled;
            }
        };
        if acknowledged > 0 {
            self.events.emit(TaskEvent::Acknowledged { records: acknowledged });
        }
        for records in self.state.in_flight.take_spent() {
            self.task.recycle(records);
        }
        result
    }

    /// Reports a failed record to the error handling (log, DLQ, tolerance), as a
    /// [`TaskEvent::Failed`] too.
    pub(super) async fn report(&mut self, raw: &RawRecord, stage: Stage, class: &str, error: ConnectError) -> Result<(), ConnectError> {
        self.events.emit(TaskEvent::Failed { stage });
        self.errors.report(raw, stage, class, error).await
    }

    /// Writes the committable offsets to the offset store, then `commit`s the task. A failed
    /// or timed-out write keeps them for the next flush.
    pub(super) async fn flush_offsets(&mut self) -> Result<(), ConnectError> {
        let committable = &self.state.committable;
        if !committable.dirty {
            return self.task.commit().await;
        }
        let mut entries = Vec::with_capacity(committable.entries.len());
        for (partition, offset) in &committable.entries {
            entries.push((self.codec.key(&self.connector, partition)?, Some(self.codec.value(offset)?)));
        }
        let partitions = entries.len();
        match tokio::time::timeout(self.flush_timeout, self.offset_store.set(entries)).await {
            Ok(Ok(())) => {
                self.state.committable.dirty = false;
                self.events.emit(TaskEvent::Committed { partitions });
                self.task.commit().await
            }
            Ok(Err(e)) => {
                tracing::error!(connector = %self.connector, task = self.task_id, error = %e, "offset flush failed; will retry");
                Ok(())
            }
            Err(_) => {
                tracing::error!(connector = %self.connector, task = self.task_id, "offset flush timed out; will retry");
                Ok(())
            }
        }
    }
}

/// Takes the failure out of a record the producer gave back; it settles as never sent.
fn take_failure(r: &mut Resolved<'_>) -> Option<Box<(KafkaError, OwnedMessage)>> {
    if !r.outcome.is_send_failure() {
        return None;
    }
    match std::mem::replace(&mut r.outcome, Outcome::NotSent) {
        Outcome::Delivered(Delivery::Failed(failed)) => Some(failed),
        _ => None,
    }
}

/// Reports a record the producer could not send: `Ok` when tolerated.
async fn report_send_failure(errors: &ErrorReporter, (error, message): (KafkaError, OwnedMessage)) -> Result<(), ConnectError> {
    let error = ConnectError::fatal(format!(
        "Unrecoverable exception from producer send callback: {}",
        kafka::produce_error_text(rdkafka::message::Message::topic(&message), &error)
    ));
    errors.report(&produced_raw(&message), Stage::KafkaProduce, WORKER_SOURCE_TASK, error).await
}

/// Settles a record acknowledged by the broker or never sent: `commit_record`, then its offset
/// becomes committable.
fn settle(task: &mut dyn tributary_api::SourceTask, committable: &mut super::in_flight::Committable, resolved: Resolved<'_>) -> Result<(), ConnectError> {
    let Resolved { record, outcome, routed_topic } = resolved;
    let committed = match outcome {
        Outcome::NotSent => task.commit_record(record, None),
        Outcome::Delivered(Delivery::Acked { partition, offset }) => {
            let meta = RecordMetadata::new(routed_topic.unwrap_or(&record.topic), partition, offset);
            task.commit_record(record, Some(&meta))
        }
        Outcome::Delivered(Delivery::Failed(_)) | Outcome::Unsent | Outcome::InFlight | Outcome::Settled => {
            return Err(ConnectError::fatal("internal error: a record was settled before its acknowledgement"));
        }
    };
    if let Some(offset) = record.meta.source_offset.take() {
        committable.update(&record.meta.source_partition, offset);
    }
    committed
}
