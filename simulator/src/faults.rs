//! Faults `peerlab run` injects while its traffic runs, as a topology's `[[faults]]` schedule them.
//!
//! Faults on a link (latency, dropped packets, a partition, a peer answering 500 or garbage) need
//! something between the two connectors: a [`LinkProxy`], an HTTP server that forwards each
//! ILP-over-HTTP request from one instance to the other's connector and misbehaves while a fault
//! is on. The paying instance's peer is pointed at the proxy before the traffic starts. Faults on
//! a peering's configuration (a wrong token, drained liquidity) go through the instances' own
//! services, and are undone when the fault ends.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use peerlab::instance::{HttpUpdate, PeerUpdate, WithdrawalMode};
use peerlab::net::HttpConnector;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::network::Network;
use crate::report::FaultRecord;
use crate::topology::{FaultKind, FaultSpec, Topology};

/// The largest reply forwarded (ILP packets are at most 32 KiB of data).
const MAX_REPLY_BYTES: usize = 64 * 1024;
/// How long a forwarded request may take (the longest an ILP packet is held).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(35);
/// How long connecting to the connector behind a proxy may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a link does to the requests it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LinkMode {
    /// Forwards them.
    Normal = 0,
    /// Answers none: the connection is refused at the HTTP level (503, no body), as an
    /// unreachable peer looks to a connector.
    Partition = 1,
    /// Answers HTTP 500.
    ServerError = 2,
    /// Answers 200 with bytes that are no ILP packet.
    Garbage = 3,
}

/// What a proxy is doing now; changed while it runs.
#[derive(Debug, Default)]
pub struct LinkState {
    mode: AtomicU8,
    latency_ms: AtomicU64,
    /// The most a request is held while requests are reordered (each a random time up to it).
    reorder_ms: AtomicU64,
    /// Requests dropped (answered 503 without forwarding).
    drops: Share,
    /// Requests delivered twice.
    duplicates: Share,
    /// Requests whose reply is cut off.
    cuts: Share,
    pub forwarded: AtomicU64,
    pub refused: AtomicU64,
    /// Requests delivered a second time.
    pub duplicated: AtomicU64,
    /// Replies cut off after the other side processed the request.
    pub cut: AtomicU64,
}

/// A share of requests, picked by a counter so that they are spread evenly and reproducibly: a
/// share of 0.1 is every tenth.
#[derive(Debug, Default)]
struct Share {
    per_million: AtomicU32,
    seen: AtomicU64,
}

impl Share {
    fn set(&self, share: f64) {
        let per_million = (share.clamp(0.0, 1.0) * 1_000_000.0).round() as u32;
        self.per_million.store(per_million, Ordering::Relaxed);
    }

    fn picks_next(&self) -> bool {
        let per_million = u64::from(self.per_million.load(Ordering::Relaxed));
        if per_million == 0 {
            return false;
        }
        let n = self.seen.fetch_add(1, Ordering::Relaxed);
        (n * per_million) / 1_000_000 != ((n + 1) * per_million) / 1_000_000
    }
}

impl LinkState {
    pub fn set_mode(&self, mode: LinkMode) {
        self.mode.store(mode as u8, Ordering::Relaxed);
    }

    pub fn set_latency(&self, latency: Duration) {
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.latency_ms.store(ms, Ordering::Relaxed);
    }

    /// Drops `share` (0 to 1) of requests.
    pub fn set_drop_share(&self, share: f64) {
        self.drops.set(share);
    }

    /// Holds each request a random time from 0 to `most` (zero: none), so they overtake each
    /// other.
    pub fn set_reorder(&self, most: Duration) {
        let ms = u64::try_from(most.as_millis()).unwrap_or(u64::MAX);
        self.reorder_ms.store(ms, Ordering::Relaxed);
    }

    /// Delivers `share` (0 to 1) of requests twice.
    pub fn set_duplicate_share(&self, share: f64) {
        self.duplicates.set(share);
    }

    /// Cuts the reply of `share` (0 to 1) of requests.
    pub fn set_cut_reply_share(&self, share: f64) {
        self.cuts.set(share);
    }

    /// Back to forwarding every request as it comes.
    pub fn set_normal(&self) {
        self.set_mode(LinkMode::Normal);
        self.set_latency(Duration::ZERO);
        self.set_reorder(Duration::ZERO);
        self.set_drop_share(0.0);
        self.set_duplicate_share(0.0);
        self.set_cut_reply_share(0.0);
    }

    fn mode(&self) -> LinkMode {
        match self.mode.load(Ordering::Relaxed) {
            1 => LinkMode::Partition,
            2 => LinkMode::ServerError,
            3 => LinkMode::Garbage,
            _ => LinkMode::Normal,
        }
    }

    /// Whether this request is one of the dropped share: requests are spread evenly, so a share
    /// of 0.1 drops every tenth.
    fn drops_next(&self) -> bool {
        self.drops.picks_next()
    }

    /// How long to hold this request: a random time up to the reorder bound, drawn from
    /// `peerlab::entropy` (the run's seed in a deterministic run).
    fn reorder_delay(&self) -> Duration {
        let most = self.reorder_ms.load(Ordering::Relaxed);
        if most == 0 {
            return Duration::ZERO;
        }
        let drawn = u64::from_le_bytes(peerlab::entropy::bytes());
        // The bias of a modulo over 64 random bits is far below anything a test could see.
        Duration::from_millis(drawn % (most + 1))
    }
}

/// A running proxy in front of one connector.
#[derive(Debug)]
pub struct LinkProxy {
    url: String,
    state: Arc<LinkState>,
    stop: watch::Sender<bool>,
    server: Option<tokio::task::JoinHandle<()>>,
}

#[derive(Clone)]
struct ProxyState {
    target: Arc<str>,
    link: Arc<LinkState>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl LinkProxy {
    /// A proxy on a free loopback port forwarding to `target` (a connector URL): on the
    /// thread's simulated network in a deterministic run, over TCP otherwise.
    pub async fn start(target: &str) -> std::io::Result<Self> {
        let listener = peerlab::net::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let link = Arc::new(LinkState::default());
        let state = ProxyState {
            target: target.into(),
            link: link.clone(),
            client: Client::builder(TokioExecutor::new())
                .build(HttpConnector::new(CONNECT_TIMEOUT)),
        };
        // The 64 KiB limit covers any ILP packet (32 KiB of data at most) with room to spare.
        let app = Router::new()
            .fallback(forward)
            .layer(axum::extract::DefaultBodyLimit::max(MAX_REPLY_BYTES))
            .with_state(state);
        let (stop, stopped) = watch::channel(false);
        // peerlab's own server: header and body read timeouts and a connection cap, as every
        // listener of an instance has.
        let server = tokio::spawn(peerlab::http_server::serve_router(
            listener,
            app,
            peerlab::http_server::ServerSettings::default(),
            stopped,
        ));
        Ok(Self {
            url: format!("http://{addr}/"),
            state: link,
            stop,
            server: Some(server),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn state(&self) -> &Arc<LinkState> {
        &self.state
    }

    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = server.await;
        }
    }
}

async fn forward(State(state): State<ProxyState>, headers: HeaderMap, body: Bytes) -> Response {
    let link = &state.link;
    let latency = link.latency_ms.load(Ordering::Relaxed);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let reorder = link.reorder_delay();
    if !reorder.is_zero() {
        tokio::time::sleep(reorder).await;
    }
    let refuse = |status: StatusCode| {
        link.refused.fetch_add(1, Ordering::Relaxed);
        status.into_response()
    };
    match link.mode() {
        LinkMode::Partition => return refuse(StatusCode::SERVICE_UNAVAILABLE),
        LinkMode::ServerError => return refuse(StatusCode::INTERNAL_SERVER_ERROR),
        LinkMode::Garbage => {
            link.refused.fetch_add(1, Ordering::Relaxed);
            return (StatusCode::OK, "this is not an ILP packet").into_response();
        }
        LinkMode::Normal => {}
    }
    if link.drops_next() {
        return refuse(StatusCode::SERVICE_UNAVAILABLE);
    }
    let duplicate = link.duplicates.picks_next();
    let cut = link.cuts.picks_next();
    let request = || {
        let mut request = hyper::Request::post(state.target.as_ref());
        for name in [hyper::header::AUTHORIZATION, hyper::header::CONTENT_TYPE] {
            if let Some(value) = headers.get(&name) {
                request = request.header(name, value);
            }
        }
        request.body(Full::new(body.clone())).ok()
    };
    let Some(first) = request() else {
        return refuse(StatusCode::BAD_GATEWAY);
    };
    // A duplicated request's two copies go at once, on two connections, as a network that
    // duplicates a packet delivers them close together: the receiver sees the second while the
    // first is still being processed, the harder case for it (a copy after the first's reply
    // is answered from what the first left, the easier one). The sender gets the first's reply.
    let second = duplicate.then(request).flatten();
    let outcome = match second {
        Some(second) => {
            link.duplicated.fetch_add(1, Ordering::Relaxed);
            let (first, _second) =
                futures_util::future::join(exchange(&state, first), exchange(&state, second)).await;
            first
        }
        None => exchange(&state, first).await,
    };
    match outcome {
        Some((status, content_type, body)) => {
            link.forwarded.fetch_add(1, Ordering::Relaxed);
            if cut {
                link.cut.fetch_add(1, Ordering::Relaxed);
                return cut_reply(status);
            }
            let mut response = (status, body).into_response();
            if let Some(content_type) = content_type {
                response
                    .headers_mut()
                    .insert(hyper::header::CONTENT_TYPE, content_type);
            }
            response
        }
        None => refuse(StatusCode::BAD_GATEWAY),
    }
}

/// A reply whose body breaks off before any of it is sent: the server aborts the connection, so
/// the sender sees a broken exchange (not an HTTP status) after the receiver processed the
/// request.
fn cut_reply(status: StatusCode) -> Response {
    let broken = futures_util::stream::once(async {
        Err::<Bytes, _>(std::io::Error::other("the link cut the reply"))
    });
    (status, axum::body::Body::from_stream(broken)).into_response()
}

/// Forwards one request to the connector behind the proxy: its status, content type and body,
/// or `None` when no whole answer came in time.
async fn exchange(
    state: &ProxyState,
    request: hyper::Request<Full<Bytes>>,
) -> Option<(StatusCode, Option<axum::http::HeaderValue>, Bytes)> {
    let exchange = async {
        let response = state.client.request(request).await.ok()?;
        let status = response.status();
        let content_type = response.headers().get(hyper::header::CONTENT_TYPE).cloned();
        let body = Limited::new(response.into_body(), MAX_REPLY_BYTES)
            .collect()
            .await
            .ok()?
            .to_bytes();
        Some((status, content_type, body))
    };
    tokio::time::timeout(FORWARD_TIMEOUT, exchange)
        .await
        .ok()
        .flatten()
}

/// The proxies a run's link faults need, by link (`from`, `to`), each already in front of `to`'s
/// connector for `from`'s packets.
pub type Proxies = std::collections::HashMap<(String, String), LinkProxy>;

/// Whether a fault of `kind` acts on the link itself (so it needs a proxy).
fn on_link(kind: FaultKind) -> bool {
    matches!(
        kind,
        FaultKind::Latency
            | FaultKind::Drop
            | FaultKind::Partition
            | FaultKind::ServerError
            | FaultKind::Garbage
            | FaultKind::Reorder
            | FaultKind::Duplicate
            | FaultKind::CutReply
    )
}

/// The peer `holder` keeps for `other`, in the asset they are peered in.
fn peer_of(
    network: &Network,
    topology: &Topology,
    holder: &str,
    other: &str,
) -> Option<Arc<peerlab::instance::Peer>> {
    let asset = topology
        .peerings
        .iter()
        .find(|p| p.between.contains(&holder.to_owned()) && p.between.contains(&other.to_owned()))?
        .asset
        .clone();
    let holder = network.instance(holder)?;
    let other = network.instance(other)?;
    holder
        .node()
        .instance()
        .peer_by_address_and_asset(other.ilp_address().as_str(), holder.asset_id(&asset)?)
}

/// Points `holder`'s peer `peer` at a new endpoint or token, keeping the rest (how link faults
/// put a proxy or a wrong token in the way, and take it out again).
pub fn repoint(
    network: &Network,
    holder: &str,
    peer: &peerlab::instance::Peer,
    endpoint: &str,
    token: &str,
) -> Result<(), String> {
    let instance = network
        .instance(holder)
        .ok_or_else(|| format!("no instance {holder}"))?;
    instance
        .node()
        .instance()
        .update_peer(PeerUpdate {
            id: peer.id.to_string(),
            http: Some(HttpUpdate {
                incoming_tokens: None,
                outgoing_endpoint: endpoint.to_owned(),
                outgoing_token: token.to_owned(),
            }),
            ..PeerUpdate::default()
        })
        .map(|_| ())
        .map_err(|error| error.to_string())
}

/// The faults a run injects: the topology's scheduled ones, and its random ones drawn with
/// `seed` (a Poisson process per `[[random_faults]]` entry: exponential gaps at its rate), in
/// the order they start.
pub fn schedule(topology: &Topology, seed: u64) -> Vec<FaultSpec> {
    use rand::{Rng, SeedableRng};
    let mut faults = topology.faults.clone();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x6661_756c_7473);
    for random in &topology.random_faults {
        if random.kinds.is_empty() || topology.peerings.is_empty() || random.rate <= 0.0 {
            continue;
        }
        let mut at = 0.0;
        loop {
            // Inverse transform: -ln(U) / rate, with U in (0, 1].
            let uniform: f64 = 1.0 - rng.random::<f64>();
            at += -uniform.ln() / random.rate;
            if at >= random.until {
                break;
            }
            let kind = random.kinds[rng.random_range(0..random.kinds.len())];
            let peering = &topology.peerings[rng.random_range(0..topology.peerings.len())];
            let mut between = peering.between.clone();
            if rng.random::<bool>() {
                between.reverse();
            }
            let instance = kind.on_instance().then(|| between[0].clone());
            // Duplicates and cut replies hit every packet unless told otherwise; drops a tenth.
            let share = match kind {
                FaultKind::Duplicate | FaultKind::CutReply => random.share.unwrap_or(1.0),
                _ => random.share.unwrap_or(0.1),
            };
            faults.push(FaultSpec {
                kind,
                between,
                instance,
                at,
                lasts: random.lasts,
                latency_ms: Some(random.latency_ms.unwrap_or(50)),
                share: Some(share),
                skew_ms: (kind == FaultKind::ClockSkew).then(|| random.skew_ms.unwrap_or(2_000)),
            });
        }
    }
    faults.sort_by(|a, b| a.at.total_cmp(&b.at));
    faults
}

/// Starts a proxy for every link one of `faults` acts on, and points the sending side's peer at
/// it.
pub async fn prepare(network: &Network, topology: &Topology, faults: &[FaultSpec]) -> Proxies {
    let mut proxies = Proxies::new();
    for fault in faults.iter().filter(|fault| on_link(fault.kind)) {
        let [from, to] = fault.between.clone();
        if proxies.contains_key(&(from.clone(), to.clone())) {
            continue;
        }
        let Some(peer) = peer_of(network, topology, &from, &to) else {
            continue;
        };
        let Ok(proxy) = LinkProxy::start(&peer.outgoing.endpoint).await else {
            tracing::warn!(%from, %to, "could not start a link proxy");
            continue;
        };
        if let Err(error) = repoint(
            network,
            &from,
            &peer,
            proxy.url(),
            &peer.outgoing.auth_token,
        ) {
            tracing::warn!(%from, %to, %error, "could not put a proxy on the link");
        }
        proxies.insert((from, to), proxy);
    }
    proxies
}

pub async fn shutdown(proxies: Proxies) {
    for (_, proxy) in proxies {
        proxy.shutdown().await;
    }
}

/// One scheduled fault, resolved against the network: what to switch on and off.
pub struct Injection<'a> {
    spec: FaultSpec,
    action: Result<Action<'a>, String>,
}

enum Action<'a> {
    Restart(&'a peerlab::node::Node),
    /// The instance's clock, to skew.
    Skew(peerlab::clock::Clock),
    Link(Arc<LinkState>),
    Token {
        instance: Arc<peerlab::instance::Instance>,
        peer: Arc<peerlab::instance::Peer>,
    },
    Drain {
        instance: Arc<peerlab::instance::Instance>,
        peer: Arc<peerlab::instance::Peer>,
    },
}

impl<'a> Injection<'a> {
    pub fn of(
        network: &'a Network,
        topology: &Topology,
        spec: &FaultSpec,
        proxies: &Proxies,
    ) -> Self {
        let [from, to] = &spec.between;
        let action = if spec.kind == FaultKind::Restart {
            spec.instance
                .as_deref()
                .and_then(|name| network.instance(name))
                .map(|instance| Action::Restart(instance.node()))
                .ok_or_else(|| "no such instance".to_owned())
        } else if spec.kind == FaultKind::ClockSkew {
            spec.instance
                .as_deref()
                .and_then(|name| network.instance(name))
                .map(|instance| Action::Skew(instance.node().instance().clock().clone()))
                .ok_or_else(|| "no such instance".to_owned())
        } else if on_link(spec.kind) {
            proxies
                .get(&(from.clone(), to.clone()))
                .map(|proxy| Action::Link(proxy.state().clone()))
                .ok_or_else(|| format!("no proxy on the link {from} -> {to}"))
        } else {
            // A wrong token is the sender's peer's; drained liquidity is what the receiver
            // grants the sender.
            let (holder, other) = match spec.kind {
                FaultKind::WrongToken => (from, to),
                _ => (to, from),
            };
            match (
                network.instance(holder),
                peer_of(network, topology, holder, other),
            ) {
                (Some(instance), Some(peer)) => {
                    let instance = instance.node().instance().clone();
                    Ok(match spec.kind {
                        FaultKind::WrongToken => Action::Token { instance, peer },
                        _ => Action::Drain { instance, peer },
                    })
                }
                _ => Err(format!("no peering between {from} and {to}")),
            }
        };
        Self {
            spec: spec.clone(),
            action,
        }
    }

    /// Waits for the fault's time, switches it on, waits its length, and undoes it.
    pub async fn run(self, traffic_started: Instant) -> FaultRecord {
        let spec = &self.spec;
        let at = traffic_started + Duration::from_secs_f64(spec.at);
        tokio::time::sleep_until(at).await;
        let from_seconds = traffic_started.elapsed().as_secs_f64();
        let between = match &spec.instance {
            Some(instance) => [instance.clone(), instance.clone()],
            None => spec.between.clone(),
        };
        let record = |error: Option<String>| FaultRecord {
            kind: spec.kind,
            between: between.clone(),
            from_seconds,
            until_seconds: traffic_started.elapsed().as_secs_f64(),
            error,
        };
        let action = match &self.action {
            Ok(action) => action,
            Err(error) => return record(Some(error.clone())),
        };
        if let Action::Restart(node) = action {
            node.stop_serving().await;
            tokio::time::sleep(Duration::from_secs_f64(spec.lasts)).await;
            let error = node
                .serve_again()
                .await
                .err()
                .map(|error| error.to_string());
            return record(error);
        }
        let undo = match self.switch_on(action) {
            Ok(undo) => undo,
            Err(error) => return record(Some(error)),
        };
        tokio::time::sleep(Duration::from_secs_f64(spec.lasts)).await;
        let error = undo().err();
        record(error)
    }

    /// Switches the fault on; returns what switches it off.
    fn switch_on(
        &self,
        action: &Action,
    ) -> Result<Box<dyn FnOnce() -> Result<(), String> + Send>, String> {
        let spec = &self.spec;
        match action {
            Action::Restart(_) => Err("a restart is not switched on this way".to_owned()),
            Action::Link(link) => {
                match spec.kind {
                    FaultKind::Latency => {
                        link.set_latency(Duration::from_millis(spec.latency_ms.unwrap_or(0)));
                    }
                    FaultKind::Drop => link.set_drop_share(spec.share.unwrap_or(0.0)),
                    FaultKind::Partition => link.set_mode(LinkMode::Partition),
                    FaultKind::ServerError => link.set_mode(LinkMode::ServerError),
                    FaultKind::Reorder => {
                        link.set_reorder(Duration::from_millis(spec.latency_ms.unwrap_or(0)));
                    }
                    FaultKind::Duplicate => link.set_duplicate_share(spec.share.unwrap_or(1.0)),
                    FaultKind::CutReply => link.set_cut_reply_share(spec.share.unwrap_or(1.0)),
                    _ => link.set_mode(LinkMode::Garbage),
                }
                let link = link.clone();
                Ok(Box::new(move || {
                    link.set_normal();
                    Ok(())
                }))
            }
            Action::Skew(clock) => {
                clock.set_skew_ms(spec.skew_ms.unwrap_or(0));
                let clock = clock.clone();
                Ok(Box::new(move || {
                    clock.set_skew_ms(0);
                    Ok(())
                }))
            }
            Action::Token { instance, peer } => {
                let update = |token: &str| {
                    instance
                        .update_peer(PeerUpdate {
                            id: peer.id.to_string(),
                            http: Some(HttpUpdate {
                                incoming_tokens: None,
                                outgoing_endpoint: peer.outgoing.endpoint.clone(),
                                outgoing_token: token.to_owned(),
                            }),
                            ..PeerUpdate::default()
                        })
                        .map(|_| ())
                        .map_err(|error| error.to_string())
                };
                // The endpoint may have been pointed at a proxy since `peer` was read: read it
                // again so that undoing the fault restores what was there.
                let current = instance
                    .peer(&peer.id.to_string())
                    .ok_or_else(|| "the peer is gone".to_owned())?;
                update("peerlab-fault-wrong-token")?;
                let instance = instance.clone();
                Ok(Box::new(move || {
                    instance
                        .update_peer(PeerUpdate {
                            id: current.id.to_string(),
                            http: Some(HttpUpdate {
                                incoming_tokens: None,
                                outgoing_endpoint: current.outgoing.endpoint.clone(),
                                outgoing_token: current.outgoing.auth_token.clone(),
                            }),
                            ..PeerUpdate::default()
                        })
                        .map(|_| ())
                        .map_err(|error| error.to_string())
                }))
            }
            Action::Drain { instance, peer } => {
                let amount = instance.peer_liquidity(peer.id).unwrap_or(0);
                if amount > 0 {
                    instance
                        .create_peer_withdrawal(
                            &peerlab::entropy::uuid().to_string(),
                            &peer.id.to_string(),
                            amount,
                            WithdrawalMode::SinglePhase,
                        )
                        .map_err(|error| error.to_string())?;
                }
                let (instance, peer) = (instance.clone(), peer.clone());
                Ok(Box::new(move || {
                    if amount == 0 {
                        return Ok(());
                    }
                    instance
                        .deposit_peer_liquidity(
                            &peerlab::entropy::uuid().to_string(),
                            &peer.id.to_string(),
                            amount,
                        )
                        .map_err(|error| error.to_string())
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_of_requests_is_dropped_evenly() {
        let link = LinkState::default();
        link.set_drop_share(0.1);
        let dropped = (0..1000).filter(|_| link.drops_next()).count();
        assert_eq!(dropped, 100);
        link.set_drop_share(0.0);
        assert!(!(0..100).any(|_| link.drops_next()));
    }

    #[test]
    fn reorder_delays_stay_within_their_bound_and_repeat_with_the_seed() {
        let link = LinkState::default();
        assert_eq!(link.reorder_delay(), Duration::ZERO);
        link.set_reorder(Duration::from_millis(30));
        let draw = || {
            let _seed = peerlab::entropy::seed_this_thread(4);
            (0..50).map(|_| link.reorder_delay()).collect::<Vec<_>>()
        };
        let first = draw();
        assert_eq!(first, draw());
        assert!(
            first
                .iter()
                .all(|delay| *delay <= Duration::from_millis(30))
        );
        assert!(first.iter().any(|delay| *delay != first[0]), "{first:?}");
        link.set_normal();
        assert_eq!(link.reorder_delay(), Duration::ZERO);
    }

    #[test]
    fn duplicates_and_cut_replies_take_their_share_and_stop_when_normal() {
        let link = LinkState::default();
        link.set_duplicate_share(0.5);
        link.set_cut_reply_share(1.0);
        assert_eq!(
            (0..100).filter(|_| link.duplicates.picks_next()).count(),
            50
        );
        assert!((0..100).all(|_| link.cuts.picks_next()));
        link.set_normal();
        assert!(!(0..100).any(|_| link.duplicates.picks_next() || link.cuts.picks_next()));
    }
}

#[cfg(test)]
mod schedule_tests {
    use super::*;

    #[test]
    fn random_faults_repeat_with_their_seed_and_stay_in_their_window() {
        let topology = Topology::parse(
            r#"
            [[instances]]
            name = "a"
            ilp_address = "test.a"
            [[instances]]
            name = "b"
            ilp_address = "test.b"
            [[assets]]
            code = "USD"
            scale = 2
            [[peerings]]
            between = ["a", "b"]
            asset = "USD"
            [[random_faults]]
            kinds = ["partition", "latency", "drop"]
            rate = 5
            for = 0.1
            until = 4
            "#,
        )
        .unwrap();
        let first = schedule(&topology, 9);
        assert_eq!(first, schedule(&topology, 9));
        assert_ne!(first, schedule(&topology, 10));
        // About 5 a second for 4 seconds.
        assert!((8..=40).contains(&first.len()), "{}", first.len());
        assert!(first.windows(2).all(|pair| pair[0].at <= pair[1].at));
        assert!(
            first
                .iter()
                .all(|fault| fault.at < 4.0 && fault.lasts == 0.1)
        );
    }
}
