//! Partitions for keyless source records, chosen by the task loop: one partition per topic for
//! each polled batch, the next one for the next batch (Java's producer also sticks to a
//! partition for a batch, KIP-480).
//!
//! Left to librdkafka, a keyless record goes through its sticky partitioner, which reads the
//! clock for every record to decide when to move on: 11% of a file source's task thread. A
//! record sent with its partition set skips that. Records with a key, or with a partition of
//! their own, are not touched: librdkafka hashes keys as Java does (murmur2).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a topic's partition count is trusted before it is read again (Java's producer
/// refreshes its metadata every five minutes, `metadata.max.age.ms`): partitions added to a
/// topic get records from then on.
pub const PARTITION_COUNT_MAX_AGE: Duration = Duration::from_secs(300);

/// How soon a partition count that could not be read is tried again.
const UNKNOWN_COUNT_RETRY: Duration = Duration::from_secs(1);

/// What is known of one topic.
struct Topic {
    /// Its partition count; `None` when it could not be read (librdkafka chooses then).
    count: Option<i32>,
    read_at: Instant,
}

/// Keyless records' partitions of one task. Disabled when the producer's partitioner is not
/// the worker's default: a user's `partitioner` or `sticky.partitioning.linger.ms` is honoured
/// by leaving the choice to librdkafka.
pub struct KeylessPartitions {
    enabled: bool,
    /// Where this task starts (its id), so the tasks of a connector spread over partitions.
    start: usize,
    /// Polled batches so far: the partition moves on with each.
    turn: usize,
    topics: HashMap<Arc<str>, Topic>,
    /// The last answer of [`Self::partition`] in this batch: a batch's records mostly go to one
    /// topic, and a string compare is cheaper than hashing it.
    last: Option<(Arc<str>, Option<i32>)>,
}

impl KeylessPartitions {
    pub fn new(enabled: bool, task_id: u32) -> Self {
        KeylessPartitions { enabled, start: task_id as usize, turn: 0, topics: HashMap::new(), last: None }
    }

    /// Whether the partition count of `topic` must be read (`set_count`) before
    /// [`Self::partition`] can answer: never read, or read too long ago.
    pub fn needs_count(&self, topic: &Arc<str>) -> bool {
        // The last topic answered is known (`last` is cleared whenever the counts change).
        if self.last.as_ref().is_some_and(|(t, _)| same_topic(t, topic)) {
            return false;
        }
        self.enabled && !self.topics.contains_key(&**topic)
    }

    /// Records the partition count of `topic` as just read; `None` or zero when it could not be.
    pub fn set_count(&mut self, topic: &str, count: Option<i32>) {
        let count = count.filter(|c| *c > 0);
        self.topics.insert(Arc::from(topic), Topic { count, read_at: Instant::now() });
        self.last = None;
    }

    /// Forgets the count of `topic` (the broker refused a partition chosen from it: the topic
    /// was recreated smaller); it is read again before the next choice.
    pub fn forget(&mut self, topic: &str) {
        self.topics.remove(topic);
        self.last = None;
    }

    /// Moves on to the next partition of every topic, and drops counts that are too old to
    /// trust: called once per polled batch (one clock read per batch, none per record).
    pub fn next_batch(&mut self) {
        self.turn = self.turn.wrapping_add(1);
        self.last = None;
        if !self.topics.is_empty() {
            let now = Instant::now();
            // A count that could not be read (a topic created a moment ago may have no leader
            // yet) is tried again soon.
            self.topics.retain(|_, t| now.duration_since(t.read_at) < if t.count.is_some() { PARTITION_COUNT_MAX_AGE } else { UNKNOWN_COUNT_RETRY });
        }
    }

    /// The partition for a keyless record of `topic` in this batch, or `None` to let librdkafka
    /// choose (disabled, or the count unknown).
    pub fn partition(&mut self, topic: &Arc<str>) -> Option<i32> {
        if !self.enabled {
            return None;
        }
        if let Some((t, p)) = &self.last {
            if same_topic(t, topic) {
                return *p;
            }
        }
        let entry = self.topics.get(&**topic)?;
        let p = entry.count.and_then(|count| i32::try_from(self.start.wrapping_add(self.turn) % count as usize).ok());
        // The record's own name: the records of a stream share it, so the next one matches by
        // pointer.
        self.last = Some((topic.clone(), p));
        p
    }
}

/// Whether two topic names are the same: the records of a stream share one `Arc`, so the
/// pointers are compared before the text.
pub(crate) fn same_topic(a: &Arc<str>, b: &Arc<str>) -> bool {
    Arc::ptr_eq(a, b) || **a == **b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str) -> Arc<str> {
        name.into()
    }

    #[test]
    fn one_partition_per_batch_moving_on_with_each_batch() {
        let mut p = KeylessPartitions::new(true, 1);
        assert!(p.needs_count(&t("t")));
        assert_eq!(p.partition(&t("t")), None, "unknown count: librdkafka chooses");
        p.set_count("t", Some(3));
        assert!(!p.needs_count(&t("t")));
        let mut seen = Vec::new();
        for _ in 0..4 {
            // Every record of a batch gets the same partition.
            assert_eq!(p.partition(&t("t")), p.partition(&t("t")));
            seen.push(p.partition(&t("t")).unwrap());
            p.next_batch();
        }
        assert_eq!(seen, vec![1, 2, 0, 1]);
    }

    #[test]
    fn tasks_start_apart_and_topics_are_counted_apart() {
        let (mut a, mut b) = (KeylessPartitions::new(true, 0), KeylessPartitions::new(true, 1));
        for p in [&mut a, &mut b] {
            p.set_count("t", Some(2));
            p.set_count("one", Some(1));
        }
        assert_eq!((a.partition(&t("t")), b.partition(&t("t"))), (Some(0), Some(1)));
        assert_eq!((a.partition(&t("one")), b.partition(&t("one"))), (Some(0), Some(0)));
    }

    #[test]
    fn unknown_zero_forgotten_or_disabled_leaves_the_choice_to_librdkafka() {
        let mut p = KeylessPartitions::new(true, 0);
        p.set_count("zero", Some(0));
        p.set_count("failed", None);
        p.set_count("t", Some(4));
        assert_eq!((p.partition(&t("zero")), p.partition(&t("failed"))), (None, None));
        assert!(!p.needs_count(&t("failed")), "a failed read is retried after a while, not per record");
        p.next_batch();
        assert!(!p.needs_count(&t("failed")), "not within a second");
        std::thread::sleep(UNKNOWN_COUNT_RETRY + Duration::from_millis(50));
        p.next_batch();
        assert!(p.needs_count(&t("failed")));
        assert!(!p.needs_count(&t("t")), "a known count is kept for minutes");
        p.set_count("t", Some(4));
        p.forget("t");
        assert!(p.needs_count(&t("t")));
        assert_eq!(p.partition(&t("t")), None);

        let mut off = KeylessPartitions::new(false, 0);
        off.set_count("t", Some(4));
        assert!(!off.needs_count(&t("t")));
        assert_eq!(off.partition(&t("t")), None);
    }
}
