//! Deterministic simulation against the real thing, in one run:
//!
//! 1. Packets per second through the same topology (a generated line of 6, payments end to end
//!    both ways) in a deterministic run (simulated network, virtual time, one thread) against
//!    the baseline: the same run over loopback HTTP, as `peerlab run` makes it (all instances in
//!    one process, real sockets, a multi-threaded runtime).
//! 2. Virtual seconds simulated per wall second: on that line, and on the shipped chaos
//!    topology, whose payments are paced (so virtual time mostly waits for the next one).
//! 3. The time to build and peer 10,000 instances (a generated random network, 3 peers each on
//!    average) and the memory each takes, from the process's resident set.
//!
//! Run with `cargo bench -p peerlab-simulator --bench simulation` (about 2 minutes and 6 GB of
//! memory on a 2-core machine).

use std::sync::Arc;
use std::time::{Duration, Instant};

use peerlab_simulator::generate::{GenerateSpec, Shape, generate};
use peerlab_simulator::report::RunReport;
use peerlab_simulator::run::{self, DeterministicOptions, Progress};
use peerlab_simulator::{Network, Topology};

/// The allocator the `peerlab` binary runs with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SEED: u64 = 1;
const LINE: usize = 6;
const LINE_PAYMENTS: u64 = 400;
const LARGE: usize = 10_000;

/// Packets every instance received from a peer (each hop counted), per wall second of traffic.
fn hops_per_second(report: &RunReport, traffic_wall: Duration) -> f64 {
    report.packets.from_peers.total() as f64 / traffic_wall.as_secs_f64().max(1e-9)
}

fn line_topology() -> Topology {
    let mut spec = GenerateSpec::new(Shape::Line, LINE);
    spec.payments = LINE_PAYMENTS;
    let mut topology = generate(&spec).expect("a line");
    // Several payments at a time, as an operator's traffic is.
    for traffic in &mut topology.traffic {
        traffic.concurrency = 8;
    }
    topology
}

/// The run over loopback HTTP, as `peerlab run` makes it: its report and its traffic's wall time.
fn loopback(topology: &Topology) -> (RunReport, Duration) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let network = Network::from_topology(topology).await.expect("the network");
        let started = Instant::now();
        let report = run::run(
            &network,
            topology,
            "line",
            SEED,
            Arc::new(Progress::default()),
        )
        .await;
        let took = started.elapsed();
        network.shutdown().await;
        (report, took)
    })
}

/// A deterministic run: its report, its traffic's wall time (building left out), and the run.
fn deterministic(topology: &Topology, name: &str) -> (run::DeterministicRun, Duration) {
    let ran = run::deterministic_run(
        topology,
        name,
        SEED,
        None,
        Arc::new(Progress::default()),
        DeterministicOptions::default(),
    )
    .expect("the deterministic run");
    let traffic = ran.took.saturating_sub(ran.built_in);
    (ran, traffic)
}

fn main() {
    // The large network first, so that what it grows the process by is its own.
    let mut large = GenerateSpec::new(Shape::Random, LARGE);
    large.degree = Some(3);
    large.payments = 20;
    let large = generate(&large).expect("a random network");
    let (ran, _) = deterministic(&large, "random-10000");
    assert!(ran.report.passed(), "{:?}", ran.report.invariants);
    let memory = ran.memory_per_instance.unwrap_or(0);
    println!(
        "build and peer {LARGE} instances (random, {} peerings): {:.1} s, {} KiB of memory each ({:.1} GiB in all); \
         its {} payments: {}/{} completed",
        large.peerings.len(),
        ran.built_in.as_secs_f64(),
        memory / 1024,
        (memory * LARGE as u64) as f64 / f64::from(1u32 << 30),
        ran.report.payments.planned,
        ran.report.payments.completed,
        ran.report.payments.planned,
    );
    drop(ran);

    let line = line_topology();
    let (baseline, loopback_wall) = loopback(&line);
    assert!(baseline.passed(), "{:?}", baseline.invariants);
    let (simulated, simulated_wall) = deterministic(&line, "line");
    assert!(
        simulated.report.passed(),
        "{:?}",
        simulated.report.invariants
    );
    let real = hops_per_second(&baseline, loopback_wall);
    let virtual_ = hops_per_second(&simulated.report, simulated_wall);
    println!(
        "line of {LINE}, {LINE_PAYMENTS} payments: loopback HTTP (baseline) {} packets in {:.2} s = {real:.0} packets/s; \
         deterministic {} packets in {:.2} s = {virtual_:.0} packets/s: ratio {:.2}",
        baseline.packets.from_peers.total(),
        loopback_wall.as_secs_f64(),
        simulated.report.packets.from_peers.total(),
        simulated_wall.as_secs_f64(),
        virtual_ / real,
    );
    println!(
        "virtual time on the line: {:.2} virtual s in {:.2} wall s = {:.1} virtual s per wall s",
        simulated.report.duration_seconds,
        simulated_wall.as_secs_f64(),
        simulated.report.duration_seconds / simulated_wall.as_secs_f64().max(1e-9),
    );
    let chaos_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/topologies/chaos.toml"
    );
    let chaos = Topology::load(std::path::Path::new(chaos_path)).expect("chaos.toml");
    let (chaos_run, chaos_wall) = deterministic(&chaos, "chaos");
    assert!(
        chaos_run.report.passed(),
        "{:?}",
        chaos_run.report.invariants
    );
    println!(
        "virtual time on chaos.toml (paced payments, 8 faults): {:.2} virtual s in {:.3} wall s = {:.1} virtual s per wall s",
        chaos_run.report.duration_seconds,
        chaos_wall.as_secs_f64(),
        chaos_run.report.duration_seconds / chaos_wall.as_secs_f64().max(1e-9),
    );
}
