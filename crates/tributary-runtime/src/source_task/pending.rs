//! Converted records of a polled batch waiting to go to the producer, in send order.
//!
//! The task loop converts a batch first and sends it after, so that runs of records for one
//! topic go to librdkafka in one call (`BatchProducer::send_batch`: no per-record topic lookup
//! or clock reads). A record's converted key and value often borrow the record itself (String
//! and ByteArray converters lend their bytes), so they are copied here into one buffer, kept
//! from batch to batch; librdkafka copies them again when it takes them.

use rdkafka::message::OwnedHeaders;
use std::ops::Range;
use std::sync::Arc;

use super::partitions::same_topic;

/// Beyond this many bytes or records the loop sends what is pending before converting more.
const MAX_PENDING_BYTES: usize = 1 << 20;
const MAX_PENDING_RECORDS: usize = 10_000;

/// A converted record waiting to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pending {
    /// The record's index in its batch.
    pub index: usize,
    key: Option<(u32, u32)>,
    value: Option<(u32, u32)>,
    /// `None`: librdkafka's partitioner places it.
    pub partition: Option<i32>,
    /// The partition is the loop's choice for a keyless record (`source_partitions`), not the
    /// record's own.
    pub chosen: bool,
    /// Index in [`PendingSends::solo`] of the headers and timestamp of a record that must go
    /// through `producev`: the batch call takes neither.
    pub solo: Option<u32>,
}

/// What [`PendingSends::push`] takes besides the bytes.
pub(crate) struct Placement {
    pub partition: Option<i32>,
    pub chosen: bool,
    pub headers: Option<OwnedHeaders>,
    pub timestamp: Option<i64>,
}

/// The records converted and not yet sent, with their bytes.
#[derive(Default)]
pub(crate) struct PendingSends {
    bytes: Vec<u8>,
    pub entries: Vec<Pending>,
    /// Where each topic's run of entries starts: (first entry, topic).
    runs: Vec<(usize, Arc<str>)>,
    /// Headers and timestamps of the records that go one by one.
    pub solo: Vec<(Option<OwnedHeaders>, Option<i64>)>,
}

impl PendingSends {
    /// Whether the loop should send what is pending before converting the next record.
    pub fn is_full(&self) -> bool {
        self.bytes.len() >= MAX_PENDING_BYTES || self.entries.len() >= MAX_PENDING_RECORDS
    }

    /// Queues record `index` of the batch for `topic`, copying its bytes.
    pub fn push(&mut self, index: usize, topic: &Arc<str>, key: Option<&[u8]>, value: Option<&[u8]>, placement: Placement) {
        if !self.runs.last().is_some_and(|(_, t)| same_topic(t, topic)) {
            self.runs.push((self.entries.len(), topic.clone()));
        }
        let key = key.map(|k| self.copy(k));
        let value = value.map(|v| self.copy(v));
        let Placement { partition, chosen, headers, timestamp } = placement;
        let solo = (headers.is_some() || timestamp.is_some()).then(|| {
            self.solo.push((headers, timestamp));
            u32::try_from(self.solo.len() - 1).unwrap_or(u32::MAX)
        });
        self.entries.push(Pending { index, key, value, partition, chosen, solo });
    }

    fn copy(&mut self, bytes: &[u8]) -> (u32, u32) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(bytes);
        // A record over 4 GiB cannot be produced anyway (librdkafka's limit is 2 GiB); its
        // range saturates and the producer refuses it as too large.
        (u32::try_from(start).unwrap_or(u32::MAX), u32::try_from(self.bytes.len()).unwrap_or(u32::MAX))
    }

    fn slice(&self, range: Option<(u32, u32)>) -> Option<&[u8]> {
        range.map(|(s, e)| self.bytes.get(s as usize..e as usize).unwrap_or_default())
    }

    pub fn key(&self, e: &Pending) -> Option<&[u8]> {
        self.slice(e.key)
    }

    pub fn value(&self, e: &Pending) -> Option<&[u8]> {
        self.slice(e.value)
    }

    /// The pending entries as runs to send in order: consecutive records for one topic that
    /// can go in one batch call, or a single record that goes alone (`solo`).
    pub fn send_runs(&self) -> Vec<(Arc<str>, Range<usize>)> {
        let mut out = Vec::new();
        for (r, (start, topic)) in self.runs.iter().enumerate() {
            let end = self.runs.get(r + 1).map_or(self.entries.len(), |(s, _)| *s);
            let mut k = *start;
            while k < end {
                let next = if self.entries[k].solo.is_some() { k + 1 } else { (k..end).find(|&j| self.entries[j].solo.is_some()).unwrap_or(end) };
                out.push((topic.clone(), k..next));
                k = next;
            }
        }
        out
    }

    /// Forgets everything pending, keeping the buffers.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.entries.clear();
        self.runs.clear();
        self.solo.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(partition: Option<i32>) -> Placement {
        Placement { partition, chosen: false, headers: None, timestamp: None }
    }

    #[test]
    fn bytes_come_back_as_pushed_null_and_empty_apart() {
        let mut p = PendingSends::default();
        let t: Arc<str> = Arc::from("orders");
        p.push(0, &t, Some(b"k"), Some(b"value one"), plain(Some(1)));
        p.push(1, &t, None, None, plain(None));
        p.push(2, &t, Some(b""), Some(b"v2"), plain(Some(0)));
        let got: Vec<_> = p.entries.iter().map(|e| (e.index, p.key(e), p.value(e), e.partition)).collect();
        assert_eq!(got, vec![(0, Some(&b"k"[..]), Some(&b"value one"[..]), Some(1)), (1, None, None, None), (2, Some(&b""[..]), Some(&b"v2"[..]), Some(0)),]);
        p.clear();
        assert!(p.entries.is_empty());
        assert!(p.send_runs().is_empty());
    }

    #[test]
    fn runs_split_at_each_topic_change_and_around_records_that_go_alone() {
        let mut p = PendingSends::default();
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        // The same name in another Arc is the same topic.
        let a2: Arc<str> = Arc::from("a");
        p.push(0, &a, None, Some(b"0"), plain(None));
        p.push(1, &a2, None, Some(b"1"), plain(None));
        p.push(2, &a, None, Some(b"2"), Placement { partition: None, chosen: false, headers: None, timestamp: Some(5) });
        p.push(3, &a, None, Some(b"3"), plain(None));
        p.push(4, &b, None, Some(b"4"), plain(None));
        p.push(5, &b, None, Some(b"5"), Placement { partition: None, chosen: false, headers: Some(OwnedHeaders::new()), timestamp: None });
        p.push(6, &b, None, Some(b"6"), Placement { partition: None, chosen: false, headers: Some(OwnedHeaders::new()), timestamp: None });
        p.push(7, &a, None, Some(b"7"), plain(None));
        let runs: Vec<(String, Range<usize>)> = p.send_runs().into_iter().map(|(t, r)| (t.to_string(), r)).collect();
        let s = |t: &str, r: Range<usize>| (t.to_owned(), r);
        assert_eq!(runs, vec![s("a", 0..2), s("a", 2..3), s("a", 3..4), s("b", 4..5), s("b", 5..6), s("b", 6..7), s("a", 7..8)]);
        assert_eq!(p.entries[2].solo, Some(0));
        assert_eq!(p.solo[0].1, Some(5));
        assert_eq!(p.entries[6].solo, Some(2));
    }

    #[test]
    fn full_by_records_or_by_bytes() {
        let mut p = PendingSends::default();
        let t: Arc<str> = Arc::from("t");
        for i in 0..MAX_PENDING_RECORDS - 1 {
            p.push(i, &t, None, Some(b"x"), plain(None));
        }
        assert!(!p.is_full());
        p.push(MAX_PENDING_RECORDS, &t, None, Some(b"x"), plain(None));
        assert!(p.is_full());
        p.clear();
        p.push(0, &t, None, Some(&vec![0; MAX_PENDING_BYTES - 1]), plain(None));
        assert!(!p.is_full());
        p.push(1, &t, Some(b"k"), None, plain(None));
        assert!(p.is_full());
    }
}
