//! The transformation chain (`TransformationChain`): the connector's `transforms`, in order,
//! each guarded by an optional predicate (`transforms.<alias>.predicate`, `.negate`).

use crate::error::RuntimeError;
use crate::plugins::Plugins;
use tributary_api::config::{with_prefix, ValidatedValue};
use tributary_api::{ConfigMap, ConnectError, ConnectRecord, Predicate, RecordMeta, SinkMeta, SourceMeta, Transformation};
use tributary_api::{PredicatePlugin, TransformationPlugin};

/// Record metadata types a chain can be built for: sources and sinks.
pub trait ChainMeta: RecordMeta {
    fn transformation(plugin: &TransformationPlugin) -> Box<dyn Transformation<Self>>;
    fn predicate(plugin: &PredicatePlugin) -> Box<dyn Predicate<Self>>;
}

impl ChainMeta for SourceMeta {
    fn transformation(plugin: &TransformationPlugin) -> Box<dyn Transformation<Self>> {
        (plugin.source)()
    }
    fn predicate(plugin: &PredicatePlugin) -> Box<dyn Predicate<Self>> {
        (plugin.source)()
    }
}

impl ChainMeta for SinkMeta {
    fn transformation(plugin: &TransformationPlugin) -> Box<dyn Transformation<Self>> {
        (plugin.sink)()
    }
    fn predicate(plugin: &PredicatePlugin) -> Box<dyn Predicate<Self>> {
        (plugin.sink)()
    }
}

struct Stage<M> {
    alias: String,
    class: tributary_api::PluginName,
    transformation: Box<dyn Transformation<M>>,
    predicate: Option<(Box<dyn Predicate<M>>, bool)>,
}

/// A transformation that failed: its class (Kafka's name) and the error.
#[derive(Debug)]
pub struct ChainFailure {
    pub class: tributary_api::PluginName,
    pub error: ConnectError,
}

/// A connector's configured transformations.
pub struct TransformationChain<M> {
    stages: Vec<Stage<M>>,
}

fn aliases(config: &ConfigMap, key: &str, errors: &mut Vec<String>) -> Vec<String> {
    let list: Vec<String> = config.get(key).map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()).unwrap_or_default();
    for (i, a) in list.iter().enumerate() {
        if list[..i].contains(a) {
            errors
                .push(format!("{key}: Invalid value {} for configuration {key}: Duplicate alias provided.", config.get(key).map(String::as_str).unwrap_or("")));
        }
    }
    list
}

fn plugin_type<'a>(config: &'a ConfigMap, key: &str, errors: &mut Vec<String>) -> Option<&'a str> {
    match config.get(key).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        Some(t) => Some(t),
        None => {
            errors.push(format!("{key}: Missing required configuration \"{key}\" which has no default value."));
            None
        }
    }
}

impl<M: ChainMeta> TransformationChain<M> {
    /// Builds and configures the chain, collecting every configuration error.
    pub fn from_config(plugins: &Plugins, config: &ConfigMap) -> Result<Self, Vec<String>> {
        let mut errors = Vec::new();
        let mut predicates: Vec<(String, Option<PredicatePlugin>)> = Vec::new();
        for alias in aliases(config, "predicates", &mut errors) {
            let key = format!("predicates.{alias}.type");
            let plugin = plugin_type(config, &key, &mut errors).and_then(|t| {
                let p = plugins.predicate(t).cloned();
                if p.is_none() {
                    errors.push(format!(
                        "{key}: Invalid value {t} for configuration {key}: Class {t} could not be found. Available predicates: {}",
                        available(plugins.predicates().iter().map(|p| &*p.class))
                    ));
                }
                p
            });
            predicates.push((alias, plugin));
        }
        let mut stages = Vec::new();
        for alias in aliases(config, "transforms", &mut errors) {
            let prefix = format!("transforms.{alias}.");
            let key = format!("{prefix}type");
            let Some(t) = plugin_type(config, &key, &mut errors) else {
                continue;
            };
            let Some(plugin) = plugins.transformation(t).cloned() else {
                errors.push(format!(
                    "{key}: Invalid value {t} for configuration {key}: Class {t} could not be found. Available transformations: {}",
                    available(plugins.transformations().iter().map(|p| &*p.class))
                ));
                continue;
            };
            let own = with_prefix(config, &prefix);
            let mut transformation = M::transformation(&plugin);
            let key_errors = prefixed_errors(&transformation.config_def().validate(&own), &prefix);
            if !key_errors.is_empty() {
                errors.extend(key_errors);
                continue;
            }
            if let Err(e) = transformation.configure(&own) {
                errors.push(format!("{key}: {e}"));
                continue;
            }
            let negate = match config.get(&format!("{prefix}negate")).map(|v| v.trim().to_ascii_lowercase()) {
                None => false,
                Some(v) if v == "true" => true,
                Some(v) if v == "false" => false,
                Some(v) => {
                    errors.push(format!("{prefix}negate: Invalid value {v} for configuration {prefix}negate: Expected value to be either true or false"));
                    false
                }
            };
            let predicate = match config.get(&format!("{prefix}predicate")).map(|p| p.trim()).filter(|p| !p.is_empty()) {
                None => {
                    if config.contains_key(&format!("{prefix}negate")) {
                        errors.push(format!("{prefix}negate: Config '{prefix}negate' was provided with no predicate"));
                    }
                    None
                }
                Some(p) => match predicates.iter().find(|(a, _)| a == p) {
                    Some((_, Some(plugin))) => {
                        let mut pred = M::predicate(plugin);
                        let pprefix = format!("predicates.{p}.");
                        let key_errors = prefixed_errors(&pred.config_def().validate(&with_prefix(config, &pprefix)), &pprefix);
                        if !key_errors.is_empty() {
                            errors.extend(key_errors);
                            None
                        } else {
                            match pred.configure(&with_prefix(config, &pprefix)) {
                                Ok(()) => Some((pred, negate)),
                                Err(e) => {
                                    errors.push(format!("predicates.{p}.type: {e}"));
                                    None
                                }
                            }
                        }
                    }
                    Some((_, None)) => None,
                    None => {
                        errors.push(format!(
                            "{prefix}predicate: Invalid value {p} for configuration {prefix}predicate: the predicate alias is not listed in 'predicates'"
                        ));
                        None
                    }
                },
            };
            stages.push(Stage { alias, class: plugin.class, transformation, predicate });
        }
        if errors.is_empty() {
            Ok(Self { stages })
        } else {
            Err(errors)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Applies every stage; `None` when a stage dropped the record.
    pub fn apply(&self, record: ConnectRecord<M>) -> Result<Option<ConnectRecord<M>>, ConnectError> {
        self.apply_reporting(record).map_err(|f| f.error)
    }

    /// [`Self::apply`], telling which transformation failed (for error reporting).
    pub fn apply_reporting(&self, mut record: ConnectRecord<M>) -> Result<Option<ConnectRecord<M>>, ChainFailure> {
        for stage in &self.stages {
            if let Some((p, negate)) = &stage.predicate {
                if p.test(&record) == *negate {
                    continue;
                }
            }
            record = match stage.transformation.apply(record) {
                Ok(Some(r)) => r,
                Ok(None) => return Ok(None),
                Err(e) => {
                    let error = ConnectError::new(e.kind(), format!("transformation {} failed: {}", stage.alias, e.message())).with_source(e);
                    return Err(ChainFailure { class: stage.class.clone(), error });
                }
            };
        }
        Ok(Some(record))
    }
}

/// A plugin's key errors, with its keys shown under the connector's prefix
/// (`transforms.route.regex`), which is what the user wrote.
fn prefixed_errors(values: &[ValidatedValue], prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for v in values {
        let full = format!("{prefix}{}", v.name);
        for e in &v.errors {
            let msg =
                e.replace(&format!("\"{}\"", v.name), &format!("\"{full}\"")).replace(&format!("configuration {}", v.name), &format!("configuration {full}"));
            out.push(format!("{full}: {msg}"));
        }
    }
    out
}

fn available<'a>(classes: impl Iterator<Item = &'a str>) -> String {
    classes.collect::<Vec<_>>().join(", ")
}

/// Builds a chain, turning its errors into one config error.
pub fn build<M: ChainMeta>(plugins: &Plugins, config: &ConfigMap) -> Result<TransformationChain<M>, RuntimeError> {
    TransformationChain::from_config(plugins, config).map_err(|e| RuntimeError::Config(e.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_api::{SinkRecord, Value};

    fn cfg(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn rec(topic: &str) -> SinkRecord {
        let value = Value::Map(vec![(Value::String("a".into()), Value::Int64(1))]);
        SinkRecord::new(topic, 0, tributary_api::SchemaAndValue { schema: None, value: Value::Null }, tributary_api::SchemaAndValue { schema: None, value }, 0)
            .with_timestamp(Some(0))
    }

    #[test]
    fn applies_in_order_with_predicates() {
        let chain: TransformationChain<SinkMeta> = TransformationChain::from_config(
            &Plugins::new(tributary_plugins::builtin()),
            &cfg(&[
                ("transforms", "route,drop"),
                ("transforms.route.type", "org.apache.kafka.connect.transforms.RegexRouter"),
                ("transforms.route.regex", "a.*"),
                ("transforms.route.replacement", "routed"),
                ("transforms.drop.type", "Filter"),
                ("transforms.drop.predicate", "isRouted"),
                ("transforms.drop.negate", "true"),
                ("predicates", "isRouted"),
                ("predicates.isRouted.type", "TopicNameMatches"),
                ("predicates.isRouted.pattern", "routed"),
            ]),
        )
        .unwrap();
        assert_eq!(&*chain.apply(rec("abc")).unwrap().unwrap().topic, "routed", "routed, so kept");
        assert!(chain.apply(rec("xyz")).unwrap().is_none(), "not routed, so the negated filter drops it");
    }

    #[test]
    fn every_config_error_is_reported() {
        let errors = TransformationChain::<SourceMeta>::from_config(
            &Plugins::new(tributary_plugins::builtin()),
            &cfg(&[("transforms", "a,b,c,c"), ("transforms.a.type", "Nope"), ("transforms.c.type", "RegexRouter"), ("transforms.c.negate", "true")]),
        )
        .err()
        .unwrap();
        let all = errors.join("\n");
        assert!(all.contains("Duplicate alias provided"), "{all}");
        assert!(all.contains("transforms.a.type: Invalid value Nope for configuration transforms.a.type: Class Nope could not be found."), "{all}");
        assert!(all.contains("Missing required configuration \"transforms.b.type\""), "{all}");
        assert!(all.contains("transforms.c.regex: Missing required configuration \"transforms.c.regex\" which has no default value."), "{all}");
    }
}
