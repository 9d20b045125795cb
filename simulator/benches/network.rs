//! How far one process goes: the time to bring up a 100-instance line (each instance with an
//! asset, peered with its neighbours both ways with liquidity and routes to every other, all
//! through the admin API), against the time to start the same 100 instances bare (the baseline,
//! in the same run); then the largest network of idle instances started here and the memory each
//! takes; then payments per second across the shipped `line-5` and `mesh-10` topologies (their
//! traffic made 100 times longer, at least 8 at a time per entry), made by `peerlab run`'s engine
//! with Rafiki's admin operations.
//!
//! Run with `cargo bench -p peerlab-simulator --bench network`.

use std::sync::Arc;
use std::time::{Duration, Instant};

mod memory;

use memory::resident_bytes;
use peerlab_simulator::run::{self, Progress};
use peerlab_simulator::topology::InstanceSpec;
use peerlab_simulator::{Network, Topology};

/// The allocator the `peerlab` binary runs with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn names(count: usize) -> Vec<String> {
    (0..count).map(|n| format!("n{n}")).collect()
}

async fn line(count: usize) -> Duration {
    let names = names(count);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let started = Instant::now();
    let network = Network::line(&names, ("USD", 2), 1_000_000)
        .await
        .expect("line starts");
    let elapsed = started.elapsed();
    network.shutdown().await;
    elapsed
}

async fn bare(count: usize) -> Duration {
    let specs: Vec<InstanceSpec> = names(count)
        .iter()
        .map(|name| InstanceSpec::new(name, format!("test.{name}")))
        .collect();
    let started = Instant::now();
    let network = Network::start(&specs).await.expect("instances start");
    let elapsed = started.elapsed();
    network.shutdown().await;
    elapsed
}

/// Starts `count` idle instances (each with an asset) and measures what they hold.
async fn idle(count: usize) -> Option<(Duration, u64)> {
    let before = resident_bytes();
    let specs: Vec<InstanceSpec> = names(count)
        .iter()
        .map(|name| InstanceSpec::new(name, format!("test.{name}")))
        .collect();
    let started = Instant::now();
    let network = match Network::start(&specs).await {
        Ok(network) => network,
        Err(error) => {
            println!("{count} instances could not start: {error}");
            return None;
        }
    };
    for instance in network.instances() {
        instance
            .admin()
            .create_asset("USD", 2)
            .await
            .expect("asset");
    }
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let per_instance = resident_bytes().saturating_sub(before) / count as u64;
    network.shutdown().await;
    Some((elapsed, per_instance))
}

async fn payments(name: &str) -> Option<(f64, u64, bool)> {
    let path = format!(
        "{}/../fixtures/topologies/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut topology = Topology::load(std::path::Path::new(&path)).ok()?;
    // The shipped traffic is a few payments, for the tests: make it a load.
    for traffic in &mut topology.traffic {
        traffic.count = traffic.count.map(|count| count * 100);
        traffic.concurrency = traffic.concurrency.max(8);
    }
    let network = Network::from_topology(&topology).await.expect("network");
    let report = run::run(&network, &topology, name, 1, Arc::new(Progress::default())).await;
    network.shutdown().await;
    Some((
        report.payments_per_second,
        report.payments.completed,
        report.passed(),
    ))
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let size = if quick { 10 } else { 100 };
        // Warm up, then the best of three each.
        line(size).await;
        bare(size).await;
        let mut best_line = Duration::MAX;
        let mut best_bare = Duration::MAX;
        for _ in 0..3 {
            best_line = best_line.min(line(size).await);
            best_bare = best_bare.min(bare(size).await);
        }
        println!("\n== one process, 2 cores ==");
        println!(
            "{size}-instance line (asset, peers both ways with liquidity, routes), through the admin API: {:.0} ms",
            best_line.as_secs_f64() * 1e3
        );
        println!(
            "baseline: the same {size} instances started bare: {:.0} ms (ratio {:.1})",
            best_bare.as_secs_f64() * 1e3,
            best_line.as_secs_f64() / best_bare.as_secs_f64()
        );
        let largest = if quick { 20 } else { 1_000 };
        if let Some((elapsed, per_instance)) = idle(largest).await {
            println!(
                "{largest} idle instances (each with an asset) up in {:.0} ms, {:.0} KiB each",
                elapsed.as_secs_f64() * 1e3,
                per_instance as f64 / 1024.0
            );
        }
        for name in ["line-5", "mesh-10"] {
            match payments(name).await {
                Some((rate, completed, passed)) => println!(
                    "{name}: {completed} payments at {rate:.0}/s through the admin API, invariants {}",
                    if passed { "held" } else { "BROKEN" }
                ),
                None => println!("{name}: no such topology under fixtures/topologies"),
            }
        }
    });
}
