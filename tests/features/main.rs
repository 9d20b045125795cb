//! Runs the Gherkin features under `features/` against fresh simulator instances over HTTP, twice:
//! once reading refusals as the seed document's clients do (payloads), once as today's Rafiki
//! clients do (GraphQL errors). Any failed, skipped or undefined step fails the run. The steps and
//! the runner are the product's (`peerlab test`), so the features run here exactly as users run
//! theirs.

use peerlab_simulator::harness::{self, Dialect, Options};

#[tokio::main]
async fn main() {
    let options = Options {
        paths: vec![concat!(env!("CARGO_MANIFEST_DIR"), "/features").into()],
        tags: None,
        junit: None,
        json: None,
        concurrency: 8,
        dialects: vec![Dialect::Seed, Dialect::V2],
        target: None,
    };
    match harness::run(&options).await {
        Ok(outcome) if outcome.passed() => {}
        Ok(outcome) => {
            eprintln!("the features failed {}", outcome.failed.join(", and "));
            std::process::exit(1);
        }
        Err(error) => {
            eprintln!("the features could not run: {error}");
            std::process::exit(1);
        }
    }
}
