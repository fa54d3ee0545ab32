//! Plugin descriptors: how a crate tells the runtime which connectors it provides, under which
//! class names. Plugins are linked statically; the runtime keeps a registry of descriptors.

use crate::connector::{SinkConnector, SourceConnector};

/// The kind of a plugin, as `GET /connector-plugins` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginType {
    Source,
    Sink,
    Converter,
    HeaderConverter,
    Transformation,
    Predicate,
}

impl PluginType {
    pub fn name(self) -> &'static str {
        match self {
            PluginType::Source => "source",
            PluginType::Sink => "sink",
            PluginType::Converter => "converter",
            PluginType::HeaderConverter => "header_converter",
            PluginType::Transformation => "transformation",
            PluginType::Predicate => "predicate",
        }
    }
}

/// A connector instance of either direction.
pub enum ConnectorType {
    Source(Box<dyn SourceConnector>),
    Sink(Box<dyn SinkConnector>),
}

/// Describes a connector plugin.
#[derive(Clone, Copy)]
pub struct ConnectorPlugin {
    /// The Java class name users write in `connector.class`
    /// (`org.apache.kafka.connect.file.FileStreamSourceConnector`). Its simple name and the
    /// simple name without `Connector` are accepted too.
    pub class: &'static str,
    pub version: &'static str,
    /// Creates a new, unstarted connector.
    pub create: fn() -> ConnectorType,
    pub plugin_type: PluginType,
}

impl ConnectorPlugin {
    /// The class name without its package.
    pub fn simple_name(&self) -> &'static str {
        self.class.rsplit('.').next().unwrap_or(self.class)
    }
    /// True when `name` is this plugin's class name, simple name, or simple name minus `Connector`.
    pub fn matches(&self, name: &str) -> bool {
        let simple = self.simple_name();
        name == self.class || name == simple || simple.strip_suffix("Connector") == Some(name)
    }
}

impl std::fmt::Debug for ConnectorPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorPlugin").field("class", &self.class).field("type", &self.plugin_type).finish()
    }
}
