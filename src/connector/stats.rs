//! What an instance's packet path has done so far: packets counted by where they came from and
//! how they ended (fulfilled, or rejected with which code), and how long the packets the instance
//! sent itself took to be answered. Counting is a few relaxed atomic increments per packet; the
//! latency distribution is a bounded histogram, allocated when the instance first sends a packet,
//! so an idle instance pays nothing for it and a run of millions of packets keeps it the same size.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;
use uuid::Uuid;

use crate::ilp::{ErrorCode, Reply};
use crate::instance::PacketSource;

/// Longest packet round trip the histogram tells apart (longer ones count as this): Rafiki's
/// longest hold is 30 s.
const LATENCY_CEILING_MICROS: u64 = 60_000_000;

/// An empty histogram of packet latencies in microseconds, with the bounds every instance's
/// uses, so that they can be merged ([`PacketStats::merge_sent_latency`]).
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_CEILING_MICROS, 2)
        .expect("constant histogram bounds are valid")
}

/// How packets from one kind of source ended.
#[derive(Debug, Default)]
struct Outcomes {
    fulfilled: AtomicU64,
    /// Indexed as [`ErrorCode::ALL`].
    rejected: [AtomicU64; ErrorCode::ALL.len()],
    /// Codes outside RFC 0027 (relayed from peers that use them).
    rejected_other: AtomicU64,
}

impl Outcomes {
    fn count(&self, reply: &Reply) {
        match reply {
            Reply::Fulfill(_) => self.fulfilled.fetch_add(1, Ordering::Relaxed),
            Reply::Reject(reject) => {
                let code = reject.code();
                match ErrorCode::ALL.iter().position(|known| *known == code) {
                    Some(index) => self.rejected[index].fetch_add(1, Ordering::Relaxed),
                    None => self.rejected_other.fetch_add(1, Ordering::Relaxed),
                }
            }
        };
    }

    fn snapshot(&self) -> PacketCounts {
        let mut rejected = BTreeMap::new();
        for (code, count) in ErrorCode::ALL.iter().zip(&self.rejected) {
            let count = count.load(Ordering::Relaxed);
            if count > 0 {
                rejected.insert(code.to_string(), count);
            }
        }
        let other = self.rejected_other.load(Ordering::Relaxed);
        if other > 0 {
            rejected.insert("other".to_owned(), other);
        }
        PacketCounts {
            fulfilled: self.fulfilled.load(Ordering::Relaxed),
            rejected,
        }
    }
}

/// Packets that ended one way or another, as read at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PacketCounts {
    pub fulfilled: u64,
    /// Rejects by ILP error code (`"T04"`; `"other"` for codes outside RFC 0027).
    pub rejected: BTreeMap<String, u64>,
}

impl PacketCounts {
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    pub fn total(&self) -> u64 {
        self.fulfilled.saturating_add(self.rejected_total())
    }

    /// Adds `other`'s counts to these (saturating: counts, not money).
    pub fn add(&mut self, other: &PacketCounts) {
        self.fulfilled = self.fulfilled.saturating_add(other.fulfilled);
        for (code, count) in &other.rejected {
            let total = self.rejected.entry(code.clone()).or_default();
            *total = total.saturating_add(*count);
        }
    }
}

/// An instance's packet counts and the latency of the packets it sent.
#[derive(Debug, Default)]
pub struct PacketStats {
    /// Packets that came from peers (each instance on a path counts the packet once).
    from_peers: Outcomes,
    /// Packets this instance sent for its payments (rate probes not included).
    sent: Outcomes,
    /// Packets sent for quotes (rate probes, and the IL-DCP request before them): probes are
    /// never fulfilled, so they are counted apart.
    probes: AtomicU64,
    /// Zero-amount packets sent for payments (STREAM control: closing a connection, asking the
    /// receiver's limits), which receivers answer with an F99 Reject by design: counted apart.
    data_only: AtomicU64,
    /// Microseconds from sending a packet to its reply, for the packets in `sent`.
    sent_latency: Mutex<Option<Histogram<u64>>>,
}

impl PacketStats {
    /// Counts a packet of `amount` from `source` that ended with `reply` after `took`.
    pub fn record(&self, source: PacketSource<'_>, amount: u64, reply: &Reply, took: Duration) {
        if let Some(link) = source.link {
            link.count(matches!(reply, Reply::Fulfill(_)));
        }
        if !source.local {
            self.from_peers.count(reply);
            return;
        }
        if source.unfulfillable {
            self.probes.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if amount == 0 {
            self.data_only.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.sent.count(reply);
        let micros = u64::try_from(took.as_micros())
            .unwrap_or(u64::MAX)
            .clamp(1, LATENCY_CEILING_MICROS);
        // A poisoned lock only means another recorder panicked mid-record; the counts survive.
        let mut latency = self
            .sent_latency
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let histogram = latency.get_or_insert_with(latency_histogram);
        histogram.saturating_record(micros);
    }

    /// The counts as they are now.
    pub fn snapshot(&self) -> PacketStatsSnapshot {
        PacketStatsSnapshot {
            from_peers: self.from_peers.snapshot(),
            sent: self.sent.snapshot(),
            probes: self.probes.load(Ordering::Relaxed),
            data_only: self.data_only.load(Ordering::Relaxed),
        }
    }

    /// Packets handled so far, from peers and sent (probes and data-only packets included): a
    /// cheap progress figure.
    pub fn handled(&self) -> u64 {
        let sum = |outcomes: &Outcomes| {
            outcomes
                .rejected
                .iter()
                .map(|count| count.load(Ordering::Relaxed))
                .sum::<u64>()
                + outcomes.fulfilled.load(Ordering::Relaxed)
                + outcomes.rejected_other.load(Ordering::Relaxed)
        };
        sum(&self.from_peers)
            + sum(&self.sent)
            + self.probes.load(Ordering::Relaxed)
            + self.data_only.load(Ordering::Relaxed)
    }

    /// Rejects so far, from peers and sent.
    pub fn rejected(&self) -> u64 {
        let sum = |outcomes: &Outcomes| {
            outcomes
                .rejected
                .iter()
                .map(|count| count.load(Ordering::Relaxed))
                .sum::<u64>()
                + outcomes.rejected_other.load(Ordering::Relaxed)
        };
        sum(&self.from_peers) + sum(&self.sent)
    }

    /// Merges the latency of the packets this instance sent into `into` (microseconds).
    pub fn merge_sent_latency(&self, into: &mut Histogram<u64>) {
        let latency = self
            .sent_latency
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(histogram) = latency.as_ref() {
            // Both histograms cover the same range; a value outside `into`'s is already clamped.
            let _ = into.add(histogram);
        }
    }
}

/// The packets that came in from one peer, as read at one moment ([`Connector::links`]).
///
/// [`Connector::links`]: super::Connector::links
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkStats {
    pub peer_id: Uuid,
    pub fulfilled: u64,
    pub rejected: u64,
}

/// [`PacketStats`] read at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PacketStatsSnapshot {
    pub from_peers: PacketCounts,
    pub sent: PacketCounts,
    pub probes: u64,
    pub data_only: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ilp::{Address, Fulfill, Reject};

    fn source(address: &Address, local: bool, unfulfillable: bool) -> PacketSource<'_> {
        PacketSource {
            id: Uuid::nil(),
            asset_id: Uuid::nil(),
            max_packet_amount: None,
            address,
            unfulfillable,
            local,
            link: None,
        }
    }

    #[test]
    fn packets_are_counted_by_source_and_outcome() {
        let address: Address = "test.a".parse().unwrap();
        let stats = PacketStats::default();
        let fulfill = Reply::Fulfill(Fulfill::new([0; 32], Vec::new()).unwrap());
        let t04 = Reply::Reject(
            Reject::new(
                ErrorCode::T04InsufficientLiquidity,
                Some(address.clone()),
                "",
                Vec::new(),
            )
            .unwrap(),
        );
        let odd = Reply::Reject(
            Reject::new(
                ErrorCode::from_bytes(*b"F09").unwrap(),
                None,
                "",
                Vec::new(),
            )
            .unwrap(),
        );
        let ms = Duration::from_millis(3);
        stats.record(source(&address, false, false), 5, &fulfill, ms);
        stats.record(source(&address, false, false), 5, &t04, ms);
        stats.record(source(&address, true, false), 5, &fulfill, ms);
        stats.record(source(&address, true, false), 5, &odd, ms);
        stats.record(source(&address, true, true), 5, &t04, ms);
        stats.record(source(&address, true, false), 0, &odd, ms);
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.from_peers.fulfilled, 1);
        assert_eq!(snapshot.from_peers.rejected["T04"], 1);
        assert_eq!(snapshot.sent.fulfilled, 1);
        assert_eq!(snapshot.sent.rejected["other"], 1);
        assert_eq!(snapshot.probes, 1);
        assert_eq!(snapshot.data_only, 1);
        assert_eq!(stats.handled(), 6);
        assert_eq!(stats.rejected(), 2);
        let mut latency = latency_histogram();
        stats.merge_sent_latency(&mut latency);
        assert_eq!(latency.len(), 2, "only packets sent for payments are timed");
        assert!((2_900..=3_100).contains(&latency.value_at_quantile(0.5)));
    }

    #[test]
    fn packets_from_a_peer_are_counted_on_its_link_and_local_ones_are_not() {
        let address: Address = "test.a".parse().unwrap();
        let stats = PacketStats::default();
        let link = crate::instance::LinkCounters::default();
        let fulfill = Reply::Fulfill(Fulfill::new([0; 32], Vec::new()).unwrap());
        let reject =
            Reply::Reject(Reject::new(ErrorCode::F02Unreachable, None, "", Vec::new()).unwrap());
        let from_peer = PacketSource {
            link: Some(&link),
            ..source(&address, false, false)
        };
        let ms = Duration::from_millis(1);
        stats.record(from_peer, 5, &fulfill, ms);
        stats.record(from_peer, 5, &reject, ms);
        stats.record(from_peer, 0, &reject, ms);
        stats.record(source(&address, true, false), 5, &fulfill, ms);
        assert_eq!(link.read(), (1, 2));
        let shared = link.clone();
        assert_eq!(shared, link, "a peer's versions share one link's counters");
        assert_ne!(crate::instance::LinkCounters::default(), link);
    }
}
