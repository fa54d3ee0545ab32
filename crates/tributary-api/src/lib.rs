//! The public API of Tributary: what a connector, converter or transformation author depends on.
//!
//! It mirrors `org.apache.kafka.connect.*` (the `connect-api` artifact) so that Kafka Connect's
//! documentation keeps helping: the same data model ([`Schema`], [`Value`], [`Struct`]), the same
//! records ([`SourceRecord`], [`SinkRecord`]), the same plugin lifecycles ([`Connector`],
//! [`SourceTask`], [`SinkTask`], [`Converter`], [`Transformation`], [`Predicate`]) and the same
//! configuration metadata ([`ConfigDef`]).
//!
//! This crate depends on no other Tributary crate: dependencies point inward, toward it.
//!
//! # What a connector can ask of the runtime
//!
//! A connector gets a [`ConnectorContext`] in [`Connector::initialize`]: it can ask for its task
//! configs to be generated again ([`ConnectorContext::request_task_reconfiguration`]), fail
//! itself ([`ConnectorContext::raise_error`]) and read its committed source offsets. A source
//! task gets a [`SourceTaskContext`] (its config, offsets one by one or many at once), a sink
//! task a [`SinkTaskContext`] (rewinds, `timeout`, assignment, pause and resume, commit
//! requests, the errant record reporter). A plugin crate returns its descriptors as a
//! [`PluginSet`]; a worker registers them.
//!
//! # Stability
//!
//! Not breaking: a new method with a default on a trait that plugins implement ([`Connector`],
//! [`SourceTask`], [`SinkTask`], [`Converter`], [`Transformation`], ...), a new method on an
//! opaque type ([`SourceTaskContext`]), a new variant of a `#[non_exhaustive]` enum, a new field
//! of a `#[non_exhaustive]` struct ([`PluginSet`], [`ConnectRecord`], [`SourceMeta`],
//! [`SinkMeta`], [`RecordMetadata`] and the plugin descriptors: other crates build them with
//! their constructors and `with_*` methods). Breaking: a new required trait method, a changed
//! signature, and a new method without a default on [`SinkTaskContext`] or
//! [`ConnectorContext`] for code that implements them (the runtime does; tests' fakes may).

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
pub use plugin::{
    ConnectorPlugin, ConnectorType, ConverterPlugin, HeaderConverterPlugin, PluginName, PluginSet, PluginType, PredicatePlugin, TransformationPlugin,
};
pub use record::{ConnectRecord, OffsetMap, RecordMeta, RecordMetadata, SinkMeta, SinkRecord, SourceMeta, SourceRecord, TimestampType};
pub use schema::{Field, Schema, SchemaBuilder, SchemaRef, SchemaType};
pub use sink::{ErrantRecordReporter, SinkTask, SinkTaskContext, TopicPartition};
pub use source::{OffsetStorageReader, SourceTask, SourceTaskContext};
pub use transform::{Predicate, Transformation};

/// Third-party types that appear in this API, re-exported on purpose so a plugin uses the same
/// versions: `Decimal`'s unscaled value and `Schema::parameters`' map.
pub use indexmap::IndexMap;
pub use num_bigint::BigInt;

/// The attribute that the plugin traits are written with: re-exported so a plugin crate needs
/// no dependency of its own, at the same version as this crate's.
pub use async_trait::async_trait;
