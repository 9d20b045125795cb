//! peerlab's own admin fields (`peerlab...`), which `peerlab run --targets` reads instances
//! elsewhere through: the status of the ledger and the packets, and the mock operator's account
//! holders. Over real HTTP, with the refusals a client gets.

use peerlab::config::Config;
use peerlab::ilp::Address;
use peerlab::node::Node;
use peerlab_simulator::AdminClient;
use serde_json::{Value, json};

async fn node(mock_operator: bool) -> (Node, AdminClient) {
    let mut config = Config::for_address(Address::parse("test.fields").unwrap());
    config.mock_operator = mock_operator;
    let node = Node::start(config).await.unwrap();
    let client = AdminClient::new(&node.graphql_url()).unwrap();
    (node, client)
}

const ACCOUNT: &str = "query($id: String!) { peerlabMockOperatorAccount(walletAddressId: $id) { walletAddressId balance reserved } }";
const OPEN: &str = "mutation($input: PeerlabOpenMockOperatorAccountInput!) { peerlabOpenMockOperatorAccount(input: $input) { walletAddressId balance reserved } }";

#[tokio::test]
async fn a_fresh_instance_reports_a_balanced_ledger_and_no_packets() {
    let (node, admin) = node(false).await;
    let answer = admin
        .request(
            "{ peerlabStatus { ledgerBalanced ledgerViolation pendingTransfers packets { fromPeers { fulfilled rejected { code count } } sent { fulfilled } probes dataOnly sentLatency { micros count } } } }",
            json!({}),
        )
        .await
        .unwrap();
    assert_eq!(
        answer["data"]["peerlabStatus"],
        json!({
            "ledgerBalanced": true,
            "ledgerViolation": null,
            "pendingTransfers": "0",
            "packets": {
                "fromPeers": { "fulfilled": "0", "rejected": [] },
                "sent": { "fulfilled": "0" },
                "probes": "0",
                "dataOnly": "0",
                "sentLatency": []
            }
        }),
        "{answer}"
    );
    node.shutdown().await;
}

#[tokio::test]
async fn the_mock_operators_holders_are_opened_and_read() {
    let (node, admin) = node(true).await;
    let asset = admin.create_asset("USD", 2).await.unwrap();
    let wallet = admin
        .create_wallet_address(&asset, "alice", None)
        .await
        .unwrap();
    let none = admin
        .request(ACCOUNT, json!({ "id": wallet.id }))
        .await
        .unwrap();
    assert_eq!(none["data"]["peerlabMockOperatorAccount"], Value::Null);
    let opened = admin
        .request(
            OPEN,
            json!({ "input": { "walletAddressId": wallet.id, "balance": "18446744073709551615" } }),
        )
        .await
        .unwrap();
    let expected =
        json!({ "walletAddressId": wallet.id, "balance": "18446744073709551615", "reserved": "0" });
    assert_eq!(opened["data"]["peerlabOpenMockOperatorAccount"], expected);
    let read = admin
        .request(ACCOUNT, json!({ "id": wallet.id }))
        .await
        .unwrap();
    assert_eq!(read["data"]["peerlabMockOperatorAccount"], expected);
    // Not a UUID: names nothing.
    let odd = admin
        .request(ACCOUNT, json!({ "id": "not-a-uuid" }))
        .await
        .unwrap();
    assert_eq!(odd["data"]["peerlabMockOperatorAccount"], Value::Null);

    // Bad input: an unknown wallet address, a negative or oversized balance.
    let unknown = admin
        .request(
            OPEN,
            json!({ "input": { "walletAddressId": uuid::Uuid::new_v4().to_string(), "balance": "1" } }),
        )
        .await
        .unwrap();
    assert_eq!(unknown["errors"][0]["message"], "Wallet address not found");
    assert_eq!(unknown["errors"][0]["extensions"]["code"], "NOT_FOUND");
    for balance in ["-1", "18446744073709551616", "lots"] {
        let refused = admin
            .request(
                OPEN,
                json!({ "input": { "walletAddressId": wallet.id, "balance": balance } }),
            )
            .await
            .unwrap();
        assert!(refused["errors"][0]["message"].is_string(), "{refused}");
    }
    let read = admin
        .request(ACCOUNT, json!({ "id": wallet.id }))
        .await
        .unwrap();
    assert_eq!(
        read["data"]["peerlabMockOperatorAccount"], expected,
        "refused requests changed nothing"
    );
    node.shutdown().await;
}

#[tokio::test]
async fn without_the_mock_operator_its_fields_say_so() {
    let (node, admin) = node(false).await;
    let answer = admin
        .request(ACCOUNT, json!({ "id": uuid::Uuid::new_v4().to_string() }))
        .await
        .unwrap();
    assert_eq!(
        answer["errors"][0]["message"],
        "this instance does not run the mock operator (MOCK_OPERATOR)"
    );
    assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    node.shutdown().await;
}
