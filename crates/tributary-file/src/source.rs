//! FileStreamSource: one record per line.

use crate::{BATCH_SIZE_CONFIG, DEFAULT_BATCH_SIZE, FILE_CONFIG, TOPIC_CONFIG, VERSION};
use async_trait::async_trait;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tributary_api::config::{ConfigKey, ConfigType, Importance, Validator};
use tributary_api::{
    ConfigDef, ConfigMap, ConnectError, Connector, OffsetMap, Result, Schema, SourceConnector, SourceRecord, SourceTask, SourceTaskContext, Value,
};

/// How long an idle poll waits before returning an empty batch. Kafka waits up to 1 s; a
/// shorter wait keeps latency low at the cost of a few more `read` calls when idle.
const IDLE_WAIT: Duration = Duration::from_millis(100);
/// Read size: large enough that the read syscall is not the bottleneck at 100-byte lines.
const READ_CHUNK: usize = 64 * 1024;

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(FILE_CONFIG, ConfigType::String, Importance::High, "Source filename. If not specified, the standard input will be used")
                .default_null(),
        )
        // STRING as in Kafka 3.9 (older releases declared a LIST); a comma can only be a mistake.
        .define(ConfigKey::new(TOPIC_CONFIG, ConfigType::String, Importance::High, "The topic to publish data to").validator(Validator::Custom(
            std::sync::Arc::new(|v| match v {
                tributary_api::config::ConfigValue::String(t) if !t.trim().is_empty() && !t.contains(',') => Ok(()),
                _ => Err("'topic' in FileStreamSourceConnector configuration requires definition of a single topic".into()),
            }),
        )))
        .define(
            ConfigKey::new(
                BATCH_SIZE_CONFIG,
                ConfigType::Int,
                Importance::Low,
                "The maximum number of records the source task can read from the file each time it is polled",
            )
            .default_value(DEFAULT_BATCH_SIZE.to_string())
            .validator(Validator::at_least(1.0)),
        )
}

/// `org.apache.kafka.connect.file.FileStreamSourceConnector`: always one task.
#[derive(Default)]
pub struct FileStreamSourceConnector {
    config: ConfigMap,
}

#[async_trait]
impl Connector for FileStreamSourceConnector {
    fn version(&self) -> String {
        VERSION.into()
    }
    fn config_def(&self) -> ConfigDef {
        config_def()
    }
    async fn start(&mut self, config: ConfigMap) -> Result<()> {
        config_def().parse(&config).map_err(|e| ConnectError::config(e.to_string()))?;
        self.config = config;
        Ok(())
    }
    async fn task_configs(&mut self, _max_tasks: usize) -> Result<Vec<ConfigMap>> {
        // A file has one reader: more tasks would duplicate every line.
        Ok(vec![self.config.clone()])
    }
    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }

    fn alter_offsets(&self, config: &ConfigMap, offsets: &[(OffsetMap, Option<OffsetMap>)]) -> Result<bool> {
        if config.get(FILE_CONFIG).is_none_or(|f| f.is_empty()) {
            return Err(ConnectError::config(
                "Offsets cannot be modified if the 'file' configuration is unspecified. This is because stdin is used for input and offsets are not tracked.",
            ));
        }
        for (partition, offset) in offsets {
            if !partition.contains_key("filename") {
                return Err(ConnectError::config("Partition objects should contain the key 'filename'"));
            }
            if let Some(offset) = offset {
                match offset.get("position") {
                    Some(Value::Int64(p)) if *p >= 0 => {}
                    Some(Value::Int64(_)) => return Err(ConnectError::config("The value for the 'position' key in the offset should be a non-negative value")),
                    Some(_) => return Err(ConnectError::config("The value for the 'position' key in the offset is expected to be a Long value")),
                    None => return Err(ConnectError::config("Offset objects should either be null or contain the key 'position'")),
                }
            }
        }
        Ok(true)
    }
}

impl SourceConnector for FileStreamSourceConnector {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::<FileStreamSourceTask>::default()
    }
    fn task_class(&self) -> &'static str {
        "org.apache.kafka.connect.file.FileStreamSourceTask"
    }
}

/// Where lines come from.
enum Input {
    /// A file, read from `position`; `identity` detects replacement.
    File { file: File, identity: Option<(u64, u64)> },
    /// Standard input, read by a thread into a bounded channel (reads on stdin block).
    Stdin(mpsc::Receiver<Vec<u8>>),
}

/// `org.apache.kafka.connect.file.FileStreamSourceTask`.
#[derive(Default)]
pub struct FileStreamSourceTask {
    filename: Option<String>,
    /// Shared by every record (a copy per record was an allocation each).
    topic: Arc<str>,
    batch_size: usize,
    input: Option<Input>,
    /// Bytes consumed up to the end of the last emitted line.
    position: u64,
    /// Read but not yet emitted (an incomplete last line).
    buffer: Vec<u8>,
    partition: Arc<OffsetMap>,
}

#[async_trait]
impl SourceTask for FileStreamSourceTask {
    fn version(&self) -> String {
        VERSION.into()
    }

    async fn start(&mut self, context: SourceTaskContext) -> Result<()> {
        let parsed = config_def().parse(&context.config).map_err(|e| ConnectError::config(e.to_string()))?;
        self.filename = parsed.string(FILE_CONFIG).filter(|f| !f.is_empty()).map(str::to_owned);
        self.topic = parsed.string(TOPIC_CONFIG).map(str::trim).unwrap_or_default().into();
        self.batch_size = usize::try_from(parsed.int(BATCH_SIZE_CONFIG).unwrap_or(DEFAULT_BATCH_SIZE)).unwrap_or(1).max(1);
        if let Some(f) = &self.filename {
            self.partition = Arc::new(OffsetMap::from([("filename", Value::String(f.clone()))]));
            if let Some(offset) = context.offset_reader.offset(&self.partition).await? {
                match offset.get("position").and_then(Value::as_i64) {
                    Some(p) if p >= 0 => self.position = p as u64,
                    Some(_) | None if offset.get("position").is_none_or(Value::is_null) => {}
                    _ => return Err(ConnectError::data(format!("Offset position is the incorrect type for file {f}: {offset:?}"))),
                }
                tracing::info!(file = %f, position = self.position, "resuming file source from the committed offset");
            }
        }
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        if self.input.is_none() {
            match self.open()? {
                Some(input) => self.input = Some(input),
                None => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    return Ok(Vec::new());
                }
            }
        }
        let mut records = self.extract_lines();
        if !records.is_empty() {
            return Ok(records);
        }
        let got = self.read_more().await?;
        if got {
            records = self.extract_lines();
        }
        if records.is_empty() && !got {
            self.check_replaced();
            tokio::time::sleep(IDLE_WAIT).await;
        }
        Ok(records)
    }

    async fn stop(&mut self) -> Result<()> {
        self.input = None;
        Ok(())
    }
}

fn file_identity(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

impl FileStreamSourceTask {
    fn open(&mut self) -> Result<Option<Input>> {
        let Some(name) = &self.filename else {
            let (tx, rx) = mpsc::channel(64);
            std::thread::Builder::new()
                .name("file-source-stdin".into())
                .spawn(move || {
                    let mut stdin = std::io::stdin().lock();
                    let mut chunk = vec![0u8; READ_CHUNK];
                    while let Ok(n) = stdin.read(&mut chunk) {
                        if n == 0 || tx.blocking_send(chunk[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                })
                .map_err(|e| ConnectError::fatal("cannot start the stdin reader").with_source(e))?;
            return Ok(Some(Input::Stdin(rx)));
        };
        let mut file = match File::open(name) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(file = %name, "couldn't find file for FileStreamSourceTask, sleeping to wait for it to be created");
                return Ok(None);
            }
            Err(e) => return Err(ConnectError::fatal(format!("error opening file {name}")).with_source(e)),
        };
        let meta = file.metadata().map_err(|e| ConnectError::fatal(format!("cannot stat {name}")).with_source(e))?;
        if meta.len() < self.position {
            tracing::warn!(file = %name, position = self.position, length = meta.len(), "file is shorter than the committed position: it was truncated or replaced, reading it from the start");
            self.position = 0;
        }
        file.seek(SeekFrom::Start(self.position)).map_err(|e| ConnectError::fatal(format!("cannot seek in {name}")).with_source(e))?;
        self.buffer.clear();
        Ok(Some(Input::File { identity: file_identity(&meta), file }))
    }

    /// Reads what is available; false when there was nothing new.
    async fn read_more(&mut self) -> Result<bool> {
        let start = self.buffer.len();
        match &mut self.input {
            Some(Input::File { file, .. }) => {
                self.buffer.resize(start + READ_CHUNK, 0);
                let n = file.read(&mut self.buffer[start..]);
                let n = match n {
                    Ok(n) => n,
                    Err(e) => {
                        self.buffer.truncate(start);
                        return Err(ConnectError::retriable("error reading the source file").with_source(e));
                    }
                };
                self.buffer.truncate(start + n);
                Ok(n > 0)
            }
            Some(Input::Stdin(rx)) => match tokio::time::timeout(IDLE_WAIT, rx.recv()).await {
                Ok(Some(chunk)) => {
                    self.buffer.extend_from_slice(&chunk);
                    Ok(true)
                }
                // stdin closed or nothing yet: nothing new.
                _ => Ok(false),
            },
            None => Ok(false),
        }
    }

    /// Restarts from the beginning when the file was truncated below our position or replaced
    /// by another file under the same name, as Kafka's task does when it reopens.
    fn check_replaced(&mut self) {
        let (Some(name), Some(Input::File { identity, .. })) = (&self.filename, &self.input) else { return };
        let Ok(meta) = std::fs::metadata(name) else { return };
        let consumed = self.position + self.buffer.len() as u64;
        let replaced = file_identity(&meta) != *identity;
        if meta.len() < consumed || replaced {
            tracing::warn!(file = %name, position = self.position, length = meta.len(), replaced, "source file was truncated or replaced; starting over from the beginning");
            self.position = 0;
            self.input = None;
            self.buffer.clear();
        }
    }

    /// Cuts complete lines (ended by `\n`, `\r\n` or `\r`) off the buffer, up to `batch.size`.
    fn extract_lines(&mut self) -> Vec<SourceRecord> {
        // Room for the lines the buffer likely holds (records are large to move, and growing by
        // doubling copies them), without reserving a whole batch for a file that trickles: a
        // 2,000-record reservation is half a megabyte, which glibc serves by consolidating its
        // free lists first (2% of the source path in a profile).
        let mut records = Vec::with_capacity((self.buffer.len() / 96 + 1).min(self.batch_size));
        let mut consumed = 0usize;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).ok();
        let value_schema = Schema::string();
        while records.len() < self.batch_size {
            let rest = &self.buffer[consumed..];
            // memchr compares a vector of bytes at a time; the iterator scan it replaces went
            // through a 100-byte line one byte at a time.
            let Some(i) = memchr::memchr2(b'\n', b'\r', rest) else { break };
            let end = if rest[i] == b'\r' {
                match rest.get(i + 1) {
                    Some(b'\n') => i + 2,
                    Some(_) => i + 1,
                    // A trailing '\r' may be the first half of "\r\n": wait for more data.
                    None => break,
                }
            } else {
                i + 1
            };
            // Valid UTF-8 is the rule: std's validator is several times faster than the lossy
            // decoder's chunk walk (3% of the source path in a profile).
            let line = match std::str::from_utf8(&rest[..i]) {
                Ok(s) => s.to_owned(),
                Err(_) => String::from_utf8_lossy(&rest[..i]).into_owned(),
            };
            consumed += end;
            let offset = self.filename.as_ref().map(|_| OffsetMap::single("position", Value::Int64((self.position + consumed as u64) as i64)));
            let mut record = SourceRecord::new(self.partition.clone(), offset, self.topic.clone(), Some(value_schema.clone()), Value::String(line));
            record.timestamp = now;
            records.push(record);
        }
        self.buffer.drain(..consumed);
        self.position += consumed as u64;
        records
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Arc;
    use tributary_api::OffsetStorageReader;

    struct Offsets(Option<OffsetMap>);
    #[async_trait]
    impl OffsetStorageReader for Offsets {
        async fn offset(&self, _p: &OffsetMap) -> Result<Option<OffsetMap>> {
            Ok(self.0.clone())
        }
    }

    fn ctx(file: &str, batch: &str, offset: Option<i64>) -> SourceTaskContext {
        let config: ConfigMap = [("file", file), ("topic", "t"), ("batch.size", batch)].iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        let off = offset.map(|p| OffsetMap::from([("position", Value::Int64(p))]));
        SourceTaskContext { config, offset_reader: Arc::new(Offsets(off)) }
    }

    fn lines(records: &[SourceRecord]) -> Vec<String> {
        records.iter().map(|r| r.value.to_string()).collect()
    }

    #[tokio::test]
    async fn reads_lines_with_every_terminator_and_positions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "a\nbb\r\nccc\rdd").unwrap();
        let mut task = FileStreamSourceTask::default();
        task.start(ctx(path.to_str().unwrap(), "10", None)).await.unwrap();
        let recs = task.poll().await.unwrap();
        assert_eq!(lines(&recs), vec!["a", "bb", "ccc"]);
        let positions: Vec<i64> = recs.iter().map(|r| r.meta.source_offset.as_ref().unwrap()["position"].as_i64().unwrap()).collect();
        assert_eq!(positions, vec![2, 6, 10]);
        assert_eq!(recs[0].meta.source_partition["filename"], Value::String(path.to_str().unwrap().into()));
        // The incomplete "dd" waits for its terminator.
        assert!(task.poll().await.unwrap().is_empty());
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"d\n").unwrap();
        assert_eq!(lines(&task.poll().await.unwrap()), vec!["ddd"]);
    }

    #[tokio::test]
    async fn resumes_from_offset_and_honours_batch_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "one\ntwo\nthree\nfour\n").unwrap();
        let mut task = FileStreamSourceTask::default();
        task.start(ctx(path.to_str().unwrap(), "2", Some(4))).await.unwrap();
        assert_eq!(lines(&task.poll().await.unwrap()), vec!["two", "three"]);
        assert_eq!(lines(&task.poll().await.unwrap()), vec!["four"]);
    }

    #[tokio::test]
    async fn starts_over_when_the_file_is_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "first line\nsecond line\n").unwrap();
        let mut task = FileStreamSourceTask::default();
        task.start(ctx(path.to_str().unwrap(), "10", None)).await.unwrap();
        assert_eq!(task.poll().await.unwrap().len(), 2);
        std::fs::write(&path, "x\n").unwrap();
        assert!(task.poll().await.unwrap().is_empty(), "the truncation is noticed on an idle poll");
        assert_eq!(lines(&task.poll().await.unwrap()), vec!["x"]);
    }

    #[tokio::test]
    async fn starts_over_when_the_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "a\n").unwrap();
        let mut task = FileStreamSourceTask::default();
        task.start(ctx(path.to_str().unwrap(), "10", None)).await.unwrap();
        assert_eq!(lines(&task.poll().await.unwrap()), vec!["a"]);
        // A longer file moved into place under the same name (log rotation).
        let next = dir.path().join("next.txt");
        std::fs::write(&next, "first of the new file\nsecond\n").unwrap();
        std::fs::rename(&next, &path).unwrap();
        assert!(task.poll().await.unwrap().is_empty(), "the replacement is noticed on an idle poll");
        let recs = task.poll().await.unwrap();
        assert_eq!(lines(&recs), vec!["first of the new file", "second"]);
        assert_eq!(recs[0].meta.source_offset.as_ref().unwrap()["position"], Value::Int64(22));
    }

    #[tokio::test]
    async fn committed_offset_beyond_the_file_restarts_from_zero() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "a\n").unwrap();
        let mut task = FileStreamSourceTask::default();
        task.start(ctx(path.to_str().unwrap(), "10", Some(100))).await.unwrap();
        assert_eq!(lines(&task.poll().await.unwrap()), vec!["a"]);
    }

    #[test]
    fn topic_must_be_single() {
        let cfg: ConfigMap = [("topic".to_owned(), "a,b".to_owned())].into();
        let err = config_def().parse(&cfg).unwrap_err();
        assert!(err.to_string().contains("requires definition of a single topic"), "{err}");
        let cfg: ConfigMap = ConfigMap::new();
        assert!(config_def().parse(&cfg).unwrap_err().to_string().contains("Missing required configuration \"topic\""));
    }
}
