//! Standalone mode (`StandaloneHerder`): one process, connector configs and statuses in memory,
//! source offsets in a local file.

use crate::connector_config::{self, NAME, TASKS_MAX, TOPICS, TOPICS_REGEX};
use crate::error::RuntimeError;
use crate::herder::{
    ConnectorInfo, ConnectorKind, ConnectorState, ConnectorStateInfo, ConnectorTaskId, Created, Herder, ServerInfo, TargetState, TaskInfo, TaskState,
};
use crate::status::State;
use crate::worker::{TaskHandle, Worker};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tributary_api::{ConfigMap, ConnectorType, PluginType};

/// How long a connector's `start`, `task_configs` or `stop` may take before the runtime gives up
/// on it and marks it FAILED.
const CONNECTOR_CALL_TIMEOUT: Duration = Duration::from_secs(30);

struct ConnectorEntry {
    config: ConfigMap,
    kind: ConnectorKind,
    task_configs: Vec<ConfigMap>,
    instance: Option<ConnectorType>,
    tasks: Vec<TaskHandle>,
}

/// The herder of a standalone worker.
pub struct StandaloneHerder {
    worker: Arc<Worker>,
    cluster_id: String,
    connectors: tokio::sync::Mutex<BTreeMap<String, ConnectorEntry>>,
}

impl StandaloneHerder {
    pub fn new(worker: Arc<Worker>, cluster_id: String) -> Self {
        Self { worker, cluster_id, connectors: tokio::sync::Mutex::new(BTreeMap::new()) }
    }

    /// Stops every connector and task, flushing their offsets. Called on SIGINT/SIGTERM.
    pub async fn stop(&self) {
        let mut connectors = self.connectors.lock().await;
        for (name, mut entry) in std::mem::take(&mut *connectors) {
            self.stop_connector(&name, &mut entry).await;
        }
    }

    async fn stop_connector(&self, name: &str, entry: &mut ConnectorEntry) {
        self.worker.stop_tasks(name, std::mem::take(&mut entry.tasks)).await;
        if let Some(mut instance) = entry.instance.take() {
            let stopped = match &mut instance {
                ConnectorType::Source(c) => tokio::time::timeout(CONNECTOR_CALL_TIMEOUT, c.stop()).await,
                ConnectorType::Sink(c) => tokio::time::timeout(CONNECTOR_CALL_TIMEOUT, c.stop()).await,
            };
            match stopped {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(connector = name, error = %e, "error stopping connector")
                }
                Err(_) => tracing::error!(connector = name, "connector did not stop in time; abandoning it"),
            }
        }
        self.worker.connector_status(name, State::Unassigned, None);
    }

    /// Starts a connector and its tasks. Failures are recorded in its status, as Kafka does:
    /// the connector stays defined, FAILED.
    async fn start_connector(&self, name: &str, entry: &mut ConnectorEntry) {
        if let Err(e) = self.try_start_connector(name, entry).await {
            self.worker.connector_status(name, State::Failed, Some(e.to_string()));
        }
    }

    async fn try_start_connector(&self, name: &str, entry: &mut ConnectorEntry) -> Result<(), RuntimeError> {
        let class = entry.config.get(connector_config::CONNECTOR_CLASS).cloned().unwrap_or_default();
        let mut instance = self.worker.plugins.new_connector(&class)?;
        let max_tasks: usize = entry.config.get(TASKS_MAX).and_then(|t| t.trim().parse().ok()).unwrap_or(1);
        let timed = |what: &str| RuntimeError::Other(format!("connector {name} did not finish {what} within {CONNECTOR_CALL_TIMEOUT:?}"));
        let (configs, task_class) = match &mut instance {
            ConnectorType::Source(c) => {
                tokio::time::timeout(CONNECTOR_CALL_TIMEOUT, c.start(entry.config.clone())).await.map_err(|_| timed("start"))??;
                (tokio::time::timeout(CONNECTOR_CALL_TIMEOUT, c.task_configs(max_tasks)).await.map_err(|_| timed("task_configs"))??, c.task_class())
            }
            ConnectorType::Sink(c) => {
                tokio::time::timeout(CONNECTOR_CALL_TIMEOUT, c.start(entry.config.clone())).await.map_err(|_| timed("start"))??;
                (tokio::time::timeout(CONNECTOR_CALL_TIMEOUT, c.task_configs(max_tasks)).await.map_err(|_| timed("task_configs"))??, c.task_class())
            }
        };
        if configs.len() > max_tasks {
            return Err(RuntimeError::Other(format!(
                "The connector {name} has generated {} tasks, which is greater than {max_tasks}, the maximum number of tasks it is configured to create.",
                configs.len()
            )));
        }
        self.worker.connector_status(name, State::Running, None);
        // The framework's additions to every task config, as Kafka's Worker makes them.
        entry.task_configs = configs
            .into_iter()
            .map(|mut tc| {
                tc.insert("task.class".into(), task_class.into());
                for key in [TOPICS, TOPICS_REGEX] {
                    if let Some(v) = entry.config.get(key) {
                        tc.insert(key.into(), v.clone());
                    }
                }
                tc
            })
            .collect();
        for (id, tc) in entry.task_configs.iter().enumerate() {
            let id = id as u32;
            let started = match &instance {
                ConnectorType::Source(c) => self.worker.start_source_task(name, id, c.create_task(), tc.clone(), &entry.config),
                ConnectorType::Sink(c) => self.worker.start_sink_task(name, id, c.create_task(), tc.clone(), &entry.config),
            };
            match started {
                Ok(handle) => entry.tasks.push(handle),
                Err(e) => self.worker.status.put_task(
                    name,
                    id,
                    crate::status::Status { state: State::Failed, worker_id: self.worker.worker_id.clone(), trace: Some(e.to_string()) },
                ),
            }
        }
        entry.instance = Some(instance);
        Ok(())
    }

    fn info(name: &str, entry: &ConnectorEntry) -> ConnectorInfo {
        ConnectorInfo {
            name: name.to_owned(),
            config: entry.config.clone(),
            tasks: (0..entry.task_configs.len() as u32).map(|task| ConnectorTaskId { connector: name.to_owned(), task }).collect(),
            kind: entry.kind,
        }
    }
}

#[async_trait]
impl Herder for StandaloneHerder {
    async fn server_info(&self) -> ServerInfo {
        ServerInfo {
            version: crate::VERSION.into(),
            commit: option_env!("TRIBUTARY_COMMIT").unwrap_or("unknown").into(),
            kafka_cluster_id: self.cluster_id.clone(),
        }
    }

    fn plugins(&self) -> &crate::plugins::Plugins {
        &self.worker.plugins
    }

    async fn connectors(&self) -> Vec<String> {
        self.connectors.lock().await.keys().cloned().collect()
    }

    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, RuntimeError> {
        let connectors = self.connectors.lock().await;
        connectors.get(name).map(|e| Self::info(name, e)).ok_or_else(|| RuntimeError::ConnectorNotFound(name.into()))
    }

    async fn connector_config(&self, name: &str) -> Result<ConfigMap, RuntimeError> {
        Ok(self.connector_info(name).await?.config)
    }

    async fn connector_status(&self, name: &str) -> Result<ConnectorStateInfo, RuntimeError> {
        let kind = {
            let connectors = self.connectors.lock().await;
            connectors.get(name).map(|e| e.kind)
        };
        let (Some(kind), Some(status)) = (kind, self.worker.status.connector(name)) else {
            return Err(RuntimeError::ConnectorNotFound(name.into()));
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

    async fn task_configs(&self, name: &str) -> Result<Vec<TaskInfo>, RuntimeError> {
        let connectors = self.connectors.lock().await;
        let entry = connectors.get(name).ok_or_else(|| RuntimeError::ConnectorNotFound(name.into()))?;
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
        mut config: ConfigMap,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> Result<Created<ConnectorInfo>, RuntimeError> {
        match config.get(NAME) {
            Some(n) if n != name => {
                return Err(RuntimeError::BadRequest(format!("Connector name configuration ({n}) doesn't match connector name in the URL ({name})")));
            }
            Some(_) => {}
            None => {
                config.insert(NAME.into(), name.into());
            }
        }
        if initial_state == Some(TargetState::Paused) {
            return Err(RuntimeError::BadRequest("initial_state PAUSED is not supported by this version of Tributary yet".into()));
        }
        let validated = connector_config::validate(&self.worker.plugins, &config)?;
        let kind = match validated.plugin_type {
            PluginType::Source => ConnectorKind::Source,
            PluginType::Sink => ConnectorKind::Sink,
            _ => ConnectorKind::Unknown,
        };
        let mut connectors = self.connectors.lock().await;
        let created = match connectors.get_mut(name) {
            Some(_) if !allow_replace => return Err(RuntimeError::ConnectorExists(name.into())),
            Some(existing) => {
                self.stop_connector(name, existing).await;
                self.worker.status.remove_tasks(name);
                false
            }
            None => true,
        };
        let mut entry = ConnectorEntry { config, kind, task_configs: Vec::new(), instance: None, tasks: Vec::new() };
        if initial_state == Some(TargetState::Stopped) {
            self.worker.connector_status(name, State::Stopped, None);
        } else {
            self.start_connector(name, &mut entry).await;
        }
        let info = Self::info(name, &entry);
        connectors.insert(name.to_owned(), entry);
        Ok(Created { created, result: info })
    }

    async fn delete_connector(&self, name: &str) -> Result<(), RuntimeError> {
        let mut connectors = self.connectors.lock().await;
        let mut entry = connectors.remove(name).ok_or_else(|| RuntimeError::ConnectorNotFound(name.into()))?;
        self.stop_connector(name, &mut entry).await;
        self.worker.status.remove(name);
        Ok(())
    }
}
