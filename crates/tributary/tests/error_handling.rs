//! Error handling through the real broker: `errors.tolerance`, the dead letter queue with
//! Kafka's context headers (sinks, and beyond Kafka, sources), and the same bad input through
//! Apache Kafka Connect itself, whose DLQ records ours must match.

mod common;

use common::*;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Message, TopicPartitionList};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

fn create_topic(bootstrap: &str, topic: &str) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", bootstrap).create().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let r = rt.block_on(admin.create_topics([&NewTopic::new(topic, 1, TopicReplication::Fixed(1))], &AdminOptions::new())).unwrap();
    assert!(r.iter().all(|r| r.is_ok()), "{r:?}");
}

/// Produces `values` in order to partition 0 of a new topic.
fn produce(bootstrap: &str, topic: &str, values: &[&str]) {
    create_topic(bootstrap, topic);
    let producer: BaseProducer = ClientConfig::new().set("bootstrap.servers", bootstrap).create().unwrap();
    for (i, v) in values.iter().enumerate() {
        let key = format!("k{i}");
        producer.send(BaseRecord::to(topic).key(&key).payload(*v).partition(0)).unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

/// A record as the DLQ holds it: key, value and headers as text.
#[derive(Debug, Clone, PartialEq)]
struct Dlq {
    key: Option<String>,
    value: Option<String>,
    headers: BTreeMap<String, Option<String>>,
}

fn read_dlq(bootstrap: &str, topic: &str, expected: usize) -> Vec<Dlq> {
    let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", bootstrap).set("group.id", unique("dlq-reader")).create().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while high_watermark(bootstrap, topic) < expected as i64 {
        assert!(Instant::now() < deadline, "the DLQ topic {topic} did not get {expected} records");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, rdkafka::Offset::Beginning).unwrap();
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    while out.len() < expected && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
            let headers = m.headers().map(|hs| hs.iter().map(|h| (h.key.to_owned(), text(h.value))).collect()).unwrap_or_default();
            out.push(Dlq { key: text(m.key()), value: text(m.payload()), headers });
        }
    }
    out
}

fn status(port: u16, connector: &str) -> Value {
    let (_, body) = http(port, "GET", &format!("/connectors/{connector}/status"), None).unwrap();
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

fn post_connector(port: u16, name: &str, config: &str) {
    let (code, body) = http(port, "POST", "/connectors", Some(&format!(r#"{{"name":"{name}","config":{config}}}"#))).unwrap();
    assert_eq!(code, 201, "{body}");
}

fn file_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_owned).collect()
}

/// Input with two malformed JSON values at offsets 3 and 7.
const INPUT: &[&str] = &["\"good-0\"", "\"good-1\"", "\"good-2\"", "{not json", "\"good-4\"", "\"good-5\"", "\"good-6\"", "[1,", "\"good-8\"", "\"good-9\""];
const GOOD: &[&str] = &["good-0", "good-1", "good-2", "good-4", "good-5", "good-6", "good-8", "good-9"];

fn sink_config(topic: &str, out: &Path, group: &str, extra: &str) -> String {
    format!(
        r#"{{"connector.class":"FileStreamSink","topics":"{topic}","file":"{}","value.converter":"org.apache.kafka.connect.json.JsonConverter","value.converter.schemas.enable":"false","consumer.override.group.id":"{group}"{extra}}}"#,
        out.display()
    )
}

fn dlq_extra(dlq: &str) -> String {
    format!(
        r#","errors.tolerance":"all","errors.log.enable":"true","errors.log.include.messages":"true","errors.deadletterqueue.topic.name":"{dlq}","errors.deadletterqueue.topic.replication.factor":"1","errors.deadletterqueue.context.headers.enable":"true""#
    )
}

#[test]
fn sink_tolerates_malformed_records_and_sends_exactly_them_to_the_dlq() {
    let bootstrap = bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let (topic, dlq, group) = (unique("eh-in"), unique("eh-dlq"), unique("eh-group"));
    produce(&bootstrap, &topic, INPUT);
    let port = free_port();
    let _w = WorkerProcess::start(dir.path(), &worker_props(&bootstrap, port, &dir.path().join("o"), 200), &[], port);
    let out = dir.path().join("out.txt");
    post_connector(port, "dlq-sink", &sink_config(&topic, &out, &group, &dlq_extra(&dlq)));
    wait_until(Duration::from_secs(60), "every good record in the file", || file_lines(&out).len() >= GOOD.len());
    assert_eq!(file_lines(&out), GOOD);
    let records = read_dlq(&bootstrap, &dlq, 2);
    assert_eq!(records.len(), 2);
    for (r, (offset, value)) in records.iter().zip([(3, "{not json"), (7, "[1,")]) {
        assert_eq!(r.key.as_deref(), Some(format!("k{offset}").as_str()), "original key bytes");
        assert_eq!(r.value.as_deref(), Some(value), "original value bytes");
        let h = |k: &str| r.headers.get(&format!("__connect.errors.{k}")).cloned().flatten();
        assert_eq!(h("topic").as_deref(), Some(topic.as_str()));
        assert_eq!(h("partition").as_deref(), Some("0"));
        assert_eq!(h("offset"), Some(offset.to_string()));
        assert_eq!(h("connector.name").as_deref(), Some("dlq-sink"));
        assert_eq!(h("task.id").as_deref(), Some("0"));
        assert_eq!(h("stage").as_deref(), Some("VALUE_CONVERTER"));
        assert_eq!(h("class.name").as_deref(), Some("org.apache.kafka.connect.json.JsonConverter"));
        assert_eq!(h("exception.class.name").as_deref(), Some("org.apache.kafka.connect.errors.DataException"));
        assert!(h("exception.message").is_some_and(|m| !m.is_empty()));
        assert!(h("exception.stacktrace").is_some_and(|m| m.starts_with("org.apache.kafka.connect.errors.DataException")));
    }
    wait_until(Duration::from_secs(30), "offsets committed past the last record", || committed_offset(&bootstrap, &group, &topic) == Some(10));
    assert_eq!(status(port, "dlq-sink")["tasks"][0]["state"], "RUNNING");
}

#[test]
fn without_tolerance_the_task_fails_before_the_bad_record() {
    let bootstrap = bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let (topic, group) = (unique("eh-none"), unique("eh-none-group"));
    produce(&bootstrap, &topic, INPUT);
    let port = free_port();
    let _w = WorkerProcess::start(dir.path(), &worker_props(&bootstrap, port, &dir.path().join("o"), 200), &[], port);
    let out = dir.path().join("out.txt");
    post_connector(port, "strict-sink", &sink_config(&topic, &out, &group, r#","task.restart.auto.enable":"false""#));
    wait_until(Duration::from_secs(60), "the task to fail", || status(port, "strict-sink")["tasks"][0]["state"] == "FAILED");
    let trace = status(port, "strict-sink")["tasks"][0]["trace"].as_str().unwrap_or_default().to_owned();
    assert!(trace.contains("Tolerance exceeded in error handler"), "{trace}");
    // The batch with the bad record was never written: nothing past offset 3 is committed.
    std::thread::sleep(Duration::from_secs(1));
    assert!(committed_offset(&bootstrap, &group, &topic).is_none_or(|o| o <= 3), "committed {:?}", committed_offset(&bootstrap, &group, &topic));
    assert!(file_lines(&out).len() <= 3);
}

#[test]
fn source_records_failing_a_transform_go_to_the_source_dlq() {
    let bootstrap = bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let (topic, dlq) = (unique("eh-src"), unique("eh-src-dlq"));
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "1\n2\nx\n4\n").unwrap();
    let port = free_port();
    let _w = WorkerProcess::start(dir.path(), &worker_props(&bootstrap, port, &dir.path().join("o"), 200), &[], port);
    let config = format!(
        r#"{{"connector.class":"FileStreamSource","file":"{}","topic":"{topic}","topic.creation.default.replication.factor":"1","topic.creation.default.partitions":"1","transforms":"cast","transforms.cast.type":"org.apache.kafka.connect.transforms.Cast$Value","transforms.cast.spec":"int32"{}}}"#,
        input.display(),
        dlq_extra(&dlq)
    );
    post_connector(port, "dlq-source", &config);
    let records = read_dlq(&bootstrap, &dlq, 1);
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r.value.as_deref(), Some("x"), "the record as the task produced it, through the connector's converter");
    let h = |k: &str| r.headers.get(&format!("__connect.errors.{k}")).cloned().flatten();
    assert_eq!(h("stage").as_deref(), Some("TRANSFORMATION"));
    assert_eq!(h("class.name").as_deref(), Some("org.apache.kafka.connect.transforms.Cast$Value"));
    assert_eq!(h("topic").as_deref(), Some(topic.as_str()));
    assert_eq!(h("connector.name").as_deref(), Some("dlq-source"));
    assert_eq!(h("source.partition"), Some(format!(r#"{{"filename":"{}"}}"#, input.display())));
    assert_eq!(h("source.offset").as_deref(), Some(r#"{"position":6}"#));
    let good = read_topic(&bootstrap, &topic, 3, Duration::from_secs(30));
    assert_eq!(good.iter().map(|(v, _)| v.as_str()).collect::<Vec<_>>(), ["1", "2", "4"]);
}

#[test]
fn dlq_records_match_apache_kafka_connect() {
    let bootstrap = bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("eh-diff");
    produce(&bootstrap, &topic, INPUT);
    let mut results = Vec::new();
    for engine in ["java", "tributary"] {
        let (dlq, group) = (unique(&format!("eh-diff-dlq-{engine}")), unique(&format!("eh-diff-{engine}")));
        let out = dir.path().join(format!("{engine}.txt"));
        let port = free_port();
        let props = worker_props(&bootstrap, port, &dir.path().join(format!("{engine}.offsets")), 200);
        let config = sink_config(&topic, &out, &group, &dlq_extra(&dlq));
        if engine == "java" {
            let _java = start_java_connect(dir.path(), &props, &[], port);
            post_connector(port, "dlq-sink", &config);
            results.push(read_dlq(&bootstrap, &dlq, 2));
            wait_until(Duration::from_secs(60), "Apache Kafka Connect to write the good records", || file_lines(&out).len() >= GOOD.len());
            assert_eq!(file_lines(&out), GOOD, "Apache Kafka Connect's own output");
        } else {
            let _w = WorkerProcess::start(dir.path(), &props, &[], port);
            post_connector(port, "dlq-sink", &config);
            results.push(read_dlq(&bootstrap, &dlq, 2));
        }
    }
    let (java, ours) = (&results[0], &results[1]);
    eprintln!("Apache Kafka Connect's DLQ records: {java:#?}");
    assert_eq!(java.len(), ours.len());
    for (j, t) in java.iter().zip(ours) {
        assert_eq!((&t.key, &t.value), (&j.key, &j.value), "original bytes");
        let names = |d: &Dlq| d.headers.keys().cloned().collect::<Vec<_>>();
        assert_eq!(names(t), names(j), "header names");
        for (k, v) in &j.headers {
            // Deliberate: the message adds the parser's detail after Kafka's words, and the
            // trace is ours, not the JVM's (README); both start as Kafka's do.
            if k.ends_with("exception.message") || k.ends_with("exception.stacktrace") {
                let (ours, theirs) = (t.headers.get(k).cloned().flatten().unwrap_or_default(), v.clone().unwrap_or_default());
                let first_line = theirs.lines().next().unwrap_or_default().trim_end();
                assert!(ours.starts_with(first_line), "header {k}: ours {ours:?} does not start like Kafka's {first_line:?}");
                continue;
            }
            assert_eq!(t.headers.get(k), Some(v), "header {k}");
        }
    }
}

#[test]
fn a_failed_task_is_restarted_automatically_and_the_pipeline_completes() {
    let bootstrap = bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let (topic, group) = (unique("eh-restart"), unique("eh-restart-group"));
    let values: Vec<String> = (0..50).map(|i| format!("\"v{i}\"")).collect();
    produce(&bootstrap, &topic, &values.iter().map(String::as_str).collect::<Vec<_>>());
    let port = free_port();
    let w = WorkerProcess::start(dir.path(), &worker_props(&bootstrap, port, &dir.path().join("o"), 200), &[], port);
    // The sink's directory does not exist yet: every start fails until it does.
    let out = dir.path().join("later").join("out.txt");
    let extra = r#","task.restart.backoff.initial.ms":"200","task.restart.backoff.max.ms":"400""#;
    post_connector(port, "flaky-sink", &sink_config(&topic, &out, &group, extra));
    // Two restarts before the directory appears (waiting for one raced: the restarted task
    // could start after the directory was created and never fail again).
    wait_until(Duration::from_secs(30), "two restarts in the log", || w.log_text().matches("restarting failed task").count() >= 2);
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    wait_until(Duration::from_secs(60), "every record in the file", || file_lines(&out).len() >= 50);
    let expected: Vec<String> = (0..50).map(|i| format!("v{i}")).collect();
    assert_eq!(file_lines(&out), expected);
    wait_until(Duration::from_secs(10), "the task RUNNING", || status(port, "flaky-sink")["tasks"][0]["state"] == "RUNNING");
    assert!(w.log_text().matches("restarting failed task").count() >= 2, "restarted with backoff, more than once");
}

#[test]
fn tasks_blocked_in_plugin_code_stall_neither_rest_nor_other_connectors_nor_shutdown() {
    let bootstrap = bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("eh-iso");
    produce(&bootstrap, &topic, &["\"a\"", "\"b\"", "\"c\""]);
    let port = free_port();
    let props = format!("{}task.shutdown.graceful.timeout.ms=1000\n", worker_props(&bootstrap, port, &dir.path().join("o"), 200));
    let w = WorkerProcess::start(dir.path(), &props, &[], port);
    // Opening a FIFO for writing blocks the thread until a reader comes: none will. More such
    // tasks than this machine has cores, so a shared thread pool would be exhausted.
    for i in 0..4 {
        let fifo = dir.path().join(format!("fifo-{i}"));
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let config = sink_config(&topic, &fifo, &unique("eh-iso-group"), r#","task.restart.auto.enable":"false""#);
        post_connector(port, &format!("blocked-{i}"), &config);
    }
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..5 {
        let started = Instant::now();
        let (code, _) = http(port, "GET", "/connectors", None).unwrap();
        assert_eq!(code, 200);
        assert!(started.elapsed() < Duration::from_secs(1), "GET /connectors took {:?}", started.elapsed());
    }
    // Another connector on the same worker still runs.
    let out = dir.path().join("ok.txt");
    post_connector(port, "healthy", &sink_config(&topic, &out, &unique("eh-iso-ok"), ""));
    wait_until(Duration::from_secs(30), "the healthy connector's records", || file_lines(&out).len() >= 3);
    assert_eq!(file_lines(&out), ["a", "b", "c"]);
    let started = Instant::now();
    assert_eq!(w.terminate(), Some(0));
    assert!(started.elapsed() < Duration::from_secs(8), "shutdown took {:?} with blocked tasks", started.elapsed());
}

#[test]
fn a_record_the_broker_refuses_is_skipped_under_tolerance_all() {
    let bootstrap = bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("eh-produce");
    let input = dir.path().join("in.txt");
    // The broker refuses records over 1 MiB (message.max.bytes); the producer is told to allow
    // them, so the refusal comes back in the delivery report (stage KAFKA_PRODUCE).
    std::fs::write(&input, format!("a\n{}\nb\n", "x".repeat(1_500_000))).unwrap();
    let port = free_port();
    let w = WorkerProcess::start(dir.path(), &worker_props(&bootstrap, port, &dir.path().join("o"), 200), &[], port);
    let config = format!(
        r#"{{"connector.class":"FileStreamSource","file":"{}","topic":"{topic}","topic.creation.default.replication.factor":"1","topic.creation.default.partitions":"1","producer.override.message.max.bytes":"5000000","errors.tolerance":"all","errors.log.enable":"true"}}"#,
        input.display()
    );
    post_connector(port, "big-source", &config);
    wait_until(Duration::from_secs(60), "both small records", || high_watermark(&bootstrap, &topic) >= 2);
    let got: Vec<String> = read_topic(&bootstrap, &topic, 2, Duration::from_secs(20)).into_iter().map(|(v, _)| v).collect();
    assert_eq!(got, ["a", "b"]);
    wait_until(Duration::from_secs(10), "the skip in the log", || w.log_text().contains("Executing stage 'KAFKA_PRODUCE'"));
    assert_eq!(status(port, "big-source")["tasks"][0]["state"], "RUNNING");
}

#[test]
fn a_source_sending_to_an_illegal_topic_name_fails_with_kafkas_reason() {
    let bootstrap = bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "a\nb\n").unwrap();
    let port = free_port();
    let _w = WorkerProcess::start(dir.path(), &worker_props(&bootstrap, port, &dir.path().join("o"), 200), &[], port);
    // A space, and a NUL byte (which aborted the task's thread inside rdkafka before the check).
    for (name, topic) in [("illegal-space", "bad topic"), ("illegal-nul", "bad\\u0000topic")] {
        post_connector(port, name, &format!(r#"{{"connector.class":"FileStreamSource","file":"{}","topic":"{topic}"}}"#, input.display()));
    }
    for (name, shown) in [("illegal-nul", "bad\\0topic"), ("illegal-space", "bad topic")] {
        wait_until(Duration::from_secs(30), "the task to fail", || status(port, name)["tasks"][0]["state"] == "FAILED");
        let trace = status(port, name)["tasks"][0]["trace"].as_str().unwrap_or_default().to_owned();
        assert!(trace.contains(&format!("Topic name \"{shown}\" is illegal, it contains a character other than ASCII alphanumerics")), "{name}: {trace}");
    }
}
