//! A network whose instances run elsewhere (containers, other hosts), named by a targets file:
//! set up and read through their public APIs only, so that `peerlab run FILE --targets TARGETS`
//! drives them as it drives embedded instances.
//!
//! Setup is [`crate::setup`], the same code embedded networks use. What the run reads afterwards
//! (liquidity, balances at the mock operator, the ledger's audit, packet counters) comes from the
//! admin API: Rafiki's fields, and peerlab's own `peerlab*` fields for what Rafiki has none for.

use std::collections::HashMap;
use std::time::Duration;

use peerlab::connector::{PacketCounts, PacketStatsSnapshot};
use peerlab::ilp::Address;
use serde_json::{Value, json};

use crate::client::{AdminClient, ClientError};
use crate::harness::targets::{Target, Targets};
use crate::harness::world::Dialect;
use crate::network::{Link, NetworkError};
use crate::setup::{self, Made, Reachable};
use crate::topology::Topology;

/// How many instances elsewhere are read at once.
const CONCURRENT_READS: usize = 16;

/// The longest one readiness question may take.
const READY_ATTEMPT: Duration = Duration::from_secs(5);

/// How often an instance that does not answer yet is asked again while the run waits for it.
const READY_POLL: Duration = Duration::from_millis(250);

/// One instance of the deployment, as the run reaches it.
#[derive(Debug)]
pub struct RemoteInstance {
    target: Target,
    admin: AdminClient,
    /// Asset code -> id, for assets setup created.
    asset_ids: HashMap<String, String>,
}

impl Reachable for RemoteInstance {
    fn name(&self) -> &str {
        &self.target.name
    }

    fn admin(&self) -> &AdminClient {
        &self.admin
    }

    fn ilp_address(&self) -> &Address {
        &self.target.ilp_address
    }

    fn connector_url(&self) -> String {
        self.target.connector_url.clone()
    }

    fn auto_peering_url(&self) -> Option<String> {
        self.target.auto_peering_url.clone()
    }

    fn asset_id(&self, code: &str) -> Option<&str> {
        self.asset_ids.get(code).map(String::as_str)
    }

    fn record_asset(&mut self, code: String, id: String) {
        self.asset_ids.insert(code, id);
    }
}

/// What `peerlabStatus` tells of an instance at one moment.
#[derive(Debug, Clone)]
pub struct RemoteStatus {
    pub audit: Result<(), String>,
    pub pending_transfers: u64,
    pub packets: PacketStatsSnapshot,
    /// The sent packets' latency histogram, as (microseconds, count) buckets.
    pub sent_latency: Vec<(u64, u64)>,
}

/// The instances a targets file names, in the topology's order.
#[derive(Debug)]
pub struct RemoteNetwork {
    instances: Vec<RemoteInstance>,
    made: Made,
}

impl RemoteNetwork {
    /// Matches every instance of `topology` with its target (by name; the ILP addresses must
    /// agree), waits up to `wait` for each admin API to answer, then sets the topology up on them.
    pub async fn connect(
        topology: &Topology,
        targets: &Targets,
        wait: Duration,
    ) -> Result<Self, NetworkError> {
        let mut instances = Vec::with_capacity(topology.instances.len());
        for spec in &topology.instances {
            let refused = |reason: String| NetworkError::Targets {
                file: targets.file.display().to_string(),
                reason,
            };
            let target = targets.get(&spec.name).ok_or_else(|| {
                refused(format!(
                    "names no target {:?} (it names {})",
                    spec.name,
                    targets.names().join(", ")
                ))
            })?;
            if target.ilp_address.as_str() != spec.ilp_address {
                return Err(refused(format!(
                    "target {:?} is at {}, but the topology gives it {}",
                    spec.name, target.ilp_address, spec.ilp_address
                )));
            }
            let admin = AdminClient::with_tls(&target.admin_graphql_url, target.tls.clone())
                .map_err(|source| NetworkError::Setup {
                    what: format!("admin client for {}", spec.name),
                    source,
                })?
                // A secret the targets file does not name comes from the topology, which the
                // instance was started from.
                .signed_with(target.secret.clone().or_else(|| spec.api_secret.clone()))
                .signature_version(target.signature_version)
                .with_tenant_id(
                    target
                        .tenant_id
                        .clone()
                        .or_else(|| spec.operator_tenant_id.clone()),
                );
            // A target whose clients speak today's dialect may be today's Rafiki, which has
            // none of the seed era's outcome fields.
            let admin = match target.dialect {
                Dialect::V2 => admin.todays_payloads(),
                Dialect::Seed => admin,
            };
            instances.push(RemoteInstance {
                target: target.clone(),
                admin,
                asset_ids: HashMap::new(),
            });
        }
        let deadline = tokio::time::Instant::now() + wait;
        futures_util::future::try_join_all(
            instances
                .iter()
                .map(|instance| wait_until_answering(instance, deadline)),
        )
        .await?;
        let mut network = Self {
            instances,
            made: Made::default(),
        };
        setup::apply(&mut network.instances, &network.made, topology).await?;
        Ok(network)
    }

    pub fn instances(&self) -> &[RemoteInstance] {
        &self.instances
    }

    pub fn instance(&self, name: &str) -> Option<&RemoteInstance> {
        self.instances
            .iter()
            .find(|instance| instance.target.name == name)
    }

    pub fn made(&self) -> &Made {
        &self.made
    }

    /// Every instance's `peerlabStatus`, in order, asked a few at a time.
    pub async fn statuses(&self) -> Vec<Result<RemoteStatus, String>> {
        self.each(RemoteInstance::status).await
    }

    /// `ask` of every instance, in order, at most [`CONCURRENT_READS`] at a time.
    pub async fn each<'a, T, F>(&'a self, ask: impl Fn(&'a RemoteInstance) -> F) -> Vec<T>
    where
        F: std::future::Future<Output = T> + 'a,
    {
        use futures_util::StreamExt;
        futures_util::stream::iter(self.instances.iter().map(ask))
            .buffered(CONCURRENT_READS)
            .collect()
            .await
    }

    pub fn links(&self) -> Vec<Link> {
        self.made.links()
    }
}

/// Asks `instance`'s admin API the smallest question until it answers or `deadline` passes.
async fn wait_until_answering(
    instance: &RemoteInstance,
    deadline: tokio::time::Instant,
) -> Result<(), NetworkError> {
    loop {
        // An instance that takes connections but does not answer (still starting, or wedged) is
        // given what is left of the wait, a few seconds at most, each time.
        let left = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .clamp(READY_POLL, READY_ATTEMPT);
        let asked = tokio::time::timeout(left, instance.admin.request("{ __typename }", json!({})));
        let error = match asked.await {
            Ok(Ok(answer)) if answer["data"]["__typename"].is_string() => return Ok(()),
            Ok(Ok(answer)) => ClientError::GraphQl(answer.to_string()),
            Ok(Err(error)) => error,
            Err(_) => ClientError::TimedOut(left),
        };
        // A refusal (wrong secret, tenant) will not go away by waiting.
        let lasting = matches!(&error, ClientError::Status { status, .. } if *status == 401 || *status == 403)
            || matches!(error, ClientError::GraphQl(_));
        if lasting || tokio::time::Instant::now() + READY_POLL > deadline {
            return Err(NetworkError::Setup {
                what: format!(
                    "reaching {} at {}",
                    instance.target.name, instance.target.admin_graphql_url
                ),
                source: error,
            });
        }
        tokio::time::sleep(READY_POLL).await;
    }
}

impl RemoteInstance {
    pub fn name(&self) -> &str {
        &self.target.name
    }

    pub fn ilp_address(&self) -> &Address {
        &self.target.ilp_address
    }

    pub fn admin(&self) -> &AdminClient {
        &self.admin
    }

    pub fn asset_ids(&self) -> impl Iterator<Item = (&str, &str)> {
        self.asset_ids
            .iter()
            .map(|(code, id)| (code.as_str(), id.as_str()))
    }

    /// A query's `data`, or why there is none.
    async fn data(&self, query: &str, variables: Value) -> Result<Value, String> {
        let answer = self
            .admin
            .request(query, variables)
            .await
            .map_err(|error| error.to_string())?;
        if let Some(errors) = answer.get("errors") {
            return Err(errors[0]["message"]
                .as_str()
                .unwrap_or("the admin API answered with errors")
                .to_owned());
        }
        Ok(answer["data"].clone())
    }

    /// What this instance grants its peer at `other` in the asset `code`.
    pub async fn peer_liquidity(&self, other: &Address, code: &str) -> Option<u64> {
        let asset = self.asset_ids.get(code)?;
        let data = self
            .data(
                "query($address: String!, $asset: String!) { peerByAddressAndAsset(staticIlpAddress: $address, assetId: $asset) { liquidity } }",
                json!({ "address": other.as_str(), "asset": asset }),
            )
            .await
            .ok()?;
        number(&data["peerByAddressAndAsset"]["liquidity"])
    }

    /// Its assets' own liquidity: (code, scale, liquidity), for the assets setup created.
    pub async fn asset_liquidity(&self) -> Vec<(String, u8, u64)> {
        let mut assets = Vec::new();
        for id in self.asset_ids.values() {
            let Ok(data) = self
                .data(
                    "query($id: String!) { asset(id: $id) { code scale liquidity } }",
                    json!({ "id": id }),
                )
                .await
            else {
                continue;
            };
            let asset = &data["asset"];
            let (Some(code), Some(scale)) = (asset["code"].as_str(), asset["scale"].as_u64())
            else {
                continue;
            };
            assets.push((
                code.to_owned(),
                u8::try_from(scale).unwrap_or(u8::MAX),
                number(&asset["liquidity"]).unwrap_or(0),
            ));
        }
        assets
    }

    /// The holder of wallet address `id` at the mock operator: balance plus what is reserved.
    pub async fn held_at_operator(&self, id: &str) -> Option<u64> {
        let data = self
            .data(
                "query($id: String!) { peerlabMockOperatorAccount(walletAddressId: $id) { balance reserved } }",
                json!({ "id": id }),
            )
            .await
            .ok()?;
        let account = &data["peerlabMockOperatorAccount"];
        number(&account["balance"])?.checked_add(number(&account["reserved"])?)
    }

    /// `peerlabStatus`: an error when the instance has none (it is no peerlab instance).
    pub async fn status(&self) -> Result<RemoteStatus, String> {
        let data = self
            .data(
                "{ peerlabStatus { ledgerBalanced ledgerViolation pendingTransfers packets { \
                 fromPeers { fulfilled rejected { code count } } \
                 sent { fulfilled rejected { code count } } \
                 probes dataOnly sentLatency { micros count } } } }",
                json!({}),
            )
            .await
            .map_err(|error| format!("{} answers no peerlabStatus: {error}", self.name()))?;
        let status = &data["peerlabStatus"];
        let packets = &status["packets"];
        let counts = |counts: &Value| PacketCounts {
            fulfilled: number(&counts["fulfilled"]).unwrap_or(0),
            rejected: counts["rejected"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|reject| {
                    Some((
                        reject["code"].as_str()?.to_owned(),
                        number(&reject["count"])?,
                    ))
                })
                .collect(),
        };
        Ok(RemoteStatus {
            audit: if status["ledgerBalanced"] == Value::Bool(true) {
                Ok(())
            } else {
                Err(status["ledgerViolation"]
                    .as_str()
                    .unwrap_or("the ledger does not balance")
                    .to_owned())
            },
            pending_transfers: number(&status["pendingTransfers"]).unwrap_or(0),
            packets: PacketStatsSnapshot {
                from_peers: counts(&packets["fromPeers"]),
                sent: counts(&packets["sent"]),
                probes: number(&packets["probes"]).unwrap_or(0),
                data_only: number(&packets["dataOnly"]).unwrap_or(0),
            },
            sent_latency: packets["sentLatency"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|bucket| Some((number(&bucket["micros"])?, number(&bucket["count"])?)))
                .collect(),
        })
    }
}

/// A `UInt64` as the admin API writes it (a string; a number is accepted too).
fn number(value: &Value) -> Option<u64> {
    match value {
        Value::String(text) => text.parse().ok(),
        other => other.as_u64(),
    }
}
