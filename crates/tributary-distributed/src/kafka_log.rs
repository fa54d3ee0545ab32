//! `KafkaBasedLog`: a compacted topic read from the beginning and tailed, plus a producer that
//! writes to it. The config, offset and status stores are each one of these.
//!
//! The consumer is assigned every partition (no consumer group, nothing committed) and polled
//! on a thread of its own, which hands each record to the store's callback. "Read to end" asks
//! the broker for the high watermarks and waits until the poll thread's positions reach them.

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tributary_runtime::error::RuntimeError;
use tributary_runtime::worker_config::WorkerConfig;

/// Called on the poll thread for every record, in offset order per partition.
pub type RecordCallback = Box<dyn FnMut(&BorrowedMessage<'_>) + Send>;

/// Per-partition positions: the next offset the poll thread will hand out.
#[derive(Default)]
struct Positions {
    by_partition: Mutex<BTreeMap<i32, i64>>,
    advanced: tokio::sync::Notify,
}

pub struct KafkaBasedLog {
    topic: String,
    producer: FutureProducer,
    consumer: Arc<BaseConsumer>,
    partitions: Vec<i32>,
    positions: Arc<Positions>,
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// Client settings shared by a log's producer and consumer: the worker's bootstrap servers and
/// its top-level security keys, as Kafka's worker passes them on.
fn base_config(worker: &WorkerConfig, client_id: &str) -> Result<ClientConfig, RuntimeError> {
    tributary_runtime::kafka::worker_client_config(worker, client_id)
}

impl KafkaBasedLog {
    /// Connects, assigns every partition of `topic` from the beginning and starts the poll
    /// thread. Call [`KafkaBasedLog::read_to_end`] before trusting what the callback built.
    pub async fn start(worker: &WorkerConfig, topic: &str, client_id: &str, mut on_record: RecordCallback) -> Result<Self, RuntimeError> {
        let mut producer_config = base_config(worker, client_id)?;
        // As Kafka's KafkaBasedLog: every write acknowledged by all replicas, one in flight so
        // that a retry never reorders, and Java's partitioner so keys land where a JVM worker
        // puts them (last write wins only within one partition).
        producer_config
            .set("acks", "all")
            .set("max.in.flight.requests.per.connection", "1")
            .set("enable.idempotence", "false")
            .set("partitioner", "murmur2_random")
            .set("linger.ms", "0");
        let producer: FutureProducer = producer_config.create().map_err(|e| RuntimeError::kafka(format!("creating the producer of {topic}"), e))?;
        let mut consumer_config = base_config(worker, client_id)?;
        // Every partition is assigned and nothing committed; librdkafka still wants a group id
        // for `assign`, but the group is never joined.
        consumer_config.set("enable.auto.commit", "false").set("auto.offset.reset", "earliest").set("group.id", format!("{client_id}-reader"));
        let consumer: BaseConsumer = consumer_config.create().map_err(|e| RuntimeError::kafka(format!("creating the consumer of {topic}"), e))?;
        let consumer = Arc::new(consumer);
        let partitions = {
            let (consumer, topic) = (consumer.clone(), topic.to_owned());
            tokio::task::spawn_blocking(move || partitions_of(&consumer, &topic))
                .await
                .map_err(|e| RuntimeError::Other(format!("metadata lookup panicked: {e}")))??
        };
        let mut tpl = TopicPartitionList::new();
        for p in &partitions {
            tpl.add_partition_offset(topic, *p, Offset::Beginning).map_err(|e| RuntimeError::kafka(format!("assigning {topic}"), e))?;
        }
        consumer.assign(&tpl).map_err(|e| RuntimeError::kafka(format!("assigning {topic}"), e))?;
        let positions = Arc::new(Positions::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (consumer, positions, stop, name) = (consumer.clone(), positions.clone(), stop.clone(), topic.to_owned());
            std::thread::Builder::new()
                .name(format!("log-{topic}"))
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        match consumer.poll(Duration::from_millis(100)) {
                            Some(Ok(m)) => {
                                use rdkafka::Message;
                                on_record(&m);
                                let mut by = positions.by_partition.lock().unwrap_or_else(|p| p.into_inner());
                                by.insert(m.partition(), m.offset() + 1);
                            }
                            Some(Err(e)) => {
                                tracing::warn!(topic = %name, error = %e, "error reading internal topic; retrying");
                                std::thread::sleep(Duration::from_millis(100));
                            }
                            None => {}
                        }
                        // The consumer's own positions also move past control records.
                        if let Ok(assigned) = consumer.position() {
                            let mut by = positions.by_partition.lock().unwrap_or_else(|p| p.into_inner());
                            for e in assigned.elements() {
                                if let Offset::Offset(o) = e.offset() {
                                    let slot = by.entry(e.partition()).or_insert(0);
                                    *slot = (*slot).max(o);
                                }
                            }
                        }
                        positions.advanced.notify_waiters();
                    }
                })
                .map_err(|e| RuntimeError::Other(format!("cannot start the reader of {topic}: {e}")))?
        };
        Ok(Self { topic: topic.to_owned(), producer, consumer, partitions, positions, stop, thread: Mutex::new(Some(thread)) })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn partition_count(&self) -> usize {
        self.partitions.len()
    }

    /// Writes one record and waits for the broker's acknowledgement. Returns its partition and
    /// offset.
    pub async fn send(&self, key: &[u8], value: Option<&[u8]>) -> Result<(i32, i64), RuntimeError> {
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic).key(key);
        if let Some(v) = value {
            record = record.payload(v);
        }
        self.producer
            .send(record, Duration::from_secs(30))
            .await
            .map(|d| (d.partition, d.offset))
            .map_err(|(e, _)| RuntimeError::kafka(format!("writing to {}", self.topic), e))
    }

    /// Queues one record without waiting for it (statuses: the next write supersedes it, and
    /// the producer retries on its own). A full producer queue is logged and the record lost.
    pub fn send_nowait(&self, key: &[u8], value: Option<&[u8]>) {
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic).key(key);
        if let Some(v) = value {
            record = record.payload(v);
        }
        if let Err((e, _)) = self.producer.send_result(record) {
            tracing::error!(topic = %self.topic, error = %e, "cannot queue a record for an internal topic");
        }
    }

    /// Waits until everything written to the topic before this call has been handed to the
    /// callback; fails after `timeout`.
    pub async fn read_to_end(&self, timeout: Duration) -> Result<(), RuntimeError> {
        let started = tokio::time::Instant::now();
        let mut backoff = Duration::from_millis(100);
        let ends = loop {
            let (consumer, topic, partitions) = (self.consumer.clone(), self.topic.clone(), self.partitions.clone());
            let found = tokio::task::spawn_blocking(move || end_offsets(&consumer, &topic, &partitions))
                .await
                .map_err(|e| RuntimeError::Other(format!("end offset lookup panicked: {e}")))?;
            match found {
                Ok(ends) => break ends,
                // Leadership moves (a topic just created, a broker restarting): ask again.
                Err(e) if started.elapsed() + backoff < timeout => {
                    tracing::debug!(topic = %self.topic, error = %e, "reading end offsets failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
                Err(e) => return Err(e),
            }
        };
        let timeout = timeout.saturating_sub(started.elapsed());
        let caught_up = || {
            let by = self.positions.by_partition.lock().unwrap_or_else(|p| p.into_inner());
            ends.iter().all(|(p, end)| *end <= 0 || by.get(p).is_some_and(|pos| pos >= end))
        };
        let wait = async {
            loop {
                let advanced = self.positions.advanced.notified();
                if caught_up() {
                    return;
                }
                // The poll thread notifies at least every 100 ms.
                let _ = tokio::time::timeout(Duration::from_millis(200), advanced).await;
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| RuntimeError::Other(format!("Timed out after {} ms reading to the end of topic {}", timeout.as_millis(), self.topic)))
    }

    /// Stops the poll thread (the producer is flushed on drop).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

impl Drop for KafkaBasedLog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Every partition's end offset, in one ListOffsets round trip (asking partition by partition
/// costs a round trip each, which adds up on a 25-partition offsets topic).
fn end_offsets(consumer: &BaseConsumer, topic: &str, partitions: &[i32]) -> Result<Vec<(i32, i64)>, RuntimeError> {
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        tpl.add_partition_offset(topic, *p, Offset::End).map_err(|e| RuntimeError::kafka(format!("reading the end offsets of {topic}"), e))?;
    }
    let found = consumer.offsets_for_times(tpl, Duration::from_secs(10)).map_err(|e| RuntimeError::kafka(format!("reading the end offsets of {topic}"), e))?;
    found
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => Ok((e.partition(), o)),
            // No end offset: an empty partition.
            _ => Ok((e.partition(), 0)),
        })
        .collect()
}

/// The topic's partitions, waiting for its metadata as Kafka does (up to 30 s, backing off).
fn partitions_of(consumer: &BaseConsumer, topic: &str) -> Result<Vec<i32>, RuntimeError> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut backoff = Duration::from_millis(100);
    loop {
        let found = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .ok()
            .and_then(|m| m.topics().iter().find(|t| t.name() == topic).map(|t| t.partitions().iter().map(|p| p.id()).collect::<Vec<_>>()))
            .filter(|p| !p.is_empty());
        if let Some(p) = found {
            return Ok(p);
        }
        if std::time::Instant::now() >= deadline {
            return Err(RuntimeError::Other(format!(
                "Could not look up partition metadata for topic '{topic}' in the allotted period. This could indicate a connectivity issue, unavailable topic partitions, or if this is your first use of the topic it may have taken too long to create."
            )));
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}
