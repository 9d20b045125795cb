//! peerlab checked against the real thing: packets built by the `ilp-packet` npm package (as
//! ilp-plugin-http sends them) go to a peerlab connector, and its replies are decoded by
//! `ilp-packet`; graphql-js loads the admin schema by introspection, as GraphiQL and codegen do;
//! admin requests are signed with node's crypto and `json-canonicalize`, as Rafiki's clients do.
//! `tests/interop/setup.sh` installs the packages from the lock file when missing.

use std::path::Path;
use std::process::Command;

use peerlab::config::Config;
use peerlab::ilp::Address;
use peerlab::node::Node;
use peerlab_simulator::topology::InstanceSpec;
use peerlab_simulator::{Network, PeerSettings, TestReceiver};
use serde_json::{Value, json};

fn interop_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop"))
}

/// Installs the npm packages once per test run: the tests run in parallel, and two `npm ci` in
/// one folder at once break each other.
fn install_packages() {
    static INSTALLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let installed = *INSTALLED.get_or_init(|| {
        Command::new("bash")
            .arg(interop_dir().join("setup.sh"))
            .status()
            .expect("bash runs tests/interop/setup.sh")
            .success()
    });
    assert!(
        installed,
        "tests/interop/setup.sh failed (are node and npm installed?)"
    );
}

/// Runs `node <script> <args...>` in `tests/interop/` off the async runtime, fails the test with
/// node's output unless it succeeds, and returns the JSON values it printed, one per line.
async fn run_node(script: &'static str, args: Vec<String>) -> Vec<Value> {
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .current_dir(interop_dir())
            .arg(script)
            .args(&args)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "node {script} failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
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
    let args = [connector.as_str(), "js-token", "test.a.receiver"];
    let results = run_node("ilp_packet.mjs", args.map(str::to_owned).to_vec()).await;
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

/// Every `.graphql` file under `folder`.
fn graphql_files(folder: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(graphql_files(&path));
        } else if path.extension().is_some_and(|e| e == "graphql") {
            files.push(path.to_string_lossy().into_owned());
        }
    }
    files
}

#[tokio::test]
async fn graphql_js_introspects_the_schema_and_validates_every_fixture() {
    install_packages();
    let node = Node::start(Config::for_address(
        Address::parse("test.graphql-js").unwrap(),
    ))
    .await
    .unwrap();
    let fixtures = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/graphql"));
    let folders: Vec<String> = ["seed", "rafiki"]
        .iter()
        .map(|folder| fixtures.join(folder).to_string_lossy().into_owned())
        .collect();
    let mut args = vec![node.graphql_url()];
    args.extend(folders.iter().cloned());
    let printed = run_node("graphql_schema.mjs", args).await;
    assert_eq!(printed.len(), 1, "one result expected: {printed:?}");
    let result = &printed[0];
    assert_eq!(result["introspectionStatus"], json!(200), "{result}");
    assert_eq!(result["failures"], json!([]), "{result}");
    let mut expected: Vec<String> = folders
        .iter()
        .flat_map(|folder| graphql_files(Path::new(folder)))
        .collect();
    let mut validated: Vec<String> = result["validated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| file.as_str().unwrap().to_owned())
        .collect();
    expected.sort();
    validated.sort();
    assert!(expected.len() >= 20, "{expected:?}");
    assert_eq!(validated, expected);
    node.shutdown().await;
}

/// Rafiki v2's operator tenant, as its localenv names it.
const OPERATOR_TENANT: &str = "438fa74a-fa7d-4317-9ced-dde32ece1787";

#[tokio::test]
async fn admin_requests_signed_as_rafikis_clients_sign_them_are_served() {
    install_packages();
    // Rafiki's defaults for the signature's TTL and version.
    let mut config = Config::for_address(Address::parse("test.signed").unwrap());
    config.api_secret = Some("rafiki-admin-secret".into());
    config.operator_tenant_id = Some(OPERATOR_TENANT.parse().unwrap());
    let node = Node::start(config).await.unwrap();
    let url = node.graphql_url();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/graphql/rafiki");
    let args = [
        url.as_str(),
        "rafiki-admin-secret",
        OPERATOR_TENANT,
        fixtures,
    ];
    let results = run_node("admin_signature.mjs", args.map(str::to_owned).to_vec()).await;
    let cases: Vec<&str> = results
        .iter()
        .map(|r| r["case"].as_str().unwrap())
        .collect();
    assert_eq!(
        cases,
        [
            "signed",
            "replayed",
            "no_tenant",
            "seconds_timestamp",
            "reformatted_body"
        ]
    );
    let signed = &results[0];
    assert_eq!(signed["status"], json!(200), "{signed}");
    let asset = &signed["body"]["data"]["createAsset"]["asset"];
    assert_eq!(
        (
            &asset["code"],
            &asset["scale"],
            &asset["liquidityThreshold"]
        ),
        (&json!("JPY"), &json!(6), &json!("100000000")),
        "{signed}"
    );
    for (result, reason) in [
        (&results[1], "signature was already used"),
        (&results[2], "missing tenant-id header"),
        (&results[3], "more than 30 seconds"),
    ] {
        assert_eq!(result["status"], json!(401), "{result}");
        let message = result["body"]["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(reason), "{result}");
    }
    let fetched = &results[4];
    assert_eq!(fetched["status"], json!(200), "{fetched}");
    assert_eq!(
        fetched["body"]["data"]["asset"]["id"], asset["id"],
        "{fetched}"
    );
    assert!(node.instance().asset_by_code_and_scale("JPY", 6).is_some());
    node.shutdown().await;
}

/// A free loopback port for a server a script starts (ilp-plugin-http always listens).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap()
}

/// The reference STREAM client (ilp-protocol-stream 2.7.2-alpha.3 over ilp-plugin-http 1.6.1)
/// pays a wallet address one instance further through SPSP, and exactly what it sent arrives.
#[tokio::test]
async fn the_js_stream_client_pays_a_peerlab_wallet_address_through_spsp() {
    install_packages();
    const CREDIT: u64 = 10_000_000_000_000;
    let network = Network::start(&[
        InstanceSpec::new("a", "test.a"),
        InstanceSpec::new("b", "test.b"),
    ])
    .await
    .unwrap();
    let (a, b) = (
        network.instance("a").unwrap(),
        network.instance("b").unwrap(),
    );
    let usd_a = a.admin().create_asset("USD", 2).await.unwrap();
    let usd_b = b.admin().create_asset("USD", 2).await.unwrap();
    let plugin_port = free_port();
    // The JS client is a peer of A (it sends with js-token; A reaches its plugin's server).
    a.admin()
        .create_peer(
            &PeerSettings::new(
                "test.js",
                &usd_a,
                "js-token",
                format!("http://127.0.0.1:{plugin_port}"),
            )
            .outgoing_token("from-peerlab")
            .liquidity(CREDIT),
        )
        .await
        .unwrap();
    // A and B peer both ways; B lets A send up to CREDIT.
    a.admin()
        .create_peer(
            &PeerSettings::new("test.b", &usd_a, "b-to-a", b.connector_url())
                .outgoing_token("a-to-b"),
        )
        .await
        .unwrap();
    b.admin()
        .create_peer(
            &PeerSettings::new("test.a", &usd_b, "a-to-b", a.connector_url())
                .outgoing_token("b-to-a")
                .liquidity(CREDIT),
        )
        .await
        .unwrap();
    let wallet = b
        .node()
        .instance()
        .create_wallet_address(peerlab::instance::NewWalletAddress {
            asset_id: usd_b.clone(),
            address: "alice".into(),
            ..Default::default()
        })
        .unwrap();

    let amount: u64 = 123_456;
    let args = vec![
        a.connector_url(),
        "js-token".to_owned(),
        plugin_port.to_string(),
        wallet.url.clone(),
        amount.to_string(),
    ];
    let report = run_node("stream_client.mjs", args).await;
    assert_eq!(
        report,
        vec![json!({ "sent": amount.to_string(), "delivered": amount.to_string() })]
    );
    assert_eq!(
        b.node().instance().wallet_address_balance(wallet.id),
        Some(amount)
    );
    for instance in [a, b] {
        let instance = instance.node().instance();
        assert_eq!(instance.pending_transfer_count(), 0);
        instance.audit().unwrap();
    }
    network.shutdown().await;
}

/// peerlab's STREAM sender pays the reference STREAM server (ilp-protocol-stream 2.7.2-alpha.3
/// over ilp-plugin-http 1.6.1) peered with a peerlab instance; the server counts exactly what
/// was sent.
#[tokio::test]
async fn the_peerlab_sender_pays_a_js_stream_server() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    use base64::Engine;
    use peerlab::ilp::stream::SharedSecret;
    use peerlab::stream::{Amount, Destination, HttpLink, PaymentOptions, pay};

    install_packages();
    const CREDIT: u64 = 10_000_000_000_000;
    let network = Network::start(&[InstanceSpec::new("a", "test.a")])
        .await
        .unwrap();
    let a = network.instance("a").unwrap();
    let usd = a.admin().create_asset("USD", 2).await.unwrap();
    let plugin_port = free_port();
    for (address, incoming, endpoint, credit) in [
        (
            "test.payer",
            "payer-token",
            "http://127.0.0.1:9/".to_owned(),
            CREDIT,
        ),
        (
            "test.jsserver",
            "js-server-token",
            format!("http://127.0.0.1:{plugin_port}"),
            CREDIT,
        ),
    ] {
        a.admin()
            .create_peer(
                &PeerSettings::new(address, &usd, incoming, endpoint)
                    .outgoing_token("from-peerlab")
                    .liquidity(credit),
            )
            .await
            .unwrap();
    }
    let amount: u64 = 54_321;
    let mut server = Command::new("node")
        .current_dir(interop_dir())
        .arg("stream_server.mjs")
        .args([
            a.connector_url(),
            "js-server-token".to_owned(),
            plugin_port.to_string(),
            amount.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs");
    // The server prints a JSON line when it is ready and one when the money has arrived.
    let (lines, printed) = std::sync::mpsc::channel::<Value>();
    let stdout = BufReader::new(server.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = lines.send(serde_json::from_str(&line).unwrap_or(Value::Null));
        }
    });
    let next_line = move || printed.recv_timeout(std::time::Duration::from_secs(30));
    let (receiving, next_line) = tokio::task::spawn_blocking(move || (next_line(), next_line))
        .await
        .unwrap();
    let receiving = receiving.expect("the server's receiving address");
    let address = Address::parse(receiving["destinationAccount"].as_str().unwrap()).unwrap();
    assert!(address.as_str().starts_with("test.jsserver."), "{address}");
    let secret = base64::engine::general_purpose::STANDARD
        .decode(receiving["sharedSecret"].as_str().unwrap())
        .unwrap();
    let destination = Destination::Address {
        address,
        shared_secret: SharedSecret::from_slice(&secret).unwrap(),
    };
    let link = HttpLink::new(&a.connector_url(), "payer-token");
    let report = pay(
        &link,
        &destination,
        Amount::Source(amount),
        &PaymentOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        (report.source_amount_sent, report.amount_delivered),
        (amount, amount)
    );
    let received = tokio::task::spawn_blocking(next_line).await.unwrap();
    assert_eq!(received, Ok(json!({ "received": amount.to_string() })));
    assert!(server.wait().unwrap().success());
    let instance = a.node().instance();
    assert_eq!(instance.pending_transfer_count(), 0);
    instance.audit().unwrap();
    network.shutdown().await;
}
