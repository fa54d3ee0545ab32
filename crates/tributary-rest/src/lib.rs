//! Kafka Connect's REST API over a [`Herder`]: same paths, JSON shapes, status codes and error
//! body (`{"error_code": N, "message": "..."}`), so curl scripts, kcctl and UIs work unchanged.
//!
//! [`router`] builds the whole app; tests drive it without a socket.

mod connectors;
mod error;
mod lifecycle;
mod loggers;
mod offsets;
mod plugins;

pub use error::ApiError;

use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use tributary_runtime::Herder;

/// Shared state of the handlers.
pub type AppState = Arc<dyn Herder>;

/// Largest request body accepted; connector configs are small.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The REST application.
pub fn router(herder: AppState) -> Router {
    Router::new()
        .route("/", get(root))
        .merge(connectors::routes())
        .merge(plugins::routes())
        .merge(lifecycle::routes())
        .merge(loggers::routes())
        .merge(offsets::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(herder)
}

async fn root(axum::extract::State(herder): axum::extract::State<AppState>) -> Json<tributary_runtime::herder::ServerInfo> {
    Json(herder.server_info().await)
}

async fn not_found() -> ApiError {
    ApiError::new(axum::http::StatusCode::NOT_FOUND, "HTTP 404 Not Found")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "HTTP 405 Method Not Allowed")
}

/// Serves the API on `addr` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    herder: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(herder)).with_graceful_shutdown(shutdown).await
}
