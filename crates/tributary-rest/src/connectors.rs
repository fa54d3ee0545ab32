//! `/connectors` resources.

use crate::error::ApiError;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tributary_api::ConfigMap;
use tributary_runtime::herder::TargetState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/connectors", get(list).post(create))
        .route("/connectors/{name}", get(info).delete(delete))
        .route("/connectors/{name}/config", get(config))
        .route("/connectors/{name}/status", get(status))
        .route("/connectors/{name}/tasks", get(tasks).post(put_task_configs))
}

/// Parses a JSON body, turning every failure into a 400 that names the problem (axum's own
/// extractor answers in plain text, which Kafka Connect clients cannot parse).
pub(crate) fn parse_json<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let body = body.map_err(|e| ApiError::new(e.status(), e.body_text()))?;
    serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("Invalid JSON request body: {e}")))
}

/// Connector configs are string maps, but clients send numbers and booleans too; Kafka
/// (Jackson) coerces those to strings, so we do as well.
pub(crate) fn config_map(value: serde_json::Value) -> Result<ConfigMap, ApiError> {
    let serde_json::Value::Object(map) = value else {
        return Err(ApiError::bad_request("Connector configuration must be a JSON object of string keys to string values"));
    };
    map.into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k, s)),
            serde_json::Value::Number(n) => Ok((k, n.to_string())),
            serde_json::Value::Bool(b) => Ok((k, b.to_string())),
            serde_json::Value::Null => Err(ApiError::bad_request(format!("Null value can not be supplied as the configuration value for {k}."))),
            _ => Err(ApiError::bad_request(format!("The value of configuration {k} must be a string"))),
        })
        .collect()
}

/// `GET /connectors`, or with `expand=status` / `expand=info` (repeatable) an object keyed by
/// connector name. Connectors deleted meanwhile are left out; unknown expansions are ignored.
async fn list(State(herder): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let names = herder.connectors().await;
    let expand: Vec<String> = crate::lifecycle::query_pairs(q.as_deref()).into_iter().filter(|(k, _)| k == "expand").map(|(_, v)| v).collect();
    if expand.is_empty() {
        return Json(names).into_response();
    }
    let mut out = serde_json::Map::new();
    for name in names {
        let mut entry = serde_json::Map::new();
        if expand.iter().any(|e| e == "status") {
            match herder.connector_status(&name).await {
                Ok(s) => entry.insert("status".into(), serde_json::to_value(s).unwrap_or_default()),
                Err(_) => continue,
            };
        }
        if expand.iter().any(|e| e == "info") {
            match herder.connector_info(&name).await {
                Ok(i) => entry.insert("info".into(), serde_json::to_value(i).unwrap_or_default()),
                Err(_) => continue,
            };
        }
        out.insert(name, serde_json::Value::Object(entry));
    }
    Json(serde_json::Value::Object(out)).into_response()
}

#[derive(Deserialize)]
struct CreateConnectorRequest {
    name: Option<String>,
    config: Option<serde_json::Value>,
    initial_state: Option<String>,
}

async fn create(State(herder): State<AppState>, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let req: CreateConnectorRequest = parse_json(body)?;
    let name = req.name.unwrap_or_default().trim().to_owned();
    if name.is_empty() {
        return Err(ApiError::bad_request("Connector name must not be empty (name: String may not be empty)"));
    }
    let config = config_map(req.config.ok_or_else(|| ApiError::bad_request("Connector configuration is missing: the request needs a \"config\" object"))?)?;
    let initial_state = match req.initial_state.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None => None,
        Some("RUNNING") => Some(TargetState::Started),
        Some("PAUSED") => Some(TargetState::Paused),
        Some("STOPPED") => Some(TargetState::Stopped),
        Some(other) => return Err(ApiError::bad_request(format!("Invalid initial_state {other}: expected RUNNING, PAUSED or STOPPED"))),
    };
    let created = herder.put_connector_config(&name, config, false, initial_state).await?;
    let location = format!("/connectors/{name}");
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(created.result)).into_response())
}

async fn info(State(herder): State<AppState>, Path(name): Path<String>) -> Result<Response, ApiError> {
    Ok(Json(herder.connector_info(&name).await?).into_response())
}

async fn config(State(herder): State<AppState>, Path(name): Path<String>) -> Result<Response, ApiError> {
    Ok(Json(herder.connector_config(&name).await?).into_response())
}

async fn status(State(herder): State<AppState>, Path(name): Path<String>) -> Result<Response, ApiError> {
    let status = herder.connector_status(&name).await?;
    Ok(Json(status).into_response())
}

async fn tasks(State(herder): State<AppState>, Path(name): Path<String>) -> Result<Response, ApiError> {
    Ok(Json(herder.task_configs(&name).await?).into_response())
}

async fn delete(State(herder): State<AppState>, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    herder.delete_connector(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /connectors/{name}/tasks`: worker-to-worker, task configs for the leader to write.
/// The raw body goes to the herder, which checks its signature.
async fn put_task_configs(
    State(herder): State<AppState>,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    use tributary_distributed::rest_client::{SIGNATURE_ALGORITHM_HEADER, SIGNATURE_HEADER};
    let header = |h: &str| headers.get(h).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let signature = match (header(SIGNATURE_ALGORITHM_HEADER), header(SIGNATURE_HEADER)) {
        (Some(a), Some(s)) => Some((a, s)),
        _ => None,
    };
    herder.put_task_configs(&name, &body, signature).await?;
    Ok(StatusCode::NO_CONTENT)
}
