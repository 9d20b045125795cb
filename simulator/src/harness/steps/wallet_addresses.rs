use cucumber::{given, then, when};
use serde_json::json;

use crate::harness::world::{PeeringWorld, operation};

/// Sends Rafiki's CreateWalletAddress and remembers the wallet address on success.
async fn create_wallet_address(
    w: &mut PeeringWorld,
    instance: &str,
    address: &str,
    code: &str,
    name: &str,
) {
    let input = json!({
        "assetId": w.asset_id(instance, code),
        // A full URL on a real target (Rafiki's instances differ in what they take as a path);
        // a URL the scenario wrote (one outside the instance, say) as it is.
        "address": if w.on_targets() && !address.contains("://") {
            w.wallet_url(instance, address)
        } else {
            address.to_owned()
        },
        "publicName": name,
    });
    w.send(
        instance,
        &operation("rafiki/CreateWalletAddress"),
        json!({ "input": input }),
    )
    .await;
    let created = w
        .payload()
        .and_then(|answer| answer["walletAddress"]["id"].as_str().map(str::to_owned));
    if let Some(id) = created {
        w.wallet_addresses
            .insert((instance.to_owned(), address.to_owned()), id);
    }
}

#[when(expr = "{string} creates the wallet address {string} in {word} named {string}")]
async fn creates_wallet_address(
    w: &mut PeeringWorld,
    instance: String,
    address: String,
    code: String,
    name: String,
) {
    create_wallet_address(w, &instance, &address, &code, &name).await;
}

#[given(expr = "{string} has created the wallet address {string} in {word} named {string}")]
async fn has_created_wallet_address(
    w: &mut PeeringWorld,
    instance: String,
    address: String,
    code: String,
    name: String,
) {
    create_wallet_address(w, &instance, &address, &code, &name).await;
    assert!(
        w.wallet_addresses
            .contains_key(&(instance.clone(), address.clone())),
        "not created: {}",
        w.response()
    );
}

#[when(expr = "{string} deactivates the wallet address {string}")]
async fn deactivates(w: &mut PeeringWorld, instance: String, address: String) {
    let id = w.wallet_address_id(&instance, &address);
    w.send(
        &instance,
        &operation("rafiki/UpdateWalletAddress"),
        json!({ "input": { "id": id, "status": "INACTIVE" } }),
    )
    .await;
}

#[then(
    expr = "the wallet address {string} of {string} is named {string} in {word}, {word}, holding {int}"
)]
async fn wallet_address_is(
    w: &mut PeeringWorld,
    address: String,
    instance: String,
    name: String,
    code: String,
    status: String,
    balance: u64,
) {
    let id = w.wallet_address_id(&instance, &address);
    let response = w
        .send(
            &instance,
            &operation("rafiki/GetWalletAddress"),
            json!({ "id": id }),
        )
        .await;
    let wallet = &response["data"]["walletAddress"];
    let url = w.wallet_url(&instance, &address);
    assert_eq!(
        (
            &wallet["address"],
            &wallet["publicName"],
            &wallet["asset"]["code"],
            &wallet["status"],
            &wallet["liquidity"],
        ),
        (
            &json!(url),
            &json!(name),
            &json!(w.asset_code(&code)),
            &json!(status),
            &json!(balance.to_string()),
        ),
        "{response}"
    );
}

#[then(expr = "{string} has {int} wallet address(es)")]
async fn wallet_address_count(w: &mut PeeringWorld, instance: String, count: usize) {
    let listed = w.wallet_address_count(&instance).await;
    assert_eq!(listed, count, "{}", w.response());
}

/// Referenced by the harness so that the linker keeps this module, and its steps (see `steps`).
#[inline(never)]
pub(crate) fn keep_linked() {}
