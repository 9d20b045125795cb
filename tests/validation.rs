//! Input that looks harmless and is not: names and codes that display as something else, peers
//! that would route in a loop. Each is refused over the admin API with a clear message, and the
//! instance's state is exactly what it was before.

use peerlab::config::Config;
use peerlab::ilp::Address;
use peerlab::node::Node;
use peerlab_simulator::{AdminClient, ClientError, PeerSettings};
use serde_json::{Value, json};

const OWN_ADDRESS: &str = "test.validation";

async fn node() -> (Node, AdminClient) {
    let config = Config::for_address(Address::parse(OWN_ADDRESS).unwrap());
    let node = Node::start(config).await.unwrap();
    let client = AdminClient::new(&node.graphql_url()).unwrap();
    (node, client)
}

/// Every asset and peer the instance has, with what could change.
async fn state(client: &AdminClient) -> Value {
    client
        .request(
            "{ assets(first: 100) { edges { node { id code scale liquidity } } }
               peers(first: 100) { edges { node { id name staticIlpAddress routes liquidity } } } }",
            json!({}),
        )
        .await
        .unwrap()
}

fn refused_with(result: Result<String, ClientError>, code: &str, message: &str) {
    match result {
        Err(ClientError::Refused {
            code: got_code,
            message: got_message,
            ..
        }) => {
            assert_eq!(got_code, code, "{got_message}");
            assert!(
                got_message.contains(message),
                "{got_message:?} should contain {message:?}"
            );
        }
        other => panic!("expected a refusal with {code}, got {other:?}"),
    }
}

#[tokio::test]
async fn asset_codes_that_display_as_another_code_are_refused() {
    let (node, client) = node().await;
    client.create_asset("USD", 2).await.unwrap();
    let before = state(&client).await;
    for code in [
        "\u{202e}DSU",
        "US\u{200b}D",
        "\u{feff}EUR",
        "EU\u{7}R",
        "GBP\u{2066}",
    ] {
        refused_with(
            client.create_asset(code, 2).await,
            "400",
            "invalid asset code",
        );
    }
    assert_eq!(state(&client).await, before);
    // Rafiki's leniency stays: surrounding spaces are trimmed, letters of any script are codes.
    client.create_asset(" EUR ", 2).await.unwrap();
    client.create_asset("ÄÖÜ", 2).await.unwrap();
    node.shutdown().await;
}

#[tokio::test]
async fn peer_names_with_control_or_invisible_characters_are_refused() {
    let (node, client) = node().await;
    let asset = client.create_asset("USD", 2).await.unwrap();
    let peer = client
        .create_peer(&PeerSettings::new("test.peer", &asset, "in", "http://127.0.0.1:1").name("Ok"))
        .await
        .unwrap();
    let before = state(&client).await;
    for name in ["Bank\u{202e}", "Ba\u{200d}nk", "line\nbreak", "bell\u{7}"] {
        let settings =
            PeerSettings::new("test.other", &asset, "in2", "http://127.0.0.1:1").name(name);
        refused_with(
            client.create_peer(&settings).await,
            "400",
            "control or invisible",
        );
        let update = client
            .mutate(
                "updatePeer",
                "mutation U($input: UpdatePeerInput!) { updatePeer(input: $input) { code success message } }",
                json!({ "input": { "id": peer, "name": name } }),
            )
            .await
            .map(|_| String::new());
        refused_with(update, "400", "control or invisible");
    }
    assert_eq!(state(&client).await, before);
    node.shutdown().await;
}

#[tokio::test]
async fn a_peer_at_a_peer_address_or_at_our_own_address_is_refused() {
    let (node, client) = node().await;
    let asset = client.create_asset("USD", 2).await.unwrap();
    let peer = client
        .create_peer(&PeerSettings::new(
            "test.peer",
            &asset,
            "in",
            "http://127.0.0.1:1",
        ))
        .await
        .unwrap();
    let before = state(&client).await;
    for address in [
        "peer.config",
        "peer.route.control",
        OWN_ADDRESS,
        " test.validation ",
    ] {
        let settings = PeerSettings::new(address, &asset, "in2", "http://127.0.0.1:1");
        refused_with(
            client.create_peer(&settings).await,
            "400",
            "cannot be peer.* or this instance's own address",
        );
        let update = client
            .mutate(
                "updatePeer",
                "mutation U($input: UpdatePeerInput!) { updatePeer(input: $input) { code success message } }",
                json!({ "input": { "id": peer, "staticIlpAddress": address } }),
            )
            .await
            .map(|_| String::new());
        refused_with(
            update,
            "400",
            "cannot be peer.* or this instance's own address",
        );
        let routed = PeerSettings::new("test.third", &asset, "in3", "http://127.0.0.1:1")
            .routes(&[address.to_owned()]);
        refused_with(client.create_peer(&routed).await, "400", "invalid route");
    }
    assert_eq!(state(&client).await, before);
    // An address under ours is an ordinary peer (a child in ILP terms), and so is one that only
    // shares our address as a string prefix.
    for address in ["test.validation.child", "test.validationx"] {
        let settings = PeerSettings::new(address, &asset, address, "http://127.0.0.1:1");
        client.create_peer(&settings).await.unwrap();
    }
    node.shutdown().await;
}
