//! Auto-peering between two simulator instances, and the server's answers to bad requests.

use crate::topology::InstanceSpec;
use cucumber::{given, then, when};
use serde_json::{Value, json};

use crate::harness::world::{self, PeeringWorld, expect_amount, new_id};

const BY_URL: &str = "mutation CreateOrUpdatePeerByUrl($input: CreateOrUpdatePeerByUrlInput!) { createOrUpdatePeerByUrl(input: $input) { code success message peer { id name staticIlpAddress asset { code scale } } } }";

fn spec(name: &str, address: &str, auto_peering: bool) -> InstanceSpec {
    InstanceSpec {
        enable_auto_peering: auto_peering,
        ..InstanceSpec::new(name, address)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[given(
    expr = "two fresh instances with auto-peering on, {string} at {string} and {string} at {string}"
)]
async fn both_on(w: &mut PeeringWorld, a: String, a_address: String, b: String, b_address: String) {
    if world::running_on_targets() {
        // Real targets have auto-peering on already, if the targets file says where.
        w.start([(&a, &a_address), (&b, &b_address)], None).await;
        for name in [&a, &b] {
            assert!(
                w.instance(name).auto_peering_url().is_some(),
                "the targets file gives {name:?} no auto_peering_url"
            );
        }
        return;
    }
    w.start_specs(&[spec(&a, &a_address, true), spec(&b, &b_address, true)])
        .await;
}

#[given(
    expr = "{string} with auto-peering on and {string} with auto-peering off on a port of its own"
)]
async fn one_off(w: &mut PeeringWorld, a: String, b: String) {
    let mut off = spec(&b, "test.happy-life-bank", false);
    off.auto_peering_server_port = free_port();
    w.start_specs(&[spec(&a, "test.cloud-nine-wallet", true), off])
        .await;
}

#[given(
    expr = "{string} with its connector URL misconfigured as {string} and {string} with auto-peering on"
)]
async fn misconfigured(w: &mut PeeringWorld, a: String, url: String, b: String) {
    let mut wrong = spec(&a, "test.cloud-nine-wallet", true);
    wrong.ilp_connector_url = Some(url);
    w.start_specs(&[wrong, spec(&b, "test.happy-life-bank", true)])
        .await;
}

async fn peer_by_url(
    w: &mut PeeringWorld,
    instance: &str,
    url: String,
    asset_id: String,
    deposit: Option<u64>,
) {
    let mut input = json!({ "peerUrl": url, "assetId": asset_id, "idempotencyKey": new_id() });
    if let Some(amount) = deposit {
        input["liquidityToDeposit"] = json!(amount.to_string());
    }
    w.send(instance, BY_URL, json!({ "input": input })).await;
}

fn auto_peering_url(w: &PeeringWorld, instance: &str) -> String {
    w.instance(instance)
        .auto_peering_url()
        .expect("auto-peering is on")
}

#[when(expr = "{string} peers with {string} by its auto-peering URL in {word}, depositing {int}")]
async fn by_url_depositing(
    w: &mut PeeringWorld,
    instance: String,
    other: String,
    code: String,
    amount: u64,
) {
    let (url, asset) = (auto_peering_url(w, &other), w.asset_id(&instance, &code));
    peer_by_url(w, &instance, url, asset, Some(amount)).await;
}

#[when(expr = "{string} peers with {string} by its auto-peering URL in {word}")]
async fn by_url(w: &mut PeeringWorld, instance: String, other: String, code: String) {
    let (url, asset) = (auto_peering_url(w, &other), w.asset_id(&instance, &code));
    peer_by_url(w, &instance, url, asset, None).await;
}

#[when(expr = "{string} peers with {string} by its auto-peering URL with the asset id {string}")]
async fn by_url_with_asset_id(
    w: &mut PeeringWorld,
    instance: String,
    other: String,
    asset_id: String,
) {
    let url = auto_peering_url(w, &other);
    peer_by_url(w, &instance, url, asset_id, None).await;
}

#[when(expr = "{string} peers with {string} by the URL of that port in {word}")]
async fn by_unused_port(w: &mut PeeringWorld, instance: String, other: String, code: String) {
    let port = w.auto_peering_ports[&other];
    let asset = w.asset_id(&instance, &code);
    peer_by_url(
        w,
        &instance,
        format!("http://127.0.0.1:{port}/"),
        asset,
        None,
    )
    .await;
}

#[when(expr = "{string} peers with {string} by the URL of its admin API in {word}")]
async fn by_admin_url(w: &mut PeeringWorld, instance: String, other: String, code: String) {
    let url = w.instance(&other).graphql_url();
    let asset = w.asset_id(&instance, &code);
    peer_by_url(w, &instance, url, asset, None).await;
}

#[then(expr = "nothing answers on the auto-peering port of {string}")]
fn nothing_answers(w: &mut PeeringWorld, instance: String) {
    assert_eq!(w.instance(&instance).auto_peering_url(), None);
    let port = w.auto_peering_ports[&instance];
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "something listens on {port}"
    );
}

#[then(expr = "the answer's peer is named {string} at {string}")]
fn answer_peer_named(w: &mut PeeringWorld, name: String, address: String) {
    let peer = w.answer()["peer"].clone();
    assert_eq!(
        (peer["name"].clone(), peer["staticIlpAddress"].clone()),
        (json!(name), json!(w.address(&address))),
        "{peer}"
    );
}

#[then(expr = "the peer of {string} at {string} has liquidity {int} in {word}")]
async fn liquidity_at(
    w: &mut PeeringWorld,
    instance: String,
    address: String,
    amount: u64,
    code: String,
) {
    let asset = w.asset_id(&instance, &code);
    let response = w
        .send(
            &instance,
            "query($a: String!, $asset: String!) { peerByAddressAndAsset(staticIlpAddress: $a, assetId: $asset) { liquidity } }",
            json!({ "a": w.address(&address), "asset": asset }),
        )
        .await;
    expect_amount(
        &format!("the liquidity of the peer of {instance} at {address} in {code}"),
        amount,
        &response["data"]["peerByAddressAndAsset"]["liquidity"],
        &response,
    );
}

#[when(
    regex = r#"^someone asks "([^"]+)" to auto-peer with (the static ILP address "([^"]*)"|the connector URL "([^"]*)"|the asset "(\w+)"|a body that is not JSON|no httpToken)$"#
)]
async fn bad_request(
    w: &mut PeeringWorld,
    instance: String,
    what: String,
    address: String,
    connector: String,
    asset: String,
) {
    let mut request = json!({
        "staticIlpAddress": "test.somebody",
        "ilpConnectorUrl": "http://127.0.0.1:4002/",
        "asset": { "code": w.asset_code("USD"), "scale": 2 },
        "httpToken": new_id(),
        "name": "Somebody",
    });
    let mut body = None;
    if what.starts_with("the static") {
        request["staticIlpAddress"] = json!(address);
    } else if what.starts_with("the connector") {
        request["ilpConnectorUrl"] = json!(connector);
    } else if what.starts_with("the asset") {
        request["asset"]["code"] = json!(w.asset_code(&asset));
    } else if what == "no httpToken" {
        request.as_object_mut().map(|o| o.remove("httpToken"));
    } else {
        body = Some("{this is not json".to_owned());
    }
    let url = auto_peering_url(w, &instance);
    let body = body.unwrap_or_else(|| request.to_string());
    let response = w
        .instance(&instance)
        .admin()
        .post_url(&url, body)
        .await
        .expect("the server answers");
    w.last_status = Some(response.status);
    w.last_response = Some(serde_json::from_str(&response.body).unwrap_or(Value::Null));
}

#[then(expr = "the auto-peering server answers {int} {string} {string}")]
fn server_answers(w: &mut PeeringWorld, status: u16, kind: String, message: String) {
    assert_eq!(w.last_status, Some(status));
    assert_eq!(
        w.last_response,
        Some(json!({ "error": { "code": status, "message": message, "type": kind } }))
    );
}

/// Referenced by the harness so that the linker keeps this module, and its steps (see `steps`).
#[inline(never)]
pub(crate) fn keep_linked() {}
