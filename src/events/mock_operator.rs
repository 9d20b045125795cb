//! The mock operator (`MOCK_OPERATOR=true`): what Rafiki's local environment's mock account
//! servicing entity does with the events it hears, done in process: it funds each outgoing
//! payment as soon as `outgoing_payment.created` is recorded, and deposits 1,000,000 into a peer
//! or an asset whose `peer.liquidity_low` / `asset.liquidity_low` is recorded. The deposits use
//! the event's id as their transfer id, so no event is acted on twice.

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};

use crate::instance::{EventType, WebhookEvent};
use crate::payments::Payments;

/// What Rafiki's mock operator deposits on a `*.liquidity_low` event.
pub const LIQUIDITY_TOP_UP: u64 = 1_000_000;

/// Acts on `events` until `shutdown` turns true.
pub async fn run(
    payments: Arc<Payments>,
    mut events: broadcast::Receiver<Arc<WebhookEvent>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = shutdown.changed() => return,
        };
        match event {
            Ok(event) => act(&payments, &event),
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "the mock operator fell behind and missed events");
            }
            Err(RecvError::Closed) => return,
        }
    }
}

fn act(payments: &Arc<Payments>, event: &WebhookEvent) {
    let Some(id) = event.data["id"].as_str() else {
        return;
    };
    let transfer = event.id.to_string();
    let outcome = match event.event_type {
        EventType::OutgoingPaymentCreated => payments
            .fund_outgoing_payment(id)
            .map(|_| ())
            .map_err(|error| error.to_string()),
        EventType::PeerLiquidityLow => payments
            .instance()
            .deposit_peer_liquidity(&transfer, id, LIQUIDITY_TOP_UP)
            .map_err(|error| error.to_string()),
        EventType::AssetLiquidityLow => payments
            .instance()
            .deposit_asset_liquidity(&transfer, id, LIQUIDITY_TOP_UP)
            .map_err(|error| error.to_string()),
        _ => return,
    };
    match outcome {
        Ok(()) => tracing::debug!(event = event.event_type.as_str(), %id, "mock operator acted"),
        Err(error) => {
            tracing::warn!(event = event.event_type.as_str(), %id, %error, "mock operator could not act");
        }
    }
}
