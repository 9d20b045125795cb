//! The outgoing side of ILP-over-HTTP: POST a Prepare to a peer's endpoint with its bearer token,
//! over pooled keep-alive HTTP/1.1 connections, and read back a Fulfill or Reject.
//!
//! The pool is ours rather than hyper-util's general-purpose client because every forwarded
//! packet goes through it: an endpoint is parsed once, not per request, and a request takes an
//! idle connection under one short lock instead of building a pool key and racing a new
//! connection against the checkout. On the packets bench that client cost a seventh of a node's
//! CPU per packet.

use crate::clock::Instant;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;

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

/// A connection that can carry a request.
type Connection = SendRequest<Full<Bytes>>;
/// A connection and the answer it carried.
type Exchange = (Connection, hyper::Response<hyper::body::Incoming>);

#[derive(Debug)]
struct IdleConnection {
    sender: Connection,
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
        let (sender, response) = match pooled {
            Some(sender) => reuse(sender, &target, endpoint, request).await?,
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
        let body = Limited::new(response.into_body(), MAX_PREPARE_LENGTH)
            .collect()
            .await
            .map_err(|error| {
                PacketError::NextHop(format!(
                    "unreadable or oversized reply from {endpoint}: {error}"
                ))
            })?
            .to_bytes();
        // The exchange is complete: the connection can carry the next one. It is not awaited
        // here (the reply must not wait on the connection's housekeeping); the next request
        // waits until it is ready.
        self.check_in(endpoint, sender);
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
                if !idle.sender.is_closed() && now.duration_since(idle.since) < IDLE_TIMEOUT {
                    return Ok((known.target.clone(), Some(idle.sender)));
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

    fn check_in(&self, endpoint: &str, sender: Connection) {
        let mut endpoints = self.lock();
        let Some(known) = endpoints.get_mut(endpoint) else {
            return;
        };
        let now = Instant::now();
        if known.idle.len() >= MAX_IDLE_PER_ENDPOINT {
            // The oldest are the likeliest to be stale, dead or past the idle timeout.
            known.idle.retain(|idle| {
                !idle.sender.is_closed() && now.duration_since(idle.since) < IDLE_TIMEOUT
            });
            if known.idle.len() >= MAX_IDLE_PER_ENDPOINT {
                known.idle.remove(0);
            }
        }
        known.idle.push(IdleConnection { sender, since: now });
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

/// Sends `request` on a pooled connection. One the peer closed while it was idle fails before
/// the request goes out; the request then goes on a new connection.
async fn reuse(
    mut sender: Connection,
    target: &Target,
    endpoint: &str,
    request: Request<Full<Bytes>>,
) -> Result<Exchange, PacketError> {
    if sender.ready().await.is_err() {
        return fresh_exchange(target, endpoint, request).await;
    }
    match sender.try_send_request(request).await {
        Ok(response) => Ok((sender, response)),
        Err(mut error) => match error.take_message() {
            Some(request) => fresh_exchange(target, endpoint, request).await,
            None => Err(no_answer(endpoint, error.error())),
        },
    }
}

/// Opens a new connection to `target` and sends `request` on it.
async fn fresh_exchange(
    target: &Target,
    endpoint: &str,
    request: Request<Full<Bytes>>,
) -> Result<Exchange, PacketError> {
    let mut sender = connect(target)
        .await
        .map_err(|error| PacketError::NextHop(format!("cannot connect to {endpoint}: {error}")))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| no_answer(endpoint, &error))?;
    Ok((sender, response))
}

fn no_answer(endpoint: &str, error: &hyper::Error) -> PacketError {
    PacketError::NextHop(format!("no answer from {endpoint}: {error:?}"))
}

/// A new HTTP/1.1 connection, driven by a task of its own until either side closes it.
async fn connect(target: &Target) -> Result<Connection, ConnectError> {
    // A TCP stream with Nagle's delay off (packets are small and latency-bound), or a pipe on a
    // simulated network.
    let stream = tokio::time::timeout(
        CONNECT_TIMEOUT,
        crate::net::connect(&target.host, target.port),
    )
    .await
    .map_err(|_| ConnectError::TimedOut)??;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "outgoing connection ended");
        }
    });
    Ok(sender)
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
