//! The connector's HTTP surface with bad input: tokens, bodies, sizes, methods and paths.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Frame;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
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
const OCTETS: (&str, &str) = ("content-type", "application/octet-stream");

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
        let mut headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", *a)).collect();
        headers.push(OCTETS);
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
        let (status, body) = call(
            "POST",
            &s.url,
            &[("authorization", token), OCTETS],
            good_packet(),
        )
        .await;
        assert_eq!(
            (status, body.as_ref()),
            (401, &b"Access Denied - Invalid Token"[..]),
            "{token}"
        );
    }
    let (status, body) = call(
        "POST",
        &s.url,
        &[("authorization", "bearer client-token"), OCTETS],
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
        ("", "application/octet-stream"),
        ("accounts/client/ilp", "application/ilp+octet-stream"),
        ("ilp", "application/octet-stream; charset=binary"),
    ] {
        let headers = [AUTH, ("content-type", content_type)];
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

/// Rafiki's ILP-over-HTTP server refuses any other content type, or none, with this 400 before
/// it reads the packet (reference/rafiki.md §4.1); only the token is checked first.
#[tokio::test]
async fn other_content_types_are_400_and_move_nothing() {
    let s = setup().await;
    let expected = (
        400,
        Bytes::from_static(b"Expected Content-Type of application/octet-stream"),
    );
    for content_type in [
        Some("text/plain"),
        Some("application/json"),
        Some("application/x-www-form-urlencoded"),
        Some("octet-stream"),
        None,
    ] {
        let mut headers = vec![AUTH];
        headers.extend(content_type.map(|value| ("content-type", value)));
        assert_eq!(
            call("POST", &s.url, &headers, good_packet()).await,
            expected,
            "{content_type:?}"
        );
    }
    // An unknown token is still a 401, whatever the content type.
    let (status, _) = call(
        "POST",
        &s.url,
        &[
            ("authorization", "Bearer nope"),
            ("content-type", "text/plain"),
        ],
        good_packet(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(s.receiver.fulfilled(), 0);
    let a = s.network.instance("a").unwrap().node().instance();
    assert_eq!(a.pending_transfer_count(), 0);
    a.audit().unwrap();
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
        let (status, text) = call("POST", &s.url, &[AUTH, OCTETS], body.clone()).await;
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
    let (status, _) = call(
        "POST",
        &s.url,
        &[AUTH, OCTETS],
        vec![0x0c; MAX_PREPARE_LENGTH + 1],
    )
    .await;
    assert_eq!(status, 413);

    // Without a Content-Length, the limit applies while the body streams in.
    let chunks = (0..40)
        .map(|_| Frame::data(Bytes::from(vec![0u8; 4096])))
        .collect();
    let client: Client<_, Chunks> = Client::builder(TokioExecutor::new()).build_http();
    let request = Request::post(&s.url)
        .header("authorization", "Bearer client-token")
        .header(OCTETS.0, OCTETS.1)
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

type PooledClient = Client<HttpConnector, Full<Bytes>>;

/// A pooled keep-alive client, as peers use, holding at most one idle connection.
fn pooled_client() -> PooledClient {
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1)
        .build_http()
}

/// Status, `Connection` header and body of a POST of `body` with the client's token.
async fn post_on(client: &PooledClient, url: &str, body: Vec<u8>) -> (u16, Option<String>, Bytes) {
    let request = Request::post(url)
        .header(AUTH.0, AUTH.1)
        .header(OCTETS.0, OCTETS.1)
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let connection = response
        .headers()
        .get("connection")
        .map(|value| value.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, connection, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_413_is_followed_by_a_good_packet_on_the_same_pooled_client() {
    let s = setup().await;
    let client = pooled_client();
    for round in 0..5 {
        let (status, connection, _) =
            post_on(&client, &s.url, vec![0x0c; MAX_PREPARE_LENGTH + 1]).await;
        assert_eq!(
            (status, connection.as_deref()),
            (413, Some("close")),
            "{round}"
        );
        let (status, _, body) = post_on(&client, &s.url, good_packet()).await;
        assert_eq!(status, 200, "{round}");
        assert!(
            matches!(Reply::decode(&body), Ok(Reply::Fulfill(_))),
            "{round}"
        );
    }
    assert_eq!(s.receiver.fulfilled(), 5);
    s.network.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_body_is_followed_by_a_good_packet_on_the_same_connection() {
    let s = setup().await;
    let client = pooled_client();
    for round in 0..5 {
        let (status, connection, text) = post_on(&client, &s.url, b"garbage".to_vec()).await;
        assert_eq!((status, connection), (400, None), "{round}");
        assert!(text.starts_with(b"Invalid Packet"), "{text:?}");
        let (status, _, body) = post_on(&client, &s.url, good_packet()).await;
        assert_eq!(status, 200, "{round}");
        assert!(
            matches!(Reply::decode(&body), Ok(Reply::Fulfill(_))),
            "{round}"
        );
    }

    // The whole bad body was read, so its connection stays open for the next packet: sent on
    // one connection, without a pool to hide a reconnect.
    let addr = s.network.instance("a").unwrap().node().connector_addr();
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    for (body, expected) in [(b"garbage".to_vec(), 400), (good_packet(), 200)] {
        let request = Request::post("/")
            .header(AUTH.0, AUTH.1)
            .header(OCTETS.0, OCTETS.1)
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        // Fails if the server closed the connection after the previous answer.
        sender.ready().await.unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status().as_u16(), expected);
        response.into_body().collect().await.unwrap();
    }
    assert_eq!(s.receiver.fulfilled(), 6);
    s.network.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_before_the_body_is_read_close_the_connection_unless_there_is_no_body() {
    let s = setup().await;
    let client = pooled_client();
    let request = |token: &str, body: Vec<u8>| {
        Request::post(&s.url)
            .header("authorization", format!("Bearer {token}"))
            .header(OCTETS.0, OCTETS.1)
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    for (token, body, connection) in [
        ("nope", good_packet(), Some("close")),
        ("nope", vec![], None),
    ] {
        let response = client.request(request(token, body)).await.unwrap();
        assert_eq!(response.status().as_u16(), 401);
        assert_eq!(
            response
                .headers()
                .get("connection")
                .map(|value| value.to_str().unwrap()),
            connection
        );
    }
    s.network.shutdown().await;
}

/// Sends `bytes` on a fresh connection, optionally half-closes, and reads until the server
/// closes (or `bound` passes).
async fn raw_exchange(
    addr: std::net::SocketAddr,
    bytes: &[u8],
    half_close: bool,
    bound: Duration,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    if half_close {
        stream.shutdown().await.unwrap();
    }
    let mut answer = Vec::new();
    let read = tokio::time::timeout(bound, async {
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = stream.read(&mut chunk).await {
            answer.extend_from_slice(&chunk[..n]);
        }
    })
    .await;
    assert!(read.is_ok(), "the server did not close within {bound:?}");
    String::from_utf8_lossy(&answer).into_owned()
}

fn head_with_partial_body(declared: usize, sent: usize) -> Vec<u8> {
    let mut bytes = format!(
        "POST / HTTP/1.1\r\nhost: a\r\nauthorization: Bearer client-token\r\n\
         content-type: application/octet-stream\r\ncontent-length: {declared}\r\n\r\n"
    )
    .into_bytes();
    bytes.extend(std::iter::repeat_n(0x0c, sent));
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_cut_short_of_its_content_length_is_400() {
    let s = setup().await;
    let addr = s.network.instance("a").unwrap().node().connector_addr();
    let answer = raw_exchange(
        addr,
        &head_with_partial_body(100, 20),
        true,
        Duration::from_secs(5),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    assert_eq!(s.receiver.fulfilled(), 0);
    s.network.shutdown().await;
}
