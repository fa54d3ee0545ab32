//! Connector lifecycle resources: config updates, target states, restarts, task status, health.

use crate::connectors::{config_map, parse_json};
use crate::error::ApiError;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use std::collections::BTreeMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/connectors/{name}/config", put(put_config).patch(patch_config))
        .route("/connectors/{name}/tasks/{task}/status", get(task_status))
        .route("/connectors/{name}/tasks/{task}/restart", post(restart_task))
        .route("/connectors/{name}/restart", post(restart))
        .route("/connectors/{name}/pause", put(pause))
        .route("/connectors/{name}/resume", put(resume))
        .route("/connectors/{name}/stop", put(stop))
        .route("/health", get(health))
}

/// The query parameters, repeated keys kept (`expand=status&expand=info`).
pub(crate) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()).ok_or(()) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A boolean query parameter (default false); anything but true/false is a 400.
pub(crate) fn bool_param(pairs: &[(String, String)], name: &str) -> Result<bool, ApiError> {
    match pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(v) => Err(ApiError::bad_request(format!("Invalid value {v} for query parameter {name}: expected true or false"))),
    }
}

fn task_id(raw: &str) -> Result<u32, ApiError> {
    raw.parse().map_err(|_| ApiError::new(StatusCode::NOT_FOUND, format!("Invalid task id {raw}: task ids are non-negative integers")))
}

async fn put_config(State(herder): State<AppState>, Path(name): Path<String>, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let config = config_map(parse_json(body)?)?;
    let created = herder.put_connector_config(&name, config, true, None).await?;
    if created.created {
        Ok((StatusCode::CREATED, [(header::LOCATION, format!("/connectors/{name}"))], Json(created.result)).into_response())
    } else {
        Ok(Json(created.result).into_response())
    }
}

async fn patch_config(State(herder): State<AppState>, Path(name): Path<String>, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let serde_json::Value::Object(map) = parse_json(body)? else {
        return Err(ApiError::bad_request("A config patch must be a JSON object of string (or null) values"));
    };
    let mut patch = BTreeMap::new();
    for (k, v) in map {
        let v = match v {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            _ => return Err(ApiError::bad_request(format!("The value of configuration {k} must be a string or null"))),
        };
        patch.insert(k, v);
    }
    Ok(Json(herder.patch_connector_config(&name, patch).await?).into_response())
}

async fn task_status(State(herder): State<AppState>, Path((name, task)): Path<(String, String)>) -> Result<Response, ApiError> {
    Ok(Json(herder.task_status(&name, task_id(&task)?).await?).into_response())
}

async fn restart_task(State(herder): State<AppState>, Path((name, task)): Path<(String, String)>) -> Result<StatusCode, ApiError> {
    herder.restart_task(&name, task_id(&task)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn restart(State(herder): State<AppState>, Path(name): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let pairs = query_pairs(q.as_deref());
    let (include_tasks, only_failed) = (bool_param(&pairs, "includeTasks")?, bool_param(&pairs, "onlyFailed")?);
    match herder.restart_connector(&name, include_tasks, only_failed).await? {
        None => Ok(StatusCode::NO_CONTENT.into_response()),
        Some(status) => Ok((StatusCode::ACCEPTED, Json(status)).into_response()),
    }
}

async fn pause(State(herder): State<AppState>, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    herder.pause_connector(&name).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn resume(State(herder): State<AppState>, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    herder.resume_connector(&name).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn stop(State(herder): State<AppState>, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    herder.stop_connector(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn health(State(herder): State<AppState>) -> Response {
    if herder.is_ready() {
        Json(serde_json::json!({"status": "healthy", "message": "Worker has completed startup and is ready to handle requests."})).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"status": "starting", "message": "Worker is still starting up."}))).into_response()
    }
}
