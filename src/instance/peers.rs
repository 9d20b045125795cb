//! Peers: create with Rafiki's validation order, update, delete, look up; routes and incoming
//! tokens are kept in sync with every change.

use std::collections::HashSet;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use url::Url;
use uuid::Uuid;

use super::pagination::{self, Page, PageRequest, PaginationError};
use super::routing::Route;
use super::{
    HttpOutgoing, HttpUpdate, Instance, LinkCounters, NewPeer, Peer, PeerError, PeerUpdate, State,
    parse_id, reportable,
};
use crate::ilp::Address;
use crate::ledger::{AccountId, AccountKind, TransferId};

const MAX_NAME_LENGTH: usize = 255;
const MAX_TOKEN_LENGTH: usize = 1024;
const MAX_ENDPOINT_LENGTH: usize = 2048;

impl Instance {
    /// Creates a peer. Checks in Rafiki's order: the ILP address, the HTTP endpoint, the asset,
    /// a duplicate peer (same address and asset), duplicate incoming tokens, then deposits the
    /// initial liquidity. Nothing is kept when any check fails.
    pub fn create_peer(&self, new: NewPeer) -> Result<Arc<Peer>, PeerError> {
        let address = self.parse_peer_address(&new.static_ilp_address)?;
        let endpoint = validate_endpoint(&new.outgoing_endpoint)?;
        check_name(new.name.as_deref())?;
        let digests = token_digests(&new.incoming_tokens)?;
        check_token(&new.outgoing_token)?;
        let extra_routes = self.parse_routes(&new.routes)?;

        let mut state = self.lock();
        let asset = state
            .assets
            .iter()
            .find(|a| !a.deleted && parse_id(&new.asset_id) == Some(a.id))
            .cloned()
            .ok_or(PeerError::UnknownAsset)?;
        if state
            .peers
            .iter()
            .any(|p| p.asset_id == asset.id && p.static_ilp_address == address)
        {
            return Err(PeerError::DuplicatePeer);
        }
        check_tokens_free(&state, &digests, None)?;

        let peer = Peer {
            id: crate::entropy::uuid(),
            asset_id: asset.id,
            routes: with_static_address(&address, extra_routes),
            static_ilp_address: address,
            name: new.name,
            max_packet_amount: new.max_packet_amount,
            liquidity_threshold: new.liquidity_threshold,
            outgoing: HttpOutgoing {
                endpoint,
                auth_token: new.outgoing_token,
            },
            created_at: crate::clock::now(),
            incoming_token_digests: digests,
            link: LinkCounters::default(),
        };
        let account = AccountId(peer.id);
        state
            .accounting
            .create_account(account, asset.ledger, AccountKind::PeerLiquidity)
            .map_err(|_| PeerError::InvalidInitialLiquidity)?;
        if let Some(amount) = new.initial_liquidity.filter(|amount| *amount > 0) {
            // A failed deposit leaves an empty account that no peer refers to: nothing to undo.
            state
                .accounting
                .deposit(TransferId::random(), account, amount)
                .map_err(|_| PeerError::InvalidInitialLiquidity)?;
        }
        for token in &peer.incoming_token_digests {
            state.incoming_tokens.insert(*token, peer.id);
        }
        add_routes(&mut state, &peer);
        let peer = Arc::new(peer);
        state.peers.insert(peer.clone());
        Ok(peer)
    }

    /// Updates the fields given. Changing the address replaces it in the routes too; `routes`,
    /// when given, replaces the extra routes. Incoming tokens are replaced when given.
    pub fn update_peer(&self, update: PeerUpdate) -> Result<Arc<Peer>, PeerError> {
        let address = update
            .static_ilp_address
            .as_deref()
            .map(|text| self.parse_peer_address(text))
            .transpose()?;
        let endpoint = update
            .http
            .as_ref()
            .map(|http| validate_endpoint(&http.outgoing_endpoint))
            .transpose()?;
        check_name(update.name.as_deref())?;
        let digests = match update
            .http
            .as_ref()
            .and_then(|h| h.incoming_tokens.as_ref())
        {
            Some(tokens) => Some(token_digests(tokens)?),
            None => None,
        };
        if let Some(http) = &update.http {
            check_token(&http.outgoing_token)?;
        }
        let extra_routes = update
            .routes
            .as_deref()
            .map(|routes| self.parse_routes(routes))
            .transpose()?;

        let mut state = self.lock();
        let id = parse_id(&update.id).ok_or(PeerError::UnknownPeer)?;
        let current = state.peers.get(id).cloned().ok_or(PeerError::UnknownPeer)?;
        if let Some(address) = &address
            && state.peers.iter().any(|p| {
                p.id != id && p.asset_id == current.asset_id && &p.static_ilp_address == address
            })
        {
            return Err(PeerError::DuplicatePeer);
        }
        if let Some(digests) = &digests {
            check_tokens_free(&state, digests, Some(id))?;
        }

        let mut peer = Peer::clone(&current);
        if let Some(address) = address {
            peer.static_ilp_address = address;
        }
        let extra =
            extra_routes.unwrap_or_else(|| current.routes.iter().skip(1).cloned().collect());
        peer.routes = with_static_address(&peer.static_ilp_address, extra);
        if let Some(name) = update.name {
            peer.name = Some(name);
        }
        if let Some(max) = update.max_packet_amount {
            peer.max_packet_amount = Some(max);
        }
        if let Some(threshold) = update.liquidity_threshold {
            peer.liquidity_threshold = Some(threshold);
        }
        if let (Some(http), Some(endpoint)) = (update.http, endpoint) {
            peer.outgoing = HttpOutgoing {
                endpoint,
                auth_token: http.outgoing_token,
            };
        }
        if let Some(digests) = digests {
            state.incoming_tokens.retain(|_, owner| *owner != id);
            for token in &digests {
                state.incoming_tokens.insert(*token, id);
            }
            peer.incoming_token_digests = digests;
        }
        state.routing.remove_peer(id);
        add_routes(&mut state, &peer);
        let peer = Arc::new(peer);
        state.peers.insert(peer.clone());
        Ok(peer)
    }

    /// Creates the peer or, when one exists for the same address and asset, updates its name,
    /// limits and HTTP settings (without new liquidity): what auto-peering does on both sides.
    /// Says whether the peer was created.
    pub fn create_or_update_peer(&self, new: NewPeer) -> Result<(Arc<Peer>, bool), PeerError> {
        match self.create_peer(new.clone()) {
            Ok(peer) => Ok((peer, true)),
            Err(PeerError::DuplicatePeer) => {
                let existing = {
                    let state = self.lock();
                    let address = self.parse_peer_address(&new.static_ilp_address)?;
                    let asset = parse_id(&new.asset_id);
                    state
                        .peers
                        .iter()
                        .find(|p| Some(p.asset_id) == asset && p.static_ilp_address == address)
                        .map(|p| p.id)
                        .ok_or(PeerError::UnknownPeer)?
                };
                let update = PeerUpdate {
                    id: existing.to_string(),
                    static_ilp_address: None,
                    name: new.name,
                    http: Some(HttpUpdate {
                        incoming_tokens: Some(new.incoming_tokens),
                        outgoing_endpoint: new.outgoing_endpoint,
                        outgoing_token: new.outgoing_token,
                    }),
                    max_packet_amount: new.max_packet_amount,
                    liquidity_threshold: new.liquidity_threshold,
                    routes: None,
                };
                self.update_peer(update).map(|peer| (peer, false))
            }
            Err(error) => Err(error),
        }
    }

    /// Deletes a peer, its tokens and routes. Its liquidity account stays in the ledger.
    pub fn delete_peer(&self, id: &str) -> Result<Arc<Peer>, PeerError> {
        let mut state = self.lock();
        let id = parse_id(id).ok_or(PeerError::UnknownPeer)?;
        let peer = state.peers.remove(id).ok_or(PeerError::UnknownPeer)?;
        state.incoming_tokens.retain(|_, owner| *owner != id);
        state.routing.remove_peer(id);
        Ok(peer)
    }

    pub fn peer(&self, id: &str) -> Option<Arc<Peer>> {
        let id = parse_id(id)?;
        self.lock().peers.get(id).cloned()
    }

    /// Every peer, in creation order (O(peers): for views of the whole instance).
    pub fn peers(&self) -> Vec<Arc<Peer>> {
        self.lock().peers.iter().cloned().collect()
    }

    pub fn peers_page(&self, request: &PageRequest) -> Result<Page<Arc<Peer>>, PaginationError> {
        let state = self.lock();
        let ordered: Vec<Arc<Peer>> = state.peers.iter().cloned().collect();
        pagination::paginate(&ordered, |p| p.id.to_string(), request)
    }

    /// The peer that packets for `address` in `asset_id` go to: Rafiki answers this from the
    /// routing table, so a longer address under a peer's prefix finds that peer too.
    pub fn peer_by_address_and_asset(&self, address: &str, asset_id: &str) -> Option<Arc<Peer>> {
        let address = Address::parse(address.trim()).ok()?;
        let asset_id = parse_id(asset_id)?;
        let state = self.lock();
        let route = state.routing.next_hop(&address, None, Some(asset_id))?;
        state.peers.get(route.peer_id).cloned()
    }

    /// The peer that presents `token` on its incoming link. Tokens are compared by their SHA-256
    /// digest, so the time a lookup takes says nothing about how much of a guess was right.
    pub fn peer_by_incoming_token(&self, token: &str) -> Option<Arc<Peer>> {
        let digest = digest(token);
        let state = self.lock();
        let id = state.incoming_tokens.get(&digest)?;
        state.peers.get(*id).cloned()
    }

    /// How much the peer may still send through this instance.
    pub fn peer_liquidity(&self, peer_id: Uuid) -> Option<u64> {
        self.lock()
            .accounting
            .ledger()
            .balance(AccountId(peer_id))
            .ok()
            .map(reportable)
    }
}

impl Instance {
    /// A peer's static ILP address: valid (RFC 15, surrounding spaces trimmed as Rafiki does),
    /// and neither a `peer.*` address nor this instance's own, which would route in a loop.
    fn parse_peer_address(&self, text: &str) -> Result<Address, PeerError> {
        let address =
            Address::parse(text.trim()).map_err(|_| PeerError::InvalidStaticIlpAddress)?;
        if address.as_str().starts_with("peer.") || address == self.settings.ilp_address {
            return Err(PeerError::ReservedStaticIlpAddress);
        }
        Ok(address)
    }

    /// Extra routes: ILP address prefixes, never `peer.*` or this instance's own address (both
    /// would send packets meant for this instance or its links away, or round in a loop).
    fn parse_routes(&self, routes: &[String]) -> Result<Vec<String>, PeerError> {
        routes
            .iter()
            .map(|route| {
                let address = Address::parse(route.trim()).map_err(|_| PeerError::InvalidRoute)?;
                if address.as_str().starts_with("peer.") || address == self.settings.ilp_address {
                    return Err(PeerError::InvalidRoute);
                }
                Ok(address.as_str().to_owned())
            })
            .collect()
    }
}

/// Rafiki's `isValidHttpUrl`: an http(s) URL with a host and no empty dot-separated labels.
fn validate_endpoint(endpoint: &str) -> Result<String, PeerError> {
    let trimmed = endpoint.trim();
    if trimmed.len() > MAX_ENDPOINT_LENGTH {
        return Err(PeerError::InvalidHttpEndpoint);
    }
    let url = Url::parse(trimmed).map_err(|_| PeerError::InvalidHttpEndpoint)?;
    let host_ok = url
        .host_str()
        .is_some_and(|host| !host.is_empty() && !host.split('.').any(str::is_empty));
    if !matches!(url.scheme(), "http" | "https") || !host_ok {
        return Err(PeerError::InvalidHttpEndpoint);
    }
    Ok(trimmed.to_owned())
}

fn check_name(name: Option<&str>) -> Result<(), PeerError> {
    match name {
        Some(name) if name.chars().count() > MAX_NAME_LENGTH => Err(PeerError::NameTooLong),
        Some(name) if crate::text::forbidden_character(name).is_some() => {
            Err(PeerError::InvalidName)
        }
        _ => Ok(()),
    }
}

fn check_token(token: &str) -> Result<(), PeerError> {
    if token.is_empty() || token.len() > MAX_TOKEN_LENGTH {
        return Err(PeerError::InvalidToken);
    }
    Ok(())
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Digests of the incoming tokens; a token listed twice is a duplicate, as in Rafiki.
fn token_digests(tokens: &[String]) -> Result<Vec<[u8; 32]>, PeerError> {
    let mut seen = HashSet::new();
    tokens
        .iter()
        .map(|token| {
            check_token(token)?;
            let digest = digest(token);
            if !seen.insert(digest) {
                return Err(PeerError::DuplicateIncomingToken);
            }
            Ok(digest)
        })
        .collect()
}

fn check_tokens_free(
    state: &State,
    digests: &[[u8; 32]],
    owner: Option<Uuid>,
) -> Result<(), PeerError> {
    let taken = digests.iter().any(|d| {
        state
            .incoming_tokens
            .get(d)
            .is_some_and(|holder| Some(*holder) != owner)
    });
    if taken {
        return Err(PeerError::DuplicateIncomingToken);
    }
    Ok(())
}

fn with_static_address(address: &Address, extra: Vec<String>) -> Vec<String> {
    let mut routes = vec![address.as_str().to_owned()];
    for route in extra {
        if !routes.contains(&route) {
            routes.push(route);
        }
    }
    routes
}

fn add_routes(state: &mut State, peer: &Peer) {
    let route = Route {
        peer_id: peer.id,
        asset_id: peer.asset_id,
    };
    for prefix in &peer.routes {
        state.routing.add(prefix, route);
    }
}
