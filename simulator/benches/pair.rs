//! How long a fresh peer pair takes: two instances started on loopback, an asset created and
//! funded on each, and peers created both ways with liquidity, all through the admin API, then
//! shut down. This is what every Gherkin scenario pays before its first step.
//!
//! Baseline, measured in the same run: two bare axum servers started the same way, sent the same
//! number of HTTP POSTs (6), and shut down. The ratio is the cost of peerlab's GraphQL and services
//! on top of plain HTTP.
//!
//! Run with `cargo bench -p peerlab-simulator --bench pair`.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use peerlab_simulator::{Network, Topology};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const ROUNDS: usize = 60;
/// Admin requests in one pair setup: create asset, deposit, create peer, on each side.
const REQUESTS_PER_PAIR: usize = 6;

async fn peer_pair(topology: &Topology) -> Duration {
    let start = Instant::now();
    let network = Network::from_topology(topology).await.expect("pair starts");
    network.shutdown().await;
    start.elapsed()
}

async fn echo_pair() -> Duration {
    let start = Instant::now();
    let mut servers = Vec::new();
    let mut urls = Vec::new();
    for _ in 0..2 {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        urls.push(format!("http://{}/", listener.local_addr().expect("addr")));
        let (stop, stopped) = oneshot::channel::<()>();
        let app = Router::new().route("/", post(|body: Bytes| async move { body }));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        servers.push((stop, server));
    }
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    for i in 0..REQUESTS_PER_PAIR {
        // Shaped as the admin client sends its requests: JSON, as the admin API requires.
        let request = hyper::Request::post(urls[i % 2].as_str())
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(
                b"{\"query\":\"{ assets { edges { cursor } } }\"}",
            )))
            .expect("request");
        let response = client.request(request).await.expect("echo answers");
        let _ = response.into_body().collect().await.expect("body");
    }
    drop(client);
    for (stop, server) in servers {
        let _ = stop.send(());
        let _ = server.await;
    }
    start.elapsed()
}

fn summary(name: &str, mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    let mean = samples.iter().sum::<Duration>().as_secs_f64() / samples.len() as f64;
    let p50 = samples[samples.len() / 2];
    let p99 = samples[(samples.len() * 99 / 100).min(samples.len() - 1)];
    println!(
        "{name:<34} mean {:>7.2} ms   p50 {:>7.2} ms   p99 {:>7.2} ms",
        mean * 1e3,
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    mean
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and just checks it runs.
    let rounds = if std::env::args().any(|a| a == "--bench") {
        ROUNDS
    } else {
        3
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let topology = Topology::default_pair();
    runtime.block_on(async {
        // Warm up both, so that neither pays for first-use costs.
        peer_pair(&topology).await;
        echo_pair().await;
        let mut pairs = Vec::with_capacity(rounds);
        let mut echoes = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            pairs.push(peer_pair(&topology).await);
            echoes.push(echo_pair().await);
        }
        println!("\n== a fresh peer pair, {rounds} rounds ==");
        let pair = summary("peer pair (start, asset, peers)", pairs);
        let echo = summary("baseline: 2 bare servers, 6 POSTs", echoes);
        println!("ratio peer pair / baseline: {:.2}", pair / echo);
        println!("pairs per second, one after another: {:.0}", 1.0 / pair);
    });
}
