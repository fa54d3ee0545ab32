//! The worker (`Worker`): builds and runs task loops with their clients and converters, and
//! stops them within the graceful shutdown timeout.

use crate::connector_config::{TOPICS, TOPICS_REGEX};
use crate::error::RuntimeError;
use crate::error_handling::{ErrorHandling, ErrorReporter};
use crate::kafka;
use crate::offset_store::{ConnectorOffsetReader, OffsetBackingStore, OffsetCodec};
use crate::plugins::Plugins;
use crate::sink_task::{self, SinkTaskRunner, WorkerSinkTaskContext};
use crate::source_task::partitions::KeylessPartitions;
use crate::source_task::{SourceProducer, SourceProducerContext, SourceTaskRunner, TopicCreation};
use crate::status::{State, Status, StatusStore};
use crate::transformation_chain;
use crate::worker_config::WorkerConfig;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tributary_api::config::with_prefix;
use tributary_api::{ConfigMap, ConnectError, Converter, HeaderConverter, OffsetStorageReader, SinkTask, SourceTask, SourceTaskContext};

/// A running task: cancel it, then join it.
pub struct TaskHandle {
    pub id: u32,
    cancel: CancellationToken,
    join: TaskJoin,
    paused: tokio::sync::watch::Sender<bool>,
}

/// Resolves when a task's thread has finished.
struct TaskJoin(tokio::sync::oneshot::Receiver<()>);

/// Runs a task (its plugin calls and its loop) on a thread of its own with a single-threaded
/// runtime. Plugin code that blocks the thread (a FIFO that never opens, a driver call without
/// a timeout) then stalls only its own task: never the REST API, other connectors or shutdown.
/// A task still running after the graceful shutdown timeout is abandoned with its thread.
fn spawn_isolated(name: String, task: impl std::future::Future<Output = ()> + Send + 'static) -> Result<TaskJoin, RuntimeError> {
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let thread = name.clone();
    std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt.block_on(task),
                Err(e) => tracing::error!(task = %name, error = %e, "cannot build the task's runtime"),
            }
            let _ = done_tx.send(());
        })
        .map_err(|e| RuntimeError::Other(format!("cannot start a thread for {thread}: {e}")))?;
    Ok(TaskJoin(done_rx))
}

impl TaskHandle {
    /// Pauses or resumes the task (target state PAUSED / STARTED).
    pub fn set_paused(&self, paused: bool) {
        self.paused.send_replace(paused);
    }
}

/// Runs connectors' tasks on this process.
pub struct Worker {
    pub config: WorkerConfig,
    pub plugins: Plugins,
    /// Resolves `${provider:...}` references when configs are handed to plugins.
    pub providers: crate::config_providers::ConfigProviders,
    pub worker_id: String,
    pub offset_store: Arc<dyn OffsetBackingStore>,
    pub codec: Arc<OffsetCodec>,
    pub status: Arc<StatusStore>,
    /// The admin client shared by the tasks (topic creation), made on first use; start with
    /// `Default::default()`.
    pub admin: std::sync::Mutex<Option<Arc<SharedAdmin>>>,
    /// Where the task loops report what they do (metrics); [`NoTaskEvents`] when nothing listens.
    ///
    /// [`NoTaskEvents`]: crate::task_events::NoTaskEvents
    pub task_events: Arc<dyn crate::task_events::TaskEventListener>,
}

type SharedAdmin = kafka::Admin;

impl Worker {
    /// The admin client the worker's tasks share, made on first use.
    fn shared_admin(&self) -> Result<Arc<SharedAdmin>, RuntimeError> {
        let mut slot = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(admin) = slot.as_ref() {
            return Ok(admin.clone());
        }
        let admin = Arc::new(kafka::admin_client(&self.config, "connector-adminclient")?);
        *slot = Some(admin.clone());
        Ok(admin)
    }

    fn status(&self, state: State, trace: Option<String>) -> Status {
        Status { state, worker_id: self.worker_id.clone(), trace }
    }

    /// The key, value and header converters of a connector: its own class and settings when it
    /// names a class, else the worker's class and the worker's settings (as Kafka does).
    /// Also returns Kafka's class names of the three, for error reports.
    #[allow(clippy::type_complexity)]
    fn converters(
        &self,
        connector_config: &ConfigMap,
    ) -> Result<(Box<dyn Converter>, Box<dyn Converter>, Box<dyn HeaderConverter>, [String; 3]), RuntimeError> {
        let pick = |key: &str, worker_class: &str| -> (String, ConfigMap) {
            match connector_config.get(key) {
                Some(class) => (class.clone(), with_prefix(connector_config, &format!("{key}."))),
                None => (worker_class.to_owned(), self.config.with_prefix(&format!("{key}."))),
            }
        };
        let (kc, kcfg) = pick("key.converter", &self.config.key_converter);
        let (vc, vcfg) = pick("value.converter", &self.config.value_converter);
        let (hc, hcfg) = pick("header.converter", &self.config.header_converter);
        let names = [kc.as_str(), vc.as_str(), hc.as_str()].map(|c| self.plugins.converter_class_name(c));
        Ok((
            self.plugins.new_converter(&kc, &kcfg, true)?,
            self.plugins.new_converter(&vc, &vcfg, false)?,
            self.plugins.new_header_converter(&hc, &hcfg)?,
            names,
        ))
    }

    /// The reader of a source connector's committed offsets, for its tasks and the connector.
    pub fn offset_reader(&self, connector: &str) -> Arc<dyn OffsetStorageReader> {
        Arc::new(ConnectorOffsetReader { connector: connector.to_owned(), store: self.offset_store.clone(), codec: self.codec.clone() })
    }

    /// Starts a source task: `start` then the loop, on a thread of its own (`spawn_isolated`). Clients and
    /// converters are built first, so a bad config fails here, synchronously.
    pub fn start_source_task(
        &self,
        connector: &str,
        id: u32,
        mut task: Box<dyn SourceTask>,
        task_config: ConfigMap,
        connector_config: &ConfigMap,
        paused: bool,
    ) -> Result<TaskHandle, RuntimeError> {
        let (key_converter, value_converter, header_converter, converter_classes) = self.converters(connector_config)?;
        // The runtime's own JSON, not a plugin: present in every build.
        let mut fallback_converter: Box<dyn Converter> = Box::<tributary_converters::JsonConverter>::default();
        fallback_converter
            .configure(&ConfigMap::from([("schemas.enable".to_owned(), "false".to_owned())]), false)
            .map_err(|e| RuntimeError::Config(format!("the fallback JsonConverter: {e}")))?;
        let chain = transformation_chain::build(&self.plugins, connector_config)?;
        let error_handling = ErrorHandling::from_config(connector_config)?;
        let worker_config = self.config.clone();
        let producer_config = kafka::producer_config(&self.config, connector, id, connector_config)?;
        let keyless_partitions = KeylessPartitions::new(kafka::worker_places_keyless_records(&producer_config), id);
        let events = crate::task_events::TaskEvents::new(self.task_events.clone(), connector, id);
        let producer: SourceProducer = producer_config
            .create_with_context(SourceProducerContext::new())
            .map(SourceProducer::new)
            .map_err(|e| RuntimeError::kafka(format!("creating the producer of task {connector}-{id}"), e))?;
        let admin = self.shared_admin()?;
        let int = |k: &str| connector_config.get(k).and_then(|v| v.trim().parse().ok()).unwrap_or(-1);
        let topic_creation = TopicCreation {
            enabled: self.config.topic_creation_enable,
            partitions: int("topic.creation.default.partitions"),
            replication_factor: int("topic.creation.default.replication.factor"),
        };
        let context = SourceTaskContext::new(task_config, self.offset_reader(connector));
        let (offset_store, codec) = (self.offset_store.clone(), self.codec.clone());
        let topic_tracker = self.config.topic_tracking_enable.then(|| self.status.clone());
        let (flush_interval, flush_timeout) = (self.config.offset_flush_interval, self.config.offset_flush_timeout);
        let cancel = CancellationToken::new();
        let (paused_tx, paused_rx) = tokio::sync::watch::channel(paused);
        let status = self.status.clone();
        let (name, worker_id) = (connector.to_owned(), self.worker_id.clone());
        let token = cancel.clone();
        let join = spawn_isolated(format!("task-{connector}-{id}"), async move {
            let put = |state, trace| status.put_task(&name, id, Status { state, worker_id: worker_id.clone(), trace });
            let errors = match ErrorReporter::new(&worker_config, &name, id, error_handling).await {
                Ok(r) => Arc::new(r),
                Err(e) => {
                    put(State::Failed, Some(ConnectError::from(e).trace()));
                    return;
                }
            };
            if let Err(e) = task.start(context).await {
                put(State::Failed, Some(e.trace()));
                return;
            }
            put(if *paused_rx.borrow() { State::Paused } else { State::Running }, None);
            let runner = SourceTaskRunner {
                connector: name.clone(),
                task_id: id,
                task,
                producer,
                admin,
                key_converter,
                value_converter,
                header_converter,
                offset_store,
                codec,
                flush_interval,
                flush_timeout,
                topic_creation,
                chain,
                topic_tracker,
                errors,
                converter_classes,
                fallback_converter,
                keyless_partitions,
                events,
                state: Default::default(),
            };
            finish(runner.run(token, paused_rx).await, put);
        })?;
        Ok(TaskHandle { id, cancel, join, paused: paused_tx })
    }

    /// Starts a sink task: `start`, subscription, then the loop, on a thread of its own (`spawn_isolated`).
    pub fn start_sink_task(
        &self,
        connector: &str,
        id: u32,
        mut task: Box<dyn SinkTask>,
        task_config: ConfigMap,
        connector_config: &ConfigMap,
        paused: bool,
    ) -> Result<TaskHandle, RuntimeError> {
        let (key_converter, value_converter, header_converter, converter_classes) = self.converters(connector_config)?;
        let chain = transformation_chain::build(&self.plugins, connector_config)?;
        let error_handling = ErrorHandling::from_config(connector_config)?;
        let worker_config = self.config.clone();
        let group_id = kafka::sink_group_id(connector, connector_config);
        let consumer: rdkafka::consumer::StreamConsumer<sink_task::SinkConsumerContext> =
            kafka::consumer_config(&self.config, connector, id, connector_config)?
                .create_with_context(sink_task::consumer_context())
                .map_err(|e| RuntimeError::kafka(format!("creating the consumer of task {connector}-{id}"), e))?;
        let topics: Vec<String> =
            connector_config.get(TOPICS).map(|t| t.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()).unwrap_or_default();
        let regex = connector_config.get(TOPICS_REGEX).filter(|r| !r.trim().is_empty()).cloned();
        let commit_interval = self.config.offset_flush_interval;
        let events = crate::task_events::TaskEvents::new(self.task_events.clone(), connector, id);
        let topic_tracker = self.config.topic_tracking_enable.then(|| self.status.clone());
        let connector_name = connector.to_owned();
        let cancel = CancellationToken::new();
        let (paused_tx, paused_rx) = tokio::sync::watch::channel(paused);
        let status = self.status.clone();
        let (name, worker_id) = (connector.to_owned(), self.worker_id.clone());
        let token = cancel.clone();
        let join = spawn_isolated(format!("task-{connector}-{id}"), async move {
            let put = |state, trace| status.put_task(&name, id, Status { state, worker_id: worker_id.clone(), trace });
            // The dead letter queue topic is created before the task starts, as in Kafka.
            let errors = match ErrorReporter::new(&worker_config, &name, id, error_handling).await {
                Ok(r) => Arc::new(r),
                Err(e) => {
                    put(State::Failed, Some(ConnectError::from(e).trace()));
                    return;
                }
            };
            let context = WorkerSinkTaskContext::new(task_config, errors.clone(), events.clone());
            if let Err(e) = task.start(context.clone()).await {
                put(State::Failed, Some(e.trace()));
                return;
            }
            put(if *paused_rx.borrow() { State::Paused } else { State::Running }, None);
            let runner = SinkTaskRunner {
                connector: connector_name,
                task_id: id,
                group_id,
                task,
                consumer: Arc::new(consumer),
                context,
                key_converter,
                value_converter,
                header_converter,
                commit_interval,
                chain,
                topic_tracker,
                errors,
                converter_classes,
                events,
                state: Default::default(),
            };
            finish(runner.run(token, topics, regex, paused_rx).await, put);
        })?;
        Ok(TaskHandle { id, cancel, join, paused: paused_tx })
    }

    /// Stops tasks: cancel all, then wait for them together for at most
    /// `task.shutdown.graceful.timeout.ms`; a task still running then is abandoned and reported.
    pub async fn stop_tasks(&self, connector: &str, handles: Vec<TaskHandle>) {
        for h in &handles {
            h.cancel.cancel();
        }
        let deadline = tokio::time::Instant::now() + self.config.task_shutdown_timeout;
        for h in handles {
            let id = h.id;
            if tokio::time::timeout_at(deadline, h.join.0).await.is_err() {
                tracing::error!(connector, task = id, timeout = ?self.config.task_shutdown_timeout, "task did not stop within the graceful shutdown timeout; abandoning it");
                self.status.put_task(
                    connector,
                    id,
                    self.status(State::Unassigned, Some("abandoned: did not stop within task.shutdown.graceful.timeout.ms".into())),
                );
            }
        }
    }

    /// The recorded state of a connector (`task` None) or one of its tasks.
    pub fn state_of(&self, connector: &str, task: Option<u32>) -> Option<State> {
        match task {
            None => self.status.connector(connector).map(|s| s.state),
            Some(id) => self.status.tasks(connector).into_iter().find(|(t, _)| *t == id).map(|(_, s)| s.state),
        }
    }

    /// Refuses the active-topics endpoints as Kafka does when topic tracking (or, for a
    /// `reset`, resetting it) is disabled.
    pub fn check_topic_tracking(&self, reset: bool) -> Result<(), RuntimeError> {
        if !self.config.topic_tracking_enable {
            return Err(RuntimeError::Forbidden("Topic tracking is disabled.".into()));
        }
        if reset && !self.config.topic_tracking_allow_reset {
            return Err(RuntimeError::Forbidden("Topic tracking reset is disabled.".into()));
        }
        Ok(())
    }

    /// Records a connector's status.
    pub fn connector_status(&self, connector: &str, state: State, trace: Option<String>) {
        self.status.put_connector(connector, self.status(state, trace));
    }
}

fn finish(result: Result<(), ConnectError>, put: impl Fn(State, Option<String>)) {
    match result {
        Ok(()) => put(State::Unassigned, None),
        Err(e) => put(State::Failed, Some(e.trace())),
    }
}
