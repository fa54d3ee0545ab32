//! FileStreamSink: appends each record's value and a newline.

use crate::{FILE_CONFIG, VERSION};
use async_trait::async_trait;
use std::io::Write;
use std::sync::Arc;
use tributary_api::config::{ConfigKey, ConfigType, Importance};
use tributary_api::sink::Offsets;
use tributary_api::{ConfigDef, ConfigMap, ConnectError, Connector, Result, SinkConnector, SinkRecord, SinkTask, SinkTaskContext};

fn config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new(FILE_CONFIG, ConfigType::String, Importance::High, "Destination filename. If not specified, the standard output will be used")
            .default_null(),
    )
}

/// `org.apache.kafka.connect.file.FileStreamSinkConnector`: `tasks.max` identical tasks.
#[derive(Default)]
pub struct FileStreamSinkConnector {
    config: ConfigMap,
}

#[async_trait]
impl Connector for FileStreamSinkConnector {
    fn version(&self) -> String {
        VERSION.into()
    }
    fn config_def(&self) -> ConfigDef {
        config_def()
    }
    async fn start(&mut self, config: ConfigMap) -> Result<()> {
        self.config = config;
        Ok(())
    }
    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<ConfigMap>> {
        Ok(vec![self.config.clone(); max_tasks])
    }
    fn alter_offsets(&self, _config: &ConfigMap, _offsets: &[(tributary_api::OffsetMap, Option<tributary_api::OffsetMap>)]) -> Result<bool> {
        // Its only offsets are the consumer group's.
        Ok(true)
    }
    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

impl SinkConnector for FileStreamSinkConnector {
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::<FileStreamSinkTask>::default()
    }
    fn task_class(&self) -> &'static str {
        "org.apache.kafka.connect.file.FileStreamSinkTask"
    }
}

enum Output {
    File(std::io::BufWriter<std::fs::File>),
    Stdout(std::io::Stdout),
}

/// `org.apache.kafka.connect.file.FileStreamSinkTask`.
#[derive(Default)]
pub struct FileStreamSinkTask {
    filename: Option<String>,
    output: Option<Output>,
}

#[async_trait]
impl SinkTask for FileStreamSinkTask {
    fn version(&self) -> String {
        VERSION.into()
    }

    /// Only values are written, as in Kafka's FileStreamSink.
    fn reads_headers(&self) -> bool {
        false
    }

    async fn start(&mut self, context: Arc<dyn SinkTaskContext>) -> Result<()> {
        self.filename = context.config().get(FILE_CONFIG).filter(|f| !f.is_empty()).cloned();
        self.output = Some(match &self.filename {
            Some(name) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(name)
                    .map_err(|e| ConnectError::fatal(format!("Couldn't find or create file '{name}' for FileStreamSinkTask")).with_source(e))?;
                Output::File(std::io::BufWriter::with_capacity(64 * 1024, file))
            }
            None => Output::Stdout(std::io::stdout()),
        });
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<()> {
        let out = self.output.as_mut().ok_or_else(|| ConnectError::fatal("FileStreamSinkTask is not started"))?;
        let write = |w: &mut dyn Write| -> std::io::Result<()> {
            for r in records {
                match &r.value {
                    // The common case, without the formatting machinery.
                    tributary_api::Value::String(v) => {
                        w.write_all(v.as_bytes())?;
                        w.write_all(b"\n")?;
                    }
                    other => writeln!(w, "{other}")?,
                }
            }
            // Hand each batch to the OS so readers see lines at once, as Kafka's sink does;
            // durability (fsync) waits for `flush`, before offsets are committed.
            w.flush()
        };
        match out {
            Output::File(f) => write(f),
            Output::Stdout(s) => write(&mut s.lock()),
        }
        .map_err(|e| ConnectError::retriable("error writing to the sink file").with_source(e))
    }

    async fn flush(&mut self, _offsets: &Offsets) -> Result<()> {
        // Offsets are committed right after this returns: the lines must be on disk, not just in
        // the page cache, or a machine crash would lose records the group has moved past.
        match &mut self.output {
            Some(Output::File(f)) => {
                f.flush().and_then(|_| f.get_ref().sync_data()).map_err(|e| ConnectError::retriable("error flushing the sink file").with_source(e))
            }
            Some(Output::Stdout(s)) => s.flush().map_err(|e| ConnectError::retriable("error flushing stdout").with_source(e)),
            None => Ok(()),
        }
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some(Output::File(mut f)) = self.output.take() {
            f.flush().map_err(|e| ConnectError::fatal("error closing the sink file").with_source(e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_api::{SchemaAndValue, TopicPartition, Value};

    struct Ctx(ConfigMap);
    impl SinkTaskContext for Ctx {
        fn config(&self) -> &ConfigMap {
            &self.0
        }
        fn offset(&self, _tp: TopicPartition, _offset: i64) {}
        fn assignment(&self) -> Vec<TopicPartition> {
            Vec::new()
        }
        fn pause(&self, _p: &[TopicPartition]) {}
        fn resume(&self, _p: &[TopicPartition]) {}
        fn request_commit(&self) {}
        fn timeout(&self, _ms: u64) {}
    }

    fn record(value: Value) -> SinkRecord {
        SinkRecord::new("t", 0, SchemaAndValue { schema: None, value: Value::Null }, SchemaAndValue { schema: None, value }, 0)
    }

    #[tokio::test]
    async fn appends_values_and_makes_them_visible_per_batch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        std::fs::write(&path, "existing\n").unwrap();
        let config: ConfigMap = [("file".to_owned(), path.to_str().unwrap().to_owned())].into();
        let mut task = FileStreamSinkTask::default();
        task.start(Arc::new(Ctx(config))).await.unwrap();
        task.put(&[record(Value::String("a".into())), record(Value::Int32(7)), record(Value::Null)]).await.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "existing\na\n7\nnull\n", "visible before flush");
        task.flush(&Offsets::new()).await.unwrap();
        task.stop().await.unwrap();
    }
}
