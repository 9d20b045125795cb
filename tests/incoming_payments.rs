//! Incoming payments and receivers over real sockets: `createReceiver` on instance `a` for a
//! wallet address on `b` creates the incoming payment at `b` over Open Payments; the STREAM
//! sender pays its `ilp` method through `a`'s connector, and the payment goes PROCESSING then
//! COMPLETED with the money exact at every hop.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use peerlab::ilp::stream::SharedSecret;
use peerlab::ilp::{Address, ErrorCode};
use peerlab::instance::{IncomingPaymentState, NewWalletAddress};
use peerlab::stream::{
    Amount, Destination, HttpLink, PaymentError, PaymentOptions, PaymentReport, pay,
};
use peerlab_simulator::network::InstanceHandle;
use peerlab_simulator::{Network, PeerSettings};
use serde_json::{Value, json};
use uuid::Uuid;

const CREDIT: u64 = 1_000_000;
const SENDER: &str = "test.alice";
const SENDER_TOKEN: &str = "alice-token";

struct Pair {
    network: Network,
    wallet_id: Uuid,
    wallet_url: String,
}

/// `a` and `b` peered in USD (scale 2); a client `test.alice` of `a` granted [`CREDIT`]; a
/// wallet address `bob` on `b`.
async fn pair() -> Pair {
    let network = Network::line(&["a", "b"], ("USD", 2), CREDIT)
        .await
        .unwrap();
    let a = &network.instances()[0];
    a.admin()
        .create_peer(
            &PeerSettings::new(
                SENDER,
                a.asset_id("USD").unwrap(),
                SENDER_TOKEN,
                "http://127.0.0.1:9/",
            )
            .liquidity(CREDIT),
        )
        .await
        .unwrap();
    let b = &network.instances()[1];
    let wallet = b
        .node()
        .instance()
        .create_wallet_address(NewWalletAddress {
            asset_id: b.asset_id("USD").unwrap().to_owned(),
            address: "bob".into(),
            ..NewWalletAddress::default()
        })
        .unwrap();
    Pair {
        network,
        wallet_id: wallet.id,
        wallet_url: wallet.url.clone(),
    }
}

impl Pair {
    fn a(&self) -> &InstanceHandle {
        &self.network.instances()[0]
    }

    fn b(&self) -> &InstanceHandle {
        &self.network.instances()[1]
    }

    fn resource_server(&self) -> String {
        self.b()
            .node()
            .open_payments_url()
            .as_str()
            .trim_end_matches('/')
            .to_owned()
    }

    async fn create_receiver(&self, on: &InstanceHandle, input: Value) -> Value {
        on.admin()
            .request(
                "mutation($input: CreateReceiverInput!) {
                   createReceiver(input: $input) {
                     receiver { id walletAddressUrl completed expiresAt metadata createdAt
                       incomingAmount { value assetCode assetScale }
                       receivedAmount { value assetCode assetScale } }
                   }
                 }",
                json!({ "input": input }),
            )
            .await
            .unwrap()
    }

    /// The incoming payment's `ilp` method, read from its Open Payments resource.
    async fn destination(&self, url: &str) -> Destination {
        let (status, body) = request("GET", url, None).await;
        assert_eq!(status, 200, "{body}");
        let method = &body["methods"][0];
        assert_eq!(method["type"], "ilp");
        let secret = URL_SAFE_NO_PAD
            .decode(method["sharedSecret"].as_str().unwrap())
            .unwrap();
        Destination::Address {
            address: Address::parse(method["ilpAddress"].as_str().unwrap()).unwrap(),
            shared_secret: SharedSecret::from_slice(&secret).unwrap(),
        }
    }

    fn link(&self) -> HttpLink {
        HttpLink::new(&self.a().connector_url(), SENDER_TOKEN)
    }

    fn wallet_balance(&self) -> u64 {
        self.b()
            .node()
            .instance()
            .wallet_address_balance(self.wallet_id)
            .unwrap()
    }

    /// What incoming payment `id`'s own account holds on `b`.
    fn payment_balance(&self, id: Uuid) -> u64 {
        self.b()
            .node()
            .instance()
            .incoming_payment_balance(id)
            .unwrap()
    }

    /// The liquidity `on` holds for its peer at `address`, in USD.
    async fn liquidity(&self, on: &InstanceHandle, address: &str) -> u64 {
        let response = on
            .admin()
            .request(
                "query($address: String!, $asset: String!) {
                   peerByAddressAndAsset(staticIlpAddress: $address, assetId: $asset) { liquidity }
                 }",
                json!({ "address": address, "asset": on.asset_id("USD").unwrap() }),
            )
            .await
            .unwrap();
        response["data"]["peerByAddressAndAsset"]["liquidity"]
            .as_str()
            .and_then(|liquidity| liquidity.parse().ok())
            .unwrap_or_else(|| panic!("liquidity of {address}: {response}"))
    }

    fn payment_id(&self, url: &str) -> Uuid {
        Uuid::parse_str(url.rsplit('/').next().unwrap()).unwrap()
    }

    fn audit(&self) {
        for instance in self.network.instances() {
            let state = instance.node().instance();
            assert_eq!(state.pending_transfer_count(), 0, "{}", instance.name());
            state.audit().unwrap();
        }
    }
}

/// Money for a completed or expired incoming payment is refused as Rafiki refuses it: F02
/// "destination account is in an incorrect state", from the receiving instance.
fn assert_closed(outcome: Result<PaymentReport, PaymentError>) {
    match outcome {
        Err(PaymentError::Rejected {
            code,
            message,
            triggered_by,
            report,
        }) => {
            assert_eq!(code, ErrorCode::F02Unreachable);
            assert_eq!(message, "destination account is in an incorrect state");
            assert_eq!(triggered_by, Some(Address::parse("test.b").unwrap()));
            assert_eq!(report.amount_delivered, 0);
        }
        other => panic!("expected F02 from test.b, got {other:?}"),
    }
}

async fn request(method: &str, url: &str, body: Option<&str>) -> (u16, Value) {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let request = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.unwrap_or_default().to_owned())))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_receiver_at_a_peer_completes_at_its_incoming_amount_and_then_refuses_money() {
    let p = pair().await;
    let answer = p
        .create_receiver(
            p.a(),
            json!({
                "walletAddressUrl": p.wallet_url,
                "incomingAmount": { "value": "500", "assetCode": "USD", "assetScale": 2 },
                "metadata": { "description": "rent" },
            }),
        )
        .await;
    let receiver = &answer["data"]["createReceiver"]["receiver"];
    let url = receiver["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    assert!(
        url.starts_with(&format!("{}/incoming-payments/", p.resource_server())),
        "{url}"
    );
    assert_eq!(receiver["walletAddressUrl"], p.wallet_url);
    assert_eq!(receiver["completed"], false);
    assert_eq!(receiver["incomingAmount"]["value"], "500");
    assert_eq!(receiver["receivedAmount"]["value"], "0");
    assert_eq!(receiver["metadata"]["description"], "rent");
    let id = p.payment_id(url);
    let b = p.b().node().instance();
    assert_eq!(
        b.incoming_payment_by_id(id).unwrap().state,
        IncomingPaymentState::Pending
    );

    // Part of it: PROCESSING.
    let destination = p.destination(url).await;
    let options = PaymentOptions::default();
    let report = pay(&p.link(), &destination, Amount::Delivered(200), &options)
        .await
        .unwrap();
    assert_eq!(report.amount_delivered, 200);
    let payment = b.incoming_payment_by_id(id).unwrap();
    assert_eq!(payment.state, IncomingPaymentState::Processing);
    assert_eq!(payment.received_amount, 200);

    assert_eq!(p.payment_balance(id), 200);
    assert_eq!(
        p.wallet_balance(),
        0,
        "money for an incoming payment is not the wallet's"
    );
    p.audit();

    // The rest: COMPLETED, exactly 500 received and credited to the incoming payment's account.
    let report = pay(&p.link(), &destination, Amount::Delivered(300), &options)
        .await
        .unwrap();
    assert_eq!(report.amount_delivered, 300);
    let payment = b.incoming_payment_by_id(id).unwrap();
    assert_eq!(payment.state, IncomingPaymentState::Completed);
    assert_eq!(payment.received_amount, 500);
    assert_eq!(p.payment_balance(id), 500);
    assert_eq!(p.wallet_balance(), 0);
    // Every hop moved exactly 500: the sender's credit on `a`, `a`'s credit on `b`.
    assert_eq!(p.liquidity(p.a(), SENDER).await, CREDIT - 500);
    assert_eq!(p.liquidity(p.b(), "test.a").await, CREDIT - 500);
    p.audit();

    // Completed: a further payment is refused and nothing more is credited anywhere.
    let refused = pay(&p.link(), &destination, Amount::Source(10), &options).await;
    assert_closed(refused);
    assert_eq!(b.incoming_payment_by_id(id).unwrap().received_amount, 500);
    assert_eq!(p.payment_balance(id), 500);
    assert_eq!(p.liquidity(p.b(), "test.a").await, CREDIT - 500);
    p.audit();

    // The receiver as `a` reads it from `b`, and the incoming payment as `b`'s admin API has it.
    let read = p
        .a()
        .admin()
        .request(
            "query($id: String!) { receiver(id: $id) { completed receivedAmount { value } } }",
            json!({ "id": url }),
        )
        .await
        .unwrap();
    assert_eq!(read["data"]["receiver"]["completed"], true, "{read}");
    assert_eq!(read["data"]["receiver"]["receivedAmount"]["value"], "500");
    let read = p
        .b()
        .admin()
        .request(
            "query($id: String!) { incomingPayment(id: $id) {
               state walletAddressId receivedAmount { value assetCode assetScale } } }",
            json!({ "id": id.to_string() }),
        )
        .await
        .unwrap();
    let payment = &read["data"]["incomingPayment"];
    assert_eq!(payment["state"], "COMPLETED", "{read}");
    assert_eq!(payment["walletAddressId"], p.wallet_id.to_string());
    assert_eq!(
        payment["receivedAmount"],
        json!({ "value": "500", "assetCode": "USD", "assetScale": 2 })
    );
    let listed = p
        .b()
        .admin()
        .request(
            "query($id: String!) { walletAddress(id: $id) {
               incomingPayments(first: 10) { edges { node { id state } } } } }",
            json!({ "id": p.wallet_id.to_string() }),
        )
        .await
        .unwrap();
    let edges = &listed["data"]["walletAddress"]["incomingPayments"]["edges"];
    assert_eq!(
        edges,
        &json!([{ "node": { "id": id.to_string(), "state": "COMPLETED" } }]),
        "{listed}"
    );
    // Unknown ones, in Rafiki's words.
    let unknown = p
        .b()
        .admin()
        .request(
            "query($id: String!, $url: String!) {
               incomingPayment(id: $id) { id } receiver(id: $url) { id } }",
            json!({
                "id": Uuid::new_v4().to_string(),
                "url": format!("{}/incoming-payments/{}", p.resource_server(), Uuid::new_v4()),
            }),
        )
        .await
        .unwrap();
    let mut messages: Vec<&str> = unknown["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{unknown}"))
        .iter()
        .filter_map(|error| error["message"].as_str())
        .collect();
    // Sibling fields resolve concurrently: their errors' order is not the query's.
    messages.sort_unstable();
    assert_eq!(
        messages,
        ["payment does not exist", "receiver does not exist"],
        "{unknown}"
    );
    assert_eq!(
        unknown["data"],
        json!({ "incomingPayment": null, "receiver": null })
    );
    p.network.shutdown().await;
}

#[tokio::test]
async fn an_expired_incoming_payment_refuses_packets() {
    let p = pair().await;
    let expires_at = peerlab::admin::types::iso_timestamp(
        std::time::SystemTime::now() + std::time::Duration::from_millis(300),
    );
    let answer = p
        .create_receiver(
            p.b(),
            json!({ "walletAddressUrl": p.wallet_url, "expiresAt": expires_at }),
        )
        .await;
    let url = answer["data"]["createReceiver"]["receiver"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"))
        .to_owned();
    let destination = p.destination(&url).await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let id = p.payment_id(&url);
    let b = p.b().node().instance();
    assert_eq!(
        b.incoming_payment_by_id(id).unwrap().state,
        IncomingPaymentState::Expired
    );
    let refused = pay(
        &p.link(),
        &destination,
        Amount::Source(10),
        &PaymentOptions::default(),
    )
    .await;
    assert_closed(refused);
    assert_eq!(b.incoming_payment_by_id(id).unwrap().received_amount, 0);
    assert_eq!(p.payment_balance(id), 0);
    assert_eq!(p.wallet_balance(), 0);
    p.audit();
    p.network.shutdown().await;
}

#[tokio::test]
async fn the_incoming_payments_resource_refuses_bad_input_and_unknown_wallet_addresses() {
    let p = pair().await;
    let collection = format!("{}/incoming-payments", p.resource_server());
    let cases = [
        ("not json", 400),
        (
            r#"{"incomingAmount": {"value": "1", "assetCode": "USD", "assetScale": 2}}"#,
            400,
        ),
        (
            &*format!(
                r#"{{"walletAddress": "{}", "incomingAmount": {{"value": "-1", "assetCode": "USD", "assetScale": 2}}}}"#,
                p.wallet_url
            ),
            400,
        ),
        (
            &*format!(
                r#"{{"walletAddress": "{}", "incomingAmount": {{"value": "5", "assetCode": "EUR", "assetScale": 2}}}}"#,
                p.wallet_url
            ),
            400,
        ),
        (
            &*format!(
                r#"{{"walletAddress": "{}", "expiresAt": "yesterday"}}"#,
                p.wallet_url
            ),
            400,
        ),
        (
            &*format!(r#"{{"walletAddress": "{}/nobody"}}"#, p.resource_server()),
            404,
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = request("POST", &collection, Some(body)).await;
        assert_eq!(status, expected, "{body}: {answer}");
        assert!(answer["error"]["description"].is_string(), "{answer}");
    }
    let too_big = format!(
        r#"{{"walletAddress": "{}", "metadata": {{"x": "{}"}}}}"#,
        p.wallet_url,
        "a".repeat(20_000)
    );
    let (status, _) = request("POST", &collection, Some(&too_big)).await;
    assert_eq!(status, 413);

    let (status, created) = request(
        "POST",
        &collection,
        Some(&json!({ "walletAddress": p.wallet_url }).to_string()),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["receivedAmount"]["value"], "0");
    assert_eq!(created["completed"], false);
    assert!(created.get("incomingAmount").is_none());
    let (status, read) = request("GET", created["id"].as_str().unwrap(), None).await;
    assert_eq!(status, 200);
    assert_eq!(read["id"], created["id"]);
    let (status, _) = request("GET", &format!("{collection}/{}", Uuid::new_v4()), None).await;
    assert_eq!(status, 404);
    p.network.shutdown().await;
}

#[tokio::test]
async fn an_unknown_wallet_address_is_refused_in_both_dialects() {
    let p = pair().await;
    let unknown = format!("{}/nobody", p.resource_server());
    let input = json!({ "input": { "walletAddressUrl": unknown } });
    // Today's dialect: a GraphQL error with Rafiki's message and code.
    let today = p
        .a()
        .admin()
        .request(
            "mutation($input: CreateReceiverInput!) { createReceiver(input: $input) { receiver { id } } }",
            input.clone(),
        )
        .await
        .unwrap();
    assert_eq!(today["data"], Value::Null, "{today}");
    assert_eq!(today["errors"][0]["message"], "unknown wallet address");
    assert_eq!(today["errors"][0]["extensions"]["code"], "NOT_FOUND");
    // The seed era's: the payload with its code and message.
    let seed = p
        .a()
        .admin()
        .request(
            "mutation($input: CreateReceiverInput!) { createReceiver(input: $input) { code success message receiver { id } } }",
            input,
        )
        .await
        .unwrap();
    assert_eq!(
        seed["data"]["createReceiver"],
        json!({ "code": "404", "success": false, "message": "unknown wallet address", "receiver": null }),
        "{seed}"
    );
    p.network.shutdown().await;
}
