//! The outgoing side of ILP-over-HTTP: POST a Prepare to a peer's endpoint with its bearer token,
//! over pooled keep-alive connections, and read back a Fulfill or Reject.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::errors::PacketError;
use crate::ilp::{MAX_PREPARE_LENGTH, Reply};

/// Shared by all peers; hyper keeps a pool of idle connections per endpoint.
#[derive(Debug, Clone)]
pub struct OutgoingClient {
    http: Client<HttpConnector, Full<Bytes>>,
}

impl Default for OutgoingClient {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let http = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            // Below the 5 s after which peerlab's servers (crate::http_server) and Rafiki's
            // (Node's keepAliveTimeout) close an idle connection: a pooled connection is dropped
            // here before the peer closes it, not raced against its close.
            .pool_idle_timeout(Duration::from_secs(4))
            .pool_max_idle_per_host(256)
            .build(connector);
        Self { http }
    }
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
        let request = Request::post(endpoint)
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(Full::new(Bytes::from(prepare)))
            .map_err(|error| {
                PacketError::NextHop(format!("invalid endpoint {endpoint}: {error}"))
            })?;
        let response = self.http.request(request).await.map_err(|error| {
            PacketError::NextHop(format!("no answer from {endpoint}: {error:?}"))
        })?;
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
        Reply::decode(&body).map_err(|error| {
            PacketError::NextHop(format!("invalid reply from {endpoint}: {error}"))
        })
    }
}
