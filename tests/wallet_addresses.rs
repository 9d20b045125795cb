//! Wallet addresses through the admin API over real sockets: created by path and by full URL with
//! Rafiki's own operations (`fixtures/graphql/rafiki/`), read back by id, by URL and by page,
//! updated and deactivated (the Open Payments URL then answers 404), each refusal in today's
//! dialect (a GraphQL error) and in the seed era's (a payload), and idempotent retries.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use peerlab::admin::dialect::DialectSetting;
use peerlab::config::Config;
use peerlab::ilp::Address;
use peerlab::node::Node;
use peerlab_simulator::client::ClientError;
use peerlab_simulator::{AdminClient, CreatedWalletAddress};
use serde_json::{Value, json};

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

/// The seed era's selection of `createWalletAddress`: refusals come back as payloads.
const SEED_CREATE: &str = "mutation Create($input: CreateWalletAddressInput!) { createWalletAddress(input: $input) { code success message walletAddress { id address } } }";
/// The seed era's selection of `updateWalletAddress`.
const SEED_UPDATE: &str = "mutation Update($input: UpdateWalletAddressInput!) { updateWalletAddress(input: $input) { code success message walletAddress { id publicName status } } }";

/// One instance with an asset, and the admin client that talks to it.
struct Wallets {
    node: Node,
    client: AdminClient,
    asset: String,
    /// The instance's Open Payments URL, without a trailing slash.
    base: String,
}

impl Wallets {
    async fn start(dialect: DialectSetting) -> Self {
        let mut config = Config::for_address(Address::parse("test.wallets").unwrap());
        config.admin_api_dialect = dialect;
        let node = Node::start(config).await.unwrap();
        let client = AdminClient::new(&node.graphql_url()).unwrap();
        let asset = client.create_asset("EUR", 2).await.unwrap();
        let base = node
            .open_payments_url()
            .as_str()
            .trim_end_matches('/')
            .to_owned();
        Self {
            node,
            client,
            asset,
            base,
        }
    }

    async fn run(&self, query: &str, variables: Value) -> Value {
        self.client.request(query, variables).await.unwrap()
    }

    /// Runs a fixture that must succeed; returns `data`.
    async fn ok(&self, fixture_path: &str, variables: Value) -> Value {
        let response = self.run(&fixture(fixture_path), variables).await;
        assert_eq!(response.get("errors"), None, "{fixture_path}: {response}");
        response["data"].clone()
    }

    /// Runs a fixture that today's Rafiki refuses: one error at `field`'s path with `message`
    /// and `code`, and `data` as Apollo Server shapes it (`null` for the non-null mutations,
    /// `{field: null}` for the nullable `walletAddress` query).
    async fn refused(
        &self,
        fixture_path: &str,
        variables: Value,
        field: &str,
        (message, code): (&str, &str),
    ) {
        let response = self.run(&fixture(fixture_path), variables).await;
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
        let data = if field == "walletAddress" {
            json!({ field: null })
        } else {
            Value::Null
        };
        assert_eq!(response["data"], data, "{field}: {response}");
    }

    /// Every wallet address the instance lists, oldest first.
    async fn listed(&self) -> Vec<Value> {
        let page = self
            .ok(
                "rafiki/GetWalletAddresses",
                json!({ "first": 100, "sortOrder": "ASC" }),
            )
            .await;
        page["walletAddresses"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"].clone())
            .collect()
    }

    async fn create(&self, address: &str) -> CreatedWalletAddress {
        self.client
            .create_wallet_address(&self.asset, address, None)
            .await
            .unwrap()
    }
}

/// `GET` on an Open Payments URL: the status and the JSON body (null when not JSON).
async fn get(url: &str) -> (u16, Value) {
    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let request = hyper::Request::get(url)
        .header("accept", "application/json")
        .body(Empty::new())
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Bruno's additional properties for Timon.
fn brunos_properties() -> Value {
    json!([
        {"key": "iban", "value": "NL93 8601 1117 947", "visibleInOpenPayments": true},
        {"key": "mobile", "value": "+31121212", "visibleInOpenPayments": false}
    ])
}

#[tokio::test]
async fn wallet_addresses_are_created_by_full_url_or_path_and_read_back() {
    let w = Wallets::start(DialectSetting::Auto).await;

    // Bruno's CreateWalletAddress, its variables with this instance's URL; the URL is stored
    // lower-cased, as Rafiki stores it.
    let bruno = json!({"input": {
        "assetId": w.asset,
        "address": format!("{}/Timon/x1", w.base),
        "publicName": "Timon",
        "additionalProperties": brunos_properties(),
    }});
    let created = w.ok("rafiki/CreateWalletAddress", bruno).await;
    let timon = &created["createWalletAddress"]["walletAddress"];
    let timon_id = timon["id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&timon_id).is_ok(), "{created}");
    let created_at = timon["createdAt"].as_str().unwrap().to_owned();
    assert!(
        created_at.ends_with('Z') && created_at.len() == 24,
        "{created}"
    );
    let timon_url = format!("{}/timon/x1", w.base);
    assert_eq!(
        created,
        json!({"createWalletAddress": {"walletAddress": {
            "id": timon_id,
            "createdAt": created_at,
            "publicName": "Timon",
            "address": timon_url,
            "status": "ACTIVE",
            "asset": {
                "code": "EUR", "createdAt": timon["asset"]["createdAt"], "id": w.asset,
                "scale": 2, "withdrawalThreshold": null,
            },
            "additionalProperties": brunos_properties(),
        }}})
    );

    // By path, through the harness's helper (the seed era's selection).
    let alice = w.create("alice").await;
    assert_eq!(alice.url, format!("{}/alice", w.base));
    assert_eq!(w.client.wallet_address_balance(&alice.id).await.unwrap(), 0);

    // By id: everything, nothing received yet.
    let found = w
        .ok("rafiki/GetWalletAddress", json!({ "id": timon_id }))
        .await;
    assert_eq!(
        found["walletAddress"],
        json!({
            "id": timon_id,
            "asset": {
                "id": w.asset, "code": "EUR", "scale": 2, "withdrawalThreshold": null,
                "createdAt": timon["asset"]["createdAt"],
            },
            "liquidity": "0",
            "address": timon_url,
            "publicName": "Timon",
            "createdAt": created_at,
            "status": "ACTIVE",
            "additionalProperties": brunos_properties(),
        })
    );

    // By URL, in any case; none there is null, without an error.
    let by_url = w
        .ok(
            "rafiki/GetWalletAddressByUrl",
            json!({ "url": format!("{}/ALICE", w.base) }),
        )
        .await;
    assert_eq!(
        (
            &by_url["walletAddressByUrl"]["id"],
            &by_url["walletAddressByUrl"]["address"],
            &by_url["walletAddressByUrl"]["publicName"],
            &by_url["walletAddressByUrl"]["additionalProperties"],
        ),
        (
            &json!(alice.id),
            &json!(alice.url),
            &Value::Null,
            &json!([])
        )
    );
    let nobody = w
        .ok(
            "rafiki/GetWalletAddressByUrl",
            json!({ "url": format!("{}/nobody", w.base) }),
        )
        .await;
    assert_eq!(nobody, json!({ "walletAddressByUrl": null }));

    // Open Payments answers both URLs.
    assert_eq!(get(&timon_url).await.1["publicName"], json!("Timon"));
    assert_eq!(get(&alice.url).await.0, 200);
    w.node.shutdown().await;
}

#[tokio::test]
async fn wallet_addresses_are_paged_as_rafiki_pages() {
    let w = Wallets::start(DialectSetting::Auto).await;
    let mut ids = Vec::new();
    for path in ["a", "b", "c"] {
        ids.push(w.create(path).await.id);
    }
    let ids_of = |page: &Value| -> Vec<String> {
        page["walletAddresses"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| {
                assert_eq!(edge["cursor"], edge["node"]["id"], "{edge}");
                edge["node"]["id"].as_str().unwrap().to_owned()
            })
            .collect()
    };

    // Newest first by default.
    let first = w
        .ok("rafiki/GetWalletAddresses", json!({ "first": 2 }))
        .await;
    assert_eq!(ids_of(&first), [ids[2].clone(), ids[1].clone()]);
    assert_eq!(
        first["walletAddresses"]["pageInfo"],
        json!({
            "startCursor": ids[2], "endCursor": ids[1],
            "hasNextPage": true, "hasPreviousPage": false,
        })
    );
    let rest = w
        .ok(
            "rafiki/GetWalletAddresses",
            json!({ "first": 2, "after": ids[1] }),
        )
        .await;
    assert_eq!(ids_of(&rest), [ids[0].clone()]);
    assert_eq!(
        (
            &rest["walletAddresses"]["pageInfo"]["hasNextPage"],
            &rest["walletAddresses"]["pageInfo"]["hasPreviousPage"]
        ),
        (&json!(false), &json!(true))
    );
    let back = w
        .ok(
            "rafiki/GetWalletAddresses",
            json!({ "last": 1, "before": ids[0], "sortOrder": "ASC" }),
        )
        .await;
    assert!(ids_of(&back).is_empty(), "{back}");
    let ascending = w
        .ok("rafiki/GetWalletAddresses", json!({ "sortOrder": "ASC" }))
        .await;
    assert_eq!(ids_of(&ascending), ids);
    let node = &ascending["walletAddresses"]["edges"][0]["node"];
    assert_eq!(
        (&node["status"], &node["liquidity"], &node["asset"]),
        (
            &json!("ACTIVE"),
            &json!("0"),
            &json!({"code": "EUR", "scale": 2})
        )
    );

    // Pages asked for wrongly, in either dialect.
    for (variables, message) in [
        (json!({"first": 101}), "Pagination index error"),
        (
            json!({"last": 1}),
            "Can't paginate backwards from the start.",
        ),
        (json!({"after": "nope"}), "Unknown cursor: nope"),
    ] {
        let response = w
            .run(&fixture("rafiki/GetWalletAddresses"), variables)
            .await;
        assert_eq!(
            (
                &response["errors"][0]["message"],
                &response["errors"][0]["extensions"]["code"],
                &response["errors"][0]["path"],
            ),
            (
                &json!(message),
                &json!("BAD_USER_INPUT"),
                &json!(["walletAddresses"])
            ),
            "{response}"
        );
    }
    w.node.shutdown().await;
}

#[tokio::test]
async fn an_update_renames_replaces_properties_and_deactivates() {
    let w = Wallets::start(DialectSetting::Auto).await;
    let created = w
        .ok(
            "rafiki/CreateWalletAddress",
            json!({"input": {
                "assetId": w.asset, "address": "timon", "publicName": "Timon",
                "additionalProperties": brunos_properties(),
            }}),
        )
        .await;
    let id = created["createWalletAddress"]["walletAddress"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("{}/timon", w.base);

    // Bruno's UpdateWalletAddress, variables verbatim: properties left out stay.
    let updated = w
        .ok(
            "rafiki/UpdateWalletAddress",
            json!({"input": {"id": id, "publicName": "New Name", "status": "ACTIVE"}}),
        )
        .await;
    let wallet = &updated["updateWalletAddress"]["walletAddress"];
    assert_eq!(
        (
            &wallet["id"],
            &wallet["publicName"],
            &wallet["address"],
            &wallet["status"]
        ),
        (
            &json!(id),
            &json!("New Name"),
            &json!(url),
            &json!("ACTIVE")
        )
    );
    let found = w.ok("rafiki/GetWalletAddress", json!({ "id": id })).await;
    assert_eq!(
        found["walletAddress"]["additionalProperties"],
        brunos_properties()
    );
    assert_eq!(get(&url).await.1["publicName"], json!("New Name"));

    // Given properties replace all the old ones; the name stays when left out.
    let only =
        json!([{"key": "nickname", "value": "pumbaa's friend", "visibleInOpenPayments": true}]);
    w.ok(
        "rafiki/UpdateWalletAddress",
        json!({"input": {"id": id, "additionalProperties": only}}),
    )
    .await;
    let found = w.ok("rafiki/GetWalletAddress", json!({ "id": id })).await;
    assert_eq!(
        (
            &found["walletAddress"]["additionalProperties"],
            &found["walletAddress"]["publicName"]
        ),
        (&only, &json!("New Name"))
    );

    // Inactive: still in the admin API, gone from Open Payments; and back.
    let deactivated = w
        .ok(
            "rafiki/UpdateWalletAddress",
            json!({"input": {"id": id, "status": "INACTIVE"}}),
        )
        .await;
    assert_eq!(
        deactivated["updateWalletAddress"]["walletAddress"]["status"],
        json!("INACTIVE")
    );
    assert_eq!(get(&url).await.0, 404);
    let by_url = w
        .ok("rafiki/GetWalletAddressByUrl", json!({ "url": url }))
        .await;
    assert_eq!(by_url["walletAddressByUrl"]["status"], json!("INACTIVE"));
    w.ok(
        "rafiki/UpdateWalletAddress",
        json!({"input": {"id": id, "status": "ACTIVE"}}),
    )
    .await;
    assert_eq!(get(&url).await.0, 200);
    w.node.shutdown().await;
}

/// The `createWalletAddress` inputs each refusal comes from, with the seed era's code and the
/// message (the same in both dialects) and today's code.
fn create_refusals(w: &Wallets) -> Vec<(Value, (&'static str, &'static str, &'static str))> {
    let input = |address: &str, extra: Value| {
        let mut input = json!({ "assetId": w.asset, "address": address });
        if let (Some(input), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
            input.extend(extra.clone());
        }
        input
    };
    let too_many: Vec<Value> = (0..101)
        .map(|n| json!({"key": format!("k{n}"), "value": "v", "visibleInOpenPayments": true}))
        .collect();
    vec![
        (
            input("https://elsewhere.example/alice", json!({})),
            ("400", "invalid url", "BAD_USER_INPUT"),
        ),
        (
            input("alice/incoming-payments", json!({})),
            ("400", "invalid url", "BAD_USER_INPUT"),
        ),
        (
            json!({ "assetId": new_id(), "address": "bob" }),
            ("400", "unknown asset", "BAD_USER_INPUT"),
        ),
        (
            input(&format!("{}/Taken", w.base), json!({})),
            (
                "409",
                "Duplicate wallet address found with the same url",
                "DUPLICATE",
            ),
        ),
        (
            input("carol", json!({ "publicName": "x".repeat(256) })),
            (
                "400",
                "public name is too long (at most 255 characters)",
                "BAD_USER_INPUT",
            ),
        ),
        (
            input("carol", json!({ "publicName": "\u{202e}DSU" })),
            (
                "400",
                "text contains a control or invisible formatting character",
                "BAD_USER_INPUT",
            ),
        ),
        (
            input("carol", json!({ "additionalProperties": too_many })),
            (
                "400",
                "too many or too long additional properties (at most 100; keys up to 255 characters, values up to 1024)",
                "BAD_USER_INPUT",
            ),
        ),
    ]
}

#[tokio::test]
async fn each_refusal_is_answered_as_rafiki_v2_answers() {
    let w = Wallets::start(DialectSetting::Auto).await;
    let taken = w.create("taken").await;
    for (input, (_, message, code)) in create_refusals(&w) {
        w.refused(
            "rafiki/CreateWalletAddress",
            json!({ "input": input }),
            "createWalletAddress",
            (message, code),
        )
        .await;
    }
    assert_eq!(w.listed().await.len(), 1, "only the first was created");

    // updateWalletAddress: Rafiki's resolver says "Unknown" with a capital here.
    for unknown in [new_id(), "nope".to_owned()] {
        w.refused(
            "rafiki/UpdateWalletAddress",
            json!({"input": {"id": unknown, "publicName": "x"}}),
            "updateWalletAddress",
            ("Unknown wallet address", "NOT_FOUND"),
        )
        .await;
    }
    w.refused(
        "rafiki/UpdateWalletAddress",
        json!({"input": {"id": taken.id, "publicName": "a\u{200b}b"}}),
        "updateWalletAddress",
        (
            "text contains a control or invisible formatting character",
            "BAD_USER_INPUT",
        ),
    )
    .await;
    let found = w
        .ok("rafiki/GetWalletAddress", json!({ "id": taken.id }))
        .await;
    assert_eq!(found["walletAddress"]["publicName"], Value::Null);

    // walletAddress(id): the field is null beside the error.
    for unknown in [new_id(), "nope".to_owned()] {
        w.refused(
            "rafiki/GetWalletAddress",
            json!({ "id": unknown }),
            "walletAddress",
            ("unknown wallet address", "NOT_FOUND"),
        )
        .await;
    }
    w.node.shutdown().await;
}

#[tokio::test]
async fn each_refusal_is_a_payload_to_the_seed_eras_selection() {
    let w = Wallets::start(DialectSetting::Auto).await;
    let taken = w.create("taken").await;
    for (input, (seed_code, message, _)) in create_refusals(&w) {
        let response = w.run(SEED_CREATE, json!({ "input": input })).await;
        assert_eq!(
            response,
            json!({"data": {"createWalletAddress": {
                "code": seed_code, "success": false, "message": message, "walletAddress": null,
            }}}),
            "{input}"
        );
    }
    let unknown = w
        .run(
            SEED_UPDATE,
            json!({"input": {"id": new_id(), "status": "INACTIVE"}}),
        )
        .await;
    assert_eq!(
        unknown,
        json!({"data": {"updateWalletAddress": {
            "code": "404", "success": false, "message": "unknown wallet address",
            "walletAddress": null,
        }}})
    );
    let updated = w
        .run(
            SEED_UPDATE,
            json!({"input": {"id": taken.id, "publicName": "Taken"}}),
        )
        .await;
    assert_eq!(
        updated,
        json!({"data": {"updateWalletAddress": {
            "code": "200", "success": true, "message": "Updated wallet address",
            "walletAddress": {"id": taken.id, "publicName": "Taken", "status": "ACTIVE"},
        }}})
    );
    let created = w
        .run(
            SEED_CREATE,
            json!({"input": {"assetId": w.asset, "address": "new"}}),
        )
        .await;
    assert_eq!(
        (
            &created["data"]["createWalletAddress"]["code"],
            &created["data"]["createWalletAddress"]["message"]
        ),
        (&json!("200"), &json!("Created wallet address"))
    );

    // The harness's helper reports the refusal it got.
    match w
        .client
        .create_wallet_address(&w.asset, "taken", None)
        .await
    {
        Err(ClientError::Refused {
            operation,
            code,
            message,
        }) => assert_eq!(
            (operation.as_str(), code.as_str(), message.as_str()),
            (
                "createWalletAddress",
                "409",
                "Duplicate wallet address found with the same url"
            )
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    w.node.shutdown().await;

    // Forced seed: today's selections get payloads, an unknown id is just null.
    let w = Wallets::start(DialectSetting::Seed).await;
    let response = w
        .run(
            &fixture("rafiki/CreateWalletAddress"),
            json!({"input": {"assetId": new_id(), "address": "x"}}),
        )
        .await;
    assert_eq!(
        response,
        json!({"data": {"createWalletAddress": {"walletAddress": null}}})
    );
    let response = w
        .run(
            &fixture("rafiki/GetWalletAddress"),
            json!({ "id": new_id() }),
        )
        .await;
    assert_eq!(response, json!({"data": {"walletAddress": null}}));
    w.node.shutdown().await;
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_creates_one_wallet_address() {
    let w = Wallets::start(DialectSetting::Auto).await;
    let key = new_id();
    let input = json!({"input": {
        "assetId": w.asset, "address": "alice", "publicName": "Alice", "idempotencyKey": key,
    }});
    let first = w.ok("rafiki/CreateWalletAddress", input.clone()).await;
    // Replayed to the seed era's selection too: the first result, not a duplicate refusal.
    let replayed = w.ok("rafiki/CreateWalletAddress", input.clone()).await;
    assert_eq!(replayed, first);
    let seed_replay = w.run(SEED_CREATE, input.clone()).await;
    assert_eq!(
        (
            &seed_replay["data"]["createWalletAddress"]["code"],
            &seed_replay["data"]["createWalletAddress"]["walletAddress"]["id"],
        ),
        (
            &json!("200"),
            &first["createWalletAddress"]["walletAddress"]["id"]
        )
    );
    assert_eq!(w.listed().await.len(), 1);

    // The same key with another address is refused and creates nothing.
    let mut changed = input.clone();
    changed["input"]["address"] = json!("bob");
    let reused = format!(
        "Incoming arguments are different than the original request for idempotencyKey: {key}"
    );
    w.refused(
        "rafiki/CreateWalletAddress",
        changed,
        "createWalletAddress",
        (&reused, "INTERNAL_SERVER_ERROR"),
    )
    .await;
    assert_eq!(w.listed().await.len(), 1);

    // Updates too: a replayed deactivation answers the first result even after a reactivation.
    let id = first["createWalletAddress"]["walletAddress"]["id"].clone();
    let deactivate = json!({"input": {"id": id, "status": "INACTIVE", "idempotencyKey": new_id()}});
    let first_update = w.ok("rafiki/UpdateWalletAddress", deactivate.clone()).await;
    w.ok(
        "rafiki/UpdateWalletAddress",
        json!({"input": {"id": id, "status": "ACTIVE"}}),
    )
    .await;
    let replayed = w.ok("rafiki/UpdateWalletAddress", deactivate).await;
    assert_eq!(replayed, first_update);
    assert_eq!(
        replayed["updateWalletAddress"]["walletAddress"]["status"],
        json!("INACTIVE")
    );
    let found = w.ok("rafiki/GetWalletAddress", json!({ "id": id })).await;
    assert_eq!(found["walletAddress"]["status"], json!("ACTIVE"));
    w.node.shutdown().await;
}
