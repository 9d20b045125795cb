//! The live network view of `peerlab up` and `peerlab run`: one page on 127.0.0.1 that draws the
//! network as the run report does (instances on a circle, peerings between them, see
//! [`crate::network_picture`]) and keeps it current: every half second the page reads
//! `GET /network.json` and updates, in place, the liquidity each side of each peering grants the
//! other, packets per second and rejects on each link, with a link to each instance's dashboard.
//!
//! The snapshot is read from the instances themselves (their peers, the liquidity and the per-link
//! packet counters of the connector), so peerings made while the network runs (auto-peering)
//! appear too. A snapshot costs O(instances + peerings); the server answers GETs only, to one
//! page and one JSON document, under the instances' own HTTP limits (header and body timeouts,
//! a cap on connections).

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use peerlab::connector::Connector;
use peerlab::http_server::{ServerSettings, serve_router};
use peerlab::instance::Instance;
use serde::Serialize;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::network::Network;
use crate::network_picture::{BROKEN, HEALTHY, Layout, STRAINED};

/// Connections the view serves at once: a few browser tabs, not a crowd.
const MAX_CONNECTIONS: usize = 32;
/// A request's head (and an idle keep-alive connection) gets this long.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// GETs carry no body worth waiting for.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Error)]
pub enum ViewError {
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
}

/// The network view's server, running until [`NetworkView::stop`].
#[derive(Debug)]
pub struct NetworkView {
    url: String,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<()>,
}

impl NetworkView {
    /// Serves the view of `network` on 127.0.0.1:`port` (0 picks a free port).
    pub async fn start(network: &Network, port: u16) -> Result<Self, ViewError> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .await
            .map_err(|source| ViewError::Bind { port, source })?;
        let address = listener
            .local_addr()
            .map_err(|source| ViewError::Bind { port, source })?;
        let source = Arc::new(ViewSource::of(network));
        let router = Router::new()
            .route("/", get(page))
            .route("/network.json", get(snapshot_json))
            .with_state(source);
        let (shutdown, stopped) = watch::channel(false);
        let settings = ServerSettings {
            max_connections: MAX_CONNECTIONS,
            header_read_timeout: HEADER_READ_TIMEOUT,
            body_read_timeout: BODY_READ_TIMEOUT,
        };
        let server = tokio::spawn(serve_router(
            peerlab::net::Listener::Tcp(listener),
            router,
            settings,
            stopped,
        ));
        Ok(Self {
            url: format!("http://{address}/"),
            shutdown,
            server,
        })
    }

    /// The page's URL, `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops serving: open requests finish, then the server is gone.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
    }
}

/// What the view reads: each instance's state and connector, kept apart from the [`Network`]
/// (which its owner shuts down by value) so that the server needs no borrow of it.
#[derive(Debug)]
pub struct ViewSource {
    instances: Vec<ViewedInstance>,
    /// ILP address -> index in `instances`: how a peer is recognised as another instance.
    by_address: HashMap<String, usize>,
    layout: Layout,
}

#[derive(Debug)]
struct ViewedInstance {
    name: String,
    ilp_address: String,
    dashboard: String,
    state: Arc<Instance>,
    connector: Arc<Connector>,
}

impl ViewSource {
    pub fn of(network: &Network) -> Self {
        let instances: Vec<ViewedInstance> = network
            .instances()
            .iter()
            .map(|handle| ViewedInstance {
                name: handle.name().to_owned(),
                ilp_address: handle.ilp_address().to_string(),
                dashboard: format!("{}/", handle.admin_url()),
                state: handle.node().instance().clone(),
                connector: handle.node().connector().clone(),
            })
            .collect();
        let by_address = instances
            .iter()
            .enumerate()
            .map(|(index, instance)| (instance.ilp_address.clone(), index))
            .collect();
        let layout = Layout::circle(instances.len());
        Self {
            instances,
            by_address,
            layout,
        }
    }

    /// The network as it is now.
    pub fn snapshot(&self) -> NetworkSnapshot {
        let instances = self
            .instances
            .iter()
            .zip(&self.layout.positions)
            .map(|(instance, &(x, y))| InstanceView {
                name: instance.name.clone(),
                ilp_address: instance.ilp_address.clone(),
                dashboard: instance.dashboard.clone(),
                x: x.round(),
                y: y.round(),
            })
            .collect();
        // (lower index, higher index, asset code, scale) -> the peering; ordered so the page and
        // its tests see the same order every time.
        let mut peerings: BTreeMap<(usize, usize, String, u8), PeeringView> = BTreeMap::new();
        for (holder_index, holder) in self.instances.iter().enumerate() {
            let counts: HashMap<_, _> = holder
                .connector
                .links()
                .into_iter()
                .map(|link| (link.peer_id, (link.fulfilled, link.rejected)))
                .collect();
            for peer in holder.state.peers() {
                let Some(&other_index) = self.by_address.get(peer.static_ilp_address.as_str())
                else {
                    continue; // A peer outside the network (a test client, a receiver).
                };
                if other_index == holder_index {
                    continue;
                }
                let Some(asset) = holder.state.asset_including_deleted(peer.asset_id) else {
                    continue;
                };
                let (first, second) = if holder_index < other_index {
                    (holder_index, other_index)
                } else {
                    (other_index, holder_index)
                };
                let side = usize::from(holder_index != first);
                let names = |index: usize| self.instances[index].name.clone();
                let peering = peerings
                    .entry((first, second, asset.code.clone(), asset.scale))
                    .or_insert_with(|| PeeringView {
                        between: [names(first), names(second)],
                        asset: AssetView {
                            code: asset.code.clone(),
                            scale: asset.scale,
                        },
                        liquidity: [None, None],
                        links: [
                            LinkView {
                                from: names(first),
                                to: names(second),
                                counted: false,
                                fulfilled: 0,
                                rejected: 0,
                            },
                            LinkView {
                                from: names(second),
                                to: names(first),
                                counted: false,
                                fulfilled: 0,
                                rejected: 0,
                            },
                        ],
                    });
                // What the holder grants its peer: how much the peer may still send through it.
                peering.liquidity[side] = holder
                    .state
                    .peer_liquidity(peer.id)
                    .map(|amount| amount.to_string());
                // The holder counts the packets that came from the peer: the link towards it.
                let (fulfilled, rejected) = counts.get(&peer.id).copied().unwrap_or_default();
                let link = &mut peering.links[1 - side];
                link.counted = true;
                link.fulfilled = link.fulfilled.saturating_add(fulfilled);
                link.rejected = link.rejected.saturating_add(rejected);
            }
        }
        NetworkSnapshot {
            width: self.layout.width.round(),
            height: self.layout.height.round(),
            instances,
            peerings: peerings.into_values().collect(),
        }
    }
}

/// `GET /network.json`.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkSnapshot {
    /// The picture's size; instances' `x` and `y` are within it.
    pub width: f64,
    pub height: f64,
    pub instances: Vec<InstanceView>,
    pub peerings: Vec<PeeringView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InstanceView {
    pub name: String,
    pub ilp_address: String,
    /// The instance's admin dashboard: its admin base URL and `/`.
    pub dashboard: String,
    pub x: f64,
    pub y: f64,
}

/// Two instances peered in one asset.
#[derive(Debug, Clone, Serialize)]
pub struct PeeringView {
    pub between: [String; 2],
    pub asset: AssetView,
    /// What each side grants the other (`between[0]` grants `between[1]` first), as a decimal
    /// string of the asset's smallest unit (exact beyond JavaScript's 2^53); `null` for a side
    /// that has no peer for the other.
    pub liquidity: [Option<String>; 2],
    /// Both directions: `between[0]` to `between[1]`, then back.
    pub links: [LinkView; 2],
}

#[derive(Debug, Clone, Serialize)]
pub struct AssetView {
    pub code: String,
    pub scale: u8,
}

/// Packets sent one way over a peering, counted by the receiving side since it was peered.
#[derive(Debug, Clone, Serialize)]
pub struct LinkView {
    pub from: String,
    pub to: String,
    /// False when the receiving side has no peer for the sender (so nothing can cross).
    pub counted: bool,
    pub fulfilled: u64,
    pub rejected: u64,
}

async fn snapshot_json(State(source): State<Arc<ViewSource>>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(source.snapshot()),
    )
}

async fn page() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], Html(render_page()))
}

/// The page: static, everything it shows comes from `/network.json`, drawn by its script.
fn render_page() -> String {
    PAGE.replace("{HEALTHY}", HEALTHY)
        .replace("{STRAINED}", STRAINED)
        .replace("{BROKEN}", BROKEN)
}

const PAGE: &str = r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>peerlab: network view</title>
<style>
body{font-family:sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em;margin:0 0 .3em}
#status{color:#555;margin:0 0 .8em}#status.stale{color:{BROKEN};font-weight:bold}
svg{border:1px solid #ddd;background:#fcfcfc;max-width:100%;height:auto}
svg text{font-size:12px}svg .name{font-weight:bold}svg .traffic{fill:#555}
/* Labels stay readable where they cross a line. */
svg .peering text{paint-order:stroke;stroke:#fcfcfc;stroke-width:4px;stroke-linejoin:round}
svg a text{fill:#1565c0;text-decoration:underline}
table{border-collapse:collapse;margin-top:1em}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}
td.text{text-align:left}.rejects{color:{BROKEN}}
</style></head><body>
<h1>peerlab network view</h1>
<p id="status">connecting...</p>
<svg id="network" xmlns="http://www.w3.org/2000/svg" width="720" height="480" viewBox="0 0 720 480">
<g id="peerings"></g><g id="instances"></g></svg>
<h2>Instances</h2>
<table id="instance-table"><thead><tr><th>instance</th><th>ILP address</th><th>dashboard</th></tr></thead><tbody></tbody></table>
<h2>Peerings</h2>
<table id="peering-table"><thead><tr><th>between</th><th>asset</th><th>liquidity granted</th><th>packets/s</th><th>fulfilled</th><th>rejects</th></tr></thead><tbody></tbody></table>
<script>
"use strict";
const SVG = "http://www.w3.org/2000/svg";
const POLL_MS = 500;
const previous = new Map();
const drawn = {instances: new Map(), peerings: new Map(), instanceRows: new Map(), peeringRows: new Map()};
function el(ns, tag, attrs, parent) {
  const node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}
function setText(node, text) { if (node.textContent !== text) node.textContent = text; }
function key(p) { return p.between[0] + "\u0000" + p.between[1] + "\u0000" + p.asset.code + "\u0000" + p.asset.scale; }
function grants(p, side) { return p.liquidity[side] === null ? "no peer" : p.liquidity[side]; }
function liquidityText(p) {
  return p.asset.code + ": " + p.between[0] + " grants " + grants(p, 0) + " | " + p.between[1] + " grants " + grants(p, 1);
}
function rate(link, now) {
  const id = link.from + "\u0000" + link.to;
  const total = link.fulfilled + link.rejected;
  const before = previous.get(id);
  previous.set(id, {total: total, at: now, rate: before ? before.rate : 0});
  if (!before || now <= before.at) return before ? before.rate : 0;
  const perSecond = Math.max(0, total - before.total) * 1000 / (now - before.at);
  previous.get(id).rate = perSecond;
  return perSecond;
}
function linkText(link, perSecond) {
  return link.from + " \u2192 " + link.to + ": " + perSecond.toFixed(1) + " packets/s, " + link.rejected + " rejects";
}
function drawInstance(i) {
  let g = drawn.instances.get(i.name);
  if (!g) {
    g = el(SVG, "g", {"class": "instance", "data-name": i.name}, document.getElementById("instances"));
    el(SVG, "circle", {r: 22, fill: "{HEALTHY}"}, g);
    el(SVG, "text", {"class": "name", "text-anchor": "middle"}, g).textContent = i.name;
    el(SVG, "text", {"class": "address", "text-anchor": "middle"}, g).textContent = i.ilp_address;
    const a = el(SVG, "a", {"class": "dashboard", href: i.dashboard, target: "_blank"}, g);
    el(SVG, "text", {"text-anchor": "middle"}, a).textContent = "dashboard";
    drawn.instances.set(i.name, g);
    const row = el(null, "tr", {"data-name": i.name}, document.querySelector("#instance-table tbody"));
    el(null, "td", {"class": "text"}, row).textContent = i.name;
    el(null, "td", {"class": "text"}, row).textContent = i.ilp_address;
    const cell = el(null, "td", {"class": "text"}, row);
    el(null, "a", {"class": "dashboard", href: i.dashboard, target: "_blank"}, cell).textContent = i.dashboard;
  }
  const [circle, name, address, link] = g.children;
  circle.setAttribute("cx", i.x); circle.setAttribute("cy", i.y);
  name.setAttribute("x", i.x); name.setAttribute("y", i.y + 38);
  address.setAttribute("x", i.x); address.setAttribute("y", i.y + 52);
  link.firstChild.setAttribute("x", i.x); link.firstChild.setAttribute("y", i.y + 66);
}
function drawPeering(p, positions, now) {
  const k = key(p);
  let g = drawn.peerings.get(k);
  if (!g) {
    g = el(SVG, "g", {"class": "peering", "data-between": p.between[0] + " " + p.between[1], "data-asset": p.asset.code}, document.getElementById("peerings"));
    el(SVG, "line", {"stroke-width": 3}, g);
    el(SVG, "text", {"class": "liquidity", "text-anchor": "middle"}, g);
    el(SVG, "text", {"class": "traffic forward", "text-anchor": "middle"}, g);
    el(SVG, "text", {"class": "traffic backward", "text-anchor": "middle"}, g);
    drawn.peerings.set(k, g);
    const row = el(null, "tr", {"class": "peering", "data-between": p.between[0] + " " + p.between[1], "data-asset": p.asset.code}, document.querySelector("#peering-table tbody"));
    for (let c = 0; c < 6; c++) el(null, "td", {"class": c < 3 ? "text" : ""}, row);
    drawn.peeringRows.set(k, row);
  }
  const a = positions.get(p.between[0]), b = positions.get(p.between[1]);
  const [line, liquidity, forward, backward] = g.children;
  const strained = p.liquidity.some(function (l) { return l === "0"; });
  line.setAttribute("stroke", strained ? "{STRAINED}" : "{HEALTHY}");
  if (a && b) {
    line.setAttribute("x1", a.x); line.setAttribute("y1", a.y); line.setAttribute("x2", b.x); line.setAttribute("y2", b.y);
    const mx = (a.x + b.x) / 2, my = (a.y + b.y) / 2;
    for (const [node, dy] of [[liquidity, -20], [forward, -6], [backward, 8]]) {
      node.setAttribute("x", mx); node.setAttribute("y", my + dy);
    }
  }
  const rates = p.links.map(function (link) { return rate(link, now); });
  setText(liquidity, liquidityText(p));
  setText(forward, linkText(p.links[0], rates[0]));
  setText(backward, linkText(p.links[1], rates[1]));
  const cells = drawn.peeringRows.get(k).children;
  setText(cells[0], p.between[0] + " \u2194 " + p.between[1]);
  setText(cells[1], p.asset.code + " (scale " + p.asset.scale + ")");
  setText(cells[2], p.between[0] + " grants " + grants(p, 0) + "; " + p.between[1] + " grants " + grants(p, 1));
  setText(cells[3], p.links.map(function (l, i) { return l.from + "\u2192" + l.to + " " + rates[i].toFixed(1); }).join("; "));
  setText(cells[4], p.links.map(function (l) { return l.from + "\u2192" + l.to + " " + l.fulfilled; }).join("; "));
  setText(cells[5], p.links.map(function (l) { return l.from + "\u2192" + l.to + " " + l.rejected; }).join("; "));
  cells[5].className = p.links.some(function (l) { return l.rejected > 0; }) ? "rejects" : "";
}
function draw(snapshot) {
  const now = performance.now();
  const svg = document.getElementById("network");
  svg.setAttribute("viewBox", "0 0 " + snapshot.width + " " + snapshot.height);
  svg.setAttribute("width", snapshot.width); svg.setAttribute("height", snapshot.height);
  const positions = new Map();
  for (const i of snapshot.instances) { positions.set(i.name, i); drawInstance(i); }
  const seen = new Set();
  for (const p of snapshot.peerings) { seen.add(key(p)); drawPeering(p, positions, now); }
  for (const [k, g] of drawn.peerings) {
    if (!seen.has(k)) { g.remove(); drawn.peeringRows.get(k).remove(); drawn.peerings.delete(k); drawn.peeringRows.delete(k); }
  }
  const status = document.getElementById("status");
  status.className = "";
  setText(status, snapshot.instances.length + " instances, " + snapshot.peerings.length + " peerings; updated " + new Date().toLocaleTimeString());
}
async function poll() {
  try {
    const response = await fetch("network.json", {cache: "no-store"});
    if (!response.ok) throw new Error("HTTP " + response.status);
    draw(await response.json());
  } catch (error) {
    const status = document.getElementById("status");
    status.className = "stale";
    setText(status, "not updating: " + error.message + " (has the network stopped?)");
  }
  setTimeout(poll, POLL_MS);
}
poll();
</script></body></html>
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_self_contained_and_coloured_like_the_report() {
        let page = render_page();
        assert!(!page.contains("{HEALTHY}") && !page.contains("{STRAINED}"));
        assert!(page.contains(HEALTHY) && page.contains(STRAINED) && page.contains(BROKEN));
        // Nothing fetched from elsewhere: works offline.
        for outside in ["src=\"http", "href=\"http", "<link", "@import", "cdn"] {
            assert!(!page.contains(outside), "{outside}");
        }
        assert!(page.contains("fetch(\"network.json\""));
    }
}
