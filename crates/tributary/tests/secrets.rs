//! A secret from a file ConfigProvider reaches the connector, and never appears in a REST
//! response or a log line.

mod common;

use common::*;
use serde_json::json;
use std::time::Duration;

#[test]
fn file_provider_secret_reaches_the_connector_but_not_the_api_or_logs() {
    let bootstrap = bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    let data = write_lines(&input, 100);
    // The secret is where the sink writes: if the sink writes there, it was resolved.
    let secret = dir.path().join(format!("{}.txt", unique("hidden-output")));
    let secret_text = secret.to_str().unwrap().to_owned();
    let creds = dir.path().join("creds.properties");
    std::fs::write(&creds, format!("out={secret_text}\n")).unwrap();
    let reference = format!("${{file:{}:out}}", creds.display());
    let topic = unique("secret");
    let port = free_port();
    let props = format!(
        "{}config.providers=file\nconfig.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider\n",
        worker_props(&bootstrap, port, &dir.path().join("o.offsets"), 500)
    );
    let worker = WorkerProcess::start(dir.path(), &props, &[], port);
    let src = json!({"name":"src","config":{"connector.class":"FileStreamSource","file":input.to_str().unwrap(),"topic":topic,"topic.creation.default.partitions":"1","topic.creation.default.replication.factor":"1"}});
    assert_eq!(http(port, "POST", "/connectors", Some(&src.to_string())).unwrap().0, 201);
    let sink_config = json!({"connector.class":"FileStreamSink","topics":topic,"file":reference});
    let sink = json!({"name":"sink","config":sink_config});
    let (code, created) = http(port, "POST", "/connectors", Some(&sink.to_string())).unwrap();
    assert_eq!(code, 201, "{created}");
    wait_until(Duration::from_secs(60), "the sink to write to the secret path", || std::fs::read(&secret).map(|b| b == data).unwrap_or(false));

    let mut responses = vec![created];
    for path in ["/connectors/sink", "/connectors/sink/config", "/connectors/sink/tasks", "/connectors/sink/status", "/connectors?expand=info&expand=status"] {
        let (code, body) = http(port, "GET", path, None).unwrap();
        assert_eq!(code, 200, "{path}");
        responses.push(body);
    }
    let (code, body) = http(
        port,
        "PUT",
        "/connector-plugins/FileStreamSink/config/validate",
        Some(&json!({"name":"sink","topics":topic,"file":reference,"tasks.max":"x"}).to_string()),
    )
    .unwrap();
    assert_eq!(code, 200);
    responses.push(body);
    let (code, body) = http(
        port,
        "PUT",
        "/connectors/sink/config",
        Some(&json!({"connector.class":"FileStreamSink","topics":topic,"file":reference,"tasks.max":"nope"}).to_string()),
    )
    .unwrap();
    assert_eq!(code, 400);
    responses.push(body);
    for r in &responses {
        assert!(!r.contains(&secret_text), "a REST response leaked the secret: {r}");
    }
    let (_, config) = http(port, "GET", "/connectors/sink/config", None).unwrap();
    let config: serde_json::Value = serde_json::from_str(&config).unwrap();
    assert_eq!(config["file"], reference.as_str(), "REST returns the reference as written");
    let (_, tasks) = http(port, "GET", "/connectors/sink/tasks", None).unwrap();
    let tasks: serde_json::Value = serde_json::from_str(&tasks).unwrap();
    assert_eq!(tasks[0]["config"]["file"], reference.as_str(), "task configs keep the reference too");

    let log_path = worker.log.clone();
    assert_eq!(worker.terminate(), Some(0));
    let log = std::fs::read_to_string(log_path).unwrap();
    assert!(!log.contains(&secret_text), "the log leaked the secret");
}
