//! `/connectors/{name}/offsets` (KIP-875) and `/connectors/{name}/topics` (KIP-558).

use crate::connectors::parse_json;
use crate::error::ApiError;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use tributary_runtime::offsets_api::{ConnectorOffsets, Message};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/connectors/{name}/offsets", get(list).patch(alter).delete(reset))
        .route("/connectors/{name}/topics", get(topics))
        .route("/connectors/{name}/topics/reset", axum::routing::put(reset_topics))
}

async fn list(State(herder): State<AppState>, Path(name): Path<String>) -> Result<Json<ConnectorOffsets>, ApiError> {
    Ok(Json(herder.connector_offsets(&name).await?))
}

async fn alter(State(herder): State<AppState>, Path(name): Path<String>, body: Result<Bytes, BytesRejection>) -> Result<Json<Message>, ApiError> {
    let offsets: ConnectorOffsets = parse_json(body)?;
    Ok(Json(herder.alter_connector_offsets(&name, offsets).await?))
}

async fn reset(State(herder): State<AppState>, Path(name): Path<String>) -> Result<Json<Message>, ApiError> {
    Ok(Json(herder.reset_connector_offsets(&name).await?))
}

/// `{"<name>": {"topics": [...]}}`.
async fn topics(State(herder): State<AppState>, Path(name): Path<String>) -> Result<Json<serde_json::Value>, ApiError> {
    let topics = herder.connector_active_topics(&name).await?;
    Ok(Json(serde_json::json!({ name: { "topics": topics } })))
}

async fn reset_topics(State(herder): State<AppState>, Path(name): Path<String>) -> Result<axum::http::StatusCode, ApiError> {
    herder.reset_connector_active_topics(&name).await?;
    Ok(axum::http::StatusCode::ACCEPTED)
}
