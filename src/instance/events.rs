//! Webhook events, as Rafiki records them: `{id, type, data}` for what happened to payments,
//! wallet addresses and liquidity. They are recorded under the instance's lock, in the same step
//! as the change they report, so their order is the order things happened.
//!
//! The log is bounded: the latest [`MAX_EVENTS`] stay readable (`webhookEvents`). Whoever acts on
//! events (webhook delivery, the mock operator) subscribes to a bounded channel; recording never
//! waits for them, so a slow webhook endpoint never slows packets.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::Instance;

/// How many events stay readable.
pub const MAX_EVENTS: usize = 100_000;
/// How many events a subscriber may fall behind before it misses some.
const SUBSCRIBER_BACKLOG: usize = 65_536;

/// The kinds of event Rafiki emits that peerlab emits too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    IncomingPaymentCreated,
    IncomingPaymentCompleted,
    IncomingPaymentExpired,
    OutgoingPaymentCreated,
    OutgoingPaymentCompleted,
    OutgoingPaymentFailed,
    WalletAddressWebMonetization,
    PeerLiquidityLow,
    AssetLiquidityLow,
}

impl EventType {
    pub const ALL: [Self; 9] = [
        Self::IncomingPaymentCreated,
        Self::IncomingPaymentCompleted,
        Self::IncomingPaymentExpired,
        Self::OutgoingPaymentCreated,
        Self::OutgoingPaymentCompleted,
        Self::OutgoingPaymentFailed,
        Self::WalletAddressWebMonetization,
        Self::PeerLiquidityLow,
        Self::AssetLiquidityLow,
    ];

    /// Rafiki's name for it, the event's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IncomingPaymentCreated => "incoming_payment.created",
            Self::IncomingPaymentCompleted => "incoming_payment.completed",
            Self::IncomingPaymentExpired => "incoming_payment.expired",
            Self::OutgoingPaymentCreated => "outgoing_payment.created",
            Self::OutgoingPaymentCompleted => "outgoing_payment.completed",
            Self::OutgoingPaymentFailed => "outgoing_payment.failed",
            Self::WalletAddressWebMonetization => "wallet_address.web_monetization",
            Self::PeerLiquidityLow => "peer.liquidity_low",
            Self::AssetLiquidityLow => "asset.liquidity_low",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// One event. `data` is the JSON Rafiki sends for it.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    pub id: Uuid,
    pub event_type: EventType,
    pub data: Value,
    pub created_at: SystemTime,
    /// Position in the log: events are numbered from 0 in the order they were recorded.
    pub sequence: u64,
}

/// The latest events in order, by id, and the channel subscribers follow.
#[derive(Debug)]
pub(super) struct EventLog {
    events: VecDeque<Arc<WebhookEvent>>,
    /// Event id -> its sequence number, for the events still kept.
    sequence_by_id: HashMap<Uuid, u64>,
    next_sequence: u64,
    subscribers: broadcast::Sender<Arc<WebhookEvent>>,
}

impl Default for EventLog {
    fn default() -> Self {
        Self {
            events: VecDeque::new(),
            sequence_by_id: HashMap::new(),
            next_sequence: 0,
            subscribers: broadcast::channel(SUBSCRIBER_BACKLOG).0,
        }
    }
}

impl EventLog {
    /// Records an event and hands it to subscribers; returns its id.
    pub(super) fn record(&mut self, event_type: EventType, data: Value) -> Uuid {
        let event = Arc::new(WebhookEvent {
            id: Uuid::new_v4(),
            event_type,
            data,
            created_at: SystemTime::now(),
            sequence: self.next_sequence,
        });
        self.next_sequence += 1;
        if self.events.len() >= MAX_EVENTS
            && let Some(oldest) = self.events.pop_front()
        {
            self.sequence_by_id.remove(&oldest.id);
        }
        self.sequence_by_id.insert(event.id, event.sequence);
        self.events.push_back(event.clone());
        // No subscriber is not an error: the event stays readable in the log.
        let _ = self.subscribers.send(event.clone());
        event.id
    }

    pub(super) fn get(&self, id: Uuid) -> Option<&Arc<WebhookEvent>> {
        let sequence = *self.sequence_by_id.get(&id)?;
        let first = self.events.front()?.sequence;
        let index = usize::try_from(sequence.checked_sub(first)?).ok()?;
        self.events.get(index)
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<Arc<WebhookEvent>> {
        self.subscribers.subscribe()
    }

    /// Oldest first.
    #[allow(dead_code)] // read by the webhookEvents query, which comes next
    pub(super) fn iter(&self) -> impl DoubleEndedIterator<Item = &Arc<WebhookEvent>> {
        self.events.iter()
    }
}

impl Instance {
    /// Events from now on, as they are recorded. A subscriber that falls more than
    /// 65,536 events behind misses the oldest of them (`RecvError::Lagged`).
    pub fn subscribe_events(&self) -> broadcast::Receiver<Arc<WebhookEvent>> {
        self.lock().events.subscribe()
    }

    /// The event `id`, while it is among the latest [`MAX_EVENTS`].
    pub fn webhook_event(&self, id: &str) -> Option<Arc<WebhookEvent>> {
        let id = super::parse_id(id)?;
        self.lock().events.get(id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_keep_their_order_and_the_oldest_leave_first() {
        let mut log = EventLog::default();
        let first = log.record(EventType::PeerLiquidityLow, json!({"n": 0}));
        for n in 1..=MAX_EVENTS {
            log.record(EventType::AssetLiquidityLow, json!({ "n": n }));
        }
        assert!(log.get(first).is_none(), "the oldest left");
        let oldest = log.iter().next().expect("events");
        assert_eq!(oldest.sequence, 1);
        assert_eq!(log.get(oldest.id).map(|e| e.sequence), Some(1));
        assert_eq!(log.iter().count(), MAX_EVENTS);
    }

    #[test]
    fn type_names_are_rafikis_and_parse_back() {
        for kind in EventType::ALL {
            assert_eq!(EventType::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventType::parse("peer.liquidity_high"), None);
    }
}
