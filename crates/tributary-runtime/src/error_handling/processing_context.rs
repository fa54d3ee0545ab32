//! What a failure is about (Kafka's `ProcessingContext`): the stage it happened in, the record
//! as bytes, and where failed records go. A leaf the reporters share.

/// Where in the pipeline an error happened (Kafka's `Stage`, the DLQ `stage` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    KeyConverter,
    ValueConverter,
    HeaderConverter,
    Transformation,
    TaskPut,
    KafkaProduce,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::HeaderConverter => "HEADER_CONVERTER",
            Stage::Transformation => "TRANSFORMATION",
            Stage::TaskPut => "TASK_PUT",
            Stage::KafkaProduce => "KAFKA_PRODUCE",
        }
    }
}

/// The dead letter queue settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetterQueue {
    pub topic: String,
    pub replication_factor: i16,
    pub context_headers: bool,
}

/// The record an error is about, as bytes: a consumed record (sinks) or a produced one
/// (sources), with its coordinates for the log and the context headers.
#[derive(Debug, Clone, Default)]
pub struct RawRecord {
    pub topic: String,
    pub partition: Option<i32>,
    pub offset: Option<i64>,
    pub timestamp: Option<i64>,
    /// `CreateTime` or `LogAppendTime`, for the log line.
    pub timestamp_type: Option<&'static str>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Extra context headers (sources: the source partition and offset).
    pub extra_headers: Vec<(String, String)>,
}
