//! A network of instances in one process, each on its own loopback ports, set up through the
//! admin API exactly as an operator would.

use std::collections::HashMap;

use peerlab::config::Config;
use peerlab::connector::rates::{DEFAULT_RATES_LIFETIME, RateSource, RateTable};
use peerlab::ilp::Address;
use peerlab::node::{Node, StartError};
use thiserror::Error;

use crate::client::{AdminClient, ClientError};
use crate::setup::{self, Made, Reachable};
use crate::topology::{InstanceSpec, PeerSide, Routing, Topology};

#[derive(Debug, Error)]
pub enum NetworkError {
    #[error("instance {name}: {source}")]
    Start { name: String, source: StartError },
    #[error("instance {name}: invalid ILP address: {reason}")]
    Address { name: String, reason: String },
    #[error("instance {name}: invalid ILP connector URL {url:?}")]
    ConnectorUrl { name: String, url: String },
    #[error("instance {name}: {reason}")]
    Rates { name: String, reason: String },
    #[error("instance {name}: operator tenant id {tenant_id:?} is not a UUID")]
    TenantId { name: String, tenant_id: String },
    #[error("setting up {what}: {source}")]
    Setup { what: String, source: ClientError },
    #[error("{file}: {reason}")]
    Targets { file: String, reason: String },
    #[error("cannot start a deterministic run's runtime: {0}")]
    Runtime(String),
}

/// One running instance and a client for its admin API.
#[derive(Debug)]
pub struct InstanceHandle {
    name: String,
    node: Node,
    admin: AdminClient,
    /// Asset code -> id, for assets the network created.
    asset_ids: HashMap<String, String>,
}

impl InstanceHandle {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn ilp_address(&self) -> &Address {
        self.node.ilp_address()
    }

    pub fn admin(&self) -> &AdminClient {
        &self.admin
    }

    pub fn graphql_url(&self) -> String {
        self.node.graphql_url()
    }

    pub fn admin_url(&self) -> String {
        self.node.admin_url()
    }

    pub fn connector_url(&self) -> String {
        self.node.connector_url().to_string()
    }

    /// The auto-peering URL, when this instance serves auto-peering.
    pub fn auto_peering_url(&self) -> Option<String> {
        self.node.auto_peering_url()
    }

    /// The id of an asset the network created on this instance.
    pub fn asset_id(&self, code: &str) -> Option<&str> {
        self.asset_ids.get(code).map(String::as_str)
    }

    /// The assets the network created on this instance: (code, id).
    pub fn asset_ids(&self) -> impl Iterator<Item = (&str, &str)> {
        self.asset_ids
            .iter()
            .map(|(code, id)| (code.as_str(), id.as_str()))
    }

    pub fn node(&self) -> &Node {
        &self.node
    }
}

impl Reachable for InstanceHandle {
    fn name(&self) -> &str {
        &self.name
    }

    fn admin(&self) -> &AdminClient {
        &self.admin
    }

    fn ilp_address(&self) -> &Address {
        self.node.ilp_address()
    }

    fn connector_url(&self) -> String {
        self.node.connector_url().to_string()
    }

    fn auto_peering_url(&self) -> Option<String> {
        self.node.auto_peering_url()
    }

    fn asset_id(&self, code: &str) -> Option<&str> {
        self.asset_ids.get(code).map(String::as_str)
    }

    fn record_asset(&mut self, code: String, id: String) {
        self.asset_ids.insert(code, id);
    }
}

/// Instances started together and stopped together.
#[derive(Debug, Default)]
pub struct Network {
    instances: Vec<InstanceHandle>,
    /// What setup made: the links peerings made (both directions each), the wallet addresses.
    made: Made,
}

/// One direction of a peering: `from` sends packets to `to`'s connector with `token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub from: String,
    pub to: String,
    pub connector_url: String,
    pub token: String,
}

impl Network {
    /// The links peerings made so far: who sends to whose connector with which token.
    pub fn links(&self) -> Vec<Link> {
        self.made.links()
    }

    /// What setup made on these instances.
    pub fn made(&self) -> &Made {
        &self.made
    }

    /// Starts one instance per spec, on free loopback ports.
    pub async fn start(specs: &[InstanceSpec]) -> Result<Self, NetworkError> {
        let mut network = Network::default();
        for spec in specs {
            match start_instance(spec).await {
                Ok(instance) => network.instances.push(instance),
                Err(error) => {
                    network.shutdown().await;
                    return Err(error);
                }
            }
        }
        Ok(network)
    }

    /// Starts the topology's instances, then creates its assets and peerings through each
    /// instance's admin API.
    pub async fn from_topology(topology: &Topology) -> Result<Self, NetworkError> {
        let mut network = Self::start(&topology.instances).await?;
        if let Err(error) = network.apply(topology).await {
            network.shutdown().await;
            return Err(error);
        }
        Ok(network)
    }

    async fn apply(&mut self, topology: &Topology) -> Result<(), NetworkError> {
        setup::apply(&mut self.instances, &self.made, topology).await
    }

    /// Peers `a` and `b` both ways in `asset` (a code the network created), each granting the
    /// other `liquidity`.
    pub async fn peer(
        &self,
        a: &str,
        b: &str,
        asset: &str,
        liquidity: u64,
        max_packet_amount: Option<u64>,
    ) -> Result<(), NetworkError> {
        let side = PeerSide {
            liquidity,
            max_packet_amount,
            ..PeerSide::default()
        };
        self.peer_with(a, b, asset, [side.clone(), side]).await
    }

    /// [`Network::peer`] with extra routes: `a` routes `a_via_b` to `b`, `b` routes `b_via_a` to `a`.
    pub async fn peer_routed(
        &self,
        a: &str,
        b: &str,
        asset: &str,
        liquidity: u64,
        a_via_b: &[String],
        b_via_a: &[String],
    ) -> Result<(), NetworkError> {
        let side = |routes: &[String]| PeerSide {
            routes: routes.to_vec(),
            liquidity,
            ..PeerSide::default()
        };
        self.peer_with(a, b, asset, [side(a_via_b), side(b_via_a)])
            .await
    }

    /// Peers `a` and `b` both ways in `asset`: `a` creates a peer for `b` as `sides[0]` says, `b`
    /// one for `a` as `sides[1]` says. A side without a token presents a fresh random one.
    pub async fn peer_with(
        &self,
        a: &str,
        b: &str,
        asset: &str,
        sides: [PeerSide; 2],
    ) -> Result<(), NetworkError> {
        setup::peer_with(&self.instances, &self.made, a, b, asset, sides).await
    }

    /// Peers `a` and `b` as Rafiki's auto-peering does: `a` calls `createOrUpdatePeerByUrl` with
    /// `b`'s auto-peering URL, granting `b` `sides[0].liquidity` (`liquidityToDeposit`) with its
    /// `maxPacketAmount` and `liquidityThreshold`; `b` accepts, creating its peer for `a` with
    /// its own tokens and Rafiki's grant. Routes either side lists (and `sides[1]`'s
    /// `maxPacketAmount` and `liquidityThreshold`) are then set with `updatePeer`, as an operator
    /// would.
    pub async fn peer_by_url(
        &self,
        a: &str,
        b: &str,
        asset: &str,
        sides: [PeerSide; 2],
    ) -> Result<(), NetworkError> {
        setup::peer_by_url(&self.instances, &self.made, a, b, asset, sides).await
    }

    /// Starts instances `test.<name>` peered in a line, each with its neighbours in `asset`
    /// (code, scale), granting each other `liquidity`, with routes so that every instance reaches
    /// every other along the line.
    pub async fn line(
        names: &[&str],
        asset: (&str, u8),
        liquidity: u64,
    ) -> Result<Self, NetworkError> {
        let specs: Vec<InstanceSpec> = names
            .iter()
            .map(|name| InstanceSpec::new(*name, format!("test.{name}")))
            .collect();
        let mut network = Self::start(&specs).await?;
        let built = network.build_line(names, asset, liquidity).await;
        if let Err(error) = built {
            network.shutdown().await;
            return Err(error);
        }
        Ok(network)
    }

    async fn build_line(
        &mut self,
        names: &[&str],
        (code, scale): (&str, u8),
        liquidity: u64,
    ) -> Result<(), NetworkError> {
        for instance in &mut self.instances {
            let id = instance
                .admin
                .create_asset(code, scale)
                .await
                .map_err(|source| NetworkError::Setup {
                    what: format!("asset {code} on {}", instance.name),
                    source,
                })?;
            instance.asset_ids.insert(code.to_owned(), id);
        }
        for (i, pair) in names.windows(2).enumerate() {
            let beyond = |range: &[&str]| {
                range
                    .iter()
                    .map(|n| format!("test.{n}"))
                    .collect::<Vec<_>>()
            };
            let right_routes = beyond(&names[i + 2..]);
            let left_routes = beyond(&names[..i]);
            self.peer_routed(
                pair[0],
                pair[1],
                code,
                liquidity,
                &right_routes,
                &left_routes,
            )
            .await?;
        }
        Ok(())
    }

    pub fn instances(&self) -> &[InstanceHandle] {
        &self.instances
    }

    pub fn instance(&self, name: &str) -> Option<&InstanceHandle> {
        self.instances.iter().find(|i| i.name == name)
    }

    /// Stops every instance.
    pub async fn shutdown(self) {
        for instance in self.instances {
            instance.node.shutdown().await;
        }
    }
}

/// `routing = "auto"` and `"receivers"`: for each peering, the routes each side gets so that
/// every instance reaches every destination (every other instance, or under `receivers` those
/// holding a wallet address). The first hop from an instance towards a destination is its first
/// neighbour, in the order the peerings are listed, on a shortest path (fewest peerings); that
/// destination's address is routed to the first hop on every peering between the two, so a
/// packet keeps its own asset where it can. An instance whose sides already list a destination's
/// address keeps the routes listed for it.
///
/// One breadth-first search per destination (its distance to every instance) rather than one
/// per source: O(destinations x peerings), which is what lets `receivers` route a network of
/// 10,000 instances towards its few receivers.
pub(crate) fn auto_routes(topology: &Topology) -> Vec<[Vec<String>; 2]> {
    let index: HashMap<&str, usize> = topology
        .instances
        .iter()
        .enumerate()
        .map(|(i, instance)| (instance.name.as_str(), i))
        .collect();
    let count = topology.instances.len();
    // Instance -> its neighbours in peering order, and the peerings (with its side) to each.
    let mut neighbours: Vec<Vec<usize>> = vec![Vec::new(); count];
    let mut peerings_to: HashMap<(usize, usize), Vec<(usize, usize)>> = HashMap::new();
    for (p, peering) in topology.peerings.iter().enumerate() {
        let [Some(&a), Some(&b)] = [0, 1].map(|side| index.get(peering.between[side].as_str()))
        else {
            continue;
        };
        for (from, to, side) in [(a, b, 0), (b, a, 1)] {
            if !neighbours[from].contains(&to) {
                neighbours[from].push(to);
            }
            peerings_to.entry((from, to)).or_default().push((p, side));
        }
    }
    // Instance -> the prefixes its sides list: auto routing leaves those destinations alone.
    let mut listed: Vec<std::collections::HashSet<&str>> = vec![Default::default(); count];
    for peering in &topology.peerings {
        for (name, side) in &peering.sides {
            if let Some(&at) = index.get(name.as_str()) {
                listed[at].extend(side.routes.iter().map(String::as_str));
            }
        }
    }
    let destinations: Vec<usize> = match topology.routing {
        Routing::Receivers => {
            let mut holders: Vec<usize> = topology
                .wallet_addresses
                .iter()
                .filter_map(|wallet| index.get(wallet.instance.as_str()).copied())
                .collect();
            holders.sort_unstable();
            holders.dedup();
            holders
        }
        _ => (0..count).collect(),
    };
    // (source, destination, first hop), in source then destination order: the order the routes
    // are listed in.
    let mut hops = Vec::new();
    let mut distance: Vec<Option<u32>> = vec![None; count];
    let mut queue = std::collections::VecDeque::new();
    for &destination in &destinations {
        distance.iter_mut().for_each(|d| *d = None);
        distance[destination] = Some(0);
        queue.push_back(destination);
        while let Some(at) = queue.pop_front() {
            let next_distance = distance[at].map(|d| d + 1);
            for &next in &neighbours[at] {
                if distance[next].is_none() {
                    distance[next] = next_distance;
                    queue.push_back(next);
                }
            }
        }
        for source in 0..count {
            let Some(far) = distance[source].filter(|&d| d >= 2) else {
                continue; // itself, a neighbour (its own address is routed already), or unreachable
            };
            let first_hop = neighbours[source]
                .iter()
                .copied()
                .find(|&neighbour| distance[neighbour] == Some(far - 1));
            if let Some(hop) = first_hop {
                hops.push((source, destination, hop));
            }
        }
    }
    hops.sort_unstable();
    let mut routes = vec![[Vec::new(), Vec::new()]; topology.peerings.len()];
    for (source, destination, hop) in hops {
        let address = &topology.instances[destination].ilp_address;
        if listed[source].contains(address.as_str()) {
            continue; // the file routes it: the operator's choice stands
        }
        for &(p, side) in peerings_to.get(&(source, hop)).into_iter().flatten() {
            routes[p][side].push(address.clone());
        }
    }
    routes
}

/// Where the instance's rates come from: its table, its URL, or neither (not both).
fn exchange_rates(spec: &InstanceSpec) -> Result<RateSource, NetworkError> {
    let invalid = |reason: String| NetworkError::Rates {
        name: spec.name.clone(),
        reason,
    };
    match (&spec.rates, &spec.exchange_rates_url) {
        (Some(_), Some(_)) => Err(invalid(
            "give either rates or exchange_rates_url, not both".to_owned(),
        )),
        (Some(rates), None) => RateTable::from_numbers(&rates.base, rates.rates.clone())
            .map(RateSource::Table)
            .map_err(|error| invalid(error.to_string())),
        (None, Some(url)) => Ok(RateSource::Url {
            url: url.clone(),
            lifetime: DEFAULT_RATES_LIFETIME,
        }),
        (None, None) => Ok(RateSource::None),
    }
}

async fn start_instance(spec: &InstanceSpec) -> Result<InstanceHandle, NetworkError> {
    let address = Address::parse(&spec.ilp_address).map_err(|e| NetworkError::Address {
        name: spec.name.clone(),
        reason: e.to_string(),
    })?;
    let mut config = Config::for_address(address);
    config.instance_name = spec.name.clone();
    config.api_secret = spec.api_secret.clone();
    if let Some(tenant) = &spec.operator_tenant_id {
        config.operator_tenant_id =
            Some(
                uuid::Uuid::parse_str(tenant).map_err(|_| NetworkError::TenantId {
                    name: spec.name.clone(),
                    tenant_id: tenant.clone(),
                })?,
            );
    }
    config.packet_rate_limit_per_second = spec.packet_rate_limit_per_second;
    config.enable_auto_peering = spec.enable_auto_peering;
    config.mock_operator = spec.mock_operator;
    if let Some(url) = &spec.ilp_connector_url {
        config.ilp_connector_url = Some(url.parse().map_err(|_| NetworkError::ConnectorUrl {
            name: spec.name.clone(),
            url: url.clone(),
        })?);
    }
    config.auto_peering_server_port = spec.auto_peering_server_port;
    config.exchange_rates = exchange_rates(spec)?;
    config.admin_api_dialect = spec.admin_api_dialect;
    let node = Node::start(config)
        .await
        .map_err(|source| NetworkError::Start {
            name: spec.name.clone(),
            source,
        })?;
    let admin = AdminClient::new(&node.graphql_url())
        .map_err(|source| NetworkError::Setup {
            what: format!("admin client for {}", spec.name),
            source,
        })?
        .signed_with(spec.api_secret.clone())
        .with_tenant_id(spec.operator_tenant_id.clone());
    Ok(InstanceHandle {
        name: spec.name.clone(),
        node,
        admin,
        asset_ids: HashMap::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topology(text: &str) -> Topology {
        Topology::parse(text).unwrap()
    }

    fn instances(names: &[&str]) -> String {
        names
            .iter()
            .map(|name| {
                format!("[[instances]]\nname = \"{name}\"\nilp_address = \"test.{name}\"\n")
            })
            .collect::<String>()
            + "[[assets]]\ncode = \"USD\"\nscale = 2\n[[assets]]\ncode = \"EUR\"\nscale = 2\n"
    }

    fn peering(a: &str, b: &str, asset: &str) -> String {
        format!("[[peerings]]\nbetween = [\"{a}\", \"{b}\"]\nasset = \"{asset}\"\n")
    }

    fn routes(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| format!("test.{name}")).collect()
    }

    #[test]
    fn auto_routing_reaches_every_instance_along_a_line() {
        let text = instances(&["a", "b", "c", "d"])
            + &peering("a", "b", "USD")
            + &peering("c", "b", "USD")
            + &peering("c", "d", "USD");
        let routes_of = auto_routes(&topology(&text));
        assert_eq!(
            routes_of,
            vec![
                [routes(&["c", "d"]), routes(&[])],
                [routes(&["a"]), routes(&["d"])],
                [routes(&[]), routes(&["a", "b"])],
            ]
        );
    }

    #[test]
    fn auto_routing_goes_through_a_hub_on_every_asset_to_it_and_never_adds_a_neighbour() {
        // a and b are peered directly and through the hub: the direct peering is enough.
        let text = instances(&["hub", "a", "b", "c"])
            + &peering("hub", "a", "USD")
            + &peering("hub", "b", "USD")
            + &peering("a", "b", "USD")
            + &peering("hub", "c", "USD")
            + &peering("c", "hub", "EUR");
        let routes_of = auto_routes(&topology(&text));
        assert_eq!(
            routes_of,
            vec![
                [routes(&[]), routes(&["c"])],
                [routes(&[]), routes(&["c"])],
                [routes(&[]), routes(&[])],
                [routes(&[]), routes(&["a", "b"])],
                [routes(&["a", "b"]), routes(&[])],
            ]
        );
    }

    #[test]
    fn auto_routing_leaves_a_listed_destination_to_the_routes_listed() {
        // a reaches c through b or through d; the file says through d.
        let text = instances(&["a", "b", "c", "d"])
            + &peering("a", "b", "USD")
            + &peering("b", "c", "USD")
            + &peering("a", "d", "USD")
            + "[peerings.sides.a]\nroutes = [\"test.c\"]\n"
            + &peering("d", "c", "USD");
        let routes_of = auto_routes(&topology(&text));
        assert_eq!(routes_of[0], [routes(&[]), routes(&["d"])]);
        assert_eq!(routes_of[2], [routes(&[]), routes(&["b"])]);
    }

    #[test]
    fn receivers_routing_routes_only_towards_wallet_holders() {
        let text = "routing = \"receivers\"\n".to_owned()
            + &instances(&["a", "b", "c", "d"])
            + &peering("a", "b", "USD")
            + &peering("c", "b", "USD")
            + &peering("c", "d", "USD")
            + "[[wallet_addresses]]\ninstance = \"d\"\nasset = \"USD\"\naddress = \"bob\"\n";
        assert_eq!(
            auto_routes(&topology(&text)),
            vec![
                [routes(&["d"]), routes(&[])],
                [routes(&[]), routes(&["d"])],
                [routes(&[]), routes(&[])],
            ]
        );
    }

    #[test]
    fn auto_routing_leaves_what_is_not_connected_unrouted() {
        let text = instances(&["a", "b", "c"]) + &peering("a", "b", "USD");
        assert_eq!(
            auto_routes(&topology(&text)),
            vec![[routes(&[]), routes(&[])]]
        );
    }
}
