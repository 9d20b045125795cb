//! Packets that leave through a peer in another asset: converted at the instance's rate (rounded
//! down), with liquidity moved in both assets as Rafiki moves it; refused as Rafiki refuses them
//! when there is no rate or too little liquidity in the outgoing asset.

use std::collections::BTreeMap;
use std::time::Duration;

use peerlab::connector::client::OutgoingClient;
use peerlab::ilp::{Address, ErrorCode, Fulfill, Prepare, Reply};
use peerlab_simulator::network::InstanceHandle;
use peerlab_simulator::topology::{InstanceSpec, RatesSpec};
use peerlab_simulator::{Network, PeerSettings, paying_prepare};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const CREDIT: u64 = 100_000;

struct Setup {
    network: Network,
    receiver: MockServer,
    usd: String,
    eur: String,
}

fn fulfill_with_preimage(request: &Request) -> ResponseTemplate {
    let prepare = Prepare::decode(&request.body).expect("a Prepare");
    let preimage: [u8; 32] = prepare.data()[..32].try_into().expect("preimage");
    ResponseTemplate::new(200).set_body_bytes(Fulfill::new(preimage, vec![]).unwrap().encode())
}

fn usd_eur(rate: f64) -> RatesSpec {
    RatesSpec {
        base: "USD".to_owned(),
        rates: BTreeMap::from([("EUR".to_owned(), rate)]),
    }
}

/// Instance `test.a` with USD and EUR (scale `eur_scale`), a client peer in USD with credit, and
/// a receiver peer in EUR served by a fulfilling mock; `eur_liquidity` in EUR's own liquidity.
async fn setup(spec: InstanceSpec, eur_scale: u8, eur_liquidity: u64) -> Setup {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(fulfill_with_preimage)
        .mount(&receiver)
        .await;
    let network = Network::start(&[spec]).await.unwrap();
    let a = network.instance("a").unwrap().admin();
    let usd = a.create_asset("USD", 2).await.unwrap();
    let eur = a.create_asset("EUR", eur_scale).await.unwrap();
    if eur_liquidity > 0 {
        a.deposit_asset_liquidity(&eur, eur_liquidity)
            .await
            .unwrap();
    }
    a.create_peer(
        &PeerSettings::new("test.client", &usd, "client-token", "http://127.0.0.1:9/")
            .liquidity(CREDIT),
    )
    .await
    .unwrap();
    a.create_peer(&PeerSettings::new(
        "test.receiver",
        &eur,
        "receiver-token",
        receiver.uri(),
    ))
    .await
    .unwrap();
    Setup {
        network,
        receiver,
        usd,
        eur,
    }
}

impl Setup {
    fn a(&self) -> &InstanceHandle {
        self.network.instance("a").unwrap()
    }

    async fn pay(&self, amount: u64) -> Reply {
        let prepare = paying_prepare(
            &Address::parse("test.receiver.bob").unwrap(),
            amount,
            Duration::from_secs(10),
        );
        OutgoingClient::default()
            .send(&self.a().connector_url(), "client-token", prepare.encode())
            .await
            .unwrap()
    }

    /// Liquidity of the peer at `address` in `asset`, and of the assets themselves.
    async fn balances(&self) -> (u64, u64, u64, u64) {
        let response = self
            .a()
            .admin()
            .request(
                "query($usd: String!, $eur: String!) {
                   client: peerByAddressAndAsset(staticIlpAddress: \"test.client\", assetId: $usd) { liquidity }
                   receiver: peerByAddressAndAsset(staticIlpAddress: \"test.receiver\", assetId: $eur) { liquidity }
                   usd: asset(id: $usd) { liquidity }
                   eur: asset(id: $eur) { liquidity }
                 }",
                json!({ "usd": self.usd, "eur": self.eur }),
            )
            .await
            .unwrap();
        let get = |field: &str, inner: &str| -> u64 {
            response["data"][field][inner]
                .as_str()
                .and_then(|l| l.parse().ok())
                .unwrap_or_else(|| panic!("{field}: {response}"))
        };
        (
            get("client", "liquidity"),
            get("receiver", "liquidity"),
            get("usd", "liquidity"),
            get("eur", "liquidity"),
        )
    }

    async fn forwarded_amounts(&self) -> Vec<u64> {
        self.receiver
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(|request| Prepare::decode(&request.body).unwrap().amount())
            .collect()
    }

    fn reject_code(reply: &Reply) -> ErrorCode {
        match reply {
            Reply::Reject(reject) => reject.code(),
            Reply::Fulfill(_) => panic!("expected a Reject"),
        }
    }

    fn audit(&self) {
        let instance = self.a().node().instance();
        assert_eq!(instance.pending_transfer_count(), 0);
        instance.audit().unwrap();
    }
}

fn with_rates(rates: RatesSpec) -> InstanceSpec {
    InstanceSpec {
        rates: Some(rates),
        ..InstanceSpec::new("a", "test.a")
    }
}

#[tokio::test]
async fn usd_to_eur_delivers_the_rounded_down_amount_and_moves_both_assets() {
    let s = setup(with_rates(usd_eur(0.91)), 2, 50_000).await;
    assert!(matches!(s.pay(1_000).await, Reply::Fulfill(_)));
    assert!(matches!(s.pay(999).await, Reply::Fulfill(_)));
    // 999 * 0.91 = 909.09, rounded down.
    assert_eq!(s.forwarded_amounts().await, vec![910, 909]);
    assert_eq!(
        s.balances().await,
        (CREDIT - 1_999, 910 + 909, 1_999, 50_000 - 910 - 909)
    );
    s.audit();
    s.network.shutdown().await;
}

#[tokio::test]
async fn scales_convert_too() {
    // 1 USD cent at 0.91 EUR with EUR at scale 4: 91 units.
    let s = setup(with_rates(usd_eur(0.91)), 4, 50_000).await;
    assert!(matches!(s.pay(1).await, Reply::Fulfill(_)));
    assert_eq!(s.forwarded_amounts().await, vec![91]);
    s.audit();
    s.network.shutdown().await;
}

#[tokio::test]
async fn without_a_rate_it_is_f07_and_nothing_moves() {
    let s = setup(InstanceSpec::new("a", "test.a"), 2, 50_000).await;
    let reply = s.pay(1_000).await;
    assert_eq!(Setup::reject_code(&reply), ErrorCode::F07CannotReceive);
    let Reply::Reject(reject) = reply else {
        unreachable!()
    };
    assert_eq!(
        reject.message(),
        "Exchange rate error: InvalidDestinationPrice"
    );
    assert!(s.forwarded_amounts().await.is_empty());
    assert_eq!(s.balances().await, (CREDIT, 0, 0, 50_000));
    s.audit();
    s.network.shutdown().await;
}

#[tokio::test]
async fn too_little_liquidity_in_the_outgoing_asset_is_t04_and_nothing_moves() {
    let s = setup(with_rates(usd_eur(0.91)), 2, 500).await;
    assert_eq!(
        Setup::reject_code(&s.pay(1_000).await),
        ErrorCode::T04InsufficientLiquidity
    );
    assert_eq!(s.balances().await, (CREDIT, 0, 0, 500));
    // What the outgoing asset can cover still goes through.
    assert!(matches!(s.pay(500).await, Reply::Fulfill(_)));
    assert_eq!(s.balances().await, (CREDIT - 500, 455, 500, 45));
    s.audit();
    s.network.shutdown().await;
}

#[tokio::test]
async fn an_amount_that_converts_to_nothing_is_r01() {
    let s = setup(with_rates(usd_eur(0.5)), 2, 50_000).await;
    assert_eq!(
        Setup::reject_code(&s.pay(1).await),
        ErrorCode::R01InsufficientSourceAmount
    );
    assert!(s.forwarded_amounts().await.is_empty());
    s.audit();
    s.network.shutdown().await;
}

#[tokio::test]
async fn rates_come_from_exchange_rates_url_as_rafiki_asks_for_them_and_are_cached() {
    let rates = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rates"))
        .and(query_param("base", "USD"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"base": "USD", "rates": {"EUR": 0.5, "JPY": 150}})),
        )
        .expect(1)
        .mount(&rates)
        .await;
    let spec = InstanceSpec {
        exchange_rates_url: Some(format!("{}/rates", rates.uri())),
        ..InstanceSpec::new("a", "test.a")
    };
    let s = setup(spec, 2, 50_000).await;
    assert!(matches!(s.pay(1_000).await, Reply::Fulfill(_)));
    assert!(matches!(s.pay(300).await, Reply::Fulfill(_)));
    assert_eq!(s.forwarded_amounts().await, vec![500, 150]);
    s.audit();
    s.network.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_rates_url_is_t00_and_nothing_moves() {
    let spec = InstanceSpec {
        exchange_rates_url: Some("http://127.0.0.1:9/rates".to_owned()),
        ..InstanceSpec::new("a", "test.a")
    };
    let s = setup(spec, 2, 50_000).await;
    assert_eq!(
        Setup::reject_code(&s.pay(1_000).await),
        ErrorCode::T00InternalError
    );
    assert_eq!(s.balances().await, (CREDIT, 0, 0, 50_000));
    s.audit();
    s.network.shutdown().await;
}

#[tokio::test]
async fn packets_that_find_the_rates_stale_together_share_one_fetch() {
    let rates = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rates"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"base": "USD", "rates": {"EUR": 0.5}}))
                .set_delay(Duration::from_millis(300)),
        )
        .expect(1)
        .mount(&rates)
        .await;
    let spec = InstanceSpec {
        exchange_rates_url: Some(format!("{}/rates", rates.uri())),
        ..InstanceSpec::new("a", "test.a")
    };
    let s = setup(spec, 2, 50_000).await;
    let mut payments = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let connector = s.a().connector_url();
        payments.spawn(async move {
            let prepare = paying_prepare(
                &Address::parse("test.receiver.bob").unwrap(),
                100,
                Duration::from_secs(10),
            );
            OutgoingClient::default()
                .send(&connector, "client-token", prepare.encode())
                .await
                .unwrap()
        });
    }
    while let Some(reply) = payments.join_next().await {
        assert!(matches!(reply.unwrap(), Reply::Fulfill(_)));
    }
    assert_eq!(s.forwarded_amounts().await, vec![50; 10]);
    s.audit();
    s.network.shutdown().await;
}

#[tokio::test]
async fn a_rates_server_that_hangs_holds_a_packet_no_longer_than_its_expiry() {
    let rates = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(60)))
        .mount(&rates)
        .await;
    let spec = InstanceSpec {
        exchange_rates_url: Some(format!("{}/rates", rates.uri())),
        ..InstanceSpec::new("a", "test.a")
    };
    let s = setup(spec, 2, 50_000).await;
    let prepare = paying_prepare(
        &Address::parse("test.receiver.bob").unwrap(),
        100,
        Duration::from_millis(1_500),
    );
    let started = std::time::Instant::now();
    let reply = OutgoingClient::default()
        .send(&s.a().connector_url(), "client-token", prepare.encode())
        .await
        .unwrap();
    assert_eq!(Setup::reject_code(&reply), ErrorCode::R00TransferTimedOut);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(s.balances().await, (CREDIT, 0, 0, 50_000));
    s.audit();
    s.network.shutdown().await;
}
