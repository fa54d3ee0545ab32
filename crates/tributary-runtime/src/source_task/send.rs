//! A polled batch to the producer: each record through the chain and the converters into the
//! pending sends, then runs of records for one topic in one producer call. Each record's
//! outcome goes in the batch; nothing here waits for the broker except a full producer queue.

use super::convert::Parts;
use super::in_flight::{Batch, Outcome};
use super::pending::{Pending, PendingSends, Placement};
use super::producer::RecordSender;
use super::settle::WORKER_SOURCE_TASK;
use super::{SourceTaskRunner, ACK_POLL_INTERVAL};
use crate::error_handling::{RawRecord, Stage};
use crate::kafka;
use crate::task_events::TaskEvent;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::BaseRecord;
use std::ops::Range;
use std::sync::Arc;
use tributary_api::{ConnectError, SourceRecord};
use tributary_batch_producer::BatchRecord;

impl<P: RecordSender> SourceTaskRunner<P> {
    /// Sends one polled batch; what was sent is tracked either way, so its offsets commit once
    /// acknowledged.
    pub(super) async fn send(&mut self, records: Vec<SourceRecord>) -> Result<(), ConnectError> {
        if !records.is_empty() {
            self.keyless_partitions.next_batch();
            self.events.emit(TaskEvent::Polled { records: records.len() });
        }
        let mut batch = Batch::new(self.state.in_flight.next_seq(), records);
        let sent = self.send_batch(&mut batch).await;
        if sent.is_err() {
            batch.truncate_unsent();
        }
        self.state.in_flight.push(batch);
        sent
    }

    /// Converts a polled batch record by record into the pending sends, sending what is
    /// pending whenever it fills up, and at the end.
    async fn send_batch(&mut self, batch: &mut Batch) -> Result<(), ConnectError> {
        self.state.pending.clear();
        let mut converted = 0;
        for i in 0..batch.records.len() {
            if self.state.pending.is_full() {
                self.send_pending(batch).await?;
            }
            // `commit_record` gets the record as the task produced it, so the chain works on a
            // copy; without transforms there is nothing to copy.
            let mut transformed = None;
            if !self.chain.is_empty() {
                match self.transform(batch, i).await? {
                    Some(t) => transformed = Some(t),
                    None => {
                        batch.outcomes[i] = Outcome::NotSent;
                        continue;
                    }
                }
            }
            let record = match &mut transformed {
                Some(t) => t,
                None => &mut batch.records[i],
            };
            if !self.state.known_topics.contains(&record.topic) {
                if let Err(problem) = kafka::check_topic_name(&record.topic) {
                    // What the producer would refuse, refused here, as a send failure.
                    let topic = record.topic.to_string();
                    let error = ConnectError::fatal(format!("Unrecoverable exception trying to send: {problem}"));
                    let raw = self.source_raw(&batch.records[i], &topic);
                    self.report(&raw, Stage::KafkaProduce, WORKER_SOURCE_TASK, error).await?;
                    batch.outcomes[i] = Outcome::NotSent;
                    continue;
                }
                self.admit_topic(&record.topic).await?;
            }
            let mut parts = Parts::of(record);
            match self.convert(&mut parts).await {
                Ok((key, value, headers)) => {
                    // A keyless record without a partition of its own is placed when its run is
                    // sent (`place_keyless`).
                    let chosen = parts.kafka_partition.is_none() && key.is_none();
                    let placement = Placement { partition: parts.kafka_partition, chosen, headers, timestamp: parts.timestamp };
                    self.state.pending.push(i, parts.topic, key.as_deref(), value.as_deref(), placement);
                    converted += 1;
                }
                Err((stage, error)) => {
                    // Reported with the record as the task produced it, under the topic it
                    // was going to.
                    let topic = parts.topic.to_string();
                    let raw = self.source_raw(&batch.records[i], &topic);
                    let class = self.converter_class(stage).to_owned();
                    self.report(&raw, stage, &class, error).await?;
                    batch.outcomes[i] = Outcome::NotSent;
                }
            }
        }
        if converted > 0 {
            self.events.emit(TaskEvent::Converted { records: converted });
        }
        self.send_pending(batch).await
    }

    /// A topic this task sends to for the first time: created when topic creation is on, and
    /// recorded as active (KIP-558).
    async fn admit_topic(&mut self, topic: &Arc<str>) -> Result<(), ConnectError> {
        if self.topic_creation.enabled {
            kafka::ensure_topic(&self.admin, topic, self.topic_creation.partitions, self.topic_creation.replication_factor)
                .await
                .map_err(|e| ConnectError::fatal(e.to_string()))?;
        }
        if let Some(t) = &self.topic_tracker {
            t.add_topic(&self.connector, topic);
        }
        self.state.known_topics.insert(topic);
        Ok(())
    }

    /// Sends what the loop converted, in order: runs of records for one topic in one batch
    /// call, records with headers or a timestamp of their own one by one. Each record's outcome
    /// goes in the batch.
    async fn send_pending(&mut self, batch: &mut Batch) -> Result<(), ConnectError> {
        let mut pending = std::mem::take(&mut self.state.pending);
        let mut sent = Ok(());
        let mut handed = 0;
        for (topic, run) in pending.send_runs() {
            self.place_keyless(&mut pending, run.clone(), &topic);
            handed += run.len();
            sent = match pending.entries[run.start].solo {
                Some(solo) => self.send_one(&mut pending, run.start, solo, &topic, batch).await,
                None => self.send_run(&pending, run, &topic, batch).await,
            };
            if sent.is_err() {
                break;
            }
        }
        if handed > 0 {
            self.events.emit(TaskEvent::Sent { records: handed });
        }
        pending.clear();
        self.state.pending = pending;
        sent
    }

    /// Gives the keyless records of a run this batch's partition of `topic`: its partition
    /// count is read here, once per topic every few minutes, not per record.
    fn place_keyless(&mut self, pending: &mut PendingSends, run: Range<usize>, topic: &Arc<str>) {
        let entries = &mut pending.entries[run];
        if !entries.iter().any(|e| e.chosen) {
            return;
        }
        if self.keyless_partitions.needs_count(topic) {
            let count = self.producer.partition_count(topic);
            self.keyless_partitions.set_count(topic, count);
        }
        let partition = self.keyless_partitions.partition(topic);
        for e in entries.iter_mut().filter(|e| e.chosen) {
            e.partition = partition;
        }
    }

    /// Sends pending records `run`, all for `topic`, through the producer's batch call; records
    /// it refuses for a full queue go again once acknowledgements have made room.
    async fn send_run(&mut self, pending: &PendingSends, run: Range<usize>, topic: &Arc<str>, batch: &mut Batch) -> Result<(), ConnectError> {
        let first_seq = batch.seq(0);
        let mut todo: Vec<Pending> = pending.entries[run].to_vec();
        let mut results = Vec::with_capacity(todo.len());
        while !todo.is_empty() {
            let records =
                todo.iter().map(|e| BatchRecord { key: pending.key(e), payload: pending.value(e), partition: e.partition, opaque: first_seq + e.index });
            if let Err(e) = self.producer.send_batch(topic, records, &mut results) {
                for p in &todo {
                    self.refuse(batch, pending, p, topic, &e).await?;
                }
                return Ok(());
            }
            let mut again = Vec::new();
            let mut full = false;
            for (p, result) in todo.iter().zip(results.drain(..)) {
                match result {
                    Ok(()) => batch.outcomes[p.index] = Outcome::InFlight,
                    Err((RDKafkaErrorCode::QueueFull, _)) => {
                        // Every later record of the call is refused too: sent again in order.
                        full = true;
                        again.push(*p);
                    }
                    Err((RDKafkaErrorCode::UnknownPartition, _)) if p.chosen && p.partition.is_some() => {
                        // The topic has fewer partitions than it had (recreated): read its count
                        // again for the next run, and let librdkafka place this record.
                        self.keyless_partitions.forget(topic);
                        let mut placed_by_librdkafka = *p;
                        placed_by_librdkafka.partition = None;
                        again.push(placed_by_librdkafka);
                    }
                    Err((code, _)) => self.refuse(batch, pending, p, topic, &KafkaError::MessageProduction(code)).await?,
                }
            }
            if full {
                self.make_room(batch).await?;
            }
            todo = again;
        }
        Ok(())
    }

    /// Sends pending record `k` alone (`producev`), with its headers and timestamp (`solo`).
    async fn send_one(&mut self, pending: &mut PendingSends, k: usize, solo: u32, topic: &Arc<str>, batch: &mut Batch) -> Result<(), ConnectError> {
        let p = pending.entries[k];
        let (headers, timestamp) = pending.solo.get_mut(solo as usize).map(|(h, t)| (h.take(), *t)).unwrap_or_default();
        let mut out: BaseRecord<'_, [u8], [u8], usize> = BaseRecord::with_opaque_to(topic, batch.seq(p.index));
        out.key = pending.key(&p);
        out.payload = pending.value(&p);
        out.partition = p.partition;
        out.timestamp = timestamp;
        out.headers = headers;
        loop {
            match self.producer.send(out) {
                Ok(()) => {
                    batch.outcomes[p.index] = Outcome::InFlight;
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    out = back;
                    self.make_room(batch).await?;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::UnknownPartition), back)) if p.chosen && back.partition.is_some() => {
                    self.keyless_partitions.forget(topic);
                    out = back;
                    out.partition = None;
                }
                Err((e, _)) => return self.refuse(batch, pending, &p, topic, &e).await,
            }
        }
    }

    /// The producer's queue is full: waits for acknowledgements (they make room), files them,
    /// and settles what they resolved.
    async fn make_room(&mut self, batch: &mut Batch) -> Result<(), ConnectError> {
        if !self.producer.serve() {
            tokio::time::sleep(ACK_POLL_INTERVAL).await;
        }
        self.state.in_flight.collect(self.producer.acks(), Some((batch.seq(0), &mut batch.outcomes)));
        self.settle_resolved().await
    }

    /// A record the producer refused (KAFKA_PRODUCE): reported; tolerated, it settles as never
    /// sent, so its offset commits in order.
    async fn refuse(&mut self, batch: &mut Batch, pending: &PendingSends, p: &Pending, topic: &str, e: &KafkaError) -> Result<(), ConnectError> {
        let error = ConnectError::fatal(format!("Unrecoverable exception trying to send: {}", kafka::produce_error_text(topic, e)));
        let raw = RawRecord {
            topic: topic.to_owned(),
            // The record's own partition, not the one the loop chose for it.
            partition: if p.chosen { None } else { p.partition },
            key: pending.key(p).map(<[u8]>::to_vec),
            value: pending.value(p).map(<[u8]>::to_vec),
            ..Default::default()
        };
        self.report(&raw, Stage::KafkaProduce, WORKER_SOURCE_TASK, error).await?;
        batch.outcomes[p.index] = Outcome::NotSent;
        Ok(())
    }
}
