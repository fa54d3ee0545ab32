//! Secured Kafka listeners (SASL_PLAINTEXT with PLAIN and SCRAM, mutual TLS, SASL_SSL), started
//! by `scripts/kafka.sh` beside the plaintext one: the same worker and connector files run on
//! Apache Kafka Connect first (so the files are proven right), then on Tributary, standalone and
//! distributed; then wrong credentials, an unknown CA and a missing ACL give errors that say so.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/test.sh (scripts/kafka.sh starts the secured listeners and names them)"))
}

fn security_dir() -> PathBuf {
    PathBuf::from(env("TRIBUTARY_TEST_SECURITY_DIR"))
}

#[derive(Clone, Copy, Debug)]
enum Case {
    SaslPlain,
    SaslScram,
    MutualTls,
    SaslSslScramPem,
    OAuthBearerOidc,
}

const CASES: [Case; 5] = [Case::SaslPlain, Case::SaslScram, Case::MutualTls, Case::SaslSslScramPem, Case::OAuthBearerOidc];

/// A test identity provider: the OAuth 2 client-credentials token endpoint of client
/// `connect` / `connect-secret`, issuing RS256 tokens for subject `alice` signed with the key
/// whose JWKS the broker reads (`scripts/kafka.sh`). Started once per test binary.
fn token_endpoint() -> String {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;
    use std::io::{BufRead, BufReader, Read, Write};
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| {
        let pem = std::fs::read_to_string(security_dir().join("oauth-signing.key")).unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let key = ring::signature::RsaKeyPair::from_pkcs8(&STANDARD.decode(body).unwrap()).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/oauth2/token", listener.local_addr().unwrap());
        let expected = format!("Basic {}", STANDARD.encode("connect:connect-secret"));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let (mut authorized, mut length) = (false, 0usize);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    authorized |= line.trim_end().split_once(": ").is_some_and(|(k, v)| k.eq_ignore_ascii_case("authorization") && v == expected);
                }
                let mut form = vec![0u8; length];
                let _ = reader.read_exact(&mut form);
                let form = String::from_utf8_lossy(&form).into_owned();
                let (status, reply) = if authorized && form.contains("grant_type=client_credentials") {
                    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
                    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT","kid":"tributary-test"}"#);
                    let claims = URL_SAFE_NO_PAD.encode(serde_json::json!({"sub": "alice", "iat": now, "exp": now + 3600, "scope": "kafka"}).to_string());
                    let signing_input = format!("{header}.{claims}");
                    let mut signature = vec![0u8; key.public().modulus_len()];
                    key.sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), signing_input.as_bytes(), &mut signature).unwrap();
                    let token = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature));
                    ("200 OK", serde_json::json!({"access_token": token, "token_type": "bearer", "expires_in": 3600}).to_string())
                } else {
                    ("401 Unauthorized", r#"{"error":"invalid_client"}"#.to_owned())
                };
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                    reply.len()
                );
            }
        });
        url
    })
    .clone()
}

fn scram_jaas(user: &str, password: &str) -> String {
    format!("org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{user}\" password=\"{password}\";")
}

fn plain_jaas(user: &str, password: &str) -> String {
    format!("org.apache.kafka.common.security.plain.PlainLoginModule required username=\"{user}\" password=\"{password}\";")
}

impl Case {
    fn bootstrap(self) -> String {
        match self {
            Case::SaslPlain | Case::SaslScram | Case::OAuthBearerOidc => env("TRIBUTARY_TEST_SASL_PLAINTEXT"),
            Case::MutualTls => env("TRIBUTARY_TEST_SSL"),
            Case::SaslSslScramPem => env("TRIBUTARY_TEST_SASL_SSL"),
        }
    }

    /// Kafka's Java client keys, as a JVM worker file has them.
    fn keys(self) -> Vec<(String, String)> {
        let dir = security_dir();
        let path = |f: &str| dir.join(f).display().to_string();
        let kv = |k: &str, v: String| (k.to_owned(), v);
        match self {
            Case::SaslPlain => vec![
                kv("security.protocol", "SASL_PLAINTEXT".into()),
                kv("sasl.mechanism", "PLAIN".into()),
                kv("sasl.jaas.config", plain_jaas("alice", "alice-secret")),
            ],
            Case::SaslScram => {
                vec![
                    kv("security.protocol", "SASL_PLAINTEXT".into()),
                    kv("sasl.mechanism", "SCRAM-SHA-512".into()),
                    kv("sasl.jaas.config", scram_jaas("alice", "alice-secret")),
                ]
            }
            Case::MutualTls => vec![
                kv("security.protocol", "SSL".into()),
                kv("ssl.truststore.location", path("truststore.jks")),
                kv("ssl.truststore.password", "storepass".into()),
                kv("ssl.truststore.type", "JKS".into()),
                kv("ssl.keystore.location", path("client-alice.p12")),
                kv("ssl.keystore.password", "storepass".into()),
                kv("ssl.keystore.type", "PKCS12".into()),
                kv("ssl.key.password", "storepass".into()),
            ],
            Case::OAuthBearerOidc => vec![
                kv("security.protocol", "SASL_PLAINTEXT".into()),
                kv("sasl.mechanism", "OAUTHBEARER".into()),
                kv("sasl.login.callback.handler.class", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler".into()),
                kv("sasl.oauthbearer.token.endpoint.url", token_endpoint()),
                kv(
                    "sasl.jaas.config",
                    r#"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="connect" clientSecret="connect-secret" scope="kafka";"#.into(),
                ),
            ],
            Case::SaslSslScramPem => vec![
                kv("security.protocol", "SASL_SSL".into()),
                kv("sasl.mechanism", "SCRAM-SHA-512".into()),
                kv("sasl.jaas.config", scram_jaas("alice", "alice-secret")),
                kv("ssl.truststore.type", "PEM".into()),
                kv("ssl.truststore.location", path("ca.pem")),
            ],
        }
    }
}

/// The keys at the top level and again under `producer.` and `consumer.`, as Kafka Connect
/// needs them for its tasks' clients.
fn security_lines(keys: &[(String, String)]) -> String {
    let mut out = String::new();
    for prefix in ["", "producer.", "consumer."] {
        for (k, v) in keys {
            out.push_str(&format!("{prefix}{k}={v}\n"));
        }
    }
    out
}

fn standalone_props(bootstrap: &str, port: u16, offsets: &Path, keys: &[(String, String)]) -> String {
    format!("{}{}", worker_props(bootstrap, port, offsets, 500), security_lines(keys))
}

fn connector_files(dir: &Path, input: &Path, output: &Path, topic: &str) -> Vec<PathBuf> {
    let src = dir.join("source.properties");
    std::fs::write(&src, format!(
            "name=secured-source\nconnector.class=FileStreamSource\ntasks.max=1\nfile={}\ntopic={topic}\ntopic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n",
            input.display()
        )).unwrap();
    let sink = dir.join("sink.properties");
    std::fs::write(&sink, format!("name=secured-sink\nconnector.class=FileStreamSink\ntasks.max=1\nfile={}\ntopics={topic}\n", output.display())).unwrap();
    vec![src, sink]
}

const LINES: usize = 100;

fn wait_for_copy(output: &Path, data: &[u8], what: &str, log: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(output).map(|m| (m.len() as usize) < data.len()).unwrap_or(true) {
        assert!(Instant::now() < deadline, "{what}: the sink file did not get every line; log:\n{}", log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(std::fs::read(output).unwrap(), data, "{what}: the sink file differs from the source file");
}

#[test]
fn standalone_workers_move_records_through_every_secured_listener_as_apache_kafka_connect_does() {
    for case in CASES {
        for engine in ["java", "tributary"] {
            let dir = tempfile::tempdir().unwrap();
            let (input, output) = (dir.path().join("in.txt"), dir.path().join("out.txt"));
            let data = write_lines(&input, LINES);
            let topic = unique("secured");
            let files = connector_files(dir.path(), &input, &output, &topic);
            let port = free_port();
            let props = standalone_props(&case.bootstrap(), port, &dir.path().join("connect.offsets"), &case.keys());
            let what = format!("{engine}, {case:?}");
            if engine == "java" {
                let java = start_java_connect(dir.path(), &props, &files, port);
                wait_for_copy(&output, &data, &what, || std::fs::read_to_string(dir.path().join("java-connect.log")).unwrap_or_default());
                java.terminate();
            } else {
                let worker = WorkerProcess::start(dir.path(), &props, &files, port);
                wait_for_copy(&output, &data, &what, || worker.log_text());
                let log = worker.log_text();
                for secret in ["alice-secret", "storepass", "connect-secret"] {
                    assert!(!log.contains(secret), "{what}: the log shows a secret:\n{log}");
                }
                assert_eq!(worker.terminate(), Some(0), "{what}");
            }
        }
    }
}

#[test]
fn distributed_workers_join_their_group_and_move_records_through_every_secured_listener_as_apache_kafka_connect_does() {
    for case in CASES {
        for engine in ["java", "tributary"] {
            let dir = tempfile::tempdir().unwrap();
            let (input, output) = (dir.path().join("in.txt"), dir.path().join("out.txt"));
            let data = write_lines(&input, LINES);
            let topic = unique("secured-dist");
            let group = unique("secured-group");
            let port = free_port();
            let props = format!(
                "bootstrap.servers={}\ngroup.id={group}\nconfig.storage.topic={group}-configs\noffset.storage.topic={group}-offsets\nstatus.storage.topic={group}-status\n\
                 config.storage.replication.factor=1\noffset.storage.replication.factor=1\nstatus.storage.replication.factor=1\n\
                 key.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.storage.StringConverter\n\
                 offset.flush.interval.ms=500\nlisteners=http://127.0.0.1:{port}\nrest.advertised.host.name=127.0.0.1\n{}",
                case.bootstrap(),
                security_lines(&case.keys())
            );
            let what = format!("distributed, {engine}, {case:?}");
            let (java, worker) = if engine == "java" {
                (Some(start_java_connect_distributed(dir.path(), &props, port)), None)
            } else {
                (None, Some(WorkerProcess::start_mode(dir.path(), "distributed", &props, &[], port)))
            };
            let log = || match &worker {
                Some(w) => w.log_text(),
                None => std::fs::read_to_string(dir.path().join("java-connect.log")).unwrap_or_default(),
            };
            let source = serde_json::json!({"name": "secured-source", "config": {"connector.class": "FileStreamSource", "tasks.max": "1", "file": input.display().to_string(), "topic": topic,
                "topic.creation.default.partitions": "1", "topic.creation.default.replication.factor": "1"}});
            let sink = serde_json::json!({"name": "secured-sink", "config": {"connector.class": "FileStreamSink", "tasks.max": "1", "file": output.display().to_string(), "topics": topic}});
            for body in [source, sink] {
                // The first write waits for the group to form.
                let deadline = Instant::now() + Duration::from_secs(60);
                loop {
                    let (code, reply) = http(port, "POST", "/connectors", Some(&body.to_string())).unwrap();
                    if code == 201 {
                        break;
                    }
                    assert!(Instant::now() < deadline, "{what}: POST /connectors answered {code} {reply}; log:\n{}", log());
                    std::thread::sleep(Duration::from_millis(250));
                }
            }
            wait_for_copy(&output, &data, &what, log);
            if let Some(java) = java {
                java.terminate();
            }
            if let Some(worker) = worker {
                assert_eq!(worker.terminate(), Some(0), "{what}");
            }
        }
    }
}

/// Runs `tributary standalone` on `props` with no connectors; returns its exit code, its
/// output and how long it took.
fn run_to_exit(dir: &Path, props: &str) -> (Option<i32>, String, Duration) {
    let path = dir.join("worker.properties");
    std::fs::write(&path, props).unwrap();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .arg("standalone")
        .arg(&path)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(45) {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let elapsed = started.elapsed();
    let out = child.wait_with_output().unwrap();
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)), elapsed)
}

#[test]
fn a_wrong_password_is_named_as_an_authentication_failure_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let keys = vec![
        ("security.protocol".to_owned(), "SASL_PLAINTEXT".to_owned()),
        ("sasl.mechanism".to_owned(), "SCRAM-SHA-512".to_owned()),
        ("sasl.jaas.config".to_owned(), scram_jaas("alice", "not-her-password")),
    ];
    let props = standalone_props(&env("TRIBUTARY_TEST_SASL_PLAINTEXT"), free_port(), &dir.path().join("o"), &keys);
    let (code, out, took) = run_to_exit(dir.path(), &props);
    assert_eq!(code, Some(1), "{out}");
    assert!(took < Duration::from_secs(10), "took {took:?}: {out}");
    assert!(out.contains("Authentication failed") && out.contains("SASL mechanism SCRAM-SHA-512") && out.contains("principal alice"), "{out}");
    assert!(out.contains("invalid credentials"), "the broker's own message is kept: {out}");
    assert!(!out.contains("not-her-password"), "the password is not repeated: {out}");
}

#[test]
fn an_unknown_ca_is_named_as_a_tls_failure_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let keys = vec![
        ("security.protocol".to_owned(), "SSL".to_owned()),
        ("ssl.truststore.location".to_owned(), security_dir().join("rogue-truststore.jks").display().to_string()),
        ("ssl.truststore.password".to_owned(), "storepass".to_owned()),
        ("ssl.keystore.location".to_owned(), security_dir().join("client-alice.p12").display().to_string()),
        ("ssl.keystore.type".to_owned(), "PKCS12".to_owned()),
        ("ssl.keystore.password".to_owned(), "storepass".to_owned()),
    ];
    let props = standalone_props(&env("TRIBUTARY_TEST_SSL"), free_port(), &dir.path().join("o"), &keys);
    let (code, out, took) = run_to_exit(dir.path(), &props);
    assert_eq!(code, Some(1), "{out}");
    assert!(took < Duration::from_secs(10), "took {took:?}: {out}");
    assert!(out.contains("TLS with the Kafka cluster") && out.contains("certificate verify failed"), "{out}");
}

#[test]
fn a_keystore_with_a_wrong_key_password_stops_the_worker_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let keys = vec![
        ("security.protocol".to_owned(), "SSL".to_owned()),
        ("ssl.keystore.location".to_owned(), security_dir().join("client-alice.jks").display().to_string()),
        ("ssl.keystore.password".to_owned(), "storepass".to_owned()),
        ("ssl.key.password".to_owned(), "wrong".to_owned()),
    ];
    let props = standalone_props(&env("TRIBUTARY_TEST_SSL"), free_port(), &dir.path().join("o"), &keys);
    let (code, out, _) = run_to_exit(dir.path(), &props);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("ssl.keystore.location") && out.contains("ssl.key.password") && out.contains("client-alice.jks"), "{out}");
}

#[test]
fn a_principal_without_the_acl_fails_its_task_naming_the_topic() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    write_lines(&input, 10);
    let topic = unique("denied");
    let src = dir.path().join("source.properties");
    std::fs::write(&src, format!("name=denied-source\nconnector.class=FileStreamSource\ntasks.max=1\nfile={}\ntopic={topic}\n", input.display())).unwrap();
    let keys = vec![
        ("security.protocol".to_owned(), "SASL_PLAINTEXT".to_owned()),
        ("sasl.mechanism".to_owned(), "PLAIN".to_owned()),
        ("sasl.jaas.config".to_owned(), plain_jaas("mallory", "mallory-secret")),
    ];
    let port = free_port();
    let worker = WorkerProcess::start(dir.path(), &standalone_props(&env("TRIBUTARY_TEST_SASL_PLAINTEXT"), port, &dir.path().join("o"), &keys), &[src], port);
    let started = Instant::now();
    let mut trace = String::new();
    wait_until(Duration::from_secs(10), "the task to fail", || {
        let (_, body) = http(port, "GET", "/connectors/denied-source/status", None).unwrap();
        let status: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        trace = status["tasks"][0]["trace"].as_str().unwrap_or_default().to_owned();
        status["tasks"][0]["state"] == "FAILED"
    });
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(trace.contains(&topic) && trace.contains("authorization failed"), "{trace}");
    drop(worker);
}

#[test]
fn the_principal_policy_lets_a_connector_choose_its_principal_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    write_lines(&input, 10);
    let alice = Case::SaslPlain.keys();
    let port = free_port();
    let props = format!(
        "{}connector.client.config.override.policy=Principal\n",
        standalone_props(&env("TRIBUTARY_TEST_SASL_PLAINTEXT"), port, &dir.path().join("o"), &alice)
    );
    let worker = WorkerProcess::start(dir.path(), &props, &[], port);
    let connector = |name: &str, topic: &str, extra: serde_json::Value| {
        let mut config = serde_json::json!({"connector.class": "FileStreamSource", "tasks.max": "1", "file": input.display().to_string(), "topic": topic});
        config.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        http(port, "POST", "/connectors", Some(&serde_json::json!({"name": name, "config": config}).to_string())).unwrap()
    };
    let (code, body) = connector("tuned", &unique("tuned"), serde_json::json!({"producer.override.linger.ms": "50"}));
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("The 'Principal' policy does not allow 'linger.ms' to be overridden in the connector configuration."), "{body}");

    // Topic creation runs as the worker's principal (alice, admin scope); the task's producer
    // writes as mallory, whom the broker's ACLs deny `denied*` topics.
    let topic = unique("denied-write");
    let (code, body) = connector("as-mallory", &topic, serde_json::json!({"producer.override.sasl.jaas.config": plain_jaas("mallory", "mallory-secret")}));
    assert_eq!(code, 201, "{body}");
    let mut trace = String::new();
    wait_until(Duration::from_secs(30), "mallory's task to fail", || {
        let (_, body) = http(port, "GET", "/connectors/as-mallory/status", None).unwrap();
        let status: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        trace = status["tasks"][0]["trace"].as_str().unwrap_or_default().to_owned();
        status["tasks"][0]["state"] == "FAILED"
    });
    assert!(trace.contains(&format!("Not authorized to access topics: [{topic}] (operation Write)")), "{trace}");
    assert!(!worker.log_text().contains("mallory-secret"), "the override's password stays out of the log");
}

#[test]
fn a_sink_whose_principal_cannot_read_its_group_fails_naming_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let props = standalone_props(&env("TRIBUTARY_TEST_SASL_PLAINTEXT"), port, &dir.path().join("o"), &Case::SaslPlain.keys());
    let worker = WorkerProcess::start(dir.path(), &props, &[], port);
    let group = unique("denied-group");
    let topic = unique("readable");
    let sink = serde_json::json!({"name": "mallory-sink", "config": {
        "connector.class": "FileStreamSink", "tasks.max": "1", "file": dir.path().join("out.txt").display().to_string(), "topics": topic,
        "consumer.override.group.id": group, "consumer.override.sasl.jaas.config": plain_jaas("mallory", "mallory-secret")}});
    let (code, body) = http(port, "POST", "/connectors", Some(&sink.to_string())).unwrap();
    assert_eq!(code, 201, "{body}");
    let mut trace = String::new();
    wait_until(Duration::from_secs(30), "mallory's sink task to fail", || {
        let (_, body) = http(port, "GET", "/connectors/mallory-sink/status", None).unwrap();
        let status: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        trace = status["tasks"][0]["trace"].as_str().unwrap_or_default().to_owned();
        status["tasks"][0]["state"] == "FAILED"
    });
    assert!(trace.contains(&format!("Not authorized to access group: {group}")), "{trace}");
    drop(worker);
}

#[test]
fn config_provider_references_in_the_worker_file_reach_every_client() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets.properties");
    std::fs::write(&secrets, "password=alice-secret\n").unwrap();
    let reference = format!("${{file:{}:password}}", secrets.display());
    let keys: Vec<(String, String)> = Case::SaslScram
        .keys()
        .into_iter()
        .map(|(k, v)| {
            let v = v.replace("alice-secret", &reference);
            (k, v)
        })
        .collect();
    let (input, output) = (dir.path().join("in.txt"), dir.path().join("out.txt"));
    let data = write_lines(&input, LINES);
    let files = connector_files(dir.path(), &input, &output, &unique("provided"));
    let port = free_port();
    let props = format!(
        "{}config.providers=file\nconfig.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider\n",
        standalone_props(&case_bootstrap(Case::SaslScram), port, &dir.path().join("o"), &keys)
    );
    let worker = WorkerProcess::start(dir.path(), &props, &files, port);
    wait_for_copy(&output, &data, "provider references", || worker.log_text());
    assert!(!worker.log_text().contains("alice-secret"), "{}", worker.log_text());
}

fn case_bootstrap(case: Case) -> String {
    case.bootstrap()
}
