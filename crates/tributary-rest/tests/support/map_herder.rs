//! The in-memory herder shared by the REST tests.

use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;
use tributary_api::ConfigMap;
use tributary_runtime::herder::*;
use tributary_runtime::status::State;
use tributary_runtime::RuntimeError;

/// A herder holding configs in a map: enough to check the HTTP contract.
pub struct MapHerder {
    configs: Mutex<BTreeMap<String, ConfigMap>>,
    plugins: tributary_runtime::plugins::Plugins,
    /// Makes `validate` block this long, like a connector whose validate calls a slow system.
    pub validate_delay: Option<std::time::Duration>,
}

impl Default for MapHerder {
    fn default() -> Self {
        Self { configs: Mutex::default(), plugins: tributary_runtime::plugins::Plugins::new(tributary_plugins::builtin()), validate_delay: None }
    }
}

#[async_trait]
impl Herder for MapHerder {
    async fn server_info(&self) -> ServerInfo {
        ServerInfo { version: "1.0".into(), commit: "abc".into(), kafka_cluster_id: "cid".into() }
    }
    fn plugins(&self) -> &tributary_runtime::plugins::Plugins {
        &self.plugins
    }
    fn validate_connector_config(&self, config: &ConfigMap) -> Result<tributary_runtime::config_infos::ConfigInfos, RuntimeError> {
        if let Some(d) = self.validate_delay {
            std::thread::sleep(d);
        }
        tributary_runtime::config_infos::validate_configs(&self.plugins, config)
    }
    async fn connectors(&self) -> Vec<String> {
        self.configs.lock().unwrap().keys().cloned().collect()
    }
    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, RuntimeError> {
        let config = self.connector_config(name).await?;
        Ok(ConnectorInfo { name: name.into(), config, tasks: vec![ConnectorTaskId { connector: name.into(), task: 0 }], kind: ConnectorKind::Sink })
    }
    async fn connector_config(&self, name: &str) -> Result<ConfigMap, RuntimeError> {
        self.configs.lock().unwrap().get(name).cloned().ok_or_else(|| RuntimeError::ConnectorNotFound(name.into()))
    }
    async fn connector_status(&self, name: &str) -> Result<ConnectorStateInfo, RuntimeError> {
        self.connector_config(name).await.map_err(|_| RuntimeError::NotFound(format!("No status found for connector {name}")))?;
        Ok(ConnectorStateInfo {
            name: name.into(),
            connector: ConnectorState { state: State::Running, worker_id: "w:8083".into(), trace: None },
            tasks: vec![TaskState { id: 0, state: State::Failed, worker_id: "w:8083".into(), trace: Some("boom".into()) }],
            kind: ConnectorKind::Sink,
        })
    }
    async fn task_configs(&self, name: &str) -> Result<Vec<TaskInfo>, RuntimeError> {
        let config = self.connector_config(name).await?;
        Ok(vec![TaskInfo { id: ConnectorTaskId { connector: name.into(), task: 0 }, config }])
    }
    async fn put_connector_config(
        &self,
        name: &str,
        mut config: ConfigMap,
        allow_replace: bool,
        _s: Option<TargetState>,
    ) -> Result<Created<ConnectorInfo>, RuntimeError> {
        if !config.contains_key("connector.class") {
            return Err(RuntimeError::BadRequest(format!("Connector config {config:?} contains no connector type")));
        }
        config.entry("name".into()).or_insert_with(|| name.into());
        let created = {
            let mut c = self.configs.lock().unwrap();
            if c.contains_key(name) && !allow_replace {
                return Err(RuntimeError::ConnectorExists(name.into()));
            }
            c.insert(name.into(), config).is_none()
        };
        Ok(Created { created, result: self.connector_info(name).await? })
    }
    async fn delete_connector(&self, name: &str) -> Result<(), RuntimeError> {
        self.configs.lock().unwrap().remove(name).map(|_| ()).ok_or_else(|| RuntimeError::ConnectorNotFound(name.into()))
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
    async fn task_status(&self, name: &str, task: u32) -> Result<TaskState, RuntimeError> {
        let status = self.connector_status(name).await?;
        status.tasks.into_iter().find(|t| t.id == task).ok_or_else(|| RuntimeError::NotFound(format!("No status found for task {name}-{task}")))
    }
    async fn pause_connector(&self, name: &str) -> Result<(), RuntimeError> {
        self.connector_config(name).await.map(|_| ())
    }
    async fn resume_connector(&self, name: &str) -> Result<(), RuntimeError> {
        self.connector_config(name).await.map(|_| ())
    }
    async fn stop_connector(&self, name: &str) -> Result<(), RuntimeError> {
        self.connector_config(name).await.map(|_| ())
    }
    async fn restart_connector(&self, name: &str, include_tasks: bool, only_failed: bool) -> Result<Option<ConnectorStateInfo>, RuntimeError> {
        let status = self.connector_status(name).await?;
        Ok((include_tasks || only_failed).then_some(status))
    }
    async fn restart_task(&self, name: &str, task: u32) -> Result<(), RuntimeError> {
        self.task_status(name, task).await.map(|_| ())
    }
    fn is_ready(&self) -> bool {
        true
    }
    async fn connector_active_topics(&self, name: &str) -> Result<Vec<String>, RuntimeError> {
        self.connector_config(name).await.map(|_| vec!["t".to_owned()])
    }
    async fn reset_connector_active_topics(&self, name: &str) -> Result<(), RuntimeError> {
        self.connector_config(name).await.map(|_| ())
    }
    async fn connector_offsets(&self, name: &str) -> Result<tributary_runtime::offsets_api::ConnectorOffsets, RuntimeError> {
        self.connector_config(name).await.map(|_| Default::default())
    }
    async fn alter_connector_offsets(
        &self,
        name: &str,
        _o: tributary_runtime::offsets_api::ConnectorOffsets,
    ) -> Result<tributary_runtime::offsets_api::Message, RuntimeError> {
        self.connector_config(name).await.map(|_| tributary_runtime::offsets_api::Message { message: "ok".into() })
    }
    async fn reset_connector_offsets(&self, name: &str) -> Result<tributary_runtime::offsets_api::Message, RuntimeError> {
        self.connector_config(name).await.map(|_| tributary_runtime::offsets_api::Message { message: "ok".into() })
    }
}
