//! A connector that reconfigures itself, through the real broker, in standalone and in
//! distributed mode: `TablesSource` watches a file listing its "tables", asks for new task
//! configs (`request_task_reconfiguration`) when the list changes, and fails itself
//! (`raise_error`) when the file says so. Its tasks read their tables' offsets in one call
//! (`SourceTaskContext::offsets`) and write one record per table not yet copied.
//!
//! The assertions are exact: which task configs run, how many times a task started (a task
//! whose config did not change is not restarted), which records reach the topic, and which
//! offsets are committed.

mod common;

use async_trait::async_trait;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tributary_api::config::{ConfigKey, ConfigType, Importance};
use tributary_api::{
    ConfigDef, ConfigMap, ConnectError, Connector, ConnectorContext, ConnectorPlugin, ConnectorType, OffsetMap, PluginType, SourceConnector, SourceRecord,
    SourceTask, SourceTaskContext, Value,
};
use tributary_runtime::herder::{Herder, TargetState};
use tributary_runtime::status::State;

/// Task starts, by connector name: the tables each started task was given.
static STARTS: Mutex<BTreeMap<String, Vec<String>>> = Mutex::new(BTreeMap::new());

/// The tables of every task start, sorted: tasks that start together start in any order.
fn starts(connector: &str) -> Vec<String> {
    let mut starts = STARTS.lock().expect("starts lock").get(connector).cloned().unwrap_or_default();
    starts.sort();
    starts
}

fn read_tables(file: &str) -> String {
    std::fs::read_to_string(file).unwrap_or_default().trim().to_owned()
}

#[derive(Default)]
struct TablesSource {
    context: Option<Arc<dyn ConnectorContext>>,
    config: ConfigMap,
    tables: Arc<Mutex<String>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

#[async_trait]
impl Connector for TablesSource {
    fn version(&self) -> String {
        "test".into()
    }
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new().define(ConfigKey::new("tables.file", ConfigType::String, Importance::High, "the file listing the tables")).define(ConfigKey::new(
            "topic",
            ConfigType::String,
            Importance::High,
            "the topic",
        ))
    }
    fn initialize(&mut self, context: Arc<dyn ConnectorContext>) {
        self.context = Some(context);
    }
    async fn start(&mut self, config: ConfigMap) -> tributary_api::Result<()> {
        let file = config.get("tables.file").cloned().unwrap_or_default();
        *self.tables.lock().expect("tables lock") = read_tables(&file);
        self.config = config;
        let context = self.context.clone().ok_or_else(|| ConnectError::fatal("initialize was not called before start"))?;
        if context.offset_storage_reader().is_none() {
            return Err(ConnectError::fatal("a source connector's context has no offset reader"));
        }
        // The table monitor: a thread of the connector's own, as a JDBC connector's is.
        let (tables, stop) = (self.tables.clone(), self.stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(50));
                let now = read_tables(&file);
                if let Some(reason) = now.strip_prefix("fail:") {
                    context.raise_error(ConnectError::fatal(format!("table monitor: {reason}")));
                    return;
                }
                let mut known = tables.lock().expect("tables lock");
                if *known != now {
                    *known = now;
                    context.request_task_reconfiguration();
                }
            }
        });
        Ok(())
    }
    async fn task_configs(&mut self, max: usize) -> tributary_api::Result<Vec<ConfigMap>> {
        let tables = self.tables.lock().expect("tables lock").clone();
        let tables: Vec<&str> = tables.split(',').filter(|t| !t.is_empty()).collect();
        let count = tables.len().min(max);
        let mut groups = vec![Vec::new(); count];
        for (i, t) in tables.iter().enumerate() {
            groups[i % count].push(*t);
        }
        Ok(groups
            .into_iter()
            .map(|g| {
                let mut c = ConfigMap::new();
                c.insert("tables".into(), g.join(","));
                c.insert("topic".into(), self.config.get("topic").cloned().unwrap_or_default());
                c.insert("connector".into(), self.config.get("name").cloned().unwrap_or_default());
                c
            })
            .collect())
    }
    async fn stop(&mut self) -> tributary_api::Result<()> {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        Ok(())
    }
}

impl SourceConnector for TablesSource {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::<TablesTask>::default()
    }
    fn task_class(&self) -> &'static str {
        "com.example.TablesTask"
    }
}

/// Writes one record per table whose offset says it was not copied yet, then idles.
#[derive(Default)]
struct TablesTask {
    topic: String,
    pending: Vec<String>,
}

fn partition(table: &str) -> OffsetMap {
    OffsetMap::from([("table".to_owned(), Value::String(table.into()))])
}

#[async_trait]
impl SourceTask for TablesTask {
    fn version(&self) -> String {
        "test".into()
    }
    async fn start(&mut self, context: SourceTaskContext) -> tributary_api::Result<()> {
        let config = context.configs();
        self.topic = config.get("topic").cloned().unwrap_or_default();
        let tables: Vec<String> = config.get("tables").map(|t| t.split(',').map(str::to_owned).collect()).unwrap_or_default();
        let connector = config.get("connector").cloned().unwrap_or_default();
        STARTS.lock().expect("starts lock").entry(connector).or_default().push(tables.join(","));
        let partitions: Vec<OffsetMap> = tables.iter().map(|t| partition(t)).collect();
        let offsets = context.offsets(&partitions).await?;
        assert_eq!(offsets.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(), partitions, "offsets come back in the order asked");
        self.pending = tables.into_iter().zip(offsets).filter(|(_, (_, o))| o.is_none()).map(|(t, _)| t).collect();
        Ok(())
    }
    async fn poll(&mut self) -> tributary_api::Result<Vec<SourceRecord>> {
        if self.pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
            return Ok(Vec::new());
        }
        let topic = self.topic.clone();
        Ok(std::mem::take(&mut self.pending)
            .into_iter()
            .map(|t| {
                let offset = OffsetMap::from([("copied".to_owned(), Value::Boolean(true))]);
                SourceRecord::new(partition(&t), Some(offset), topic.clone(), Some(tributary_api::Schema::string()), Value::String(t))
            })
            .collect())
    }
    async fn stop(&mut self) -> tributary_api::Result<()> {
        Ok(())
    }
}

fn plugin() -> ConnectorPlugin {
    ConnectorPlugin::new("com.example.TablesSourceConnector", "test", PluginType::Source, || ConnectorType::Source(Box::<TablesSource>::default()))
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// Waits until `check` holds, or fails the test with what it last saw.
async fn eventually<T: std::fmt::Debug>(what: &str, mut probe: impl AsyncFnMut() -> T, check: impl Fn(&T) -> bool) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seen = probe().await;
        if check(&seen) {
            return seen;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}; last seen: {seen:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn task_tables(herder: &dyn Herder, name: &str) -> Vec<String> {
    match herder.task_configs(name).await {
        Ok(tasks) => tasks.iter().map(|t| t.config.get("tables").cloned().unwrap_or_default()).collect(),
        Err(_) => Vec::new(),
    }
}

async fn running_tasks(herder: &dyn Herder, name: &str) -> Vec<u32> {
    match herder.connector_status(name).await {
        Ok(s) => s.tasks.iter().filter(|t| t.state == State::Running).map(|t| t.id).collect(),
        Err(_) => Vec::new(),
    }
}

async fn committed_tables(herder: &dyn Herder, name: &str) -> Vec<String> {
    let mut tables: Vec<String> = match herder.connector_offsets(name).await {
        Ok(o) => o.offsets.iter().filter_map(|o| o.partition.get("table").and_then(|t| t.as_str()).map(str::to_owned)).collect(),
        Err(_) => Vec::new(),
    };
    tables.sort();
    tables
}

fn topic_values(topic: &str) -> Vec<String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", common::bootstrap())
        .set("group.id", unique("reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut values = Vec::new();
    let quiet_until = |now: Instant| now + Duration::from_secs(3);
    let mut until = quiet_until(Instant::now());
    while Instant::now() < until {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            values.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
            until = quiet_until(Instant::now());
        }
    }
    values.sort();
    values
}

/// The scenario both modes run: 2 tables, a third one added, one removed, then a failure.
async fn reconfigures_itself(herder: &dyn Herder, dir: &std::path::Path) {
    let name = unique("tables");
    let topic = unique("tables-topic");
    let file = dir.join("tables");
    std::fs::write(&file, "a,b").expect("write tables");
    let config: ConfigMap =
        [("connector.class", "TablesSource"), ("tasks.max", "3"), ("tables.file", file.to_str().expect("utf-8 path")), ("topic", topic.as_str())]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    eventually(
        "the connector to be created",
        async || herder.put_connector_config(&name, config.clone(), false, Some(TargetState::Started)).await.is_ok(),
        |ok| *ok,
    )
    .await;
    eventually("two tasks", async || task_tables(herder, &name).await, |t| *t == ["a", "b"]).await;
    eventually("two running tasks", async || running_tasks(herder, &name).await, |t| *t == [0, 1]).await;
    eventually("a and b committed", async || committed_tables(herder, &name).await, |t| *t == ["a", "b"]).await;

    std::fs::write(&file, "a,b,c").expect("write tables");
    eventually("three tasks", async || task_tables(herder, &name).await, |t| *t == ["a", "b", "c"]).await;
    eventually("three running tasks", async || running_tasks(herder, &name).await, |t| *t == [0, 1, 2]).await;
    eventually("c committed", async || committed_tables(herder, &name).await, |t| *t == ["a", "b", "c"]).await;
    assert_eq!(starts(&name), ["a", "b", "c"], "tasks 0 and 1 kept running");

    std::fs::write(&file, "a,c").expect("write tables");
    eventually("two tasks again", async || task_tables(herder, &name).await, |t| *t == ["a", "c"]).await;
    // Distributed mode restarts task 1 once the new configs reach the config topic: until
    // then its old incarnation (b) is the one running.
    eventually("task 1 restarted with c", async || starts(&name), |s| s.len() >= 4).await;
    eventually("tasks 0 and 1 running", async || running_tasks(herder, &name).await, |t| *t == [0, 1]).await;
    let task_ids = async || herder.connector_status(&name).await.map(|s| s.tasks.iter().map(|t| t.id).collect::<Vec<_>>()).unwrap_or_default();
    eventually("task 2 gone from the status", task_ids, |ids| *ids == [0, 1]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(starts(&name), ["a", "b", "c", "c"], "only task 1 (b → c) restarted");
    // Every table copied exactly once: the restarted task 1 found c's committed offset.
    assert_eq!(topic_values(&topic), ["a", "b", "c"]);

    std::fs::write(&file, "fail:the catalog is gone").expect("write tables");
    let status = eventually(
        "the connector to fail",
        async || herder.connector_status(&name).await.map(|s| s.connector).ok(),
        |c| c.as_ref().is_some_and(|c| c.state == State::Failed),
    )
    .await;
    let trace = status.and_then(|s| s.trace).unwrap_or_default();
    assert!(trace.contains("table monitor: the catalog is gone"), "{trace}");
    assert_eq!(running_tasks(herder, &name).await, [0, 1], "its tasks keep running, as in Kafka");
    assert_eq!(starts(&name).len(), 4);
    herder.delete_connector(&name).await.expect("delete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_connector_reconfigures_its_tasks_and_fails_itself() {
    let (herder, dir) = common::standalone(plugin(), &[("offset.flush.interval.ms", "100")]);
    let _supervisor = herder.spawn_supervisor();
    reconfigures_itself(herder.as_ref(), dir.path()).await;
    herder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_connector_reconfigures_its_tasks_and_fails_itself() {
    let (herder, looped, dir) = common::distributed(plugin()).await;
    reconfigures_itself(herder.as_ref(), dir.path()).await;
    herder.shutdown();
    let _ = looped.await;
}
