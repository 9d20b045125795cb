//! The instances a run drives, wherever they run: embedded in this process ([`Network`], read
//! in process, cheap enough for 10,000 instances) or elsewhere ([`RemoteNetwork`], read through
//! their admin APIs). The run asks the same questions of both.

use hdrhistogram::Histogram;
use peerlab::connector::PacketStatsSnapshot;

use crate::client::AdminClient;
use crate::network::Network;
use crate::remote::{RemoteInstance, RemoteNetwork};
use crate::report::{AssetLiquidity, PeeringLiquidity, WalletBalance};
use crate::setup::Made;
use crate::topology::Topology;

#[derive(Debug, Clone, Copy)]
pub enum Deployed<'a> {
    Embedded(&'a Network),
    Remote(&'a RemoteNetwork),
}

impl<'a> From<&'a Network> for Deployed<'a> {
    fn from(network: &'a Network) -> Self {
        Self::Embedded(network)
    }
}

impl<'a> From<&'a RemoteNetwork> for Deployed<'a> {
    fn from(network: &'a RemoteNetwork) -> Self {
        Self::Remote(network)
    }
}

/// One instance's ledger, as the invariants check it.
#[derive(Debug, Clone)]
pub struct LedgerCheck {
    pub instance: String,
    /// What the ledger says, or why it could not be read.
    pub reading: Result<LedgerState, String>,
}

#[derive(Debug, Clone)]
pub struct LedgerState {
    /// What does not balance, when something does not.
    pub violation: Option<String>,
    pub pending: u64,
}

impl<'a> Deployed<'a> {
    pub fn made(self) -> &'a Made {
        match self {
            Self::Embedded(network) => network.made(),
            Self::Remote(network) => network.made(),
        }
    }

    /// The instances' names and ILP addresses, in the topology's order.
    pub fn instances(self) -> Vec<(String, String)> {
        match self {
            Self::Embedded(network) => network
                .instances()
                .iter()
                .map(|handle| (handle.name().to_owned(), handle.ilp_address().to_string()))
                .collect(),
            Self::Remote(network) => network
                .instances()
                .iter()
                .map(|instance| {
                    (
                        instance.name().to_owned(),
                        instance.ilp_address().to_string(),
                    )
                })
                .collect(),
        }
    }

    pub fn admin(self, instance: &str) -> Option<&'a AdminClient> {
        match self {
            Self::Embedded(network) => network.instance(instance).map(|handle| handle.admin()),
            Self::Remote(network) => network.instance(instance).map(|remote| remote.admin()),
        }
    }

    /// Whether peerlab controls the instances' processes and links (faults need that).
    pub fn controls_processes(self) -> bool {
        matches!(self, Self::Embedded(_))
    }

    /// Each peering's liquidity both ways (`before` filled in).
    pub async fn peering_liquidity(self, topology: &Topology) -> Vec<PeeringLiquidity> {
        match self {
            Self::Embedded(network) => crate::run::peering_liquidity(network, topology),
            Self::Remote(network) => {
                let mut peerings = Vec::with_capacity(topology.peerings.len());
                for peering in &topology.peerings {
                    let grants = async |holder: &str, other: &str| -> u64 {
                        let (Some(holder), Some(other)) =
                            (network.instance(holder), network.instance(other))
                        else {
                            return 0;
                        };
                        holder
                            .peer_liquidity(other.ilp_address(), &peering.asset)
                            .await
                            .unwrap_or(0)
                    };
                    let [a, b] = &peering.between;
                    peerings.push(PeeringLiquidity {
                        between: peering.between.clone(),
                        asset: peering.asset.clone(),
                        by: peering.by.as_str().to_owned(),
                        before: [grants(a, b).await, grants(b, a).await],
                        after: [0, 0],
                    });
                }
                peerings
            }
        }
    }

    /// The balance each wallet address with an opening balance holds at its operator (`before`
    /// filled in; what its payments under way reserved counts as held).
    pub async fn wallet_balances(self, topology: &Topology) -> Vec<WalletBalance> {
        let mut balances = Vec::new();
        for wallet in topology
            .wallet_addresses
            .iter()
            .filter(|wallet| wallet.balance.is_some())
        {
            let Some(created) = self.made().wallet(&wallet.instance, &wallet.address) else {
                continue;
            };
            let held = match self {
                Self::Embedded(network) => network.instance(&wallet.instance).and_then(|handle| {
                    let id = uuid::Uuid::parse_str(&created.id).ok()?;
                    let holding = handle.node().operator_books()?.holding(id)?;
                    Some(holding.balance.saturating_add(holding.reserved))
                }),
                Self::Remote(network) => match network.instance(&wallet.instance) {
                    Some(remote) => remote.held_at_operator(&created.id).await,
                    None => None,
                },
            };
            if let Some(held) = held {
                balances.push(WalletBalance {
                    wallet_address: format!("{}/{}", wallet.instance, wallet.address),
                    asset: wallet.asset.clone(),
                    before: held,
                    after: 0,
                });
            }
        }
        balances
    }

    /// Each instance's assets and their own liquidity (an asset's `before` filled in), by code.
    pub async fn instance_liquidity(self) -> Vec<Vec<AssetLiquidity>> {
        let mut all = Vec::new();
        match self {
            Self::Embedded(network) => {
                for handle in network.instances() {
                    let state = handle.node().instance();
                    all.push(
                        handle
                            .asset_ids()
                            .filter_map(|(_, id)| {
                                let asset = state.asset(id)?;
                                Some(AssetLiquidity {
                                    before: state.asset_liquidity(asset.id).unwrap_or(0),
                                    after: 0,
                                    code: asset.code,
                                    scale: asset.scale,
                                })
                            })
                            .collect::<Vec<_>>(),
                    );
                }
            }
            Self::Remote(network) => {
                for assets in network.each(RemoteInstance::asset_liquidity).await {
                    all.push(
                        assets
                            .into_iter()
                            .map(|(code, scale, liquidity)| AssetLiquidity {
                                code,
                                scale,
                                before: liquidity,
                                after: 0,
                            })
                            .collect(),
                    );
                }
            }
        }
        for assets in &mut all {
            assets.sort_by(|a, b| a.code.cmp(&b.code));
        }
        all
    }

    /// Each instance's packet counters (zero where they cannot be read).
    pub async fn packet_snapshots(self) -> Vec<PacketStatsSnapshot> {
        match self {
            Self::Embedded(network) => network
                .instances()
                .iter()
                .map(|handle| handle.node().connector().stats().snapshot())
                .collect(),
            Self::Remote(network) => network
                .statuses()
                .await
                .into_iter()
                .map(|status| status.map(|status| status.packets).unwrap_or_default())
                .collect(),
        }
    }

    /// Packets handled and rejected across the network, for progress.
    pub async fn packets_handled(self) -> (u64, u64) {
        let (mut handled, mut rejected) = (0u64, 0u64);
        match self {
            Self::Embedded(network) => {
                for handle in network.instances() {
                    let stats = handle.node().connector().stats();
                    handled = handled.saturating_add(stats.handled());
                    rejected = rejected.saturating_add(stats.rejected());
                }
            }
            Self::Remote(_) => {
                for snapshot in self.packet_snapshots().await {
                    let counted = snapshot
                        .from_peers
                        .total()
                        .saturating_add(snapshot.sent.total())
                        .saturating_add(snapshot.probes)
                        .saturating_add(snapshot.data_only);
                    handled = handled.saturating_add(counted);
                    rejected = rejected.saturating_add(
                        snapshot
                            .from_peers
                            .rejected_total()
                            .saturating_add(snapshot.sent.rejected_total()),
                    );
                }
            }
        }
        (handled, rejected)
    }

    /// The latency of every packet the instances sent, merged.
    pub async fn sent_latency(self) -> Histogram<u64> {
        let mut merged = peerlab::connector::stats::latency_histogram();
        match self {
            Self::Embedded(network) => {
                for handle in network.instances() {
                    handle
                        .node()
                        .connector()
                        .stats()
                        .merge_sent_latency(&mut merged);
                }
            }
            Self::Remote(network) => {
                for status in network.statuses().await.into_iter().flatten() {
                    for (micros, count) in status.sent_latency {
                        merged.saturating_record_n(micros, count);
                    }
                }
            }
        }
        merged
    }

    /// Total pending transfers across the network (unreadable ones count as none).
    pub async fn pending_transfers(self) -> u64 {
        self.ledgers()
            .await
            .iter()
            .filter_map(|check| check.reading.as_ref().ok())
            .fold(0, |total, state| total.saturating_add(state.pending))
    }

    /// Every instance's ledger audit and pending transfers.
    pub async fn ledgers(self) -> Vec<LedgerCheck> {
        match self {
            Self::Embedded(network) => network
                .instances()
                .iter()
                .map(|handle| {
                    let state = handle.node().instance();
                    LedgerCheck {
                        instance: handle.name().to_owned(),
                        reading: Ok(LedgerState {
                            violation: state.audit().err().map(|violation| violation.to_string()),
                            pending: u64::try_from(state.pending_transfer_count())
                                .unwrap_or(u64::MAX),
                        }),
                    }
                })
                .collect(),
            Self::Remote(network) => network
                .instances()
                .iter()
                .zip(network.statuses().await)
                .map(|(remote, status)| LedgerCheck {
                    instance: remote.name().to_owned(),
                    reading: status.map(|status| LedgerState {
                        violation: status.audit.err(),
                        pending: status.pending_transfers,
                    }),
                })
                .collect(),
        }
    }
}
