//! Open Payments over a real socket: a wallet address URL answers its document as Rafiki's
//! resource server does; unknown and inactive ones are 404.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use peerlab::instance::{AdditionalProperty, NewWalletAddress, WalletAddressUpdate};
use peerlab_simulator::Network;
use peerlab_simulator::topology::InstanceSpec;
use serde_json::{Value, json};

async fn get(url: &str, accept: &str) -> (u16, Value) {
    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let request = hyper::Request::get(url)
        .header("accept", accept)
        .body(Empty::new())
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_wallet_address_answers_its_open_payments_document() {
    let network = Network::start(&[InstanceSpec::new("a", "test.a")])
        .await
        .unwrap();
    let handle = network.instance("a").unwrap();
    let asset = handle.admin().create_asset("EUR", 2).await.unwrap();
    let instance = handle.node().instance();
    let base = handle
        .node()
        .open_payments_url()
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let wallet = instance
        .create_wallet_address(NewWalletAddress {
            asset_id: asset,
            address: "alice".into(),
            public_name: Some("Alice".into()),
            additional_properties: vec![
                AdditionalProperty {
                    key: "nickname".into(),
                    value: "ally".into(),
                    visible_in_open_payments: true,
                },
                AdditionalProperty {
                    key: "iban".into(),
                    value: "secret".into(),
                    visible_in_open_payments: false,
                },
            ],
        })
        .unwrap();
    let url = format!("{base}/alice");
    assert_eq!(wallet.url, url);
    assert_eq!(
        get(&url, "application/json").await,
        (
            200,
            json!({
                "id": url,
                "publicName": "Alice",
                "assetCode": "EUR",
                "assetScale": 2,
                "authServer": format!("{base}/auth"),
                "resourceServer": base,
                "additionalProperties": { "nickname": "ally" },
            })
        )
    );
    // Paths are case-insensitive, as Rafiki stores URLs lower-cased.
    assert_eq!(get(&format!("{base}/ALICE"), "*/*").await.0, 200);
    assert_eq!(get(&format!("{base}/bob"), "application/json").await.0, 404);
    // Without a public name the field is left out, not null.
    instance
        .create_wallet_address(NewWalletAddress {
            asset_id: wallet.asset_id.to_string(),
            address: "carol".into(),
            ..NewWalletAddress::default()
        })
        .unwrap();
    let (status, carol) = get(&format!("{base}/carol"), "application/json").await;
    assert_eq!(status, 200);
    assert!(carol.get("publicName").is_none(), "{carol}");
    instance
        .update_wallet_address(WalletAddressUpdate {
            id: wallet.id.to_string(),
            active: Some(false),
            ..WalletAddressUpdate::default()
        })
        .unwrap();
    assert_eq!(get(&url, "application/json").await.0, 404);
    network.shutdown().await;
}

/// Pages on any origin may read wallet addresses and SPSP (Web Monetization does): every answer
/// allows any origin, and a preflight is answered.
#[tokio::test]
async fn any_origin_may_read_open_payments() {
    let network = Network::start(&[InstanceSpec::new("a", "test.a")])
        .await
        .unwrap();
    let handle = network.instance("a").unwrap();
    let base = handle
        .node()
        .open_payments_url()
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    for method in ["GET", "OPTIONS"] {
        let request = hyper::Request::builder()
            .method(method)
            .uri(format!("{base}/nobody"))
            .header("origin", "https://shop.example")
            .header("access-control-request-method", "GET")
            .body(Empty::new())
            .unwrap();
        let response = client.request(request).await.unwrap();
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "*",
            "{method}"
        );
        let expected = if method == "GET" { 404 } else { 204 };
        assert_eq!(response.status().as_u16(), expected, "{method}");
    }
    network.shutdown().await;
}
