//! Quotes and outgoing payments over real sockets, through the admin API as Rafiki's clients send
//! them: instance `a` pays a wallet address on `b` (receiver, quote, outgoing payment, funding),
//! and the payment completes with the money exact at every hop, or fails cleanly.

use std::time::Duration;

use peerlab::instance::NewWalletAddress;
use peerlab_simulator::Network;
use peerlab_simulator::network::InstanceHandle;
use serde_json::{Value, json};

const CREDIT: u64 = 1_000_000;

struct Pair {
    network: Network,
    alice_id: String,
    bob_url: String,
    /// The asset bob's wallet address is in.
    bob_asset: &'static str,
}

/// `a` and `b` peered in USD (scale 2), each granting the other [`CREDIT`]; wallet addresses
/// `alice` on `a` and `bob` on `b`.
async fn pair() -> Pair {
    let network = Network::line(&["a", "b"], ("USD", 2), CREDIT)
        .await
        .unwrap();
    let alice = wallet(&network.instances()[0], "alice", "USD");
    let bob = wallet(&network.instances()[1], "bob", "USD");
    Pair {
        alice_id: alice.id.to_string(),
        bob_url: bob.url.clone(),
        bob_asset: "USD",
        network,
    }
}

/// The network `topology` (TOML) describes, with `alice` (USD) on its first instance and `bob`
/// (in `bob_asset`) on its last.
async fn pair_of(topology: &str, bob_asset: &'static str) -> Pair {
    let topology = peerlab_simulator::topology::Topology::parse(topology).unwrap();
    let network = Network::from_topology(&topology).await.unwrap();
    let alice = wallet(&network.instances()[0], "alice", "USD");
    let last = network.instances().last().unwrap();
    let bob = wallet(last, "bob", bob_asset);
    Pair {
        alice_id: alice.id.to_string(),
        bob_url: bob.url.clone(),
        bob_asset,
        network,
    }
}

fn wallet(instance: &InstanceHandle, name: &str, asset: &str) -> peerlab::instance::WalletAddress {
    let wallet = instance
        .node()
        .instance()
        .create_wallet_address(NewWalletAddress {
            asset_id: instance.asset_id(asset).unwrap().to_owned(),
            address: name.into(),
            ..NewWalletAddress::default()
        })
        .unwrap();
    (*wallet).clone()
}

const PAYMENT_FIELDS: &str = "id walletAddressId state error stateAttempts receiver metadata
    liquidity createdAt quote { id }
    debitAmount { value assetCode assetScale }
    receiveAmount { value assetCode assetScale }
    sentAmount { value assetCode assetScale }";

impl Pair {
    fn a(&self) -> &InstanceHandle {
        &self.network.instances()[0]
    }

    /// The instance bob's wallet address is on: the last one.
    fn b(&self) -> &InstanceHandle {
        self.network.instances().last().unwrap()
    }

    async fn admin(&self, on: &InstanceHandle, query: &str, variables: Value) -> Value {
        on.admin().request(query, variables).await.unwrap()
    }

    /// An incoming payment at bob (on `b`), created through `a`; its URL.
    async fn receiver(&self, incoming_amount: Option<u64>) -> String {
        let mut input = json!({ "walletAddressUrl": self.bob_url });
        if let Some(value) = incoming_amount {
            input["incomingAmount"] =
                json!({ "value": value.to_string(), "assetCode": self.bob_asset, "assetScale": 2 });
        }
        let answer = self
            .admin(
                self.a(),
                "mutation($input: CreateReceiverInput!) { createReceiver(input: $input) { receiver { id } } }",
                json!({ "input": input }),
            )
            .await;
        answer["data"]["createReceiver"]["receiver"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no receiver: {answer}"))
            .to_owned()
    }

    async fn create_quote(&self, input: Value) -> Value {
        self.admin(
            self.a(),
            "mutation($input: CreateQuoteInput!) { createQuote(input: $input) { quote {
               id walletAddressId receiver createdAt expiresAt estimatedExchangeRate
               debitAmount { value assetCode assetScale }
               receiveAmount { value assetCode assetScale } } } }",
            json!({ "input": input }),
        )
        .await
    }

    async fn quote(&self, receiver: &str, amounts: Value) -> Value {
        let mut input = json!({ "walletAddressId": self.alice_id, "receiver": receiver });
        if let (Some(input), Some(amounts)) = (input.as_object_mut(), amounts.as_object()) {
            input.extend(amounts.clone());
        }
        let answer = self.create_quote(input).await;
        let quote = answer["data"]["createQuote"]["quote"].clone();
        assert!(quote.is_object(), "no quote: {answer}");
        quote
    }

    async fn create_payment(&self, quote_id: &str) -> Value {
        self.admin(
            self.a(),
            &format!(
                "mutation($input: CreateOutgoingPaymentInput!) {{
                   createOutgoingPayment(input: $input) {{ payment {{ {PAYMENT_FIELDS} }} }} }}"
            ),
            json!({ "input": { "walletAddressId": self.alice_id, "quoteId": quote_id,
                               "metadata": { "description": "rent" } } }),
        )
        .await
    }

    async fn fund(&self, payment_id: &str) -> Value {
        self.admin(
            self.a(),
            "mutation($input: DepositOutgoingPaymentLiquidityInput!) {
               depositOutgoingPaymentLiquidity(input: $input) { success } }",
            json!({ "input": { "outgoingPaymentId": payment_id,
                               "idempotencyKey": uuid::Uuid::new_v4().to_string() } }),
        )
        .await
    }

    async fn payment(&self, id: &str) -> Value {
        let answer = self
            .admin(
                self.a(),
                &format!(
                    "query($id: String!) {{ outgoingPayment(id: $id) {{ {PAYMENT_FIELDS} }} }}"
                ),
                json!({ "id": id }),
            )
            .await;
        answer["data"]["outgoingPayment"].clone()
    }

    /// Polls until the payment leaves SENDING (at most 20 s).
    async fn finished(&self, id: &str) -> Value {
        for _ in 0..400 {
            let payment = self.payment(id).await;
            if payment["state"] != "SENDING" && payment["state"] != "FUNDING" {
                return payment;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("payment {id} did not finish: {}", self.payment(id).await);
    }

    async fn incoming_payment(&self, url: &str) -> Value {
        let answer = self
            .admin(
                self.b(),
                "query($id: String!) { incomingPayment(id: $id) {
                   state receivedAmount { value } incomingAmount { value } } }",
                json!({ "id": url.rsplit('/').next().unwrap() }),
            )
            .await;
        answer["data"]["incomingPayment"].clone()
    }

    /// The liquidity `on` holds for its peer `address`.
    async fn liquidity(&self, on: &InstanceHandle, address: &str) -> u64 {
        let answer = self
            .admin(
                on,
                "query($address: String!, $asset: String!) {
                   peerByAddressAndAsset(staticIlpAddress: $address, assetId: $asset) { liquidity } }",
                json!({ "address": address, "asset": on.asset_id("USD").unwrap() }),
            )
            .await;
        answer["data"]["peerByAddressAndAsset"]["liquidity"]
            .as_str()
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("liquidity of {address}: {answer}"))
    }

    fn audit(&self) {
        for instance in self.network.instances() {
            let state = instance.node().instance();
            assert_eq!(state.pending_transfer_count(), 0, "{}", instance.name());
            state.audit().unwrap();
        }
    }

    /// Receiver, quote, payment, funding: the payment once it finished.
    async fn pay(&self, receiver: &str, amounts: Value) -> Value {
        let quote = self.quote(receiver, amounts).await;
        let created = self.create_payment(quote["id"].as_str().unwrap()).await;
        let payment = &created["data"]["createOutgoingPayment"]["payment"];
        assert_eq!(payment["state"], "FUNDING", "{created}");
        let id = payment["id"].as_str().unwrap().to_owned();
        let funded = self.fund(&id).await;
        assert_eq!(
            funded["data"]["depositOutgoingPaymentLiquidity"]["success"], true,
            "{funded}"
        );
        self.finished(&id).await
    }
}

fn value(amount: &Value) -> u64 {
    amount["value"].as_str().unwrap().parse().unwrap()
}

fn error(answer: &Value) -> (String, String) {
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

#[tokio::test]
async fn a_payment_to_a_peers_wallet_address_completes_with_exact_liquidity_at_every_hop() {
    let p = pair().await;
    let receiver = p.receiver(Some(500)).await;
    let quote = p.quote(&receiver, json!({})).await;
    assert_eq!(value(&quote["receiveAmount"]), 500);
    // Fixed receive at 1:1 with 1% slippage: at most ceil(500 / 0.99) may be debited.
    assert_eq!(value(&quote["debitAmount"]), 506);
    assert_eq!(quote["estimatedExchangeRate"], 1.0);
    let created = p.create_payment(quote["id"].as_str().unwrap()).await;
    let payment = &created["data"]["createOutgoingPayment"]["payment"];
    assert_eq!(payment["state"], "FUNDING", "{created}");
    assert_eq!(payment["id"], quote["id"], "one payment per quote, same id");
    assert_eq!(payment["metadata"], json!({ "description": "rent" }));
    assert_eq!(value(&payment["sentAmount"]), 0);
    let id = payment["id"].as_str().unwrap();
    p.fund(id).await;
    let done = p.finished(id).await;
    assert_eq!(done["state"], "COMPLETED", "{done}");
    assert_eq!(value(&done["sentAmount"]), 500);
    assert_eq!(
        done["liquidity"], "6",
        "what was not spent stays with the payment"
    );
    let incoming = p.incoming_payment(&receiver).await;
    assert_eq!(incoming["state"], "COMPLETED", "{incoming}");
    assert_eq!(incoming["receivedAmount"]["value"], "500");
    assert_eq!(p.liquidity(p.a(), "test.b").await, CREDIT + 500);
    assert_eq!(p.liquidity(p.b(), "test.a").await, CREDIT - 500);
    p.audit();
}

#[tokio::test]
async fn a_fixed_send_debits_exactly_its_amount() {
    let p = pair().await;
    let receiver = p.receiver(None).await;
    let done = p
        .pay(
            &receiver,
            json!({ "debitAmount": { "value": "500", "assetCode": "USD", "assetScale": 2 } }),
        )
        .await;
    assert_eq!(done["state"], "COMPLETED", "{done}");
    assert_eq!(value(&done["debitAmount"]), 500);
    assert_eq!(value(&done["receiveAmount"]), 495);
    assert_eq!(value(&done["sentAmount"]), 500);
    assert_eq!(done["liquidity"], "0");
    let incoming = p.incoming_payment(&receiver).await;
    assert_eq!(incoming["receivedAmount"]["value"], "500");
    assert_eq!(
        incoming["state"], "PROCESSING",
        "no incoming amount: never completes"
    );
    p.audit();
}

#[tokio::test]
async fn two_outgoing_payments_fill_one_incoming_payment() {
    let p = pair().await;
    let receiver = p.receiver(Some(1000)).await;
    for _ in 0..2 {
        let amount =
            json!({ "receiveAmount": { "value": "500", "assetCode": "USD", "assetScale": 2 } });
        let done = p.pay(&receiver, amount).await;
        assert_eq!(done["state"], "COMPLETED", "{done}");
    }
    let incoming = p.incoming_payment(&receiver).await;
    assert_eq!(incoming["state"], "COMPLETED");
    assert_eq!(incoming["receivedAmount"]["value"], "1000");
    p.audit();
}

#[tokio::test]
async fn a_payment_that_meets_t04_waits_for_liquidity_then_completes() {
    let p = pair().await;
    // b lets a send only 100 more.
    let b_peer = p
        .b()
        .node()
        .instance()
        .peer_by_address_and_asset("test.a", p.b().asset_id("USD").unwrap())
        .unwrap();
    p.b()
        .node()
        .instance()
        .create_peer_withdrawal(
            &uuid::Uuid::new_v4().to_string(),
            &b_peer.id.to_string(),
            CREDIT - 100,
            peerlab::instance::WithdrawalMode::SinglePhase,
        )
        .unwrap();
    let receiver = p.receiver(Some(500)).await;
    let quote = p.quote(&receiver, json!({})).await;
    let created = p.create_payment(quote["id"].as_str().unwrap()).await;
    let id = created["data"]["createOutgoingPayment"]["payment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    p.fund(&id).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let stalled = p.payment(&id).await;
    assert_eq!(stalled["state"], "SENDING", "stalled on T04");
    // No maximum packet on the path: the whole 500 is one packet, refused until b has room.
    assert_eq!(
        stalled["sentAmount"]["value"], "0",
        "nothing got through yet"
    );
    p.b()
        .node()
        .instance()
        .deposit_peer_liquidity(
            &uuid::Uuid::new_v4().to_string(),
            &b_peer.id.to_string(),
            10_000,
        )
        .unwrap();
    let done = p.finished(&id).await;
    assert_eq!(done["state"], "COMPLETED", "{done}");
    assert_eq!(value(&done["sentAmount"]), 500);
    assert_eq!(
        p.incoming_payment(&receiver).await["receivedAmount"]["value"],
        "500"
    );
    p.audit();
}

#[tokio::test]
async fn bad_quotes_and_payments_are_refused_with_rafikis_errors_and_move_nothing() {
    let p = pair().await;
    let receiver = p.receiver(Some(500)).await;
    let usd = |value: &str| json!({ "value": value, "assetCode": "USD", "assetScale": 2 });
    let cases = [
        (
            json!({ "walletAddressId": uuid::Uuid::new_v4().to_string(), "receiver": receiver }),
            ("unknown wallet address", "NOT_FOUND"),
        ),
        (
            json!({ "walletAddressId": p.alice_id, "receiver": receiver, "debitAmount": usd("0") }),
            ("invalid amount", "BAD_USER_INPUT"),
        ),
        (
            json!({ "walletAddressId": p.alice_id, "receiver": receiver,
                    "debitAmount": usd("5"), "receiveAmount": usd("5") }),
            ("invalid amount", "BAD_USER_INPUT"),
        ),
        (
            json!({ "walletAddressId": p.alice_id, "receiver": receiver,
                    "receiveAmount": usd("501") }),
            ("invalid amount", "BAD_USER_INPUT"),
        ),
        (
            json!({ "walletAddressId": p.alice_id, "receiver": p.bob_url }),
            ("invalid receiver", "BAD_USER_INPUT"),
        ),
        (
            json!({ "walletAddressId": p.alice_id, "receiver": "http://127.0.0.1:9/x/incoming-payments/1" }),
            ("invalid receiver", "BAD_USER_INPUT"),
        ),
    ];
    for (input, (message, code)) in cases {
        let answer = p.create_quote(input.clone()).await;
        assert_eq!(
            error(&answer),
            (message.to_owned(), code.to_owned()),
            "{input}: {answer}"
        );
    }

    let unknown = p.create_payment(&uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(
        error(&unknown),
        ("unknown quote".into(), "NOT_FOUND".into())
    );

    let quote = p.quote(&receiver, json!({})).await;
    let quote_id = quote["id"].as_str().unwrap();
    let created = p.create_payment(quote_id).await;
    assert_eq!(
        created["data"]["createOutgoingPayment"]["payment"]["state"],
        "FUNDING"
    );
    let again = p.create_payment(quote_id).await;
    assert_eq!(
        error(&again),
        ("invalid quote".into(), "BAD_USER_INPUT".into())
    );

    let unknown = p.fund(&uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(
        error(&unknown),
        ("Invalid transfer id".into(), "BAD_USER_INPUT".into())
    );
    assert_eq!(
        unknown["data"]["depositOutgoingPaymentLiquidity"],
        Value::Null
    );

    p.fund(quote_id).await;
    let twice = p.fund(quote_id).await;
    assert_eq!(error(&twice), ("wrong state".into(), "CONFLICT".into()));
    let done = p.finished(quote_id).await;
    assert_eq!(done["state"], "COMPLETED");
    assert_eq!(
        p.liquidity(p.a(), "test.b").await,
        CREDIT + 500,
        "paid once"
    );
    p.audit();
}

#[tokio::test]
async fn what_a_payment_did_not_spend_is_withdrawn_once() {
    let p = pair().await;
    let receiver = p.receiver(Some(500)).await;
    let done = p.pay(&receiver, json!({})).await;
    let id = done["id"].as_str().unwrap();
    let withdraw = |key: &'static str| {
        p.admin(
            p.a(),
            "mutation($input: CreateOutgoingPaymentWithdrawalInput!) {
               createOutgoingPaymentWithdrawal(input: $input) { success } }",
            json!({ "input": { "outgoingPaymentId": id, "idempotencyKey": key, "timeoutSeconds": 0 } }),
        )
    };
    let first = withdraw("k1").await;
    assert_eq!(
        first["data"]["createOutgoingPaymentWithdrawal"]["success"], true,
        "{first}"
    );
    assert_eq!(p.payment(id).await["liquidity"], "0");
    let second = withdraw("k2").await;
    assert_eq!(
        error(&second),
        ("Insufficient transfer balance".into(), "FORBIDDEN".into())
    );
    p.audit();
}

#[tokio::test]
async fn a_cross_currency_payment_receives_500_eur_at_0_91() {
    let p = pair_of(
        r#"
        [[instances]]
        name = "a"
        ilp_address = "test.a"
        [[instances]]
        name = "b"
        ilp_address = "test.b"
        rates = { base = "USD", rates = { EUR = 0.91 } }
        [[assets]]
        code = "USD"
        scale = 2
        liquidity = 100000000
        [[assets]]
        code = "EUR"
        scale = 2
        liquidity = 100000000
        [[peerings]]
        between = ["a", "b"]
        asset = "USD"
        liquidity = 1000000
        "#,
        "EUR",
    )
    .await;
    let receiver = p.receiver(None).await;
    let amount =
        json!({ "receiveAmount": { "value": "500", "assetCode": "EUR", "assetScale": 2 } });
    let quote = p.quote(&receiver, amount.clone()).await;
    assert_eq!(quote["receiveAmount"]["assetCode"], "EUR");
    assert_eq!(quote["debitAmount"]["assetCode"], "USD");
    // ceil(ceil(500 / 0.91) / 0.99): Rafiki's integration suite shows the same 556.
    assert_eq!(value(&quote["debitAmount"]), 556);
    assert_eq!(quote["estimatedExchangeRate"], 0.91);
    let done = p.pay(&receiver, amount).await;
    assert_eq!(done["state"], "COMPLETED", "{done}");
    assert_eq!(value(&done["sentAmount"]), 550, "as in Rafiki's suite");
    let incoming = p.incoming_payment(&receiver).await;
    assert_eq!(incoming["receivedAmount"]["value"], "500");
    assert_eq!(p.liquidity(p.a(), "test.b").await, 1_000_000 + 550);
    assert_eq!(p.liquidity(p.b(), "test.a").await, 1_000_000 - 550);
    p.audit();
}

#[tokio::test]
async fn a_payment_to_a_peers_peer_goes_through_the_middle_instance() {
    let network = Network::line(&["a", "m", "b"], ("USD", 2), CREDIT)
        .await
        .unwrap();
    let alice = wallet(&network.instances()[0], "alice", "USD");
    let bob = wallet(&network.instances()[2], "bob", "USD");
    let p = Pair {
        alice_id: alice.id.to_string(),
        bob_url: bob.url.clone(),
        bob_asset: "USD",
        network,
    };
    let receiver = p.receiver(Some(700)).await;
    let done = p.pay(&receiver, json!({})).await;
    assert_eq!(done["state"], "COMPLETED", "{done}");
    assert_eq!(p.incoming_payment(&receiver).await["state"], "COMPLETED");
    let m = &p.network.instances()[1];
    assert_eq!(p.liquidity(p.a(), "test.m").await, CREDIT + 700);
    assert_eq!(p.liquidity(m, "test.a").await, CREDIT - 700);
    assert_eq!(p.liquidity(m, "test.b").await, CREDIT + 700);
    assert_eq!(p.liquidity(p.b(), "test.m").await, CREDIT - 700);
    p.audit();
}

#[tokio::test]
async fn a_receiver_at_an_unknown_wallet_address_is_refused_and_nothing_moves() {
    let p = pair().await;
    let url = p.bob_url.replace("/bob", "/nobody");
    let answer = p
        .admin(
            p.a(),
            "mutation($input: CreateReceiverInput!) { createReceiver(input: $input) { receiver { id } } }",
            json!({ "input": { "walletAddressUrl": url } }),
        )
        .await;
    assert_eq!(
        error(&answer),
        ("unknown wallet address".into(), "NOT_FOUND".into()),
        "{answer}"
    );
    assert_eq!(p.liquidity(p.a(), "test.b").await, CREDIT);
    p.audit();
}

/// 200 payments at once from 20 wallet addresses over one peering: every one ends, and what
/// left the senders is exactly what the incoming payments received.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_payments_at_once_all_end_and_the_money_adds_up() {
    let p = pair().await;
    let senders: Vec<String> = (0..20)
        .map(|n| wallet(p.a(), &format!("sender-{n}"), "USD").id.to_string())
        .collect();
    let mut receivers = Vec::new();
    for _ in 0..20 {
        receivers.push(p.receiver(None).await);
    }
    let p = std::sync::Arc::new(p);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..200usize {
        let p = p.clone();
        let sender = senders[n % 20].clone();
        let receiver = receivers[n / 10].clone();
        tasks.spawn(async move {
            let debit = 100 + n as u64;
            let answer = p
                .create_quote(json!({ "walletAddressId": sender, "receiver": receiver,
                    "debitAmount": { "value": debit.to_string(), "assetCode": "USD", "assetScale": 2 } }))
                .await;
            let quote_id = answer["data"]["createQuote"]["quote"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{answer}"))
                .to_owned();
            let created = p
                .admin(
                    p.a(),
                    "mutation($input: CreateOutgoingPaymentInput!) {
                       createOutgoingPayment(input: $input) { payment { id } } }",
                    json!({ "input": { "walletAddressId": sender, "quoteId": quote_id } }),
                )
                .await;
            assert!(created["data"]["createOutgoingPayment"]["payment"]["id"].is_string(), "{created}");
            p.fund(&quote_id).await;
            p.finished(&quote_id).await
        });
    }
    let mut sent = 0;
    let mut completed = 0;
    while let Some(done) = tasks.join_next().await {
        let done = done.unwrap();
        assert!(
            done["state"] == "COMPLETED" || done["state"] == "FAILED",
            "{done}"
        );
        completed += usize::from(done["state"] == "COMPLETED");
        sent += value(&done["sentAmount"]);
    }
    let mut received = 0;
    for receiver in &receivers {
        received += p.incoming_payment(receiver).await["receivedAmount"]["value"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap();
    }
    assert_eq!(sent, received, "same asset, 1:1: what left is what arrived");
    assert_eq!(completed, 200, "enough liquidity for all");
    assert_eq!(p.liquidity(p.a(), "test.b").await, CREDIT + sent);
    p.audit();
}

/// With `MOCK_OPERATOR=true`, an outgoing payment is funded as soon as it is created, as Rafiki's
/// local environment funds it, and completes with no deposit from the client.
#[tokio::test]
async fn the_mock_operator_funds_payments_as_they_are_created() {
    let p = pair_of(
        r#"
        [[instances]]
        name = "a"
        ilp_address = "test.a"
        mock_operator = true
        [[instances]]
        name = "b"
        ilp_address = "test.b"
        [[assets]]
        code = "USD"
        scale = 2
        [[peerings]]
        between = ["a", "b"]
        asset = "USD"
        liquidity = 1000000
        "#,
        "USD",
    )
    .await;
    let receiver = p.receiver(Some(800)).await;
    let quote = p.quote(&receiver, json!({})).await;
    let created = p.create_payment(quote["id"].as_str().unwrap()).await;
    let id = created["data"]["createOutgoingPayment"]["payment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = p.finished(&id).await;
    assert_eq!(done["state"], "COMPLETED", "{done}");
    assert_eq!(value(&done["sentAmount"]), 800);
    let twice = p.fund(&id).await;
    assert_eq!(
        error(&twice),
        ("wrong state".into(), "CONFLICT".into()),
        "funded once"
    );
    p.audit();
}

/// A quote lasts no longer than its incoming payment: once both have expired, the quote makes no
/// payment ("invalid quote") and the incoming payment no quote ("invalid receiver").
#[tokio::test]
async fn expired_quotes_and_incoming_payments_are_refused_and_nothing_moves() {
    let p = pair().await;
    let expires_at =
        peerlab::text::iso_timestamp(std::time::SystemTime::now() + Duration::from_millis(1_500));
    let answer = p
        .admin(
            p.a(),
            "mutation($input: CreateReceiverInput!) { createReceiver(input: $input) { receiver { id expiresAt } } }",
            json!({ "input": { "walletAddressUrl": p.bob_url, "expiresAt": expires_at,
                "incomingAmount": { "value": "500", "assetCode": "USD", "assetScale": 2 } } }),
        )
        .await;
    let receiver = answer["data"]["createReceiver"]["receiver"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"))
        .to_owned();
    let quote = p.quote(&receiver, json!({})).await;
    let quote_expiry = quote["expiresAt"].as_str().unwrap();
    assert_eq!(
        peerlab::openpayments::incoming::parse_timestamp(quote_expiry),
        peerlab::openpayments::incoming::parse_timestamp(&expires_at),
        "the quote ends with its incoming payment"
    );
    tokio::time::sleep(Duration::from_millis(1_700)).await;
    let created = p.create_payment(quote["id"].as_str().unwrap()).await;
    assert_eq!(
        error(&created),
        ("invalid quote".into(), "BAD_USER_INPUT".into()),
        "{created}"
    );
    let again = p
        .create_quote(json!({ "walletAddressId": p.alice_id, "receiver": receiver }))
        .await;
    assert_eq!(
        error(&again),
        ("invalid receiver".into(), "BAD_USER_INPUT".into()),
        "{again}"
    );
    assert_eq!(p.liquidity(p.a(), "test.b").await, CREDIT);
    p.audit();
}

/// While a payment is SENDING, `sentAmount` is what has been fulfilled so far: packets of at
/// most 100 (b's maximum) go through until b's room for a runs out.
#[tokio::test]
async fn a_stalled_payment_shows_what_got_through() {
    let p = pair_of(
        r#"
        [[instances]]
        name = "a"
        ilp_address = "test.a"
        [[instances]]
        name = "b"
        ilp_address = "test.b"
        [[assets]]
        code = "USD"
        scale = 2
        [[peerings]]
        between = ["a", "b"]
        asset = "USD"
        liquidity = 300
        max_packet_amount = 100
        "#,
        "USD",
    )
    .await;
    let receiver = p.receiver(Some(500)).await;
    let quote = p.quote(&receiver, json!({})).await;
    let created = p.create_payment(quote["id"].as_str().unwrap()).await;
    let id = created["data"]["createOutgoingPayment"]["payment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    p.fund(&id).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let stalled = p.payment(&id).await;
    assert_eq!(stalled["state"], "SENDING", "{stalled}");
    assert_eq!(stalled["sentAmount"]["value"], "300", "{stalled}");
    assert_eq!(
        p.incoming_payment(&receiver).await["receivedAmount"]["value"],
        "300"
    );
    p.audit();
}

/// With `MOCK_OPERATOR=true` on the receiving side, a peer whose liquidity falls to its threshold
/// is topped up by 1,000,000 once, as Rafiki's mock operator answers `peer.liquidity_low`.
#[tokio::test]
async fn the_mock_operator_tops_up_a_peer_whose_liquidity_runs_low() {
    let p = pair_of(
        r#"
        [[instances]]
        name = "a"
        ilp_address = "test.a"
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
        liquidity = 1000
        "#,
        "USD",
    )
    .await;
    let b = p.b().node().instance();
    let peer = b
        .peer_by_address_and_asset("test.a", p.b().asset_id("USD").unwrap())
        .unwrap();
    b.update_peer(peerlab::instance::PeerUpdate {
        id: peer.id.to_string(),
        liquidity_threshold: Some(600),
        ..peerlab::instance::PeerUpdate::default()
    })
    .unwrap();
    let receiver = p.receiver(Some(500)).await;
    let done = p.pay(&receiver, json!({})).await;
    assert_eq!(done["state"], "COMPLETED", "{done}");
    // 1000 - 500 = 500, at or below 600: one alert, one top-up.
    let mut liquidity = 0;
    for _ in 0..100 {
        liquidity = p.liquidity(p.b(), "test.a").await;
        if liquidity != 500 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(liquidity, 500 + 1_000_000);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(p.liquidity(p.b(), "test.a").await, 500 + 1_000_000, "once");
    p.audit();
}

/// A payment stalled on T04 keeps trying until its quote's time runs out (here the incoming
/// payment's expiry, 2 s away), then fails with the reason; nothing it did not send has left its
/// account.
#[tokio::test]
async fn a_payment_stalled_on_t04_fails_when_its_quote_expires_and_keeps_its_money() {
    let p = pair().await;
    let b = p.b().node().instance();
    let peer = b
        .peer_by_address_and_asset("test.a", p.b().asset_id("USD").unwrap())
        .unwrap();
    b.create_peer_withdrawal(
        &uuid::Uuid::new_v4().to_string(),
        &peer.id.to_string(),
        CREDIT - 100,
        peerlab::instance::WithdrawalMode::SinglePhase,
    )
    .unwrap();
    let expires_at =
        peerlab::text::iso_timestamp(std::time::SystemTime::now() + Duration::from_secs(2));
    let answer = p
        .admin(
            p.a(),
            "mutation($input: CreateReceiverInput!) { createReceiver(input: $input) { receiver { id } } }",
            json!({ "input": { "walletAddressUrl": p.bob_url, "expiresAt": expires_at,
                "incomingAmount": { "value": "500", "assetCode": "USD", "assetScale": 2 } } }),
        )
        .await;
    let receiver = answer["data"]["createReceiver"]["receiver"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"))
        .to_owned();
    let done = p.pay(&receiver, json!({})).await;
    assert_eq!(done["state"], "FAILED", "{done}");
    let error = done["error"].as_str().unwrap();
    assert!(error.contains("T04"), "{error}");
    assert_eq!(done["sentAmount"]["value"], "0");
    assert_eq!(
        done["liquidity"], "506",
        "all it was funded with is still there"
    );
    assert_eq!(p.liquidity(p.a(), "test.b").await, CREDIT);
    p.audit();
}
