//! The connector's HTTP surface with bad input: tokens, bodies, sizes, methods and paths.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Frame;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use peerlab::ilp::{Address, Fulfill, MAX_PREPARE_LENGTH, Reply};
use peerlab_simulator::topology::InstanceSpec;
use peerlab_simulator::{Network, PeerSettings, TestReceiver, paying_prepare};

struct Setup {
    network: Network,
    receiver: TestReceiver,
    url: String,
}

async fn setup() -> Setup {
    let network = Network::start(&[InstanceSpec::new("a", "test.a")])
        .await
        .unwrap();
    let receiver = TestReceiver::start(Address::parse("test.a.receiver").unwrap())
        .await
        .unwrap();
    let a = network.instance("a").unwrap();
    let asset = a.admin().create_asset("USD", 2).await.unwrap();
    for (address, token, endpoint, credit) in [
        ("test.client", "client-token", "http://127.0.0.1:9/", 1_000),
        ("test.a.receiver", "receiver-token", receiver.url(), 0),
    ] {
        a.admin()
            .create_peer(&PeerSettings::new(address, &asset, token, endpoint).liquidity(credit))
            .await
            .unwrap();
    }
    Setup {
        url: a.connector_url(),
        network,
        receiver,
    }
}

async fn call(method: &str, url: &str, headers: &[(&str, &str)], body: Vec<u8>) -> (u16, Bytes) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut request = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client
        .request(request.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

fn good_packet() -> Vec<u8> {
    paying_prepare(
        &Address::parse("test.a.receiver.x").unwrap(),
        10,
        Duration::from_secs(10),
    )
    .encode()
}

const AUTH: (&str, &str) = ("authorization", "Bearer client-token");

#[tokio::test]
async fn tokens_are_required_and_checked() {
    let s = setup().await;
    let required = "Bearer token required in Authorization header";
    for auth in [
        None,
        Some("Basic Y2xpZW50"),
        Some("Bearer"),
        Some("Bearer  client-token"),
        Some("Bearer a b"),
    ] {
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", *a)).collect();
        let (status, body) = call("POST", &s.url, &headers, good_packet()).await;
        assert_eq!(
            (status, body.as_ref()),
            (401, required.as_bytes()),
            "{auth:?}"
        );
    }
    for token in [
        "Bearer nope",
        "Bearer client-token-",
        "Bearer receiver-token2",
    ] {
        let (status, body) = call("POST", &s.url, &[("authorization", token)], good_packet()).await;
        assert_eq!(
            (status, body.as_ref()),
            (401, &b"Access Denied - Invalid Token"[..]),
            "{token}"
        );
    }
    let (status, body) = call(
        "POST",
        &s.url,
        &[("authorization", "bearer client-token")],
        good_packet(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(matches!(Reply::decode(&body), Ok(Reply::Fulfill(_))));
    s.network.shutdown().await;
}

#[tokio::test]
async fn any_path_and_either_content_type_is_served() {
    let s = setup().await;
    for (path, content_type) in [
        ("", Some("application/octet-stream")),
        ("accounts/client/ilp", Some("application/ilp+octet-stream")),
        ("ilp", None),
    ] {
        let mut headers = vec![AUTH];
        if let Some(content_type) = content_type {
            headers.push(("content-type", content_type));
        }
        let (status, body) =
            call("POST", &format!("{}{path}", s.url), &headers, good_packet()).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            matches!(Reply::decode(&body), Ok(Reply::Fulfill(_))),
            "{path}"
        );
    }
    assert_eq!(
        call("GET", &s.url, &[], vec![]).await,
        (200, Bytes::from_static(b"OK"))
    );
    assert_eq!(call("PUT", &s.url, &[AUTH], good_packet()).await.0, 405);
    s.network.shutdown().await;
}

#[tokio::test]
async fn bodies_that_are_not_a_prepare_are_400_and_move_nothing() {
    let s = setup().await;
    let packet = good_packet();
    let fulfill = Fulfill::new([0; 32], vec![]).unwrap().encode();
    for body in [
        vec![],
        b"garbage".to_vec(),
        packet[..packet.len() - 3].to_vec(),
        fulfill,
        vec![0x0c, 0x80],
    ] {
        let (status, text) = call("POST", &s.url, &[AUTH], body.clone()).await;
        assert_eq!(status, 400, "{body:02x?}");
        assert!(
            String::from_utf8_lossy(&text).starts_with("Invalid Packet"),
            "{text:?}"
        );
    }
    assert_eq!(s.receiver.fulfilled(), 0);
    s.network
        .instance("a")
        .unwrap()
        .node()
        .instance()
        .audit()
        .unwrap();
    s.network.shutdown().await;
}

#[tokio::test]
async fn bodies_larger_than_any_prepare_are_refused_before_they_are_read() {
    let s = setup().await;
    let (status, _) = call("POST", &s.url, &[AUTH], vec![0x0c; MAX_PREPARE_LENGTH + 1]).await;
    assert_eq!(status, 413);

    // Without a Content-Length, the limit applies while the body streams in.
    let chunks = (0..40)
        .map(|_| Frame::data(Bytes::from(vec![0u8; 4096])))
        .collect();
    let client: Client<_, Chunks> = Client::builder(TokioExecutor::new()).build_http();
    let request = Request::post(&s.url)
        .header("authorization", "Bearer client-token")
        .body(Chunks(chunks))
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status().as_u16(), 413);
    s.network.shutdown().await;
}

/// A body sent in chunks, with no Content-Length.
struct Chunks(std::collections::VecDeque<Frame<Bytes>>);

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.pop_front().map(Ok))
    }
}
