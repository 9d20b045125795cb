//! Packets between real instances on loopback: liquidity per packet, the Reject codes of the
//! pipeline, multi-hop routing, IL-DCP, bad input over HTTP and thousands of packets at once.

mod common;

use std::time::Duration;

use common::ServerRuntime;
use peerlab::connector::client::OutgoingClient;
use peerlab::ilp::ildcp::ildcp_request;
use peerlab::ilp::{
    Address, AmountTooLargeData, ErrorCode, IldcpResponse, Prepare, Reply, Timestamp,
};
use peerlab_simulator::{Network, PeerSettings, TestReceiver, paying_prepare};
use serde_json::json;

const CLIENT_TOKEN: &str = "client-token";

/// A line of instances `test.<name>`, a client peered with the first (with `credit` of
/// liquidity and an optional max packet amount), and a test receiver behind the last at
/// `test.<last>.receiver`.
struct Setup {
    network: Network,
    receiver: TestReceiver,
    client: OutgoingClient,
    first_connector: String,
}

async fn setup(names: &[&str], credit: u64, max_packet_amount: Option<u64>) -> Setup {
    let network = Network::line(names, ("USD", 2), 1_000_000).await.unwrap();
    let first = network.instance(names[0]).unwrap();
    let last = network.instance(names[names.len() - 1]).unwrap();
    let receiver_address = last.ilp_address().with_suffix("receiver").unwrap();
    let receiver = TestReceiver::start(receiver_address.clone()).await.unwrap();
    last.admin()
        .create_peer(
            &PeerSettings::new(
                receiver_address.as_str(),
                last.asset_id("USD").unwrap(),
                "receiver-token",
                receiver.url(),
            )
            .name("receiver")
            .outgoing_token("to-receiver"),
        )
        .await
        .unwrap();
    first
        .admin()
        .create_peer(
            &PeerSettings::new(
                "test.client",
                first.asset_id("USD").unwrap(),
                CLIENT_TOKEN,
                "http://127.0.0.1:9/",
            )
            .name("client")
            .outgoing_token("to-client")
            .liquidity(credit)
            .max_packet_amount_option(max_packet_amount),
        )
        .await
        .unwrap();
    Setup {
        first_connector: first.connector_url(),
        network,
        receiver,
        client: OutgoingClient::default(),
    }
}

impl Setup {
    fn receiver_address(&self) -> Address {
        self.receiver.address().clone()
    }

    async fn send(&self, prepare: &Prepare) -> Reply {
        self.client
            .send(&self.first_connector, CLIENT_TOKEN, prepare.encode())
            .await
            .expect("the connector answers with a packet")
    }

    /// The liquidity `instance` grants its peer at `address`.
    async fn liquidity(&self, instance: &str, address: &str) -> u64 {
        let handle = self.network.instance(instance).unwrap();
        let response = handle
            .admin()
            .request(
                "query($a: String!, $asset: String!) { peerByAddressAndAsset(staticIlpAddress: $a, assetId: $asset) { liquidity } }",
                json!({ "a": address, "asset": handle.asset_id("USD").unwrap() }),
            )
            .await
            .unwrap();
        response["data"]["peerByAddressAndAsset"]["liquidity"]
            .as_str()
            .and_then(|l| l.parse().ok())
            .unwrap_or_else(|| panic!("liquidity in {response}"))
    }

    fn assert_settled(&self) {
        for instance in self.network.instances() {
            let inner = instance.node().instance();
            assert_eq!(
                inner.pending_transfer_count(),
                0,
                "{} holds pending transfers",
                instance.name()
            );
            inner.audit().unwrap();
        }
    }

    async fn shutdown(self) {
        self.network.shutdown().await;
        self.receiver.shutdown().await;
    }
}

fn reject(reply: Reply) -> peerlab::ilp::Reject {
    match reply {
        Reply::Reject(reject) => reject,
        Reply::Fulfill(_) => panic!("expected a Reject"),
    }
}

const SOON: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_fulfilled_packet_moves_liquidity_on_both_sides() {
    let s = setup(&["a", "b"], 10_000, None).await;
    let prepare = paying_prepare(&s.receiver_address(), 700, SOON);
    let reply = s.send(&prepare).await;
    assert!(matches!(reply, Reply::Fulfill(_)), "{reply:?}");
    assert_eq!(s.liquidity("a", "test.client").await, 9_300);
    assert_eq!(s.liquidity("a", "test.b").await, 1_000_700);
    assert_eq!(s.liquidity("b", "test.a").await, 999_300);
    assert_eq!(s.liquidity("b", "test.b.receiver").await, 700);
    assert_eq!(s.receiver.amount_received(), 700);

    let a = s.network.instance("a").unwrap();
    let client_peer = a.admin().request(
        "query($asset: String!) { peerByAddressAndAsset(staticIlpAddress: \"test.client\", assetId: $asset) { id } }",
        json!({ "asset": a.asset_id("USD").unwrap() }),
    ).await.unwrap();
    let id = client_peer["data"]["peerByAddressAndAsset"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let transfers = a
        .admin()
        .request(
            "query($id: String!) { accountingTransfers(id: $id) { debits { amount transferType state } credits { amount transferType state } packetDebits { postedCount postedAmount voidedCount expiredCount } packetCredits { postedCount } } }",
            json!({ "id": id }),
        )
        .await
        .unwrap();
    let listed = &transfers["data"]["accountingTransfers"];
    assert_eq!(
        listed["debits"],
        json!([{ "amount": "700", "transferType": "TRANSFER", "state": "POSTED" }])
    );
    assert_eq!(listed["credits"][0]["transferType"], json!("DEPOSIT"));
    assert_eq!(
        listed["packetDebits"],
        json!({ "postedCount": "1", "postedAmount": "700", "voidedCount": "0", "expiredCount": "0" })
    );
    assert_eq!(listed["packetCredits"], json!({ "postedCount": "0" }));
    s.assert_settled();
    s.shutdown().await;
}

#[tokio::test]
async fn t04_when_the_line_of_credit_is_used_up() {
    let s = setup(&["a", "b"], 100, None).await;
    assert!(matches!(
        s.send(&paying_prepare(&s.receiver_address(), 60, SOON))
            .await,
        Reply::Fulfill(_)
    ));
    let refused = reject(
        s.send(&paying_prepare(&s.receiver_address(), 60, SOON))
            .await,
    );
    assert_eq!(refused.code(), ErrorCode::T04InsufficientLiquidity);
    assert_eq!(refused.triggered_by().map(Address::as_str), Some("test.a"));
    assert_eq!(s.liquidity("a", "test.client").await, 40);
    assert_eq!(s.receiver.fulfilled(), 1);
    s.assert_settled();
    s.shutdown().await;
}

#[tokio::test]
async fn f08_above_the_incoming_peers_max_packet_amount() {
    let s = setup(&["a", "b"], 10_000, Some(500)).await;
    assert!(matches!(
        s.send(&paying_prepare(&s.receiver_address(), 500, SOON))
            .await,
        Reply::Fulfill(_)
    ));
    let refused = reject(
        s.send(&paying_prepare(&s.receiver_address(), 501, SOON))
            .await,
    );
    assert_eq!(refused.code(), ErrorCode::F08AmountTooLarge);
    assert_eq!(
        AmountTooLargeData::decode(refused.data()),
        Some(AmountTooLargeData {
            received_amount: 501,
            maximum_amount: 500
        })
    );
    assert_eq!(s.liquidity("a", "test.client").await, 9_500);
    s.shutdown().await;
}

/// Rafiki's account middleware: no peer for the destination is F02 "unknown destination
/// account" (rafiki.md §4.2 #4), `peer.*` addresses included since no route covers them.
#[tokio::test]
async fn f02_for_an_unknown_destination_and_for_peer_addresses() {
    let s = setup(&["a", "b"], 10_000, None).await;
    for destination in [
        "test.nowhere.x",
        "g.elsewhere",
        "peer.route.update",
        "peer.route.control",
        "peer.settle",
        "peer.config.x",
        // A packet back to where it came from is never routed there.
        "test.client.x",
    ] {
        let refused = reject(
            s.send(&paying_prepare(
                &Address::parse(destination).unwrap(),
                5,
                SOON,
            ))
            .await,
        );
        assert_eq!(
            (
                refused.code(),
                refused.message(),
                refused.triggered_by().map(Address::as_str),
                refused.data().as_ref()
            ),
            (
                ErrorCode::F02Unreachable,
                "unknown destination account",
                Some("test.a"),
                &[][..]
            ),
            "{destination}"
        );
    }
    assert_eq!(s.liquidity("a", "test.client").await, 10_000);
    s.assert_settled();
    s.shutdown().await;
}

#[tokio::test]
async fn packets_travel_multi_hop_through_three_instances() {
    let s = setup(&["a", "b", "c"], 10_000, None).await;
    let reply = s
        .send(&paying_prepare(&s.receiver_address(), 250, SOON))
        .await;
    assert!(matches!(reply, Reply::Fulfill(_)), "{reply:?}");
    assert_eq!(s.liquidity("a", "test.b").await, 1_000_250);
    assert_eq!(s.liquidity("b", "test.a").await, 999_750);
    assert_eq!(s.liquidity("b", "test.c").await, 1_000_250);
    assert_eq!(s.liquidity("c", "test.b").await, 999_750);
    assert_eq!(s.liquidity("c", "test.c.receiver").await, 250);
    // And a Reject from the far end comes back unchanged, triggered by the receiver.
    let unpayable = Prepare::new(
        s.receiver_address(),
        10,
        Timestamp::now().saturating_add(SOON),
        [1; 32],
        vec![],
    )
    .unwrap();
    let refused = reject(s.send(&unpayable).await);
    assert_eq!(refused.code(), ErrorCode::F06UnexpectedPayment);
    assert_eq!(refused.triggered_by(), Some(&s.receiver_address()));
    s.assert_settled();
    s.shutdown().await;
}

/// Asserts that `text` is `prefix` followed by a JavaScript ISO timestamp within
/// `[earliest, latest]`, and returns what follows it.
fn iso_between<'a>(text: &'a str, prefix: &str, earliest: Timestamp, latest: Timestamp) -> &'a str {
    let rest = text
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{text:?} does not start with {prefix:?}"));
    let iso_length = "2015-06-16T00:00:00.000Z".len();
    let (at, rest) = rest.split_at(iso_length);
    // Fixed-width ISO strings order as the instants they name.
    assert!(
        earliest.to_iso_string().as_str() <= at && at <= latest.to_iso_string().as_str(),
        "{at} is not within {earliest:?}..={latest:?}"
    );
    rest
}

/// Rafiki's reduce-expiry middleware (rafiki.md §4.2 #13): R02 with the timestamps in its
/// message, after the balance check (#9), and the liquidity comes back at once.
#[tokio::test]
async fn r02_when_too_little_time_is_left() {
    let s = setup(&["a", "b"], 10_000, None).await;
    let expired = paying_prepare(&s.receiver_address(), 5, Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let before = Timestamp::now();
    let refused = reject(s.send(&expired).await);
    let after = Timestamp::now();
    assert_eq!(refused.code(), ErrorCode::R02InsufficientTimeout);
    assert_eq!(refused.triggered_by().map(Address::as_str), Some("test.a"));
    let expected_prefix = format!(
        "source transfer has already expired. sourceExpiry={} currentTime=",
        expired.expires_at().to_iso_string()
    );
    assert_eq!(
        iso_between(refused.message(), &expected_prefix, before, after),
        ""
    );

    let too_soon = paying_prepare(&s.receiver_address(), 5, Duration::from_millis(1_500));
    let before = Timestamp::now();
    let refused = reject(s.send(&too_soon).await);
    let after = Timestamp::now();
    assert_eq!(refused.code(), ErrorCode::R02InsufficientTimeout);
    assert_eq!(refused.triggered_by().map(Address::as_str), Some("test.a"));
    let two_windows = Duration::from_secs(2);
    let rest = iso_between(
        refused.message(),
        &format!(
            "source transfer expires too soon to complete payment. actualSourceExpiry={} requiredSourceExpiry=",
            too_soon.expires_at().to_iso_string()
        ),
        before.saturating_add(two_windows),
        after.saturating_add(two_windows),
    );
    assert_eq!(iso_between(rest, " currentTime=", before, after), "");

    // More than the client's credit and expired: the balance is checked first, as in Rafiki.
    let unaffordable = paying_prepare(&s.receiver_address(), 20_000, Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(
        reject(s.send(&unaffordable).await).code(),
        ErrorCode::T04InsufficientLiquidity
    );
    assert_eq!(s.liquidity("a", "test.client").await, 10_000);
    assert_eq!(s.receiver.fulfilled(), 0);
    s.assert_settled();
    s.shutdown().await;
}

#[tokio::test]
async fn ildcp_is_answered_with_the_peers_address_and_asset() {
    let s = setup(&["a", "b"], 10_000, None).await;
    let reply = s
        .send(&ildcp_request(Timestamp::now().saturating_add(SOON)))
        .await;
    let Reply::Fulfill(fulfill) = reply else {
        panic!("IL-DCP must be fulfilled: {reply:?}")
    };
    let config = IldcpResponse::from_fulfill(&fulfill).unwrap();
    assert_eq!(
        (
            config.client_address().as_str(),
            config.asset_code(),
            config.asset_scale()
        ),
        ("test.client", "USD", 2)
    );
    let wrong_condition = Prepare::new(
        Address::parse("peer.config").unwrap(),
        0,
        Timestamp::now().saturating_add(SOON),
        [0; 32],
        vec![],
    )
    .unwrap();
    assert_eq!(
        reject(s.send(&wrong_condition).await).code(),
        ErrorCode::F01InvalidPacket
    );
    s.shutdown().await;
}

#[tokio::test]
async fn zero_amount_packets_are_forwarded_without_moving_liquidity() {
    let s = setup(&["a", "b"], 10_000, None).await;
    let reply = s
        .send(&paying_prepare(&s.receiver_address(), 0, SOON))
        .await;
    assert!(matches!(reply, Reply::Fulfill(_)));
    assert_eq!(s.liquidity("a", "test.client").await, 10_000);
    assert_eq!(s.liquidity("a", "test.b").await, 1_000_000);
    s.assert_settled();
    s.shutdown().await;
}

/// Sent from two threads to servers on two others, so that packets race for the client's
/// liquidity in parallel, not merely interleaved on one thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_packets_in_flight_never_overdraw() {
    // 2,000 packets of 10 against a credit of 10,000: exactly 1,000 can be paid.
    let servers = ServerRuntime::new(2);
    let s = servers.run(setup(&["a", "b"], 10_000, None)).await;
    let before = servers.busy_times();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..2_000 {
        let client = s.client.clone();
        let url = s.first_connector.clone();
        let prepare = paying_prepare(&s.receiver_address(), 10, SOON);
        tasks.spawn(async move { client.send(&url, CLIENT_TOKEN, prepare.encode()).await });
    }
    let (mut fulfilled, mut t04) = (0, 0);
    while let Some(result) = tasks.join_next().await {
        match result.unwrap().unwrap() {
            Reply::Fulfill(_) => fulfilled += 1,
            Reply::Reject(r) if r.code() == ErrorCode::T04InsufficientLiquidity => t04 += 1,
            Reply::Reject(r) => panic!("unexpected reject {r:?}"),
        }
    }
    servers.assert_all_threads_worked_since(&before);
    assert_eq!((fulfilled, t04), (1_000, 1_000));
    assert_eq!(s.liquidity("a", "test.client").await, 0);
    assert_eq!(s.receiver.amount_received(), 10_000);
    assert_eq!(s.liquidity("b", "test.b.receiver").await, 10_000);
    s.assert_settled();
    servers.run(s.shutdown()).await;
}

#[tokio::test]
async fn the_packet_path_is_callable_without_incoming_http() {
    // The same function the HTTP server calls, called directly as the simulator may.
    let s = setup(&["a", "b"], 10_000, Some(500)).await;
    let a = s.network.instance("a").unwrap().node();
    let client = a.instance().peer_by_incoming_token(CLIENT_TOKEN).unwrap();
    let paid = a
        .connector()
        .handle_prepare(&client, paying_prepare(&s.receiver_address(), 300, SOON))
        .await;
    assert!(matches!(paid, Reply::Fulfill(_)), "{paid:?}");
    let too_large = a
        .connector()
        .handle_prepare(&client, paying_prepare(&s.receiver_address(), 501, SOON))
        .await;
    assert_eq!(reject(too_large).code(), ErrorCode::F08AmountTooLarge);
    assert_eq!(s.liquidity("a", "test.client").await, 9_700);
    s.assert_settled();
    s.shutdown().await;
}

/// What `instance` counted so far for packets from its peer at `address`: (fulfilled, rejected).
fn link_counts(s: &Setup, instance: &str, address: &str) -> Option<(u64, u64)> {
    let handle = s.network.instance(instance).unwrap();
    let state = handle.node().instance();
    let asset = handle.asset_id("USD").unwrap();
    let peer = state.peer_by_address_and_asset(address, asset)?;
    let link = handle
        .node()
        .connector()
        .links()
        .into_iter()
        .find(|link| link.peer_id == peer.id)?;
    Some((link.fulfilled, link.rejected))
}

#[tokio::test]
async fn each_instance_counts_packets_per_incoming_peer() {
    let s = setup(&["a", "b", "c"], 10_000, None).await;
    let paid = s
        .send(&paying_prepare(&s.receiver_address(), 250, SOON))
        .await;
    assert!(matches!(paid, Reply::Fulfill(_)), "{paid:?}");
    // Two different packets (the same one twice would be a copy, answered without counting).
    for condition in [[1; 32], [2; 32]] {
        let unpayable = Prepare::new(
            s.receiver_address(),
            10,
            Timestamp::now().saturating_add(SOON),
            condition,
            vec![],
        )
        .unwrap();
        reject(s.send(&unpayable).await);
    }
    // Every hop counts the packet against the peer it came from, whatever hop rejected it.
    assert_eq!(link_counts(&s, "a", "test.client"), Some((1, 2)));
    assert_eq!(link_counts(&s, "b", "test.a"), Some((1, 2)));
    assert_eq!(link_counts(&s, "c", "test.b"), Some((1, 2)));
    // Nothing came the other way.
    assert_eq!(link_counts(&s, "a", "test.b"), Some((0, 0)));
    assert_eq!(link_counts(&s, "b", "test.c"), Some((0, 0)));

    // An edit keeps the link's counts; deleting the peer takes them with it.
    let b = s.network.instance("b").unwrap();
    let from_a = b
        .node()
        .instance()
        .peer_by_address_and_asset("test.a", b.asset_id("USD").unwrap())
        .unwrap();
    b.admin()
        .request(
            "mutation($id: String!) { updatePeer(input: { id: $id, name: \"renamed\" }) { peer { name } } }",
            json!({ "id": from_a.id.to_string() }),
        )
        .await
        .unwrap();
    assert_eq!(
        b.node()
            .instance()
            .peer(&from_a.id.to_string())
            .and_then(|peer| peer.name.clone())
            .as_deref(),
        Some("renamed")
    );
    assert_eq!(link_counts(&s, "b", "test.a"), Some((1, 2)));
    b.node()
        .instance()
        .delete_peer(&from_a.id.to_string())
        .unwrap();
    assert!(
        b.node()
            .connector()
            .links()
            .iter()
            .all(|link| link.peer_id != from_a.id)
    );
    s.assert_settled();
    s.shutdown().await;
}

#[tokio::test]
async fn a_prepare_sent_again_by_a_peer_is_answered_with_its_first_reply_and_paid_once() {
    let s = setup(&["a", "b"], 10_000, None).await;
    let prepare = paying_prepare(&s.receiver_address(), 700, SOON);
    // Two copies at once (the second waits for the first's reply), then a third after it: one
    // reply for all, and the money moves once on every hop, whatever the receiver would do.
    let (first, second) = tokio::join!(s.send(&prepare), s.send(&prepare));
    let third = s.send(&prepare).await;
    assert!(matches!(first, Reply::Fulfill(_)), "{first:?}");
    assert_eq!(second, first);
    assert_eq!(third, first);
    assert_eq!(s.receiver.amount_received(), 700);
    assert_eq!(s.liquidity("a", "test.client").await, 9_300);
    assert_eq!(s.liquidity("a", "test.b").await, 1_000_700);
    assert_eq!(s.liquidity("b", "test.a").await, 999_300);
    // Another packet for the same amount and destination is another packet.
    let other = s
        .send(&paying_prepare(&s.receiver_address(), 700, SOON))
        .await;
    assert!(matches!(other, Reply::Fulfill(_)), "{other:?}");
    assert_eq!(s.receiver.amount_received(), 1_400);
    s.assert_settled();
    s.shutdown().await;
}
