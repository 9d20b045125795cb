//! The `peerlab` binary as a user runs it: configuration errors, URLs in the log, health, and a
//! clean stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn peerlab() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_peerlab"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command
}

fn node_with(vars: &[(&str, &str)]) -> std::process::Output {
    let mut command = peerlab();
    command.arg("node");
    for (name, value) in vars {
        command.env(name, value);
    }
    command.output().expect("peerlab runs")
}

#[test]
fn configuration_errors_name_the_variable_and_exit_2() {
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[], "ILP_ADDRESS is required"),
        (
            &[("ILP_ADDRESS", "not an address")],
            "ILP_ADDRESS=\"not an address\" is invalid",
        ),
        (
            &[("ILP_ADDRESS", "test.a"), ("ADMIN_PORT", "abc")],
            "ADMIN_PORT=\"abc\" is invalid",
        ),
        (
            &[("ILP_ADDRESS", "test.a"), ("BIND_ADDRESS", "somewhere")],
            "BIND_ADDRESS=",
        ),
        (
            &[
                ("ILP_ADDRESS", "test.a"),
                ("API_SECRET", "first"),
                ("ADMIN_API_SECRET", "second"),
            ],
            "API_SECRET and its alias ADMIN_API_SECRET are both set, to different values",
        ),
        (
            &[
                ("ILP_ADDRESS", "test.a"),
                ("OPERATOR_TENANT_ID", "operator"),
            ],
            "OPERATOR_TENANT_ID=\"operator\" is invalid",
        ),
    ];
    for (vars, expected) in cases {
        let output = node_with(vars);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{vars:?}: {stderr}");
        assert!(stderr.contains(expected), "{vars:?}: {stderr}");
    }
}

/// Reads the child's stderr until a line contains `needle`; returns that line.
fn wait_for_line(child: &mut Child, needle: &'static str) -> String {
    let stderr = child.stderr.take().expect("piped stderr");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains(needle) {
                let _ = sender.send(line);
            }
        }
    });
    receiver
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("no log line with {needle:?}"))
}

fn terminate(child: &mut Child) -> i32 {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    for _ in 0..100 {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code().unwrap_or(-1);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("peerlab did not stop within 5 s of SIGTERM");
}

fn http_get(url: &str) -> String {
    // A tiny HTTP/1.0 GET, so that this test needs no client library.
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    write!(stream, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

#[test]
fn node_logs_its_urls_serves_health_and_stops_on_sigterm() {
    let mut child = peerlab()
        .arg("node")
        .env("ILP_ADDRESS", "test.cli-node")
        .env("INSTANCE_NAME", "CLI")
        .env("ADMIN_PORT", "0")
        .env("CONNECTOR_PORT", "0")
        .env("OPEN_PAYMENTS_PORT", "0")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("peerlab starts");
    let line = wait_for_line(&mut child, "is up");
    let admin = line
        .split_whitespace()
        .find_map(|word| word.strip_prefix("admin="))
        .expect("admin URL in the log")
        .to_owned();
    assert!(line.contains("connector=http://127.0.0.1:"), "{line}");
    let health = http_get(&admin.replace("/graphql", "/healthz"));
    assert!(
        health.starts_with("HTTP/1.0 200") && health.ends_with("OK"),
        "{health}"
    );
    assert_eq!(terminate(&mut child), 0);
}

#[test]
fn up_prints_the_default_pair_and_stops_on_sigterm() {
    let mut child = peerlab()
        .arg("up")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("peerlab starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take_while(|line| !line.starts_with("Press Ctrl-C"))
        .collect();
    let text = lines.join("\n");
    assert!(text.contains("2 instances up (default pair)"), "{text}");
    // A first thing to try: a ready `peerlab pay` command (the pay test runs one).
    assert!(
        text.lines()
            .any(|line| line.trim_start().starts_with("peerlab pay http://")
                && line.contains(" --connector http://")
                && line.contains(" --token ")),
        "{text}"
    );
    assert!(
        text.contains("cloud-nine-wallet  test.cloud-nine-wallet"),
        "{text}"
    );
    assert!(
        text.contains("peered: cloud-nine-wallet <-> happy-life-bank in USD"),
        "{text}"
    );
    let admin = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("admin").map(str::trim))
        .expect("an admin URL");
    assert!(http_get(&admin.replace("/graphql", "/healthz")).ends_with("OK"));
    // The live network view, right under the first line, serves the network's snapshot.
    let view = lines[1]
        .strip_prefix("network view: http://127.0.0.1:")
        .unwrap_or_else(|| panic!("the view's URL second: {text}"));
    let snapshot = http_get(&format!("http://127.0.0.1:{view}network.json"));
    assert!(snapshot.starts_with("HTTP/1.0 200 OK"), "{snapshot}");
    assert!(
        snapshot.contains(&format!(
            "\"dashboard\":\"{}/\"",
            admin.trim_end_matches("/graphql")
        )),
        "{snapshot}"
    );
    assert_eq!(terminate(&mut child), 0);
}

#[test]
fn up_refuses_a_broken_topology_file() {
    let dir = std::env::temp_dir().join(format!("peerlab-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.toml");
    std::fs::write(
        &file,
        "[[instances]]\nname = \"a\"\nilp_address = \"bad\"\n",
    )
    .unwrap();
    let output = peerlab().arg("up").arg(&file).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid topology"));
}

#[test]
fn a_port_in_use_is_named_and_nothing_is_left_running() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = node_with(&[
        ("ILP_ADDRESS", "test.a"),
        ("ADMIN_PORT", "0"),
        ("CONNECTOR_PORT", "0"),
        ("OPEN_PAYMENTS_PORT", "0"),
        ("ENABLE_AUTO_PEERING", "true"),
        ("AUTO_PEERING_SERVER_PORT", &port),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("AUTO_PEERING_SERVER_PORT"), "{stderr}");
    assert!(!stderr.contains("is up"), "nothing may start: {stderr}");
}

/// `peerlab up` prints the pair's wallet addresses and links; `peerlab pay` pays Bob (at
/// happy-life-bank) through happy-life-bank's connector as cloud-nine-wallet, and says what
/// arrived.
#[test]
fn pay_sends_to_a_wallet_address_of_the_default_pair() {
    let mut up = peerlab()
        .arg("up")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("peerlab starts");
    let stdout = up.stdout.take().expect("piped stdout");
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take_while(|line| !line.starts_with("Press Ctrl-C"))
        .collect();
    let text = lines.join("\n");
    let bob = lines
        .iter()
        .filter_map(|l| l.trim().strip_prefix("wallet address "))
        .find(|url| url.ends_with("/bob"))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no wallet address for Bob: {text}"));
    // "link: cloud-nine-wallet sends to <happy-life-bank's connector> with token <token>"
    let link = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("link: cloud-nine-wallet sends to "))
        .unwrap_or_else(|| panic!("no link from cloud-nine-wallet: {text}"));
    let (connector, token) = link
        .split_once(" with token ")
        .expect("connector and token");
    let paid = peerlab()
        .args([
            "pay",
            &bob,
            "1234",
            "--connector",
            connector,
            "--token",
            token,
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&paid.stdout);
    assert!(
        paid.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&paid.stderr)
    );
    assert!(said.contains("1234 sent, 1234 delivered to"), "{said}");
    // A wallet address that does not exist: a clear error and exit 1.
    let missing = bob.replace("/bob", "/nobody");
    let refused = peerlab()
        .args([
            "pay",
            &missing,
            "1",
            "--connector",
            connector,
            "--token",
            token,
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("404"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(terminate(&mut up), 0);
}

/// `peerlab run` with no file runs the default pair's traffic (payments both ways through
/// Rafiki's admin operations), prints the report with every invariant held, writes the same
/// report as JSON, and exits 0.
#[test]
fn run_makes_the_default_pairs_payments_and_reports_them() {
    let json = std::env::temp_dir().join(format!("peerlab-run-{}.json", std::process::id()));
    let view_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    let output = peerlab()
        .args(["run", "--view-port", &view_port.to_string(), "--json"])
        .arg(&json)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The header names the live view, on the port asked for, before the progress and report.
    assert_eq!(
        said.lines().nth(1),
        Some(format!("network view: http://127.0.0.1:{view_port}/").as_str()),
        "{said}"
    );
    assert!(
        said.contains(
            "payments: 100 planned, 100 completed, 0 partial, 0 failed, 0 unfinished, 0 not started"
        ),
        "{said}"
    );
    assert!(!said.contains("BROKEN"), "{said}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let _ = std::fs::remove_file(&json);
    // What the binary wrote has the documented shape.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("run-report.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let violations: Vec<String> = validator
        .iter_errors(&report)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect();
    assert_eq!(violations, Vec::<String>::new());
    assert_eq!(report["payments"]["completed"], 100);
    // 50 payments of 1234 one way, 50 of 500 the other: cloud-nine-wallet's grant to
    // happy-life-bank moves by the difference, and happy-life-bank's by its opposite.
    assert_eq!(report["payments"]["delivered"], 50 * 1234 + 50 * 500);
    let peering = &report["peerings"][0];
    assert_eq!(
        peering["before"],
        serde_json::json!([10_000_000, 10_000_000])
    );
    assert_eq!(
        peering["after"],
        serde_json::json!([
            10_000_000 + 50 * 1234 - 50 * 500,
            10_000_000 - 50 * 1234 + 50 * 500
        ])
    );
    let invariants = report["invariants"].as_array().unwrap();
    assert_eq!(invariants.len(), 5);
    assert!(invariants.iter().all(|i| i["held"] == true), "{report}");
    // Each payment fits in one packet, fulfilled at the sender and counted at the receiver.
    assert_eq!(report["packets"]["sent"]["fulfilled"], 100, "{report}");
    assert_eq!(report["packets"]["sent"]["rejected"], serde_json::json!({}));
    assert_eq!(report["packets"]["from_peers"]["fulfilled"], 100);
    assert!(report["packets"]["latency_ms"]["count"] == 100);
    let instances = report["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 2);
    for instance in instances {
        assert_eq!(instance["packets_sent"]["fulfilled"], 50, "{instance}");
        assert_eq!(instance["assets"][0]["code"], "USD");
        assert_eq!(
            instance["assets"][0]["before"],
            instance["assets"][0]["after"]
        );
    }
    assert!(said.contains("replay: peerlab run --seed "), "{said}");
}

/// A topology whose traffic names a wallet address it does not create is refused before
/// anything starts, naming the traffic entry.
#[test]
fn run_refuses_traffic_between_unknown_wallet_addresses() {
    let path = std::env::temp_dir().join(format!("peerlab-bad-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        "[[instances]]\nname = \"a\"\nilp_address = \"test.a\"\n\
         [[traffic]]\nfrom = \"a/alice\"\nto = \"a/bob\"\namount = 1\ncount = 1\n",
    )
    .unwrap();
    let output = peerlab().arg("run").arg(&path).output().unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("traffic 1: no wallet address \"a/alice\""),
        "{said}"
    );
}

/// `--seed N` repeats the amounts a `[min, max]` traffic draws: the same seed twice delivers the
/// same total, another seed another total; the report names the seed.
#[test]
fn the_same_seed_draws_the_same_payments() {
    let dir = std::env::temp_dir();
    let topology = dir.join(format!("peerlab-seed-{}.toml", std::process::id()));
    std::fs::write(
        &topology,
        r#"
[[instances]]
name = "a"
ilp_address = "test.a"
[[instances]]
name = "b"
ilp_address = "test.b"
[[assets]]
code = "USD"
scale = 2
[[peerings]]
between = ["a", "b"]
asset = "USD"
liquidity = 100000000
[[wallet_addresses]]
instance = "a"
asset = "USD"
address = "alice"
[[wallet_addresses]]
instance = "b"
asset = "USD"
address = "bob"
[[traffic]]
from = "a/alice"
to = "b/bob"
amount = [1, 100000]
count = 12
concurrency = 3
"#,
    )
    .unwrap();
    let delivered = |seed: &str| {
        let json = dir.join(format!("peerlab-seed-{}-{seed}.json", std::process::id()));
        let output = peerlab()
            .args(["run", "--seed", seed, "--json"])
            .arg(&json)
            .arg(&topology)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let _ = std::fs::remove_file(&json);
        assert_eq!(report["seed"], seed.parse::<u64>().unwrap());
        assert_eq!(report["payments"]["completed"], 12, "{report}");
        report["payments"]["delivered"].as_u64().unwrap()
    };
    let first = delivered("42");
    assert_eq!(delivered("42"), first);
    assert_ne!(delivered("43"), first);
    let _ = std::fs::remove_file(&topology);
}

/// `--duration` stops starting payments when it runs out: a traffic of 1,000,000 payments ends
/// after about a second, what was started completes, the rest is counted not started.
#[test]
fn duration_stops_starting_payments() {
    let topology = std::env::temp_dir().join(format!("peerlab-dur-{}.toml", std::process::id()));
    let text =
        peerlab_simulator::topology::DEFAULT_TOPOLOGY.replace("count = 50", "count = 1000000");
    std::fs::write(&topology, text).unwrap();
    let json = std::env::temp_dir().join(format!("peerlab-dur-{}.json", std::process::id()));
    let started = std::time::Instant::now();
    let output = peerlab()
        .args(["run", "--duration", "1", "--json"])
        .arg(&json)
        .arg(&topology)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let _ = std::fs::remove_file(&json);
    let _ = std::fs::remove_file(&topology);
    let payments = &report["payments"];
    assert_eq!(payments["planned"], 2_000_000);
    let completed = payments["completed"].as_u64().unwrap();
    assert!(completed > 0, "{report}");
    assert_eq!(payments["unfinished"], 0);
    assert_eq!(
        payments["not_started"].as_u64().unwrap(),
        2_000_000 - completed - payments["failed"].as_u64().unwrap()
    );
}

/// The shipped `chaos` topology injects a fault of every kind while payments flow both ways:
/// each is recorded with its time, and every invariant holds.
#[test]
fn chaos_injects_every_fault_and_the_invariants_hold() {
    let topology = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/topologies/chaos.toml"
    );
    let json = std::env::temp_dir().join(format!("peerlab-chaos-{}.json", std::process::id()));
    let output = peerlab()
        .args(["run", "--seed", "1", "--json"])
        .arg(&json)
        .arg(topology)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{said}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let _ = std::fs::remove_file(&json);
    let kinds: Vec<&str> = report["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|fault| {
            assert!(fault.get("error").is_none(), "{fault}");
            fault["kind"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "latency",
            "drop",
            "partition",
            "server_error",
            "garbage",
            "wrong_token",
            "drain_liquidity",
            "restart"
        ]
    );
    let payments = &report["payments"];
    let ended: u64 = ["completed", "partial", "failed"]
        .iter()
        .map(|outcome| payments[outcome].as_u64().unwrap())
        .sum();
    assert_eq!(ended, 90, "{report}");
    assert!(
        report["invariants"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["held"] == true),
        "{report}"
    );
}

/// `[[random_faults]]` are drawn from the run's seed: the same seed injects the same faults at
/// the same times, and the invariants hold through them.
#[test]
fn random_faults_repeat_with_the_seed() {
    let topology = std::env::temp_dir().join(format!("peerlab-rf-{}.toml", std::process::id()));
    let text = format!(
        "{}\n[[random_faults]]\nkinds = [\"partition\", \"latency\", \"server_error\", \"drop\"]\nrate = 4\nfor = 0.2\nuntil = 1\n",
        peerlab_simulator::topology::DEFAULT_TOPOLOGY
    );
    std::fs::write(&topology, text).unwrap();
    let faults = |seed: &str| {
        let json =
            std::env::temp_dir().join(format!("peerlab-rf-{}-{seed}.json", std::process::id()));
        let output = peerlab()
            .args(["run", "--seed", seed, "--json"])
            .arg(&json)
            .arg(&topology)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let _ = std::fs::remove_file(&json);
        assert!(
            report["invariants"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["held"] == true),
            "{report}"
        );
        report["faults"]
            .as_array()
            .unwrap()
            .iter()
            .map(|fault| (fault["kind"].to_string(), fault["between"].to_string()))
            .collect::<Vec<_>>()
    };
    let first = faults("11");
    assert!(!first.is_empty());
    assert_eq!(faults("11"), first);
    let _ = std::fs::remove_file(&topology);
}
