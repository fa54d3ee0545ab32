//! A sink task's consumer: the seam the loop talks to Kafka through ([`SinkConsumer`]), and
//! rdkafka's consumer behind it with its rebalance callbacks.

use futures_util::Stream;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, MessageStream, Rebalance, StreamConsumer};
use rdkafka::error::KafkaResult;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tributary_api::TopicPartition;

use super::state::lock;

/// How long a seek may wait for the consumer.
const SEEK_TIMEOUT: Duration = Duration::from_secs(10);

/// Partition events seen by the consumer's rebalance callbacks, handled by the task loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionEvent {
    Assigned(Vec<TopicPartition>),
    Revoked(Vec<TopicPartition>),
}

/// What the sink loop asks of its consumer: rdkafka's [`StreamConsumer`], or an in-memory fake
/// in the loop's unit tests.
pub trait SinkConsumer: Send + Sync + 'static {
    /// A consumed record.
    type Message<'a>: Message
    where
        Self: 'a;
    /// The consumer's records, as long as it lives.
    type Messages<'a>: Stream<Item = KafkaResult<Self::Message<'a>>> + Unpin + Send
    where
        Self: 'a;

    fn subscribe(&self, topics: &[&str]) -> KafkaResult<()>;
    fn unsubscribe(&self);
    fn messages(&self) -> Self::Messages<'_>;
    fn pause(&self, partitions: &[TopicPartition]) -> KafkaResult<()>;
    fn resume(&self, partitions: &[TopicPartition]) -> KafkaResult<()>;
    /// Moves the position of `tp` to `offset`: the next record consumed from it is that one.
    fn seek(&self, tp: &TopicPartition, offset: i64) -> KafkaResult<()>;
    /// Commits `offsets` (the next offset to read, per partition) for the group.
    fn commit(&self, offsets: &HashMap<TopicPartition, i64>, mode: CommitMode) -> KafkaResult<()>;
    /// The partitions assigned and revoked since the last call, in order.
    fn take_partition_events(&self) -> Vec<PartitionEvent>;
    /// Notes offsets the task approved and the loop committed: a revocation commits them again
    /// (never more) before the partition goes.
    fn approved(&self, offsets: &HashMap<TopicPartition, i64>);
    /// Forgets the approved offset of a revoked partition.
    fn forget(&self, tp: &TopicPartition);
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

/// Creates the context for a sink task's consumer.
pub fn consumer_context() -> SinkConsumerContext {
    SinkConsumerContext { events: Mutex::new(Vec::new()), approved: Mutex::new(HashMap::new()) }
}

fn to_partitions(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements().iter().map(|e| TopicPartition::new(e.topic(), e.partition())).collect()
}

fn partition_list(partitions: &[TopicPartition]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for tp in partitions {
        tpl.add_partition(&tp.topic, tp.partition);
    }
    tpl
}

impl SinkConsumer for StreamConsumer<SinkConsumerContext> {
    type Message<'a> = BorrowedMessage<'a>;
    type Messages<'a> = MessageStream<'a, SinkConsumerContext>;

    fn subscribe(&self, topics: &[&str]) -> KafkaResult<()> {
        Consumer::subscribe(self, topics)
    }
    fn unsubscribe(&self) {
        Consumer::unsubscribe(self)
    }
    fn messages(&self) -> Self::Messages<'_> {
        self.stream()
    }
    fn pause(&self, partitions: &[TopicPartition]) -> KafkaResult<()> {
        Consumer::pause(self, &partition_list(partitions))
    }
    fn resume(&self, partitions: &[TopicPartition]) -> KafkaResult<()> {
        Consumer::resume(self, &partition_list(partitions))
    }
    fn seek(&self, tp: &TopicPartition, offset: i64) -> KafkaResult<()> {
        Consumer::seek(self, &tp.topic, tp.partition, Offset::Offset(offset), SEEK_TIMEOUT)
    }
    fn commit(&self, offsets: &HashMap<TopicPartition, i64>, mode: CommitMode) -> KafkaResult<()> {
        let mut tpl = TopicPartitionList::new();
        for (tp, o) in offsets {
            let _ = tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*o));
        }
        Consumer::commit(self, &tpl, mode)
    }
    fn take_partition_events(&self) -> Vec<PartitionEvent> {
        std::mem::take(&mut *lock(&self.context().events))
    }
    fn approved(&self, offsets: &HashMap<TopicPartition, i64>) {
        let mut approved = lock(&self.context().approved);
        for (tp, o) in offsets {
            approved.insert(tp.clone(), *o);
        }
    }
    fn forget(&self, tp: &TopicPartition) {
        lock(&self.context().approved).remove(tp);
    }
}
