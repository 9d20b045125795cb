//! Runs the Gherkin features under `features/` against fresh simulator instances over HTTP, twice:
//! once reading refusals as the seed document's clients do (payloads), once as today's Rafiki
//! clients do (GraphQL errors). Any failed, skipped or undefined step fails the run.

mod steps;
mod world;

use cucumber::World as _;
use cucumber::writer::Stats as _;
use world::{Dialect, PeeringWorld};

#[tokio::main]
async fn main() {
    let mut failed = Vec::new();
    for dialect in [Dialect::Seed, Dialect::V2] {
        world::set_dialect(dialect);
        println!("\n=== The features, reading refusals {dialect}\n");
        let writer = PeeringWorld::cucumber()
            .fail_on_skipped()
            .max_concurrent_scenarios(8)
            .after(|_feature, _rule, _scenario, _event, world| {
                Box::pin(async move {
                    if let Some(world) = world {
                        world.shut_down().await;
                    }
                })
            })
            .run(concat!(env!("CARGO_MANIFEST_DIR"), "/features"))
            .await;
        if writer.execution_has_failed() {
            failed.push(dialect);
        }
    }
    if !failed.is_empty() {
        eprintln!("the features failed reading refusals {failed:?}");
        std::process::exit(1);
    }
}
