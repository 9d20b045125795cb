//! Instances on a simulated network (issue 15's groundwork): the same nodes, servers and clients,
//! joined by in-memory pipes instead of sockets, on one thread. A line of three is built through
//! the admin API and a packet crosses it, all without a socket.

use std::time::Duration;

use peerlab::connector::client::OutgoingClient;
use peerlab::ilp::{Address, ErrorCode, Reply};
use peerlab::net::{SimulatedNetwork, install_on_this_thread};
use peerlab_simulator::{Network, PeerSettings, paying_prepare};

#[test]
fn a_line_of_instances_runs_on_a_simulated_network() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let _network = install_on_this_thread(SimulatedNetwork::new());
        let line = Network::line(&["a", "b", "c"], ("USD", 2), 1_000_000)
            .await
            .expect("the line starts on the simulated network");
        let a = line.instance("a").expect("a");
        // Ports come from the simulated network's counter, in order, not from the kernel.
        assert!(
            a.connector_url().starts_with("http://127.0.0.1:10"),
            "{}",
            a.connector_url()
        );
        a.admin()
            .create_peer(
                &PeerSettings::new(
                    "test.client",
                    a.asset_id("USD").expect("USD"),
                    "client-token",
                    "http://127.0.0.1:9/",
                )
                .liquidity(1_000),
            )
            .await
            .expect("a client peer");
        let destination = Address::parse("test.c.nobody").expect("an address");
        let prepare = paying_prepare(&destination, 10, Duration::from_secs(5));
        let reply = OutgoingClient::default()
            .send(&a.connector_url(), "client-token", prepare.encode())
            .await
            .expect("a answers");
        let Reply::Reject(reject) = reply else {
            panic!("fulfilled: {reply:?}")
        };
        // Refused by c, the end of the line: the packet crossed a and b to get there.
        assert_eq!(reject.code(), ErrorCode::F02Unreachable, "{reject:?}");
        assert_eq!(reject.triggered_by().map(Address::as_str), Some("test.c"));
        line.shutdown().await;
    });
}

/// The default pair's deterministic run: its JSON report.
fn deterministic_report(seed: u64) -> String {
    report_of(
        &peerlab_simulator::Topology::default_pair(),
        "default pair",
        seed,
    )
}

/// A deterministic run's JSON report.
fn report_of(topology: &peerlab_simulator::Topology, name: &str, seed: u64) -> String {
    let report = peerlab_simulator::run::deterministic(
        topology,
        name,
        seed,
        None,
        std::sync::Arc::default(),
    )
    .expect("the run starts");
    serde_json::to_string_pretty(&report).expect("a report")
}

/// Panics showing where two reports part, if they do.
fn assert_identical(first: &str, again: &str) {
    if first != again {
        let line = first
            .lines()
            .zip(again.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "the reports differ from line {line}:\n{}\n---\n{}",
            first
                .lines()
                .skip(line)
                .take(8)
                .collect::<Vec<_>>()
                .join("\n"),
            again
                .lines()
                .skip(line)
                .take(8)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn a_seed_replays_the_same_report() {
    let first = deterministic_report(5);
    assert_identical(&first, &deterministic_report(5));
    let report: serde_json::Value = serde_json::from_str(&first).expect("JSON");
    assert_eq!(report["replay"], "peerlab run --seed 5 --deterministic");
    assert_ne!(first, deterministic_report(6), "another seed, another run");
    println!(
        "{}",
        serde_json::to_string_pretty(&report["payments"]).unwrap_or_default()
    );
    assert!(
        report["payments"]["completed"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{first}"
    );
}

/// The chaos topology (latency, a partition, HTTP 500s, garbage, a wrong token, drained
/// liquidity and a crash, all while payments flow both ways) replays byte for byte with its
/// seed; another seed draws other amounts.
#[test]
fn a_chaos_run_replays_byte_for_byte() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/topologies/chaos.toml"
    );
    let topology = peerlab_simulator::Topology::load(std::path::Path::new(path)).expect("chaos");
    let first = report_of(&topology, "chaos", 11);
    assert_identical(&first, &report_of(&topology, "chaos", 11));
    let report: serde_json::Value = serde_json::from_str(&first).expect("JSON");
    assert_eq!(
        report["faults"].as_array().map(Vec::len),
        Some(topology.faults.len())
    );
    assert!(
        report["invariants"]
            .as_array()
            .is_some_and(|all| all.iter().all(|invariant| invariant["held"] == true)),
        "{first}"
    );
    assert_ne!(
        first,
        report_of(&topology, "chaos", 12),
        "another seed, another run"
    );
}

/// Every shipped topology runs deterministically with its invariants holding, faults and all
/// (each once, in one process: a run's network goes when it ends); those without faults
/// complete every payment.
#[test]
fn shipped_topologies_run_deterministically() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/topologies");
    let mut ran = 0;
    for entry in std::fs::read_dir(dir).expect("the shipped topologies") {
        let path = entry.expect("an entry").path();
        let topology = peerlab_simulator::Topology::load(&path).expect("a valid topology");
        let name = path.display().to_string();
        let report = peerlab_simulator::run::deterministic(
            &topology,
            &name,
            3,
            None,
            std::sync::Arc::default(),
        )
        .unwrap_or_else(|error| panic!("{name}: {error}"));
        assert!(report.passed(), "{name}: {report:?}");
        if topology.faults.is_empty() && topology.random_faults.is_empty() {
            assert_eq!(report.payments.failed, 0, "{name}: {:?}", report.payments);
        } else {
            assert!(!report.faults.is_empty(), "{name}: no fault was injected");
            assert!(
                report.faults.iter().all(|fault| fault.error.is_none()),
                "{name}: {:?}",
                report.faults
            );
        }
        ran += 1;
    }
    assert!(ran >= 9, "{ran} topologies ran");
}

/// `peerlab` with logs quiet, as a user runs it.
fn peerlab(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_peerlab"))
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .expect("peerlab runs")
}

/// A planted bug (a rejected packet's void dropped now and then) is found by `--until-failure`,
/// which names the failing seed; that seed, run again, fails the same way with the same report,
/// byte for byte, and without the bug it passes.
#[test]
fn until_failure_finds_a_planted_bug_and_its_seed_replays_it() {
    let dir = tempfile::tempdir().expect("a directory");
    let chaos = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/topologies/chaos.toml"
    );
    let found = dir.path().join("found.json");
    let search = peerlab(&[
        "run",
        chaos,
        "--until-failure",
        "10",
        "--seed",
        "1",
        "--planted-bug",
        "drop-void",
        "--json",
        found.to_str().expect("a path"),
    ]);
    let said = String::from_utf8_lossy(&search.stdout);
    assert_eq!(search.status.code(), Some(1), "{said}");
    // Seed 1 passes even with the bug (no void of its run is dropped): the search goes on.
    assert!(said.contains("seed 1: invariants hold"), "{said}");
    let seed = said
        .lines()
        .find_map(|line| line.strip_prefix("failing seed: "))
        .expect("the failing seed is named")
        .trim()
        .to_owned();
    assert!(
        said.contains("every pending transfer has ended"),
        "the dropped void leaves a transfer pending: {said}"
    );
    let replayed = dir.path().join("replayed.json");
    let events = dir.path().join("events.jsonl");
    let again = dir.path().join("again.jsonl");
    // The failing seed, deterministically, with the bug, writing `outputs` (flag, path).
    let replay = |outputs: &[(&str, &std::path::Path)]| {
        let mut args = vec![
            "run",
            chaos,
            "--seed",
            &seed,
            "--deterministic",
            "--planted-bug",
            "drop-void",
        ];
        for (flag, path) in outputs {
            args.extend([*flag, path.to_str().expect("a path")]);
        }
        peerlab(&args)
    };
    let first_replay = replay(&[("--json", &replayed), ("--events", &events)]);
    assert_eq!(first_replay.status.code(), Some(1), "the seed fails again");
    // The event log replays too, byte for byte.
    assert_eq!(replay(&[("--events", &again)]).status.code(), Some(1));
    let log = std::fs::read_to_string(&events).expect("the event log");
    assert!(
        log.lines().count() > 50 && log.contains("\"type\":\"outgoing_payment.completed\""),
        "{log}"
    );
    assert!(
        log.as_bytes() == std::fs::read(&again).expect("the second log"),
        "the event log repeats byte for byte"
    );
    let found = std::fs::read(&found).expect("the search's report");
    assert!(
        found == std::fs::read(&replayed).expect("the replay's report"),
        "the replay's report is the search's, byte for byte"
    );
    let without = peerlab(&["run", chaos, "--seed", &seed, "--deterministic"]);
    assert_eq!(
        without.status.code(),
        Some(0),
        "without the bug the seed passes: {}",
        String::from_utf8_lossy(&without.stdout)
    );
    // A search that finds nothing says so and succeeds.
    let clean = peerlab(&["run", chaos, "--until-failure", "2", "--seed", "1"]);
    assert_eq!(clean.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&clean.stdout).contains("2 seeds from 1: every invariant held")
    );
}
