//! The static routing table: ILP address prefixes to peers, matched on whole segments, longest
//! prefix first (Rafiki's `ilp-routing` service since v2.3.0).

use std::collections::HashMap;

use uuid::Uuid;

use crate::ilp::Address;

/// One route: packets for the prefix may go to this peer, whose account is in this asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub peer_id: Uuid,
    pub asset_id: Uuid,
}

/// Prefix -> routes, in the order they were added.
#[derive(Debug, Default, Clone)]
pub struct RoutingTable {
    routes: HashMap<String, Vec<Route>>,
}

impl RoutingTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route; adding the same peer for the same prefix twice has no effect.
    pub fn add(&mut self, prefix: &str, route: Route) {
        let routes = self.routes.entry(prefix.to_owned()).or_default();
        if !routes.contains(&route) {
            routes.push(route);
        }
    }

    /// Removes every route through `peer_id`.
    pub fn remove_peer(&mut self, peer_id: Uuid) {
        self.routes.retain(|_, routes| {
            routes.retain(|route| route.peer_id != peer_id);
            !routes.is_empty()
        });
    }

    /// The next hop for `destination`: the longest prefix (on whole segments) that has a route,
    /// skipping the peer the packet came from (never bounce a packet back) and, when `asset_id` is
    /// given, peers in other assets. Among several routes for one prefix the first added wins, so
    /// that runs are reproducible (Rafiki picks at random).
    pub fn next_hop(
        &self,
        destination: &Address,
        from_peer: Option<Uuid>,
        asset_id: Option<Uuid>,
    ) -> Option<Route> {
        let address = destination.as_str();
        // Whole-segment prefixes, longest first: the address, then up to each '.' from the right.
        let mut prefix = address;
        loop {
            let found = self.routes.get(prefix).and_then(|routes| {
                routes.iter().copied().find(|route| {
                    Some(route.peer_id) != from_peer
                        && asset_id.is_none_or(|asset| route.asset_id == asset)
                })
            });
            if found.is_some() {
                return found;
            }
            prefix = &prefix[..prefix.rfind('.')?];
        }
    }
}

impl RoutingTable {
    /// The next hop for a packet from `from_peer` in `asset_id`: the longest prefix with a route
    /// in any asset (never back to `from_peer`); among that prefix's routes, the first in
    /// `asset_id`, else the first in another asset (the packet is then converted).
    pub fn next_hop_preferring(
        &self,
        destination: &Address,
        from_peer: Uuid,
        asset_id: Uuid,
    ) -> Option<Route> {
        let mut prefix = destination.as_str();
        loop {
            if let Some(routes) = self.routes.get(prefix) {
                let mut candidates = routes.iter().filter(|route| route.peer_id != from_peer);
                if let Some(first) = candidates.next() {
                    let same_asset = std::iter::once(first)
                        .chain(candidates)
                        .find(|route| route.asset_id == asset_id);
                    return Some(*same_asset.unwrap_or(first));
                }
            }
            prefix = &prefix[..prefix.rfind('.')?];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(text: &str) -> Address {
        Address::parse(text).unwrap()
    }

    fn route() -> Route {
        Route {
            peer_id: Uuid::new_v4(),
            asset_id: Uuid::new_v4(),
        }
    }

    #[test]
    fn longest_prefix_on_whole_segments_wins() {
        let mut table = RoutingTable::new();
        let (bank, branch, other) = (route(), route(), route());
        table.add("test.bank", bank);
        table.add("test.bank.branch", branch);
        table.add("test.banker", other);
        assert_eq!(
            table.next_hop(&address("test.bank.alice"), None, None),
            Some(bank)
        );
        assert_eq!(
            table.next_hop(&address("test.bank.branch.bob"), None, None),
            Some(branch)
        );
        assert_eq!(
            table.next_hop(&address("test.bank"), None, None),
            Some(bank)
        );
        assert_eq!(
            table.next_hop(&address("test.banker.x"), None, None),
            Some(other)
        );
        assert_eq!(table.next_hop(&address("test.ban"), None, None), None);
        assert_eq!(table.next_hop(&address("test.bankx"), None, None), None);
    }

    #[test]
    fn never_routes_back_to_the_sender_and_filters_by_asset() {
        let mut table = RoutingTable::new();
        let (usd, eur) = (route(), route());
        table.add("test.bank", usd);
        table.add("test", eur);
        let dest = address("test.bank.alice");
        assert_eq!(table.next_hop(&dest, Some(usd.peer_id), None), Some(eur));
        assert_eq!(table.next_hop(&dest, None, Some(eur.asset_id)), Some(eur));
        assert_eq!(
            table.next_hop(&dest, Some(eur.peer_id), Some(eur.asset_id)),
            None
        );
    }

    #[test]
    fn packets_prefer_their_own_asset_within_the_longest_prefix_only() {
        let mut table = RoutingTable::new();
        let (eur_long, usd_short, usd_long, from) = (route(), route(), route(), route());
        table.add("test", usd_short);
        table.add("test.bank", eur_long);
        let dest = address("test.bank.alice");
        // A longer prefix in another asset beats a shorter one in the packet's own asset.
        assert_eq!(
            table.next_hop_preferring(&dest, from.peer_id, usd_short.asset_id),
            Some(eur_long)
        );
        let usd_long = Route {
            asset_id: usd_short.asset_id,
            ..usd_long
        };
        table.add("test.bank", usd_long);
        assert_eq!(
            table.next_hop_preferring(&dest, from.peer_id, usd_short.asset_id),
            Some(usd_long)
        );
        assert_eq!(
            table.next_hop_preferring(&dest, eur_long.peer_id, eur_long.asset_id),
            Some(usd_long)
        );
        assert_eq!(
            table.next_hop_preferring(&address("example.x"), from.peer_id, from.asset_id),
            None
        );
    }

    #[test]
    fn removing_a_peer_removes_all_its_routes() {
        let mut table = RoutingTable::new();
        let (a, b) = (route(), route());
        table.add("test.x", a);
        table.add("test.x", a);
        table.add("test.y", a);
        table.add("test.x", b);
        table.remove_peer(a.peer_id);
        assert_eq!(table.next_hop(&address("test.x.1"), None, None), Some(b));
        assert_eq!(table.next_hop(&address("test.y.1"), None, None), None);
    }
}
