//! The herder: the one interface the REST layer talks to (`Herder`). Standalone mode
//! implements it now; distributed mode implements the same trait later.

use crate::error::RuntimeError;
use crate::status::State;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tributary_api::ConfigMap;

/// `GET /`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServerInfo {
    pub version: String,
    pub commit: String,
    pub kafka_cluster_id: String,
}

impl ServerInfo {
    /// This build's version and commit, and the Kafka cluster's id.
    pub fn new(kafka_cluster_id: &str) -> Self {
        Self {
            version: crate::VERSION.into(),
            commit: option_env!("TRIBUTARY_COMMIT").unwrap_or("unknown").into(),
            kafka_cluster_id: kafka_cluster_id.to_owned(),
        }
    }
}

pub use crate::connector_config::ConnectorKind;

/// `{"connector": "...", "task": N}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConnectorTaskId {
    pub connector: String,
    pub task: u32,
}

/// `GET /connectors/{name}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConnectorInfo {
    pub name: String,
    pub config: ConfigMap,
    pub tasks: Vec<ConnectorTaskId>,
    #[serde(rename = "type")]
    pub kind: ConnectorKind,
}

/// A connector's or task's state in a status response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConnectorState {
    pub state: State,
    pub worker_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// One task in a status response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskState {
    pub id: u32,
    pub state: State,
    pub worker_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// `GET /connectors/{name}/status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConnectorStateInfo {
    pub name: String,
    pub connector: ConnectorState,
    pub tasks: Vec<TaskState>,
    #[serde(rename = "type")]
    pub kind: ConnectorKind,
}

/// One entry of `GET /connectors/{name}/tasks`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskInfo {
    pub id: ConnectorTaskId,
    pub config: ConfigMap,
}

/// Target state requested at creation (`initial_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum TargetState {
    Started,
    Paused,
    Stopped,
}

/// Whether a config write created the connector or replaced its config.
#[derive(Debug, Clone, PartialEq)]
pub struct Created<T> {
    pub created: bool,
    pub result: T,
}

/// What the REST layer can ask of a worker (or, later, of a cluster).
#[async_trait]
pub trait Herder: Send + Sync {
    async fn server_info(&self) -> ServerInfo;
    /// The plugins this worker can run.
    fn plugins(&self) -> &crate::plugins::Plugins;
    /// `PUT /connector-plugins/{plugin}/config/validate`: validates with config providers
    /// applied, reporting values as written.
    fn validate_connector_config(&self, config: &ConfigMap) -> Result<crate::config_infos::ConfigInfos, RuntimeError> {
        crate::config_infos::validate_configs(self.plugins(), config)
    }
    /// Names of all connectors, sorted.
    async fn connectors(&self) -> Vec<String>;
    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, RuntimeError>;
    async fn connector_config(&self, name: &str) -> Result<ConfigMap, RuntimeError>;
    async fn connector_status(&self, name: &str) -> Result<ConnectorStateInfo, RuntimeError>;
    async fn task_configs(&self, name: &str) -> Result<Vec<TaskInfo>, RuntimeError>;
    /// Creates a connector, or replaces its config when `allow_replace` is set.
    async fn put_connector_config(
        &self,
        name: &str,
        config: ConfigMap,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> Result<Created<ConnectorInfo>, RuntimeError>;
    async fn delete_connector(&self, name: &str) -> Result<(), RuntimeError>;
    /// Merges `patch` into the config (a `None` value removes the key) and applies it.
    async fn patch_connector_config(&self, name: &str, patch: std::collections::BTreeMap<String, Option<String>>) -> Result<ConnectorInfo, RuntimeError>;
    async fn task_status(&self, name: &str, task: u32) -> Result<TaskState, RuntimeError>;
    /// Target state PAUSED: tasks stay assigned but do no work.
    async fn pause_connector(&self, name: &str) -> Result<(), RuntimeError>;
    /// Target state STARTED.
    async fn resume_connector(&self, name: &str) -> Result<(), RuntimeError>;
    /// Target state STOPPED: connector and tasks shut down, task configs emptied.
    async fn stop_connector(&self, name: &str) -> Result<(), RuntimeError>;
    /// Restarts the connector and, with `include_tasks`, its tasks; `only_failed` limits both to
    /// FAILED instances. Returns the resulting status unless neither option was set.
    async fn restart_connector(&self, name: &str, include_tasks: bool, only_failed: bool) -> Result<Option<ConnectorStateInfo>, RuntimeError>;
    async fn restart_task(&self, name: &str, task: u32) -> Result<(), RuntimeError>;
    /// `GET /connectors/{name}/topics`: the topics the connector used (KIP-558).
    async fn connector_active_topics(&self, name: &str) -> Result<Vec<String>, RuntimeError>;
    /// `PUT /connectors/{name}/topics/reset`.
    async fn reset_connector_active_topics(&self, name: &str) -> Result<(), RuntimeError>;
    /// `GET /connectors/{name}/offsets`.
    async fn connector_offsets(&self, name: &str) -> Result<crate::offsets_api::ConnectorOffsets, RuntimeError>;
    /// `PATCH /connectors/{name}/offsets`: only while the connector is STOPPED.
    async fn alter_connector_offsets(&self, name: &str, offsets: crate::offsets_api::ConnectorOffsets) -> Result<crate::offsets_api::Message, RuntimeError>;
    /// `DELETE /connectors/{name}/offsets`: only while the connector is STOPPED.
    async fn reset_connector_offsets(&self, name: &str) -> Result<crate::offsets_api::Message, RuntimeError>;
    /// `POST /connectors/{name}/tasks` (worker-to-worker): task configs that a connector
    /// generated on a follower, written to the config topic by the leader. `body` is the raw
    /// request body, which `signature` (algorithm, base64 HMAC) covers.
    async fn put_task_configs(&self, name: &str, body: &[u8], signature: Option<(String, String)>) -> Result<(), RuntimeError> {
        let _ = (name, body, signature);
        // Kafka answers 500 (UnsupportedOperationException); it is the caller's mistake, and no
        // request should get a 5xx from this worker for what it sent, so 400.
        Err(RuntimeError::BadRequest("Internal request for task configurations is not supported in standalone mode".into()))
    }
    /// True once start-up (including the connectors given on the command line) is complete.
    fn is_ready(&self) -> bool;
    /// Run-time log level control, when the process installed one.
    fn logger_control(&self) -> Option<std::sync::Arc<dyn crate::loggers::LoggerControl>> {
        None
    }
}
