//! `peerlab run`: a topology's traffic driven through a running network, then a report and the
//! invariants that must hold after it.
//!
//! Each payment is made as an operator makes it, through the paying instance's admin API over
//! HTTP with Rafiki's operations: `createReceiver` (the incoming payment, at the receiving
//! instance), `createQuote`, `createOutgoingPayment`, `depositOutgoingPaymentLiquidity` (unless
//! the paying instance runs the mock operator, which funds it), then `outgoingPayment` read until
//! it ends. Then, as the operator again (where no mock operator does it), what the incoming
//! payment received is withdrawn (`createIncomingPaymentWithdrawal`) and what the outgoing payment
//! did not spend (`createOutgoingPaymentWithdrawal`), so that the instances can forget settled
//! payments and a long run keeps flat memory. What the report keeps is bounded whatever the run's length: counts, a latency
//! histogram, the reasons payments failed (counted by reason).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

// tokio's clock: virtual in a deterministic run, the system's otherwise.
use peerlab::clock::Instant;

use hdrhistogram::Histogram;
use peerlab::connector::PacketCounts;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::client::AdminClient;
use crate::deployed::Deployed;
use crate::network::Network;
use crate::report::{
    AssetLiquidity, InstanceReport, Invariant, Latency, PacketTotals, PaymentTotals,
    PeeringLiquidity, REPORT_FORMAT, RunReport, WalletBalance,
};
use crate::topology::{AmountSpec, Topology, TrafficSpec};
use crate::{faults, faults_elsewhere};

/// How often a payment's state is read while it is under way.
const POLL: Duration = Duration::from_millis(5);
/// How long one payment may take before the run stops waiting for it (it stays SENDING, which
/// breaks an invariant).
const PAYMENT_DEADLINE: Duration = Duration::from_secs(60);
/// How long the ledgers get to settle the last packets before they are checked.
const SETTLE: Duration = Duration::from_secs(2);

/// Longest run the per-second throughput keeps one bucket a second for; later seconds share
/// the last bucket, so the report stays bounded.
const THROUGHPUT_SECONDS: usize = 3_600;

/// How far the traffic has come, for a progress display.
#[derive(Debug, Default)]
pub struct Progress {
    pub done: AtomicU64,
    pub failed: AtomicU64,
    pub planned: AtomicU64,
    /// Packets handled across the network (every hop counts), sampled a few times a second.
    pub packets: AtomicU64,
    /// Of those, rejected.
    pub rejected_packets: AtomicU64,
}

/// How often the progress's packet figures are summed over the network.
const PACKET_SAMPLE: Duration = Duration::from_millis(200);

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
pub async fn run<'a>(
    network: impl Into<Deployed<'a>>,
    topology: &Topology,
    name: &str,
    seed: u64,
    progress: Arc<Progress>,
) -> RunReport {
    run_for(network, topology, name, seed, None, progress).await
}

/// [`run`], starting no payment after `duration` (those left are counted `not_started`).
pub async fn run_for<'a>(
    network: impl Into<Deployed<'a>>,
    topology: &Topology,
    name: &str,
    seed: u64,
    duration: Option<Duration>,
    progress: Arc<Progress>,
) -> RunReport {
    let network: Deployed<'_> = network.into();
    let expected: u64 = topology
        .traffic
        .iter()
        .map(TrafficSpec::expected)
        .fold(0, u64::saturating_add);
    progress.planned.store(expected, Ordering::Relaxed);
    let peerings_before = network.peering_liquidity(topology).await;
    let wallets_before = network.wallet_balances(topology).await;
    let instances_before = network.instance_liquidity().await;
    let packets_before = network.packet_snapshots().await;
    let scheduled = faults::schedule(topology, seed);
    // Faults need the instances' processes and links in hand: embedded ones only.
    // Faults on embedded instances act on their processes and links (proxies in the links);
    // on instances elsewhere only through their admin APIs.
    let proxies = match network {
        Deployed::Embedded(embedded) => faults::prepare(embedded, topology, &scheduled).await,
        Deployed::Remote(_) => faults::Proxies::new(),
    };
    let started = Instant::now();
    let stop_starting = duration.and_then(|duration| started.checked_add(duration));
    let injections = futures_util::future::join_all(scheduled.iter().map(|fault| {
        use futures_util::FutureExt;
        match network {
            Deployed::Embedded(embedded) => {
                faults::Injection::of(embedded, topology, fault, &proxies)
                    .run(started)
                    .boxed()
            }
            Deployed::Remote(remote) => {
                faults_elsewhere::inject(remote, topology, fault, started).boxed()
            }
        }
    }));
    let tally = Arc::new(Mutex::new(Tally::new()));
    // Payments each traffic entry started: what an entry without a count planned.
    let mut started_counts = Vec::new();
    let mut workers = tokio::task::JoinSet::new();
    for (index, traffic) in topology.traffic.iter().enumerate() {
        let schedule = Schedule {
            seed,
            traffic: index as u64,
            amount: traffic.amount,
        };
        let started_count = Arc::new(AtomicU64::new(0));
        started_counts.push((traffic.count, started_count.clone()));
        let Some(plan) = Plan::of(network, topology, traffic, schedule) else {
            let mut tally = tally.lock().await;
            let count = traffic.count.unwrap_or(1);
            started_count.store(count, Ordering::Relaxed);
            for _ in 0..count {
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
        // This entry starts nothing after its own duration, nor after the run's.
        let entry_stop = traffic
            .duration
            .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
            .and_then(|duration| started.checked_add(duration));
        let stop = match (entry_stop, stop_starting) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let pace = traffic.rate.map(|rate| 1.0 / rate);
        for _ in 0..traffic.concurrency {
            let (plan, next, tally, progress, started_count) = (
                plan.clone(),
                next.clone(),
                tally.clone(),
                progress.clone(),
                started_count.clone(),
            );
            workers.spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= plan.limit {
                        break;
                    }
                    // A paced payment is due at n / rate; it is made if that is before the stop,
                    // however late it starts, so the schedule does not depend on the machine.
                    let due = pace.and_then(|seconds| {
                        Duration::try_from_secs_f64(seconds * n as f64)
                            .ok()
                            .and_then(|offset| run_started.checked_add(offset))
                    });
                    let now = Instant::now();
                    if stop.is_some_and(|stop| due.unwrap_or(now) >= stop) {
                        break;
                    }
                    if let Some(due) = due {
                        tokio::time::sleep_until(due).await;
                    }
                    started_count.fetch_add(1, Ordering::Relaxed);
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
    let sampling = sample_packets(network, &progress);
    let (mut injected, elapsed) = tokio::select! {
        ended = async { tokio::join!(injections, traffic) } => ended,
        never = sampling => match never {},
    };
    injected.sort_by(|a, b| a.from_seconds.total_cmp(&b.from_seconds));
    faults::shutdown(proxies).await;
    let invariants = check_invariants(
        network,
        topology,
        &tally.lock().await.payments,
        &peerings_before,
    )
    .await;
    let peerings_after = network.peering_liquidity(topology).await;
    let wallets_after = network.wallet_balances(topology).await;
    let instances_after = network.instance_liquidity().await;
    let packets_after = network.packet_snapshots().await;
    let mut tally = tally.lock().await;
    let payments = &mut tally.payments;
    // An entry with a count planned that many; one without planned what it started.
    let planned = started_counts
        .iter()
        .map(|(count, started)| count.unwrap_or_else(|| started.load(Ordering::Relaxed)))
        .fold(0, u64::saturating_add);
    payments.planned = planned;
    payments.not_started = planned.saturating_sub(
        payments.completed + payments.partial + payments.failed + payments.unfinished,
    );
    let seconds = elapsed.as_secs_f64();
    let per_second = |count: u64| {
        if elapsed.is_zero() {
            0.0
        } else {
            count as f64 / seconds
        }
    };
    let mut packets = PacketTotals::default();
    let mut instances = Vec::new();
    for (((instance, before), after), (liquidity_before, liquidity_after)) in network
        .instances()
        .into_iter()
        .zip(&packets_before)
        .zip(&packets_after)
        .zip(instances_before.into_iter().zip(instances_after))
    {
        let sent = since(&after.sent, &before.sent);
        let from_peers = since(&after.from_peers, &before.from_peers);
        let probes = after.probes.saturating_sub(before.probes);
        let data_only = after.data_only.saturating_sub(before.data_only);
        packets.sent.add(&sent);
        packets.from_peers.add(&from_peers);
        packets.probes = packets.probes.saturating_add(probes);
        packets.data_only = packets.data_only.saturating_add(data_only);
        let (name, ilp_address) = instance;
        instances.push(InstanceReport {
            name,
            ilp_address,
            packets_sent: sent,
            packets_from_peers: from_peers,
            probes,
            data_only,
            assets: liquidity_before
                .into_iter()
                .zip(liquidity_after)
                .map(|(before, after)| AssetLiquidity {
                    after: after.before,
                    ..before
                })
                .collect(),
        });
    }
    packets.sent_per_second = per_second(packets.sent.total());
    packets.latency_ms = Latency::of_micros(&network.sent_latency().await);
    let started_payments = planned - tally.payments.not_started;
    RunReport {
        format: REPORT_FORMAT,
        topology: name.to_owned(),
        seed,
        replay: replay_command(name, seed, duration),
        duration_seconds: seconds,
        payments: tally.payments.clone(),
        payment_latency_ms: Latency::of_micros(&tally.latency),
        ended_per_second: tally.ended_per_second.clone(),
        payments_per_second: per_second(started_payments),
        packets,
        instances,
        peerings: peerings_before
            .into_iter()
            .zip(peerings_after)
            .map(|(before, after)| PeeringLiquidity {
                after: after.before,
                ..before
            })
            .collect(),
        wallet_addresses: wallets_before
            .into_iter()
            .zip(wallets_after)
            .map(|(before, after)| WalletBalance {
                after: after.before,
                ..before
            })
            .collect(),
        faults: injected,
        invariants,
    }
}

/// Where a deterministic run's wall clock starts (2027-01-15): a fixed epoch, so that
/// timestamps repeat.
pub const DETERMINISTIC_EPOCH_SECONDS: u64 = 1_800_000_000;

/// Runs `topology` deterministically: on a thread of its own, on a simulated network (in-memory
/// pipes, no socket), with tokio's clock paused (time is virtual: it jumps to the next timer when
/// nothing else can run) and every random value and wall-clock reading drawn from `seed`. The
/// same topology and seed give the same report, byte for byte, run after run. `progress` is
/// updated as the run goes, for a display on another thread.
pub fn deterministic(
    topology: &Topology,
    name: &str,
    seed: u64,
    duration: Option<Duration>,
    progress: Arc<Progress>,
) -> Result<RunReport, crate::NetworkError> {
    deterministic_run(
        topology,
        name,
        seed,
        duration,
        progress,
        DeterministicOptions::default(),
    )
    .map(|run| run.report)
}

/// What a deterministic run may do besides its topology.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeterministicOptions {
    /// A bug planted on purpose (`peerlab run --planted-bug`), to show that a seed search finds
    /// it and its seed replays it.
    pub planted_bug: Option<peerlab::planted::PlantedBug>,
    /// Whether to read the instances' event log before the network goes
    /// ([`DeterministicRun::events`]).
    pub event_log: bool,
}

/// A deterministic run's report, and what it cost this machine (which, unlike the report,
/// depends on the machine).
#[derive(Debug)]
pub struct DeterministicRun {
    pub report: RunReport,
    /// Wall time to start the instances and peer them as the topology says.
    pub built_in: std::time::Duration,
    /// Wall time of the whole run, building included.
    pub took: std::time::Duration,
    /// What the process grew by while building the network, per instance (from the resident set
    /// size; `None` where the system does not tell it).
    pub memory_per_instance: Option<u64>,
    /// The run's event log, when asked for.
    pub events: Option<Vec<crate::event_log::EventLine>>,
}

/// [`deterministic`] with options, and its cost.
pub fn deterministic_run(
    topology: &Topology,
    name: &str,
    seed: u64,
    duration: Option<Duration>,
    progress: Arc<Progress>,
    options: DeterministicOptions,
) -> Result<DeterministicRun, crate::NetworkError> {
    let (topology, name) = (topology.clone(), name.to_owned());
    let worker = std::thread::spawn(move || {
        // Wall time, for the cost: the run itself only reads tokio's (virtual) clock.
        let started = std::time::Instant::now();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .map_err(|error| crate::NetworkError::Runtime(error.to_string()))?;
        runtime.block_on(async move {
            let _network =
                peerlab::net::install_on_this_thread(peerlab::net::SimulatedNetwork::new());
            let _entropy = peerlab::entropy::seed_this_thread(seed);
            let _clock = peerlab::clock::start_virtual_wall_clock(
                std::time::UNIX_EPOCH + Duration::from_secs(DETERMINISTIC_EPOCH_SECONDS),
            );
            let _bug = options
                .planted_bug
                .map(peerlab::planted::plant_on_this_thread);
            let resident_before = resident_bytes();
            let network = crate::Network::from_topology(&topology).await?;
            let built_in = started.elapsed();
            let memory_per_instance =
                resident_before
                    .zip(resident_bytes())
                    .map(|(before, after)| {
                        after.saturating_sub(before) / (topology.instances.len().max(1) as u64)
                    });
            let mut report = run_for(&network, &topology, &name, seed, duration, progress).await;
            let events = options
                .event_log
                .then(|| crate::event_log::collect(&network));
            network.shutdown().await;
            report.replay.push_str(" --deterministic");
            if options.planted_bug.is_some() {
                report.replay.push_str(" --planted-bug drop-void");
            }
            Ok(DeterministicRun {
                report,
                built_in,
                took: started.elapsed(),
                memory_per_instance,
                events,
            })
        })
    });
    worker
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// This process's resident set size, where the system tells it (Linux's /proc).
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kibibytes: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kibibytes.checked_mul(1024)
}

/// The command that repeats a run's schedule.
fn replay_command(topology: &str, seed: u64, duration: Option<Duration>) -> String {
    let mut command = String::from("peerlab run");
    if topology != DEFAULT_TOPOLOGY_NAME {
        command.push(' ');
        command.push_str(topology);
    }
    command.push_str(&format!(" --seed {seed}"));
    if let Some(duration) = duration {
        command.push_str(&format!(" --duration {}", duration.as_secs_f64()));
    }
    command
}

/// What the report calls the topology shipped in the binary.
pub const DEFAULT_TOPOLOGY_NAME: &str = "default pair";

/// Counts in `after` that were not yet in `before`.
fn since(after: &PacketCounts, before: &PacketCounts) -> PacketCounts {
    PacketCounts {
        fulfilled: after.fulfilled.saturating_sub(before.fulfilled),
        rejected: after
            .rejected
            .iter()
            .map(|(code, count)| {
                let earlier = before.rejected.get(code).copied().unwrap_or(0);
                (code.clone(), count.saturating_sub(earlier))
            })
            .filter(|(_, count)| *count > 0)
            .collect(),
    }
}

/// Keeps the progress's packet figures current; never returns (dropped when the run ends).
async fn sample_packets(network: Deployed<'_>, progress: &Progress) -> std::convert::Infallible {
    // Instances elsewhere are asked over HTTP: less often.
    let every = match network {
        Deployed::Embedded(_) => PACKET_SAMPLE,
        Deployed::Remote(_) => PACKET_SAMPLE * 5,
    };
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let (handled, rejected) = network.packets_handled().await;
        progress.packets.store(handled, Ordering::Relaxed);
        progress.rejected_packets.store(rejected, Ordering::Relaxed);
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
    fn new() -> Self {
        Self {
            payments: PaymentTotals::default(),
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
                if sent > 0 {
                    payments.partial += 1;
                } else {
                    payments.failed += 1;
                }
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
    /// Whether the paying instance funds its payments itself (the mock operator), and withdraws
    /// what they did not spend.
    self_funding: bool,
    /// Whether the receiving instance withdraws what its incoming payments received itself (the
    /// mock operator).
    receiver_self_withdrawing: bool,
    from_id: String,
    to_url: String,
    receiver_admin: AdminClient,
    receiver_asset: (String, u8),
    schedule: Schedule,
    /// The most payments to make: the entry's count, or unbounded until its duration ends.
    limit: u64,
}

impl Plan {
    fn of(
        network: Deployed<'_>,
        topology: &Topology,
        traffic: &TrafficSpec,
        schedule: Schedule,
    ) -> Option<Self> {
        let (from_instance, from_address) = TrafficSpec::split(&traffic.from)?;
        let (to_instance, to_address) = TrafficSpec::split(&traffic.to)?;
        let made = network.made();
        let from = made.wallet(from_instance, from_address)?;
        let to = made.wallet(to_instance, to_address)?;
        let to_asset = topology
            .wallet_addresses
            .iter()
            .find(|wallet| wallet.instance == to_instance && wallet.address == to_address)?
            .asset
            .as_str();
        let asset = topology
            .assets
            .iter()
            .find(|asset| asset.code == to_asset)?;
        let runs_mock_operator = |name: &str| {
            topology
                .instances
                .iter()
                .any(|spec| spec.name == name && spec.mock_operator)
        };
        let self_funding = runs_mock_operator(from_instance);
        let receiver_self_withdrawing = runs_mock_operator(to_instance);
        Some(Self {
            admin: network.admin(from_instance)?.clone(),
            self_funding,
            receiver_self_withdrawing,
            from_id: from.id,
            to_url: to.url,
            receiver_admin: network.admin(to_instance)?.clone(),
            receiver_asset: (asset.code.clone(), asset.scale),
            schedule,
            limit: traffic.limit(),
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
                json!({ "outgoingPaymentId": quote, "idempotencyKey": peerlab::entropy::uuid().to_string() }),
            )
            .await?;
        }
        let deadline = Instant::now() + PAYMENT_DEADLINE;
        loop {
            let answer = self
                .admin
                .request(
                    "query($id: String!) { outgoingPayment(id: $id) { state error liquidity sentAmount { value } } }",
                    json!({ "id": quote }),
                )
                .await
                .map_err(|error| error.to_string())?;
            let payment = &answer["data"]["outgoingPayment"];
            let sent = amount_of(&payment["sentAmount"]);
            let unspent = payment["liquidity"]
                .as_str()
                .and_then(|text| text.parse::<u64>().ok())
                .unwrap_or(0);
            match payment["state"].as_str() {
                Some("COMPLETED") => {
                    let delivered = self.received(&receiver).await?;
                    self.settle(&quote, unspent, &receiver, delivered).await?;
                    return Ok(Outcome::Completed {
                        sent,
                        delivered,
                        expected: amount,
                    });
                }
                Some("FAILED") => {
                    // What reached the receiver stays with its incoming payment until it expires.
                    self.settle(&quote, unspent, &receiver, 0).await?;
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

    /// Withdraws, as the operator, what the ended outgoing payment `payment` did not spend
    /// (`unspent`) and what the incoming payment at `receiver` received (`received`), on the
    /// instances that have no mock operator to do it.
    async fn settle(
        &self,
        payment: &str,
        unspent: u64,
        receiver: &str,
        received: u64,
    ) -> Result<(), String> {
        if unspent > 0 && !self.self_funding {
            mutate(
                &self.admin,
                "mutation($input: CreateOutgoingPaymentWithdrawalInput!) { createOutgoingPaymentWithdrawal(input: $input) { success } }",
                json!({ "outgoingPaymentId": payment, "idempotencyKey": peerlab::entropy::uuid().to_string(), "timeoutSeconds": 0 }),
            )
            .await?;
        }
        if received > 0 && !self.receiver_self_withdrawing {
            let id = receiver.rsplit('/').next().unwrap_or_default();
            mutate(
                &self.receiver_admin,
                "mutation($input: CreateIncomingPaymentWithdrawalInput!) { createIncomingPaymentWithdrawal(input: $input) { success } }",
                json!({ "incomingPaymentId": id, "idempotencyKey": peerlab::entropy::uuid().to_string(), "timeoutSeconds": 0 }),
            )
            .await?;
        }
        Ok(())
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
                by: peering.by.as_str().to_owned(),
                before: [grants(a, b), grants(b, a)],
                after: [0, 0],
            }
        })
        .collect()
}

/// The invariants that must hold once the traffic has ended.
async fn check_invariants(
    network: Deployed<'_>,
    topology: &Topology,
    payments: &PaymentTotals,
    peerings_before: &[PeeringLiquidity],
) -> Vec<Invariant> {
    // Packets' transfers end as their replies come; give the last ones a moment.
    let settle_until = Instant::now() + SETTLE;
    while Instant::now() < settle_until && network.pending_transfers().await > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut audits = Vec::new();
    let mut pending = Vec::new();
    // Instances whose ledger cannot be read (instances elsewhere without `peerlabStatus`).
    let mut unread = Vec::new();
    for check in network.ledgers().await {
        match check.reading {
            Ok(state) => {
                if let Some(violation) = state.violation {
                    audits.push(format!("{}: {violation}", check.instance));
                }
                if state.pending > 0 {
                    pending.push(format!("{}: {} pending", check.instance, state.pending));
                }
            }
            Err(error) => unread.push(error),
        }
    }
    let unread = (!unread.is_empty()).then(|| unread.join("; "));
    // What one side of a peering paid the other, the other received: a packet moves X from
    // what the receiver grants the sender to what the sender grants the receiver, so their sum
    // stays as it was (a drained grant is deposited back). Two sides that disagree about a
    // packet (one posted what the other voided) change it.
    let disagreements = network
        .peering_liquidity(topology)
        .await
        .iter()
        .zip(peerings_before)
        .filter_map(|(after, before)| {
            let sum = |grants: [u64; 2]| u128::from(grants[0]) + u128::from(grants[1]);
            (sum(after.before) != sum(before.before)).then(|| {
                format!(
                    "{} and {} in {}: grants {} + {} before, {} + {} after",
                    before.between[0],
                    before.between[1],
                    before.asset,
                    before.before[0],
                    before.before[1],
                    after.before[0],
                    after.before[1]
                )
            })
        })
        .collect();
    let invariant = |name: &str, problems: Vec<String>| Invariant {
        name: name.to_owned(),
        held: problems.is_empty(),
        detail: (!problems.is_empty()).then(|| problems.join("; ")),
        not_checked: None,
    };
    let on_ledgers = |invariant: Invariant| Invariant {
        not_checked: unread.clone(),
        ..invariant
    };
    vec![
        on_ledgers(invariant(
            "every ledger balances: per asset the balances sum to what was deposited, no account beyond its limit",
            audits,
        )),
        on_ledgers(invariant("every pending transfer has ended", pending)),
        invariant(
            "both sides of every peering agree: what one paid the other, the other received",
            disagreements,
        ),
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
