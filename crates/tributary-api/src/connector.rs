//! Connectors: configure a source or sink and split its work into task configs
//! (`org.apache.kafka.connect.connector.Connector`).

use crate::config::{ConfigDef, ConfigMap, ValidatedValue};
use crate::error::Result;
use crate::sink::SinkTask;
use crate::source::SourceTask;
use async_trait::async_trait;

/// What a connector can ask of the runtime.
pub trait ConnectorContext: Send + Sync {
    /// Asks the runtime to call `task_configs` again and restart the tasks, e.g. when the
    /// external system gained tables.
    fn request_task_reconfiguration(&self);
    /// Reports an error that the connector cannot recover from; the connector is marked FAILED.
    fn raise_error(&self, error: crate::ConnectError);
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
}

/// A connector that copies data from Kafka into an external system.
pub trait SinkConnector: Connector {
    /// A new, unstarted task.
    fn create_task(&self) -> Box<dyn SinkTask>;
    /// The task's class name, reported as `task.class` in task configs.
    fn task_class(&self) -> &'static str;
}
