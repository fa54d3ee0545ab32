//! docs/write-a-connector.md, step by step, against the real broker: the worker built from this
//! crate's `main` runs this crate's config files (pointed at the test broker, on a free port and
//! a topic of their own), the example source writes the sequence, the example sink logs it, and
//! a restarted worker resumes from the committed offsets without writing anything twice.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const COUNT: usize = 1000;

fn bootstrap() -> String {
    std::env::var("TRIBUTARY_TEST_BOOTSTRAP").expect("TRIBUTARY_TEST_BOOTSTRAP is not set: run scripts/test.sh (it starts Apache Kafka)")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// The guide's config file `name`, with `changes` applied (a key replaced, or added).
fn copy_config(name: &str, to: &Path, changes: &[(&str, &str)]) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("config").join(name);
    let text = std::fs::read_to_string(&source).expect("the guide's config file");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for (key, value) in changes {
        let line = format!("{key}={value}");
        match lines.iter_mut().find(|l| l.split_once('=').is_some_and(|(k, _)| k.trim() == *key)) {
            Some(existing) => *existing = line,
            None => lines.push(line),
        }
    }
    std::fs::write(to.join(name), lines.join("\n")).expect("write config");
}

/// The guide runs what this test runs: the same command line and files.
#[test]
fn the_guide_names_this_crates_files_and_command() {
    let guide = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/write-a-connector.md")).expect("the guide");
    assert!(guide.contains("standalone config/worker.properties config/sequence-source.properties config/record-log-sink.properties"));
    assert!(guide.contains("tributary::main_with_plugins(tributary::builtin_plugins().with("));
    let main = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/main.rs")).expect("main.rs");
    assert!(main.contains("tributary::main_with_plugins(tributary::builtin_plugins().with(tributary_example_sequence::plugins()))"));
    for file in ["worker.properties", "sequence-source.properties", "record-log-sink.properties"] {
        assert!(Path::new(env!("CARGO_MANIFEST_DIR")).join("config").join(file).exists(), "{file}");
    }
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

struct Worker(Child);

impl Worker {
    fn start(dir: &Path, log: &str) -> Worker {
        let child = Command::new(env!("CARGO_BIN_EXE_sequence-worker"))
            .args(["standalone", "worker.properties", "sequence-source.properties", "record-log-sink.properties"])
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join(log)).expect("log file"))
            .spawn()
            .expect("the example worker starts");
        Worker(child)
    }

    /// SIGTERM, as an operator stops a worker: tasks stop and flush their offsets.
    fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the worker did not stop within 30 s of SIGTERM");
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn log_lines(path: &PathBuf) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_owned).collect()
}

fn wait_for(what: &str, dir: &Path, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        let log = std::fs::read_to_string(dir.join("worker.log")).unwrap_or_default();
        assert!(Instant::now() < deadline, "timed out waiting for {what}; worker log:\n{log}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_example_connectors_copy_the_sequence_once_through_a_real_broker() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let topic = format!("sequence-{}-{nanos}", std::process::id());
    let port = free_port();
    let bootstrap = bootstrap();
    let listeners = format!("http://127.0.0.1:{port}");
    copy_config("worker.properties", dir.path(), &[("bootstrap.servers", bootstrap.as_str()), ("listeners", listeners.as_str())]);
    copy_config("sequence-source.properties", dir.path(), &[("topic", topic.as_str())]);
    copy_config("record-log-sink.properties", dir.path(), &[("topics", topic.as_str())]);
    let out = dir.path().join("sequence.log");

    let worker = Worker::start(dir.path(), "worker.log");
    wait_for("the whole sequence in the sink's file", dir.path(), || log_lines(&out).len() >= COUNT);
    let plugins = get(port, "/connector-plugins").unwrap_or_default();
    for class in ["com.example.SequenceSourceConnector", "com.example.RecordLogSinkConnector", "org.apache.kafka.connect.file.FileStreamSourceConnector"] {
        assert!(plugins.contains(class), "{class} is listed: {plugins}");
    }
    let status = get(port, "/connectors/sequence-source/status").unwrap_or_default();
    assert_eq!(status.matches("\"RUNNING\"").count(), 3, "the connector and its two tasks run: {status}");

    // One line per record, in the partition's offset order; every number exactly once.
    let lines = log_lines(&out);
    assert_eq!(lines.len(), COUNT, "nothing twice");
    let mut numbers = Vec::new();
    for (offset, line) in lines.iter().enumerate() {
        let (coordinates, value) = line.split_once(' ').expect("<topic>-<partition>@<offset> <value>");
        assert_eq!(coordinates, format!("{topic}-0@{offset}"));
        numbers.push(value.parse::<usize>().expect("a number"));
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (0..COUNT).collect::<Vec<_>>());

    // Restarted, the source tasks resume after their committed offsets: nothing more is written.
    worker.stop();
    let restarted = Worker::start(dir.path(), "worker-2.log");
    wait_for("the restarted worker's REST API", dir.path(), || get(port, "/connectors/sequence-source/status").is_some_and(|s| s.contains("\"tasks\"")));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(log_lines(&out).len(), COUNT, "the restarted source wrote nothing again");
    restarted.stop();
}
