//! The plugin registry (`Plugins`): which connectors, converters, header converters,
//! transformations and predicates this worker can run, found by Java class name, simple name or
//! alias. Plugins are linked in statically, registered as the `PluginSet`s of their crates.

use crate::client_override_policy::ClientOverridePolicy;
use crate::error::RuntimeError;
use tributary_api::plugin::class_matches;
use tributary_api::{
    ConfigMap, ConnectorPlugin, ConnectorType, Converter, ConverterPlugin, HeaderConverter, HeaderConverterPlugin, PluginSet, PredicatePlugin,
    TransformationPlugin,
};

/// Every plugin this worker can run: the one registry, looked up by class name, simple name or
/// alias. Nothing else in the runtime names a plugin crate.
#[derive(Debug, Clone)]
pub struct Plugins {
    connectors: Vec<ConnectorPlugin>,
    converters: Vec<ConverterPlugin>,
    header_converters: Vec<HeaderConverterPlugin>,
    transformations: Vec<TransformationPlugin>,
    predicates: Vec<PredicatePlugin>,
    /// The worker's `connector.client.config.override.policy` (a plugin in Kafka too).
    client_override_policy: ClientOverridePolicy,
}

impl Plugins {
    /// A registry of `set`'s plugins (a build's built-in ones: `tributary_plugins::builtin()`).
    pub fn new(set: PluginSet) -> Self {
        let empty = Self {
            connectors: Vec::new(),
            converters: Vec::new(),
            header_converters: Vec::new(),
            transformations: Vec::new(),
            predicates: Vec::new(),
            client_override_policy: ClientOverridePolicy::default(),
        };
        empty.with(set)
    }

    /// Adds a set of plugins (an embedding program's own, or a test's).
    pub fn with(mut self, set: PluginSet) -> Self {
        self.connectors.extend(set.connectors);
        self.converters.extend(set.converters);
        self.header_converters.extend(set.header_converters);
        self.transformations.extend(set.transformations);
        self.predicates.extend(set.predicates);
        self.connectors.sort_by(|a, b| a.class.cmp(&b.class));
        self.converters.sort_by(|a, b| a.class.cmp(&b.class));
        self.header_converters.sort_by(|a, b| a.class.cmp(&b.class));
        self.transformations.sort_by(|a, b| a.class.cmp(&b.class));
        self.predicates.sort_by(|a, b| a.class.cmp(&b.class));
        self
    }

    /// Adds a connector plugin.
    pub fn with_connector(self, plugin: ConnectorPlugin) -> Self {
        self.with(PluginSet::new().with_connector(plugin))
    }

    /// The policy that connector client overrides are validated against.
    pub fn with_client_override_policy(mut self, policy: ClientOverridePolicy) -> Self {
        self.client_override_policy = policy;
        self
    }

    pub fn client_override_policy(&self) -> ClientOverridePolicy {
        self.client_override_policy
    }

    /// The connector plugins, sorted by class name.
    pub fn connectors(&self) -> &[ConnectorPlugin] {
        &self.connectors
    }

    /// The converter plugins, sorted by class name.
    pub fn converters(&self) -> &[ConverterPlugin] {
        &self.converters
    }

    /// The header converter plugins, sorted by class name.
    pub fn header_converters(&self) -> &[HeaderConverterPlugin] {
        &self.header_converters
    }

    /// The transformation plugins, sorted by class name.
    pub fn transformations(&self) -> &[TransformationPlugin] {
        &self.transformations
    }

    /// The predicate plugins, sorted by class name.
    pub fn predicates(&self) -> &[PredicatePlugin] {
        &self.predicates
    }

    /// The transformation named by `name` (class name or simple name).
    pub fn transformation(&self, name: &str) -> Option<&TransformationPlugin> {
        self.transformations.iter().find(|p| class_matches(&p.class, name))
    }

    /// The predicate named by `name` (class name or simple name).
    pub fn predicate(&self, name: &str) -> Option<&PredicatePlugin> {
        self.predicates.iter().find(|p| class_matches(&p.class, name))
    }

    /// The connector plugin named by `connector.class`.
    pub fn connector(&self, class: &str) -> Result<&ConnectorPlugin, RuntimeError> {
        self.connectors.iter().find(|p| p.matches(class)).ok_or_else(|| {
            let available: Vec<String> = self.connectors.iter().map(|p| format!("{} (alias {})", p.class, p.simple_name())).collect();
            RuntimeError::PluginNotFound(format!(
                "Failed to find any class that implements Connector and which name matches {class}, available connectors are: {}",
                available.join(", ")
            ))
        })
    }

    /// A new connector instance.
    pub fn new_connector(&self, class: &str) -> Result<ConnectorType, RuntimeError> {
        Ok((self.connector(class)?.create)())
    }

    /// Kafka's name for a converter class given as a full or simple name (a name no converter
    /// has is returned as given).
    pub fn converter_class_name(&self, name: &str) -> String {
        let mut classes = self.converters.iter().map(|c| &*c.class).chain(self.header_converters.iter().map(|c| &*c.class));
        classes.find(|c| class_matches(c, name)).unwrap_or(name.trim()).to_owned()
    }

    fn converter_classes(&self) -> String {
        let mut classes: Vec<&str> = self.converters.iter().map(|c| &*c.class).chain(self.header_converters.iter().map(|c| &*c.class)).collect();
        classes.sort_unstable();
        classes.dedup();
        classes.join(", ")
    }

    /// A configured key or value converter.
    pub fn new_converter(&self, class: &str, config: &ConfigMap, is_key: bool) -> Result<Box<dyn Converter>, RuntimeError> {
        let plugin = self.converters.iter().find(|p| class_matches(&p.class, class)).ok_or_else(|| {
            RuntimeError::PluginNotFound(format!(
                "Failed to find any class that implements Converter and which name matches {class}, available converters are: {}",
                self.converter_classes()
            ))
        })?;
        let mut c = (plugin.create)();
        c.configure(config, is_key).map_err(|e| RuntimeError::Config(format!("Invalid configuration of {class}: {e}")))?;
        Ok(c)
    }

    /// A configured header converter.
    pub fn new_header_converter(&self, class: &str, config: &ConfigMap) -> Result<Box<dyn HeaderConverter>, RuntimeError> {
        let plugin = self.header_converters.iter().find(|p| class_matches(&p.class, class)).ok_or_else(|| {
            RuntimeError::PluginNotFound(format!(
                "Failed to find any class that implements HeaderConverter and which name matches {class}, available header converters are: {}",
                self.converter_classes()
            ))
        })?;
        let mut c = (plugin.create)();
        c.configure(config).map_err(|e| RuntimeError::Config(format!("Invalid configuration of {class}: {e}")))?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin() -> Plugins {
        Plugins::new(tributary_plugins::builtin())
    }

    #[test]
    fn converter_class_names_are_kafkas() {
        let p = builtin();
        assert_eq!(p.converter_class_name("JsonConverter"), "org.apache.kafka.connect.json.JsonConverter");
        assert_eq!(p.converter_class_name("SimpleHeaderConverter"), "org.apache.kafka.connect.storage.SimpleHeaderConverter");
        assert_eq!(p.converter_class_name("com.example.Other"), "com.example.Other");
    }

    #[test]
    fn a_registry_holds_only_what_was_registered() {
        let p = Plugins::new(PluginSet::new());
        let err = p.new_converter("JsonConverter", &ConfigMap::new(), false).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("which name matches JsonConverter, available converters are: "), "{err}");
        assert!(p.transformation("RegexRouter").is_none() && p.connectors().is_empty());
    }

    #[test]
    fn a_registered_converter_is_found_listed_and_named() {
        let mine = tributary_api::ConverterPlugin::new("com.example.UpperConverter", "9.9", || Box::new(tributary_converters::StringConverter));
        let p = builtin().with(PluginSet::new().with_converter(mine));
        assert!(p.new_converter("UpperConverter", &ConfigMap::new(), false).is_ok());
        assert_eq!(p.converter_class_name("UpperConverter"), "com.example.UpperConverter");
        let listed = crate::config_infos::plugin_infos(&p, false);
        assert!(listed.iter().any(|i| i.class == "com.example.UpperConverter" && i.type_ == "converter" && i.version.as_deref() == Some("9.9")), "{listed:?}");
        assert!(!listed.iter().any(|i| i.class == "com.example.UpperConverter" && i.type_ == "header_converter"), "a converter is not a header converter");
    }

    #[test]
    fn finds_connectors_by_class_simple_name_and_alias() {
        let p = builtin();
        for name in ["org.apache.kafka.connect.file.FileStreamSourceConnector", "FileStreamSourceConnector", "FileStreamSource"] {
            assert_eq!(p.connector(name).unwrap().class, "org.apache.kafka.connect.file.FileStreamSourceConnector");
        }
        let err = p.connector("Nope").unwrap_err().to_string();
        assert!(err.contains("which name matches Nope, available connectors are: org.apache.kafka.connect.file.FileStreamSinkConnector"), "{err}");
    }

    /// A plugin found when the worker starts is described with owned names and a factory that
    /// captures what it found: it registers, lists and creates like a compiled-in one.
    #[test]
    fn a_descriptor_made_at_run_time_registers_like_a_compiled_in_one() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let found = ["Orders", "Payments"];
        let created = Arc::new(AtomicUsize::new(0));
        let mut set = PluginSet::new();
        for table in found {
            let created = created.clone();
            let class = format!("com.example.found.{table}Converter");
            let version = format!("1.{}", table.len());
            set = set.with_converter(tributary_api::ConverterPlugin::new(class, version, move || {
                created.fetch_add(1, Ordering::SeqCst);
                Box::new(tributary_converters::StringConverter)
            }));
        }
        let p = builtin().with(set);
        assert!(p.new_converter("com.example.found.OrdersConverter", &ConfigMap::new(), false).is_ok());
        assert!(p.new_converter("PaymentsConverter", &ConfigMap::new(), true).is_ok());
        assert_eq!(created.load(Ordering::SeqCst), 2, "each factory ran once, with what it captured");
        let listed = crate::config_infos::plugin_infos(&p, false);
        let mine: Vec<(&str, Option<&str>)> =
            listed.iter().filter(|i| i.class.starts_with("com.example.found.")).map(|i| (i.class.as_str(), i.version.as_deref())).collect();
        assert_eq!(mine, vec![("com.example.found.OrdersConverter", Some("1.6")), ("com.example.found.PaymentsConverter", Some("1.8"))]);
    }
}
