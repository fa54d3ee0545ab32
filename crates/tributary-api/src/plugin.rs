//! Plugin descriptors: how a crate tells the runtime which connectors, converters, header
//! converters, transformations and predicates it provides, under which class names. Plugins
//! compiled in return a [`PluginSet`] from their crate; descriptors can also be made at run time
//! (owned names, a closure as the factory), so plugins found when the worker starts register
//! the same way. The worker registers the sets it was given, and every look-up by class name
//! goes through that one registry.

use crate::connector::{SinkConnector, SourceConnector};
use crate::converter::{Converter, HeaderConverter};
use crate::record::{SinkMeta, SourceMeta};
use crate::transform::{Predicate, Transformation};
use std::borrow::Cow;
use std::sync::Arc;

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

/// A plugin's class name or version: a literal for plugins compiled in, or owned for plugins
/// found when the worker starts.
pub type PluginName = Cow<'static, str>;

/// Describes a connector plugin: [`ConnectorPlugin::new`]. Descriptors are cheap to clone
/// (the factory is shared).
#[derive(Clone)]
#[non_exhaustive]
pub struct ConnectorPlugin {
    /// The Java class name users write in `connector.class`
    /// (`org.apache.kafka.connect.file.FileStreamSourceConnector`). Its simple name and the
    /// simple name without `Connector` are accepted too.
    pub class: PluginName,
    pub version: PluginName,
    /// Creates a new, unstarted connector.
    pub create: Arc<dyn Fn() -> ConnectorType + Send + Sync>,
    pub plugin_type: PluginType,
}

impl ConnectorPlugin {
    /// `class` as users write it in `connector.class`; `create` makes a new, unstarted
    /// connector of `plugin_type`. A closure may capture what a plugin found at run time
    /// needs (a loaded library, a path).
    pub fn new(
        class: impl Into<PluginName>,
        version: impl Into<PluginName>,
        plugin_type: PluginType,
        create: impl Fn() -> ConnectorType + Send + Sync + 'static,
    ) -> Self {
        ConnectorPlugin { class: class.into(), version: version.into(), create: Arc::new(create), plugin_type }
    }

    /// The class name without its package.
    pub fn simple_name(&self) -> &str {
        self.class.rsplit('.').next().unwrap_or(&self.class)
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

/// Describes a key/value converter plugin (`key.converter`, `value.converter`):
/// [`ConverterPlugin::new`].
#[derive(Clone)]
#[non_exhaustive]
pub struct ConverterPlugin {
    pub class: PluginName,
    pub version: PluginName,
    /// Creates a new, unconfigured converter.
    pub create: Arc<dyn Fn() -> Box<dyn Converter> + Send + Sync>,
}

impl ConverterPlugin {
    pub fn new(class: impl Into<PluginName>, version: impl Into<PluginName>, create: impl Fn() -> Box<dyn Converter> + Send + Sync + 'static) -> Self {
        ConverterPlugin { class: class.into(), version: version.into(), create: Arc::new(create) }
    }
}

/// Describes a header converter plugin (`header.converter`): [`HeaderConverterPlugin::new`].
#[derive(Clone)]
#[non_exhaustive]
pub struct HeaderConverterPlugin {
    pub class: PluginName,
    pub version: PluginName,
    /// Creates a new, unconfigured header converter.
    pub create: Arc<dyn Fn() -> Box<dyn HeaderConverter> + Send + Sync>,
}

impl HeaderConverterPlugin {
    pub fn new(class: impl Into<PluginName>, version: impl Into<PluginName>, create: impl Fn() -> Box<dyn HeaderConverter> + Send + Sync + 'static) -> Self {
        HeaderConverterPlugin { class: class.into(), version: version.into(), create: Arc::new(create) }
    }
}

/// Describes a transformation plugin (`transforms.<alias>.type`): one implementation, an
/// instance for each direction. [`TransformationPlugin::new`].
#[derive(Clone)]
#[non_exhaustive]
pub struct TransformationPlugin {
    /// Kafka's class name, e.g. `org.apache.kafka.connect.transforms.InsertField$Value`.
    pub class: PluginName,
    pub version: PluginName,
    pub source: Arc<dyn Fn() -> Box<dyn Transformation<SourceMeta>> + Send + Sync>,
    pub sink: Arc<dyn Fn() -> Box<dyn Transformation<SinkMeta>> + Send + Sync>,
}

impl TransformationPlugin {
    pub fn new(
        class: impl Into<PluginName>,
        version: impl Into<PluginName>,
        source: impl Fn() -> Box<dyn Transformation<SourceMeta>> + Send + Sync + 'static,
        sink: impl Fn() -> Box<dyn Transformation<SinkMeta>> + Send + Sync + 'static,
    ) -> Self {
        TransformationPlugin { class: class.into(), version: version.into(), source: Arc::new(source), sink: Arc::new(sink) }
    }
}

/// Describes a predicate plugin (`predicates.<alias>.type`): [`PredicatePlugin::new`].
#[derive(Clone)]
#[non_exhaustive]
pub struct PredicatePlugin {
    pub class: PluginName,
    pub version: PluginName,
    pub source: Arc<dyn Fn() -> Box<dyn Predicate<SourceMeta>> + Send + Sync>,
    pub sink: Arc<dyn Fn() -> Box<dyn Predicate<SinkMeta>> + Send + Sync>,
}

impl PredicatePlugin {
    pub fn new(
        class: impl Into<PluginName>,
        version: impl Into<PluginName>,
        source: impl Fn() -> Box<dyn Predicate<SourceMeta>> + Send + Sync + 'static,
        sink: impl Fn() -> Box<dyn Predicate<SinkMeta>> + Send + Sync + 'static,
    ) -> Self {
        PredicatePlugin { class: class.into(), version: version.into(), source: Arc::new(source), sink: Arc::new(sink) }
    }
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
