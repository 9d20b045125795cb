//! Topology files: which instances to start, which assets they hold, and who peers with whom.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use peerlab::admin::dialect::DialectSetting;
use peerlab::ilp::Address;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The default topology, shipped in the binary.
pub const DEFAULT_TOPOLOGY: &str = include_str!("../../fixtures/topologies/pair.toml");

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// How instances reach those they are not peered with (default `manual`).
    #[serde(default)]
    pub routing: Routing,
    pub instances: Vec<InstanceSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<AssetSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peerings: Vec<PeeringSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wallet_addresses: Vec<WalletAddressSpec>,
    /// What `peerlab run` does once the network is up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traffic: Vec<TrafficSpec>,
    /// What `peerlab run` breaks while its traffic runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSpec>,
    /// Faults `peerlab run` draws at random (by its seed) while its traffic runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub random_faults: Vec<RandomFaultSpec>,
    /// The machines the network is spread over (`peerlab up FILE --host NAME` starts one's
    /// share); without hosts, and in a run on one machine, every instance runs in one process.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<HostSpec>,
}

/// A machine some of the network's instances run on.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    pub name: String,
    /// Where the other hosts reach it: an IP address (its instances bind to it) or a DNS name
    /// (its instances bind to every interface).
    pub address: String,
    /// Its instances' ports, in the order the file lists them, from here: the first gets
    /// Rafiki's 3001 (admin), 3002 (connector), 3003 (Open Payments), 3005 (auto-peering) above
    /// `base_port`, the next the same 10 higher, and so on. Default 3000.
    #[serde(
        default = "rafiki_base_port",
        skip_serializing_if = "is_rafiki_base_port"
    )]
    pub base_port: u16,
}

fn rafiki_base_port() -> u16 {
    3000
}

fn is_rafiki_base_port(port: &u16) -> bool {
    *port == rafiki_base_port()
}

/// Faults at random: on average `rate` a second from the traffic's start until `until` seconds,
/// each of a kind drawn from `kinds`, on a peering drawn from the topology's (either direction),
/// lasting `for` seconds. The run's seed draws them, so `--seed` repeats them.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RandomFaultSpec {
    pub kinds: Vec<FaultKind>,
    /// Faults a second, on average.
    pub rate: f64,
    /// How long each lasts, in seconds.
    #[serde(rename = "for")]
    pub lasts: f64,
    /// No fault starts after this many seconds (default 10).
    #[serde(default = "ten")]
    pub until: f64,
    /// For `latency` faults (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// For `drop` faults (default 0.1); `duplicate` and `cut_reply` faults default to every
    /// packet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// For `clock_skew` faults (default 2000): how far ahead (negative: behind) the instance's
    /// clock runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skew_ms: Option<i64>,
}

fn ten() -> f64 {
    10.0
}

// What `to_toml` leaves out: each field's default, which `parse` puts back.
fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero(value: &u16) -> bool {
    *value == 0
}

fn names_nothing(between: &[String; 2]) -> bool {
    between.iter().all(String::is_empty)
}

fn is_manual(method: &PeeringMethod) -> bool {
    *method == PeeringMethod::Manual
}

fn is_auto_dialect(dialect: &DialectSetting) -> bool {
    *dialect == DialectSetting::Auto
}

/// `DialectSetting` lives in the connector crate, which only reads it: written as it is read.
fn serialize_dialect<S: serde::Serializer>(
    dialect: &DialectSetting,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(match dialect {
        DialectSetting::Auto => "auto",
        DialectSetting::Seed => "seed",
        DialectSetting::V2 => "v2",
    })
}

/// One fault on the link from `between[0]` to `between[1]` (two peered instances), from `at`
/// seconds after the traffic starts, for `for` seconds.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub kind: FaultKind,
    /// The link, for every kind but `restart` and `clock_skew`.
    #[serde(default, skip_serializing_if = "names_nothing")]
    pub between: [String; 2],
    /// `restart`: the instance that stops and starts again; `clock_skew`: the instance whose
    /// clock is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Seconds after the traffic starts.
    pub at: f64,
    /// How long it lasts, in seconds; then it is undone.
    #[serde(rename = "for")]
    pub lasts: f64,
    /// `latency`: milliseconds added to each packet's trip; `reorder`: the most a packet is
    /// held (each a random time from 0 to this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// `drop`: the share of packets lost, 0 to 1; `duplicate`: the share delivered twice;
    /// `cut_reply`: the share whose reply is cut off (default for those two: every packet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// `clock_skew`: milliseconds the instance's wall clock runs ahead (negative: behind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skew_ms: Option<i64>,
}

/// What a fault does to its link.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Packets take `latency_ms` longer.
    Latency,
    /// A `share` of packets never reach the other side.
    Drop,
    /// No packet reaches the other side.
    Partition,
    /// The other side answers HTTP 500.
    ServerError,
    /// The other side answers bytes that are no ILP packet.
    Garbage,
    /// The sending side presents a token the other does not know (HTTP 401).
    WrongToken,
    /// The other side's liquidity for the sender is withdrawn (T04), then deposited back.
    DrainLiquidity,
    /// `instance` stops serving at once (every connection dropped, as a crash), then serves again
    /// with its state after `for` seconds.
    Restart,
    /// Each packet is held a random time from 0 to `latency_ms` (drawn from the run's seed in a
    /// deterministic run), so later packets overtake earlier ones.
    Reorder,
    /// Each packet (or a `share` of them, spread evenly) reaches the other side twice, both
    /// copies at once; the sender gets the first copy's reply. The receiver must process it once.
    Duplicate,
    /// The other side processes each packet (or a `share` of them), then the connection to the
    /// sender breaks before the reply reaches it. The sender sends it again; both sides must end
    /// agreeing on what was paid.
    CutReply,
    /// `instance`'s wall clock runs `skew_ms` ahead (negative: behind) while the fault lasts:
    /// the expiries it sets and checks move with it.
    ClockSkew,
}

impl FaultKind {
    /// Whether the fault is on one instance (`instance`) rather than a link (`between`).
    pub fn on_instance(self) -> bool {
        matches!(self, Self::Restart | Self::ClockSkew)
    }
}

/// Payments from one wallet address to another, each made as an operator makes it through the
/// paying instance's admin API: receiver, quote, outgoing payment, funding (unless the instance
/// runs the mock operator, which funds it), then waiting for it to end.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrafficSpec {
    /// The paying wallet address, as `instance/address` (`cloud-nine-wallet/alice`).
    pub from: String,
    /// The receiving wallet address, as `instance/address`.
    pub to: String,
    /// What each payment delivers, in the receiving wallet address's asset (its smallest unit):
    /// a number, or `[min, max]` for amounts drawn from that range (by the run's seed).
    pub amount: AmountSpec,
    /// How many payments. Without it, payments keep starting until `duration` is over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Seconds after the traffic starts when this entry starts no more payments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Payments started a second, at most (payment n starts no earlier than n / rate seconds
    /// in); unset: each starts as soon as one of `concurrency` is free.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// How many are under way at once (default 1).
    #[serde(default = "one")]
    pub concurrency: usize,
}

fn one() -> usize {
    1
}

/// A traffic entry's payment amount: fixed, or drawn from an inclusive range.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum AmountSpec {
    Fixed(u64),
    Range([u64; 2]),
}

impl AmountSpec {
    /// The smallest and largest amount.
    pub fn bounds(self) -> (u64, u64) {
        match self {
            Self::Fixed(amount) => (amount, amount),
            Self::Range([min, max]) => (min, max),
        }
    }
}

impl TrafficSpec {
    /// How many payments this entry makes at most: `count`, or unbounded (until `duration`).
    pub fn limit(&self) -> u64 {
        self.count.unwrap_or(u64::MAX)
    }

    /// How many payments it is expected to make, for progress: `count`, else `rate` times
    /// `duration` when both are set, else unknown (0).
    pub fn expected(&self) -> u64 {
        match (self.count, self.rate, self.duration) {
            (Some(count), _, _) => count,
            (None, Some(rate), Some(duration)) => (rate * duration).ceil() as u64,
            _ => 0,
        }
    }

    /// `(instance, address)` of `from` or `to`.
    pub fn split(endpoint: &str) -> Option<(&str, &str)> {
        endpoint
            .split_once('/')
            .filter(|(instance, address)| !instance.is_empty() && !address.is_empty())
    }
}

/// A wallet address an instance creates (after the assets).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WalletAddressSpec {
    /// The instance's name.
    pub instance: String,
    /// The asset's code; it must be listed under `assets`.
    pub asset: String,
    /// The path under the instance's Open Payments URL (`alice`), or a full URL under it.
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_name: Option<String>,
    /// The account holder's balance at the operator, in the asset's smallest unit: the mock
    /// operator (which the instance must run) funds this wallet address's payments from it,
    /// refusing those it cannot cover, and credits it with what the wallet address receives.
    /// Unset: the operator funds whatever it sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InstanceSpec {
    pub name: String,
    pub ilp_address: String,
    /// When set, this instance's admin API requires signed requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_secret: Option<String>,
    /// `OPERATOR_TENANT_ID`: when set (a UUID), this instance's admin API requires the
    /// `tenant-id` header to name it; the harness's client sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_tenant_id: Option<String>,
    /// Packets per second this instance accepts from each peer (unset: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packet_rate_limit_per_second: Option<u32>,
    /// Serve auto-peering requests (`ENABLE_AUTO_PEERING`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub enable_auto_peering: bool,
    /// `MOCK_OPERATOR`: fund outgoing payments as they are created, top up liquidity on
    /// `*.liquidity_low`, as Rafiki's local environment does.
    #[serde(default, skip_serializing_if = "is_false")]
    pub mock_operator: bool,
    /// `AUTO_PEERING_SERVER_PORT`; 0 (the default) picks a free port.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub auto_peering_server_port: u16,
    /// `ILP_CONNECTOR_URL`, when peers must be told something other than the bound address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ilp_connector_url: Option<String>,
    /// Exchange rates for packets this instance forwards across assets, in Rafiki's format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rates: Option<RatesSpec>,
    /// `EXCHANGE_RATES_URL`: fetch rates as Rafiki does (`GET <url>?base=<code>`) instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_rates_url: Option<String>,
    /// `ADMIN_API_DIALECT`: `auto` (the default), `seed` or `v2`.
    #[serde(
        default,
        serialize_with = "serialize_dialect",
        skip_serializing_if = "is_auto_dialect"
    )]
    pub admin_api_dialect: DialectSetting,
    /// The `[[hosts]]` entry of the machine it runs on, when the network is spread over several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// Rates in Rafiki's format: one unit of `base` is worth `rates[code]` units of `code`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RatesSpec {
    pub base: String,
    pub rates: std::collections::BTreeMap<String, f64>,
}

impl InstanceSpec {
    /// An instance with every default: no API secret, no rate limit, auto-peering off.
    pub fn new(name: impl Into<String>, ilp_address: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ilp_address: ilp_address.into(),
            ..Self::default()
        }
    }
}

/// An asset every instance creates.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AssetSpec {
    pub code: String,
    pub scale: u8,
    /// Deposited into the asset's own liquidity on every instance.
    #[serde(default)]
    pub liquidity: u64,
}

/// How instances reach instances they are not peered with.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Routing {
    /// Each peer routes its own address and the `routes` its side lists, nothing more: what an
    /// operator configures by hand in Rafiki.
    #[default]
    Manual,
    /// On top of the listed routes, every instance routes every instance it is not peered with
    /// to the first hop of a shortest path of peerings (fewest hops; ties go to the peering
    /// listed first), in every asset it peers with that first hop. A destination whose address
    /// an instance's sides list in `routes` keeps those routes.
    Auto,
    /// As `auto`, towards the instances holding a wallet address only (payments' only
    /// destinations): routes grow with instances x receivers rather than instances squared, which
    /// is what a network of thousands needs.
    Receivers,
}

/// Two instances peered both ways in one asset: each creates a peer for the other.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PeeringSpec {
    pub between: [String; 2],
    /// The asset's code; it must be listed under `assets`.
    pub asset: String,
    /// How the peering is made: `manual` (the default: each side creates a peer for the other
    /// with `createPeer`) or `auto-peering` (`between[0]` calls `createOrUpdatePeerByUrl` with
    /// `between[1]`'s auto-peering URL, and `between[1]`, which must enable auto-peering,
    /// accepts it as Rafiki does: its own tokens, the sender's liquidity grant of
    /// `Number.MAX_SAFE_INTEGER`).
    #[serde(default, skip_serializing_if = "is_manual")]
    pub by: PeeringMethod,
    /// The liquidity each side grants the other (`initialLiquidity`), unless its side says.
    #[serde(default)]
    pub liquidity: u64,
    /// Both peers' `maxPacketAmount`, unless a side says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_packet_amount: Option<u64>,
    /// Both peers' `liquidityThreshold` (a `peer.liquidity_low` event when the liquidity granted
    /// falls to it), unless a side says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liquidity_threshold: Option<u64>,
    /// Per instance of `between`, what its peer for the other instance says beyond (or instead
    /// of) the shared settings above: `[peerings.sides.cloud-nine-wallet]`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sides: BTreeMap<String, PeerSideSpec>,
}

/// How a peering is made.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum PeeringMethod {
    #[default]
    Manual,
    AutoPeering,
}

impl PeeringMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::AutoPeering => "auto-peering",
        }
    }
}

/// One side of a peering: the settings of the peer that this instance creates for the other one
/// (Rafiki's `createPeer` on this instance).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PeerSideSpec {
    /// Address prefixes this instance sends to the other one besides the other's own address
    /// (the peer's `routes`, as in Rafiki's seeds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<String>,
    /// The token this instance presents on the packets it sends to the other one (its peer's
    /// outgoing `authToken`, the other's incoming token). Unset: a fresh random one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The liquidity this instance grants the other, instead of the peering's `liquidity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liquidity: Option<u64>,
    /// This instance's `maxPacketAmount` for the other, instead of the peering's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_packet_amount: Option<u64>,
    /// This instance's `liquidityThreshold` for the other, instead of the peering's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liquidity_threshold: Option<u64>,
}

/// The peer settings one side of a peering ends up with, shared settings and side merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerSide {
    pub routes: Vec<String>,
    pub token: Option<String>,
    pub liquidity: u64,
    pub max_packet_amount: Option<u64>,
    pub liquidity_threshold: Option<u64>,
}

impl PeeringSpec {
    /// What the peer `between[index]` creates for the other one says.
    pub fn side(&self, index: usize) -> PeerSide {
        let side = self
            .between
            .get(index)
            .and_then(|name| self.sides.get(name))
            .cloned()
            .unwrap_or_default();
        PeerSide {
            routes: side.routes,
            token: side.token,
            liquidity: side.liquidity.unwrap_or(self.liquidity),
            max_packet_amount: side.max_packet_amount.or(self.max_packet_amount),
            liquidity_threshold: side.liquidity_threshold.or(self.liquidity_threshold),
        }
    }
}

#[derive(Debug, Error)]
pub enum TopologyError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid topology: {0}")]
    Syntax(#[from] toml::de::Error),
    #[error("invalid topology: {0}")]
    Invalid(String),
    /// A value TOML cannot hold (an integer above `i64::MAX`, say).
    #[error("cannot write the topology as TOML: {0}")]
    Write(#[from] toml::ser::Error),
}

impl Topology {
    pub fn default_pair() -> Self {
        Self::parse(DEFAULT_TOPOLOGY).unwrap_or_else(|e| unreachable!("shipped topology: {e}"))
    }

    pub fn load(path: &Path) -> Result<Self, TopologyError> {
        let text = std::fs::read_to_string(path).map_err(|source| TopologyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Reads a topology; a mistake is named with its line and field.
    pub fn parse(text: &str) -> Result<Self, TopologyError> {
        let topology: Topology = toml::from_str(text)?;
        topology.validate().map_err(|located| {
            TopologyError::Invalid(match line_of(text, &located.path) {
                Some(line) => format!("line {line}: {}", located.message),
                None => located.message,
            })
        })?;
        Ok(topology)
    }

    /// The topology as a file `parse` reads back into an equal topology; fields left to their
    /// defaults are left out.
    pub fn to_toml(&self) -> Result<String, TopologyError> {
        Ok(toml::to_string(self)?)
    }

    /// Hosts: named once each; with any, every instance on one of them, its ports in range.
    fn validate_hosts(&self) -> Result<(), Located> {
        let mut hosts = HashMap::new();
        for (n, host) in self.hosts.iter().enumerate() {
            if host.name.is_empty() || host.address.is_empty() {
                return invalid(
                    item("hosts", n, "name"),
                    format!("host {}: name and address are required", n + 1),
                );
            }
            if hosts.insert(host.name.as_str(), (host, 0usize)).is_some() {
                return invalid(
                    item("hosts", n, "name"),
                    format!("host {:?} is listed twice", host.name),
                );
            }
        }
        if self.hosts.is_empty() {
            return match self.instances.iter().position(|spec| spec.host.is_some()) {
                Some(n) => invalid(
                    item("instances", n, "host"),
                    format!(
                        "instance {:?} names a host, but the file lists no [[hosts]]",
                        self.instances[n].name
                    ),
                ),
                None => Ok(()),
            };
        }
        for (n, instance) in self.instances.iter().enumerate() {
            let Some(name) = &instance.host else {
                return invalid(
                    item("instances", n, "host"),
                    format!(
                        "instance {:?} names no host: with [[hosts]], every instance runs on one",
                        instance.name
                    ),
                );
            };
            let Some((host, placed)) = hosts.get_mut(name.as_str()) else {
                return invalid(
                    item("instances", n, "host"),
                    format!("instance {:?} names unknown host {name:?}", instance.name),
                );
            };
            if crate::placement::Ports::on_host(host.base_port, *placed).is_none() {
                return invalid(
                    item("instances", n, "host"),
                    format!(
                        "instance {:?}: host {name:?} has no ports left above its base_port {}",
                        instance.name, host.base_port
                    ),
                );
            }
            *placed += 1;
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), Located> {
        if self.instances.is_empty() {
            return invalid(vec![Step::key("instances")], "no instances".into());
        }
        let mut names = HashSet::new();
        let mut addresses = HashMap::new();
        for (n, instance) in self.instances.iter().enumerate() {
            let at = |field: &str| item("instances", n, field);
            if !names.insert(instance.name.as_str()) {
                return invalid(
                    at("name"),
                    format!("instance {:?} is listed twice", instance.name),
                );
            }
            let address = match Address::parse(&instance.ilp_address) {
                Ok(address) => address,
                Err(e) => {
                    return invalid(
                        at("ilp_address"),
                        format!("instance {:?}: {e}", instance.name),
                    );
                }
            };
            if let Some(tenant) = &instance.operator_tenant_id
                && uuid::Uuid::parse_str(tenant).is_err()
            {
                return invalid(
                    at("operator_tenant_id"),
                    format!(
                        "instance {:?}: operator_tenant_id {tenant:?} is not a UUID",
                        instance.name
                    ),
                );
            }
            // Two instances at one address would each route the other's packets to themselves.
            if let Some(first) = addresses.insert(address, instance.name.as_str()) {
                return invalid(
                    at("ilp_address"),
                    format!(
                        "instances {first:?} and {:?} have the same ilp_address {:?}",
                        instance.name, instance.ilp_address
                    ),
                );
            }
        }
        self.validate_hosts()?;
        let mut assets = HashSet::new();
        for (n, asset) in self.assets.iter().enumerate() {
            if !assets.insert(asset.code.as_str()) {
                return invalid(
                    item("assets", n, "code"),
                    format!("asset {:?} is listed twice", asset.code),
                );
            }
        }
        let instance = |name: &str| self.instances.iter().find(|spec| spec.name == name);
        let own_address: HashMap<&str, &str> = self
            .instances
            .iter()
            .map(|instance| (instance.name.as_str(), instance.ilp_address.as_str()))
            .collect();
        // Which peering made each pair of instances peers in each asset.
        let mut pairs: HashMap<([&str; 2], &str), usize> = HashMap::new();
        // (receiving instance, token) -> the peering whose sender presents it: an instance tells
        // its peers apart by the token, so two of them cannot present the same one.
        let mut tokens: HashMap<(&str, &str), usize> = HashMap::new();
        for (n, peering) in self.peerings.iter().enumerate() {
            let at = |field: &str| item("peerings", n, field);
            for name in &peering.between {
                if !names.contains(name.as_str()) {
                    return invalid(
                        at("between"),
                        format!("peering names unknown instance {name:?}"),
                    );
                }
            }
            let [a, b] = &peering.between;
            if a == b {
                return invalid(
                    at("between"),
                    format!("instance {a:?} cannot peer with itself"),
                );
            }
            if !assets.contains(peering.asset.as_str()) {
                return invalid(
                    at("asset"),
                    format!("peering uses unknown asset {:?}", peering.asset),
                );
            }
            let label = format!("peering {} ({a} <-> {b})", n + 1);
            let mut pair = [a.as_str(), b.as_str()];
            pair.sort_unstable();
            if let Some(first) = pairs.insert((pair, peering.asset.as_str()), n) {
                return invalid(
                    at("between"),
                    format!(
                        "{label}: {a} and {b} are already peered in {} by peering {}",
                        peering.asset,
                        first + 1
                    ),
                );
            }
            if peering.by == PeeringMethod::AutoPeering {
                if !instance(b).is_some_and(|spec| spec.enable_auto_peering) {
                    return invalid(
                        at("by"),
                        format!(
                            "{label}: by = \"auto-peering\" needs {b} (who accepts) to set enable_auto_peering = true"
                        ),
                    );
                }
                let side = |name: &str| peering.sides.get(name);
                if let Some(spec) = side(a)
                    && spec.token.is_some()
                {
                    return invalid(
                        side_field(n, a, "token"),
                        format!("{label}: sides.{a}.token: auto-peering exchanges its own tokens"),
                    );
                }
                if let Some(spec) = side(b) {
                    let set_by_acceptance = [
                        ("token", spec.token.is_some()),
                        ("liquidity", spec.liquidity.is_some()),
                    ];
                    if let Some((field, _)) = set_by_acceptance.iter().find(|(_, set)| *set) {
                        return invalid(
                            side_field(n, b, field),
                            format!(
                                "{label}: sides.{b}.{field}: {b} accepts the auto-peering request, which sets it"
                            ),
                        );
                    }
                }
            }
            for (side, spec) in &peering.sides {
                let Some(index) = peering.between.iter().position(|name| name == side) else {
                    return invalid(
                        vec![
                            Step::key("peerings"),
                            Step::Index(n),
                            Step::key("sides"),
                            Step::key(side),
                        ],
                        format!(
                            "{label}: sides.{side} names an instance that is not one of `between`"
                        ),
                    );
                };
                let other = &peering.between[1 - index];
                for route in &spec.routes {
                    let problem = match Address::parse(route) {
                        Err(e) => Some(e.to_string()),
                        Ok(address) if address.as_str().starts_with("peer.") => {
                            Some("peer.* addresses are never routed".to_owned())
                        }
                        Ok(address)
                            if Some(&address.as_str()) == own_address.get(side.as_str()) =>
                        {
                            Some(format!("it is {side}'s own address"))
                        }
                        Ok(_) => None,
                    };
                    if let Some(problem) = problem {
                        return invalid(
                            side_field(n, side, "routes"),
                            format!(
                                "{label}: sides.{side}.routes: {route:?} is not a prefix {side} can route to {other}: {problem}"
                            ),
                        );
                    }
                }
                if let Some(token) = &spec.token {
                    if token.trim().is_empty() {
                        return invalid(
                            side_field(n, side, "token"),
                            format!("{label}: sides.{side}.token is empty"),
                        );
                    }
                    if let Some(first) = tokens.insert((other.as_str(), token.as_str()), n) {
                        return invalid(
                            side_field(n, side, "token"),
                            format!(
                                "{label}: sides.{side}.token {token:?} is already presented to {other} in peering {}; {other} could not tell its peers apart",
                                first + 1
                            ),
                        );
                    }
                }
            }
        }
        for (n, fault) in self.faults.iter().enumerate() {
            let fault_error = |field: &str, what: String| {
                invalid(item("faults", n, field), format!("fault {}: {what}", n + 1))
            };
            let times_valid = fault.at >= 0.0
                && fault.at.is_finite()
                && fault.lasts > 0.0
                && fault.lasts.is_finite();
            let times = "`at` must be 0 or more and `for` more than 0 seconds";
            if fault.kind.on_instance() {
                let kind = if fault.kind == FaultKind::Restart {
                    "restart"
                } else {
                    "clock_skew"
                };
                match &fault.instance {
                    Some(name) if names.contains(name.as_str()) => {}
                    Some(name) => return fault_error("instance", format!("no instance {name:?}")),
                    None => return fault_error("kind", format!("{kind} needs instance")),
                }
                if fault.kind == FaultKind::ClockSkew && fault.skew_ms.is_none() {
                    return fault_error("kind", "clock_skew needs skew_ms".into());
                }
                if !times_valid {
                    return fault_error("at", times.into());
                }
                continue;
            }
            if fault.instance.is_some() {
                return fault_error(
                    "instance",
                    "only restart and clock_skew take instance; the others take between".into(),
                );
            }
            if fault.skew_ms.is_some() {
                return fault_error("skew_ms", "only clock_skew takes skew_ms".into());
            }
            let [from, to] = &fault.between;
            let peered = self.peerings.iter().any(|peering| {
                (&peering.between[0] == from && &peering.between[1] == to)
                    || (&peering.between[0] == to && &peering.between[1] == from)
            });
            if !peered {
                return fault_error("between", format!("{from:?} and {to:?} are not peered"));
            }
            if !times_valid {
                return fault_error("at", times.into());
            }
            match fault.kind {
                FaultKind::Latency if fault.latency_ms.is_none() => {
                    return fault_error("kind", "latency needs latency_ms".into());
                }
                FaultKind::Reorder if fault.latency_ms.is_none() => {
                    return fault_error("kind", "reorder needs latency_ms".into());
                }
                FaultKind::Duplicate | FaultKind::CutReply
                    if fault
                        .share
                        .is_some_and(|share| !(0.0..=1.0).contains(&share)) =>
                {
                    return fault_error("share", "share must be from 0 to 1".into());
                }
                FaultKind::Drop
                    if !fault
                        .share
                        .is_some_and(|share| (0.0..=1.0).contains(&share)) =>
                {
                    return fault_error("share", "drop needs a share from 0 to 1".into());
                }
                _ => {}
            }
        }
        for (n, random) in self.random_faults.iter().enumerate() {
            let problem = if random.kinds.is_empty() {
                Some(("kinds", "kinds is empty"))
            } else if !(random.rate > 0.0 && random.rate <= 1_000.0) {
                Some(("rate", "rate must be more than 0 and at most 1000 a second"))
            } else if !(random.lasts > 0.0 && random.lasts.is_finite()) {
                Some(("for", "`for` must be more than 0 seconds"))
            } else if !(random.until > 0.0 && random.until <= 86_400.0) {
                Some((
                    "until",
                    "until must be more than 0 and at most 86400 seconds",
                ))
            } else if random
                .share
                .is_some_and(|share| !(0.0..=1.0).contains(&share))
            {
                Some(("share", "share must be from 0 to 1"))
            } else if self.peerings.is_empty() {
                Some(("kinds", "there is no peering to break"))
            } else {
                None
            };
            if let Some((field, problem)) = problem {
                return invalid(
                    item("random_faults", n, field),
                    format!("random_faults {}: {problem}", n + 1),
                );
            }
        }
        let mut wallets = HashSet::new();
        for (n, wallet) in self.wallet_addresses.iter().enumerate() {
            let at = |field: &str| item("wallet_addresses", n, field);
            let label = format!("wallet address {}/{}", wallet.instance, wallet.address);
            let Some(owner) = instance(&wallet.instance) else {
                return invalid(
                    at("instance"),
                    format!("{label}: no instance {:?}", wallet.instance),
                );
            };
            if !assets.contains(wallet.asset.as_str()) {
                return invalid(
                    at("asset"),
                    format!("{label}: no asset {:?} under [[assets]]", wallet.asset),
                );
            }
            if wallet.balance.is_some() && !owner.mock_operator {
                return invalid(
                    at("balance"),
                    format!(
                        "{label}: a balance is kept by the mock operator: set mock_operator = true on {}",
                        wallet.instance
                    ),
                );
            }
            if !wallets.insert((wallet.instance.as_str(), wallet.address.as_str())) {
                return invalid(at("address"), format!("{label} is listed twice"));
            }
        }
        for (n, traffic) in self.traffic.iter().enumerate() {
            let at = |field: &str| item("traffic", n, field);
            for (field, endpoint) in [("from", &traffic.from), ("to", &traffic.to)] {
                let Some(wallet) = TrafficSpec::split(endpoint) else {
                    return invalid(
                        at(field),
                        format!("traffic {}: {endpoint:?} is not instance/address", n + 1),
                    );
                };
                if !wallets.contains(&wallet) {
                    return invalid(
                        at(field),
                        format!(
                            "traffic {}: no wallet address {endpoint:?} under [[wallet_addresses]]",
                            n + 1
                        ),
                    );
                }
            }
            let (min, max) = traffic.amount.bounds();
            let problem = if min == 0 {
                Some(("amount", "amount must be at least 1".to_owned()))
            } else if min > max {
                Some((
                    "amount",
                    format!("amount [{min}, {max}] is not a range (min above max)"),
                ))
            } else if traffic.concurrency == 0 {
                Some(("concurrency", "concurrency must be at least 1".to_owned()))
            } else if traffic.count == Some(0) {
                Some(("count", "count must be at least 1".to_owned()))
            } else if traffic.count.is_none() && traffic.duration.is_none() {
                Some((
                    "count",
                    "give count (how many payments) or duration (for how many seconds), or both"
                        .to_owned(),
                ))
            } else if traffic
                .duration
                .is_some_and(|duration| !(duration > 0.0 && duration <= 31_536_000.0))
            {
                Some((
                    "duration",
                    "duration must be more than 0 seconds, and at most a year".to_owned(),
                ))
            } else if traffic
                .rate
                .is_some_and(|rate| !(rate > 0.0 && rate <= 1_000_000.0))
            {
                Some((
                    "rate",
                    "rate must be more than 0 and at most 1,000,000 payments a second".to_owned(),
                ))
            } else {
                None
            };
            if let Some((field, problem)) = problem {
                return invalid(at(field), format!("traffic {}: {problem}", n + 1));
            }
        }
        Ok(())
    }
}

/// A validation error and where in the file it is.
#[derive(Debug)]
struct Located {
    path: Vec<Step>,
    message: String,
}

fn invalid(path: Vec<Step>, message: String) -> Result<(), Located> {
    Err(Located { path, message })
}

/// One step of the path to a value in a topology file.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

impl Step {
    fn key(key: &str) -> Self {
        Self::Key(key.to_owned())
    }
}

/// `field` of the `index`th `[[array]]` table.
fn item(array: &str, index: usize, field: &str) -> Vec<Step> {
    vec![Step::key(array), Step::Index(index), Step::key(field)]
}

/// `field` of the side `name` of the `index`th peering.
fn side_field(index: usize, name: &str, field: &str) -> Vec<Step> {
    vec![
        Step::key("peerings"),
        Step::Index(index),
        Step::key("sides"),
        Step::key(name),
        Step::key(field),
    ]
}

/// The line (from 1) of the value at `path` in `text`, or of the nearest enclosing table the
/// file spells out (a field left to its default has no line of its own).
fn line_of(text: &str, path: &[Step]) -> Option<usize> {
    use toml_edit::{ImDocument, Item, Table, Value};
    enum Node<'a> {
        Item(&'a Item),
        Table(&'a Table),
        Value(&'a Value),
    }
    let document = ImDocument::parse(text).ok()?;
    let mut found = None;
    let mut node = Node::Table(document.as_table());
    for step in path {
        let table_like: Option<&dyn toml_edit::TableLike> = match &node {
            Node::Item(item) => item.as_table_like(),
            Node::Table(table) => Some(*table),
            Node::Value(value) => value
                .as_inline_table()
                .map(|t| t as &dyn toml_edit::TableLike),
        };
        node = match step {
            Step::Key(key) => {
                let Some((key, value)) = table_like.and_then(|t| t.get_key_value(key)) else {
                    break;
                };
                found = key.span().or(found);
                Node::Item(value)
            }
            Step::Index(index) => match &node {
                Node::Item(Item::ArrayOfTables(tables)) => {
                    let Some(table) = tables.get(*index) else {
                        break;
                    };
                    found = table.span().or(found);
                    Node::Table(table)
                }
                Node::Item(Item::Value(Value::Array(array))) | Node::Value(Value::Array(array)) => {
                    let Some(value) = array.get(*index) else {
                        break;
                    };
                    found = value.span().or(found);
                    Node::Value(value)
                }
                _ => break,
            },
        };
    }
    let offset = found?.start;
    Some(text.get(..offset)?.matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_topology_reads_back_as_it_was_written() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/topologies");
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|extension| extension != "toml") {
                continue;
            }
            let topology = Topology::load(&path).unwrap();
            let written = topology.to_toml().unwrap();
            let read = Topology::parse(&written)
                .unwrap_or_else(|error| panic!("{}: {error}\n{written}", path.display()));
            assert_eq!(read, topology, "{}", path.display());
            files += 1;
        }
        // chaos.toml (faults, a restart), auto-peering.toml, cross-currency.toml (rates) and the
        // rest: every optional part is written.
        assert!(files >= 9, "{files} files");
    }

    #[test]
    fn to_toml_leaves_defaults_out_and_refuses_what_toml_cannot_hold() {
        let mut topology = Topology::default_pair();
        let written = topology.to_toml().unwrap();
        for default in ["admin_api_dialect", "enable_auto_peering", "by =", "faults"] {
            assert!(!written.contains(default), "{default}: {written}");
        }
        topology.instances[0].admin_api_dialect = DialectSetting::V2;
        assert!(
            topology
                .to_toml()
                .unwrap()
                .contains("admin_api_dialect = \"v2\"")
        );
        // TOML integers are signed 64-bit.
        topology.assets[0].liquidity = u64::MAX;
        assert!(matches!(topology.to_toml(), Err(TopologyError::Write(_))));
    }

    #[test]
    fn the_default_topology_is_a_usd_pair() {
        let topology = Topology::default_pair();
        assert_eq!(topology.instances.len(), 2);
        assert_eq!(topology.peerings.len(), 1);
        assert_eq!(topology.assets[0].code, "USD");
    }

    #[test]
    fn an_instance_may_force_an_admin_api_dialect() {
        let topology = Topology::parse(
            "[[instances]]\nname = \"a\"\nilp_address = \"test.a\"\nadmin_api_dialect = \"seed\"",
        )
        .unwrap();
        assert_eq!(
            topology.instances[0].admin_api_dialect,
            DialectSetting::Seed
        );
        let topology =
            Topology::parse("[[instances]]\nname = \"a\"\nilp_address = \"test.a\"").unwrap();
        assert_eq!(
            topology.instances[0].admin_api_dialect,
            DialectSetting::Auto
        );
        assert!(
            Topology::parse(
                "[[instances]]\nname = \"a\"\nilp_address = \"test.a\"\nadmin_api_dialect = \"v3\""
            )
            .is_err()
        );
    }

    #[test]
    fn an_instance_may_name_its_operator_tenant() {
        let topology = Topology::parse(
            "[[instances]]\nname = \"a\"\nilp_address = \"test.a\"\napi_secret = \"s\"\noperator_tenant_id = \"438fa74a-fa7d-4317-9ced-dde32ece1787\"",
        )
        .unwrap();
        assert_eq!(
            topology.instances[0].operator_tenant_id.as_deref(),
            Some("438fa74a-fa7d-4317-9ced-dde32ece1787")
        );
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("instances = []", "no instances"),
            (
                "[[instances]]\nname = \"a\"\nilp_address = \"nope\"",
                "instance \"a\"",
            ),
            (
                "[[instances]]\nname = \"a\"\nilp_address = \"test.a\"\n[[peerings]]\nbetween = [\"a\", \"b\"]\nasset = \"USD\"",
                "unknown instance \"b\"",
            ),
            (
                "[[instances]]\nname = \"a\"\nilp_address = \"test.a\"\ncolour = 1",
                "unknown field",
            ),
            (
                "[[instances]]\nname = \"a\"\nilp_address = \"test.x\"\n[[instances]]\nname = \"b\"\nilp_address = \"test.x\"",
                "instances \"a\" and \"b\" have the same ilp_address \"test.x\"",
            ),
            (
                "[[instances]]\nname = \"a\"\nilp_address = \"test.a\"\noperator_tenant_id = \"operator\"",
                "instance \"a\": operator_tenant_id \"operator\" is not a UUID",
            ),
            (
                "[[instances]]\nname = \"a\"\nilp_address = \"test.a\"\n[[instances]]\nname = \"b\"\nilp_address = \"test.b\"\n[[faults]]\nkind = \"partition\"\nbetween = [\"a\", \"b\"]\nat = 0\nfor = 1",
                "fault 1: \"a\" and \"b\" are not peered",
            ),
            (
                "[[instances]]\nname = \"a\"\nilp_address = \"test.a\"\n[[faults]]\nkind = \"meteor\"\nbetween = [\"a\", \"a\"]\nat = 0\nfor = 1",
                "unknown variant `meteor`",
            ),
        ];
        for (text, expected) in cases {
            let message = Topology::parse(text).unwrap_err().to_string();
            assert!(
                message.contains(expected),
                "{message:?} should mention {expected:?}"
            );
        }
    }

    #[test]
    fn delivery_faults_need_their_settings() {
        let peered = "[[peerings]]\nbetween = [\"a\", \"b\"]\nasset = \"USD\"\n";
        let cases = [
            (
                "[[faults]]\nkind = \"clock_skew\"\ninstance = \"a\"\nat = 0\nfor = 1",
                "clock_skew needs skew_ms",
            ),
            (
                "[[faults]]\nkind = \"clock_skew\"\nskew_ms = 5\nat = 0\nfor = 1",
                "clock_skew needs instance",
            ),
            (
                "[[faults]]\nkind = \"clock_skew\"\ninstance = \"z\"\nskew_ms = 5\nat = 0\nfor = 1",
                "no instance \"z\"",
            ),
            (
                "[[faults]]\nkind = \"reorder\"\nbetween = [\"a\", \"b\"]\nat = 0\nfor = 1",
                "reorder needs latency_ms",
            ),
            (
                "[[faults]]\nkind = \"duplicate\"\nbetween = [\"a\", \"b\"]\nat = 0\nfor = 1\nshare = 2",
                "share must be from 0 to 1",
            ),
            (
                "[[faults]]\nkind = \"cut_reply\"\nbetween = [\"a\", \"b\"]\nat = 0\nfor = 1\nskew_ms = 5",
                "only clock_skew takes skew_ms",
            ),
        ];
        for (fault, expected) in cases {
            let message = Topology::parse(&three(&format!("{peered}{fault}")))
                .unwrap_err()
                .to_string();
            assert!(
                message.contains(expected),
                "{message:?} should mention {expected:?}"
            );
        }
        let fine = Topology::parse(&three(&format!(
            "{peered}[[faults]]\nkind = \"clock_skew\"\ninstance = \"a\"\nskew_ms = -3000\nat = 0\nfor = 1\n\
             [[faults]]\nkind = \"cut_reply\"\nbetween = [\"b\", \"a\"]\nat = 0\nfor = 1\n\
             [[faults]]\nkind = \"duplicate\"\nbetween = [\"a\", \"b\"]\nat = 0\nfor = 1\nshare = 0.5\n\
             [[faults]]\nkind = \"reorder\"\nbetween = [\"a\", \"b\"]\nat = 0\nfor = 1\nlatency_ms = 20"
        )))
        .expect("valid delivery faults");
        assert_eq!(fine.faults[0].skew_ms, Some(-3000));
        assert_eq!(fine.faults[0].kind, FaultKind::ClockSkew);
    }

    /// Three instances `a`, `b`, `c` in USD, then `extra`.
    fn three(extra: &str) -> String {
        format!(
            "[[instances]]\nname = \"a\"\nilp_address = \"test.a\"\n\
             [[instances]]\nname = \"b\"\nilp_address = \"test.b\"\n\
             [[instances]]\nname = \"c\"\nilp_address = \"test.c\"\n\
             [[assets]]\ncode = \"USD\"\nscale = 2\n{extra}"
        )
    }

    #[test]
    fn a_peering_side_overrides_the_shared_settings() {
        let topology = Topology::parse(&three(
            r#"
            [[peerings]]
            between = ["a", "b"]
            asset = "USD"
            liquidity = 100
            liquidity_threshold = 10
            max_packet_amount = 50
            [peerings.sides.a]
            routes = ["test.c", "test.elsewhere"]
            token = "a-presents-this"
            liquidity = 7
            liquidity_threshold = 1
            "#,
        ))
        .unwrap();
        let peering = &topology.peerings[0];
        assert_eq!(
            peering.side(0),
            PeerSide {
                routes: vec!["test.c".into(), "test.elsewhere".into()],
                token: Some("a-presents-this".into()),
                liquidity: 7,
                max_packet_amount: Some(50),
                liquidity_threshold: Some(1),
            }
        );
        assert_eq!(
            peering.side(1),
            PeerSide {
                routes: Vec::new(),
                token: None,
                liquidity: 100,
                max_packet_amount: Some(50),
                liquidity_threshold: Some(10),
            }
        );
        assert_eq!(topology.routing, Routing::Manual);
    }

    #[test]
    fn routing_is_manual_or_auto() {
        let auto = Topology::parse(&format!("routing = \"auto\"\n{}", three(""))).unwrap();
        assert_eq!(auto.routing, Routing::Auto);
        let message = Topology::parse(&format!("routing = \"shortest\"\n{}", three("")))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("routing") && message.contains("manual") && message.contains("auto"),
            "{message}"
        );
    }

    #[test]
    fn mistakes_in_peering_settings_are_named() {
        let peering = |body: &str| {
            three(&format!(
                "[[peerings]]\nbetween = [\"a\", \"b\"]\nasset = \"USD\"\n{body}"
            ))
        };
        let cases = [
            (
                peering("[peerings.sides.c]\nroutes = [\"test.c\"]"),
                "peering 1 (a <-> b): sides.c names an instance that is not one of `between`",
            ),
            (
                peering("[peerings.sides.a]\nroutes = [\"test.c\", \"not an address\"]"),
                "peering 1 (a <-> b): sides.a.routes: \"not an address\" is not a prefix a can route to b",
            ),
            (
                peering("[peerings.sides.b]\nroutes = [\"test.b\"]"),
                "sides.b.routes: \"test.b\" is not a prefix b can route to a: it is b's own address",
            ),
            (
                peering("[peerings.sides.a]\nroutes = [\"peer.config\"]"),
                "sides.a.routes: \"peer.config\" is not a prefix a can route to b: peer.* addresses are never routed",
            ),
            (
                peering("[peerings.sides.a]\ntoken = \" \""),
                "peering 1 (a <-> b): sides.a.token is empty",
            ),
            (
                peering("[peerings.sides.a]\nrotes = [\"test.c\"]"),
                "unknown field `rotes`",
            ),
            (peering("liquidity_threshold = -1"), "liquidity_threshold"),
            (
                format!(
                    "{}[[peerings]]\nbetween = [\"b\", \"a\"]\nasset = \"USD\"",
                    peering("")
                ),
                "peering 2 (b <-> a): b and a are already peered in USD by peering 1",
            ),
            (
                format!(
                    "{}\n[[peerings]]\nbetween = [\"c\", \"b\"]\nasset = \"USD\"\n[peerings.sides.c]\ntoken = \"same\"",
                    peering("[peerings.sides.a]\ntoken = \"same\"")
                ),
                "peering 2 (c <-> b): sides.c.token \"same\" is already presented to b in peering 1",
            ),
        ];
        for (text, expected) in cases {
            let message = Topology::parse(&text).unwrap_err().to_string();
            assert!(
                message.contains(expected),
                "{message:?} should mention {expected:?}"
            );
        }
    }

    #[test]
    fn mistakes_name_their_line() {
        let text = three(
            "[[peerings]]\nbetween = [\"a\", \"b\"]\nasset = \"USD\"\n\
             [peerings.sides.a]\nroutes = [\"test.c\"]\ntoken = \" \"\n",
        );
        // Lines 1-12 are `three`'s; the token is line 18.
        let message = Topology::parse(&text).unwrap_err().to_string();
        assert!(
            message.contains("line 18: peering 1 (a <-> b): sides.a.token is empty"),
            "{message}"
        );
        let text = three(
            "[[wallet_addresses]]\ninstance = \"a\"\nasset = \"USD\"\naddress = \"x\"\nbalance = 5\n",
        );
        let message = Topology::parse(&text).unwrap_err().to_string();
        assert!(
            message.contains("line 17: wallet address a/x: a balance is kept by the mock operator: set mock_operator = true on a"),
            "{message}"
        );
        // A field left to its default has no line: the table that lacks it is named.
        let text = three(
            "[[wallet_addresses]]\ninstance = \"a\"\nasset = \"USD\"\naddress = \"x\"\n\
             [[traffic]]\nfrom = \"a/x\"\nto = \"a/x\"\namount = 1\n",
        );
        let message = Topology::parse(&text).unwrap_err().to_string();
        assert!(
            message.contains("line 17: traffic 1: give count (how many payments) or duration"),
            "{message}"
        );
        // Syntax errors come with toml's own line and column.
        let message = Topology::parse("[[instances]]\nname = ")
            .unwrap_err()
            .to_string();
        assert!(message.contains("line 2"), "{message}");
    }

    #[test]
    fn auto_peering_needs_an_accepting_instance_and_no_tokens() {
        let peering = |accepts: bool, side: &str| {
            format!(
                "[[instances]]\nname = \"a\"\nilp_address = \"test.a\"\n\
                 [[instances]]\nname = \"b\"\nilp_address = \"test.b\"\nenable_auto_peering = {accepts}\n\
                 [[assets]]\ncode = \"USD\"\nscale = 2\n\
                 [[peerings]]\nbetween = [\"a\", \"b\"]\nasset = \"USD\"\nby = \"auto-peering\"\n{side}"
            )
        };
        let ok = Topology::parse(&peering(true, "")).unwrap();
        assert_eq!(ok.peerings[0].by, PeeringMethod::AutoPeering);
        let cases = [
            (
                peering(false, ""),
                "line 14: peering 1 (a <-> b): by = \"auto-peering\" needs b (who accepts) to set enable_auto_peering = true",
            ),
            (
                peering(true, "[peerings.sides.a]\ntoken = \"t\""),
                "sides.a.token: auto-peering exchanges its own tokens",
            ),
            (
                peering(true, "[peerings.sides.b]\nliquidity = 5"),
                "sides.b.liquidity: b accepts the auto-peering request, which sets it",
            ),
            (
                peering(true, "").replace("auto-peering\"", "carrier-pigeon\""),
                "unknown variant `carrier-pigeon`, expected `manual` or `auto-peering`",
            ),
        ];
        for (text, expected) in cases {
            let message = Topology::parse(&text).unwrap_err().to_string();
            assert!(
                message.contains(expected),
                "{message:?} should mention {expected:?}"
            );
        }
    }

    #[test]
    fn traffic_takes_a_count_or_a_duration_and_a_sane_rate() {
        let traffic = |fields: &str| {
            three(&format!(
                "[[wallet_addresses]]\ninstance = \"a\"\nasset = \"USD\"\naddress = \"x\"\n\
                 [[traffic]]\nfrom = \"a/x\"\nto = \"a/x\"\namount = 1\n{fields}"
            ))
        };
        let paced = Topology::parse(&traffic("duration = 2.5\nrate = 10")).unwrap();
        assert_eq!(paced.traffic[0].expected(), 25);
        assert_eq!(paced.traffic[0].limit(), u64::MAX);
        let counted = Topology::parse(&traffic("count = 7")).unwrap();
        assert_eq!(
            (counted.traffic[0].expected(), counted.traffic[0].limit()),
            (7, 7)
        );
        for (fields, expected) in [
            ("count = 0", "count must be at least 1"),
            ("duration = 0", "duration must be more than 0 seconds"),
            ("duration = nan", "duration must be more than 0 seconds"),
            ("count = 1\nrate = 0", "rate must be more than 0"),
            ("count = 1\nrate = inf", "rate must be more than 0"),
        ] {
            let message = Topology::parse(&traffic(fields)).unwrap_err().to_string();
            assert!(message.contains(expected), "{fields}: {message}");
        }
    }

    #[test]
    fn one_token_may_be_presented_to_different_instances() {
        let text = three(
            "[[peerings]]\nbetween = [\"a\", \"b\"]\nasset = \"USD\"\n[peerings.sides.a]\ntoken = \"same\"\n\
             [[peerings]]\nbetween = [\"a\", \"c\"]\nasset = \"USD\"\n[peerings.sides.a]\ntoken = \"same\"",
        );
        assert!(Topology::parse(&text).is_ok());
    }
}
