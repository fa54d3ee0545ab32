//! A source task's records between `poll` and their offsets: what was sent, what the broker
//! acknowledged, and the committable offsets of the acknowledged prefix.
//!
//! Records stay where `poll` put them, in its batch, until the whole batch is settled; only
//! their outcomes change. A source record is a quarter of a kilobyte, and moving each one into
//! and out of a per-record queue was a tenth of a file source's CPU.

use super::producer::{Acks, Delivery};
use std::collections::VecDeque;
use std::sync::Arc;
#[cfg(doc)]
use tributary_api::SourceTask;
use tributary_api::{OffsetMap, SourceRecord};

/// What became of a record, once known.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Not handed to the producer yet (its batch is being sent).
    Unsent,
    /// Sent; no acknowledgement yet.
    InFlight,
    Delivered(Delivery),
    /// Never sent (dropped by the chain, or a tolerated error): nothing to wait for, but its
    /// offset still commits only after every earlier record's.
    NotSent,
    /// Handed to `acknowledge`: done with.
    Settled,
}

impl Outcome {
    fn is_known(&self) -> bool {
        !matches!(self, Outcome::Unsent | Outcome::InFlight)
    }
    /// Whether the producer gave the record back unsent.
    pub(crate) fn is_send_failure(&self) -> bool {
        matches!(self, Outcome::Delivered(Delivery::Failed(_)))
    }
}

/// One `poll`'s records, in send order; record `i` has sequence number `first_seq + i`.
pub(crate) struct Batch {
    first_seq: usize,
    pub(crate) records: Vec<SourceRecord>,
    pub(crate) outcomes: Vec<Outcome>,
    /// Records a transformation sent to another topic than their own, by index (rare, so kept
    /// apart rather than a slot per record).
    routed: Vec<(usize, Arc<str>)>,
    /// Records before this index are settled.
    settled: usize,
}

impl Batch {
    pub(crate) fn new(first_seq: usize, records: Vec<SourceRecord>) -> Self {
        let outcomes = std::iter::repeat_with(|| Outcome::Unsent).take(records.len()).collect();
        Batch { first_seq, records, outcomes, routed: Vec::new(), settled: 0 }
    }
    /// Notes that record `index` went to `topic`, not the record's own topic.
    pub(crate) fn routed(&mut self, index: usize, topic: Arc<str>) {
        self.routed.push((index, topic));
    }
    /// The sequence number of record `index`.
    pub(crate) fn seq(&self, index: usize) -> usize {
        self.first_seq + index
    }
    /// Forgets the records from the first one not handed to the producer: the task failed
    /// while sending, and they will be polled again from the committed offsets.
    pub(crate) fn truncate_unsent(&mut self) {
        if let Some(k) = self.outcomes.iter().position(|o| matches!(o, Outcome::Unsent)) {
            self.outcomes.truncate(k);
            self.records.truncate(k);
        }
    }
    fn end_seq(&self) -> usize {
        self.first_seq + self.records.len()
    }
}

/// The first sequence number and the outcomes of a batch being sent.
pub(crate) type Sending<'a> = (usize, &'a mut [Outcome]);

fn file(first_seq: usize, outcomes: &mut [Outcome], seq: usize, delivery: Delivery) -> bool {
    match seq.checked_sub(first_seq).and_then(|i| outcomes.get_mut(i)) {
        Some(o) => {
            *o = Outcome::Delivered(delivery);
            true
        }
        None => false,
    }
}

/// A record whose outcome is known, handed out in send order.
pub(crate) struct Resolved<'a> {
    pub record: &'a mut SourceRecord,
    pub outcome: Outcome,
    /// Where the record was written when a transformation routed it elsewhere.
    pub routed_topic: Option<&'a str>,
}

/// Records sent and not yet settled, in send order, batch by batch.
#[derive(Default)]
pub(crate) struct InFlight {
    batches: VecDeque<Batch>,
    next_seq: usize,
    /// Records in `batches` not yet settled.
    len: usize,
    /// Scratch for draining acknowledgements (kept to reuse its allocation).
    arrived: Vec<(usize, Delivery)>,
    /// The records of batches settled to the last one, until the task takes them back
    /// ([`Self::take_spent`], [`SourceTask::recycle`]).
    spent: Vec<Vec<SourceRecord>>,
}

impl InFlight {
    /// The sequence number the next batch starts at.
    pub(crate) fn next_seq(&self) -> usize {
        self.next_seq
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Takes a batch built by [`Batch::new`] at [`Self::next_seq`].
    pub(crate) fn push(&mut self, batch: Batch) {
        debug_assert_eq!(batch.first_seq, self.next_seq);
        self.next_seq = batch.end_seq();
        self.len += batch.records.len() - batch.settled;
        self.batches.push_back(batch);
    }

    /// Files every acknowledgement received so far under its record: in the batches held here,
    /// or in `sending`, the batch being sent (not pushed yet).
    pub(crate) fn collect(&mut self, acks: &Acks, mut sending: Option<Sending<'_>>) {
        acks.drain(&mut self.arrived);
        // Acknowledgements mostly come in send order: the batch of the last one is tried first.
        let mut last = 0;
        for (seq, delivery) in self.arrived.drain(..) {
            let i = match self.batches.get(last) {
                Some(b) if b.first_seq <= seq && seq < b.end_seq() => last,
                _ => self.batches.partition_point(|b| b.end_seq() <= seq),
            };
            last = i;
            let filed = match self.batches.get_mut(i) {
                Some(b) => file(b.first_seq, &mut b.outcomes, seq, delivery),
                None => sending.as_mut().is_some_and(|(first, outcomes)| file(*first, outcomes, seq, delivery)),
            };
            if !filed {
                tracing::warn!(seq, "acknowledgement for a record no longer tracked; ignored");
            }
        }
    }

    /// The oldest unsettled record, once its outcome is known; it counts as settled from here.
    pub(crate) fn next_resolved(&mut self) -> Option<Resolved<'_>> {
        while self.batches.front().is_some_and(|b| b.settled == b.records.len()) {
            if let Some(b) = self.batches.pop_front() {
                self.spent.push(b.records);
            }
        }
        let b = self.batches.front_mut()?;
        let i = b.settled;
        if !b.outcomes[i].is_known() {
            return None;
        }
        let outcome = std::mem::replace(&mut b.outcomes[i], Outcome::Settled);
        b.settled += 1;
        self.len -= 1;
        // Sorted by index: records are routed in send order.
        let routed_topic = b.routed.binary_search_by_key(&i, |(r, _)| *r).ok().map(|k| &*b.routed[k].1);
        Some(Resolved { record: &mut b.records[i], outcome, routed_topic })
    }

    /// The records of the batches found settled so far, oldest first (for the task to recycle).
    pub(crate) fn take_spent(&mut self) -> std::vec::Drain<'_, Vec<SourceRecord>> {
        self.spent.drain(..)
    }

    /// Whether the oldest unsettled record waits for its acknowledgement.
    pub(crate) fn front_in_flight(&self) -> bool {
        self.batches.iter().find(|b| b.settled < b.records.len()).is_some_and(|b| matches!(b.outcomes[b.settled], Outcome::InFlight))
    }
}

/// Offsets acknowledged but not yet flushed, per source partition.
#[derive(Default)]
pub(crate) struct Committable {
    pub(crate) entries: Vec<(Arc<OffsetMap>, OffsetMap)>,
    pub(crate) dirty: bool,
}

impl Committable {
    /// Records the offset of an acknowledged record of `partition` (moved, not cloned: this
    /// runs once per record).
    pub(crate) fn update(&mut self, partition: &Arc<OffsetMap>, offset: OffsetMap) {
        // Most tasks have one or a few partitions: a scan beats hashing a map of values.
        // Records of one stream usually share one map: pointer equality first.
        let same = |p: &Arc<OffsetMap>| Arc::ptr_eq(p, partition) || p == partition;
        match self.entries.iter_mut().rev().find(|(p, _)| same(p)) {
            Some((_, o)) => *o = offset,
            None => self.entries.push((partition.clone(), offset)),
        }
        self.dirty = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source_task::producer::tests::push;
    use tributary_api::Value;

    fn map(entries: &[(&'static str, Value)]) -> OffsetMap {
        entries.iter().map(|(k, v)| (*k, v.clone())).collect()
    }

    fn record(n: i64) -> SourceRecord {
        SourceRecord::new(OffsetMap::new(), Some(map(&[("position", Value::Int64(n))])), "t".to_owned(), None::<tributary_api::SchemaRef>, Value::Null)
    }

    fn position(r: &SourceRecord) -> i64 {
        match r.meta.source_offset.as_ref().and_then(|o| o.get("position")) {
            Some(Value::Int64(n)) => *n,
            other => panic!("unexpected offset {other:?}"),
        }
    }

    #[test]
    fn committable_keeps_the_latest_offset_per_partition_whatever_the_key_order() {
        let mut c = Committable::default();
        let a = || Arc::new(map(&[("file", Value::String("a".into())), ("n", Value::Int32(1))]));
        let a_reordered = Arc::new(map(&[("n", Value::Int32(1)), ("file", Value::String("a".into()))]));
        let b = Arc::new(map(&[("file", Value::String("b".into())), ("n", Value::Int32(1))]));
        let shared = a();
        c.update(&shared, map(&[("position", Value::Int64(1))]));
        c.update(&b, map(&[("position", Value::Int64(7))]));
        c.update(&shared, map(&[("position", Value::Int64(2))]));
        c.update(&a_reordered, map(&[("position", Value::Int64(3))]));
        assert_eq!(c.entries.len(), 2);
        assert_eq!(c.entries[0], (a(), map(&[("position", Value::Int64(3))])));
        assert_eq!(c.entries[1].1, map(&[("position", Value::Int64(7))]));
        assert!(c.dirty);
    }

    #[test]
    fn records_settle_in_send_order_across_batches_whatever_the_acknowledgement_order() {
        let acks = Acks::default();
        let mut f = InFlight::default();
        let mut first = Batch::new(f.next_seq(), (0..3).map(record).collect());
        for o in &mut first.outcomes {
            *o = Outcome::InFlight;
        }
        f.push(first);
        assert_eq!(f.next_seq(), 3);
        // The second batch is being sent: record 3 dropped, record 4 sent, record 5 not yet.
        let mut sending = Batch::new(f.next_seq(), (3..6).map(record).collect());
        sending.outcomes[0] = Outcome::NotSent;
        sending.outcomes[1] = Outcome::InFlight;
        sending.routed(1, "elsewhere".into());
        // Acknowledgements for 4, 2 and 1 come first: nothing settles before record 0.
        push(&acks, 4, 40);
        push(&acks, 2, 20);
        push(&acks, 1, 10);
        f.collect(&acks, Some((sending.seq(0), &mut sending.outcomes)));
        assert!(matches!(sending.outcomes[1], Outcome::Delivered(Delivery::Acked { offset: 40, .. })));
        assert!(f.next_resolved().is_none());
        assert!(f.front_in_flight());
        f.push(sending);
        assert_eq!(f.len(), 6);
        push(&acks, 0, 0);
        f.collect(&acks, None);
        let mut settled = Vec::new();
        while let Some(r) = f.next_resolved() {
            settled.push((position(r.record), r.routed_topic.map(str::to_owned)));
        }
        // Record 5 was never sent: it holds the rest back.
        let expected: Vec<(i64, Option<String>)> = vec![(0, None), (1, None), (2, None), (3, None), (4, Some("elsewhere".to_owned()))];
        assert_eq!(settled, expected);
        // The first batch is spent (handed back to the task); the second waits for record 5.
        let spent: Vec<Vec<i64>> = f.take_spent().map(|b| b.iter().map(position).collect()).collect();
        assert_eq!(spent, vec![vec![0, 1, 2]]);
        assert_eq!(f.take_spent().count(), 0);
        assert_eq!(f.len(), 1);
        assert!(!f.front_in_flight());
        assert_eq!(f.next_seq(), 6);
    }

    #[test]
    fn an_acknowledgement_for_an_unknown_record_is_ignored() {
        let acks = Acks::default();
        let mut f = InFlight::default();
        let mut b = Batch::new(0, vec![record(0)]);
        b.outcomes[0] = Outcome::InFlight;
        f.push(b);
        push(&acks, 7, 70);
        f.collect(&acks, None);
        assert!(f.next_resolved().is_none());
        push(&acks, 0, 0);
        f.collect(&acks, None);
        assert_eq!(f.next_resolved().map(|r| position(r.record)), Some(0));
        // The settled batch is dropped on the next look.
        assert!(f.next_resolved().is_none());
        assert_eq!(f.batches.len(), 0);
    }
}
