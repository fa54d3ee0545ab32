//! A source task's producer and its acknowledgements.
//!
//! rdkafka's `FutureProducer` allocates a one-shot channel and a boxed sender per record and
//! wakes a future for each acknowledgement: a third of a file source's CPU per record (3.0 →
//! 2.0 CPU-s per million, BENCHMARKS.md). Here the task's own thread polls its producer, as a
//! bare librdkafka program does ([`serve`]): each delivery report, tagged with the record's
//! sequence number, goes to a queue the task loop drains. An earlier version let rdkafka's
//! `ThreadedProducer` poll on a thread of its own; its wake-ups, and librdkafka's messages
//! allocated on the task thread and freed on that one, cost more than the polling itself.
//!
//! The queue is bounded by what is in flight: it never holds more entries than records sent and
//! not yet acknowledged, which the task loop caps (`MAX_IN_FLIGHT`).

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message, OwnedMessage};
use rdkafka::producer::{BaseRecord, Producer as _, ProducerContext};
use rdkafka::ClientContext;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tributary_batch_producer::{BatchProducer, BatchRecord};

/// What became of a sent record.
#[derive(Debug)]
pub enum Delivery {
    /// Written: the partition and offset the broker gave it.
    Acked { partition: i32, offset: i64 },
    /// Not written; the producer gave the record back for the error report (boxed: rare, and
    /// large beside an acknowledgement, which is kept for every record in flight).
    Failed(Box<(KafkaError, OwnedMessage)>),
}

/// Acknowledgements waiting for the task loop, by record sequence number. Filled and drained
/// on the task's thread (the lock is never contended; the context must be `Sync`).
#[derive(Default)]
pub struct Acks {
    queue: Mutex<Vec<(usize, Delivery)>>,
}

impl Acks {
    /// Moves every acknowledgement received so far into `into` (cleared first).
    pub fn drain(&self, into: &mut Vec<(usize, Delivery)>) {
        into.clear();
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::swap(&mut *queue, into);
    }

    fn len(&self) -> usize {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub(crate) fn push(&self, seq: usize, delivery: Delivery) {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).push((seq, delivery));
    }
}

/// Most delivery-report events served per call: each holds the outcomes of a whole produce
/// response, and the bound keeps one call short when the broker is far ahead.
const MAX_EVENTS_PER_SERVE: usize = 32;

/// Runs the delivery reports librdkafka has ready (the producer's callback queues them in its
/// [`Acks`]), without waiting. Returns whether any arrived.
fn serve(producer: &SourceProducer) -> bool {
    let acks = producer.context().acks();
    let before = acks.len();
    let mut seen = before;
    for _ in 0..MAX_EVENTS_PER_SERVE {
        // One event per zero-timeout poll; an event that brought nothing ends the round.
        producer.poll(Duration::ZERO);
        let now = acks.len();
        if now == seen {
            break;
        }
        seen = now;
    }
    seen != before
}

/// The producer's context: its delivery callback (run by [`serve`], on the task's thread)
/// queues the outcome under the sequence number the record was sent with.
pub struct SourceProducerContext {
    acks: Arc<Acks>,
}

impl SourceProducerContext {
    pub fn new() -> Self {
        SourceProducerContext { acks: Arc::new(Acks::default()) }
    }
    pub fn acks(&self) -> &Arc<Acks> {
        &self.acks
    }
}

impl Default for SourceProducerContext {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientContext for SourceProducerContext {}

impl ProducerContext for SourceProducerContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        let delivery = match result {
            Ok(m) => Delivery::Acked { partition: m.partition(), offset: m.offset() },
            Err((error, m)) => Delivery::Failed(Box::new((error.clone(), m.detach()))),
        };
        self.acks.push(seq, delivery);
    }
}

/// A source task's producer, polled by the task loop ([`serve`]); it sends runs of records in
/// one call (`tributary_batch_producer`).
pub type SourceProducer = BatchProducer<SourceProducerContext>;

/// How long reading a topic's partition count may take before the records are left to
/// librdkafka's partitioner.
const PARTITION_COUNT_TIMEOUT: Duration = Duration::from_secs(5);

/// A record sent alone, with its sequence number as the delivery opaque.
pub type SoloRecord<'a> = BaseRecord<'a, [u8], [u8], usize>;

/// What the source loop asks of its producer: the rdkafka producer above, or an in-memory fake
/// in the loop's unit tests. Every outcome of a record sent comes back through [`Self::acks`],
/// tagged with the sequence number it was sent with.
pub trait RecordSender {
    /// Where delivery reports are queued.
    fn acks(&self) -> &Arc<Acks>;
    /// Files the delivery reports that are ready, without waiting; whether any arrived.
    fn serve(&self) -> bool;
    /// Enqueues a run of records for one topic, with the contract of
    /// [`BatchProducer::send_batch`]: one result per record, in order, and after a `QueueFull`
    /// every later record is refused too.
    fn send_batch<'a, I>(&mut self, topic: &str, records: I, results: &mut Vec<Result<(), (RDKafkaErrorCode, usize)>>) -> Result<(), KafkaError>
    where
        I: IntoIterator<Item = BatchRecord<'a, usize>>;
    /// Enqueues one record with headers or a timestamp of its own; refused, it comes back.
    #[allow(clippy::result_large_err)]
    fn send<'a>(&self, record: SoloRecord<'a>) -> Result<(), (KafkaError, SoloRecord<'a>)>;
    /// The partition count of `topic` from the broker's metadata; `None` when it cannot be read
    /// now. May block for one metadata request: called once per topic every few minutes, never
    /// per record.
    fn partition_count(&self, topic: &str) -> Option<i32>;
}

impl RecordSender for SourceProducer {
    fn acks(&self) -> &Arc<Acks> {
        self.context().acks()
    }
    fn serve(&self) -> bool {
        serve(self)
    }
    fn send_batch<'a, I>(&mut self, topic: &str, records: I, results: &mut Vec<Result<(), (RDKafkaErrorCode, usize)>>) -> Result<(), KafkaError>
    where
        I: IntoIterator<Item = BatchRecord<'a, usize>>,
    {
        BatchProducer::send_batch(self, topic, records, results)
    }
    fn send<'a>(&self, record: SoloRecord<'a>) -> Result<(), (KafkaError, SoloRecord<'a>)> {
        rdkafka::producer::BaseProducer::send(self, record)
    }
    fn partition_count(&self, topic: &str) -> Option<i32> {
        let metadata = self.client().fetch_metadata(Some(topic), PARTITION_COUNT_TIMEOUT).ok()?;
        // A topic created a moment ago may report no leader yet, with its partitions listed:
        // the count is what matters here (records wait in librdkafka for the leader).
        let t = metadata.topics().iter().find(|t| t.name() == topic)?;
        i32::try_from(t.partitions().len()).ok().filter(|n| *n > 0)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Queues an acknowledgement as the delivery callback would (for the task loop's tests).
    pub(crate) fn push(acks: &Acks, seq: usize, offset: i64) {
        acks.push(seq, Delivery::Acked { partition: 0, offset });
    }

    #[test]
    fn drain_takes_everything_in_arrival_order() {
        let acks = Acks::default();
        acks.push(3, Delivery::Acked { partition: 0, offset: 10 });
        acks.push(1, Delivery::Acked { partition: 1, offset: 4 });
        let mut got = Vec::new();
        acks.drain(&mut got);
        let seqs: Vec<usize> = got.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, vec![3, 1]);
        acks.drain(&mut got);
        assert!(got.is_empty());
    }
}
