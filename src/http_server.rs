//! The HTTP/1.1 edge shared by every listener of an instance: the connector, the admin API and the
//! auto-peering server all accept and serve connections here, under the same limits.
//!
//! What every listener gets:
//! - **A cap on open connections** ([`ServerSettings::max_connections`]). When every slot is taken
//!   the listener stops accepting: new connections wait in the kernel's accept backlog (and are
//!   served, in order, as slots free up) instead of being accepted and dropped.
//! - **A header read timeout** ([`ServerSettings::header_read_timeout`]). hyper starts this clock
//!   whenever it waits for a request head, including between two requests of a keep-alive
//!   connection, so it bounds both a client that sends a partial head and then nothing, and an
//!   idle keep-alive connection: a connection that sends no complete request for this long is
//!   closed and gives its slot back. Keep-alive peers are used to this: Rafiki's own server (Node)
//!   closes idle connections after 5 s.
//! - **A body read timeout** ([`ServerSettings::body_read_timeout`]): the whole request body must
//!   arrive within it, counted from the request head. [`serve_router`] applies it to routers and
//!   answers `408 Request Timeout`; the connector applies it itself (its hot path reads the body
//!   directly).
//! - **`Connection: close` on answers given before the body was read in full**, so that a pooled
//!   client does not send its next request down a connection the server is about to close (hyper
//!   closes such a connection, since the unread rest of the body cannot be told apart from the
//!   next request). [`serve_router`] adds it to router answers; the connector adds it itself.
//! - TCP_NODELAY, and a graceful shutdown: when `shutdown` turns true the listener stops
//!   accepting, every connection finishes the request in flight, and [`serve`] returns once all
//!   of them are closed.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::net::{Connection, Listener};
use axum::Router;
use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use thiserror::Error;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// Default cap on open connections per listener. An instance has up to three listeners and a
/// simulated network runs many instances in one process, under one open-files limit (20,000 on
/// the machines peerlab is measured on): the cap bounds what one flooded listener can take, it
/// is not a budget every listener uses.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default time a connection has to send a complete request head (or, when idle, its next one).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time a request's whole body has to arrive, counted from its head.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Limits every listener applies; see the module documentation for what each one does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerSettings {
    /// Open connections per listener; at least one is always allowed.
    pub max_connections: usize,
    /// Time to receive a complete request head, and the longest a keep-alive connection may
    /// stay idle between requests.
    pub header_read_timeout: Duration,
    /// Time to receive a request's whole body once its head has arrived.
    pub body_read_timeout: Duration,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
        }
    }
}

/// Serves `service` on every connection `listener` accepts, within `settings`, until `shutdown`
/// turns true; then lets the requests in flight finish and returns once every connection closed.
pub async fn serve<S, B>(
    mut listener: Listener,
    settings: ServerSettings,
    shutdown: watch::Receiver<bool>,
    service: S,
) where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let slots = Arc::new(Semaphore::new(
        settings.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    let builder = Arc::new(builder);
    let mut connections = JoinSet::new();
    let stopped = stopped(shutdown.clone());
    tokio::pin!(stopped);
    loop {
        // The slot is taken before accepting: while none is free, connections wait in the
        // backlog rather than being accepted and dropped.
        let slot = tokio::select! {
            () = &mut stopped => break,
            slot = slots.clone().acquire_owned() => slot,
        };
        let Ok(slot) = slot else {
            // Only a closed semaphore fails, and this one is never closed.
            break;
        };
        let stream = tokio::select! {
            () = &mut stopped => break,
            stream = accept(&mut listener) => stream,
        };
        let connection =
            serve_connection(stream, builder.clone(), service.clone(), shutdown.clone());
        connections.spawn(async move {
            connection.await;
            drop(slot);
        });
        while connections.try_join_next().is_some() {}
    }
    while connections.join_next().await.is_some() {}
}

/// Serves an axum `router` like [`serve`], adding what routers do not do themselves: the body
/// read timeout (answered `408 Request Timeout`, whatever the handler made of the failed read)
/// and `Connection: close` on every answer given before the request body was read in full.
pub async fn serve_router(
    listener: Listener,
    router: Router,
    settings: ServerSettings,
    shutdown: watch::Receiver<bool>,
) {
    let service = RouterService {
        router,
        body_read_timeout: settings.body_read_timeout,
    };
    serve(listener, settings, shutdown, service).await;
}

/// Resolves once `shutdown` turns true (or its sender is gone).
async fn stopped(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// The next connection; on an accept error (out of file descriptors, say) waits instead of
/// spinning.
async fn accept(listener: &mut Listener) -> Connection {
    loop {
        match listener.accept().await {
            Ok(stream) => return stream,
            Err(error) => {
                tracing::warn!(%error, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve_connection<S, B>(
    stream: Connection,
    builder: Arc<http1::Builder>,
    service: S,
    shutdown: watch::Receiver<bool>,
) where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>>,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: Body + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let ended = tokio::select! {
        ended = connection.as_mut() => ended,
        () = stopped(shutdown) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = ended {
        // Timeouts, resets and malformed requests from clients: theirs to see, not ours.
        tracing::debug!(%error, "connection ended");
    }
}

/// How far a request's body was read, shared between the body (which the handler reads) and
/// the service (which finishes the answer once the handler is done).
#[derive(Debug)]
struct BodyProgress(AtomicU8);

impl BodyProgress {
    const READING: u8 = 0;
    const COMPLETE: u8 = 1;
    const TIMED_OUT: u8 = 2;

    fn new(complete: bool) -> Self {
        Self(AtomicU8::new(if complete {
            Self::COMPLETE
        } else {
            Self::READING
        }))
    }

    fn set(&self, state: u8) {
        self.0.store(state, Ordering::Release);
    }

    fn get(&self) -> u8 {
        self.0.load(Ordering::Acquire)
    }
}

/// Why a router's request body could not be read.
#[derive(Debug, Error)]
pub enum BodyReadError {
    #[error("the request body did not arrive within {0:?}")]
    TimedOut(Duration),
    #[error("cannot read the request body: {0}")]
    Read(#[from] hyper::Error),
}

/// A request body that fails once its deadline passes, and records how far it was read.
struct DeadlineBody {
    inner: Incoming,
    deadline: Instant,
    timeout: Duration,
    /// Created at the first wait only: a body that is already buffered costs no timer.
    timer: Option<Pin<Box<Sleep>>>,
    progress: Arc<BodyProgress>,
}

impl Body for DeadlineBody {
    type Data = Bytes;
    type Error = BodyReadError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyReadError>>> {
        let this = self.get_mut();
        if this.progress.get() == BodyProgress::TIMED_OUT {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.progress.set(BodyProgress::COMPLETE);
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(frame))) => {
                if this.inner.is_end_stream() {
                    this.progress.set(BodyProgress::COMPLETE);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error.into()))),
            Poll::Pending => {
                let deadline = this.deadline;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.as_mut().poll(cx).is_ready() {
                    this.progress.set(BodyProgress::TIMED_OUT);
                    return Poll::Ready(Some(Err(BodyReadError::TimedOut(this.timeout))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream() || self.progress.get() == BodyProgress::TIMED_OUT
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An axum router as a hyper service, with the body read timeout and `Connection: close` on
/// answers given before the body was read.
#[derive(Clone)]
struct RouterService {
    router: Router,
    body_read_timeout: Duration,
}

impl hyper::service::Service<Request<Incoming>> for RouterService {
    type Response = Response<axum::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let progress = Arc::new(BodyProgress::new(request.body().is_end_stream()));
        let timeout = self.body_read_timeout;
        let request = request.map(|inner| DeadlineBody {
            inner,
            deadline: Instant::now() + timeout,
            timeout,
            timer: None,
            progress: progress.clone(),
        });
        let router = self.router.clone();
        Box::pin(async move {
            let response = router.oneshot(request).await?;
            Ok(finish(response, &progress, timeout))
        })
    }
}

/// The handler's answer, unless the body timed out (then 408), with `Connection: close` when the
/// body was not read in full.
fn finish(
    mut response: Response<axum::body::Body>,
    progress: &BodyProgress,
    timeout: Duration,
) -> Response<axum::body::Body> {
    match progress.get() {
        BodyProgress::COMPLETE => return response,
        BodyProgress::TIMED_OUT => {
            response = Response::new(axum::body::Body::from(format!(
                "the request body did not arrive within {} ms",
                timeout.as_millis()
            )));
            *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
        }
        _ => {}
    }
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
