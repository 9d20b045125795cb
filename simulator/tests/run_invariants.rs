//! `peerlab run`'s invariants fail a run that leaves money in an unfinished state: here a
//! two-phase withdrawal nobody posts or voids is a transfer that never ends.

use std::sync::Arc;

use peerlab::instance::WithdrawalMode;
use peerlab_simulator::run::{self, Progress};
use peerlab_simulator::{Network, Topology};

#[tokio::test]
async fn a_transfer_left_pending_breaks_the_run_and_is_named() {
    let topology = Topology::default_pair();
    let network = Network::from_topology(&topology).await.unwrap();
    let cloud = network.instance("cloud-nine-wallet").unwrap();
    let state = cloud.node().instance();
    let peer = state
        .peer_by_address_and_asset("test.happy-life-bank", cloud.asset_id("USD").unwrap())
        .unwrap();
    state
        .create_peer_withdrawal(
            &uuid::Uuid::new_v4().to_string(),
            &peer.id.to_string(),
            1,
            WithdrawalMode::TwoPhase,
        )
        .unwrap();
    let report = run::run(
        &network,
        &topology,
        "pair",
        1,
        Arc::new(Progress::default()),
    )
    .await;
    assert!(!report.passed());
    assert_eq!(
        report.broken_invariants(),
        ["every pending transfer has ended"]
    );
    let detail = report.invariants[1].detail.as_deref().unwrap_or_default();
    assert!(detail.contains("cloud-nine-wallet: 1 pending"), "{detail}");
    assert_eq!(
        report.payments.completed, 100,
        "the traffic itself went through"
    );
    network.shutdown().await;
}

/// A restarted instance (the `restart` fault) refuses every connection while stopped, then
/// serves again on the same addresses with its state: its peers and liquidity are still there.
#[tokio::test]
async fn a_stopped_instance_serves_again_with_its_state() {
    let topology = Topology::default_pair();
    let network = Network::from_topology(&topology).await.unwrap();
    let happy = network.instance("happy-life-bank").unwrap();
    let peers_before = happy
        .admin()
        .request(
            "{ peers { edges { node { id liquidity } } } }",
            serde_json::json!({}),
        )
        .await
        .unwrap();
    happy.node().stop_serving().await;
    assert!(
        happy
            .admin()
            .request("{ assets { edges { cursor } } }", serde_json::json!({}))
            .await
            .is_err(),
        "nothing answers while stopped"
    );
    happy.node().serve_again().await.unwrap();
    let peers_after = happy
        .admin()
        .request(
            "{ peers { edges { node { id liquidity } } } }",
            serde_json::json!({}),
        )
        .await
        .unwrap();
    assert_eq!(peers_after, peers_before);
    let report = run::run(
        &network,
        &topology,
        "pair",
        3,
        Arc::new(Progress::default()),
    )
    .await;
    assert!(report.passed(), "{report:?}");
    assert_eq!(report.payments.completed, 100);
    network.shutdown().await;
}
