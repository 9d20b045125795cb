//! Packets through one instance against a bare HTTP echo, with the same client and connections.
//!
//! Path measured: client --ILP-over-HTTP--> instance A --ILP-over-HTTP--> receiver (fulfills).
//! Baseline: the same client POSTs the same bytes to a bare hyper echo server.
//! A packet through A costs two HTTP exchanges against the echo's one, so 0.5 is the ceiling.
//! The receiver is a bare hyper server answering a fixed Fulfill (every packet carries the same
//! condition), so it costs exactly what the echo costs.
//!
//! Run with `cargo bench -p peerlab-simulator --bench packets`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use peerlab::ilp::{Address, Fulfill, Prepare, Timestamp, condition_for};
use peerlab_simulator::topology::InstanceSpec;
use peerlab_simulator::{Network, PeerSettings};
use tokio::net::TcpListener;

const CONNECTIONS: usize = 16;

/// A bare hyper HTTP/1.1 server: echoes the body, or answers `fixed` when given.
async fn bare_server(fixed: Option<Bytes>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let fixed = fixed.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                    let fixed = fixed.clone();
                    async move {
                        let body = request.into_body().collect().await?.to_bytes();
                        Ok::<_, hyper::Error>(Response::new(Full::new(fixed.unwrap_or(body))))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

struct Run {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Sends `total` POSTs of `body` to `url` over `CONNECTIONS` concurrent senders; every reply must
/// start with `reply_type` (13, a Fulfill; or 12, the echoed Prepare).
async fn drive(url: &str, token: &str, body: Bytes, total: usize, reply_type: u8) -> Run {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(CONNECTIONS)
        .build(connector);
    let url: Arc<str> = url.into();
    let auth: Arc<str> = format!("Bearer {token}").into();
    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for sender in 0..CONNECTIONS {
        let (client, url, auth, body) = (client.clone(), url.clone(), auth.clone(), body.clone());
        let count = total / CONNECTIONS + usize::from(sender < total % CONNECTIONS);
        senders.spawn(async move {
            let mut latencies = Vec::with_capacity(count);
            for _ in 0..count {
                let request = Request::post(&*url)
                    .header("authorization", &*auth)
                    .header("content-type", "application/octet-stream")
                    .body(Full::new(body.clone()))
                    .expect("request");
                let sent = Instant::now();
                let response = client.request(request).await.expect("answer");
                assert!(response.status().is_success(), "HTTP {}", response.status());
                let reply = response
                    .into_body()
                    .collect()
                    .await
                    .expect("body")
                    .to_bytes();
                assert_eq!(
                    reply.first(),
                    Some(&reply_type),
                    "unexpected reply {reply:02x?}"
                );
                latencies.push(sent.elapsed());
            }
            latencies
        });
    }
    let mut latencies = Vec::with_capacity(total);
    while let Some(done) = senders.join_next().await {
        latencies.extend(done.expect("sender"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Run {
        per_second: total as f64 / elapsed.as_secs_f64(),
        p50: latencies[latencies.len() / 2],
        p99: latencies[latencies.len() * 99 / 100],
    }
}

fn print(name: &str, run: &Run) {
    println!(
        "{name:<44} {:>9.0} /s   p50 {:>6.0} µs   p99 {:>6.0} µs",
        run.per_second,
        run.p50.as_secs_f64() * 1e6,
        run.p99.as_secs_f64() * 1e6
    );
}

fn main() {
    let total = if std::env::args().any(|a| a == "--bench") {
        40_000
    } else {
        400
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let preimage = [7u8; 32];
        let fulfill = Bytes::from(Fulfill::new(preimage, vec![]).expect("fulfill").encode());
        let receiver = bare_server(Some(fulfill.clone())).await;
        let echo = bare_server(None).await;

        let network = Network::start(&[InstanceSpec::new("a", "test.a")])
            .await
            .expect("instance");
        let a = network.instance("a").expect("a");
        let asset = a.admin().create_asset("USD", 2).await.expect("asset");
        let receiver_url = format!("http://{receiver}/");
        for (address, token, endpoint, credit) in [
            (
                "test.client",
                "client-token",
                "http://127.0.0.1:9/",
                u64::MAX / 2,
            ),
            ("test.receiver", "receiver-token", receiver_url.as_str(), 0),
        ] {
            a.admin()
                .create_peer(&PeerSettings::new(address, &asset, token, endpoint).liquidity(credit))
                .await
                .expect("peer");
        }
        let packet = Prepare::new(
            Address::parse("test.receiver.bob").expect("address"),
            1,
            Timestamp::now().saturating_add(Duration::from_secs(120)),
            condition_for(&preimage),
            vec![0u8; 64],
        )
        .expect("prepare");
        let body = Bytes::from(packet.encode());
        let connector = a.connector_url();
        let echo_url = format!("http://{echo}/");

        // Warm both paths up (connections, allocations), then measure each twice, alternating.
        drive(&echo_url, "x", body.clone(), total / 10, 12).await;
        drive(&connector, "client-token", body.clone(), total / 10, 13).await;
        let mut echoes = Vec::new();
        let mut packets = Vec::new();
        for _ in 0..2 {
            echoes.push(drive(&echo_url, "x", body.clone(), total, 12).await);
            packets.push(drive(&connector, "client-token", body.clone(), total, 13).await);
        }
        let best = |runs: Vec<Run>| {
            runs.into_iter()
                .max_by(|a, b| a.per_second.total_cmp(&b.per_second))
                .expect("runs")
        };
        let (echo_run, packet_run) = (best(echoes), best(packets));
        println!(
            "\n== packets through one instance, {total} per run, {CONNECTIONS} connections =="
        );
        print("baseline: bare hyper POST echo", &echo_run);
        print("peerlab: client -> A -> receiver (fulfilled)", &packet_run);
        let ratio = packet_run.per_second / echo_run.per_second;
        let verdict = if ratio >= 0.4 { "meets" } else { "MISSES" };
        println!(
            "ratio peerlab / echo: {ratio:.2} (ceiling 0.5; {verdict} the target of at least 0.4)"
        );
        let a = network.instance("a").expect("a").node().instance();
        assert_eq!(a.pending_transfer_count(), 0);
        a.audit().expect("ledger invariants hold after the run");
        network.shutdown().await;
    });
}
