//! Faults on instances that run elsewhere (`peerlab run --targets`). peerlab controls neither
//! their processes nor the links between them, so only the faults an operator makes through the
//! admin API are made, through it: `wrong_token` (`updatePeer` gives the sender's peer a token
//! the receiver does not know, then its own back) and `drain_liquidity` (a single-phase
//! `createPeerLiquidityWithdrawal` of all the receiver grants the sender, then a
//! `depositPeerLiquidity` of it back). Every other kind is skipped, and its record says why.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::remote::{RemoteInstance, RemoteNetwork};
use crate::report::FaultRecord;
use crate::setup::Reachable;
use crate::topology::{FaultKind, FaultSpec, Topology};

/// How often a drain reads the liquidity again when packets under way took part of it first.
const DRAIN_ATTEMPTS: usize = 5;

/// The token a `wrong_token` fault gives the sender's peer.
const WRONG_TOKEN: &str = "peerlab-fault-wrong-token";

/// Whether a fault of `kind` can be made on instances elsewhere.
pub fn possible(kind: FaultKind) -> bool {
    matches!(kind, FaultKind::WrongToken | FaultKind::DrainLiquidity)
}

/// The record of a fault that cannot be made on instances elsewhere: skipped, saying why.
pub fn unavailable(spec: &FaultSpec) -> FaultRecord {
    let reason = match spec.kind {
        FaultKind::Restart | FaultKind::ClockSkew => {
            "skipped: the instance runs elsewhere (--targets), and peerlab does not control its process"
        }
        _ => {
            "skipped: the instances run elsewhere (--targets), and peerlab does not control the link between them"
        }
    };
    FaultRecord {
        kind: spec.kind,
        between: match &spec.instance {
            Some(instance) => [instance.clone(), instance.clone()],
            None => spec.between.clone(),
        },
        from_seconds: spec.at,
        until_seconds: spec.at,
        error: Some(reason.to_owned()),
    }
}

/// Waits for the fault's time, makes it through the admin API, waits its length, undoes it.
pub async fn inject(
    network: &RemoteNetwork,
    topology: &Topology,
    spec: &FaultSpec,
    traffic_started: Instant,
) -> FaultRecord {
    if !possible(spec.kind) {
        return unavailable(spec);
    }
    tokio::time::sleep_until(traffic_started + Duration::from_secs_f64(spec.at)).await;
    let from_seconds = traffic_started.elapsed().as_secs_f64();
    let [from, to] = &spec.between;
    // A wrong token is the sender's peer's; drained liquidity is what the receiver grants the
    // sender.
    let (holder, other) = match spec.kind {
        FaultKind::WrongToken => (from, to),
        _ => (to, from),
    };
    let outcome = match Peer::of(network, topology, holder, other).await {
        Ok(peer) => match spec.kind {
            FaultKind::WrongToken => peer.with_wrong_token(spec.lasts).await,
            _ => peer.drained(spec.lasts).await,
        },
        Err(error) => Err(error),
    };
    FaultRecord {
        kind: spec.kind,
        between: spec.between.clone(),
        from_seconds,
        until_seconds: traffic_started.elapsed().as_secs_f64(),
        error: outcome.err(),
    }
}

/// The peer `holder` keeps for `other`, as its admin API shows it.
struct Peer<'a> {
    holder: &'a RemoteInstance,
    id: String,
    liquidity: u64,
    token: String,
    endpoint: String,
}

impl<'a> Peer<'a> {
    async fn of(
        network: &'a RemoteNetwork,
        topology: &Topology,
        holder: &str,
        other: &str,
    ) -> Result<Peer<'a>, String> {
        let asset = topology
            .peerings
            .iter()
            .find(|p| p.between.iter().any(|n| n == holder) && p.between.iter().any(|n| n == other))
            .map(|peering| peering.asset.as_str())
            .ok_or_else(|| format!("no peering between {holder} and {other}"))?;
        let (Some(holder), Some(other)) = (network.instance(holder), network.instance(other))
        else {
            return Err(format!("no instance {holder} or {other}"));
        };
        let asset_id = holder
            .asset_id(asset)
            .ok_or_else(|| format!("no asset {asset} on {}", holder.name()))?;
        let answer = holder
            .admin()
            .request(
                "query($address: String!, $asset: String!) { peerByAddressAndAsset(staticIlpAddress: $address, assetId: $asset) { id liquidity http { outgoing { authToken endpoint } } } }",
                json!({ "address": other.ilp_address().as_str(), "asset": asset_id }),
            )
            .await
            .map_err(|error| error.to_string())?;
        let peer = &answer["data"]["peerByAddressAndAsset"];
        let text = |value: &Value| value.as_str().map(str::to_owned);
        match (
            text(&peer["id"]),
            text(&peer["http"]["outgoing"]["authToken"]),
            text(&peer["http"]["outgoing"]["endpoint"]),
        ) {
            (Some(id), Some(token), Some(endpoint)) => Ok(Peer {
                holder,
                id,
                liquidity: peer["liquidity"]
                    .as_str()
                    .and_then(|amount| amount.parse().ok())
                    .unwrap_or(0),
                token,
                endpoint,
            }),
            _ => Err(format!(
                "{} shows no peer for {}: {answer}",
                holder.name(),
                other.name()
            )),
        }
    }

    async fn mutate(&self, field: &str, input_type: &str, input: Value) -> Result<(), String> {
        let admin = self.holder.admin();
        let selection = if field == "updatePeer" {
            "peer { id }"
        } else {
            "success"
        };
        admin
            .mutate(
                field,
                &format!(
                    "mutation($input: {input_type}!) {{ {field}(input: $input) {{ {}{selection} }} }}",
                    admin.outcome_fields()
                ),
                json!({ "input": input }),
            )
            .await
            .map(drop)
            .map_err(|error| error.to_string())
    }

    async fn point(&self, token: &str) -> Result<(), String> {
        self.mutate(
            "updatePeer",
            "UpdatePeerInput",
            json!({ "id": self.id, "http": { "outgoing": { "authToken": token, "endpoint": self.endpoint } } }),
        )
        .await
    }

    async fn with_wrong_token(&self, lasts: f64) -> Result<(), String> {
        self.point(WRONG_TOKEN).await?;
        tokio::time::sleep(Duration::from_secs_f64(lasts)).await;
        self.point(&self.token).await
    }

    async fn drained(&self, lasts: f64) -> Result<(), String> {
        let fresh = || peerlab::entropy::uuid().to_string();
        // Packets under way reserve part of the liquidity between reading it and withdrawing
        // it: then it is read again and the withdrawal tried again.
        let mut drained = 0;
        let mut amount = self.liquidity;
        for _ in 0..DRAIN_ATTEMPTS {
            if amount == 0 {
                break;
            }
            let withdrawn = self
                .mutate(
                    "createPeerLiquidityWithdrawal",
                    "CreatePeerLiquidityWithdrawalInput",
                    json!({ "id": fresh(), "peerId": self.id, "amount": amount.to_string(),
                            "idempotencyKey": fresh(), "timeoutSeconds": "0" }),
                )
                .await;
            match withdrawn {
                Ok(()) => {
                    drained = amount;
                    break;
                }
                Err(error) if error.contains("nsufficient") => {
                    amount = self.liquidity_now().await?;
                }
                Err(error) => return Err(error),
            }
        }
        if drained == 0 && amount > 0 {
            return Err(format!(
                "the liquidity kept moving: nothing withdrawn in {DRAIN_ATTEMPTS} tries"
            ));
        }
        tokio::time::sleep(Duration::from_secs_f64(lasts)).await;
        if drained == 0 {
            return Ok(());
        }
        self.mutate(
            "depositPeerLiquidity",
            "DepositPeerLiquidityInput",
            json!({ "id": fresh(), "peerId": self.id, "amount": drained.to_string(), "idempotencyKey": fresh() }),
        )
        .await
    }

    /// The peer's liquidity as its admin API tells it now.
    async fn liquidity_now(&self) -> Result<u64, String> {
        let answer = self
            .holder
            .admin()
            .request(
                "query($id: String!) { peer(id: $id) { liquidity } }",
                json!({ "id": self.id }),
            )
            .await
            .map_err(|error| error.to_string())?;
        Ok(answer["data"]["peer"]["liquidity"]
            .as_str()
            .and_then(|amount| amount.parse().ok())
            .unwrap_or(0))
    }
}
