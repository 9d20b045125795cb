//! The incoming side of ILP-over-HTTP (synchronous mode, as Rafiki and every deployed client
//! speak it): `POST` on any path with `Authorization: Bearer <token>` and an OER Prepare; the
//! Fulfill or Reject comes back as the body of an HTTP 200.
//!
//! Served with bare hyper HTTP/1.1 rather than a router: every request takes the same path, and
//! this is the hot path of every packet.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::pipeline::Connector;
use crate::ilp::{MAX_PREPARE_LENGTH, Prepare};

/// Accepts connections until `shutdown` turns true, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    connector: Arc<Connector>,
    shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let stopped = stopped(shutdown.clone());
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let connector = connector.clone();
                    let stop = shutdown.clone();
                    connections.spawn(serve_connection(TokioIo::new(stream), connector, stop));
                }
                Err(error) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!(%error, "connector cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = &mut stopped => break,
        }
        while connections.try_join_next().is_some() {}
    }
    while connections.join_next().await.is_some() {}
}

/// Resolves once `shutdown` turns true (or its sender is gone).
async fn stopped(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

async fn serve_connection(
    io: TokioIo<tokio::net::TcpStream>,
    connector: Arc<Connector>,
    shutdown: watch::Receiver<bool>,
) {
    let service = service_fn(move |request| {
        let connector = connector.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&connector, request).await) }
    });
    let connection = http1::Builder::new().serve_connection(io, service);
    tokio::pin!(connection);
    let stopping = tokio::select! {
        _ = connection.as_mut() => false,
        () = stopped(shutdown) => true,
    };
    if stopping {
        connection.as_mut().graceful_shutdown();
        let _ = connection.await;
    }
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

/// One request: authenticate, read at most one Prepare's worth of body, run the packet.
pub async fn handle(connector: &Connector, request: Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() == Method::GET {
        return refuse(StatusCode::OK, "OK");
    }
    if request.method() != Method::POST {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, "ILP packets are POSTed");
    }
    let Some(token) = bearer_token(request.headers()) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "Bearer token required in Authorization header",
        );
    };
    let Some(peer) = connector.instance().peer_by_incoming_token(token) else {
        return refuse(StatusCode::UNAUTHORIZED, "Access Denied - Invalid Token");
    };
    let too_long = "body is larger than any ILP Prepare";
    let declared = request.body().size_hint().exact();
    if declared.is_some_and(|length| length > MAX_PREPARE_LENGTH as u64) {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, too_long);
    }
    let Ok(body) = Limited::new(request.into_body(), MAX_PREPARE_LENGTH)
        .collect()
        .await
    else {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, too_long);
    };
    let prepare = match Prepare::decode(&body.to_bytes()) {
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
