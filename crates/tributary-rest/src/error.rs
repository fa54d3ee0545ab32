//! One error type for every handler, rendered as Kafka Connect's error body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tributary_runtime::RuntimeError;

/// An error response: `{"error_code": <status>, "message": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// Distributed mode: where the request should have gone (see `forwarding`).
    forward: Option<crate::forwarding::ForwardTo>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error_code: u16,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), forward: None }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(ErrorBody { error_code: self.status.as_u16(), message: &self.message })).into_response();
        if let Some(f) = self.forward {
            response.extensions_mut().insert(f);
        }
        response
    }
}

impl From<RuntimeError> for ApiError {
    fn from(e: RuntimeError) -> Self {
        // Kafka Connect's status for each failure (ConnectExceptionMapper and the herder).
        let status = match &e {
            RuntimeError::ConnectorNotFound(_) | RuntimeError::NotFound(_) => StatusCode::NOT_FOUND,
            RuntimeError::ConnectorExists(_) => StatusCode::CONFLICT,
            RuntimeError::Forbidden(_) => StatusCode::FORBIDDEN,
            // Kafka Connect answers an unknown connector class with 500; it is the client's
            // mistake, so Tributary answers 400 (documented in the README).
            RuntimeError::BadRequest(_) | RuntimeError::Config(_) | RuntimeError::PluginNotFound(_) => StatusCode::BAD_REQUEST,
            RuntimeError::RequestTarget { .. } | RuntimeError::RebalanceNeeded => StatusCode::CONFLICT,
            RuntimeError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let forward = match &e {
            RuntimeError::RequestTarget { url, .. } => Some(crate::forwarding::ForwardTo { url: url.clone() }),
            _ => None,
        };
        Self { forward, ..Self::new(status, e.to_string()) }
    }
}
