//! A source task's producer and its acknowledgements.
//!
//! rdkafka's `FutureProducer` allocates a one-shot channel and a boxed sender per record and
//! wakes a future for each acknowledgement: a third of a file source's CPU per record (3.0 →
//! 2.0 CPU-s per million, BENCHMARKS.md). Here librdkafka's polling thread (`ThreadedProducer`) hands each
//! acknowledgement, tagged with the record's sequence number, to a queue the task loop drains,
//! and wakes the loop once per batch instead of once per record.
//!
//! The queue is bounded by what is in flight: it never holds more entries than records sent and
//! not yet acknowledged, which the task loop caps (`MAX_IN_FLIGHT`).

use rdkafka::error::KafkaError;
use rdkafka::message::{DeliveryResult, Message, OwnedMessage};
use rdkafka::producer::{ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// What became of a sent record.
#[derive(Debug)]
pub enum Delivery {
    /// Written: the partition and offset the broker gave it.
    Acked { partition: i32, offset: i64 },
    /// Not written; the producer gave the record back for the error report (boxed: rare, and
    /// large beside an acknowledgement, which is kept for every record in flight).
    Failed(Box<(KafkaError, OwnedMessage)>),
}

/// Acknowledgements waiting for the task loop, by record sequence number.
#[derive(Default)]
pub struct Acks {
    queue: Mutex<Vec<(usize, Delivery)>>,
    arrived: Notify,
}

impl Acks {
    /// Moves every acknowledgement received so far into `into` (cleared first).
    pub fn drain(&self, into: &mut Vec<(usize, Delivery)>) {
        into.clear();
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::swap(&mut *queue, into);
    }

    /// Resolves when an acknowledgement arrived since the last `drain` emptied the queue. A
    /// notification that comes before the wait is kept (Notify's permit): none is lost.
    pub async fn arrived(&self) {
        self.arrived.notified().await
    }

    fn push(&self, seq: usize, delivery: Delivery) {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let was_empty = queue.is_empty();
        queue.push((seq, delivery));
        drop(queue);
        // The loop drains everything at once: it needs one wake-up per batch, sent when the
        // queue goes from empty to not empty.
        if was_empty {
            self.arrived.notify_one();
        }
    }
}

/// The producer's context: its delivery callback (on librdkafka's polling thread) queues the
/// outcome under the sequence number the record was sent with.
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

/// A source task's producer.
pub type SourceProducer = ThreadedProducer<SourceProducerContext>;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use futures_util::FutureExt;

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

    #[test]
    fn a_notification_before_the_wait_is_not_lost() {
        let acks = Acks::default();
        acks.push(0, Delivery::Acked { partition: 0, offset: 0 });
        // The push came first; the wait must still complete.
        assert!(acks.arrived().now_or_never().is_some());
        // Nothing new: waiting would block.
        assert!(acks.arrived().now_or_never().is_none());
    }

    #[test]
    fn only_the_first_of_a_batch_notifies() {
        let acks = Acks::default();
        acks.push(0, Delivery::Acked { partition: 0, offset: 0 });
        acks.push(1, Delivery::Acked { partition: 0, offset: 1 });
        assert!(acks.arrived().now_or_never().is_some());
        // The second push found the queue non-empty: no second permit.
        assert!(acks.arrived().now_or_never().is_none());
        let mut got = Vec::new();
        acks.drain(&mut got);
        acks.push(2, Delivery::Acked { partition: 0, offset: 2 });
        assert!(acks.arrived().now_or_never().is_some());
    }
}
