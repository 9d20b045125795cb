use cucumber::{given, when};
use serde_json::{Value, json};

use crate::harness::world::{PeeringWorld, new_id, operation};

/// The guide's AddPeerLiquidity variables.
fn guide_deposit(peer_id: &str, amount: Value, id: &str) -> Value {
    json!({ "input": { "peerId": peer_id, "amount": amount, "id": id } })
}

#[when(expr = "{string} adds {int} of liquidity to its peer {string} as the guide shows")]
async fn adds_liquidity(w: &mut PeeringWorld, instance: String, amount: u64, counterparty: String) {
    let peer = w.only_peer_id(&instance, &counterparty);
    let variables = guide_deposit(&peer, json!(amount.to_string()), &new_id());
    w.send(&instance, &operation("seed/AddPeerLiquidity"), variables)
        .await;
}

#[given(expr = "{string} has added {int} of liquidity to its peer {string}")]
async fn has_added_liquidity(
    w: &mut PeeringWorld,
    instance: String,
    amount: u64,
    counterparty: String,
) {
    let peer = w.only_peer_id(&instance, &counterparty);
    let variables = guide_deposit(&peer, json!(amount.to_string()), &new_id());
    w.must(&instance, &operation("seed/AddPeerLiquidity"), variables)
        .await;
}

#[when(
    expr = "{string} adds {int} of liquidity to its peer {string} with the transfer id {string}"
)]
async fn adds_with_transfer_id(
    w: &mut PeeringWorld,
    instance: String,
    amount: u64,
    counterparty: String,
    id: String,
) {
    let peer = w.only_peer_id(&instance, &counterparty);
    let id = w.scenario_id(&id);
    let variables = guide_deposit(&peer, json!(amount), &id);
    w.send(&instance, &operation("seed/AddPeerLiquidity"), variables)
        .await;
}

#[when(
    regex = r#"^"([^"]+)" adds liquidity to its peer "([^"]+)" with (an amount of 0|an unknown peer id|the transfer id "([^"]*)")$"#
)]
async fn adds_bad_liquidity(
    w: &mut PeeringWorld,
    instance: String,
    counterparty: String,
    what: String,
    transfer_id: String,
) {
    let mut peer = w.only_peer_id(&instance, &counterparty);
    let (mut amount, mut id) = (json!("100"), new_id());
    match what.as_str() {
        "an amount of 0" => amount = json!("0"),
        "an unknown peer id" => peer = new_id(),
        _ => id = w.scenario_id(&transfer_id),
    }
    let variables = guide_deposit(&peer, amount, &id);
    w.send(&instance, &operation("seed/AddPeerLiquidity"), variables)
        .await;
}

#[when(regex = r#"^"([^"]+)" adds liquidity to its peer "([^"]+)" with the raw amount (.+)$"#)]
async fn adds_raw_amount(
    w: &mut PeeringWorld,
    instance: String,
    counterparty: String,
    raw: String,
) {
    let peer = w.only_peer_id(&instance, &counterparty);
    let amount: Value = serde_json::from_str(&raw).expect("a JSON amount");
    let variables = guide_deposit(&peer, amount, &new_id());
    w.send(&instance, &operation("seed/AddPeerLiquidity"), variables)
        .await;
}

#[when(expr = "{string} deposits {int} into its peer {string} with depositPeerLiquidity")]
async fn deposits_today(w: &mut PeeringWorld, instance: String, amount: u64, counterparty: String) {
    deposit_with_key(w, &instance, amount, &counterparty, &new_id()).await;
}

#[when(expr = "{string} deposits {int} into its peer {string} with idempotency key {string}")]
async fn deposits_with_key(
    w: &mut PeeringWorld,
    instance: String,
    amount: u64,
    counterparty: String,
    key: String,
) {
    deposit_with_key(w, &instance, amount, &counterparty, &key).await;
}

async fn deposit_with_key(
    w: &mut PeeringWorld,
    instance: &str,
    amount: u64,
    counterparty: &str,
    key: &str,
) {
    let peer = w.only_peer_id(instance, counterparty);
    let key = w.idempotency_key(key);
    let input = json!({ "peerId": peer, "amount": amount.to_string(), "id": new_id(), "idempotencyKey": key });
    w.send(
        instance,
        &operation("rafiki/DepositPeerLiquidity"),
        json!({ "input": input }),
    )
    .await;
}

#[when(expr = "{string} sends exactly the same deposit again")]
async fn same_deposit_again(w: &mut PeeringWorld, instance: String) {
    w.retry(&instance, "depositPeerLiquidity").await;
}

#[when(expr = "{string} sends the same deposit again but with the amount {int}")]
async fn same_deposit_other_amount(w: &mut PeeringWorld, instance: String, amount: u64) {
    w.retry_changed(&instance, "depositPeerLiquidity", |input| {
        input["amount"] = json!(amount.to_string())
    })
    .await;
}

#[when(expr = "{string} sends the same deposit again but with the peer id of its peer {string}")]
async fn same_deposit_other_peer(w: &mut PeeringWorld, instance: String, counterparty: String) {
    let peer = w.only_peer_id(&instance, &counterparty);
    w.retry_changed(&instance, "depositPeerLiquidity", |input| {
        input["peerId"] = json!(peer)
    })
    .await;
}

/// Referenced by the harness so that the linker keeps this module, and its steps (see `steps`).
#[inline(never)]
pub(crate) fn keep_linked() {}
