//! The REST layer's shapes, status codes and error bodies, driven without a socket over an
//! in-memory herder.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use std::sync::Arc;
use tower::ServiceExt;

#[allow(dead_code)]
#[path = "support/map_herder.rs"]
mod common_herder;
use common_herder::MapHerder;

async fn call(app: &axum::Router, method: &str, path: &str, body: &str) -> (StatusCode, serde_json::Value, Option<String>) {
    let req = Request::builder().method(method).uri(path).header("content-type", "application/json").body(Body::from(body.to_owned())).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let location = resp.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let json = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
    };
    (status, json, location)
}

fn app() -> axum::Router {
    tributary_rest::router(Arc::new(MapHerder::default()))
}

#[tokio::test]
async fn root_reports_version_commit_and_cluster_id() {
    let (s, body, _) = call(&app(), "GET", "/", "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body, serde_json::json!({"version":"1.0","commit":"abc","kafka_cluster_id":"cid"}));
}

#[tokio::test]
async fn create_read_and_delete_a_connector() {
    let app = app();
    let (s, body, location) = call(&app, "POST", "/connectors", r#"{"name":"c1","config":{"connector.class":"FileStreamSink","tasks.max":1}}"#).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(location.as_deref(), Some("/connectors/c1"));
    assert_eq!(body["config"], serde_json::json!({"connector.class":"FileStreamSink","tasks.max":"1","name":"c1"}));
    assert_eq!(body["type"], "sink");
    assert_eq!(body["tasks"], serde_json::json!([{"connector":"c1","task":0}]));

    let (s, body, _) = call(&app, "POST", "/connectors", r#"{"name":"c1","config":{"connector.class":"X"}}"#).await;
    assert_eq!((s, body), (StatusCode::CONFLICT, serde_json::json!({"error_code":409,"message":"Connector c1 already exists"})));

    let (s, body, _) = call(&app, "GET", "/connectors", "").await;
    assert_eq!((s, body), (StatusCode::OK, serde_json::json!(["c1"])));
    let (_, body, _) = call(&app, "GET", "/connectors/c1/config", "").await;
    assert_eq!(body["name"], "c1");
    let (_, body, _) = call(&app, "GET", "/connectors/c1/status", "").await;
    assert_eq!(body["tasks"][0], serde_json::json!({"id":0,"state":"FAILED","worker_id":"w:8083","trace":"boom"}));
    assert!(body["connector"].get("trace").is_none(), "trace is omitted when absent");
    let (_, body, _) = call(&app, "GET", "/connectors/c1/tasks", "").await;
    assert_eq!(body[0]["id"], serde_json::json!({"connector":"c1","task":0}));

    let (s, body, _) = call(&app, "DELETE", "/connectors/c1", "").await;
    assert_eq!((s, body), (StatusCode::NO_CONTENT, serde_json::Value::Null));
    let (s, body, _) = call(&app, "GET", "/connectors/c1", "").await;
    assert_eq!((s, body), (StatusCode::NOT_FOUND, serde_json::json!({"error_code":404,"message":"Connector c1 not found"})));
    let (s, body, _) = call(&app, "GET", "/connectors/c1/status", "").await;
    assert_eq!((s, body["message"].as_str()), (StatusCode::NOT_FOUND, Some("No status found for connector c1")));
}

#[tokio::test]
async fn bad_requests_get_json_errors_naming_the_problem() {
    let app = app();
    for (body, needle) in [
        ("{not json", "Invalid JSON request body"),
        (r#"{"name":"x"}"#, "needs a \"config\" object"),
        (r#"{"name":"","config":{}}"#, "name must not be empty"),
        (r#"{"name":"x","config":{"a":null}}"#, "Null value can not be supplied"),
        (r#"{"name":"x","config":{"a":[1]}}"#, "must be a string"),
        (r#"{"name":"x","config":{"connector.class":"A"},"initial_state":"SLEEPING"}"#, "Invalid initial_state SLEEPING"),
        (r#"{"name":"x","config":{}}"#, "contains no connector type"),
    ] {
        let (s, json, _) = call(&app, "POST", "/connectors", body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(json["error_code"], 400);
        assert!(json["message"].as_str().unwrap().contains(needle), "{body}: {json}");
    }
    let (s, json, _) = call(&app, "GET", "/nope", "").await;
    assert_eq!((s, json["error_code"].as_u64()), (StatusCode::NOT_FOUND, Some(404)));
    let (s, json, _) = call(&app, "PATCH", "/connectors", "").await;
    assert_eq!((s, json["error_code"].as_u64()), (StatusCode::METHOD_NOT_ALLOWED, Some(405)));
    let big = format!(r#"{{"name":"x","config":{{"a":"{}"}}}}"#, "x".repeat(2 * 1024 * 1024));
    let (s, _, _) = call(&app, "POST", "/connectors", &big).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn plugins_are_listed_with_their_configs() {
    let app = app();
    let (s, body, _) = call(&app, "GET", "/connector-plugins", "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        body,
        serde_json::json!([
            {"class":"org.apache.kafka.connect.file.FileStreamSinkConnector","type":"sink","version":env!("CARGO_PKG_VERSION")},
            {"class":"org.apache.kafka.connect.file.FileStreamSourceConnector","type":"source","version":env!("CARGO_PKG_VERSION")}
        ])
    );
    let (_, body, _) = call(&app, "GET", "/connector-plugins?connectorsOnly=false", "").await;
    let types: Vec<(&str, &str)> = body.as_array().unwrap().iter().map(|p| (p["class"].as_str().unwrap(), p["type"].as_str().unwrap())).collect();
    assert!(types.contains(&("org.apache.kafka.connect.transforms.InsertField$Value", "transformation")));
    assert!(types.contains(&("org.apache.kafka.connect.transforms.predicates.RecordIsTombstone", "predicate")));
    assert!(types.contains(&("org.apache.kafka.connect.storage.StringConverter", "converter")));
    assert!(types.contains(&("org.apache.kafka.connect.storage.SimpleHeaderConverter", "header_converter")));
    let (s, _, _) = call(&app, "GET", "/connector-plugins?connectorsOnly=maybe", "").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let (s, body, _) = call(&app, "GET", "/connector-plugins/RegexRouter/config", "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body[0]["name"], "regex");
    assert_eq!(body[0]["type"], "STRING");
    assert_eq!(body[0]["required"], true);
    assert_eq!(body[0]["default_value"], serde_json::Value::Null);
    let (s, body, _) = call(&app, "GET", "/connector-plugins/Nope/config", "").await;
    assert_eq!((s, body), (StatusCode::NOT_FOUND, serde_json::json!({"error_code":404,"message":"Unknown plugin Nope."})));
}

#[tokio::test]
async fn validate_returns_config_infos() {
    let app = app();
    let body = r#"{"name":"s","topics":"t","transforms":"m","transforms.m.type":"MaskField$Value"}"#;
    let (s, infos, _) = call(&app, "PUT", "/connector-plugins/FileStreamSink/config/validate", body).await;
    assert_eq!(s, StatusCode::OK, "{infos}");
    // As Kafka: the name is connector.class as given (here taken from the path).
    assert_eq!(infos["name"], "FileStreamSink");
    assert_eq!(infos["error_count"], 1);
    let fields = infos["configs"].as_array().unwrap().iter().find(|c| c["value"]["name"] == "transforms.m.fields").unwrap();
    assert_eq!(fields["value"]["errors"], serde_json::json!(["Missing required configuration \"transforms.m.fields\" which has no default value."]));
    assert_eq!(fields["definition"]["group"], "Transforms: m");
    let (s, body, _) = call(&app, "PUT", "/connector-plugins/FileStreamSink/config/validate", r#"{"connector.class":"FileStreamSource"}"#).await;
    assert_eq!(
        (s, body["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Included connector type FileStreamSource does not match request type FileStreamSink"))
    );
}
