//! Kafka's `LogReporter`: one error line per failed record (`errors.log.enable`), with the
//! record's coordinates and, with `errors.log.include.messages`, its key and value.

use super::processing_context::{RawRecord, Stage};
use tributary_api::ConnectError;

pub struct LogReporter {
    connector: String,
    task_id: u32,
    enabled: bool,
    include_messages: bool,
}

impl LogReporter {
    pub fn new(connector: &str, task_id: u32, enabled: bool, include_messages: bool) -> Self {
        Self { connector: connector.to_owned(), task_id, enabled, include_messages }
    }

    /// Logs the failure, when `errors.log.enable` is set.
    pub fn report(&self, record: &RawRecord, stage: Stage, class: &str, error: &ConnectError) {
        if !self.enabled {
            return;
        }
        // Kafka's line, with the record's coordinates always (they identify the record, not
        // its content) and its key and value only with errors.log.include.messages.
        let mut line = format!(
            "Error encountered in task {}-{}. Executing stage '{}' with class '{class}', where {} record is {{topic='{}'",
            self.connector,
            self.task_id,
            stage.as_str(),
            if record.offset.is_some() { "consumed" } else { "source" },
            record.topic
        );
        if let Some(p) = record.partition {
            line.push_str(&format!(", partition={p}"));
        }
        if let Some(o) = record.offset {
            line.push_str(&format!(", offset={o}"));
        }
        if let (Some(ts), Some(tt)) = (record.timestamp, record.timestamp_type) {
            line.push_str(&format!(", timestamp={ts}, timestampType={tt}"));
        }
        for (k, v) in &record.extra_headers {
            line.push_str(&format!(", {k}={v}"));
        }
        if self.include_messages {
            let show = |b: &Option<Vec<u8>>| match b {
                None => "null".to_owned(),
                Some(b) => String::from_utf8_lossy(&b[..b.len().min(1024)]).into_owned(),
            };
            line.push_str(&format!(", key={}, value={}", show(&record.key), show(&record.value)));
        }
        line.push_str("}.");
        tracing::error!(connector = %self.connector, task = self.task_id, error = %error.trace(), "{line}");
    }
}
