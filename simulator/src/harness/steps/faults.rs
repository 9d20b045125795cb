//! Faults on a link while payments cross it: a proxy in front of the receiving connector
//! (`crate::faults::LinkProxy`, as `peerlab run` uses it) slows, cuts or heals the
//! link; a wrong token is put on the sending side's peer and taken off again.

use std::time::Duration;

use std::sync::atomic::Ordering;

use crate::faults::{LinkMode, LinkProxy};
use cucumber::{given, then, when};

use crate::harness::world::PeeringWorld;

/// The peer `holder` keeps for `other`, in USD.
fn peer(w: &PeeringWorld, holder: &str, other: &str) -> std::sync::Arc<peerlab::instance::Peer> {
    let address = w.instance(other).ilp_address().as_str().to_owned();
    let asset = w.asset_id(holder, "USD");
    w.embedded(holder)
        .node()
        .instance()
        .peer_by_address_and_asset(&address, &asset)
        .unwrap_or_else(|| panic!("{holder} has no peer {other}"))
}

fn repoint(w: &PeeringWorld, holder: &str, other: &str, endpoint: &str, token: &str) {
    let peer = peer(w, holder, other);
    crate::faults::repoint(w.network(), holder, &peer, endpoint, token).expect("peer updated");
}

#[given(expr = "the link from {string} to {string} runs through a fault proxy")]
async fn proxied(w: &mut PeeringWorld, from: String, to: String) {
    let peer = peer(w, &from, &to);
    let proxy = LinkProxy::start(&peer.outgoing.endpoint)
        .await
        .expect("proxy starts");
    repoint(w, &from, &to, proxy.url(), &peer.outgoing.auth_token);
    w.links.insert((from, to), proxy);
}

fn link<'a>(w: &'a PeeringWorld, from: &str, to: &str) -> &'a LinkProxy {
    w.links
        .get(&(from.to_owned(), to.to_owned()))
        .unwrap_or_else(|| panic!("no fault proxy on {from} -> {to}"))
}

#[when(expr = "the link from {string} to {string} is cut")]
fn cut(w: &mut PeeringWorld, from: String, to: String) {
    link(w, &from, &to).state().set_mode(LinkMode::Partition);
}

#[when(expr = "the link from {string} to {string} answers HTTP 500")]
fn server_error(w: &mut PeeringWorld, from: String, to: String) {
    link(w, &from, &to).state().set_mode(LinkMode::ServerError);
}

#[when(expr = "the link from {string} to {string} is slowed by {int} ms")]
fn slowed(w: &mut PeeringWorld, from: String, to: String, ms: u64) {
    link(w, &from, &to)
        .state()
        .set_latency(Duration::from_millis(ms));
}

#[when(expr = "the link from {string} to {string} heals after {float} seconds")]
async fn heals(w: &mut PeeringWorld, from: String, to: String, seconds: f64) {
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    link(w, &from, &to).state().set_normal();
}

#[when(expr = "the link from {string} to {string} reorders packets, holding each up to {int} ms")]
fn reorders(w: &mut PeeringWorld, from: String, to: String, ms: u64) {
    link(w, &from, &to)
        .state()
        .set_reorder(Duration::from_millis(ms));
}

#[when(expr = "the link from {string} to {string} delivers every packet twice")]
fn duplicates(w: &mut PeeringWorld, from: String, to: String) {
    link(w, &from, &to).state().set_duplicate_share(1.0);
}

#[when(expr = "the link from {string} to {string} cuts every reply")]
fn cuts_replies(w: &mut PeeringWorld, from: String, to: String) {
    link(w, &from, &to).state().set_cut_reply_share(1.0);
}

#[then(expr = "the link from {string} to {string} delivered packets twice")]
fn delivered_twice(w: &mut PeeringWorld, from: String, to: String) {
    let duplicated = link(w, &from, &to)
        .state()
        .duplicated
        .load(Ordering::Relaxed);
    assert!(duplicated > 0, "no packet was delivered twice");
}

#[then(expr = "the link from {string} to {string} cut replies")]
fn replies_cut(w: &mut PeeringWorld, from: String, to: String) {
    let cut = link(w, &from, &to).state().cut.load(Ordering::Relaxed);
    assert!(cut > 0, "no reply was cut");
}

#[given(expr = "{string} takes packets of at most {int} from {string}")]
fn max_packet(w: &mut PeeringWorld, holder: String, most: u64, other: String) {
    let peer = peer(w, &holder, &other);
    w.embedded(&holder)
        .node()
        .instance()
        .update_peer(peerlab::instance::PeerUpdate {
            id: peer.id.to_string(),
            max_packet_amount: Some(most),
            ..peerlab::instance::PeerUpdate::default()
        })
        .expect("peer updated");
}

/// Skews `name`'s wall clock by `skew_ms` (negative: behind), as a `clock_skew` fault does.
fn skew(w: &PeeringWorld, name: &str, skew_ms: i64) {
    w.embedded(name)
        .node()
        .instance()
        .clock()
        .set_skew_ms(skew_ms);
}

#[when(expr = "the clock of {string} runs {int} ms ahead")]
fn clock_ahead(w: &mut PeeringWorld, name: String, ms: i64) {
    skew(w, &name, ms);
}

#[when(expr = "the clock of {string} runs {int} ms behind")]
fn clock_behind(w: &mut PeeringWorld, name: String, ms: i64) {
    skew(w, &name, -ms);
}

#[when(expr = "{string} presents a wrong token to {string}")]
fn wrong_token(w: &mut PeeringWorld, from: String, to: String) {
    let peer = peer(w, &from, &to);
    repoint(w, &from, &to, &peer.outgoing.endpoint, "not-the-token");
}

#[when(expr = "{string} presents its right token to {string} again after {float} seconds")]
async fn right_token(w: &mut PeeringWorld, from: String, to: String, seconds: f64) {
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    // The line's tokens are `<from>-to-<to>-<uuid>`: read the one `to` accepts from its links.
    let link = w
        .network()
        .links()
        .into_iter()
        .find(|link| link.from == from && link.to == to)
        .expect("a link");
    let endpoint = peer(w, &from, &to).outgoing.endpoint.clone();
    repoint(w, &from, &to, &endpoint, &link.token);
}

#[when(expr = "{string} stops at once, as a crash")]
async fn crash(w: &mut PeeringWorld, name: String) {
    w.embedded(&name).node().stop_serving().await;
}

#[when(expr = "{string} serves again after {float} seconds")]
async fn serves_again(w: &mut PeeringWorld, name: String, seconds: f64) {
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    w.embedded(&name)
        .node()
        .serve_again()
        .await
        .unwrap_or_else(|error| panic!("{name} serves again: {error}"));
}

/// Referenced by the harness so that the linker keeps this module, and its steps (see `steps`).
#[inline(never)]
pub(crate) fn keep_linked() {}
