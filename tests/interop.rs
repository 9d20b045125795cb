//! peerlab's wire checked against the real thing: packets built by the `ilp-packet` npm package
//! (as ilp-plugin-http sends them) go to a peerlab connector, and its replies are decoded by
//! `ilp-packet`. `tests/interop/setup.sh` installs the package from its lock file when missing.

use std::path::Path;
use std::process::Command;

use peerlab::ilp::Address;
use peerlab_simulator::topology::InstanceSpec;
use peerlab_simulator::{Network, PeerSettings, TestReceiver};
use serde_json::{Value, json};

fn interop_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop"))
}

fn install_packages() {
    let status = Command::new("bash")
        .arg(interop_dir().join("setup.sh"))
        .status()
        .expect("bash runs tests/interop/setup.sh");
    assert!(
        status.success(),
        "tests/interop/setup.sh failed (are node and npm installed?)"
    );
}

#[tokio::test]
async fn ilp_packet_npm_speaks_with_peerlab() {
    install_packages();
    let network = Network::start(&[InstanceSpec::new("a", "test.a")])
        .await
        .unwrap();
    let receiver = TestReceiver::start(Address::parse("test.a.receiver").unwrap())
        .await
        .unwrap();
    let a = network.instance("a").unwrap();
    let asset = a.admin().create_asset("XRP", 9).await.unwrap();
    for (address, token, endpoint, credit, max) in [
        (
            "test.js",
            "js-token",
            "http://127.0.0.1:9/",
            1_000_000,
            Some(1_000_000),
        ),
        ("test.a.receiver", "receiver-token", receiver.url(), 0, None),
    ] {
        a.admin()
            .create_peer(
                &PeerSettings::new(address, &asset, token, endpoint)
                    .liquidity(credit)
                    .max_packet_amount_option(max),
            )
            .await
            .unwrap();
    }

    let connector = a.connector_url();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .current_dir(interop_dir())
            .args(["ilp_packet.mjs", &connector, "js-token", "test.a.receiver"])
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "node failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let case = |name: &str| {
        results
            .iter()
            .find(|r| r["case"] == json!(name))
            .cloned()
            .unwrap_or_default()
    };

    let ildcp = case("ildcp");
    assert_eq!(
        (
            &ildcp["type"],
            &ildcp["clientAddress"],
            &ildcp["assetScale"],
            &ildcp["assetCode"]
        ),
        (
            &json!("ilp_fulfill"),
            &json!("test.js"),
            &json!(9),
            &json!("XRP")
        ),
        "{ildcp}"
    );
    let fulfilled = case("fulfill");
    assert_eq!(fulfilled["status"], json!(200));
    assert_eq!(
        fulfilled["fulfillmentMatchesCondition"],
        json!(true),
        "{fulfilled}"
    );
    let unreachable = case("unreachable");
    assert_eq!(
        (
            &unreachable["type"],
            &unreachable["code"],
            &unreachable["triggeredBy"]
        ),
        (&json!("ilp_reject"), &json!("F02"), &json!("test.a")),
        "{unreachable}"
    );
    let too_large = case("too_large");
    assert_eq!(
        (
            &too_large["code"],
            &too_large["receivedAmount"],
            &too_large["maximumAmount"]
        ),
        (&json!("F08"), &json!("1000001"), &json!("1000000")),
        "{too_large}"
    );
    assert_eq!(receiver.amount_received(), 1234);
    network.shutdown().await;
    receiver.shutdown().await;
}
