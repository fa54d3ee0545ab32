//! Worker-to-worker HTTP (`RestClient`): forwarding a user's write to the leader, and a
//! follower's task configs to the leader, signed with the session key (KIP-507).

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use std::time::Duration;
use tributary_runtime::error::RuntimeError;

/// Header carrying the base64 HMAC of the body.
pub const SIGNATURE_HEADER: &str = "X-Connect-Authorization";
/// Header naming the HMAC algorithm.
pub const SIGNATURE_ALGORITHM_HEADER: &str = "X-Connect-Request-Signature-Algorithm";
/// The only algorithm Kafka's workers use by default, and the only one Tributary speaks.
pub const HMAC_SHA256: &str = "HmacSHA256";

/// A response: status code and body bytes.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// `http://host:port` and the path (with query) of a URL.
fn split_url(url: &str) -> Result<(String, String), RuntimeError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| RuntimeError::Other(format!("cannot forward to {url}: only http:// worker URLs are supported for requests between workers")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    Ok((authority.to_owned(), path.to_owned()))
}

/// Joins a worker's base URL (`http://h:p/`) and a path (`/connectors?x=1`).
pub fn join(base: &str, path_and_query: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), path_and_query.trim_start_matches('/'))
}

/// Sends one request and reads the whole response, within `timeout`.
pub async fn send(method: &str, url: &str, headers: &[(String, String)], body: Option<Vec<u8>>, timeout: Duration) -> Result<Response, RuntimeError> {
    let (authority, path) = split_url(url)?;
    let io_error = |e: &dyn std::fmt::Display| RuntimeError::Other(format!("IO Error trying to forward REST request: {e}"));
    let work = async {
        let stream = tokio::net::TcpStream::connect(&authority).await.map_err(|e| io_error(&e))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.map_err(|e| io_error(&e))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("Host", authority.as_str())
            .header("Accept", "application/json")
            .header("User-Agent", "kafka-connect");
        if body.is_some() {
            request = request.header("Content-Type", "application/json");
        }
        for (k, v) in headers {
            request = request.header(k.as_str(), v.as_str());
        }
        let request = request.body(Full::new(Bytes::from(body.unwrap_or_default()))).map_err(|e| io_error(&e))?;
        let response = sender.send_request(request).await.map_err(|e| io_error(&e))?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.map_err(|e| io_error(&e))?.to_bytes().to_vec();
        Ok(Response { status, body })
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| RuntimeError::Other(format!("IO Error trying to forward REST request: timed out after {timeout:?}")))?
}

/// The signature headers of an internal request: base64(HMAC-SHA256(key, body)).
pub fn signature_headers(key: &[u8], body: &[u8]) -> Vec<(String, String)> {
    use base64::Engine;
    let tag = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key), body);
    vec![
        (SIGNATURE_HEADER.to_owned(), base64::engine::general_purpose::STANDARD.encode(tag.as_ref())),
        (SIGNATURE_ALGORITHM_HEADER.to_owned(), HMAC_SHA256.to_owned()),
    ]
}

/// Why an internal request's signature was refused: status and Kafka's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureRefused {
    pub status: u16,
    pub message: String,
}

/// Checks an internal request's signature (constant-time) as Kafka's `InternalRequestSignature`.
pub fn verify(key: Option<&[u8]>, algorithm: Option<&str>, signature: Option<&str>, body: &[u8]) -> Result<(), SignatureRefused> {
    use base64::Engine;
    let refuse = |status: u16, message: &str| SignatureRefused { status, message: message.to_owned() };
    let (Some(algorithm), Some(signature)) = (algorithm, signature) else {
        return Err(refuse(400, "Internal request missing required signature"));
    };
    if algorithm != HMAC_SHA256 {
        return Err(refuse(
            400,
            &format!("This worker does not support the '{algorithm}' key signing algorithm used by other workers. This worker is currently configured to use: [{HMAC_SHA256}]. Check that all workers' configuration files permit the same set of signature algorithms, and correct any misconfigured worker and restart it."),
        ));
    }
    let Ok(tag) = base64::engine::general_purpose::STANDARD.decode(signature.as_bytes()) else {
        return Err(refuse(400, "Internal request signature is not valid base64"));
    };
    let Some(key) = key else {
        return Err(refuse(503, "This worker is still starting up and has not been able to read a session key from the config topic yet"));
    };
    ring::hmac::verify(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key), body, &tag)
        .map_err(|_| refuse(403, "Internal request contained invalid signature."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_tampering_is_refused() {
        let key = b"0123456789abcdef0123456789abcdef";
        let body = br#"[{"task.class":"x"}]"#;
        let headers = signature_headers(key, body);
        let sig = headers[0].1.clone();
        assert_eq!(verify(Some(key), Some(HMAC_SHA256), Some(&sig), body), Ok(()));
        assert_eq!(verify(Some(key), Some(HMAC_SHA256), Some(&sig), b"[]").map_err(|e| e.status), Err(403));
        assert_eq!(verify(Some(key), None, None, body).map_err(|e| e.status), Err(400));
        assert_eq!(verify(Some(key), Some("HmacMD5"), Some(&sig), body).map_err(|e| e.status), Err(400));
        assert_eq!(verify(None, Some(HMAC_SHA256), Some(&sig), body).map_err(|e| e.status), Err(503));
    }

    #[test]
    fn urls_split_and_join() {
        assert_eq!(split_url("http://w1:8083/connectors?forward=true").ok(), Some(("w1:8083".into(), "/connectors?forward=true".into())));
        assert!(split_url("https://w1:8443/").is_err());
        assert_eq!(join("http://w1:8083/", "/connectors/a/tasks"), "http://w1:8083/connectors/a/tasks");
    }
}
