//! Networks from the topology files shipped under `fixtures/topologies/`.

use crate::Topology;
use cucumber::given;

use crate::harness::world::PeeringWorld;

/// The topology files shipped under `fixtures/topologies/`, embedded so that a scenario names
/// one by name wherever the `peerlab` binary runs.
const SHIPPED: &[(&str, &str)] = &[
    (
        "auto-peering",
        include_str!("../../../../fixtures/topologies/auto-peering.toml"),
    ),
    (
        "chaos",
        include_str!("../../../../fixtures/topologies/chaos.toml"),
    ),
    (
        "cross-currency",
        include_str!("../../../../fixtures/topologies/cross-currency.toml"),
    ),
    (
        "line-5",
        include_str!("../../../../fixtures/topologies/line-5.toml"),
    ),
    (
        "mesh-10",
        include_str!("../../../../fixtures/topologies/mesh-10.toml"),
    ),
    (
        "multi-asset",
        include_str!("../../../../fixtures/topologies/multi-asset.toml"),
    ),
    (
        "pair",
        include_str!("../../../../fixtures/topologies/pair.toml"),
    ),
    (
        "rafiki-localenv",
        include_str!("../../../../fixtures/topologies/rafiki-localenv.toml"),
    ),
    (
        "star",
        include_str!("../../../../fixtures/topologies/star.toml"),
    ),
];

/// Starts `fixtures/topologies/NAME.toml`: its instances, assets, peerings and wallet addresses
/// (its `[[traffic]]` is `peerlab run`'s, not the scenario's, and is left alone).
#[given(expr = "the network {string}")]
async fn network(w: &mut PeeringWorld, name: String) {
    let text = SHIPPED
        .iter()
        .find(|(shipped, _)| *shipped == name)
        .map(|(_, text)| *text)
        .unwrap_or_else(|| panic!("no shipped network {name:?}"));
    let topology = Topology::parse(text)
        .unwrap_or_else(|error| panic!("the shipped network {name:?}: {error}"));
    w.start_topology(&topology).await;
}

/// Referenced by the harness so that the linker keeps this module, and its steps (see `steps`).
#[inline(never)]
pub(crate) fn keep_linked() {}
