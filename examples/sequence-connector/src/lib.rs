//! An example connector pair, written against `tributary-api` alone (no runtime crate, no other
//! dependency): what docs/write-a-connector.md walks through.
//!
//! * `com.example.SequenceSourceConnector` writes the numbers `0..count` to `topic`, split over
//!   up to `tasks.max` tasks (task `i` of `n` writes the numbers `k` with `k % n == i`). Each
//!   task's source partition is `{"task": i, "of": n}` and its offset `{"next": k}`, so a
//!   restarted task goes on from the first number the broker did not acknowledge.
//! * `com.example.RecordLogSinkConnector` appends each record it consumes to `file` as one line,
//!   `<topic>-<partition>@<offset> <value>`, and makes the file durable before its offsets are
//!   committed.

mod sink;
mod source;

pub use sink::{RecordLogSinkConnector, RecordLogSinkTask};
pub use source::{SequenceSourceConnector, SequenceSourceTask};

use tributary_api::{ConnectorPlugin, ConnectorType, PluginSet, PluginType};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The descriptors a worker registers (`Plugins::with`): for each connector its class name,
/// version, kind, and a factory for new, unstarted instances.
pub fn plugins() -> PluginSet {
    PluginSet::new()
        .with_connector(ConnectorPlugin::new("com.example.SequenceSourceConnector", VERSION, PluginType::Source, || {
            ConnectorType::Source(Box::<SequenceSourceConnector>::default())
        }))
        .with_connector(ConnectorPlugin::new("com.example.RecordLogSinkConnector", VERSION, PluginType::Sink, || {
            ConnectorType::Sink(Box::<RecordLogSinkConnector>::default())
        }))
}
