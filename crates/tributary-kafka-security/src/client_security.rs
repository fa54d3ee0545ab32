//! Kafka's Java client security keys (`security.protocol`, `sasl.*`, `ssl.*`) turned into what
//! librdkafka takes, and into the settings of the connections this worker opens itself.
//!
//! Every key is either translated, passed on (librdkafka's own names), accepted because it
//! only tunes the JVM, or refused with an error naming it: nothing is dropped silently.

use crate::jaas::{self, JaasEntry};
use crate::keystore::{self, KeyMaterial, StoreType};
use crate::sasl::ScramAlgorithm;
use crate::SecurityError;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub fn parse(value: &str) -> Result<Self, SecurityError> {
        match value.trim().to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(Self::Plaintext),
            "SSL" => Ok(Self::Ssl),
            "SASL_PLAINTEXT" => Ok(Self::SaslPlaintext),
            "SASL_SSL" => Ok(Self::SaslSsl),
            _ => Err(SecurityError::invalid("security.protocol", value, "String must be one of: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL")),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Plaintext => "PLAINTEXT",
            Self::Ssl => "SSL",
            Self::SaslPlaintext => "SASL_PLAINTEXT",
            Self::SaslSsl => "SASL_SSL",
        }
    }
    pub fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }
    pub fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

/// A secret that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[hidden]")
    }
}

/// How a SASL client authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sasl {
    Plain {
        username: String,
        password: Secret,
    },
    Scram {
        algorithm: ScramAlgorithm,
        username: String,
        password: Secret,
    },
    /// Kafka's unsecured OAUTHBEARER tokens (`unsecuredLoginStringClaim_sub`), for tests and
    /// development clusters.
    OAuthBearerUnsecured {
        principal: String,
    },
    /// OAUTHBEARER with tokens from an OAuth 2 token endpoint, client credentials grant
    /// (Kafka's `OAuthBearerLoginCallbackHandler`, KIP-768).
    OAuthBearerOidc(Oidc),
}

/// An OAuth 2 client-credentials login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oidc {
    pub token_endpoint: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub scope: Option<String>,
    /// SASL extensions (`extension_<name>` options), sent with the token.
    pub extensions: Vec<(String, String)>,
}

impl Sasl {
    pub fn mechanism(&self) -> &'static str {
        match self {
            Self::Plain { .. } => "PLAIN",
            Self::Scram { algorithm: ScramAlgorithm::Sha256, .. } => "SCRAM-SHA-256",
            Self::Scram { algorithm: ScramAlgorithm::Sha512, .. } => "SCRAM-SHA-512",
            Self::OAuthBearerUnsecured { .. } | Self::OAuthBearerOidc(_) => "OAUTHBEARER",
        }
    }
    /// The name the broker will know this client by, for error messages.
    pub fn principal(&self) -> &str {
        match self {
            Self::Plain { username, .. } | Self::Scram { username, .. } => username,
            Self::OAuthBearerUnsecured { principal } => principal,
            Self::OAuthBearerOidc(oidc) => &oidc.client_id,
        }
    }
}

/// TLS material, read from the stores at configuration time.
#[derive(Clone, PartialEq, Eq)]
pub struct Tls {
    /// Trusted CA certificates (DER); `None` trusts the system's roots, as a JVM trusts its
    /// `cacerts`.
    pub trusted: Option<Vec<Vec<u8>>>,
    /// The client's certificate chain and its PKCS#8 key (DER), for mutual TLS.
    pub client: Option<KeyMaterial>,
    /// `ssl.endpoint.identification.algorithm=https` (Kafka's default): the broker's certificate
    /// must name the host connected to.
    pub verify_hostname: bool,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("trusted", &self.trusted.as_ref().map(Vec::len))
            .field("client", &self.client.as_ref().map(|k| k.chain.len()))
            .field("verify_hostname", &self.verify_hostname)
            .finish()
    }
}

/// The security of one Kafka client, from its Java keys.
#[derive(Debug, Clone)]
pub struct ClientSecurity {
    pub protocol: SecurityProtocol,
    pub sasl: Option<Sasl>,
    pub tls: Option<Tls>,
    librdkafka: Vec<(String, Secretish)>,
}

/// A librdkafka setting; the value of a secret one is kept out of `Debug`.
#[derive(Clone)]
struct Secretish {
    value: String,
    secret: bool,
}

impl fmt::Debug for Secretish {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secret {
            f.write_str("[hidden]")
        } else {
            write!(f, "{:?}", self.value)
        }
    }
}

/// Whether a client key is one of the security keys this module owns.
pub fn is_security_key(key: &str) -> bool {
    key == "security.protocol" || key.starts_with("sasl.") || key.starts_with("ssl.")
}

/// Keys that only tune the JVM's own machinery (token refresh threads, key managers at their
/// defaults); librdkafka has its own, so they are accepted and do nothing.
const JVM_TUNING: &[&str] = &[
    "sasl.login.refresh.window.factor",
    "sasl.login.refresh.window.jitter",
    "sasl.login.refresh.min.period.seconds",
    "sasl.login.refresh.buffer.seconds",
    "sasl.login.connect.timeout.ms",
    "sasl.login.read.timeout.ms",
    "sasl.login.retry.backoff.ms",
    "sasl.login.retry.backoff.max.ms",
    "sasl.kerberos.kinit.cmd",
    "sasl.kerberos.ticket.renew.window.factor",
    "sasl.kerberos.ticket.renew.jitter",
    "sasl.kerberos.min.time.before.relogin",
    // Read by the broker's token validator, not by clients.
    "sasl.oauthbearer.expected.audience",
    "sasl.oauthbearer.expected.issuer",
    "sasl.oauthbearer.jwks.endpoint.url",
    "sasl.oauthbearer.jwks.endpoint.refresh.ms",
    "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms",
    "sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms",
    "sasl.oauthbearer.clock.skew.seconds",
];

/// Java keys whose only accepted values are the JVM's defaults (anything else asks for a Java
/// class or provider this worker does not have).
const JVM_DEFAULTS: &[(&str, &[&str])] = &[
    ("ssl.keymanager.algorithm", &["SunX509", "PKIX"]),
    ("ssl.trustmanager.algorithm", &["PKIX", "SunX509"]),
    ("ssl.protocol", &["TLS", "TLSv1.2", "TLSv1.3"]),
    ("ssl.secure.random.implementation", &[]),
    ("ssl.provider", &[]),
    ("ssl.engine.factory.class", &[]),
    ("sasl.client.callback.handler.class", &[]),
    ("sasl.login.class", &[]),
    // The claims the Java client reads the principal and scope from; librdkafka reads these.
    ("sasl.oauthbearer.sub.claim.name", &["sub"]),
    ("sasl.oauthbearer.scope.claim.name", &["scope"]),
];

/// librdkafka's own names, passed on as written (a worker file written for librdkafka keeps
/// working). The secret ones are kept out of logs.
const LIBRDKAFKA_KEYS: &[(&str, bool)] = &[
    ("sasl.username", false),
    ("sasl.password", true),
    ("sasl.mechanisms", false),
    ("ssl.ca.location", false),
    ("ssl.ca.pem", false),
    ("ssl.certificate.location", false),
    ("ssl.certificate.pem", false),
    ("ssl.key.location", false),
    ("ssl.key.pem", true),
    ("ssl.key.password", true),
    ("ssl.cipher.suites", false),
    ("ssl.curves.list", false),
    ("ssl.sigalgs.list", false),
    ("ssl.crl.location", false),
    ("ssl.ca.certificate.stores", false),
    ("enable.ssl.certificate.verification", false),
    ("sasl.oauthbearer.config", true),
    ("enable.sasl.oauthbearer.unsecure.jwt", false),
];

const OAUTH_CALLBACK_HANDLERS: &[&str] = &[
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
    "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler",
];

struct Keys<'a> {
    all: &'a BTreeMap<String, String>,
}

impl<'a> Keys<'a> {
    fn get(&self, key: &str) -> Option<&'a str> {
        self.all.get(key).map(String::as_str).filter(|v| !v.trim().is_empty())
    }
}

impl ClientSecurity {
    /// A plaintext client (no security keys).
    pub fn plaintext() -> Self {
        Self { protocol: SecurityProtocol::Plaintext, sasl: None, tls: None, librdkafka: Vec::new() }
    }

    /// Reads the security keys of one client's config (other keys are ignored). As in Kafka's
    /// clients, `ssl.*` keys matter only when the protocol uses TLS and `sasl.*` keys only when
    /// it uses SASL; the others are left alone (a worker's `ssl.*` keys may be meant for its
    /// REST listener).
    pub fn from_config(config: &BTreeMap<String, String>) -> Result<Self, SecurityError> {
        let keys = Keys { all: config };
        let protocol = keys.get("security.protocol").map(SecurityProtocol::parse).transpose()?.unwrap_or(SecurityProtocol::Plaintext);
        let mut out = Self { protocol, sasl: None, tls: None, librdkafka: Vec::new() };
        out.set("security.protocol", protocol.name().to_ascii_lowercase(), false);
        for (key, value) in config {
            let relevant = (key.starts_with("ssl.") && protocol.uses_tls()) || (key.starts_with("sasl.") && protocol.uses_sasl());
            if !relevant {
                continue;
            }
            if let Some((_, secret)) = LIBRDKAFKA_KEYS.iter().find(|(k, _)| k == key) {
                out.set(key, value.clone(), *secret);
            } else if JVM_TUNING.contains(&key.as_str()) {
                tracing::debug!(key = %key, "JVM-only tuning key; librdkafka tunes this itself");
            } else if let Some((_, allowed)) = JVM_DEFAULTS.iter().find(|(k, _)| k == key) {
                if !value.trim().is_empty() && !allowed.contains(&value.trim()) {
                    return Err(SecurityError::invalid(
                        key,
                        value,
                        "only the JVM's default can be used here: it names a Java class or provider that this worker does not have",
                    ));
                }
            } else if !KNOWN_JAVA_KEYS.contains(&key.as_str()) {
                return Err(SecurityError::Unsupported { key: key.clone(), why: "not a Kafka client security key this worker can translate".into() });
            }
        }
        if protocol.uses_sasl() {
            out.sasl = out.translate_sasl(&keys)?;
        }
        if protocol.uses_tls() {
            out.tls = Some(out.translate_tls(&keys)?);
        }
        Ok(out)
    }

    fn set(&mut self, key: &str, value: String, secret: bool) {
        self.librdkafka.retain(|(k, _)| k != key);
        self.librdkafka.push((key.to_owned(), Secretish { value, secret }));
    }

    /// The librdkafka settings, in order; set them after the client's other settings.
    pub fn librdkafka_settings(&self) -> impl Iterator<Item = (&str, &str)> {
        self.librdkafka.iter().map(|(k, v)| (k.as_str(), v.value.as_str()))
    }

    fn translate_sasl(&mut self, keys: &Keys<'_>) -> Result<Option<Sasl>, SecurityError> {
        // Kafka's default mechanism is GSSAPI, as librdkafka's.
        let mechanism = keys.get("sasl.mechanism").or_else(|| keys.get("sasl.mechanisms")).unwrap_or("GSSAPI").trim().to_owned();
        let jaas = keys.get("sasl.jaas.config").map(jaas::parse).transpose().map_err(|e| SecurityError::invalid_secret("sasl.jaas.config", e.to_string()))?;
        if let Some(handler) = keys.get("sasl.login.callback.handler.class") {
            if !OAUTH_CALLBACK_HANDLERS.contains(&handler.trim()) {
                return Err(SecurityError::invalid(
                    "sasl.login.callback.handler.class",
                    handler,
                    "only Kafka's OAuthBearerLoginCallbackHandler can be translated",
                ));
            }
        }
        let sasl = match mechanism.as_str() {
            "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512" => {
                let module = if mechanism == "PLAIN" { "org.apache.kafka.common.security.plain.PlainLoginModule" } else { "org.apache.kafka.common.security.scram.ScramLoginModule" };
                let (username, password) = match &jaas {
                    Some(entry) => {
                        expect_module(entry, module, &mechanism)?;
                        only_options(entry, &["username", "password"])?;
                        (required_option(entry, "username")?, required_option(entry, "password")?)
                    }
                    None => match (keys.get("sasl.username"), keys.get("sasl.password")) {
                        (Some(u), Some(p)) => (u.to_owned(), p.to_owned()),
                        _ => return Err(SecurityError::Missing { key: "sasl.jaas.config".into(), why: format!("SASL mechanism {mechanism} needs a username and password (sasl.jaas.config, or librdkafka's sasl.username and sasl.password)") }),
                    },
                };
                self.set("sasl.username", username.clone(), false);
                self.set("sasl.password", password.clone(), true);
                Some(match mechanism.as_str() {
                    "PLAIN" => Sasl::Plain { username, password: Secret(password) },
                    "SCRAM-SHA-256" => Sasl::Scram { algorithm: ScramAlgorithm::Sha256, username, password: Secret(password) },
                    _ => Sasl::Scram { algorithm: ScramAlgorithm::Sha512, username, password: Secret(password) },
                })
            }
            "OAUTHBEARER" => self.translate_oauthbearer(keys, jaas.as_ref())?,
            "GSSAPI" => {
                return Err(SecurityError::Unsupported {
                    key: "sasl.mechanism".into(),
                    why: "GSSAPI (Kerberos; Kafka's default when sasl.mechanism is not set) is not built into this worker: use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER".into(),
                })
            }
            other => return Err(SecurityError::invalid("sasl.mechanism", other, "the mechanisms are PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER and GSSAPI")),
        };
        self.set("sasl.mechanism", mechanism, false);
        Ok(sasl)
    }

    fn translate_oauthbearer(&mut self, keys: &Keys<'_>, jaas: Option<&JaasEntry>) -> Result<Option<Sasl>, SecurityError> {
        if let Some(endpoint) = keys.get("sasl.oauthbearer.token.endpoint.url") {
            return self.translate_oidc(endpoint, jaas).map(Some);
        }
        if keys.get("sasl.login.callback.handler.class").is_some() {
            return Err(SecurityError::Missing {
                key: "sasl.oauthbearer.token.endpoint.url".into(),
                why: "OAuthBearerLoginCallbackHandler fetches tokens from the token endpoint this key names".into(),
            });
        }
        let Some(entry) = jaas else {
            // librdkafka's own settings (sasl.oauthbearer.config), passed on as they are.
            return Ok(None);
        };
        expect_module(entry, "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule", "OAUTHBEARER")?;
        let mut config = Vec::new();
        let mut principal = None;
        for (name, value) in &entry.options {
            if name == "unsecuredLoginStringClaim_sub" {
                principal = Some(value.clone());
                config.push(format!("principal={value}"));
            } else if name == "unsecuredLoginLifetimeSeconds" {
                config.push(format!("lifeSeconds={value}"));
            } else if name == "unsecuredLoginListClaim_scope" {
                config.push(format!("scope={value}"));
            } else if let Some(ext) = name.strip_prefix("unsecuredLoginExtension_") {
                config.push(format!("extension_{ext}={value}"));
            } else {
                return Err(SecurityError::invalid_secret("sasl.jaas.config", format!("the OAUTHBEARER option {name} cannot be translated")));
            }
        }
        let principal = principal.ok_or_else(|| {
            SecurityError::invalid_secret("sasl.jaas.config", "OAuthBearerLoginModule needs unsecuredLoginStringClaim_sub (or a token endpoint)".into())
        })?;
        self.set("enable.sasl.oauthbearer.unsecure.jwt", "true".into(), false);
        self.set("sasl.oauthbearer.config", config.join(" "), true);
        Ok(Some(Sasl::OAuthBearerUnsecured { principal }))
    }

    /// Kafka's OIDC login: `clientId`, `clientSecret`, `scope` and `extension_*` options in
    /// the JAAS entry, the endpoint in its own key.
    fn translate_oidc(&mut self, endpoint: &str, jaas: Option<&JaasEntry>) -> Result<Sasl, SecurityError> {
        let entry = jaas.ok_or_else(|| SecurityError::Missing {
            key: "sasl.jaas.config".into(),
            why: "OAUTHBEARER with a token endpoint needs clientId and clientSecret".into(),
        })?;
        expect_module(entry, "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule", "OAUTHBEARER")?;
        let mut extensions = Vec::new();
        for (name, value) in &entry.options {
            match name.as_str() {
                "clientId" | "clientSecret" | "scope" => {}
                _ => match name.strip_prefix("extension_") {
                    Some(ext) => extensions.push((ext.to_owned(), value.clone())),
                    None => return Err(SecurityError::invalid_secret("sasl.jaas.config", format!("the OAUTHBEARER option {name} cannot be translated"))),
                },
            }
        }
        let oidc = Oidc {
            token_endpoint: endpoint.trim().to_owned(),
            client_id: required_option(entry, "clientId")?,
            client_secret: Secret(required_option(entry, "clientSecret")?),
            scope: entry.options.get("scope").cloned(),
            extensions,
        };
        self.set("sasl.oauthbearer.method", "oidc".into(), false);
        self.set("sasl.oauthbearer.token.endpoint.url", oidc.token_endpoint.clone(), false);
        self.set("sasl.oauthbearer.client.id", oidc.client_id.clone(), false);
        self.set("sasl.oauthbearer.client.secret", oidc.client_secret.0.clone(), true);
        if let Some(scope) = &oidc.scope {
            self.set("sasl.oauthbearer.scope", scope.clone(), false);
        }
        if !oidc.extensions.is_empty() {
            let joined: Vec<String> = oidc.extensions.iter().map(|(k, v)| format!("{k}={v}")).collect();
            self.set("sasl.oauthbearer.extensions", joined.join(","), true);
        }
        Ok(Sasl::OAuthBearerOidc(oidc))
    }

    fn translate_tls(&mut self, keys: &Keys<'_>) -> Result<Tls, SecurityError> {
        let verify_hostname = match keys.all.get("ssl.endpoint.identification.algorithm").map(|v| v.trim()) {
            None | Some("https") | Some("HTTPS") => true,
            Some("") => false,
            Some(other) => return Err(SecurityError::invalid("ssl.endpoint.identification.algorithm", other, "the values are https and the empty string")),
        };
        self.set("ssl.endpoint.identification.algorithm", if verify_hostname { "https" } else { "none" }.into(), false);
        if let Some(protocols) = keys.get("ssl.enabled.protocols") {
            let listed: Vec<&str> = protocols.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
            if !(listed.contains(&"TLSv1.2") && listed.contains(&"TLSv1.3")) {
                return Err(SecurityError::invalid(
                    "ssl.enabled.protocols",
                    protocols,
                    "librdkafka offers TLSv1.2 and TLSv1.3 and cannot be restricted to fewer; list both",
                ));
            }
        }
        let store = |prefix: &str, default: StoreType| -> Result<StoreType, SecurityError> {
            let key = format!("ssl.{prefix}.type");
            keys.get(&key).map(|v| StoreType::parse(&key, v)).transpose().map(|t| t.unwrap_or(default))
        };
        let truststore_type = store("truststore", StoreType::Jks)?;
        let trusted = match (keys.get("ssl.truststore.location"), keys.get("ssl.truststore.certificates")) {
            (Some(_), Some(_)) => return Err(SecurityError::Conflict { keys: "ssl.truststore.location and ssl.truststore.certificates".into() }),
            (Some(location), None) => Some(keystore::read_truststore(location, truststore_type, keys.get("ssl.truststore.password"))?),
            (None, Some(pem)) => {
                if keys.get("ssl.truststore.type").is_some() && truststore_type != StoreType::Pem {
                    return Err(SecurityError::invalid("ssl.truststore.type", truststore_type.name(), "ssl.truststore.certificates needs type PEM"));
                }
                Some(keystore::pem_certificates("ssl.truststore.certificates", pem)?)
            }
            (None, None) => None,
        };
        if let Some(certs) = &trusted {
            self.set("ssl.ca.pem", keystore::pem("CERTIFICATE", certs), false);
            // As Kafka's Java client, an https token endpoint is checked against the same truststore.
            if matches!(self.sasl, Some(Sasl::OAuthBearerOidc(_))) {
                self.set("https.ca.pem", keystore::pem("CERTIFICATE", certs), false);
            }
        }
        let keystore_type = store("keystore", StoreType::Jks)?;
        let key_password = keys.get("ssl.key.password");
        let client = match (keys.get("ssl.keystore.location"), keys.get("ssl.keystore.certificate.chain"), keys.get("ssl.keystore.key")) {
            (Some(location), None, None) => Some(keystore::read_keystore(location, keystore_type, keys.get("ssl.keystore.password"), key_password)?),
            (None, Some(chain), Some(key)) => Some(keystore::pem_key_material(chain, key, key_password)?),
            (None, None, None) => None,
            (Some(_), _, _) => {
                return Err(SecurityError::Conflict { keys: "ssl.keystore.location and ssl.keystore.certificate.chain / ssl.keystore.key".into() })
            }
            (None, Some(_), None) => {
                return Err(SecurityError::Missing { key: "ssl.keystore.key".into(), why: "ssl.keystore.certificate.chain is set".into() })
            }
            (None, None, Some(_)) => {
                return Err(SecurityError::Missing { key: "ssl.keystore.certificate.chain".into(), why: "ssl.keystore.key is set".into() })
            }
        };
        if let Some(material) = &client {
            self.set("ssl.certificate.pem", keystore::pem("CERTIFICATE", &material.chain), false);
            self.set("ssl.key.pem", keystore::pem("PRIVATE KEY", std::slice::from_ref(&material.pkcs8)), true);
            // The key is handed over decrypted; a password would make librdkafka try to decrypt it.
            self.librdkafka.retain(|(k, _)| k != "ssl.key.password");
        }
        Ok(Tls { trusted, client, verify_hostname })
    }
}

/// Kafka's client security keys that [`ClientSecurity::from_config`] translates itself.
const KNOWN_JAVA_KEYS: &[&str] = &[
    "sasl.mechanism",
    "sasl.jaas.config",
    "sasl.login.callback.handler.class",
    "sasl.oauthbearer.token.endpoint.url",
    "sasl.kerberos.service.name",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.truststore.type",
    "ssl.truststore.certificates",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.keystore.type",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.key.password",
    "ssl.endpoint.identification.algorithm",
    "ssl.enabled.protocols",
    // The REST listener's key, in the same worker file; not a client key.
    "ssl.client.auth",
];

fn expect_module(entry: &JaasEntry, module: &str, mechanism: &str) -> Result<(), SecurityError> {
    if entry.login_module != module {
        return Err(SecurityError::invalid_secret(
            "sasl.jaas.config",
            format!("SASL mechanism {mechanism} needs login module {module}, not {}", entry.login_module),
        ));
    }
    Ok(())
}

fn only_options(entry: &JaasEntry, allowed: &[&str]) -> Result<(), SecurityError> {
    match entry.options.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(SecurityError::invalid_secret("sasl.jaas.config", format!("the {} option {k} cannot be translated", entry.login_module))),
        None => Ok(()),
    }
}

fn required_option(entry: &JaasEntry, name: &str) -> Result<String, SecurityError> {
    entry.options.get(name).cloned().ok_or_else(|| SecurityError::invalid_secret("sasl.jaas.config", format!("{} needs the option {name}", entry.login_module)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn settings(s: &ClientSecurity) -> BTreeMap<String, String> {
        s.librdkafka_settings().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    }

    const SCRAM: &str = r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="s3cret";"#;

    #[test]
    fn plaintext_ignores_tls_and_sasl_keys_as_kafkas_clients_do() {
        let s = ClientSecurity::from_config(&keys(&[("ssl.keystore.location", "/rest/only.jks"), ("sasl.jaas.config", "garbage")])).unwrap();
        assert_eq!(s.protocol, SecurityProtocol::Plaintext);
        assert_eq!(settings(&s), keys(&[("security.protocol", "plaintext")]));
    }

    #[test]
    fn scram_jaas_becomes_librdkafka_credentials_and_stays_out_of_debug() {
        let s =
            ClientSecurity::from_config(&keys(&[("security.protocol", "sasl_plaintext"), ("sasl.mechanism", "SCRAM-SHA-512"), ("sasl.jaas.config", SCRAM)]))
                .unwrap();
        assert_eq!(
            settings(&s),
            keys(&[("security.protocol", "sasl_plaintext"), ("sasl.mechanism", "SCRAM-SHA-512"), ("sasl.username", "alice"), ("sasl.password", "s3cret")])
        );
        assert_eq!(s.sasl.as_ref().map(Sasl::mechanism), Some("SCRAM-SHA-512"));
        assert!(!format!("{s:?}").contains("s3cret"), "{s:?}");
        let plain = ClientSecurity::from_config(&keys(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "u"),
            ("sasl.password", "p"),
        ]))
        .unwrap();
        assert_eq!(plain.sasl, Some(Sasl::Plain { username: "u".into(), password: Secret("p".into()) }));
    }

    #[test]
    fn unsecured_oauthbearer_is_translated() {
        let jaas = r#"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="alice" unsecuredLoginExtension_traceId="7";"#;
        let s = ClientSecurity::from_config(&keys(&[("security.protocol", "SASL_PLAINTEXT"), ("sasl.mechanism", "OAUTHBEARER"), ("sasl.jaas.config", jaas)]))
            .unwrap();
        let set = settings(&s);
        assert_eq!(set["enable.sasl.oauthbearer.unsecure.jwt"], "true");
        assert_eq!(set["sasl.oauthbearer.config"], "extension_traceId=7 principal=alice");
    }

    #[test]
    fn oidc_client_credentials_are_translated() {
        let jaas = r#"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="connect" clientSecret="t0p" scope="kafka" extension_logicalCluster="lkc-1";"#;
        let s = ClientSecurity::from_config(&keys(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.jaas.config", jaas),
            ("sasl.login.callback.handler.class", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler"),
            ("sasl.oauthbearer.token.endpoint.url", "https://idp.example/oauth2/token"),
            ("sasl.oauthbearer.sub.claim.name", "sub"),
        ]))
        .unwrap();
        let set = settings(&s);
        assert_eq!(set["sasl.oauthbearer.method"], "oidc");
        assert_eq!(set["sasl.oauthbearer.token.endpoint.url"], "https://idp.example/oauth2/token");
        assert_eq!(set["sasl.oauthbearer.client.id"], "connect");
        assert_eq!(set["sasl.oauthbearer.client.secret"], "t0p");
        assert_eq!(set["sasl.oauthbearer.scope"], "kafka");
        assert_eq!(set["sasl.oauthbearer.extensions"], "logicalCluster=lkc-1");
        assert_eq!(s.sasl.as_ref().map(Sasl::principal), Some("connect"));
        assert!(!format!("{s:?}").contains("t0p"));
    }

    #[test]
    fn what_cannot_be_translated_is_refused_by_name() {
        let sasl = |extra: &[(&str, &str)]| {
            let mut k = keys(&[("security.protocol", "SASL_SSL")]);
            k.extend(keys(extra));
            ClientSecurity::from_config(&k).unwrap_err()
        };
        assert_eq!(sasl(&[]).key(), "sasl.mechanism", "GSSAPI is Kafka's default mechanism");
        assert!(sasl(&[]).to_string().contains("GSSAPI"));
        assert_eq!(sasl(&[("sasl.mechanism", "PLAIN")]).key(), "sasl.jaas.config");
        let e = sasl(&[("sasl.mechanism", "PLAIN"), ("sasl.jaas.config", SCRAM)]);
        assert!(e.to_string().contains("needs login module org.apache.kafka.common.security.plain.PlainLoginModule"), "{e}");
        assert!(!e.to_string().contains("s3cret"), "{e}");
        let e = sasl(&[("sasl.mechanism", "OAUTHBEARER"), ("sasl.oauthbearer.token.endpoint.url", "https://idp/token")]);
        assert_eq!(e.key(), "sasl.jaas.config", "an OIDC login needs its client credentials");
        let e = sasl(&[
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.login.callback.handler.class", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler"),
        ]);
        assert_eq!(e.key(), "sasl.oauthbearer.token.endpoint.url");
        assert_eq!(
            sasl(&[("sasl.mechanism", "PLAIN"), ("sasl.jaas.config", SCRAM), ("sasl.client.callback.handler.class", "com.x.Y")]).key(),
            "sasl.client.callback.handler.class"
        );
        assert_eq!(sasl(&[("ssl.cipher.suitez", "x")]).key(), "ssl.cipher.suitez");
        let tls = |extra: &[(&str, &str)]| {
            let mut k = keys(&[("security.protocol", "SSL")]);
            k.extend(keys(extra));
            ClientSecurity::from_config(&k)
        };
        assert_eq!(tls(&[("ssl.enabled.protocols", "TLSv1.3")]).unwrap_err().key(), "ssl.enabled.protocols");
        assert_eq!(tls(&[("ssl.truststore.type", "JCEKS")]).unwrap_err().key(), "ssl.truststore.type");
        assert_eq!(tls(&[("ssl.truststore.location", "/nonexistent.jks")]).unwrap_err().key(), "ssl.truststore.location");
        assert_eq!(tls(&[("ssl.keystore.key", "x")]).unwrap_err().key(), "ssl.keystore.certificate.chain");
        assert!(SecurityProtocol::parse("TLS").is_err());
    }

    #[test]
    fn tls_defaults_follow_kafka() {
        let s = ClientSecurity::from_config(&keys(&[("security.protocol", "SSL"), ("ssl.protocol", "TLSv1.3"), ("ssl.enabled.protocols", "TLSv1.2,TLSv1.3")]))
            .unwrap();
        assert_eq!(settings(&s)["ssl.endpoint.identification.algorithm"], "https");
        let tls = s.tls.unwrap();
        assert!(tls.verify_hostname && tls.trusted.is_none() && tls.client.is_none());
        let s = ClientSecurity::from_config(&keys(&[("security.protocol", "SSL"), ("ssl.endpoint.identification.algorithm", "")])).unwrap();
        assert_eq!(settings(&s)["ssl.endpoint.identification.algorithm"], "none");
    }
}
