//! One network spread over three hosts, as a network engineer runs it: three Linux network
//! namespaces with their own addresses on a bridge stand for three machines; `peerlab up FILE
//! --host NAME` runs in each, `peerlab run FILE --targets TARGETS` drives them from the default
//! namespace, every packet crossing the bridge. The report must match the one an embedded run of
//! the same topology and seed gives, in every count that does not depend on timing.
//!
//! Making namespaces takes root (this machine's CI runs as root); elsewhere the test says it
//! cannot run and why.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use peerlab_simulator::Topology;
use peerlab_simulator::placement::{self, SecretsIn};
use peerlab_simulator::report::timing_free;
use serde_json::Value;

fn peerlab() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_peerlab"));
    command.env("RUST_LOG", "warn");
    command
}

fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|error| format!("ip {}: {error}", args.join(" ")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Three namespaces on a bridge, removed when dropped (with everything running in them).
struct Hosts {
    bridge: String,
    namespaces: Vec<String>,
    addresses: Vec<String>,
    processes: Vec<Child>,
}

impl Hosts {
    /// Names and a /24 unique to this process, so that two test runs do not meet.
    fn make(count: usize) -> Result<Self, String> {
        let pid = std::process::id();
        let subnet = format!("10.231.{}", pid % 250);
        let mut hosts = Hosts {
            bridge: format!("plbr{}", pid % 100_000),
            namespaces: Vec::new(),
            addresses: Vec::new(),
            processes: Vec::new(),
        };
        ip(&["link", "add", &hosts.bridge, "type", "bridge"])?;
        ip(&[
            "addr",
            "add",
            &format!("{subnet}.1/24"),
            "dev",
            &hosts.bridge,
        ])?;
        ip(&["link", "set", &hosts.bridge, "up"])?;
        for n in 0..count {
            let namespace = format!("pl{}h{n}", pid % 100_000);
            let outside = format!("plv{}h{n}", pid % 100_000);
            let address = format!("{subnet}.{}", 11 + n);
            ip(&["netns", "add", &namespace])?;
            hosts.namespaces.push(namespace.clone());
            ip(&[
                "link", "add", &outside, "type", "veth", "peer", "name", "eth0", "netns",
                &namespace,
            ])?;
            ip(&["link", "set", &outside, "master", &hosts.bridge])?;
            ip(&["link", "set", &outside, "up"])?;
            let inside = |args: &[&str]| {
                let mut all = vec!["netns", "exec", &namespace, "ip"];
                all.extend_from_slice(args);
                ip(&all)
            };
            inside(&["addr", "add", &format!("{address}/24"), "dev", "eth0"])?;
            inside(&["link", "set", "eth0", "up"])?;
            inside(&["link", "set", "lo", "up"])?;
            hosts.addresses.push(address);
        }
        Ok(hosts)
    }

    /// Runs `command` (a `peerlab` invocation) inside namespace `n`.
    fn spawn_in(&mut self, n: usize, args: &[&str], log: &Path) {
        let log = std::fs::File::create(log).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.namespaces[n]])
            .arg(env!("CARGO_BIN_EXE_peerlab"))
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::from(log.try_clone().expect("log file")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("peerlab starts in its namespace");
        self.processes.push(child);
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for child in &mut self.processes {
            let _ = child.kill();
            let _ = child.wait();
        }
        for namespace in &self.namespaces {
            // Deleting a namespace deletes its end of the veth pair, and so the pair.
            let _ = ip(&["netns", "del", namespace]);
        }
        let _ = ip(&["link", "del", &self.bridge]);
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("Uid:"))
                .map(|line| line.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn read_report(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).expect("the report is JSON")
}

#[test]
fn a_network_over_three_hosts_gives_the_report_of_one_process() {
    if !is_root() {
        eprintln!(
            "SKIPPED: making network namespaces needs root; run as root (as this project's CI does) to test a network over several hosts"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut hosts = Hosts::make(3).expect("three network namespaces on a bridge");
    // The shipped three-host topology, with the namespaces' addresses for its hosts'.
    let shipped = include_str!("../../fixtures/topologies/three-hosts.toml");
    let text = ["127.0.0.21", "127.0.0.22", "127.0.0.23"]
        .iter()
        .zip(&hosts.addresses)
        .fold(shipped.to_owned(), |text, (from, to)| {
            text.replace(from, to)
        });
    let topology_path = dir.path().join("three-hosts.toml");
    std::fs::write(&topology_path, &text).expect("topology written");
    let topology = Topology::parse(&text).expect("a valid topology");
    let topology_arg = topology_path.to_str().expect("a UTF-8 path");
    for (n, host) in ["alpha", "beta", "gamma"].iter().enumerate() {
        let log = dir.path().join(format!("{host}.log"));
        hosts.spawn_in(n, &["up", topology_arg, "--host", host], &log);
    }
    // The targets file as a user makes it.
    let exported = peerlab()
        .args(["export", "targets", topology_arg, "--out"])
        .arg(dir.path())
        .output()
        .expect("peerlab export runs");
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let targets_path = dir.path().join("targets.toml");
    let written = std::fs::read_to_string(&targets_path).expect("targets written");
    assert!(
        written.ends_with(&placement::targets_file(
            &placement::on_hosts(&topology),
            SecretsIn::Topology
        )),
        "the exported targets file is the placement's (after its header): {written}"
    );

    let seed = "7";
    let spread_report = dir.path().join("spread.json");
    let spread = peerlab()
        .args(["run", topology_arg, "--targets"])
        .arg(&targets_path)
        .args(["--seed", seed, "--wait", "30", "--json"])
        .arg(&spread_report)
        .output()
        .expect("peerlab run --targets runs");
    let logs = || -> String {
        ["alpha", "beta", "gamma"]
            .iter()
            .map(|host| {
                let path: PathBuf = dir.path().join(format!("{host}.log"));
                format!(
                    "--- {host}:\n{}",
                    std::fs::read_to_string(path).unwrap_or_default()
                )
            })
            .collect()
    };
    assert!(
        spread.status.success(),
        "the run over three hosts failed:\n{}\n{}\n{}",
        String::from_utf8_lossy(&spread.stdout),
        String::from_utf8_lossy(&spread.stderr),
        logs()
    );
    let embedded_report = dir.path().join("embedded.json");
    let embedded = peerlab()
        .args(["run", topology_arg, "--seed", seed, "--json"])
        .arg(&embedded_report)
        .output()
        .expect("peerlab run runs");
    assert!(
        embedded.status.success(),
        "{}",
        String::from_utf8_lossy(&embedded.stderr)
    );

    let spread = read_report(&spread_report);
    let embedded = read_report(&embedded_report);
    // Money crossed the hosts both ways: every payment completed, through global-bank.
    assert_eq!(spread["payments"]["planned"], 40);
    assert_eq!(spread["payments"]["completed"], 40, "{spread:#}");
    let from_peers = |report: &Value, instance: usize| {
        report["instances"][instance]["packets_from_peers"]["fulfilled"].clone()
    };
    assert_eq!(
        from_peers(&spread, 1),
        40,
        "global-bank forwarded every payment"
    );
    for invariant in spread["invariants"].as_array().expect("invariants") {
        assert_eq!(invariant["held"], true, "{invariant}");
    }
    assert_eq!(timing_free(&spread), timing_free(&embedded));
    // The hosts served until they were stopped; nothing in them failed.
    for child in &mut hosts.processes {
        assert!(
            child.try_wait().expect("a process state").is_none(),
            "a host's peerlab stopped early:\n{}",
            logs()
        );
    }
    // Give the kernel a moment before the namespaces go (their sockets close first).
    std::thread::sleep(Duration::from_millis(50));
}
