//! Request forwarding in a cluster (Kafka's `HerderRequestHandler`): a write that must run on
//! another worker (the leader, or the owner of a task) is re-sent there, and its answer
//! returned as is. Handlers only say where (`RuntimeError::RequestTarget`); this layer,
//! around every route, does the sending.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;
use tributary_distributed::rest_client;

use crate::error::ApiError;

/// Set on an error response whose request belongs on another worker.
#[derive(Debug, Clone)]
pub struct ForwardTo {
    pub url: Option<String>,
}

const NO_LEADER: &str = "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway.";
const CONFLICT: &str = "Cannot complete request because of a conflicting operation (e.g. worker rebalance)";

/// How long a forwarded request may take (the leader may be validating a config).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(90);

pub async fn forward(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    // Bodies are small JSON documents; the route's own limit applies after this one.
    let bytes = match axum::body::to_bytes(body, crate::MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(e) => return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response(),
    };
    let response = next.run(Request::from_parts(parts.clone(), Body::from(bytes.clone()))).await;
    let Some(target) = response.extensions().get::<ForwardTo>().cloned() else {
        return response;
    };
    let query = parts.uri.query().unwrap_or("");
    let mut forward_param = None;
    let mut others = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("forward", v)) => forward_param = Some(v.eq_ignore_ascii_case("true")),
            _ => others.push(pair),
        }
    }
    let url = match (target.url, forward_param) {
        (_, Some(false)) => return ApiError::new(StatusCode::CONFLICT, CONFLICT).into_response(),
        (None, _) => return ApiError::new(StatusCode::CONFLICT, NO_LEADER).into_response(),
        (Some(url), _) => url,
    };
    // One more hop is allowed when the user's request reaches a follower: it goes to the
    // leader with forward=true, and the leader may send it on to a task's owner with false.
    let next_forward = if forward_param.is_none() { "true" } else { "false" };
    let mut path_and_query = format!("{}?forward={next_forward}", parts.uri.path());
    for p in others {
        path_and_query.push('&');
        path_and_query.push_str(p);
    }
    let target = rest_client::join(&url, &path_and_query);
    let mut headers = Vec::new();
    // Only the user's credentials travel with the request, as in Kafka.
    if let Some(auth) = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        headers.push(("Authorization".to_owned(), auth.to_owned()));
    }
    for h in [rest_client::SIGNATURE_HEADER, rest_client::SIGNATURE_ALGORITHM_HEADER] {
        if let Some(v) = parts.headers.get(h).and_then(|v| v.to_str().ok()) {
            headers.push((h.to_owned(), v.to_owned()));
        }
    }
    let body = (!bytes.is_empty()).then(|| bytes.to_vec());
    tracing::debug!(method = %parts.method, to = %target, "forwarding request");
    match rest_client::send(parts.method.as_str(), &target, &headers, body, FORWARD_TIMEOUT).await {
        Ok(answer) => {
            let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let json = !answer.body.is_empty();
            let mut response = (status, answer.body).into_response();
            if json {
                response.headers_mut().insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            response
        }
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
