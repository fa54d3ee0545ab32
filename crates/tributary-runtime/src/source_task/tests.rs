//! The source loop against an in-memory producer: commit order, tolerated and fatal send
//! failures, a full queue, and a stop while the task's poll waits. No broker: the fake
//! acknowledges what it was sent, in the order and with the outcome each test scripts.

use super::*;
use crate::error_handling::{ErrorHandling, Stage};
use crate::offset_store::OffsetBackingStore;
use crate::plugins::Plugins;
use crate::task_events::TaskEvent;
use crate::RuntimeError;
use producer::{Acks, Delivery};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{OwnedMessage, Timestamp};
use std::collections::VecDeque;
use std::sync::Mutex;
use tributary_api::{ConfigMap, OffsetMap, PluginSet, RecordMetadata, SourceTaskContext, Value};
use tributary_batch_producer::BatchRecord;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the fake does with the records it is sent.
#[derive(Default)]
struct Script {
    /// Acknowledge each `serve` call's records newest first (out of send order).
    reverse: bool,
    /// Values whose delivery fails (the broker refused them).
    fail: Vec<&'static str>,
    /// Batch calls refused whole with QueueFull before one is taken.
    queue_full: usize,
}

/// An in-memory producer: records sent are held until `serve`, which acknowledges them.
struct FakeProducer {
    acks: Arc<Acks>,
    script: Mutex<Script>,
    /// (sequence number, value) of records sent and not yet acknowledged.
    unacked: Mutex<VecDeque<(usize, String)>>,
    /// (topic, value, partition) of every record taken, in the order taken.
    log: Arc<Mutex<Vec<(String, String, Option<i32>)>>>,
    next_offset: Mutex<i64>,
}

impl FakeProducer {
    fn new(script: Script) -> Self {
        FakeProducer { acks: Arc::default(), script: Mutex::new(script), unacked: Mutex::default(), log: Arc::default(), next_offset: Mutex::new(0) }
    }
    fn take(&self, topic: &str, seq: usize, payload: Option<&[u8]>, partition: Option<i32>) {
        let value = String::from_utf8_lossy(payload.unwrap_or_default()).into_owned();
        lock(&self.log).push((topic.to_owned(), value.clone(), partition));
        lock(&self.unacked).push_back((seq, value));
    }
}

impl RecordSender for FakeProducer {
    fn acks(&self) -> &Arc<Acks> {
        &self.acks
    }
    fn serve(&self) -> bool {
        let mut sent: Vec<_> = lock(&self.unacked).drain(..).collect();
        if sent.is_empty() {
            return false;
        }
        let script = lock(&self.script);
        if script.reverse {
            sent.reverse();
        }
        for (seq, value) in sent {
            let delivery = if script.fail.contains(&value.as_str()) {
                let message = OwnedMessage::new(Some(value.into_bytes()), None, "t".into(), Timestamp::NotAvailable, -1, -1, None);
                Delivery::Failed(Box::new((KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge), message)))
            } else {
                let mut next = lock(&self.next_offset);
                *next += 1;
                Delivery::Acked { partition: 0, offset: *next - 1 }
            };
            self.acks.push(seq, delivery);
        }
        true
    }
    fn send_batch<'a, I>(&mut self, topic: &str, records: I, results: &mut Vec<Result<(), (RDKafkaErrorCode, usize)>>) -> Result<(), KafkaError>
    where
        I: IntoIterator<Item = BatchRecord<'a, usize>>,
    {
        results.clear();
        let full = {
            let mut script = lock(&self.script);
            let full = script.queue_full > 0;
            script.queue_full = script.queue_full.saturating_sub(1);
            full
        };
        for r in records {
            if full {
                results.push(Err((RDKafkaErrorCode::QueueFull, r.opaque)));
            } else {
                self.take(topic, r.opaque, r.payload, r.partition);
                results.push(Ok(()));
            }
        }
        Ok(())
    }
    fn send<'a>(&self, record: producer::SoloRecord<'a>) -> Result<(), (KafkaError, producer::SoloRecord<'a>)> {
        self.take(record.topic, record.delivery_opaque, record.payload, record.partition);
        Ok(())
    }
    fn partition_count(&self, _topic: &str) -> Option<i32> {
        Some(1)
    }
}

/// A source that returns its scripted batches, then waits (cancel-safe: nothing is lost).
struct ScriptedSource {
    batches: VecDeque<Vec<SourceRecord>>,
    /// (value, offset acknowledged) of each `commit_record`, in call order.
    committed: Arc<Mutex<Vec<(String, Option<i64>)>>>,
    stopped: Arc<Mutex<bool>>,
}

#[async_trait::async_trait]
impl SourceTask for ScriptedSource {
    fn version(&self) -> String {
        "test".into()
    }
    async fn start(&mut self, _context: SourceTaskContext) -> Result<(), ConnectError> {
        Ok(())
    }
    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        match self.batches.pop_front() {
            Some(b) => Ok(b),
            None => std::future::pending().await,
        }
    }
    fn commit_record(&mut self, record: &SourceRecord, metadata: Option<&RecordMetadata<'_>>) -> Result<(), ConnectError> {
        let value = match &record.value {
            Value::String(s) => s.clone(),
            other => format!("{other:?}"),
        };
        lock(&self.committed).push((value, metadata.map(|m| m.offset)));
        Ok(())
    }
    async fn stop(&mut self) -> Result<(), ConnectError> {
        *lock(&self.stopped) = true;
        Ok(())
    }
}

/// Offsets written, flush by flush.
#[derive(Default)]
struct MemoryOffsets {
    flushes: Mutex<Vec<Vec<(Vec<u8>, Option<Vec<u8>>)>>>,
}

#[async_trait::async_trait]
impl OffsetBackingStore for MemoryOffsets {
    async fn get(&self, _key: &[u8]) -> Result<Option<Vec<u8>>, RuntimeError> {
        Ok(None)
    }
    async fn set(&self, entries: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), RuntimeError> {
        lock(&self.flushes).push(entries);
        Ok(())
    }
    async fn all(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>, RuntimeError> {
        Ok(Vec::new())
    }
}

/// Every event, in order.
#[derive(Default)]
struct Recorder(Mutex<Vec<TaskEvent>>);

impl crate::task_events::TaskEventListener for Recorder {
    fn on_event(&self, _connector: &str, _task: u32, event: TaskEvent) {
        lock(&self.0).push(event);
    }
}

/// Record `n` of the stream: value "r<n>", offset n + 1 (the position after it).
fn record(n: i64) -> SourceRecord {
    let partition: OffsetMap = [("file", Value::String("in.txt".into()))].into_iter().collect();
    let offset: OffsetMap = [("position", Value::Int64(n + 1))].into_iter().collect();
    SourceRecord::new(partition, Some(offset), "t", None, Value::String(format!("r{n}")))
}

/// A worker config that names a broker nothing listens on: no test here reaches it.
pub(crate) fn test_worker_config() -> crate::WorkerConfig {
    let keys = [
        ("bootstrap.servers", "127.0.0.1:9"),
        ("key.converter", "org.apache.kafka.connect.storage.StringConverter"),
        ("value.converter", "org.apache.kafka.connect.storage.StringConverter"),
    ];
    crate::WorkerConfig::parse(keys.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).expect("worker config")
}

struct Run {
    result: Result<(), ConnectError>,
    committed: Vec<(String, Option<i64>)>,
    sent: Vec<(String, String, Option<i32>)>,
    /// The position of every offset flush, in order.
    flushed: Vec<i64>,
    events: Vec<TaskEvent>,
    stopped: bool,
}

/// Runs the loop over `batches` with the fake producer until `records` were settled (or the
/// loop ended), then stops it.
async fn run(batches: Vec<Vec<SourceRecord>>, script: Script, tolerate_all: bool, settled: usize) -> Run {
    let committed = Arc::new(Mutex::new(Vec::new()));
    let stopped = Arc::new(Mutex::new(false));
    let task = ScriptedSource { batches: batches.into(), committed: committed.clone(), stopped: stopped.clone() };
    let producer = FakeProducer::new(script);
    let sent = producer.log.clone();
    let offsets = Arc::new(MemoryOffsets::default());
    let events = Arc::new(Recorder::default());
    let mut config = ConfigMap::new();
    if tolerate_all {
        config.insert("errors.tolerance".into(), "all".into());
    }
    let worker = test_worker_config();
    let errors = Arc::new(
        crate::error_handling::ErrorReporter::new(&worker, "c", 0, ErrorHandling::from_config(&config).expect("errors.* keys")).await.expect("error reporter"),
    );
    let plugins = Plugins::new(PluginSet::new().with(tributary_converters::plugins()));
    let converter = || plugins.new_converter("org.apache.kafka.connect.storage.StringConverter", &ConfigMap::new(), false).expect("string converter");
    let runner = SourceTaskRunner {
        connector: "c".into(),
        task_id: 0,
        task: Box::new(task),
        producer,
        admin: Arc::new(crate::kafka::admin_client(&worker, "test").expect("admin client")),
        key_converter: converter(),
        value_converter: converter(),
        header_converter: plugins.new_header_converter("org.apache.kafka.connect.storage.SimpleHeaderConverter", &ConfigMap::new()).expect("header converter"),
        offset_store: offsets.clone(),
        codec: Arc::new(crate::offset_store::OffsetCodec::new().expect("codec")),
        // Flushed at the stop only, unless a test waits that long.
        flush_interval: Duration::from_secs(3600),
        flush_timeout: Duration::from_secs(5),
        topic_creation: TopicCreation { enabled: false, partitions: -1, replication_factor: -1 },
        chain: TransformationChain::from_config(&plugins, &ConfigMap::new()).expect("empty chain"),
        topic_tracker: None,
        errors,
        converter_classes: Default::default(),
        fallback_converter: converter(),
        keyless_partitions: KeylessPartitions::new(true, 0),
        events: crate::task_events::TaskEvents::new(events.clone(), "c", 0),
        state: LoopState::default(),
    };
    let cancel = CancellationToken::new();
    let (_paused_tx, paused_rx) = tokio::sync::watch::channel(false);
    let loop_ = tokio::spawn(runner.run(cancel.clone(), paused_rx));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while lock(&committed).len() < settled && !loop_.is_finished() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    cancel.cancel();
    let result = loop_.await.expect("the loop panicked");
    let codec = crate::offset_store::OffsetCodec::new().expect("codec");
    let flushed = lock(&offsets.flushes)
        .iter()
        .flat_map(|entries| entries.iter())
        .map(|(_, v)| match codec.decode_value(v.as_deref().unwrap_or_default()) {
            Ok(Some(o)) => match o.get("position") {
                Some(Value::Int64(n)) => *n,
                other => panic!("unexpected offset {other:?}"),
            },
            other => panic!("unexpected offset {other:?}"),
        })
        .collect();
    let events = lock(&events.0).clone();
    let committed = lock(&committed).clone();
    let stopped = *lock(&stopped);
    let sent = lock(&sent).clone();
    Run { result, committed, sent, flushed, events, stopped }
}

fn acked(values: &[(&str, i64)]) -> Vec<(String, Option<i64>)> {
    values.iter().map(|(v, o)| (v.to_string(), Some(*o))).collect()
}

#[tokio::test]
async fn records_acknowledged_out_of_order_are_committed_in_send_order() {
    let run = run(vec![vec![record(0), record(1), record(2)], vec![record(3)]], Script { reverse: true, ..Default::default() }, false, 4).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    // The fake acknowledged r2 first (offset 0) and r0 last (offset 2), r3 alone (offset 3).
    assert_eq!(run.committed, acked(&[("r0", 2), ("r1", 1), ("r2", 0), ("r3", 3)]));
    assert_eq!(run.flushed, vec![4], "one flush at the stop, of the position after the last record");
    // Keyless records of the one-partition topic go to partition 0, the loop's choice.
    assert!(run.sent.iter().all(|(t, _, p)| t == "t" && *p == Some(0)), "{:?}", run.sent);
    let sent: Vec<&str> = run.sent.iter().map(|(_, v, _)| v.as_str()).collect();
    assert_eq!(sent, vec!["r0", "r1", "r2", "r3"]);
    assert!(run.stopped);
    let count = |f: fn(&TaskEvent) -> Option<usize>| run.events.iter().filter_map(f).sum::<usize>();
    assert_eq!(count(|e| if let TaskEvent::Polled { records } = e { Some(*records) } else { None }), 4);
    assert_eq!(count(|e| if let TaskEvent::Converted { records } = e { Some(*records) } else { None }), 4);
    assert_eq!(count(|e| if let TaskEvent::Sent { records } = e { Some(*records) } else { None }), 4);
    assert_eq!(count(|e| if let TaskEvent::Acknowledged { records } = e { Some(*records) } else { None }), 4);
    assert_eq!(run.events.last(), Some(&TaskEvent::Committed { partitions: 1 }));
}

#[tokio::test]
async fn a_tolerated_send_failure_is_skipped_and_its_offset_commits_in_order() {
    let run = run(vec![vec![record(0), record(1), record(2)]], Script { fail: vec!["r1"], ..Default::default() }, true, 3).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(run.committed, vec![("r0".into(), Some(0)), ("r1".into(), None), ("r2".into(), Some(1))]);
    assert_eq!(run.flushed, vec![3]);
    assert_eq!(run.events.iter().filter(|e| **e == TaskEvent::Failed { stage: Stage::KafkaProduce }).count(), 1);
}

#[tokio::test]
async fn a_send_failure_not_tolerated_fails_the_task_with_only_the_prefix_before_it_committed() {
    let run = run(vec![vec![record(0), record(1), record(2)]], Script { fail: vec!["r1"], ..Default::default() }, false, 3).await;
    let error = run.result.expect_err("the task fails");
    assert_eq!(error.to_string(), "Tolerance exceeded in error handler");
    assert!(error.trace().contains("Unrecoverable exception from producer send callback"), "{}", error.trace());
    assert_eq!(run.committed, acked(&[("r0", 0)]));
    assert_eq!(run.flushed, vec![1], "the offset after r0 only: r1 and r2 are polled again after a restart");
    assert!(run.stopped);
}

#[tokio::test]
async fn records_refused_for_a_full_queue_go_again_in_order_exactly_once() {
    let run = run(vec![vec![record(0), record(1), record(2)]], Script { queue_full: 2, ..Default::default() }, false, 3).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    let sent: Vec<&str> = run.sent.iter().map(|(_, v, _)| v.as_str()).collect();
    assert_eq!(sent, vec!["r0", "r1", "r2"]);
    assert_eq!(run.committed, acked(&[("r0", 0), ("r1", 1), ("r2", 2)]));
    assert_eq!(run.flushed, vec![3]);
}

#[tokio::test]
async fn a_stop_while_the_poll_waits_flushes_and_stops_the_task() {
    let run = run(vec![vec![record(0)]], Script::default(), false, 1).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(run.committed, acked(&[("r0", 0)]));
    assert_eq!(run.flushed, vec![1]);
    assert!(run.stopped, "stop is called after the waiting poll is dropped");
}
