//! The config topic (`KafkaConfigBackingStore`): every record folded into a
//! [`ClusterConfigState`], and the write sequences Kafka uses for each change.

use crate::config_state::ClusterConfigState;
use crate::kafka_log::KafkaBasedLog;
use crate::records::{ConfigRecord, TargetState};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tributary_api::ConfigMap;
use tributary_runtime::error::RuntimeError;
use tributary_runtime::worker_config::WorkerConfig;

/// How long a write sequence may take, as Kafka's 30 s timer.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

pub struct ConfigLog {
    log: KafkaBasedLog,
    state: Arc<RwLock<ClusterConfigState>>,
    /// Bumped (with the state's offset) after every record, so the herder wakes up on changes.
    changed: tokio::sync::watch::Receiver<i64>,
}

impl ConfigLog {
    pub async fn start(worker: &WorkerConfig, topic: &str, client_id: &str) -> Result<Self, RuntimeError> {
        let state = Arc::new(RwLock::new(ClusterConfigState::new()));
        let (tx, changed) = tokio::sync::watch::channel(-1i64);
        let fold = state.clone();
        let log = KafkaBasedLog::start(
            worker,
            topic,
            client_id,
            Box::new(move |m| {
                use rdkafka::Message;
                let offset = m.offset();
                let Some(key) = m.key().and_then(|k| std::str::from_utf8(k).ok()) else {
                    tracing::error!(offset, "config topic record without a UTF-8 key; skipped");
                    return;
                };
                match ConfigRecord::decode(key, m.payload()) {
                    Ok(record) => {
                        let mut s = fold.write().unwrap_or_else(|p| p.into_inner());
                        s.apply(offset, record);
                        tx.send_replace(s.offset);
                    }
                    // Logged and skipped, never fatal and never rewritten.
                    Err(e) => {
                        tracing::error!(key, offset, error = %e, "unreadable config topic record; skipped");
                        let mut s = fold.write().unwrap_or_else(|p| p.into_inner());
                        s.offset = offset + 1;
                        tx.send_replace(s.offset);
                    }
                }
            }),
        )
        .await?;
        crate::internal_topics::check_config_topic_partitions(topic, log.partition_count())?;
        Ok(Self { log, state, changed })
    }

    /// A copy of the current state.
    pub fn snapshot(&self) -> ClusterConfigState {
        self.state.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reads a value of the state without copying all of it.
    pub fn with<T>(&self, f: impl FnOnce(&ClusterConfigState) -> T) -> T {
        f(&self.state.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn offset(&self) -> i64 {
        self.with(|s| s.offset)
    }

    /// A receiver that sees every change of the state's offset.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<i64> {
        self.changed.clone()
    }

    pub async fn read_to_end(&self, timeout: Duration) -> Result<(), RuntimeError> {
        self.log.read_to_end(timeout).await
    }

    async fn write(&self, record: ConfigRecord) -> Result<(), RuntimeError> {
        let (key, value) = record.encode();
        tokio::time::timeout(WRITE_TIMEOUT, self.log.send(key.as_bytes(), value.as_deref()))
            .await
            .map_err(|_| {
                RuntimeError::Other("Failed to write to config topic; this may be due to a transient error and the request can be safely retried".into())
            })?
            .map(|_| ())
    }

    /// Creates or replaces a connector: `[target-state]`, `connector-<name>`, read to end.
    pub async fn put_connector_config(&self, name: &str, config: ConfigMap, initial: Option<TargetState>) -> Result<(), RuntimeError> {
        if let Some(state) = initial {
            self.write(ConfigRecord::TargetState { name: name.into(), state: Some(state) }).await?;
        }
        self.write(ConfigRecord::Connector { name: name.into(), config: Some(config) }).await?;
        self.read_to_end(WRITE_TIMEOUT).await
    }

    /// Deletes a connector: tombstones for its config and target state, read to end.
    pub async fn remove_connector(&self, name: &str) -> Result<(), RuntimeError> {
        self.write(ConfigRecord::Connector { name: name.into(), config: None }).await?;
        self.write(ConfigRecord::TargetState { name: name.into(), state: None }).await?;
        self.read_to_end(WRITE_TIMEOUT).await
    }

    pub async fn put_target_state(&self, name: &str, state: TargetState) -> Result<(), RuntimeError> {
        self.write(ConfigRecord::TargetState { name: name.into(), state: Some(state) }).await?;
        self.read_to_end(WRITE_TIMEOUT).await
    }

    /// `task-<name>-0..n` then `commit-<name>`, each step read back as Kafka does.
    pub async fn put_task_configs(&self, name: &str, tasks: Vec<ConfigMap>) -> Result<(), RuntimeError> {
        self.read_to_end(WRITE_TIMEOUT).await?;
        let count = tasks.len() as u32;
        for (task, config) in tasks.into_iter().enumerate() {
            self.write(ConfigRecord::Task { connector: name.into(), task: task as u32, config }).await?;
        }
        if count > 0 {
            self.read_to_end(WRITE_TIMEOUT).await?;
        }
        self.write(ConfigRecord::Commit { connector: name.into(), tasks: count }).await?;
        self.read_to_end(WRITE_TIMEOUT).await
    }

    pub async fn put_restart_request(&self, name: &str, include_tasks: bool, only_failed: bool) -> Result<(), RuntimeError> {
        self.write(ConfigRecord::Restart { connector: name.into(), include_tasks, only_failed }).await?;
        self.read_to_end(WRITE_TIMEOUT).await
    }

    pub async fn put_session_key(&self, key: &[u8], algorithm: &str, creation_timestamp: i64) -> Result<(), RuntimeError> {
        use base64::Engine;
        let key_base64 = base64::engine::general_purpose::STANDARD.encode(key);
        self.write(ConfigRecord::SessionKey { key_base64, algorithm: algorithm.into(), creation_timestamp }).await?;
        self.read_to_end(WRITE_TIMEOUT).await
    }

    pub fn stop(&self) {
        self.log.stop();
    }
}
