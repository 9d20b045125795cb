//! Throughput and memory as history grows: millions of packets through one instance.
//!
//! Path measured: the instance's packet path called in process (`Connector::handle_prepare`, as
//! the ILP-over-HTTP server calls it), forwarding over ILP-over-HTTP to a bare hyper receiver that
//! fulfills every packet. Incoming HTTP is left out so that 5M packets take minutes, not an hour;
//! every packet still reserves, forwards, and posts its transfer. At 1M and at 5M packets (one
//! run) it prints the packet rate, the process's resident memory (VmRSS), and the latency of an
//! `accountingTransfers` call through the admin API's HTTP endpoint.
//!
//! This machine's speed drifts by 15% or more over minutes, so the rate at each checkpoint is
//! measured against a baseline taken at the same moment: the same hop without the instance (the
//! same Prepare POSTed straight to the receiver by a pooled hyper client, as many at a time),
//! alternated with the packets three times, best of each. What must not move is their ratio.
//! Targets: the ratio at 5M within 10% of the ratio at 1M; RSS growth between them under 20 MB.
//!
//! Run with `cargo bench -p peerlab-simulator --bench history`. `HISTORY_PACKETS=N` sets the
//! final count (default 5,000,000; the first checkpoint is at a fifth of it) for a quick run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use peerlab::connector::Connector;
use peerlab::ilp::{Address, Fulfill, Prepare, Reply, Timestamp, condition_for};
use peerlab::instance::Peer;
use peerlab_simulator::topology::InstanceSpec;
use peerlab_simulator::{InstanceHandle, Network, PeerSettings};
use serde_json::json;

/// Packets in flight at once, as the packets bench's 16 connections.
mod memory;
mod support;

use support::{bare_server, post_packet};

const SENDERS: u64 = 16;
/// Progress is printed, and the rate measured, over windows of a tenth of the run.
const WINDOWS: u64 = 10;
const PREIMAGE: [u8; 32] = [7; 32];
/// The next number a packet's data ends with.
static NEXT_NUMBER: AtomicU64 = AtomicU64::new(0);

fn prepare() -> Prepare {
    numbered_prepare(Timestamp::now().saturating_add(Duration::from_secs(30)), 0)
}

/// A Prepare expiring at `expires_at` whose data ends with `number`: every packet its own, since
/// a connector answers a repeated Prepare from its duplicate memory without forwarding it.
fn numbered_prepare(expires_at: Timestamp, number: u64) -> Prepare {
    let mut data = vec![0u8; 64];
    data[56..].copy_from_slice(&number.to_be_bytes());
    Prepare::new(
        Address::parse("test.receiver.bob").expect("address"),
        1,
        expires_at,
        condition_for(&PREIMAGE),
        data,
    )
    .expect("prepare")
}

/// Sends `count` packets from `from` through the connector, `SENDERS` at a time; every one must
/// be fulfilled.
async fn send(connector: &Arc<Connector>, from: &Arc<Peer>, count: u64, sent: &Arc<AtomicU64>) {
    let mut senders = tokio::task::JoinSet::new();
    for sender in 0..SENDERS {
        let (connector, from, sent) = (connector.clone(), from.clone(), sent.clone());
        let share = count / SENDERS + u64::from(sender < count % SENDERS);
        senders.spawn(async move {
            // A fresh expiry now and then: the run lasts longer than any one packet may.
            let fresh_expiry = || Timestamp::now().saturating_add(Duration::from_secs(30));
            let mut expires_at = fresh_expiry();
            let mut made = Instant::now();
            // Numbers no other packet of the run has, this call's or another's.
            let first = NEXT_NUMBER.fetch_add(share, Ordering::Relaxed);
            for n in first..first + share {
                if made.elapsed() > Duration::from_secs(5) {
                    expires_at = fresh_expiry();
                    made = Instant::now();
                }
                let packet = numbered_prepare(expires_at, n);
                let reply = connector.handle_prepare(&from, packet).await;
                assert!(matches!(reply, Reply::Fulfill(_)), "{reply:?}");
                sent.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while let Some(done) = senders.join_next().await {
        done.expect("sender");
    }
}

/// The baseline hop: `count` POSTs of a Prepare straight to the receiver, `SENDERS` at a time.
async fn send_directly(http: &Client<HttpConnector, Full<Bytes>>, url: &str, count: u64) {
    let body = Bytes::from(prepare().encode());
    let mut senders = tokio::task::JoinSet::new();
    for sender in 0..SENDERS {
        let (http, url, body) = (http.clone(), url.to_owned(), body.clone());
        let share = count / SENDERS + u64::from(sender < count % SENDERS);
        senders.spawn(async move {
            for _ in 0..share {
                post_packet(&http, &url, "Bearer receiver-token", body.clone(), 13).await;
            }
        });
    }
    while let Some(done) = senders.join_next().await {
        done.expect("sender");
    }
}

/// Packets through the instance and the bare hop, alternated three times: the best rate of each.
async fn rates_now(
    connector: &Arc<Connector>,
    from: &Arc<Peer>,
    sent: &Arc<AtomicU64>,
    http: &Client<HttpConnector, Full<Bytes>>,
    receiver_url: &str,
    count: u64,
) -> (f64, f64) {
    let (mut through, mut bare) = (0f64, 0f64);
    for _ in 0..3 {
        let started = Instant::now();
        send(connector, from, count, sent).await;
        through = through.max(count as f64 / started.elapsed().as_secs_f64());
        let started = Instant::now();
        send_directly(http, receiver_url, count).await;
        bare = bare.max(count as f64 / started.elapsed().as_secs_f64());
    }
    (through, bare)
}

struct Checkpoint {
    packets: u64,
    per_second: f64,
    baseline: f64,
    rss: u64,
    query: Duration,
}

/// The median of several `accountingTransfers` calls for the client's account, through the admin
/// API over HTTP. `limit: 100` asks for the whole window of packet transfers kept per account (the
/// admin guard's cost limit refuses much larger limits with this selection).
async fn accounting_transfers_latency(a: &InstanceHandle, account: &str) -> Duration {
    let mut latencies = Vec::new();
    for _ in 0..21 {
        let started = Instant::now();
        let answer = a
            .admin()
            .request(
                "query($id: String!) { accountingTransfers(id: $id, limit: 100) { debits { id amount state createdAt } credits { id } packetDebits { postedCount postedAmount } } }",
                json!({ "id": account }),
            )
            .await
            .expect("accountingTransfers");
        latencies.push(started.elapsed());
        assert!(
            answer["data"]["accountingTransfers"]["debits"]
                .as_array()
                .is_some_and(|debits| !debits.is_empty()),
            "{answer}"
        );
    }
    latencies.sort();
    latencies[latencies.len() / 2]
}

fn main() {
    // Run as a test (`cargo test --benches`) it only checks that it works.
    let default_total = if std::env::args().any(|a| a == "--bench") {
        5_000_000
    } else {
        20_000
    };
    let total: u64 = std::env::var("HISTORY_PACKETS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default_total);
    let window = (total / WINDOWS).max(1);
    let first_checkpoint = 2 * window;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let fulfill = Bytes::from(Fulfill::new(PREIMAGE, vec![]).expect("fulfill").encode());
        let receiver = bare_server(Some(fulfill)).await;
        let network = Network::start(&[InstanceSpec::new("a", "test.a")])
            .await
            .expect("instance");
        let a = network.instance("a").expect("a");
        let asset = a.admin().create_asset("USD", 2).await.expect("asset");
        let receiver_url = format!("http://{receiver}/");
        let client_id = a
            .admin()
            .create_peer(
                &PeerSettings::new("test.client", &asset, "client-token", "http://127.0.0.1:9/")
                    .liquidity(u64::MAX / 2),
            )
            .await
            .expect("client peer");
        a.admin()
            .create_peer(&PeerSettings::new(
                "test.receiver",
                &asset,
                "receiver-token",
                &receiver_url,
            ))
            .await
            .expect("receiver peer");
        let instance = a.node().instance().clone();
        let connector = a.node().connector().clone();
        let client = instance
            .peer_by_incoming_token("client-token")
            .expect("client peer by token");

        let http: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let sample = (window / 5).max(1);
        println!("\n== {total} packets through one instance, {SENDERS} in flight ==");
        let sent = Arc::new(AtomicU64::new(0));
        let mut checkpoints = Vec::new();
        let mut done = 0;
        while done < total {
            let count = window.min(total - done);
            let started = Instant::now();
            send(&connector, &client, count, &sent).await;
            let per_second = count as f64 / started.elapsed().as_secs_f64();
            done += count;
            println!(
                "{done:>10} packets   {per_second:>8.0} /s   RSS {:>6.1} MB",
                memory::resident_bytes() as f64 / 1e6
            );
            if done == first_checkpoint || done == total {
                let (through, baseline) =
                    rates_now(&connector, &client, &sent, &http, &receiver_url, sample).await;
                let query = accounting_transfers_latency(a, &client_id).await;
                checkpoints.push(Checkpoint {
                    packets: sent.load(Ordering::Relaxed),
                    per_second: through,
                    baseline,
                    rss: memory::resident_bytes(),
                    query,
                });
            }
        }
        // The checkpoints' own packets went through the instance too.
        assert!(sent.load(Ordering::Relaxed) >= total);
        assert_eq!(instance.pending_transfer_count(), 0);
        instance.audit().expect("ledger invariants hold after the run");

        println!();
        for c in &checkpoints {
            println!(
                "after {:>9} packets: {:>8.0} packets/s, bare hop {:>8.0} /s, ratio {:.3}   RSS {:>6.1} MB   accountingTransfers {:>7.0} µs",
                c.packets,
                c.per_second,
                c.baseline,
                c.per_second / c.baseline,
                c.rss as f64 / 1e6,
                c.query.as_secs_f64() * 1e6
            );
        }
        if let [first, last] = checkpoints.as_slice() {
            let rate_change =
                (last.per_second / last.baseline) / (first.per_second / first.baseline) - 1.0;
            let rss_growth = last.rss as f64 / 1e6 - first.rss as f64 / 1e6;
            let rate_ok = rate_change.abs() <= 0.10;
            let rss_ok = rss_growth < 20.0;
            println!(
                "rate against the bare hop {:+.1}% ({}: within 10%), RSS {:+.1} MB ({}: under 20 MB)",
                rate_change * 100.0,
                if rate_ok { "meets" } else { "MISSES" },
                rss_growth,
                if rss_ok { "meets" } else { "MISSES" }
            );
        }
        network.shutdown().await;
    });
}
