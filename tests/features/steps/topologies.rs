//! Networks from the topology files shipped under `fixtures/topologies/`.

use std::path::PathBuf;

use cucumber::given;
use peerlab_simulator::Topology;

use crate::world::PeeringWorld;

/// Starts `fixtures/topologies/NAME.toml`: its instances, assets, peerings and wallet addresses
/// (its `[[traffic]]` is `peerlab run`'s, not the scenario's, and is left alone).
#[given(expr = "the network {string}")]
async fn network(w: &mut PeeringWorld, name: String) {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "fixtures",
        "topologies",
        &format!("{name}.toml"),
    ]
    .iter()
    .collect();
    let topology = Topology::load(&path)
        .unwrap_or_else(|error| panic!("no shipped network {name:?}: {error}"));
    w.start_topology(&topology).await;
}
