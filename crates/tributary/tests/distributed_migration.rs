//! Taking over from Apache Kafka Connect: a JVM cluster (Apache Kafka Connect 3.9, distributed)
//! creates connectors, pauses and stops some and commits offsets; it is stopped, and Tributary
//! workers with the same `group.id` and internal topics carry on: the same connectors, target
//! states, task configs, and offsets (no record read twice, none skipped).

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

fn props(bootstrap: &str, group: &str, port: u16) -> String {
    format!(
        "bootstrap.servers={bootstrap}\ngroup.id={group}\nconfig.storage.topic={group}-configs\noffset.storage.topic={group}-offsets\nstatus.storage.topic={group}-status\n\
         config.storage.replication.factor=1\noffset.storage.replication.factor=1\nstatus.storage.replication.factor=1\n\
         key.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.storage.StringConverter\n\
         offset.flush.interval.ms=500\nlisteners=http://127.0.0.1:{port}\nrest.advertised.host.name=127.0.0.1\n"
    )
}

fn json_req(port: u16, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let (code, text) = http(port, method, path, body).unwrap_or((0, String::new()));
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn state(port: u16, name: &str) -> (String, Vec<String>) {
    let (_, s) = json_req(port, "GET", &format!("/connectors/{name}/status"), None);
    let tasks = s["tasks"].as_array().map(|t| t.iter().map(|t| t["state"].as_str().unwrap_or("").to_owned()).collect()).unwrap_or_default();
    (s["connector"]["state"].as_str().unwrap_or("").to_owned(), tasks)
}

fn lines_of(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_owned).collect()
}

#[test]
fn tributary_workers_take_over_a_kafka_connect_cluster() {
    // KEEP=1 keeps the directory (worker and JVM logs) for a look after a failure.
    let dir = tempfile::Builder::new().disable_cleanup(std::env::var("KEEP").is_ok()).tempdir().unwrap();
    eprintln!("test directory {:?}", dir.path());
    let bootstrap = bootstrap();
    let group = unique("migrate");
    let (a_in, b_in, c_in, sink_out) = (dir.path().join("a.txt"), dir.path().join("b.txt"), dir.path().join("c.txt"), dir.path().join("sink.txt"));
    write_lines(&a_in, 300);
    write_lines(&b_in, 50);
    write_lines(&c_in, 20);
    let topic = |n: &str| format!("{group}-{n}");

    // Apache Kafka Connect runs the cluster first.
    let jport = free_port();
    let java = start_java_connect_distributed(dir.path(), &props(&bootstrap, &group, jport), jport);
    let create = |port: u16, body: Value| json_req(port, "POST", "/connectors", Some(&body.to_string()));
    wait_until(Duration::from_secs(60), "the JVM worker to accept a connector", || {
        create(jport, json!({"name": "a", "config": {"connector.class": "FileStreamSource", "file": a_in, "topic": topic("a"), "topic.creation.default.replication.factor": "1", "topic.creation.default.partitions": "1"}})).0 == 201
    });
    assert_eq!(create(jport, json!({"name": "b", "config": {"connector.class": "FileStreamSource", "file": b_in, "topic": topic("b"), "topic.creation.default.replication.factor": "1", "topic.creation.default.partitions": "1"}})).0, 201);
    let c = json!({"name": "c", "config": {"connector.class": "FileStreamSource", "file": c_in, "topic": topic("c"), "topic.creation.default.replication.factor": "1", "topic.creation.default.partitions": "1"}, "initial_state": "STOPPED"});
    assert_eq!(create(jport, c).0, 201);
    wait_until(Duration::from_secs(60), "a's and b's records from the JVM", || {
        high_watermark(&bootstrap, &topic("a")) == 300 && high_watermark(&bootstrap, &topic("b")) == 50
    });
    // The sink once its topic exists (a Java consumer sees new topics only at its next
    // metadata refresh).
    // The sink's consumer group is connect-<name>: unique per run, so no member of an earlier
    // run's group delays this one's join.
    let s = json!({"name": "s", "config": {"connector.class": "FileStreamSink", "file": sink_out, "topics": topic("a"), "consumer.override.group.id": format!("{group}-sink")}});
    assert_eq!(create(jport, s).0, 201);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while lines_of(&sink_out).len() != 300 {
        let status = json_req(jport, "GET", "/connectors/s/status", None).1;
        assert!(std::time::Instant::now() < deadline, "the JVM sink did not write a's lines: {status}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(json_req(jport, "PUT", "/connectors/b/pause", None).0, 202);
    wait_until(Duration::from_secs(30), "b PAUSED on the JVM", || state(jport, "b").0 == "PAUSED");
    wait_until(Duration::from_secs(30), "a's offset committed by the JVM", || {
        json_req(jport, "GET", "/connectors/a/offsets", None).1["offsets"][0]["offset"]["position"].as_i64().is_some_and(|p| p > 0)
    });
    let java_tasks = json_req(jport, "GET", "/connectors/a/tasks", None).1;
    let position = |port: u16| json_req(port, "GET", "/connectors/a/offsets", None).1["offsets"][0]["offset"]["position"].as_i64();
    wait_until(Duration::from_secs(30), "the JVM's offset at the end of a's 300 lines", || position(jport) == Some(300 * 101));
    java.terminate();

    // Tributary takes over the same group and topics.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&a_in)
        .map(|mut f| {
            use std::io::Write;
            for i in 300..400 {
                writeln!(f, "line {i:08} {}", "x".repeat(86)).unwrap();
            }
        })
        .unwrap();
    let workers: Vec<WorkerProcess> = (0..2)
        .map(|_| {
            let port = free_port();
            let w = WorkerProcess::start_mode(dir.path(), "distributed", &props(&bootstrap, &group, port), &[], port);
            wait_until(Duration::from_secs(30), "the Tributary worker to join", || http(port, "GET", "/health", None).is_ok_and(|r| r.0 == 200));
            w
        })
        .collect();
    let port = workers[0].port;
    assert_eq!(json_req(port, "GET", "/connectors", None).1, json!(["a", "b", "c", "s"]));
    wait_until(Duration::from_secs(60), "a and s RUNNING on Tributary", || {
        state(port, "a") == ("RUNNING".into(), vec!["RUNNING".into()]) && state(port, "s") == ("RUNNING".into(), vec!["RUNNING".into()])
    });
    wait_until(Duration::from_secs(30), "b PAUSED and c STOPPED on Tributary", || {
        state(port, "b") == ("PAUSED".into(), vec!["PAUSED".into()]) && state(port, "c").0 == "STOPPED"
    });
    assert_eq!(json_req(port, "GET", "/connectors/c/tasks", None).1, json!([]));
    assert_eq!(json_req(port, "GET", "/connectors/a/tasks", None).1[0]["config"], java_tasks[0]["config"]);
    // a resumed where the JVM stopped: the 100 new lines once, nothing replayed.
    wait_until(Duration::from_secs(30), "a's new lines", || high_watermark(&bootstrap, &topic("a")) >= 400);
    // The sink resumed from the JVM's consumer group offsets: every line once.
    wait_until(Duration::from_secs(30), "the sink to write the new lines", || lines_of(&sink_out).len() >= 400);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(high_watermark(&bootstrap, &topic("a")), 400, "a replayed or skipped records");
    wait_until(Duration::from_secs(10), "Tributary's offset for a at the end of its 400 lines", || position(port) == Some(400 * 101));
    let written = lines_of(&sink_out);
    let want: Vec<String> = String::from_utf8(write_lines(&dir.path().join("expected.txt"), 400)).unwrap().lines().map(str::to_owned).collect();
    assert_eq!(written, want, "the sink wrote every line once, in order");
    assert_eq!(high_watermark(&bootstrap, &topic("b")), 50, "b stayed paused");
    assert_eq!(high_watermark(&bootstrap, &topic("c")), 0, "c stayed stopped");
}
