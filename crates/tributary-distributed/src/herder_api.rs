//! What the REST API asks of a distributed worker (`impl Herder for DistributedHerder`).
//! Reads come from this worker's view of the config and status topics. Writes that only the
//! leader may make answer `RequestTarget` on a follower, and the REST layer forwards them.

use crate::assignor::Work;
use crate::connect_protocol::Protocol;
use crate::herder::DistributedHerder;
use crate::records::TargetState as StoredTarget;
use crate::rest_client;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tributary_api::{ConfigMap, PluginType};
use tributary_runtime::connector_config;
use tributary_runtime::error::RuntimeError;
use tributary_runtime::herder::{
    ConnectorInfo, ConnectorKind, ConnectorState, ConnectorStateInfo, ConnectorTaskId, Created, Herder, ServerInfo, TargetState, TaskInfo, TaskState,
};
use tributary_runtime::offsets_api;
use tributary_runtime::restart_request::RestartRequest;

/// Percent-encodes a connector name for a URL path segment.
pub fn encode_path(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn stored(t: TargetState) -> StoredTarget {
    match t {
        TargetState::Started => StoredTarget::Started,
        TargetState::Paused => StoredTarget::Paused,
        TargetState::Stopped => StoredTarget::Stopped,
    }
}

impl DistributedHerder {
    /// Fails with the leader's URL unless this worker is the leader.
    fn require_leader(&self) -> Result<(), RuntimeError> {
        let view = self.view();
        if view.is_leader() {
            return Ok(());
        }
        match view.leader_url.filter(|u| !u.is_empty()) {
            Some(url) => Err(RuntimeError::RequestTarget {
                url: Some(url),
                message: "Cannot complete request because of a conflicting operation (e.g. worker rebalance)".into(),
            }),
            _ => Err(RuntimeError::RequestTarget {
                url: None,
                message: "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway.".into(),
            }),
        }
    }

    fn kind_of(&self, config: &ConfigMap) -> ConnectorKind {
        let class = config.get(connector_config::CONNECTOR_CLASS).map(String::as_str).unwrap_or_default();
        match self.worker.plugins.connector(class).map(|p| p.plugin_type) {
            Ok(PluginType::Source) => ConnectorKind::Source,
            Ok(PluginType::Sink) => ConnectorKind::Sink,
            _ => ConnectorKind::Unknown,
        }
    }

    fn connector_state(&self, name: &str) -> Result<crate::config_state::ConnectorConfigState, RuntimeError> {
        self.config_log.with(|s| s.connectors.get(name).cloned()).ok_or_else(|| RuntimeError::ConnectorNotFound(name.to_owned()))
    }

    fn info(&self, name: &str, c: &crate::config_state::ConnectorConfigState) -> ConnectorInfo {
        ConnectorInfo {
            name: name.to_owned(),
            config: c.config.clone(),
            tasks: (0..c.tasks.len() as u32).map(|task| ConnectorTaskId { connector: name.to_owned(), task }).collect(),
            kind: self.kind_of(&c.config),
        }
    }

    /// The connector's config if it is STOPPED, as offset changes require.
    fn stopped_connector(&self, name: &str) -> Result<ConfigMap, RuntimeError> {
        let c = self.connector_state(name)?;
        if c.target != StoredTarget::Stopped {
            return Err(offsets_api::not_stopped(name));
        }
        Ok(c.config)
    }

    fn offsets_ops<'a>(&'a self, name: &'a str, config: &'a ConfigMap) -> offsets_api::ConnectorOffsetsOps<'a> {
        offsets_api::ConnectorOffsetsOps { worker: &self.worker, store: self.offsets.as_ref(), name, config, kind: self.kind_of(config) }
    }
}

#[async_trait]
impl Herder for DistributedHerder {
    async fn server_info(&self) -> ServerInfo {
        ServerInfo::new(&self.cluster_id)
    }

    fn plugins(&self) -> &tributary_runtime::plugins::Plugins {
        &self.worker.plugins
    }

    fn validate_connector_config(&self, config: &ConfigMap) -> Result<tributary_runtime::config_infos::ConfigInfos, RuntimeError> {
        tributary_runtime::config_infos::validate_with_providers(&self.worker.plugins, &self.worker.providers, config)
    }

    async fn connectors(&self) -> Vec<String> {
        self.config_log.with(|s| s.connectors.keys().cloned().collect())
    }

    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, RuntimeError> {
        let c = self.connector_state(name)?;
        Ok(self.info(name, &c))
    }

    async fn connector_config(&self, name: &str) -> Result<ConfigMap, RuntimeError> {
        Ok(self.connector_state(name)?.config)
    }

    async fn connector_status(&self, name: &str) -> Result<ConnectorStateInfo, RuntimeError> {
        let c = self.connector_state(name).ok();
        let (Some(c), Some(status)) = (c, self.worker.status.connector(name)) else {
            return Err(RuntimeError::NotFound(format!("No status found for connector {name}")));
        };
        let count = c.tasks.len() as u32;
        let tasks = self
            .worker
            .status
            .tasks(name)
            .into_iter()
            .filter(|(id, _)| *id < count)
            .map(|(id, s)| TaskState { id, state: s.state, worker_id: s.worker_id, trace: s.trace })
            .collect();
        Ok(ConnectorStateInfo {
            name: name.to_owned(),
            connector: ConnectorState { state: status.state, worker_id: status.worker_id, trace: status.trace },
            tasks,
            kind: self.kind_of(&c.config),
        })
    }

    async fn task_configs(&self, name: &str) -> Result<Vec<TaskInfo>, RuntimeError> {
        let c = self.connector_state(name)?;
        Ok(c.tasks
            .iter()
            .enumerate()
            .map(|(i, config)| TaskInfo { id: ConnectorTaskId { connector: name.to_owned(), task: i as u32 }, config: config.clone() })
            .collect())
    }

    async fn put_connector_config(
        &self,
        name: &str,
        config: ConfigMap,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> Result<Created<ConnectorInfo>, RuntimeError> {
        self.require_leader()?;
        let (config, _) = tributary_runtime::connector_calls::named_and_validated(&self.worker, name, config).await?;
        let _guard = self.leader_writes.lock().await;
        let exists = self.config_log.with(|s| s.connectors.contains_key(name));
        if exists && !allow_replace {
            return Err(RuntimeError::ConnectorExists(name.to_owned()));
        }
        // An initial state only applies to a new connector.
        let initial = if exists { None } else { initial_state.map(stored) };
        self.config_log.put_connector_config(name, config, initial).await?;
        let c = self.connector_state(name)?;
        Ok(Created { created: !exists, result: self.info(name, &c) })
    }

    async fn delete_connector(&self, name: &str) -> Result<(), RuntimeError> {
        self.require_leader()?;
        let _guard = self.leader_writes.lock().await;
        self.connector_state(name)?;
        self.config_log.remove_connector(name).await
    }

    async fn patch_connector_config(&self, name: &str, patch: BTreeMap<String, Option<String>>) -> Result<ConnectorInfo, RuntimeError> {
        self.require_leader()?;
        let mut config = self.connector_state(name)?.config;
        for (k, v) in patch {
            match v {
                Some(v) => config.insert(k, v),
                None => config.remove(&k),
            };
        }
        Ok(self.put_connector_config(name, config, true, None).await?.result)
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

    async fn pause_connector(&self, name: &str) -> Result<(), RuntimeError> {
        // Any worker may write a pause or resume, as in Kafka.
        self.connector_state(name)?;
        self.config_log.put_target_state(name, StoredTarget::Paused).await
    }

    async fn resume_connector(&self, name: &str) -> Result<(), RuntimeError> {
        self.connector_state(name)?;
        self.config_log.put_target_state(name, StoredTarget::Started).await
    }

    async fn stop_connector(&self, name: &str) -> Result<(), RuntimeError> {
        self.require_leader()?;
        self.connector_state(name)?;
        // No tasks first, then the target state, as Kafka writes them.
        self.write_task_configs(name, Vec::new()).await?;
        let _guard = self.leader_writes.lock().await;
        self.config_log.put_target_state(name, StoredTarget::Stopped).await
    }

    async fn restart_connector(&self, name: &str, include_tasks: bool, only_failed: bool) -> Result<Option<ConnectorStateInfo>, RuntimeError> {
        self.require_leader()?;
        let c = self.connector_state(name)?;
        let request = RestartRequest::new(include_tasks, only_failed);
        let mut status = self.connector_status(name).await.ok();
        if let Some(s) = status.as_mut().filter(|_| c.target != StoredTarget::Stopped) {
            request.plan(s);
        }
        {
            let _guard = self.leader_writes.lock().await;
            self.config_log.put_restart_request(name, include_tasks, only_failed).await?;
        }
        if !request.answers_with_status() {
            return Ok(None);
        }
        status.map(Some).ok_or_else(|| RuntimeError::NotFound(format!("No status found for connector {name}")))
    }

    async fn restart_task(&self, name: &str, task: u32) -> Result<(), RuntimeError> {
        let c = self.connector_state(name)?;
        if task as usize >= c.tasks.len() {
            return Err(RuntimeError::NotFound(format!("Task {name}-{task} not found")));
        }
        let item = Work::Task(name.to_owned(), task);
        let view = self.view();
        if view.owned.contains(&item) {
            self.restart_task_here(name, task).await;
            return Ok(());
        }
        if view.is_leader() {
            let owner = self.owners.lock().unwrap_or_else(|p| p.into_inner()).get(&item).cloned();
            return Err(RuntimeError::RequestTarget {
                url: owner,
                message: format!("Task {name}-{task} is not owned by this worker; a rebalance may be under way"),
            });
        }
        self.require_leader()
    }

    async fn connector_active_topics(&self, name: &str) -> Result<Vec<String>, RuntimeError> {
        self.worker.check_topic_tracking(false)?;
        self.connector_state(name)?;
        Ok(self.worker.status.topics(name))
    }

    async fn reset_connector_active_topics(&self, name: &str) -> Result<(), RuntimeError> {
        self.worker.check_topic_tracking(true)?;
        self.connector_state(name)?;
        self.worker.status.reset_topics(name);
        Ok(())
    }

    async fn connector_offsets(&self, name: &str) -> Result<offsets_api::ConnectorOffsets, RuntimeError> {
        let c = self.connector_state(name)?;
        self.offsets_ops(name, &c.config).read().await
    }

    async fn alter_connector_offsets(&self, name: &str, offsets: offsets_api::ConnectorOffsets) -> Result<offsets_api::Message, RuntimeError> {
        self.require_leader()?;
        let config = self.stopped_connector(name)?;
        self.offsets_ops(name, &config).alter(offsets).await
    }

    async fn reset_connector_offsets(&self, name: &str) -> Result<offsets_api::Message, RuntimeError> {
        self.require_leader()?;
        let config = self.stopped_connector(name)?;
        self.offsets_ops(name, &config).reset().await
    }

    async fn put_task_configs(&self, name: &str, body: &[u8], signature: Option<(String, String)>) -> Result<(), RuntimeError> {
        if self.view().protocol == Some(Protocol::Sessioned) {
            let key = self.config_log.with(|s| s.session_key.as_ref().map(|k| k.key.clone()));
            let (algorithm, sig) = signature.map(|(a, s)| (Some(a), Some(s))).unwrap_or((None, None));
            if let Err(refused) = rest_client::verify(key.as_deref(), algorithm.as_deref(), sig.as_deref(), body) {
                return Err(match refused.status {
                    403 => RuntimeError::Forbidden(refused.message),
                    503 => RuntimeError::Unavailable(refused.message),
                    _ => RuntimeError::BadRequest(refused.message),
                });
            }
        }
        let configs: Vec<ConfigMap> =
            serde_json::from_slice(body).map_err(|e| RuntimeError::BadRequest(format!("Task configurations must be a JSON array of string maps: {e}")))?;
        self.require_leader()?;
        self.write_task_configs(name, configs).await
    }

    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    fn logger_control(&self) -> Option<Arc<dyn tributary_runtime::loggers::LoggerControl>> {
        self.loggers.clone()
    }
}
