//! `peerlab test --target`: the repository's features run on a real deployment, stood in for by
//! two `peerlab node` processes started here, each requiring signed admin requests with a secret
//! and an operator tenant id, as a Rafiki deployment does. Every scenario not tagged
//! @embedded-only must pass, in each admin dialect; the run must clean up after itself and a
//! second run on the same instances must not collide with the first.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use peerlab_simulator::AdminClient;
use serde_json::json;

/// A `peerlab node` child process, stopped when dropped.
struct NodeProcess {
    child: Child,
    admin: String,
    connector: String,
    open_payments: String,
    auto_peering: String,
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SECRET: &str = "a-staging-secret";
const TENANT: &str = "438fa74a-fa7d-4317-9ced-dde32ece1787";

fn start_node(name: &str, address: &str, dialect: &str) -> NodeProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_peerlab"))
        .arg("node")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("INSTANCE_NAME", name)
        .env("ILP_ADDRESS", address)
        .env("ADMIN_PORT", "0")
        .env("CONNECTOR_PORT", "0")
        .env("OPEN_PAYMENTS_PORT", "0")
        .env("ENABLE_AUTO_PEERING", "true")
        .env("AUTO_PEERING_SERVER_PORT", "0")
        .env("API_SECRET", SECRET)
        .env("OPERATOR_TENANT_ID", TENANT)
        .env("ADMIN_API_DIALECT", dialect)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("peerlab node starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("is up") {
                let _ = sender.send(line);
            }
        }
    });
    let line = receiver
        .recv_timeout(Duration::from_secs(30))
        .expect("the node says it is up");
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|word| word.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name}= in {line}"))
            .to_owned()
    };
    NodeProcess {
        admin: field("admin"),
        connector: field("connector"),
        open_payments: field("open_payments"),
        auto_peering: field("auto_peering"),
        child,
    }
}

fn targets_file(dir: &Path, nodes: &[(&str, &str, &NodeProcess)], dialect: &str) -> PathBuf {
    let admin_urls: Vec<String> = nodes
        .iter()
        .map(|(_, _, node)| node.admin.clone())
        .collect();
    targets_file_with(dir, nodes, &admin_urls, dialect, "")
}

/// A targets file for `nodes`, their admin APIs at `admin_urls`, with `extra` in each target.
fn targets_file_with(
    dir: &Path,
    nodes: &[(&str, &str, &NodeProcess)],
    admin_urls: &[String],
    dialect: &str,
    extra: &str,
) -> PathBuf {
    let mut text = String::from("# Two peerlab node processes standing in for a deployment.\n");
    for ((name, address, node), admin) in nodes.iter().zip(admin_urls) {
        text.push_str(&format!(
            r#"
[[targets]]
name = "{name}"
admin_graphql_url = "{admin}"
connector_url = "{}"
open_payments_url = "{}"
auto_peering_url = "{}"
ilp_address = "{address}"
admin_secret_env = "STAGING_ADMIN_SECRET"
tenant_id_env = "STAGING_TENANT_ID"
dialect = "{dialect}"
{extra}
"#,
            node.connector, node.open_payments, node.auto_peering
        ));
    }
    let path = dir.join("targets.toml");
    std::fs::write(&path, text).expect("targets file written");
    path
}

fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("peerlab-targets-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn peerlab_test(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_peerlab"))
        .arg("test")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("STAGING_ADMIN_SECRET", SECRET)
        .env("STAGING_TENANT_ID", TENANT)
        .output()
        .expect("peerlab runs")
}

fn both(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// How many peers and assets the node has, asked as an operator would.
async fn counts(node: &NodeProcess) -> (usize, usize) {
    let admin = AdminClient::new(&node.admin)
        .expect("admin URL")
        .signed_with(Some(SECRET.into()))
        .with_tenant_id(Some(TENANT.into()));
    let response = admin
        .request(
            "{ peers(first: 100) { edges { node { id } } } assets(first: 100) { edges { node { id } } } }",
            json!({}),
        )
        .await
        .expect("admin API answers");
    let count = |field: &str| {
        response["data"][field]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{field} in {response}"))
            .len()
    };
    (count("peers"), count("assets"))
}

fn features() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../features").to_owned()
}

async fn the_features_pass_on_two_nodes(dialect: &str) {
    let dir = temp_dir(dialect);
    let cloud_nine = start_node("Cloud Nine", "test.cloud-nine-wallet", dialect);
    let happy_life = start_node("Happy Life", "test.happy-life-bank", dialect);
    let targets = targets_file(
        &dir,
        &[
            ("Cloud Nine", "test.cloud-nine-wallet", &cloud_nine),
            ("Happy Life", "test.happy-life-bank", &happy_life),
        ],
        dialect,
    );
    let junit = dir.join("junit.xml");
    let targets_arg = targets.to_string_lossy().into_owned();
    let junit_arg = junit.to_string_lossy().into_owned();
    let output = peerlab_test(
        &dir,
        &[&features(), "--target", &targets_arg, "--junit", &junit_arg],
    );
    let text = both(&output);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("scenario(s) tagged @embedded-only"),
        "the skipped scenarios are listed: {text}"
    );
    // Every peer was deleted, and every asset but those holding wallet addresses (Rafiki refuses
    // to delete an asset in use), which the run listed, each with the reason.
    for (name, node) in [("Cloud Nine", &cloud_nine), ("Happy Life", &happy_life)] {
        let (peers, assets) = counts(node).await;
        let listed = text
            .lines()
            .filter(|line| {
                line.starts_with(&format!("  - {name}: asset "))
                    && line.ends_with("Cannot delete! Asset in use.")
            })
            .count();
        assert_eq!(
            (peers, assets),
            (0, listed),
            "left behind on {name}: {text}"
        );
    }
    let report = std::fs::read_to_string(&junit).expect("a JUnit report");
    assert!(
        report.contains("<skipped message=\"tagged @embedded-only"),
        "{report}"
    );
    let passed = report.matches("<testcase").count() - report.matches("<skipped").count();
    assert!(
        passed >= 30,
        "{passed} scenarios ran on the targets: {report}"
    );
}

#[tokio::test]
async fn the_features_pass_on_two_nodes_in_the_seed_dialect() {
    the_features_pass_on_two_nodes("seed").await;
}

#[tokio::test]
async fn the_features_pass_on_two_nodes_in_todays_dialect() {
    the_features_pass_on_two_nodes("v2").await;
}

/// The starter kit's example runs on the targets as written, twice on the same instances: the
/// second run's assets, peers, tokens and wallet addresses do not meet the first's.
#[tokio::test]
async fn the_starter_kit_runs_twice_on_the_same_targets() {
    let dir = temp_dir("starter");
    let kit = dir.join("kit");
    let init = peerlab_test(&dir, &["--init", &kit.to_string_lossy()]);
    assert!(init.status.success(), "{}", both(&init));
    let cloud_nine = start_node("Cloud Nine", "test.cloud-nine-wallet", "auto");
    let happy_life = start_node("Happy Life", "test.happy-life-bank", "auto");
    let targets = targets_file(
        &dir,
        &[
            ("Cloud Nine", "test.cloud-nine-wallet", &cloud_nine),
            ("Happy Life", "test.happy-life-bank", &happy_life),
        ],
        "v2",
    );
    let features = kit.join("features").to_string_lossy().into_owned();
    let targets_arg = targets.to_string_lossy().into_owned();
    for run in 1..=2 {
        let output = peerlab_test(&dir, &[&features, "--target", &targets_arg]);
        let text = both(&output);
        assert!(output.status.success(), "run {run}: {text}");
        assert!(text.contains("3 scenarios (3 passed)"), "run {run}: {text}");
        // The payment's wallet addresses cannot be deleted: they are listed, deactivated.
        assert!(
            text.contains("(deactivated: Rafiki cannot delete wallet addresses)"),
            "run {run}: {text}"
        );
    }
}

/// A deployment's HTTPS front: TLS with a certificate for 127.0.0.1 signed by `ca`, forwarding
/// each connection to `backend`.
async fn tls_front(
    backend: std::net::SocketAddr,
    certificate: &rcgen::Certificate,
    key: &rcgen::KeyPair,
) -> u16 {
    use tokio_rustls::rustls;
    let chain = vec![certificate.der().clone()];
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                if let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                }
            });
        }
    });
    port
}

/// Staging deployments serve their admin API over HTTPS, often with a private certificate
/// authority: the targets file names its certificate, and the features pass through TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_features_pass_on_targets_behind_https_with_a_private_authority() {
    let dir = temp_dir("https");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    std::fs::write(dir.join("staging-ca.pem"), ca.pem()).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let cloud_nine = start_node("Cloud Nine", "test.cloud-nine-wallet", "v2");
    let happy_life = start_node("Happy Life", "test.happy-life-bank", "v2");
    let mut admin_urls = Vec::new();
    for node in [&cloud_nine, &happy_life] {
        let backend: std::net::SocketAddr = node
            .admin
            .trim_start_matches("http://")
            .trim_end_matches("/graphql")
            .parse()
            .unwrap();
        let port = tls_front(backend, &leaf, &leaf_key).await;
        admin_urls.push(format!("https://127.0.0.1:{port}/graphql"));
    }
    let nodes = [
        ("Cloud Nine", "test.cloud-nine-wallet", &cloud_nine),
        ("Happy Life", "test.happy-life-bank", &happy_life),
    ];
    let peering = format!("{}/peering.feature", features());
    let trusted = targets_file_with(
        &dir,
        &nodes,
        &admin_urls,
        "v2",
        "ca_certificate = \"staging-ca.pem\"",
    );
    let trusted = trusted.to_string_lossy().into_owned();
    let output = tokio::task::spawn_blocking({
        let (dir, peering) = (dir.clone(), peering.clone());
        move || peerlab_test(&dir, &[&peering, "--target", &trusted])
    })
    .await
    .unwrap();
    let text = both(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("15 scenarios (15 passed)"), "{text}");
    // Without the authority, the certificate is not trusted and the run says so.
    let untrusted = targets_file_with(&dir, &nodes, &admin_urls, "v2", "");
    let untrusted = untrusted.to_string_lossy().into_owned();
    let output = tokio::task::spawn_blocking(move || {
        peerlab_test(&dir, &[&peering, "--target", &untrusted])
    })
    .await
    .unwrap();
    let text = both(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("target \"Cloud Nine\" cannot be reached: https://127.0.0.1:")
            && text.contains("UnknownIssuer"),
        "{text}"
    );
}

/// A wrong secret stops the run before any scenario, naming the target and the refusal.
#[test]
fn a_target_refusing_the_secret_stops_the_run_at_once() {
    let dir = temp_dir("secret");
    let node = start_node("Cloud Nine", "test.cloud-nine-wallet", "v2");
    let targets = targets_file(
        &dir,
        &[("Cloud Nine", "test.cloud-nine-wallet", &node)],
        "v2",
    );
    std::fs::create_dir_all(dir.join("features")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_peerlab"))
        .args(["test", "features", "--target"])
        .arg(&targets)
        .current_dir(&dir)
        .env_clear()
        .env("STAGING_ADMIN_SECRET", "not-the-secret")
        .env("STAGING_TENANT_ID", TENANT)
        .output()
        .expect("peerlab runs");
    let text = both(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("target \"Cloud Nine\" cannot be reached") && text.contains("HTTP 401"),
        "{text}"
    );
}

#[test]
fn a_targets_file_naming_an_unset_variable_is_refused_before_anything_runs() {
    let dir = temp_dir("unset");
    let text = r#"
[[targets]]
name = "Cloud Nine"
admin_graphql_url = "http://127.0.0.1:9/graphql"
connector_url = "http://127.0.0.1:9"
open_payments_url = "http://127.0.0.1:9"
ilp_address = "test.cloud-nine-wallet"
admin_secret_env = "NOT_SET_ANYWHERE"
dialect = "v2"
"#;
    std::fs::write(dir.join("targets.toml"), text).unwrap();
    std::fs::create_dir_all(dir.join("features")).unwrap();
    let output = peerlab_test(&dir, &["features", "--target", "targets.toml"]);
    assert_eq!(output.status.code(), Some(2), "{}", both(&output));
    assert!(
        both(&output).contains(
            "target \"Cloud Nine\": admin_secret_env names the environment variable \
             NOT_SET_ANYWHERE, which is not set"
        ),
        "{}",
        both(&output)
    );
    let conflicting = peerlab_test(
        &dir,
        &["features", "--target", "targets.toml", "--dialect", "seed"],
    );
    assert_eq!(conflicting.status.code(), Some(2), "{}", both(&conflicting));
}
