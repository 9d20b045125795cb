//! Auto-peering over real HTTP: wiremock stands in for the remote auto-peering server (good
//! answers, each error type, garbage, a hang) and for the initiator's connector; the accepting
//! server is checked against good and bad requests.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use peerlab::autopeer::ACCEPTED_PEER_LIQUIDITY;
use peerlab::connector::client::OutgoingClient;
use peerlab::ilp::{Address, Fulfill, Prepare, Reply};
use peerlab_simulator::network::InstanceHandle;
use peerlab_simulator::topology::InstanceSpec;
use peerlab_simulator::{Network, paying_prepare};
use serde_json::{Value, json};
use wiremock::matchers::{bearer_token, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const BY_URL: &str = "mutation($input: CreateOrUpdatePeerByUrlInput!) { createOrUpdatePeerByUrl(input: $input) { code success message peer { id name staticIlpAddress maxPacketAmount liquidity http { outgoing { authToken endpoint } } } } }";

async fn instance(auto_peering: bool) -> (Network, String) {
    let network = Network::start(&[InstanceSpec {
        enable_auto_peering: auto_peering,
        ..InstanceSpec::new("CLOUD-NINE", "test.cloud-nine-wallet")
    }])
    .await
    .unwrap();
    let asset = network.instances()[0]
        .admin()
        .create_asset("USD", 2)
        .await
        .unwrap();
    (network, asset)
}

fn only(network: &Network) -> &InstanceHandle {
    &network.instances()[0]
}

async fn by_url(network: &Network, input: Value) -> Value {
    let response = only(network)
        .admin()
        .request(BY_URL, json!({ "input": input }))
        .await
        .unwrap();
    assert!(response.get("errors").is_none(), "{response}");
    response["data"]["createOrUpdatePeerByUrl"].clone()
}

async fn peer_count(network: &Network) -> usize {
    let response = only(network)
        .admin()
        .request("{ peers { edges { cursor } } }", json!({}))
        .await
        .unwrap();
    response["data"]["peers"]["edges"].as_array().unwrap().len()
}

fn remote_answer() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "staticIlpAddress": "test.remote",
        "ilpConnectorUrl": "http://127.0.0.1:4002/",
        "httpToken": "remote-token",
        "name": "REMOTE",
        "tenantId": "438fa74a-fa7d-4317-9ced-dde32ece1787",
    }))
}

#[tokio::test]
async fn peering_by_url_exchanges_addresses_urls_and_tokens() {
    let (network, asset) = instance(false).await;
    let remote = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/"))
        .respond_with(remote_answer())
        .expect(2)
        .mount(&remote)
        .await;

    let payload = by_url(&network, json!({ "peerUrl": remote.uri(), "assetId": asset, "liquidityToDeposit": "500", "maxPacketAmount": 1000 })).await;
    assert_eq!(
        (&payload["code"], &payload["message"]),
        (&json!("200"), &json!("ILP peer created or updated")),
        "{payload}"
    );
    let peer = &payload["peer"];
    assert_eq!(peer["staticIlpAddress"], json!("test.remote"));
    assert_eq!(peer["name"], json!("REMOTE"));
    assert_eq!(peer["liquidity"], json!("500"));
    assert_eq!(
        peer["http"]["outgoing"]["endpoint"],
        json!("http://127.0.0.1:4002/")
    );

    let sent: Value =
        serde_json::from_slice(&remote.received_requests().await.unwrap()[0].body).unwrap();
    let me = only(&network);
    assert_eq!(sent["staticIlpAddress"], json!("test.cloud-nine-wallet"));
    assert_eq!(sent["ilpConnectorUrl"], json!(me.connector_url()));
    assert_eq!(sent["asset"], json!({ "code": "USD", "scale": 2 }));
    assert_eq!(sent["name"], json!("CLOUD-NINE"));
    assert_eq!(sent["maxPacketAmount"], json!(1000));
    assert_eq!(
        sent["httpToken"], peer["http"]["outgoing"]["authToken"],
        "we send packets with the token we gave"
    );
    assert!(
        me.node()
            .instance()
            .peer_by_incoming_token("remote-token")
            .is_some()
    );

    // Again: the same peer is updated (new tokens, one more deposit), not duplicated.
    let again = by_url(&network, json!({ "peerUrl": remote.uri(), "assetId": asset, "initialLiquidity": 250, "name": "Renamed" })).await;
    assert_eq!(again["peer"]["id"], peer["id"]);
    assert_eq!(again["peer"]["name"], json!("Renamed"));
    assert_eq!(again["peer"]["liquidity"], json!("750"));
    assert_ne!(
        again["peer"]["http"]["outgoing"]["authToken"],
        peer["http"]["outgoing"]["authToken"]
    );
    assert_eq!(peer_count(&network).await, 1);
    network.shutdown().await;
}

#[tokio::test]
async fn the_remote_errors_map_as_rafiki_maps_them() {
    let error = |status: u16, kind: &str| {
        ResponseTemplate::new(status)
            .set_body_json(json!({ "error": { "code": status, "message": "x", "type": kind } }))
    };
    let cases = [
        (
            error(400, "InvalidPeerIlpConfiguration"),
            "400",
            "The ILP configuration is misconfigured",
        ),
        (
            error(404, "UnknownAsset"),
            "400",
            "Peer does not support asset",
        ),
        (
            error(400, "InvalidPeeringRequest"),
            "400",
            "Invalid peering request",
        ),
        (
            ResponseTemplate::new(200).set_body_string("<html>not json</html>"),
            "400",
            "Invalid peering request",
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({ "staticIlpAddress": "nope" })),
            "400",
            "Invalid peering request",
        ),
        (ResponseTemplate::new(500), "400", "Invalid peering request"),
    ];
    for (answer, code, message) in cases {
        let (network, asset) = instance(false).await;
        let remote = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(answer)
            .mount(&remote)
            .await;
        let payload = by_url(
            &network,
            json!({ "peerUrl": remote.uri(), "assetId": asset }),
        )
        .await;
        assert_eq!(
            (&payload["code"], &payload["message"], &payload["success"]),
            (&json!(code), &json!(message), &json!(false)),
            "{payload}"
        );
        assert_eq!(peer_count(&network).await, 0);
        network.shutdown().await;
    }
}

#[tokio::test]
async fn a_peer_answering_with_an_unusable_configuration_is_refused() {
    let (network, asset) = instance(false).await;
    let remote = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "staticIlpAddress": "not an address", "ilpConnectorUrl": "ftp://x", "httpToken": "t", "name": "R"
        })))
        .mount(&remote)
        .await;
    let payload = by_url(
        &network,
        json!({ "peerUrl": remote.uri(), "assetId": asset }),
    )
    .await;
    assert_eq!(payload["message"], json!("Invalid peering request"));
    assert_eq!(peer_count(&network).await, 0);
    network.shutdown().await;
}

#[tokio::test]
async fn unreachable_urls_unknown_assets_and_hangs() {
    let (network, asset) = instance(false).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    for url in [
        format!("http://{closed}/"),
        "not a url".to_owned(),
        "http://host.invalid/".to_owned(),
    ] {
        let payload = by_url(&network, json!({ "peerUrl": url, "assetId": asset })).await;
        assert_eq!(
            payload["message"],
            json!("Peer URL is invalid or peer does not support auto-peering"),
            "{url}: {payload}"
        );
    }

    let remote = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(remote_answer())
        .expect(0)
        .mount(&remote)
        .await;
    let payload = by_url(
        &network,
        json!({ "peerUrl": remote.uri(), "assetId": uuid::Uuid::new_v4().to_string() }),
    )
    .await;
    assert_eq!(
        (&payload["code"], &payload["message"]),
        (&json!("404"), &json!("Unknown asset"))
    );

    let slow = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(remote_answer().set_delay(Duration::from_secs(8)))
        .mount(&slow)
        .await;
    let started = std::time::Instant::now();
    let payload = by_url(&network, json!({ "peerUrl": slow.uri(), "assetId": asset })).await;
    assert_eq!(payload["message"], json!("Invalid peering request"));
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "the client gives up after 5 s"
    );
    assert_eq!(peer_count(&network).await, 0);
    network.shutdown().await;
}

#[tokio::test]
async fn a_deposit_that_cannot_be_made_is_a_liquidity_error() {
    let (network, asset) = instance(false).await;
    let remote = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(remote_answer())
        .mount(&remote)
        .await;
    let max = u64::MAX.to_string();
    let first = by_url(
        &network,
        json!({ "peerUrl": remote.uri(), "assetId": asset, "addedLiquidity": max }),
    )
    .await;
    assert_eq!(first["success"], json!(true), "{first}");
    let second = by_url(
        &network,
        json!({ "peerUrl": remote.uri(), "assetId": asset, "addedLiquidity": max }),
    )
    .await;
    assert_eq!(
        (&second["code"], &second["message"]),
        (&json!("400"), &json!("Could not deposit liquidity to peer"))
    );
    let differ = by_url(&network, json!({ "peerUrl": remote.uri(), "assetId": asset, "addedLiquidity": 1, "liquidityToDeposit": 2 })).await;
    assert_eq!(differ["code"], json!("400"));
    network.shutdown().await;
}

async fn post(url: &str, body: impl Into<Bytes>) -> (u16, Value) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let request = hyper::Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(body.into()))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn request(connector: &str, token: &str) -> Value {
    json!({
        "staticIlpAddress": "test.happy-life-bank",
        "ilpConnectorUrl": connector,
        "asset": { "code": "USD", "scale": 2 },
        "httpToken": token,
        "maxPacketAmount": 1000,
        "name": "HAPPY-LIFE",
    })
}

#[tokio::test]
async fn the_server_accepts_grants_liquidity_and_sends_packets_with_the_token_it_gave() {
    let (network, _) = instance(true).await;
    let me = only(&network);
    let url = me.auto_peering_url().expect("auto-peering is on");
    let initiator = MockServer::start().await;

    let (status, answer) = post(
        &url,
        request(&format!("{}/ilp", initiator.uri()), "happy-token").to_string(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["staticIlpAddress"], json!("test.cloud-nine-wallet"));
    assert_eq!(answer["ilpConnectorUrl"], json!(me.connector_url()));
    assert_eq!(answer["name"], json!("CLOUD-NINE"));
    let our_token = answer["httpToken"].as_str().unwrap().to_owned();

    let peer = me
        .node()
        .instance()
        .peer_by_incoming_token("happy-token")
        .expect("the requester's token works");
    assert_eq!(
        me.node().instance().peer_liquidity(peer.id),
        Some(ACCEPTED_PEER_LIQUIDITY)
    );
    assert_eq!(peer.max_packet_amount, Some(1000));

    // Packets from the requester are accepted with its token and forwarded back to its connector
    // with ours: the initiator's side sees exactly that.
    Mock::given(method("POST"))
        .and(path("/ilp"))
        .and(bearer_token(our_token.as_str()))
        .respond_with(|request: &Request| {
            let prepare = Prepare::decode(&request.body).unwrap();
            let preimage: [u8; 32] = prepare.data()[..32].try_into().unwrap();
            ResponseTemplate::new(200)
                .set_body_bytes(Fulfill::new(preimage, vec![]).unwrap().encode())
        })
        .expect(1)
        .mount(&initiator)
        .await;
    // A second peer sends to the requester through us, to exercise our outgoing token.
    let (status, _) = post(
        &url,
        json!({
            "staticIlpAddress": "test.third", "ilpConnectorUrl": "http://127.0.0.1:9/",
            "asset": { "code": "USD", "scale": 2 }, "httpToken": "third-token",
        })
        .to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let packet = paying_prepare(
        &Address::parse("test.happy-life-bank.alice").unwrap(),
        10,
        Duration::from_secs(10),
    );
    let reply = OutgoingClient::default()
        .send(&me.connector_url(), "third-token", packet.encode())
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Fulfill(_)), "{reply:?}");

    // Asked again: tokens and endpoint are replaced, no new liquidity, no second peer.
    let (status, again) = post(
        &url,
        request("http://127.0.0.1:5002/", "happy-token-2").to_string(),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_ne!(again["httpToken"], json!(our_token));
    let instance = me.node().instance();
    assert!(instance.peer_by_incoming_token("happy-token").is_none());
    let updated = instance.peer_by_incoming_token("happy-token-2").unwrap();
    assert_eq!(updated.id, peer.id);
    assert_eq!(updated.outgoing.endpoint, "http://127.0.0.1:5002/");
    assert_eq!(
        instance.peer_liquidity(peer.id),
        Some(ACCEPTED_PEER_LIQUIDITY + 10)
    );
    assert_eq!(peer_count(&network).await, 2);
    network.shutdown().await;
}

#[tokio::test]
async fn the_server_takes_the_older_field_name() {
    let (network, _) = instance(true).await;
    let url = only(&network).auto_peering_url().unwrap();
    let mut body = request("http://127.0.0.1:4002", "t");
    let connector = body
        .as_object_mut()
        .unwrap()
        .remove("ilpConnectorUrl")
        .unwrap();
    body["ilpConnectorAddress"] = connector;
    assert_eq!(post(&url, body.to_string()).await.0, 200);
    network.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_rafikis_errors_and_create_nothing() {
    let (network, _) = instance(true).await;
    let url = only(&network).auto_peering_url().unwrap();
    let error = |status: u16, message: &str, kind: &str| {
        (
            status,
            json!({ "error": { "code": status, "message": message, "type": kind } }),
        )
    };
    let invalid = error(400, "Invalid peering request", "InvalidPeeringRequest");
    let misconfigured = error(
        400,
        "Requested peer's ILP configuration is misconfigured",
        "InvalidPeerIlpConfiguration",
    );
    let mut bad_address = request("http://127.0.0.1:4002", "t1");
    bad_address["staticIlpAddress"] = json!("test.hello!");
    let mut bad_url = request("ftp://127.0.0.1:4002", "t2");
    bad_url["staticIlpAddress"] = json!("test.other");
    let mut unknown_asset = request("http://127.0.0.1:4002", "t3");
    unknown_asset["asset"] = json!({ "code": "EUR", "scale": 2 });
    let mut missing = request("http://127.0.0.1:4002", "t4");
    missing.as_object_mut().unwrap().remove("httpToken");
    let mut negative = request("http://127.0.0.1:4002", "t5");
    negative["maxPacketAmount"] = json!(-1);
    let cases = [
        (Bytes::from_static(b"{not json"), invalid.clone()),
        (Bytes::from(missing.to_string()), invalid.clone()),
        (Bytes::from(negative.to_string()), invalid.clone()),
        (Bytes::from(bad_address.to_string()), misconfigured.clone()),
        (Bytes::from(bad_url.to_string()), misconfigured),
        (
            Bytes::from(unknown_asset.to_string()),
            error(404, "Unknown asset", "UnknownAsset"),
        ),
        (
            Bytes::from(format!("{{\"name\": \"{}\"}}", "x".repeat(20_000))),
            error(413, "Invalid peering request", "InvalidPeeringRequest"),
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(
            post(&url, body.clone()).await,
            expected,
            "{:?}",
            String::from_utf8_lossy(&body[..body.len().min(80)])
        );
    }
    assert_eq!(peer_count(&network).await, 0);
    network.shutdown().await;
}

#[tokio::test]
async fn with_auto_peering_off_nothing_answers_on_its_port() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let network = Network::start(&[InstanceSpec {
        auto_peering_server_port: port,
        ..InstanceSpec::new("off", "test.off")
    }])
    .await
    .unwrap();
    assert_eq!(only(&network).auto_peering_url(), None);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens on {port}"
    );
    network.shutdown().await;
}
