//! What STREAM costs in the packet path: packets paid to a wallet address (answered by the
//! instance's own STREAM receiver: decrypt, check, credit, encrypt the reply) against plain
//! packets the instance forwards to a peer that fulfills them, with the same client, connections
//! and amounts, measured in the same run.
//!
//! Then whole payments: STREAM payments of 10 packets each (1,000 through a peer whose
//! `maxPacketAmount` is 100) from a client of instance A to a wallet address at instance B, each
//! with its SPSP query, IL-DCP, rate probes and closing packet, 8 at a time.
//!
//! Run with `cargo bench -p peerlab-simulator --bench stream`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use peerlab::ilp::packet::PacketType;
use peerlab::ilp::stream::{Frame, SharedSecret, StreamPacket};
use peerlab::ilp::{Address, Fulfill, Prepare, Timestamp, condition_for};
use peerlab::instance::NewWalletAddress;
use peerlab_simulator::topology::InstanceSpec;
use peerlab_simulator::{Network, PeerSettings};

mod support;

use support::{bare_server, post_packet};

const CONNECTIONS: usize = 16;

/// Posts every body in `bodies` to `url`, `CONNECTIONS` at a time; every reply must be a Fulfill.
/// Returns packets per second.
async fn drive(url: &str, bodies: Arc<Vec<Bytes>>) -> f64 {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(CONNECTIONS)
        .build(connector);
    let url: Arc<str> = url.into();
    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for sender in 0..CONNECTIONS {
        let (client, url, bodies) = (client.clone(), url.clone(), bodies.clone());
        senders.spawn(async move {
            for body in bodies.iter().skip(sender).step_by(CONNECTIONS) {
                post_packet(&client, &url, "Bearer client-token", body.clone(), 13).await;
            }
        });
    }
    while let Some(done) = senders.join_next().await {
        done.expect("sender");
    }
    bodies.len() as f64 / started.elapsed().as_secs_f64()
}

/// `count` STREAM packets of 1 unit, each with its own sequence (so none is a replay).
fn stream_packets(to: &Address, secret: &SharedSecret, count: usize) -> Vec<Bytes> {
    (0..count as u64)
        .map(|sequence| {
            let data = StreamPacket {
                sequence: sequence + 1,
                ilp_packet_type: PacketType::Prepare,
                prepare_amount: 1,
                frames: vec![Frame::StreamMoney {
                    stream_id: 1,
                    shares: 1,
                }],
            }
            .encrypt(secret);
            let condition = secret.condition(&data);
            let prepare = Prepare::new(
                to.clone(),
                1,
                Timestamp::now().saturating_add(Duration::from_secs(600)),
                condition,
                data,
            )
            .expect("prepare");
            Bytes::from(prepare.encode())
        })
        .collect()
}

/// `count` identical plain packets of 1 unit for the fulfilling peer, with data as long as a
/// STREAM packet's, and the Fulfill that peer answers.
fn plain_packets(count: usize, data_length: usize) -> (Vec<Bytes>, Bytes) {
    let preimage = [7u8; 32];
    let fulfill = Bytes::from(Fulfill::new(preimage, vec![]).expect("fulfill").encode());
    let prepare = Prepare::new(
        Address::parse("test.receiver.bob").expect("address"),
        1,
        Timestamp::now().saturating_add(Duration::from_secs(600)),
        condition_for(&preimage),
        vec![0u8; data_length],
    )
    .expect("prepare");
    let body = Bytes::from(prepare.encode());
    (vec![body; count], fulfill)
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
    runtime.block_on(run(total));
}

async fn run(total: usize) {
    let network = Network::start(&[InstanceSpec::new("a", "test.a")])
        .await
        .expect("instance");
    let a = network.instance("a").expect("a");
    let asset = a.admin().create_asset("USD", 2).await.expect("asset");
    let wallet = a
        .node()
        .instance()
        .create_wallet_address(NewWalletAddress {
            asset_id: asset.clone(),
            address: "alice".into(),
            ..NewWalletAddress::default()
        })
        .expect("wallet address");
    let receiving = peerlab::stream::Destination::Spsp(wallet.url.clone())
        .resolve(Duration::from_secs(5))
        .await
        .expect("SPSP answer");
    let (to, secret) = (receiving.destination, receiving.shared_secret);
    let streams: Vec<Bytes> = stream_packets(&to, &secret, total * 5);
    let data_length = Prepare::decode(&streams[0]).expect("prepare").data().len();
    let (plain, fulfill) = plain_packets(total, data_length);
    let receiver = bare_server(Some(fulfill)).await;
    for (address, token, endpoint, credit) in [
        (
            "test.client",
            "client-token",
            "http://127.0.0.1:9/".to_owned(),
            u64::MAX / 2,
        ),
        (
            "test.receiver",
            "receiver-token",
            format!("http://{receiver}/"),
            0,
        ),
    ] {
        a.admin()
            .create_peer(&PeerSettings::new(address, &asset, token, endpoint).liquidity(credit))
            .await
            .expect("peer");
    }
    let connector = a.connector_url();
    let plain = Arc::new(plain);
    // Warm both paths, then three alternating runs each, keeping each one's best.
    let mut batches = streams.chunks(total).map(|chunk| Arc::new(chunk.to_vec()));
    drive(&connector, Arc::new(plain[..total / 10].to_vec())).await;
    let warm = batches.next().expect("warm-up batch");
    drive(&connector, warm).await;
    let (mut plain_best, mut stream_best) = (0f64, 0f64);
    for batch in batches.take(3) {
        plain_best = plain_best.max(drive(&connector, plain.clone()).await);
        stream_best = stream_best.max(drive(&connector, batch).await);
    }
    let instance = a.node().instance();
    let paid = instance.wallet_address_balance(wallet.id).expect("balance");
    assert_eq!(
        paid,
        (total * 4) as u64,
        "every STREAM packet credited once"
    );
    assert_eq!(instance.pending_transfer_count(), 0);
    instance
        .audit()
        .expect("ledger invariants hold after the run");
    println!(
        "\n== STREAM receiver, {total} packets per run, {CONNECTIONS} connections, one process =="
    );
    println!("baseline: plain packets forwarded to a fulfilling peer  {plain_best:>9.0} /s");
    println!("STREAM packets to a wallet address (receiver in A)     {stream_best:>9.0} /s");
    println!(
        "ratio STREAM / plain: {:.2} (the receiver saves the forward hop and adds AES-GCM and HMACs)",
        stream_best / plain_best
    );
    network.shutdown().await;
    payments(if total >= 40_000 { 400 } else { 16 }, plain_best).await;
}

const PAYMENT: u64 = 1_000;
const MAX_PACKET: u64 = 100;
const CONCURRENT_PAYMENTS: usize = 8;

/// STREAM payments of 10 packets each from a client of A to a wallet address at B.
async fn payments(count: usize, plain_per_second: f64) {
    use peerlab::stream::{Amount, Destination, HttpLink, PaymentOptions, pay};
    use peerlab_simulator::topology::{AssetSpec, PeeringSpec, WalletAddressSpec};

    let topology = peerlab_simulator::Topology {
        instances: vec![
            InstanceSpec::new("a", "test.a"),
            InstanceSpec::new("b", "test.b"),
        ],
        assets: vec![AssetSpec {
            code: "USD".into(),
            scale: 2,
            liquidity: 0,
        }],
        peerings: vec![PeeringSpec {
            between: ["a".into(), "b".into()],
            asset: "USD".into(),
            liquidity: u64::MAX / 4,
            max_packet_amount: None,
            ..PeeringSpec::default()
        }],
        wallet_addresses: vec![WalletAddressSpec {
            instance: "b".into(),
            asset: "USD".into(),
            address: "bob".into(),
            public_name: None,
            balance: None,
        }],
        traffic: Vec::new(),
        ..Default::default()
    };
    let network = Network::from_topology(&topology).await.expect("network");
    let a = network.instance("a").expect("a");
    let usd = a.asset_id("USD").expect("USD on a").to_owned();
    a.admin()
        .create_peer(
            &PeerSettings::new("test.payer", &usd, "payer-token", "http://127.0.0.1:9/")
                .liquidity(u64::MAX / 4)
                .max_packet_amount(MAX_PACKET),
        )
        .await
        .expect("payer");
    let b = network.instance("b").expect("b");
    let bob = format!("{}bob", b.node().open_payments_url());
    let link = Arc::new(HttpLink::new(&a.connector_url(), "payer-token"));
    let destination = Arc::new(Destination::Spsp(bob.clone()));
    let started = Instant::now();
    let packets = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut payers = tokio::task::JoinSet::new();
    for payer in 0..CONCURRENT_PAYMENTS {
        let (link, destination, packets) = (link.clone(), destination.clone(), packets.clone());
        payers.spawn(async move {
            for _ in (payer..count).step_by(CONCURRENT_PAYMENTS) {
                let report = pay(
                    link.as_ref(),
                    &destination,
                    Amount::Source(PAYMENT),
                    &PaymentOptions::default(),
                )
                .await
                .expect("payment");
                assert_eq!(report.amount_delivered, PAYMENT);
                assert_eq!(report.packets_fulfilled, PAYMENT / MAX_PACKET);
                // Money packets, probes, IL-DCP and the closing packet.
                let sent = report.packets_fulfilled
                    + report.packets_rejected.values().sum::<u64>()
                    + report.probe_packets
                    + 2;
                packets.fetch_add(sent, std::sync::atomic::Ordering::Relaxed);
            }
        });
    }
    while let Some(done) = payers.join_next().await {
        done.expect("payer");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let per_second = count as f64 / elapsed;
    let packets = packets.load(std::sync::atomic::Ordering::Relaxed) as f64;
    let wallet = b
        .node()
        .instance()
        .wallet_address_by_url(&bob)
        .expect("bob");
    assert_eq!(
        b.node().instance().wallet_address_balance(wallet.id),
        Some(PAYMENT * count as u64)
    );
    for instance in [a, b] {
        let instance = instance.node().instance();
        assert_eq!(instance.pending_transfer_count(), 0);
        instance
            .audit()
            .expect("ledger invariants hold after the payments");
    }
    println!(
        "\n== STREAM payments of {PAYMENT} in packets of at most {MAX_PACKET}, client -> A -> B (wallet address), {CONCURRENT_PAYMENTS} at a time =="
    );
    println!(
        "{count} payments in {elapsed:.2} s: {per_second:.0} payments/s, {:.1} packets each (with probes, IL-DCP and close)",
        packets / count as f64
    );
    println!(
        "their packets at {:.0} /s over two hops, against {plain_per_second:.0} /s plain packets through one hop above",
        packets / elapsed
    );
    network.shutdown().await;
}
