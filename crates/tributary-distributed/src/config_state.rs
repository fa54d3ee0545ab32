//! What the config topic says, folded record by record (`ClusterConfigState`): connector
//! configs, target states, committed task configs, the session key and restart requests.
//! Pure: the config log feeds it, the herder reads snapshots of it and compares them.

use crate::records::{ConfigRecord, TargetState};
use std::collections::BTreeMap;
use tributary_api::ConfigMap;

/// One connector as the cluster knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorConfigState {
    pub config: ConfigMap,
    pub target: TargetState,
    /// Committed task configs, task id = index.
    pub tasks: Vec<ConfigMap>,
    /// Bumped by every commit, so a herder sees a new set of task configs even when equal.
    pub task_generation: u64,
    /// The connector config the committed task configs were generated from.
    pub tasks_from_config: Option<ConfigMap>,
    /// A commit named task ids that compaction had removed: nothing is applied until the next
    /// complete commit, as in Kafka.
    pub inconsistent: bool,
}

/// The KIP-507 session key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKey {
    pub key: Vec<u8>,
    pub algorithm: String,
    pub creation_timestamp: i64,
}

/// A `restart-connector-<name>` request, numbered in the order it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartRequest {
    pub seq: u64,
    pub include_tasks: bool,
    pub only_failed: bool,
}

impl RestartRequest {
    /// What it restarts (decided in the runtime, for both herders).
    pub fn request(&self) -> tributary_runtime::restart_request::RestartRequest {
        tributary_runtime::restart_request::RestartRequest::new(self.include_tasks, self.only_failed)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterConfigState {
    /// Offset of the last record read + 1; -1 before any record (Kafka's convention, sent in
    /// the group metadata).
    pub offset: i64,
    pub connectors: BTreeMap<String, ConnectorConfigState>,
    /// Target states of connectors whose config has not been read (yet): a create with an
    /// initial state writes the target state first.
    orphan_targets: BTreeMap<String, TargetState>,
    /// Task configs read but not yet committed.
    pending_tasks: BTreeMap<String, BTreeMap<u32, ConfigMap>>,
    pub session_key: Option<SessionKey>,
    pub restarts: BTreeMap<String, RestartRequest>,
    restart_seq: u64,
}

impl ClusterConfigState {
    pub fn new() -> Self {
        Self { offset: -1, ..Default::default() }
    }

    /// Applies the record read at `offset`.
    pub fn apply(&mut self, offset: i64, record: ConfigRecord) {
        self.offset = offset + 1;
        match record {
            ConfigRecord::Connector { name, config: Some(config) } => {
                let target = self.orphan_targets.remove(&name);
                match self.connectors.get_mut(&name) {
                    Some(c) => {
                        c.config = config;
                        if let Some(t) = target {
                            c.target = t;
                        }
                    }
                    None => {
                        let c = ConnectorConfigState {
                            config,
                            target: target.unwrap_or(TargetState::Started),
                            tasks: Vec::new(),
                            task_generation: 0,
                            tasks_from_config: None,
                            inconsistent: false,
                        };
                        self.connectors.insert(name, c);
                    }
                }
            }
            ConfigRecord::Connector { name, config: None } => {
                self.connectors.remove(&name);
                self.orphan_targets.remove(&name);
                self.pending_tasks.remove(&name);
                self.restarts.remove(&name);
            }
            ConfigRecord::TargetState { name, state } => match (self.connectors.get_mut(&name), state) {
                (Some(c), Some(s)) => c.target = s,
                (Some(_), None) => {}
                (None, Some(s)) => {
                    self.orphan_targets.insert(name, s);
                }
                (None, None) => {
                    self.orphan_targets.remove(&name);
                }
            },
            ConfigRecord::Task { connector, task, config } => {
                self.pending_tasks.entry(connector).or_default().insert(task, config);
            }
            ConfigRecord::Commit { connector, tasks } => {
                let pending = self.pending_tasks.remove(&connector).unwrap_or_default();
                let Some(c) = self.connectors.get_mut(&connector) else {
                    tracing::debug!(connector = %connector, "ignoring a task commit for an unknown connector");
                    return;
                };
                let complete = (0..tasks).all(|id| pending.contains_key(&id));
                if !complete {
                    tracing::error!(connector = %connector, tasks, "task configs of a commit are missing (compacted away?); the connector's tasks are inconsistent until they are written again");
                    c.inconsistent = true;
                    return;
                }
                let mut pending = pending;
                c.tasks = (0..tasks).filter_map(|id| pending.remove(&id)).collect();
                c.task_generation += 1;
                c.tasks_from_config = Some(c.config.clone());
                c.inconsistent = false;
            }
            ConfigRecord::SessionKey { key_base64, algorithm, creation_timestamp } => {
                use base64::Engine;
                match base64::engine::general_purpose::STANDARD.decode(key_base64.as_bytes()) {
                    Ok(key) => self.session_key = Some(SessionKey { key, algorithm, creation_timestamp }),
                    Err(e) => tracing::error!(offset, error = %e, "session key record is not base64; ignored"),
                }
            }
            ConfigRecord::Restart { connector, include_tasks, only_failed } => {
                self.restart_seq += 1;
                self.restarts.insert(connector, RestartRequest { seq: self.restart_seq, include_tasks, only_failed });
            }
            ConfigRecord::Other { key } => tracing::debug!(key = %key, offset, "config topic record not used by this worker"),
        }
    }

    /// Every connector with its committed task count: what the assignor distributes.
    pub fn work(&self) -> BTreeMap<String, u32> {
        self.connectors.iter().map(|(n, c)| (n.clone(), if c.inconsistent { 0 } else { c.tasks.len() as u32 })).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn feed(records: Vec<ConfigRecord>) -> ClusterConfigState {
        let mut s = ClusterConfigState::new();
        for (i, r) in records.into_iter().enumerate() {
            s.apply(i as i64, r);
        }
        s
    }

    #[test]
    fn connector_tasks_commit_and_delete() {
        let conn = cfg(&[("connector.class", "FileStreamSource")]);
        let s = feed(vec![
            ConfigRecord::TargetState { name: "c".into(), state: Some(TargetState::Paused) },
            ConfigRecord::Connector { name: "c".into(), config: Some(conn.clone()) },
            ConfigRecord::Task { connector: "c".into(), task: 0, config: cfg(&[("t", "0")]) },
            ConfigRecord::Task { connector: "c".into(), task: 1, config: cfg(&[("t", "1")]) },
        ]);
        let c = &s.connectors["c"];
        assert_eq!((c.target, c.tasks.len(), s.offset), (TargetState::Paused, 0, 4), "tasks wait for their commit");
        let mut s = s;
        s.apply(4, ConfigRecord::Commit { connector: "c".into(), tasks: 2 });
        let c = &s.connectors["c"];
        assert_eq!(c.tasks, vec![cfg(&[("t", "0")]), cfg(&[("t", "1")])]);
        assert_eq!((c.task_generation, c.tasks_from_config.as_ref()), (1, Some(&conn)));
        assert_eq!(s.work(), BTreeMap::from([("c".to_owned(), 2)]));
        s.apply(5, ConfigRecord::Commit { connector: "c".into(), tasks: 0 });
        assert_eq!((s.connectors["c"].tasks.len(), s.connectors["c"].task_generation), (0, 2));
        s.apply(6, ConfigRecord::Connector { name: "c".into(), config: None });
        assert!(s.connectors.is_empty());
        assert_eq!(s.offset, 7);
    }

    #[test]
    fn an_incomplete_commit_marks_the_connector_inconsistent() {
        let mut s = feed(vec![
            ConfigRecord::Connector { name: "c".into(), config: Some(cfg(&[])) },
            ConfigRecord::Task { connector: "c".into(), task: 1, config: cfg(&[]) },
            ConfigRecord::Commit { connector: "c".into(), tasks: 2 },
        ]);
        assert!(s.connectors["c"].inconsistent);
        assert_eq!(s.work()["c"], 0);
        s.apply(3, ConfigRecord::Task { connector: "c".into(), task: 0, config: cfg(&[]) });
        s.apply(4, ConfigRecord::Commit { connector: "c".into(), tasks: 1 });
        assert!(!s.connectors["c"].inconsistent);
        assert_eq!(s.work()["c"], 1);
    }

    #[test]
    fn restarts_are_numbered_and_session_keys_decoded() {
        let s = feed(vec![
            ConfigRecord::Restart { connector: "a".into(), include_tasks: true, only_failed: false },
            ConfigRecord::Restart { connector: "a".into(), include_tasks: false, only_failed: true },
            ConfigRecord::SessionKey { key_base64: "AAEC".into(), algorithm: "HmacSHA256".into(), creation_timestamp: 5 },
        ]);
        assert_eq!(s.restarts["a"], RestartRequest { seq: 2, include_tasks: false, only_failed: true });
        assert_eq!(s.session_key, Some(SessionKey { key: vec![0, 1, 2], algorithm: "HmacSHA256".into(), creation_timestamp: 5 }));
    }
}
