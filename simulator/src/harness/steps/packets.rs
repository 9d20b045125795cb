//! Packets through simulator lines: a client sends, a test receiver fulfills.

use std::time::Duration;

use crate::{PeerSettings, TestReceiver, paying_prepare};
use cucumber::{given, then, when};
use peerlab::connector::client::OutgoingClient;
use peerlab::ilp::ildcp::ildcp_request;
use peerlab::ilp::{Address, AmountTooLargeData, IldcpResponse, Reply, Timestamp};
use serde_json::json;

use crate::harness::world::PeeringWorld;

const CLIENT_TOKEN: &str = "client-token";

#[given(
    regex = r#"^instances ((?:"\w+"(?:, | and )?)+) peered in a line with (\d+) of liquidity each way$"#
)]
async fn line(w: &mut PeeringWorld, names: String, liquidity: u64) {
    let names: Vec<String> = names
        .split('"')
        .filter(|part| part.chars().all(|c| c.is_alphanumeric()) && !part.is_empty())
        .map(str::to_owned)
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    w.start_line(&names, liquidity).await;
}

async fn add_client(w: &mut PeeringWorld, instance: &str, credit: u64, max: Option<u64>) {
    let asset_id = w.asset_id(instance, "USD");
    let handle = w.instance(instance);
    handle
        .admin()
        .create_peer(
            &PeerSettings::new(
                "test.client",
                &asset_id,
                CLIENT_TOKEN,
                "http://127.0.0.1:9/",
            )
            .name("client")
            .outgoing_token("to-client")
            .liquidity(credit)
            .max_packet_amount_option(max),
        )
        .await
        .expect("client peer");
    w.client_of = Some(instance.to_owned());
}

#[given(expr = "a client of {string} with a line of credit of {int}")]
async fn client(w: &mut PeeringWorld, instance: String, credit: u64) {
    add_client(w, &instance, credit, None).await;
}

#[given(
    expr = "a client of {string} with a line of credit of {int} and a max packet amount of {int}"
)]
async fn client_with_max(w: &mut PeeringWorld, instance: String, credit: u64, max: u64) {
    add_client(w, &instance, credit, Some(max)).await;
}

async fn add_receiver(w: &mut PeeringWorld, instance: &str, delay: Duration) {
    let asset_id = w.asset_id(instance, "USD");
    let handle = w.instance(instance);
    let address = handle
        .ilp_address()
        .with_suffix("receiver")
        .expect("address");
    let receiver = TestReceiver::start_slow(address.clone(), delay)
        .await
        .expect("receiver");
    handle
        .admin()
        .create_peer(
            &PeerSettings::new(
                address.as_str(),
                &asset_id,
                "receiver-token",
                receiver.url(),
            )
            .name("receiver")
            .outgoing_token("to-receiver"),
        )
        .await
        .expect("receiver peer");
    if let Some(old) = w.receiver.replace(receiver) {
        w.old_receivers.push(old);
    }
}

#[given(expr = "a receiver behind {string}")]
async fn receiver(w: &mut PeeringWorld, instance: String) {
    add_receiver(w, &instance, Duration::ZERO).await;
}

#[given(expr = "a receiver behind {string} that takes {int} seconds to answer")]
async fn slow_receiver(w: &mut PeeringWorld, instance: String, seconds: u64) {
    add_receiver(w, &instance, Duration::from_secs(seconds)).await;
}

#[given(expr = "{string} has a peer {string} whose connector is not running")]
async fn dead_peer(w: &mut PeeringWorld, instance: String, address: String) {
    let asset_id = w.asset_id(&instance, "USD");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let handle = w.instance(&instance);
    handle
        .admin()
        .create_peer(
            &PeerSettings::new(
                &address,
                &asset_id,
                "gone-token",
                format!("http://{closed}/"),
            )
            .name("gone")
            .outgoing_token("to-gone"),
        )
        .await
        .expect("peer");
}

async fn send(w: &mut PeeringWorld, destination: &Address, amount: u64, expires_in: Duration) {
    let instance = w.client_of.clone().expect("a client");
    let url = w.instance(&instance).connector_url();
    let prepare = paying_prepare(destination, amount, expires_in);
    let reply = OutgoingClient::default()
        .send(&url, CLIENT_TOKEN, prepare.encode())
        .await
        .expect("the connector answers with a packet");
    w.last_reply = Some(reply);
}

fn receiver_address(w: &PeeringWorld) -> Address {
    w.receiver.as_ref().expect("a receiver").address().clone()
}

#[when(expr = "the client sends a packet of {int} to the receiver")]
async fn send_to_receiver(w: &mut PeeringWorld, amount: u64) {
    let destination = receiver_address(w);
    send(w, &destination, amount, Duration::from_secs(10)).await;
}

#[when(expr = "the client sends a packet of {int} to the receiver that expires in {float} seconds")]
async fn send_expiring(w: &mut PeeringWorld, amount: u64, seconds: f64) {
    let destination = receiver_address(w);
    send(w, &destination, amount, Duration::from_secs_f64(seconds)).await;
}

#[when(expr = "the client sends a packet of {int} to {string}")]
async fn send_to(w: &mut PeeringWorld, amount: u64, destination: String) {
    let destination = Address::parse(&destination).expect("an ILP address");
    send(w, &destination, amount, Duration::from_secs(10)).await;
}

#[when(expr = "the client asks {string} for its configuration with IL-DCP")]
async fn ildcp(w: &mut PeeringWorld, instance: String) {
    assert_eq!(
        w.client_of.as_deref(),
        Some(instance.as_str()),
        "the client is not a peer of {instance}"
    );
    let url = w.instance(&instance).connector_url();
    let request = ildcp_request(Timestamp::now().saturating_add(Duration::from_secs(10)));
    let reply = OutgoingClient::default()
        .send(&url, CLIENT_TOKEN, request.encode())
        .await
        .expect("an answer");
    w.last_reply = Some(reply);
}

#[then("the packet is fulfilled")]
fn fulfilled(w: &mut PeeringWorld) {
    assert!(
        matches!(w.last_reply, Some(Reply::Fulfill(_))),
        "{:?}",
        w.last_reply
    );
}

#[then(expr = "the packet is rejected with {word} by {string}")]
fn rejected(w: &mut PeeringWorld, code: String, by: String) {
    let Some(Reply::Reject(reject)) = &w.last_reply else {
        panic!("expected a Reject, got {:?}", w.last_reply)
    };
    assert_eq!(reject.code().to_string(), code, "{reject:?}");
    assert_eq!(
        reject.triggered_by().map(Address::as_str),
        Some(by.as_str()),
        "{reject:?}"
    );
}

#[then(expr = "the reject message is {string}")]
fn reject_message(w: &mut PeeringWorld, message: String) {
    let Some(Reply::Reject(reject)) = &w.last_reply else {
        panic!("expected a Reject, got {:?}", w.last_reply)
    };
    assert_eq!(reject.message(), message, "{reject:?}");
}

/// For messages that go on with timestamps (Rafiki's R02).
#[then(expr = "the reject message starts with {string}")]
fn reject_message_start(w: &mut PeeringWorld, start: String) {
    let Some(Reply::Reject(reject)) = &w.last_reply else {
        panic!("expected a Reject, got {:?}", w.last_reply)
    };
    assert!(reject.message().starts_with(&start), "{reject:?}");
}

#[then(expr = "the reject says {int} was received and at most {int} is allowed")]
fn f08_data(w: &mut PeeringWorld, received: u64, maximum: u64) {
    let Some(Reply::Reject(reject)) = &w.last_reply else {
        panic!("expected a Reject")
    };
    assert_eq!(
        AmountTooLargeData::decode(reject.data()),
        Some(AmountTooLargeData {
            received_amount: received,
            maximum_amount: maximum
        })
    );
}

#[then(expr = "it learns the address {string} and the asset {word} with scale {int}")]
fn learns(w: &mut PeeringWorld, address: String, code: String, scale: u8) {
    let Some(Reply::Fulfill(fulfill)) = &w.last_reply else {
        panic!("expected a Fulfill")
    };
    let config = IldcpResponse::from_fulfill(fulfill).expect("IL-DCP data");
    assert_eq!(
        (
            config.client_address().as_str(),
            config.asset_code(),
            config.asset_scale()
        ),
        (address.as_str(), code.as_str(), scale)
    );
}

async fn grants(w: &mut PeeringWorld, instance: &str, address: &str) -> u64 {
    let asset = w.asset_id(instance, "USD");
    let handle = w.instance(instance);
    let response = handle
        .admin()
        .request(
            "query($a: String!, $asset: String!) { peerByAddressAndAsset(staticIlpAddress: $a, assetId: $asset) { liquidity } }",
            json!({ "a": address, "asset": asset }),
        )
        .await
        .expect("admin API");
    response["data"]["peerByAddressAndAsset"]["liquidity"]
        .as_str()
        .and_then(|l| l.parse().ok())
        .unwrap_or_else(|| panic!("liquidity in {response}"))
}

#[then(expr = "{string} grants the client {int}")]
async fn grants_client(w: &mut PeeringWorld, instance: String, amount: u64) {
    assert_eq!(grants(w, &instance, "test.client").await, amount);
}

#[then(expr = "{string} grants {string} {int}")]
async fn grants_peer(w: &mut PeeringWorld, instance: String, other: String, amount: u64) {
    let address = w.instance(&other).ilp_address().as_str().to_owned();
    assert_eq!(grants(w, &instance, &address).await, amount);
}

#[then(expr = "the receiver has been paid {int}")]
fn receiver_paid(w: &mut PeeringWorld, amount: u64) {
    assert_eq!(
        w.receiver.as_ref().expect("a receiver").amount_received(),
        amount
    );
}

#[then("no liquidity is held by packets in flight")]
fn nothing_pending(w: &mut PeeringWorld) {
    for instance in w.network().instances() {
        let inner = instance.node().instance();
        assert_eq!(inner.pending_transfer_count(), 0, "{}", instance.name());
        inner.audit().expect("ledger invariants hold");
    }
}

/// Referenced by the harness so that the linker keeps this module, and its steps (see `steps`).
#[inline(never)]
pub(crate) fn keep_linked() {}
