//! A run's event log (`peerlab run --events FILE`): the webhook events every instance recorded
//! (payments created, completed, failed, wallet addresses not found...), one JSON object a line,
//! in the order they happened. In a deterministic run it repeats byte for byte with the seed, as
//! the report does; over loopback it shows what happened when.
//!
//! Read from each instance's event log after the run, so the traffic pays nothing for it; an
//! instance keeps its latest `peerlab::instance::MAX_EVENTS`, which bounds the file.

use std::io::Write;
use std::sync::Arc;

use peerlab::instance::{EventTypeFilter, PageRequest, SortOrder, WebhookEvent};
use serde::Serialize;

use crate::network::Network;

/// One event, as a line of the log.
#[derive(Debug, Serialize)]
pub struct EventLine {
    /// When it was recorded (the instance's clock; virtual in a deterministic run).
    pub at: String,
    pub instance: String,
    /// Its position in its instance's log, from 0.
    pub sequence: u64,
    #[serde(rename = "type")]
    pub event_type: &'static str,
    pub id: String,
    pub data: serde_json::Value,
}

/// Every event the instances keep, oldest first (ties, which a deterministic run's virtual clock
/// makes common, in the order of the topology's instances and then each instance's own order).
pub fn collect(network: &Network) -> Vec<EventLine> {
    let mut lines = Vec::new();
    for (index, instance) in network.instances().iter().enumerate() {
        for event in events_of(instance.node().instance()) {
            lines.push((
                event.created_at,
                index,
                EventLine {
                    at: peerlab::text::iso_timestamp(event.created_at),
                    instance: instance.name().to_owned(),
                    sequence: event.sequence,
                    event_type: event.event_type.as_str(),
                    id: event.id.to_string(),
                    data: event.data(),
                },
            ));
        }
    }
    lines.sort_by_key(|line| (line.0, line.1, line.2.sequence));
    lines.into_iter().map(|(_, _, line)| line).collect()
}

/// An instance's events, oldest first, paged as the admin API pages them.
fn events_of(instance: &peerlab::instance::Instance) -> Vec<Arc<WebhookEvent>> {
    let mut events: Vec<Arc<WebhookEvent>> = Vec::new();
    loop {
        let request = PageRequest {
            after: events.last().map(|event| event.id.to_string()),
            before: None,
            first: Some(peerlab::instance::pagination::MAX_PAGE_SIZE),
            last: None,
            order: SortOrder::Asc,
        };
        let Ok(page) = instance.webhook_events_page(&request, &EventTypeFilter::default()) else {
            // The cursor fell out of the log while reading (it keeps the latest only): what was
            // read stands.
            break;
        };
        events.extend(page.items);
        if !page.has_next_page {
            break;
        }
    }
    events
}

/// Writes `lines` to `path`, one JSON object a line.
pub fn write(lines: &[EventLine], path: &std::path::Path) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    for line in lines {
        serde_json::to_writer(&mut file, line)?;
        file.write_all(b"\n")?;
    }
    file.flush()
}
