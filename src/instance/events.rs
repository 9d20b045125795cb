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
use super::pagination::{
    DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, PageRequest, PaginationError, SortOrder,
};

/// How many events stay readable.
pub const MAX_EVENTS: usize = 20_000;
/// How many events a subscriber may fall behind before it misses some.
/// The channel keeps this many events alive whatever the log keeps, so it is no longer than the
/// log.
const SUBSCRIBER_BACKLOG: usize = 16_384;

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
    /// The event's `data` as compact JSON text: a tree of `Value`s costs several times the bytes
    /// for every event kept (about 2.5 KB against 0.6 KB for an outgoing payment's), and events
    /// are read far less often than they are kept.
    data: Box<str>,
    pub created_at: SystemTime,
    /// Position in the log: events are numbered from 0 in the order they were recorded.
    pub sequence: u64,
}

impl WebhookEvent {
    pub fn new(
        id: Uuid,
        event_type: EventType,
        data: &Value,
        created_at: SystemTime,
        sequence: u64,
    ) -> Arc<Self> {
        Arc::new(Self {
            id,
            event_type,
            data: data.to_string().into_boxed_str(),
            created_at,
            sequence,
        })
    }

    /// The event's `data` object.
    pub fn data(&self) -> Value {
        // It was serialized from a `Value`, so it parses; `Null` would only mean memory corruption.
        serde_json::from_str(&self.data).unwrap_or(Value::Null)
    }
}

/// The latest events in order, by id, and the channel subscribers follow.
#[derive(Debug, Default)]
pub(super) struct EventLog {
    events: VecDeque<Arc<WebhookEvent>>,
    /// Event id -> its sequence number, for the events still kept.
    sequence_by_id: HashMap<Uuid, u64>,
    next_sequence: u64,
    /// Made when the first subscriber comes: its backlog is allocated up front (a few MiB), which
    /// an instance nobody follows (most of a large simulated network) should not pay.
    subscribers: Option<broadcast::Sender<Arc<WebhookEvent>>>,
}

impl EventLog {
    /// Records an event and hands it to subscribers; returns its id.
    pub(super) fn record(&mut self, event_type: EventType, data: Value) -> Uuid {
        let event = WebhookEvent::new(
            crate::entropy::uuid(),
            event_type,
            &data,
            crate::clock::now(),
            self.next_sequence,
        );
        self.next_sequence += 1;
        if self.events.len() >= MAX_EVENTS
            && let Some(oldest) = self.events.pop_front()
        {
            self.sequence_by_id.remove(&oldest.id);
        }
        self.sequence_by_id.insert(event.id, event.sequence);
        self.events.push_back(event.clone());
        // No subscriber is not an error: the event stays readable in the log.
        if let Some(subscribers) = &self.subscribers {
            let _ = subscribers.send(event.clone());
        }
        event.id
    }

    pub(super) fn get(&self, id: Uuid) -> Option<&Arc<WebhookEvent>> {
        let sequence = *self.sequence_by_id.get(&id)?;
        let first = self.events.front()?.sequence;
        let index = usize::try_from(sequence.checked_sub(first)?).ok()?;
        self.events.get(index)
    }

    pub(super) fn subscribe(&mut self) -> broadcast::Receiver<Arc<WebhookEvent>> {
        self.subscribers
            .get_or_insert_with(|| broadcast::channel(SUBSCRIBER_BACKLOG).0)
            .subscribe()
    }

    /// Oldest first.
    #[cfg(test)]
    pub(super) fn iter(&self) -> impl DoubleEndedIterator<Item = &Arc<WebhookEvent>> {
        self.events.iter()
    }
}

/// `webhookEvents(filter: {type: {in, notIn}})`: names, as Rafiki compares them (a name it does
/// not emit matches nothing). Empty lists filter nothing, as in Rafiki.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventTypeFilter {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl EventTypeFilter {
    fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    fn matches(&self, kind: EventType) -> bool {
        let name = kind.as_str();
        (self.include.is_empty() || self.include.iter().any(|n| n == name))
            && !self.exclude.iter().any(|n| n == name)
    }
}

impl EventLog {
    /// One page of events, with the rules of [`super::pagination::paginate`] (cursors are event
    /// ids). A cursor names its position directly (id -> sequence -> index), so an unfiltered
    /// page costs its own size; a filtered one walks from the cursor only until the page is full
    /// and one more match shows whether there is a next (or previous) page.
    pub(super) fn page(
        &self,
        request: &PageRequest,
        filter: &EventTypeFilter,
    ) -> Result<Page<Arc<WebhookEvent>>, PaginationError> {
        if request.last.is_some() && request.before.is_none() {
            return Err(PaginationError::BackwardsFromStart);
        }
        let size = |asked: Option<i32>| match asked.unwrap_or(0) {
            0 => Ok(DEFAULT_PAGE_SIZE as usize),
            n if (1..=MAX_PAGE_SIZE).contains(&n) => {
                usize::try_from(n).map_err(|_| PaginationError::IndexOutOfRange)
            }
            _ => Err(PaginationError::IndexOutOfRange),
        };
        let len = self.events.len();
        // Positions run in the requested order; `at` maps one to the event there.
        let at = |position: usize| -> &Arc<WebhookEvent> {
            let index = match request.order {
                SortOrder::Asc => position,
                SortOrder::Desc => len - 1 - position,
            };
            &self.events[index]
        };
        let position = |cursor: &str| -> Result<usize, PaginationError> {
            let unknown = || PaginationError::UnknownCursor(cursor.chars().take(64).collect());
            let id = super::parse_id(cursor).ok_or_else(unknown)?;
            let sequence = *self.sequence_by_id.get(&id).ok_or_else(unknown)?;
            let first = self.events.front().ok_or_else(unknown)?.sequence;
            let index = sequence
                .checked_sub(first)
                .and_then(|offset| usize::try_from(offset).ok())
                .filter(|index| *index < len)
                .ok_or_else(unknown)?;
            Ok(match request.order {
                SortOrder::Asc => index,
                SortOrder::Desc => len - 1 - index,
            })
        };
        let matches =
            |position: usize| filter.is_empty() || filter.matches(at(position).event_type);
        // The first match going down from `below` (exclusive), or up from `from` (inclusive).
        let match_before = |below: usize| (0..below).rev().find(|&p| matches(p));
        let match_from = |from: usize| (from..len).find(|&p| matches(p));

        let mut positions = Vec::new();
        let (has_previous_page, has_next_page) = if let Some(before) = &request.before {
            let end = position(before)?;
            let count = size(request.last)?;
            let mut below = end;
            while positions.len() < count {
                let Some(found) = match_before(below) else {
                    break;
                };
                positions.push(found);
                below = found;
            }
            positions.reverse();
            let found = !positions.is_empty();
            (
                found && match_before(below).is_some(),
                found && match_from(end).is_some(),
            )
        } else {
            let start = match &request.after {
                Some(after) => position(after)? + 1,
                None => 0,
            };
            let count = size(request.first)?;
            let mut from = start;
            while positions.len() < count {
                let Some(found) = match_from(from) else {
                    break;
                };
                positions.push(found);
                from = found + 1;
            }
            let found = !positions.is_empty();
            (
                found && match_before(start).is_some(),
                found && match_from(from).is_some(),
            )
        };
        Ok(Page {
            items: positions.into_iter().map(|p| at(p).clone()).collect(),
            has_next_page,
            has_previous_page,
        })
    }
}

impl Instance {
    /// `webhookEvents`: the latest events, paged and filtered by type.
    pub fn webhook_events_page(
        &self,
        request: &PageRequest,
        filter: &EventTypeFilter,
    ) -> Result<Page<Arc<WebhookEvent>>, PaginationError> {
        self.lock().events.page(request, filter)
    }

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

    fn log_of(kinds: &[EventType]) -> EventLog {
        let mut log = EventLog::default();
        for (n, kind) in kinds.iter().enumerate() {
            log.record(*kind, json!({ "n": n }));
        }
        log
    }

    /// The log's page must be what the generic pager cuts from the filtered list.
    fn assert_same_as_paginate(log: &EventLog, request: &PageRequest, filter: &EventTypeFilter) {
        let filtered: Vec<Arc<WebhookEvent>> = log
            .iter()
            .filter(|e| filter.is_empty() || filter.matches(e.event_type))
            .cloned()
            .collect();
        let expected = super::super::pagination::paginate(&filtered, |e| e.id.to_string(), request);
        let actual = log.page(request, filter);
        match (expected, actual) {
            (Ok(expected), Ok(actual)) => {
                let ids = |page: &Page<Arc<WebhookEvent>>| {
                    page.items.iter().map(|e| e.sequence).collect::<Vec<_>>()
                };
                assert_eq!(ids(&actual), ids(&expected), "{request:?} {filter:?}");
                assert_eq!(
                    actual.has_next_page, expected.has_next_page,
                    "{request:?} {filter:?}"
                );
                assert_eq!(
                    actual.has_previous_page, expected.has_previous_page,
                    "{request:?} {filter:?}"
                );
            }
            (expected, actual) => assert_eq!(
                actual.map(|p| p.items.len()),
                expected.map(|p| p.items.len()),
                "{request:?} {filter:?}"
            ),
        }
    }

    #[test]
    fn pages_match_the_generic_pager_with_and_without_filters() {
        use EventType::*;
        let kinds: Vec<EventType> = (0..30)
            .map(|n| match n % 3 {
                0 => IncomingPaymentCreated,
                1 => PeerLiquidityLow,
                _ => IncomingPaymentCompleted,
            })
            .collect();
        let log = log_of(&kinds);
        let ids: Vec<String> = log.iter().map(|e| e.id.to_string()).collect();
        let filters = [
            EventTypeFilter::default(),
            EventTypeFilter {
                include: vec!["peer.liquidity_low".into()],
                exclude: vec![],
            },
            EventTypeFilter {
                include: vec![],
                exclude: vec!["peer.liquidity_low".into()],
            },
            EventTypeFilter {
                include: vec!["no.such_type".into()],
                exclude: vec![],
            },
        ];
        for filter in &filters {
            for order in [SortOrder::Asc, SortOrder::Desc] {
                for first in [None, Some(1), Some(4), Some(100)] {
                    let mut request = PageRequest {
                        first,
                        order,
                        ..Default::default()
                    };
                    assert_same_as_paginate(&log, &request, filter);
                    for cursor in [&ids[0], &ids[1], &ids[14], &ids[28], &ids[29]] {
                        // Cursors that the filter excludes are only meaningful unfiltered.
                        let cursor_matches = log
                            .get(Uuid::parse_str(cursor).unwrap())
                            .is_some_and(|e| filter.is_empty() || filter.matches(e.event_type));
                        if !cursor_matches {
                            continue;
                        }
                        request.after = Some(cursor.clone());
                        request.before = None;
                        request.last = None;
                        assert_same_as_paginate(&log, &request, filter);
                        request.after = None;
                        request.before = Some(cursor.clone());
                        request.last = first;
                        assert_same_as_paginate(&log, &request, filter);
                    }
                }
            }
        }
        let unknown = PageRequest {
            after: Some(Uuid::new_v4().to_string()),
            ..Default::default()
        };
        assert!(matches!(
            log.page(&unknown, &EventTypeFilter::default()),
            Err(PaginationError::UnknownCursor(_))
        ));
    }
}
