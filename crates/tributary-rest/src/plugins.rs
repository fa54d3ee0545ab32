//! `/connector-plugins` resources: what this worker can run, each plugin's config keys, and
//! whole-config validation.

use crate::connectors::{config_map, parse_json};
use crate::error::ApiError;
use crate::{AppState, RequestTimeout};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use std::collections::HashMap;
use tributary_runtime::config_infos::{self, ConfigInfos, ConfigKeyInfo, PluginInfo};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/connector-plugins", get(list))
        .route("/connector-plugins/{plugin}/config", get(config))
        .route("/connector-plugins/{plugin}/config/validate", put(validate))
}

async fn list(State(herder): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Result<Json<Vec<PluginInfo>>, ApiError> {
    let connectors_only = match q.get("connectorsOnly").map(|v| v.to_ascii_lowercase()) {
        None => true,
        Some(v) if v == "true" => true,
        Some(v) if v == "false" => false,
        Some(v) => return Err(ApiError::bad_request(format!("Invalid value {v} for query parameter connectorsOnly: expected true or false"))),
    };
    Ok(Json(config_infos::plugin_infos(herder.plugins(), connectors_only)))
}

async fn config(State(herder): State<AppState>, Path(plugin): Path<String>) -> Result<Json<Vec<ConfigKeyInfo>>, ApiError> {
    Ok(Json(config_infos::plugin_config(herder.plugins(), &plugin)?))
}

/// The plugin's simple name without a `Connector` suffix, for comparing names as Kafka does.
fn normalized(name: &str) -> &str {
    let simple = name.rsplit('.').next().unwrap_or(name);
    simple.strip_suffix("Connector").unwrap_or(simple)
}

async fn validate(
    State(herder): State<AppState>,
    timeout: Option<axum::Extension<RequestTimeout>>,
    Path(plugin): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ConfigInfos>, ApiError> {
    let mut config = config_map(parse_json(body)?)?;
    match config.get("connector.class") {
        Some(included) if normalized(included) != normalized(&plugin) => {
            return Err(ApiError::bad_request(format!("Included connector type {included} does not match request type {plugin}")));
        }
        Some(_) => {}
        None => {
            config.insert("connector.class".into(), plugin.clone());
        }
    }
    // A connector's validate is synchronous plugin code that may block: it runs on the blocking
    // pool, bounded by the request timeout, so it never holds up the threads serving other
    // requests. A call that times out is abandoned (a thread cannot be stopped) and reported.
    let limit = timeout.map(|t| t.0 .0).unwrap_or(crate::rest_config::DEFAULT_REQUEST_TIMEOUT);
    let call = tokio::task::spawn_blocking(move || herder.validate_connector_config(&config));
    match tokio::time::timeout(limit, call).await {
        Ok(Ok(result)) => Ok(Json(result?)),
        Ok(Err(panic)) => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("Connector validation of {plugin} failed: {panic}"))),
        Err(_) => {
            tracing::warn!(plugin = %plugin, timeout_ms = limit.as_millis() as u64, "connector validation did not return in time; abandoned");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Request timed out: the validation of {plugin} did not finish within {} ms", limit.as_millis()),
            ))
        }
    }
}
