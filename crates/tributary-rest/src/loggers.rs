//! `/admin/loggers`: read and change log levels at run time.

use crate::error::ApiError;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tributary_runtime::loggers::LoggerError;

pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/loggers", get(list)).route("/admin/loggers/{logger}", get(one).put(set))
}

fn control(herder: &AppState) -> Result<std::sync::Arc<dyn tributary_runtime::loggers::LoggerControl>, ApiError> {
    herder.logger_control().ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "Run-time log level control is not available in this process"))
}

async fn list(State(herder): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(control(&herder)?.loggers()).into_response())
}

async fn one(State(herder): State<AppState>, Path(logger): Path<String>) -> Result<Response, ApiError> {
    let levels = control(&herder)?.loggers();
    let level = levels.get(&logger).ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("Logger {logger} not found.")))?;
    Ok(Json(level).into_response())
}

async fn set(
    State(herder): State<AppState>,
    Path(logger): Path<String>,
    RawQuery(q): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body: serde_json::Value = crate::connectors::parse_json(body)?;
    let level = body.get("level").and_then(|l| l.as_str()).ok_or_else(|| ApiError::bad_request("Desired 'level' parameter was not specified in request."))?;
    let pairs = crate::lifecycle::query_pairs(q.as_deref());
    let scope = pairs.iter().rev().find(|(k, _)| k == "scope").map(|(_, v)| v.to_ascii_lowercase());
    let cluster = match scope.as_deref() {
        None | Some("worker") => false,
        Some("cluster") => true,
        Some(other) => return Err(ApiError::bad_request(format!("Invalid scope '{other}'; must be one of 'worker' or 'cluster'"))),
    };
    let affected = control(&herder)?.set_level(&logger, level).map_err(|e| match e {
        // Kafka answers an unknown level with 404.
        LoggerError::InvalidLevel(_) => ApiError::new(StatusCode::NOT_FOUND, e.to_string()),
        LoggerError::Failed(m) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, m),
    })?;
    // A standalone worker is the whole cluster: `scope=cluster` applies here and answers 204.
    if cluster {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Ok(Json(affected).into_response())
    }
}
