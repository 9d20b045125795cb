//! Rafiki's admin API signatures, seen from a client.

use cucumber::when;
use peerlab::admin::signature;
use serde_json::json;

use crate::harness::world::{PeeringWorld, for_dialect, now_ms, operation};

fn create_usd(w: &PeeringWorld, instance: &str) -> serde_json::Value {
    json!({
        "query": for_dialect(&operation("seed/CreateAsset"), w.dialect_of(instance)),
        "variables": { "input": { "code": w.asset_code("USD"), "scale": 2 } },
    })
}

#[when(expr = "{string} is sent an unsigned request to create the asset {word}")]
async fn unsigned(w: &mut PeeringWorld, instance: String, code: String) {
    let mut body = create_usd(w, &instance);
    body["variables"]["input"]["code"] = json!(w.asset_code(&code));
    w.send_body(&instance, body, None).await;
}

#[when(expr = "the same signed request is sent to {string} again")]
async fn replayed(w: &mut PeeringWorld, instance: String) {
    w.replay(&instance, "createAsset").await;
}

#[when(expr = "{string} is sent a request signed {int} seconds ago")]
async fn stale(w: &mut PeeringWorld, instance: String, seconds: u64) {
    let body = create_usd(w, &instance);
    // Signed with the right secret, so that only its age can be refused.
    w.require_embedded("a request signed with the secret the instances were started with");
    let secret = w.secret().expect("the instances require signatures");
    let header = signature::sign(secret, now_ms() - seconds * 1_000, &body);
    w.send_body(&instance, body, Some(header)).await;
}

#[when(expr = "{string} is sent a request signed with the secret {string}")]
async fn wrong_secret(w: &mut PeeringWorld, instance: String, secret: String) {
    let body = create_usd(w, &instance);
    let header = signature::sign(&secret, now_ms(), &body);
    w.require_embedded("a request signed with a secret of the scenario's choosing");
    w.send_body(&instance, body, Some(header)).await;
}

#[when(expr = "{string} is sent a request naming the tenant {string}")]
async fn other_tenant(w: &mut PeeringWorld, instance: String, tenant: String) {
    let body = create_usd(w, &instance);
    w.send_as_tenant(&instance, body, Some(&tenant)).await;
}

#[when(expr = "{string} is sent a request without a tenant-id")]
async fn no_tenant(w: &mut PeeringWorld, instance: String) {
    let body = create_usd(w, &instance);
    w.send_as_tenant(&instance, body, None).await;
}

/// Referenced by the harness so that the linker keeps this module, and its steps (see `steps`).
#[inline(never)]
pub(crate) fn keep_linked() {}
