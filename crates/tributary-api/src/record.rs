//! Records: what source tasks produce and sink tasks receive (`ConnectRecord`, `SourceRecord`,
//! `SinkRecord`). One generic [`ConnectRecord`] carries the common fields; the metadata type
//! parameter holds what is specific to each direction, so transformations are written once.

use crate::converter::SchemaAndValue;
use crate::data::Value;
use crate::header::Headers;
pub use crate::offset_map::OffsetMap;
use crate::schema::SchemaRef;
use std::sync::Arc;

/// A Connect record. See [`SourceRecord`] and [`SinkRecord`]: build one with
/// [`SourceRecord::new`] or [`SinkRecord::new`] and the `with_*` methods. Fields may be added
/// (not a breaking change), so other crates cannot build or destructure it field by field.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ConnectRecord<M> {
    /// Destination (source) or origin (sink) topic. Shared: every record of a stream names the
    /// same topic, and a copy per record was an allocation, a copy and a free each.
    pub topic: Arc<str>,
    /// Kafka partition; `None` lets the producer's partitioner choose.
    pub kafka_partition: Option<i32>,
    pub key_schema: Option<SchemaRef>,
    pub key: Value,
    pub value_schema: Option<SchemaRef>,
    pub value: Value,
    /// Milliseconds since the epoch.
    pub timestamp: Option<i64>,
    pub headers: Headers,
    /// Direction-specific metadata.
    pub meta: M,
}

/// What a source record adds: where in the external system it came from.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct SourceMeta {
    /// Identifies the stream in the external system, e.g. `{"filename": "/tmp/in.txt"}`.
    /// Shared: a task makes one map per stream and hands every record of it a reference, not
    /// a copy (a copy per record was an eighth of a file source's CPU).
    pub source_partition: Arc<OffsetMap>,
    /// The position after this record in that stream, e.g. `{"position": 1234}`.
    /// `None` means the record has no offset to commit (stdin, for example).
    pub source_offset: Option<OffsetMap>,
}

/// Kafka's timestamp type of a consumed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampType {
    #[default]
    NoTimestampType,
    CreateTime,
    LogAppendTime,
}

/// What a sink record adds: its coordinates in Kafka, before any transformation.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct SinkMeta {
    pub kafka_offset: i64,
    pub timestamp_type: TimestampType,
    pub original_topic: Arc<str>,
    pub original_kafka_partition: i32,
    pub original_kafka_offset: i64,
}

impl SourceMeta {
    #[inline]
    pub fn new(source_partition: impl Into<Arc<OffsetMap>>, source_offset: Option<OffsetMap>) -> Self {
        SourceMeta { source_partition: source_partition.into(), source_offset }
    }
}

impl SinkMeta {
    /// The metadata of a record as consumed from `topic`, `partition`, `offset`: those are its
    /// original coordinates too.
    #[inline]
    pub fn new(topic: impl Into<Arc<str>>, partition: i32, offset: i64) -> Self {
        SinkMeta {
            kafka_offset: offset,
            timestamp_type: TimestampType::NoTimestampType,
            original_topic: topic.into(),
            original_kafka_partition: partition,
            original_kafka_offset: offset,
        }
    }
}

/// A record produced by a source task.
pub type SourceRecord = ConnectRecord<SourceMeta>;

/// What transformations may ask of a record's direction-specific metadata.
pub trait RecordMeta: Clone + Send + Sync + 'static {
    /// The record's Kafka offset: sink records only.
    fn kafka_offset(&self) -> Option<i64>;
}

impl RecordMeta for SourceMeta {
    fn kafka_offset(&self) -> Option<i64> {
        None
    }
}

impl RecordMeta for SinkMeta {
    fn kafka_offset(&self) -> Option<i64> {
        Some(self.kafka_offset)
    }
}
/// A record delivered to a sink task.
pub type SinkRecord = ConnectRecord<SinkMeta>;

impl SourceRecord {
    /// A source record with a value and no key, headers or timestamp.
    pub fn new(
        source_partition: impl Into<Arc<OffsetMap>>,
        source_offset: Option<OffsetMap>,
        topic: impl Into<Arc<str>>,
        value_schema: Option<SchemaRef>,
        value: Value,
    ) -> Self {
        Self {
            topic: topic.into(),
            kafka_partition: None,
            key_schema: None,
            key: Value::Null,
            value_schema,
            value,
            timestamp: None,
            headers: Headers::new(),
            meta: SourceMeta { source_partition: source_partition.into(), source_offset },
        }
    }
}

impl SourceRecord {
    /// Makes this record what [`SourceRecord::new`] would build with these arguments and a
    /// value still to write, keeping its allocations: a task that refills records handed back
    /// by [`SourceTask::recycle`](crate::SourceTask::recycle) writes the value in place
    /// (clearing and refilling a string). The shared parts are replaced only when they differ,
    /// so no reference count is touched per record. Returns the value to write.
    #[inline]
    pub fn reset(
        &mut self,
        source_partition: &Arc<OffsetMap>,
        source_offset: Option<OffsetMap>,
        topic: &Arc<str>,
        value_schema: Option<&SchemaRef>,
    ) -> &mut Value {
        // Every field is named: a field added to records fails to compile here until it is
        // reset too.
        let ConnectRecord {
            topic: t,
            kafka_partition,
            key_schema,
            key,
            value_schema: vs,
            value,
            timestamp,
            headers,
            meta: SourceMeta { source_partition: sp, source_offset: so },
        } = self;
        if !Arc::ptr_eq(t, topic) {
            *t = topic.clone();
        }
        *kafka_partition = None;
        *key_schema = None;
        *key = Value::Null;
        match (vs.as_ref(), value_schema) {
            (Some(a), Some(b)) if Arc::ptr_eq(a, b) => {}
            _ => *vs = value_schema.cloned(),
        }
        *timestamp = None;
        if !headers.is_empty() {
            *headers = Headers::new();
        }
        if !Arc::ptr_eq(sp, source_partition) {
            *sp = source_partition.clone();
        }
        *so = source_offset;
        value
    }
}

impl SinkRecord {
    /// A record as consumed from `topic`, `partition` at `kafka_offset`, with no timestamp
    /// or headers (`with_timestamp`, `with_headers`).
    #[inline]
    pub fn new(topic: impl Into<Arc<str>>, partition: i32, key: SchemaAndValue, value: SchemaAndValue, kafka_offset: i64) -> Self {
        let topic = topic.into();
        Self {
            topic: topic.clone(),
            kafka_partition: Some(partition),
            key_schema: key.schema,
            key: key.value,
            value_schema: value.schema,
            value: value.value,
            timestamp: None,
            headers: Headers::new(),
            meta: SinkMeta::new(topic, partition, kafka_offset),
        }
    }

    /// With Kafka's timestamp type of the record's timestamp.
    #[inline]
    pub fn with_timestamp_type(mut self, timestamp_type: TimestampType) -> Self {
        self.meta.timestamp_type = timestamp_type;
        self
    }
}

impl<M> ConnectRecord<M> {
    /// With a key (and its schema).
    #[inline]
    pub fn with_key(mut self, key_schema: Option<SchemaRef>, key: Value) -> Self {
        self.key_schema = key_schema;
        self.key = key;
        self
    }

    /// With a Kafka partition; `None` lets the producer's partitioner choose.
    #[inline]
    pub fn with_kafka_partition(mut self, kafka_partition: Option<i32>) -> Self {
        self.kafka_partition = kafka_partition;
        self
    }

    /// With a timestamp, in milliseconds since the epoch.
    #[inline]
    pub fn with_timestamp(mut self, timestamp: Option<i64>) -> Self {
        self.timestamp = timestamp;
        self
    }

    #[inline]
    pub fn with_headers(mut self, headers: Headers) -> Self {
        self.headers = headers;
        self
    }

    /// A copy with new topic, partition, key and value: what a transformation returns
    /// (Java's `newRecord`). Headers and metadata are kept.
    pub fn new_record(
        &self,
        topic: impl Into<Arc<str>>,
        kafka_partition: Option<i32>,
        key: SchemaAndValue,
        value: SchemaAndValue,
        timestamp: Option<i64>,
    ) -> Self
    where
        M: Clone,
    {
        Self {
            topic: topic.into(),
            kafka_partition,
            key_schema: key.schema,
            key: key.value,
            value_schema: value.schema,
            value: value.value,
            timestamp,
            headers: self.headers.clone(),
            meta: self.meta.clone(),
        }
    }
}

/// Where the broker stored a produced record, handed to `SourceTask::commit_record`. Borrowed
/// from the runtime's bookkeeping: a task that keeps it copies what it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordMetadata<'a> {
    /// The topic written to: the record's own, or the one a transformation routed it to.
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
}

impl<'a> RecordMetadata<'a> {
    #[inline]
    pub fn new(topic: &'a str, partition: i32, offset: i64) -> Self {
        RecordMetadata { topic, partition, offset }
    }
}
