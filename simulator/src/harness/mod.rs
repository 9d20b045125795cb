//! The Gherkin step library and the runner behind `peerlab test`: feature files written by anyone
//! run with cucumber on fresh embedded instances per scenario, once per admin dialect asked for,
//! or once on the instances of a real deployment a targets file names ([`targets`]); with
//! cucumber's report on stdout and, when asked, JUnit XML and Cucumber JSON reports.

pub mod catalogue;
pub mod starter;
mod steps;
pub mod targets;
pub mod world;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cucumber::feature::Ext as _;
use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::tag::Ext as _;
use cucumber::writer::Stats as _;
use cucumber::{World as _, WriterExt as _, cli, gherkin, parser, writer};
use futures_util::stream;

pub use world::{Dialect, PeeringWorld};

/// What `peerlab test` was asked to run, and where to write its reports.
#[derive(Debug, Clone)]
pub struct Options {
    /// Feature files, or directories searched (recursively) for `*.feature` files.
    pub paths: Vec<PathBuf>,
    /// A cucumber tag expression (`@payments and not @slow`): only the scenarios it matches run.
    pub tags: Option<String>,
    pub junit: Option<PathBuf>,
    pub json: Option<PathBuf>,
    /// How many scenarios run at the same time.
    pub concurrency: usize,
    /// The admin dialects the features run in on embedded instances, one full run each, in
    /// this order.
    pub dialects: Vec<Dialect>,
    /// A targets file: the features run once on the deployment it names, each instance in its
    /// own dialect, instead of on embedded instances.
    pub target: Option<PathBuf>,
}

/// The tag of scenarios that need what only the simulator can do; they are skipped on targets.
pub const EMBEDDED_ONLY: &str = "embedded-only";

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("--tags {expression:?} is not a tag expression: {reason}")]
    Tags { expression: String, reason: String },
    #[error("{}: no such feature file or directory", .0.display())]
    MissingPath(PathBuf),
    #[error("{}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Targets(#[from] targets::TargetsError),
    #[error("{}: target {target:?} cannot be reached: {reason}", file.display())]
    Unreachable {
        file: PathBuf,
        target: String,
        reason: String,
    },
    #[error("the {report} report of the {dialect} run is not what cucumber writes: {reason}")]
    Report {
        report: &'static str,
        dialect: &'static str,
        reason: String,
    },
}

/// How a run went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The runs (`reading refusals ...`, `on the targets in FILE`) in which a step failed, was
    /// skipped or undefined, or a file did not parse.
    pub failed: Vec<String>,
    /// Scenarios tagged @embedded-only, not run on the targets: `Feature: Scenario (file:line)`.
    pub skipped_on_targets: Vec<String>,
    /// What the scenarios created on the targets and could not delete, one line each.
    pub left_on_targets: Vec<String>,
}

/// One full run of the feature files.
enum RunOn {
    Embedded(Dialect),
    Targets(targets::Targets),
}

impl RunOn {
    fn label(&self) -> String {
        match self {
            RunOn::Embedded(dialect) => format!("reading refusals {dialect}"),
            RunOn::Targets(targets) => format!("on the targets in {}", targets.file.display()),
        }
    }

    /// How the run's suites and features are told apart in merged reports.
    fn report_name(&self) -> &'static str {
        match self {
            RunOn::Embedded(dialect) => dialect_name(*dialect),
            RunOn::Targets(_) => "targets",
        }
    }
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failed.is_empty()
    }
}

/// How many step definitions the library holds (given, when and then together), counted from
/// what cucumber collected: a step module the linker dropped would be missing here.
pub fn steps_collected() -> usize {
    steps::keep_linked();
    use cucumber::codegen::{WorldInventory, inventory};
    inventory::iter::<<PeeringWorld as WorldInventory>::Given>
        .into_iter()
        .count()
        + inventory::iter::<<PeeringWorld as WorldInventory>::When>
            .into_iter()
            .count()
        + inventory::iter::<<PeeringWorld as WorldInventory>::Then>
            .into_iter()
            .count()
}

/// Runs the feature files `options` names, once per dialect or once on the targets, and writes
/// the reports asked for.
pub async fn run(options: &Options) -> Result<Outcome, HarnessError> {
    // Said first, so that a step library missing some of its steps shows at once.
    println!("peerlab test: {} step definitions", steps_collected());
    let tags = options
        .tags
        .as_deref()
        .map(|expression| {
            expression
                .parse::<TagOperation>()
                .map_err(|error| HarnessError::Tags {
                    expression: expression.to_owned(),
                    reason: error.to_string(),
                })
        })
        .transpose()?;
    let files = feature_files(&options.paths)?;
    let runs = match &options.target {
        Some(path) => {
            let targets = targets::load(path, |name| std::env::var(name).ok())?;
            reach(&targets).await?;
            vec![RunOn::Targets(targets)]
        }
        None => options
            .dialects
            .iter()
            .map(|dialect| RunOn::Embedded(*dialect))
            .collect(),
    };
    let mut outcome = Outcome {
        failed: Vec::new(),
        skipped_on_targets: Vec::new(),
        left_on_targets: Vec::new(),
    };
    let mut junit_reports = Vec::new();
    let mut json_reports = Vec::new();
    let several = runs.len() > 1;
    for run_on in runs {
        let label = run_on.label();
        let report_name = run_on.report_name();
        let on_targets = matches!(run_on, RunOn::Targets(_));
        match run_on {
            RunOn::Embedded(dialect) => {
                world::set_dialect(dialect);
                world::set_targets(None);
            }
            RunOn::Targets(targets) => world::set_targets(Some(targets)),
        }
        match world::run_id() {
            Some(run_id) => println!("\n=== The features, {label} (run {run_id})\n"),
            None => println!("\n=== The features, {label}\n"),
        }
        let selection = Selection {
            tags: tags.clone(),
            skip_embedded_only: on_targets,
            skipped: Arc::default(),
        };
        let mut junit = Vec::new();
        let mut json = Vec::new();
        let has_failed =
            run_features(&files, selection.clone(), options, &mut junit, &mut json).await;
        if has_failed {
            outcome.failed.push(label);
        }
        let skipped = std::mem::take(
            &mut *selection
                .skipped
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        if on_targets {
            world::set_targets(None);
            outcome.left_on_targets = world::take_left_behind();
            say_skipped_and_left(&skipped, &outcome.left_on_targets);
            outcome.skipped_on_targets = skipped;
        }
        junit_reports.push((report_name, junit));
        json_reports.push((report_name, json));
    }
    if let Some(path) = &options.junit {
        let mut report = merge_junit(&junit_reports, several)?;
        if !outcome.skipped_on_targets.is_empty() {
            report = with_skipped_suite(report, &outcome.skipped_on_targets);
        }
        write(path, report)?;
    }
    if let Some(path) = &options.json {
        write(path, merge_json(&json_reports, several)?)?;
    }
    Ok(outcome)
}

/// Asks each target's admin API for `__typename`, signed and with its tenant id, so that a wrong
/// URL, certificate, secret or tenant stops the run at once with the reason, rather than failing
/// every scenario.
async fn reach(targets: &targets::Targets) -> Result<(), HarnessError> {
    for target in &targets.targets {
        let unreachable = |reason: String| HarnessError::Unreachable {
            file: targets.file.clone(),
            target: target.name.clone(),
            reason,
        };
        let admin = crate::AdminClient::with_tls(&target.admin_graphql_url, target.tls.clone())
            .map_err(|error| unreachable(error.to_string()))?
            .signed_with(target.secret.clone())
            .signature_version(target.signature_version)
            .with_tenant_id(target.tenant_id.clone());
        let answer = admin
            .request("{ __typename }", serde_json::json!({}))
            .await
            .map_err(|error| unreachable(format!("{}: {error}", target.admin_graphql_url)))?;
        if !answer["data"]["__typename"].is_string() {
            return Err(unreachable(format!(
                "{} answered {answer}",
                target.admin_graphql_url
            )));
        }
    }
    Ok(())
}

/// Why a scenario tagged @embedded-only is not run on targets.
const SKIPPED_REASON: &str = "tagged @embedded-only: it needs what only the simulator can do \
    (fresh instances configured by the scenario, faults, stopping an instance, its internals)";

fn say_skipped_and_left(skipped: &[String], left: &[String]) {
    if !skipped.is_empty() {
        println!(
            "\nNot run on the targets, {} scenario(s) {SKIPPED_REASON}:",
            skipped.len()
        );
        for scenario in skipped {
            println!("  - {scenario}");
        }
    }
    if left.is_empty() {
        println!("\nEverything the scenarios created on the targets was deleted.");
    } else {
        println!(
            "\nLeft on the targets, {} thing(s) Rafiki does not let a client delete (or that \
             would not delete):",
            left.len()
        );
        for thing in left {
            println!("  - {thing}");
        }
    }
}

/// The JUnit report with one more suite: the scenarios not run on the targets, each a skipped
/// test case with the reason, so that CI shows them.
fn with_skipped_suite(report: Vec<u8>, skipped: &[String]) -> Vec<u8> {
    let text = String::from_utf8_lossy(&report);
    let mut suite = format!(
        "<testsuite id=\"{}\" name=\"Not run on the targets (@embedded-only)\" tests=\"{}\" \
         skipped=\"{}\" errors=\"0\" failures=\"0\">\n",
        text.matches("<testsuite ").count(),
        skipped.len(),
        skipped.len()
    );
    for scenario in skipped {
        suite.push_str(&format!(
            "<testcase name=\"{}\" time=\"0\"><skipped message=\"{}\"/></testcase>\n",
            xml_escape(scenario),
            xml_escape(SKIPPED_REASON)
        ));
    }
    suite.push_str("</testsuite>\n");
    match text.rfind("</testsuites>") {
        Some(end) => format!("{}{suite}{}", &text[..end], &text[end..]).into_bytes(),
        None => report,
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Which scenarios run: those the tag expression matches and, on targets, not the embedded-only
/// ones, which are noted in `skipped`.
#[derive(Clone, Default)]
struct Selection {
    tags: Option<TagOperation>,
    skip_embedded_only: bool,
    skipped: Arc<Mutex<Vec<String>>>,
}

impl Selection {
    /// Keeps the feature's scenarios (and its rules') that run.
    fn apply(&self, path: &Path, feature: &mut gherkin::Feature) {
        let feature_tags = feature.tags.clone();
        let feature_name = feature.name.clone();
        let keep = |rule_tags: &[String], scenario: &gherkin::Scenario| {
            let tags = || {
                feature_tags
                    .iter()
                    .chain(rule_tags)
                    .chain(scenario.tags.iter())
            };
            if self
                .tags
                .as_ref()
                .is_some_and(|tags_filter| !tags_filter.eval(tags()))
            {
                return false;
            }
            if self.skip_embedded_only && tags().any(|tag| tag == EMBEDDED_ONLY) {
                self.skipped
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(format!(
                        "{feature_name}: {} ({}:{})",
                        scenario.name,
                        path.display(),
                        scenario.position.line
                    ));
                return false;
            }
            true
        };
        feature.scenarios.retain(|scenario| keep(&[], scenario));
        for rule in &mut feature.rules {
            let rule_tags = rule.tags.clone();
            rule.scenarios.retain(|scenario| keep(&rule_tags, scenario));
        }
    }
}

/// One cucumber run over `files`; the JUnit and JSON reports are written into the buffers.
/// Returns whether it failed.
async fn run_features(
    files: &[PathBuf],
    selection: Selection,
    options: &Options,
    junit: &mut Vec<u8>,
    json: &mut Vec<u8>,
) -> bool {
    let writer = writer::Basic::raw(io::stdout(), writer::Coloring::Auto, 0)
        .summarized()
        .tee::<PeeringWorld, _>(writer::JUnit::for_tee(junit, 0))
        .tee::<PeeringWorld, _>(writer::Json::for_tee(json))
        .normalized();
    // Options built here, not parsed: cucumber would otherwise read `peerlab`'s own arguments.
    // Scenarios are selected by the parser ([`Selection`]), tags included.
    let cli_options = cli::Opts::<_, _, _, cli::Empty>::default();
    let writer = PeeringWorld::cucumber::<PathBuf>()
        .with_parser(FeatureFiles { selection })
        .with_writer(writer)
        .with_cli(cli_options)
        .fail_on_skipped()
        .max_concurrent_scenarios(options.concurrency.max(1))
        .after(|_feature, _rule, _scenario, _event, world| {
            Box::pin(async move {
                if let Some(world) = world {
                    world.shut_down().await;
                }
            })
        })
        .run(files.to_vec())
        .await;
    writer.execution_has_failed()
}

/// The `*.feature` files `paths` name, each directory searched recursively, in a stable order.
fn feature_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, HarnessError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            collect_features(path, &mut found)?;
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(HarnessError::MissingPath(path.clone()));
        }
    }
    Ok(files)
}

fn collect_features(directory: &Path, found: &mut Vec<PathBuf>) -> Result<(), HarnessError> {
    let read = |source| HarnessError::Read {
        path: directory.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(directory).map_err(read)? {
        let path = entry.map_err(read)?.path();
        if path.is_dir() {
            collect_features(&path, found)?;
        } else if path
            .extension()
            .is_some_and(|extension| extension == "feature")
        {
            found.push(path);
        }
    }
    Ok(())
}

/// Parses a list of feature files (cucumber's own parser takes one path), keeping the scenarios
/// the selection runs.
#[derive(Clone, Default)]
struct FeatureFiles {
    selection: Selection,
}

impl cucumber::Parser<Vec<PathBuf>> for FeatureFiles {
    type Cli = cli::Empty;
    type Output = stream::Iter<std::vec::IntoIter<parser::Result<gherkin::Feature>>>;

    fn parse(self, files: Vec<PathBuf>, _: cli::Empty) -> Self::Output {
        let features: Vec<_> = files
            .iter()
            .map(|file| {
                // Scenario outlines become one scenario per example row, as cucumber's own
                // parser makes them.
                gherkin::Feature::parse_path(file, gherkin::GherkinEnv::default())
                    .map_err(parser::Error::from)
                    .and_then(|feature| feature.expand_examples().map_err(parser::Error::from))
                    .map(|mut feature| {
                        self.selection.apply(file, &mut feature);
                        feature
                    })
            })
            .collect();
        stream::iter(features)
    }
}

fn write(path: &Path, contents: Vec<u8>) -> Result<(), HarnessError> {
    std::fs::write(path, contents).map_err(|source| HarnessError::Write {
        path: path.to_owned(),
        source,
    })
}

fn dialect_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Seed => "seed",
        Dialect::V2 => "v2",
    }
}

/// One JUnit document with every run's test suites; with several dialects each suite's name says
/// which run it is from, since the same features run in each.
fn merge_junit(
    reports: &[(&'static str, Vec<u8>)],
    several: bool,
) -> Result<Vec<u8>, HarnessError> {
    let mut suites = String::new();
    for (dialect, report) in reports {
        let dialect = *dialect;
        let malformed = |reason: &str| HarnessError::Report {
            report: "JUnit",
            dialect,
            reason: reason.to_owned(),
        };
        let text = std::str::from_utf8(report).map_err(|_| malformed("not UTF-8"))?;
        let body = if text.contains("<testsuites/>") {
            ""
        } else {
            let start = text
                .find("<testsuites>")
                .ok_or_else(|| malformed("no <testsuites>"))?
                + "<testsuites>".len();
            let end = text
                .rfind("</testsuites>")
                .ok_or_else(|| malformed("no </testsuites>"))?;
            text.get(start..end)
                .ok_or_else(|| malformed("</testsuites> before <testsuites>"))?
        };
        if several {
            suites.push_str(&body.replace(
                " name=\"Feature: ",
                &format!(" name=\"[{dialect} dialect] Feature: "),
            ));
        } else {
            suites.push_str(body);
        }
    }
    let suites = renumber_suites(&suites);
    Ok(
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<testsuites>{suites}\n</testsuites>\n"
        )
        .into_bytes(),
    )
}

/// Numbers the test suites 0, 1, 2... across the merged runs (each run numbers its own from 0).
fn renumber_suites(suites: &str) -> String {
    const OPENING: &str = "<testsuite id=\"";
    let mut out = String::with_capacity(suites.len());
    let mut rest = suites;
    let mut next = 0usize;
    while let Some(at) = rest.find(OPENING) {
        let (before, after) = rest.split_at(at);
        let after = &after[OPENING.len()..];
        let number = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        out.push_str(before);
        out.push_str(&format!("{OPENING}{next}"));
        next += 1;
        rest = &after[number..];
    }
    out.push_str(rest);
    out
}

/// One Cucumber JSON array with every run's features; with several dialects each feature's name
/// says which run it is from.
fn merge_json(reports: &[(&'static str, Vec<u8>)], several: bool) -> Result<Vec<u8>, HarnessError> {
    let mut features = Vec::new();
    for (dialect, report) in reports {
        let dialect = *dialect;
        let parsed: Vec<serde_json::Value> =
            serde_json::from_slice(report).map_err(|error| HarnessError::Report {
                report: "Cucumber JSON",
                dialect,
                reason: error.to_string(),
            })?;
        for mut feature in parsed {
            if several && let Some(name) = feature.get("name").and_then(|n| n.as_str()) {
                feature["name"] = serde_json::Value::String(format!("[{dialect} dialect] {name}"));
            }
            features.push(feature);
        }
    }
    serde_json::to_vec_pretty(&features).map_err(|error| HarnessError::Report {
        report: "Cucumber JSON",
        dialect: "merged",
        reason: error.to_string(),
    })
}
