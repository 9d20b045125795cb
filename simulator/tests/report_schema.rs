//! The JSON report `peerlab run --json` writes has the shape `simulator/run-report.schema.json`
//! documents: real reports (a clean run, and one with faults, failed payments and balances) are
//! validated against it, and the schema is strict enough to catch a report that drifts from it.

use std::path::Path;
use std::sync::Arc;

use peerlab_simulator::report::RunReport;
use peerlab_simulator::run::{Progress, run};
use peerlab_simulator::{Network, Topology};
use serde_json::Value;

fn schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("run-report.schema.json");
    let text = std::fs::read_to_string(&path).expect("the schema is shipped");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::draft202012::new(&schema).expect("the schema is a valid JSON Schema")
}

/// Every way `report` breaks the schema, one line each.
fn violations(validator: &jsonschema::Validator, report: &Value) -> Vec<String> {
    validator
        .iter_errors(report)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}

async fn report_of(topology: &Topology, name: &str) -> Value {
    let network = Network::from_topology(topology).await.expect("starts");
    let report: RunReport = run(&network, topology, name, 5, Arc::new(Progress::default())).await;
    network.shutdown().await;
    serde_json::to_value(&report).expect("a report serializes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_reports_validate_against_the_documented_shape() {
    let validator = schema();
    let clean = report_of(&Topology::default_pair(), "default pair").await;
    assert_eq!(violations(&validator, &clean), Vec::<String>::new());
    assert_eq!(clean["payments"]["completed"], 100);

    // Faults, a payment refused for want of balance, balances at the operator: the optional and
    // less common parts of the shape.
    let eventful = Topology::parse(
        r#"
        [[instances]]
        name = "a"
        ilp_address = "test.a"
        mock_operator = true
        [[instances]]
        name = "b"
        ilp_address = "test.b"
        mock_operator = true
        [[assets]]
        code = "USD"
        scale = 2
        [[peerings]]
        between = ["a", "b"]
        asset = "USD"
        liquidity = 1000000
        [[wallet_addresses]]
        instance = "a"
        asset = "USD"
        address = "alice"
        balance = 1000
        [[wallet_addresses]]
        instance = "b"
        asset = "USD"
        address = "bob"
        balance = 0
        [[traffic]]
        from = "a/alice"
        to = "b/bob"
        amount = [100, 400]
        count = 6
        [[faults]]
        kind = "latency"
        between = ["a", "b"]
        at = 0
        for = 0.2
        latency_ms = 5
        "#,
    )
    .expect("parses");
    let eventful = report_of(&eventful, "eventful").await;
    assert_eq!(violations(&validator, &eventful), Vec::<String>::new());
    assert!(
        eventful["payments"]["reasons"]
            .as_object()
            .is_some_and(|reasons| !reasons.is_empty()),
        "alice's balance runs out: {}",
        eventful["payments"]
    );
    assert_eq!(eventful["faults"].as_array().map(Vec::len), Some(1));
    assert_eq!(eventful["wallet_addresses"][0]["before"], 1000);

    // The schema is not a formality: a report that lost a field, grew an undocumented one, or
    // changed a type does not validate.
    let mut missing = clean.clone();
    missing["packets"]
        .as_object_mut()
        .expect("packets")
        .remove("sent");
    let mut extra = clean.clone();
    extra["payments"]["refunded"] = Value::from(1);
    let mut mistyped = clean.clone();
    mistyped["peerings"][0]["before"] = Value::from("10000000");
    for (what, report) in [
        ("a missing field", missing),
        ("an undocumented field", extra),
        ("a mistyped field", mistyped),
    ] {
        assert!(
            !violations(&validator, &report).is_empty(),
            "{what} should not validate"
        );
    }
}
