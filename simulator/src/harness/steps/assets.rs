use cucumber::{given, then, when};
use serde_json::json;

use crate::harness::world::{PeeringWorld, expect_amount, new_id, operation};

/// Sends the guide's CreateAsset and remembers the id on success.
pub async fn create_asset(w: &mut PeeringWorld, instance: &str, code: &str, scale: u8) {
    let variables = json!({ "input": { "code": w.asset_code(code), "scale": scale } });
    w.send(instance, &operation("seed/CreateAsset"), variables)
        .await;
    let created = w
        .payload()
        .and_then(|answer| answer["asset"]["id"].as_str().map(str::to_owned));
    if let Some(id) = created {
        w.assets.insert((instance.to_owned(), code.to_owned()), id);
    }
}

#[when(expr = "{string} creates the asset {word} with scale {int} as the guide shows")]
async fn creates_asset(w: &mut PeeringWorld, instance: String, code: String, scale: u8) {
    create_asset(w, &instance, &code, scale).await;
}

#[given(expr = "{string} has created the asset {word} with scale {int}")]
async fn has_created_asset(w: &mut PeeringWorld, instance: String, code: String, scale: u8) {
    create_asset(w, &instance, &code, scale).await;
    assert_eq!(w.answer()["success"], json!(true), "{}", w.answer());
}

#[given(expr = "both instances have the asset {word} with scale {int}")]
async fn both_have_asset(w: &mut PeeringWorld, code: String, scale: u8) {
    let names = w.instance_names();
    assert_eq!(names.len(), 2, "both instances: {names:?}");
    for instance in &names {
        create_asset(w, instance, &code, scale).await;
        assert_eq!(w.answer()["success"], json!(true), "{}", w.answer());
    }
}

#[then(expr = "the answer's asset is {word} with scale {int}")]
fn answer_asset(w: &mut PeeringWorld, code: String, scale: u8) {
    let asset = w.answer()["asset"].clone();
    assert_eq!(
        (asset["code"].clone(), asset["scale"].clone()),
        (json!(w.asset_code(&code)), json!(scale))
    );
    assert!(
        asset["id"]
            .as_str()
            .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok())
    );
}

#[when(expr = "{string} deletes the asset {word}")]
async fn deletes_asset(w: &mut PeeringWorld, instance: String, code: String) {
    let id = w.asset_id(&instance, &code);
    w.send(
        &instance,
        &operation("rafiki/DeleteAsset"),
        json!({ "input": { "id": id } }),
    )
    .await;
}

#[when(expr = "{string} deposits {int} into the asset {word}")]
async fn deposits_into_asset(w: &mut PeeringWorld, instance: String, amount: u64, code: String) {
    let input = json!({
        "assetId": w.asset_id(&instance, &code),
        "amount": amount.to_string(),
        "id": new_id(),
        "idempotencyKey": new_id(),
    });
    w.send(
        &instance,
        &operation("rafiki/DepositAssetLiquidity"),
        json!({ "input": input }),
    )
    .await;
}

#[then(expr = "the {word} liquidity of {string} is {int}")]
async fn asset_liquidity(w: &mut PeeringWorld, code: String, instance: String, amount: u64) {
    let id = w.asset_id(&instance, &code);
    let response = w
        .send(
            &instance,
            &operation("rafiki/GetAsset"),
            json!({ "id": id }),
        )
        .await;
    expect_amount(
        &format!("the {code} liquidity of {instance}"),
        amount,
        &response["data"]["asset"]["liquidity"],
        &response,
    );
}

/// Referenced by the harness so that the linker keeps this module, and its steps (see `steps`).
#[inline(never)]
pub(crate) fn keep_linked() {}
