//! The admin API's two dialects over real HTTP (design.md, "The admin API dialect"): every
//! operation under `fixtures/graphql/rafiki/` (today's Rafiki operations, which select neither
//! `code` nor `message`) run for success and for each refusal it can meet, answered as Rafiki v2
//! answers (a GraphQL error at the field's path with its message and `extensions.code`, `data`
//! as Apollo Server shapes it); the same refusals through `fixtures/graphql/seed/` as the seed
//! era's payloads; and `ADMIN_API_DIALECT` forcing either way.

use peerlab::admin::dialect::DialectSetting;
use peerlab::config::Config;
use peerlab::ilp::Address;
use peerlab::node::Node;
use peerlab_simulator::client::ClientError;
use peerlab_simulator::topology::InstanceSpec;
use peerlab_simulator::{AdminClient, Network, PeerSettings};
use serde_json::{Value, json};

/// The mutations and queries whose schema type is nullable (reference/rafiki.md §1.1): refused
/// today's way, their field is null beside the error. A refused non-null one makes `data` null.
const NULLABLE: [&str; 12] = [
    "addPeerLiquidity",
    "depositPeerLiquidity",
    "addAssetLiquidity",
    "depositAssetLiquidity",
    "createPeerLiquidityWithdrawal",
    "createAssetLiquidityWithdrawal",
    "postLiquidityWithdrawal",
    "voidLiquidityWithdrawal",
    "peer",
    "asset",
    "peerByAddressAndAsset",
    "assetByCodeAndScale",
];

fn fixture(path: &str) -> String {
    let file = format!(
        "{}/fixtures/graphql/{path}.graphql",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// An instance's admin API, with the assertions every case makes.
struct Admin {
    client: AdminClient,
}

impl Admin {
    async fn start(dialect: DialectSetting) -> (Node, Self) {
        let mut config = Config::for_address(Address::parse("test.dialect").unwrap());
        config.admin_api_dialect = dialect;
        let node = Node::start(config).await.unwrap();
        let client = AdminClient::new(&node.graphql_url()).unwrap();
        (node, Self { client })
    }

    /// Sends a fixture; the admin API answers HTTP 200 (as Apollo Server does for these).
    async fn run(&self, fixture_path: &str, variables: Value) -> Value {
        self.client
            .request(&fixture(fixture_path), variables)
            .await
            .unwrap_or_else(|e| panic!("{fixture_path}: {e}"))
    }

    /// Runs a fixture that must succeed; returns `data`.
    async fn ok(&self, fixture_path: &str, variables: Value) -> Value {
        let response = self.run(fixture_path, variables).await;
        assert_eq!(response.get("errors"), None, "{fixture_path}: {response}");
        response["data"].clone()
    }

    /// Runs a fixture that must be refused today's way: one error, at `field`'s path, with
    /// `message` and `code`, and `data` as Apollo Server shapes it.
    async fn refused(
        &self,
        fixture_path: &str,
        variables: Value,
        field: &str,
        (message, code): (&str, &str),
    ) -> Value {
        let response = self.run(fixture_path, variables).await;
        assert_todays_refusal(&response, field, message, code);
        response
    }

    /// Runs a fixture that must be refused the seed era's way: `data` is exactly `{field:
    /// payload}`, with no error.
    async fn refused_as_payload(
        &self,
        fixture_path: &str,
        variables: Value,
        field: &str,
        payload: Value,
    ) {
        let response = self.run(fixture_path, variables).await;
        assert_eq!(
            response,
            json!({ "data": { field: payload } }),
            "{fixture_path}"
        );
    }

    /// A fresh asset; returns its id.
    async fn asset(&self, code: &str) -> String {
        self.client.create_asset(code, 2).await.unwrap()
    }

    /// A fresh peer at `address` in `asset` granted `liquidity`; returns its id.
    async fn peer(&self, address: &str, asset: &str, liquidity: u64) -> String {
        let settings = PeerSettings::new(address, asset, format!("{address}-token"), ENDPOINT)
            .liquidity(liquidity);
        self.client.create_peer(&settings).await.unwrap()
    }

    async fn peer_liquidity(&self, id: &str) -> Value {
        self.ok("rafiki/GetPeer", json!({ "id": id })).await["peer"]["liquidity"].clone()
    }

    async fn asset_liquidity(&self, id: &str) -> Value {
        self.ok("rafiki/GetAsset", json!({ "id": id })).await["asset"]["liquidity"].clone()
    }
}

const ENDPOINT: &str = "http://127.0.0.1:9/";

fn assert_todays_refusal(response: &Value, field: &str, message: &str, code: &str) {
    let errors = response["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{field}: no errors in {response}"));
    assert_eq!(errors.len(), 1, "{field}: {response}");
    assert_eq!(
        (
            &errors[0]["message"],
            &errors[0]["extensions"]["code"],
            &errors[0]["path"]
        ),
        (&json!(message), &json!(code), &json!([field])),
        "{field}: {response}"
    );
    let data = if NULLABLE.contains(&field) {
        json!({ field: null })
    } else {
        Value::Null
    };
    assert_eq!(response["data"], data, "{field}: {response}");
}

/// A seed-era liquidity payload refusing with `code`, `message` and `error`.
fn liquidity_payload(code: &str, message: &str, error: &str) -> Value {
    json!({ "code": code, "success": false, "message": message, "error": error })
}

fn create_peer_input(address: &str, asset: &str, token: &str) -> Value {
    json!({
        "name": "Wallet1",
        "staticIlpAddress": address,
        "http": {
            "incoming": { "authTokens": [token] },
            "outgoing": { "endpoint": "http://peer-backend:3002", "authToken": "test123abc" },
        },
        "assetId": asset,
        "maxPacketAmount": 1000,
        "liquidityThreshold": 100000000,
        "initialLiquidity": 200000000,
    })
}

#[tokio::test]
async fn todays_asset_operations_are_answered_as_rafiki_v2_answers() {
    let (node, admin) = Admin::start(DialectSetting::Auto).await;

    // CreateAsset, with Bruno's variables.
    let bruno = json!({"input":{"code":"JPY","scale":6,"withdrawalThreshold":null,"liquidityThreshold":"100000000"}});
    let created = admin.ok("rafiki/CreateAsset", bruno.clone()).await;
    let asset = &created["createAsset"]["asset"];
    assert_eq!(
        (
            &asset["code"],
            &asset["scale"],
            &asset["liquidityThreshold"]
        ),
        (&json!("JPY"), &json!(6), &json!("100000000"))
    );
    let jpy = asset["id"].as_str().unwrap().to_owned();
    let field = "createAsset";
    admin
        .refused(
            "rafiki/CreateAsset",
            bruno,
            field,
            ("Asset already exists", "DUPLICATE"),
        )
        .await;
    admin
        .refused(
            "rafiki/CreateAsset",
            json!({"input": {"code": "U SD", "scale": 2}}),
            field,
            (
                "invalid asset code (1 to 255 characters, no spaces, control or invisible formatting characters)",
                "BAD_USER_INPUT",
            ),
        )
        .await;
    // An idempotency key reused with other arguments: Rafiki's message, no code of its own.
    let key = json!({"input": {"code": "EUR", "scale": 2, "idempotencyKey": "asset-key"}});
    admin.ok("rafiki/CreateAsset", key.clone()).await;
    admin
        .refused(
            "rafiki/CreateAsset",
            json!({"input": {"code": "GBP", "scale": 2, "idempotencyKey": "asset-key"}}),
            field,
            (
                "Incoming arguments are different than the original request for idempotencyKey: asset-key",
                "INTERNAL_SERVER_ERROR",
            ),
        )
        .await;
    admin
        .refused(
            "rafiki/CreateAsset",
            json!({"input": {"code": "GBP", "scale": 2, "idempotencyKey": "k".repeat(256)}}),
            field,
            (
                "idempotencyKey is too long: 256 characters, at most 255",
                "BAD_USER_INPUT",
            ),
        )
        .await;
    // A retry of the first, with the same key, replays it.
    let replayed = admin.ok("rafiki/CreateAsset", key).await;
    assert_eq!(replayed["createAsset"]["asset"]["code"], json!("EUR"));

    // UpdateAsset.
    let updated = admin
        .ok(
            "rafiki/UpdateAsset",
            json!({"input": {"id": jpy, "withdrawalThreshold": "5"}}),
        )
        .await;
    assert_eq!(
        updated,
        json!({"updateAsset": {"asset": {"id": jpy, "withdrawalThreshold": "5", "liquidityThreshold": null}}})
    );
    admin
        .refused(
            "rafiki/UpdateAsset",
            json!({"input": {"id": new_id()}}),
            "updateAsset",
            ("Asset not found", "NOT_FOUND"),
        )
        .await;

    // GetAsset, GetAssetByCodeAndScale.
    let found = admin.ok("rafiki/GetAsset", json!({"id": jpy})).await;
    assert_eq!(found["asset"]["id"], json!(jpy));
    for unknown in [new_id(), "not-a-uuid".to_owned()] {
        admin
            .refused(
                "rafiki/GetAsset",
                json!({"id": unknown}),
                "asset",
                ("Asset not found", "NOT_FOUND"),
            )
            .await;
    }
    let by_code = admin
        .ok(
            "rafiki/GetAssetByCodeAndScale",
            json!({"code": "JPY", "scale": 6}),
        )
        .await;
    assert_eq!(by_code["assetByCodeAndScale"]["id"], json!(jpy));
    // None is null, not an error, as in Rafiki.
    let none = admin
        .ok(
            "rafiki/GetAssetByCodeAndScale",
            json!({"code": "JPY", "scale": 7}),
        )
        .await;
    assert_eq!(none, json!({"assetByCodeAndScale": null}));
    let bad_scale = admin
        .run(
            "rafiki/GetAssetByCodeAndScale",
            json!({"code": "JPY", "scale": 256}),
        )
        .await;
    assert_eq!(
        bad_scale["errors"][0]["extensions"]["code"],
        json!("BAD_USER_INPUT"),
        "{bad_scale}"
    );

    // DepositAssetLiquidity.
    let deposit = |asset: &str, amount: Value, id: &str| json!({"input": {"assetId": asset, "amount": amount, "id": id, "idempotencyKey": new_id()}});
    let field = "depositAssetLiquidity";
    let first = new_id();
    let done = admin
        .ok(
            "rafiki/DepositAssetLiquidity",
            deposit(&jpy, json!("1000000"), &first),
        )
        .await;
    assert_eq!(done, json!({ field: {"success": true} }));
    for (amount, id, refusal) in [
        (
            json!("0"),
            new_id(),
            ("Transfer amount is zero", "FORBIDDEN"),
        ),
        (
            json!("5"),
            "abc".to_owned(),
            ("Invalid transfer id", "BAD_USER_INPUT"),
        ),
        (
            json!("5"),
            first.clone(),
            ("Transfer already exists", "DUPLICATE"),
        ),
        (
            json!(u64::MAX.to_string()),
            new_id(),
            ("Balance would exceed the largest UInt64", "FORBIDDEN"),
        ),
    ] {
        admin
            .refused(
                "rafiki/DepositAssetLiquidity",
                deposit(&jpy, amount, &id),
                field,
                refusal,
            )
            .await;
    }
    admin
        .refused(
            "rafiki/DepositAssetLiquidity",
            deposit(&new_id(), json!("5"), &new_id()),
            field,
            ("Unknown asset", "NOT_FOUND"),
        )
        .await;
    // Amounts that are not UInt64 fail to parse, with BAD_USER_INPUT; 2^64 is refused rather
    // than deposited as nothing.
    for bad in [
        json!("-1"),
        json!(-1),
        json!("18446744073709551616"),
        json!(1.5),
    ] {
        let response = admin
            .run(
                "rafiki/DepositAssetLiquidity",
                deposit(&jpy, bad, &new_id()),
            )
            .await;
        assert_eq!(
            (
                &response["data"],
                &response["errors"][0]["extensions"]["code"]
            ),
            (&Value::Null, &json!("BAD_USER_INPUT")),
            "{response}"
        );
    }
    assert_eq!(admin.asset_liquidity(&jpy).await, json!("1000000"));

    // CreateAssetLiquidityWithdrawal.
    let withdraw = |asset: &str, amount: &str, id: &str, timeout: Value| json!({"input": {"assetId": asset, "amount": amount, "id": id, "idempotencyKey": new_id(), "timeoutSeconds": timeout}});
    let field = "createAssetLiquidityWithdrawal";
    let withdrawal = new_id();
    let done = admin
        .ok(
            "rafiki/CreateAssetLiquidityWithdrawal",
            withdraw(&jpy, "100", &withdrawal, json!(60)),
        )
        .await;
    assert_eq!(done, json!({ field: {"success": true} }));
    for (asset, amount, id, timeout, refusal) in [
        (
            jpy.clone(),
            "0",
            new_id(),
            json!(0),
            ("Transfer amount is zero", "FORBIDDEN"),
        ),
        (
            new_id(),
            "5",
            new_id(),
            json!(0),
            ("Unknown asset", "NOT_FOUND"),
        ),
        (
            jpy.clone(),
            "1000000",
            new_id(),
            json!(0),
            ("Insufficient transfer balance", "FORBIDDEN"),
        ),
        (
            jpy.clone(),
            "5",
            "abc".to_owned(),
            json!(0),
            ("Invalid transfer id", "BAD_USER_INPUT"),
        ),
        (
            jpy.clone(),
            "5",
            withdrawal.clone(),
            json!(0),
            ("Transfer already exists", "DUPLICATE"),
        ),
        (
            jpy.clone(),
            "5",
            new_id(),
            json!(u64::MAX.to_string()),
            ("Invalid transfer timeout provided", "BAD_USER_INPUT"),
        ),
    ] {
        admin
            .refused(
                "rafiki/CreateAssetLiquidityWithdrawal",
                withdraw(&asset, amount, &id, timeout),
                field,
                refusal,
            )
            .await;
    }
    assert_eq!(admin.asset_liquidity(&jpy).await, json!("999900"));

    // AccountingTransfers.
    let transfers = admin
        .ok(
            "rafiki/AccountingTransfers",
            json!({"id": jpy, "limit": 10}),
        )
        .await;
    let debits = transfers["accountingTransfers"]["debits"]
        .as_array()
        .unwrap();
    assert_eq!(debits.len(), 1, "{transfers}");
    assert_eq!(
        (&debits[0]["id"], &debits[0]["amount"], &debits[0]["state"]),
        (&json!(withdrawal), &json!("100"), &json!("PENDING"))
    );
    let response = admin
        .run(
            "rafiki/AccountingTransfers",
            json!({"id": jpy, "limit": -1}),
        )
        .await;
    assert_todays_refusal(
        &response,
        "accountingTransfers",
        "limit must be between 0 and 1000",
        "BAD_USER_INPUT",
    );

    // DeleteAsset: refused while a peer uses it, then deleted, then unknown.
    let usd = admin.asset("USD").await;
    admin.peer("test.user", &usd, 0).await;
    admin
        .refused(
            "rafiki/DeleteAsset",
            json!({"input": {"id": usd}}),
            "deleteAsset",
            ("Cannot delete! Asset in use.", "FORBIDDEN"),
        )
        .await;
    let deleted = admin
        .ok("rafiki/DeleteAsset", json!({"input": {"id": jpy}}))
        .await;
    assert_eq!(
        deleted,
        json!({"deleteAsset": {"asset": {"id": jpy, "code": "JPY", "scale": 6}}})
    );
    admin
        .refused(
            "rafiki/DeleteAsset",
            json!({"input": {"id": jpy}}),
            "deleteAsset",
            ("Asset not found", "NOT_FOUND"),
        )
        .await;
    node.instance().audit().unwrap();
    node.shutdown().await;
}

#[tokio::test]
async fn todays_peer_operations_are_answered_as_rafiki_v2_answers() {
    let (node, admin) = Admin::start(DialectSetting::Auto).await;
    let usd = admin.asset("USD").await;
    admin.client.deposit_asset_liquidity(&usd, 1).await.unwrap();

    // CreatePeer, with Bruno's variables.
    let field = "createPeer";
    let created = admin
        .ok(
            "rafiki/CreatePeer",
            json!({"input": create_peer_input("test.peer", &usd, "test123abc")}),
        )
        .await;
    let peer = &created[field]["peer"];
    assert_eq!(
        (
            &peer["name"],
            &peer["liquidity"],
            &peer["liquidityThreshold"],
            &peer["asset"]["id"]
        ),
        (
            &json!("Wallet1"),
            &json!("200000000"),
            &json!("100000000"),
            &json!(usd)
        )
    );
    let peer_id = peer["id"].as_str().unwrap().to_owned();
    let mut cases = vec![
        (
            create_peer_input("test.hello!", &usd, "t1"),
            ("invalid ILP address", "BAD_USER_INPUT"),
        ),
        (
            create_peer_input("test.other", &new_id(), "t1"),
            ("unknown asset", "NOT_FOUND"),
        ),
        (
            create_peer_input("test.other", "INSERT_ASSET_ID", "t1"),
            ("unknown asset", "NOT_FOUND"),
        ),
        (
            create_peer_input("test.peer", &usd, "t1"),
            (
                "duplicate peer found for same ILP address and asset",
                "DUPLICATE",
            ),
        ),
        (
            create_peer_input("test.other", &usd, "test123abc"),
            ("duplicate incoming token", "DUPLICATE"),
        ),
        (
            create_peer_input("peer.config", &usd, "t1"),
            (
                "a peer's static ILP address cannot be peer.* or this instance's own address",
                "BAD_USER_INPUT",
            ),
        ),
    ];
    let mut bad_endpoint = create_peer_input("test.other", &usd, "t1");
    bad_endpoint["http"]["outgoing"]["endpoint"] = json!("http://.com");
    cases.push((bad_endpoint, ("invalid HTTP endpoint", "BAD_USER_INPUT")));
    let mut bad_route = create_peer_input("test.other", &usd, "t1");
    bad_route["routes"] = json!(["peer.route"]);
    cases.push((
        bad_route,
        (
            "invalid route (each route must be an ILP address prefix, neither peer.* nor this instance's own address)",
            "BAD_USER_INPUT",
        ),
    ));
    let mut long_name = create_peer_input("test.other", &usd, "t1");
    long_name["name"] = json!("n".repeat(256));
    cases.push((
        long_name,
        (
            "name is too long (at most 255 characters)",
            "BAD_USER_INPUT",
        ),
    ));
    for (input, refusal) in cases {
        admin
            .refused(
                "rafiki/CreatePeer",
                json!({ "input": input }),
                field,
                refusal,
            )
            .await;
    }

    // GetPeer, GetPeers, GetPeerByAddressAndAsset.
    let found = admin.ok("rafiki/GetPeer", json!({"id": peer_id})).await;
    assert_eq!(found["peer"]["staticIlpAddress"], json!("test.peer"));
    for unknown in [new_id(), "nope".to_owned()] {
        admin
            .refused(
                "rafiki/GetPeer",
                json!({"id": unknown}),
                "peer",
                ("unknown peer", "NOT_FOUND"),
            )
            .await;
    }
    let page = admin.ok("rafiki/GetPeers", json!({"first": 10})).await;
    assert_eq!(
        page["peers"]["edges"][0]["node"]["id"],
        json!(peer_id),
        "{page}"
    );
    for (variables, message) in [
        (json!({"first": 101}), "Pagination index error"),
        (json!({"after": "nope"}), "Unknown cursor: nope"),
    ] {
        let response = admin.run("rafiki/GetPeers", variables).await;
        assert_todays_refusal(&response, "peers", message, "BAD_USER_INPUT");
    }
    let routed = admin
        .ok(
            "rafiki/GetPeerByAddressAndAsset",
            json!({"address": "test.peer.alice", "assetId": usd}),
        )
        .await;
    assert_eq!(routed["peerByAddressAndAsset"]["id"], json!(peer_id));
    let unrouted = admin
        .ok(
            "rafiki/GetPeerByAddressAndAsset",
            json!({"address": "test.nobody", "assetId": usd}),
        )
        .await;
    assert_eq!(unrouted, json!({"peerByAddressAndAsset": null}));

    // UpdatePeer, with Bruno's variables.
    let field = "updatePeer";
    let bruno = json!({"input":{"id": peer_id,"name":"Wall-y","http":{"incoming":{"authTokens":["test-123"]},"outgoing":{"endpoint":"http://peer-backend:3002","authToken":"test"}},"maxPacketAmount":1000,"liquidityThreshold":100}});
    let updated = admin.ok("rafiki/UpdatePeer", bruno).await;
    assert_eq!(
        updated,
        json!({ field: {"peer": {
            "id": peer_id, "name": "Wall-y",
            "http": {"outgoing": {"authToken": "test", "endpoint": "http://peer-backend:3002"}},
            "liquidity": "200000000", "liquidityThreshold": "100",
        }}})
    );
    for (input, refusal) in [
        (
            json!({"id": new_id(), "name": "x"}),
            ("unknown peer", "NOT_FOUND"),
        ),
        (
            json!({"id": peer_id, "staticIlpAddress": "test.hello!"}),
            ("invalid ILP address", "BAD_USER_INPUT"),
        ),
        (
            json!({"id": peer_id, "http": {"outgoing": {"endpoint": "ftp://x", "authToken": "t"}}}),
            ("invalid HTTP endpoint", "BAD_USER_INPUT"),
        ),
    ] {
        admin
            .refused(
                "rafiki/UpdatePeer",
                json!({ "input": input }),
                field,
                refusal,
            )
            .await;
    }

    // DepositPeerLiquidity.
    let deposit = |peer: &str, amount: &str, id: &str, key: &str| json!({"input": {"peerId": peer, "amount": amount, "id": id, "idempotencyKey": key}});
    let field = "depositPeerLiquidity";
    let first = new_id();
    let done = admin
        .ok(
            "rafiki/DepositPeerLiquidity",
            deposit(&peer_id, "1000000", &first, "deposit-key"),
        )
        .await;
    assert_eq!(done, json!({ field: {"success": true} }));
    for (peer, amount, id, refusal) in [
        (
            peer_id.as_str(),
            "0",
            new_id(),
            ("Transfer amount is zero", "FORBIDDEN"),
        ),
        // Rafiki's PeerError wording here, lower-case (its resolver asks the peer service).
        (
            "c8b5fbd5-0000-4000-8000-000000000000",
            "5",
            new_id(),
            ("unknown peer", "NOT_FOUND"),
        ),
        (
            peer_id.as_str(),
            "5",
            "abc".to_owned(),
            ("Invalid transfer id", "BAD_USER_INPUT"),
        ),
        (
            peer_id.as_str(),
            "5",
            first.clone(),
            ("Transfer already exists", "DUPLICATE"),
        ),
        (
            peer_id.as_str(),
            "18446744073709551615",
            new_id(),
            ("Balance would exceed the largest UInt64", "FORBIDDEN"),
        ),
    ] {
        admin
            .refused(
                "rafiki/DepositPeerLiquidity",
                deposit(peer, amount, &id, &new_id()),
                field,
                refusal,
            )
            .await;
    }
    admin
        .refused(
            "rafiki/DepositPeerLiquidity",
            deposit(&peer_id, "7", &first, "deposit-key"),
            field,
            (
                "Incoming arguments are different than the original request for idempotencyKey: deposit-key",
                "INTERNAL_SERVER_ERROR",
            ),
        )
        .await;
    assert_eq!(admin.peer_liquidity(&peer_id).await, json!("201000000"));

    // CreatePeerLiquidityWithdrawal, with Bruno's variables' shape.
    let withdraw = |peer: &str, amount: &str, id: &str, timeout: Value| json!({"input": {"id": id, "peerId": peer, "amount": amount, "idempotencyKey": new_id(), "timeoutSeconds": timeout}});
    let field = "createPeerLiquidityWithdrawal";
    let withdrawal = new_id();
    let done = admin
        .ok(
            "rafiki/CreatePeerLiquidityWithdrawal",
            withdraw(&peer_id, "100", &withdrawal, json!(60)),
        )
        .await;
    assert_eq!(done, json!({ field: {"success": true} }));
    for (peer, amount, id, timeout, refusal) in [
        (
            peer_id.clone(),
            "0",
            new_id(),
            json!(0),
            ("Transfer amount is zero", "FORBIDDEN"),
        ),
        // The LiquidityError wording here, capitalised.
        (
            new_id(),
            "5",
            new_id(),
            json!(0),
            ("Unknown peer", "NOT_FOUND"),
        ),
        (
            peer_id.clone(),
            "201000000",
            new_id(),
            json!(0),
            ("Insufficient transfer balance", "FORBIDDEN"),
        ),
        (
            peer_id.clone(),
            "5",
            "abc".to_owned(),
            json!(0),
            ("Invalid transfer id", "BAD_USER_INPUT"),
        ),
        (
            peer_id.clone(),
            "5",
            withdrawal.clone(),
            json!(0),
            ("Transfer already exists", "DUPLICATE"),
        ),
        (
            peer_id.clone(),
            "5",
            new_id(),
            json!(u64::MAX.to_string()),
            ("Invalid transfer timeout provided", "BAD_USER_INPUT"),
        ),
    ] {
        admin
            .refused(
                "rafiki/CreatePeerLiquidityWithdrawal",
                withdraw(&peer, amount, &id, timeout),
                field,
                refusal,
            )
            .await;
    }
    assert_eq!(admin.peer_liquidity(&peer_id).await, json!("200999900"));

    // DeletePeer.
    let deleted = admin
        .ok("rafiki/DeletePeer", json!({"input": {"id": peer_id}}))
        .await;
    assert_eq!(deleted, json!({"deletePeer": {"success": true}}));
    admin
        .refused(
            "rafiki/DeletePeer",
            json!({"input": {"id": peer_id}}),
            "deletePeer",
            ("unknown peer", "NOT_FOUND"),
        )
        .await;
    node.instance().audit().unwrap();
    node.shutdown().await;
}

#[tokio::test]
async fn todays_withdrawal_posts_and_voids_are_answered_as_rafiki_v2_answers() {
    let (node, admin) = Admin::start(DialectSetting::Auto).await;
    let usd = admin.asset("USD").await;
    let peer = admin.peer("test.peer", &usd, 10_000).await;
    let create = |timeout: Value| {
        let id = new_id();
        let variables = json!({"input": {"id": id, "peerId": peer, "amount": "100", "idempotencyKey": new_id(), "timeoutSeconds": timeout}});
        (id, variables)
    };
    let resolve = |id: &str| json!({"input": {"withdrawalId": id, "idempotencyKey": new_id()}});
    let (posted, variables) = create(json!(60));
    admin
        .ok("rafiki/CreatePeerLiquidityWithdrawal", variables)
        .await;
    let (voided, variables) = create(json!(60));
    admin
        .ok("rafiki/CreatePeerLiquidityWithdrawal", variables)
        .await;
    let (single_phase, variables) = create(json!(0));
    admin
        .ok("rafiki/CreatePeerLiquidityWithdrawal", variables)
        .await;
    let (expiring, variables) = create(json!(1));
    admin
        .ok("rafiki/CreatePeerLiquidityWithdrawal", variables)
        .await;

    let done = admin
        .ok("rafiki/PostLiquidityWithdrawal", resolve(&posted))
        .await;
    assert_eq!(done, json!({"postLiquidityWithdrawal": {"success": true}}));
    let done = admin
        .ok("rafiki/VoidLiquidityWithdrawal", resolve(&voided))
        .await;
    assert_eq!(done, json!({"voidLiquidityWithdrawal": {"success": true}}));
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;

    for (fixture_path, field) in [
        ("rafiki/PostLiquidityWithdrawal", "postLiquidityWithdrawal"),
        ("rafiki/VoidLiquidityWithdrawal", "voidLiquidityWithdrawal"),
    ] {
        for (id, refusal) in [
            (posted.as_str(), ("Transfer already posted", "CONFLICT")),
            (voided.as_str(), ("Transfer already voided", "CONFLICT")),
            (
                single_phase.as_str(),
                ("Transfer already posted", "CONFLICT"),
            ),
            (expiring.as_str(), ("Transfer already expired", "FORBIDDEN")),
            (
                "25e4ae5b-e844-49f6-89fa-34f33bc03278",
                ("Unknown transfer", "NOT_FOUND"),
            ),
            (
                "INSERT_WITHDRAWAL_ID",
                ("Invalid transfer id", "BAD_USER_INPUT"),
            ),
        ] {
            admin
                .refused(fixture_path, resolve(id), field, refusal)
                .await;
        }
    }
    // Posted 100 and single-phase 100 are gone; the voided and the expired came back.
    assert_eq!(admin.peer_liquidity(&peer).await, json!("9800"));
    node.instance().audit().unwrap();
    node.shutdown().await;
}

#[tokio::test]
async fn peering_by_url_today_is_answered_as_rafiki_v2_answers() {
    let spec = |name: &str, address: &str| InstanceSpec {
        enable_auto_peering: true,
        ..InstanceSpec::new(name, address)
    };
    let network = Network::start(&[spec("a", "test.a"), spec("b", "test.b")])
        .await
        .unwrap();
    let (a, b) = (
        network.instance("a").unwrap(),
        network.instance("b").unwrap(),
    );
    let admin = Admin {
        client: a.admin().clone(),
    };
    let usd = admin.asset("USD").await;
    b.admin().create_asset("USD", 2).await.unwrap();
    let eur = admin.asset("EUR").await;
    let url = b.auto_peering_url().unwrap();
    let by_url = |peer_url: &str, asset: &str, deposit: &str| json!({"input": {"peerUrl": peer_url, "assetId": asset, "liquidityToDeposit": deposit}});
    let field = "createOrUpdatePeerByUrl";

    let done = admin
        .ok(
            "rafiki/CreateOrUpdatePeerByUrl",
            by_url(&url, &usd, "18446744073709551615"),
        )
        .await;
    let peer = &done[field]["peer"];
    assert_eq!(
        (&peer["name"], &peer["asset"]["id"]),
        (&json!("b"), &json!(usd)),
        "{done}"
    );
    let mut differing = by_url(&url, &usd, "1");
    differing["input"]["initialLiquidity"] = json!("2");
    for (variables, refusal) in [
        (by_url(&url, &new_id(), "1"), ("Unknown asset", "NOT_FOUND")),
        (
            by_url("http://127.0.0.1:9/", &usd, "1"),
            (
                "Peer URL is invalid or peer does not support auto-peering",
                "NOT_FOUND",
            ),
        ),
        (
            by_url(&url, &eur, "1"),
            ("Peer does not support asset", "BAD_USER_INPUT"),
        ),
        (
            by_url(&b.graphql_url(), &usd, "1"),
            ("Invalid peering request", "BAD_USER_INPUT"),
        ),
        // The peer's liquidity is already the largest UInt64.
        (
            by_url(&url, &usd, "1"),
            (
                "Could not deposit liquidity to peer",
                "INTERNAL_SERVER_ERROR",
            ),
        ),
        (
            differing,
            (
                "liquidityToDeposit, initialLiquidity and addedLiquidity name one deposit; they differ",
                "BAD_USER_INPUT",
            ),
        ),
    ] {
        admin
            .refused("rafiki/CreateOrUpdatePeerByUrl", variables, field, refusal)
            .await;
    }
    network.shutdown().await;
}

/// The same refusals through the seed document's operations, which select `code`, `success` and
/// `message`: payloads with the seed era's codes and wording, and no GraphQL error.
#[tokio::test]
async fn the_seed_documents_operations_get_the_same_refusals_as_payloads() {
    let (node, admin) = Admin::start(DialectSetting::Auto).await;
    let usd = admin.asset("USD").await;
    admin.client.deposit_asset_liquidity(&usd, 1).await.unwrap();

    admin
        .refused_as_payload(
            "seed/CreateAsset",
            json!({"input": {"code": "USD", "scale": 2}}),
            "createAsset",
            json!({"code": "409", "success": false, "message": "Asset already exists", "asset": null}),
        )
        .await;

    let created = admin
        .ok(
            "seed/CreatePeer",
            json!({"input": create_peer_input("test.peer", &usd, "token")}),
        )
        .await;
    assert_eq!(
        (
            &created["createPeer"]["code"],
            &created["createPeer"]["message"]
        ),
        (&json!("200"), &json!("Created ILP Peer"))
    );
    let peer = created["createPeer"]["peer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (input, code, message) in [
        (
            create_peer_input("test.hello!", &usd, "t1"),
            "400",
            "invalid ILP address",
        ),
        (
            create_peer_input("test.other", "INSERT_ASSET_ID", "t1"),
            "400",
            "unknown asset",
        ),
        (
            create_peer_input("test.peer", &usd, "t1"),
            "409",
            "duplicate peer found for same ILP address and asset",
        ),
        (
            create_peer_input("test.other", &usd, "token"),
            "409",
            "duplicate incoming token",
        ),
    ] {
        admin
            .refused_as_payload(
                "seed/CreatePeer",
                json!({ "input": input }),
                "createPeer",
                json!({"code": code, "success": false, "message": message, "peer": null}),
            )
            .await;
    }

    let field = "addPeerLiquidity";
    let first = new_id();
    let deposit = |peer: &str, amount: &str, id: &str| json!({"input": {"peerId": peer, "amount": amount, "id": id}});
    admin
        .ok("seed/AddPeerLiquidity", deposit(&peer, "1000", &first))
        .await;
    for (peer, amount, id, payload) in [
        (
            peer.clone(),
            "0",
            new_id(),
            liquidity_payload("400", "Amount is zero", "AmountZero"),
        ),
        (
            new_id(),
            "5",
            new_id(),
            liquidity_payload("404", "Unknown peer", "UnknownPeer"),
        ),
        (
            peer.clone(),
            "5",
            "abc".to_owned(),
            liquidity_payload("400", "Invalid id", "InvalidId"),
        ),
        (
            peer.clone(),
            "5",
            first.clone(),
            liquidity_payload("409", "Transfer exists", "TransferExists"),
        ),
        (
            peer.clone(),
            "18446744073709551615",
            new_id(),
            liquidity_payload(
                "400",
                "Balance would exceed the largest UInt64",
                "BalanceOverflow",
            ),
        ),
    ] {
        admin
            .refused_as_payload(
                "seed/AddPeerLiquidity",
                deposit(&peer, amount, &id),
                field,
                payload,
            )
            .await;
    }
    // The idempotency key's refusal, as the seed era's clients read it.
    let keyed = |amount: &str| json!({"input": {"peerId": peer, "amount": amount, "id": first, "idempotencyKey": "seed-key"}});
    let other = new_id();
    let mut first_keyed = keyed("5");
    first_keyed["input"]["id"] = json!(other);
    admin.ok("seed/AddPeerLiquidity", first_keyed).await;
    let mut changed = keyed("6");
    changed["input"]["id"] = json!(other);
    admin
        .refused_as_payload(
            "seed/AddPeerLiquidity",
            changed,
            field,
            json!({"code": "409", "success": false, "message": "Incoming arguments are different than the original request for idempotencyKey: seed-key", "error": null}),
        )
        .await;

    let field = "createPeerLiquidityWithdrawal";
    let withdraw = |peer: &str, amount: &str, id: &str, timeout: Value| json!({"input": {"peerId": peer, "amount": amount, "id": id, "timeoutSeconds": timeout}});
    let (posted, voided, expiring) = (new_id(), new_id(), new_id());
    for (id, timeout) in [
        (&posted, json!(null)),
        (&voided, json!(null)),
        (&expiring, json!(1)),
    ] {
        admin
            .ok(
                "seed/CreatePeerLiquidityWithdrawal",
                withdraw(&peer, "100", id, timeout),
            )
            .await;
    }
    for (peer, amount, id, timeout, payload) in [
        (
            peer.clone(),
            "999999999999",
            new_id(),
            json!(0),
            liquidity_payload("403", "Insufficient balance", "InsufficientBalance"),
        ),
        (
            new_id(),
            "5",
            new_id(),
            json!(0),
            liquidity_payload("404", "Unknown peer", "UnknownPeer"),
        ),
        (
            peer.clone(),
            "5",
            posted.clone(),
            json!(0),
            liquidity_payload("409", "Transfer exists", "TransferExists"),
        ),
        (
            peer.clone(),
            "5",
            new_id(),
            json!(u64::MAX.to_string()),
            liquidity_payload("400", "Invalid timeout", "InvalidTimeout"),
        ),
    ] {
        admin
            .refused_as_payload(
                "seed/CreatePeerLiquidityWithdrawal",
                withdraw(&peer, amount, &id, timeout),
                field,
                payload,
            )
            .await;
    }

    admin
        .ok(
            "seed/PostLiquidityWithdrawal",
            json!({"withdrawalId": posted}),
        )
        .await;
    admin
        .ok(
            "seed/VoidLiquidityWithdrawal",
            json!({"withdrawalId": voided}),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    for (fixture_path, field) in [
        ("seed/PostLiquidityWithdrawal", "postLiquidityWithdrawal"),
        ("seed/VoidLiquidityWithdrawal", "voidLiquidityWithdrawal"),
    ] {
        for (id, payload) in [
            (
                posted.as_str(),
                liquidity_payload("409", "Withdrawal already posted", "AlreadyPosted"),
            ),
            (
                voided.as_str(),
                liquidity_payload("409", "Withdrawal already voided", "AlreadyVoided"),
            ),
            (
                expiring.as_str(),
                liquidity_payload("403", "Withdrawal already expired", "TransferExpired"),
            ),
            (
                "25e4ae5b-e844-49f6-89fa-34f33bc03278",
                liquidity_payload("404", "Unknown withdrawal", "UnknownTransfer"),
            ),
            (
                "INSERT_WITHDRAWAL_ID",
                liquidity_payload("400", "Invalid id", "InvalidId"),
            ),
        ] {
            admin
                .refused_as_payload(fixture_path, json!({ "withdrawalId": id }), field, payload)
                .await;
        }
    }
    node.instance().audit().unwrap();
    node.shutdown().await;
}

/// In `auto`, each mutation field's own selection decides, through fragments and aliases too.
#[tokio::test]
async fn in_auto_the_selection_of_each_mutation_field_decides() {
    let (node, admin) = Admin::start(DialectSetting::Auto).await;
    let unknown_peer = |selection: &str| {
        format!(
            "mutation {{ depositPeerLiquidity(input: {{peerId: \"{}\", amount: \"5\", id: \"{}\"}}) {selection} }}",
            new_id(),
            new_id()
        )
    };
    let today = |response: &Value| {
        assert_todays_refusal(
            response,
            "depositPeerLiquidity",
            "unknown peer",
            "NOT_FOUND",
        )
    };
    // Today's selection: `success` alone (Rafiki's LiquidityMutationResponse), or with
    // `__typename`.
    for selection in ["{ success }", "{ success __typename }", "{ __typename }"] {
        let response = admin
            .client
            .request(&unknown_peer(selection), json!({}))
            .await
            .unwrap();
        today(&response);
    }
    // The harness's client reads today's refusal as one.
    let refused = admin
        .client
        .mutate(
            "depositPeerLiquidity",
            &fixture("rafiki/DepositPeerLiquidity"),
            json!({"input": {"peerId": new_id(), "amount": "5", "id": new_id(), "idempotencyKey": new_id()}}),
        )
        .await;
    assert!(
        matches!(
            &refused,
            Err(ClientError::Refused { operation, code, message })
                if operation == "depositPeerLiquidity" && code == "NOT_FOUND" && message == "unknown peer"
        ),
        "{refused:?}"
    );
    // Any one of the seed era's fields, however it is selected.
    for (selection, fragment, expected) in [
        ("{ code }", "", json!({"code": "404"})),
        ("{ message }", "", json!({"message": "Unknown peer"})),
        ("{ error }", "", json!({"error": "UnknownPeer"})),
        ("{ status: code }", "", json!({"status": "404"})),
        (
            "{ ...Seed }",
            " fragment Seed on LiquidityMutationResponse { success code }",
            json!({"success": false, "code": "404"}),
        ),
        (
            "{ success ... on LiquidityMutationResponse { message } }",
            "",
            json!({"success": false, "message": "Unknown peer"}),
        ),
    ] {
        let query = format!("{}{fragment}", unknown_peer(selection));
        let response = admin.client.request(&query, json!({})).await.unwrap();
        assert_eq!(
            response,
            json!({"data": {"depositPeerLiquidity": expected}}),
            "{selection}"
        );
    }
    // Two mutations in one request: each field its own way. A refused non-null field nulls
    // `data` altogether, as GraphQL's null propagation (and Apollo Server) make it.
    let usd = admin.asset("USD").await;
    let both = format!(
        "mutation {{ a: depositAssetLiquidity(input: {{assetId: \"{usd}\", amount: \"0\", id: \"{}\"}}) {{ code message }} b: depositAssetLiquidity(input: {{assetId: \"{usd}\", amount: \"0\", id: \"{}\"}}) {{ success }} }}",
        new_id(),
        new_id()
    );
    let response = admin.client.request(&both, json!({})).await.unwrap();
    assert_eq!(
        response["data"],
        json!({"a": {"code": "400", "message": "Amount is zero"}, "b": null}),
        "{response}"
    );
    assert_eq!(
        (
            &response["errors"][0]["message"],
            &response["errors"][0]["path"]
        ),
        (&json!("Transfer amount is zero"), &json!(["b"])),
        "{response}"
    );
    let non_null = format!(
        "mutation {{ a: depositAssetLiquidity(input: {{assetId: \"{usd}\", amount: \"5\", id: \"{}\"}}) {{ success }} b: createAsset(input: {{code: \"USD\", scale: 2}}) {{ asset {{ id }} }} }}",
        new_id()
    );
    let response = admin.client.request(&non_null, json!({})).await.unwrap();
    assert_eq!(response["data"], Value::Null, "{response}");
    assert_eq!(
        (
            &response["errors"][0]["message"],
            &response["errors"][0]["extensions"]["code"],
            &response["errors"][0]["path"]
        ),
        (
            &json!("Asset already exists"),
            &json!("DUPLICATE"),
            &json!(["b"])
        ),
        "{response}"
    );
    // A success remembered under an idempotency key replays the same to either selection.
    let keyed = json!({"input": {"assetId": usd, "amount": "3", "id": new_id(), "idempotencyKey": "either"}});
    let seed_first = admin
        .client
        .request(
            "mutation($input: DepositAssetLiquidityInput!) { depositAssetLiquidity(input: $input) { code success message } }",
            keyed.clone(),
        )
        .await
        .unwrap();
    assert_eq!(
        seed_first["data"]["depositAssetLiquidity"]["code"],
        json!("200")
    );
    let replayed = admin.ok("rafiki/DepositAssetLiquidity", keyed).await;
    assert_eq!(
        replayed,
        json!({"depositAssetLiquidity": {"success": true}})
    );
    // 5 from the first request of the pair above, 3 once.
    assert_eq!(admin.asset_liquidity(&usd).await, json!("8"));
    node.shutdown().await;
}

#[tokio::test]
async fn admin_api_dialect_forces_one_way_whatever_the_selection() {
    // seed: today's selections get payloads, and lookups of unknown ids null.
    let (node, admin) = Admin::start(DialectSetting::Seed).await;
    let usd = admin.asset("USD").await;
    let unknown = new_id();
    admin
        .refused_as_payload(
            "rafiki/DepositPeerLiquidity",
            json!({"input": {"peerId": unknown, "amount": "5", "id": new_id(), "idempotencyKey": new_id()}}),
            "depositPeerLiquidity",
            json!({"success": false}),
        )
        .await;
    admin
        .refused_as_payload(
            "rafiki/CreatePeer",
            json!({"input": create_peer_input("test.peer", &unknown, "t")}),
            "createPeer",
            json!({"peer": null}),
        )
        .await;
    admin
        .refused_as_payload(
            "rafiki/GetPeer",
            json!({"id": unknown}),
            "peer",
            Value::Null,
        )
        .await;
    admin
        .refused_as_payload(
            "rafiki/GetAsset",
            json!({"id": unknown}),
            "asset",
            Value::Null,
        )
        .await;
    assert_eq!(admin.asset_liquidity(&usd).await, json!("0"));
    node.shutdown().await;

    // v2: the seed era's selections get errors; a success still fills the payload.
    let (node, admin) = Admin::start(DialectSetting::V2).await;
    let created = admin
        .ok(
            "seed/CreateAsset",
            json!({"input": {"code": "USD", "scale": 2}}),
        )
        .await;
    assert_eq!(
        (
            &created["createAsset"]["code"],
            &created["createAsset"]["message"]
        ),
        (&json!("200"), &json!("Created Asset"))
    );
    admin
        .refused(
            "seed/CreateAsset",
            json!({"input": {"code": "USD", "scale": 2}}),
            "createAsset",
            ("Asset already exists", "DUPLICATE"),
        )
        .await;
    admin
        .refused(
            "seed/AddPeerLiquidity",
            json!({"input": {"peerId": new_id(), "amount": "5", "id": new_id()}}),
            "addPeerLiquidity",
            ("unknown peer", "NOT_FOUND"),
        )
        .await;
    admin
        .refused(
            "seed/PostLiquidityWithdrawal",
            json!({"withdrawalId": new_id()}),
            "postLiquidityWithdrawal",
            ("Unknown transfer", "NOT_FOUND"),
        )
        .await;
    admin
        .refused(
            "rafiki/GetPeer",
            json!({"id": new_id()}),
            "peer",
            ("unknown peer", "NOT_FOUND"),
        )
        .await;
    node.shutdown().await;
}

/// What is refused before any field runs is answered as Apollo Server 4 answers it: HTTP 400 and
/// `extensions.code` GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED or BAD_USER_INPUT.
#[tokio::test]
async fn refusals_before_execution_carry_apollos_codes_and_http_400() {
    let network =
        peerlab_simulator::Network::start(&[peerlab_simulator::topology::InstanceSpec::new(
            "a", "test.a",
        )])
        .await
        .unwrap();
    let admin = network.instance("a").unwrap().admin();
    for (body, code) in [
        (
            serde_json::json!({ "query": "{ assets { edges { node { id } } " }),
            "GRAPHQL_PARSE_FAILED",
        ),
        (
            serde_json::json!({ "query": "{ nope }" }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            serde_json::json!({
                "query": "query($f: Int) { assets(first: $f) { edges { node { id } } } }",
                "variables": { "f": "abc" }
            }),
            "BAD_USER_INPUT",
        ),
        (
            serde_json::json!({
                "query": "mutation($i: CreateAssetInput!) { createAsset(input: $i) { asset { id } } }",
                "variables": { "i": { "code": "USD" } }
            }),
            "BAD_USER_INPUT",
        ),
    ] {
        let response = admin
            .post_raw(body.to_string(), &[("content-type", "application/json")])
            .await
            .unwrap();
        assert_eq!(response.status, 400, "{body}: {}", response.body);
        let answer: serde_json::Value = serde_json::from_str(&response.body).unwrap();
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], code,
            "{body}: {answer}"
        );
        assert!(answer["errors"][0]["message"].is_string());
    }
    // A query that runs is still 200, errors at a path or not.
    let ran = admin
        .post_raw(
            serde_json::json!({ "query": "{ peer(id: \"nope\") { id } }" }).to_string(),
            &[("content-type", "application/json")],
        )
        .await
        .unwrap();
    assert_eq!(ran.status, 200, "{}", ran.body);
    network.shutdown().await;
}

/// `/graphql/` is served as `/graphql` is, as Rafiki's Koa router serves it.
#[tokio::test]
async fn a_trailing_slash_reaches_the_same_api() {
    let network =
        peerlab_simulator::Network::start(&[peerlab_simulator::topology::InstanceSpec::new(
            "a", "test.a",
        )])
        .await
        .unwrap();
    let node = network.instance("a").unwrap().node();
    let admin =
        peerlab_simulator::AdminClient::new(&format!("{}/graphql/", node.admin_url())).unwrap();
    let answer = admin
        .request(
            "{ assets { edges { node { id } } } }",
            serde_json::json!({}),
        )
        .await
        .unwrap();
    assert_eq!(answer["data"]["assets"]["edges"], serde_json::json!([]));
    network.shutdown().await;
}
