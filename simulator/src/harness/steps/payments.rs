//! Rafiki's payment operations, sent as Rafiki's own integration suite sends them (its test-lib's
//! operations, under `fixtures/graphql/rafiki/`): receivers, quotes, outgoing payments, funding.

use std::time::Duration;

use crate::Topology;
use cucumber::{given, then, when};
use peerlab::instance::{NewWalletAddress, WithdrawalMode};
use serde_json::{Value, json};

use crate::harness::world::{PeeringWorld, new_id, operation};

/// How long a payment may take to leave SENDING before a step gives up.
const PAYMENT_WAIT: Duration = Duration::from_secs(20);

fn names(list: &str) -> Vec<String> {
    list.split('"')
        .filter(|part| !part.is_empty() && part.chars().all(|c| c.is_alphanumeric()))
        .map(str::to_owned)
        .collect()
}

#[given(
    expr = "instances {string} and {string} peered in USD with {int} of liquidity each way, {string} also holding EUR at {float} per USD"
)]
async fn cross_currency_pair(
    w: &mut PeeringWorld,
    a: String,
    b: String,
    liquidity: u64,
    eur_holder: String,
    rate: f64,
) {
    let rates = |name: &str| {
        if name == eur_holder {
            format!("rates = {{ base = \"USD\", rates = {{ EUR = {rate} }} }}")
        } else {
            String::new()
        }
    };
    let topology = Topology::parse(&format!(
        r#"
        [[instances]]
        name = "{a}"
        ilp_address = "test.{a}"
        {}
        [[instances]]
        name = "{b}"
        ilp_address = "test.{b}"
        {}
        [[assets]]
        code = "USD"
        scale = 2
        liquidity = 100000000
        [[assets]]
        code = "EUR"
        scale = 2
        liquidity = 100000000
        [[peerings]]
        between = ["{a}", "{b}"]
        asset = "USD"
        liquidity = {liquidity}
        "#,
        rates(&a),
        rates(&b),
    ))
    .expect("topology");
    w.start_topology(&topology).await;
}

#[given(
    regex = r#"^((?:"\w+"(?:, | and )?)+) (?:has|have) the wallet address "([^"]+)" in (\w+)$"#
)]
async fn wallet_addresses(w: &mut PeeringWorld, instances: String, address: String, code: String) {
    for instance in names(&instances) {
        let asset_id = w.asset_id(&instance, &code);
        let wallet = w
            .embedded(&instance)
            .node()
            .instance()
            .create_wallet_address(NewWalletAddress {
                asset_id,
                address: address.clone(),
                ..NewWalletAddress::default()
            })
            .expect("wallet address");
        w.wallet_addresses
            .insert((instance, address.clone()), wallet.id.to_string());
    }
}

fn wallet_url(w: &PeeringWorld, instance: &str, address: &str) -> String {
    w.wallet_url(instance, address)
}

async fn create_receiver(
    w: &mut PeeringWorld,
    on: &str,
    address: &str,
    holder: &str,
    amount: Option<(u64, &str)>,
) {
    let mut input = json!({ "walletAddressUrl": wallet_url(w, holder, address) });
    if let Some((value, code)) = amount {
        let scale = w.asset_scale(holder, code).await;
        input["incomingAmount"] = json!({
            "value": value.to_string(),
            "assetCode": w.asset_code(code),
            "assetScale": scale,
        });
    }
    w.send(
        on,
        &operation("rafiki/CreateReceiver"),
        json!({ "input": input }),
    )
    .await;
    if let Some(url) = w
        .payload()
        .and_then(|answer| answer["receiver"]["id"].as_str().map(str::to_owned))
    {
        w.receiver_url = Some((holder.to_owned(), url));
    }
}

#[when(expr = "{string} creates a receiver for {string} at {string} expecting {int} {word}")]
async fn receiver_expecting(
    w: &mut PeeringWorld,
    on: String,
    address: String,
    holder: String,
    value: u64,
    code: String,
) {
    create_receiver(w, &on, &address, &holder, Some((value, &code))).await;
}

#[when(expr = "{string} creates a receiver for {string} at {string}")]
async fn receiver_open(w: &mut PeeringWorld, on: String, address: String, holder: String) {
    create_receiver(w, &on, &address, &holder, None).await;
}

/// The instance holding the wallet address the last receiver pays into.
fn receiver_holder(w: &PeeringWorld) -> String {
    w.receiver_url
        .as_ref()
        .map(|(holder, _)| holder.clone())
        .expect("a receiver was created")
}

fn receiver(w: &PeeringWorld) -> String {
    w.receiver_url
        .as_ref()
        .map(|(_, url)| url.clone())
        .expect("a receiver was created")
}

async fn quote(w: &mut PeeringWorld, on: &str, from: &str, amount: Option<(&str, u64, &str)>) {
    let mut input = json!({
        "walletAddressId": w.wallet_address_id(on, from),
        "receiver": receiver(w),
    });
    if let Some((field, value, code)) = amount {
        // The amount is in the asset of the wallet address it is paid from or into.
        let on_instance = if field == "debitAmount" {
            on.to_owned()
        } else {
            receiver_holder(w)
        };
        let scale = w.asset_scale(&on_instance, code).await;
        input[field] = json!({
            "value": value.to_string(),
            "assetCode": w.asset_code(code),
            "assetScale": scale,
        });
    }
    w.send(
        on,
        &operation("rafiki/CreateQuote"),
        json!({ "input": input }),
    )
    .await;
    if let Some(quote) = w.payload().map(|answer| answer["quote"].clone())
        && quote.is_object()
    {
        w.quote = Some((on.to_owned(), quote));
    }
}

#[when(expr = "{string} quotes paying the receiver from {string}")]
async fn quotes(w: &mut PeeringWorld, on: String, from: String) {
    quote(w, &on, &from, None).await;
}

#[when(expr = "{string} quotes paying the receiver from {string} to receive {int} {word}")]
async fn quotes_receive(w: &mut PeeringWorld, on: String, from: String, value: u64, code: String) {
    quote(w, &on, &from, Some(("receiveAmount", value, &code))).await;
}

#[when(expr = "{string} quotes paying the receiver from {string} to send {int} {word}")]
async fn quotes_send(w: &mut PeeringWorld, on: String, from: String, value: u64, code: String) {
    quote(w, &on, &from, Some(("debitAmount", value, &code))).await;
}

/// An Open Payments amount: its value, in the asset the scenario names and that asset's scale.
fn amount_is(w: &PeeringWorld, amount: &Value, value: u64, code: &str) {
    assert_eq!(amount["value"], json!(value.to_string()), "{amount}");
    assert_eq!(amount["assetCode"], json!(w.asset_code(code)), "{amount}");
    if let Some(scale) = w.known_scale(code) {
        assert_eq!(amount["assetScale"], json!(scale), "{amount}");
    }
}

#[then(expr = "the quote debits {int} {word} and receives {int} {word}")]
fn quote_amounts(w: &mut PeeringWorld, debit: u64, debit_code: String, receive: u64, code: String) {
    let (_, quote) = w.quote.as_ref().expect("a quote");
    amount_is(w, &quote["debitAmount"], debit, &debit_code);
    amount_is(w, &quote["receiveAmount"], receive, &code);
}

async fn create_outgoing_payment(w: &mut PeeringWorld, on: &str, from: &str) {
    let (_, quote) = w.quote.clone().expect("a quote");
    let input = json!({
        "walletAddressId": w.wallet_address_id(on, from),
        "quoteId": quote["id"],
        "metadata": { "description": "peerlab feature" },
    });
    w.send(
        on,
        &operation("rafiki/CreateOutgoingPayment"),
        json!({ "input": input }),
    )
    .await;
    if let Some(id) = w
        .payload()
        .and_then(|answer| answer["payment"]["id"].as_str().map(str::to_owned))
    {
        w.outgoing_payment = Some((on.to_owned(), id));
    }
}

#[when(expr = "{string} creates the outgoing payment from {string} with the quote")]
async fn creates_payment(w: &mut PeeringWorld, on: String, from: String) {
    create_outgoing_payment(w, &on, &from).await;
}

#[when(expr = "{string} creates an outgoing payment from {string} straight from the receiver")]
async fn creates_from_incoming(w: &mut PeeringWorld, on: String, from: String) {
    let input = json!({
        "walletAddressId": w.wallet_address_id(&on, &from),
        "incomingPayment": receiver(w),
    });
    w.send(
        &on,
        &operation("rafiki/CreateOutgoingPaymentFromIncomingPayment"),
        json!({ "input": input }),
    )
    .await;
    if let Some(id) = w
        .payload()
        .and_then(|answer| answer["payment"]["id"].as_str().map(str::to_owned))
    {
        w.outgoing_payment = Some((on, id));
    }
}

fn outgoing_payment(w: &PeeringWorld) -> (String, String) {
    w.outgoing_payment.clone().expect("an outgoing payment")
}

#[when("the outgoing payment is funded")]
async fn funds(w: &mut PeeringWorld) {
    let (on, id) = outgoing_payment(w);
    let input = json!({ "outgoingPaymentId": id, "idempotencyKey": new_id() });
    w.send(
        &on,
        &operation("rafiki/DepositOutgoingPaymentLiquidity"),
        json!({ "input": input }),
    )
    .await;
}

#[given(
    expr = "{string} has paid {string} at {string} {int} {word} from {string} with a quote, an outgoing payment and its funding"
)]
async fn has_paid(
    w: &mut PeeringWorld,
    on: String,
    address: String,
    holder: String,
    value: u64,
    code: String,
    from: String,
) {
    create_receiver(w, &on, &address, &holder, Some((value, &code))).await;
    quote(w, &on, &from, None).await;
    create_outgoing_payment(w, &on, &from).await;
    funds(w).await;
    let payment = finished(w).await;
    assert_eq!(payment["state"], "COMPLETED", "{payment}");
}

async fn read_outgoing_payment(w: &mut PeeringWorld) -> Value {
    let (on, id) = outgoing_payment(w);
    let response = w
        .instance(&on)
        .admin()
        .request(&operation("rafiki/GetOutgoingPayment"), json!({ "id": id }))
        .await
        .expect("outgoingPayment");
    response["data"]["outgoingPayment"].clone()
}

/// The outgoing payment once it has left FUNDING and SENDING.
async fn finished(w: &mut PeeringWorld) -> Value {
    let started = std::time::Instant::now();
    loop {
        let payment = read_outgoing_payment(w).await;
        let state = payment["state"].as_str().unwrap_or_default().to_owned();
        if state != "SENDING" && state != "FUNDING" {
            return payment;
        }
        assert!(
            started.elapsed() < PAYMENT_WAIT,
            "the payment did not finish: {payment}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[then(expr = "the outgoing payment is {word}")]
async fn payment_state(w: &mut PeeringWorld, state: String) {
    let payment = read_outgoing_payment(w).await;
    assert_eq!(payment["state"], json!(state), "{payment}");
}

#[then(expr = "the outgoing payment is still SENDING after {float} seconds")]
async fn still_sending(w: &mut PeeringWorld, seconds: f64) {
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    let payment = read_outgoing_payment(w).await;
    assert_eq!(payment["state"], "SENDING", "{payment}");
}

#[then(expr = "the outgoing payment completes having sent {int} {word}")]
async fn completes(w: &mut PeeringWorld, value: u64, code: String) {
    let payment = finished(w).await;
    assert_eq!(payment["state"], "COMPLETED", "{payment}");
    amount_is(w, &payment["sentAmount"], value, &code);
}

#[then(expr = "the outgoing payment fails with an error containing {string}")]
async fn fails(w: &mut PeeringWorld, reason: String) {
    let payment = finished(w).await;
    assert_eq!(payment["state"], "FAILED", "{payment}");
    let error = payment["error"].as_str().unwrap_or_default();
    assert!(error.contains(&reason), "{payment}");
}

#[then(expr = "the incoming payment is {word} having received {int} {word}")]
async fn incoming_payment(w: &mut PeeringWorld, state: String, value: u64, code: String) {
    let (holder, url) = w.receiver_url.clone().expect("a receiver");
    let id = url.rsplit('/').next().unwrap_or_default().to_owned();
    let response = w
        .instance(&holder)
        .admin()
        .request(&operation("rafiki/GetIncomingPayment"), json!({ "id": id }))
        .await
        .expect("incomingPayment");
    let payment = &response["data"]["incomingPayment"];
    assert_eq!(payment["state"], json!(state), "{payment}");
    amount_is(w, &payment["receivedAmount"], value, &code);
}

fn peer_of(w: &PeeringWorld, instance: &str, other: &str) -> String {
    let address = w.instance(other).ilp_address().as_str().to_owned();
    let asset = w.asset_id(instance, "USD");
    w.embedded(instance)
        .node()
        .instance()
        .peer_by_address_and_asset(&address, &asset)
        .map(|peer| peer.id.to_string())
        .unwrap_or_else(|| panic!("{instance} has no peer {other}"))
}

#[given(expr = "{string} lets {string} send only {int} more")]
fn lets_send_only(w: &mut PeeringWorld, instance: String, other: String, left: u64) {
    let peer = peer_of(w, &instance, &other);
    let state = w.embedded(&instance).node().instance();
    let id = uuid::Uuid::parse_str(&peer).expect("peer id");
    let balance = state.peer_liquidity(id).expect("liquidity");
    state
        .create_peer_withdrawal(
            &new_id(),
            &peer,
            balance - left,
            WithdrawalMode::SinglePhase,
        )
        .expect("withdrawal");
}

#[when(expr = "{string} adds {int} to the liquidity it grants {string}")]
fn tops_up(w: &mut PeeringWorld, instance: String, amount: u64, other: String) {
    let peer = peer_of(w, &instance, &other);
    w.embedded(&instance)
        .node()
        .instance()
        .deposit_peer_liquidity(&new_id(), &peer, amount)
        .expect("deposit");
}

#[given(expr = "{string} is warned when the liquidity it grants {string} falls to {int}")]
fn liquidity_threshold(w: &mut PeeringWorld, instance: String, other: String, threshold: u64) {
    let peer = peer_of(w, &instance, &other);
    w.embedded(&instance)
        .node()
        .instance()
        .update_peer(peerlab::instance::PeerUpdate {
            id: peer,
            liquidity_threshold: Some(threshold),
            ..peerlab::instance::PeerUpdate::default()
        })
        .expect("threshold");
}

/// The types of the events `instance` recorded, oldest first, read with Rafiki's
/// `webhookEvents` query.
async fn event_types(w: &PeeringWorld, instance: &str) -> Vec<(String, Value)> {
    let response = w
        .instance(instance)
        .admin()
        .request(
            "{ webhookEvents(first: 100, sortOrder: ASC) { edges { node { id type data createdAt } } } }",
            json!({}),
        )
        .await
        .expect("webhookEvents");
    response["data"]["webhookEvents"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no events: {response}"))
        .iter()
        .map(|edge| {
            (
                edge["node"]["type"].as_str().unwrap_or_default().to_owned(),
                edge["node"]["data"].clone(),
            )
        })
        .collect()
}

#[then(expr = "{string} has recorded the events {string}")]
async fn recorded_events(w: &mut PeeringWorld, instance: String, types: String) {
    let expected: Vec<&str> = types.split(", ").collect();
    // The last event of a payment is recorded as it finishes: give the packets' side a moment.
    let started = std::time::Instant::now();
    loop {
        let events = event_types(w, &instance).await;
        let recorded: Vec<&str> = events.iter().map(|(kind, _)| kind.as_str()).collect();
        if recorded == expected {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{instance} recorded {recorded:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[then(expr = "the {string} event of {string} is about its peer {string} with a balance of {int}")]
async fn liquidity_event(
    w: &mut PeeringWorld,
    kind: String,
    instance: String,
    other: String,
    balance: u64,
) {
    let peer = peer_of(w, &instance, &other);
    let events = event_types(w, &instance).await;
    let (_, data) = events
        .iter()
        .find(|(recorded, _)| *recorded == kind)
        .unwrap_or_else(|| panic!("no {kind} event on {instance}"));
    assert_eq!(data["id"], json!(peer), "{data}");
    assert_eq!(data["balance"], json!(balance.to_string()), "{data}");
    assert_eq!(data["asset"]["code"], "USD", "{data}");
}

/// Referenced by the harness so that the linker keeps this module, and its steps (see `steps`).
#[inline(never)]
pub(crate) fn keep_linked() {}
