//! `peerlab test` as a QA engineer runs it: their own feature files, on fresh embedded instances,
//! with JUnit and Cucumber JSON reports, tag filtering, and a failing exit when a step is undefined
//! or an expectation is wrong.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BACKGROUND: &str = r#"
  Background:
    Given two fresh instances, "Cloud Nine" at "test.cloud-nine-wallet" and "Happy Life" at "test.happy-life-bank"
    And "Cloud Nine" and "Happy Life" are peered in USD with scale 2
"#;

/// A feature with two scenarios of two steps each (after the two of the background), the first
/// tagged `@cloud-nine`.
fn peering_feature() -> String {
    format!(
        r#"Feature: A small peering
{BACKGROUND}
  @cloud-nine
  Scenario: Cloud Nine adds liquidity
    When "Cloud Nine" adds 10000 of liquidity to its peer "Happy Life" as the guide shows
    Then the liquidity "Cloud Nine" grants "Happy Life" in USD is 10000

  Scenario: Happy Life adds liquidity
    When "Happy Life" adds 2500 of liquidity to its peer "Cloud Nine" as the guide shows
    Then the liquidity "Happy Life" grants "Cloud Nine" in USD is 2500
"#
    )
}

/// A fresh directory for one test's files.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("peerlab-test-{test}-{}", std::process::id()));
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
        .output()
        .expect("peerlab runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn both(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The names of the `<testsuite>` and `<testcase>` elements of a JUnit document, and their
/// failure count; fails the test when the document is not well-formed XML.
fn junit_names(xml: &str) -> (Vec<String>, Vec<String>, usize) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut suites, mut cases, mut failures) = (Vec::new(), Vec::new(), 0);
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Eof => break,
            Event::Start(element) | Event::Empty(element) => {
                let name = || {
                    element
                        .try_get_attribute("name")
                        .expect("attributes")
                        .map(|name| String::from_utf8_lossy(&name.value).into_owned())
                        .unwrap_or_default()
                };
                match element.name().as_ref() {
                    b"testsuite" => suites.push(name()),
                    b"testcase" => cases.push(name()),
                    b"failure" => failures += 1,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    (suites, cases, failures)
}

/// (scenarios, steps) in a Cucumber JSON report: backgrounds are elements of their own.
fn json_counts(report: &serde_json::Value) -> (usize, usize) {
    let elements: Vec<&serde_json::Value> = report
        .as_array()
        .expect("an array of features")
        .iter()
        .flat_map(|feature| feature["elements"].as_array().expect("elements").iter())
        .collect();
    let scenarios = elements
        .iter()
        .filter(|element| element["type"] == "scenario")
        .count();
    let steps = elements
        .iter()
        .map(|element| element["steps"].as_array().expect("steps").len())
        .sum();
    (scenarios, steps)
}

#[test]
fn a_passing_feature_writes_junit_and_cucumber_json_for_both_dialects() {
    let dir = temp_dir("pass");
    std::fs::create_dir_all(dir.join("features")).expect("features dir");
    std::fs::write(dir.join("features/peering.feature"), peering_feature()).expect("feature");
    // No path: `features/` in the current directory, as the README says.
    let output = peerlab_test(&dir, &["--junit", "report.xml", "--json", "report.json"]);
    assert!(output.status.success(), "{}", both(&output));
    let out = stdout(&output);
    assert!(out.contains("2 scenarios (2 passed)"), "{out}");

    let xml = std::fs::read_to_string(dir.join("report.xml")).expect("the JUnit report");
    let (suites, cases, failures) = junit_names(&xml);
    assert_eq!(
        suites,
        [
            "[seed dialect] Feature: A small peering: features/peering.feature",
            "[v2 dialect] Feature: A small peering: features/peering.feature"
        ],
        "{xml}"
    );
    assert_eq!(cases.len(), 4, "{cases:?}");
    assert!(
        cases.iter().all(
            |case| case.starts_with("Scenario: Cloud Nine adds liquidity")
                || case.starts_with("Scenario: Happy Life adds liquidity")
        ),
        "{cases:?}"
    );
    assert_eq!(failures, 0, "{xml}");

    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("report.json")).expect("the Cucumber JSON report"),
    )
    .expect("JSON");
    // Per dialect: 2 scenarios; 2 steps each and the background's 2 before each.
    assert_eq!(json_counts(&json), (4, 16), "{json}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tags_select_the_scenarios_that_run() {
    let dir = temp_dir("tags");
    std::fs::write(dir.join("peering.feature"), peering_feature()).expect("feature");
    let output = peerlab_test(
        &dir,
        &[
            "peering.feature",
            "--tags",
            "@cloud-nine",
            "--dialect",
            "seed",
            "--json",
            "report.json",
        ],
    );
    assert!(output.status.success(), "{}", both(&output));
    let out = stdout(&output);
    assert!(out.contains("Scenario: Cloud Nine adds liquidity"), "{out}");
    assert!(
        !out.contains("Scenario: Happy Life adds liquidity"),
        "{out}"
    );
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("report.json")).expect("the Cucumber JSON report"),
    )
    .expect("JSON");
    assert_eq!(json_counts(&json), (1, 4), "{json}");

    let output = peerlab_test(&dir, &["peering.feature", "--tags", "@cloud-nine and"]);
    assert_eq!(output.status.code(), Some(2), "{}", both(&output));
    assert!(
        both(&output).contains("--tags \"@cloud-nine and\" is not a tag expression"),
        "{}",
        both(&output)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_undefined_step_fails_the_run_and_is_named() {
    let dir = temp_dir("undefined");
    std::fs::write(
        dir.join("undefined.feature"),
        format!(
            "Feature: Undefined\n{BACKGROUND}\n  Scenario: A step nobody wrote\n    When the moon turns blue over \"Cloud Nine\"\n"
        ),
    )
    .expect("feature");
    let output = peerlab_test(&dir, &["undefined.feature", "--dialect", "v2"]);
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    let out = stdout(&output);
    assert!(
        out.contains("When the moon turns blue over \"Cloud Nine\"")
            && out.contains("Step doesn't match any function"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_wrong_expectation_fails_with_expected_and_actual() {
    let dir = temp_dir("wrong");
    std::fs::write(
        dir.join("wrong.feature"),
        format!(
            "Feature: Off by one\n{BACKGROUND}\n  Scenario: A figure off by one\n    When \"Cloud Nine\" adds 10000 of liquidity to its peer \"Happy Life\" as the guide shows\n    Then the liquidity \"Cloud Nine\" grants \"Happy Life\" in USD is 10001\n"
        ),
    )
    .expect("feature");
    let output = peerlab_test(&dir, &["wrong.feature", "--dialect", "seed"]);
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    let out = stdout(&output);
    assert!(
        out.contains(
            "the liquidity Cloud Nine grants Happy Life in USD: expected 10001, actual 10000"
        ),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// cucumber collects steps through `inventory`; a step module the linker dropped from the
/// binary would silently lose its steps. The binary says how many it collected: every step
/// defined in the library's source.
#[test]
fn the_binary_collects_every_step_the_library_defines() {
    let steps_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/harness/steps");
    let mut defined = 0;
    let mut modules = 0;
    for entry in std::fs::read_dir(&steps_dir).expect("the steps' sources") {
        let path = entry.expect("an entry").path();
        let source = std::fs::read_to_string(&path).expect("a source file");
        let in_file = ["#[given(", "#[when(", "#[then("]
            .iter()
            .map(|attribute| source.matches(attribute).count())
            .sum::<usize>();
        if in_file > 0 {
            modules += 1;
        }
        defined += in_file;
    }
    assert!(modules >= 13, "{modules} step modules in {steps_dir:?}");
    let dir = temp_dir("steps");
    std::fs::write(dir.join("peering.feature"), peering_feature()).expect("feature");
    let output = peerlab_test(&dir, &["peering.feature", "--dialect", "seed"]);
    assert!(output.status.success(), "{}", both(&output));
    let out = stdout(&output);
    assert!(
        out.starts_with(&format!("peerlab test: {defined} step definitions\n")),
        "{defined} steps defined: {out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_feature_path_is_a_usage_error() {
    let dir = temp_dir("missing");
    let output = peerlab_test(&dir, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", both(&output));
    assert!(
        both(&output).contains("features: no such feature file or directory"),
        "{}",
        both(&output)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn peerlab(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_peerlab"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("peerlab runs")
}

/// docs/steps.md is the binary's own catalogue, so the README's link never shows stale steps.
#[test]
fn docs_steps_md_is_the_binarys_catalogue() {
    let dir = temp_dir("catalogue");
    let output = peerlab(&dir, &["steps", "--markdown"]);
    assert!(output.status.success(), "{}", both(&output));
    let committed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/steps.md"))
            .expect("docs/steps.md");
    assert!(
        stdout(&output) == committed,
        "docs/steps.md differs from `peerlab steps --markdown`; regenerate it with \
         `cargo run -p peerlab-simulator --bin peerlab -- steps --markdown > docs/steps.md`"
    );
    let text = peerlab(&dir, &["steps"]);
    assert!(text.status.success(), "{}", both(&text));
    let text = stdout(&text);
    assert!(
        text.contains("\n== Liquidity (simulator/src/harness/steps/liquidity.rs)\n")
            && text.contains(
                "\nWhen {string} adds {int} of liquidity to its peer {string} as the guide shows\n    parameters: {string} {int} {string}\n    e.g. When \"Cloud Nine\" adds 10000 of liquidity to its peer \"Happy Life\" as the guide shows\n"
            ),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The starter kit runs as written, and a second --init refuses to overwrite it.
#[test]
fn the_starter_kit_passes_and_is_never_overwritten() {
    let dir = temp_dir("init");
    let output = peerlab_test(&dir, &["--init", "kit"]);
    assert!(output.status.success(), "{}", both(&output));
    let targets = std::fs::read_to_string(dir.join("kit/targets.toml")).expect("targets.toml");
    let parsed: toml::Value = toml::from_str(&targets).expect("targets.toml is TOML");
    assert_eq!(
        parsed["targets"].as_array().map(Vec::len),
        Some(2),
        "{targets}"
    );

    let output = peerlab_test(&dir, &["kit/features"]);
    assert!(output.status.success(), "{}", both(&output));
    assert!(
        stdout(&output).contains("3 scenarios (3 passed)"),
        "{}",
        both(&output)
    );

    std::fs::write(dir.join("kit/targets.toml"), "# mine\n").expect("edit");
    let output = peerlab_test(&dir, &["--init", "kit"]);
    assert_eq!(output.status.code(), Some(2), "{}", both(&output));
    assert!(
        both(&output).contains("kit/features/peering.feature already exists; not overwriting it"),
        "{}",
        both(&output)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("kit/targets.toml")).expect("targets.toml"),
        "# mine\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
