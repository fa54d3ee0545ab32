//! The sink: one line per record, made durable before the worker commits the records' offsets.

use crate::VERSION;
use std::io::Write;
use std::sync::Arc;
use tributary_api::config::{ConfigKey, ConfigType, Importance};
use tributary_api::sink::Offsets;
use tributary_api::{async_trait, ConfigDef, ConfigMap, ConnectError, Connector, Result, SinkConnector, SinkRecord, SinkTask, SinkTaskContext, Value};

const FILE: &str = "file";

fn config_def() -> ConfigDef {
    ConfigDef::new().define(ConfigKey::new(FILE, ConfigType::String, Importance::High, "The file to append records to"))
}

#[derive(Default)]
pub struct RecordLogSinkConnector {
    config: ConfigMap,
}

#[async_trait]
impl Connector for RecordLogSinkConnector {
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
    /// One task: several tasks appending to one file would interleave their lines.
    async fn task_configs(&mut self, _max_tasks: usize) -> Result<Vec<ConfigMap>> {
        Ok(vec![self.config.clone()])
    }
    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

impl SinkConnector for RecordLogSinkConnector {
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::<RecordLogSinkTask>::default()
    }
    fn task_class(&self) -> &'static str {
        "com.example.RecordLogSinkTask"
    }
}

#[derive(Default)]
pub struct RecordLogSinkTask {
    out: Option<std::io::BufWriter<std::fs::File>>,
    path: String,
}

/// A value as one line of text.
fn render(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::String(s) => s.to_string(),
        Value::Int8(n) => n.to_string(),
        Value::Int16(n) => n.to_string(),
        Value::Int32(n) => n.to_string(),
        Value::Int64(n) => n.to_string(),
        Value::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

impl RecordLogSinkTask {
    fn io_error(&self, what: &str, e: std::io::Error) -> ConnectError {
        // Retriable: the worker puts the same batch again, and commits nothing meanwhile.
        ConnectError::retriable(format!("cannot {what} {}: {e}", self.path))
    }
}

#[async_trait]
impl SinkTask for RecordLogSinkTask {
    fn version(&self) -> String {
        VERSION.into()
    }

    async fn start(&mut self, context: Arc<dyn SinkTaskContext>) -> Result<()> {
        self.path = context.config().get(FILE).cloned().unwrap_or_default();
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&self.path).map_err(|e| self.io_error("open", e))?;
        self.out = Some(std::io::BufWriter::new(file));
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<()> {
        let mut lines = String::new();
        for r in records {
            let partition = r.kafka_partition.unwrap_or(-1);
            lines.push_str(&format!("{}-{partition}@{} {}\n", r.topic, r.meta.kafka_offset, render(&r.value)));
        }
        let written = match self.out.as_mut() {
            Some(out) => out.write_all(lines.as_bytes()),
            None => return Err(ConnectError::fatal("put before start")),
        };
        written.map_err(|e| self.io_error("write to", e))
    }

    /// Offsets are committed right after this returns: everything `put` so far must be on disk.
    async fn flush(&mut self, _offsets: &Offsets) -> Result<()> {
        let synced = match self.out.as_mut() {
            Some(out) => out.flush().and_then(|()| out.get_ref().sync_data()),
            None => Ok(()),
        };
        synced.map_err(|e| self.io_error("sync", e))
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some(mut out) = self.out.take() {
            out.flush().map_err(|e| self.io_error("flush", e))?;
        }
        Ok(())
    }

    /// Headers are never read: the worker may skip decoding them.
    fn reads_headers(&self) -> bool {
        false
    }
}
