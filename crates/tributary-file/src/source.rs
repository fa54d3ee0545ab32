//! FileStreamSource: one record per line.

use crate::file_reader::{FileReader, READ_CHUNK};
use crate::lines::Lines;
use crate::{BATCH_SIZE_CONFIG, DEFAULT_BATCH_SIZE, FILE_CONFIG, TOPIC_CONFIG, VERSION};
use async_trait::async_trait;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tributary_api::config::{ConfigKey, ConfigType, Importance, Validator};
use tributary_api::{ConfigDef, ConfigMap, ConnectError, Connector, OffsetMap, Result, SourceConnector, SourceRecord, SourceTask, SourceTaskContext, Value};

/// How long an idle poll waits before returning an empty batch, and how long the file reader
/// waits before looking again at a file with nothing new. Kafka waits up to 1 s; a shorter wait
/// keeps latency low at the cost of a few more `read` calls when idle.
const IDLE_WAIT: Duration = Duration::from_millis(100);

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
    /// A file, read and cut into records by a thread of its own, a batch or two ahead.
    File(FileReader),
    /// Standard input, read by a thread into a bounded channel (reads on stdin block); lines are
    /// cut here.
    Stdin(mpsc::Receiver<Vec<u8>>),
}

/// `org.apache.kafka.connect.file.FileStreamSourceTask`.
#[derive(Default)]
pub struct FileStreamSourceTask {
    filename: Option<String>,
    /// The line cutter's state until the file reader takes it (stdin keeps it here).
    lines: Option<Lines>,
    input: Option<Input>,
}

#[async_trait]
impl SourceTask for FileStreamSourceTask {
    fn version(&self) -> String {
        VERSION.into()
    }

    async fn start(&mut self, context: SourceTaskContext) -> Result<()> {
        let parsed = config_def().parse(context.configs()).map_err(|e| ConnectError::config(e.to_string()))?;
        self.filename = parsed.string(FILE_CONFIG).filter(|f| !f.is_empty()).map(str::to_owned);
        let mut lines = Lines {
            topic: parsed.string(TOPIC_CONFIG).map(str::trim).unwrap_or_default().into(),
            batch_size: usize::try_from(parsed.int(BATCH_SIZE_CONFIG).unwrap_or(DEFAULT_BATCH_SIZE)).unwrap_or(1).max(1),
            with_offsets: self.filename.is_some(),
            ..Lines::default()
        };
        if let Some(f) = &self.filename {
            lines.partition = Arc::new(OffsetMap::from([("filename", Value::String(f.clone()))]));
            if let Some(offset) = context.offset(&lines.partition).await? {
                match offset.get("position").and_then(Value::as_i64) {
                    Some(p) if p >= 0 => lines.position = p as u64,
                    Some(_) | None if offset.get("position").is_none_or(Value::is_null) => {}
                    _ => return Err(ConnectError::data(format!("Offset position is the incorrect type for file {f}: {offset:?}"))),
                }
                tracing::info!(file = %f, position = lines.position, "resuming file source from the committed offset");
            }
        }
        self.lines = Some(lines);
        self.input = None;
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        if self.input.is_none() {
            self.input = Some(self.open()?);
        }
        match &mut self.input {
            // Both waits are cancel-safe: a batch not yet received stays in its channel.
            Some(Input::File(reader)) => match tokio::time::timeout(IDLE_WAIT, reader.batches.recv()).await {
                Ok(Some(batch)) => batch,
                Ok(None) => Err(ConnectError::fatal("the file source's reader stopped")),
                Err(_) => Ok(Vec::new()),
            },
            Some(Input::Stdin(rx)) => {
                let Some(lines) = self.lines.as_mut() else { return Err(ConnectError::fatal("FileStreamSourceTask is not started")) };
                let records = lines.extract();
                if !records.is_empty() {
                    return Ok(records);
                }
                match tokio::time::timeout(IDLE_WAIT, rx.recv()).await {
                    Ok(Some(chunk)) => {
                        lines.buffer.extend_from_slice(&chunk);
                        Ok(lines.extract())
                    }
                    // stdin closed or nothing yet: nothing new.
                    _ => Ok(Vec::new()),
                }
            }
            None => Ok(Vec::new()),
        }
    }

    fn recycle(&mut self, records: Vec<SourceRecord>) {
        match (&self.input, &mut self.lines) {
            (Some(Input::File(reader)), _) => reader.recycle(records),
            (Some(Input::Stdin(_)), Some(lines)) => lines.recycle(records),
            _ => {}
        }
    }

    async fn stop(&mut self) -> Result<()> {
        // Dropping the file reader stops its thread.
        self.input = None;
        Ok(())
    }
}

impl FileStreamSourceTask {
    fn open(&mut self) -> Result<Input> {
        let lines = self.lines.take().ok_or_else(|| ConnectError::fatal("FileStreamSourceTask is not started"))?;
        if let Some(name) = &self.filename {
            return Ok(Input::File(FileReader::start(name.clone(), lines, IDLE_WAIT)?));
        }
        self.lines = Some(lines);
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
        Ok(Input::Stdin(rx))
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
        SourceTaskContext::new(config, Arc::new(Offsets(off)))
    }

    fn lines(records: &[SourceRecord]) -> Vec<String> {
        records.iter().map(|r| r.value.to_string()).collect()
    }

    /// The next batch that is not empty (the reader thread runs on its own schedule).
    async fn next_batch(task: &mut FileStreamSourceTask) -> Vec<SourceRecord> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let batch = task.poll().await.unwrap();
            if !batch.is_empty() {
                return batch;
            }
            assert!(std::time::Instant::now() < deadline, "no records within 10 s");
        }
    }

    /// Polls until `n` records came.
    async fn next_records(task: &mut FileStreamSourceTask, n: usize) -> Vec<SourceRecord> {
        let mut got = Vec::new();
        while got.len() < n {
            got.extend(next_batch(task).await);
        }
        got
    }

    #[tokio::test]
    async fn reads_lines_with_every_terminator_and_positions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "a\nbb\r\nccc\rdd").unwrap();
        let mut task = FileStreamSourceTask::default();
        task.start(ctx(path.to_str().unwrap(), "10", None)).await.unwrap();
        let recs = next_records(&mut task, 3).await;
        assert_eq!(lines(&recs), vec!["a", "bb", "ccc"]);
        let positions: Vec<i64> = recs.iter().map(|r| r.meta.source_offset.as_ref().unwrap()["position"].as_i64().unwrap()).collect();
        assert_eq!(positions, vec![2, 6, 10]);
        assert_eq!(recs[0].meta.source_partition["filename"], Value::String(path.to_str().unwrap().into()));
        // The incomplete "dd" waits for its terminator.
        assert!(task.poll().await.unwrap().is_empty());
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"d\n").unwrap();
        assert_eq!(lines(&next_batch(&mut task).await), vec!["ddd"]);
    }

    #[tokio::test]
    async fn resumes_from_offset_and_honours_batch_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "one\ntwo\nthree\nfour\n").unwrap();
        let mut task = FileStreamSourceTask::default();
        task.start(ctx(path.to_str().unwrap(), "2", Some(4))).await.unwrap();
        assert_eq!(lines(&next_batch(&mut task).await), vec!["two", "three"]);
        assert_eq!(lines(&next_batch(&mut task).await), vec!["four"]);
    }

    #[tokio::test]
    async fn starts_over_when_the_file_is_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "first line\nsecond line\n").unwrap();
        let mut task = FileStreamSourceTask::default();
        task.start(ctx(path.to_str().unwrap(), "10", None)).await.unwrap();
        assert_eq!(next_records(&mut task, 2).await.len(), 2);
        std::fs::write(&path, "x\n").unwrap();
        assert_eq!(lines(&next_batch(&mut task).await), vec!["x"]);
    }

    #[tokio::test]
    async fn starts_over_when_the_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "a\n").unwrap();
        let mut task = FileStreamSourceTask::default();
        task.start(ctx(path.to_str().unwrap(), "10", None)).await.unwrap();
        assert_eq!(lines(&next_batch(&mut task).await), vec!["a"]);
        // A longer file moved into place under the same name (log rotation).
        let next = dir.path().join("next.txt");
        std::fs::write(&next, "first of the new file\nsecond\n").unwrap();
        std::fs::rename(&next, &path).unwrap();
        let recs = next_records(&mut task, 2).await;
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
        assert_eq!(lines(&next_batch(&mut task).await), vec!["a"]);
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
