//! Plugin descriptors: how a crate tells the runtime which connectors, converters, header
//! converters, transformations and predicates it provides, under which class names. Plugins
//! are linked statically: each plugin crate returns a [`PluginSet`], the worker registers the
//! sets it was built with, and every look-up by class name goes through that one registry.

use crate::connector::{SinkConnector, SourceConnector};
use crate::converter::{Converter, HeaderConverter};
use crate::record::{SinkMeta, SourceMeta};
use crate::transform::{Predicate, Transformation};

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

/// True when `name` is `class` or its name without the package (`JsonConverter`,
/// `InsertField$Value`), as users write them.
pub fn class_matches(class: &str, name: &str) -> bool {
    let name = name.trim();
    name == class || class.rsplit('.').next() == Some(name)
}

/// Describes a key/value converter plugin (`key.converter`, `value.converter`).
#[derive(Clone, Copy)]
pub struct ConverterPlugin {
    pub class: &'static str,
    pub version: &'static str,
    /// Creates a new, unconfigured converter.
    pub create: fn() -> Box<dyn Converter>,
}

/// Describes a header converter plugin (`header.converter`).
#[derive(Clone, Copy)]
pub struct HeaderConverterPlugin {
    pub class: &'static str,
    pub version: &'static str,
    /// Creates a new, unconfigured header converter.
    pub create: fn() -> Box<dyn HeaderConverter>,
}

/// Describes a transformation plugin (`transforms.<alias>.type`): one implementation, an
/// instance for each direction.
#[derive(Clone, Copy)]
pub struct TransformationPlugin {
    /// Kafka's class name, e.g. `org.apache.kafka.connect.transforms.InsertField$Value`.
    pub class: &'static str,
    pub version: &'static str,
    pub source: fn() -> Box<dyn Transformation<SourceMeta>>,
    pub sink: fn() -> Box<dyn Transformation<SinkMeta>>,
}

/// Describes a predicate plugin (`predicates.<alias>.type`).
#[derive(Clone, Copy)]
pub struct PredicatePlugin {
    pub class: &'static str,
    pub version: &'static str,
    pub source: fn() -> Box<dyn Predicate<SourceMeta>>,
    pub sink: fn() -> Box<dyn Predicate<SinkMeta>>,
}

macro_rules! debug_by_class {
    ($($t:ty),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t)).field("class", &self.class).finish_non_exhaustive()
            }
        }
    )*};
}
debug_by_class!(ConverterPlugin, HeaderConverterPlugin, TransformationPlugin, PredicatePlugin);

/// The plugins a crate provides, of every kind: what `plugins()` of a plugin crate returns and
/// what a worker is built from.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PluginSet {
    pub connectors: Vec<ConnectorPlugin>,
    pub converters: Vec<ConverterPlugin>,
    pub header_converters: Vec<HeaderConverterPlugin>,
    pub transformations: Vec<TransformationPlugin>,
    pub predicates: Vec<PredicatePlugin>,
}

impl PluginSet {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn with_connector(mut self, plugin: ConnectorPlugin) -> Self {
        self.connectors.push(plugin);
        self
    }
    pub fn with_converter(mut self, plugin: ConverterPlugin) -> Self {
        self.converters.push(plugin);
        self
    }
    pub fn with_header_converter(mut self, plugin: HeaderConverterPlugin) -> Self {
        self.header_converters.push(plugin);
        self
    }
    pub fn with_transformation(mut self, plugin: TransformationPlugin) -> Self {
        self.transformations.push(plugin);
        self
    }
    pub fn with_predicate(mut self, plugin: PredicatePlugin) -> Self {
        self.predicates.push(plugin);
        self
    }
    /// Both sets' plugins.
    pub fn with(mut self, other: PluginSet) -> Self {
        self.connectors.extend(other.connectors);
        self.converters.extend(other.converters);
        self.header_converters.extend(other.header_converters);
        self.transformations.extend(other.transformations);
        self.predicates.extend(other.predicates);
        self
    }
}
