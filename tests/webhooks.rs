//! Webhook events over real sockets: a node with `WEBHOOK_URL` pointing at a wiremock server
//! that checks each event's JSON and signature; retries against an endpoint that fails, an
//! endpoint that hangs without slowing packets, the expiry sweep, `webhookEvents` pages, and
//! `createIncomingPaymentWithdrawal` in both admin dialects.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use hmac::{Hmac, Mac};
use peerlab::config::Config;
use peerlab::events::WebhookSettings;
use peerlab::ilp::Address;
use peerlab::instance::{
    AmountInAsset, IncomingPayment, NewAsset, NewIncomingPayment, NewPeer, NewWalletAddress, Peer,
    WalletAddress,
};
use peerlab::node::Node;
use peerlab::stream::{
    Amount, Destination, HttpLink, PaymentOptions, PaymentReport, ReceiveTarget, pay,
};
use peerlab_simulator::client::AdminClient;
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "alice-token";
const SECRET: &str = "webhook-secret";
const LIQUIDITY: u64 = 10_000;
const THRESHOLD: u64 = 9_600;

struct Fixture {
    node: Node,
    admin: AdminClient,
    asset_id: Uuid,
    alice: Arc<Peer>,
    bob: Arc<WalletAddress>,
}

/// A node with USD (scale 2), a client peer `test.alice` that sends with [`TOKEN`], holding
/// [`LIQUIDITY`] with a threshold of [`THRESHOLD`], and a wallet address `bob`.
async fn start(webhook: Option<WebhookSettings>) -> Fixture {
    let mut config = Config::for_address(Address::parse("test.hooks").unwrap());
    config.webhook = webhook;
    let node = Node::start(config).await.unwrap();
    let instance = node.instance();
    let asset = instance
        .create_asset(NewAsset {
            code: "USD".into(),
            scale: 2,
            withdrawal_threshold: None,
            liquidity_threshold: None,
        })
        .unwrap();
    let alice = instance
        .create_peer(NewPeer {
            static_ilp_address: "test.alice".into(),
            asset_id: asset.id.to_string(),
            incoming_tokens: vec![TOKEN.into()],
            outgoing_endpoint: "http://127.0.0.1:9/".into(),
            outgoing_token: "to-alice".into(),
            liquidity_threshold: Some(THRESHOLD),
            initial_liquidity: Some(LIQUIDITY),
            ..NewPeer::default()
        })
        .unwrap();
    let bob = instance
        .create_wallet_address(NewWalletAddress {
            asset_id: asset.id.to_string(),
            address: "bob".into(),
            ..NewWalletAddress::default()
        })
        .unwrap();
    let admin = AdminClient::new(&node.graphql_url()).unwrap();
    Fixture {
        node,
        admin,
        asset_id: asset.id,
        alice,
        bob,
    }
}

/// Delivery to `server`'s `/hooks`, signed, retrying after 100 ms instead of 10 s.
fn settings(server: &MockServer) -> WebhookSettings {
    let mut settings =
        WebhookSettings::from_url(format!("{}/hooks", server.uri()).parse().unwrap());
    settings.signature_secret = Some(SECRET.into());
    settings.retry_backoff = Duration::from_millis(100);
    settings.timeout = Duration::from_millis(1_000);
    settings
}

impl Fixture {
    fn incoming_payment(&self, amount: u64, expires_in: Option<Duration>) -> IncomingPayment {
        self.node
            .instance()
            .create_incoming_payment(NewIncomingPayment {
                wallet_address_id: self.bob.id,
                incoming_amount: Some(AmountInAsset {
                    value: amount,
                    asset_code: "USD".into(),
                    asset_scale: 2,
                }),
                expires_at: expires_in.map(|after| SystemTime::now() + after),
                metadata: Some(json!({ "description": "rent" })),
            })
            .unwrap()
    }

    /// Pays `amount` to `target` through the node's connector, as `test.alice`.
    async fn pay(&self, target: ReceiveTarget, amount: u64) -> PaymentReport {
        let receiving = self
            .node
            .connector()
            .receiver()
            .receiving_address(self.node.ilp_address(), target)
            .unwrap();
        let destination = Destination::Address {
            address: receiving.destination,
            shared_secret: receiving.shared_secret,
        };
        let link = HttpLink::new(self.node.connector_url().as_str(), TOKEN);
        let report = pay(
            &link,
            &destination,
            Amount::Delivered(amount),
            &PaymentOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(report.amount_delivered, amount);
        report
    }

    async fn pay_incoming(&self, payment: &IncomingPayment, amount: u64) -> PaymentReport {
        self.pay(ReceiveTarget::IncomingPayment(payment.id), amount)
            .await
    }

    async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.admin.request(query, variables).await.unwrap()
    }

    fn audit(&self) {
        let instance = self.node.instance();
        assert_eq!(instance.pending_transfer_count(), 0);
        instance.audit().unwrap();
    }
}

/// The JSON bodies `server` received so far, after checking each request's headers and
/// signature.
async fn delivered(server: &MockServer) -> Vec<Value> {
    let requests = server.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .map(|request| {
            let header = |name: &str| {
                request
                    .headers
                    .get(name)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            assert_eq!(header("content-type"), "application/json");
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            assert_signed(&header("rafiki-signature"), &body);
            body
        })
        .collect()
}

/// `t=<ms>, v1=<hex>` where hex is the HMAC-SHA256 of `<ms>.<canonical JSON>`. serde_json here
/// keeps object keys sorted (no `preserve_order`) and writes no whitespace: the canonical form
/// of these bodies, computed without peerlab's canonicalizer.
fn assert_signed(header: &str, body: &Value) {
    let (timestamp, digest) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(", v1="))
        .unwrap_or_else(|| panic!("malformed Rafiki-Signature {header:?}"));
    let sent_at: u128 = timestamp.parse().unwrap();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert!(sent_at <= now && now - sent_at < 60_000, "{header}");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{}", serde_json::to_string(body).unwrap()).as_bytes());
    assert_eq!(digest, hex::encode(mac.finalize().into_bytes()), "{body}");
}

/// Waits (up to 10 s) until `server` received `count` requests; returns their bodies.
async fn wait_for_deliveries(server: &MockServer, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let bodies = delivered(server).await;
        if bodies.len() >= count || Instant::now() > deadline {
            return bodies;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn of_type<'a>(bodies: &'a [Value], kind: &str) -> Vec<&'a Value> {
    bodies.iter().filter(|body| body["type"] == kind).collect()
}

fn usd(value: u64) -> Value {
    json!({ "value": value.to_string(), "assetCode": "USD", "assetScale": 2 })
}

/// Rafiki's `toData` for an incoming payment of [`Fixture::incoming_payment`].
fn payment_data(payment: &IncomingPayment, received: u64, completed: bool) -> Value {
    json!({
        "id": payment.id.to_string(),
        "walletAddressId": payment.wallet_address_id.to_string(),
        "createdAt": peerlab::text::iso_timestamp(payment.created_at),
        "expiresAt": peerlab::text::iso_timestamp(payment.expires_at),
        "incomingAmount": usd(payment.incoming_amount.unwrap()),
        "receivedAmount": usd(received),
        "completed": completed,
        "metadata": { "description": "rent" },
    })
}

#[tokio::test]
async fn events_reach_the_webhook_with_rafikis_json_and_signature() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let f = start(Some(settings(&server))).await;

    // 500 paid: alice's liquidity goes from 10000 to 9500, crossing her threshold of 9600.
    let first = f.incoming_payment(500, None);
    f.pay_incoming(&first, 500).await;
    // 100 more: still below, already reported: no new event.
    let second = f.incoming_payment(100, None);
    f.pay_incoming(&second, 100).await;
    // A deposit too small to lift her above the threshold: the next debit reports again.
    f.node
        .instance()
        .deposit_peer_liquidity(&Uuid::new_v4().to_string(), &f.alice.id.to_string(), 50)
        .unwrap();
    let third = f.incoming_payment(100, None);
    f.pay_incoming(&third, 100).await;

    let bodies = wait_for_deliveries(&server, 8).await;
    assert_eq!(bodies.len(), 8, "{bodies:#?}");
    for body in &bodies {
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["data", "id", "type"], "{body}");
    }
    let created = of_type(&bodies, "incoming_payment.created");
    let completed = of_type(&bodies, "incoming_payment.completed");
    assert_eq!((created.len(), completed.len()), (3, 3));
    let created_first = created
        .iter()
        .find(|body| body["data"]["id"] == first.id.to_string())
        .unwrap();
    assert_eq!(created_first["data"], payment_data(&first, 0, false));
    let completed_first = completed
        .iter()
        .find(|body| body["data"]["id"] == first.id.to_string())
        .unwrap();
    assert_eq!(completed_first["data"], payment_data(&first, 500, true));

    let mut low: Vec<&Value> = of_type(&bodies, "peer.liquidity_low");
    low.sort_by_key(|body| body["data"]["balance"].as_str().unwrap().to_owned());
    let low_data = |balance: &str| {
        json!({
            "id": f.alice.id.to_string(),
            "asset": { "id": f.asset_id.to_string(), "code": "USD", "scale": 2 },
            "liquidityThreshold": THRESHOLD.to_string(),
            "balance": balance,
        })
    };
    assert_eq!(low.len(), 2, "{low:#?}");
    assert_eq!(low[0]["data"], low_data("9350"));
    assert_eq!(low[1]["data"], low_data("9500"));

    // What was POSTed is what webhookEvents reads, ids included.
    let events = f
        .graphql(
            "{ webhookEvents(first: 100, sortOrder: ASC) { edges { node { id type data } } } }",
            json!({}),
        )
        .await;
    let recorded = events["data"]["webhookEvents"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(recorded.len(), 8);
    for edge in &recorded {
        let node = &edge["node"];
        let posted = bodies.iter().find(|body| body["id"] == node["id"]).unwrap();
        assert_eq!(posted["type"], node["type"]);
        assert_eq!(posted["data"], node["data"]);
    }
    assert_eq!(f.node.webhook_stats().unwrap().delivered(), 8);
    f.audit();
    f.node.shutdown().await;
}

#[tokio::test]
async fn a_failing_endpoint_gets_retries_until_it_answers_200() {
    let server = MockServer::start().await;
    // Mounted first, so matched first: the first two attempts fail.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let f = start(Some(settings(&server))).await;
    let started = Instant::now();
    let payment = f.incoming_payment(500, None);

    let bodies = wait_for_deliveries(&server, 3).await;
    assert_eq!(bodies.len(), 3, "{bodies:#?}");
    assert!(
        bodies.iter().all(|body| body == &bodies[0]),
        "one event, three times"
    );
    assert_eq!(bodies[0]["data"]["id"], payment.id.to_string());
    // The second retry waited twice the base: 100 ms, then 200 ms.
    assert!(started.elapsed() >= Duration::from_millis(300));
    let stats = f.node.webhook_stats().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while stats.delivered() < 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        (
            stats.delivered(),
            stats.failed_attempts(),
            stats.abandoned()
        ),
        (1, 2, 0)
    );
    f.node.shutdown().await;
}

#[tokio::test]
async fn an_event_is_given_up_after_its_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let mut settings = settings(&server);
    settings.max_attempts = 3;
    let f = start(Some(settings)).await;
    f.incoming_payment(500, None);
    let stats = f.node.webhook_stats().unwrap().clone();
    let deadline = Instant::now() + Duration::from_secs(5);
    while stats.abandoned() < 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!((stats.abandoned(), stats.failed_attempts()), (1, 3));
    // Nothing more is tried.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(delivered(&server).await.len(), 3);
    f.node.shutdown().await;
}

/// Pays `count` incoming payments one after the other; returns how long it took.
async fn pay_many(f: &Fixture, count: usize) -> Duration {
    let started = Instant::now();
    for _ in 0..count {
        let payment = f.incoming_payment(10, None);
        f.pay_incoming(&payment, 10).await;
    }
    started.elapsed()
}

#[tokio::test]
async fn a_hanging_endpoint_does_not_slow_packets() {
    const PAYMENTS: usize = 20;
    let without = start(None).await;
    let baseline = pay_many(&without, PAYMENTS).await;
    without.node.shutdown().await;

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(60)))
        .mount(&server)
        .await;
    let mut settings = settings(&server);
    settings.timeout = Duration::from_secs(30);
    settings.max_in_flight = 4;
    let f = start(Some(settings)).await;
    let hanging = pay_many(&f, PAYMENTS).await;
    eprintln!(
        "{PAYMENTS} payments: {baseline:?} without a webhook, {hanging:?} with one that hangs"
    );
    assert!(
        hanging < baseline * 3 + Duration::from_secs(2),
        "{hanging:?} against {baseline:?}"
    );
    // The endpoint holds 4 requests; the other events wait, none is lost or delivered.
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 4);
    assert_eq!(f.node.webhook_stats().unwrap().delivered(), 0);
    assert_eq!(f.node.webhook_stats().unwrap().dropped(), 0);
    // The admin API answers at once too.
    let asked = Instant::now();
    let events = f
        .graphql(
            "{ webhookEvents(first: 1) { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        events["data"]["webhookEvents"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(asked.elapsed() < Duration::from_secs(2));
    f.audit();
    f.node.shutdown().await;
}

#[tokio::test]
async fn the_sweep_records_an_expiry_nobody_reads() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let f = start(Some(settings(&server))).await;
    let paid = f.incoming_payment(500, Some(Duration::from_millis(1_500)));
    let unpaid = f.incoming_payment(500, Some(Duration::from_millis(1_500)));
    f.pay_incoming(&paid, 200).await;

    // Only the sweep can expire them: nothing reads either payment meanwhile.
    let bodies = wait_for_deliveries(&server, 3).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut expired = Vec::new();
    while expired.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let bodies = delivered(&server).await;
        expired = of_type(&bodies, "incoming_payment.expired")
            .into_iter()
            .cloned()
            .collect();
    }
    assert_eq!(of_type(&bodies, "incoming_payment.created").len(), 2);
    // As Rafiki: an expiry with money received is reported; one with none is not.
    assert_eq!(expired.len(), 1, "{expired:#?}");
    assert_eq!(expired[0]["data"], payment_data(&paid, 200, false));
    let recorded = f
        .graphql(
            r#"{ webhookEvents(filter: {type: {in: ["incoming_payment.expired"]}}) {
                   edges { node { id type } } } }"#,
            json!({}),
        )
        .await;
    let edges = recorded["data"]["webhookEvents"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["node"]["id"], expired[0]["id"]);

    // What it received can be withdrawn, once.
    let withdraw = |id: Uuid| {
        json!({ "input": {
            "incomingPaymentId": id.to_string(),
            "idempotencyKey": Uuid::new_v4().to_string(),
            "timeoutSeconds": 0,
        }})
    };
    let mutation = "mutation($input: CreateIncomingPaymentWithdrawalInput!) {
                      createIncomingPaymentWithdrawal(input: $input) { success } }";
    let done = f.graphql(mutation, withdraw(paid.id)).await;
    assert_eq!(
        done["data"]["createIncomingPaymentWithdrawal"]["success"], true,
        "{done}"
    );
    assert_eq!(f.node.instance().incoming_payment_balance(paid.id), Some(0));
    let refused = f.graphql(mutation, withdraw(unpaid.id)).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{refused}"
    );
    f.audit();
    f.node.shutdown().await;
}

const WITHDRAW_V2: &str = "mutation($input: CreateIncomingPaymentWithdrawalInput!) {
    createIncomingPaymentWithdrawal(input: $input) { success } }";
const WITHDRAW_SEED: &str = "mutation($input: CreateIncomingPaymentWithdrawalInput!) {
    createIncomingPaymentWithdrawal(input: $input) { code success message error } }";

fn withdrawal_input(id: &str, timeout_seconds: u64) -> Value {
    json!({ "input": {
        "incomingPaymentId": id,
        "idempotencyKey": Uuid::new_v4().to_string(),
        "timeoutSeconds": timeout_seconds,
    }})
}

fn v2_refusal(answer: &Value) -> (String, String) {
    assert_eq!(
        answer["data"]["createIncomingPaymentWithdrawal"],
        Value::Null,
        "{answer}"
    );
    (
        answer["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        answer["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

fn closing_event(f: &Fixture, id: Uuid) -> String {
    f.node
        .instance()
        .incoming_payment_by_id(id)
        .unwrap()
        .closing_event_id
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn incoming_payment_withdrawals_in_both_dialects() {
    let f = start(None).await;
    let instance = f.node.instance().clone();
    let unknown = Uuid::new_v4().to_string();
    let open = f.incoming_payment(500, None);
    f.pay_incoming(&open, 200).await;
    let completed = f.incoming_payment(300, None);
    f.pay_incoming(&completed, 300).await;

    // Unknown, and not yet completed or expired: "Unknown incoming payment".
    for id in [unknown.as_str(), &open.id.to_string(), "not-a-uuid"] {
        let answer = f.graphql(WITHDRAW_V2, withdrawal_input(id, 0)).await;
        assert_eq!(
            v2_refusal(&answer),
            ("Unknown incoming payment".into(), "NOT_FOUND".into())
        );
        let answer = f.graphql(WITHDRAW_SEED, withdrawal_input(id, 0)).await;
        assert_eq!(
            answer["data"]["createIncomingPaymentWithdrawal"],
            json!({"code": "404", "success": false, "message": "Unknown incoming payment",
                   "error": "UnknownIncomingPayment"}),
            "{answer}"
        );
    }
    assert_eq!(instance.incoming_payment_balance(open.id), Some(200));

    // Completed: withdrawn in one phase, once.
    let answer = f
        .graphql(
            WITHDRAW_SEED,
            withdrawal_input(&completed.id.to_string(), 0),
        )
        .await;
    assert_eq!(
        answer["data"]["createIncomingPaymentWithdrawal"],
        json!({"code": "200", "success": true, "message": "Created incoming payment withdrawal",
               "error": null}),
        "{answer}"
    );
    assert_eq!(instance.incoming_payment_balance(completed.id), Some(0));
    let again = f
        .graphql(WITHDRAW_V2, withdrawal_input(&completed.id.to_string(), 0))
        .await;
    assert_eq!(
        v2_refusal(&again),
        ("Transfer already exists".into(), "DUPLICATE".into())
    );
    let again = f
        .graphql(
            WITHDRAW_SEED,
            withdrawal_input(&completed.id.to_string(), 0),
        )
        .await;
    assert_eq!(
        again["data"]["createIncomingPaymentWithdrawal"],
        json!({"code": "409", "success": false, "message": "Transfer exists",
               "error": "TransferExists"}),
        "{again}"
    );

    // Two-phase: the withdrawal's id is the completed event's; voided, the money is back and
    // the same withdrawal cannot be made again; posted, it is gone.
    let voided = f.incoming_payment(100, None);
    f.pay_incoming(&voided, 100).await;
    let posted = f.incoming_payment(150, None);
    f.pay_incoming(&posted, 150).await;
    for payment in [&voided, &posted] {
        let answer = f
            .graphql(WITHDRAW_V2, withdrawal_input(&payment.id.to_string(), 60))
            .await;
        assert_eq!(
            answer["data"]["createIncomingPaymentWithdrawal"],
            json!({"success": true}),
            "{answer}"
        );
        assert_eq!(instance.incoming_payment_balance(payment.id), Some(0));
    }
    let resolve = |mutation: &str, id: String| {
        (
            format!(
                "mutation($input: {}Input!) {{ {}(input: $input) {{ success }} }}",
                capitalised(mutation),
                mutation
            ),
            json!({ "input": { "withdrawalId": id, "idempotencyKey": Uuid::new_v4().to_string() } }),
        )
    };
    let (query, variables) = resolve("voidLiquidityWithdrawal", closing_event(&f, voided.id));
    let answer = f.graphql(&query, variables).await;
    assert_eq!(
        answer["data"]["voidLiquidityWithdrawal"]["success"], true,
        "{answer}"
    );
    assert_eq!(instance.incoming_payment_balance(voided.id), Some(100));
    let (query, variables) = resolve("postLiquidityWithdrawal", closing_event(&f, posted.id));
    let answer = f.graphql(&query, variables).await;
    assert_eq!(
        answer["data"]["postLiquidityWithdrawal"]["success"], true,
        "{answer}"
    );
    assert_eq!(instance.incoming_payment_balance(posted.id), Some(0));
    let answer = f
        .graphql(WITHDRAW_V2, withdrawal_input(&voided.id.to_string(), 0))
        .await;
    assert_eq!(
        v2_refusal(&answer),
        ("Transfer already exists".into(), "DUPLICATE".into())
    );
    f.audit();
    f.node.shutdown().await;
}

fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

#[tokio::test]
async fn spsp_money_past_the_withdrawal_threshold_records_web_monetization() {
    let f = start(None).await;
    let instance = f.node.instance();
    instance
        .update_asset(&f.asset_id.to_string(), Some(100), None)
        .unwrap();
    let target = ReceiveTarget::WalletAddress(f.bob.id);
    f.pay(target, 150).await;
    f.pay(target, 50).await; // 50 since the last event: below 100, nothing.
    f.pay(target, 60).await; // 110 since the last event.
    let answer = f
        .graphql(
            r#"{ webhookEvents(sortOrder: ASC, filter: {type: {in: ["wallet_address.web_monetization"]}}) {
                   edges { node { type data } } } }"#,
            json!({}),
        )
        .await;
    let data: Vec<Value> = answer["data"]["webhookEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["data"].clone())
        .collect();
    let event = |value: u64| {
        json!({ "walletAddress": {
            "id": f.bob.id.to_string(),
            "createdAt": peerlab::text::iso_timestamp(f.bob.created_at),
            "receivedAmount": usd(value),
        }})
    };
    assert_eq!(data, vec![event(150), event(110)]);
    assert_eq!(instance.wallet_address_balance(f.bob.id), Some(260));
    f.audit();
    f.node.shutdown().await;
}

#[tokio::test]
async fn webhook_events_pages_and_filters() {
    let f = start(None).await;
    // Five created events, then two payments' completions and one liquidity event.
    let payments: Vec<IncomingPayment> = (0..5).map(|_| f.incoming_payment(300, None)).collect();
    f.pay_incoming(&payments[0], 300).await; // 9700: above the threshold.
    f.pay_incoming(&payments[1], 300).await; // 9400: peer.liquidity_low.
    let page = |arguments: &str| {
        format!(
            "{{ webhookEvents({arguments}) {{
                 pageInfo {{ startCursor endCursor hasNextPage hasPreviousPage }}
                 edges {{ cursor node {{ id type createdAt }} }} }} }}"
        )
    };
    let read = |answer: &Value| -> (Vec<String>, Vec<String>, Value) {
        let connection = &answer["data"]["webhookEvents"];
        let edges = connection["edges"].as_array().unwrap();
        (
            edges
                .iter()
                .map(|e| e["cursor"].as_str().unwrap().to_owned())
                .collect(),
            edges
                .iter()
                .map(|e| e["node"]["type"].as_str().unwrap().to_owned())
                .collect(),
            connection["pageInfo"].clone(),
        )
    };

    let all = f
        .graphql(&page("first: 100, sortOrder: ASC"), json!({}))
        .await;
    let (ids, types, _) = read(&all);
    assert_eq!(
        types,
        [
            "incoming_payment.created",
            "incoming_payment.created",
            "incoming_payment.created",
            "incoming_payment.created",
            "incoming_payment.created",
            "incoming_payment.completed",
            "peer.liquidity_low",
            "incoming_payment.completed",
        ]
    );
    // Newest first by default.
    let (newest, _, info) = read(&f.graphql(&page("first: 3"), json!({})).await);
    assert_eq!(newest, [ids[7].clone(), ids[6].clone(), ids[5].clone()]);
    assert_eq!(info["hasNextPage"], true);
    assert_eq!(info["hasPreviousPage"], false);
    assert_eq!(info["endCursor"], ids[5]);
    // After a cursor, and before one.
    let (after, _, info) = read(
        &f.graphql(
            &page(&format!(r#"first: 2, after: "{}", sortOrder: ASC"#, ids[5])),
            json!({}),
        )
        .await,
    );
    assert_eq!(after, [ids[6].clone(), ids[7].clone()]);
    assert_eq!(
        (info["hasNextPage"].clone(), info["hasPreviousPage"].clone()),
        (json!(false), json!(true))
    );
    let (before, _, _) = read(
        &f.graphql(
            &page(&format!(r#"last: 2, before: "{}", sortOrder: ASC"#, ids[2])),
            json!({}),
        )
        .await,
    );
    assert_eq!(before, [ids[0].clone(), ids[1].clone()]);
    // Filters: in, notIn.
    let (completed, _, info) = read(
        &f.graphql(
            &page(r#"sortOrder: ASC, filter: {type: {in: ["incoming_payment.completed"]}}"#),
            json!({}),
        )
        .await,
    );
    assert_eq!(completed, [ids[5].clone(), ids[7].clone()]);
    assert_eq!(info["hasNextPage"], false);
    let (_, types, _) = read(
        &f.graphql(
            &page(r#"first: 100, filter: {type: {notIn: ["incoming_payment.created", "incoming_payment.completed"]}}"#),
            json!({}),
        )
        .await,
    );
    assert_eq!(types, ["peer.liquidity_low"]);
    // Rafiki's refusals.
    let refused = f.graphql(&page("first: 101"), json!({})).await;
    assert_eq!(refused["errors"][0]["message"], "Pagination index error");
    let refused = f
        .graphql(&page(&format!(r#"after: "{}""#, Uuid::new_v4())), json!({}))
        .await;
    assert!(refused["errors"][0]["message"].is_string(), "{refused}");
    f.node.shutdown().await;
}
