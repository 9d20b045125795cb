//! The STREAM sender paying wallet addresses across instances on loopback sockets: a client of
//! the first instance (`test.alice`, over ILP-over-HTTP) pays a wallet address on the last one
//! through SPSP, and every hop's liquidity moves by exactly what the report says.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use peerlab::ilp::stream::SharedSecret;
use peerlab::ilp::{Address, ErrorCode};
use peerlab::instance::NewWalletAddress;
use peerlab::stream::sender::{AssetDetails, Ratio, SpspError};
use peerlab::stream::{
    Amount, Destination, HttpLink, InProcessLink, PaymentError, PaymentOptions, PaymentReport, pay,
};
use peerlab_simulator::network::InstanceHandle;
use peerlab_simulator::topology::{AssetSpec, InstanceSpec, PeeringSpec, RatesSpec, Topology};
use peerlab_simulator::{Network, PeerSettings};
use serde_json::json;
use uuid::Uuid;

/// What each instance grants its neighbours.
const CREDIT: u64 = 1_000_000;
const SENDER: &str = "test.alice";
const SENDER_TOKEN: &str = "alice-token";

struct Setup {
    network: Network,
    /// The asset the sender pays in, and the one the wallet address holds.
    source_asset: &'static str,
    destination_asset: &'static str,
    sender_peer_id: String,
    wallet_id: Uuid,
    wallet_url: String,
}

/// Instances `test.<name>` peered in a line in USD (scale 2), each granting [`CREDIT`].
async fn line(names: &[&str], sender_credit: u64) -> Setup {
    let network = Network::line(names, ("USD", 2), CREDIT).await.unwrap();
    Setup::new(network, "USD", "USD", sender_credit).await
}

/// `a` and `b` peered in USD with `maxPacketAmount` 100 both ways.
async fn pair_with_max_packet(max: u64) -> Setup {
    let topology = Topology {
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
            liquidity: CREDIT,
            max_packet_amount: Some(max),
            ..PeeringSpec::default()
        }],
        wallet_addresses: vec![],
        traffic: Vec::new(),
        ..Default::default()
    };
    let network = Network::from_topology(&topology).await.unwrap();
    Setup::new(network, "USD", "USD", CREDIT).await
}

/// `a` (rates USD -> EUR at 0.91) pays `b` in EUR; the sender pays `a` in USD.
async fn usd_to_eur() -> Setup {
    let topology = Topology {
        instances: vec![
            InstanceSpec {
                rates: Some(RatesSpec {
                    base: "USD".into(),
                    rates: BTreeMap::from([("EUR".into(), 0.91)]),
                }),
                ..InstanceSpec::new("a", "test.a")
            },
            InstanceSpec::new("b", "test.b"),
        ],
        assets: vec![
            AssetSpec {
                code: "USD".into(),
                scale: 2,
                liquidity: 0,
            },
            // What `a` pays out in EUR comes from its EUR liquidity.
            AssetSpec {
                code: "EUR".into(),
                scale: 2,
                liquidity: CREDIT,
            },
        ],
        peerings: vec![PeeringSpec {
            between: ["a".into(), "b".into()],
            asset: "EUR".into(),
            liquidity: CREDIT,
            max_packet_amount: None,
            ..PeeringSpec::default()
        }],
        wallet_addresses: vec![],
        traffic: Vec::new(),
        ..Default::default()
    };
    let network = Network::from_topology(&topology).await.unwrap();
    Setup::new(network, "USD", "EUR", CREDIT).await
}

impl Setup {
    /// Adds the sender as a client peer of the first instance, granted `sender_credit`, and a
    /// wallet address `bob` on the last.
    async fn new(
        network: Network,
        source_asset: &'static str,
        destination_asset: &'static str,
        sender_credit: u64,
    ) -> Self {
        let first = &network.instances()[0];
        let sender_peer_id = first
            .admin()
            .create_peer(
                // The sender receives nothing: its endpoint is never called.
                &PeerSettings::new(
                    SENDER,
                    first.asset_id(source_asset).unwrap(),
                    SENDER_TOKEN,
                    "http://127.0.0.1:9/",
                )
                .liquidity(sender_credit),
            )
            .await
            .unwrap();
        let last = network.instances().last().unwrap();
        let wallet = last
            .node()
            .instance()
            .create_wallet_address(NewWalletAddress {
                asset_id: last.asset_id(destination_asset).unwrap().to_owned(),
                address: "bob".into(),
                ..NewWalletAddress::default()
            })
            .unwrap();
        let wallet_url = last
            .node()
            .open_payments_url()
            .join("bob")
            .unwrap()
            .to_string();
        assert_eq!(wallet_url, wallet.url);
        Self {
            network,
            source_asset,
            destination_asset,
            sender_peer_id,
            wallet_id: wallet.id,
            wallet_url,
        }
    }

    fn instance(&self, name: &str) -> &InstanceHandle {
        self.network.instance(name).unwrap()
    }

    fn first(&self) -> &InstanceHandle {
        &self.network.instances()[0]
    }

    fn link(&self) -> HttpLink {
        HttpLink::new(&self.first().connector_url(), SENDER_TOKEN)
    }

    fn spsp(&self) -> Destination {
        Destination::Spsp(self.wallet_url.clone())
    }

    async fn pay(&self, amount: Amount) -> Result<PaymentReport, PaymentError> {
        let started = Instant::now();
        let outcome = pay(
            &self.link(),
            &self.spsp(),
            amount,
            &PaymentOptions::default(),
        )
        .await;
        if let Ok(report) = &outcome {
            println!(
                "{amount:?}: {} sent, {} delivered, {} packets fulfilled, {} probes, rejected {:?}, {:?} (call {:?})",
                report.source_amount_sent,
                report.amount_delivered,
                report.packets_fulfilled,
                report.probe_packets,
                report.packets_rejected,
                report.duration,
                started.elapsed()
            );
        }
        outcome
    }

    fn wallet_balance(&self) -> u64 {
        let last = self.network.instances().last().unwrap();
        last.node()
            .instance()
            .wallet_address_balance(self.wallet_id)
            .unwrap()
    }

    /// The liquidity `on` holds for its peer at `address` in `asset`.
    async fn liquidity(&self, on: &str, address: &str, asset: &str) -> u64 {
        let instance = self.instance(on);
        let response = instance
            .admin()
            .request(
                "query($address: String!, $asset: String!) {
                   peerByAddressAndAsset(staticIlpAddress: $address, assetId: $asset) { liquidity }
                 }",
                json!({ "address": address, "asset": instance.asset_id(asset).unwrap() }),
            )
            .await
            .unwrap();
        response["data"]["peerByAddressAndAsset"]["liquidity"]
            .as_str()
            .and_then(|liquidity| liquidity.parse().ok())
            .unwrap_or_else(|| panic!("liquidity of {address} on {on}: {response}"))
    }

    async fn sender_liquidity(&self) -> u64 {
        let first = self.first().name().to_owned();
        self.liquidity(&first, SENDER, self.source_asset).await
    }

    /// Every instance's ledger balances and has nothing pending.
    fn audit(&self) {
        for instance in self.network.instances() {
            let state = instance.node().instance();
            assert_eq!(state.pending_transfer_count(), 0, "{}", instance.name());
            state.audit().unwrap();
        }
    }
}

fn usd() -> Option<AssetDetails> {
    Some(AssetDetails {
        code: "USD".into(),
        scale: 2,
    })
}

#[tokio::test]
async fn a_wallet_address_one_instance_away_receives_exactly_the_amount() {
    let s = line(&["a", "b"], CREDIT).await;
    let report = s.pay(Amount::Source(12_345)).await.unwrap();
    assert_eq!(report.source_amount_sent, 12_345);
    assert_eq!(report.amount_delivered, 12_345);
    assert!(report.packets_fulfilled >= 1);
    assert!(report.packets_rejected.is_empty(), "{report:?}");
    assert_eq!(report.source_amount_in_doubt, 0);
    assert_eq!(report.exchange_rate, Ratio::new(1, 1));
    assert_eq!(report.source_address, Some(Address::parse(SENDER).unwrap()));
    assert_eq!(report.source_asset, usd());
    assert_eq!(report.destination_asset, usd());

    assert_eq!(s.wallet_balance(), 12_345);
    // a: the sender's credit went to b; b: a's credit went to the wallet address.
    assert_eq!(s.sender_liquidity().await, CREDIT - 12_345);
    assert_eq!(s.liquidity("a", "test.b", "USD").await, CREDIT + 12_345);
    assert_eq!(s.liquidity("b", "test.a", "USD").await, CREDIT - 12_345);
    s.audit();
    s.network.shutdown().await;
}

#[tokio::test]
async fn the_in_process_link_pays_through_the_same_packet_path() {
    let s = line(&["a", "b"], CREDIT).await;
    let a = s.first().node();
    let sender = a.instance().peer(&s.sender_peer_id).unwrap();
    let link = InProcessLink::new(Arc::clone(a.connector()), sender);
    let report = pay(
        &link,
        &s.spsp(),
        Amount::Source(500),
        &PaymentOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        (report.source_amount_sent, report.amount_delivered),
        (500, 500)
    );
    assert_eq!(s.wallet_balance(), 500);
    assert_eq!(s.sender_liquidity().await, CREDIT - 500);
    assert_eq!(s.liquidity("b", "test.a", "USD").await, CREDIT - 500);
    s.audit();
    s.network.shutdown().await;
}

#[tokio::test]
async fn a_max_packet_amount_of_100_splits_1000_into_packets_and_moves_exactly_1000() {
    let s = pair_with_max_packet(100).await;
    let report = s.pay(Amount::Source(1_000)).await.unwrap();
    assert!(report.packets_fulfilled >= 10, "{report:?}");
    assert_eq!(
        (report.source_amount_sent, report.amount_delivered),
        (1_000, 1_000)
    );
    assert_eq!(s.wallet_balance(), 1_000);
    assert_eq!(s.sender_liquidity().await, CREDIT - 1_000);
    assert_eq!(s.liquidity("a", "test.b", "USD").await, CREDIT + 1_000);
    assert_eq!(s.liquidity("b", "test.a", "USD").await, CREDIT - 1_000);
    s.audit();
    s.network.shutdown().await;
}

#[tokio::test]
async fn a_payment_beyond_the_credit_waits_on_t04_and_completes_once_liquidity_arrives() {
    let s = Arc::new(line(&["a", "b"], 400).await);
    let payment = {
        let s = Arc::clone(&s);
        tokio::spawn(async move { s.pay(Amount::Source(1_000)).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !payment.is_finished(),
        "the payment must wait for liquidity, not stop"
    );
    assert_eq!(s.wallet_balance(), 0, "1,000 is more than 400 can carry");
    s.first()
        .node()
        .instance()
        .deposit_peer_liquidity(&Uuid::new_v4().to_string(), &s.sender_peer_id, 1_000)
        .unwrap();
    let report = payment.await.unwrap().unwrap();
    assert!(report.packets_rejected["T04"] >= 1, "{report:?}");
    assert_eq!(
        (report.source_amount_sent, report.amount_delivered),
        (1_000, 1_000)
    );
    assert!(report.duration >= Duration::from_millis(300));
    assert_eq!(s.wallet_balance(), 1_000);
    assert_eq!(s.sender_liquidity().await, 400 + 1_000 - 1_000);
    assert_eq!(s.liquidity("b", "test.a", "USD").await, CREDIT - 1_000);
    s.audit();
    let Ok(s) = Arc::try_unwrap(s) else {
        panic!("the payment task still holds the setup")
    };
    s.network.shutdown().await;
}

#[tokio::test]
async fn usd_to_eur_at_0_91_delivers_the_rounded_down_converted_amount() {
    let s = usd_to_eur().await;
    let report = s.pay(Amount::Source(999)).await.unwrap();
    // 999 * 0.91 = 909.09.
    assert_eq!(
        (report.source_amount_sent, report.amount_delivered),
        (999, 909)
    );
    assert_eq!(report.exchange_rate, Ratio::new(909, 999));
    assert_eq!(
        report.destination_asset,
        Some(AssetDetails {
            code: "EUR".into(),
            scale: 2
        })
    );
    assert_eq!(s.wallet_balance(), 909);
    assert_eq!(s.sender_liquidity().await, CREDIT - 999);
    assert_eq!(
        s.liquidity("a", "test.b", s.destination_asset).await,
        CREDIT + 909
    );
    assert_eq!(s.liquidity("b", "test.a", "EUR").await, CREDIT - 909);

    // A delivered amount: 1000 EUR needs ceil(1000 / 0.91) = 1099 USD, which converts to 1000.09.
    let report = s.pay(Amount::Delivered(1_000)).await.unwrap();
    assert_eq!(
        (report.source_amount_sent, report.amount_delivered),
        (1_099, 1_000)
    );
    assert_eq!(s.wallet_balance(), 909 + 1_000);
    assert_eq!(s.sender_liquidity().await, CREDIT - 999 - 1_099);
    assert_eq!(
        s.liquidity("b", "test.a", "EUR").await,
        CREDIT - 909 - 1_000
    );
    s.audit();
    s.network.shutdown().await;
}

#[tokio::test]
async fn a_payment_crosses_three_instances() {
    let s = line(&["a", "b", "c"], CREDIT).await;
    let report = s.pay(Amount::Source(5_000)).await.unwrap();
    assert_eq!(
        (report.source_amount_sent, report.amount_delivered),
        (5_000, 5_000)
    );
    assert_eq!(s.wallet_balance(), 5_000);
    assert_eq!(s.sender_liquidity().await, CREDIT - 5_000);
    assert_eq!(s.liquidity("a", "test.b", "USD").await, CREDIT + 5_000);
    assert_eq!(s.liquidity("b", "test.a", "USD").await, CREDIT - 5_000);
    assert_eq!(s.liquidity("b", "test.c", "USD").await, CREDIT + 5_000);
    assert_eq!(s.liquidity("c", "test.b", "USD").await, CREDIT - 5_000);
    s.audit();
    s.network.shutdown().await;
}

#[tokio::test]
async fn an_unknown_wallet_address_is_a_typed_spsp_error() {
    let s = line(&["a", "b"], CREDIT).await;
    let url = s
        .instance("b")
        .node()
        .open_payments_url()
        .join("nobody")
        .unwrap()
        .to_string();
    let outcome = pay(
        &s.link(),
        &Destination::Spsp(url.clone()),
        Amount::Source(100),
        &PaymentOptions::default(),
    )
    .await;
    assert_eq!(
        outcome,
        Err(PaymentError::Destination(SpspError::NotFound { url }))
    );
    assert_eq!(s.sender_liquidity().await, CREDIT);
    s.audit();
    s.network.shutdown().await;
}

#[tokio::test]
async fn a_wrong_shared_secret_stops_on_the_receivers_f06_and_moves_nothing() {
    let s = line(&["a", "b"], CREDIT).await;
    let real = s.spsp().resolve(Duration::from_secs(5)).await.unwrap();
    let wrong = Destination::Address {
        address: real.destination,
        shared_secret: SharedSecret::new([0x42; 32]),
    };
    let outcome = pay(
        &s.link(),
        &wrong,
        Amount::Source(100),
        &PaymentOptions::default(),
    )
    .await;
    let Err(PaymentError::Rejected {
        code,
        triggered_by,
        report,
        ..
    }) = outcome
    else {
        panic!("expected a Reject, got {outcome:?}")
    };
    assert_eq!(code, ErrorCode::F06UnexpectedPayment);
    assert_eq!(triggered_by, Some(Address::parse("test.b").unwrap()));
    assert_eq!(
        (report.source_amount_sent, report.packets_fulfilled),
        (0, 0)
    );
    assert_eq!(s.wallet_balance(), 0);
    assert_eq!(s.sender_liquidity().await, CREDIT);
    assert_eq!(s.liquidity("b", "test.a", "USD").await, CREDIT);
    s.audit();
    s.network.shutdown().await;
}

#[tokio::test]
async fn a_token_the_connector_refuses_fails_on_the_link_before_anything_is_sent() {
    let s = line(&["a", "b"], CREDIT).await;
    let link = HttpLink::new(&s.first().connector_url(), "not-a-token");
    let outcome = pay(
        &link,
        &s.spsp(),
        Amount::Source(100),
        &PaymentOptions::default(),
    )
    .await;
    let Err(PaymentError::Link { error, report }) = outcome else {
        panic!("expected a link failure, got {outcome:?}")
    };
    assert!(error.to_string().contains("HTTP 401"), "{error}");
    assert_eq!(report.source_amount_in_doubt, 0);
    assert_eq!(s.sender_liquidity().await, CREDIT);
    s.audit();
    s.network.shutdown().await;
}
