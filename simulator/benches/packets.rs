//! Packets through one instance against a bare HTTP echo, with the same client and connections.
//!
//! Path measured: client --ILP-over-HTTP--> instance A --ILP-over-HTTP--> receiver (fulfills).
//! Baseline: the same client POSTs the same bytes to a bare hyper echo server.
//! A packet through A costs two HTTP exchanges against the echo's one, so 0.5 is the ceiling.
//! The receiver is a bare hyper server answering a fixed Fulfill (every packet carries the same
//! condition), so it costs exactly what the echo costs.
//!
//! Two setups, each with its own baseline measured in the same run:
//! - out of process, as users run it: `peerlab node` in its own process, the load client and the
//!   fulfilling receiver each in a process of their own (this bench re-executes itself for those
//!   roles), and the echo in its own process driven by the same client;
//! - in process: the instance, receiver, echo and client on one tokio runtime.
//!
//! Run with `cargo bench -p peerlab-simulator --bench packets`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use peerlab::ilp::{Address, Fulfill, Prepare, Timestamp, condition_for};
use peerlab_simulator::topology::InstanceSpec;
use peerlab_simulator::{AdminClient, Network, PeerSettings};

mod support;

use support::{bare_server, post_packet};

const CONNECTIONS: usize = 16;

/// Set in the environment of the processes this bench starts from its own executable.
const ROLE: &str = "PEERLAB_BENCH_ROLE";

#[derive(Clone, Copy)]
struct ProcessCpu {
    client: Duration,
    server: Duration,
    receiver: Option<Duration>,
}

struct Run {
    per_second: f64,
    p50: Duration,
    p99: Duration,
    /// CPU time (user + system) per request of each process, when they run apart: the load
    /// client, the server it sends to, and the receiver behind peerlab.
    cpu: Option<ProcessCpu>,
}

/// Sends `total` POSTs of `body` to `url` over `CONNECTIONS` concurrent senders; every reply must
/// start with `reply_type` (13, a Fulfill; or 12, the echoed Prepare).
async fn drive(url: &str, token: &str, body: Bytes, total: usize, reply_type: u8) -> Run {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(CONNECTIONS)
        .build(connector);
    let url: Arc<str> = url.into();
    let auth: Arc<str> = format!("Bearer {token}").into();
    // Numbers differ from every other run's (another process's too): random high bits.
    let run = u64::from(rand::random::<u32>()) << 32;
    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for sender in 0..CONNECTIONS {
        let (client, url, auth, body) = (client.clone(), url.clone(), auth.clone(), body.clone());
        let count = total / CONNECTIONS + usize::from(sender < total % CONNECTIONS);
        let sender = sender as u64;
        senders.spawn(async move {
            let mut latencies = Vec::with_capacity(count);
            for n in 0..count {
                // Every packet its own: the last 8 bytes of its data (the encoding's last field)
                // number it, since a connector answers a repeated Prepare from its duplicate
                // memory without forwarding it. The echo gets the same bodies, at the same cost.
                let mut unique = body.to_vec();
                let at = unique.len().saturating_sub(8);
                unique[at..].copy_from_slice(&(run | (sender << 24) | n as u64).to_be_bytes());
                let sent = Instant::now();
                post_packet(&client, &url, &auth, Bytes::from(unique), reply_type).await;
                latencies.push(sent.elapsed());
            }
            latencies
        });
    }
    let mut latencies = Vec::with_capacity(total);
    while let Some(done) = senders.join_next().await {
        latencies.extend(done.expect("sender"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Run {
        per_second: total as f64 / elapsed.as_secs_f64(),
        p50: latencies[latencies.len() / 2],
        p99: latencies[latencies.len() * 99 / 100],
        cpu: None,
    }
}

fn print(name: &str, run: &Run) {
    let micros = |cpu: Duration| cpu.as_secs_f64() * 1e6;
    let cpu = run
        .cpu
        .map(|cpu| {
            let receiver = cpu
                .receiver
                .map(|receiver| format!(" + receiver {:>4.1}", micros(receiver)))
                .unwrap_or_default();
            format!(
                "   CPU µs each: client {:>4.1} + server {:>4.1}{receiver}",
                micros(cpu.client),
                micros(cpu.server)
            )
        })
        .unwrap_or_default();
    println!(
        "{name:<44} {:>9.0} /s   p50 {:>6.0} µs   p99 {:>6.0} µs{cpu}",
        run.per_second,
        run.p50.as_secs_f64() * 1e6,
        run.p99.as_secs_f64() * 1e6
    );
}

/// CPU time (user + system) a process has used so far, from `/proc/<pid>/stat`.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at the last ')': the state is
    // the first of them, utime and stime (fields 14 and 15 of the file) the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |index: usize| -> u64 {
        fields
            .get(index)
            .and_then(|field| field.parse().ok())
            .unwrap_or(0)
    };
    // Linux reports them in USER_HZ, 100 per second on every architecture it supports.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn main() {
    match std::env::var(ROLE).as_deref() {
        Ok("server") => return serve_role(),
        Ok("drive") => return drive_role(),
        _ => {}
    }
    let total = if std::env::args().any(|a| a == "--bench") {
        40_000
    } else {
        400
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let out_of_process = runtime.block_on(out_of_process(total));
    let in_process = runtime.block_on(in_process(total));
    println!("\n== packets through one instance, {total} per run, {CONNECTIONS} connections ==");
    for (setup, (echo_run, packet_run)) in [
        ("separate processes", out_of_process),
        ("one process", in_process),
    ] {
        println!("-- {setup}");
        print("baseline: bare hyper POST echo", &echo_run);
        print("peerlab: client -> A -> receiver (fulfilled)", &packet_run);
        let ratio = packet_run.per_second / echo_run.per_second;
        let verdict = if ratio >= 0.4 { "meets" } else { "MISSES" };
        println!(
            "ratio peerlab / echo: {ratio:.2} (ceiling 0.5; {verdict} the target of at least 0.4)"
        );
    }
}

/// The fixed Fulfill the receiver answers, and a Prepare whose condition it matches.
fn packet_and_fulfill() -> (Bytes, Bytes) {
    let preimage = [7u8; 32];
    let fulfill = Bytes::from(Fulfill::new(preimage, vec![]).expect("fulfill").encode());
    let packet = Prepare::new(
        Address::parse("test.receiver.bob").expect("address"),
        1,
        Timestamp::now().saturating_add(Duration::from_secs(600)),
        condition_for(&preimage),
        vec![0u8; 64],
    )
    .expect("prepare");
    (Bytes::from(packet.encode()), fulfill)
}

/// Creates the asset, a client peer with ample credit and the receiver peer on `admin`.
async fn set_up_instance(admin: &AdminClient, receiver: SocketAddr) {
    let asset = admin.create_asset("USD", 2).await.expect("asset");
    let receiver_url = format!("http://{receiver}/");
    for (address, token, endpoint, credit) in [
        (
            "test.client",
            "client-token",
            "http://127.0.0.1:9/",
            u64::MAX / 2,
        ),
        ("test.receiver", "receiver-token", receiver_url.as_str(), 0),
    ] {
        admin
            .create_peer(&PeerSettings::new(address, &asset, token, endpoint).liquidity(credit))
            .await
            .expect("peer");
    }
}

/// Warms both paths up (connections, allocations), then measures each three times, alternating, and
/// keeps each one's best run.
async fn measure<F, Fut>(mut run: F, total: usize) -> (Run, Run)
where
    F: FnMut(bool, usize) -> Fut,
    Fut: std::future::Future<Output = Run>,
{
    run(false, total / 10).await;
    run(true, total / 10).await;
    let mut echoes = Vec::new();
    let mut packets = Vec::new();
    for _ in 0..3 {
        echoes.push(run(false, total).await);
        packets.push(run(true, total).await);
    }
    let best = |runs: Vec<Run>| {
        runs.into_iter()
            .max_by(|a, b| a.per_second.total_cmp(&b.per_second))
            .expect("runs")
    };
    (best(echoes), best(packets))
}

async fn in_process(total: usize) -> (Run, Run) {
    let (body, fulfill) = packet_and_fulfill();
    let receiver = bare_server(Some(fulfill)).await;
    let echo = bare_server(None).await;
    let network = Network::start(&[InstanceSpec::new("a", "test.a")])
        .await
        .expect("instance");
    let a = network.instance("a").expect("a");
    set_up_instance(a.admin(), receiver).await;
    let connector = a.connector_url();
    let echo_url = format!("http://{echo}/");
    let runs = measure(
        |through_peerlab, count| {
            let (url, token, reply_type) = if through_peerlab {
                (connector.clone(), "client-token", 13)
            } else {
                (echo_url.clone(), "x", 12)
            };
            let body = body.clone();
            async move { drive(&url, token, body, count, reply_type).await }
        },
        total,
    )
    .await;
    let a = network.instance("a").expect("a").node().instance();
    assert_eq!(a.pending_transfer_count(), 0);
    a.audit().expect("ledger invariants hold after the run");
    network.shutdown().await;
    runs
}

/// A child process that is stopped when dropped, so a failed run leaves nothing behind.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts this bench's own executable in `role`; it prints `listening <addr>` or its result.
fn start_role(role: &str, env: &[(&str, String)]) -> Process {
    let mut command = Command::new(std::env::current_exe().expect("own executable"));
    command
        .env(ROLE, role)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    Process(command.spawn().expect("bench role starts"))
}

fn first_line(process: &mut Process) -> String {
    let stdout = process.0.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("role output");
    line.trim().to_owned()
}

fn start_server(fixed: Option<&Bytes>) -> (Process, SocketAddr) {
    let env: Vec<(&str, String)> = fixed
        .map(|bytes| vec![("PEERLAB_BENCH_FIXED", hex::encode(bytes))])
        .unwrap_or_default();
    let mut process = start_role("server", &env);
    let line = first_line(&mut process);
    let addr = line
        .strip_prefix("listening ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("server said {line:?}"));
    (process, addr)
}

/// Starts `peerlab node` (the release binary of this package) on free ports; returns it with its
/// admin GraphQL and connector URLs, read from its "is up" log line.
fn start_node() -> (Process, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_peerlab"))
        .arg("node")
        .env("ILP_ADDRESS", "test.a")
        .env("ADMIN_PORT", "0")
        .env("CONNECTOR_PORT", "0")
        .env("OPEN_PAYMENTS_PORT", "0")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("peerlab node starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let process = Process(child);
    let mut lines = BufReader::new(stderr).lines();
    let up = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.contains("is up"))
        .expect("peerlab node logs that it is up");
    // Keep reading its log so that it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let field = |name: &str| {
        up.split_whitespace()
            .find_map(|word| word.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {up:?}"))
            .to_owned()
    };
    (process, field("admin="), field("connector="))
}

async fn out_of_process(total: usize) -> (Run, Run) {
    let (body, fulfill) = packet_and_fulfill();
    let (receiver, receiver_addr) = start_server(Some(&fulfill));
    let (echo, echo_addr) = start_server(None);
    let (node, graphql_url, connector_url) = start_node();
    let (echo_pid, node_pid, receiver_pid) = (echo.0.id(), node.0.id(), receiver.0.id());
    let admin = AdminClient::new(&graphql_url).expect("admin client");
    set_up_instance(&admin, receiver_addr).await;
    let echo_url = format!("http://{echo_addr}/");
    let body_hex = hex::encode(&body);
    measure(
        |through_peerlab, count| {
            let (url, token, reply_type, server, receiver) = if through_peerlab {
                (
                    connector_url.clone(),
                    "client-token",
                    "13",
                    node_pid,
                    Some(receiver_pid),
                )
            } else {
                (echo_url.clone(), "x", "12", echo_pid, None)
            };
            let env = vec![
                ("PEERLAB_BENCH_URL", url),
                ("PEERLAB_BENCH_TOKEN", token.to_owned()),
                ("PEERLAB_BENCH_BODY", body_hex.clone()),
                ("PEERLAB_BENCH_COUNT", count.to_string()),
                ("PEERLAB_BENCH_REPLY", reply_type.to_owned()),
            ];
            async move {
                tokio::task::spawn_blocking(move || {
                    let server_before = cpu_time(server);
                    let receiver_before = receiver.map(cpu_time);
                    let mut client = start_role("drive", &env);
                    let line = first_line(&mut client);
                    let numbers: Vec<f64> = line
                        .split_whitespace()
                        .filter_map(|n| n.parse().ok())
                        .collect();
                    let [per_second, p50, p99, client_cpu] = numbers[..] else {
                        panic!("load client said {line:?}");
                    };
                    let count = u32::try_from(count).unwrap_or(u32::MAX);
                    let since =
                        |pid: u32, before: Duration| cpu_time(pid).saturating_sub(before) / count;
                    Run {
                        per_second,
                        p50: Duration::from_secs_f64(p50 / 1e6),
                        p99: Duration::from_secs_f64(p99 / 1e6),
                        cpu: Some(ProcessCpu {
                            client: Duration::from_secs_f64(client_cpu / 1e6) / count,
                            server: since(server, server_before),
                            receiver: receiver
                                .zip(receiver_before)
                                .map(|(pid, before)| since(pid, before)),
                        }),
                    }
                })
                .await
                .expect("load client")
            }
        },
        total,
    )
    .await
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by the bench"))
}

/// The receiver or echo process: a bare hyper server until killed.
fn serve_role() {
    let fixed = std::env::var("PEERLAB_BENCH_FIXED")
        .ok()
        .map(|h| Bytes::from(hex::decode(h).expect("hex")));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let addr = bare_server(fixed).await;
        println!("listening {addr}");
        std::future::pending::<()>().await;
    });
}

/// The load client process: one run, printed as `<per second> <p50 µs> <p99 µs> <CPU µs>`, the
/// last being the CPU time the run took in this process.
fn drive_role() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let cpu_before = cpu_time(std::process::id());
    let run = runtime.block_on(drive(
        &env("PEERLAB_BENCH_URL"),
        &env("PEERLAB_BENCH_TOKEN"),
        Bytes::from(hex::decode(env("PEERLAB_BENCH_BODY")).expect("hex")),
        env("PEERLAB_BENCH_COUNT").parse().expect("count"),
        env("PEERLAB_BENCH_REPLY").parse().expect("reply type"),
    ));
    let cpu = cpu_time(std::process::id()).saturating_sub(cpu_before);
    println!(
        "{} {} {} {}",
        run.per_second,
        run.p50.as_secs_f64() * 1e6,
        run.p99.as_secs_f64() * 1e6,
        cpu.as_secs_f64() * 1e6
    );
}
