//! HTTP basic authentication, as Kafka's `BasicAuthSecurityRestExtension` with its
//! `PropertyFileLoginModule`: `user=password` lines in a properties file, 401 for a request
//! without valid credentials. Like Kafka, the internal task-config request of distributed mode
//! (`POST /connectors/{name}/tasks`) is not checked: it is signed by the session key instead.

use crate::error::ApiError;
use crate::rest_config::RestConfigError;
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The users allowed in, loaded once at start (Kafka caches the file the same way).
pub struct Credentials {
    users: BTreeMap<String, String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({} users)", self.users.len())
    }
}

impl Credentials {
    pub fn load(path: &str) -> Result<Self, RestConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| RestConfigError(format!("basic auth credentials file {path}: {e}")))?;
        let users = tributary_runtime::properties::parse(&text).map_err(|e| RestConfigError(format!("basic auth credentials file {path}: {e}")))?;
        if users.is_empty() {
            return Err(RestConfigError(format!("basic auth credentials file {path} names no user: every request would be refused")));
        }
        Ok(Self { users: users.into_iter().collect() })
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self { users: pairs.into_iter().map(|(u, p)| (u.to_owned(), p.to_owned())).collect() }
    }

    /// Checks an `Authorization` header value.
    pub fn allows(&self, authorization: Option<&str>) -> bool {
        let Some((scheme, encoded)) = authorization.and_then(|a| a.split_once(' ')) else { return false };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else { return false };
        let Ok(decoded) = String::from_utf8(decoded) else { return false };
        let Some((user, password)) = decoded.split_once(':') else { return false };
        self.users.get(user).is_some_and(|expected| constant_time_eq(expected.as_bytes(), password.as_bytes()))
    }
}

/// Compares without stopping at the first difference, so timing does not reveal the prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0xff));
    }
    diff == 0
}

fn is_internal_task_request(req: &Request) -> bool {
    let path = req.uri().path().trim_matches('/');
    req.method() == Method::POST && path.strip_prefix("connectors/").and_then(|p| p.strip_suffix("/tasks")).is_some_and(|name| !name.contains('/'))
}

/// The middleware: the request goes on only with valid credentials.
pub async fn require(axum::extract::State(credentials): axum::extract::State<Arc<Credentials>>, req: Request, next: Next) -> Response {
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if is_internal_task_request(&req) || credentials.allows(authorization) {
        return next.run(req).await;
    }
    tracing::debug!(path = %req.uri().path(), "request failed authentication");
    let mut resp = ApiError::new(StatusCode::UNAUTHORIZED, "User cannot access the resource.").into_response();
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic realm=\"Kafka Connect\""));
    resp
}

/// The credentials file named by the `KafkaConnect` entry of a JAAS file, as Kafka's login
/// module reads it: `KafkaConnect { ...PropertyFileLoginModule required file="/path"; };`.
pub fn credentials_file_from_jaas(jaas_path: &str) -> Result<String, RestConfigError> {
    let text = std::fs::read_to_string(jaas_path).map_err(|e| RestConfigError(format!("JAAS file {jaas_path}: {e}")))?;
    credentials_file_in_jaas_text(&text)
        .ok_or_else(|| RestConfigError(format!("JAAS file {jaas_path}: no `KafkaConnect {{ ...PropertyFileLoginModule required file=\"...\"; }};` entry")))
}

fn credentials_file_in_jaas_text(text: &str) -> Option<String> {
    let start = text.find("KafkaConnect")?;
    let body = &text[start..];
    let body = &body[body.find('{')? + 1..];
    let body = &body[..body.find('}')?];
    let after = &body[body.find("file")? + 4..];
    let after = after.trim_start().strip_prefix('=')?.trim_start().strip_prefix('"')?;
    Some(after[..after.find('"')?].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user_pass: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_pass))
    }

    #[test]
    fn only_exact_credentials_pass() {
        let c = Credentials::from_pairs([("admin", "s3cret:with:colons"), ("ops", "pw")]);
        assert!(c.allows(Some(&basic("admin:s3cret:with:colons"))));
        assert!(c.allows(Some(&basic("ops:pw"))));
        assert!(c.allows(Some(&basic("ops:pw").replace("Basic", "basic"))));
        for bad in
            [basic("ops:pw2"), basic("ops:p"), basic("ops:"), basic("nobody:pw"), basic("opspw"), "Bearer abc".into(), "Basic !!!".into(), "Basic".into()]
        {
            assert!(!c.allows(Some(&bad)), "{bad}");
        }
        assert!(!c.allows(None));
    }

    #[test]
    fn reads_the_file_from_a_jaas_entry() {
        let jaas = "Other { x required; };\nKafkaConnect {\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file = \"/etc/connect/creds.properties\";\n};\n";
        assert_eq!(credentials_file_in_jaas_text(jaas).as_deref(), Some("/etc/connect/creds.properties"));
        assert_eq!(credentials_file_in_jaas_text("KafkaConnect { x required; };"), None);
    }
}
