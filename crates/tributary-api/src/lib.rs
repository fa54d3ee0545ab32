//! The public API of Tributary: what a connector, converter or transformation author depends on.
//!
//! It mirrors `org.apache.kafka.connect.*` (the `connect-api` artifact) so that Kafka Connect's
//! documentation keeps helping: the same data model ([`Schema`], [`Value`], [`Struct`]), the same
//! records ([`SourceRecord`], [`SinkRecord`]), the same plugin lifecycles ([`Connector`],
//! [`SourceTask`], [`SinkTask`], [`Converter`], [`Transformation`], [`Predicate`]) and the same
//! configuration metadata ([`ConfigDef`]).
//!
//! This crate depends on no other Tributary crate: dependencies point inward, toward it.

pub mod config;
pub mod connector;
pub mod converter;
pub mod data;
pub mod error;
pub mod header;
pub mod offset_map;
pub mod plugin;
pub mod record;
pub mod schema;
pub mod sink;
pub mod source;
pub mod transform;
pub mod values;

pub use config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, ParsedConfig, Width};
pub use connector::{Connector, ConnectorContext, ConnectorTransactionBoundaries, ExactlyOnceSupport, SinkConnector, SourceConnector};
pub use converter::{Converter, HeaderConverter, SchemaAndValue};
pub use data::{Decimal, Struct, Value};
pub use error::{ConnectError, ErrorKind, Result};
pub use header::{Header, Headers};
pub use offset_map::OffsetKey;
pub use plugin::{ConnectorPlugin, ConnectorType, PluginType};
pub use record::{ConnectRecord, OffsetMap, RecordMeta, RecordMetadata, SinkMeta, SinkRecord, SourceMeta, SourceRecord, TimestampType};
pub use schema::{Field, Schema, SchemaBuilder, SchemaRef, SchemaType};
pub use sink::{ErrantRecordReporter, SinkTask, SinkTaskContext, TopicPartition};
pub use source::{OffsetStorageReader, SourceTask, SourceTaskContext};
pub use transform::{Predicate, Transformation};
