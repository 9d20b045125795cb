//! `peerlab run --html` writes a self-contained page: rendered by headless Chromium (Debian's
//! `chromium`, installed by `scripts/install-chromium.sh` when missing), its DOM shows the
//! network picture (every instance and peering of the topology), the invariants, and the charts.

use std::process::Command;

fn chromium() -> String {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/install-chromium.sh"
    );
    let status = Command::new("bash")
        .arg(script)
        .status()
        .expect("bash runs");
    assert!(status.success(), "installing chromium failed");
    "chromium".to_owned()
}

#[test]
fn the_html_report_renders_the_network_in_chromium() {
    let dir = std::env::temp_dir();
    let page = dir.join(format!("peerlab-report-{}.html", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_peerlab"))
        .args(["run", "--seed", "5", "--html"])
        .arg(&page)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/topologies/chaos.toml"
        ))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let profile = dir.join(format!("peerlab-chromium-{}", std::process::id()));
    let rendered = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    let _ = std::fs::remove_file(&page);
    let dom = String::from_utf8_lossy(&rendered.stdout);
    assert!(dom.contains("<svg id=\"network\""), "{dom}");
    for name in ["cloud-nine-wallet", "happy-life-bank"] {
        assert!(
            dom.contains(&format!("<g class=\"instance\" data-name=\"{name}\">")),
            "{name} in {dom}"
        );
    }
    assert_eq!(dom.matches("<g class=\"peering\"").count(), 1, "{dom}");
    assert_eq!(dom.matches("<li class=\"held\">").count(), 5, "{dom}");
    assert!(dom.contains("<svg id=\"latency\""), "{dom}");
    assert!(dom.contains("<svg id=\"throughput\""), "{dom}");
    let faults = dom
        .split("<table id=\"faults\">")
        .nth(1)
        .unwrap_or_default();
    let faults = faults.split("</table>").next().unwrap_or_default();
    assert_eq!(
        faults.matches("<tr><td>").count(),
        8,
        "eight faults in {dom}"
    );
}
