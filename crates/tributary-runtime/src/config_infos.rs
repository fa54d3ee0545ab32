//! Whole-config validation results in Kafka Connect's `ConfigInfos` shape, as
//! `PUT /connector-plugins/{plugin}/config/validate` returns them, and plugin metadata for
//! `GET /connector-plugins` and `GET /connector-plugins/{plugin}/config`.

use crate::config_providers::ConfigProviders;
use crate::connector_config::{self, CONNECTOR_CLASS};
use crate::error::RuntimeError;
use crate::plugins::Plugins;
use crate::transformation_chain::TransformationChain;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use tributary_api::config::{ConfigKey, ConfigType, Importance, ValidatedValue};
use tributary_api::plugin::class_matches;
use tributary_api::{ConfigDef, ConfigMap, ConnectorType, PluginType, SinkMeta, SourceMeta};

/// `ConfigKeyInfo`: one key's definition.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConfigKeyInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub required: bool,
    pub default_value: Option<String>,
    pub importance: String,
    pub documentation: String,
    pub group: Option<String>,
    pub width: String,
    pub display_name: String,
    pub dependents: Vec<String>,
    pub order: i32,
}

impl From<&ConfigKey> for ConfigKeyInfo {
    fn from(k: &ConfigKey) -> Self {
        Self {
            name: k.name.clone(),
            type_: k.type_.name().into(),
            required: k.is_required(),
            default_value: k.default_string(),
            importance: k.importance.name().into(),
            documentation: k.documentation.clone(),
            group: k.group.clone(),
            order: k.order,
            width: k.width.name().into(),
            display_name: k.display_name.clone(),
            dependents: k.dependents.clone(),
        }
    }
}

/// `ConfigValueInfo`: one key's value and its errors.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConfigValueInfo {
    pub name: String,
    pub value: Option<String>,
    pub recommended_values: Vec<String>,
    pub errors: Vec<String>,
    pub visible: bool,
}

/// `ConfigInfo`: definition and value of one key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConfigInfo {
    pub definition: Option<ConfigKeyInfo>,
    pub value: Option<ConfigValueInfo>,
}

/// `ConfigInfos`: the validate endpoint's response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConfigInfos {
    pub name: String,
    pub error_count: usize,
    pub groups: Vec<String>,
    pub configs: Vec<ConfigInfo>,
}

impl ConfigInfos {
    /// Every error as `key: message`, in config order.
    pub fn errors(&self) -> Vec<String> {
        // Kafka lists the messages alone; one that does not name its key gets the key in front,
        // so the list stays readable without the validate endpoint.
        self.configs
            .iter()
            .filter_map(|c| c.value.as_ref())
            .flat_map(|v| v.errors.iter().map(move |e| if e.contains(v.name.as_str()) { e.clone() } else { format!("{}: {e}", v.name) }))
            .collect()
    }
}

/// `PluginInfo`: one entry of `GET /connector-plugins`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PluginInfo {
    pub class: String,
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A connector configuration that passed validation.
#[derive(Debug)]
pub struct ValidatedConnector {
    pub config: ConfigMap,
    pub plugin_class: String,
    pub plugin_type: PluginType,
}

/// Validates a connector configuration: framework keys, the connector's own keys, and the
/// cross-key rules. Errors carry Kafka Connect's messages.
pub fn validate_connector(plugins: &Plugins, config: &ConfigMap) -> Result<ValidatedConnector, RuntimeError> {
    validate_connector_with_providers(plugins, &crate::config_providers::ConfigProviders::default(), config)
}

/// [`validate_connector`] with `${provider:...}` references resolved first; errors never quote a secret.
pub fn validate_connector_with_providers(
    plugins: &Plugins,
    providers: &crate::config_providers::ConfigProviders,
    config: &ConfigMap,
) -> Result<ValidatedConnector, RuntimeError> {
    let infos = validate_with_providers(plugins, providers, config)?;
    let errors = infos.errors();
    if !errors.is_empty() {
        let mut msg = format!("Connector configuration is invalid and contains the following {} error(s):\n", errors.len());
        for e in &errors {
            msg.push_str(e);
            msg.push('\n');
        }
        msg.push_str("You can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`");
        return Err(RuntimeError::BadRequest(msg));
    }
    let plugin = plugins.connector(config.get(CONNECTOR_CLASS).map(String::as_str).unwrap_or_default())?;
    Ok(ValidatedConnector { config: config.clone(), plugin_class: plugin.class.to_string(), plugin_type: plugin.plugin_type })
}

/// Definitions of the `transforms.<alias>.*` and `predicates.<alias>.*` keys a config uses.
fn alias_defs(plugins: &Plugins, config: &ConfigMap) -> ConfigDef {
    let aliases = |key: &str| -> Vec<String> {
        config.get(key).map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()).unwrap_or_default()
    };
    let mut def = ConfigDef::new();
    let renamed = |k: &ConfigKey, prefix: &str, group: &str| {
        let mut k = k.clone();
        k.name = format!("{prefix}{}", k.name);
        k.display_name = k.name.clone();
        k.group = Some(group.to_owned());
        k
    };
    for alias in aliases("transforms") {
        let (prefix, group) = (format!("transforms.{alias}."), format!("Transforms: {alias}"));
        def = def
            .define(
                ConfigKey::new(format!("{prefix}type"), ConfigType::Class, Importance::High, "Class for the 'transforms' transformation.")
                    .group(group.clone(), 0),
            )
            .define(
                ConfigKey::new(
                    format!("{prefix}predicate"),
                    ConfigType::String,
                    Importance::Medium,
                    "The alias of a predicate used to determine whether to apply this transformation.",
                )
                .default_null()
                .group(group.clone(), 1),
            )
            .define(
                ConfigKey::new(format!("{prefix}negate"), ConfigType::Boolean, Importance::Medium, "Whether the configured predicate should be negated.")
                    .default_value("false")
                    .group(group.clone(), 2),
            );
        if let Some(plugin) = config.get(&format!("{prefix}type")).and_then(|t| plugins.transformation(t)) {
            for k in (plugin.source)().config_def().keys() {
                def = def.define(renamed(k, &prefix, &group));
            }
        }
    }
    for alias in aliases("predicates") {
        let (prefix, group) = (format!("predicates.{alias}."), format!("Predicates: {alias}"));
        def = def.define(
            ConfigKey::new(format!("{prefix}type"), ConfigType::Class, Importance::High, "Class for the 'predicates' predicate.").group(group.clone(), 0),
        );
        if let Some(plugin) = config.get(&format!("{prefix}type")).and_then(|t| plugins.predicate(t)) {
            for k in (plugin.source)().config_def().keys() {
                def = def.define(renamed(k, &prefix, &group));
            }
        }
    }
    def
}

/// Validates a connector config: framework keys, transform and predicate keys, the connector's
/// own keys, and the rules that span keys. Fails only when the connector class is unknown.
pub fn validate_configs(plugins: &Plugins, config: &ConfigMap) -> Result<ConfigInfos, RuntimeError> {
    validate_with_providers(plugins, &ConfigProviders::default(), config)
}

/// [`validate_configs`] on the config with its `${provider:...}` references resolved. Values
/// are reported as written, and any resolved secret quoted in an error is replaced by its
/// reference, so the response never carries a secret.
pub fn validate_with_providers(plugins: &Plugins, providers: &ConfigProviders, raw: &ConfigMap) -> Result<ConfigInfos, RuntimeError> {
    let resolved = providers.resolve(raw);
    let mut infos = validate_resolved(plugins, &resolved)?;
    let secrets: Vec<(&String, &String)> = raw
        .iter()
        .filter(|(_, v)| providers.has_reference(v))
        .filter_map(|(k, v)| resolved.get(k).filter(|r| !r.is_empty() && *r != v).map(|r| (r, v)))
        .collect();
    for c in &mut infos.configs {
        if let Some(v) = c.value.as_mut() {
            if let Some(r) = raw.get(&v.name).filter(|r| providers.has_reference(r)) {
                v.value = Some(r.clone());
            }
            for e in &mut v.errors {
                for (secret, reference) in &secrets {
                    *e = e.replace(secret.as_str(), reference);
                }
            }
        }
    }
    Ok(infos)
}

fn validate_resolved(plugins: &Plugins, config: &ConfigMap) -> Result<ConfigInfos, RuntimeError> {
    let class = config
        .get(CONNECTOR_CLASS)
        .ok_or_else(|| RuntimeError::BadRequest(format!("Connector config {} contains no connector type", java_map_string(config))))?;
    let plugin = plugins.connector(class)?;
    let connector = (plugin.create)();
    let (framework, own_def, own_values) = match &connector {
        ConnectorType::Source(c) => (connector_config::source_def(), c.config_def(), c.validate(config)),
        ConnectorType::Sink(c) => (connector_config::sink_def(), c.config_def(), c.validate(config)),
    };
    let framework = framework.merge(&alias_defs(plugins, config));
    let mut values: IndexMap<String, ValidatedValue> = IndexMap::new();
    for v in framework.validate(config).into_iter().chain(own_values) {
        values.insert(v.name.clone(), v);
    }
    // Rules across keys and the chain's own checks come as "key: message".
    let mut extra = connector_config::cross_key_errors(plugin.plugin_type, config);
    extra.extend(plugins.client_override_policy().errors(config));
    extra.extend(
        match plugin.plugin_type {
            PluginType::Sink => TransformationChain::<SinkMeta>::from_config(plugins, config).err(),
            _ => TransformationChain::<SourceMeta>::from_config(plugins, config).err(),
        }
        .unwrap_or_default(),
    );
    for e in extra {
        let (key, msg) = e.split_once(": ").map(|(k, m)| (k.to_owned(), m.to_owned())).unwrap_or_else(|| (CONNECTOR_CLASS.to_owned(), e.clone()));
        let entry = values.entry(key.clone()).or_insert_with(|| ValidatedValue {
            name: key.clone(),
            value: config.get(&key).cloned(),
            recommended_values: Vec::new(),
            errors: Vec::new(),
            visible: true,
        });
        if !entry.errors.contains(&msg) {
            entry.errors.push(msg);
        }
    }
    let all_defs = framework.merge(&own_def);
    let configs: Vec<ConfigInfo> = values
        .into_values()
        .map(|v| ConfigInfo {
            definition: all_defs.key(&v.name).map(ConfigKeyInfo::from),
            value: Some(ConfigValueInfo { name: v.name, value: v.value, recommended_values: v.recommended_values, errors: v.errors, visible: v.visible }),
        })
        .collect();
    let error_count = configs.iter().filter_map(|c| c.value.as_ref()).map(|v| v.errors.len()).sum();
    // Kafka names the result after connector.class as given (an alias stays an alias).
    Ok(ConfigInfos { name: class.clone(), error_count, groups: all_defs.groups(), configs })
}

/// `GET /connector-plugins`: connectors, and with `connectors_only = false` also converters,
/// header converters, transformations and predicates. Sorted by class, then type.
pub fn plugin_infos(plugins: &Plugins, connectors_only: bool) -> Vec<PluginInfo> {
    let mut out: Vec<PluginInfo> = plugins
        .connectors()
        .iter()
        .map(|p| PluginInfo { class: p.class.to_string(), type_: p.plugin_type.name().into(), version: Some(p.version.to_string()) })
        .collect();
    if !connectors_only {
        let info = |class: &str, kind: PluginType, version: &str| PluginInfo { class: class.into(), type_: kind.name().into(), version: Some(version.into()) };
        out.extend(plugins.converters().iter().map(|c| info(&c.class, PluginType::Converter, &c.version)));
        out.extend(plugins.header_converters().iter().map(|c| info(&c.class, PluginType::HeaderConverter, &c.version)));
        out.extend(plugins.transformations().iter().map(|t| info(&t.class, PluginType::Transformation, &t.version)));
        out.extend(plugins.predicates().iter().map(|p| info(&p.class, PluginType::Predicate, &p.version)));
    }
    out.sort_by(|a, b| (&a.class, &a.type_).cmp(&(&b.class, &b.type_)));
    out
}

/// `GET /connector-plugins/{plugin}/config`: the plugin's own key definitions.
pub fn plugin_config(plugins: &Plugins, name: &str) -> Result<Vec<ConfigKeyInfo>, RuntimeError> {
    let def = if let Ok(p) = plugins.connector(name) {
        // As Kafka: the connector's own keys, then the framework's for its kind.
        match (p.create)() {
            ConnectorType::Source(c) => c.config_def().merge(&connector_config::source_def()),
            ConnectorType::Sink(c) => c.config_def().merge(&connector_config::sink_def()),
        }
    } else if let Some(t) = plugins.transformation(name) {
        (t.source)().config_def()
    } else if let Some(p) = plugins.predicate(name) {
        (p.source)().config_def()
    } else if let Some(c) = plugins.converters().iter().find(|c| class_matches(&c.class, name)) {
        (c.create)().config_def()
    } else if let Some(c) = plugins.header_converters().iter().find(|c| class_matches(&c.class, name)) {
        (c.create)().config_def()
    } else {
        return Err(RuntimeError::NotFound(format!("Unknown plugin {name}.")));
    };
    Ok(def.keys().map(ConfigKeyInfo::from).collect())
}

/// A map as Java's `Map.toString` prints it (`{a=1, b=2}`), for messages Kafka words that way.
pub(crate) fn java_map_string(config: &ConfigMap) -> String {
    let pairs: Vec<String> = config.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn validate_reports_errors_under_their_keys() {
        let infos = validate_configs(
            &Plugins::new(tributary_plugins::builtin()),
            &cfg(&[
                ("connector.class", "FileStreamSink"),
                ("name", "s"),
                ("transforms", "r"),
                ("transforms.r.type", "RegexRouter"),
                ("transforms.r.regex", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(infos.name, "FileStreamSink", "named after connector.class as given");
        assert_eq!(infos.error_count, 2, "{:?}", infos.errors());
        let value = |name: &str| infos.configs.iter().find(|c| c.value.as_ref().is_some_and(|v| v.name == name)).unwrap().clone();
        assert_eq!(value("topics").value.unwrap().errors, vec!["Must configure one of topics or topics.regex".to_owned()]);
        let replacement = value("transforms.r.replacement");
        assert_eq!(
            replacement.value.unwrap().errors,
            vec!["Missing required configuration \"transforms.r.replacement\" which has no default value.".to_owned()]
        );
        assert_eq!(replacement.definition.unwrap().group.as_deref(), Some("Transforms: r"));
        assert_eq!(value("tasks.max").definition.unwrap().default_value.as_deref(), Some("1"));
        assert!(infos.groups.starts_with(&["Common".to_owned()]), "{:?}", infos.groups);
        assert!(infos.groups.contains(&"Transforms: r".to_owned()));
    }

    #[test]
    fn plugin_listing_and_configs() {
        let p = Plugins::new(tributary_plugins::builtin());
        assert_eq!(plugin_infos(&p, true).len(), 2);
        let all = plugin_infos(&p, false);
        assert!(all.iter().any(|i| i.class == "org.apache.kafka.connect.transforms.Cast$Value" && i.type_ == "transformation"));
        assert!(all.iter().any(|i| i.class == "org.apache.kafka.connect.json.JsonConverter" && i.type_ == "header_converter"));
        assert!(all.iter().any(|i| i.class == "org.apache.kafka.connect.transforms.predicates.HasHeaderKey" && i.type_ == "predicate"));
        let keys = plugin_config(&p, "FileStreamSource").unwrap();
        let names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names[..5], ["file", "topic", "batch.size", "name", "connector.class"], "own keys, then the framework's");
        assert!(names.contains(&"transforms") && names.contains(&"errors.tolerance"), "{names:?}");
        let rr = plugin_config(&p, "org.apache.kafka.connect.transforms.RegexRouter").unwrap();
        assert!(rr.iter().all(|k| k.required));
        assert!(matches!(plugin_config(&p, "Nope"), Err(RuntimeError::NotFound(_))));
    }
}
