//! An OAuth 2 access token for the group connection's OAUTHBEARER login: the client
//! credentials grant, as Kafka's `HttpAccessTokenRetriever` asks for it (client id and secret
//! URL-encoded in a basic `Authorization` header, `grant_type` and `scope` in a form body).

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use std::time::Duration;
use tributary_kafka_security::{Oidc, Tls};

/// `application/x-www-form-urlencoded` escaping of one value.
fn form_encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => out.push(char::from(b)),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Scheme, `host:port` and path of an http(s) URL.
fn split(url: &str) -> Result<(bool, String, String), String> {
    let (tls, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        _ => return Err(format!("the token endpoint {url} is not an http(s) URL")),
    };
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let authority = if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        authority.to_owned()
    } else {
        format!("{authority}:{}", if tls { 443 } else { 80 })
    };
    Ok((tls, authority, path.to_owned()))
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// Fetches a token; `trusted` checks an https endpoint (the client's truststore, else the
/// system's roots).
pub async fn fetch(oidc: &Oidc, trusted: Option<&Tls>, timeout: Duration) -> Result<String, String> {
    tokio::time::timeout(timeout, fetch_inner(oidc, trusted))
        .await
        .map_err(|_| format!("the token endpoint {} did not answer within {timeout:?}", oidc.token_endpoint))?
}

async fn fetch_inner(oidc: &Oidc, trusted: Option<&Tls>) -> Result<String, String> {
    let url = &oidc.token_endpoint;
    let (tls, authority, path) = split(url)?;
    let failed = |e: &dyn std::fmt::Display| format!("fetching a token from {url}: {e}");
    let tcp = tokio::net::TcpStream::connect(&authority).await.map_err(|e| failed(&e))?;
    let stream: Box<dyn Io> = if tls {
        let settings = Tls { trusted: trusted.and_then(|t| t.trusted.clone()), client: None, verify_hostname: true };
        let config = tributary_kafka_security::tls::client_config(&settings).map_err(|e| failed(&e))?;
        let host = authority.rsplit_once(':').map_or(authority.as_str(), |(h, _)| h).to_owned();
        let name = rustls::pki_types::ServerName::try_from(host).map_err(|e| failed(&e))?;
        Box::new(tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.map_err(|e| failed(&e))?)
    } else {
        Box::new(tcp)
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.map_err(|e| failed(&e))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let credentials = format!("{}:{}", form_encode(&oidc.client_id), form_encode(oidc.client_secret.expose()));
    let mut body = "grant_type=client_credentials".to_owned();
    if let Some(scope) = &oidc.scope {
        body.push_str(&format!("&scope={}", form_encode(scope)));
    }
    let request = hyper::Request::post(path)
        .header("Host", authority.as_str())
        .header("Authorization", format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials)))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| failed(&e))?;
    let response = sender.send_request(request).await.map_err(|e| failed(&e))?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.map_err(|e| failed(&e))?.to_bytes();
    if status != 200 {
        return Err(format!("the token endpoint {url} answered {status}: {}", String::from_utf8_lossy(&bytes).chars().take(300).collect::<String>()));
    }
    let reply: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| failed(&e))?;
    reply["access_token"].as_str().map(str::to_owned).ok_or_else(|| format!("the token endpoint {url} answered without an access_token"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_form_values_are_read_as_kafkas_client_writes_them() {
        assert_eq!(split("https://idp.example/oauth2/token").unwrap(), (true, "idp.example:443".into(), "/oauth2/token".into()));
        assert_eq!(split("http://127.0.0.1:8080/t?x=1").unwrap(), (false, "127.0.0.1:8080".into(), "/t?x=1".into()));
        assert!(split("ftp://x").is_err());
        assert_eq!(form_encode("a b:c/d=é"), "a+b%3Ac%2Fd%3D%C3%A9");
    }
}
