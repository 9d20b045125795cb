//! The report of a `peerlab run`: what `--json` writes and the terminal and HTML reports show.
//!
//! Its JSON shape is a stable interface: `simulator/run-report.schema.json` documents every
//! field (a test validates real reports against it), `format` names the version, and fields are
//! only ever added. Everything in it is bounded whatever the run's length: counts, histogram
//! quantiles, reasons counted by class, one throughput bucket a second up to an hour.

use std::collections::BTreeMap;

use peerlab::connector::PacketCounts;
use serde::Serialize;

use crate::topology::FaultKind;

/// The value of [`RunReport::format`]: bumped only if a field ever changes meaning.
pub const REPORT_FORMAT: &str = "peerlab-run-report/1";

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// [`REPORT_FORMAT`].
    pub format: &'static str,
    /// The topology file, or "default pair".
    pub topology: String,
    /// The seed the traffic's amounts and the random faults were drawn with.
    pub seed: u64,
    /// The command that runs the same schedule again.
    pub replay: String,
    /// From the first payment to the last one's end.
    pub duration_seconds: f64,
    pub payments: PaymentTotals,
    /// Milliseconds from a payment's `createReceiver` to its end, for completed payments.
    pub payment_latency_ms: Latency,
    pub payments_per_second: f64,
    /// Payments that ended in each second of the run (the last bucket takes every second past
    /// an hour).
    pub ended_per_second: Vec<u64>,
    pub packets: PacketTotals,
    pub instances: Vec<InstanceReport>,
    pub peerings: Vec<PeeringLiquidity>,
    pub wallet_addresses: Vec<WalletBalance>,
    /// The faults injected, and when (seconds after the traffic started).
    pub faults: Vec<FaultRecord>,
    pub invariants: Vec<Invariant>,
}

impl RunReport {
    /// Every invariant held.
    pub fn passed(&self) -> bool {
        self.invariants.iter().all(|invariant| invariant.held)
    }

    /// The names of the invariants that did not hold.
    pub fn broken_invariants(&self) -> Vec<&str> {
        self.invariants
            .iter()
            .filter(|invariant| !invariant.held)
            .map(|invariant| invariant.name.as_str())
            .collect()
    }
}

/// A report's JSON without what depends on timing (durations, rates, latencies, per-second
/// counts): what two runs of one topology and seed agree on, wherever their instances ran.
pub fn timing_free(report: &serde_json::Value) -> serde_json::Value {
    let mut report = report.clone();
    if let Some(object) = report.as_object_mut() {
        for timed in [
            "duration_seconds",
            "payment_latency_ms",
            "payments_per_second",
            "ended_per_second",
        ] {
            object.remove(timed);
        }
        if let Some(packets) = object.get_mut("packets").and_then(|p| p.as_object_mut()) {
            packets.remove("sent_per_second");
            packets.remove("latency_ms");
        }
    }
    report
}

/// How the payments ended. `planned = completed + partial + failed + unfinished + not_started`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PaymentTotals {
    pub planned: u64,
    pub completed: u64,
    /// Failed after part of the money got through.
    pub partial: u64,
    /// Failed or refused with nothing sent.
    pub failed: u64,
    /// Neither completed nor failed when the run stopped waiting (still SENDING).
    pub unfinished: u64,
    /// Never started: the run's duration ran out first.
    pub not_started: u64,
    /// Sent by completed, partial and failed payments, in each payer's asset units, summed.
    pub sent: u64,
    /// Received by the incoming payments of completed payments, in each receiver's units.
    pub delivered: u64,
    /// Completed payments whose incoming payment was credited less than it expected.
    pub credited_otherwise: u64,
    /// Why payments were partial, failed or could not be made, and how often.
    pub reasons: BTreeMap<String, u64>,
}

/// Quantiles of a latency distribution, in milliseconds (0 when nothing was measured).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Latency {
    /// The quantiles of a histogram of microseconds.
    pub fn of_micros(histogram: &hdrhistogram::Histogram<u64>) -> Self {
        let ms = |micros: u64| micros as f64 / 1_000.0;
        Self {
            count: histogram.len(),
            p50: ms(histogram.value_at_quantile(0.5)),
            p90: ms(histogram.value_at_quantile(0.9)),
            p99: ms(histogram.value_at_quantile(0.99)),
            p999: ms(histogram.value_at_quantile(0.999)),
            max: ms(histogram.max()),
        }
    }
}

/// The packets of the run, across the network.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PacketTotals {
    /// Packets the instances sent for payments, by how they ended at the sender.
    pub sent: PacketCounts,
    /// Packets the instances sent for quotes: rate probes (never fulfilled, by design) and the
    /// IL-DCP request before them.
    pub probes: u64,
    /// Zero-amount STREAM control packets sent for payments (receivers reject them F99 by
    /// design).
    pub data_only: u64,
    /// Packets instances received from peers, counted at every instance on their path (rate
    /// probes and data-only packets included: receivers reject those F99 by design).
    pub from_peers: PacketCounts,
    /// Packets sent for payments per second of the run.
    pub sent_per_second: f64,
    /// Milliseconds from sending a payment's packet to its reply, at the sender.
    pub latency_ms: Latency,
}

/// One instance: its packets and its assets' liquidity.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceReport {
    pub name: String,
    pub ilp_address: String,
    pub packets_sent: PacketCounts,
    pub packets_from_peers: PacketCounts,
    pub probes: u64,
    pub data_only: u64,
    pub assets: Vec<AssetLiquidity>,
}

/// An asset's own liquidity on one instance, before and after the traffic.
#[derive(Debug, Clone, Serialize)]
pub struct AssetLiquidity {
    pub code: String,
    pub scale: u8,
    pub before: u64,
    pub after: u64,
}

/// The liquidity each side of a peering grants the other, before and after the traffic.
#[derive(Debug, Clone, Serialize)]
pub struct PeeringLiquidity {
    pub between: [String; 2],
    pub asset: String,
    /// How this peering was made: "manual" or "auto-peering".
    pub by: String,
    pub before: [u64; 2],
    pub after: [u64; 2],
}

/// A wallet address's balance at its operator (the mock operator's books), before and after.
#[derive(Debug, Clone, Serialize)]
pub struct WalletBalance {
    /// `instance/address`, as traffic names it.
    pub wallet_address: String,
    pub asset: String,
    pub before: u64,
    pub after: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FaultRecord {
    pub kind: FaultKind,
    /// The link's two ends (sender, receiver), or the instance twice for instance faults.
    pub between: [String; 2],
    pub from_seconds: f64,
    pub until_seconds: f64,
    /// When the fault could not be injected: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Invariant {
    pub name: String,
    pub held: bool,
    /// What broke it, when it did not hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The instances it could not be checked on, and why (instances elsewhere that answer no
    /// `peerlabStatus`, such as a real Rafiki): `held` speaks for the others only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_checked: Option<String>,
}
