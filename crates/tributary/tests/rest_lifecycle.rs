//! The REST API against a running worker with real connectors and a real broker: config
//! updates, pause / resume / stop, restarts, task status, expansion, health and their errors.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::Write;
use std::time::Duration;

fn call(port: u16, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let (code, text) = http(port, method, path, body).unwrap();
    (code, if text.trim().is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}")) })
}

fn state(port: u16, name: &str) -> (String, Vec<String>) {
    let (_, s) = call(port, "GET", &format!("/connectors/{name}/status"), None);
    let tasks = s["tasks"].as_array().map(|t| t.iter().map(|t| t["state"].as_str().unwrap_or("").to_owned()).collect()).unwrap_or_default();
    (s["connector"]["state"].as_str().unwrap_or("").to_owned(), tasks)
}

fn append(path: &std::path::Path, from: usize, n: usize) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    for i in from..from + n {
        writeln!(f, "line {i:08}").unwrap();
    }
}

#[test]
fn lifecycle_endpoints_against_a_running_worker() {
    let bootstrap = bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    std::fs::write(&input, "").unwrap();
    append(&input, 0, 100);
    let topic = unique("life");
    let port = free_port();
    let worker = WorkerProcess::start(dir.path(), &worker_props(&bootstrap, port, &dir.path().join("o.offsets"), 500), &[], port);

    assert_eq!(
        call(port, "GET", "/health", None),
        (200, json!({"status":"healthy","message":"Worker has completed startup and is ready to handle requests."}))
    );

    // PUT creates (201), then updates (200).
    let src = json!({"connector.class":"FileStreamSource","file":input.to_str().unwrap(),"topic":topic,"topic.creation.default.partitions":"1","topic.creation.default.replication.factor":"1"});
    let (code, info) = call(port, "PUT", "/connectors/src/config", Some(&src.to_string()));
    assert_eq!((code, &info["name"], &info["type"]), (201, &json!("src"), &json!("source")));
    let (code, info) = call(port, "PUT", "/connectors/src/config", Some(&src.to_string()));
    assert_eq!((code, &info["tasks"]), (200, &json!([{"connector":"src","task":0}])));
    wait_until(Duration::from_secs(30), "100 records", || high_watermark(&bootstrap, &topic) == 100);

    let sink = json!({"name":"sink","config":{"connector.class":"FileStreamSink","file":output.to_str().unwrap(),"topics":topic}});
    assert_eq!(call(port, "POST", "/connectors", Some(&sink.to_string())).0, 201);
    wait_until(Duration::from_secs(30), "the sink to write 100 lines", || std::fs::read_to_string(&output).map(|t| t.lines().count() == 100).unwrap_or(false));

    // Expansion, with repeated expand parameters.
    let (code, all) = call(port, "GET", "/connectors?expand=status&expand=info", None);
    assert_eq!(code, 200);
    assert_eq!(all["src"]["status"]["connector"]["state"], "RUNNING");
    assert_eq!(all["sink"]["info"]["config"]["topics"], topic.as_str());
    assert_eq!(call(port, "GET", "/connectors?expand=nothing", None).1, json!({"sink":{},"src":{}}));

    // Pause: nothing moves; resume: everything moves again, exactly once.
    assert_eq!(call(port, "PUT", "/connectors/src/pause", None), (202, Value::Null));
    assert_eq!(state(port, "src"), ("PAUSED".into(), vec!["PAUSED".into()]));
    append(&input, 100, 50);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(high_watermark(&bootstrap, &topic), 100, "a paused source produces nothing");
    assert_eq!(call(port, "PUT", "/connectors/src/resume", None).0, 202);
    assert_eq!(state(port, "src"), ("RUNNING".into(), vec!["RUNNING".into()]));
    wait_until(Duration::from_secs(30), "150 records", || high_watermark(&bootstrap, &topic) == 150);

    assert_eq!(call(port, "PUT", "/connectors/sink/pause", None).0, 202);
    append(&input, 150, 50);
    wait_until(Duration::from_secs(30), "200 records", || high_watermark(&bootstrap, &topic) == 200);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(std::fs::read_to_string(&output).unwrap().lines().count(), 150, "a paused sink writes nothing");
    assert_eq!(call(port, "PUT", "/connectors/sink/resume", None).0, 202);
    wait_until(Duration::from_secs(30), "the sink to catch up", || std::fs::read_to_string(&output).map(|t| t.lines().count() == 200).unwrap_or(false));

    // Stop: no tasks; resume brings them back where they left off.
    assert_eq!(call(port, "PUT", "/connectors/src/stop", None), (204, Value::Null));
    assert_eq!(state(port, "src"), ("STOPPED".into(), vec![]));
    assert_eq!(call(port, "GET", "/connectors/src/tasks", None).1, json!([]));
    append(&input, 200, 10);
    assert_eq!(call(port, "PUT", "/connectors/src/resume", None).0, 202);
    wait_until(Duration::from_secs(30), "210 records", || high_watermark(&bootstrap, &topic) == 210);

    // Restarts.
    assert_eq!(call(port, "POST", "/connectors/src/restart", None), (204, Value::Null));
    let (code, body) = call(port, "POST", "/connectors/src/restart?includeTasks=true&onlyFailed=false", None);
    assert_eq!((code, &body["name"], body["tasks"].as_array().map(Vec::len)), (202, &json!("src"), Some(1)));
    assert_eq!(call(port, "POST", "/connectors/src/tasks/0/restart", None), (204, Value::Null));
    assert_eq!(call(port, "POST", "/connectors/src/tasks/7/restart", None).0, 404);
    assert_eq!(call(port, "POST", "/connectors/src/restart?includeTasks=maybe", None).0, 400);
    let (code, task) = call(port, "GET", "/connectors/src/tasks/0/status", None);
    assert_eq!((code, &task["id"], &task["worker_id"]), (200, &json!(0), &json!(format!("127.0.0.1:{port}"))));
    assert_eq!(call(port, "GET", "/connectors/src/tasks/9/status", None), (404, json!({"error_code":404,"message":"No status found for task src-9"})));
    assert_eq!(call(port, "GET", "/connectors/src/tasks/x/status", None).0, 404);
    append(&input, 210, 10);
    wait_until(Duration::from_secs(30), "220 records", || high_watermark(&bootstrap, &topic) == 220);

    // PATCH merges and removes; it never creates.
    let (code, info) = call(port, "PATCH", "/connectors/src/config", Some(r#"{"batch.size":"10","topic.creation.default.partitions":null}"#));
    assert_eq!((code, &info["config"]["batch.size"]), (200, &json!("10")));
    assert!(info["config"].get("topic.creation.default.partitions").is_none());
    assert_eq!(call(port, "PATCH", "/connectors/nope/config", Some("{}")).0, 404);

    // Unknown connectors everywhere are 404 with the error body.
    for (m, p) in [
        ("PUT", "/connectors/nope/pause"),
        ("PUT", "/connectors/nope/resume"),
        ("PUT", "/connectors/nope/stop"),
        ("POST", "/connectors/nope/restart"),
        ("DELETE", "/connectors/nope"),
    ] {
        let (code, body) = call(port, m, p, None);
        assert_eq!((code, &body["error_code"]), (404, &json!(404)), "{m} {p}");
    }

    // Every line went through exactly once, through pause, stop, restarts and a config change.
    let records = read_topic(&bootstrap, &topic, 220, Duration::from_secs(20));
    let lines: Vec<&str> = records.iter().map(|(v, _)| v.as_str()).collect();
    let expected: Vec<String> = (0..220).map(|i| format!("line {i:08}")).collect();
    assert_eq!(lines, expected.iter().map(String::as_str).collect::<Vec<_>>());
    wait_until(Duration::from_secs(30), "the sink to catch up", || std::fs::read_to_string(&output).map(|t| t.lines().count() == 220).unwrap_or(false));

    // Active topics (KIP-558).
    assert_eq!(call(port, "GET", "/connectors/src/topics", None), (200, json!({"src":{"topics":[topic]}})));
    assert_eq!(call(port, "GET", "/connectors/sink/topics", None), (200, json!({"sink":{"topics":[topic]}})));
    assert_eq!(call(port, "PUT", "/connectors/sink/topics/reset", None), (202, Value::Null));
    assert_eq!(call(port, "GET", "/connectors/sink/topics", None), (200, json!({"sink":{"topics":[]}})));
    assert_eq!(call(port, "GET", "/connectors/nope/topics", None).0, 404);

    // Log levels at run time.
    assert_eq!(call(port, "GET", "/admin/loggers", None), (200, json!({"root":{"level":"INFO","last_modified":null}})));
    assert_eq!(call(port, "PUT", "/admin/loggers/tributary_runtime", Some(r#"{"level":"debug"}"#)), (200, json!(["tributary_runtime"])));
    let (code, level) = call(port, "GET", "/admin/loggers/tributary_runtime", None);
    assert_eq!((code, &level["level"]), (200, &json!("DEBUG")));
    assert!(level["last_modified"].as_i64().is_some());
    assert_eq!(call(port, "PUT", "/admin/loggers/root?scope=cluster", Some(r#"{"level":"WARN"}"#)), (204, Value::Null));
    assert_eq!(call(port, "PUT", "/admin/loggers/root", Some(r#"{"level":"LOUD"}"#)), (404, json!({"error_code":404,"message":"invalid log level 'LOUD'."})));
    assert_eq!(call(port, "PUT", "/admin/loggers/root", Some("{}")).0, 400);
    assert_eq!(call(port, "PUT", "/admin/loggers/root?scope=galaxy", Some(r#"{"level":"INFO"}"#)).0, 400);
    assert_eq!(call(port, "GET", "/admin/loggers/nobody", None), (404, json!({"error_code":404,"message":"Logger nobody not found."})));

    assert_eq!(call(port, "DELETE", "/connectors/src", None), (204, Value::Null));
    assert_eq!(call(port, "GET", "/connectors/src", None).0, 404);
    assert_eq!(worker.terminate(), Some(0));
}
