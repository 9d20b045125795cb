//! The admin API against careless and hostile clients: introspection allowed while deep, costly
//! and aliased requests are refused before they run; no batching; a response cap; JSON-only POSTs
//! (no cross-site mutations); bounded idempotency keys.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use peerlab::admin::http::{BATCHING_MESSAGE, CSRF_MESSAGE};
use peerlab::config::Config;
use peerlab::ilp::Address;
use peerlab::node::Node;
use peerlab_simulator::{AdminClient, PeerSettings};
use serde_json::{Value, json};

async fn node() -> (Node, AdminClient) {
    let config = Config::for_address(Address::parse("test.admin-guard").unwrap());
    let node = Node::start(config).await.unwrap();
    let client = AdminClient::new(&node.graphql_url()).unwrap();
    (node, client)
}

/// Posts `body` to `url` with exactly the given headers (no content type unless given).
async fn post(url: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> (u16, Value) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut request = hyper::Request::post(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client
        .request(request.body(Full::new(body.into())).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    (status, json)
}

/// Posts a GraphQL request as JSON and answers the status and the body.
async fn graphql(node: &Node, query: &str, variables: Value) -> (u16, Value) {
    let body = json!({ "query": query, "variables": variables }).to_string();
    post(
        &node.graphql_url(),
        &[("content-type", "application/json")],
        body,
    )
    .await
}

fn first_error(response: &Value) -> (&str, &str) {
    let error = &response["errors"][0];
    (
        error["message"].as_str().unwrap_or_default(),
        error["extensions"]["code"].as_str().unwrap_or_default(),
    )
}

/// The process's resident memory, in bytes.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .unwrap();
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}

#[tokio::test]
async fn introspection_is_exempt_while_deep_or_aliased_requests_are_refused() {
    let (node, _) = node().await;
    // 13 levels, all introspection: what GraphiQL and codegen send is of this kind.
    let introspection = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } }";
    let (status, answer) = graphql(&node, introspection, json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["data"]["__schema"]["types"].is_array(), "{answer}");

    // 11 levels of selections: refused before validation, as Apollo Server does (HTTP 400).
    let nested: String = (0..10).map(|i| format!("f{i} {{ ")).collect();
    let deep = format!("{{ {nested} x {} }}", "} ".repeat(10));
    let (status, answer) = graphql(&node, &deep, json!({})).await;
    assert_eq!(status, 400, "{answer}");
    let (message, code) = first_error(&answer);
    assert!(message.contains("too deep"), "{answer}");
    assert_eq!(code, "GRAPHQL_VALIDATION_FAILED");

    // Introspection lists nested three times (graphql-js's MaxIntrospectionDepthRule).
    let lists =
        "{ __type(name: \"Peer\") { fields { type { fields { type { fields { name } } } } } } }";
    let (status, answer) = graphql(&node, lists, json!({})).await;
    assert_eq!(
        (status, first_error(&answer).0),
        (400, "Maximum introspection depth exceeded")
    );

    let aliases: String = (0..31).map(|i| format!("a{i}: __typename ")).collect();
    let (status, answer) = graphql(&node, &format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        first_error(&answer).0.contains("Too many aliases"),
        "{answer}"
    );
    node.shutdown().await;
}

const PEER_FIELDS: &str = "edges { node { id name staticIlpAddress asset { code } } }";

/// `aliases` copies of a page of `first` peers, as one selection.
fn aliased_peers(aliases: usize, first: &str) -> String {
    (0..aliases)
        .map(|i| format!("p{i}: peers(first: {first}) {{ {PEER_FIELDS} }} "))
        .collect()
}

#[tokio::test]
async fn page_sizes_multiply_the_cost() {
    let (node, _) = node().await;
    // Each copy costs 1 + 100 x 7 = 701: eight of them are over 5000; with first: 10, 568.
    let (status, answer) = graphql(
        &node,
        &format!("{{ {} }}", aliased_peers(8, "100")),
        json!({}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(first_error(&answer).0.contains("too complex"), "{answer}");
    let (status, answer) = graphql(
        &node,
        &format!("{{ {} }}", aliased_peers(8, "10")),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["data"]["p7"]["edges"].is_array(), "{answer}");
    // The size may come in a variable.
    let (status, answer) = graphql(
        &node,
        &format!("query($n: Int) {{ {} }}", aliased_peers(8, "$n")),
        json!({ "n": 100 }),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    // No size: a page of 20, so 8 x 141 passes.
    let (status, answer) = graphql(
        &node,
        &format!(
            "{{ {} }}",
            (0..8)
                .map(|i| format!("p{i}: peers {{ {PEER_FIELDS} }} "))
                .collect::<String>()
        ),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    node.shutdown().await;
}

#[tokio::test]
async fn amplification_is_refused_at_once_and_memory_stays_flat() {
    let (node, client) = node().await;
    let asset = client.create_asset("USD", 2).await.unwrap();
    for i in 0..100 {
        client
            .create_peer(&PeerSettings::new(
                format!("test.peer{i}"),
                &asset,
                format!("token-{i}"),
                "http://127.0.0.1:1/",
            ))
            .await
            .unwrap();
    }
    let rss_before = resident_bytes();

    // One query of ~240 KB of aliased pages: too many tokens to be worth parsing.
    let query = format!("{{ {} }}", aliased_peers(2_600, "100"));
    assert!(query.len() > 200_000, "{}", query.len());
    let (status, answer) = graphql(&node, &query, json!({})).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        first_error(&answer),
        (
            "Syntax Error: Document contains more than 2000 tokens. Parsing aborted.",
            "GRAPHQL_VALIDATION_FAILED"
        )
    );
    // Under the token limit, 60 aliased pages are refused for their aliases.
    let (status, answer) = graphql(
        &node,
        &format!("{{ {} }}", aliased_peers(60, "100")),
        json!({}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        first_error(&answer).0.contains("Too many aliases"),
        "{answer}"
    );

    // The same amount as a batch of requests each within the limits (7 x 701 <= 5000): one alone
    // runs, the batch is refused as Apollo Server 4 refuses batches by default.
    let item = json!({ "query": format!("{{ {} }}", aliased_peers(7, "100")) });
    let (status, alone) = post(
        &node.graphql_url(),
        &[("content-type", "application/json")],
        item.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{alone}");
    assert_eq!(alone["data"]["p6"]["edges"].as_array().unwrap().len(), 100);
    let batch = Value::Array(vec![item; 340]).to_string();
    assert!(batch.len() > 200_000, "{}", batch.len());
    let (status, answer) = post(
        &node.graphql_url(),
        &[("content-type", "application/json")],
        batch,
    )
    .await;
    assert_eq!(
        (status, first_error(&answer)),
        (400, (BATCHING_MESSAGE, "BAD_REQUEST")),
        "{answer}"
    );

    let growth = resident_bytes().saturating_sub(rss_before);
    assert!(
        growth < 50 * 1024 * 1024,
        "resident memory grew by {} MiB",
        growth / (1024 * 1024)
    );
    node.shutdown().await;
}

#[tokio::test]
async fn an_oversized_response_is_replaced_by_an_error() {
    let (node, client) = node().await;
    let asset = client.create_asset("USD", 2).await.unwrap();
    // Two peers with 200 routes of ~1 KB each: 16 pages of them are 6 MB, at a cost of 4816.
    for peer in 0..2 {
        let routes: Vec<String> = (0..200)
            .map(|i| format!("test.r{peer}x{i}.{}", "x".repeat(1_000)))
            .collect();
        client
            .create_peer(
                &PeerSettings::new(
                    format!("test.wide{peer}"),
                    &asset,
                    format!("t{peer}"),
                    "http://127.0.0.1:1/",
                )
                .routes(&routes),
            )
            .await
            .unwrap();
    }
    let pages: String = (0..16)
        .map(|i| format!("p{i}: peers(first: 100) {{ edges {{ node {{ routes }} }} }} "))
        .collect();
    let (status, answer) = graphql(&node, &format!("{{ {pages} }}"), json!({})).await;
    assert_eq!(status, 200);
    let (message, code) = first_error(&answer);
    assert_eq!(code, "RESPONSE_TOO_LARGE", "{message}");
    assert!(message.contains("4194304 bytes"), "{message}");
    assert_eq!(answer.get("data"), None);
    // A smaller answer still comes through.
    let (status, answer) = graphql(
        &node,
        "{ peers(first: 100) { edges { node { routes } } } }",
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        answer["data"]["peers"]["edges"].as_array().unwrap().len(),
        2
    );
    node.shutdown().await;
}

#[tokio::test]
async fn cross_site_posts_are_refused_before_they_run() {
    let (node, client) = node().await;
    let asset = client.create_asset("USD", 2).await.unwrap();
    let peer = client
        .create_peer(
            &PeerSettings::new("test.victim", &asset, "in", "http://127.0.0.1:1/").liquidity(1_000),
        )
        .await
        .unwrap();
    let liquidity = || async {
        client
            .request(
                "query($id: String!) { peer(id: $id) { liquidity } }",
                json!({ "id": peer }),
            )
            .await
            .unwrap()["data"]["peer"]["liquidity"]
            .clone()
    };
    // What a page on another origin can make a browser send: a single-phase withdrawal.
    let withdraw = || {
        json!({
            "query": "mutation($input: CreatePeerLiquidityWithdrawalInput!) { createPeerLiquidityWithdrawal(input: $input) { success } }",
            "variables": { "input": {
                "id": uuid::Uuid::new_v4().to_string(), "peerId": peer, "amount": "600", "timeoutSeconds": 0
            }},
        })
        .to_string()
    };
    let url = node.graphql_url();
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let headers: Vec<(&str, &str)> = content_type
            .iter()
            .map(|value| ("content-type", *value))
            .collect();
        let (status, answer) = post(&url, &headers, withdraw()).await;
        assert_eq!(
            (status, first_error(&answer)),
            (400, (CSRF_MESSAGE, "BAD_REQUEST")),
            "{content_type:?}: {answer}"
        );
        // An empty preflight header does not count.
        let mut with_empty = headers.clone();
        with_empty.push(("apollo-require-preflight", ""));
        let (status, answer) = post(&url, &with_empty, withdraw()).await;
        assert_eq!((status, first_error(&answer).0), (400, CSRF_MESSAGE));
        // With a header that forces a preflight it is no CSRF, but still not JSON.
        let mut preflighted = headers.clone();
        preflighted.push(("apollo-require-preflight", "true"));
        let (status, answer) = post(&url, &preflighted, withdraw()).await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            first_error(&answer)
                .0
                .starts_with("Expected Content-Type of application/json"),
            "{answer}"
        );
    }
    for other in ["application/xml", "application/graphql", "nonsense"] {
        let (status, answer) = post(&url, &[("content-type", other)], withdraw()).await;
        assert_eq!(status, 400, "{other}: {answer}");
        assert!(
            first_error(&answer).0.contains("application/json"),
            "{answer}"
        );
    }
    assert_eq!(liquidity().await, json!("1000"), "a refused request ran");

    let (status, answer) = post(
        &url,
        &[("content-type", "application/json; charset=utf-8")],
        withdraw(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["data"]["createPeerLiquidityWithdrawal"]["success"],
        json!(true),
        "{answer}"
    );
    assert_eq!(liquidity().await, json!("400"));
    node.instance().audit().unwrap();
    node.shutdown().await;
}

#[tokio::test]
async fn overlong_idempotency_keys_are_refused_and_change_nothing() {
    let (node, client) = node().await;
    let asset = client.create_asset("USD", 2).await.unwrap();
    let deposit = |key: String| {
        let client = client.clone();
        let asset = asset.clone();
        async move {
            client
                .request(
                    "mutation($input: DepositAssetLiquidityInput!) { depositAssetLiquidity(input: $input) { code success message } }",
                    json!({ "input": {
                        "id": uuid::Uuid::new_v4().to_string(), "assetId": asset, "amount": "5",
                        "idempotencyKey": key,
                    }}),
                )
                .await
                .unwrap()["data"]["depositAssetLiquidity"]
                .clone()
        }
    };
    let refused = deposit("k".repeat(256)).await;
    assert_eq!(
        (&refused["code"], &refused["success"]),
        (&json!("400"), &json!(false)),
        "{refused}"
    );
    assert_eq!(
        refused["message"],
        json!("idempotencyKey is too long: 256 characters, at most 255")
    );
    let liquidity = || async {
        client
            .request(
                "query($id: String!) { asset(id: $id) { liquidity } }",
                json!({ "id": asset }),
            )
            .await
            .unwrap()["data"]["asset"]["liquidity"]
            .clone()
    };
    assert_eq!(liquidity().await, json!("0"));
    let accepted = deposit("k".repeat(255)).await;
    assert_eq!(accepted["success"], json!(true), "{accepted}");
    assert_eq!(liquidity().await, json!("5"));
    node.shutdown().await;
}
