//! Bad worker and connector configs: a clear message naming the key, a non-zero exit, nothing
//! written. These tests need no broker: validation happens before any connection.

use std::path::Path;
use std::process::Command;

fn run(dir: &Path, worker: &str, connectors: &[(&str, &str)]) -> (i32, String) {
    let wpath = dir.join("worker.properties");
    std::fs::write(&wpath, worker).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tributary"));
    cmd.arg("standalone").arg(&wpath).current_dir(dir);
    for (name, text) in connectors {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        cmd.arg(p);
    }
    let out = cmd.output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

const GOOD_WORKER: &str = "bootstrap.servers=127.0.0.1:1\nkey.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.storage.StringConverter\noffset.storage.file.filename=offsets.json\nlisteners=http://127.0.0.1:0\n";

#[test]
fn missing_converter_is_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = run(dir.path(), "bootstrap.servers=127.0.0.1:1\noffset.storage.file.filename=offsets.json\noffset.flush.interval.ms=soon\n", &[]);
    assert_ne!(code, 0);
    assert!(err.contains("Missing required configuration \"key.converter\" which has no default value."), "{err}");
    assert!(err.contains("Invalid value soon for configuration offset.flush.interval.ms"), "{err}");
    assert!(!dir.path().join("offsets.json").exists());
}

#[test]
fn unknown_connector_class_lists_the_available_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = run(dir.path(), GOOD_WORKER, &[("c.properties", "name=c\nconnector.class=com.example.Nope\n")]);
    assert_ne!(code, 0);
    assert!(err.contains("which name matches com.example.Nope, available connectors are: org.apache.kafka.connect.file.FileStreamSinkConnector"), "{err}");
    assert!(!dir.path().join("offsets.json").exists());
}

#[test]
fn invalid_connector_keys_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = run(dir.path(), GOOD_WORKER, &[("c.json", r#"{"name":"c","connector.class":"FileStreamSource","tasks.max":"0"}"#)]);
    assert_ne!(code, 0);
    assert!(err.contains("contains the following 2 error(s)"), "{err}");
    assert!(err.contains("\nInvalid value 0 for configuration tasks.max: Value must be at least 1\n"), "{err}");
    assert!(err.contains("Missing required configuration \"topic\""), "{err}");
}

#[test]
fn missing_name_and_unreadable_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = run(dir.path(), GOOD_WORKER, &[("c.properties", "connector.class=FileStreamSource\ntopic=t\n")]);
    assert_ne!(code, 0);
    assert!(err.contains("is missing the mandatory 'name' configuration"), "{err}");
    let (code, err) = run(
        dir.path(),
        "key.converter=x\nvalue.converter=y\noffset.storage.file.filename=o\n",
        &[("sink.properties", "name=s\nconnector.class=FileStreamSink\n")],
    );
    assert_ne!(code, 0);
    assert!(err.contains("Must configure one of topics or topics.regex"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_tributary")).arg("standalone").arg(dir.path().join("absent.properties")).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Cannot read worker configuration file"));
}
