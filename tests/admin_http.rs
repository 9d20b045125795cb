//! The admin API over real HTTP: the committed schema, routes, limits, signatures and bad input.

mod common;

use common::ServerRuntime;
use peerlab::admin;
use peerlab::config::Config;
use peerlab::ilp::Address;
use peerlab::node::Node;
use peerlab_simulator::{AdminClient, PeerSettings};
use serde_json::{Value, json};

async fn node() -> (Node, AdminClient) {
    let config = Config::for_address(Address::parse("test.admin-http").unwrap());
    let node = Node::start(config).await.unwrap();
    let client = AdminClient::new(&node.graphql_url()).unwrap();
    (node, client)
}

async fn get(url: &str) -> (u16, String) {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let response = client.get(url.parse().unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A GET's status, headers (lower-case names) and body bytes.
async fn get_full(url: &str) -> (u16, std::collections::HashMap<String, String>, Vec<u8>) {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let response = client.get(url.parse().unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body.to_vec())
}

/// Every asset the instance lists, as JSON, to compare before and after bad input.
async fn assets(client: &AdminClient) -> Value {
    client
        .request(
            "{ assets(first: 100) { edges { node { id code scale liquidity } } } }",
            json!({}),
        )
        .await
        .unwrap()
}

#[test]
fn schema_graphql_is_the_served_schema() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let served = admin::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &served).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == served,
        "schema.graphql differs from the served schema; run `UPDATE_SCHEMA=1 cargo test --test admin_http` and commit it"
    );
}

#[tokio::test]
async fn routes_health_graphiql_and_404() {
    let (node, _) = node().await;
    assert_eq!(
        get(&format!("{}/healthz", node.admin_url())).await,
        (200, "OK".into())
    );
    assert_eq!(get(&format!("{}/nope", node.admin_url())).await.0, 404);
    node.shutdown().await;
}

/// Every `src="…"` and `href="…"` value in `html`.
fn referenced_urls(html: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (start, _) in html.match_indices(attribute) {
            let rest = &html[start + attribute.len()..];
            urls.push(rest[..rest.find('"').unwrap()].to_owned());
        }
    }
    urls
}

#[tokio::test]
async fn graphiql_is_served_from_the_binary_alone() {
    let (node, _) = node().await;
    let (status, headers, page) = get_full(&node.graphql_url()).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("GraphiQL"), "{page}");
    for external in ["http://", "https://", "//"] {
        assert!(!page.contains(external), "{external} in the page:\n{page}");
    }
    let urls = referenced_urls(&page);
    let vendored = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/admin/graphiql"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("js" | "css")
            )
        })
        .collect::<Vec<_>>();
    assert_eq!(
        urls.len(),
        vendored.len(),
        "every vendored file is used: {urls:?}"
    );
    for url in urls {
        // Relative to the page at /graphql, as a browser resolves it.
        let name = url
            .strip_prefix("graphql/assets/")
            .unwrap_or_else(|| panic!("{url}"));
        let (status, headers, body) = get_full(&format!("{}/{url}", node.admin_url())).await;
        assert_eq!(status, 200, "{url}");
        let expected_type = if name.ends_with(".css") {
            "text/css; charset=utf-8"
        } else {
            "text/javascript; charset=utf-8"
        };
        assert_eq!(headers["content-type"], expected_type, "{url}");
        assert!(headers["cache-control"].contains("immutable"), "{url}");
        let on_disk = std::fs::read(format!(
            "{}/src/admin/graphiql/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        assert!(body == on_disk, "{url} differs from the vendored file");
    }
    let missing = get(&format!("{}/graphql/assets/nope.js", node.admin_url())).await;
    assert_eq!(missing.0, 404);
    node.shutdown().await;
}

#[tokio::test]
async fn malformed_requests_get_clear_errors_and_change_nothing() {
    let (node, client) = node().await;
    client.create_asset("USD", 2).await.unwrap();
    let before = assets(&client).await;

    let not_json = client.post_raw("{not json", &[]).await.unwrap();
    assert_eq!(not_json.status, 400);
    assert!(
        not_json.body.contains("not a GraphQL request"),
        "{}",
        not_json.body
    );

    let huge = client
        .post_raw(format!("{{\"query\": \"{}\"}}", "x".repeat(400_000)), &[])
        .await
        .unwrap();
    assert_eq!(huge.status, 413);

    let cases = [
        (
            "mutation { createAsset(input: {code: \"EUR\", scale: 2 }) { code ",
            "expected",
        ),
        (
            "mutation { createAsset(input: {code: \"EUR\", scale: \"abc\"}) { code } }",
            "UInt8",
        ),
        (
            "mutation { createAsset(input: {code: \"EUR\", scale: 256}) { code } }",
            "UInt8",
        ),
        (
            "mutation { createAsset(input: {code: 5, scale: 2}) { code } }",
            "String",
        ),
        (
            "mutation { createAsset(input: {scale: 2}) { code } }",
            "code",
        ),
        ("{ nope }", "Unknown field"),
    ];
    for (query, expected) in cases {
        let response = client.request(query, json!({})).await.unwrap();
        let message = response["errors"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(
            message.contains(expected),
            "{query}: expected an error about {expected}, got {response}"
        );
    }

    let long_code = "X".repeat(100_000);
    let response = client
        .request(
            "mutation($code: String!) { createAsset(input: {code: $code, scale: 2}) { code success message } }",
            json!({ "code": long_code }),
        )
        .await
        .unwrap();
    assert_eq!(
        response["data"]["createAsset"]["code"],
        json!("400"),
        "{response}"
    );

    let unknown = client
        .request("{ peer(id: \"nope\") { id } asset(id: \"00000000-0000-0000-0000-000000000000\") { id } }", json!({}))
        .await
        .unwrap();
    assert_eq!(unknown["data"], json!({ "peer": null, "asset": null }));

    assert_eq!(assets(&client).await, before, "bad input changed state");
    node.instance().audit().unwrap();
    node.shutdown().await;
}

#[tokio::test]
async fn pages_follow_rafikis_rules() {
    let (node, client) = node().await;
    let mut ids = Vec::new();
    for code in ["AAA", "BBB", "CCC"] {
        ids.push(client.create_asset(code, 2).await.unwrap());
    }
    let page = |args: &str| {
        format!(
            "{{ assets({args}) {{ pageInfo {{ startCursor endCursor hasNextPage hasPreviousPage }} edges {{ cursor node {{ code }} }} }} }}"
        )
    };
    let newest = client.request(&page("first: 2"), json!({})).await.unwrap();
    let connection = &newest["data"]["assets"];
    assert_eq!(connection["edges"][0]["node"]["code"], json!("CCC"));
    assert_eq!(connection["pageInfo"]["hasNextPage"], json!(true));
    assert_eq!(connection["pageInfo"]["endCursor"], json!(ids[1]));

    let after = client
        .request(
            &page(&format!("first: 2, after: \"{}\", sortOrder: ASC", ids[0])),
            json!({}),
        )
        .await
        .unwrap();
    let codes: Vec<&str> = after["data"]["assets"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["BBB", "CCC"]);
    assert_eq!(
        after["data"]["assets"]["pageInfo"]["hasPreviousPage"],
        json!(true)
    );

    for (args, message) in [
        ("first: 101", "Pagination index error"),
        ("last: 2", "Can't paginate backwards from the start."),
    ] {
        let response = client.request(&page(args), json!({})).await.unwrap();
        assert_eq!(
            response["errors"][0]["message"],
            json!(message),
            "{response}"
        );
    }
    node.shutdown().await;
}

/// Sent from two threads to a server on two others, so that withdrawals race for the peer's
/// liquidity in parallel, not merely interleaved on one thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_withdrawals_never_overdraw() {
    let servers = ServerRuntime::new(2);
    let (node, client) = servers.run(node()).await;
    let asset_id = client.create_asset("USD", 2).await.unwrap();
    let peer_id = client
        .create_peer(
            &PeerSettings::new("test.peer", &asset_id, "in", "http://127.0.0.1:1/")
                .name("peer")
                .liquidity(1_000),
        )
        .await
        .unwrap();
    let query = "mutation($input: CreatePeerLiquidityWithdrawalInput!) { createPeerLiquidityWithdrawal(input: $input) { success error } }";
    let before = servers.busy_times();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200u64 {
        let client = client.clone();
        let input = json!({ "input": {
            "peerId": peer_id, "amount": "7", "id": uuid::Uuid::new_v4().to_string(),
            // Half single-phase, half two-phase.
            "timeoutSeconds": if i % 2 == 0 { json!(0) } else { json!(null) },
        }});
        tasks.spawn(async move { client.request(query, input).await.unwrap() });
    }
    let mut succeeded = 0;
    while let Some(response) = tasks.join_next().await {
        let payload = &response.unwrap()["data"]["createPeerLiquidityWithdrawal"];
        if payload["success"] == json!(true) {
            succeeded += 1;
        } else {
            assert_eq!(payload["error"], json!("InsufficientBalance"), "{payload}");
        }
    }
    servers.assert_all_threads_worked_since(&before);
    assert_eq!(succeeded, 142, "1000 / 7 withdrawals fit");
    let peer = client
        .request(
            "query($id: String!) { peer(id: $id) { liquidity } }",
            json!({ "id": peer_id }),
        )
        .await
        .unwrap();
    assert_eq!(peer["data"]["peer"]["liquidity"], json!("6"));
    node.instance().audit().unwrap();
    servers.run(node.shutdown()).await;
}

fn operation(path: &str) -> String {
    let file = format!(
        "{}/fixtures/graphql/{path}.graphql",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&file).unwrap()
}

#[tokio::test]
async fn asset_lifecycle_with_rafikis_own_operations() {
    let (node, client) = node().await;
    // Bruno's CreateAsset, variables verbatim.
    let created = client
        .request(
            &operation("rafiki/CreateAsset"),
            json!({"input":{"code":"JPY","scale":6,"withdrawalThreshold":null,"liquidityThreshold":"100000000"}}),
        )
        .await
        .unwrap();
    let asset = &created["data"]["createAsset"]["asset"];
    assert_eq!(asset["liquidityThreshold"], json!("100000000"), "{created}");
    assert!(asset["createdAt"].as_str().unwrap().ends_with('Z'));
    let id = asset["id"].as_str().unwrap().to_owned();

    let found = client
        .request(
            &operation("rafiki/GetAssetByCodeAndScale"),
            json!({"code": "JPY", "scale": 6}),
        )
        .await
        .unwrap();
    assert_eq!(
        found["data"]["assetByCodeAndScale"]["id"],
        json!(id),
        "{found}"
    );
    assert_eq!(
        found["data"]["assetByCodeAndScale"]["sendingFee"],
        json!(null)
    );

    let updated = client
        .request(
            &operation("rafiki/UpdateAsset"),
            json!({"input": {"id": id, "withdrawalThreshold": 5}}),
        )
        .await
        .unwrap();
    assert_eq!(updated.get("errors"), None, "{updated}");
    let payload = &updated["data"]["updateAsset"];
    assert_eq!(payload["asset"]["withdrawalThreshold"], json!("5"));
    assert_eq!(
        payload["asset"]["liquidityThreshold"],
        json!(null),
        "left out becomes null"
    );

    client.deposit_asset_liquidity(&id, 5_000).await.unwrap();
    let withdrawal = uuid::Uuid::new_v4().to_string();
    let withdrawn = client
        .request(
            &operation("rafiki/CreateAssetLiquidityWithdrawal"),
            json!({"input": {"id": withdrawal, "assetId": id, "amount": "2000", "idempotencyKey": "w", "timeoutSeconds": 60}}),
        )
        .await
        .unwrap();
    assert_eq!(
        withdrawn["data"],
        json!({"createAssetLiquidityWithdrawal": {"success": true}}),
        "{withdrawn}"
    );
    let posted = client
        .request(
            &operation("rafiki/PostLiquidityWithdrawal"),
            json!({"input": {"withdrawalId": withdrawal, "idempotencyKey": "p"}}),
        )
        .await
        .unwrap();
    assert_eq!(
        posted["data"]["postLiquidityWithdrawal"]["success"],
        json!(true),
        "{posted}"
    );
    let liquidity = client
        .request(&operation("rafiki/GetAsset"), json!({"id": id}))
        .await
        .unwrap();
    assert_eq!(liquidity["data"]["asset"]["liquidity"], json!("3000"));

    let deleted = client
        .request(
            &operation("rafiki/DeleteAsset"),
            json!({"input": {"id": id}}),
        )
        .await
        .unwrap();
    assert_eq!(
        deleted["data"]["deleteAsset"]["asset"],
        json!({"id": id, "code": "JPY", "scale": 6}),
        "{deleted}"
    );
    let gone = client
        .request(&operation("rafiki/GetAsset"), json!({"id": id}))
        .await
        .unwrap();
    assert_eq!(gone["data"]["asset"], json!(null));
    assert_eq!(
        gone["errors"][0]["message"],
        json!("Asset not found"),
        "{gone}"
    );
    node.instance().audit().unwrap();
    node.shutdown().await;
}

/// Every asset's and every peer's liquidity, to show that a refused mutation changed nothing.
async fn balances(client: &AdminClient) -> Value {
    let peers = client
        .request(
            "{ peers(first: 100) { edges { node { id liquidity } } } }",
            json!({}),
        )
        .await
        .unwrap();
    json!({ "assets": assets(client).await, "peers": peers })
}

/// An idempotency key stands for one set of arguments. Sent again with the same key and the same
/// transfer id but one argument changed, a liquidity mutation is refused with Rafiki's message
/// (a 409 payload to a seed-era selection, an error to today's) and changes nothing; sent again
/// unchanged, it replays the first result without running again.
#[tokio::test]
async fn an_idempotency_key_with_one_argument_changed_is_refused_and_changes_nothing() {
    let (node, client) = node().await;
    let usd = client.create_asset("USD", 2).await.unwrap();
    let eur = client.create_asset("EUR", 2).await.unwrap();
    client.deposit_asset_liquidity(&usd, 10_000).await.unwrap();
    client.deposit_asset_liquidity(&eur, 10_000).await.unwrap();
    let mut peers = Vec::new();
    for (address, token) in [("test.first", "first-in"), ("test.second", "second-in")] {
        let settings = PeerSettings::new(address, &usd, token, "http://127.0.0.1:1/")
            .name(address)
            .liquidity(10_000);
        peers.push(client.create_peer(&settings).await.unwrap());
    }
    // (operation, payload field, input without id and key, one changed argument at a time)
    let cases = [
        (
            "rafiki/DepositAssetLiquidity",
            "depositAssetLiquidity",
            json!({ "assetId": usd, "amount": "70" }),
            vec![("amount", json!("80")), ("assetId", json!(eur))],
        ),
        (
            "rafiki/CreateAssetLiquidityWithdrawal",
            "createAssetLiquidityWithdrawal",
            json!({ "assetId": usd, "amount": "100" }),
            vec![
                ("amount", json!("200")),
                ("assetId", json!(eur)),
                ("timeoutSeconds", json!(0)),
                ("timeoutSeconds", json!(60)),
            ],
        ),
        (
            "rafiki/DepositPeerLiquidity",
            "depositPeerLiquidity",
            json!({ "peerId": peers[0], "amount": "70" }),
            vec![("amount", json!("80")), ("peerId", json!(peers[1]))],
        ),
        (
            "seed/CreatePeerLiquidityWithdrawal",
            "createPeerLiquidityWithdrawal",
            json!({ "peerId": peers[0], "amount": "100", "timeoutSeconds": 60 }),
            vec![
                ("amount", json!("200")),
                ("peerId", json!(peers[1])),
                ("timeoutSeconds", json!(61)),
                ("timeoutSeconds", json!(null)),
            ],
        ),
    ];
    for (fixture, field, arguments, changes) in cases {
        let key = uuid::Uuid::new_v4().to_string();
        let mut input = arguments;
        input["id"] = json!(uuid::Uuid::new_v4().to_string());
        input["idempotencyKey"] = json!(key);
        let query = operation(fixture);
        let first = client
            .request(&query, json!({ "input": input }))
            .await
            .unwrap();
        assert_eq!(first["data"][field]["success"], json!(true), "{first}");
        let after_first = balances(&client).await;
        for (argument, value) in changes {
            let mut changed = input.clone();
            changed[argument] = value;
            let refused = client
                .request(&query, json!({ "input": changed }))
                .await
                .unwrap();
            let message = format!(
                "Incoming arguments are different than the original request for idempotencyKey: {key}"
            );
            if fixture.starts_with("seed/") {
                let payload = &refused["data"][field];
                assert_eq!(
                    (&payload["code"], &payload["success"], &payload["message"]),
                    (&json!("409"), &json!(false), &json!(message)),
                    "{field} with another {argument}: {refused}"
                );
            } else {
                // Today's Rafiki throws it without a code, which Apollo reports as this one.
                assert_eq!(
                    (
                        &refused["data"],
                        &refused["errors"][0]["message"],
                        &refused["errors"][0]["extensions"]["code"]
                    ),
                    (
                        &json!({ field: null }),
                        &json!(message),
                        &json!("INTERNAL_SERVER_ERROR")
                    ),
                    "{field} with another {argument}: {refused}"
                );
            }
            assert_eq!(
                balances(&client).await,
                after_first,
                "{field} with another {argument} changed state"
            );
        }
        let replayed = client
            .request(&query, json!({ "input": input }))
            .await
            .unwrap();
        assert_eq!(replayed["data"][field], first["data"][field], "{field}");
        assert_eq!(balances(&client).await, after_first, "{field} ran twice");
    }
    node.instance().audit().unwrap();
    node.shutdown().await;
}

/// Rafiki v2's operator tenant, as its localenv names it.
const TENANT: &str = "438fa74a-fa7d-4317-9ced-dde32ece1787";

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

async fn node_with_auth(
    secret: Option<&str>,
    tenant: Option<&str>,
    policy: admin::signature::SignaturePolicy,
) -> (Node, AdminClient) {
    let mut config = Config::for_address(Address::parse("test.admin-auth").unwrap());
    config.api_secret = secret.map(str::to_owned);
    config.operator_tenant_id = tenant.map(|t| t.parse().unwrap());
    config.signature_policy = policy;
    let node = Node::start(config).await.unwrap();
    let client = AdminClient::new(&node.graphql_url()).unwrap();
    (node, client)
}

/// A request as Rafiki's clients send it: `{query, variables, operationName}`.
fn list_assets() -> Value {
    json!({
        "query": "query ListAssets { assets(first: 1) { edges { cursor } } }",
        "variables": {},
        "operationName": "ListAssets",
    })
}

/// Asserts an HTTP 401 in peerlab's shape for it, mentioning `reason`.
fn assert_unauthorized(response: &peerlab_simulator::client::RawResponse, reason: &str) {
    assert_eq!(response.status, 401, "{}", response.body);
    let body: Value = serde_json::from_str(&response.body).unwrap();
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Unauthorized: ") && message.contains(reason),
        "expected a refusal about {reason:?}, got {body}"
    );
}

#[tokio::test]
async fn admin_requests_are_authenticated_as_rafiki_v2_does() {
    // A TTL and a version other than Rafiki's defaults, so that both are seen to be read.
    let policy = admin::signature::SignaturePolicy {
        ttl_seconds: 120,
        version: 2,
    };
    let (node, client) = node_with_auth(Some("s3cret"), Some(TENANT), policy).await;
    let body = list_assets();
    let send = |signature: String, tenant: Option<&'static str>| {
        let client = client.clone();
        let body = body.to_string();
        async move {
            let mut headers = vec![("signature", signature.as_str())];
            if let Some(tenant) = tenant {
                headers.push(("tenant-id", tenant));
            }
            client.post_raw(body, &headers).await.unwrap()
        }
    };
    let sign = |version: u32, age_ms: u64| {
        admin::signature::sign_with_version("s3cret", version, now_ms() - age_ms, &body)
    };

    let accepted = sign(2, 0);
    let response = send(accepted.clone(), Some(TENANT)).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(response.body.contains("\"assets\""), "{}", response.body);

    // The same signature again, even a moment later, is a replay.
    assert_unauthorized(
        &send(accepted, Some(TENANT)).await,
        "signature was already used",
    );
    // The right HMAC under Rafiki's default label v1 is not this instance's version.
    assert_unauthorized(
        &send(sign(1, 0), Some(TENANT)).await,
        "unsupported signature version v1 (expected v2)",
    );
    // 90 s old: refused by Rafiki's default TTL of 30 s, accepted under this one of 120 s.
    let response = send(sign(2, 90_000), Some(TENANT)).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_unauthorized(
        &send(sign(2, 125_000), Some(TENANT)).await,
        "more than 120 seconds",
    );
    // The tenant: missing, another one, not a UUID; the right one in capitals is the same UUID.
    assert_unauthorized(&send(sign(2, 0), None).await, "missing tenant-id header");
    for other in ["0f3e9b52-4a4e-4a61-8a64-6a4c5a1f2b11", "operator"] {
        let response = client
            .post_raw(
                body.to_string(),
                &[("signature", &sign(2, 0)), ("tenant-id", other)],
            )
            .await
            .unwrap();
        assert_unauthorized(&response, "does not name this instance's operator tenant");
    }
    let upper = TENANT.to_ascii_uppercase();
    let response = client
        .post_raw(
            body.to_string(),
            &[("signature", &sign(2, 0)), ("tenant-id", &upper)],
        )
        .await
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.body);

    // The harness's client, told the version and the tenant, is served; without the tenant, not.
    let harness = client
        .clone()
        .signed_with(Some("s3cret".into()))
        .signature_version(2);
    let refused = harness
        .request("{ assets { edges { cursor } } }", json!({}))
        .await;
    assert!(
        matches!(
            &refused,
            Err(peerlab_simulator::client::ClientError::Status { status: 401, .. })
        ),
        "{refused:?}"
    );
    let served = harness
        .with_tenant_id(Some(TENANT.into()))
        .request("{ assets { edges { cursor } } }", json!({}))
        .await
        .unwrap();
    assert_eq!(served["data"]["assets"]["edges"], json!([]), "{served}");
    node.shutdown().await;
}

#[tokio::test]
async fn without_a_secret_only_the_tenant_is_checked() {
    let (tenanted, client) = node_with_auth(
        None,
        Some(TENANT),
        admin::signature::SignaturePolicy::default(),
    )
    .await;
    let body = list_assets().to_string();
    let unsigned = client
        .post_raw(body.clone(), &[("tenant-id", TENANT)])
        .await
        .unwrap();
    assert_eq!(unsigned.status, 200, "{}", unsigned.body);
    assert_unauthorized(
        &client.post_raw(body, &[]).await.unwrap(),
        "missing tenant-id header",
    );
    tenanted.shutdown().await;

    // With no operator tenant either, any tenant-id header is accepted and ignored.
    let (node, client) = node().await;
    let response = client
        .post_raw(list_assets().to_string(), &[("tenant-id", "anything")])
        .await
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.body);
    node.shutdown().await;
}

#[tokio::test]
async fn the_harness_drives_an_instance_that_requires_signature_and_tenant() {
    let spec = peerlab_simulator::topology::InstanceSpec {
        api_secret: Some("s3cret".into()),
        operator_tenant_id: Some(TENANT.into()),
        ..peerlab_simulator::topology::InstanceSpec::new("a", "test.a")
    };
    let network = peerlab_simulator::Network::start(&[spec]).await.unwrap();
    let a = network.instance("a").unwrap();
    a.admin().create_asset("USD", 2).await.unwrap();
    // The same instance refuses a client that does not send the tenant.
    let bare = AdminClient::new(&a.node().graphql_url())
        .unwrap()
        .signed_with(Some("s3cret".into()));
    let refused = bare.create_asset("EUR", 2).await;
    assert!(
        matches!(
            &refused,
            Err(peerlab_simulator::client::ClientError::Status { status: 401, .. })
        ),
        "{refused:?}"
    );
    network.shutdown().await;
}
