//! What the benches share: the bare hyper server they measure against and forward to, and the
//! one ILP-over-HTTP POST their load clients send.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A bare hyper HTTP/1.1 server: echoes the body, or answers `fixed` when given.
pub async fn bare_server(fixed: Option<Bytes>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let fixed = fixed.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                    let fixed = fixed.clone();
                    async move {
                        let body = request.into_body().collect().await?.to_bytes();
                        Ok::<_, hyper::Error>(Response::new(Full::new(fixed.unwrap_or(body))))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// POSTs `body` to `url` with `authorization` (a whole `Bearer ...` value) as ILP-over-HTTP does;
/// the answer must be an HTTP success whose body starts with `reply_type` (13 a Fulfill, 12 an
/// echoed Prepare).
pub async fn post_packet(
    client: &Client<HttpConnector, Full<Bytes>>,
    url: &str,
    authorization: &str,
    body: Bytes,
    reply_type: u8,
) {
    let request = Request::post(url)
        .header("authorization", authorization)
        .header("content-type", "application/octet-stream")
        .body(Full::new(body))
        .expect("request");
    let response = client.request(request).await.expect("answer");
    assert!(response.status().is_success(), "HTTP {}", response.status());
    let reply = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(
        reply.first(),
        Some(&reply_type),
        "unexpected reply {reply:02x?}"
    );
}
