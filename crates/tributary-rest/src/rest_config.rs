//! The REST server's worker keys, as Kafka Connect's `RestServerConfig` reads them: `listeners`,
//! `admin.listeners`, the `ssl.*` keys of HTTPS listeners and the basic-auth extension.

use crate::basic_auth::Credentials;
use crate::tls;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tributary_api::ConfigMap;
use tributary_runtime::worker_config::parse_listener_url;

pub const LISTENERS: &str = "listeners";
pub const ADMIN_LISTENERS: &str = "admin.listeners";
pub const REST_EXTENSION_CLASSES: &str = "rest.extension.classes";
/// Beyond Kafka: the credentials file of the basic-auth extension (`user=password` lines, the
/// file Kafka's `PropertyFileLoginModule` reads), for workers that have no JAAS file.
pub const BASIC_AUTH_CREDENTIALS_FILE: &str = "rest.basic.auth.credentials.file";
/// Beyond Kafka: how long a request may wait on a plugin call (Kafka's fixed 90 s).
pub const REST_REQUEST_TIMEOUT_MS: &str = "rest.request.timeout.ms";
pub const BASIC_AUTH_EXTENSION: &str = "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension";

/// Kafka Connect's default REST request timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(90);

/// A bad REST setting; the message names the key.
#[derive(Debug, thiserror::Error)]
#[error("Invalid REST configuration: {0}")]
pub struct RestConfigError(pub String);

/// One listener: where it binds and, for `https://`, its TLS settings.
#[derive(Clone)]
pub struct ListenerConfig {
    pub url: String,
    pub addr: SocketAddr,
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
}

impl std::fmt::Debug for ListenerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerConfig").field("url", &self.url).field("addr", &self.addr).field("tls", &self.tls.is_some()).finish()
    }
}

/// Where `/admin` is served.
#[derive(Debug, Clone)]
pub enum AdminListeners {
    /// `admin.listeners` unset: on the regular listeners.
    Regular,
    /// `admin.listeners=` (empty): nowhere.
    Disabled,
    /// On these listeners only.
    Separate(Vec<ListenerConfig>),
}

#[derive(Debug, Clone)]
pub struct RestServerConfig {
    pub listeners: Vec<ListenerConfig>,
    pub admin: AdminListeners,
    pub basic_auth: Option<Arc<Credentials>>,
    pub request_timeout: Duration,
}

impl RestServerConfig {
    /// Reads the REST keys from the worker's configuration.
    pub fn from_worker_config(config: &ConfigMap) -> Result<Self, RestConfigError> {
        let listeners_value = config.get(LISTENERS).map(String::as_str).unwrap_or("http://:8083");
        let listeners = parse_listeners(config, LISTENERS, listeners_value, "listeners.https.")?;
        if listeners.is_empty() {
            return Err(RestConfigError(format!("{LISTENERS} must name at least one listener")));
        }
        let admin = match config.get(ADMIN_LISTENERS) {
            None => AdminListeners::Regular,
            Some(v) if v.trim().is_empty() => AdminListeners::Disabled,
            Some(v) => AdminListeners::Separate(parse_listeners(config, ADMIN_LISTENERS, v, "admin.listeners.https.")?),
        };
        let request_timeout = match config.get(REST_REQUEST_TIMEOUT_MS) {
            None => DEFAULT_REQUEST_TIMEOUT,
            Some(v) => Duration::from_millis(
                v.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|ms| *ms > 0)
                    .ok_or_else(|| RestConfigError(format!("{REST_REQUEST_TIMEOUT_MS}: expected a positive number of milliseconds, got '{v}'")))?,
            ),
        };
        Ok(Self { listeners, admin, basic_auth: basic_auth(config)?.map(Arc::new), request_timeout })
    }
}

fn parse_listeners(config: &ConfigMap, key: &str, value: &str, https_prefix: &str) -> Result<Vec<ListenerConfig>, RestConfigError> {
    let mut out = Vec::new();
    for url in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (addr, https) = parse_listener_url(url).map_err(|why| RestConfigError(format!("Invalid value {url} for configuration {key}: {why}")))?;
        let tls = if https { Some(Arc::new(tls::server_config(&tls::ssl_settings(config, https_prefix))?)) } else { None };
        out.push(ListenerConfig { url: url.to_owned(), addr, tls });
    }
    Ok(out)
}

/// Basic auth is on when Kafka's extension is listed (credentials from the JAAS file named in
/// `KAFKA_OPTS`, as a JVM worker would find them) or when the credentials file is named directly.
fn basic_auth(config: &ConfigMap) -> Result<Option<Credentials>, RestConfigError> {
    let extensions: Vec<&str> = config.get(REST_EXTENSION_CLASSES).map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()).unwrap_or_default();
    if let Some(other) = extensions.iter().find(|c| **c != BASIC_AUTH_EXTENSION) {
        return Err(RestConfigError(format!(
            "{REST_EXTENSION_CLASSES}: {other} is not available in Tributary; the only REST extension is {BASIC_AUTH_EXTENSION}"
        )));
    }
    if let Some(path) = config.get(BASIC_AUTH_CREDENTIALS_FILE).filter(|p| !p.trim().is_empty()) {
        return Credentials::load(path.trim()).map(Some);
    }
    if extensions.is_empty() {
        return Ok(None);
    }
    let jaas = std::env::var("KAFKA_OPTS")
        .ok()
        .and_then(|opts| opts.split_whitespace().find_map(|o| o.strip_prefix("-Djava.security.auth.login.config=").map(|p| p.trim_matches('"').to_owned())));
    let Some(jaas) = jaas else {
        return Err(RestConfigError(format!(
            "{REST_EXTENSION_CLASSES} lists {BASIC_AUTH_EXTENSION} but no credentials were given: set {BASIC_AUTH_CREDENTIALS_FILE}, \
             or KAFKA_OPTS=-Djava.security.auth.login.config=<JAAS file> as for Kafka Connect"
        )));
    };
    let path = crate::basic_auth::credentials_file_from_jaas(&jaas)?;
    Credentials::load(&path).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_to_one_http_listener_with_admin_on_it() {
        let c = RestServerConfig::from_worker_config(&ConfigMap::new()).expect("defaults");
        assert_eq!(c.listeners.len(), 1);
        assert_eq!(c.listeners[0].addr, "0.0.0.0:8083".parse().expect("addr"));
        assert!(c.listeners[0].tls.is_none());
        assert!(matches!(c.admin, AdminListeners::Regular));
        assert!(c.basic_auth.is_none());
        assert_eq!(c.request_timeout, DEFAULT_REQUEST_TIMEOUT);
    }

    #[test]
    fn empty_admin_listeners_disable_admin() {
        let c = RestServerConfig::from_worker_config(&cfg(&[("listeners", "http://127.0.0.1:1"), ("admin.listeners", "")])).expect("config");
        assert!(matches!(c.admin, AdminListeners::Disabled));
        let c = RestServerConfig::from_worker_config(&cfg(&[("admin.listeners", "http://localhost:2")])).expect("config");
        let AdminListeners::Separate(l) = c.admin else { panic!("expected separate admin listeners") };
        assert_eq!(l[0].addr, "127.0.0.1:2".parse().expect("addr"));
    }

    #[test]
    fn bad_listeners_name_the_key() {
        for (pairs, expected) in [
            (vec![("listeners", "ftp://:1")], "Invalid value ftp://:1 for configuration listeners"),
            (vec![("listeners", "http://:x")], "the port is not a number"),
            (vec![("listeners", " , ")], "listeners must name at least one listener"),
            (vec![("admin.listeners", "http://name.example:1")], "configuration admin.listeners: the host must be"),
            (vec![("rest.request.timeout.ms", "0")], "rest.request.timeout.ms: expected a positive"),
            (vec![("rest.extension.classes", "com.example.Other")], "com.example.Other is not available"),
        ] {
            let err = RestServerConfig::from_worker_config(&cfg(&pairs)).expect_err("must be refused").to_string();
            assert!(err.contains(expected), "{err}");
        }
    }
}
