//! Standalone mode (`StandaloneHerder`): one process, connector configs, target states and
//! statuses in memory, source offsets in a local file.

use crate::error::RuntimeError;
use crate::herder::{
    ConnectorInfo, ConnectorKind, ConnectorState, ConnectorStateInfo, ConnectorTaskId, Created, Herder, ServerInfo, TargetState, TaskInfo, TaskState,
};
use crate::offsets_api;
use crate::restart_request::RestartRequest;
use crate::status::{State, Status};
use crate::worker::{TaskHandle, Worker};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tributary_api::{ConfigMap, ConnectorType, PluginType};

use crate::connector_calls::{ConnectorInstance, ReconfigurationRequests};

struct ConnectorEntry {
    config: ConfigMap,
    kind: ConnectorKind,
    target: TargetState,
    task_configs: Vec<ConfigMap>,
    instance: Option<ConnectorInstance>,
    tasks: Vec<TaskHandle>,
}

/// What reads need of a connector, published after every change so that REST reads never wait
/// for a connector that is busy (or stuck) in plugin code.
#[derive(Clone)]
struct Snapshot {
    config: ConfigMap,
    kind: ConnectorKind,
    target: TargetState,
    task_configs: Vec<ConfigMap>,
}

/// One connector: its entry, locked by lifecycle operations (which call plugin code and may
/// take long), and its snapshot for readers.
struct Slot {
    entry: tokio::sync::Mutex<ConnectorEntry>,
    snapshot: std::sync::RwLock<Snapshot>,
}

impl Slot {
    fn new(entry: ConnectorEntry) -> Self {
        let snapshot = std::sync::RwLock::new(Snapshot { config: entry.config.clone(), kind: entry.kind, target: entry.target, task_configs: Vec::new() });
        Self { entry: tokio::sync::Mutex::new(entry), snapshot }
    }

    /// Locks the entry; the snapshot is refreshed when the guard is dropped.
    async fn lock(&self) -> EntryGuard<'_> {
        EntryGuard { slot: self, guard: self.entry.lock().await }
    }

    fn snapshot(&self) -> Snapshot {
        self.snapshot.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

struct EntryGuard<'a> {
    slot: &'a Slot,
    guard: tokio::sync::MutexGuard<'a, ConnectorEntry>,
}

impl std::ops::Deref for EntryGuard<'_> {
    type Target = ConnectorEntry;
    fn deref(&self) -> &ConnectorEntry {
        &self.guard
    }
}

impl std::ops::DerefMut for EntryGuard<'_> {
    fn deref_mut(&mut self) -> &mut ConnectorEntry {
        &mut self.guard
    }
}

impl Drop for EntryGuard<'_> {
    fn drop(&mut self) {
        let e = &*self.guard;
        *self.slot.snapshot.write().unwrap_or_else(|p| p.into_inner()) =
            Snapshot { config: e.config.clone(), kind: e.kind, target: e.target, task_configs: e.task_configs.clone() };
    }
}

/// The herder of a standalone worker.
pub struct StandaloneHerder {
    worker: Arc<Worker>,
    cluster_id: String,
    /// Held only to look up or change the set of connectors, never across plugin calls.
    connectors: std::sync::Mutex<BTreeMap<String, Arc<Slot>>>,
    ready: AtomicBool,
    loggers: Option<Arc<dyn crate::loggers::LoggerControl>>,
    reconfigurations: Arc<ReconfigurationRequests>,
}

impl StandaloneHerder {
    pub fn new(worker: Arc<Worker>, cluster_id: String) -> Self {
        Self {
            worker,
            cluster_id,
            connectors: std::sync::Mutex::new(BTreeMap::new()),
            ready: AtomicBool::new(false),
            loggers: None,
            reconfigurations: Arc::default(),
        }
    }

    /// Lets `/admin/loggers` change this process's log levels.
    pub fn with_logger_control(mut self, loggers: Arc<dyn crate::loggers::LoggerControl>) -> Self {
        self.loggers = Some(loggers);
        self
    }

    /// Marks start-up complete: `GET /health` answers 200 from now on.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }

    /// Stops every connector and task, flushing their offsets. Called on SIGINT/SIGTERM.
    pub async fn stop(&self) {
        let slots = std::mem::take(&mut *self.map());
        for (name, slot) in slots {
            let mut entry = slot.lock().await;
            self.stop_instances(&name, &mut entry).await;
            self.worker.connector_status(&name, State::Unassigned, None);
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<Slot>>> {
        self.connectors.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn slot(&self, name: &str) -> Result<Arc<Slot>, RuntimeError> {
        self.map().get(name).cloned().ok_or_else(|| RuntimeError::ConnectorNotFound(name.into()))
    }

    fn snapshot(&self, name: &str) -> Result<Snapshot, RuntimeError> {
        Ok(self.slot(name)?.snapshot())
    }

    fn task_status_put(&self, name: &str, id: u32, state: State, trace: Option<String>) {
        self.worker.status.put_task(name, id, Status { state, worker_id: self.worker.worker_id.clone(), trace });
    }

    /// Stops the tasks (flushing their offsets) and the connector instance.
    async fn stop_instances(&self, name: &str, entry: &mut ConnectorEntry) {
        self.worker.stop_tasks(name, std::mem::take(&mut entry.tasks)).await;
        self.stop_connector_instance(name, entry).await;
    }

    async fn stop_connector_instance(&self, name: &str, entry: &mut ConnectorEntry) {
        if let Some(instance) = entry.instance.take() {
            crate::connector_calls::stop_instance(name, instance).await;
        }
    }

    /// Starts the connector instance and returns its task configs (with the framework's
    /// additions). Failures mark the connector FAILED, as Kafka does: it stays defined.
    async fn start_connector_instance(&self, name: &str, entry: &mut ConnectorEntry) -> Option<Vec<ConfigMap>> {
        match self.try_start_connector_instance(name, entry).await {
            Ok(configs) => Some(configs),
            Err(e) => {
                self.worker.connector_status(name, State::Failed, Some(e.to_string()));
                None
            }
        }
    }

    async fn try_start_connector_instance(&self, name: &str, entry: &mut ConnectorEntry) -> Result<Vec<ConfigMap>, RuntimeError> {
        let (instance, configs) = crate::connector_calls::start_instance(&self.worker, name, &entry.config, &self.reconfigurations).await?;
        entry.instance = Some(instance);
        Ok(configs)
    }

    fn start_task(&self, name: &str, entry: &ConnectorEntry, id: u32) -> Option<TaskHandle> {
        let tc = self.worker.providers.resolve(entry.task_configs.get(id as usize)?);
        let connector_config = self.worker.providers.resolve(&entry.config);
        let paused = entry.target == TargetState::Paused;
        let started = match entry.instance.as_ref()?.connector() {
            ConnectorType::Source(c) => self.worker.start_source_task(name, id, c.create_task(), tc, &connector_config, paused),
            ConnectorType::Sink(c) => self.worker.start_sink_task(name, id, c.create_task(), tc, &connector_config, paused),
        };
        match started {
            Ok(handle) => Some(handle),
            Err(e) => {
                self.task_status_put(name, id, State::Failed, Some(e.to_string()));
                None
            }
        }
    }

    /// Brings a connector to its target state from nothing running.
    async fn start_connector(&self, name: &str, entry: &mut ConnectorEntry) {
        if entry.target == TargetState::Stopped {
            entry.task_configs.clear();
            self.worker.status.remove_tasks(name);
            self.worker.connector_status(name, State::Stopped, None);
            return;
        }
        let Some(configs) = self.start_connector_instance(name, entry).await else { return };
        self.worker.status.remove_tasks(name);
        entry.task_configs = configs;
        let state = if entry.target == TargetState::Paused { State::Paused } else { State::Running };
        self.worker.connector_status(name, state, None);
        for id in 0..entry.task_configs.len() as u32 {
            if let Some(h) = self.start_task(name, entry, id) {
                entry.tasks.push(h);
            }
        }
    }

    fn info(name: &str, entry: &Snapshot) -> ConnectorInfo {
        ConnectorInfo {
            name: name.to_owned(),
            config: entry.config.clone(),
            tasks: (0..entry.task_configs.len() as u32).map(|task| ConnectorTaskId { connector: name.to_owned(), task }).collect(),
            kind: entry.kind,
        }
    }

    async fn restart_task_locked(&self, name: &str, entry: &mut ConnectorEntry, id: u32) {
        if let Some(pos) = entry.tasks.iter().position(|h| h.id == id) {
            let handle = entry.tasks.remove(pos);
            self.worker.stop_tasks(name, vec![handle]).await;
        }
        self.task_status_put(name, id, State::Restarting, None);
        if let Some(h) = self.start_task(name, entry, id) {
            entry.tasks.push(h);
        }
    }
}

impl StandaloneHerder {
    /// Starts the supervisor: it applies connectors' reconfiguration requests
    /// (`request_task_reconfiguration`) and restarts FAILED tasks of started connectors with
    /// backoff (`task.restart.*`; beyond Kafka). It holds only a weak reference: it ends with
    /// the herder.
    pub fn spawn_supervisor(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let herder = Arc::downgrade(self);
        let requests = self.reconfigurations.clone();
        tokio::spawn(async move {
            let mut tracker = crate::task_restarts::RestartTracker::default();
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let Some(herder) = herder.upgrade() else { return };
                        herder.supervise_once(&mut tracker).await;
                    }
                    names = requests.next() => {
                        let Some(herder) = herder.upgrade() else { return };
                        for name in names {
                            // On its own task: a connector busy in plugin code delays only itself.
                            let herder = herder.clone();
                            tokio::spawn(async move { herder.reconfigure(&name).await });
                        }
                    }
                }
            }
        })
    }

    /// Asks a connector for its task configs again and applies them when they changed.
    async fn reconfigure(&self, name: &str) {
        let Ok(slot) = self.slot(name) else { return };
        let mut guard = slot.lock().await;
        let entry = &mut *guard;
        if entry.target == TargetState::Stopped {
            return;
        }
        let Some(instance) = entry.instance.take() else { return };
        let (instance, result) = crate::connector_calls::regenerate_task_configs(&self.worker, name, &entry.config, instance).await;
        entry.instance = instance;
        match result {
            Ok(configs) if configs == entry.task_configs => {}
            Ok(configs) => {
                tracing::info!(connector = name, tasks = configs.len(), "connector reconfigured its tasks");
                self.apply_task_configs(name, entry, configs).await;
            }
            Err(e) => {
                tracing::error!(connector = name, error = %e, "reconfiguration failed");
                self.worker.connector_status(name, State::Failed, Some(e.to_string()));
            }
        }
    }

    /// Replaces a running connector's task configs: tasks whose config changed restart,
    /// surplus tasks stop, new ones start; the others keep running.
    async fn apply_task_configs(&self, name: &str, entry: &mut ConnectorEntry, configs: Vec<ConfigMap>) {
        let old = std::mem::replace(&mut entry.task_configs, configs);
        let changed = |id: u32| old.get(id as usize) != entry.task_configs.get(id as usize);
        let (to_stop, kept): (Vec<TaskHandle>, Vec<TaskHandle>) = std::mem::take(&mut entry.tasks).into_iter().partition(|h| changed(h.id));
        entry.tasks = kept;
        self.worker.stop_tasks(name, to_stop).await;
        for id in entry.task_configs.len() as u32..old.len() as u32 {
            self.worker.status.delete(name, Some(id));
        }
        for id in 0..entry.task_configs.len() as u32 {
            if changed(id) {
                if let Some(h) = self.start_task(name, entry, id) {
                    entry.tasks.push(h);
                }
            }
        }
        entry.tasks.sort_by_key(|h| h.id);
    }

    async fn supervise_once(self: &Arc<Self>, tracker: &mut crate::task_restarts::RestartTracker) {
        use crate::task_restarts::{Decision, RestartPolicy};
        let names: Vec<String> = self.map().keys().cloned().collect();
        tracker.retain(|c| names.iter().any(|n| n == c));
        for name in names {
            let Ok(snapshot) = self.snapshot(&name) else { continue };
            let policy = match RestartPolicy::from_config(&snapshot.config) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(connector = %name, error = %e, "cannot read the task restart policy; not restarting its tasks automatically");
                    continue;
                }
            };
            if !policy.enabled || snapshot.target != TargetState::Started {
                continue;
            }
            let now = tokio::time::Instant::now();
            for (id, status) in self.worker.status.tasks(&name) {
                if status.state != State::Failed {
                    tracker.not_failed(&name, id, &policy, now);
                    continue;
                }
                match tracker.failed(&name, id, &policy, now) {
                    Decision::Wait => {}
                    Decision::GiveUp { attempts } => {
                        tracing::error!(connector = %name, task = id, attempts, "task failed again after its automatic restarts; it stays FAILED until restarted by hand");
                    }
                    Decision::Restart { attempt } => {
                        tracing::warn!(connector = %name, task = id, attempt, trace = status.trace.as_deref().unwrap_or(""), "restarting failed task");
                        // On its own task: a connector busy in plugin code delays only itself.
                        let (herder, name) = (self.clone(), name.clone());
                        tokio::spawn(async move {
                            if let Err(e) = herder.restart_task(&name, id).await {
                                tracing::warn!(connector = %name, task = id, error = %e, "automatic restart failed");
                            }
                        });
                    }
                }
            }
        }
    }

    /// The connector's raw config and kind, if it is STOPPED (as offset changes require).
    fn stopped_connector(&self, name: &str) -> Result<(ConfigMap, ConnectorKind), RuntimeError> {
        let entry = self.snapshot(name)?;
        if entry.target != TargetState::Stopped {
            return Err(offsets_api::not_stopped(name));
        }
        Ok((entry.config.clone(), entry.kind))
    }

    fn offsets_ops<'a>(&'a self, name: &'a str, config: &'a ConfigMap, kind: ConnectorKind) -> offsets_api::ConnectorOffsetsOps<'a> {
        offsets_api::ConnectorOffsetsOps { worker: &self.worker, store: self.worker.offset_store.as_ref(), name, config, kind }
    }
}

#[async_trait]
impl Herder for StandaloneHerder {
    async fn server_info(&self) -> ServerInfo {
        ServerInfo::new(&self.cluster_id)
    }

    fn plugins(&self) -> &crate::plugins::Plugins {
        &self.worker.plugins
    }

    fn validate_connector_config(&self, config: &ConfigMap) -> Result<crate::config_infos::ConfigInfos, RuntimeError> {
        crate::config_infos::validate_with_providers(&self.worker.plugins, &self.worker.providers, config)
    }

    async fn connector_active_topics(&self, name: &str) -> Result<Vec<String>, RuntimeError> {
        self.worker.check_topic_tracking(false)?;
        self.connector_info(name).await?;
        Ok(self.worker.status.topics(name))
    }

    async fn reset_connector_active_topics(&self, name: &str) -> Result<(), RuntimeError> {
        self.worker.check_topic_tracking(true)?;
        self.connector_info(name).await?;
        self.worker.status.reset_topics(name);
        Ok(())
    }

    async fn connector_offsets(&self, name: &str) -> Result<offsets_api::ConnectorOffsets, RuntimeError> {
        let entry = self.snapshot(name)?;
        self.offsets_ops(name, &entry.config, entry.kind).read().await
    }

    async fn alter_connector_offsets(&self, name: &str, offsets: offsets_api::ConnectorOffsets) -> Result<offsets_api::Message, RuntimeError> {
        let (config, kind) = self.stopped_connector(name)?;
        self.offsets_ops(name, &config, kind).alter(offsets).await
    }

    async fn reset_connector_offsets(&self, name: &str) -> Result<offsets_api::Message, RuntimeError> {
        let (config, kind) = self.stopped_connector(name)?;
        self.offsets_ops(name, &config, kind).reset().await
    }

    fn logger_control(&self) -> Option<Arc<dyn crate::loggers::LoggerControl>> {
        self.loggers.clone()
    }

    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    async fn connectors(&self) -> Vec<String> {
        self.map().keys().cloned().collect()
    }

    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, RuntimeError> {
        Ok(Self::info(name, &self.snapshot(name)?))
    }

    async fn connector_config(&self, name: &str) -> Result<ConfigMap, RuntimeError> {
        Ok(self.connector_info(name).await?.config)
    }

    async fn connector_status(&self, name: &str) -> Result<ConnectorStateInfo, RuntimeError> {
        let kind = self.snapshot(name).ok().map(|e| e.kind);
        let (Some(kind), Some(status)) = (kind, self.worker.status.connector(name)) else {
            return Err(RuntimeError::NotFound(format!("No status found for connector {name}")));
        };
        let tasks =
            self.worker.status.tasks(name).into_iter().map(|(id, s)| TaskState { id, state: s.state, worker_id: s.worker_id, trace: s.trace }).collect();
        Ok(ConnectorStateInfo {
            name: name.to_owned(),
            connector: ConnectorState { state: status.state, worker_id: status.worker_id, trace: status.trace },
            tasks,
            kind,
        })
    }

    async fn task_status(&self, name: &str, task: u32) -> Result<TaskState, RuntimeError> {
        self.worker
            .status
            .tasks(name)
            .into_iter()
            .find(|(id, _)| *id == task)
            .map(|(id, s)| TaskState { id, state: s.state, worker_id: s.worker_id, trace: s.trace })
            .ok_or_else(|| RuntimeError::NotFound(format!("No status found for task {name}-{task}")))
    }

    async fn task_configs(&self, name: &str) -> Result<Vec<TaskInfo>, RuntimeError> {
        let entry = self.snapshot(name)?;
        Ok(entry
            .task_configs
            .iter()
            .enumerate()
            .map(|(i, c)| TaskInfo { id: ConnectorTaskId { connector: name.to_owned(), task: i as u32 }, config: c.clone() })
            .collect())
    }

    async fn put_connector_config(
        &self,
        name: &str,
        config: ConfigMap,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> Result<Created<ConnectorInfo>, RuntimeError> {
        let (config, validated) = crate::connector_calls::named_and_validated(&self.worker, name, config).await?;
        let kind = match validated.plugin_type {
            PluginType::Source => ConnectorKind::Source,
            PluginType::Sink => ConnectorKind::Sink,
            _ => ConnectorKind::Unknown,
        };
        let (slot, created) = {
            let mut map = self.map();
            match map.get(name) {
                Some(_) if !allow_replace => return Err(RuntimeError::ConnectorExists(name.into())),
                Some(existing) => (existing.clone(), false),
                None => {
                    let target = initial_state.unwrap_or(TargetState::Started);
                    let entry = ConnectorEntry { config: config.clone(), kind, target, task_configs: Vec::new(), instance: None, tasks: Vec::new() };
                    let slot = Arc::new(Slot::new(entry));
                    map.insert(name.to_owned(), slot.clone());
                    (slot, true)
                }
            }
        };
        {
            let mut entry = slot.lock().await;
            if !created {
                // A new config keeps the connector's target state.
                self.stop_instances(name, &mut entry).await;
                entry.config = config;
                entry.kind = kind;
            }
            self.start_connector(name, &mut entry).await;
        }
        Ok(Created { created, result: Self::info(name, &slot.snapshot()) })
    }

    async fn patch_connector_config(&self, name: &str, patch: BTreeMap<String, Option<String>>) -> Result<ConnectorInfo, RuntimeError> {
        let mut config = self.connector_config(name).await?;
        for (k, v) in patch {
            match v {
                Some(v) => config.insert(k, v),
                None => config.remove(&k),
            };
        }
        Ok(self.put_connector_config(name, config, true, None).await?.result)
    }

    async fn delete_connector(&self, name: &str) -> Result<(), RuntimeError> {
        let slot = self.map().remove(name).ok_or_else(|| RuntimeError::ConnectorNotFound(name.into()))?;
        let mut entry = slot.lock().await;
        self.stop_instances(name, &mut entry).await;
        self.worker.status.remove(name);
        Ok(())
    }

    async fn pause_connector(&self, name: &str) -> Result<(), RuntimeError> {
        let slot = self.slot(name)?;
        let mut guard = slot.lock().await;
        let entry = &mut *guard;
        if entry.target != TargetState::Started {
            return Ok(());
        }
        entry.target = TargetState::Paused;
        // As in Kafka: the connector object is stopped, its tasks stay but do no work.
        self.stop_connector_instance(name, entry).await;
        for h in &entry.tasks {
            h.set_paused(true);
            self.task_status_put(name, h.id, State::Paused, None);
        }
        self.worker.connector_status(name, State::Paused, None);
        Ok(())
    }

    async fn resume_connector(&self, name: &str) -> Result<(), RuntimeError> {
        let slot = self.slot(name)?;
        let mut guard = slot.lock().await;
        let entry = &mut *guard;
        match entry.target {
            TargetState::Started => Ok(()),
            TargetState::Stopped => {
                entry.target = TargetState::Started;
                self.start_connector(name, entry).await;
                Ok(())
            }
            TargetState::Paused => {
                entry.target = TargetState::Started;
                let Some(configs) = self.start_connector_instance(name, entry).await else { return Ok(()) };
                // Tasks whose config the connector changed meanwhile restart (unpaused); the
                // others resume where they are.
                let kept: Vec<u32> = entry.tasks.iter().map(|h| h.id).filter(|id| configs.get(*id as usize) == entry.task_configs.get(*id as usize)).collect();
                self.apply_task_configs(name, entry, configs).await;
                for h in entry.tasks.iter().filter(|h| kept.contains(&h.id)) {
                    h.set_paused(false);
                    self.task_status_put(name, h.id, State::Running, None);
                }
                self.worker.connector_status(name, State::Running, None);
                Ok(())
            }
        }
    }

    async fn stop_connector(&self, name: &str) -> Result<(), RuntimeError> {
        let slot = self.slot(name)?;
        let mut guard = slot.lock().await;
        let entry = &mut *guard;
        entry.target = TargetState::Stopped;
        self.stop_instances(name, entry).await;
        entry.task_configs.clear();
        self.worker.status.remove_tasks(name);
        self.worker.connector_status(name, State::Stopped, None);
        Ok(())
    }

    async fn restart_connector(&self, name: &str, include_tasks: bool, only_failed: bool) -> Result<Option<ConnectorStateInfo>, RuntimeError> {
        let request = RestartRequest::new(include_tasks, only_failed);
        {
            let slot = self.slot(name)?;
            let mut guard = slot.lock().await;
            let entry = &mut *guard;
            if entry.target != TargetState::Stopped {
                if request.restarts_connector(self.worker.state_of(name, None)) {
                    self.stop_connector_instance(name, entry).await;
                    self.worker.connector_status(name, State::Restarting, None);
                    if self.start_connector_instance(name, entry).await.is_some() {
                        let state = if entry.target == TargetState::Paused { State::Paused } else { State::Running };
                        self.worker.connector_status(name, state, None);
                    }
                }
                for id in 0..entry.task_configs.len() as u32 {
                    if request.restarts_task(self.worker.state_of(name, Some(id))) {
                        self.restart_task_locked(name, entry, id).await;
                    }
                }
            }
        }
        if !request.answers_with_status() {
            return Ok(None);
        }
        self.connector_status(name).await.map(Some)
    }

    async fn restart_task(&self, name: &str, task: u32) -> Result<(), RuntimeError> {
        let slot = self.slot(name)?;
        let mut guard = slot.lock().await;
        let entry = &mut *guard;
        if task as usize >= entry.task_configs.len() {
            return Err(RuntimeError::NotFound(format!("Task {name}-{task} not found")));
        }
        self.restart_task_locked(name, entry, task).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offset_store::{FileOffsetStore, OffsetCodec};
    use crate::plugins::Plugins;
    use crate::status::StatusStore;
    use crate::worker_config::WorkerConfig;
    use async_trait::async_trait;
    use tributary_api::{ConfigDef, Connector, ConnectorPlugin, PluginType, SinkConnector, SinkTask};

    /// A connector whose `start` never returns.
    #[derive(Default)]
    struct StuckConnector;

    #[async_trait]
    impl Connector for StuckConnector {
        fn version(&self) -> String {
            "0".into()
        }
        fn config_def(&self) -> ConfigDef {
            ConfigDef::new()
        }
        async fn start(&mut self, _config: ConfigMap) -> tributary_api::Result<()> {
            std::future::pending::<()>().await;
            Ok(())
        }
        async fn task_configs(&mut self, _max: usize) -> tributary_api::Result<Vec<ConfigMap>> {
            Ok(Vec::new())
        }
        async fn stop(&mut self) -> tributary_api::Result<()> {
            Ok(())
        }
    }

    impl SinkConnector for StuckConnector {
        fn create_task(&self) -> Box<dyn SinkTask> {
            unreachable!("never started")
        }
        fn task_class(&self) -> &'static str {
            "StuckTask"
        }
    }

    fn cfg(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[tokio::test]
    async fn a_stuck_connector_does_not_block_other_requests() {
        let dir = tempfile::tempdir().unwrap();
        let config =
            WorkerConfig::parse(cfg(&[("bootstrap.servers", "127.0.0.1:1"), ("key.converter", "StringConverter"), ("value.converter", "StringConverter")]))
                .unwrap();
        let stuck = ConnectorPlugin::new("com.example.StuckConnector", "0", PluginType::Sink, || ConnectorType::Sink(Box::new(StuckConnector)));
        let worker = Worker {
            config,
            plugins: Plugins::new(tributary_plugins::builtin()).with_connector(stuck),
            providers: Default::default(),
            worker_id: "w:1".into(),
            offset_store: Arc::new(FileOffsetStore::open(dir.path().join("o")).unwrap()),
            codec: Arc::new(OffsetCodec::new().unwrap()),
            status: Arc::new(StatusStore::default()),
            admin: Default::default(),
            task_events: Arc::new(crate::task_events::NoTaskEvents),
        };
        let herder = Arc::new(StandaloneHerder::new(Arc::new(worker), "cid".into()));
        herder
            .put_connector_config(
                "other",
                cfg(&[("connector.class", "FileStreamSink"), ("topics", "t"), ("file", dir.path().join("out").to_str().unwrap())]),
                false,
                None,
            )
            .await
            .unwrap();
        let h = herder.clone();
        let stuck =
            tokio::spawn(async move { h.put_connector_config("stuck", cfg(&[("connector.class", "StuckConnector"), ("topics", "t")]), false, None).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let reads = async {
            assert_eq!(herder.connectors().await, vec!["other".to_owned(), "stuck".to_owned()]);
            assert_eq!(herder.connector_info("other").await.unwrap().name, "other");
            assert_eq!(herder.connector_info("stuck").await.unwrap().tasks, vec![], "reads of the stuck connector answer too");
            herder.pause_connector("other").await.unwrap();
            assert_eq!(herder.connector_status("other").await.unwrap().connector.state, State::Paused);
        };
        tokio::time::timeout(Duration::from_secs(1), reads).await.expect("requests waited for a stuck connector");
        assert!(!stuck.is_finished());
        stuck.abort();
    }
}
