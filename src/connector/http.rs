//! The incoming side of ILP-over-HTTP (synchronous mode, as Rafiki and every deployed client
//! speak it): `POST` on any path with `Authorization: Bearer <token>` and an OER Prepare; the
//! Fulfill or Reject comes back as the body of an HTTP 200.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::pipeline::Connector;
use crate::ilp::{MAX_PREPARE_LENGTH, Prepare};

/// The connector's router: every path, every method.
pub fn router(connector: Arc<Connector>) -> Router {
    Router::new().fallback(handle).with_state(connector)
}

fn refuse(status: StatusCode, message: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], message).into_response()
}

/// The token of an `Authorization: Bearer <token>` header: scheme case-insensitive, exactly two
/// space-separated parts, as Rafiki's auth middleware requires.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let mut parts = value.split(' ');
    let (scheme, token) = (parts.next()?, parts.next()?);
    if parts.next().is_some() || !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return None;
    }
    Some(token)
}

async fn handle(
    State(connector): State<Arc<Connector>>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if method == Method::GET {
        return refuse(StatusCode::OK, "OK");
    }
    if method != Method::POST {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, "ILP packets are POSTed");
    }
    let Some(token) = bearer_token(&headers) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "Bearer token required in Authorization header",
        );
    };
    let Some(peer) = connector.instance().peer_by_incoming_token(token) else {
        return refuse(StatusCode::UNAUTHORIZED, "Access Denied - Invalid Token");
    };
    let declared_too_long = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|length| length > MAX_PREPARE_LENGTH);
    if declared_too_long {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body is larger than any ILP Prepare",
        );
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PREPARE_LENGTH).await else {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body is larger than any ILP Prepare",
        );
    };
    let prepare = match Prepare::decode(&bytes) {
        Ok(prepare) => prepare,
        Err(error) => {
            let message = format!("Invalid Packet: {error}");
            return (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "text/plain")],
                message,
            )
                .into_response();
        }
    };
    let reply = connector.handle_prepare(&peer, prepare).await;
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/octet-stream")],
        reply.encode(),
    )
        .into_response()
}
