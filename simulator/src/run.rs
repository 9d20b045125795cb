//! `peerlab run`: a topology's traffic driven through a running network, then a report and the
//! invariants that must hold after it.
//!
//! Each payment is made as an operator makes it, through the paying instance's admin API over
//! HTTP with Rafiki's operations: `createReceiver` (the incoming payment, at the receiving
//! instance), `createQuote`, `createOutgoingPayment`, `depositOutgoingPaymentLiquidity` (unless
//! the paying instance runs the mock operator, which funds it), then `outgoingPayment` read until
//! it ends. What the report keeps is bounded whatever the run's length: counts, a latency
//! histogram, the reasons payments failed (counted by reason).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::client::AdminClient;
use crate::faults;
use crate::network::Network;
use crate::topology::{AmountSpec, FaultKind, Topology, TrafficSpec};

/// How often a payment's state is read while it is under way.
const POLL: Duration = Duration::from_millis(5);
/// How long one payment may take before the run stops waiting for it (it stays SENDING, which
/// breaks an invariant).
const PAYMENT_DEADLINE: Duration = Duration::from_secs(60);
/// How long the ledgers get to settle the last packets before they are checked.
const SETTLE: Duration = Duration::from_secs(2);

/// What a run did. Its JSON shape is documented in the README ("The run report").
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub topology: String,
    /// The seed the traffic's amounts were drawn with: `--seed` repeats them.
    pub seed: u64,
    pub duration_seconds: f64,
    pub payments: PaymentTotals,
    /// Milliseconds from `createReceiver` to the payment's end.
    pub latency_ms: Latency,
    pub payments_per_second: f64,
    /// Payments that ended in each second of the run (the last bucket takes every second past
    /// an hour).
    pub ended_per_second: Vec<u64>,
    pub peerings: Vec<PeeringLiquidity>,
    /// The faults injected, and when (seconds after the traffic started).
    pub faults: Vec<FaultRecord>,
    pub invariants: Vec<Invariant>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FaultRecord {
    pub kind: FaultKind,
    pub between: [String; 2],
    pub from_seconds: f64,
    pub until_seconds: f64,
    /// When the fault could not be injected: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RunReport {
    /// Every invariant held.
    pub fn passed(&self) -> bool {
        self.invariants.iter().all(|invariant| invariant.held)
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PaymentTotals {
    pub planned: u64,
    pub completed: u64,
    pub failed: u64,
    /// Neither completed nor failed when the run stopped waiting.
    pub unfinished: u64,
    /// Never started: `--duration` ran out first.
    pub not_started: u64,
    /// Sent by completed and failed payments, in each payer's asset units, summed.
    pub sent: u64,
    /// Received by the incoming payments of completed payments, in each receiver's units.
    pub delivered: u64,
    /// Completed payments whose incoming payment was credited less than it expected.
    pub credited_otherwise: u64,
    /// Why payments failed or could not be made, and how often.
    pub reasons: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// Longest run the per-second throughput keeps one bucket a second for; later seconds share
/// the last bucket, so the report stays bounded.
const THROUGHPUT_SECONDS: usize = 3_600;

/// The liquidity each side of a peering grants the other, before and after the traffic.
#[derive(Debug, Clone, Serialize)]
pub struct PeeringLiquidity {
    pub between: [String; 2],
    pub asset: String,
    pub before: [u64; 2],
    pub after: [u64; 2],
}

#[derive(Debug, Clone, Serialize)]
pub struct Invariant {
    pub name: String,
    pub held: bool,
    /// What broke it, when it did not hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// How far the traffic has come, for a progress display.
#[derive(Debug, Default)]
pub struct Progress {
    pub done: AtomicU64,
    pub failed: AtomicU64,
    pub planned: AtomicU64,
}

/// How one payment ended.
#[derive(Debug)]
enum Outcome {
    Completed {
        sent: u64,
        delivered: u64,
        expected: u64,
    },
    Failed {
        sent: u64,
        reason: String,
    },
    Unfinished,
    /// Refused before it was under way (receiver, quote, creation or funding).
    NotMade(String),
}

/// Drives every `[[traffic]]` entry of `topology` through `network` (started from it), then checks
/// the invariants.
pub async fn run(
    network: &Network,
    topology: &Topology,
    name: &str,
    seed: u64,
    progress: Arc<Progress>,
) -> RunReport {
    run_for(network, topology, name, seed, None, progress).await
}

/// [`run`], starting no payment after `duration` (those left are counted `not_started`).
pub async fn run_for(
    network: &Network,
    topology: &Topology,
    name: &str,
    seed: u64,
    duration: Option<Duration>,
    progress: Arc<Progress>,
) -> RunReport {
    let planned: u64 = topology.traffic.iter().map(|traffic| traffic.count).sum();
    progress.planned.store(planned, Ordering::Relaxed);
    let before = peering_liquidity(network, topology);
    let scheduled = faults::schedule(topology, seed);
    let proxies = faults::prepare(network, topology, &scheduled).await;
    let started = Instant::now();
    let stop_starting = duration.and_then(|duration| started.checked_add(duration));
    let injections = futures_util::future::join_all(scheduled.iter().map(|fault| {
        faults::Injection::of(network, topology, fault, &proxies).run(started.into())
    }));
    let tally = Arc::new(Mutex::new(Tally::new(planned)));
    let mut workers = tokio::task::JoinSet::new();
    for (index, traffic) in topology.traffic.iter().enumerate() {
        let schedule = Schedule {
            seed,
            traffic: index as u64,
            amount: traffic.amount,
        };
        let Some(plan) = Plan::of(network, topology, traffic, schedule) else {
            let mut tally = tally.lock().await;
            for _ in 0..traffic.count {
                tally.record(
                    Outcome::NotMade("the traffic's wallet addresses were not created".into()),
                    Duration::ZERO,
                    0,
                );
            }
            continue;
        };
        let plan = Arc::new(plan);
        let next = Arc::new(AtomicU64::new(0));
        let run_started = started;
        for _ in 0..traffic.concurrency {
            let (plan, next, tally, progress) =
                (plan.clone(), next.clone(), tally.clone(), progress.clone());
            workers.spawn(async move {
                loop {
                    if stop_starting.is_some_and(|at| Instant::now() >= at) {
                        break;
                    }
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= plan.count {
                        break;
                    }
                    let payment_started = Instant::now();
                    let outcome = plan.pay_one(n).await;
                    if !matches!(outcome, Outcome::Completed { .. }) {
                        progress.failed.fetch_add(1, Ordering::Relaxed);
                    }
                    progress.done.fetch_add(1, Ordering::Relaxed);
                    let second = run_started.elapsed().as_secs();
                    tally
                        .lock()
                        .await
                        .record(outcome, payment_started.elapsed(), second);
                }
            });
        }
    }
    // Faults end when their time is up, traffic or not; each undoes itself.
    let traffic = async {
        while workers.join_next().await.is_some() {}
        started.elapsed()
    };
    let (mut injected, elapsed) = tokio::join!(injections, traffic);
    injected.sort_by(|a, b| a.from_seconds.total_cmp(&b.from_seconds));
    faults::shutdown(proxies).await;
    let invariants = check_invariants(network, &tally.lock().await.payments).await;
    let after = peering_liquidity(network, topology);
    let mut tally = tally.lock().await;
    let payments = &mut tally.payments;
    payments.not_started =
        planned.saturating_sub(payments.completed + payments.failed + payments.unfinished);
    let quantile = |q: f64| tally.latency.value_at_quantile(q) as f64 / 1_000.0;
    RunReport {
        topology: name.to_owned(),
        seed,
        duration_seconds: elapsed.as_secs_f64(),
        payments: tally.payments.clone(),
        latency_ms: Latency {
            p50: quantile(0.5),
            p90: quantile(0.9),
            p99: quantile(0.99),
            p999: quantile(0.999),
            max: tally.latency.max() as f64 / 1_000.0,
        },
        ended_per_second: tally.ended_per_second.clone(),
        payments_per_second: if elapsed.is_zero() {
            0.0
        } else {
            (planned - tally.payments.not_started) as f64 / elapsed.as_secs_f64()
        },
        peerings: before
            .into_iter()
            .zip(after)
            .map(|(before, after)| PeeringLiquidity {
                after: after.before,
                ..before
            })
            .collect(),
        faults: injected,
        invariants,
    }
}

/// The run's counts and latencies so far.
struct Tally {
    payments: PaymentTotals,
    /// Microseconds, 1 µs to 10 minutes, 3 significant digits: bounded whatever the run.
    latency: Histogram<u64>,
    ended_per_second: Vec<u64>,
}

impl Tally {
    fn new(planned: u64) -> Self {
        Self {
            payments: PaymentTotals {
                planned,
                ..PaymentTotals::default()
            },
            latency: Histogram::new_with_bounds(1, 600_000_000, 3)
                .expect("constant histogram bounds are valid"),
            ended_per_second: Vec::new(),
        }
    }

    fn record(&mut self, outcome: Outcome, took: Duration, second: u64) {
        let bucket = usize::try_from(second)
            .unwrap_or(usize::MAX)
            .min(THROUGHPUT_SECONDS - 1);
        if self.ended_per_second.len() <= bucket {
            self.ended_per_second.resize(bucket + 1, 0);
        }
        self.ended_per_second[bucket] += 1;
        let payments = &mut self.payments;
        match outcome {
            Outcome::Completed {
                sent,
                delivered,
                expected,
            } => {
                payments.completed += 1;
                if delivered < expected {
                    payments.credited_otherwise += 1;
                }
                payments.sent = payments.sent.saturating_add(sent);
                payments.delivered = payments.delivered.saturating_add(delivered);
                let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
                self.latency.saturating_record(micros.max(1));
            }
            Outcome::Failed { sent, reason } => {
                payments.failed += 1;
                payments.sent = payments.sent.saturating_add(sent);
                *payments.reasons.entry(reason).or_default() += 1;
            }
            Outcome::Unfinished => payments.unfinished += 1,
            Outcome::NotMade(reason) => {
                payments.failed += 1;
                *payments.reasons.entry(reason).or_default() += 1;
            }
        }
    }
}

/// Which amount each payment of a traffic entry makes: drawn, for a range, from a generator
/// seeded by the run's seed, the entry and the payment's number, so the same seed gives the same
/// amounts whatever order concurrent payments run in.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub seed: u64,
    pub traffic: u64,
    pub amount: AmountSpec,
}

impl Schedule {
    pub fn amount(&self, payment: u64) -> u64 {
        use rand::{Rng, SeedableRng};
        match self.amount {
            AmountSpec::Fixed(amount) => amount,
            AmountSpec::Range([min, max]) => {
                let mut rng = rand::rngs::StdRng::seed_from_u64(
                    self.seed
                        ^ self.traffic.rotate_left(32)
                        ^ payment.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                );
                rng.random_range(min..=max)
            }
        }
    }
}

/// One traffic entry, resolved against the running network.
struct Plan {
    admin: AdminClient,
    /// Whether the paying instance funds its payments itself (the mock operator).
    self_funding: bool,
    from_id: String,
    to_url: String,
    receiver_admin: AdminClient,
    receiver_asset: (String, u8),
    schedule: Schedule,
    count: u64,
}

impl Plan {
    fn of(
        network: &Network,
        topology: &Topology,
        traffic: &TrafficSpec,
        schedule: Schedule,
    ) -> Option<Self> {
        let (from_instance, from_address) = TrafficSpec::split(&traffic.from)?;
        let (to_instance, to_address) = TrafficSpec::split(&traffic.to)?;
        let payer = network.instance(from_instance)?;
        let payee = network.instance(to_instance)?;
        let from_url = format!("{}{from_address}", payer.node().open_payments_url());
        let from = payer.node().instance().wallet_address_by_url(&from_url)?;
        let to_url = format!("{}{to_address}", payee.node().open_payments_url());
        let to = payee.node().instance().wallet_address_by_url(&to_url)?;
        let asset = payee
            .node()
            .instance()
            .asset_including_deleted(to.asset_id)?;
        let self_funding = topology
            .instances
            .iter()
            .any(|spec| spec.name == from_instance && spec.mock_operator);
        Some(Self {
            admin: payer.admin().clone(),
            self_funding,
            from_id: from.id.to_string(),
            to_url: to.url.clone(),
            receiver_admin: payee.admin().clone(),
            receiver_asset: (asset.code, asset.scale),
            schedule,
            count: traffic.count,
        })
    }

    async fn pay_one(&self, n: u64) -> Outcome {
        match self.try_pay(self.schedule.amount(n)).await {
            Ok(outcome) => outcome,
            Err(reason) => Outcome::NotMade(reason),
        }
    }

    async fn try_pay(&self, amount: u64) -> Result<Outcome, String> {
        let (code, scale) = &self.receiver_asset;
        let data = mutate(
            &self.admin,
            "mutation($input: CreateReceiverInput!) { createReceiver(input: $input) { receiver { id } } }",
            json!({ "walletAddressUrl": self.to_url,
                    "incomingAmount": { "value": amount.to_string(), "assetCode": code, "assetScale": scale } }),
        )
        .await?;
        let receiver = text(&data["createReceiver"]["receiver"]["id"])?;
        let data = mutate(
            &self.admin,
            "mutation($input: CreateQuoteInput!) { createQuote(input: $input) { quote { id } } }",
            json!({ "walletAddressId": self.from_id, "receiver": receiver }),
        )
        .await?;
        let quote = text(&data["createQuote"]["quote"]["id"])?;
        mutate(
            &self.admin,
            "mutation($input: CreateOutgoingPaymentInput!) { createOutgoingPayment(input: $input) { payment { id } } }",
            json!({ "walletAddressId": self.from_id, "quoteId": quote }),
        )
        .await?;
        if !self.self_funding {
            mutate(
                &self.admin,
                "mutation($input: DepositOutgoingPaymentLiquidityInput!) { depositOutgoingPaymentLiquidity(input: $input) { success } }",
                json!({ "outgoingPaymentId": quote, "idempotencyKey": uuid::Uuid::new_v4().to_string() }),
            )
            .await?;
        }
        let deadline = Instant::now() + PAYMENT_DEADLINE;
        loop {
            let answer = self
                .admin
                .request(
                    "query($id: String!) { outgoingPayment(id: $id) { state error sentAmount { value } } }",
                    json!({ "id": quote }),
                )
                .await
                .map_err(|error| error.to_string())?;
            let payment = &answer["data"]["outgoingPayment"];
            let sent = amount_of(&payment["sentAmount"]);
            match payment["state"].as_str() {
                Some("COMPLETED") => {
                    let delivered = self.received(&receiver).await?;
                    return Ok(Outcome::Completed {
                        sent,
                        delivered,
                        expected: amount,
                    });
                }
                Some("FAILED") => {
                    let reason = payment["error"].as_str().unwrap_or("failed");
                    return Ok(Outcome::Failed {
                        sent,
                        reason: reason_class(reason),
                    });
                }
                _ if Instant::now() >= deadline => return Ok(Outcome::Unfinished),
                _ => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// What the receiving instance credited the incoming payment at `url`.
    async fn received(&self, url: &str) -> Result<u64, String> {
        let id = url.rsplit('/').next().unwrap_or_default();
        let answer = self
            .receiver_admin
            .request(
                "query($id: String!) { incomingPayment(id: $id) { receivedAmount { value } } }",
                json!({ "id": id }),
            )
            .await
            .map_err(|error| error.to_string())?;
        Ok(amount_of(
            &answer["data"]["incomingPayment"]["receivedAmount"],
        ))
    }
}

/// A failure's reason without what differs from payment to payment, so that the report counts
/// reasons rather than listing payments: the sender's reasons say what and who before a colon
/// ("rejected F99 by test.b: ..."), and the rest (amounts, ids) is left out.
fn reason_class(reason: &str) -> String {
    reason
        .split(": ")
        .next()
        .unwrap_or(reason)
        .trim()
        .chars()
        .take(120)
        .collect()
}

async fn mutate(admin: &AdminClient, query: &str, input: Value) -> Result<Value, String> {
    let answer = admin
        .request(query, json!({ "input": input }))
        .await
        .map_err(|error| error.to_string())?;
    if let Some(error) = answer["errors"].get(0) {
        let operation = query
            .split(['(', '{'])
            .nth(2)
            .unwrap_or("mutation")
            .trim()
            .to_owned();
        let message = error["message"].as_str().unwrap_or("refused");
        return Err(format!("{operation}: {}", reason_class(message)));
    }
    Ok(answer["data"].clone())
}

fn text(value: &Value) -> Result<String, String> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "the admin API answered without an id".to_owned())
}

fn amount_of(value: &Value) -> u64 {
    value["value"]
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or(0)
}

/// Each peering's liquidity both ways, as the report shows it (`before` filled in).
pub fn peering_liquidity(network: &Network, topology: &Topology) -> Vec<PeeringLiquidity> {
    topology
        .peerings
        .iter()
        .map(|peering| {
            let grants = |holder: &str, other: &str| -> u64 {
                let (Some(holder), Some(other)) =
                    (network.instance(holder), network.instance(other))
                else {
                    return 0;
                };
                let Some(asset) = holder.asset_id(&peering.asset) else {
                    return 0;
                };
                let state = holder.node().instance();
                state
                    .peer_by_address_and_asset(other.ilp_address().as_str(), asset)
                    .and_then(|peer| state.peer_liquidity(peer.id))
                    .unwrap_or(0)
            };
            let [a, b] = &peering.between;
            PeeringLiquidity {
                between: peering.between.clone(),
                asset: peering.asset.clone(),
                before: [grants(a, b), grants(b, a)],
                after: [0, 0],
            }
        })
        .collect()
}

/// The invariants that must hold once the traffic has ended.
async fn check_invariants(network: &Network, payments: &PaymentTotals) -> Vec<Invariant> {
    // Packets' transfers end as their replies come; give the last ones a moment.
    let settle_until = Instant::now() + SETTLE;
    while Instant::now() < settle_until
        && network
            .instances()
            .iter()
            .any(|instance| instance.node().instance().pending_transfer_count() > 0)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut audits = Vec::new();
    let mut pending = Vec::new();
    for instance in network.instances() {
        let state = instance.node().instance();
        if let Err(violation) = state.audit() {
            audits.push(format!("{}: {violation}", instance.name()));
        }
        let count = state.pending_transfer_count();
        if count > 0 {
            pending.push(format!("{}: {count} pending", instance.name()));
        }
    }
    let invariant = |name: &str, problems: Vec<String>| Invariant {
        name: name.to_owned(),
        held: problems.is_empty(),
        detail: (!problems.is_empty()).then(|| problems.join("; ")),
    };
    vec![
        invariant(
            "every ledger balances: per asset the balances sum to what was deposited, no account beyond its limit",
            audits,
        ),
        invariant("every pending transfer has ended", pending),
        invariant(
            "no payment is left SENDING",
            if payments.unfinished > 0 {
                vec![format!("{} payments did not end", payments.unfinished)]
            } else {
                Vec::new()
            },
        ),
        invariant(
            "every completed payment's receiver was credited at least what it expected",
            if payments.credited_otherwise > 0 {
                vec![format!(
                    "{} completed payments were credited less",
                    payments.credited_otherwise
                )]
            } else {
                Vec::new()
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_draws_the_same_amounts_whatever_the_order() {
        let schedule = |seed| Schedule {
            seed,
            traffic: 0,
            amount: AmountSpec::Range([100, 1_000]),
        };
        let forwards: Vec<u64> = (0..50).map(|n| schedule(7).amount(n)).collect();
        let backwards: Vec<u64> = (0..50).rev().map(|n| schedule(7).amount(n)).collect();
        assert_eq!(forwards, backwards.into_iter().rev().collect::<Vec<_>>());
        assert!(forwards.iter().all(|amount| (100..=1_000).contains(amount)));
        let other: Vec<u64> = (0..50).map(|n| schedule(8).amount(n)).collect();
        assert_ne!(forwards, other, "another seed, other amounts");
        let fixed = Schedule {
            seed: 7,
            traffic: 0,
            amount: AmountSpec::Fixed(5),
        };
        assert_eq!(fixed.amount(3), 5);
    }
}
