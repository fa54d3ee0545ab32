//! Kafka's FileStream connectors, with Kafka's keys and offset format: a line-per-record source
//! that reads a file (or stdin) into a topic, and a sink that appends records to a file (or
//! stdout). Source partition `{"filename": <file>}`, offset `{"position": <bytes consumed>}`.

mod file_reader;
mod lines;
mod sink;
mod source;

pub use sink::{FileStreamSinkConnector, FileStreamSinkTask};
pub use source::{FileStreamSourceConnector, FileStreamSourceTask};

use tributary_api::{ConnectorPlugin, ConnectorType, PluginSet, PluginType};

/// `file`: the file to read or write; unset means stdin / stdout.
pub const FILE_CONFIG: &str = "file";
/// `topic`: the source's destination topic.
pub const TOPIC_CONFIG: &str = "topic";
/// `batch.size`: the most records one source poll returns.
pub const BATCH_SIZE_CONFIG: &str = "batch.size";
/// Default of `batch.size`.
pub const DEFAULT_BATCH_SIZE: i32 = 2000;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The connector plugins of this crate.
pub fn plugins() -> PluginSet {
    PluginSet::new()
        .with_connector(ConnectorPlugin::new("org.apache.kafka.connect.file.FileStreamSourceConnector", VERSION, PluginType::Source, || {
            ConnectorType::Source(Box::<FileStreamSourceConnector>::default())
        }))
        .with_connector(ConnectorPlugin::new("org.apache.kafka.connect.file.FileStreamSinkConnector", VERSION, PluginType::Sink, || {
            ConnectorType::Sink(Box::<FileStreamSinkConnector>::default())
        }))
}
