//! Rafiki's payment operations end to end, as an operator drives them: for each payment, through
//! A's admin API over HTTP, `createReceiver` (the incoming payment is created at B over Open
//! Payments), `createQuote` (a STREAM rate probe from A to B), `createOutgoingPayment`,
//! `depositOutgoingPaymentLiquidity`, then `outgoingPayment` polled until COMPLETED. Each payment
//! is 1,000 through a peering whose `maxPacketAmount` is 100: 10 money packets.
//!
//! The baseline, measured in the same run on the same two instances: the same payments made by
//! the STREAM sender as a client of A over ILP-over-HTTP (SPSP, IL-DCP, probes, money, close),
//! with no admin API and no records. The ratio says what Rafiki's operations cost on top of the
//! payment itself; the per-step times say where the time goes.
//!
//! Run with `cargo bench -p peerlab-simulator --bench payments`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use peerlab_simulator::client::AdminClient;
use peerlab_simulator::topology::{AssetSpec, InstanceSpec, PeeringSpec, WalletAddressSpec};
use peerlab_simulator::{Network, PeerSettings, Topology};
use serde_json::{Value, json};

/// The allocator the `peerlab` binary runs with (`peerlab up` is how users run two instances in
/// one process), so the bench measures what they run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PAYMENT: u64 = 1_000;
const MAX_PACKET: u64 = 100;
const CONCURRENT_PAYMENTS: usize = 32;
/// How often a payment's state is read while it is SENDING.
const POLL: Duration = Duration::from_millis(5);

fn main() {
    let count = if std::env::args().any(|a| a == "--bench") {
        3_000
    } else {
        64
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(count));
}

fn topology() -> Topology {
    let wallet = |instance: &str, address: &str| WalletAddressSpec {
        instance: instance.into(),
        asset: "USD".into(),
        address: address.into(),
        public_name: None,
        balance: None,
    };
    Topology {
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
            max_packet_amount: Some(MAX_PACKET),
            ..PeeringSpec::default()
        }],
        wallet_addresses: vec![wallet("a", "alice"), wallet("b", "bob")],
        traffic: Vec::new(),
        ..Default::default()
    }
}

/// Time spent in each step, summed over payments.
#[derive(Default, Clone, Copy)]
struct Steps {
    receiver: Duration,
    quote: Duration,
    create: Duration,
    fund: Duration,
    sending: Duration,
}

impl std::ops::AddAssign for Steps {
    fn add_assign(&mut self, other: Self) {
        self.receiver += other.receiver;
        self.quote += other.quote;
        self.create += other.create;
        self.fund += other.fund;
        self.sending += other.sending;
    }
}

async fn mutate(admin: &AdminClient, query: &str, input: Value) -> Value {
    let answer = admin
        .request(query, json!({ "input": input }))
        .await
        .expect("admin request");
    assert!(answer.get("errors").is_none(), "{answer}");
    answer["data"].clone()
}

/// One payment's full cycle through A's admin API.
async fn pay_through_admin(admin: &AdminClient, alice: &str, bob: &str) -> Steps {
    let mut steps = Steps::default();
    let started = Instant::now();
    let data = mutate(
        admin,
        "mutation($input: CreateReceiverInput!) { createReceiver(input: $input) { receiver { id } } }",
        json!({ "walletAddressUrl": bob,
                "incomingAmount": { "value": PAYMENT.to_string(), "assetCode": "USD", "assetScale": 2 } }),
    )
    .await;
    let receiver = data["createReceiver"]["receiver"]["id"]
        .as_str()
        .expect("receiver")
        .to_owned();
    steps.receiver = started.elapsed();
    let started = Instant::now();
    let data = mutate(
        admin,
        "mutation($input: CreateQuoteInput!) { createQuote(input: $input) { quote { id } } }",
        json!({ "walletAddressId": alice, "receiver": receiver }),
    )
    .await;
    let quote = data["createQuote"]["quote"]["id"]
        .as_str()
        .expect("quote")
        .to_owned();
    steps.quote = started.elapsed();
    let started = Instant::now();
    mutate(
        admin,
        "mutation($input: CreateOutgoingPaymentInput!) { createOutgoingPayment(input: $input) { payment { id } } }",
        json!({ "walletAddressId": alice, "quoteId": quote }),
    )
    .await;
    steps.create = started.elapsed();
    let started = Instant::now();
    mutate(
        admin,
        "mutation($input: DepositOutgoingPaymentLiquidityInput!) { depositOutgoingPaymentLiquidity(input: $input) { success } }",
        json!({ "outgoingPaymentId": quote, "idempotencyKey": uuid::Uuid::new_v4().to_string() }),
    )
    .await;
    steps.fund = started.elapsed();
    let started = Instant::now();
    loop {
        let answer = admin
            .request(
                "query($id: String!) { outgoingPayment(id: $id) { state error sentAmount { value } } }",
                json!({ "id": quote }),
            )
            .await
            .expect("outgoingPayment");
        let payment = &answer["data"]["outgoingPayment"];
        match payment["state"].as_str() {
            Some("COMPLETED") => {
                assert_eq!(payment["sentAmount"]["value"], PAYMENT.to_string());
                break;
            }
            Some("SENDING") => tokio::time::sleep(POLL).await,
            _ => panic!("payment did not complete: {answer}"),
        }
    }
    steps.sending = started.elapsed();
    steps
}

/// The baseline: the same payments by the STREAM sender as a client of A.
async fn pay_as_client(network: &Network, count: usize) -> f64 {
    use peerlab::stream::{Amount, Destination, HttpLink, PaymentOptions, pay};
    let a = network.instance("a").expect("a");
    let b = network.instance("b").expect("b");
    let bob = format!("{}bob", b.node().open_payments_url());
    let link = Arc::new(HttpLink::new(&a.connector_url(), "payer-token"));
    let destination = Arc::new(Destination::Spsp(bob));
    let started = Instant::now();
    let mut payers = tokio::task::JoinSet::new();
    for payer in 0..CONCURRENT_PAYMENTS {
        let (link, destination) = (link.clone(), destination.clone());
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
                assert_eq!(report.packets_fulfilled, PAYMENT / MAX_PACKET);
            }
        });
    }
    while let Some(done) = payers.join_next().await {
        done.expect("payer");
    }
    count as f64 / started.elapsed().as_secs_f64()
}

async fn pay_through_admin_many(network: &Network, count: usize) -> (f64, Steps) {
    let a = network.instance("a").expect("a");
    let b = network.instance("b").expect("b");
    let alice = a
        .node()
        .instance()
        .wallet_address_by_url(&format!("{}alice", a.node().open_payments_url()))
        .expect("alice")
        .id
        .to_string();
    let bob = format!("{}bob", b.node().open_payments_url());
    let admin = a.admin().clone();
    let started = Instant::now();
    let mut payers = tokio::task::JoinSet::new();
    for payer in 0..CONCURRENT_PAYMENTS {
        let (admin, alice, bob) = (admin.clone(), alice.clone(), bob.clone());
        payers.spawn(async move {
            let mut steps = Steps::default();
            for _ in (payer..count).step_by(CONCURRENT_PAYMENTS) {
                steps += pay_through_admin(&admin, &alice, &bob).await;
            }
            steps
        });
    }
    let mut steps = Steps::default();
    while let Some(done) = payers.join_next().await {
        steps += done.expect("payer");
    }
    (count as f64 / started.elapsed().as_secs_f64(), steps)
}

async fn run(count: usize) {
    let network = Network::from_topology(&topology()).await.expect("network");
    // The baseline's payer: a client of A with credit.
    let a = network.instance("a").expect("a");
    let usd = a.asset_id("USD").expect("USD").to_owned();
    a.admin()
        .create_peer(
            &PeerSettings::new("test.payer", &usd, "payer-token", "http://127.0.0.1:9/")
                .liquidity(u64::MAX / 4),
        )
        .await
        .expect("payer");
    // Warm both paths, then alternate, keeping each one's best.
    pay_as_client(&network, CONCURRENT_PAYMENTS).await;
    pay_through_admin_many(&network, CONCURRENT_PAYMENTS).await;
    let (mut baseline, mut admin_best, mut steps) = (0f64, 0f64, Steps::default());
    for _ in 0..2 {
        baseline = baseline.max(pay_as_client(&network, count).await);
        let (rate, run_steps) = pay_through_admin_many(&network, count).await;
        if rate > admin_best {
            (admin_best, steps) = (rate, run_steps);
        }
    }
    for instance in network.instances() {
        let state = instance.node().instance();
        assert_eq!(state.pending_transfer_count(), 0);
        state
            .audit()
            .expect("ledger invariants hold after the payments");
    }
    let per = |total: Duration| total.as_secs_f64() * 1e3 / count as f64;
    println!(
        "\n== payments of {PAYMENT} in packets of at most {MAX_PACKET}, A -> B, {CONCURRENT_PAYMENTS} at a time, {count} per run, one process =="
    );
    println!(
        "baseline: STREAM sender as a client of A (SPSP, no records)  {baseline:>7.0} payments/s"
    );
    println!(
        "Rafiki's operations through A's admin API, to COMPLETED       {admin_best:>7.0} payments/s"
    );
    println!(
        "ratio admin cycle / bare STREAM payment: {:.2}",
        admin_best / baseline
    );
    println!(
        "where a payment's time goes (mean per payment, {CONCURRENT_PAYMENTS} in flight): createReceiver {:.2} ms, createQuote {:.2} ms, createOutgoingPayment {:.2} ms, deposit {:.2} ms, sending to COMPLETED {:.2} ms",
        per(steps.receiver),
        per(steps.quote),
        per(steps.create),
        per(steps.fund),
        per(steps.sending),
    );
    network.shutdown().await;
}
