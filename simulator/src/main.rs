//! The `peerlab` command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use peerlab::config::Config;
use peerlab::node::Node;
use peerlab_simulator::network_view::NetworkView;
use peerlab_simulator::{Network, Topology};
use tracing_subscriber::EnvFilter;

/// mimalloc rather than glibc's allocator: the packet path allocates and frees small buffers for
/// every HTTP exchange, and this was about 8% of a node's CPU under load with glibc's (profiled with
/// `perf` on the packets bench).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Prints a line to stdout, ignoring a closed pipe (a user may stop reading before peerlab
/// stops); nothing when stdout carries the JSON report (`--json -`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if !JSON_ON_STDOUT.load(std::sync::atomic::Ordering::Relaxed) {
            let _ = writeln!(std::io::stdout(), $($arg)*);
        }
    }};
}

/// Set by `--json -`: stdout is the JSON report's alone, and no text is printed on stderr
/// either (a container's log, which mixes the two, is then the report); errors still are.
static JSON_ON_STDOUT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Rehearse and test Interledger peering the way Rafiki does it, in seconds.
#[derive(Debug, Parser)]
#[command(name = "peerlab", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one connector instance configured by Rafiki's environment variables (ILP_ADDRESS,
    /// ADMIN_PORT, CONNECTOR_PORT, API_SECRET, ...).
    Node,
    /// Start the network a topology file describes (the default pair without one), print each
    /// instance's URLs and the live network view's, and serve until interrupted.
    Up(UpArgs),
    /// Start the network a topology file describes (the default pair without one), make its
    /// traffic's payments with Rafiki's admin operations, print a report, and exit non-zero when
    /// an invariant broke.
    Run(RunArgs),
    /// Pay a wallet address (its URL answers SPSP) over STREAM, sending through an instance's
    /// connector as one of its peers (`peerlab up` prints the links and their tokens).
    Pay(PayArgs),
    /// Run Gherkin feature files with peerlab's step library, each scenario on fresh embedded
    /// instances or on a real deployment (--target); exits non-zero when a step failed, was
    /// skipped or is undefined.
    Test(TestArgs),
    /// Write a topology file for a large network of a shape (line, star, tree, random,
    /// scale-free) and size, with one USD asset, liquidity, `routing = "auto"` and payments
    /// between instances far apart: `peerlab run` runs it as it is.
    Generate(GenerateArgs),
    /// Print the catalogue of the steps `peerlab test` understands: each step's text, its
    /// parameters and an example, by topic.
    Steps {
        /// Print it as a Markdown document (docs/steps.md is this output).
        #[arg(long)]
        markdown: bool,
    },
    /// Write a topology as a container engine's objects: a docker compose project or Kubernetes
    /// manifests (a service per instance running `peerlab node`, and a one-shot runner making
    /// the topology's payments on them), or the targets file of a topology with [[hosts]].
    Export(ExportArgs),
    /// Exit 0 when the node in this container answers GET /healthz with HTTP 200 within 3 s,
    /// else 1 with the reason (the image's HEALTHCHECK).
    Healthcheck {
        /// Check this URL instead of http://127.0.0.1:$ADMIN_PORT/healthz (ADMIN_PORT: 3001).
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: peerlab export compose pair.toml && cd peerlab-compose && docker compose up --exit-code-from peerlab-runner"
)]
struct ExportArgs {
    /// compose, kubernetes, or targets.
    #[arg(value_enum)]
    kind: peerlab_simulator::export::Kind,
    /// The topology file.
    topology: PathBuf,
    /// Write into this directory [default: ./peerlab-compose or ./peerlab-kubernetes; targets
    /// print to stdout]. A file already there with other contents stops the export (exit 2).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Overwrite files already there with other contents.
    #[arg(long)]
    force: bool,
    /// The image the services run.
    #[arg(long, default_value = peerlab_simulator::export::DEFAULT_IMAGE)]
    image: String,
    /// The seed the runner draws the traffic with (written into its command).
    #[arg(long, default_value_t = peerlab_simulator::export::DEFAULT_SEED)]
    seed: u64,
}

#[derive(Debug, clap::Args)]
struct TestArgs {
    /// Write a starter kit into this directory instead of running: an example peering feature
    /// (features/peering.feature) and an example targets file (targets.toml). Refuses to
    /// overwrite a file.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["paths", "tags", "junit", "json", "target"])]
    init: Option<PathBuf>,
    /// Feature files, or directories searched for `*.feature` files [default: features].
    paths: Vec<PathBuf>,
    /// Run only the scenarios this cucumber tag expression matches (`@payments and not @slow`).
    #[arg(long)]
    tags: Option<String>,
    /// Also write a JUnit XML report to this file.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Also write a Cucumber JSON report to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// How many scenarios run at the same time.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    concurrency: u16,
    /// How steps read the admin API's refusals: as the seed era's payloads, as today's Rafiki
    /// GraphQL errors, or a full run in each (on embedded instances; a targets file gives each
    /// target its own).
    #[arg(long, value_enum, default_value_t = DialectChoice::Both, conflicts_with = "target")]
    dialect: DialectChoice,
    /// Run on the instances of a real deployment this targets file names (TOML: see
    /// `peerlab test --init`) instead of fresh embedded instances. Scenarios tagged
    /// @embedded-only are skipped and listed; what the scenarios create is named uniquely for
    /// the run and deleted afterwards where Rafiki allows, the rest listed.
    #[arg(long, value_name = "FILE")]
    target: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DialectChoice {
    Seed,
    V2,
    Both,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: peerlab generate random --size 200 --degree 4 --seed 7 -o random-200.toml && peerlab run random-200.toml"
)]
struct GenerateArgs {
    /// How instances are peered: each with the next (line), all with one hub (star), a balanced
    /// tree (tree), a random connected network of an average degree (random), or preferential
    /// attachment, a few hubs with many peers (scale-free).
    #[arg(value_enum)]
    shape: peerlab_simulator::generate::Shape,
    /// How many instances, from 2 to 100,000; named n0, n1, ... zero-padded to the size's width.
    #[arg(long)]
    size: usize,
    /// random: the average number of peers of an instance (at least 2); scale-free: twice the
    /// peerings each new instance makes. Below the size, at most 100. [default: 4]
    #[arg(long)]
    degree: Option<usize>,
    /// tree: children of each instance, from 2. [default: 2]
    #[arg(long)]
    branching: Option<usize>,
    /// Draws random and scale-free peerings and the second pair of paying instances: the same
    /// seed and parameters give the same file.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// How many payments the traffic makes in all, both ways between two instances as far apart
    /// as a payment goes (20 peerings) and (from 4 instances) between two more the seed draws.
    #[arg(long, default_value_t = peerlab_simulator::generate::DEFAULT_PAYMENTS)]
    payments: u64,
    /// Write the topology to this file instead of printing it.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct UpArgs {
    topology: Option<PathBuf>,
    /// Serve the live network view on this port of 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    view_port: u16,
    /// Start only the instances the topology places on this `[[hosts]]` entry, bound to its
    /// address on their ports, with no assets or peerings: `peerlab run FILE --targets TARGETS`
    /// (TARGETS from `peerlab export targets FILE`) sets the whole network up and drives it.
    #[arg(long, value_name = "NAME", conflicts_with = "view_port")]
    host: Option<String>,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    topology: Option<PathBuf>,
    /// Serve the live network view on this port of 127.0.0.1 while the run lasts (0: any free
    /// port).
    #[arg(long, default_value_t = 0)]
    view_port: u16,
    /// Also write the report as JSON to this file (`-`: to stdout, and nothing else is printed
    /// but errors, so that a container's log is the report).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Drive the instances of a deployment this targets file names (instances elsewhere:
    /// containers, other hosts; `peerlab export` writes one) instead of starting them: set the
    /// topology up, run its traffic and check its invariants through their public APIs. Faults
    /// but an operator's (wrong_token, drain_liquidity, made through the admin API) are skipped:
    /// peerlab controls neither their processes nor their links.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["deterministic", "until_failure", "view_port", "events", "planted_bug"])]
    targets: Option<PathBuf>,
    /// With --targets: how long to wait for every instance's admin API to answer, in seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60,
        requires = "targets"
    )]
    wait: u64,
    /// Also write the run's event log to this file: every webhook event the instances recorded,
    /// one JSON object a line, oldest first (byte for byte the same when a deterministic run is
    /// replayed).
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// Also write the report as a self-contained HTML page (a picture of the network, latency
    /// and throughput charts) to this file.
    #[arg(long)]
    html: Option<PathBuf>,
    /// Draw the traffic's amounts with this seed (the report names the seed a run used, so a run
    /// can be repeated); random without it.
    #[arg(long)]
    seed: Option<u64>,
    /// Start no payment after this many seconds (the traffic's counts are then at most).
    #[arg(long)]
    duration: Option<f64>,
    /// Run on a simulated network with virtual time, every random value drawn from the seed: the
    /// same topology and seed give the same report, byte for byte (no live network view).
    #[arg(long, conflicts_with = "view_port")]
    deterministic: bool,
    /// Try up to N seeds deterministically (from --seed, or a random one, counting up) and stop
    /// at the first whose run breaks an invariant, printing its report, seed and replay command.
    /// Implies --deterministic.
    #[arg(long, value_name = "N", conflicts_with = "view_port")]
    until_failure: Option<u64>,
    /// Plants a bug on purpose (test-only: `drop-void` forgets now and then to void a rejected
    /// packet's reservation), to show that --until-failure finds it. Deterministic runs only.
    #[arg(long, hide = true, value_parser = ["drop-void"])]
    planted_bug: Option<String>,
}

#[derive(Debug, clap::Args)]
struct PayArgs {
    /// The wallet address URL to pay (SPSP).
    to: String,
    /// How much, in the sending asset's smallest unit (or what must arrive, with --delivered).
    amount: u64,
    /// The ILP-over-HTTP URL of the instance to send through.
    #[arg(long)]
    connector: String,
    /// An incoming token of the peer to send as.
    #[arg(long)]
    token: String,
    /// The amount is what must arrive, in the receiver's asset.
    #[arg(long)]
    delivered: bool,
    /// Give up (stop sending) after this many seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| {
            // `peerlab test` reports through cucumber; the instances' every start would bury it.
            EnvFilter::new(match &cli.command {
                Command::Test(_)
                | Command::Steps { .. }
                | Command::Generate(_)
                | Command::Export(_)
                | Command::Healthcheck { .. } => "warn",
                // The report alone on stdout, and little beside it in a container's log.
                Command::Run(args) if args.json.as_deref() == Some(std::path::Path::new("-")) => {
                    "error"
                }
                _ => "info",
            })
        }))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("peerlab: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match cli.command {
            Command::Node => node().await,
            Command::Pay(args) => pay(args).await,
            Command::Up(args) => up(args).await,
            Command::Run(args) => run(args).await,
            Command::Test(args) => test(args).await,
            Command::Generate(args) => generate(args),
            Command::Steps { markdown } => steps(markdown),
            Command::Export(args) => export(args),
            Command::Healthcheck { url } => healthcheck(url).await,
        }
    })
}

fn generate(args: GenerateArgs) -> ExitCode {
    use peerlab_simulator::generate::{self, GenerateSpec};

    let spec = GenerateSpec {
        shape: args.shape,
        size: args.size,
        degree: args.degree,
        branching: args.branching,
        seed: args.seed,
        payments: args.payments,
    };
    let topology = match generate::generate(&spec) {
        Ok(topology) => topology,
        Err(error) => {
            eprintln!("peerlab generate: {error}");
            return ExitCode::from(2);
        }
    };
    let body = match topology.to_toml() {
        Ok(body) => body,
        Err(error) => {
            eprintln!("peerlab generate: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Only the parameters (a shape name and numbers) go into the comment: nothing to escape.
    let text = format!(
        "# {} instances peered as a {}, {} peerings, generated by\n#   {}\n# `peerlab run` this file: payments cross the network between its wallet addresses.\n\n{body}",
        topology.instances.len(),
        spec.shape.as_str(),
        topology.peerings.len(),
        spec.command_line()
    );
    let written = match &args.output {
        Some(path) => std::fs::write(path, text)
            .map_err(|error| format!("cannot write {}: {error}", path.display())),
        None => {
            use std::io::Write as _;
            std::io::stdout()
                .write_all(text.as_bytes())
                .map_err(|error| format!("cannot print the topology: {error}"))
        }
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("peerlab generate: {error}");
            ExitCode::FAILURE
        }
    }
}

fn export(args: ExportArgs) -> ExitCode {
    use peerlab_simulator::export::{self, Kind, Options, Outcome, WriteError};

    let topology = match Topology::load(&args.topology) {
        Ok(topology) => topology,
        Err(error) => {
            eprintln!("peerlab export: {error}");
            return ExitCode::from(2);
        }
    };
    let dir = args.out.clone().or(match args.kind {
        Kind::Compose => Some(PathBuf::from("peerlab-compose")),
        Kind::Kubernetes => Some(PathBuf::from("peerlab-kubernetes")),
        Kind::Targets => None,
    });
    let options = Options {
        // The file's name alone: the output does not depend on where it was run from.
        source: args
            .topology
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| args.topology.display().to_string()),
        image: args.image,
        seed: args.seed,
        run_as: (args.kind == Kind::Compose).then(current_user).flatten(),
    };
    let files = match export::export(args.kind, &topology, &options) {
        Ok(files) => files,
        Err(error) => {
            eprintln!("peerlab export: {error}");
            return ExitCode::from(2);
        }
    };
    let Some(dir) = dir else {
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        for file in &files {
            if let Err(error) = stdout.write_all(&file.contents) {
                eprintln!(
                    "peerlab export: cannot print {}: {error}",
                    file.path.display()
                );
                return ExitCode::FAILURE;
            }
        }
        return ExitCode::SUCCESS;
    };
    match export::write(&dir, &files, args.force) {
        Ok(outcomes) => {
            for outcome in outcomes {
                match outcome {
                    Outcome::Written(path) => say!("peerlab export: wrote {}", path.display()),
                    Outcome::Unchanged(path) => {
                        say!("peerlab export: {} is unchanged", path.display())
                    }
                }
            }
            match args.kind {
                Kind::Compose => say!(
                    "Run it: cd {} && docker compose up --exit-code-from {}",
                    dir.display(),
                    export::RUNNER
                ),
                Kind::Kubernetes => say!(
                    "Run it: kubectl apply -f {} && kubectl wait --for=condition=complete job/{runner} --timeout=10m && kubectl logs job/{runner} > report.json",
                    dir.display(),
                    runner = export::RUNNER
                ),
                Kind::Targets => say!(
                    "Run it: peerlab run {} --targets {}",
                    args.topology.display(),
                    dir.join("targets.toml").display()
                ),
            }
            ExitCode::SUCCESS
        }
        Err(error @ WriteError::Exists(_)) => {
            eprintln!("peerlab export: {error}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("peerlab export: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `uid:gid` of this process, which owns the files it writes: what compose's containers run as
/// to read the secret files and write the report (Linux; elsewhere compose asks for it).
fn current_user() -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let me = std::fs::metadata("/proc/self").ok()?;
        Some(format!("{}:{}", me.uid(), me.gid()))
    }
    #[cfg(not(unix))]
    None
}

async fn healthcheck(url: Option<String>) -> ExitCode {
    use peerlab_simulator::healthcheck;

    let url = match url.map_or_else(
        || healthcheck::default_url(std::env::var("ADMIN_PORT").ok().as_deref()),
        Ok,
    ) {
        Ok(url) => url,
        Err(error) => {
            eprintln!("peerlab healthcheck: {error}");
            return ExitCode::FAILURE;
        }
    };
    match healthcheck::check(&url, healthcheck::TIMEOUT).await {
        Ok(()) => {
            say!("peerlab healthcheck: {url} answered 200");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("peerlab healthcheck: {error}");
            ExitCode::FAILURE
        }
    }
}

fn steps(markdown: bool) -> ExitCode {
    use peerlab_simulator::harness::catalogue;

    match catalogue::catalogue() {
        Ok(topics) => {
            let text = if markdown {
                catalogue::render_markdown(&topics)
            } else {
                catalogue::render_text(&topics)
            };
            use std::io::Write as _;
            let _ = std::io::stdout().write_all(text.as_bytes());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("peerlab steps: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn test(args: TestArgs) -> ExitCode {
    use peerlab_simulator::harness::{self, Dialect, Options};

    if let Some(dir) = args.init {
        return match harness::starter::write(&dir) {
            Ok(written) => {
                for file in written {
                    say!("peerlab test --init: wrote {}", file.display());
                }
                say!("Run it: peerlab test {}", dir.join("features").display());
                ExitCode::SUCCESS
            }
            Err(error @ harness::starter::StarterError::Exists(_)) => {
                eprintln!("peerlab test --init: {error}");
                ExitCode::from(2)
            }
            Err(error) => {
                eprintln!("peerlab test --init: {error}");
                ExitCode::FAILURE
            }
        };
    }

    let options = Options {
        paths: if args.paths.is_empty() {
            vec![PathBuf::from("features")]
        } else {
            args.paths
        },
        tags: args.tags,
        junit: args.junit,
        json: args.json,
        concurrency: usize::from(args.concurrency),
        dialects: match args.dialect {
            DialectChoice::Seed => vec![Dialect::Seed],
            DialectChoice::V2 => vec![Dialect::V2],
            DialectChoice::Both => vec![Dialect::Seed, Dialect::V2],
        },
        target: args.target,
    };
    match harness::run(&options).await {
        Ok(outcome) if outcome.passed() => ExitCode::SUCCESS,
        Ok(outcome) => {
            eprintln!("peerlab test: failed {}", outcome.failed.join(", and "));
            ExitCode::FAILURE
        }
        Err(error @ harness::HarnessError::Write { .. }) => {
            eprintln!("peerlab test: {error}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("peerlab test: {error}");
            ExitCode::from(2)
        }
    }
}

async fn node() -> ExitCode {
    let signals = StopSignals::listen();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("peerlab node: {error}");
            return ExitCode::from(2);
        }
    };
    let node = match Node::start(config).await {
        Ok(node) => node,
        Err(error) => {
            eprintln!("peerlab node: {error}");
            return ExitCode::FAILURE;
        }
    };
    signals.received().await;
    tracing::info!("shutting down");
    node.shutdown().await;
    ExitCode::SUCCESS
}

async fn pay(args: PayArgs) -> ExitCode {
    use peerlab::stream::{Amount, Destination, HttpLink, PaymentOptions};

    let link = HttpLink::new(&args.connector, &args.token);
    let destination = Destination::Spsp(args.to.clone());
    let amount = if args.delivered {
        Amount::Delivered(args.amount)
    } else {
        Amount::Source(args.amount)
    };
    let options = PaymentOptions {
        timeout: std::time::Duration::from_secs(args.timeout),
        ..PaymentOptions::default()
    };
    match peerlab::stream::pay(&link, &destination, amount, &options).await {
        Ok(report) => {
            say!(
                "peerlab pay: {} sent, {} delivered to {} in {} packets ({} probes) in {} ms",
                report.source_amount_sent,
                report.amount_delivered,
                args.to,
                report.packets_fulfilled,
                report.probe_packets,
                report.duration.as_millis()
            );
            for (code, count) in &report.packets_rejected {
                say!("  rejected {code}: {count}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("peerlab pay: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: RunArgs) -> ExitCode {
    use peerlab_simulator::run::{self, Progress};
    use std::sync::Arc;

    let (topology, source) = match &args.topology {
        Some(path) => match Topology::load(path) {
            Ok(topology) => (topology, path.display().to_string()),
            Err(error) => {
                eprintln!("peerlab run: {error}");
                return ExitCode::from(2);
            }
        },
        None => (
            Topology::default_pair(),
            peerlab_simulator::run::DEFAULT_TOPOLOGY_NAME.to_owned(),
        ),
    };
    if args.json.as_deref() == Some(std::path::Path::new("-")) {
        JSON_ON_STDOUT.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    if let Some(targets) = args.targets.clone() {
        return run_on_targets(args, topology, source, &targets).await;
    }
    if let Some(tries) = args.until_failure {
        return run_until_failure(args, topology, source, tries).await;
    }
    if args.deterministic {
        return run_deterministic(args, topology, source).await;
    }
    if args.planted_bug.is_some() {
        eprintln!("peerlab run: --planted-bug needs --deterministic or --until-failure");
        return ExitCode::from(2);
    }
    let network = match Network::from_topology(&topology).await {
        Ok(network) => network,
        Err(error) => {
            eprintln!("peerlab run: {error}");
            return ExitCode::FAILURE;
        }
    };
    let view = match NetworkView::start(&network, args.view_port).await {
        Ok(view) => view,
        Err(error) => {
            eprintln!("peerlab run: network view: {error}");
            network.shutdown().await;
            return ExitCode::FAILURE;
        }
    };
    let counted: u64 = topology
        .traffic
        .iter()
        .filter_map(|traffic| traffic.count)
        .fold(0, u64::saturating_add);
    let longest = topology
        .traffic
        .iter()
        .filter(|traffic| traffic.count.is_none())
        .filter_map(|traffic| traffic.duration)
        .fold(0.0, f64::max);
    say!(
        "peerlab run: {} instances up ({source}), {counted} payments to make{}",
        network.instances().len(),
        if longest > 0.0 {
            format!(", and more for up to {longest} s")
        } else {
            String::new()
        }
    );
    say!("network view: {}", view.url());
    let progress = Arc::new(Progress::default());
    let display = tokio::spawn(show_progress(progress.clone()));
    let seed = args.seed.unwrap_or_else(rand::random);
    let duration = match args.duration.map(std::time::Duration::try_from_secs_f64) {
        None => None,
        Some(Ok(duration)) => Some(duration),
        Some(Err(_)) => {
            eprintln!("peerlab run: --duration must be a number of seconds, 0 or more");
            view.stop().await;
            network.shutdown().await;
            return ExitCode::from(2);
        }
    };
    let report = run::run_for(&network, &topology, &source, seed, duration, progress).await;
    display.abort();
    let _ = display.await;
    let events = args
        .events
        .is_some()
        .then(|| peerlab_simulator::event_log::collect(&network));
    view.stop().await;
    network.shutdown().await;
    finish(&report, events.as_deref(), &args)
}

/// `peerlab run FILE --targets TARGETS`: the topology set up on instances that run elsewhere and
/// driven through their public APIs.
async fn run_on_targets(
    args: RunArgs,
    topology: Topology,
    source: String,
    targets: &std::path::Path,
) -> ExitCode {
    use peerlab_simulator::remote::RemoteNetwork;
    use peerlab_simulator::run::{self, Progress};
    use std::sync::Arc;

    let duration = match run_duration(&args) {
        Ok(duration) => duration,
        Err(code) => return code,
    };
    let targets =
        match peerlab_simulator::harness::targets::load(targets, |name| std::env::var(name).ok()) {
            Ok(targets) => targets,
            Err(error) => {
                eprintln!("peerlab run: {error}");
                return ExitCode::from(2);
            }
        };
    let wait = std::time::Duration::from_secs(args.wait);
    say!(
        "peerlab run: {} instances elsewhere ({source}, {}), waiting up to {} s for them to answer",
        topology.instances.len(),
        targets.file.display(),
        args.wait
    );
    let network = match RemoteNetwork::connect(&topology, &targets, wait).await {
        Ok(network) => network,
        Err(error) => {
            eprintln!("peerlab run: {error}");
            return ExitCode::FAILURE;
        }
    };
    // The kinds the file names, scheduled or drawn at random.
    let skipped = topology
        .faults
        .iter()
        .map(|fault| fault.kind)
        .chain(
            topology
                .random_faults
                .iter()
                .flat_map(|random| random.kinds.iter().copied()),
        )
        .any(|kind| !peerlab_simulator::faults_elsewhere::possible(kind));
    if skipped {
        say!(
            "peerlab run: faults other than wrong_token and drain_liquidity are skipped: peerlab controls neither the processes nor the links of instances that run elsewhere"
        );
    }
    say!("peerlab run: set up; {} links", network.links().len());
    let progress = Arc::new(Progress::default());
    let display = tokio::spawn(show_progress(progress.clone()));
    let seed = args.seed.unwrap_or_else(rand::random);
    let report = run::run_for(&network, &topology, &source, seed, duration, progress).await;
    display.abort();
    let _ = display.await;
    finish(&report, None, &args)
}

/// `--duration` as a duration; `Err` (already said) when it is none.
fn run_duration(args: &RunArgs) -> Result<Option<std::time::Duration>, ExitCode> {
    match args.duration.map(std::time::Duration::try_from_secs_f64) {
        None => Ok(None),
        Some(Ok(duration)) => Ok(Some(duration)),
        Some(Err(_)) => {
            eprintln!("peerlab run: --duration must be a number of seconds, 0 or more");
            Err(ExitCode::from(2))
        }
    }
}

fn deterministic_options(args: &RunArgs) -> peerlab_simulator::run::DeterministicOptions {
    peerlab_simulator::run::DeterministicOptions {
        planted_bug: args
            .planted_bug
            .as_ref()
            .map(|_| peerlab::planted::PlantedBug::DropVoid),
        event_log: args.events.is_some(),
    }
}

/// `peerlab run --deterministic`: the run on a simulated network with virtual time, on a thread
/// of its own, while this one shows its progress.
async fn run_deterministic(args: RunArgs, topology: Topology, source: String) -> ExitCode {
    use peerlab_simulator::run::{self, Progress};
    use std::sync::Arc;

    let duration = match run_duration(&args) {
        Ok(duration) => duration,
        Err(code) => return code,
    };
    let seed = args.seed.unwrap_or_else(rand::random);
    let instances = topology.instances.len();
    say!(
        "peerlab run: {instances} instances ({source}), deterministic: a simulated network, virtual time, seed {seed}"
    );
    let progress = Arc::new(Progress::default());
    let display = tokio::spawn(show_progress(progress.clone()));
    let options = deterministic_options(&args);
    let ran = tokio::task::spawn_blocking(move || {
        run::deterministic_run(&topology, &source, seed, duration, progress, options)
    })
    .await;
    display.abort();
    let _ = display.await;
    match ran {
        Ok(Ok(run)) => {
            let code = finish(&run.report, run.events.as_deref(), &args);
            say_cost(&run, instances);
            code
        }
        Ok(Err(error)) => {
            eprintln!("peerlab run: {error}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("peerlab run: the deterministic run stopped: {error}");
            ExitCode::FAILURE
        }
    }
}

/// What a deterministic run cost this machine: not part of the report, which must not depend
/// on the machine.
fn say_cost(run: &peerlab_simulator::run::DeterministicRun, instances: usize) {
    let wall = run.took.as_secs_f64().max(1e-6);
    let memory = run
        .memory_per_instance
        .map(|bytes| format!(", {} KiB of memory each", bytes / 1024))
        .unwrap_or_default();
    say!(
        "cost: {instances} instances built and peered in {:.2} s{memory}; {:.2} virtual s in {:.2} s of wall time ({:.1} virtual s per wall s)",
        run.built_in.as_secs_f64(),
        run.report.duration_seconds,
        wall,
        run.report.duration_seconds / wall
    );
}

/// `peerlab run --until-failure N`: deterministic runs of seeds counting up until one breaks an
/// invariant (its report is printed, its seed and replay command named, exit 1) or N have passed
/// (exit 0).
async fn run_until_failure(
    args: RunArgs,
    topology: Topology,
    source: String,
    tries: u64,
) -> ExitCode {
    use peerlab_simulator::run;
    use std::sync::Arc;

    let duration = match run_duration(&args) {
        Ok(duration) => duration,
        Err(code) => return code,
    };
    if tries == 0 {
        eprintln!("peerlab run: --until-failure needs at least 1 seed to try");
        return ExitCode::from(2);
    }
    let first = args.seed.unwrap_or_else(rand::random);
    say!(
        "peerlab run: up to {tries} seeds from {first} ({source}, {} instances), deterministic, until an invariant breaks",
        topology.instances.len()
    );
    let options = deterministic_options(&args);
    let topology = Arc::new(topology);
    for n in 0..tries {
        let seed = first.wrapping_add(n);
        let (topology, source) = (topology.clone(), source.clone());
        let ran = tokio::task::spawn_blocking(move || {
            run::deterministic_run(&topology, &source, seed, duration, Arc::default(), options)
        })
        .await;
        let run = match ran {
            Ok(Ok(run)) => run,
            Ok(Err(error)) => {
                eprintln!("peerlab run: seed {seed}: {error}");
                return ExitCode::FAILURE;
            }
            Err(error) => {
                eprintln!("peerlab run: seed {seed}: the run stopped: {error}");
                return ExitCode::FAILURE;
            }
        };
        let report = &run.report;
        if !report.passed() {
            let broken = report.broken_invariants();
            let _ = finish(report, run.events.as_deref(), &args);
            say!(
                "seed {seed} breaks an invariant ({} tried): {}",
                n + 1,
                broken.join("; ")
            );
            say!("failing seed: {seed}");
            say!("replay: {}", report.replay);
            return ExitCode::FAILURE;
        }
        say!(
            "seed {seed}: invariants hold ({} of {} payments completed, {:.2} virtual s in {:.2} s)",
            report.payments.completed,
            report.payments.planned,
            report.duration_seconds,
            run.took.as_secs_f64()
        );
    }
    say!("{tries} seeds from {first}: every invariant held");
    ExitCode::SUCCESS
}

/// Prints the report, writes the files asked for, and says how the run went.
fn finish(
    report: &peerlab_simulator::report::RunReport,
    events: Option<&[peerlab_simulator::event_log::EventLine]>,
    args: &RunArgs,
) -> ExitCode {
    print_report(report);
    if let (Some(path), Some(events)) = (&args.events, events)
        && let Err(error) = peerlab_simulator::event_log::write(events, path)
    {
        eprintln!("peerlab run: cannot write {}: {error}", path.display());
        return ExitCode::FAILURE;
    }
    if let Some(path) = &args.json {
        let written = serde_json::to_vec_pretty(report)
            .map_err(|error| error.to_string())
            .and_then(|json| {
                if path == std::path::Path::new("-") {
                    use std::io::Write as _;
                    let mut stdout = std::io::stdout().lock();
                    stdout
                        .write_all(&json)
                        .and_then(|()| stdout.write_all(b"\n"))
                        .map_err(|error| error.to_string())
                } else {
                    std::fs::write(path, json).map_err(|error| error.to_string())
                }
            });
        if let Err(error) = written {
            eprintln!("peerlab run: cannot write {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if let Some(path) = &args.html {
        let page = peerlab_simulator::html_report::render(report);
        if let Err(error) = std::fs::write(path, page) {
            eprintln!("peerlab run: cannot write {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A progress bar on a terminal; a plain line a second otherwise (logs, CI).
async fn show_progress(progress: std::sync::Arc<peerlab_simulator::run::Progress>) {
    use std::sync::atomic::Ordering;
    let started = std::time::Instant::now();
    let status = || {
        let seconds = started.elapsed().as_secs_f64().max(0.001);
        let packets = progress.packets.load(Ordering::Relaxed);
        format!(
            "{} failed, {:.0} payments/s, {:.0} packets/s, {} rejects",
            progress.failed.load(Ordering::Relaxed),
            progress.done.load(Ordering::Relaxed) as f64 / seconds,
            packets as f64 / seconds,
            progress.rejected_packets.load(Ordering::Relaxed)
        )
    };
    if std::io::stdout().is_terminal() && !JSON_ON_STDOUT.load(Ordering::Relaxed) {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} payments, {msg} [{elapsed_precise}, {eta} left]",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        loop {
            bar.set_length(progress.planned.load(Ordering::Relaxed));
            bar.set_position(progress.done.load(Ordering::Relaxed));
            bar.set_message(status());
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    } else {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            let planned = progress.planned.load(Ordering::Relaxed);
            let done = progress.done.load(Ordering::Relaxed);
            let seconds = started.elapsed().as_secs_f64();
            let left = if done == 0 {
                String::from("?")
            } else {
                format!(
                    "{:.0}",
                    seconds / done as f64 * planned.saturating_sub(done) as f64
                )
            };
            say!(
                "  {done}/{planned} payments, {}, {seconds:.0} s elapsed, ~{left} s left",
                status()
            );
        }
    }
}

fn print_report(report: &peerlab_simulator::report::RunReport) {
    use peerlab::connector::PacketCounts;
    let codes = |counts: &PacketCounts| {
        let rejects: Vec<String> = counts
            .rejected
            .iter()
            .map(|(code, count)| format!("{code} {count}"))
            .collect();
        if rejects.is_empty() {
            format!("{} fulfilled, none rejected", counts.fulfilled)
        } else {
            format!(
                "{} fulfilled, {} rejected ({})",
                counts.fulfilled,
                counts.rejected_total(),
                rejects.join(", ")
            )
        }
    };
    let payments = &report.payments;
    say!("\n== report: {} (seed {}) ==", report.topology, report.seed);
    say!(
        "payments: {} planned, {} completed, {} partial, {} failed, {} unfinished, {} not started, in {:.2} s ({:.0}/s)",
        payments.planned,
        payments.completed,
        payments.partial,
        payments.failed,
        payments.unfinished,
        payments.not_started,
        report.duration_seconds,
        report.payments_per_second
    );
    say!(
        "money: {} sent, {} delivered; latency per payment p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        payments.sent,
        payments.delivered,
        report.payment_latency_ms.p50,
        report.payment_latency_ms.p99,
        report.payment_latency_ms.max
    );
    for (reason, count) in &payments.reasons {
        say!("  {count} x {reason}");
    }
    let packets = &report.packets;
    say!(
        "packets sent: {} ({:.0}/s), and {} rate probes, {} data-only; latency per packet p50 {:.2} ms, p99 {:.2} ms",
        codes(&packets.sent),
        packets.sent_per_second,
        packets.probes,
        packets.data_only,
        packets.latency_ms.p50,
        packets.latency_ms.p99
    );
    say!(
        "packets from peers (every hop): {}",
        codes(&packets.from_peers)
    );
    for instance in &report.instances {
        let assets: Vec<String> = instance
            .assets
            .iter()
            .map(|asset| format!("{} {} -> {}", asset.code, asset.before, asset.after))
            .collect();
        say!(
            "instance {} ({}): sent {}; from peers {}; liquidity {}",
            instance.name,
            instance.ilp_address,
            codes(&instance.packets_sent),
            codes(&instance.packets_from_peers),
            if assets.is_empty() {
                "none".to_owned()
            } else {
                assets.join(", ")
            }
        );
    }
    for peering in &report.peerings {
        say!(
            "peering {} <-> {} in {} ({}): {} grants {} -> {}, {} grants {} -> {}",
            peering.between[0],
            peering.between[1],
            peering.asset,
            peering.by,
            peering.between[0],
            peering.before[0],
            peering.after[0],
            peering.between[1],
            peering.before[1],
            peering.after[1]
        );
    }
    for wallet in &report.wallet_addresses {
        say!(
            "wallet address {} ({}): balance {} -> {}",
            wallet.wallet_address,
            wallet.asset,
            wallet.before,
            wallet.after
        );
    }
    for fault in &report.faults {
        say!(
            "fault {:?} on {} -> {} from {:.2} s to {:.2} s{}",
            fault.kind,
            fault.between[0],
            fault.between[1],
            fault.from_seconds,
            fault.until_seconds,
            fault
                .error
                .as_ref()
                .map(|error| if error.starts_with("skipped") {
                    format!(" ({error})")
                } else {
                    format!(" (not injected: {error})")
                })
                .unwrap_or_default()
        );
    }
    for invariant in &report.invariants {
        let mark = if invariant.held { "ok    " } else { "BROKEN" };
        say!("{mark} {}", invariant.name);
        if let Some(detail) = &invariant.detail {
            say!("       {detail}");
        }
        if let Some(not_checked) = &invariant.not_checked {
            say!("       not checked on {not_checked}");
        }
    }
    say!("replay: {}", report.replay);
}

/// `peerlab up FILE --host NAME`: the instances the topology places on one host, each a
/// `peerlab node` configured from the same environment `peerlab export` writes, serving until
/// interrupted. Setting the network up is the runner's (`peerlab run FILE --targets`).
async fn up_host(topology: &Topology, source: &str, host: &str, signals: StopSignals) -> ExitCode {
    use peerlab_simulator::placement;

    let Some(spec) = topology.hosts.iter().find(|spec| spec.name == host) else {
        let names: Vec<&str> = topology
            .hosts
            .iter()
            .map(|spec| spec.name.as_str())
            .collect();
        eprintln!(
            "peerlab up: {source} places no instance on a host {host:?} (its hosts: {})",
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        );
        return ExitCode::from(2);
    };
    let placed: Vec<_> = placement::on_hosts(topology)
        .into_iter()
        .filter(|placed| placed.spec.host.as_deref() == Some(host))
        .collect();
    let mut nodes = Vec::new();
    for placed in &placed {
        let started = match placement::config(placed.spec, &placed.placement) {
            Ok(config) => Node::start(config).await.map_err(|error| error.to_string()),
            Err(error) => Err(error.to_string()),
        };
        match started {
            Ok(node) => nodes.push(node),
            Err(error) => {
                eprintln!("peerlab up: instance {}: {error}", placed.spec.name);
                for node in nodes {
                    node.shutdown().await;
                }
                return ExitCode::FAILURE;
            }
        }
    }
    say!(
        "peerlab: host {host} ({}): {} instances up ({source})",
        spec.address,
        nodes.len()
    );
    for (placed, node) in placed.iter().zip(&nodes) {
        say!("  {}  {}", placed.spec.name, node.ilp_address());
        say!(
            "    admin          {}",
            placed.placement.admin_graphql_url()
        );
        say!("    connector      {}", node.connector_url());
        say!("    open payments  {}", node.open_payments_url());
        if let Some(url) = node.auto_peering_url() {
            say!("    auto-peering   {url}");
        }
    }
    say!(
        "Once every host is up, set the network up and run it from any machine that reaches them:\n  peerlab export targets {source} --out DIR && peerlab run {source} --targets DIR/targets.toml"
    );
    signals.received().await;
    tracing::info!("shutting down");
    for node in nodes {
        node.shutdown().await;
    }
    ExitCode::SUCCESS
}

async fn up(args: UpArgs) -> ExitCode {
    let signals = StopSignals::listen();
    let (topology, source) = match &args.topology {
        Some(path) => match Topology::load(path) {
            Ok(topology) => (topology, path.display().to_string()),
            Err(error) => {
                eprintln!("peerlab up: {error}");
                return ExitCode::from(2);
            }
        },
        None => (
            Topology::default_pair(),
            peerlab_simulator::run::DEFAULT_TOPOLOGY_NAME.to_owned(),
        ),
    };
    if let Some(host) = &args.host {
        return up_host(&topology, &source, host, signals).await;
    }
    let network = match Network::from_topology(&topology).await {
        Ok(network) => network,
        Err(error) => {
            eprintln!("peerlab up: {error}");
            return ExitCode::FAILURE;
        }
    };
    let view = match NetworkView::start(&network, args.view_port).await {
        Ok(view) => view,
        Err(error) => {
            eprintln!("peerlab up: network view: {error}");
            network.shutdown().await;
            return ExitCode::FAILURE;
        }
    };
    say!(
        "peerlab: {} instances up ({source})",
        network.instances().len()
    );
    say!("network view: {}", view.url());
    for instance in network.instances() {
        say!("  {}  {}", instance.name(), instance.ilp_address());
        say!("    dashboard      {}/", instance.admin_url());
        say!("    admin          {}", instance.graphql_url());
        say!("    connector      {}", instance.connector_url());
        say!("    open payments  {}", instance.node().open_payments_url());
        let wallets = instance
            .node()
            .instance()
            .wallet_addresses_page(&peerlab::instance::PageRequest {
                first: Some(100),
                order: peerlab::instance::SortOrder::Asc,
                ..Default::default()
            })
            .map(|page| page.items)
            .unwrap_or_default();
        for wallet in wallets {
            let asset = instance
                .node()
                .instance()
                .asset_including_deleted(wallet.asset_id)
                .map(|asset| asset.code)
                .unwrap_or_default();
            say!("    wallet address {}", wallet.url);
            say!("      id {} in {asset}", wallet.id);
            if let Some(holding) = instance
                .node()
                .operator_books()
                .and_then(|books| books.holding(wallet.id))
            {
                say!(
                    "      balance {} at the mock operator, which funds its payments",
                    holding.balance
                );
            }
        }
    }
    for link in network.links() {
        say!(
            "  link: {} sends to {} with token {}",
            link.from,
            link.connector_url,
            link.token
        );
    }
    for peering in peerlab_simulator::run::peering_liquidity(&network, &topology) {
        say!(
            "  peered: {} <-> {} in {}: {} grants {}, {} grants {}",
            peering.between[0],
            peering.between[1],
            peering.asset,
            peering.between[0],
            peering.before[0],
            peering.between[1],
            peering.before[1]
        );
    }
    if let Some((link, wallet)) = network.links().into_iter().find_map(|link| {
        let to = network.instance(&link.to)?;
        let wallet = to
            .node()
            .instance()
            .wallet_addresses_page(&peerlab::instance::PageRequest {
                first: Some(1),
                order: peerlab::instance::SortOrder::Asc,
                ..Default::default()
            })
            .ok()?
            .items
            .into_iter()
            .next()?;
        Some((link, wallet.url.clone()))
    }) {
        say!(
            "Try it: pay 1234 to {wallet} as {} (in another terminal; `peerlab run` makes whole payments with Rafiki's operations):",
            link.from
        );
        say!(
            "  peerlab pay {wallet} 1234 --connector {} --token {}",
            link.connector_url,
            link.token
        );
    }
    say!("Press Ctrl-C to stop.");
    signals.received().await;
    say!("peerlab: stopping");
    view.stop().await;
    network.shutdown().await;
    ExitCode::SUCCESS
}

/// SIGINT (Ctrl-C) and SIGTERM, listened for from the moment this is made: made before anything
/// announces that it is up, so a signal sent right after that announcement is never missed (the
/// default action would kill the process without a clean shutdown).
struct StopSignals {
    #[cfg(unix)]
    handlers: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl StopSignals {
    fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let handlers = signal(SignalKind::interrupt())
                .and_then(|interrupt| Ok((interrupt, signal(SignalKind::terminate())?)))
                .ok();
            Self { handlers }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Returns once either signal has arrived.
    async fn received(self) {
        #[cfg(unix)]
        if let Some((mut interrupt, mut terminate)) = self.handlers {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
