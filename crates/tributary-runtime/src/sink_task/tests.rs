//! The sink loop against an in-memory consumer: exact batches and commits, partitions revoked
//! mid-batch, a tolerated conversion failure, a rewind, and a stop while nothing arrives. No
//! broker: the fake hands out a scripted log and records what the loop asks of it.

use super::*;
use crate::error_handling::ErrorHandling;
use crate::plugins::Plugins;
use crate::source_task::tests::test_worker_config;
use consumer::PartitionEvent;
use futures_util::Stream;
use rdkafka::error::KafkaResult;
use rdkafka::message::{OwnedMessage, Timestamp};
use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Poll, Waker};
use tributary_api::{ConfigMap, PluginSet, SinkTaskContext, TopicPartition, Value};

/// An in-memory consumer of topic "t": a log per partition, read in the order scripted.
#[derive(Default)]
struct FakeConsumer {
    log: HashMap<i32, Vec<String>>,
    /// (partition, offset) of the records still to hand out, in order.
    queue: Mutex<VecDeque<(i32, i64)>>,
    waker: Mutex<Option<Waker>>,
    events: Mutex<Vec<PartitionEvent>>,
    commits: Mutex<Vec<HashMap<TopicPartition, i64>>>,
    seeks: Mutex<Vec<(TopicPartition, i64)>>,
}

impl FakeConsumer {
    fn new(log: &[(i32, &[&str])], order: &[(i32, i64)], events: Vec<PartitionEvent>) -> Self {
        FakeConsumer {
            log: log.iter().map(|(p, values)| (*p, values.iter().map(|v| v.to_string()).collect())).collect(),
            queue: Mutex::new(order.iter().copied().collect()),
            events: Mutex::new(events),
            ..Default::default()
        }
    }
    fn message(&self, partition: i32, offset: i64) -> OwnedMessage {
        let value = self.log.get(&partition).and_then(|l| l.get(offset as usize)).cloned().unwrap_or_default();
        OwnedMessage::new(Some(value.into_bytes()), None, "t".into(), Timestamp::CreateTime(1_000 + offset), partition, offset, None)
    }
}

impl SinkConsumer for FakeConsumer {
    type Message<'a> = OwnedMessage;
    type Messages<'a> = Pin<Box<dyn Stream<Item = KafkaResult<OwnedMessage>> + Send + 'a>>;

    fn subscribe(&self, _topics: &[&str]) -> KafkaResult<()> {
        Ok(())
    }
    fn unsubscribe(&self) {}
    fn messages(&self) -> Self::Messages<'_> {
        Box::pin(futures_util::stream::poll_fn(move |cx| {
            let next = lock(&self.queue).pop_front();
            match next {
                Some((p, o)) => Poll::Ready(Some(Ok(self.message(p, o)))),
                None => {
                    *lock(&self.waker) = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        }))
    }
    fn pause(&self, _partitions: &[TopicPartition]) -> KafkaResult<()> {
        Ok(())
    }
    fn resume(&self, _partitions: &[TopicPartition]) -> KafkaResult<()> {
        Ok(())
    }
    fn seek(&self, tp: &TopicPartition, offset: i64) -> KafkaResult<()> {
        lock(&self.seeks).push((tp.clone(), offset));
        let len = self.log.get(&tp.partition).map_or(0, Vec::len) as i64;
        let mut queue = lock(&self.queue);
        queue.retain(|(p, _)| *p != tp.partition);
        queue.extend((offset..len).map(|o| (tp.partition, o)));
        if let Some(w) = lock(&self.waker).take() {
            w.wake();
        }
        Ok(())
    }
    fn commit(&self, offsets: &HashMap<TopicPartition, i64>, _mode: CommitMode) -> KafkaResult<()> {
        lock(&self.commits).push(offsets.clone());
        Ok(())
    }
    fn take_partition_events(&self) -> Vec<PartitionEvent> {
        std::mem::take(&mut *lock(&self.events))
    }
    fn approved(&self, _offsets: &HashMap<TopicPartition, i64>) {}
    fn forget(&self, _tp: &TopicPartition) {}
}

/// What the task saw.
#[derive(Default)]
struct Seen {
    /// Values of each non-empty `put`, in order.
    puts: Vec<Vec<String>>,
    closed: Vec<TopicPartition>,
    stopped: bool,
}

/// A sink that keeps what it is given; with `rewind_once`, its first non-empty `put` asks for
/// partition 0 again from offset 0 (`offset()`), as a sink that lost a write would.
struct RecordingSink {
    seen: Arc<Mutex<Seen>>,
    context: Option<Arc<dyn SinkTaskContext>>,
    rewind_once: bool,
}

#[async_trait::async_trait]
impl SinkTask for RecordingSink {
    fn version(&self) -> String {
        "test".into()
    }
    async fn start(&mut self, context: Arc<dyn SinkTaskContext>) -> Result<(), ConnectError> {
        self.context = Some(context);
        Ok(())
    }
    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        if records.is_empty() {
            return Ok(());
        }
        let values = records
            .iter()
            .map(|r| match &r.value {
                Value::String(s) => s.clone(),
                other => format!("{other:?}"),
            })
            .collect();
        lock(&self.seen).puts.push(values);
        if std::mem::take(&mut self.rewind_once) {
            if let Some(c) = &self.context {
                c.offset(TopicPartition::new("t", 0), 0);
            }
        }
        Ok(())
    }
    async fn close(&mut self, partitions: &[TopicPartition]) -> Result<(), ConnectError> {
        lock(&self.seen).closed.extend_from_slice(partitions);
        Ok(())
    }
    async fn stop(&mut self) -> Result<(), ConnectError> {
        lock(&self.seen).stopped = true;
        Ok(())
    }
}

/// A value converter that refuses the value "bad" (not retriable).
struct Picky;

impl Converter for Picky {
    fn configure(&mut self, _config: &ConfigMap, _is_key: bool) -> Result<(), ConnectError> {
        Ok(())
    }
    fn from_connect_data<'v>(
        &self,
        _topic: &str,
        _headers: &mut tributary_api::Headers,
        _schema: Option<&tributary_api::SchemaRef>,
        _value: &'v Value,
    ) -> Result<Option<std::borrow::Cow<'v, [u8]>>, ConnectError> {
        Ok(None)
    }
    fn to_connect_data(&self, _topic: &str, _headers: &tributary_api::Headers, value: Option<&[u8]>) -> Result<tributary_api::SchemaAndValue, ConnectError> {
        match value {
            Some(b"bad") => Err(ConnectError::fatal("cannot read bad")),
            v => Ok(tributary_api::SchemaAndValue { schema: None, value: Value::String(String::from_utf8_lossy(v.unwrap_or_default()).into_owned()) }),
        }
    }
}

struct Run {
    result: Result<(), ConnectError>,
    seen: Seen,
    commits: Vec<HashMap<TopicPartition, i64>>,
    seeks: Vec<(TopicPartition, i64)>,
    events: Vec<TaskEvent>,
}

fn tp(p: i32) -> TopicPartition {
    TopicPartition::new("t", p)
}

/// Runs the loop over `consumer` until the task was given `records` values, then stops it.
async fn run(consumer: FakeConsumer, records: usize, tolerate_all: bool, rewind_once: bool, picky: bool) -> Run {
    let consumer = Arc::new(consumer);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut config = ConfigMap::new();
    if tolerate_all {
        config.insert("errors.tolerance".into(), "all".into());
    }
    let worker = test_worker_config();
    let errors = Arc::new(ErrorReporter::new(&worker, "c", 0, ErrorHandling::from_config(&config).expect("errors.* keys")).await.expect("error reporter"));
    let events = Arc::new(Recorder::default());
    let task_events = crate::task_events::TaskEvents::new(events.clone(), "c", 0);
    let context = WorkerSinkTaskContext::new(ConfigMap::new(), errors.clone(), task_events.clone());
    let mut task = RecordingSink { seen: seen.clone(), context: None, rewind_once };
    task.start(context.clone()).await.expect("start");
    let plugins = Plugins::new(PluginSet::new().with(tributary_converters::plugins()));
    let string = || plugins.new_converter("org.apache.kafka.connect.storage.StringConverter", &ConfigMap::new(), false).expect("string converter");
    let runner = SinkTaskRunner {
        connector: "c".into(),
        task_id: 0,
        group_id: "connect-c".into(),
        task: Box::new(task),
        consumer: consumer.clone(),
        context,
        key_converter: string(),
        value_converter: if picky { Box::new(Picky) } else { string() },
        header_converter: plugins.new_header_converter("org.apache.kafka.connect.storage.SimpleHeaderConverter", &ConfigMap::new()).expect("header converter"),
        // Committed at the stop only.
        commit_interval: Duration::from_secs(3600),
        chain: TransformationChain::from_config(&plugins, &ConfigMap::new()).expect("empty chain"),
        topic_tracker: None,
        errors,
        converter_classes: Default::default(),
        events: task_events,
        state: LoopState::default(),
    };
    let cancel = CancellationToken::new();
    let (_paused_tx, paused_rx) = tokio::sync::watch::channel(false);
    let loop_ = tokio::spawn(runner.run(cancel.clone(), vec!["t".into()], None, paused_rx));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while lock(&seen).puts.iter().map(Vec::len).sum::<usize>() < records && !loop_.is_finished() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Whatever else the loop would take has arrived by now: the fake hands records out at once.
    tokio::time::sleep(Duration::from_millis(20)).await;
    cancel.cancel();
    let result = loop_.await.expect("the loop panicked");
    let seen = std::mem::take(&mut *lock(&seen));
    let commits = lock(&consumer.commits).clone();
    let seeks = lock(&consumer.seeks).clone();
    let events = lock(&events.0).clone();
    Run { result, seen, commits, seeks, events }
}

/// Every event, in order.
#[derive(Default)]
struct Recorder(Mutex<Vec<TaskEvent>>);

impl crate::task_events::TaskEventListener for Recorder {
    fn on_event(&self, _connector: &str, _task: u32, event: TaskEvent) {
        lock(&self.0).push(event);
    }
}

fn values(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn a_batch_is_put_whole_and_the_positions_after_it_committed_at_the_stop() {
    let consumer = FakeConsumer::new(&[(0, &["a", "b"]), (1, &["c"])], &[(0, 0), (1, 0), (0, 1)], vec![PartitionEvent::Assigned(vec![tp(0), tp(1)])]);
    let run = run(consumer, 3, false, false, false).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(run.seen.puts, vec![values(&["a", "c", "b"])]);
    assert_eq!(run.commits, vec![HashMap::from([(tp(0), 2), (tp(1), 1)])]);
    assert_eq!(run.seen.closed, vec![tp(0), tp(1)]);
    assert!(run.seen.stopped);
    assert_eq!(
        run.events,
        vec![TaskEvent::Polled { records: 3 }, TaskEvent::Converted { records: 3 }, TaskEvent::Sent { records: 3 }, TaskEvent::Committed { partitions: 2 }]
    );
}

#[tokio::test]
async fn records_of_a_partition_revoked_mid_batch_are_not_put_and_its_offsets_not_committed() {
    let events = vec![PartitionEvent::Assigned(vec![tp(0), tp(1)]), PartitionEvent::Revoked(vec![tp(1)])];
    let consumer = FakeConsumer::new(&[(0, &["a", "b"]), (1, &["c"])], &[(0, 0), (1, 0), (0, 1)], events);
    let run = run(consumer, 2, false, false, false).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(run.seen.puts, vec![values(&["a", "b"])]);
    assert_eq!(run.commits, vec![HashMap::from([(tp(0), 2)])]);
    // Closed on revocation, then what is still assigned at the stop.
    assert_eq!(run.seen.closed, vec![tp(1), tp(0)]);
}

#[tokio::test]
async fn a_tolerated_conversion_failure_is_skipped_and_the_position_moves_past_it() {
    let consumer = FakeConsumer::new(&[(0, &["a", "bad", "c"])], &[(0, 0), (0, 1), (0, 2)], vec![PartitionEvent::Assigned(vec![tp(0)])]);
    let run = run(consumer, 2, true, false, true).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(run.seen.puts, vec![values(&["a", "c"])]);
    assert_eq!(run.commits, vec![HashMap::from([(tp(0), 3)])]);
    assert_eq!(run.events.iter().filter(|e| **e == TaskEvent::Failed { stage: Stage::ValueConverter }).count(), 1);
}

#[tokio::test]
async fn a_conversion_failure_not_tolerated_fails_the_task_and_commits_nothing() {
    let consumer = FakeConsumer::new(&[(0, &["a", "bad"])], &[(0, 0), (0, 1)], vec![PartitionEvent::Assigned(vec![tp(0)])]);
    let run = run(consumer, 1, false, false, true).await;
    assert_eq!(run.result.expect_err("the task fails").to_string(), "Tolerance exceeded in error handler");
    assert!(run.seen.puts.is_empty(), "nothing of the batch is put: {:?}", run.seen.puts);
    assert!(run.commits.is_empty(), "{:?}", run.commits);
    assert!(run.seen.stopped);
}

#[tokio::test]
async fn a_rewind_redelivers_from_the_offset_asked() {
    let consumer = FakeConsumer::new(&[(0, &["a", "b"])], &[(0, 0), (0, 1)], vec![PartitionEvent::Assigned(vec![tp(0)])]);
    let run = run(consumer, 4, false, true, false).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(run.seeks, vec![(tp(0), 0)]);
    assert_eq!(run.seen.puts, vec![values(&["a", "b"]), values(&["a", "b"])]);
    assert_eq!(run.commits, vec![HashMap::from([(tp(0), 2)])]);
}

#[tokio::test]
async fn a_stop_while_nothing_arrives_closes_and_stops_the_task() {
    let consumer = FakeConsumer::new(&[], &[], vec![PartitionEvent::Assigned(vec![tp(0)])]);
    let run = run(consumer, 0, false, false, false).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert!(run.seen.puts.is_empty());
    assert!(run.commits.is_empty(), "nothing consumed, nothing to commit");
    assert!(run.seen.stopped);
}
