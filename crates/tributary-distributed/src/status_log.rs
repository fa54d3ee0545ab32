//! The status topic (`KafkaStatusBackingStore`): this worker's status changes are written to
//! it, everybody's are read from it into the worker's [`StatusStore`], so every worker answers
//! `/status` the same way.

use crate::kafka_log::KafkaBasedLog;
use crate::records::{StatusRecord, StatusValue};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tributary_runtime::error::RuntimeError;
use tributary_runtime::status::{State, Status, StatusPublisher, StatusStore};
use tributary_runtime::worker_config::WorkerConfig;

pub struct StatusLog {
    log: Arc<KafkaBasedLog>,
    generation: Arc<AtomicI32>,
}

fn parse_state(s: &str) -> Option<State> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

fn state_name(s: State) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

impl StatusLog {
    /// Reads the topic into `store` (to the end before returning) and makes `store` publish to it.
    pub async fn start(worker: &WorkerConfig, topic: &str, client_id: &str, store: Arc<StatusStore>, worker_id: String) -> Result<Self, RuntimeError> {
        let fold = store.clone();
        let log = KafkaBasedLog::start(
            worker,
            topic,
            client_id,
            Box::new(move |m| {
                use rdkafka::Message;
                let offset = m.offset();
                let Some(key) = m.key().and_then(|k| std::str::from_utf8(k).ok()) else {
                    tracing::warn!(offset, "status topic record without a UTF-8 key; skipped");
                    return;
                };
                let record = match StatusRecord::decode(key, m.payload()) {
                    Ok(Some(r)) => r,
                    Ok(None) => return,
                    Err(e) => {
                        tracing::warn!(key, offset, error = %e, "unreadable status record; skipped");
                        return;
                    }
                };
                let (connector, task, value) = match record {
                    StatusRecord::Connector { name, status } => (name, None, status),
                    StatusRecord::Task { connector, task, status } => (connector, Some(task), status),
                };
                let status = match value {
                    None => None,
                    Some(v) => match parse_state(&v.state) {
                        Some(state) => Some(Status { state, worker_id: v.worker_id, trace: v.trace }),
                        None => {
                            tracing::warn!(key, offset, state = %v.state, "status record with an unknown state; skipped");
                            return;
                        }
                    },
                };
                // This worker's own records come back too; what it recorded locally since is
                // newer (reading them back could only show an older state for a moment).
                if status.as_ref().is_some_and(|s| s.worker_id == worker_id) && fold.has(&connector, task) {
                    return;
                }
                fold.apply_remote(&connector, task, status);
            }),
        )
        .await?;
        log.read_to_end(Duration::from_secs(60)).await?;
        let log = Arc::new(log);
        let generation = Arc::new(AtomicI32::new(-1));
        store.set_publisher(Box::new(Publisher { log: log.clone(), generation: generation.clone() }));
        Ok(Self { log, generation })
    }

    /// The group generation written with every status from now on.
    pub fn set_generation(&self, generation: i32) {
        self.generation.store(generation, Ordering::Relaxed);
    }

    pub fn stop(&self) {
        self.log.stop();
    }
}

struct Publisher {
    log: Arc<KafkaBasedLog>,
    generation: Arc<AtomicI32>,
}

impl StatusPublisher for Publisher {
    fn publish(&self, connector: &str, task: Option<u32>, status: Option<&Status>) {
        let value = status.map(|s| StatusValue {
            state: state_name(s.state),
            trace: s.trace.clone(),
            worker_id: s.worker_id.clone(),
            generation: self.generation.load(Ordering::Relaxed),
        });
        let record = match task {
            None => StatusRecord::Connector { name: connector.to_owned(), status: value },
            Some(task) => StatusRecord::Task { connector: connector.to_owned(), task, status: value },
        };
        let (key, value) = record.encode();
        self.log.send_nowait(key.as_bytes(), value.as_deref());
    }
}
