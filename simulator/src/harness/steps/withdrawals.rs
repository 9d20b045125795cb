use cucumber::{given, then, when};
use serde_json::{Value, json};

use crate::harness::world::{Dialect, PeeringWorld, for_dialect, new_id, operation};

/// The id for a scenario's withdrawal label, made up the first time it is named.
fn withdrawal_id(w: &mut PeeringWorld, label: &str) -> String {
    w.withdrawals
        .entry(label.to_owned())
        .or_insert_with(new_id)
        .clone()
}

fn guide_withdrawal(peer_id: &str, amount: u64, id: &str) -> Value {
    json!({ "input": { "peerId": peer_id, "amount": amount.to_string(), "id": id } })
}

/// What a withdrawal is created with besides its amount and peer.
#[derive(Default)]
struct Extras<'a> {
    timeout_seconds: Option<u64>,
    idempotency_key: Option<&'a str>,
}

/// Sends the guide's CreatePeerLiquidityWithdrawal for the labelled withdrawal, with
/// `timeoutSeconds` and `idempotencyKey` when given.
async fn create_withdrawal(
    w: &mut PeeringWorld,
    instance: &str,
    label: &str,
    amount: u64,
    counterparty: &str,
    extras: Extras<'_>,
) {
    let peer = w.only_peer_id(instance, counterparty);
    let id = withdrawal_id(w, label);
    let mut variables = guide_withdrawal(&peer, amount, &id);
    if let Some(seconds) = extras.timeout_seconds {
        variables["input"]["timeoutSeconds"] = json!(seconds);
    }
    if let Some(key) = extras.idempotency_key {
        variables["input"]["idempotencyKey"] = json!(key);
    }
    let query = operation("seed/CreatePeerLiquidityWithdrawal");
    w.send(instance, &query, variables).await;
}

#[when(
    expr = "{string} creates the withdrawal {string} of {int} from its peer {string} as the guide shows"
)]
async fn creates_withdrawal(
    w: &mut PeeringWorld,
    instance: String,
    label: String,
    amount: u64,
    counterparty: String,
) {
    create_withdrawal(
        w,
        &instance,
        &label,
        amount,
        &counterparty,
        Extras::default(),
    )
    .await;
}

#[given(expr = "{string} has created the withdrawal {string} of {int} from its peer {string}")]
async fn has_created_withdrawal(
    w: &mut PeeringWorld,
    instance: String,
    label: String,
    amount: u64,
    counterparty: String,
) {
    create_withdrawal(
        w,
        &instance,
        &label,
        amount,
        &counterparty,
        Extras::default(),
    )
    .await;
    let answer = w.answer();
    assert_eq!(answer["success"], json!(true), "{answer}");
}

#[when(
    expr = "{string} creates the withdrawal {string} of {int} from its peer {string} that expires after {int} second(s)"
)]
async fn creates_expiring_withdrawal(
    w: &mut PeeringWorld,
    instance: String,
    label: String,
    amount: u64,
    counterparty: String,
    seconds: u64,
) {
    let extras = Extras {
        timeout_seconds: Some(seconds),
        ..Extras::default()
    };
    create_withdrawal(w, &instance, &label, amount, &counterparty, extras).await;
}

#[when(
    expr = "{string} creates the withdrawal {string} of {int} from its peer {string} with idempotency key {string}"
)]
async fn creates_withdrawal_with_key(
    w: &mut PeeringWorld,
    instance: String,
    label: String,
    amount: u64,
    counterparty: String,
    key: String,
) {
    let key = w.idempotency_key(&key);
    let extras = Extras {
        idempotency_key: Some(&key),
        ..Extras::default()
    };
    create_withdrawal(w, &instance, &label, amount, &counterparty, extras).await;
}

#[when(expr = "{string} sends the same withdrawal again but with the amount {int}")]
async fn same_withdrawal_other_amount(w: &mut PeeringWorld, instance: String, amount: u64) {
    w.retry_changed(&instance, "createPeerLiquidityWithdrawal", |input| {
        input["amount"] = json!(amount.to_string())
    })
    .await;
}

#[when(expr = "{string} sends the same withdrawal again but with a timeout of {int} second(s)")]
async fn same_withdrawal_other_timeout(w: &mut PeeringWorld, instance: String, seconds: u64) {
    w.retry_changed(&instance, "createPeerLiquidityWithdrawal", |input| {
        input["timeoutSeconds"] = json!(seconds)
    })
    .await;
}

fn resolution_operation(verb: &str) -> String {
    match verb {
        "posts" | "posted" => operation("seed/PostLiquidityWithdrawal"),
        _ => operation("seed/VoidLiquidityWithdrawal"),
    }
}

#[when(regex = r#"^"([^"]+)" (posts|voids) the withdrawal "([^"]+)" as the guide shows$"#)]
async fn resolves_withdrawal(w: &mut PeeringWorld, instance: String, verb: String, label: String) {
    let id = withdrawal_id(w, &label);
    w.send(
        &instance,
        &resolution_operation(&verb),
        json!({ "withdrawalId": id }),
    )
    .await;
}

#[given(regex = r#"^"([^"]+)" has (posted|voided) the withdrawal "([^"]+)"$"#)]
async fn has_resolved_withdrawal(
    w: &mut PeeringWorld,
    instance: String,
    verb: String,
    label: String,
) {
    let id = withdrawal_id(w, &label);
    w.must(
        &instance,
        &resolution_operation(&verb),
        json!({ "withdrawalId": id }),
    )
    .await;
}

#[when(expr = "{string} posts the withdrawal with id {string}")]
async fn posts_by_id(w: &mut PeeringWorld, instance: String, id: String) {
    let id = w.scenario_id(&id);
    w.send(
        &instance,
        &operation("seed/PostLiquidityWithdrawal"),
        json!({ "withdrawalId": id }),
    )
    .await;
}

#[when(expr = "{string} posts the withdrawal {string} with idempotency key {string}")]
async fn posts_with_key(w: &mut PeeringWorld, instance: String, label: String, key: String) {
    let id = withdrawal_id(w, &label);
    let input = json!({ "withdrawalId": id, "idempotencyKey": w.idempotency_key(&key) });
    w.send(
        &instance,
        &operation("rafiki/PostLiquidityWithdrawal"),
        json!({ "input": input }),
    )
    .await;
}

#[when(expr = "{float} seconds pass")]
async fn seconds_pass(_w: &mut PeeringWorld, seconds: f64) {
    tokio::time::sleep(std::time::Duration::from_secs_f64(seconds)).await;
}

#[when(
    expr = "{string} creates {int} withdrawals of {int} from its peer {string} at the same time"
)]
async fn concurrent_withdrawals(
    w: &mut PeeringWorld,
    instance: String,
    count: usize,
    amount: u64,
    counterparty: String,
) {
    let peer = w.only_peer_id(&instance, &counterparty);
    let admin = w.instance(&instance).admin().clone();
    let query = for_dialect(
        &operation("seed/CreatePeerLiquidityWithdrawal"),
        w.dialect_of(&instance),
    );
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..count {
        let (admin, query) = (admin.clone(), query.clone());
        let variables = guide_withdrawal(&peer, amount, &new_id());
        requests.spawn(async move { admin.request(&query, variables).await });
    }
    w.concurrent.clear();
    w.concurrent_dialect = Some(w.dialect_of(&instance));
    while let Some(done) = requests.join_next().await {
        let response = done.expect("request task").expect("admin API reachable");
        w.concurrent.push(response);
    }
}

#[then(expr = "exactly {int} of them succeed and the others are refused for insufficient balance")]
fn concurrent_outcome(w: &mut PeeringWorld, succeeded: usize) {
    let ok = w
        .concurrent
        .iter()
        .filter(|r| r["data"]["createPeerLiquidityWithdrawal"]["success"] == json!(true))
        .count();
    let dialect = w
        .concurrent_dialect
        .expect("requests sent at the same time");
    let insufficient = |response: &&Value| match dialect {
        Dialect::Seed => {
            response["data"]["createPeerLiquidityWithdrawal"]["error"]
                == json!("InsufficientBalance")
        }
        Dialect::V2 => {
            response["data"] == json!({ "createPeerLiquidityWithdrawal": null })
                && response["errors"][0]["message"] == json!("Insufficient transfer balance")
                && response["errors"][0]["extensions"]["code"] == json!("FORBIDDEN")
        }
    };
    let refused = w.concurrent.iter().filter(insufficient).count();
    assert_eq!(ok, succeeded, "{:?}", w.concurrent);
    assert_eq!(ok + refused, w.concurrent.len(), "{:?}", w.concurrent);
}

/// Referenced by the harness so that the linker keeps this module, and its steps (see `steps`).
#[inline(never)]
pub(crate) fn keep_linked() {}
