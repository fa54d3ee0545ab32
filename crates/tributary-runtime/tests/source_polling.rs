//! How the source loop drives a task's `poll` through the real broker: a poll that waits is
//! not restarted while the loop merely checks for acknowledgements, only when some arrived.
//!
//! The source under test (`SlowSource`) is defined here and registered like any plugin: each
//! poll waits 30 ms, then returns one record, and the task counts polls started and finished,
//! and keeps what the runtime hands back to `recycle`.

mod common;

use async_trait::async_trait;
use common::OneTaskSource;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tributary_api::{ConfigMap, ConnectorPlugin, ConnectorType, OffsetMap, PluginType, Schema, SourceRecord, SourceTask, SourceTaskContext, Value};
use tributary_runtime::herder::Herder;

/// Polls started and polls that returned records, across every task of this test binary.
static STARTED: AtomicUsize = AtomicUsize::new(0);
static FINISHED: AtomicUsize = AtomicUsize::new(0);
/// The records handed back to `recycle`, in the order they came: (value, offset left).
static RECYCLED: std::sync::Mutex<Vec<(String, bool)>> = std::sync::Mutex::new(Vec::new());

#[derive(Default)]
struct SlowSourceTask {
    topic: String,
    next: i64,
}

#[async_trait]
impl SourceTask for SlowSourceTask {
    fn version(&self) -> String {
        "test".into()
    }
    async fn start(&mut self, context: SourceTaskContext) -> tributary_api::Result<()> {
        self.topic = context.configs().get("topic").cloned().unwrap_or_default();
        Ok(())
    }
    async fn poll(&mut self) -> tributary_api::Result<Vec<SourceRecord>> {
        STARTED.fetch_add(1, Ordering::SeqCst);
        // Cancel-safe, as polls must be: nothing happens before the wait.
        tokio::time::sleep(Duration::from_millis(30)).await;
        FINISHED.fetch_add(1, Ordering::SeqCst);
        let n = self.next;
        self.next += 1;
        let partition = OffsetMap::single("source", Value::String("slow".into()));
        Ok(vec![SourceRecord::new(
            partition,
            Some(OffsetMap::single("n", Value::Int64(n))),
            self.topic.as_str(),
            Some(Schema::string()),
            Value::String(format!("r{n}")),
        )])
    }
    fn recycle(&mut self, records: Vec<SourceRecord>) {
        let mut recycled = RECYCLED.lock().unwrap_or_else(|p| p.into_inner());
        recycled.extend(records.into_iter().map(|r| (r.value.to_string(), r.meta.source_offset.is_some())));
    }
    async fn stop(&mut self) -> tributary_api::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_poll_is_restarted_only_when_acknowledgements_arrive() {
    let plugin = ConnectorPlugin::new("com.example.SlowSourceConnector", "test", PluginType::Source, || {
        ConnectorType::Source(Box::<OneTaskSource<SlowSourceTask>>::default())
    });
    let (h, _dir) = common::standalone(plugin, &[]);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let topic = format!("slow-{}-{nanos}", std::process::id());
    let config: ConfigMap =
        [("connector.class", "com.example.SlowSourceConnector"), ("topic", topic.as_str())].iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    h.put_connector_config("slow", config, false, None).await.expect("connector created");
    let deadline = Instant::now() + Duration::from_secs(60);
    while FINISHED.load(Ordering::SeqCst) < 40 {
        assert!(Instant::now() < deadline, "only {} polls finished", FINISHED.load(Ordering::SeqCst));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (started, finished) = (STARTED.load(Ordering::SeqCst), FINISHED.load(Ordering::SeqCst));
    h.stop().await;
    // Each record's acknowledgement (a few ms after its send) restarts at most the one poll
    // running when it arrives. Checking for acknowledgements every millisecond without that
    // rule restarted a poll several times per record.
    assert!(started <= 2 * finished + 2, "{started} polls started for {finished} finished");
    // Every batch came back to the task once settled (the last ones on stop), in send order,
    // each record once, its offset taken for the flush.
    let recycled = RECYCLED.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let expected: Vec<(String, bool)> = (0..finished).map(|n| (format!("r{n}"), false)).collect();
    assert_eq!(recycled, expected);
}
