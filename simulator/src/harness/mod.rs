//! The Gherkin step library and the runner behind `peerlab test`: feature files written by anyone
//! run with cucumber on fresh embedded instances per scenario, once per admin dialect asked for,
//! with cucumber's report on stdout and, when asked, JUnit XML and Cucumber JSON reports.

pub mod catalogue;
pub mod starter;
mod steps;
pub mod world;

use std::io;
use std::path::{Path, PathBuf};

use cucumber::feature::Ext as _;
use cucumber::gherkin::tagexpr::TagOperation;
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
    /// The admin dialects the features run in, one full run each, in this order.
    pub dialects: Vec<Dialect>,
}

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
    #[error("the {report} report of the {dialect} run is not what cucumber writes: {reason}")]
    Report {
        report: &'static str,
        dialect: &'static str,
        reason: String,
    },
}

/// How a run went, per dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The dialects in which a step failed, was skipped or undefined, or a file did not parse.
    pub failed: Vec<Dialect>,
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

/// Runs the feature files `options` names, once per dialect, and writes the reports asked for.
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
    let mut failed = Vec::new();
    let mut junit_reports = Vec::new();
    let mut json_reports = Vec::new();
    for &dialect in &options.dialects {
        world::set_dialect(dialect);
        println!("\n=== The features, reading refusals {dialect}\n");
        let mut junit = Vec::new();
        let mut json = Vec::new();
        let has_failed = run_dialect(&files, tags.clone(), options, &mut junit, &mut json).await;
        if has_failed {
            failed.push(dialect);
        }
        junit_reports.push((dialect, junit));
        json_reports.push((dialect, json));
    }
    let several = options.dialects.len() > 1;
    if let Some(path) = &options.junit {
        write(path, merge_junit(&junit_reports, several)?)?;
    }
    if let Some(path) = &options.json {
        write(path, merge_json(&json_reports, several)?)?;
    }
    Ok(Outcome { failed })
}

/// One cucumber run over `files`; the JUnit and JSON reports are written into the buffers.
/// Returns whether it failed.
async fn run_dialect(
    files: &[PathBuf],
    tags: Option<TagOperation>,
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
    let cli_options = cli::Opts::<_, _, _, cli::Empty> {
        tags_filter: tags,
        ..Default::default()
    };
    let writer = PeeringWorld::cucumber::<PathBuf>()
        .with_parser(FeatureFiles)
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

/// Parses a list of feature files (cucumber's own parser takes one path).
#[derive(Debug, Clone, Copy, Default)]
struct FeatureFiles;

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
fn merge_junit(reports: &[(Dialect, Vec<u8>)], several: bool) -> Result<Vec<u8>, HarnessError> {
    let mut suites = String::new();
    for (dialect, report) in reports {
        let dialect = dialect_name(*dialect);
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
fn merge_json(reports: &[(Dialect, Vec<u8>)], several: bool) -> Result<Vec<u8>, HarnessError> {
    let mut features = Vec::new();
    for (dialect, report) in reports {
        let dialect = dialect_name(*dialect);
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
