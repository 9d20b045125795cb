//! The accepting side of auto-peering: `POST /` on `AUTO_PEERING_SERVER_PORT`, no auth, as in
//! Rafiki. Only started when `ENABLE_AUTO_PEERING=true`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use url::Url;

use super::{
    ACCEPTED_PEER_LIQUIDITY, AutoPeering, AutoPeeringError, PeeringRequest, PeeringResponse,
};
use crate::instance::{Instance, NewPeer, PeerError};

/// Largest request body the server reads.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// Creates or updates the requester as a peer: incoming token = its `httpToken`, a fresh outgoing
/// token, its connector URL as endpoint, and (when created) `ACCEPTED_PEER_LIQUIDITY`.
pub fn accept(
    instance: &Instance,
    connector_url: &Url,
    request: PeeringRequest,
) -> Result<PeeringResponse, AutoPeeringError> {
    let asset = instance
        .asset_by_code_and_scale(&request.asset.code, request.asset.scale)
        .ok_or(AutoPeeringError::UnknownAsset)?;
    let our_token = crate::entropy::uuid().to_string();
    let new = NewPeer {
        static_ilp_address: request.static_ilp_address,
        name: request.name,
        asset_id: asset.id.to_string(),
        incoming_tokens: vec![request.http_token],
        outgoing_endpoint: request.ilp_connector_url,
        outgoing_token: our_token.clone(),
        max_packet_amount: request.max_packet_amount,
        liquidity_threshold: None,
        initial_liquidity: Some(ACCEPTED_PEER_LIQUIDITY),
        routes: Vec::new(),
    };
    match instance.create_or_update_peer(new) {
        Ok(_) => {
            let settings = instance.settings();
            Ok(PeeringResponse {
                static_ilp_address: settings.ilp_address.to_string(),
                ilp_connector_url: connector_url.to_string(),
                http_token: our_token,
                name: settings.instance_name.clone(),
            })
        }
        Err(
            PeerError::InvalidStaticIlpAddress
            | PeerError::ReservedStaticIlpAddress
            | PeerError::InvalidHttpEndpoint,
        ) => Err(AutoPeeringError::InvalidPeerIlpConfiguration),
        Err(_) => Err(AutoPeeringError::InvalidPeeringRequest),
    }
}

/// The auto-peering server's router.
pub fn router(auto_peering: Arc<AutoPeering>) -> Router {
    Router::new()
        .route("/", post(handle))
        // The handler enforces its own limit, so that the answer keeps Rafiki's error shape.
        .layer(DefaultBodyLimit::disable())
        .with_state(auto_peering)
}

fn error_response(status: StatusCode, error: AutoPeeringError) -> Response {
    let mut body = error.body();
    body["error"]["code"] = status.as_u16().into();
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn handle(State(auto_peering): State<Arc<AutoPeering>>, body: Body) -> Response {
    let Ok(body) = axum::body::to_bytes(body, MAX_REQUEST_BYTES).await else {
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            AutoPeeringError::InvalidPeeringRequest,
        );
    };
    let request: PeeringRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            tracing::debug!(%error, "malformed auto-peering request");
            return error_response(
                StatusCode::BAD_REQUEST,
                AutoPeeringError::InvalidPeeringRequest,
            );
        }
    };
    match auto_peering.accept(request) {
        Ok(answer) => {
            let body = serde_json::to_string(&answer).unwrap_or_default();
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()
        }
        Err(error) => {
            let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
            error_response(status, error)
        }
    }
}
