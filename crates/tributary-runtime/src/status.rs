//! Runtime states of connectors and tasks, as `/status` shows them (`AbstractStatus.State`).

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A connector's or task's runtime state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    Unassigned,
    Running,
    Paused,
    Stopped,
    Failed,
    Restarting,
}

/// The status of a connector or one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub state: State,
    pub worker_id: String,
    /// The error of a FAILED instance.
    pub trace: Option<String>,
}

/// Where a distributed worker sends its status changes (the status topic); standalone has none.
pub trait StatusPublisher: Send + Sync {
    /// A connector's (`task` None) or task's new status; `None` deletes it.
    fn publish(&self, connector: &str, task: Option<u32>, status: Option<&Status>);
}

/// Statuses of every connector and task: this worker's own, and in distributed mode the
/// other workers' as read from the status topic.
#[derive(Default)]
pub struct StatusStore {
    publisher: std::sync::OnceLock<Box<dyn StatusPublisher>>,
    connectors: Mutex<BTreeMap<String, Status>>,
    tasks: Mutex<BTreeMap<(String, u32), Status>>,
    /// Active topics (KIP-558): every topic a connector produced to or consumed from.
    topics: Mutex<BTreeMap<String, std::collections::BTreeSet<String>>>,
}

impl std::fmt::Debug for StatusStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusStore").field("connectors", &self.connectors).field("tasks", &self.tasks).finish_non_exhaustive()
    }
}

impl StatusStore {
    /// From now on every status this worker records is also published (set once).
    pub fn set_publisher(&self, publisher: Box<dyn StatusPublisher>) {
        if self.publisher.set(publisher).is_err() {
            tracing::warn!("status publisher already set");
        }
    }

    pub fn put_connector(&self, name: &str, status: Status) {
        if status.state == State::Failed {
            tracing::error!(connector = %name, trace = status.trace.as_deref().unwrap_or(""), "connector failed");
        }
        if let Some(p) = self.publisher.get() {
            p.publish(name, None, Some(&status));
        }
        self.connectors.lock().unwrap_or_else(|p| p.into_inner()).insert(name.to_owned(), status);
    }
    pub fn put_task(&self, connector: &str, task: u32, status: Status) {
        if status.state == State::Failed {
            tracing::error!(connector = %connector, task, trace = status.trace.as_deref().unwrap_or(""), "task failed");
        }
        if let Some(p) = self.publisher.get() {
            p.publish(connector, Some(task), Some(&status));
        }
        self.tasks.lock().unwrap_or_else(|p| p.into_inner()).insert((connector.to_owned(), task), status);
    }
    /// A status read from the status topic (another worker's, or this one's from before a
    /// restart); not published again.
    pub fn apply_remote(&self, connector: &str, task: Option<u32>, status: Option<Status>) {
        match (task, status) {
            (None, Some(s)) => {
                self.connectors.lock().unwrap_or_else(|p| p.into_inner()).insert(connector.to_owned(), s);
            }
            (None, None) => {
                self.connectors.lock().unwrap_or_else(|p| p.into_inner()).remove(connector);
            }
            (Some(t), Some(s)) => {
                self.tasks.lock().unwrap_or_else(|p| p.into_inner()).insert((connector.to_owned(), t), s);
            }
            (Some(t), None) => {
                self.tasks.lock().unwrap_or_else(|p| p.into_inner()).remove(&(connector.to_owned(), t));
            }
        }
    }
    /// Deletes a status everywhere (distributed: a tombstone in the status topic).
    pub fn delete(&self, connector: &str, task: Option<u32>) {
        if let Some(p) = self.publisher.get() {
            p.publish(connector, task, None);
        }
        self.apply_remote(connector, task, None);
    }
    /// Whether a status is recorded for the connector (`task` None) or task.
    pub fn has(&self, connector: &str, task: Option<u32>) -> bool {
        match task {
            None => self.connectors.lock().unwrap_or_else(|p| p.into_inner()).contains_key(connector),
            Some(t) => self.tasks.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&(connector.to_owned(), t)),
        }
    }
    /// The connectors that have a status.
    pub fn connector_names(&self) -> Vec<String> {
        self.connectors.lock().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect()
    }
    pub fn connector(&self, name: &str) -> Option<Status> {
        self.connectors.lock().unwrap_or_else(|p| p.into_inner()).get(name).cloned()
    }
    /// The statuses of a connector's tasks, by task id.
    pub fn tasks(&self, connector: &str) -> Vec<(u32, Status)> {
        let tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.iter().filter(|((c, _), _)| c == connector).map(|((_, id), s)| (*id, s.clone())).collect()
    }
    /// Forgets a connector, its tasks and its active topics (the connector was deleted).
    pub fn remove(&self, connector: &str) {
        self.connectors.lock().unwrap_or_else(|p| p.into_inner()).remove(connector);
        self.remove_tasks(connector);
        self.reset_topics(connector);
    }
    /// Records that `connector` used `topic`.
    pub fn add_topic(&self, connector: &str, topic: &str) {
        self.topics.lock().unwrap_or_else(|p| p.into_inner()).entry(connector.to_owned()).or_default().insert(topic.to_owned());
    }
    /// The connector's active topics, sorted.
    pub fn topics(&self, connector: &str) -> Vec<String> {
        self.topics.lock().unwrap_or_else(|p| p.into_inner()).get(connector).map(|t| t.iter().cloned().collect()).unwrap_or_default()
    }
    /// Forgets the connector's active topics.
    pub fn reset_topics(&self, connector: &str) {
        self.topics.lock().unwrap_or_else(|p| p.into_inner()).remove(connector);
    }
    /// Forgets a connector's task statuses (its tasks were reconfigured).
    pub fn remove_tasks(&self, connector: &str) {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner()).retain(|(c, _), _| c != connector);
    }
}
