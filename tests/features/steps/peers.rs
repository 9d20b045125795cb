use cucumber::{given, then, when};
use serde_json::{Value, json};

use super::assets::create_asset;
use crate::world::{PeeringWorld, operation};

/// The guide's CreatePeer variables for `instance` peering with `counterparty`.
fn guide_peer(
    w: &PeeringWorld,
    instance: &str,
    counterparty: &str,
    code: &str,
    incoming: &str,
    outgoing: &str,
) -> Value {
    let other = w.instance(counterparty);
    json!({
        "staticIlpAddress": other.ilp_address().as_str(),
        "name": counterparty,
        "http": {
            "incoming": { "authTokens": [incoming] },
            "outgoing": { "endpoint": other.connector_url(), "authToken": outgoing },
        },
        "assetId": w.asset_id(instance, code),
    })
}

/// Sends CreatePeer and remembers the peer on success.
async fn create_peer(
    w: &mut PeeringWorld,
    instance: &str,
    counterparty: &str,
    code: &str,
    input: Value,
) {
    w.send(
        instance,
        &operation("seed/CreatePeer"),
        json!({ "input": input }),
    )
    .await;
    if let Some(id) = w.answer()["peer"]["id"].as_str() {
        let key = (
            instance.to_owned(),
            counterparty.to_owned(),
            code.to_owned(),
        );
        w.peers.insert(key, id.to_owned());
    }
}

#[when(
    expr = "{string} creates a peer for {string} in {word} as the guide shows, named {string}, accepting token {string} and sending token {string}"
)]
async fn creates_named_peer(
    w: &mut PeeringWorld,
    instance: String,
    counterparty: String,
    code: String,
    name: String,
    incoming: String,
    outgoing: String,
) {
    let mut input = guide_peer(w, &instance, &counterparty, &code, &incoming, &outgoing);
    input["name"] = json!(name);
    create_peer(w, &instance, &counterparty, &code, input).await;
}

#[when(
    expr = "{string} creates a peer for {string} in {word} as the guide shows, with initial liquidity {int}"
)]
async fn creates_funded_peer(
    w: &mut PeeringWorld,
    instance: String,
    counterparty: String,
    code: String,
    amount: u64,
) {
    let incoming = format!("{counterparty}-to-{instance}-{code}");
    let outgoing = format!("{instance}-to-{counterparty}-{code}");
    let mut input = guide_peer(w, &instance, &counterparty, &code, &incoming, &outgoing);
    input["initialLiquidity"] = json!(amount);
    create_peer(w, &instance, &counterparty, &code, input).await;
}

#[given(expr = "{string} and {string} are peered in {word} with scale {int}")]
async fn peered(w: &mut PeeringWorld, a: String, b: String, code: String, scale: u8) {
    for (instance, counterparty) in [(&a, &b), (&b, &a)] {
        if !w.assets.contains_key(&(instance.clone(), code.clone())) {
            create_asset(w, instance, &code, scale).await;
        }
        let incoming = format!("{counterparty}-to-{instance}-{code}");
        let outgoing = format!("{instance}-to-{counterparty}-{code}");
        let input = guide_peer(w, instance, counterparty, &code, &incoming, &outgoing);
        create_peer(w, instance, counterparty, &code, input).await;
        assert_eq!(w.answer()["success"], json!(true), "{}", w.answer());
    }
}

/// Creates a peer for `counterparty` that presents `token`, remembered under `key`.
async fn create_peer_with_token(
    w: &mut PeeringWorld,
    instance: &str,
    counterparty: &str,
    key: &str,
    code: &str,
    token: &str,
) {
    let input = guide_peer(
        w,
        instance,
        counterparty,
        code,
        token,
        "some-outgoing-token",
    );
    create_peer(w, instance, key, code, input).await;
}

#[when(expr = "{string} creates another peer for {string} in {word} accepting token {string}")]
async fn creates_another_peer(
    w: &mut PeeringWorld,
    instance: String,
    counterparty: String,
    code: String,
    token: String,
) {
    let key = format!("{counterparty} again");
    create_peer_with_token(w, &instance, &counterparty, &key, &code, &token).await;
}

#[when(expr = "{string} creates a peer for {string} in {word} accepting token {string}")]
async fn creates_peer_with_token(
    w: &mut PeeringWorld,
    instance: String,
    counterparty: String,
    code: String,
    token: String,
) {
    create_peer_with_token(w, &instance, &counterparty, &counterparty, &code, &token).await;
}

#[given(expr = "{string} has a peer {string} in {word} accepting token {string}")]
async fn has_peer_at(
    w: &mut PeeringWorld,
    instance: String,
    address: String,
    code: String,
    token: String,
) {
    let other = if instance == "Cloud Nine" {
        "Happy Life"
    } else {
        "Cloud Nine"
    };
    let mut input = guide_peer(w, &instance, other, &code, &token, "some-outgoing-token");
    input["staticIlpAddress"] = json!(address);
    create_peer(w, &instance, &address, &code, input).await;
    assert_eq!(w.answer()["success"], json!(true), "{}", w.answer());
}

#[when(
    regex = r#"^"([^"]+)" creates a peer for "([^"]+)" in (\w+) with its (static ILP address|endpoint|asset id) set to "([^"]*)"$"#
)]
async fn creates_peer_with_bad_field(
    w: &mut PeeringWorld,
    instance: String,
    counterparty: String,
    code: String,
    field: String,
    value: String,
) {
    let mut input = guide_peer(w, &instance, &counterparty, &code, "in-token", "out-token");
    match field.as_str() {
        "static ILP address" => input["staticIlpAddress"] = json!(value),
        "endpoint" => input["http"]["outgoing"]["endpoint"] = json!(value),
        _ => input["assetId"] = json!(value),
    }
    create_peer(w, &instance, &counterparty, &code, input).await;
}

#[when(
    expr = "{string} creates a peer with address {string}, endpoint {string} and asset id {string}"
)]
async fn creates_peer_with(
    w: &mut PeeringWorld,
    instance: String,
    address: String,
    endpoint: String,
    asset_id: String,
) {
    let input = json!({
        "staticIlpAddress": address,
        "name": "The Other Great Wallet",
        "http": {
            "incoming": { "authTokens": ["mytoken"] },
            "outgoing": { "endpoint": endpoint, "authToken": "theirtoken" },
        },
        "assetId": asset_id,
    });
    create_peer(w, &instance, &address, "?", input).await;
}

#[then(expr = "the answer's peer is {string} at {string} in {word} with scale {int}")]
fn answer_peer(w: &mut PeeringWorld, name: String, address: String, code: String, scale: u8) {
    let peer = w.answer()["peer"].clone();
    assert_eq!(peer["name"], json!(name), "{peer}");
    assert_eq!(peer["staticIlpAddress"], json!(address), "{peer}");
    assert_eq!(
        peer["asset"],
        json!({ "code": code, "scale": scale }),
        "{peer}"
    );
}

#[then(expr = "{string} has {int} peer(s)")]
async fn peer_count(w: &mut PeeringWorld, instance: String, count: usize) {
    assert_eq!(w.peer_count(&instance).await, count);
}

#[then(
    expr = "{string} sends packets for {string} to the connector of {string} with token {string}"
)]
async fn outgoing_settings(
    w: &mut PeeringWorld,
    instance: String,
    counterparty: String,
    target: String,
    token: String,
) {
    let id = w.only_peer_id(&instance, &counterparty);
    let peer = w.peer(&instance, &id).await;
    let connector = w.instance(&target).connector_url();
    assert_eq!(
        peer["http"]["outgoing"],
        json!({ "authToken": token, "endpoint": connector })
    );
}

#[then(expr = "the liquidity {string} grants {string} in {word} is {int}")]
async fn peer_liquidity(
    w: &mut PeeringWorld,
    instance: String,
    counterparty: String,
    code: String,
    amount: u64,
) {
    let id = w.peer_id(&instance, &counterparty, &code);
    let peer = w.peer(&instance, &id).await;
    assert_eq!(peer["liquidity"], json!(amount.to_string()), "{peer}");
}

#[when(expr = "{string} asks for the incoming tokens of its peer {string}")]
async fn asks_for_incoming_tokens(w: &mut PeeringWorld, instance: String, counterparty: String) {
    let id = w.only_peer_id(&instance, &counterparty);
    let query = "query($id: String!) { peer(id: $id) { http { incoming { authTokens } } } }";
    w.send(&instance, query, json!({ "id": id })).await;
}

#[then(expr = "{string} routes {string} in {word} to its {word} peer for {string}")]
async fn routes_to(
    w: &mut PeeringWorld,
    instance: String,
    address: String,
    code: String,
    peer_code: String,
    counterparty: String,
) {
    let asset_id = w.asset_id(&instance, &code);
    let expected = w.peer_id(&instance, &counterparty, &peer_code);
    let variables = json!({ "address": address, "assetId": asset_id });
    let response = w
        .send(
            &instance,
            &operation("rafiki/GetPeerByAddressAndAsset"),
            variables,
        )
        .await;
    assert_eq!(
        response["data"]["peerByAddressAndAsset"]["id"],
        json!(expected),
        "{response}"
    );
}

#[when(expr = "{string} renames its peer {string} to {string} with a max packet amount of {int}")]
async fn renames_peer(
    w: &mut PeeringWorld,
    instance: String,
    counterparty: String,
    name: String,
    max: u64,
) {
    let id = w.only_peer_id(&instance, &counterparty);
    let input = json!({ "id": id, "name": name, "maxPacketAmount": max });
    w.send(
        &instance,
        &operation("rafiki/UpdatePeer"),
        json!({ "input": input }),
    )
    .await;
}

#[then(expr = "{string}'s peer {string} is named {string} with a max packet amount of {string}")]
async fn peer_named(
    w: &mut PeeringWorld,
    instance: String,
    counterparty: String,
    name: String,
    max: String,
) {
    let id = w.only_peer_id(&instance, &counterparty);
    let peer = w.peer(&instance, &id).await;
    assert_eq!(
        (peer["name"].clone(), peer["maxPacketAmount"].clone()),
        (json!(name), json!(max))
    );
}

#[when(expr = "{string} deletes its peer {string}")]
async fn deletes_peer(w: &mut PeeringWorld, instance: String, counterparty: String) {
    let id = w.only_peer_id(&instance, &counterparty);
    w.send(
        &instance,
        &operation("rafiki/DeletePeer"),
        json!({ "input": { "id": id } }),
    )
    .await;
}
