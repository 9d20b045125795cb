//! Auto-peering: peering by URL alone, for sandboxes. The accepting side serves `POST /` and
//! grants default liquidity; the initiating side (`createOrUpdatePeerByUrl`) posts its own ILP
//! address, connector URL and a fresh token, and creates the peer from the answer.

pub mod messages;
pub mod server;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::header::CONTENT_TYPE;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use url::Url;

use crate::instance::{Instance, LiquidityError, NewPeer, Peer};
pub use messages::{AssetRef, AutoPeeringError, PeeringRequest, PeeringResponse};

/// Liquidity the accepting side grants a new peer: JavaScript's `Number.MAX_SAFE_INTEGER`, as
/// Rafiki grants.
pub const ACCEPTED_PEER_LIQUIDITY: u64 = 9_007_199_254_740_991;

/// How long the initiator waits for the other side's answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest answer the initiator reads.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What `createOrUpdatePeerByUrl` asks for.
#[derive(Debug, Clone, Default)]
pub struct PeerByUrl {
    pub peer_url: String,
    pub asset_id: String,
    pub max_packet_amount: Option<u64>,
    pub name: Option<String>,
    pub liquidity_threshold: Option<u64>,
    pub liquidity_to_deposit: Option<u64>,
}

/// Both sides of auto-peering for one instance.
#[derive(Debug)]
pub struct AutoPeering {
    instance: Arc<Instance>,
    connector_url: Url,
    http: Client<crate::net::HttpConnector, Full<Bytes>>,
}

impl AutoPeering {
    /// `connector_url` is this instance's `ILP_CONNECTOR_URL`, sent to and by peers.
    pub fn new(instance: Arc<Instance>, connector_url: Url) -> Self {
        Self {
            instance,
            connector_url,
            http: Client::builder(TokioExecutor::new())
                .build(crate::net::HttpConnector::new(REQUEST_TIMEOUT)),
        }
    }

    pub fn instance(&self) -> &Arc<Instance> {
        &self.instance
    }

    /// The accepting side: creates (or updates) the requester as a peer and answers with this
    /// instance's address, connector URL, name and the token it will send packets with.
    pub fn accept(&self, request: PeeringRequest) -> Result<PeeringResponse, AutoPeeringError> {
        server::accept(&self.instance, &self.connector_url, request)
    }

    /// The initiating side (`createOrUpdatePeerByUrl`).
    pub async fn initiate(&self, request: PeerByUrl) -> Result<Arc<Peer>, AutoPeeringError> {
        let asset = self
            .instance
            .asset(&request.asset_id)
            .ok_or(AutoPeeringError::UnknownAsset)?;
        let settings = self.instance.settings();
        let our_token = crate::entropy::uuid().to_string();
        let body = serde_json::json!({
            "ilpConnectorUrl": self.connector_url.as_str(),
            "staticIlpAddress": settings.ilp_address.as_str(),
            "asset": { "code": asset.code, "scale": asset.scale },
            "httpToken": our_token,
            "maxPacketAmount": request.max_packet_amount,
            "name": settings.instance_name,
        });
        let answer = self.post(&request.peer_url, body.to_string()).await?;
        let new = NewPeer {
            static_ilp_address: answer.static_ilp_address,
            name: request.name.or(Some(answer.name)),
            asset_id: asset.id.to_string(),
            incoming_tokens: vec![answer.http_token],
            outgoing_endpoint: answer.ilp_connector_url,
            outgoing_token: our_token,
            max_packet_amount: request.max_packet_amount,
            liquidity_threshold: request.liquidity_threshold,
            initial_liquidity: None,
            routes: Vec::new(),
        };
        let (peer, _) = self
            .instance
            .create_or_update_peer(new)
            .map_err(|_| AutoPeeringError::InvalidPeeringRequest)?;
        if let Some(amount) = request.liquidity_to_deposit.filter(|a| *a > 0) {
            let transfer = crate::entropy::uuid().to_string();
            self.instance
                .deposit_peer_liquidity(&transfer, &peer.id.to_string(), amount)
                .map_err(|_: LiquidityError| AutoPeeringError::LiquidityError)?;
        }
        Ok(peer)
    }

    /// Posts the request and reads the answer, mapping failures as Rafiki's initiator does:
    /// unreachable -> InvalidPeerUrl; the peer's InvalidPeerIlpConfiguration ->
    /// InvalidIlpConfiguration; its UnknownAsset -> PeerUnsupportedAsset; anything else ->
    /// InvalidPeeringRequest.
    async fn post(
        &self,
        peer_url: &str,
        body: String,
    ) -> Result<PeeringResponse, AutoPeeringError> {
        let request = Request::post(peer_url.trim())
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| AutoPeeringError::InvalidPeerUrl)?;
        let exchange = async {
            let response = self.http.request(request).await.map_err(|error| {
                tracing::debug!(%peer_url, %error, "auto-peering request failed");
                AutoPeeringError::InvalidPeerUrl
            })?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|_| AutoPeeringError::InvalidPeeringRequest)?
                .to_bytes();
            Ok::<_, AutoPeeringError>((status, body))
        };
        let (status, body) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| AutoPeeringError::InvalidPeeringRequest)??;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|_| AutoPeeringError::InvalidPeeringRequest);
        }
        let named = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v["error"]["type"]
                    .as_str()
                    .and_then(AutoPeeringError::from_type_name)
            });
        Err(match named {
            Some(AutoPeeringError::InvalidPeerIlpConfiguration) => {
                AutoPeeringError::InvalidIlpConfiguration
            }
            Some(AutoPeeringError::UnknownAsset) => AutoPeeringError::PeerUnsupportedAsset,
            _ => AutoPeeringError::InvalidPeeringRequest,
        })
    }
}
