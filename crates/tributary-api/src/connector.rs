//! Connectors: configure a source or sink and split its work into task configs
//! (`org.apache.kafka.connect.connector.Connector`).

use crate::config::{ConfigDef, ConfigMap, ValidatedValue};
use crate::error::{ConnectError, Result};
use crate::sink::SinkTask;
use crate::source::{OffsetStorageReader, SourceTask};
use async_trait::async_trait;
use std::sync::Arc;

/// What a connector can ask of the runtime (`ConnectorContext`, and for sources
/// `SourceConnectorContext`). Handed to [`Connector::initialize`]; callable from any thread,
/// at any time while the connector runs, and cheap: calls after the connector stopped are
/// ignored.
pub trait ConnectorContext: Send + Sync {
    /// Asks the runtime to call [`Connector::task_configs`] again, e.g. when the external system
    /// gained or lost tables. When the configs differ from the running ones they replace them:
    /// tasks whose config changed restart, surplus tasks stop, new tasks start; tasks whose
    /// config is the same keep running. Requests made while one is pending are merged.
    fn request_task_reconfiguration(&self);

    /// Reports an error the connector cannot recover from: the connector is marked FAILED with
    /// the error's trace (its tasks keep running, as in Kafka), until it is restarted.
    fn raise_error(&self, error: ConnectError);

    /// The reader of this connector's committed source offsets; `None` for a sink connector
    /// (whose offsets are the consumer group's).
    fn offset_storage_reader(&self) -> Option<Arc<dyn OffsetStorageReader>> {
        None
    }
}

/// Whether a source connector can deliver exactly once with a given config
/// (`org.apache.kafka.connect.source.ExactlyOnceSupport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExactlyOnceSupport {
    Supported,
    Unsupported,
}

/// Whether a source connector can define its own transaction boundaries with a given config
/// (`org.apache.kafka.connect.source.ConnectorTransactionBoundaries`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectorTransactionBoundaries {
    Supported,
    Unsupported,
}

/// The lifecycle shared by source and sink connectors.
///
/// The runtime calls `start`, then `task_configs` whenever it needs the task list, and `stop`
/// on shutdown, pause or reconfiguration. Every call is bounded by a timeout in the runtime;
/// a connector that blocks is reported, not waited on forever.
#[async_trait]
pub trait Connector: Send {
    /// The connector's version, reported by the REST API.
    fn version(&self) -> String;

    /// The connector's own keys (framework keys such as `tasks.max` are added by the runtime).
    fn config_def(&self) -> ConfigDef;

    /// Validates a configuration without side effects (no IO): the REST validate endpoint and
    /// connector creation call it. The default checks the keys of [`Connector::config_def`].
    fn validate(&self, config: &ConfigMap) -> Vec<ValidatedValue> {
        self.config_def().validate(config)
    }

    /// Called once, before [`Connector::start`], with what the connector may ask of the
    /// runtime while it runs. A connector that never reconfigures itself can ignore it.
    fn initialize(&mut self, _context: Arc<dyn ConnectorContext>) {}

    /// Starts the connector with its (validated) configuration.
    async fn start(&mut self, config: ConfigMap) -> Result<()>;

    /// Splits the work into at most `max_tasks` task configurations.
    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<ConfigMap>>;

    /// Stops the connector. Must return promptly.
    async fn stop(&mut self) -> Result<()>;

    /// Called before the framework alters (or, with every offset `None`, resets) this
    /// connector's offsets through the REST API (KIP-875), while the connector is stopped.
    /// Return an error to refuse the change, `Ok(true)` when the connector manages no offsets of
    /// its own elsewhere, `Ok(false)` (the default) when it may.
    fn alter_offsets(&self, _config: &ConfigMap, _offsets: &[(crate::OffsetMap, Option<crate::OffsetMap>)]) -> Result<bool> {
        Ok(false)
    }
}

/// A connector that copies data from an external system into Kafka.
pub trait SourceConnector: Connector {
    /// A new, unstarted task.
    fn create_task(&self) -> Box<dyn SourceTask>;
    /// The task's class name, reported as `task.class` in task configs.
    fn task_class(&self) -> &'static str;

    /// Whether this connector delivers exactly once with `config` (KIP-618), asked when
    /// `exactly.once.support=required`. `None` (the default) means it does not say.
    fn exactly_once_support(&self, _config: &ConfigMap) -> Option<ExactlyOnceSupport> {
        None
    }

    /// Whether this connector can define transaction boundaries with `config`, asked when
    /// `transaction.boundary=connector`.
    fn can_define_transaction_boundaries(&self, _config: &ConfigMap) -> ConnectorTransactionBoundaries {
        ConnectorTransactionBoundaries::Unsupported
    }
}

/// A connector that copies data from Kafka into an external system.
pub trait SinkConnector: Connector {
    /// A new, unstarted task.
    fn create_task(&self) -> Box<dyn SinkTask>;
    /// The task's class name, reported as `task.class` in task configs.
    fn task_class(&self) -> &'static str;
}
