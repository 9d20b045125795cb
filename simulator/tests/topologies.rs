//! Every topology shipped under `fixtures/topologies/` parses, starts, makes every payment of its
//! `[[traffic]]` through `peerlab run`'s engine, and passes every invariant. A topology with
//! `[[faults]]` (`chaos`) may fail payments by design: it must still end every one of them and
//! pass every invariant.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use peerlab_simulator::report::RunReport;
use peerlab_simulator::run::{Progress, run};
use peerlab_simulator::{Network, Topology};

/// Any seed: these checks hold whatever amounts the traffic draws.
const SEED: u64 = 12;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/topologies")
}

/// Every `.toml` under `fixtures/topologies/`, by file stem, sorted.
fn shipped() -> Vec<(String, PathBuf)> {
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(fixtures())
        .expect("fixtures/topologies is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .map(|path| {
            let stem = path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .expect("a UTF-8 file name")
                .to_owned();
            (stem, path)
        })
        .collect();
    files.sort();
    files
}

/// Starts `topology`, runs its traffic, shuts it down and returns the report, and what the network
/// looked like while it was up, as `inspect` saw it.
async fn run_topology<T>(
    name: &str,
    topology: &Topology,
    inspect: impl FnOnce(&Network) -> T,
) -> (RunReport, T) {
    let network = Network::from_topology(topology)
        .await
        .unwrap_or_else(|error| panic!("{name} starts: {error}"));
    let report = run(
        &network,
        topology,
        name,
        SEED,
        Arc::new(Progress::default()),
    )
    .await;
    let seen = inspect(&network);
    network.shutdown().await;
    (report, seen)
}

/// Every invariant held and every payment ended.
fn assert_invariants_held(name: &str, report: &RunReport) {
    let failures: Vec<String> = report
        .invariants
        .iter()
        .filter(|invariant| !invariant.held)
        .map(|invariant| format!("{}: {:?}", invariant.name, invariant.detail))
        .collect();
    assert!(report.passed(), "{name}: invariants broke: {failures:#?}");
    assert!(
        !report.invariants.is_empty(),
        "{name}: no invariant was checked"
    );
    let payments = &report.payments;
    assert_eq!(
        (
            payments.completed + payments.partial + payments.failed,
            payments.unfinished,
            payments.not_started
        ),
        (payments.planned, 0, 0),
        "{name}: not every payment ended: {payments:#?}"
    );
}

/// Every payment completed, every invariant held, and no peering's liquidity was made or lost:
/// what one side's grant gained the other's lost (none of these topologies tops liquidity up).
fn assert_clean_run(name: &str, report: &RunReport) {
    assert_invariants_held(name, report);
    let payments = &report.payments;
    assert_eq!(
        (payments.completed, payments.partial, payments.failed),
        (payments.planned, 0, 0),
        "{name}: not every payment completed: {payments:#?}"
    );
    assert_eq!(payments.credited_otherwise, 0, "{name}: {payments:#?}");
    if payments.planned > 0 {
        assert!(
            payments.delivered > 0 && payments.sent > 0,
            "{name}: payments completed without moving money: {payments:#?}"
        );
        assert!(
            report
                .peerings
                .iter()
                .any(|peering| peering.before != peering.after),
            "{name}: payments completed but no peering's liquidity moved"
        );
    }
    for peering in &report.peerings {
        let total = |grants: [u64; 2]| u128::from(grants[0]) + u128::from(grants[1]);
        assert_eq!(
            total(peering.before),
            total(peering.after),
            "{name}: the peering {:?} in {} made or lost liquidity: {:?} -> {:?}",
            peering.between,
            peering.asset,
            peering.before,
            peering.after
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shipped_topology_runs_its_traffic_and_passes_its_invariants() {
    let files = shipped();
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    for expected in [
        "pair",
        "line-5",
        "star",
        "mesh-10",
        "multi-asset",
        "auto-peering",
        "rafiki-localenv",
        "chaos",
        "delivery-faults",
    ] {
        assert!(
            names.contains(&expected),
            "{expected}.toml is not shipped: {names:?}"
        );
    }
    for (name, path) in &files {
        let topology =
            Topology::load(path).unwrap_or_else(|error| panic!("{name} parses: {error}"));
        let (report, ()) = run_topology(name, &topology, |_| ()).await;
        if topology.faults.is_empty() {
            assert_clean_run(name, &report);
        } else {
            assert_invariants_held(name, &report);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rafiki_localenv_pays_through_global_bank_with_the_seeds_peer_settings() {
    let topology = Topology::load(&fixtures().join("rafiki-localenv.toml")).expect("parses");
    let (report, (peers, links)) = run_topology("rafiki-localenv", &topology, |network| {
        let mut peers = Vec::new();
        for (holder, other) in [
            ("cloud-nine-wallet", "global-bank"),
            ("global-bank", "cloud-nine-wallet"),
            ("happy-life-bank", "global-bank"),
            ("global-bank", "happy-life-bank"),
        ] {
            let holder = network.instance(holder).expect("instance");
            let other = network.instance(other).expect("instance");
            let usd = holder.asset_id("USD").expect("USD");
            let peer = holder
                .node()
                .instance()
                .peer_by_address_and_asset(other.ilp_address().as_str(), usd)
                .unwrap_or_else(|| panic!("{} has a peer {}", holder.name(), other.name()));
            peers.push((
                holder.name().to_owned(),
                peer.routes.clone(),
                peer.liquidity_threshold,
            ));
        }
        // The wallets are not peered with each other: cloud-nine-wallet's packets for
        // happy-life-bank go to its peer global-bank.
        let cloud_nine = network.instance("cloud-nine-wallet").expect("instance");
        let happy = network.instance("happy-life-bank").expect("instance");
        let next_hop = cloud_nine
            .node()
            .instance()
            .peer_by_address_and_asset(
                happy.ilp_address().as_str(),
                cloud_nine.asset_id("USD").expect("USD"),
            )
            .expect("a route to happy-life-bank");
        assert_eq!(next_hop.static_ilp_address.as_str(), "test.global-bank");
        (peers, network.links())
    })
    .await;
    assert_clean_run("rafiki-localenv", &report);
    let routes = |list: &[&str]| list.iter().map(|r| (*r).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        peers,
        vec![
            (
                "cloud-nine-wallet".to_owned(),
                routes(&["test.global-bank", "test.happy-life-bank"]),
                Some(1_000_000)
            ),
            (
                "global-bank".to_owned(),
                routes(&["test.cloud-nine-wallet"]),
                Some(1_000_000)
            ),
            (
                "happy-life-bank".to_owned(),
                routes(&["test.global-bank", "test.cloud-nine-wallet"]),
                Some(1_000_000)
            ),
            (
                "global-bank".to_owned(),
                routes(&["test.happy-life-bank"]),
                Some(1_000_000)
            ),
        ]
    );
    // The file's tokens: each instance presents its own on what it sends.
    let token = |from: &str, to: &str| {
        links
            .iter()
            .find(|link| link.from == from && link.to == to)
            .map(|link| link.token.clone())
    };
    assert_eq!(
        token("cloud-nine-wallet", "global-bank").as_deref(),
        Some("cloud-nine-wallet-to-global-bank")
    );
    assert_eq!(
        token("global-bank", "happy-life-bank").as_deref(),
        Some("global-bank-to-happy-life-bank")
    );
    // Every payment crossed global-bank: both its peerings moved, by the same amounts.
    let moved: Vec<i128> = report
        .peerings
        .iter()
        .map(|peering| i128::from(peering.after[1]) - i128::from(peering.before[1]))
        .collect();
    assert_eq!(moved.len(), 2);
    assert!(moved[0] != 0, "{:?}", report.peerings);
    assert_eq!(moved[0], -moved[1], "{:?}", report.peerings);
    // The seeds' account holders paid from their balances at the mock operator and were
    // credited what they received: 4 x 5.00 USD one way, 4 x 3.00 USD the other.
    let balance = |wallet: &str| {
        report
            .wallet_addresses
            .iter()
            .find(|balance| balance.wallet_address == wallet)
            .map(|balance| (balance.before, balance.after))
    };
    assert_eq!(
        balance("cloud-nine-wallet/accounts/gfranklin"),
        Some((40_000_000, 40_000_000 - 4 * 500 + 4 * 300))
    );
    assert_eq!(
        balance("happy-life-bank/accounts/planex"),
        Some((2_000_000, 2_000_000 + 4 * 500 - 4 * 300))
    );
    assert_eq!(balance("cloud-nine-wallet/accounts/broke"), Some((50, 50)));
}

/// `by = "auto-peering"`: each wallet peers with global-bank by its auto-peering URL, global-bank
/// accepts with its own tokens and Rafiki's grant, and payments cross it both ways with every
/// unit accounted for: what one account holder's balance lost, the other's gained.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_peered_wallets_pay_each_other_through_the_instance_that_accepted_them() {
    let topology = Topology::load(&fixtures().join("auto-peering.toml")).expect("parses");
    let (report, (grants, links)) = run_topology("auto-peering", &topology, |network| {
        let mut grants = Vec::new();
        for (holder, other) in [
            ("cloud-nine-wallet", "global-bank"),
            ("global-bank", "cloud-nine-wallet"),
        ] {
            let holder = network.instance(holder).expect("instance");
            let other = network.instance(other).expect("instance");
            let state = holder.node().instance();
            let peer = state
                .peer_by_address_and_asset(
                    other.ilp_address().as_str(),
                    holder.asset_id("USD").expect("USD"),
                )
                .expect("auto-peering made the peer");
            grants.push((peer.max_packet_amount, peer.routes.clone()));
        }
        (grants, network.links())
    })
    .await;
    assert_clean_run("auto-peering", &report);
    assert_eq!(
        grants,
        vec![
            // The requester's peer: its own settings, and the route to happy-life-bank that
            // `routing = "auto"` set with updatePeer.
            (
                Some(100_000),
                vec![
                    "test.global-bank".to_owned(),
                    "test.happy-life-bank".to_owned()
                ]
            ),
            // The accepting side's: the peering's maxPacketAmount applies to both sides.
            (Some(100_000), vec!["test.cloud-nine-wallet".to_owned()]),
        ]
    );
    let peering = &report.peerings[0];
    assert_eq!(peering.by, "auto-peering");
    assert_eq!(peering.before, [1_000_000, 9_007_199_254_740_991]);
    // Auto-peering exchanged tokens: every link has one, and no two the same.
    let mut tokens: Vec<&str> = links.iter().map(|link| link.token.as_str()).collect();
    assert_eq!(tokens.len(), 4);
    tokens.sort_unstable();
    tokens.dedup();
    assert_eq!(tokens.len(), 4, "{links:?}");
    let [alice, bob] = [0, 1].map(|n| &report.wallet_addresses[n]);
    assert_eq!((alice.before, bob.before), (100_000, 100_000));
    assert_eq!(
        alice.after + bob.after,
        200_000,
        "money made or lost: {alice:?} {bob:?}"
    );
    assert_ne!(alice.after, 100_000, "no money moved");
}

/// A wallet address whose balance at the mock operator cannot cover a payment has it fail
/// before a packet leaves, with the mock's reason, and keeps its balance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_beyond_the_account_holders_balance_fails_unfunded() {
    let topology = Topology::parse(
        r#"
        [[instances]]
        name = "a"
        ilp_address = "test.a"
        mock_operator = true
        [[instances]]
        name = "b"
        ilp_address = "test.b"
        mock_operator = true
        [[assets]]
        code = "USD"
        scale = 2
        [[peerings]]
        between = ["a", "b"]
        asset = "USD"
        liquidity = 1000000
        [[wallet_addresses]]
        instance = "a"
        asset = "USD"
        address = "broke"
        balance = 50
        [[wallet_addresses]]
        instance = "b"
        asset = "USD"
        address = "shop"
        balance = 0
        [[traffic]]
        from = "a/broke"
        to = "b/shop"
        amount = 100
        count = 3
        "#,
    )
    .expect("parses");
    let (report, ()) = run_topology("broke", &topology, |_| ()).await;
    assert_invariants_held("broke", &report);
    let payments = &report.payments;
    assert_eq!((payments.failed, payments.sent), (3, 0), "{payments:#?}");
    assert_eq!(
        payments
            .reasons
            .get("Account does not have enough balance."),
        Some(&3),
        "{payments:#?}"
    );
    assert_eq!(report.packets.sent.total(), 0, "no payment packet left");
    let balances: Vec<(u64, u64)> = report
        .wallet_addresses
        .iter()
        .map(|wallet| (wallet.before, wallet.after))
        .collect();
    assert_eq!(balances, vec![(50, 50), (0, 0)]);
    assert_eq!(report.peerings[0].before, report.peerings[0].after);
}

/// Traffic given by `duration` and `rate` instead of a count starts payments at that pace until
/// its time is up, and the report counts what it planned as what it started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_paced_by_rate_for_a_duration() {
    let mut topology = Topology::default_pair();
    topology.traffic.truncate(1);
    let traffic = &mut topology.traffic[0];
    traffic.count = None;
    traffic.duration = Some(1.0);
    traffic.rate = Some(20.0);
    traffic.concurrency = 8;
    let (report, ()) = run_topology("paced", &topology, |_| ()).await;
    assert_clean_run("paced", &report);
    // Payments start at 0, 0.05, ..., 0.95 s: 20 of them, none after the second is up.
    assert_eq!(report.payments.planned, 20, "{:#?}", report.payments);
    assert_eq!(report.payments.completed, 20);
}
