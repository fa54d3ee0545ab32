//! TLS for `https://` listeners from Kafka's `ssl.*` keys, PEM only (KIP-651's
//! `ssl.keystore.type=PEM`): Java keystores (JKS, PKCS12) need a JVM to read, so they are refused
//! with a message saying how to convert.

use crate::rest_config::RestConfigError;
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tributary_api::ConfigMap;

/// The `ssl.*` keys for a listener: Kafka takes the prefixed keys (`listeners.https.ssl.*`) when
/// any is present, all or nothing, and the worker's top-level `ssl.*` keys otherwise.
pub fn ssl_settings(config: &ConfigMap, https_prefix: &str) -> ConfigMap {
    let prefixed: ConfigMap = config.iter().filter_map(|(k, v)| k.strip_prefix(https_prefix).map(|k| (k.to_owned(), v.clone()))).collect();
    if prefixed.keys().any(|k| k.starts_with("ssl.")) {
        prefixed
    } else {
        config.iter().filter(|(k, _)| k.starts_with("ssl.")).map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

fn err(msg: impl Into<String>) -> RestConfigError {
    RestConfigError(msg.into())
}

/// Builds the rustls server configuration: certificate chain and key from the keystore keys,
/// client certificates checked against the truststore when `ssl.client.auth` asks for them.
pub fn server_config(ssl: &ConfigMap) -> Result<rustls::ServerConfig, RestConfigError> {
    let get = |k: &str| ssl.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let keystore_type = get("ssl.keystore.type").unwrap_or("JKS");
    let has_keystore = get("ssl.keystore.location").is_some() || get("ssl.keystore.certificate.chain").is_some();
    if !has_keystore {
        return Err(err("an https listener needs a certificate and key: set ssl.keystore.type=PEM and ssl.keystore.location (a PEM file holding the \
             private key and certificate chain), or ssl.keystore.certificate.chain and ssl.keystore.key"));
    }
    if !keystore_type.eq_ignore_ascii_case("PEM") {
        return Err(err(format!(
            "ssl.keystore.type {keystore_type} is not supported: Tributary reads PEM keystores (ssl.keystore.type=PEM); \
             convert with `openssl pkcs12 -in keystore.p12 -nodes`"
        )));
    }
    if get("ssl.key.password").is_some() {
        return Err(err("ssl.key.password: encrypted private keys are not supported; give an unencrypted PKCS#8 key"));
    }
    let (chain, key) = match (get("ssl.keystore.location"), get("ssl.keystore.certificate.chain"), get("ssl.keystore.key")) {
        (Some(path), _, _) => {
            let bytes = std::fs::read(path).map_err(|e| err(format!("ssl.keystore.location: cannot read {path}: {e}")))?;
            (certs(&bytes, &format!("ssl.keystore.location {path}"))?, key(&bytes, &format!("ssl.keystore.location {path}"))?)
        }
        (None, Some(chain), Some(k)) => (certs(chain.as_bytes(), "ssl.keystore.certificate.chain")?, key(k.as_bytes(), "ssl.keystore.key")?),
        (None, Some(_), None) => return Err(err("ssl.keystore.certificate.chain is set but ssl.keystore.key is not")),
        (None, None, _) => return Err(err("no keystore given")),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&protocol_versions(get("ssl.enabled.protocols"))?)
        .map_err(|e| err(format!("ssl.enabled.protocols: {e}")))?;
    let client_auth = get("ssl.client.auth").unwrap_or("none").to_ascii_lowercase();
    let builder = match client_auth.as_str() {
        "none" => builder.with_no_client_auth(),
        "required" | "requested" => {
            let roots = truststore(ssl)?;
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if client_auth == "requested" { verifier.allow_unauthenticated() } else { verifier };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| err(format!("ssl.truststore: {e}")))?)
        }
        other => return Err(err(format!("Invalid value {other} for configuration ssl.client.auth: expected none, requested or required"))),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| err(format!("ssl.keystore: the key does not fit the certificate: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, RestConfigError> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem).collect::<Result<_, _>>().map_err(|e| err(format!("{what}: bad PEM certificate: {e}")))?;
    if certs.is_empty() {
        return Err(err(format!("{what}: no CERTIFICATE block found")));
    }
    Ok(certs)
}

fn key(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, RestConfigError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| err(format!("{what}: no usable PRIVATE KEY block ({e})")))
}

fn truststore(ssl: &ConfigMap) -> Result<rustls::RootCertStore, RestConfigError> {
    let get = |k: &str| ssl.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let trust_type = get("ssl.truststore.type").unwrap_or("JKS");
    let certs = match (get("ssl.truststore.location"), get("ssl.truststore.certificates")) {
        (None, None) => return Err(err("ssl.client.auth asks for client certificates: set ssl.truststore.type=PEM and ssl.truststore.location")),
        _ if !trust_type.eq_ignore_ascii_case("PEM") => {
            return Err(err(format!("ssl.truststore.type {trust_type} is not supported: Tributary reads PEM truststores (ssl.truststore.type=PEM)")))
        }
        (Some(path), _) => {
            let bytes = std::fs::read(path).map_err(|e| err(format!("ssl.truststore.location: cannot read {path}: {e}")))?;
            certs(&bytes, &format!("ssl.truststore.location {path}"))?
        }
        (None, Some(text)) => certs(text.as_bytes(), "ssl.truststore.certificates")?,
    };
    let mut roots = rustls::RootCertStore::empty();
    for c in certs {
        roots.add(c).map_err(|e| err(format!("ssl.truststore: {e}")))?;
    }
    Ok(roots)
}

fn protocol_versions(enabled: Option<&str>) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, RestConfigError> {
    let Some(list) = enabled else {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    };
    let mut out = Vec::new();
    for p in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match p {
            "TLSv1.3" => out.push(&rustls::version::TLS13),
            "TLSv1.2" => out.push(&rustls::version::TLS12),
            other => return Err(err(format!("ssl.enabled.protocols: {other} is not supported (TLSv1.2 and TLSv1.3 are)"))),
        }
    }
    if out.is_empty() {
        return Err(err("ssl.enabled.protocols must name TLSv1.2 and/or TLSv1.3"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls");

    #[test]
    fn prefixed_keys_win_all_or_nothing() {
        let c = cfg(&[("ssl.keystore.location", "/top"), ("ssl.truststore.location", "/top-trust"), ("listeners.https.ssl.keystore.location", "/pre")]);
        let s = ssl_settings(&c, "listeners.https.");
        assert_eq!(s.get("ssl.keystore.location").map(String::as_str), Some("/pre"));
        assert_eq!(s.get("ssl.truststore.location"), None, "top-level keys are not mixed in");
        let s = ssl_settings(&c, "admin.listeners.https.");
        assert_eq!(s.get("ssl.keystore.location").map(String::as_str), Some("/top"));
    }

    #[test]
    fn pem_keystore_file_and_inline_pem_both_load() {
        let path = format!("{DIR}/server.pem");
        server_config(&cfg(&[("ssl.keystore.type", "PEM"), ("ssl.keystore.location", &path)])).expect("file keystore");
        let text = std::fs::read_to_string(&path).expect("fixture");
        let (key, chain) = text.split_at(text.find("-----BEGIN CERTIFICATE-----").expect("cert"));
        server_config(&cfg(&[("ssl.keystore.type", "PEM"), ("ssl.keystore.certificate.chain", chain), ("ssl.keystore.key", key)])).expect("inline");
        let ca = format!("{DIR}/ca.pem");
        server_config(&cfg(&[
            ("ssl.keystore.type", "PEM"),
            ("ssl.keystore.location", &path),
            ("ssl.client.auth", "required"),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.location", &ca),
        ]))
        .expect("client auth");
    }

    #[test]
    fn unusable_settings_name_the_key() {
        let path = format!("{DIR}/server.pem");
        let ca = format!("{DIR}/ca.pem");
        for (pairs, expected) in [
            (vec![], "an https listener needs a certificate and key"),
            (vec![("ssl.keystore.location", path.as_str())], "ssl.keystore.type JKS is not supported"),
            (vec![("ssl.keystore.type", "PEM"), ("ssl.keystore.location", "/nonexistent.pem")], "ssl.keystore.location: cannot read /nonexistent.pem"),
            (vec![("ssl.keystore.type", "PEM"), ("ssl.keystore.location", ca.as_str())], "no usable PRIVATE KEY"),
            (vec![("ssl.keystore.type", "PEM"), ("ssl.keystore.location", path.as_str()), ("ssl.key.password", "x")], "ssl.key.password"),
            (vec![("ssl.keystore.type", "PEM"), ("ssl.keystore.location", path.as_str()), ("ssl.client.auth", "required")], "set ssl.truststore.type=PEM"),
            (vec![("ssl.keystore.type", "PEM"), ("ssl.keystore.location", path.as_str()), ("ssl.client.auth", "maybe")], "ssl.client.auth"),
            (vec![("ssl.keystore.type", "PEM"), ("ssl.keystore.location", path.as_str()), ("ssl.enabled.protocols", "TLSv1.1")], "TLSv1.1 is not supported"),
        ] {
            let e = server_config(&cfg(&pairs)).expect_err("must be refused").to_string();
            assert!(e.contains(expected), "{e}");
        }
    }
}
