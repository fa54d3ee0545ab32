//! Sink tasks that fail, through the real broker: transient `put` failures are retried with no
//! loss, a permanent one fails the task, records reported through the errant record reporter
//! reach the dead letter queue, a `put` that blocks its thread stalls nothing else, and headers
//! are decoded exactly when something reads them.
//!
//! The sink under test (`FlakySink`) is defined here and registered like any plugin; it writes
//! values to a file and misbehaves as its config asks.

use async_trait::async_trait;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers as _;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Message, TopicPartitionList};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tributary_api::config::{ConfigKey, ConfigType, Importance};
use tributary_api::{
    ConfigDef, ConfigMap, ConnectError, Connector, ConnectorPlugin, ConnectorType, PluginType, SinkConnector, SinkRecord, SinkTask, SinkTaskContext,
    TopicPartition, Value,
};
use tributary_runtime::config_providers::ConfigProviders;
use tributary_runtime::herder::Herder;
use tributary_runtime::offset_store::{FileOffsetStore, OffsetCodec};
use tributary_runtime::plugins::Plugins;
use tributary_runtime::standalone::StandaloneHerder;
use tributary_runtime::status::{State, StatusStore};
use tributary_runtime::worker::Worker;
use tributary_runtime::worker_config::WorkerConfig;

#[derive(Default)]
struct FlakySinkConnector {
    config: ConfigMap,
}

#[async_trait]
impl Connector for FlakySinkConnector {
    fn version(&self) -> String {
        "test".into()
    }
    fn config_def(&self) -> ConfigDef {
        let s = |k: &str| ConfigKey::new(k, ConfigType::String, Importance::Low, "test").default_value("");
        ConfigDef::new()
            .define(s("file"))
            .define(s("fail.first.puts"))
            .define(s("fail.values"))
            .define(s("errant.values"))
            .define(s("block.on.value"))
            .define(s("ignore.headers"))
            .define(s("write.headers"))
            .define(s("retry.timeout.ms"))
            .define(s("rewind.after"))
    }
    async fn start(&mut self, config: ConfigMap) -> tributary_api::Result<()> {
        self.config = config;
        Ok(())
    }
    async fn task_configs(&mut self, max: usize) -> tributary_api::Result<Vec<ConfigMap>> {
        Ok(vec![self.config.clone(); max])
    }
    async fn stop(&mut self) -> tributary_api::Result<()> {
        Ok(())
    }
}

impl SinkConnector for FlakySinkConnector {
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::<FlakySinkTask>::default()
    }
    fn task_class(&self) -> &'static str {
        "com.example.FlakySinkTask"
    }
}

#[derive(Default)]
struct FlakySinkTask {
    config: ConfigMap,
    context: Option<Arc<dyn SinkTaskContext>>,
    failures_left: usize,
    /// When the last failed `put` returned, to measure the wait before the batch came back.
    failed_at: Option<Instant>,
    written: usize,
    rewound: bool,
}

impl FlakySinkTask {
    fn listed(&self, key: &str, value: &str) -> bool {
        self.config.get(key).is_some_and(|l| l.split(',').any(|v| v == value))
    }
}

#[async_trait]
impl SinkTask for FlakySinkTask {
    fn version(&self) -> String {
        "test".into()
    }
    async fn start(&mut self, context: Arc<dyn SinkTaskContext>) -> tributary_api::Result<()> {
        self.config = context.config().clone();
        self.failures_left = self.config.get("fail.first.puts").and_then(|n| n.parse().ok()).unwrap_or(0);
        self.context = Some(context);
        Ok(())
    }
    /// `ignore.headers=true` declares that `put` does not read headers (so the runtime may skip
    /// them); `write.headers=true` still writes those it gets, which shows whether it got any.
    fn reads_headers(&self) -> bool {
        self.config.get("ignore.headers").map(String::as_str) != Some("true")
    }
    async fn put(&mut self, records: &[SinkRecord]) -> tributary_api::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let context = self.context.clone().expect("started");
        if let Some(failed_at) = self.failed_at.take() {
            // The redelivery wait, as `timeout.ms` asked, for the test to check.
            let waited = failed_at.elapsed().as_millis();
            let path = format!("{}.waits", self.config.get("file").cloned().unwrap_or_default());
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(|e| ConnectError::fatal(e.to_string()))?;
            writeln!(f, "{waited}").map_err(|e| ConnectError::fatal(e.to_string()))?;
        }
        if self.failures_left > 0 {
            self.failures_left -= 1;
            if let Some(ms) = self.config.get("retry.timeout.ms").and_then(|t| t.parse().ok()) {
                context.timeout(ms);
                assert_eq!(context.assignment(), [TopicPartition::new(&*records[0].topic, 0)], "the task's assignment");
            }
            self.failed_at = Some(Instant::now());
            return Err(ConnectError::retriable("the external system is busy"));
        }
        let mut lines = String::new();
        for r in records {
            let v = match &r.value {
                Value::String(s) => s.clone(),
                other => format!("{other:?}"),
            };
            if self.config.get("block.on.value") == Some(&v) {
                // Blocks the thread, as a driver call without a timeout would.
                std::thread::sleep(Duration::from_secs(3600));
            }
            if self.listed("fail.values", &v) {
                return Err(ConnectError::data(format!("the external system rejects {v}")));
            }
            if self.listed("errant.values", &v) {
                let reporter = self.context.as_ref().and_then(|c| c.errant_record_reporter()).expect("a reporter");
                reporter.report(r, ConnectError::data(format!("cannot write {v}"))).await?;
                continue;
            }
            lines.push_str(&v);
            if self.config.get("write.headers").map(String::as_str) == Some("true") {
                for h in r.headers.iter() {
                    lines.push_str(&format!("|{}={}", h.key, h.value));
                }
            }
            lines.push('\n');
        }
        let path = self.config.get("file").cloned().unwrap_or_default();
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(|e| ConnectError::fatal(e.to_string()))?;
        f.write_all(lines.as_bytes()).map_err(|e| ConnectError::fatal(e.to_string()))?;
        self.written += records.len();
        let rewind_after: Option<usize> = self.config.get("rewind.after").and_then(|n| n.parse().ok());
        if !self.rewound && rewind_after.is_some_and(|n| self.written >= n) {
            // Consume the partition again from its start, as a sink that lost its own writes would.
            self.rewound = true;
            context.offsets([(TopicPartition::new(&*records[0].topic, 0), 0)].into_iter().collect());
        }
        Ok(())
    }
    async fn stop(&mut self) -> tributary_api::Result<()> {
        Ok(())
    }
}

fn flaky_plugin() -> ConnectorPlugin {
    ConnectorPlugin::new("com.example.FlakySinkConnector", "test", PluginType::Sink, || ConnectorType::Sink(Box::<FlakySinkConnector>::default()))
}

fn bootstrap() -> String {
    std::env::var("TRIBUTARY_TEST_BOOTSTRAP").expect("TRIBUTARY_TEST_BOOTSTRAP is not set: run scripts/test.sh (it starts Apache Kafka)")
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

async fn produce(bootstrap: &str, topic: &str, n: usize) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", bootstrap).create().unwrap();
    admin.create_topics([&NewTopic::new(topic, 1, TopicReplication::Fixed(1))], &AdminOptions::new()).await.unwrap();
    let producer: BaseProducer = ClientConfig::new().set("bootstrap.servers", bootstrap).create().unwrap();
    for i in 0..n {
        producer.send(BaseRecord::<str, str>::to(topic).payload(&format!("v{i}")).partition(0)).unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

async fn herder(dir: &std::path::Path, extra: &[(&str, &str)]) -> Arc<StandaloneHerder> {
    let mut props: ConfigMap = [
        ("bootstrap.servers", bootstrap().as_str()),
        ("key.converter", "org.apache.kafka.connect.storage.StringConverter"),
        ("value.converter", "org.apache.kafka.connect.storage.StringConverter"),
        ("offset.flush.interval.ms", "200"),
        ("listeners", "http://127.0.0.1:0"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    props.insert("offset.storage.file.filename".into(), dir.join("offsets").display().to_string());
    for (k, v) in extra {
        props.insert((*k).into(), (*v).into());
    }
    let config = WorkerConfig::parse(props).unwrap();
    let worker = Arc::new(Worker {
        config,
        plugins: Plugins::new(tributary_plugins::builtin()).with_connector(flaky_plugin()),
        providers: ConfigProviders::default(),
        worker_id: "test:0".into(),
        offset_store: Arc::new(FileOffsetStore::open(dir.join("offsets")).unwrap()),
        codec: Arc::new(OffsetCodec::new().unwrap()),
        status: Arc::new(StatusStore::default()),
        admin: Default::default(),
        task_events: Arc::new(tributary_runtime::task_events::NoTaskEvents),
    });
    Arc::new(StandaloneHerder::new(worker, "test-cluster".into()))
}

async fn create(h: &StandaloneHerder, name: &str, topic: &str, file: &std::path::Path, extra: &[(&str, &str)]) {
    let mut c: ConfigMap = [("connector.class", "com.example.FlakySinkConnector"), ("topics", topic), ("task.restart.auto.enable", "false")]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    c.insert("file".into(), file.display().to_string());
    for (k, v) in extra {
        c.insert((*k).into(), (*v).into());
    }
    h.put_connector_config(name, c, false, None).await.unwrap();
}

async fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_owned).collect()
}

fn committed(group: &str, topic: &str) -> Option<i64> {
    let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", bootstrap()).set("group.id", group).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, 0);
    let c = consumer.committed_offsets(tpl, Duration::from_secs(10)).ok()?;
    c.elements().first().and_then(|e| e.offset().to_raw()).filter(|o| *o >= 0)
}

async fn task_state(h: &StandaloneHerder, name: &str) -> (State, Option<String>) {
    match h.connector_status(name).await {
        Ok(s) => s.tasks.first().map(|t| (t.state, t.trace.clone())).unwrap_or((State::Unassigned, None)),
        Err(_) => (State::Unassigned, None),
    }
}

fn expected(n: usize, except: &[usize]) -> Vec<String> {
    (0..n).filter(|i| !except.contains(i)).map(|i| format!("v{i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_put_failures_are_retried_with_no_loss() {
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("sf-transient");
    produce(&bootstrap(), &topic, 30).await;
    let h = herder(dir.path(), &[]).await;
    let out = dir.path().join("out.txt");
    create(&h, "transient", &topic, &out, &[("fail.first.puts", "3")]).await;
    wait_for("every record", Duration::from_secs(60), || lines(&out).len() >= 30).await;
    assert_eq!(lines(&out), expected(30, &[]), "in order, none lost, none twice");
    wait_for("the offsets committed", Duration::from_secs(30), || committed("connect-transient", &topic) == Some(30)).await;
    assert_eq!(task_state(&h, "transient").await.0, State::Running);
    h.stop().await;
}

/// `timeout(ms)` sets the wait before a failed batch comes back (twice 700 ms here, where the
/// runtime's own backoff would be 100 then 200 ms), and `offsets` rewinds the partition: every
/// record is written twice, in order, and the commit ends at the end of the partition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_sets_its_redelivery_timeout_and_rewinds() {
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("sf-context");
    produce(&bootstrap(), &topic, 20).await;
    let h = herder(dir.path(), &[]).await;
    let out = dir.path().join("out.txt");
    create(&h, "context", &topic, &out, &[("fail.first.puts", "2"), ("retry.timeout.ms", "700"), ("rewind.after", "20")]).await;
    wait_for("every record twice", Duration::from_secs(60), || lines(&out).len() >= 40).await;
    let once = expected(20, &[]);
    assert_eq!(lines(&out), [once.clone(), once].concat(), "written, rewound to 0, written again");
    let waits: Vec<u128> = lines(&dir.path().join("out.txt.waits")).iter().map(|w| w.parse().unwrap()).collect();
    assert_eq!(waits.len(), 2, "{waits:?}");
    assert!(waits.iter().all(|w| (700..2000).contains(w)), "each redelivery waited the task's timeout: {waits:?}");
    wait_for("the offsets committed", Duration::from_secs(30), || committed("connect-context", &topic) == Some(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(lines(&out).len(), 40, "nothing written a third time");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_put_failure_fails_the_task_before_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("sf-permanent");
    produce(&bootstrap(), &topic, 10).await;
    let h = herder(dir.path(), &[]).await;
    let out = dir.path().join("out.txt");
    create(&h, "permanent", &topic, &out, &[("fail.values", "v5")]).await;
    let mut trace = None;
    wait_for("the task to fail", Duration::from_secs(60), || {
        let s = futures_executor_state(&h, "permanent");
        trace = s.1;
        s.0 == State::Failed
    })
    .await;
    assert!(trace.unwrap_or_default().contains("the external system rejects v5"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(committed("connect-permanent", &topic).is_none_or(|o| o <= 5), "nothing past the failed record is committed");
    h.stop().await;
}

/// The status, read without awaiting (the herder's status is in memory).
fn futures_executor_state(h: &StandaloneHerder, name: &str) -> (State, Option<String>) {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(task_state(h, name)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errant_records_reach_the_dead_letter_queue() {
    let dir = tempfile::tempdir().unwrap();
    let (topic, dlq) = (unique("sf-errant"), unique("sf-errant-dlq"));
    produce(&bootstrap(), &topic, 12).await;
    let h = herder(dir.path(), &[]).await;
    let out = dir.path().join("out.txt");
    let dlq_config = [
        ("errant.values", "v3,v7"),
        ("errors.tolerance", "all"),
        ("errors.deadletterqueue.topic.name", dlq.as_str()),
        ("errors.deadletterqueue.topic.replication.factor", "1"),
        ("errors.deadletterqueue.context.headers.enable", "true"),
    ];
    create(&h, "errant", &topic, &out, &dlq_config).await;
    wait_for("the good records", Duration::from_secs(60), || lines(&out).len() >= 10).await;
    assert_eq!(lines(&out), expected(12, &[3, 7]));
    let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", bootstrap()).set("group.id", unique("dlq")).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&dlq, 0, rdkafka::Offset::Beginning).unwrap();
    consumer.assign(&tpl).unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < 2 && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let header =
                |k: &str| m.headers().and_then(|hs| hs.iter().find(|h| h.key == k).and_then(|h| h.value.map(|v| String::from_utf8_lossy(v).into_owned())));
            got.push((
                String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
                header("__connect.errors.stage"),
                header("__connect.errors.class.name"),
                header("__connect.errors.offset"),
            ));
        }
    }
    let task = Some("com.example.FlakySinkTask".to_owned());
    assert_eq!(
        got,
        vec![
            ("v3".to_owned(), Some("TASK_PUT".to_owned()), task.clone(), Some("3".to_owned())),
            ("v7".to_owned(), Some("TASK_PUT".to_owned()), task, Some("7".to_owned()))
        ]
    );
    wait_for("the offsets committed", Duration::from_secs(30), || committed("connect-errant", &topic) == Some(12)).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errant_records_without_tolerance_fail_the_task() {
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("sf-errant-none");
    produce(&bootstrap(), &topic, 6).await;
    let h = herder(dir.path(), &[]).await;
    create(&h, "errant-none", &topic, &dir.path().join("out.txt"), &[("errant.values", "v2")]).await;
    wait_for("the task to fail", Duration::from_secs(60), || futures_executor_state(&h, "errant-none").0 == State::Failed).await;
    let trace = futures_executor_state(&h, "errant-none").1.unwrap_or_default();
    assert!(trace.contains("Tolerance exceeded in error handler"), "{trace}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_that_blocks_its_thread_stalls_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("sf-block");
    produce(&bootstrap(), &topic, 5).await;
    let h = herder(dir.path(), &[("task.shutdown.graceful.timeout.ms", "1000")]).await;
    for i in 0..3 {
        create(&h, &format!("blocked-{i}"), &topic, &dir.path().join(format!("b{i}.txt")), &[("block.on.value", "v1")]).await;
    }
    let out = dir.path().join("ok.txt");
    create(&h, "healthy", &topic, &out, &[]).await;
    wait_for("the healthy connector's records", Duration::from_secs(60), || lines(&out).len() >= 5).await;
    let started = Instant::now();
    assert_eq!(h.connectors().await.len(), 4);
    assert!(h.connector_status("blocked-0").await.is_ok());
    assert!(started.elapsed() < Duration::from_secs(1), "reads took {:?}", started.elapsed());
    let started = Instant::now();
    h.stop().await;
    assert!(started.elapsed() < Duration::from_secs(5), "stop took {:?} with tasks blocked in put", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectors_blocked_in_start_stall_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("sf-block-start");
    produce(&bootstrap(), &topic, 3).await;
    let h = herder(dir.path(), &[]).await;
    // More connectors blocked in start than the runtime has threads.
    for i in 0..3 {
        let (h, topic, file) = (h.clone(), topic.clone(), dir.path().join(format!("s{i}.txt")));
        tokio::spawn(async move { create(&h, &format!("stuck-{i}"), &topic, &file, &[("block.connector.start", "true")]).await });
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = dir.path().join("ok.txt");
    let started = Instant::now();
    create(&h, "healthy", &topic, &out, &[]).await;
    assert!(started.elapsed() < Duration::from_secs(5), "creating a connector took {:?}", started.elapsed());
    wait_for("the healthy connector's records", Duration::from_secs(60), || lines(&out).len() >= 3).await;
    assert_eq!(h.connectors().await.len(), 4, "the stuck connectors are defined, their starts still pending");
}

/// Records `v0`..: each has header `tag=t{i}`, and every third one also `drop`.
async fn produce_with_headers(bootstrap: &str, topic: &str, n: usize) {
    use rdkafka::message::{Header, OwnedHeaders};
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", bootstrap).create().unwrap();
    admin.create_topics([&NewTopic::new(topic, 1, TopicReplication::Fixed(1))], &AdminOptions::new()).await.unwrap();
    let producer: BaseProducer = ClientConfig::new().set("bootstrap.servers", bootstrap).create().unwrap();
    for i in 0..n {
        let tag = format!("t{i}");
        let mut headers = OwnedHeaders::new().insert(Header { key: "tag", value: Some(tag.as_str()) });
        if i % 3 == 0 {
            headers = headers.insert(Header { key: "drop", value: Some("yes") });
        }
        producer.send(BaseRecord::<str, str>::to(topic).payload(&format!("v{i}")).partition(0).headers(headers)).unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_are_decoded_exactly_when_something_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("sf-headers");
    produce_with_headers(&bootstrap(), &topic, 9).await;
    let h = herder(dir.path(), &[]).await;
    let (reads, ignores, chained) = (dir.path().join("reads.txt"), dir.path().join("ignores.txt"), dir.path().join("chained.txt"));
    // A task that reads headers gets them all.
    create(&h, "hdr-reads", &topic, &reads, &[("write.headers", "true")]).await;
    // A task that declares it ignores them, with String converters and no transforms: the
    // runtime skips decoding them, and the records arrive without headers.
    create(&h, "hdr-ignores", &topic, &ignores, &[("write.headers", "true"), ("ignore.headers", "true")]).await;
    // The same task behind a chain whose predicate reads a header: decoded again.
    let filter = [
        ("write.headers", "true"),
        ("ignore.headers", "true"),
        ("transforms", "skip"),
        ("transforms.skip.type", "Filter"),
        ("transforms.skip.predicate", "marked"),
        ("predicates", "marked"),
        ("predicates.marked.type", "HasHeaderKey"),
        ("predicates.marked.name", "drop"),
    ];
    create(&h, "hdr-chained", &topic, &chained, &filter).await;
    wait_for("every record in the three files", Duration::from_secs(60), || {
        lines(&reads).len() >= 9 && lines(&ignores).len() >= 9 && lines(&chained).len() >= 6
    })
    .await;
    let all: Vec<String> = (0..9).map(|i| if i % 3 == 0 { format!("v{i}|tag=t{i}|drop=yes") } else { format!("v{i}|tag=t{i}") }).collect();
    assert_eq!(lines(&reads), all);
    assert_eq!(lines(&ignores), expected(9, &[]));
    let kept: Vec<String> = (0..9).filter(|i| i % 3 != 0).map(|i| format!("v{i}|tag=t{i}")).collect();
    assert_eq!(lines(&chained), kept);
    h.stop().await;
}
