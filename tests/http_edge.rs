//! The HTTP edge every listener of an instance shares (connector, admin API, auto-peering):
//! header and body read timeouts, the connection cap, and `Connection: close` on answers given
//! before the request body was read, tried with raw sockets and a pooled client.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use peerlab::config::Config;
use peerlab::http_server::ServerSettings;
use peerlab::ilp::Address;
use peerlab::node::Node;
use peerlab_simulator::{AdminClient, PeerSettings};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Short timeouts, so that the tests wait for them in well under a second.
const TIMEOUT: Duration = Duration::from_millis(300);
/// How long past a timeout the server may take to act on it, on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(1700);

async fn start(http: ServerSettings) -> Node {
    let mut config = Config::for_address(Address::parse("test.edge").unwrap());
    config.enable_auto_peering = true;
    config.http = http;
    Node::start(config).await.unwrap()
}

/// A node with short timeouts, a USD asset and a peer whose incoming token is `client-token`.
async fn node_with_a_peer() -> Node {
    let node = start(ServerSettings {
        header_read_timeout: TIMEOUT,
        body_read_timeout: TIMEOUT,
        ..ServerSettings::default()
    })
    .await;
    let admin = AdminClient::new(&node.graphql_url()).unwrap();
    let asset = admin.create_asset("USD", 2).await.unwrap();
    admin
        .create_peer(&PeerSettings::new(
            "test.client",
            &asset,
            "client-token",
            "http://127.0.0.1:9/",
        ))
        .await
        .unwrap();
    node
}

fn addr_of(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap()
}

/// One of an instance's listeners, as the tests reach it.
struct Listener {
    name: &'static str,
    addr: SocketAddr,
    /// The head of a POST with this `content-length` whose body the listener reads.
    post_head: fn(usize) -> String,
}

fn listeners(node: &Node) -> [Listener; 3] {
    [
        Listener {
            name: "connector",
            addr: node.connector_addr(),
            post_head: |length| {
                format!(
                    "POST / HTTP/1.1\r\nhost: edge\r\nauthorization: Bearer client-token\r\n\
                     content-type: application/octet-stream\r\ncontent-length: {length}\r\n\r\n"
                )
            },
        },
        Listener {
            name: "admin",
            addr: addr_of(&node.admin_url()),
            post_head: |length| {
                format!(
                    "POST /graphql HTTP/1.1\r\nhost: edge\r\ncontent-type: application/json\r\n\
                     content-length: {length}\r\n\r\n"
                )
            },
        },
        Listener {
            name: "auto-peering",
            addr: addr_of(&node.auto_peering_url().unwrap()),
            post_head: |length| {
                format!(
                    "POST / HTTP/1.1\r\nhost: edge\r\ncontent-type: application/json\r\n\
                     content-length: {length}\r\n\r\n"
                )
            },
        },
    ]
}

/// Reads from `stream` until the server closes it (end of stream or reset), within `bound`.
async fn read_until_closed(stream: &mut TcpStream, bound: Duration) -> Option<String> {
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(bound, async {
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = stream.read(&mut chunk).await {
            answer.extend_from_slice(&chunk[..n]);
        }
    })
    .await;
    closed
        .ok()
        .map(|()| String::from_utf8_lossy(&answer).into_owned())
}

/// Sends `bytes` on a new connection and waits for the server to close it: what it answered
/// and how long it took, or `None` when it stayed open past `TIMEOUT + SLACK`.
async fn send_and_wait_for_close(addr: SocketAddr, bytes: &[u8]) -> Option<(String, Duration)> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let sent = Instant::now();
    stream.write_all(bytes).await.unwrap();
    let answer = read_until_closed(&mut stream, TIMEOUT + SLACK).await?;
    Some((answer, sent.elapsed()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_headers_then_silence_are_closed_within_the_header_timeout() {
    let node = node_with_a_peer().await;
    for Listener { name, addr, .. } in listeners(&node) {
        let partial = b"POST / HTTP/1.1\r\nhost: edge\r\ncontent-le";
        let Some((answer, took)) = send_and_wait_for_close(addr, partial).await else {
            panic!("{name}: a connection with partial headers stayed open");
        };
        assert!(
            took >= TIMEOUT - Duration::from_millis(50),
            "{name}: {took:?}"
        );
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408 "),
            "{name}: {answer}"
        );
    }
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let node = node_with_a_peer().await;
    for Listener { name, addr, .. } in listeners(&node) {
        let request = b"GET /healthz HTTP/1.1\r\nhost: edge\r\n\r\n";
        let Some((answer, took)) = send_and_wait_for_close(addr, request).await else {
            panic!("{name}: an idle keep-alive connection stayed open");
        };
        // Answered at once (each listener has its own answer to this GET), closed once idle.
        assert!(answer.starts_with("HTTP/1.1 "), "{name}: {answer}");
        assert!(!answer.contains("connection: close"), "{name}: {answer}");
        assert!(
            took >= TIMEOUT - Duration::from_millis(50),
            "{name}: {took:?}"
        );
    }
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_answered_408_within_the_body_timeout() {
    let node = node_with_a_peer().await;
    for Listener {
        name,
        addr,
        post_head,
    } in listeners(&node)
    {
        let mut request = post_head(100).into_bytes();
        request.extend_from_slice(&[b'{'; 20]);
        let Some((answer, took)) = send_and_wait_for_close(addr, &request).await else {
            panic!("{name}: a connection with a stalled body stayed open");
        };
        assert!(answer.starts_with("HTTP/1.1 408 "), "{name}: {answer}");
        assert!(answer.contains("connection: close"), "{name}: {answer}");
        assert!(
            took >= TIMEOUT - Duration::from_millis(50),
            "{name}: {took:?}"
        );
    }
    node.shutdown().await;
}

/// Sends a GET on an open connection and returns the first bytes answered, if any arrive
/// within `bound`.
async fn get_on(stream: &mut TcpStream, bound: Duration) -> Option<String> {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: edge\r\n\r\n")
        .await
        .unwrap();
    read_some(stream, bound).await
}

async fn read_some(stream: &mut TcpStream, bound: Duration) -> Option<String> {
    let mut chunk = [0u8; 4096];
    match tokio::time::timeout(bound, stream.read(&mut chunk)).await {
        Ok(Ok(n @ 1..)) => Some(String::from_utf8_lossy(&chunk[..n]).into_owned()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_holds_the_next_connection_until_one_closes() {
    // Long timeouts: the connections holding the slots must not be closed as idle meanwhile.
    let node = start(ServerSettings {
        max_connections: 2,
        header_read_timeout: Duration::from_secs(10),
        body_read_timeout: Duration::from_secs(10),
    })
    .await;
    for Listener { name, addr, .. } in listeners(&node) {
        let mut first = TcpStream::connect(addr).await.unwrap();
        let mut second = TcpStream::connect(addr).await.unwrap();
        for stream in [&mut first, &mut second] {
            let answer = get_on(stream, Duration::from_secs(2)).await;
            assert!(answer.is_some_and(|a| a.starts_with("HTTP/1.1 ")), "{name}");
        }
        // The third connection is made (the kernel queues it) but not served...
        let mut third = TcpStream::connect(addr).await.unwrap();
        assert_eq!(get_on(&mut third, TIMEOUT).await, None, "{name}");
        // ...until a slot frees up; then its waiting request is answered.
        drop(first);
        let answer = read_some(&mut third, Duration::from_secs(2)).await;
        assert!(answer.is_some_and(|a| a.starts_with("HTTP/1.1 ")), "{name}");
        // The second connection still works.
        let answer = get_on(&mut second, Duration::from_secs(2)).await;
        assert!(answer.is_some_and(|a| a.starts_with("HTTP/1.1 ")), "{name}");
    }
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_router_request_is_followed_by_a_good_one_on_the_same_pooled_client() {
    let node = node_with_a_peer().await;
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1)
        .build_http();
    let peering = json!({
        "staticIlpAddress": "test.other",
        "ilpConnectorUrl": "http://127.0.0.1:9/",
        "asset": { "code": "USD", "scale": 2 },
        "httpToken": "other-token",
    })
    .to_string();
    let url = node.auto_peering_url().unwrap();
    for round in 0..5 {
        // Far larger than the auto-peering server reads (16 KiB): refused part-way through.
        let request = Request::post(&url)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(vec![b' '; 200 * 1024])))
            .unwrap();
        let response = client.request(request).await.unwrap();
        assert_eq!(response.status().as_u16(), 413, "{round}");
        assert_eq!(
            response.headers().get("connection").unwrap(),
            "close",
            "{round}"
        );
        response.into_body().collect().await.unwrap();

        let request = Request::post(&url)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(peering.clone())))
            .unwrap();
        let response = client.request(request).await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{round}");
        // The whole body was read: the connection stays open.
        assert_eq!(response.headers().get("connection"), None, "{round}");
        response.into_body().collect().await.unwrap();
    }
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_router_refusal_before_the_body_is_complete_closes_the_connection() {
    let node = node_with_a_peer().await;
    // The body can never be complete: 17 KiB of a declared 20 KiB, past the 16 KiB the
    // auto-peering server reads.
    let [_, _, auto_peering] = listeners(&node);
    let mut request = (auto_peering.post_head)(20 * 1024).into_bytes();
    request.extend(std::iter::repeat_n(b' ', 17 * 1024));
    let Some((answer, took)) = send_and_wait_for_close(auto_peering.addr, &request).await else {
        panic!("the connection stayed open after the refusal");
    };
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    assert!(
        took < TIMEOUT,
        "closed by the refusal, not a timeout: {took:?}"
    );
    node.shutdown().await;
}
