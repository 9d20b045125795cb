//! The STREAM receiver over real sockets: SPSP hands out a receiving address for a wallet
//! address, packets to it are fulfilled into the wallet address's account, and every bad packet
//! gets the right Reject with nothing created or lost.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use peerlab::connector::client::OutgoingClient;
use peerlab::ilp::packet::PacketType;
use peerlab::ilp::stream::{Frame, SharedSecret, StreamErrorCode, StreamPacket, random_condition};
use peerlab::ilp::{Address, ErrorCode, Prepare, Reply, Timestamp};
use peerlab::instance::{NewWalletAddress, WalletAddressUpdate};
use peerlab_simulator::network::InstanceHandle;
use peerlab_simulator::topology::InstanceSpec;
use peerlab_simulator::{Network, PeerSettings};
use serde_json::{Value, json};
use uuid::Uuid;

const CREDIT: u64 = 10_000;

struct Setup {
    network: Network,
    asset: String,
    wallet: Uuid,
    wallet_url: String,
}

async fn http_get(url: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut request = hyper::Request::get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client
        .request(request.body(Empty::new()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn setup() -> Setup {
    let network = Network::start(&[InstanceSpec::new("a", "test.a")])
        .await
        .unwrap();
    let a = network.instance("a").unwrap();
    let asset = a.admin().create_asset("USD", 2).await.unwrap();
    a.admin()
        .create_peer(
            &PeerSettings::new("test.client", &asset, "client-token", "http://127.0.0.1:9/")
                .liquidity(CREDIT),
        )
        .await
        .unwrap();
    let wallet = a
        .node()
        .instance()
        .create_wallet_address(NewWalletAddress {
            asset_id: asset.clone(),
            address: "alice".into(),
            ..NewWalletAddress::default()
        })
        .unwrap();
    Setup {
        wallet: wallet.id,
        wallet_url: wallet.url.clone(),
        network,
        asset,
    }
}

impl Setup {
    fn a(&self) -> &InstanceHandle {
        self.network.instance("a").unwrap()
    }

    /// SPSP: a receiving address and its shared secret.
    async fn spsp(&self) -> (Address, SharedSecret) {
        let (status, body) =
            http_get(&self.wallet_url, &[("accept", "application/spsp4+json")]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["receipts_enabled"], json!(false));
        let address = Address::parse(body["destination_account"].as_str().unwrap()).unwrap();
        assert!(address.as_str().starts_with("test.a."), "{address}");
        let secret = STANDARD
            .decode(body["shared_secret"].as_str().unwrap())
            .unwrap();
        (address, SharedSecret::from_slice(&secret).unwrap())
    }

    async fn send(&self, prepare: &Prepare) -> Reply {
        OutgoingClient::default()
            .send(&self.a().connector_url(), "client-token", prepare.encode())
            .await
            .unwrap()
    }

    fn wallet_balance(&self) -> u64 {
        self.a()
            .node()
            .instance()
            .wallet_address_balance(self.wallet)
            .unwrap()
    }

    async fn client_liquidity(&self) -> u64 {
        let response = self
            .a()
            .admin()
            .request(
                "query($asset: String!) { peerByAddressAndAsset(staticIlpAddress: \"test.client\", assetId: $asset) { liquidity } }",
                json!({ "asset": self.asset }),
            )
            .await
            .unwrap();
        response["data"]["peerByAddressAndAsset"]["liquidity"]
            .as_str()
            .and_then(|l| l.parse().ok())
            .unwrap()
    }

    /// Balances and ledger after a step: `paid` has left the client for the wallet address.
    async fn assert_paid(&self, paid: u64) {
        assert_eq!(self.wallet_balance(), paid);
        assert_eq!(self.client_liquidity().await, CREDIT - paid);
        let instance = self.a().node().instance();
        assert_eq!(instance.pending_transfer_count(), 0);
        instance.audit().unwrap();
    }
}

fn money(sequence: u64, prepare_amount: u64, extra: Vec<Frame>) -> StreamPacket {
    let mut frames = vec![Frame::StreamMoney {
        stream_id: 1,
        shares: 1,
    }];
    frames.extend(extra);
    StreamPacket {
        sequence,
        ilp_packet_type: PacketType::Prepare,
        prepare_amount,
        frames,
    }
}

/// A Prepare carrying `data`, with the condition the receiver can fulfill (or a random one).
fn prepare(to: &Address, amount: u64, data: Vec<u8>, condition: [u8; 32]) -> Prepare {
    Prepare::new(
        to.clone(),
        amount,
        Timestamp::now().saturating_add(Duration::from_secs(30)),
        condition,
        data,
    )
    .unwrap()
}

fn fulfillable(to: &Address, secret: &SharedSecret, amount: u64, packet: &StreamPacket) -> Prepare {
    let data = packet.encrypt(secret);
    let condition = secret.condition(&data);
    prepare(to, amount, data, condition)
}

fn reject_of(reply: Reply) -> peerlab::ilp::Reject {
    match reply {
        Reply::Reject(reject) => reject,
        Reply::Fulfill(_) => panic!("expected a Reject"),
    }
}

#[tokio::test]
async fn spsp_payments_are_fulfilled_into_the_wallet_address() {
    let s = setup().await;
    let (to, secret) = s.spsp().await;
    let first = money(
        1,
        100,
        vec![Frame::ConnectionNewAddress {
            source_account: "test.client".into(),
        }],
    );
    let Reply::Fulfill(fulfill) = s.send(&fulfillable(&to, &secret, 100, &first)).await else {
        panic!("expected a Fulfill")
    };
    let reply = StreamPacket::decrypt(&secret, fulfill.data()).unwrap();
    assert_eq!(reply.ilp_packet_type, PacketType::Fulfill);
    assert_eq!((reply.sequence, reply.prepare_amount), (1, 100));
    assert_eq!(
        reply.frames,
        vec![Frame::ConnectionAssetDetails {
            source_asset_code: "USD".into(),
            source_asset_scale: 2
        }]
    );
    for sequence in 2..=3 {
        let packet = money(sequence, 90, vec![]);
        assert!(matches!(
            s.send(&fulfillable(&to, &secret, 100, &packet)).await,
            Reply::Fulfill(_)
        ));
    }
    s.assert_paid(300).await;
    // Another SPSP query gives another receiving address for the same wallet address.
    let (other, other_secret) = s.spsp().await;
    assert_ne!(other, to);
    assert!(matches!(
        s.send(&fulfillable(
            &other,
            &other_secret,
            50,
            &money(1, 50, vec![])
        ))
        .await,
        Reply::Fulfill(_)
    ));
    s.assert_paid(350).await;
    // The admin API reads the same balance.
    let response = s
        .a()
        .admin()
        .request(
            "query($id: String!) { walletAddress(id: $id) { liquidity status } }",
            json!({ "id": s.wallet.to_string() }),
        )
        .await
        .unwrap();
    assert_eq!(
        response["data"]["walletAddress"],
        json!({ "liquidity": "350", "status": "ACTIVE" })
    );
    s.network.shutdown().await;
}

#[tokio::test]
async fn what_it_will_not_fulfill_is_f99_with_its_encrypted_reply() {
    let s = setup().await;
    let (to, secret) = s.spsp().await;
    let expect_f99 = |reply: Reply, sequence: u64, arrived: u64| {
        let reject = reject_of(reply);
        assert_eq!(reject.code(), ErrorCode::F99ApplicationError);
        assert_eq!(reject.triggered_by().map(Address::as_str), Some("test.a"));
        let packet = StreamPacket::decrypt(&secret, reject.data()).unwrap();
        assert_eq!(packet.ilp_packet_type, PacketType::Reject);
        assert_eq!(
            (packet.sequence, packet.prepare_amount),
            (sequence, arrived)
        );
    };
    // A rate probe: a random condition.
    let probe = money(1, 0, vec![]).encrypt(&secret);
    expect_f99(
        s.send(&prepare(&to, 1_000, probe, random_condition()))
            .await,
        1,
        1_000,
    );
    // Less arrived than the sender asked for.
    expect_f99(
        s.send(&fulfillable(&to, &secret, 100, &money(2, 101, vec![])))
            .await,
        2,
        100,
    );
    // The sender closes the connection.
    let close = money(
        3,
        0,
        vec![Frame::ConnectionClose {
            code: StreamErrorCode::NoError,
            message: String::new(),
        }],
    );
    expect_f99(s.send(&fulfillable(&to, &secret, 10, &close)).await, 3, 10);
    s.assert_paid(0).await;
    // A zero-amount packet the receiver can fulfill is fulfilled and moves nothing.
    assert!(matches!(
        s.send(&fulfillable(&to, &secret, 0, &money(4, 0, vec![])))
            .await,
        Reply::Fulfill(_)
    ));
    s.assert_paid(0).await;
    s.network.shutdown().await;
}

#[tokio::test]
async fn a_replayed_packet_is_refused_and_credited_once() {
    let s = setup().await;
    let (to, secret) = s.spsp().await;
    let packet = fulfillable(&to, &secret, 100, &money(1, 100, vec![]));
    let first = s.send(&packet).await;
    assert!(matches!(first, Reply::Fulfill(_)));
    // The very same Prepare again from the same peer is a copy (a duplicated or retried
    // request): the connector answers it with the first reply, crediting nothing more.
    assert_eq!(s.send(&packet).await, first);
    s.assert_paid(100).await;
    // A replay of the fulfilled packet that is not a copy (another expiry) reaches the
    // receiver, which refuses it.
    let mut replay = packet.clone();
    replay.set_expires_at(packet.expires_at().saturating_add(Duration::from_secs(1)));
    let reject = reject_of(s.send(&replay).await);
    assert_eq!(reject.code(), ErrorCode::F99ApplicationError);
    s.assert_paid(100).await;
    s.network.shutdown().await;
}

#[tokio::test]
async fn packets_it_cannot_open_are_f06_or_f02_with_nothing_moved() {
    let s = setup().await;
    let (to, secret) = s.spsp().await;
    let expect = |reply: Reply, code: ErrorCode| {
        let reject = reject_of(reply);
        assert_eq!(reject.code(), code, "{reject:?}");
        assert_eq!(reject.message(), "");
    };
    // Sealed with another secret.
    let wrong = SharedSecret::new([7; 32]);
    expect(
        s.send(&fulfillable(&to, &wrong, 100, &money(1, 100, vec![])))
            .await,
        ErrorCode::F06UnexpectedPayment,
    );
    // Tampered ciphertext.
    let mut data = money(1, 100, vec![]).encrypt(&secret);
    let last = data.len() - 1;
    data[last] ^= 1;
    let condition = secret.condition(&data);
    expect(
        s.send(&prepare(&to, 100, data, condition)).await,
        ErrorCode::F06UnexpectedPayment,
    );
    // A STREAM packet whose frames are cut short.
    let mut plaintext = money(1, 100, vec![]).encode();
    plaintext.truncate(plaintext.len() - 1);
    let data = secret.encrypt(&plaintext);
    let condition = secret.condition(&data);
    expect(
        s.send(&prepare(&to, 100, data, condition)).await,
        ErrorCode::F06UnexpectedPayment,
    );
    // Not a STREAM Prepare: a Fulfill-typed packet.
    let mut wrong_type = money(1, 100, vec![]);
    wrong_type.ilp_packet_type = PacketType::Fulfill;
    expect(
        s.send(&fulfillable(&to, &secret, 100, &wrong_type)).await,
        ErrorCode::F06UnexpectedPayment,
    );
    // A token this instance never made: routed like any address, and nothing is there.
    let stranger = Address::parse("test.a.bm90LWEtdG9rZW4").unwrap();
    let reject = reject_of(
        s.send(&fulfillable(
            &stranger,
            &secret,
            100,
            &money(1, 100, vec![]),
        ))
        .await,
    );
    assert_eq!(
        (reject.code(), reject.message()),
        (ErrorCode::F02Unreachable, "unknown destination account")
    );
    // The wallet address deactivated since SPSP.
    s.a()
        .node()
        .instance()
        .update_wallet_address(WalletAddressUpdate {
            id: s.wallet.to_string(),
            active: Some(false),
            ..WalletAddressUpdate::default()
        })
        .unwrap();
    expect(
        s.send(&fulfillable(&to, &secret, 100, &money(1, 100, vec![])))
            .await,
        ErrorCode::F02Unreachable,
    );
    s.assert_paid(0).await;
    s.network.shutdown().await;
}

#[tokio::test]
async fn more_than_the_credit_is_t04_and_u64_max_too() {
    let s = setup().await;
    let (to, secret) = s.spsp().await;
    for amount in [CREDIT + 1, u64::MAX] {
        let reject = reject_of(
            s.send(&fulfillable(&to, &secret, amount, &money(1, 0, vec![])))
                .await,
        );
        assert_eq!(reject.code(), ErrorCode::T04InsufficientLiquidity);
    }
    s.assert_paid(0).await;
    s.network.shutdown().await;
}

#[tokio::test]
async fn spsp_answers_404_for_unknown_wallet_addresses_and_400_for_half_receipts() {
    let s = setup().await;
    let spsp = [("accept", "application/spsp4+json")];
    let unknown = s.wallet_url.replace("alice", "nobody");
    assert_eq!(http_get(&unknown, &spsp).await.0, 404);
    let half = [
        ("accept", "application/spsp4+json"),
        ("receipt-nonce", "AAAAAAAAAAAAAAAAAAAAAA=="),
    ];
    assert_eq!(http_get(&s.wallet_url, &half).await.0, 400);
    s.network.shutdown().await;
}

/// Random bytes as the data of a packet for a receiving address: never a panic, always F06, and
/// nothing moves. Runs the packet path in process (as the simulator does), many cases fast.
#[test]
fn random_data_for_a_receiving_address_is_always_f06() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let s = runtime.block_on(setup());
    let (to, _) = runtime.block_on(s.spsp());
    let connector = s.a().node().connector().clone();
    let client = connector
        .instance()
        .peer_by_incoming_token("client-token")
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 512,
        ..Config::default()
    });
    let cases = (
        proptest::collection::vec(any::<u8>(), 0..1_500),
        any::<[u8; 32]>(),
        0u64..1_000,
    );
    runner
        .run(&cases, |(data, condition, amount)| {
            let reply = runtime
                .block_on(connector.handle_prepare(&client, prepare(&to, amount, data, condition)));
            match reply {
                Reply::Reject(reject) => {
                    prop_assert_eq!(reject.code(), ErrorCode::F06UnexpectedPayment)
                }
                Reply::Fulfill(_) => prop_assert!(false, "random data was fulfilled"),
            }
            Ok(())
        })
        .unwrap();
    runtime.block_on(s.assert_paid(0));
    runtime.block_on(s.network.shutdown());
}

/// Money a wallet address received is taken out as Rafiki's operators take it:
/// `createWalletAddressWithdrawal` withdraws its whole balance, two-phase (post or void) unless
/// `timeoutSeconds` is 0; nothing left is "Transfer amount is zero".
#[tokio::test]
async fn a_wallet_address_withdrawal_takes_out_what_it_received() {
    let s = setup().await;
    let (to, secret) = s.spsp().await;
    assert!(matches!(
        s.send(&fulfillable(&to, &secret, 300, &money(1, 300, vec![])))
            .await,
        Reply::Fulfill(_)
    ));
    let admin = s.a().admin();
    let withdraw = |id: String, timeout: &str| {
        json!({ "input": {
            "walletAddressId": s.wallet.to_string(),
            "id": id,
            "idempotencyKey": Uuid::new_v4().to_string(),
            "timeoutSeconds": timeout,
        }})
    };
    let mutation = "mutation($input: CreateWalletAddressWithdrawalInput!) { createWalletAddressWithdrawal(input: $input) { withdrawal { id amount walletAddress { id liquidity } } } }";
    // Two-phase, then voided: the money is back.
    let first = Uuid::new_v4().to_string();
    let answer = admin
        .request(mutation, withdraw(first.clone(), "60"))
        .await
        .unwrap();
    assert_eq!(
        answer["data"]["createWalletAddressWithdrawal"]["withdrawal"],
        json!({ "id": first, "amount": "300", "walletAddress": { "id": s.wallet.to_string(), "liquidity": "0" } })
    );
    let void = admin
        .request(
            "mutation($id: String!) { voidLiquidityWithdrawal(input: {withdrawalId: $id, idempotencyKey: $id}) { success } }",
            json!({ "id": first }),
        )
        .await
        .unwrap();
    assert_eq!(
        void["data"]["voidLiquidityWithdrawal"]["success"],
        json!(true),
        "{void}"
    );
    assert_eq!(s.wallet_balance(), 300);
    // Single-phase: gone at once.
    let answer = admin
        .request(mutation, withdraw(Uuid::new_v4().to_string(), "0"))
        .await
        .unwrap();
    assert_eq!(
        answer["data"]["createWalletAddressWithdrawal"]["withdrawal"]["amount"],
        json!("300")
    );
    assert_eq!(s.wallet_balance(), 0);
    // Nothing left, and a wallet address that does not exist.
    let empty = admin
        .request(mutation, withdraw(Uuid::new_v4().to_string(), "0"))
        .await
        .unwrap();
    assert_eq!(
        (
            &empty["errors"][0]["message"],
            &empty["errors"][0]["extensions"]["code"],
            &empty["data"]
        ),
        (
            &json!("Transfer amount is zero"),
            &json!("FORBIDDEN"),
            &json!({ "createWalletAddressWithdrawal": null })
        )
    );
    let mut unknown = withdraw(Uuid::new_v4().to_string(), "0");
    unknown["input"]["walletAddressId"] = json!(Uuid::new_v4().to_string());
    let unknown = admin.request(mutation, unknown).await.unwrap();
    assert_eq!(
        (
            &unknown["errors"][0]["message"],
            &unknown["errors"][0]["extensions"]["code"]
        ),
        (&json!("Unknown wallet address"), &json!("NOT_FOUND"))
    );
    let instance = s.a().node().instance();
    assert_eq!(instance.pending_transfer_count(), 0);
    instance.audit().unwrap();
    s.network.shutdown().await;
}
