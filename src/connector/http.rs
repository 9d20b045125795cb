//! The incoming side of ILP-over-HTTP (synchronous mode, as Rafiki and every deployed client
//! speak it): `POST` on any path with `Authorization: Bearer <token>` and an OER Prepare; the
//! Fulfill or Reject comes back as the body of an HTTP 200.
//!
//! Served with bare hyper HTTP/1.1 rather than a router: every request takes the same path, and
//! this is the hot path of every packet. Connections, timeouts and shutdown are
//! [`crate::http_server`]'s; this module adds the body read timeout to its own body read, and
//! `Connection: close` to every refusal given before the body was read in full (hyper closes
//! such a connection; the header tells a pooled client not to send its next packet down it).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::watch;

use super::pipeline::Connector;
use crate::http_server::{self, ServerSettings};
use crate::ilp::{MAX_PREPARE_LENGTH, Prepare};

/// Serves ILP-over-HTTP on `listener` within `settings` until `shutdown` turns true, then lets
/// open requests finish.
pub async fn serve(
    listener: crate::net::Listener,
    connector: Arc<Connector>,
    settings: ServerSettings,
    shutdown: watch::Receiver<bool>,
) {
    let body_read_timeout = settings.body_read_timeout;
    let service = service_fn(move |request| {
        let connector = connector.clone();
        async move {
            Ok::<_, std::convert::Infallible>(handle(&connector, request, body_read_timeout).await)
        }
    });
    http_server::serve(listener, settings, shutdown, service).await;
}

fn reply(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn refuse(status: StatusCode, message: &'static str) -> Response<Full<Bytes>> {
    reply(status, "text/plain", message)
}

/// `response`, telling the client this connection ends with it.
fn closing(mut response: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A refusal given before reading the body: it ends the connection unless there is no body.
fn refuse_unread(
    body: &Incoming,
    status: StatusCode,
    message: &'static str,
) -> Response<Full<Bytes>> {
    let response = refuse(status, message);
    if body.is_end_stream() {
        response
    } else {
        closing(response)
    }
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

/// Whether the request's `Content-Type` is one an ILP packet is sent with: Rafiki's
/// `application/octet-stream`, or the `application/ilp+octet-stream` of ilp-plugin-http (which
/// Rafiki refuses). Compared as Koa's `request.type` compares it: parameters after `;` ignored,
/// nothing else normalised; a missing header is refused, as Rafiki refuses it.
fn is_packet_content_type(headers: &HeaderMap) -> bool {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next());
    matches!(
        media_type,
        Some("application/octet-stream" | "application/ilp+octet-stream")
    )
}

/// One request: authenticate, check the content type, read at most one Prepare's worth of body within
/// `body_read_timeout`, run the packet.
pub async fn handle(
    connector: &Connector,
    request: Request<Incoming>,
    body_read_timeout: Duration,
) -> Response<Full<Bytes>> {
    if request.method() == Method::GET {
        return refuse_unread(request.body(), StatusCode::OK, "OK");
    }
    if request.method() != Method::POST {
        return refuse_unread(
            request.body(),
            StatusCode::METHOD_NOT_ALLOWED,
            "ILP packets are POSTed",
        );
    }
    let Some(token) = bearer_token(request.headers()) else {
        return refuse_unread(
            request.body(),
            StatusCode::UNAUTHORIZED,
            "Bearer token required in Authorization header",
        );
    };
    let Some(peer) = connector.instance().peer_by_incoming_token(token) else {
        return refuse_unread(
            request.body(),
            StatusCode::UNAUTHORIZED,
            "Access Denied - Invalid Token",
        );
    };
    if !is_packet_content_type(request.headers()) {
        return refuse_unread(
            request.body(),
            StatusCode::BAD_REQUEST,
            "Expected Content-Type of application/octet-stream",
        );
    }
    let too_long = "body is larger than any ILP Prepare";
    let declared = request.body().size_hint().exact();
    if declared.is_some_and(|length| length > MAX_PREPARE_LENGTH as u64) {
        return refuse_unread(request.body(), StatusCode::PAYLOAD_TOO_LARGE, too_long);
    }
    let read = Limited::new(request.into_body(), MAX_PREPARE_LENGTH).collect();
    let body = match tokio::time::timeout(body_read_timeout, read).await {
        Ok(Ok(body)) => body.to_bytes(),
        Ok(Err(error)) if error.is::<LengthLimitError>() => {
            return closing(refuse(StatusCode::PAYLOAD_TOO_LARGE, too_long));
        }
        // The body ended before its Content-Length, or its chunked framing is broken.
        Ok(Err(_)) => {
            return closing(refuse(
                StatusCode::BAD_REQUEST,
                "request body ended before it was complete",
            ));
        }
        Err(_elapsed) => {
            return closing(refuse(
                StatusCode::REQUEST_TIMEOUT,
                "request body did not arrive in time",
            ));
        }
    };
    let prepare = match Prepare::decode(&body) {
        Ok(prepare) => prepare,
        Err(error) => {
            return reply(
                StatusCode::BAD_REQUEST,
                "text/plain",
                format!("Invalid Packet: {error}"),
            );
        }
    };
    let answer = connector.handle_prepare(&peer, prepare).await;
    reply(StatusCode::OK, "application/octet-stream", answer.encode())
}
