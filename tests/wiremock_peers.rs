//! A wiremock server stands in for a peer that fulfills, rejects, fails, talks nonsense, is slow
//! or is not there at all: each time the right Reject comes back and liquidity returns.

use std::time::Duration;

use peerlab::connector::client::OutgoingClient;
use peerlab::ilp::{Address, ErrorCode, Fulfill, Prepare, Reject, Reply, Timestamp};
use peerlab_simulator::network::InstanceHandle;
use peerlab_simulator::topology::InstanceSpec;
use peerlab_simulator::{Network, PeerSettings, paying_prepare};
use serde_json::json;
use wiremock::matchers::{bearer_token, header, method};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const CREDIT: u64 = 10_000;

struct Setup {
    network: Network,
    mock: MockServer,
    connector: String,
    asset_id: String,
}

/// Instance `test.a` with a client (credit 10,000) and a peer `test.mock` served by `endpoint`
/// (the mock server unless given).
async fn setup(endpoint: Option<&str>) -> Setup {
    let mock = MockServer::start().await;
    let network = Network::start(&[InstanceSpec::new("a", "test.a")])
        .await
        .unwrap();
    let a = network.instance("a").unwrap();
    let asset = a.admin().create_asset("USD", 2).await.unwrap();
    let mock_uri = format!("{}/ilp", mock.uri());
    for (address, incoming, endpoint, credit) in [
        ("test.client", "client-token", "http://127.0.0.1:9/", CREDIT),
        ("test.mock", "mock-token", endpoint.unwrap_or(&mock_uri), 0),
    ] {
        a.admin()
            .create_peer(
                &PeerSettings::new(address, &asset, incoming, endpoint)
                    .outgoing_token("to-mock")
                    .liquidity(credit),
            )
            .await
            .unwrap();
    }
    Setup {
        connector: a.connector_url(),
        network,
        mock,
        asset_id: asset,
    }
}

impl Setup {
    fn a(&self) -> &InstanceHandle {
        self.network.instance("a").unwrap()
    }

    async fn send(&self, prepare: &Prepare) -> Reply {
        OutgoingClient::default()
            .send(&self.connector, "client-token", prepare.encode())
            .await
            .unwrap()
    }

    async fn client_liquidity(&self) -> u64 {
        self.liquidity("test.client").await
    }

    /// The liquidity instance `a` grants its peer at `address`.
    async fn liquidity(&self, address: &str) -> u64 {
        let a = self.a();
        let response = a
            .admin()
            .request(
                "query($address: String!, $asset: String!) { peerByAddressAndAsset(staticIlpAddress: $address, assetId: $asset) { liquidity } }",
                json!({ "address": address, "asset": self.asset_id }),
            )
            .await
            .unwrap();
        let liquidity = &response["data"]["peerByAddressAndAsset"]["liquidity"];
        liquidity.as_str().and_then(|l| l.parse().ok()).unwrap()
    }

    /// Sends a packet the peer cannot pay and checks the Reject and that nothing moved.
    async fn expect_reject(&self, code: ErrorCode) -> Reject {
        let reply = self
            .send(&paying_prepare(
                &Address::parse("test.mock.bob").unwrap(),
                100,
                Duration::from_secs(10),
            ))
            .await;
        let Reply::Reject(reject) = reply else {
            panic!("expected {code:?}, got a Fulfill")
        };
        assert_eq!(reject.code(), code, "{reject:?}");
        assert_eq!(
            self.client_liquidity().await,
            CREDIT,
            "liquidity must come back"
        );
        assert_eq!(self.a().node().instance().pending_transfer_count(), 0);
        self.a().node().instance().audit().unwrap();
        reject
    }
}

fn fulfill_with_preimage(request: &Request) -> ResponseTemplate {
    let prepare = Prepare::decode(&request.body).expect("a Prepare");
    let preimage: [u8; 32] = prepare.data()[..32].try_into().expect("preimage");
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/octet-stream")
        .set_body_bytes(Fulfill::new(preimage, vec![]).unwrap().encode())
}

#[tokio::test]
async fn a_peer_that_fulfills_is_paid_and_sees_a_proper_request() {
    let s = setup(None).await;
    Mock::given(method("POST"))
        .and(bearer_token("to-mock"))
        .and(header("content-type", "application/octet-stream"))
        .respond_with(fulfill_with_preimage)
        .expect(1)
        .mount(&s.mock)
        .await;
    let sent = paying_prepare(
        &Address::parse("test.mock.bob").unwrap(),
        100,
        Duration::from_secs(10),
    );
    assert!(matches!(s.send(&sent).await, Reply::Fulfill(_)));
    assert_eq!(s.client_liquidity().await, CREDIT - 100);

    let requests = s.mock.received_requests().await.unwrap();
    let forwarded = Prepare::decode(&requests[0].body).unwrap();
    assert_eq!(requests[0].url.path(), "/ilp");
    assert_eq!(
        (forwarded.amount(), forwarded.destination()),
        (100, sent.destination())
    );
    assert_eq!(forwarded.execution_condition(), sent.execution_condition());
    assert_eq!(forwarded.data(), sent.data());
    // Ten seconds left: the expiry is shortened by exactly Rafiki's 1 s window.
    assert_eq!(
        forwarded.expires_at(),
        sent.expires_at().saturating_sub(Duration::from_secs(1))
    );
    s.network.shutdown().await;
}

/// Rafiki holds a packet at most 30 s, whatever its two-phase timeout (5 s by default, as here):
/// a packet with a minute left is forwarded with 30 s.
#[tokio::test]
async fn a_distant_expiry_is_capped_at_thirty_seconds() {
    let s = setup(None).await;
    Mock::given(method("POST"))
        .respond_with(fulfill_with_preimage)
        .expect(1)
        .mount(&s.mock)
        .await;
    let sent = paying_prepare(
        &Address::parse("test.mock.bob").unwrap(),
        100,
        Duration::from_secs(60),
    );
    let before = Timestamp::now();
    assert!(matches!(s.send(&sent).await, Reply::Fulfill(_)));
    let after = Timestamp::now();
    let requests = s.mock.received_requests().await.unwrap();
    let forwarded = Prepare::decode(&requests[0].body).unwrap().expires_at();
    let hold = Duration::from_secs(30);
    assert!(
        before.saturating_add(hold) <= forwarded && forwarded <= after.saturating_add(hold),
        "{before:?} {forwarded:?} {after:?}"
    );
    s.network.shutdown().await;
}

/// Through Rafiki a receiver may take up to 30 s; with the default two-phase timeout (5 s) the
/// packet's pending transfer must still last until a Fulfill that comes after 10 s, and the
/// liquidity then moves exactly once.
#[tokio::test]
async fn a_receiver_answering_after_ten_seconds_still_fulfills() {
    let s = setup(None).await;
    let delay = Duration::from_secs(10);
    Mock::given(method("POST"))
        .respond_with(move |request: &Request| fulfill_with_preimage(request).set_delay(delay))
        .expect(1)
        .mount(&s.mock)
        .await;
    let started = std::time::Instant::now();
    let reply = s
        .send(&paying_prepare(
            &Address::parse("test.mock.bob").unwrap(),
            100,
            Duration::from_secs(15),
        ))
        .await;
    assert!(started.elapsed() >= delay);
    assert!(matches!(reply, Reply::Fulfill(_)), "{reply:?}");
    assert_eq!(s.client_liquidity().await, CREDIT - 100);
    assert_eq!(s.liquidity("test.mock").await, 100);
    assert_eq!(s.a().node().instance().pending_transfer_count(), 0);
    s.a().node().instance().audit().unwrap();
    s.network.shutdown().await;
}

#[tokio::test]
async fn a_reject_from_the_peer_is_passed_back_unchanged() {
    let s = setup(None).await;
    let theirs = Reject::new(
        ErrorCode::F99ApplicationError,
        Some(Address::parse("test.mock").unwrap()),
        "no thanks",
        vec![1, 2, 3],
    )
    .unwrap();
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(theirs.encode()))
        .mount(&s.mock)
        .await;
    assert_eq!(
        s.expect_reject(ErrorCode::F99ApplicationError).await,
        theirs
    );
    s.network.shutdown().await;
}

/// Rafiki's client throws on any non-2xx status and on a body that is not a reply; its error
/// handler makes every such non-ILP error T00 "unexpected internal error" (rafiki.md §4.1-4.2).
#[tokio::test]
async fn http_errors_and_garbage_become_t00() {
    for response in [
        ResponseTemplate::new(500),
        ResponseTemplate::new(503).set_body_string("busy"),
        ResponseTemplate::new(404),
        ResponseTemplate::new(401),
        ResponseTemplate::new(200).set_body_string("<html>hello</html>"),
        ResponseTemplate::new(200),
        ResponseTemplate::new(200).set_body_bytes(vec![0x0c; 100_000]),
    ] {
        let s = setup(None).await;
        Mock::given(method("POST"))
            .respond_with(response)
            .mount(&s.mock)
            .await;
        expect_unexpected_internal_error(&s.expect_reject(ErrorCode::T00InternalError).await);
        s.network.shutdown().await;
    }
}

fn expect_unexpected_internal_error(reject: &Reject) {
    assert_eq!(
        (
            reject.code(),
            reject.message(),
            reject.triggered_by().map(Address::as_str),
            reject.data().as_ref()
        ),
        (
            ErrorCode::T00InternalError,
            "unexpected internal error",
            Some("test.a"),
            &[][..]
        )
    );
}

#[tokio::test]
async fn a_wrong_fulfillment_is_f05() {
    let s = setup(None).await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(Fulfill::new([7; 32], vec![]).unwrap().encode()),
        )
        .mount(&s.mock)
        .await;
    s.expect_reject(ErrorCode::F05WrongCondition).await;
    s.network.shutdown().await;
}

#[tokio::test]
async fn a_peer_too_slow_for_the_expiry_is_r00() {
    let s = setup(None).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(4)))
        .mount(&s.mock)
        .await;
    let started = std::time::Instant::now();
    let reply = s
        .send(&paying_prepare(
            &Address::parse("test.mock.bob").unwrap(),
            100,
            Duration::from_millis(2_500),
        ))
        .await;
    let Reply::Reject(reject) = reply else {
        panic!("expected R00")
    };
    assert_eq!(reject.code(), ErrorCode::R00TransferTimedOut);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1_300) && waited < Duration::from_millis(2_500),
        "{waited:?}"
    );
    assert_eq!(s.client_liquidity().await, CREDIT);
    assert_eq!(s.a().node().instance().pending_transfer_count(), 0);
    s.network.shutdown().await;
}

#[tokio::test]
async fn a_peer_that_is_not_there_is_t00() {
    // A port that was just free: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let s = setup(Some(&format!("http://{closed}/ilp"))).await;
    expect_unexpected_internal_error(&s.expect_reject(ErrorCode::T00InternalError).await);
    s.network.shutdown().await;
}

#[tokio::test]
async fn a_rate_limited_peer_gets_t05() {
    let network = Network::start(&[InstanceSpec {
        name: "a".into(),
        ilp_address: "test.a".into(),
        api_secret: None,
        packet_rate_limit_per_second: Some(5),
        ..Default::default()
    }])
    .await
    .unwrap();
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(fulfill_with_preimage)
        .mount(&mock)
        .await;
    let a = network.instance("a").unwrap();
    let asset = a.admin().create_asset("USD", 2).await.unwrap();
    let mock_uri = mock.uri();
    for (address, incoming, endpoint, credit) in [
        ("test.client", "client-token", "http://127.0.0.1:9/", CREDIT),
        ("test.mock", "mock-token", mock_uri.as_str(), 0),
    ] {
        a.admin()
            .create_peer(
                &PeerSettings::new(address, &asset, incoming, endpoint)
                    .outgoing_token("to-mock")
                    .liquidity(credit),
            )
            .await
            .unwrap();
    }
    let client = OutgoingClient::default();
    let mut codes = Vec::new();
    for _ in 0..8 {
        let prepare = paying_prepare(
            &Address::parse("test.mock.bob").unwrap(),
            1,
            Duration::from_secs(10),
        );
        match client
            .send(&a.connector_url(), "client-token", prepare.encode())
            .await
            .unwrap()
        {
            Reply::Fulfill(_) => codes.push("fulfilled".to_owned()),
            Reply::Reject(reject) => codes.push(reject.code().to_string()),
        }
    }
    let fulfilled = codes.iter().filter(|c| *c == "fulfilled").count();
    assert!(
        (5..=6).contains(&fulfilled),
        "a burst of 5 (plus what refilled): {codes:?}"
    );
    assert!(
        codes.iter().all(|c| c == "fulfilled" || c == "T05"),
        "{codes:?}"
    );
    network.shutdown().await;
}

/// A raw HTTP/1.1 peer that fulfills every packet (the preimage is the packet's data) and, when
/// `linger` is given, closes each connection that long after answering, as a server with a short
/// keep-alive timeout does. Answers how many connections it accepted.
async fn closing_peer(
    linger: Option<Duration>,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/ilp", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                loop {
                    // One request: the head, then Content-Length bytes of body.
                    let mut chunk = [0u8; 4096];
                    let (head_end, length) = loop {
                        let text = String::from_utf8_lossy(&buffer).to_lowercase();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let length = text[..end]
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|l| l.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            break (end + 4, length);
                        }
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    };
                    while buffer.len() < head_end + length {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body: Vec<u8> = buffer.drain(..head_end + length).skip(head_end).collect();
                    let prepare = Prepare::decode(&body).unwrap();
                    let preimage: [u8; 32] = prepare.data()[..32].try_into().unwrap();
                    let fulfill = Fulfill::new(preimage, vec![]).unwrap().encode();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {}\r\n\r\n",
                        fulfill.len()
                    );
                    if stream.write_all(head.as_bytes()).await.is_err()
                        || stream.write_all(&fulfill).await.is_err()
                    {
                        return;
                    }
                    if let Some(linger) = linger {
                        tokio::time::sleep(linger).await;
                        return;
                    }
                }
            });
        }
    });
    (endpoint, accepted)
}

async fn pay_mock(s: &Setup) -> Reply {
    s.send(&paying_prepare(
        &Address::parse("test.mock.bob").unwrap(),
        10,
        Duration::from_secs(10),
    ))
    .await
}

/// Packets one after another to a keep-alive peer travel on one pooled connection.
#[tokio::test]
async fn packets_in_a_row_share_one_connection() {
    let (endpoint, accepted) = closing_peer(None).await;
    let s = setup(Some(&endpoint)).await;
    for _ in 0..5 {
        assert!(matches!(pay_mock(&s).await, Reply::Fulfill(_)));
    }
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(s.client_liquidity().await, CREDIT - 50);
    s.network.shutdown().await;
}

/// A peer that closes idle connections (a short keep-alive timeout): the next packet finds its
/// pooled connection gone and goes on a new one, fulfilled, not T00.
#[tokio::test]
async fn a_connection_the_peer_closed_while_idle_is_replaced() {
    let (endpoint, accepted) = closing_peer(Some(Duration::from_millis(20))).await;
    let s = setup(Some(&endpoint)).await;
    for _ in 0..4 {
        assert!(matches!(pay_mock(&s).await, Reply::Fulfill(_)));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 4);
    assert_eq!(s.client_liquidity().await, CREDIT - 40);
    s.a().node().instance().audit().unwrap();
    s.network.shutdown().await;
}
