use std::time::Duration;

use crate::{PeerSettings, paying_prepare};
use cucumber::{given, then, when};
use peerlab::ilp::{Address, ErrorCode, Reply};
use serde_json::{Value, json};

use super::assets::create_asset;
use crate::harness::world::{PeeringWorld, expect_amount, new_id, operation};

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
            "incoming": { "authTokens": [w.token(incoming)] },
            "outgoing": { "endpoint": other.connector_url(), "authToken": w.token(outgoing) },
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
    let created = w
        .payload()
        .and_then(|answer| answer["peer"]["id"].as_str().map(str::to_owned));
    if let Some(id) = created {
        let key = (
            instance.to_owned(),
            counterparty.to_owned(),
            code.to_owned(),
        );
        w.peers.insert(key, id);
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
    let incoming = peering_token(&counterparty, &instance, &code);
    let outgoing = peering_token(&instance, &counterparty, &code);
    let mut input = guide_peer(w, &instance, &counterparty, &code, &incoming, &outgoing);
    input["initialLiquidity"] = json!(amount);
    create_peer(w, &instance, &counterparty, &code, input).await;
}

/// The token `from` presents to `to` in `code`: `<from>-to-<to>-<code>`, with any whitespace in
/// the names made `-`, because ILP-over-HTTP carries it as `Authorization: Bearer <token>` and
/// Rafiki (like peerlab) takes the token to be the word after `Bearer`.
fn peering_token(from: &str, to: &str, code: &str) -> String {
    format!("{from}-to-{to}-{code}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("-")
}

#[given(expr = "{string} and {string} are peered in {word} with scale {int}")]
async fn peered(w: &mut PeeringWorld, a: String, b: String, code: String, scale: u8) {
    for (instance, counterparty) in [(&a, &b), (&b, &a)] {
        if !w.assets.contains_key(&(instance.clone(), code.clone())) {
            create_asset(w, instance, &code, scale).await;
        }
        let incoming = peering_token(counterparty, instance, &code);
        let outgoing = peering_token(instance, counterparty, &code);
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
    // The peer's endpoint is some other instance's connector; the sentence names only its address.
    let other = w.others(&instance).pop().expect("another instance");
    let mut input = guide_peer(w, &instance, &other, &code, &token, "some-outgoing-token");
    input["staticIlpAddress"] = json!(w.address(&address));
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
        "staticIlpAddress": w.address(&address),
        "name": "The Other Great Wallet",
        "http": {
            "incoming": { "authTokens": [w.token("mytoken")] },
            "outgoing": { "endpoint": endpoint, "authToken": w.token("theirtoken") },
        },
        "assetId": asset_id,
    });
    create_peer(w, &instance, &address, "?", input).await;
}

#[then(expr = "the answer's peer is {string} at {string} in {word} with scale {int}")]
fn answer_peer(w: &mut PeeringWorld, name: String, address: String, code: String, scale: u8) {
    let peer = w.answer()["peer"].clone();
    assert_eq!(peer["name"], json!(name), "{peer}");
    assert_eq!(
        peer["staticIlpAddress"],
        json!(w.address(&address)),
        "{peer}"
    );
    assert_eq!(
        peer["asset"],
        json!({ "code": w.asset_code(&code), "scale": scale }),
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
async fn sends_packets_for(
    w: &mut PeeringWorld,
    instance: String,
    counterparty: String,
    target: String,
    token: String,
) {
    let id = w.only_peer_id(&instance, &counterparty);
    let peer = w.peer(&instance, &id).await;
    let connector = w.instance(&target).connector_url();
    let token = w.token(&token);
    assert_eq!(
        peer["http"]["outgoing"],
        json!({ "authToken": token, "endpoint": connector }),
        "{instance}'s settings for {counterparty}"
    );
    // A packet does go there: one for an address under the counterparty's, sent into the
    // instance, comes back refused by the target's connector (which has no route for it), not by
    // the instance, which is what a wrong endpoint or a token the target refuses would give. So
    // the target takes that token as the instance's own, which it shows through its public API
    // alone: this works on real targets too.
    let address = peer["staticIlpAddress"]
        .as_str()
        .expect("the peer's address");
    let destination = Address::parse(&format!("{address}.step-probe")).expect("an address");
    let asset = peer["asset"]["id"].as_str().expect("the peer's asset");
    let reply = send_through(w, &instance, asset, &destination).await;
    let Reply::Reject(reject) = &reply else {
        panic!("a packet for {destination} was fulfilled: {reply:?}")
    };
    assert_eq!(
        (reject.code(), reject.triggered_by()),
        (
            ErrorCode::F02Unreachable,
            Some(w.instance(&target).ilp_address())
        ),
        "{reject:?}"
    );
}

/// Sends a zero-amount packet (it needs no liquidity) for `destination` into `instance`, through
/// a client peered with it in `asset_id` for this one packet and deleted after it, so that the
/// scenario's peers stay as they were.
async fn send_through(
    w: &mut PeeringWorld,
    instance: &str,
    asset_id: &str,
    destination: &Address,
) -> Reply {
    let token = new_id();
    let admin = w.instance(instance).admin().clone();
    // Named after the token, so that clients of concurrent scenarios on a real target never
    // share an address in an asset.
    let address = format!("test.step-client-{}", &token[..8]);
    let settings =
        PeerSettings::new(address, asset_id, &token, "http://127.0.0.1:9/").name("step client");
    let client_id = admin.create_peer(&settings).await.expect("a client peer");
    let prepare = paying_prepare(destination, 0, Duration::from_secs(10));
    let connector = w.instance(instance).connector_url();
    // Through the admin client's HTTP stack: it speaks HTTPS to a real target's connector too.
    let (status, body) = admin
        .post_packet(&connector, &token, prepare.encode())
        .await
        .unwrap_or_else(|error| panic!("{instance}'s connector at {connector}: {error}"));
    assert_eq!(
        status, 200,
        "{instance}'s connector at {connector} answered HTTP {status}"
    );
    let reply = Reply::decode(&body)
        .unwrap_or_else(|error| panic!("{instance}'s connector answered no ILP reply: {error}"));
    admin
        .mutate(
            "deletePeer",
            &operation("rafiki/DeletePeer"),
            json!({ "input": { "id": client_id } }),
        )
        .await
        .expect("the client peer is deleted");
    reply
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
    expect_amount(
        &format!("the liquidity {instance} grants {counterparty} in {code}"),
        amount,
        &peer["liquidity"],
        &peer,
    );
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

/// Referenced by the harness so that the linker keeps this module, and its steps (see `steps`).
#[inline(never)]
pub(crate) fn keep_linked() {}
