//! Records of Kafka Connect's config and status topics, as Kafka writes them: UTF-8 string keys
//! and compact schemaless JSON values (tombstones for deletions), so a Tributary cluster can
//! take over the topics of a JVM cluster and the other way round.

use serde_json::{json, Map, Value};
use tributary_api::ConfigMap;

/// A connector's target state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    Started,
    Paused,
    Stopped,
}

impl TargetState {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Started => "STARTED",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [TargetState::Started, TargetState::Paused, TargetState::Stopped].into_iter().find(|t| t.as_str() == s)
    }
}

/// One record of the config topic. `None` payloads are tombstones.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigRecord {
    /// `connector-<name>`: the connector's config, or its deletion.
    Connector { name: String, config: Option<ConfigMap> },
    /// `target-state-<name>`.
    TargetState { name: String, state: Option<TargetState> },
    /// `task-<name>-<n>`: applied when the matching commit arrives.
    Task { connector: String, task: u32, config: ConfigMap },
    /// `commit-<name>`: commits task configs `0..tasks`.
    Commit { connector: String, tasks: u32 },
    /// `session-key` (KIP-507).
    SessionKey { key_base64: String, algorithm: String, creation_timestamp: i64 },
    /// `restart-connector-<name>`.
    Restart { connector: String, include_tasks: bool, only_failed: bool },
    /// A key Kafka knows but this worker does not act on (`tasks-fencing-`, `logger-cluster-`),
    /// or one nobody knows; kept so it can be logged.
    Other { key: String },
}

/// A value that is not what its key promises; the message names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config topic record {key}: {why}")]
pub struct RecordError {
    pub key: String,
    pub why: String,
}

fn properties(map: &ConfigMap) -> Value {
    Value::Object(map.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
}

fn to_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

impl ConfigRecord {
    /// The record's key and value bytes (`None`: tombstone).
    pub fn encode(&self) -> (String, Option<Vec<u8>>) {
        match self {
            ConfigRecord::Connector { name, config } => {
                (format!("connector-{name}"), config.as_ref().map(|c| to_bytes(&json!({ "properties": properties(c) }))))
            }
            ConfigRecord::TargetState { name, state } => (
                format!("target-state-{name}"),
                // `state` is for readers older than 3.5, which know no STOPPED.
                state.map(|s| {
                    let legacy = if s == TargetState::Stopped { TargetState::Paused } else { s };
                    to_bytes(&json!({ "state": legacy.as_str(), "state.v2": s.as_str() }))
                }),
            ),
            ConfigRecord::Task { connector, task, config } => {
                (format!("task-{connector}-{task}"), Some(to_bytes(&json!({ "properties": properties(config) }))))
            }
            ConfigRecord::Commit { connector, tasks } => (format!("commit-{connector}"), Some(to_bytes(&json!({ "tasks": tasks })))),
            ConfigRecord::SessionKey { key_base64, algorithm, creation_timestamp } => {
                ("session-key".into(), Some(to_bytes(&json!({ "key": key_base64, "algorithm": algorithm, "creation-timestamp": creation_timestamp }))))
            }
            ConfigRecord::Restart { connector, include_tasks, only_failed } => {
                (format!("restart-connector-{connector}"), Some(to_bytes(&json!({ "include-tasks": include_tasks, "only-failed": only_failed }))))
            }
            ConfigRecord::Other { key } => (key.clone(), None),
        }
    }

    /// Reads a record as Kafka's `KafkaConfigBackingStore` does.
    pub fn decode(key: &str, value: Option<&[u8]>) -> Result<Self, RecordError> {
        let bad = |why: &str| RecordError { key: key.to_owned(), why: why.to_owned() };
        let json: Option<Map<String, Value>> = match value {
            None => None,
            Some(b) => match serde_json::from_slice::<Value>(b) {
                Ok(Value::Object(m)) => Some(m),
                Ok(Value::Null) => None,
                _ => return Err(bad("the value is not a JSON object")),
            },
        };
        let props = |m: &Map<String, Value>| -> Result<ConfigMap, RecordError> {
            let p = m.get("properties").and_then(Value::as_object).ok_or_else(|| bad("no \"properties\" object"))?;
            p.iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    Value::Null => Err(bad(&format!("property {k} is null"))),
                    other => Ok((k.clone(), other.to_string())),
                })
                .collect()
        };
        if let Some(name) = key.strip_prefix("connector-") {
            let config = json.as_ref().map(props).transpose()?;
            return Ok(ConfigRecord::Connector { name: name.to_owned(), config });
        }
        if let Some(name) = key.strip_prefix("target-state-") {
            let state = match &json {
                None => None,
                Some(m) => {
                    let s = m.get("state.v2").or_else(|| m.get("state")).and_then(Value::as_str).ok_or_else(|| bad("no state"))?;
                    Some(TargetState::parse(s).ok_or_else(|| bad(&format!("unknown target state {s}")))?)
                }
            };
            return Ok(ConfigRecord::TargetState { name: name.to_owned(), state });
        }
        if let Some(rest) = key.strip_prefix("task-") {
            // The connector name may contain '-': the task number is after the last one.
            let (connector, task) = rest.rsplit_once('-').ok_or_else(|| bad("no task number"))?;
            let task = task.parse().map_err(|_| bad("the task number is not a number"))?;
            let m = json.ok_or_else(|| bad("a task config cannot be a tombstone"))?;
            return Ok(ConfigRecord::Task { connector: connector.to_owned(), task, config: props(&m)? });
        }
        if let Some(connector) = key.strip_prefix("commit-") {
            let tasks = json.as_ref().and_then(|m| m.get("tasks")).and_then(Value::as_u64).ok_or_else(|| bad("no task count"))?;
            return Ok(ConfigRecord::Commit { connector: connector.to_owned(), tasks: u32::try_from(tasks).map_err(|_| bad("task count too large"))? });
        }
        if key == "session-key" {
            let m = json.ok_or_else(|| bad("a session key cannot be a tombstone"))?;
            let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| bad(&format!("no {k}")));
            let created = m.get("creation-timestamp").and_then(Value::as_i64).ok_or_else(|| bad("no creation-timestamp"))?;
            return Ok(ConfigRecord::SessionKey { key_base64: s("key")?, algorithm: s("algorithm")?, creation_timestamp: created });
        }
        if let Some(connector) = key.strip_prefix("restart-connector-") {
            // Missing or invalid booleans default to false, as in Kafka.
            let flag = |k: &str| json.as_ref().and_then(|m| m.get(k)).and_then(Value::as_bool).unwrap_or(false);
            return Ok(ConfigRecord::Restart { connector: connector.to_owned(), include_tasks: flag("include-tasks"), only_failed: flag("only-failed") });
        }
        Ok(ConfigRecord::Other { key: key.to_owned() })
    }
}

/// One record of the status topic.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusRecord {
    Connector { name: String, status: Option<StatusValue> },
    Task { connector: String, task: u32, status: Option<StatusValue> },
}

/// A connector's or task's state as the status topic holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusValue {
    pub state: String,
    pub trace: Option<String>,
    pub worker_id: String,
    pub generation: i32,
}

impl StatusRecord {
    pub fn encode(&self) -> (String, Option<Vec<u8>>) {
        let value = |s: &StatusValue| to_bytes(&json!({ "state": s.state, "trace": s.trace, "worker_id": s.worker_id, "generation": s.generation }));
        match self {
            StatusRecord::Connector { name, status } => (format!("status-connector-{name}"), status.as_ref().map(value)),
            StatusRecord::Task { connector, task, status } => (format!("status-task-{connector}-{task}"), status.as_ref().map(value)),
        }
    }

    /// `None` for keys that are not connector or task statuses (topic statuses, unknown keys).
    pub fn decode(key: &str, value: Option<&[u8]>) -> Result<Option<Self>, RecordError> {
        let bad = |why: &str| RecordError { key: key.to_owned(), why: why.to_owned() };
        if !key.starts_with("status-connector-") && !key.starts_with("status-task-") {
            return Ok(None);
        }
        let status = match value {
            None => None,
            Some(b) => {
                let m: Map<String, Value> = serde_json::from_slice(b).map_err(|_| bad("the value is not a JSON object"))?;
                Some(StatusValue {
                    state: m.get("state").and_then(Value::as_str).ok_or_else(|| bad("no state"))?.to_owned(),
                    trace: m.get("trace").and_then(Value::as_str).map(str::to_owned),
                    worker_id: m.get("worker_id").and_then(Value::as_str).unwrap_or_default().to_owned(),
                    // Read as a long and narrowed, as Kafka does.
                    generation: m.get("generation").and_then(Value::as_i64).unwrap_or(0) as i32,
                })
            }
        };
        if let Some(name) = key.strip_prefix("status-connector-") {
            return Ok(Some(StatusRecord::Connector { name: name.to_owned(), status }));
        }
        if let Some(rest) = key.strip_prefix("status-task-") {
            let (connector, task) = rest.rsplit_once('-').ok_or_else(|| bad("no task number"))?;
            let task = task.parse().map_err(|_| bad("the task number is not a number"))?;
            return Ok(Some(StatusRecord::Task { connector: connector.to_owned(), task, status }));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn text(r: &ConfigRecord) -> (String, Option<String>) {
        let (k, v) = r.encode();
        (k, v.map(|v| String::from_utf8(v).expect("utf-8")))
    }

    #[test]
    fn the_documented_sequence_encodes_as_kafka_writes_it() {
        let conn = cfg(&[("connector.class", "FileStreamSource"), ("file", "/tmp/in"), ("name", "file-src"), ("topic", "t")]);
        let created = ConfigRecord::Connector { name: "file-src".into(), config: Some(conn.clone()) };
        assert_eq!(
            text(&created),
            (
                "connector-file-src".into(),
                Some(r#"{"properties":{"connector.class":"FileStreamSource","file":"/tmp/in","name":"file-src","topic":"t"}}"#.into())
            )
        );
        let commit = ConfigRecord::Commit { connector: "file-src".into(), tasks: 1 };
        assert_eq!(text(&commit), ("commit-file-src".into(), Some(r#"{"tasks":1}"#.into())));
        let paused = ConfigRecord::TargetState { name: "file-src".into(), state: Some(TargetState::Paused) };
        assert_eq!(text(&paused), ("target-state-file-src".into(), Some(r#"{"state":"PAUSED","state.v2":"PAUSED"}"#.into())));
        let stopped = ConfigRecord::TargetState { name: "file-src".into(), state: Some(TargetState::Stopped) };
        assert_eq!(text(&stopped).1.as_deref(), Some(r#"{"state":"PAUSED","state.v2":"STOPPED"}"#), "older readers see PAUSED");
        assert_eq!(text(&ConfigRecord::Connector { name: "file-src".into(), config: None }), ("connector-file-src".into(), None));
        for r in [created, commit, paused, stopped] {
            let (k, v) = r.encode();
            assert_eq!(ConfigRecord::decode(&k, v.as_deref()), Ok(r));
        }
    }

    #[test]
    fn keys_are_parsed_as_kafka_does() {
        let t = ConfigRecord::decode("task-my-conn-12", Some(br#"{"properties":{"a":"1"}}"#)).expect("task");
        assert_eq!(t, ConfigRecord::Task { connector: "my-conn".into(), task: 12, config: cfg(&[("a", "1")]) });
        let legacy = ConfigRecord::decode("target-state-c", Some(br#"{"state":"PAUSED"}"#)).expect("state");
        assert_eq!(legacy, ConfigRecord::TargetState { name: "c".into(), state: Some(TargetState::Paused) });
        let restart = ConfigRecord::decode("restart-connector-c", Some(br#"{"include-tasks":"yes"}"#)).expect("restart");
        assert_eq!(restart, ConfigRecord::Restart { connector: "c".into(), include_tasks: false, only_failed: false });
        assert_eq!(ConfigRecord::decode("tasks-fencing-c", Some(br#"{"task-count":2}"#)), Ok(ConfigRecord::Other { key: "tasks-fencing-c".into() }));
        let err = ConfigRecord::decode("commit-c", Some(b"[1]")).expect_err("not an object");
        assert_eq!(err.to_string(), "config topic record commit-c: the value is not a JSON object");
        assert!(ConfigRecord::decode("task-c-x", Some(br#"{"properties":{}}"#)).is_err());
    }

    #[test]
    fn statuses_round_trip_in_kafkas_shape() {
        let s = StatusRecord::Task {
            connector: "a-b".into(),
            task: 3,
            status: Some(StatusValue { state: "FAILED".into(), trace: Some("boom".into()), worker_id: "10.0.0.5:8083".into(), generation: 7 }),
        };
        let (k, v) = s.encode();
        assert_eq!(k, "status-task-a-b-3");
        assert_eq!(
            String::from_utf8(v.clone().expect("value")).expect("utf-8"),
            r#"{"state":"FAILED","trace":"boom","worker_id":"10.0.0.5:8083","generation":7}"#
        );
        assert_eq!(StatusRecord::decode(&k, v.as_deref()), Ok(Some(s)));
        let running = StatusRecord::Connector {
            name: "c".into(),
            status: Some(StatusValue { state: "RUNNING".into(), trace: None, worker_id: "w:1".into(), generation: 1 }),
        };
        assert_eq!(
            running.encode().1.map(|v| String::from_utf8(v).expect("utf-8")).as_deref(),
            Some(r#"{"state":"RUNNING","trace":null,"worker_id":"w:1","generation":1}"#)
        );
        assert_eq!(StatusRecord::decode("status-topic-t:connector-c", Some(b"{}")), Ok(None));
    }
}
