//! `peerlab run FILE --targets TARGETS` at the library level: a topology set up, driven and
//! checked on instances peerlab did not set up, through their public APIs only. The instances
//! here are bare embedded ones (started, nothing created on them), reached over loopback HTTP
//! exactly as instances elsewhere are; several_hosts.rs runs them in other network namespaces.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use peerlab_simulator::harness::targets::{self, Targets};
use peerlab_simulator::network::NetworkError;
use peerlab_simulator::remote::RemoteNetwork;
use peerlab_simulator::report::{RunReport, timing_free};
use peerlab_simulator::run::{self, Progress};
use peerlab_simulator::{Network, Topology};

/// A targets file naming `network`'s instances (auto-peering URLs included), read back.
fn targets_of(network: &Network) -> Targets {
    let text: String = network
        .instances()
        .iter()
        .map(|instance| {
            let auto_peering = instance
                .auto_peering_url()
                .map(|url| format!("auto_peering_url = \"{url}\"\n"))
                .unwrap_or_default();
            format!(
                "[[targets]]\nname = \"{}\"\nilp_address = \"{}\"\nadmin_graphql_url = \"{}\"\n\
                 connector_url = \"{}\"\nopen_payments_url = \"{}\"\n{auto_peering}dialect = \"v2\"\n",
                instance.name(),
                instance.ilp_address(),
                instance.graphql_url(),
                instance.connector_url(),
                instance.node().open_payments_url(),
            )
        })
        .collect();
    targets::parse(Path::new("targets.toml"), &text, |_| None).expect("a valid targets file")
}

/// The report's counts, without what depends on timing.
fn counts(report: &RunReport) -> serde_json::Value {
    timing_free(&serde_json::to_value(report).expect("a report serializes"))
}

async fn run_on_bare_instances(topology: &Topology, seed: u64) -> RunReport {
    let bare = Network::start(&topology.instances)
        .await
        .expect("instances start");
    let remote = RemoteNetwork::connect(topology, &targets_of(&bare), Duration::from_secs(5))
        .await
        .expect("the topology is set up through the admin APIs");
    let report = run::run(&remote, topology, "t", seed, Arc::new(Progress::default())).await;
    bare.shutdown().await;
    report
}

#[tokio::test]
async fn auto_peered_wallets_with_balances_run_as_they_do_embedded() {
    let topology =
        Topology::parse(include_str!("../../fixtures/topologies/auto-peering.toml")).unwrap();
    let remote = run_on_bare_instances(&topology, 3).await;
    assert!(remote.passed(), "{:?}", remote.invariants);
    assert!(remote.payments.completed > 0);
    assert!(
        !remote.wallet_addresses.is_empty(),
        "the mock operator's balances were opened and read through the admin API"
    );
    let network = Network::from_topology(&topology).await.unwrap();
    let embedded = run::run(&network, &topology, "t", 3, Arc::new(Progress::default())).await;
    network.shutdown().await;
    assert_eq!(counts(&remote), counts(&embedded));
}

#[tokio::test]
async fn faults_are_skipped_on_instances_elsewhere_and_the_report_says_why() {
    let topology = Topology::parse(&format!(
        "{}\n[[faults]]\nkind = \"latency\"\nbetween = [\"cloud-nine-wallet\", \"happy-life-bank\"]\nat = 0.0\nfor = 1.0\nlatency_ms = 5\n\
         [[faults]]\nkind = \"restart\"\ninstance = \"happy-life-bank\"\nat = 0.1\nfor = 0.2\n",
        include_str!("../../fixtures/topologies/pair.toml")
    ))
    .unwrap();
    let report = run_on_bare_instances(&topology, 1).await;
    assert!(report.passed(), "{:?}", report.invariants);
    assert_eq!(report.payments.completed, 100);
    let reasons: Vec<&str> = report
        .faults
        .iter()
        .map(|fault| fault.error.as_deref().unwrap_or("injected"))
        .collect();
    assert_eq!(
        reasons,
        [
            "skipped: the instances run elsewhere (--targets), and peerlab does not control the link between them",
            "skipped: the instance runs elsewhere (--targets), and peerlab does not control its process",
        ]
    );
}

/// An operator's faults (a wrong token, drained liquidity) are made through the admin API, on
/// instances elsewhere too: payments in their window fail, and every invariant still holds.
#[tokio::test]
async fn an_operators_faults_are_made_through_the_admin_api() {
    let pair = include_str!("../../fixtures/topologies/pair.toml");
    // The traffic paced over a second, so that payments meet each fault's window.
    let paced = pair.replace("concurrency = 4", "concurrency = 2\nrate = 50.0");
    for (kind, code) in [("drain_liquidity", "T04"), ("wrong_token", "T00")] {
        let topology = Topology::parse(&format!(
            "{paced}\n[[faults]]\nkind = \"{kind}\"\nbetween = [\"cloud-nine-wallet\", \"happy-life-bank\"]\nat = 0.2\nfor = 0.4\n"
        ))
        .unwrap();
        let report = run_on_bare_instances(&topology, 1).await;
        assert!(report.passed(), "{kind}: {:?}", report.invariants);
        assert_eq!(report.faults.len(), 1);
        assert_eq!(
            report.faults[0].error, None,
            "{kind} was made: {:?}",
            report.faults
        );
        // cloud-nine-wallet's packets in its window were refused: money packets (rejected with
        // the code), or the rate probes of its quotes, which are sent again until they pass
        // (without the fault both sides send the same number of probes).
        let [cloud, happy] = [&report.instances[0], &report.instances[1]];
        assert!(
            cloud.packets_sent.rejected.contains_key(code) || cloud.probes > happy.probes,
            "{kind} was not felt: {:?} ({:?})",
            report.instances,
            report.faults
        );
        assert_eq!(report.payments.completed, 100, "{:?}", report.payments);
    }
}

#[tokio::test]
async fn a_target_that_is_missing_misplaced_or_silent_is_named() {
    let topology = Topology::default_pair();
    let bare = Network::start(&topology.instances).await.unwrap();
    let good = targets_of(&bare);

    let mut missing = good.clone();
    missing.targets.pop();
    let error = RemoteNetwork::connect(&topology, &missing, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(
        matches!(error, NetworkError::Targets { .. })
            && error
                .to_string()
                .contains("names no target \"happy-life-bank\""),
        "{error}"
    );

    let mut misplaced = good.clone();
    misplaced.targets[0].ilp_address = peerlab::ilp::Address::parse("test.elsewhere").unwrap();
    let error = RemoteNetwork::connect(&topology, &misplaced, Duration::from_secs(1))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("is at test.elsewhere, but the topology gives it test.cloud-nine-wallet"),
        "{error}"
    );

    // Nobody listens there: the run waits, then names the instance and where it looked.
    let silent_url = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/graphql", listener.local_addr().unwrap())
    };
    let mut silent = good.clone();
    silent.targets[1].admin_graphql_url = silent_url.clone();
    let started = std::time::Instant::now();
    let error = RemoteNetwork::connect(&topology, &silent, Duration::from_millis(800))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!("reaching happy-life-bank at {silent_url}")),
        "{error}"
    );
    assert!(started.elapsed() >= Duration::from_millis(500), "it waited");

    // Something takes the connection and never answers: the run waits as long as it said.
    let mute = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mute_url = format!("http://{}/graphql", mute.local_addr().unwrap());
    let mut muted = good.clone();
    muted.targets[0].admin_graphql_url = mute_url.clone();
    let started = std::time::Instant::now();
    let error = RemoteNetwork::connect(&topology, &muted, Duration::from_millis(800))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!("reaching cloud-nine-wallet at {mute_url}"))
            && error.contains("did not answer within"),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    drop(mute);
    bare.shutdown().await;
}

/// A target that answers like today's Rafiki, without peerlab's own fields: a proxy in front of
/// an instance's admin API refusing any query that names them, as Apollo refuses an unknown
/// field.
async fn rafiki_like_proxy(admin_graphql_url: String) -> String {
    use axum::body::Bytes;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    let upstream = peerlab_simulator::AdminClient::new(&admin_graphql_url).unwrap();
    let app = axum::Router::new().route(
        "/graphql",
        axum::routing::post(move |body: Bytes| {
            let upstream = upstream.clone();
            async move {
                let text = String::from_utf8_lossy(&body).into_owned();
                if text.contains("peerlab") {
                    let refusal = serde_json::json!({ "errors": [{
                        "message": "Cannot query field \"peerlabStatus\" on type \"Query\".",
                        "extensions": { "code": "GRAPHQL_VALIDATION_FAILED" } }] });
                    return (StatusCode::BAD_REQUEST, refusal.to_string()).into_response();
                }
                match upstream.post_raw(text, &[]).await {
                    Ok(answer) => (
                        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY),
                        [("content-type", "application/json")],
                        answer.body,
                    )
                        .into_response(),
                    Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/graphql", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn a_target_without_peerlabs_fields_is_driven_and_named_where_it_cannot_be_checked() {
    let topology = Topology::default_pair();
    let bare = Network::start(&topology.instances).await.unwrap();
    let mut targets = targets_of(&bare);
    targets.targets[1].admin_graphql_url =
        rafiki_like_proxy(targets.targets[1].admin_graphql_url.clone()).await;
    let remote = RemoteNetwork::connect(&topology, &targets, Duration::from_secs(5))
        .await
        .expect("set up through the proxy like any admin API");
    let report = run::run(&remote, &topology, "t", 1, Arc::new(Progress::default())).await;
    bare.shutdown().await;
    assert_eq!(report.payments.completed, 100, "{:?}", report.payments);
    assert!(report.passed(), "{:?}", report.invariants);
    for ledger in &report.invariants[..2] {
        let not_checked = ledger.not_checked.as_deref().unwrap_or_default();
        assert!(
            not_checked.starts_with("happy-life-bank answers no peerlabStatus"),
            "{ledger:?}"
        );
    }
    assert!(
        report.invariants[2..]
            .iter()
            .all(|invariant| invariant.not_checked.is_none())
    );
    // What it could not tell is counted as nothing, not guessed.
    assert_eq!(report.instances[1].packets_sent.total(), 0);
    assert!(report.instances[0].packets_sent.fulfilled > 0);
}

#[tokio::test]
async fn an_asset_a_target_holds_already_is_used_as_it_is() {
    let topology = Topology::default_pair();
    let bare = Network::start(&topology.instances).await.unwrap();
    let cloud = bare.instance("cloud-nine-wallet").unwrap();
    let own = cloud.admin().create_asset("USD", 2).await.unwrap();
    let remote = RemoteNetwork::connect(&topology, &targets_of(&bare), Duration::from_secs(5))
        .await
        .expect("set up on the asset it holds");
    let report = run::run(&remote, &topology, "t", 1, Arc::new(Progress::default())).await;
    assert!(report.passed(), "{:?}", report.invariants);
    assert_eq!(report.payments.completed, 100);
    let assets = cloud
        .admin()
        .request(
            "{ assets { edges { node { id liquidity } } } }",
            serde_json::json!({}),
        )
        .await
        .unwrap();
    let edges = assets["data"]["assets"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1, "no second USD: {assets}");
    assert_eq!(edges[0]["node"]["id"], own.as_str());
    assert_eq!(
        edges[0]["node"]["liquidity"], "100000000",
        "the topology's liquidity deposited into it"
    );
    bare.shutdown().await;
}
