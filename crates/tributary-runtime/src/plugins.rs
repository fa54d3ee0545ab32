//! The plugin registry (`Plugins`): which connectors and converters this worker can run, found
//! by Java class name, simple name or alias. Plugins are linked in statically.

use crate::client_override_policy::ClientOverridePolicy;
use crate::error::RuntimeError;
use tributary_api::{ConfigMap, ConnectorPlugin, ConnectorType, Converter, HeaderConverter};

/// Every plugin this build of the worker knows.
#[derive(Debug, Clone)]
pub struct Plugins {
    connectors: Vec<ConnectorPlugin>,
    /// The worker's `connector.client.config.override.policy` (a plugin in Kafka too).
    client_override_policy: ClientOverridePolicy,
}

impl Default for Plugins {
    fn default() -> Self {
        let mut connectors = tributary_file::plugins();
        connectors.sort_by_key(|p| p.class);
        Self { connectors, client_override_policy: ClientOverridePolicy::default() }
    }
}

impl Plugins {
    /// Adds a connector plugin (an embedding program's own, or a test's).
    pub fn with_connector(mut self, plugin: ConnectorPlugin) -> Self {
        self.connectors.push(plugin);
        self.connectors.sort_by_key(|p| p.class);
        self
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

    /// A configured key or value converter.
    pub fn new_converter(&self, class: &str, config: &ConfigMap, is_key: bool) -> Result<Box<dyn Converter>, RuntimeError> {
        let mut c = tributary_converters::new_converter(class).ok_or_else(|| {
            RuntimeError::PluginNotFound(format!(
                "Failed to find any class that implements Converter and which name matches {class}, available converters are: {}",
                tributary_converters::converter_classes().join(", ")
            ))
        })?;
        c.configure(config, is_key).map_err(|e| RuntimeError::Config(format!("Invalid configuration of {class}: {e}")))?;
        Ok(c)
    }

    /// A configured header converter.
    pub fn new_header_converter(&self, class: &str, config: &ConfigMap) -> Result<Box<dyn HeaderConverter>, RuntimeError> {
        let mut c = tributary_converters::new_header_converter(class).ok_or_else(|| {
            RuntimeError::PluginNotFound(format!(
                "Failed to find any class that implements HeaderConverter and which name matches {class}, available header converters are: {}",
                tributary_converters::converter_classes().join(", ")
            ))
        })?;
        c.configure(config).map_err(|e| RuntimeError::Config(format!("Invalid configuration of {class}: {e}")))?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_connectors_by_class_simple_name_and_alias() {
        let p = Plugins::default();
        for name in ["org.apache.kafka.connect.file.FileStreamSourceConnector", "FileStreamSourceConnector", "FileStreamSource"] {
            assert_eq!(p.connector(name).unwrap().class, "org.apache.kafka.connect.file.FileStreamSourceConnector");
        }
        let err = p.connector("Nope").unwrap_err().to_string();
        assert!(err.contains("which name matches Nope, available connectors are: org.apache.kafka.connect.file.FileStreamSinkConnector"), "{err}");
    }
}
