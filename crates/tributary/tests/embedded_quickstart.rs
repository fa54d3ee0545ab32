//! The quickstart path: no bootstrap.servers, so the worker runs its embedded broker (tansu,
//! sqlite). A file goes into a topic and back out, and the broker's data survives a restart.

mod common;

use common::*;
use std::time::Duration;

#[test]
fn quickstart_copies_a_file_through_the_embedded_broker() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    let data = write_lines(&input, 2_000);
    let port = free_port();
    let broker_port = free_port();
    let props = format!(
        "key.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.storage.StringConverter\noffset.storage.file.filename=connect.offsets\noffset.flush.interval.ms=1000\nlisteners=http://127.0.0.1:{port}\nembedded.broker.listener=127.0.0.1:{broker_port}\nembedded.broker.data.dir=data\n"
    );
    let src = dir.path().join("src.properties");
    std::fs::write(&src, format!("name=local-file-source\nconnector.class=FileStreamSource\nfile={}\ntopic=connect-test\ntopic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n", input.display())).unwrap();
    let sink = dir.path().join("sink.properties");
    std::fs::write(&sink, format!("name=local-file-sink\nconnector.class=FileStreamSink\nfile={}\ntopics=connect-test\n", output.display())).unwrap();
    let worker = WorkerProcess::start(dir.path(), &props, &[src, sink], port);
    wait_until(Duration::from_secs(90), "the sink file to hold every line", || {
        std::fs::metadata(&output).map(|m| m.len() as usize >= data.len()).unwrap_or(false)
    });
    let (code, body) = http(port, "GET", "/", None).unwrap();
    assert_eq!(code, 200);
    assert!(body.contains("\"kafka_cluster_id\":\"tributary-embedded\""), "{body}");
    let bootstrap = format!("127.0.0.1:{broker_port}");
    assert_eq!(high_watermark(&bootstrap, "connect-test"), 2_000);
    let log = worker.log_text();
    assert_eq!(worker.terminate(), Some(0), "log:\n{log}");
    assert_eq!(std::fs::read(&output).unwrap(), data);
    assert!(dir.path().join("data/broker.db").exists(), "the broker stores its data under the data directory");
}
