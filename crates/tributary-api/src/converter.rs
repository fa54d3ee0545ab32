//! Converters between Connect data and the bytes in Kafka (`org.apache.kafka.connect.storage.Converter`).
//!
//! Converters are synchronous and do no IO per record: they sit on the hot path. A converter
//! that needs remote data (a Schema Registry's schemas and ids) keeps it behind a cache of its
//! own (both ways: schema → id for `from_connect_data`, id → schema for `to_connect_data`) and,
//! on a miss, fetches with a blocking call bounded by a timeout. That is safe: converters run
//! only on their task's own thread (the task's loop, on a runtime of its own), so a miss
//! delays that task alone, once per schema. Use a client that blocks without an async runtime
//! of its own (a plain HTTP client, or a thread the converter owns that it waits on): a client
//! that starts or drops a tokio runtime inside the task's runtime panics. A retriable
//! [`crate::ConnectError`] from a failed fetch gets the connector's retries
//! (`errors.retry.timeout`). `crates/tributary-runtime/tests/converter_fetch.rs` is such a
//! converter, end to end.

use crate::config::{ConfigDef, ConfigMap};
use crate::data::Value;
use crate::error::Result;
use crate::header::Headers;
use crate::schema::SchemaRef;
use std::borrow::Cow;

/// A value with its (optional) schema.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaAndValue {
    pub schema: Option<SchemaRef>,
    pub value: Value,
}

impl SchemaAndValue {
    /// Null schema and null value (a tombstone).
    pub const NULL: SchemaAndValue = SchemaAndValue { schema: None, value: Value::Null };
}

/// Converts keys or values.
// `from_connect_data` and `to_connect_data` are Kafka's names, where connector authors look.
#[allow(clippy::wrong_self_convention)]
pub trait Converter: Send + Sync {
    /// Configures the converter with its prefix-stripped settings (`schemas.enable`, ...).
    fn configure(&mut self, config: &ConfigMap, is_key: bool) -> Result<()>;

    /// Serializes a value; `None` means a null record key or value. A converter whose output
    /// is the value's own bytes (String, ByteArray) lends them instead of copying: the producer
    /// copies them once more anyway.
    fn from_connect_data<'v>(&self, topic: &str, headers: &mut Headers, schema: Option<&SchemaRef>, value: &'v Value) -> Result<Option<Cow<'v, [u8]>>>;

    /// Deserializes bytes; `None` is a null key or value.
    fn to_connect_data(&self, topic: &str, headers: &Headers, bytes: Option<&[u8]>) -> Result<SchemaAndValue>;

    /// Whether `to_connect_data` reads its `headers`; `false` lets a sink task that ignores
    /// headers skip decoding them ([`crate::SinkTask::reads_headers`]).
    fn reads_headers(&self) -> bool {
        true
    }

    /// The converter's own keys.
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }
}

/// Converts header values (`org.apache.kafka.connect.storage.HeaderConverter`).
#[allow(clippy::wrong_self_convention)]
pub trait HeaderConverter: Send + Sync {
    fn configure(&mut self, config: &ConfigMap) -> Result<()>;
    fn from_connect_header(&self, topic: &str, key: &str, schema: Option<&SchemaRef>, value: &Value) -> Result<Option<Vec<u8>>>;
    fn to_connect_header(&self, topic: &str, key: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue>;
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }
}
