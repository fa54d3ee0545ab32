#![allow(dead_code)] // each test binary uses a part of it
//! Scaffolding shared by the runtime's tests against the real broker: a source connector that
//! hands its config to one task, and a standalone herder with it on the test broker.

use async_trait::async_trait;
use std::marker::PhantomData;
use std::sync::Arc;
use tributary_api::config::{ConfigKey, ConfigType, Importance};
use tributary_api::{ConfigDef, ConfigMap, Connector, ConnectorPlugin, PluginSet, SourceConnector, SourceTask};
use tributary_distributed::distributed_config::DistributedConfig;
use tributary_distributed::herder::DistributedHerder;
use tributary_distributed::internal_topics;
use tributary_distributed::offset_log::KafkaOffsetStore;
use tributary_runtime::config_providers::ConfigProviders;
use tributary_runtime::offset_store::{FileOffsetStore, OffsetCodec};
use tributary_runtime::plugins::Plugins;
use tributary_runtime::standalone::StandaloneHerder;
use tributary_runtime::status::StatusStore;
use tributary_runtime::worker::Worker;
use tributary_runtime::worker_config::WorkerConfig;

/// A one-worker distributed herder with `plugin`, on the test broker, with String converters,
/// its own group and internal topics; the returned directory is for the test's files.
pub async fn distributed(plugin: ConnectorPlugin) -> (Arc<DistributedHerder>, tokio::task::JoinHandle<()>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let group = format!("test-cluster-{}-{nanos}", std::process::id());
    let props: ConfigMap = [
        ("bootstrap.servers", bootstrap()),
        ("group.id", group.clone()),
        ("config.storage.topic", format!("{group}-configs")),
        ("offset.storage.topic", format!("{group}-offsets")),
        ("status.storage.topic", format!("{group}-status")),
        ("config.storage.replication.factor", "1".into()),
        ("offset.storage.replication.factor", "1".into()),
        ("status.storage.replication.factor", "1".into()),
        ("offset.storage.partitions", "2".into()),
        ("key.converter", "org.apache.kafka.connect.storage.StringConverter".into()),
        ("value.converter", "org.apache.kafka.connect.storage.StringConverter".into()),
        ("listeners", "http://127.0.0.1:0".into()),
        ("offset.flush.interval.ms", "100".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let config = WorkerConfig::parse(props).expect("worker config");
    let cluster = DistributedConfig::parse(&config).expect("distributed config");
    let admin = tributary_runtime::kafka::admin_client(&config, "test-adminclient").expect("admin client");
    for topic in [&cluster.config_topic, &cluster.offset_topic, &cluster.status_topic] {
        internal_topics::ensure(&admin, topic).await.expect("internal topic");
    }
    let offsets = Arc::new(KafkaOffsetStore::start(&config, &cluster.offset_topic.name, &format!("{group}-offsets")).await.expect("offset store"));
    let worker = Arc::new(Worker {
        config,
        plugins: Plugins::new(tributary_plugins::builtin()).with_connector(plugin),
        providers: ConfigProviders::default(),
        worker_id: "127.0.0.1:1".into(),
        offset_store: offsets.clone(),
        codec: Arc::new(OffsetCodec::new().expect("codec")),
        status: Arc::new(StatusStore::default()),
        admin: std::sync::Mutex::new(Some(Arc::new(admin))),
        task_events: Arc::new(tributary_runtime::task_events::NoTaskEvents),
    });
    let (herder, looped) = DistributedHerder::start(worker, offsets, "test-cluster".into(), cluster, "http://127.0.0.1:1/".into(), None).await.expect("herder");
    (herder, looped, dir)
}

pub fn bootstrap() -> String {
    std::env::var("TRIBUTARY_TEST_BOOTSTRAP").expect("TRIBUTARY_TEST_BOOTSTRAP is not set: run scripts/test.sh (it starts Apache Kafka)")
}

/// A source connector with a `topic` setting whose one task, a `T`, gets the connector's config.
pub struct OneTaskSource<T> {
    config: ConfigMap,
    task: PhantomData<fn() -> T>,
}

impl<T> Default for OneTaskSource<T> {
    fn default() -> Self {
        OneTaskSource { config: ConfigMap::new(), task: PhantomData }
    }
}

#[async_trait]
impl<T: SourceTask + Default + 'static> Connector for OneTaskSource<T> {
    fn version(&self) -> String {
        "test".into()
    }
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new().define(ConfigKey::new("topic", ConfigType::String, Importance::High, "test"))
    }
    async fn start(&mut self, config: ConfigMap) -> tributary_api::Result<()> {
        self.config = config;
        Ok(())
    }
    async fn task_configs(&mut self, _max: usize) -> tributary_api::Result<Vec<ConfigMap>> {
        Ok(vec![self.config.clone()])
    }
    async fn stop(&mut self) -> tributary_api::Result<()> {
        Ok(())
    }
}

impl<T: SourceTask + Default + 'static> SourceConnector for OneTaskSource<T> {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::<T>::default()
    }
    fn task_class(&self) -> &'static str {
        "com.example.TestSourceTask"
    }
}

/// A standalone herder with `plugin`, on the test broker, with String converters and the
/// worker settings `extra`; its offsets live in the returned directory.
pub fn standalone(plugin: ConnectorPlugin, extra: &[(&str, &str)]) -> (Arc<StandaloneHerder>, tempfile::TempDir) {
    standalone_with(PluginSet::new().with_connector(plugin), extra)
}

/// [`standalone`] with a set of plugins (connectors, converters, ...) beside the built-in ones.
pub fn standalone_with(plugins: PluginSet, extra: &[(&str, &str)]) -> (Arc<StandaloneHerder>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut props: ConfigMap = [
        ("bootstrap.servers".to_owned(), bootstrap()),
        ("key.converter".to_owned(), "org.apache.kafka.connect.storage.StringConverter".to_owned()),
        ("value.converter".to_owned(), "org.apache.kafka.connect.storage.StringConverter".to_owned()),
        ("offset.storage.file.filename".to_owned(), dir.path().join("offsets").display().to_string()),
        ("listeners".to_owned(), "http://127.0.0.1:0".to_owned()),
    ]
    .into_iter()
    .collect();
    props.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let worker = Arc::new(Worker {
        config: WorkerConfig::parse(props).expect("worker config"),
        plugins: Plugins::new(tributary_plugins::builtin()).with(plugins),
        providers: ConfigProviders::default(),
        worker_id: "test:0".into(),
        offset_store: Arc::new(FileOffsetStore::open(dir.path().join("offsets")).expect("offset store")),
        codec: Arc::new(OffsetCodec::new().expect("codec")),
        status: Arc::new(StatusStore::default()),
        admin: Default::default(),
        task_events: Arc::new(tributary_runtime::task_events::NoTaskEvents),
    });
    (Arc::new(StandaloneHerder::new(worker, "test-cluster".into())), dir)
}
