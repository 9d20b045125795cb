//! A long `peerlab run`: the default pair's payments made over and over (150,000 by default,
//! `LONG_RUN_PAYMENTS=N` for another count), 32 at a time, by `peerlab run`'s engine with
//! Rafiki's admin operations, as the binary runs them. Every tenth of the run it prints payments
//! done, packets handled across the network and the process's resident memory; at the end, the
//! memory after the whole run against the memory after its first two thirds (the baseline, in the
//! same run): flat memory is a ratio near 1 however long the run. Memory grows until every
//! bounded store is full (the latest 100,000 idempotency keys, 20,000 events, 10,000 settled
//! payments of each kind per instance: about 100,000 payments here), then stays. Before settled
//! payments were forgotten, each instance refused its 100,001st payment.
//!
//! Run with `cargo bench -p peerlab-simulator --bench long_run`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

mod memory;

use peerlab_simulator::run::{self, Progress};
use peerlab_simulator::{Network, Topology};

/// The allocator the `peerlab` binary runs with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// This process's resident memory, in MiB.
fn resident_mib() -> f64 {
    memory::resident_bytes() as f64 / (1024.0 * 1024.0)
}

fn main() {
    let payments: u64 = std::env::var("LONG_RUN_PAYMENTS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(150_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let mut topology = Topology::default_pair();
        // Payments one way are larger than the other way's: a grant big enough that the run
        // never waits for liquidity.
        topology.peerings[0].liquidity = 1_000_000_000_000;
        let half = payments / 2;
        for (n, traffic) in topology.traffic.iter_mut().enumerate() {
            traffic.count = Some(if n == 0 { payments - half } else { half });
            traffic.concurrency = 16;
        }
        let network = Network::from_topology(&topology).await.expect("network");
        let idle = resident_mib();
        println!("long run: {payments} payments across the default pair, 32 at a time");
        println!("  before the traffic: {idle:.1} MiB resident");
        let progress = Arc::new(Progress::default());
        let watcher = {
            let progress = progress.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let mut next_mark = 1;
                let mut two_thirds = None;
                loop {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    let done = progress.done.load(Ordering::Relaxed);
                    if done * 10 >= payments * next_mark {
                        let rss = resident_mib();
                        if next_mark == 7 {
                            two_thirds = Some(rss);
                        }
                        println!(
                            "  {done:>8} payments, {:>9} packets, {:>6.1} s: {rss:.1} MiB resident",
                            progress.packets.load(Ordering::Relaxed),
                            started.elapsed().as_secs_f64()
                        );
                        next_mark += 1;
                    }
                    if next_mark > 10 {
                        return two_thirds;
                    }
                }
            })
        };
        let report = run::run(&network, &topology, "long run", 1, progress.clone()).await;
        let two_thirds = tokio::time::timeout(Duration::from_secs(5), watcher)
            .await
            .ok()
            .and_then(Result::ok)
            .flatten();
        let end = resident_mib();
        let payments_done = report.payments.completed;
        println!(
            "  {payments_done} completed, {} failed ({:?}), {:.0} payments/s, {} packets sent for payments, invariants {}",
            report.payments.failed + report.payments.partial,
            report.payments.reasons,
            report.payments_per_second,
            report.packets.sent.total(),
            if report.passed() { "held" } else { "BROKEN" }
        );
        if let Some(two_thirds) = two_thirds {
            println!(
                "  memory after the whole run / after its first two thirds: {end:.1} / {two_thirds:.1} MiB = {:.2}",
                end / two_thirds
            );
        }
        network.shutdown().await;
    });
}
