//! Kafka Connect's REST API over a [`Herder`]: same paths, JSON shapes, status codes and error
//! body (`{"error_code": N, "message": "..."}`), so curl scripts, kcctl and UIs work unchanged.
//!
//! [`router`] builds the whole app; tests drive it without a socket.

pub mod basic_auth;
mod connectors;
mod error;
pub mod forwarding;
mod lifecycle;
mod loggers;
mod offsets;
mod plugins;
pub mod rest_config;
mod server;
mod tls;

pub use error::ApiError;
pub use rest_config::{RestConfigError, RestServerConfig};
pub use server::{BindError, RestServer};

use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use tributary_runtime::Herder;

/// Shared state of the handlers.
pub type AppState = Arc<dyn Herder>;

/// Largest request body accepted; connector configs are small.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Which resources a listener serves: Kafka's "regular" set and the admin set (`/admin/loggers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routes {
    pub regular: bool,
    pub admin: bool,
}

impl Routes {
    pub const ALL: Routes = Routes { regular: true, admin: true };
}

/// How long a request waits for a plugin call before answering 500 `Request timed out`.
#[derive(Debug, Clone, Copy)]
pub struct RequestTimeout(pub std::time::Duration);

/// The whole REST application, without authentication: what tests drive.
pub fn router(herder: AppState) -> Router {
    app(herder, Routes::ALL, None, rest_config::DEFAULT_REQUEST_TIMEOUT)
}

/// The application of one listener.
pub fn app(herder: AppState, routes: Routes, basic_auth: Option<Arc<basic_auth::Credentials>>, timeout: std::time::Duration) -> Router {
    let mut router = Router::new();
    if routes.regular {
        router = router
            .route("/", get(root))
            .route("/openapi.json", get(openapi))
            .merge(connectors::routes())
            .merge(plugins::routes())
            .merge(lifecycle::routes())
            .merge(offsets::routes());
    }
    if routes.admin {
        router = router.merge(loggers::routes());
    }
    let mut router = router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::Extension(RequestTimeout(timeout)));
    // Inside authentication: only authenticated requests are forwarded.
    router = router.layer(axum::middleware::from_fn(forwarding::forward));
    if let Some(credentials) = basic_auth {
        router = router.layer(axum::middleware::from_fn_with_state(credentials, basic_auth::require));
    }
    router.layer(axum::middleware::map_response(error_as_json)).with_state(herder)
}

async fn root(axum::extract::State(herder): axum::extract::State<AppState>) -> Json<tributary_runtime::herder::ServerInfo> {
    Json(herder.server_info().await)
}

/// The OpenAPI document of this API; `tests/openapi.rs` keeps it in step with the router.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Every route the router serves, with its methods: the list the OpenAPI test checks both ways.
pub const ROUTES: &[(&str, &[&str])] = &[
    ("/", &["get"]),
    ("/health", &["get"]),
    ("/openapi.json", &["get"]),
    ("/connectors", &["get", "post"]),
    ("/connectors/{name}", &["get", "delete"]),
    ("/connectors/{name}/config", &["get", "put", "patch"]),
    ("/connectors/{name}/status", &["get"]),
    ("/connectors/{name}/tasks", &["get", "post"]),
    ("/connectors/{name}/tasks/{task}/status", &["get"]),
    ("/connectors/{name}/tasks/{task}/restart", &["post"]),
    ("/connectors/{name}/restart", &["post"]),
    ("/connectors/{name}/pause", &["put"]),
    ("/connectors/{name}/resume", &["put"]),
    ("/connectors/{name}/stop", &["put"]),
    ("/connectors/{name}/topics", &["get"]),
    ("/connectors/{name}/topics/reset", &["put"]),
    ("/connectors/{name}/offsets", &["get", "patch", "delete"]),
    ("/connector-plugins", &["get"]),
    ("/connector-plugins/{plugin}/config", &["get"]),
    ("/connector-plugins/{plugin}/config/validate", &["put"]),
    ("/admin/loggers", &["get"]),
    ("/admin/loggers/{logger}", &["get", "put"]),
];

async fn openapi() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// Extractor rejections (an undecodable path segment, say) answer in plain text; every error
/// leaves this API in Kafka Connect's JSON error shape instead.
async fn error_as_json(resp: axum::response::Response) -> axum::response::Response {
    use axum::response::IntoResponse;
    let status = resp.status();
    let is_json = resp.headers().get(axum::http::header::CONTENT_TYPE).is_some_and(|c| c.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let text = match axum::body::to_bytes(resp.into_body(), 64 * 1024).await {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(_) => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    ApiError::new(status, text).into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(axum::http::StatusCode::NOT_FOUND, "HTTP 404 Not Found")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "HTTP 405 Method Not Allowed")
}

/// Serves the whole API on one plain-HTTP listener until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    herder: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(herder)).with_graceful_shutdown(shutdown).await
}
