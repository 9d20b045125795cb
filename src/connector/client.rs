//! The outgoing side of ILP-over-HTTP: POST a Prepare to a peer's endpoint with its bearer token,
//! over pooled keep-alive HTTP/1.1 connections, and read back a Fulfill or Reject.
//!
//! The pool is ours rather than hyper-util's general-purpose client because every forwarded
//! packet goes through it: an endpoint is parsed once, not per request, and a request takes an
//! idle connection under one short lock instead of building a pool key and racing a new
//! connection against the checkout. On the packets bench that client cost a seventh of a node's
//! CPU per packet.
//!
//! A connection is driven by the task that uses it, not by a task of its own: the request is
//! written, and the reply read, by the packet's own task, so an exchange costs no hand-offs
//! between tasks (each one a wake-up, often on another thread). A connection in the pool is
//! driven by nobody; one its peer closed meanwhile is found out, and replaced, before a request
//! is written to it.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::errors::PacketError;
use crate::ilp::{MAX_PREPARE_LENGTH, Reply};

/// Below the 5 s after which peerlab's servers (crate::http_server) and Rafiki's (Node's
/// keepAliveTimeout) close an idle connection: a pooled connection is dropped here before the
/// peer closes it, not raced against its close.
const IDLE_TIMEOUT: Duration = Duration::from_secs(4);
/// Idle connections kept per endpoint; more are closed when they come back.
const MAX_IDLE_PER_ENDPOINT: usize = 256;
/// Endpoints remembered; past this, those with no idle connection are forgotten.
const MAX_ENDPOINTS: usize = 4096;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Shared by all peers of an instance; keeps idle connections per endpoint.
#[derive(Debug, Clone, Default)]
pub struct OutgoingClient {
    endpoints: Arc<Mutex<HashMap<Box<str>, Endpoint>>>,
}

#[derive(Debug)]
struct Endpoint {
    target: Arc<Target>,
    /// Most recently used last.
    idle: Vec<IdleConnection>,
}

/// Where an endpoint URL sends a request, parsed once.
#[derive(Debug)]
struct Target {
    host: String,
    port: u16,
    /// The `Host` header: the URL's authority.
    authority: HeaderValue,
    /// The request target in origin form (path and query).
    path: Uri,
}

/// One HTTP/1.1 connection: the handle requests are sent through, and the state machine that
/// writes them and reads the replies, which whoever sends a request drives.
struct Connection {
    sender: SendRequest<Full<Bytes>>,
    /// `None` once the connection ended: it carries nothing more.
    driver: Option<Pin<Box<Driver>>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").finish_non_exhaustive()
    }
}

/// The connection ended (closed by its peer, or failed) while something waited on it.
#[derive(Debug)]
struct ConnectionEnded(Option<hyper::Error>);

/// The state machine of one HTTP/1.1 connection.
type Driver = http1::Connection<TokioIo<TcpStream>, Full<Bytes>>;

impl Connection {
    async fn driving<F: Future>(&mut self, future: F) -> Result<F::Output, ConnectionEnded> {
        drive(&mut self.driver, future).await
    }
}

/// Runs `future` to completion while driving the connection. If the connection ends first,
/// `future` gets one last chance (it may have completed with the connection's last bytes); the
/// driver is then gone, so the connection is never used again.
async fn drive<F: Future>(
    driver: &mut Option<Pin<Box<Driver>>>,
    future: F,
) -> Result<F::Output, ConnectionEnded> {
    let mut future = pin!(future);
    poll_fn(|cx| {
        let mut ended = None;
        if let Some(running) = driver.as_mut()
            && let Poll::Ready(result) = running.as_mut().poll(cx)
        {
            *driver = None;
            ended = Some(result.err());
        }
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        if driver.is_none() {
            return Poll::Ready(Err(ConnectionEnded(ended.flatten())));
        }
        Poll::Pending
    })
    .await
}

/// A response and the connection it came on.
type Exchange = (Connection, hyper::Response<hyper::body::Incoming>);

#[derive(Debug)]
struct IdleConnection {
    connection: Connection,
    since: Instant,
}

impl OutgoingClient {
    /// Sends an encoded Prepare. The caller bounds the time this may take by the packet's expiry.
    /// A refused connection, a non-2xx status and anything that is not a Fulfill or Reject are
    /// all [`PacketError::NextHop`] (T00), as Rafiki's client makes them (reference/rafiki.md
    /// §4.1); the detail is kept for the log.
    pub async fn send(
        &self,
        endpoint: &str,
        token: &str,
        prepare: Vec<u8>,
    ) -> Result<Reply, PacketError> {
        let (target, pooled) = self.checkout(endpoint)?;
        let request = build_request(&target, token, prepare).map_err(|error| {
            PacketError::NextHop(format!("invalid request to {endpoint}: {error}"))
        })?;
        let (mut connection, response) = match pooled {
            Some(connection) => reuse(connection, &target, endpoint, request).await?,
            None => fresh_exchange(&target, endpoint, request).await?,
        };
        let status = response.status();
        if !status.is_success() {
            return Err(PacketError::NextHop(format!(
                "{endpoint} answered HTTP {}",
                status.as_u16()
            )));
        }
        // A reply is never larger than a Prepare can be; anything bigger is not a reply.
        let read = Limited::new(response.into_body(), MAX_PREPARE_LENGTH).collect();
        let body = match connection.driving(read).await {
            Ok(Ok(body)) => body.to_bytes(),
            Ok(Err(error)) => {
                return Err(PacketError::NextHop(format!(
                    "unreadable or oversized reply from {endpoint}: {error}"
                )));
            }
            Err(ConnectionEnded(error)) => {
                return Err(PacketError::NextHop(format!(
                    "{endpoint} closed the connection mid-reply: {error:?}"
                )));
            }
        };
        // The exchange is complete: the connection can carry the next one once it has settled
        // (the next request drives it until it is ready).
        self.check_in(endpoint, connection);
        Reply::decode(&body).map_err(|error| {
            PacketError::NextHop(format!("invalid reply from {endpoint}: {error}"))
        })
    }

    /// The endpoint's parsed target and, when there is one, a live idle connection to it.
    fn checkout(&self, endpoint: &str) -> Result<(Arc<Target>, Option<Connection>), PacketError> {
        let mut endpoints = self.lock();
        if let Some(known) = endpoints.get_mut(endpoint) {
            let now = Instant::now();
            while let Some(idle) = known.idle.pop() {
                if now.duration_since(idle.since) < IDLE_TIMEOUT {
                    return Ok((known.target.clone(), Some(idle.connection)));
                }
            }
            return Ok((known.target.clone(), None));
        }
        let target = Arc::new(Target::parse(endpoint)?);
        if endpoints.len() >= MAX_ENDPOINTS {
            endpoints.retain(|_, known| !known.idle.is_empty());
        }
        endpoints.insert(
            endpoint.into(),
            Endpoint {
                target: target.clone(),
                idle: Vec::new(),
            },
        );
        Ok((target, None))
    }

    fn check_in(&self, endpoint: &str, connection: Connection) {
        if connection.driver.is_none() {
            return;
        }
        let mut endpoints = self.lock();
        let Some(known) = endpoints.get_mut(endpoint) else {
            return;
        };
        let now = Instant::now();
        if known.idle.len() >= MAX_IDLE_PER_ENDPOINT {
            // The oldest are the likeliest to be stale, dead or past the idle timeout.
            known
                .idle
                .retain(|idle| now.duration_since(idle.since) < IDLE_TIMEOUT);
            if known.idle.len() >= MAX_IDLE_PER_ENDPOINT {
                known.idle.remove(0);
            }
        }
        known.idle.push(IdleConnection {
            connection,
            since: now,
        });
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Box<str>, Endpoint>> {
        // The map holds no invariant a panicking holder could break halfway.
        self.endpoints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Target {
    /// Peers' endpoints were validated when the peer was made (http or https with a host);
    /// only plain HTTP is spoken here, as before (an https endpoint fails as T00).
    fn parse(endpoint: &str) -> Result<Self, PacketError> {
        let invalid =
            |why: &str| PacketError::NextHop(format!("invalid endpoint {endpoint}: {why}"));
        let uri: Uri = endpoint
            .parse()
            .map_err(|error: hyper::http::uri::InvalidUri| invalid(&error.to_string()))?;
        if uri.scheme_str() != Some("http") {
            return Err(invalid("only http endpoints are supported"));
        }
        let authority = uri.authority().ok_or_else(|| invalid("no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let path = uri
            .path_and_query()
            .map_or("/", |path| path.as_str())
            .parse()
            .map_err(|error: hyper::http::uri::InvalidUri| invalid(&error.to_string()))?;
        Ok(Self {
            host,
            port: authority.port_u16().unwrap_or(80),
            authority: HeaderValue::from_str(authority.as_str())
                .map_err(|error| invalid(&error.to_string()))?,
            path,
        })
    }
}

fn build_request(
    target: &Target,
    token: &str,
    prepare: Vec<u8>,
) -> Result<Request<Full<Bytes>>, hyper::http::Error> {
    Request::post(target.path.clone())
        .header(HOST, target.authority.clone())
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(CONTENT_TYPE, "application/octet-stream")
        .body(Full::new(Bytes::from(prepare)))
}

/// Sends `request` on a pooled connection. One the peer closed while it was idle is found out
/// before the request is written (driving it to readiness reads the close); the request then
/// goes on a new connection.
async fn reuse(
    mut connection: Connection,
    target: &Target,
    endpoint: &str,
    request: Request<Full<Bytes>>,
) -> Result<Exchange, PacketError> {
    let Connection { sender, driver } = &mut connection;
    let ready = drive(driver, poll_fn(|cx| sender.poll_ready(cx))).await;
    if !matches!(ready, Ok(Ok(()))) {
        return fresh_exchange(target, endpoint, request).await;
    }
    let sent = connection.sender.try_send_request(request);
    match connection.driving(sent).await {
        Ok(Ok(response)) => Ok((connection, response)),
        Ok(Err(mut error)) => match error.take_message() {
            Some(request) => fresh_exchange(target, endpoint, request).await,
            None => Err(no_answer(endpoint, Some(error.error()))),
        },
        Err(ConnectionEnded(error)) => Err(no_answer(endpoint, error.as_ref())),
    }
}

/// Opens a new connection to `target` and sends `request` on it.
async fn fresh_exchange(
    target: &Target,
    endpoint: &str,
    request: Request<Full<Bytes>>,
) -> Result<Exchange, PacketError> {
    let mut connection = connect(target)
        .await
        .map_err(|error| PacketError::NextHop(format!("cannot connect to {endpoint}: {error}")))?;
    let sent = connection.sender.send_request(request);
    match connection.driving(sent).await {
        Ok(Ok(response)) => Ok((connection, response)),
        Ok(Err(error)) => Err(no_answer(endpoint, Some(&error))),
        Err(ConnectionEnded(error)) => Err(no_answer(endpoint, error.as_ref())),
    }
}

fn no_answer(endpoint: &str, error: Option<&hyper::Error>) -> PacketError {
    PacketError::NextHop(format!("no answer from {endpoint}: {error:?}"))
}

/// A new HTTP/1.1 connection, driven by whoever sends on it.
async fn connect(target: &Target) -> Result<Connection, ConnectError> {
    let stream = tokio::time::timeout(
        CONNECT_TIMEOUT,
        TcpStream::connect((target.host.as_str(), target.port)),
    )
    .await
    .map_err(|_| ConnectError::TimedOut)??;
    // Packets are small and latency-bound: send each as soon as it is written.
    stream.set_nodelay(true)?;
    let (sender, driver) = http1::handshake(TokioIo::new(stream)).await?;
    Ok(Connection {
        sender,
        driver: Some(Box::pin(driver)),
    })
}

#[derive(Debug, thiserror::Error)]
enum ConnectError {
    #[error("timed out after {}s", CONNECT_TIMEOUT.as_secs())]
    TimedOut,
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Http(#[from] hyper::Error),
}
