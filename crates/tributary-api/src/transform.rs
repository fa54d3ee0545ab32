//! Single message transforms and predicates (`org.apache.kafka.connect.transforms.Transformation`,
//! `...transforms.predicates.Predicate`). Written once over [`ConnectRecord<M>`]: the same
//! transformation serves sources (`M = SourceMeta`) and sinks (`M = SinkMeta`).

use crate::config::{ConfigDef, ConfigMap};
use crate::error::Result;
use crate::record::ConnectRecord;

/// Transforms one record at a time.
pub trait Transformation<M>: Send + Sync {
    /// Configures the transformation with its `transforms.<alias>.` settings, prefix stripped.
    fn configure(&mut self, config: &ConfigMap) -> Result<()>;
    /// Returns the transformed record, or `None` to drop it.
    fn apply(&self, record: ConnectRecord<M>) -> Result<Option<ConnectRecord<M>>>;
    fn config_def(&self) -> ConfigDef;
}

/// Decides whether a transformation applies to a record.
pub trait Predicate<M>: Send + Sync {
    /// Configures the predicate with its `predicates.<alias>.` settings, prefix stripped.
    fn configure(&mut self, config: &ConfigMap) -> Result<()>;
    fn test(&self, record: &ConnectRecord<M>) -> bool;
    fn config_def(&self) -> ConfigDef;
}
