//! Distributed mode end to end: three `tributary distributed` processes on the real broker
//! share connectors through Kafka's group coordinator, survive a SIGKILL, never restart a task
//! that does not move, and come back whole after a cluster restart.

mod common;

use common::*;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

struct Cluster {
    group: String,
    config_topic: String,
    offset_topic: String,
    status_topic: String,
}

impl Cluster {
    fn new() -> Self {
        let group = unique("dist");
        Self { config_topic: format!("{group}-configs"), offset_topic: format!("{group}-offsets"), status_topic: format!("{group}-status"), group }
    }

    fn props(&self, port: u16) -> String {
        format!(
            "bootstrap.servers={}\ngroup.id={}\nconfig.storage.topic={}\noffset.storage.topic={}\nstatus.storage.topic={}\n\
             config.storage.replication.factor=1\noffset.storage.replication.factor=1\nstatus.storage.replication.factor=1\n\
             offset.storage.partitions=5\nstatus.storage.partitions=3\n\
             key.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.storage.StringConverter\n\
             offset.flush.interval.ms=500\nlisteners=http://127.0.0.1:{port}\nrest.advertised.host.name=127.0.0.1\n",
            bootstrap(),
            self.group,
            self.config_topic,
            self.offset_topic,
            self.status_topic
        )
    }

    /// `n` workers started together (they create and check the internal topics concurrently).
    fn start_many(&self, dir: &Path, n: usize) -> Vec<WorkerProcess> {
        let workers: Vec<WorkerProcess> = (0..n)
            .map(|_| {
                let port = free_port();
                WorkerProcess::start_mode(dir, "distributed", &self.props(port), &[], port)
            })
            .collect();
        for w in &workers {
            wait_until(Duration::from_secs(30), "the workers to join their group", || http(w.port, "GET", "/health", None).is_ok_and(|r| r.0 == 200));
        }
        workers
    }

    fn start(&self, dir: &Path) -> WorkerProcess {
        let port = free_port();
        let w = WorkerProcess::start_mode(dir, "distributed", &self.props(port), &[], port);
        // Healthy once it has joined the group and received its first assignment.
        wait_until(Duration::from_secs(30), "the worker to join its group", || http(port, "GET", "/health", None).is_ok_and(|r| r.0 == 200));
        w
    }
}

fn json(port: u16, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let (code, text) = http(port, method, path, body).unwrap_or((0, String::new()));
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn source_config(name: &str, file: &Path, topic: &str) -> String {
    serde_json::json!({"name": name, "config": {"connector.class": "FileStreamSource", "file": file.to_str().unwrap(), "topic": topic}}).to_string()
}

/// Connector → (connector worker, task 0 worker), when it and its task are RUNNING.
fn running(port: u16, names: &[String]) -> Option<BTreeMap<String, (String, String)>> {
    let mut out = BTreeMap::new();
    for n in names {
        let (code, s) = json(port, "GET", &format!("/connectors/{n}/status"), None);
        if code != 200 || s["connector"]["state"] != "RUNNING" || s["tasks"][0]["state"] != "RUNNING" {
            return None;
        }
        out.insert(n.clone(), (s["connector"]["worker_id"].as_str()?.to_owned(), s["tasks"][0]["worker_id"].as_str()?.to_owned()));
    }
    Some(out)
}

/// How many times each task was started by this worker, from its log.
fn task_starts(w: &WorkerProcess) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for line in w.log_text().lines().filter(|l| l.contains("task started")) {
        let connector = line.split("connector=").nth(1).and_then(|r| r.split_whitespace().next()).unwrap_or("").trim_matches('"').to_owned();
        *out.entry(connector).or_default() += 1;
    }
    out
}

/// Every record of every partition of `topic`: (key, value), values as text, `None` = tombstone.
fn all_records(topic: &str) -> Vec<(String, Option<String>)> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::Message;
    let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", bootstrap()).set("group.id", unique("reader")).create().unwrap();
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    let mut total = 0;
    for p in metadata.topics()[0].partitions() {
        tpl.add_partition_offset(topic, p.id(), rdkafka::Offset::Beginning).unwrap();
        let (low, high) = consumer.fetch_watermarks(topic, p.id(), Duration::from_secs(10)).unwrap();
        total += high - low;
    }
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while (out.len() as i64) < total && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
            out.push((text(m.key()).unwrap_or_default(), text(m.payload())));
        }
    }
    out
}

/// The latest value of `key` among `records`.
fn latest<'a>(records: &'a [(String, Option<String>)], key: &str) -> Option<&'a Option<String>> {
    records.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn append_lines(path: &Path, from: usize, n: usize) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    for i in from..from + n {
        writeln!(f, "line {i:08} {}", "y".repeat(40)).unwrap();
    }
}

fn expected_lines(n: usize, first: &[u8]) -> BTreeSet<String> {
    let mut set: BTreeSet<String> = String::from_utf8_lossy(first).lines().map(str::to_owned).collect();
    for i in first.iter().filter(|b| **b == b'\n').count()..n {
        set.insert(format!("line {i:08} {}", "y".repeat(40)));
    }
    set
}

#[test]
fn three_workers_share_connectors_and_survive_a_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    eprintln!("dir {:?}", dir.path());
    let cluster = Cluster::new();
    let workers = cluster.start_many(dir.path(), 3);
    let names: Vec<String> = (0..6).map(|i| format!("src-{i}")).collect();
    let mut initial = BTreeMap::new();
    for (i, n) in names.iter().enumerate() {
        let file = dir.path().join(format!("{n}.txt"));
        initial.insert(n.clone(), write_lines(&file, 200));
        // Every write goes through a different worker: followers forward to the leader.
        let port = workers[i % 3].port;
        let (code, body) = json(port, "POST", "/connectors", Some(&source_config(n, &file, &format!("{}-{n}", cluster.group))));
        assert_eq!(code, 201, "create {n} via {port}: {body}");
    }
    let mut placement = None;
    wait_until(Duration::from_secs(60), "all connectors and tasks RUNNING", || {
        placement = running(workers[0].port, &names);
        placement.is_some()
    });
    let placement = placement.unwrap();
    // Every worker answers the same status.
    for w in &workers[1..] {
        wait_until(Duration::from_secs(10), "the same status on every worker", || running(w.port, &names).as_ref() == Some(&placement));
    }
    let ids: Vec<String> = workers.iter().map(|w| format!("127.0.0.1:{}", w.port)).collect();
    for id in &ids {
        let tasks = placement.values().filter(|(_, t)| t == id).count();
        let connectors = placement.values().filter(|(c, _)| c == id).count();
        assert_eq!((connectors, tasks), (2, 2), "balanced: 2 connectors and 2 tasks on {id}: {placement:?}");
    }
    // The reads are the same everywhere, writes forwarded: GET /connectors lists all six.
    let (_, list) = json(workers[2].port, "GET", "/connectors", None);
    assert_eq!(list.as_array().map(|a| a.len()), Some(6));

    let starts_before: Vec<_> = workers.iter().map(task_starts).collect();
    let mut workers = workers;
    let victim = workers.remove(2);
    let victim_id = ids[2].clone();
    let killed_at = Instant::now();
    victim.kill();
    for n in &names {
        append_lines(&dir.path().join(format!("{n}.txt")), 200, 300);
    }
    let mut after = None;
    wait_until(Duration::from_secs(40), "the killed worker's tasks RUNNING elsewhere", || {
        after = running(workers[0].port, &names).filter(|p| p.values().all(|(c, t)| *c != victim_id && *t != victim_id));
        after.is_some()
    });
    let failover = killed_at.elapsed();
    eprintln!("failover after SIGKILL: {failover:?} (killed at {:?})", std::time::SystemTime::now() - failover);
    if std::env::var("KEEP").is_ok() {
        std::mem::forget(dir);
        return;
    }
    assert!(failover <= Duration::from_secs(15), "failover took {failover:?}, over the 15 s goal");

    // No line lost (at least once: a replay after the kill may duplicate a few).
    for n in &names {
        let topic = format!("{}-{n}", cluster.group);
        let want = expected_lines(500, &initial[n]);
        let mut got = BTreeSet::new();
        wait_until(Duration::from_secs(30), &format!("every line of {n} in {topic}"), || {
            got = read_topic(&bootstrap(), &topic, want.len(), Duration::from_secs(5)).into_iter().map(|(v, _)| v).collect();
            got.len() == want.len()
        });
        assert_eq!(got, want, "{n}");
    }
    // Tasks that did not move were never restarted.
    for (i, w) in workers.iter().enumerate() {
        let now = task_starts(w);
        for (connector, count) in &starts_before[i] {
            assert_eq!(now.get(connector), Some(count), "task of {connector} on worker {i} was restarted");
        }
    }

    // A worker joins: it gets a share, and only what moves to it is stopped.
    let after = after.unwrap();
    let starts_before: Vec<_> = workers.iter().map(task_starts).collect();
    workers.push(cluster.start(dir.path()));
    let new_id = format!("127.0.0.1:{}", workers[2].port);
    let mut rebalanced = None;
    wait_until(Duration::from_secs(30), "two tasks on the new worker", || {
        rebalanced = running(workers[0].port, &names).filter(|p| p.values().filter(|(_, t)| *t == new_id).count() == 2);
        rebalanced.is_some()
    });
    let rebalanced = rebalanced.unwrap();
    for (i, w) in workers[..2].iter().enumerate() {
        let now = task_starts(w);
        let id = format!("127.0.0.1:{}", w.port);
        for (connector, (_, task_worker)) in &after {
            if *task_worker == id && rebalanced[connector].1 == id {
                assert_eq!(now.get(connector), starts_before[i].get(connector), "task of {connector} stayed on worker {i} but was restarted");
            }
        }
    }

    // A worker that stops cleanly leaves the group: its work moves at once, no session timeout.
    let leaving = workers.remove(1);
    let leaving_id = format!("127.0.0.1:{}", leaving.port);
    let stopped_at = Instant::now();
    assert_eq!(leaving.terminate(), Some(0));
    wait_until(Duration::from_secs(10), "the stopped worker's work RUNNING elsewhere", || {
        running(workers[0].port, &names).is_some_and(|p| p.values().all(|(c, t)| *c != leaving_id && *t != leaving_id))
    });
    eprintln!("work moved {:?} after SIGTERM", stopped_at.elapsed());
}

#[test]
fn new_connectors_move_nothing_and_a_cluster_restart_restores_everything() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::new();
    let workers: Vec<WorkerProcess> = (0..3).map(|_| cluster.start(dir.path())).collect();
    let port = workers[0].port;
    let names = ["a", "b", "c"].map(String::from);
    for n in &names {
        let file = dir.path().join(format!("{n}.txt"));
        write_lines(&file, 100);
        assert_eq!(json(port, "POST", "/connectors", Some(&source_config(n, &file, &format!("{}-{n}", cluster.group)))).0, 201);
    }
    wait_until(Duration::from_secs(60), "a, b, c RUNNING", || running(port, &names).is_some());
    let starts: Vec<_> = workers.iter().map(task_starts).collect();

    // A fourth connector, created stopped, then a fifth, running: nothing else restarts.
    let stopped_file = dir.path().join("d.txt");
    write_lines(&stopped_file, 10);
    let d = serde_json::json!({"name": "d", "config": {"connector.class": "FileStreamSource", "file": stopped_file.to_str().unwrap(), "topic": format!("{}-d", cluster.group)}, "initial_state": "STOPPED"});
    assert_eq!(json(workers[1].port, "POST", "/connectors", Some(&d.to_string())).0, 201);
    let e_file = dir.path().join("e.txt");
    write_lines(&e_file, 10);
    assert_eq!(json(workers[2].port, "POST", "/connectors", Some(&source_config("e", &e_file, &format!("{}-e", cluster.group)))).0, 201);
    wait_until(Duration::from_secs(30), "e RUNNING", || running(port, &["e".to_owned()]).is_some());
    wait_until(Duration::from_secs(10), "d STOPPED", || json(port, "GET", "/connectors/d/status", None).1["connector"]["state"] == "STOPPED");
    for (i, w) in workers.iter().enumerate() {
        let now = task_starts(w);
        for (connector, count) in &starts[i] {
            assert_eq!(now.get(connector), Some(count), "task of {connector} on worker {i} restarted when other connectors were created");
        }
    }
    // Deleting a connector stops only its own task.
    let starts: Vec<_> = workers.iter().map(task_starts).collect();
    assert_eq!(json(workers[1].port, "DELETE", "/connectors/e", None).0, 204);
    wait_until(Duration::from_secs(20), "e gone", || json(port, "GET", "/connectors/e/status", None).0 == 404);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(workers.iter().map(task_starts).collect::<Vec<_>>(), starts, "deleting e restarted other tasks");
    assert!(running(port, &names).is_some(), "a, b, c still RUNNING");

    // Pause b; its state is in the config topic.
    assert_eq!(json(workers[2].port, "PUT", "/connectors/b/pause", None).0, 202);
    wait_until(Duration::from_secs(20), "b PAUSED", || {
        let s = json(port, "GET", "/connectors/b/status", None).1;
        s["connector"]["state"] == "PAUSED" && s["tasks"][0]["state"] == "PAUSED"
    });
    // What the topics hold is Kafka Connect's documented format (reference §5).
    let configs = all_records(&cluster.config_topic);
    let a_file = dir.path().join("a.txt");
    let a_config =
        serde_json::json!({"properties": {"connector.class": "FileStreamSource", "file": a_file, "name": "a", "topic": format!("{}-a", cluster.group)}});
    assert_eq!(latest(&configs, "connector-a").cloned().flatten().map(|v| serde_json::from_str::<Value>(&v).unwrap()), Some(a_config));
    assert_eq!(latest(&configs, "commit-a"), Some(&Some(r#"{"tasks":1}"#.to_owned())));
    let task: Value = serde_json::from_str(latest(&configs, "task-a-0").cloned().flatten().as_deref().unwrap_or("null")).unwrap();
    assert_eq!(task["properties"]["task.class"], "org.apache.kafka.connect.file.FileStreamSourceTask");
    assert_eq!(latest(&configs, "target-state-d"), Some(&Some(r#"{"state":"PAUSED","state.v2":"STOPPED"}"#.to_owned())));
    assert_eq!(latest(&configs, "target-state-b"), Some(&Some(r#"{"state":"PAUSED","state.v2":"PAUSED"}"#.to_owned())));
    assert_eq!(latest(&configs, "connector-e"), Some(&None), "deleted: a tombstone");
    let key: Value = serde_json::from_str(latest(&configs, "session-key").cloned().flatten().as_deref().unwrap_or("null")).unwrap();
    assert_eq!((key["algorithm"].as_str(), key["key"].as_str().map(str::len)), (Some("HmacSHA256"), Some(44)), "{key}");
    let statuses = all_records(&cluster.status_topic);
    let status: Value = serde_json::from_str(latest(&statuses, "status-task-b-0").cloned().flatten().as_deref().unwrap_or("null")).unwrap();
    assert_eq!((status["state"].as_str(), status["trace"].is_null(), status["generation"].is_i64()), (Some("PAUSED"), true, true), "{status}");
    assert!(status["worker_id"].as_str().is_some_and(|w| w.starts_with("127.0.0.1:")), "{status}");
    let offsets = all_records(&cluster.offset_topic);
    let a_key = serde_json::json!(["a", {"filename": a_file}]).to_string();
    assert_eq!(latest(&offsets, &a_key), Some(&Some(r#"{"position":10100}"#.to_owned())), "{offsets:?}");

    // KIP-875 through a follower: the stopped d's offsets reset (forwarded to the leader).
    assert_eq!(json(workers[2].port, "PUT", "/connectors/d/stop", None).0, 204);
    let (code, body) = json(workers[1].port, "DELETE", "/connectors/d/offsets", None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(json(port, "GET", "/connectors/d/offsets", None).1, serde_json::json!({"offsets": []}));
    let (code, body) = json(workers[1].port, "DELETE", "/connectors/a/offsets", None);
    assert_eq!((code, body["message"].as_str().map(|m| m.starts_with("Connectors must be in the STOPPED state"))), (400, Some(true)));

    // Records the config topic cannot parse are logged and skipped by every worker.
    let producer: BaseProducer = ClientConfig::new().set("bootstrap.servers", bootstrap()).create().unwrap();
    producer.send(BaseRecord::to(&cluster.config_topic).key("connector-garbage").payload("not json")).unwrap();
    producer.send(BaseRecord::to(&cluster.config_topic).key("commit-a").payload("[1,2]")).unwrap();
    producer.flush(Duration::from_secs(10)).unwrap();

    // Whole-cluster restart: everything comes back from the topics.
    let a_topic = format!("{}-a", cluster.group);
    wait_until(Duration::from_secs(20), "a's lines", || high_watermark(&bootstrap(), &a_topic) == 100);
    for w in workers {
        assert_eq!(w.terminate(), Some(0));
    }
    append_lines(&dir.path().join("a.txt"), 100, 50);
    let workers: Vec<WorkerProcess> = (0..3).map(|_| cluster.start(dir.path())).collect();
    let port = workers[1].port;
    let (_, list) = json(port, "GET", "/connectors", None);
    assert_eq!(list, serde_json::json!(["a", "b", "c", "d"]));
    wait_until(Duration::from_secs(60), "a and c RUNNING again", || running(port, &["a".into(), "c".into()]).is_some());
    wait_until(Duration::from_secs(20), "b PAUSED and d STOPPED again", || {
        json(port, "GET", "/connectors/b/status", None).1["connector"]["state"] == "PAUSED"
            && json(port, "GET", "/connectors/d/status", None).1["connector"]["state"] == "STOPPED"
    });
    let (_, d_tasks) = json(port, "GET", "/connectors/d/tasks", None);
    assert_eq!(d_tasks, serde_json::json!([]), "a stopped connector has no tasks");
    // a continued from its committed offset: exactly the 150 lines, none twice.
    wait_until(Duration::from_secs(30), "a's new lines", || high_watermark(&bootstrap(), &a_topic) >= 150);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(high_watermark(&bootstrap(), &a_topic), 150, "a resumed from its offset after the restart");
    let (_, offsets) = json(port, "GET", "/connectors/a/offsets", None);
    assert!(offsets["offsets"][0]["offset"]["position"].as_i64().is_some_and(|p| p > 0), "{offsets}");
    assert!(workers.iter().any(|w| w.log_text().contains("unreadable config topic record; skipped")), "the bad records were logged");
}

#[test]
fn internal_requests_must_be_signed_and_bad_topics_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::new();
    let w = cluster.start(dir.path());
    wait_until(Duration::from_secs(30), "the worker to lead", || {
        http(w.port, "GET", "/connectors", None).is_ok_and(|r| r.0 == 200) && w.log_text().contains("joined the group")
    });
    let file = dir.path().join("in.txt");
    write_lines(&file, 1);
    assert_eq!(json(w.port, "POST", "/connectors", Some(&source_config("s", &file, &format!("{}-s", cluster.group)))).0, 201);
    wait_until(Duration::from_secs(10), "a session key", || w.log_text().contains("wrote a new session key"));
    let (code, body) = json(w.port, "POST", "/connectors/s/tasks", Some(r#"[{"task.class":"x"}]"#));
    assert_eq!((code, body["message"].as_str()), (400, Some("Internal request missing required signature")));

    // A second worker in the same group with another config topic: the disagreement is reported.
    let mut stray = Cluster::new();
    stray.group = cluster.group.clone();
    let stray_port = free_port();
    let stray_worker = WorkerProcess::start_mode(dir.path(), "distributed", &stray.props(stray_port), &[], stray_port);
    wait_until(Duration::from_secs(30), "the conflict in the logs", || {
        stray_worker.log_text().contains("disagree on config.storage.topic") || w.log_text().contains("disagree on config.storage.topic")
    });
    drop(stray_worker);

    // A status topic that is not compacted: refused with Kafka's message.
    let other = Cluster::new();
    let admin: rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", bootstrap()).create().unwrap();
    let topic = rdkafka::admin::NewTopic::new(&other.status_topic, 1, rdkafka::admin::TopicReplication::Fixed(1)).set("cleanup.policy", "delete");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let created = rt.block_on(admin.create_topics([&topic], &rdkafka::admin::AdminOptions::new())).unwrap();
    assert!(created[0].is_ok(), "{created:?}");
    let port = free_port();
    let props = dir.path().join("bad.properties");
    std::fs::write(&props, other.props(port)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tributary")).arg("distributed").arg(&props).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains(&format!("Topic '{}' supplied via the 'status.storage.topic' property is required to have 'cleanup.policy=compact' to guarantee consistency and durability of connector and task statuses, but found the topic currently has 'cleanup.policy=delete'.", other.status_topic)),
        "{stderr}"
    );
}

#[test]
fn one_eager_worker_makes_the_group_eager_and_it_still_fails_over() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::new();
    let mut workers = cluster.start_many(dir.path(), 2);
    // As in Kafka, a single worker with connect.protocol=eager downgrades the whole group.
    let port = free_port();
    let props = format!("{}connect.protocol=eager\n", cluster.props(port));
    let eager = WorkerProcess::start_mode(dir.path(), "distributed", &props, &[], port);
    wait_until(Duration::from_secs(30), "the eager worker to join", || http(port, "GET", "/health", None).is_ok_and(|r| r.0 == 200));
    let names: Vec<String> = (0..3).map(|i| format!("e-{i}")).collect();
    for n in &names {
        let file = dir.path().join(format!("{n}.txt"));
        write_lines(&file, 50);
        assert_eq!(json(port, "POST", "/connectors", Some(&source_config(n, &file, &format!("{}-{n}", cluster.group)))).0, 201);
    }
    let mut placement = None;
    wait_until(Duration::from_secs(60), "all RUNNING under the eager protocol", || {
        placement = running(workers[0].port, &names);
        placement.is_some()
    });
    assert!(workers.iter().chain([&eager]).all(|w| w.log_text().contains("protocol=\"default\"")), "the group elected `default`");
    let victim = workers.remove(0);
    let victim_id = format!("127.0.0.1:{}", victim.port);
    victim.kill();
    wait_until(Duration::from_secs(30), "its work RUNNING on the others", || {
        running(port, &names).is_some_and(|p| p.values().all(|(c, t)| *c != victim_id && *t != victim_id))
    });
    for n in &names {
        let topic = format!("{}-{n}", cluster.group);
        wait_until(Duration::from_secs(20), &format!("{n}'s 50 lines"), || high_watermark(&bootstrap(), &topic) >= 50);
    }
}
