//! `connector.client.config.override.policy`: which of a connector's `producer.override.*`,
//! `consumer.override.*` and `admin.override.*` keys the worker lets through (Kafka's
//! `ConnectorClientConfigOverridePolicy`: `None`, `Principal`, `All`, the default since 3.0).

use tributary_api::ConfigMap;

pub const CONNECTOR_CLIENT_POLICY: &str = "connector.client.config.override.policy";

const OVERRIDE_PREFIXES: [&str; 3] = ["producer.override.", "consumer.override.", "admin.override."];

/// What `Principal` allows: the client's identity, nothing else.
const PRINCIPAL_KEYS: [&str; 3] = ["sasl.jaas.config", "sasl.mechanism", "security.protocol"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientOverridePolicy {
    None,
    Principal,
    #[default]
    All,
}

impl ClientOverridePolicy {
    /// The worker setting: an alias (`None`, `Principal`, `All`) or Kafka's class name, with
    /// or without its package.
    pub fn parse(value: &str) -> Result<Self, String> {
        let v = value.trim();
        let simple = v.strip_prefix("org.apache.kafka.connect.connector.policy.").unwrap_or(v);
        let alias = simple.strip_suffix("ConnectorClientConfigOverridePolicy").unwrap_or(simple);
        match alias {
            "None" => Ok(Self::None),
            "Principal" => Ok(Self::Principal),
            "All" => Ok(Self::All),
            _ => Err(format!(
                "Invalid value {value} for configuration {CONNECTOR_CLIENT_POLICY}: Failed to find any class that implements ConnectorClientConfigOverridePolicy \
                 which name matches {value}; the policies are None, Principal and All \
                 (org.apache.kafka.connect.connector.policy.{{None,Principal,All}}ConnectorClientConfigOverridePolicy)"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Principal => "Principal",
            Self::All => "All",
        }
    }

    fn allows(self, key: &str) -> bool {
        match self {
            Self::None => false,
            Self::Principal => PRINCIPAL_KEYS.contains(&key),
            Self::All => true,
        }
    }

    /// A connector config's refused override keys, as `key: message` with Kafka's wording.
    pub fn errors(self, config: &ConfigMap) -> Vec<String> {
        let mut errors = Vec::new();
        for prefix in OVERRIDE_PREFIXES {
            for key in config.keys().filter(|k| k.starts_with(prefix)) {
                let client_key = &key[prefix.len()..];
                if !self.allows(client_key) {
                    errors.push(format!("{key}: The '{}' policy does not allow '{client_key}' to be overridden in the connector configuration.", self.name()));
                }
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(keys: &[&str]) -> ConfigMap {
        keys.iter().map(|k| ((*k).to_owned(), "x".to_owned())).collect()
    }

    #[test]
    fn policies_are_found_by_alias_or_class_name() {
        assert_eq!(ClientOverridePolicy::parse("None"), Ok(ClientOverridePolicy::None));
        assert_eq!(
            ClientOverridePolicy::parse("org.apache.kafka.connect.connector.policy.PrincipalConnectorClientConfigOverridePolicy"),
            Ok(ClientOverridePolicy::Principal)
        );
        assert_eq!(ClientOverridePolicy::parse("AllConnectorClientConfigOverridePolicy"), Ok(ClientOverridePolicy::All));
        assert!(ClientOverridePolicy::parse("Some").unwrap_err().contains(CONNECTOR_CLIENT_POLICY));
        assert_eq!(ClientOverridePolicy::default(), ClientOverridePolicy::All);
    }

    #[test]
    fn each_policy_refuses_what_kafkas_does() {
        let config = cfg(&["producer.override.linger.ms", "consumer.override.sasl.jaas.config", "admin.override.security.protocol", "name"]);
        assert!(ClientOverridePolicy::All.errors(&config).is_empty());
        assert_eq!(
            ClientOverridePolicy::Principal.errors(&config),
            vec!["producer.override.linger.ms: The 'Principal' policy does not allow 'linger.ms' to be overridden in the connector configuration."]
        );
        assert_eq!(ClientOverridePolicy::None.errors(&config).len(), 3);
        assert!(ClientOverridePolicy::None.errors(&config)[0].starts_with("producer.override.linger.ms: The 'None' policy"));
    }
}
