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
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error_code: u16,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorBody { error_code: self.status.as_u16(), message: &self.message })).into_response()
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
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, e.to_string())
    }
}
