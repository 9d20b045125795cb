//! Speed of the pure core, with its ratio to a baseline measured in the same run.
//!
//! Run with `cargo bench --bench core`. Criterion measures and reports each benchmark; the
//! summary at the end turns the same measurements into rates and the ratio the design targets:
//! a two-phase transfer (create pending + post) costs at most 5x a `HashMap` insert-and-remove.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use peerlab::ilp::{Address, Prepare, Timestamp};
use peerlab::ledger::{
    AccountId, AccountKind, Ledger, LedgerId, NewTransfer, Phase, TransferId, TransferKind,
};

/// Transfers per measured batch: large enough that map growth and cache misses are included.
const BATCH: usize = 10_000;

/// Every measurement criterion takes, per benchmark: (operations, time).
static MEASURED: Mutex<Vec<(&'static str, u64, Duration)>> = Mutex::new(Vec::new());

fn record(name: &'static str, operations: u64, elapsed: Duration) {
    if let Ok(mut measured) = MEASURED.lock() {
        measured.push((name, operations, elapsed));
    }
}

fn nanos_per_operation(name: &str) -> Option<f64> {
    let measured = MEASURED.lock().ok()?;
    let (ops, time) = measured
        .iter()
        .filter(|(n, _, _)| *n == name)
        .fold((0u64, Duration::ZERO), |(o, t), (_, ops, time)| {
            (o + ops, t + *time)
        });
    (ops > 0).then(|| time.as_nanos() as f64 / ops as f64)
}

fn sample_prepare() -> Vec<u8> {
    Prepare::new(
        Address::parse("test.happy-life-bank.5b1a1e1e-8b0e-4c53-9c34-0a0b3c4d5e6f").expect("valid"),
        1_000,
        Timestamp::now(),
        [9; 32],
        vec![0xab; 200],
    )
    .expect("valid prepare")
    .encode()
}

fn codec(c: &mut Criterion) {
    let bytes = sample_prepare();
    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(1));
    group.bench_function("prepare_decode_encode", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let prepare = Prepare::decode(black_box(&bytes)).expect("decodes");
                black_box(prepare.encode());
            }
            let elapsed = start.elapsed();
            record("prepare_decode_encode", iters, elapsed);
            elapsed
        })
    });
    group.finish();
}

/// A ledger with two funded USD peers.
fn funded_ledger() -> (Ledger, AccountId, AccountId) {
    let mut ledger = Ledger::new();
    let usd = LedgerId(1);
    let (alice, bob) = (AccountId::random(), AccountId::random());
    ledger
        .create_account(AccountId::random(), usd, AccountKind::Settlement)
        .expect("settlement");
    ledger
        .create_account(alice, usd, AccountKind::PeerLiquidity)
        .expect("alice");
    ledger
        .create_account(bob, usd, AccountKind::PeerLiquidity)
        .expect("bob");
    ledger
        .deposit(TransferId::random(), alice, u64::MAX / 2)
        .expect("funded");
    (ledger, alice, bob)
}

fn ledger(c: &mut Criterion) {
    let ids: Vec<TransferId> = (0..BATCH).map(|_| TransferId::random()).collect();
    let mut group = c.benchmark_group("ledger");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(30);

    group.bench_function("two_phase_transfers", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iters {
                let (mut ledger, alice, bob) = funded_ledger();
                let start = Instant::now();
                for id in &ids {
                    ledger
                        .create_transfer(NewTransfer {
                            id: *id,
                            debit_account: alice,
                            credit_account: bob,
                            amount: 1,
                            kind: TransferKind::Transfer,
                            phase: Phase::Pending {
                                timeout_ms: Some(5_000),
                            },
                        })
                        .expect("pending");
                    ledger.post(*id).expect("posted");
                }
                elapsed += start.elapsed();
                black_box(&ledger);
            }
            record("two_phase_transfers", iters * BATCH as u64, elapsed);
            elapsed
        })
    });

    group.bench_function("hashmap_insert_remove_baseline", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iters {
                let mut map: HashMap<TransferId, u64> = HashMap::new();
                let start = Instant::now();
                for id in &ids {
                    map.insert(*id, 1);
                }
                for id in &ids {
                    black_box(map.remove(id));
                }
                elapsed += start.elapsed();
            }
            record(
                "hashmap_insert_remove_baseline",
                iters * BATCH as u64,
                elapsed,
            );
            elapsed
        })
    });
    group.finish();
}

fn summary() {
    println!("\n== peerlab core: rates from the measurements above ==");
    if let Some(ns) = nanos_per_operation("prepare_decode_encode") {
        println!(
            "Prepare decode+encode:                        {:>12.0} /s  ({ns:.0} ns each)",
            1e9 / ns
        );
    }
    let two_phase = nanos_per_operation("two_phase_transfers");
    let baseline = nanos_per_operation("hashmap_insert_remove_baseline");
    if let (Some(two_phase), Some(baseline)) = (two_phase, baseline) {
        println!(
            "two-phase transfers (create pending + post):  {:>12.0} /s  ({two_phase:.0} ns each)",
            1e9 / two_phase
        );
        println!(
            "HashMap insert+remove (baseline):             {:>12.0} /s  ({baseline:.0} ns each)",
            1e9 / baseline
        );
        let ratio = two_phase / baseline;
        let verdict = if ratio <= 5.0 { "meets" } else { "MISSES" };
        println!("ratio two-phase / HashMap: {ratio:.2} ({verdict} the target of at most 5)");
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    codec(&mut criterion);
    ledger(&mut criterion);
    criterion.final_summary();
    summary();
}
