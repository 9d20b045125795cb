//! What the sender sends packets through: a [`PacketLink`] takes a Prepare and answers its
//! Fulfill or Reject. Two links exist: ILP-over-HTTP to a connector, as any client of a Rafiki
//! instance sends ([`HttpLink`]), and straight into an instance's packet path, as a peer of it
//! ([`InProcessLink`]).

use std::future::Future;
use std::sync::Arc;

use thiserror::Error;

use crate::connector::Connector;
use crate::connector::client::OutgoingClient;
use crate::ilp::{Prepare, Reply};
use crate::instance::{LocalAccount, Peer};

/// The link could not carry a packet or bring back its reply. Whether the packet reached the
/// connector is unknown: it may have been fulfilled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LinkError {
    #[error("{0}")]
    Transport(String),
    #[error("no reply before the packet expired")]
    TimedOut,
}

/// Carries one packet to the next hop and its reply back. Rejects are replies, not errors:
/// an error means the link itself failed.
pub trait PacketLink: Send + Sync {
    fn send(&self, prepare: Prepare) -> impl Future<Output = Result<Reply, LinkError>> + Send;
}

/// ILP-over-HTTP to a connector: `POST` to its endpoint with a bearer token, as a peer of it.
#[derive(Debug, Clone)]
pub struct HttpLink {
    client: OutgoingClient,
    endpoint: Arc<str>,
    token: Arc<str>,
}

impl HttpLink {
    /// A link to `endpoint` (e.g. an instance's connector URL) presenting `token`, one of the
    /// incoming tokens of the peer the sender acts as.
    pub fn new(endpoint: &str, token: &str) -> Self {
        Self::with_client(OutgoingClient::default(), endpoint, token)
    }

    /// [`HttpLink::new`] sharing `client`'s pool of keep-alive connections.
    pub fn with_client(client: OutgoingClient, endpoint: &str, token: &str) -> Self {
        Self {
            client,
            endpoint: endpoint.into(),
            token: token.into(),
        }
    }
}

impl PacketLink for HttpLink {
    async fn send(&self, prepare: Prepare) -> Result<Reply, LinkError> {
        // A lost reply is asked for again until the packet expires (the caller's wait ends
        // there too).
        let retry_until = crate::clock::Instant::now()
            + prepare
                .expires_at()
                .duration_since(crate::ilp::Timestamp::now());
        self.client
            .send_prepare(&self.endpoint, &self.token, &prepare, retry_until)
            .await
            // The client's error keeps the detail (refused, status, unreadable reply) for the
            // log; the sender only needs to know the link failed.
            .map_err(|error| match error {
                crate::connector::PacketError::NextHop(detail) => LinkError::Transport(detail),
                other => LinkError::Transport(other.to_string()),
            })
    }
}

/// Straight into an instance's packet path: as if a peer had sent the packets over HTTP (tests
/// that need no sockets), or from a local account (the instance's own outgoing payments).
#[derive(Debug, Clone)]
pub struct InProcessLink {
    connector: Arc<Connector>,
    from: InProcessSource,
}

#[derive(Debug, Clone)]
enum InProcessSource {
    Peer(Arc<Peer>),
    Local(Arc<LocalAccount>),
}

impl InProcessLink {
    /// Packets from the peer `from`.
    pub fn new(connector: Arc<Connector>, from: Arc<Peer>) -> Self {
        Self {
            connector,
            from: InProcessSource::Peer(from),
        }
    }

    /// Packets from a local account of the connector's instance.
    pub fn from_account(connector: Arc<Connector>, account: LocalAccount) -> Self {
        Self {
            connector,
            from: InProcessSource::Local(Arc::new(account)),
        }
    }
}

impl PacketLink for InProcessLink {
    async fn send(&self, prepare: Prepare) -> Result<Reply, LinkError> {
        let source = match &self.from {
            InProcessSource::Peer(peer) => peer.as_source(),
            InProcessSource::Local(account) => account.as_source(),
        };
        Ok(self.connector.handle_prepare_from(source, prepare).await)
    }
}
