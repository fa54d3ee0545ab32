//! The REST API replayed against Apache Kafka Connect itself: the same requests, in the same
//! order, go to a JVM Connect worker (3.9.1 from Maven Central) and to Tributary, side by side on
//! the same broker. Status codes and body shapes (keys, JSON types, map keys that are names) must
//! match, except for the differences listed in `DELIBERATE`, each of which the README explains.
//! A listed difference that no longer shows up fails the test too, so the list stays true.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

/// (step label, why): differences kept on purpose; README "Deliberate differences" lists them.
const DELIBERATE: &[(&str, &str)] = &[
    ("validate malformed", "a body that is not JSON is the client's error: 400, where Kafka answers 500"),
    ("create malformed", "a body that is not JSON is the client's error: 400, where Kafka answers 500"),
    ("alter offsets malformed", "a body of the wrong JSON shape is the client's error: 400, where Kafka answers 500"),
    ("create unknown class", "an unknown connector.class is a bad request: 400, where Kafka answers 500"),
];

struct Side {
    name: &'static str,
    port: u16,
    vars: Vec<(&'static str, String)>,
}

impl Side {
    fn fill(&self, text: &str) -> String {
        self.vars.iter().fold(text.to_owned(), |t, (k, v)| t.replace(k, v))
    }

    fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let body = body.map(|b| self.fill(b));
        let (status, text) = http(self.port, method, &self.fill(path), body.as_deref()).unwrap_or_else(|e| panic!("{} {method} {path}: {e}", self.name));
        let json = if text.trim().is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(format!("<not JSON> {text}"))) };
        (status, json)
    }

    fn wait_state(&self, connector: &str, state: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (code, s) = self.call("GET", &format!("/connectors/{connector}/status"), None);
            let tasks_ok =
                s["tasks"].as_array().is_some_and(|t| (state == "STOPPED" && t.is_empty()) || (!t.is_empty() && t.iter().all(|t| t["state"] == state)));
            if code == 200 && s["connector"]["state"] == state && tasks_ok {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "{} {connector} did not become {state}: last status {code} {s}", self.name);
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A JSON value's shape: scalars become their type; objects keep their keys; arrays become the
/// set of their elements' shapes.
fn shape(v: &Value) -> Value {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(_) => "number".into(),
        Value::String(s) if s.starts_with("<not JSON>") => "not JSON".into(),
        Value::String(_) => "string".into(),
        Value::Array(items) => {
            let set: BTreeSet<String> = items.iter().map(|i| shape(i).to_string()).collect();
            Value::Array(set.into_iter().map(|s| serde_json::from_str(&s).unwrap_or(Value::Null)).collect())
        }
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
    }
}

struct Run {
    java: Side,
    ours: Side,
    differences: Vec<(String, String)>,
    steps: usize,
}

impl Run {
    fn step(&mut self, label: &str, method: &str, path: &str, body: Option<&str>) -> (Value, Value) {
        self.steps += 1;
        let (js, jb) = self.java.call(method, path, body);
        let (ts, tb) = self.ours.call(method, path, body);
        if std::env::var_os("REST_DIFF_VERBOSE").is_some() {
            eprintln!("{label}: {method} {path}\n  java {js} {jb}\n  ours {ts} {tb}");
        }
        if js != ts {
            self.differences.push((label.to_owned(), format!("status {ts}, Apache Kafka Connect {js}; bodies {tb} / {jb}")));
        } else if shape(&jb) != shape(&tb) {
            if let Some(dir) = std::env::var_os("REST_DIFF_DUMP") {
                let dump = |who: &str, v: &Value| {
                    std::fs::write(Path::new(&dir).join(format!("{label}.{who}.json")), serde_json::to_string_pretty(v).unwrap_or_default())
                };
                let _ = dump("java", &jb);
                let _ = dump("ours", &tb);
            }
            self.differences.push((label.to_owned(), format!("body shape {} vs Apache Kafka Connect {}", shape(&tb), shape(&jb))));
        }
        (jb, tb)
    }

    fn both(&self, f: impl Fn(&Side)) {
        f(&self.java);
        f(&self.ours);
    }
}

fn side(name: &'static str, dir: &Path, port: u16) -> Side {
    let topic = unique(&format!("rest-diff-{name}"));
    let input = dir.join(format!("{name}-in.txt"));
    write_lines(&input, 20);
    Side {
        name,
        port,
        vars: vec![
            ("@TOPIC@", topic),
            ("@IN@", input.display().to_string()),
            ("@OUT@", dir.join(format!("{name}-out.txt")).display().to_string()),
            ("@GROUP@", unique("rest-diff")),
        ],
    }
}

const SOURCE: &str = r#"{"connector.class":"FileStreamSource","tasks.max":"1","file":"@IN@","topic":"@TOPIC@","topic.creation.default.replication.factor":"1","topic.creation.default.partitions":"1"}"#;
// Each side's sink gets its own consumer group: the connector names are the same on both.
const SINK: &str = r#"{"connector.class":"FileStreamSink","tasks.max":"1","file":"@OUT@","topics":"@TOPIC@","consumer.override.group.id":"@GROUP@"}"#;

#[test]
fn rest_api_matches_apache_kafka_connect() {
    let bootstrap = bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let (java_port, our_port) = (free_port(), free_port());
    let worker = |port: u16, offsets: &str| {
        format!(
            "bootstrap.servers={bootstrap}\nkey.converter=org.apache.kafka.connect.storage.StringConverter\n\
             value.converter=org.apache.kafka.connect.storage.StringConverter\noffset.storage.file.filename={}\n\
             offset.flush.interval.ms=500\nlisteners=http://127.0.0.1:{port}\n",
            dir.path().join(offsets).display()
        )
    };
    let _java = start_java_connect(dir.path(), &worker(java_port, "java.offsets"), &[], java_port);
    let _ours = WorkerProcess::start(dir.path(), &worker(our_port, "ours.offsets"), &[], our_port);
    let mut run = Run { java: side("java", dir.path(), java_port), ours: side("ours", dir.path(), our_port), differences: Vec::new(), steps: 0 };

    run.step("root", "GET", "/", None);
    run.step("health", "GET", "/health", None);
    run.step("list empty", "GET", "/connectors", None);
    run.step("plugins", "GET", "/connector-plugins", None);
    run.step("plugins all", "GET", "/connector-plugins?connectorsOnly=false", None);
    run.step("plugin config", "GET", "/connector-plugins/FileStreamSource/config", None);
    run.step("plugin config unknown", "GET", "/connector-plugins/NoSuchConnector/config", None);
    run.step("validate ok", "PUT", "/connector-plugins/FileStreamSource/config/validate", Some(SOURCE));
    run.step(
        "validate bad value",
        "PUT",
        "/connector-plugins/FileStreamSource/config/validate",
        Some(r#"{"connector.class":"FileStreamSource","tasks.max":"x"}"#),
    );
    run.step("validate class mismatch", "PUT", "/connector-plugins/FileStreamSink/config/validate", Some(SOURCE));
    run.step("validate malformed", "PUT", "/connector-plugins/FileStreamSource/config/validate", Some("{not json"));

    let create_src = format!(r#"{{"name":"src","config":{SOURCE}}}"#);
    run.step("create source", "POST", "/connectors", Some(&create_src));
    run.both(|s| s.wait_state("src", "RUNNING"));
    run.step("create duplicate", "POST", "/connectors", Some(&create_src));
    run.step("create malformed", "POST", "/connectors", Some("{not json"));
    run.step("create without class", "POST", "/connectors", Some(r#"{"name":"x","config":{"tasks.max":"1"}}"#));
    run.step("create unknown class", "POST", "/connectors", Some(r#"{"name":"x","config":{"connector.class":"com.example.Nope"}}"#));
    run.step("create bad tasks.max", "POST", "/connectors", Some(r#"{"name":"x","config":{"connector.class":"FileStreamSource","tasks.max":"many"}}"#));
    run.step("create sink", "POST", "/connectors", Some(&format!(r#"{{"name":"snk","config":{SINK}}}"#)));
    run.both(|s| s.wait_state("snk", "RUNNING"));
    run.both(|s| {
        let last = std::cell::RefCell::new(Value::Null);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (_, body) = s.call("GET", "/connectors/src/topics", None);
            if body["src"]["topics"].as_array().is_some_and(|t| !t.is_empty()) {
                break;
            }
            *last.borrow_mut() = body;
            assert!(std::time::Instant::now() < deadline, "{} src reported no active topic: {}", s.name, last.borrow());
            std::thread::sleep(Duration::from_millis(100));
        }
    });

    run.step("connector", "GET", "/connectors/src", None);
    run.step("connector config", "GET", "/connectors/src/config", None);
    run.step("connector status", "GET", "/connectors/src/status", None);
    run.step("tasks", "GET", "/connectors/src/tasks", None);
    run.step("task status", "GET", "/connectors/src/tasks/0/status", None);
    run.step("task status unknown task", "GET", "/connectors/src/tasks/7/status", None);
    run.step("topics", "GET", "/connectors/src/topics", None);
    run.step("list", "GET", "/connectors", None);
    run.step("expand status", "GET", "/connectors?expand=status", None);
    run.step("expand info", "GET", "/connectors?expand=info", None);
    run.step("expand both", "GET", "/connectors?expand=status&expand=info", None);

    run.step("pause", "PUT", "/connectors/src/pause", None);
    run.both(|s| s.wait_state("src", "PAUSED"));
    run.step("status paused", "GET", "/connectors/src/status", None);
    run.step("resume", "PUT", "/connectors/src/resume", None);
    run.both(|s| s.wait_state("src", "RUNNING"));
    run.step("restart connector", "POST", "/connectors/src/restart", None);
    run.both(|s| s.wait_state("src", "RUNNING"));
    run.step("restart with tasks", "POST", "/connectors/src/restart?includeTasks=true&onlyFailed=false", None);
    run.both(|s| s.wait_state("src", "RUNNING"));
    run.step("restart only failed", "POST", "/connectors/src/restart?includeTasks=true&onlyFailed=true", None);
    run.step("restart task", "POST", "/connectors/src/tasks/0/restart", None);
    run.both(|s| s.wait_state("src", "RUNNING"));
    run.step(
        "alter offsets while running",
        "PATCH",
        "/connectors/src/offsets",
        Some(r#"{"offsets":[{"partition":{"filename":"@IN@"},"offset":{"position":0}}]}"#),
    );

    run.step("stop", "PUT", "/connectors/src/stop", None);
    run.both(|s| s.wait_state("src", "STOPPED"));
    run.step("status stopped", "GET", "/connectors/src/status", None);
    run.step("source offsets", "GET", "/connectors/src/offsets", None);
    run.step("alter source offsets", "PATCH", "/connectors/src/offsets", Some(r#"{"offsets":[{"partition":{"filename":"@IN@"},"offset":{"position":0}}]}"#));
    run.step("alter offsets malformed", "PATCH", "/connectors/src/offsets", Some(r#"{"offsets":"nope"}"#));
    run.step("reset source offsets", "DELETE", "/connectors/src/offsets", None);
    run.step("sink offsets", "GET", "/connectors/snk/offsets", None);
    run.step("reset topics", "PUT", "/connectors/snk/topics/reset", None);

    run.step("put config update", "PUT", "/connectors/src/config", Some(SOURCE));
    run.step("put config create", "PUT", "/connectors/src2/config", Some(SOURCE));
    run.step("put config name mismatch", "PUT", "/connectors/src3/config", Some(r#"{"connector.class":"FileStreamSource","name":"other"}"#));
    run.step("patch config", "PATCH", "/connectors/src2/config", Some(r#"{"batch.size":"100"}"#));
    run.step("patch unknown connector", "PATCH", "/connectors/missing/config", Some(r#"{"batch.size":"100"}"#));
    run.step("unknown connector", "GET", "/connectors/missing", None);
    run.step("unknown connector status", "GET", "/connectors/missing/status", None);
    run.step("unknown connector delete", "DELETE", "/connectors/missing", None);
    run.step("unknown connector pause", "PUT", "/connectors/missing/pause", None);
    run.step("unknown connector offsets", "GET", "/connectors/missing/offsets", None);

    run.step("logger root", "GET", "/admin/loggers/root", None);
    run.step("set logger", "PUT", "/admin/loggers/org.apache.kafka.connect.runtime", Some(r#"{"level":"DEBUG"}"#));
    run.step("set logger bad level", "PUT", "/admin/loggers/root", Some(r#"{"level":"LOUD"}"#));
    run.step("set logger no level", "PUT", "/admin/loggers/root", Some("{}"));
    run.step("unknown path", "GET", "/no/such/resource", None);
    run.step("wrong method", "DELETE", "/connector-plugins", None);

    // Apache Kafka Connect records a FAILED status for the unknown task it was asked to restart,
    // so this runs last on a connector about to be deleted.
    run.step("restart unknown task", "POST", "/connectors/src/tasks/5/restart", None);
    run.step("delete", "DELETE", "/connectors/src", None);
    run.step("delete again", "DELETE", "/connectors/src", None);
    for c in ["src2", "snk"] {
        run.both(|s| {
            s.call("DELETE", &format!("/connectors/{c}"), None);
        });
    }
    run.step("list after delete", "GET", "/connectors", None);

    eprintln!("{} steps replayed against both workers", run.steps);
    for (label, what) in &run.differences {
        eprintln!("difference in '{label}': {what}");
    }
    let seen: BTreeSet<&str> = run.differences.iter().map(|(l, _)| l.as_str()).collect();
    let listed: BTreeSet<&str> = DELIBERATE.iter().map(|(l, _)| *l).collect();
    let unexplained: Vec<_> = seen.difference(&listed).collect();
    let gone: Vec<_> = listed.difference(&seen).collect();
    assert!(unexplained.is_empty(), "differences from Apache Kafka Connect that are not listed as deliberate: {unexplained:?}");
    assert!(gone.is_empty(), "listed as deliberate but no longer different: {gone:?}");
}
