//! Helpers for the end-to-end tests: a real broker, the real binary, real files.
#![allow(dead_code)]

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, TopicPartitionList};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

/// The broker under test: `TRIBUTARY_TEST_BOOTSTRAP` (set by `scripts/test.sh`, which starts
/// Apache Kafka), or any cluster you point it at.
pub fn bootstrap() -> String {
    std::env::var("TRIBUTARY_TEST_BOOTSTRAP")
        .unwrap_or_else(|_| panic!("TRIBUTARY_TEST_BOOTSTRAP is not set: run scripts/test.sh (it starts Apache Kafka) or point it at a broker"))
}

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

static NEXT_PORT: AtomicU16 = AtomicU16::new(0);

/// A free TCP port for a worker's REST listener, in 20000..28000: below the kernel's ephemeral
/// range (32768 and up), where an outgoing connection's local port could take it between this
/// check and the worker's bind, and clear of the brokers the scripts start (29xxx, 30xxx).
pub fn free_port() -> u16 {
    loop {
        let offset = ((std::process::id() % 8000) as u16).wrapping_add(NEXT_PORT.fetch_add(1, Ordering::SeqCst));
        let port = 20000 + offset % 8000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A running `tributary standalone` process; killed on drop.
pub struct WorkerProcess {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl WorkerProcess {
    pub fn start(dir: &Path, worker_props: &str, connector_files: &[PathBuf], port: u16) -> Self {
        Self::start_mode(dir, "standalone", worker_props, connector_files, port)
    }

    /// `tributary <mode> worker.properties [connector files]`.
    pub fn start_mode(dir: &Path, mode: &str, worker_props: &str, connector_files: &[PathBuf], port: u16) -> Self {
        let worker = dir.join(format!("worker-{port}.properties"));
        std::fs::write(&worker, worker_props).unwrap();
        let log = dir.join(format!("worker-{port}-{}.log", unique("run")));
        let child = Command::new(env!("CARGO_BIN_EXE_tributary"))
            .arg(mode)
            .env("NO_COLOR", "1")
            .arg(&worker)
            .args(connector_files)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let w = Self { child, port, log };
        w.wait_for_rest(Duration::from_secs(60));
        w
    }

    fn wait_for_rest(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while http(self.port, "GET", "/", None).is_err() {
            assert!(Instant::now() < deadline, "worker REST did not come up; log:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then wait; returns the exit code.
    pub fn terminate(mut self) -> Option<i32> {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "worker did not exit after SIGTERM; log:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 client: returns (status, body).
pub fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let status = out.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let (head, rest) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(rest) } else { rest.to_owned() };
    Ok((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Polls `cond` until true or `timeout`; panics with `what` on timeout.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every record value of a single-partition topic, from the beginning, with its timestamp.
pub fn read_topic(bootstrap: &str, topic: &str, expected_at_least: usize, timeout: Duration) -> Vec<(String, i64)> {
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", bootstrap).set("group.id", unique("reader")).set("enable.auto.commit", "false").create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, rdkafka::Offset::Beginning).unwrap();
    consumer.assign(&tpl).unwrap();
    let (_, high) = consumer.fetch_watermarks(topic, 0, Duration::from_secs(10)).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + timeout;
    while (out.len() as i64) < high.max(expected_at_least as i64) && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let v = m.payload().map(|p| String::from_utf8_lossy(p).into_owned()).unwrap_or_default();
            out.push((v, m.timestamp().to_millis().unwrap_or(-1)));
        }
    }
    out
}

/// The high watermark of partition 0 of `topic` (0 when it does not exist yet).
pub fn high_watermark(bootstrap: &str, topic: &str) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", bootstrap).create().unwrap();
    consumer.fetch_watermarks(topic, 0, Duration::from_secs(5)).map(|(_, h)| h).unwrap_or(0)
}

/// The committed offset of `group` on partition 0 of `topic`.
pub fn committed_offset(bootstrap: &str, group: &str, topic: &str) -> Option<i64> {
    let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", bootstrap).set("group.id", group).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, 0);
    let c = consumer.committed_offsets(tpl, Duration::from_secs(10)).ok()?;
    c.elements().first().and_then(|e| e.offset().to_raw()).filter(|o| *o >= 0)
}

/// Worker properties for the broker under test.
pub fn worker_props(bootstrap: &str, port: u16, offsets: &Path, flush_ms: u64) -> String {
    format!(
        "bootstrap.servers={bootstrap}\nkey.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.storage.StringConverter\noffset.storage.file.filename={}\noffset.flush.interval.ms={flush_ms}\nlisteners=http://127.0.0.1:{port}\n",
        offsets.display()
    )
}

/// Writes `n` distinct lines of about 100 bytes; returns the file's bytes.
pub fn write_lines(path: &Path, n: usize) -> Vec<u8> {
    let mut data = Vec::with_capacity(n * 101);
    for i in 0..n {
        writeln!(data, "line {i:08} {}", "x".repeat(86)).unwrap();
    }
    std::fs::write(path, &data).unwrap();
    data
}

/// Apache Kafka Connect's jars, fetched by `scripts/kafka.sh fetch-connect`.
pub fn connect_libs() -> PathBuf {
    let libs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.kafka/connect-libs");
    assert!(libs.is_dir(), "Apache Kafka Connect's jars are missing: run scripts/kafka.sh fetch-connect (scripts/test.sh does)");
    libs
}

/// A running Apache Kafka Connect (JVM) standalone worker; killed on drop.
pub struct JavaConnect(Child);

impl Drop for JavaConnect {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl JavaConnect {
    /// SIGTERM (offsets flushed, group left), then wait up to 60 s.
    pub fn terminate(mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !matches!(self.0.try_wait(), Ok(Some(_))) {
            assert!(Instant::now() < deadline, "Apache Kafka Connect did not exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

pub fn start_java_connect(dir: &Path, worker: &str, connectors: &[PathBuf], port: u16) -> JavaConnect {
    start_java_connect_class(dir, "org.apache.kafka.connect.cli.ConnectStandalone", worker, connectors, port)
}

/// Apache Kafka Connect in distributed mode (`ConnectDistributed`).
pub fn start_java_connect_distributed(dir: &Path, worker: &str, port: u16) -> JavaConnect {
    start_java_connect_class(dir, "org.apache.kafka.connect.cli.ConnectDistributed", worker, &[], port)
}

fn start_java_connect_class(dir: &Path, class: &str, worker: &str, connectors: &[PathBuf], port: u16) -> JavaConnect {
    let wpath = dir.join("java-worker.properties");
    std::fs::write(&wpath, worker).unwrap();
    let log4j = dir.join("log4j.properties");
    std::fs::write(&log4j, "log4j.rootLogger=WARN, file\nlog4j.appender.file=org.apache.log4j.FileAppender\nlog4j.appender.file.File=java-connect.log\nlog4j.appender.file.layout=org.apache.log4j.PatternLayout\nlog4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n\n").unwrap();
    let child = Command::new("java")
        .arg("-Xmx256m")
        .arg(format!("-Dlog4j.configuration=file:{}", log4j.display()))
        .arg("-cp")
        .arg(format!("{}/*", connect_libs().display()))
        .arg(class)
        .arg(&wpath)
        .args(connectors)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("java must be installed to run Apache Kafka Connect");
    let java = JavaConnect(child);
    wait_until(Duration::from_secs(90), "Apache Kafka Connect's REST API", || http(port, "GET", "/", None).is_ok_and(|(code, _)| code == 200));
    java
}
