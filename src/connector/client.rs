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

/// The first pause before sending a Prepare again whose reply was lost; each next one doubles...
const FIRST_RESEND_BACKOFF: Duration = Duration::from_millis(10);
/// ...up to this.
const MAX_RESEND_BACKOFF: Duration = Duration::from_millis(500);

/// Why one exchange failed: whether the Prepare may have reached the peer without its reply
/// coming back (then sending it again is both safe, as the peer answers a copy with the first
/// reply, and needed, lest the peer count a packet the sender voids).
#[derive(Debug)]
struct Failure {
    error: PacketError,
    reply_lost: bool,
}

impl Failure {
    fn final_(error: PacketError) -> Self {
        Self {
            error,
            reply_lost: false,
        }
    }

    fn reply_lost(error: PacketError) -> Self {
        Self {
            error,
            reply_lost: true,
        }
    }
}

impl OutgoingClient {
    /// Sends an encoded Prepare once. The caller bounds the time this may take by the packet's
    /// expiry. A refused connection, a non-2xx status and anything that is not a Fulfill or
    /// Reject are all [`PacketError::NextHop`] (T00), as Rafiki's client makes them
    /// (reference/rafiki.md §4.1); the detail is kept for the log.
    pub async fn send(
        &self,
        endpoint: &str,
        token: &str,
        prepare: Vec<u8>,
    ) -> Result<Reply, PacketError> {
        self.attempt(endpoint, token, prepare, false)
            .await
            .map_err(|failure| failure.error)
    }

    /// Sends a Prepare as [`OutgoingClient::send`] does, and when it may have reached the peer
    /// but its reply did not come back (the connection closed or broke after the request went
    /// out, or the reply's body broke off), sends the same bytes again on a fresh connection
    /// after a short backoff, until `retry_until` (the packet's expiry). A refused connection
    /// (nothing delivered) and an HTTP status (an answer) are not retried. The peer answers a
    /// copy with the first copy's reply (see [`crate::connector::dedup`]), so the sender learns
    /// the outcome the peer accounted. Nothing more happens per packet unless a reply is lost.
    pub async fn send_prepare(
        &self,
        endpoint: &str,
        token: &str,
        prepare: &crate::ilp::Prepare,
        retry_until: Instant,
    ) -> Result<Reply, PacketError> {
        let mut backoff = FIRST_RESEND_BACKOFF;
        let mut fresh = false;
        loop {
            match self.attempt(endpoint, token, prepare.encode(), fresh).await {
                Ok(reply) => return Ok(reply),
                Err(Failure {
                    error,
                    reply_lost: true,
                }) if Instant::now() + backoff < retry_until => {
                    tracing::debug!(%endpoint, %error, "reply lost; sending the Prepare again");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_RESEND_BACKOFF);
                    fresh = true;
                }
                Err(failure) => return Err(failure.error),
            }
        }
    }

    /// One exchange: on a pooled connection if there is one (unless `fresh`), else a new one.
    async fn attempt(
        &self,
        endpoint: &str,
        token: &str,
        prepare: Vec<u8>,
        fresh: bool,
    ) -> Result<Reply, Failure> {
        let (target, pooled) = self.checkout(endpoint).map_err(Failure::final_)?;
        let pooled = if fresh { None } else { pooled };
        let request = build_request(&target, token, prepare).map_err(|error| {
            Failure::final_(PacketError::NextHop(format!(
                "invalid request to {endpoint}: {error}"
            )))
        })?;
        let (sender, response) = match pooled {
            Some(sender) => reuse(sender, &target, endpoint, request).await?,
            None => fresh_exchange(&target, endpoint, request).await?,
        };
        let status = response.status();
        if !status.is_success() {
            return Err(Failure::final_(PacketError::NextHop(format!(
                "{endpoint} answered HTTP {}",
                status.as_u16()
            ))));
        }
        // A reply is never larger than a Prepare can be; anything bigger is not a reply.
        let body = Limited::new(response.into_body(), MAX_PREPARE_LENGTH)
            .collect()
            .await
            .map_err(|error| {
                let oversized = error.is::<http_body_util::LengthLimitError>();
                let error = PacketError::NextHop(format!(
                    "unreadable or oversized reply from {endpoint}: {error}"
                ));
                // A body that broke off may have carried the reply: the peer processed the
                // Prepare. One that is too long was complete, and is no reply.
                if oversized {
                    Failure::final_(error)
                } else {
                    Failure::reply_lost(error)
                }
            })?
            .to_bytes();
        // The exchange is complete: the connection can carry the next one. It is not awaited
        // here (the reply must not wait on the connection's housekeeping); the next request
        // waits until it is ready.
        self.check_in(endpoint, sender);
        Reply::decode(&body).map_err(|error| {
            Failure::final_(PacketError::NextHop(format!(
                "invalid reply from {endpoint}: {error}"
            )))
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
) -> Result<Exchange, Failure> {
    if sender.ready().await.is_err() {
        return fresh_exchange(target, endpoint, request).await;
    }
    match sender.try_send_request(request).await {
        Ok(response) => Ok((sender, response)),
        Err(mut error) => match error.take_message() {
            Some(request) => fresh_exchange(target, endpoint, request).await,
            // The request went out: the peer may have processed it.
            None => Err(Failure::reply_lost(no_answer(endpoint, error.error()))),
        },
    }
}

/// Opens a new connection to `target` and sends `request` on it. A connection that cannot be
/// made delivered nothing; one that fails after it was made may have carried the request.
async fn fresh_exchange(
    target: &Target,
    endpoint: &str,
    request: Request<Full<Bytes>>,
) -> Result<Exchange, Failure> {
    let mut sender = connect(target).await.map_err(|error| {
        Failure::final_(PacketError::NextHop(format!(
            "cannot connect to {endpoint}: {error}"
        )))
    })?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| Failure::reply_lost(no_answer(endpoint, &error)))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ilp::{Address, Fulfill, Prepare, Timestamp};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// What the test server does with the n-th request it reads (from 0).
    #[derive(Clone, Copy)]
    enum Answer {
        /// Closes the connection without a word, once the request is read.
        Cut,
        /// Starts a 200 whose body is longer than what it sends, then closes.
        BrokenBody,
        Status500,
        Fulfill,
    }

    fn fulfill() -> Reply {
        Reply::Fulfill(Fulfill::new([3; 32], &b"done"[..]).unwrap())
    }

    fn prepare() -> Prepare {
        Prepare::new(
            Address::parse("test.peer.x").unwrap(),
            5,
            Timestamp::now().saturating_add(Duration::from_secs(30)),
            [9; 32],
            &b"data"[..],
        )
        .unwrap()
    }

    /// A server answering requests as `answers` says (the last answer repeats), counting them
    /// and keeping the bodies it read.
    async fn server(answers: Vec<Answer>) -> (String, Arc<AtomicUsize>, Arc<Mutex<Vec<Vec<u8>>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/ilp", listener.local_addr().unwrap());
        let count = Arc::new(AtomicUsize::new(0));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let (counted, kept) = (count.clone(), bodies.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let (counted, kept, answers) = (counted.clone(), kept.clone(), answers.clone());
                tokio::spawn(async move {
                    loop {
                        let Some(body) = read_request(&mut stream).await else {
                            return;
                        };
                        kept.lock().unwrap().push(body);
                        let n = counted.fetch_add(1, Ordering::SeqCst);
                        let answer = answers[n.min(answers.len() - 1)];
                        let reply = fulfill().encode();
                        let bytes: Vec<u8> = match answer {
                            Answer::Cut => return,
                            Answer::BrokenBody => {
                                let head = format!(
                                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
                                    reply.len() + 10
                                );
                                let _ = stream.write_all(head.as_bytes()).await;
                                let _ = stream.write_all(&reply[..2]).await;
                                return;
                            }
                            Answer::Status500 => {
                                b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n"
                                    .to_vec()
                            }
                            Answer::Fulfill => {
                                let mut bytes = format!(
                                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
                                    reply.len()
                                )
                                .into_bytes();
                                bytes.extend_from_slice(&reply);
                                bytes
                            }
                        };
                        if stream.write_all(&bytes).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, count, bodies)
    }

    /// Reads one HTTP/1.1 request with a content-length body; `None` at the end of the stream.
    async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .map_or(0, |value| value.trim().parse().unwrap());
                while buffer.len() < end + 4 + length {
                    let read = stream.read(&mut chunk).await.ok()?;
                    if read == 0 {
                        return None;
                    }
                    buffer.extend_from_slice(&chunk[..read]);
                }
                return Some(buffer[end + 4..end + 4 + length].to_vec());
            }
            let read = stream.read(&mut chunk).await.ok()?;
            if read == 0 {
                return None;
            }
            buffer.extend_from_slice(&chunk[..read]);
        }
    }

    fn until() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    #[tokio::test]
    async fn a_lost_reply_is_asked_for_again_with_the_same_bytes() {
        for lost in [Answer::Cut, Answer::BrokenBody] {
            let (url, count, bodies) = server(vec![lost, lost, Answer::Fulfill]).await;
            let client = OutgoingClient::default();
            let packet = prepare();
            let reply = client.send_prepare(&url, "t", &packet, until()).await;
            assert_eq!(reply.unwrap(), fulfill());
            assert_eq!(count.load(Ordering::SeqCst), 3);
            let bodies = bodies.lock().unwrap();
            assert!(bodies.iter().all(|body| *body == packet.encode()));
        }
    }

    #[tokio::test]
    async fn a_single_send_does_not_retry() {
        let (url, count, _) = server(vec![Answer::Cut, Answer::Fulfill]).await;
        let client = OutgoingClient::default();
        assert!(client.send(&url, "t", prepare().encode()).await.is_err());
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_http_status_is_an_answer_and_is_not_retried() {
        let (url, count, _) = server(vec![Answer::Status500, Answer::Fulfill]).await;
        let client = OutgoingClient::default();
        let reply = client.send_prepare(&url, "t", &prepare(), until()).await;
        assert!(matches!(reply, Err(PacketError::NextHop(detail)) if detail.contains("500")));
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_refused_connection_delivered_nothing_and_is_not_retried() {
        // A port that was free a moment ago: nothing listens there.
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap().port()
        };
        let client = OutgoingClient::default();
        let started = Instant::now();
        let reply = client
            .send_prepare(
                &format!("http://127.0.0.1:{port}/"),
                "t",
                &prepare(),
                until(),
            )
            .await;
        assert!(
            matches!(reply, Err(PacketError::NextHop(detail)) if detail.contains("cannot connect"))
        );
        assert!(started.elapsed() < FIRST_RESEND_BACKOFF * 5);
    }

    #[tokio::test]
    async fn retries_stop_at_the_deadline() {
        let (url, count, _) = server(vec![Answer::Cut]).await;
        let client = OutgoingClient::default();
        let deadline = Instant::now() + Duration::from_millis(100);
        let reply = client.send_prepare(&url, "t", &prepare(), deadline).await;
        assert!(matches!(reply, Err(PacketError::NextHop(_))));
        assert!(Instant::now() < deadline + Duration::from_millis(100));
        // 10, 20, 40 ms pauses fit before the deadline; the next (80 ms) would not.
        assert!((2..=5).contains(&count.load(Ordering::SeqCst)), "{count:?}");
    }
}
