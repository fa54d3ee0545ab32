//! ConfigProviders (`org.apache.kafka.common.config.provider.*`, KIP-297): `${provider:path:key}`
//! references in connector configs, resolved only when the config is handed to the connector,
//! its tasks, converters and clients. Stored configs and every REST response keep the
//! reference, so secrets never leave the worker through the API.

use crate::error::RuntimeError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tributary_api::config::with_prefix;
use tributary_api::ConfigMap;

/// One configured provider.
#[derive(Debug, Clone)]
enum Provider {
    /// `FileConfigProvider`: `${file:/path/to/file.properties:key}`.
    File { allowed: Vec<PathBuf> },
    /// `EnvVarConfigProvider`: `${env:NAME}` (an optional `allowlist.pattern` regex limits names).
    Env { allowlist: Option<regex::Regex> },
    /// `DirectoryConfigProvider`: `${dir:/path/to/dir:file}` → the file's content.
    Dir { allowed: Vec<PathBuf> },
}

/// The worker's providers, by name.
#[derive(Debug, Clone, Default)]
pub struct ConfigProviders {
    providers: BTreeMap<String, Provider>,
}

fn allowed_paths(params: &ConfigMap) -> Vec<PathBuf> {
    params.get("allowed.paths").map(|p| p.split(',').map(|s| PathBuf::from(s.trim())).filter(|p| !p.as_os_str().is_empty()).collect()).unwrap_or_default()
}

fn path_allowed(allowed: &[PathBuf], path: &Path) -> bool {
    if allowed.is_empty() {
        return true;
    }
    // Normalize `..` lexically so `allowed/../secret` cannot escape the allowed directory.
    let mut norm = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                norm.pop();
            }
            other => norm.push(other),
        }
    }
    allowed.iter().any(|a| norm.starts_with(a))
}

impl ConfigProviders {
    /// Builds the providers named by `config.providers` from the worker config.
    pub fn from_worker_config(worker: &ConfigMap) -> Result<Self, RuntimeError> {
        let mut providers = BTreeMap::new();
        let names =
            worker.get("config.providers").map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect::<Vec<_>>()).unwrap_or_default();
        for name in names {
            let class_key = format!("config.providers.{name}.class");
            let class = worker.get(&class_key).ok_or_else(|| {
                RuntimeError::Config(format!("Invalid worker configuration: Missing required configuration \"{class_key}\" for config provider {name}"))
            })?;
            let params = with_prefix(worker, &format!("config.providers.{name}.param."));
            let simple = class.rsplit('.').next().unwrap_or(class);
            let provider = match simple {
                "FileConfigProvider" => Provider::File { allowed: allowed_paths(&params) },
                "DirectoryConfigProvider" => Provider::Dir { allowed: allowed_paths(&params) },
                "EnvVarConfigProvider" => Provider::Env {
                    allowlist: match params.get("allowlist.pattern") {
                        Some(p) => Some(regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| RuntimeError::Config(format!("Invalid value {p} for configuration config.providers.{name}.param.allowlist.pattern: {e}")))?),
                        None => None,
                    },
                },
                other => {
                    return Err(RuntimeError::Config(format!(
                        "Invalid value {other} for configuration {class_key}: unknown ConfigProvider; available: org.apache.kafka.common.config.provider.FileConfigProvider, DirectoryConfigProvider, EnvVarConfigProvider"
                    )))
                }
            };
            providers.insert(name, provider);
        }
        Ok(Self { providers })
    }

    /// True when `value` holds a `${provider:...}` reference to a configured provider.
    pub fn has_reference(&self, value: &str) -> bool {
        self.references(value).next().is_some()
    }

    fn references<'a>(&'a self, value: &'a str) -> impl Iterator<Item = (usize, usize, &'a str, &'a str, &'a str)> + 'a {
        // (start, end, provider, path, key) of each `${provider:[path:]key}`.
        let mut pos = 0;
        std::iter::from_fn(move || {
            while let Some(rel) = value[pos..].find("${") {
                let start = pos + rel;
                let end_rel = value[start..].find('}')?;
                let end = start + end_rel + 1;
                pos = end;
                let inner = &value[start + 2..end - 1];
                let Some((provider, rest)) = inner.split_once(':') else { continue };
                if !self.providers.contains_key(provider) {
                    continue;
                }
                let (path, key) = rest.rsplit_once(':').unwrap_or(("", rest));
                return Some((start, end, provider, path, key));
            }
            None
        })
    }

    fn lookup(&self, provider: &str, path: &str, key: &str) -> Option<String> {
        match self.providers.get(provider)? {
            Provider::Env { allowlist } => {
                if allowlist.as_ref().is_some_and(|re| !re.is_match(key)) {
                    tracing::warn!(provider, variable = key, "environment variable not in the provider's allowlist; reference left unresolved");
                    return None;
                }
                std::env::var(key).ok()
            }
            Provider::File { allowed } => {
                let p = Path::new(path);
                if !path_allowed(allowed, p) {
                    tracing::warn!(provider, path, "path not in the provider's allowed.paths; reference left unresolved");
                    return None;
                }
                let text = std::fs::read_to_string(p).ok()?;
                crate::properties::parse(&text).ok()?.remove(key)
            }
            Provider::Dir { allowed } => {
                let p = Path::new(path).join(key);
                if !path_allowed(allowed, &p) || key.contains('/') {
                    tracing::warn!(provider, path, "path not in the provider's allowed.paths; reference left unresolved");
                    return None;
                }
                std::fs::read_to_string(p).ok()
            }
        }
    }

    /// The config with every resolvable reference replaced. A reference to an unknown provider,
    /// or whose value cannot be found, stays as written (as in Kafka).
    pub fn resolve(&self, config: &ConfigMap) -> ConfigMap {
        if self.providers.is_empty() {
            return config.clone();
        }
        config
            .iter()
            .map(|(k, v)| {
                let mut out = String::with_capacity(v.len());
                let mut last = 0;
                for (start, end, provider, path, key) in self.references(v) {
                    out.push_str(&v[last..start]);
                    match self.lookup(provider, path, key) {
                        Some(resolved) => out.push_str(&resolved),
                        None => {
                            tracing::warn!(config_key = %k, provider, "config reference could not be resolved; left as written");
                            out.push_str(&v[start..end]);
                        }
                    }
                    last = end;
                }
                out.push_str(&v[last..]);
                (k.clone(), out)
            })
            .collect()
    }

    /// Kafka's "reverse transform": in a resolved task config, every key whose raw connector
    /// value holds a reference gets the raw value back, so stored and reported task configs hold
    /// no secrets.
    pub fn unresolve(&self, raw_connector: &ConfigMap, resolved_task: &ConfigMap) -> ConfigMap {
        resolved_task
            .iter()
            .map(|(k, v)| match raw_connector.get(k) {
                Some(raw) if self.has_reference(raw) => (k.clone(), raw.clone()),
                _ => (k.clone(), v.clone()),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn resolves_file_env_and_dir_references() {
        let dir = tempfile::tempdir().unwrap();
        let props = dir.path().join("creds.properties");
        std::fs::write(&props, "password=s3cret\nuser=ann\n").unwrap();
        std::fs::write(dir.path().join("token"), "t0ken").unwrap();
        std::env::set_var("TRIBUTARY_TEST_SECRET", "from-env");
        let providers = ConfigProviders::from_worker_config(&cfg(&[
            ("config.providers", "file,env,dir"),
            ("config.providers.file.class", "org.apache.kafka.common.config.provider.FileConfigProvider"),
            ("config.providers.env.class", "EnvVarConfigProvider"),
            ("config.providers.dir.class", "org.apache.kafka.common.config.provider.DirectoryConfigProvider"),
            ("config.providers.dir.param.allowed.paths", dir.path().to_str().unwrap()),
        ]))
        .unwrap();
        let p = props.display();
        let d = dir.path().display();
        let raw = cfg(&[
            ("a", &format!("${{file:{p}:password}}")),
            ("b", "user=${env:TRIBUTARY_TEST_SECRET}!"),
            ("c", &format!("${{dir:{d}:token}}")),
            ("d", &format!("${{file:{p}:missing}}")),
            ("e", "${unknown:x:y}"),
            ("f", &format!("${{dir:{d}/..:etc}}")),
        ]);
        let resolved = providers.resolve(&raw);
        assert_eq!(resolved["a"], "s3cret");
        assert_eq!(resolved["b"], "user=from-env!");
        assert_eq!(resolved["c"], "t0ken");
        assert_eq!(resolved["d"], raw["d"], "a missing key stays a reference");
        assert_eq!(resolved["e"], "${unknown:x:y}");
        assert_eq!(resolved["f"], raw["f"], "a path outside allowed.paths is not read");
        let task = cfg(&[("a", "s3cret"), ("task.class", "T")]);
        assert_eq!(providers.unresolve(&raw, &task), cfg(&[("a", &raw["a"]), ("task.class", "T")]));
    }

    #[test]
    fn unknown_provider_class_is_a_config_error() {
        let err =
            ConfigProviders::from_worker_config(&cfg(&[("config.providers", "vault"), ("config.providers.vault.class", "com.example.Vault")])).unwrap_err();
        assert!(err.to_string().contains("config.providers.vault.class"), "{err}");
        let err = ConfigProviders::from_worker_config(&cfg(&[("config.providers", "file")])).unwrap_err();
        assert!(err.to_string().contains("Missing required configuration \"config.providers.file.class\""), "{err}");
    }
}
