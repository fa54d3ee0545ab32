//! KIP-875 offsets endpoints against a running worker: list, alter and reset the offsets of a
//! source (offset file) and a sink (consumer group), only while the connector is STOPPED.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;

fn call(port: u16, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let (code, text) = http(port, method, path, body).unwrap();
    (code, if text.trim().is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}")) })
}

fn lines(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).map(|t| t.lines().count()).unwrap_or(0)
}

#[test]
fn offsets_can_be_listed_altered_and_reset() {
    let bootstrap = bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    let data = write_lines(&input, 100);
    let topic = unique("offsets");
    let port = free_port();
    let worker = WorkerProcess::start(dir.path(), &worker_props(&bootstrap, port, &dir.path().join("o.offsets"), 300), &[], port);
    let src = json!({"name":"src","config":{"connector.class":"FileStreamSource","file":input.to_str().unwrap(),"topic":topic,"topic.creation.default.partitions":"1","topic.creation.default.replication.factor":"1"}});
    assert_eq!(call(port, "POST", "/connectors", Some(&src.to_string())).0, 201);
    let sink = json!({"name":"sink","config":{"connector.class":"FileStreamSink","file":output.to_str().unwrap(),"topics":topic}});
    assert_eq!(call(port, "POST", "/connectors", Some(&sink.to_string())).0, 201);
    wait_until(Duration::from_secs(60), "the sink to write 100 lines", || lines(&output) == 100);

    // Source offsets: the file position, as Kafka's FileStreamSource stores it.
    let expected = json!({"offsets":[{"partition":{"filename":input.to_str().unwrap()},"offset":{"position":data.len()}}]});
    wait_until(Duration::from_secs(20), "the source offset to be flushed", || call(port, "GET", "/connectors/src/offsets", None).1 == expected);
    // Sink offsets: the group's committed offsets.
    let committed = |o: i64| json!({"offsets":[{"partition":{"kafka_topic":topic,"kafka_partition":0},"offset":{"kafka_offset":o}}]});
    wait_until(Duration::from_secs(20), "the sink group to commit 100", || call(port, "GET", "/connectors/sink/offsets", None).1 == committed(100));

    // Changes need STOPPED.
    let rewind = json!({"offsets":[{"partition":{"filename":input.to_str().unwrap()},"offset":{"position":0}}]}).to_string();
    let (code, body) = call(port, "PATCH", "/connectors/src/offsets", Some(&rewind));
    assert_eq!(code, 400);
    assert_eq!(body["message"], "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/src/stop' endpoint");
    assert_eq!(call(port, "DELETE", "/connectors/sink/offsets", None).0, 400);

    // Rewind the source to the start of the file: after resuming it sends every line again.
    assert_eq!(call(port, "PUT", "/connectors/src/stop", None).0, 204);
    assert_eq!(
        call(port, "PATCH", "/connectors/src/offsets", Some(r#"{"offsets":[{"partition":{"filename":"x"},"offset":{"position":-1}}]}"#)).1["message"],
        "Failed to alter offsets: The value for the 'position' key in the offset should be a non-negative value"
    );
    assert_eq!(call(port, "PATCH", "/connectors/src/offsets", Some(r#"{"offsets":[{"partition":{"file":"x"},"offset":null}]}"#)).0, 400);
    assert_eq!(call(port, "PATCH", "/connectors/src/offsets", Some(r#"{"offsets":[]}"#)).1["message"], "Offsets must be specified");
    assert_eq!(call(port, "PATCH", "/connectors/src/offsets", Some("{bad")).0, 400);
    assert_eq!(
        call(port, "PATCH", "/connectors/src/offsets", Some(&rewind)),
        (200, json!({"message":"The offsets for this connector have been altered successfully"}))
    );
    assert_eq!(call(port, "GET", "/connectors/src/offsets", None).1["offsets"][0]["offset"]["position"], 0);
    assert_eq!(call(port, "PUT", "/connectors/src/resume", None).0, 202);
    wait_until(Duration::from_secs(30), "the rewound source to send the file again", || high_watermark(&bootstrap, &topic) == 200);
    wait_until(Duration::from_secs(30), "the sink to write 200 lines", || lines(&output) == 200);
    wait_until(Duration::from_secs(20), "the sink group to commit 200", || call(port, "GET", "/connectors/sink/offsets", None).1 == committed(200));

    // Sink: alter the group's offset, then reset it; the sink then reads the topic again from the start.
    assert_eq!(call(port, "PUT", "/connectors/sink/stop", None).0, 204);
    let alter = json!({"offsets":[{"partition":{"kafka_topic":topic,"kafka_partition":0},"offset":{"kafka_offset":150}}]}).to_string();
    assert_eq!(
        call(port, "PATCH", "/connectors/sink/offsets", Some(&alter)),
        (200, json!({"message":"The offsets for this connector have been altered successfully"}))
    );
    assert_eq!(call(port, "GET", "/connectors/sink/offsets", None).1, committed(150));
    assert_eq!(call(port, "DELETE", "/connectors/sink/offsets", None), (200, json!({"message":"The offsets for this connector have been reset successfully"})));
    assert_eq!(call(port, "GET", "/connectors/sink/offsets", None).1, json!({"offsets":[]}));
    assert_eq!(call(port, "PUT", "/connectors/sink/resume", None).0, 202);
    wait_until(Duration::from_secs(60), "the reset sink to read all 200 records again", || lines(&output) == 400);

    assert_eq!(call(port, "PUT", "/connectors/src/stop", None).0, 204);
    assert_eq!(call(port, "DELETE", "/connectors/src/offsets", None).0, 200);
    assert_eq!(call(port, "GET", "/connectors/src/offsets", None).1, json!({"offsets":[]}));
    assert_eq!(call(port, "GET", "/connectors/nope/offsets", None).0, 404);
    assert_eq!(worker.terminate(), Some(0));
}
