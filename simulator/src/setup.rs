//! Setting a topology up on running instances through their admin APIs, as an operator would:
//! assets and their liquidity, peerings (by hand or by auto-peering), wallet addresses and their
//! holders' balances at the mock operator. The same code sets up embedded instances
//! ([`crate::Network`]) and instances that run elsewhere ([`crate::remote::RemoteNetwork`]): it
//! reaches an instance only through [`Reachable`], its public faces.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use peerlab::ilp::Address;
use serde_json::json;

use crate::client::{AdminClient, ClientError, CreatedWalletAddress, PeerSettings};
use crate::network::{Link, NetworkError, auto_routes};
use crate::topology::{PeerSide, PeeringMethod, Routing, Topology};

/// An instance as setup reaches it: its name, admin API and URLs.
pub trait Reachable: Sync {
    fn name(&self) -> &str;
    fn admin(&self) -> &AdminClient;
    fn ilp_address(&self) -> &Address;
    /// The URL its peers send packets to.
    fn connector_url(&self) -> String;
    /// Its auto-peering server, when it serves one.
    fn auto_peering_url(&self) -> Option<String>;
    /// The id of an asset setup created on it, by code.
    fn asset_id(&self, code: &str) -> Option<&str>;
    /// Remembers the asset setup created.
    fn record_asset(&mut self, code: String, id: String);
}

/// What setup made that the run needs later: the links (who sends to whom with which token)
/// and the wallet addresses created, by `(instance, address as the topology gives it)`.
#[derive(Debug, Default)]
pub struct Made {
    links: Mutex<Vec<Link>>,
    wallets: Mutex<HashMap<(String, String), CreatedWalletAddress>>,
}

impl Made {
    pub fn links(&self) -> Vec<Link> {
        self.links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn add_link(&self, link: Link) {
        self.links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(link);
    }

    /// The wallet address setup created on `instance` for the topology's `address`.
    pub fn wallet(&self, instance: &str, address: &str) -> Option<CreatedWalletAddress> {
        self.wallets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(instance.to_owned(), address.to_owned()))
            .cloned()
    }
}

fn find<'a, I: Reachable>(instances: &'a [I], name: &str) -> Option<&'a I> {
    instances.iter().find(|instance| instance.name() == name)
}

fn setup_error(what: String) -> impl FnOnce(ClientError) -> NetworkError {
    move |source| NetworkError::Setup { what, source }
}

/// Creates the topology's assets (with their liquidity) on every instance, its peerings with
/// their routes, and its wallet addresses (opening their holders' balances at the mock operator).
pub async fn apply<I: Reachable>(
    instances: &mut [I],
    made: &Made,
    topology: &Topology,
) -> Result<(), NetworkError> {
    for instance in instances.iter_mut() {
        for asset in &topology.assets {
            let what = || format!("asset {} on {}", asset.code, instance.name());
            let id = match instance
                .admin()
                .create_asset(&asset.code, asset.scale)
                .await
            {
                Ok(id) => id,
                // An instance that holds the asset already (a deployment's own, or a run before
                // this one) keeps it: the topology's liquidity is deposited into it.
                Err(ClientError::Refused { code, .. }) if code == "DUPLICATE" || code == "409" => {
                    existing_asset(instance.admin(), &asset.code, asset.scale)
                        .await
                        .map_err(setup_error(what()))?
                }
                Err(error) => return Err(setup_error(what())(error)),
            };
            if asset.liquidity > 0 {
                instance
                    .admin()
                    .deposit_asset_liquidity(&id, asset.liquidity)
                    .await
                    .map_err(setup_error(what()))?;
            }
            instance.record_asset(asset.code.clone(), id);
        }
    }
    let instances = &*instances;
    let auto_routes = match topology.routing {
        Routing::Manual => vec![[Vec::new(), Vec::new()]; topology.peerings.len()],
        Routing::Auto | Routing::Receivers => auto_routes(topology),
    };
    for (peering, auto) in topology.peerings.iter().zip(auto_routes) {
        let [a, b] = &peering.between;
        let sides = [0, 1].map(|index| {
            let mut side = peering.side(index);
            for route in &auto[index] {
                if !side.routes.contains(route) {
                    side.routes.push(route.clone());
                }
            }
            side
        });
        match peering.by {
            PeeringMethod::Manual => {
                peer_with(instances, made, a, b, &peering.asset, sides).await?
            }
            PeeringMethod::AutoPeering => {
                peer_by_url(instances, made, a, b, &peering.asset, sides).await?;
            }
        }
    }
    for wallet in &topology.wallet_addresses {
        let what = || format!("wallet address {} on {}", wallet.address, wallet.instance);
        let missing = |name: &str| NetworkError::Setup {
            what: what(),
            source: ClientError::InvalidUrl(format!("no instance or asset {name}")),
        };
        let instance =
            find(instances, &wallet.instance).ok_or_else(|| missing(&wallet.instance))?;
        let asset_id = instance
            .asset_id(&wallet.asset)
            .ok_or_else(|| missing(&wallet.asset))?;
        let created = instance
            .admin()
            .create_wallet_address(asset_id, &wallet.address, wallet.public_name.as_deref())
            .await
            .map_err(setup_error(what()))?;
        if let Some(balance) = wallet.balance {
            // Validation made sure the instance runs the mock operator, whose books these are.
            instance
                .admin()
                .mutate(
                    "peerlabOpenMockOperatorAccount",
                    "mutation($input: PeerlabOpenMockOperatorAccountInput!) { peerlabOpenMockOperatorAccount(input: $input) { balance } }",
                    json!({ "input": { "walletAddressId": created.id, "balance": balance.to_string() } }),
                )
                .await
                .map_err(setup_error(what()))?;
        }
        made.wallets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((wallet.instance.clone(), wallet.address.clone()), created);
    }
    Ok(())
}

/// The id of the asset `code` at `scale` an instance already holds.
async fn existing_asset(admin: &AdminClient, code: &str, scale: u8) -> Result<String, ClientError> {
    let answer = admin
        .request(
            "query($code: String!, $scale: UInt8!) { assetByCodeAndScale(code: $code, scale: $scale) { id } }",
            json!({ "code": code, "scale": scale }),
        )
        .await?;
    answer["data"]["assetByCodeAndScale"]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ClientError::Unexpected {
            expected: "the asset it said it already has",
            response: answer.to_string(),
        })
}

/// Peers `a` and `b` both ways in `asset`: `a` creates a peer for `b` as `sides[0]` says, `b`
/// one for `a` as `sides[1]` says. A side without a token presents a fresh random one.
pub async fn peer_with<I: Reachable>(
    instances: &[I],
    made: &Made,
    a: &str,
    b: &str,
    asset: &str,
    sides: [PeerSide; 2],
) -> Result<(), NetworkError> {
    let missing = |name: &str| NetworkError::Setup {
        what: format!("peering {a} and {b}"),
        source: ClientError::InvalidUrl(format!("no instance or asset for {name}")),
    };
    let first = find(instances, a).ok_or_else(|| missing(a))?;
    let second = find(instances, b).ok_or_else(|| missing(b))?;
    let [first_side, second_side] = sides;
    let fresh_token = |from: &I, to: &I| {
        format!(
            "{}-to-{}-{}",
            from.name(),
            to.name(),
            peerlab::entropy::uuid()
        )
    };
    let a_to_b = first_side
        .token
        .clone()
        .unwrap_or_else(|| fresh_token(first, second));
    let b_to_a = second_side
        .token
        .clone()
        .unwrap_or_else(|| fresh_token(second, first));
    for (from, to, incoming, outgoing, side) in [
        (first, second, &b_to_a, &a_to_b, first_side),
        (second, first, &a_to_b, &b_to_a, second_side),
    ] {
        let asset_id = from.asset_id(asset).ok_or_else(|| missing(asset))?;
        let connector_url = to.connector_url();
        let settings = PeerSettings::new(
            to.ilp_address().as_str(),
            asset_id,
            incoming,
            &connector_url,
        )
        .name(to.name())
        .outgoing_token(outgoing)
        .liquidity(side.liquidity)
        .max_packet_amount_option(side.max_packet_amount)
        .liquidity_threshold(side.liquidity_threshold)
        .routes(&side.routes);
        from.admin()
            .create_peer(&settings)
            .await
            .map_err(setup_error(format!(
                "peer {} on {}",
                to.name(),
                from.name()
            )))?;
        // `from` receives with `incoming`, so that is the token `to` sends with.
        made.add_link(Link {
            from: to.name().to_owned(),
            to: from.name().to_owned(),
            connector_url: from.connector_url(),
            token: incoming.clone(),
        });
    }
    Ok(())
}

/// Peers `a` and `b` as Rafiki's auto-peering does: `a` calls `createOrUpdatePeerByUrl` with
/// `b`'s auto-peering URL, granting `b` `sides[0].liquidity` (`liquidityToDeposit`) with its
/// `maxPacketAmount` and `liquidityThreshold`; `b` accepts, creating its peer for `a` with
/// its own tokens and Rafiki's grant. Routes either side lists (and `sides[1]`'s
/// `maxPacketAmount` and `liquidityThreshold`) are then set with `updatePeer`, as an operator
/// would.
pub async fn peer_by_url<I: Reachable>(
    instances: &[I],
    made: &Made,
    a: &str,
    b: &str,
    asset: &str,
    sides: [PeerSide; 2],
) -> Result<(), NetworkError> {
    let what = || format!("auto-peering {a} with {b}");
    let setup = |source| NetworkError::Setup {
        what: what(),
        source,
    };
    let missing = |name: &str| {
        setup(ClientError::InvalidUrl(format!(
            "no instance or asset for {name}"
        )))
    };
    let first = find(instances, a).ok_or_else(|| missing(a))?;
    let second = find(instances, b).ok_or_else(|| missing(b))?;
    let url = second
        .auto_peering_url()
        .ok_or_else(|| missing(&format!("{b}'s auto-peering URL")))?;
    let asset_id = first.asset_id(asset).ok_or_else(|| missing(asset))?;
    let [first_side, second_side] = sides;
    let payload = first
        .admin()
        .mutate(
            "createOrUpdatePeerByUrl",
            &format!("mutation($input: CreateOrUpdatePeerByUrlInput!) {{ createOrUpdatePeerByUrl(input: $input) {{ {}peer {{ id }} }} }}", first.admin().outcome_fields()),
            json!({ "input": {
                "peerUrl": url,
                "assetId": asset_id,
                "name": second.name(),
                "maxPacketAmount": first_side.max_packet_amount.map(|amount| amount.to_string()),
                "liquidityThreshold": first_side.liquidity_threshold.map(|amount| amount.to_string()),
                "liquidityToDeposit": (first_side.liquidity > 0).then(|| first_side.liquidity.to_string()),
            } }),
        )
        .await
        .map_err(setup)?;
    if payload["peer"]["id"].as_str().is_none() {
        return Err(setup(ClientError::Unexpected {
            expected: "the peer auto-peering created",
            response: payload.to_string(),
        }));
    }
    for (holder, other, side, accepting_side) in [
        (first, second, &first_side, false),
        (second, first, &second_side, true),
    ] {
        // What each side now holds for the other, as its admin API tells it.
        let asset_id = holder.asset_id(asset).ok_or_else(|| missing(asset))?;
        let answer = holder
            .admin()
            .request(
                "query($address: String!, $asset: String!) { peerByAddressAndAsset(staticIlpAddress: $address, assetId: $asset) { id http { outgoing { authToken } } } }",
                json!({ "address": other.ilp_address().as_str(), "asset": asset_id }),
            )
            .await
            .map_err(setup)?;
        let peer = &answer["data"]["peerByAddressAndAsset"];
        let (Some(peer_id), Some(token)) = (
            peer["id"].as_str(),
            peer["http"]["outgoing"]["authToken"].as_str(),
        ) else {
            return Err(setup(ClientError::Unexpected {
                expected: "the peer auto-peering made on each side",
                response: answer.to_string(),
            }));
        };
        // `holder` sends to `other` with the token auto-peering gave it.
        made.add_link(Link {
            from: holder.name().to_owned(),
            to: other.name().to_owned(),
            connector_url: other.connector_url(),
            token: token.to_owned(),
        });
        let settings_to_update = !side.routes.is_empty()
            || (accepting_side
                && (side.max_packet_amount.is_some() || side.liquidity_threshold.is_some()));
        if settings_to_update {
            let mut input = json!({ "id": peer_id });
            if !side.routes.is_empty() {
                input["routes"] = json!(side.routes);
            }
            if accepting_side {
                if let Some(amount) = side.max_packet_amount {
                    input["maxPacketAmount"] = json!(amount.to_string());
                }
                if let Some(amount) = side.liquidity_threshold {
                    input["liquidityThreshold"] = json!(amount.to_string());
                }
            }
            holder
                .admin()
                .mutate(
                    "updatePeer",
                    &format!("mutation($input: UpdatePeerInput!) {{ updatePeer(input: $input) {{ {}peer {{ id }} }} }}", holder.admin().outcome_fields()),
                    json!({ "input": input }),
                )
                .await
                .map_err(setup)?;
        }
    }
    Ok(())
}
