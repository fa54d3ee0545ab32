//! The Tributary worker: everything between the plugin API and the command line.
//!
//! Module names follow Kafka Connect's runtime classes so that Java Connect veterans can find
//! their way: [`worker_config`] (`WorkerConfig`), [`plugins`] (`Plugins`), [`connector_config`]
//! (`ConnectorConfig`), [`source_task`] (`WorkerSourceTask`), [`sink_task`] (`WorkerSinkTask`),
//! [`offset_store`] (`FileOffsetBackingStore`), [`herder`] (`Herder`) and [`standalone`]
//! (`StandaloneHerder`).

pub mod client_override_policy;
pub mod config_infos;
pub mod config_providers;
pub mod connector_calls;
pub mod connector_config;
pub mod error;
pub mod error_handling;
pub mod herder;
pub mod kafka;
pub mod loggers;
pub mod offset_store;
pub mod offsets_api;
pub mod plugins;
pub mod properties;
pub mod restart_request;
pub mod sink_task;
pub mod source_task;
pub mod standalone;
pub mod status;
pub mod task_events;
pub mod task_restarts;
pub mod transformation_chain;
pub mod worker;
pub mod worker_config;

pub use error::RuntimeError;
pub use herder::Herder;
pub use worker_config::WorkerConfig;

/// The version reported by `GET /` and the plugin listing.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
