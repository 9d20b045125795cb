//! Runs the Gherkin features under `features/` against fresh simulator instances over HTTP.
//! Any failed, skipped or undefined step fails the run.

mod steps;
mod world;

use cucumber::World as _;
use world::PeeringWorld;

#[tokio::main]
async fn main() {
    PeeringWorld::cucumber()
        .fail_on_skipped()
        .max_concurrent_scenarios(8)
        .after(|_feature, _rule, _scenario, _event, world| {
            Box::pin(async move {
                if let Some(world) = world {
                    world.shut_down().await;
                }
            })
        })
        .run_and_exit(concat!(env!("CARGO_MANIFEST_DIR"), "/features"))
        .await;
}
