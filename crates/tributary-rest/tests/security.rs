//! REST security over real sockets: HTTPS listeners (PEM keystores, client certificates), basic
//! authentication, `admin.listeners`, and the request timeout around a blocking `validate`.
//! Certificates in `tests/tls` were made once with openssl (CA, server for localhost/127.0.0.1,
//! client signed by the CA, and a self-signed stranger), valid for a century.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tributary_api::ConfigMap;
use tributary_rest::{RestServer, RestServerConfig};

#[allow(dead_code)]
#[path = "support/map_herder.rs"]
mod common_herder;
use common_herder::MapHerder;

const TLS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls");

fn fixture(name: &str) -> String {
    format!("{TLS_DIR}/{name}")
}

fn cfg(pairs: &[(&str, &str)]) -> ConfigMap {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// Starts a server on port 0 for every listener; returns the bound addresses.
async fn start(pairs: &[(&str, &str)], herder: MapHerder) -> (Vec<SocketAddr>, tokio::sync::oneshot::Sender<()>) {
    let config = RestServerConfig::from_worker_config(&cfg(pairs)).expect("valid REST config");
    let server = RestServer::bind(config).await.expect("bind");
    let addrs = server.local_addrs();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.serve(Arc::new(herder), async move {
        let _ = rx.await;
    }));
    (addrs, tx)
}

fn client_config(client_cert: Option<&str>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(fixture("ca.pem")).expect("ca") {
        roots.add(c.expect("ca cert")).expect("add ca");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions().expect("versions").with_root_certificates(roots);
    let config = match client_cert {
        None => builder.with_no_client_auth(),
        Some(name) => {
            let path = fixture(name);
            let chain: Vec<_> = CertificateDer::pem_file_iter(&path).expect("chain").map(|c| c.expect("cert")).collect();
            builder.with_client_auth_cert(chain, PrivateKeyDer::from_pem_file(&path).expect("key")).expect("client auth")
        }
    };
    Arc::new(config)
}

/// One HTTP/1.1 request; returns the status and body. `tls` wraps the connection first.
async fn request(
    addr: SocketAddr,
    tls: Option<Arc<rustls::ClientConfig>>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, String)> {
    send(addr, tls, method, path, headers, "").await
}

async fn send(
    addr: SocketAddr,
    tls: Option<Arc<rustls::ClientConfig>>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head.push_str(body);
    let mut raw = Vec::new();
    match tls {
        None => {
            let mut s = tcp;
            s.write_all(head.as_bytes()).await?;
            s.read_to_end(&mut raw).await?;
        }
        Some(config) => {
            let name = ServerName::try_from("localhost").expect("name");
            let mut s = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await?;
            s.write_all(head.as_bytes()).await?;
            s.flush().await?;
            s.read_to_end(&mut raw).await?;
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {text:?}")))?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}

const HTTPS: &[(&str, &str)] = &[("listeners", "https://127.0.0.1:0"), ("ssl.keystore.type", "PEM")];

fn https_with(extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut v: Vec<(&'static str, String)> = HTTPS.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    v.push(("ssl.keystore.location", fixture("server.pem")));
    v.extend(extra.iter().cloned());
    v
}

fn borrowed<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn https_listener_serves_the_api_and_refuses_plain_http() {
    let pairs = https_with(&[]);
    let (addrs, _stop) = start(&borrowed(&pairs), MapHerder::default()).await;
    let (status, body) = request(addrs[0], Some(client_config(None)), "GET", "/", &[]).await.expect("https request");
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).expect("json")["kafka_cluster_id"], "cid");
    let (status, _) = request(addrs[0], Some(client_config(None)), "GET", "/connectors", &[]).await.expect("https request");
    assert_eq!(status, 200);
    let plain = request(addrs[0], None, "GET", "/", &[]).await;
    assert!(plain.is_err(), "plain HTTP to an https listener must not get an HTTP answer: {plain:?}");
}

#[tokio::test]
async fn prefixed_listener_keys_configure_tls() {
    let pairs = vec![
        ("listeners", "https://127.0.0.1:0".to_owned()),
        ("listeners.https.ssl.keystore.type", "PEM".to_owned()),
        ("listeners.https.ssl.keystore.location", fixture("server.pem")),
        // Top-level keys are ignored once prefixed ones exist: this one would fail if read.
        ("ssl.keystore.location", "/nonexistent".to_owned()),
    ];
    let (addrs, _stop) = start(&borrowed(&pairs), MapHerder::default()).await;
    assert_eq!(request(addrs[0], Some(client_config(None)), "GET", "/", &[]).await.expect("request").0, 200);
}

#[tokio::test]
async fn required_client_certificates_are_checked_against_the_truststore() {
    let pairs = https_with(&[("ssl.client.auth", "required".into()), ("ssl.truststore.type", "PEM".into()), ("ssl.truststore.location", fixture("ca.pem"))]);
    let (addrs, _stop) = start(&borrowed(&pairs), MapHerder::default()).await;
    assert_eq!(request(addrs[0], Some(client_config(Some("client.pem"))), "GET", "/", &[]).await.expect("trusted client").0, 200);
    let anonymous = request(addrs[0], Some(client_config(None)), "GET", "/", &[]).await;
    assert!(anonymous.is_err(), "a client without a certificate got {anonymous:?}");
    let stranger = request(addrs[0], Some(client_config(Some("stranger.pem"))), "GET", "/", &[]).await;
    assert!(stranger.is_err(), "a certificate from another CA got {stranger:?}");
}

#[tokio::test]
async fn requested_client_certificates_are_optional() {
    let pairs = https_with(&[("ssl.client.auth", "requested".into()), ("ssl.truststore.type", "PEM".into()), ("ssl.truststore.location", fixture("ca.pem"))]);
    let (addrs, _stop) = start(&borrowed(&pairs), MapHerder::default()).await;
    assert_eq!(request(addrs[0], Some(client_config(None)), "GET", "/", &[]).await.expect("anonymous").0, 200);
    assert_eq!(request(addrs[0], Some(client_config(Some("client.pem"))), "GET", "/", &[]).await.expect("client").0, 200);
    assert!(request(addrs[0], Some(client_config(Some("stranger.pem"))), "GET", "/", &[]).await.is_err(), "an untrusted certificate is still refused");
}

fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tributary-rest-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write");
    path
}

#[tokio::test]
async fn basic_auth_refuses_requests_without_valid_credentials() {
    let creds = temp_file("credentials.properties", "# users\nadmin=s3cret\nops: opspw\n");
    let creds = creds.to_string_lossy().into_owned();
    let (addrs, _stop) = start(
        &[
            ("listeners", "http://127.0.0.1:0"),
            ("rest.extension.classes", "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension"),
            ("rest.basic.auth.credentials.file", &creds),
        ],
        MapHerder::default(),
    )
    .await;
    let auth = |up: &str| format!("Basic {}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, up));
    for headers in
        [vec![], vec![("Authorization", auth("admin:wrong"))], vec![("Authorization", auth("nobody:s3cret"))], vec![("Authorization", "Bearer x".into())]]
    {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for path in ["/", "/connectors", "/admin/loggers", "/no/such/path"] {
            let (status, body) = request(addrs[0], None, "GET", path, &h).await.expect("request");
            assert_eq!(status, 401, "{path} with {headers:?}");
            assert_eq!(body, r#"{"error_code":401,"message":"User cannot access the resource."}"#);
        }
    }
    for up in ["admin:s3cret", "ops:opspw"] {
        let (status, body) = request(addrs[0], None, "GET", "/connectors", &[("Authorization", &auth(up))]).await.expect("request");
        assert_eq!((status, body.as_str()), (200, "[]"), "{up}");
    }
    // Distributed mode's internal task-config request is exempt, as in Kafka (it is signed instead).
    let (status, _) = request(addrs[0], None, "POST", "/connectors/c/tasks", &[]).await.expect("request");
    assert_ne!(status, 401);
}

#[tokio::test]
async fn admin_listeners_move_or_remove_the_admin_resources() {
    // The in-memory herder has no log control, so a reached /admin route answers with that
    // message; an absent route answers with the router's plain 404.
    const ABSENT: &str = r#"{"error_code":404,"message":"HTTP 404 Not Found"}"#;
    const REACHED: &str = "Run-time log level control is not available";
    let (addrs, _stop) = start(&[("listeners", "http://127.0.0.1:0"), ("admin.listeners", "http://127.0.0.1:0")], MapHerder::default()).await;
    let (regular, admin) = (addrs[0], addrs[1]);
    assert_eq!(request(regular, None, "GET", "/admin/loggers", &[]).await.expect("req").1, ABSENT);
    assert_eq!(request(regular, None, "GET", "/connectors", &[]).await.expect("req").0, 200);
    let (_, body) = request(admin, None, "GET", "/admin/loggers", &[]).await.expect("req");
    assert!(body.contains(REACHED), "{body}");
    assert_eq!(request(admin, None, "GET", "/connectors", &[]).await.expect("req").1, ABSENT);

    let (addrs, _stop) = start(&[("listeners", "http://127.0.0.1:0"), ("admin.listeners", "")], MapHerder::default()).await;
    assert_eq!(addrs.len(), 1);
    assert_eq!(request(addrs[0], None, "GET", "/admin/loggers", &[]).await.expect("req").1, ABSENT);

    let (addrs, _stop) = start(&[("listeners", "http://127.0.0.1:0")], MapHerder::default()).await;
    let (_, body) = request(addrs[0], None, "GET", "/admin/loggers", &[]).await.expect("req");
    assert!(body.contains(REACHED), "admin is on the regular listener by default: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_validate_times_out_without_stalling_other_requests() {
    let mut herder = MapHerder::default();
    herder.validate_delay = Some(Duration::from_secs(2));
    let (addrs, _stop) = start(&[("listeners", "http://127.0.0.1:0"), ("rest.request.timeout.ms", "300")], herder).await;
    let addr = addrs[0];
    // More stuck validations than the runtime has threads.
    let stuck: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn(async move {
                let started = Instant::now();
                let body = r#"{"connector.class":"FileStreamSink","topics":"t","file":"/tmp/x"}"#;
                let r = send(addr, None, "PUT", "/connector-plugins/FileStreamSink/config/validate", &[], body).await;
                (r, started.elapsed())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let (status, _) = request(addr, None, "GET", "/connectors", &[]).await.expect("list");
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_millis(250), "GET /connectors waited {:?} behind blocked validations", started.elapsed());
    for s in stuck {
        let (r, took) = s.await.expect("join");
        let (status, body) = r.expect("validate answered");
        assert_eq!(status, 500, "{body}");
        assert!(body.contains("Request timed out"), "{body}");
        assert!(took < Duration::from_millis(1500), "the timeout took {took:?}");
    }
}
