//! `peerlab run --html`: the run report as one self-contained page (inline SVG and CSS, no
//! scripts, nothing fetched), viewable offline: a picture of the network with each peering's
//! liquidity before and after, coloured by health, the latency distribution and the payments
//! that ended each second.

use std::fmt::Write as _;

use crate::network_picture::{BROKEN, HEALTHY, Layout, STRAINED, escape, strained};
use crate::report::RunReport;

/// The page for `report`.
pub fn render(report: &RunReport) -> String {
    let mut page = String::new();
    let title = format!("peerlab run: {}", report.topology);
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>body{{font-family:sans-serif;margin:2em;color:#222}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}\
         th{{background:#f4f4f4}}.held{{color:{HEALTHY}}}.broken{{color:{BROKEN};font-weight:bold}}\
         svg text{{font-size:12px}}</style></head><body>",
        escape(&title)
    );
    let _ = write!(
        page,
        "<h1>{}</h1><p id=\"summary\">seed {}; {} payments planned, {} completed, {} partial, {} \
         failed, {} unfinished, {} not started, in {:.2} s ({:.0} payments/s); {} sent, {} \
         delivered.</p><p id=\"packets\">{} packets sent for payments: {} fulfilled, {} \
         rejected; packet latency p50 {:.2} ms, p99 {:.2} ms. Replay: <code>{}</code></p>",
        escape(&title),
        report.seed,
        report.payments.planned,
        report.payments.completed,
        report.payments.partial,
        report.payments.failed,
        report.payments.unfinished,
        report.payments.not_started,
        report.duration_seconds,
        report.payments_per_second,
        report.payments.sent,
        report.payments.delivered,
        report.packets.sent.total(),
        report.packets.sent.fulfilled,
        report.packets.sent.rejected_total(),
        report.packets.latency_ms.p50,
        report.packets.latency_ms.p99,
        escape(&report.replay)
    );
    network_picture(&mut page, report);
    invariants(&mut page, report);
    latency_chart(&mut page, report);
    throughput_chart(&mut page, report);
    faults_and_reasons(&mut page, report);
    page.push_str("</body></html>\n");
    page
}

/// Instances on a circle, peerings as lines labelled with the liquidity each side grants the
/// other before -> after; a side left with nothing to grant is strained.
fn network_picture(page: &mut String, report: &RunReport) {
    let mut names: Vec<&str> = Vec::new();
    for peering in &report.peerings {
        for name in &peering.between {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
    }
    let layout = Layout::circle(names.len());
    let (width, height) = (layout.width, layout.height);
    let place = |index: usize| layout.positions[index];
    let position = |name: &str| names.iter().position(|n| *n == name).map(place);
    let _ = write!(
        page,
        "<h2>Network</h2><svg id=\"network\" xmlns=\"http://www.w3.org/2000/svg\" \
         width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">"
    );
    for peering in &report.peerings {
        let (Some((x1, y1)), Some((x2, y2))) =
            (position(&peering.between[0]), position(&peering.between[1]))
        else {
            continue;
        };
        let colour = if strained(&peering.after) {
            STRAINED
        } else {
            HEALTHY
        };
        let _ = write!(
            page,
            "<g class=\"peering\" data-between=\"{} {}\"><line x1=\"{x1:.0}\" y1=\"{y1:.0}\" \
             x2=\"{x2:.0}\" y2=\"{y2:.0}\" stroke=\"{colour}\" stroke-width=\"3\"/>\
             <text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\">{} {} -&gt; {} | {} -&gt; {}</text></g>",
            escape(&peering.between[0]),
            escape(&peering.between[1]),
            (x1 + x2) / 2.0,
            (y1 + y2) / 2.0 - 6.0,
            escape(&peering.asset),
            peering.before[0],
            peering.after[0],
            peering.before[1],
            peering.after[1],
        );
    }
    let colour = if report.passed() { HEALTHY } else { BROKEN };
    for (index, name) in names.iter().enumerate() {
        let (x, y) = place(index);
        let _ = write!(
            page,
            "<g class=\"instance\" data-name=\"{name}\"><circle cx=\"{x:.0}\" cy=\"{y:.0}\" r=\"22\" \
             fill=\"{colour}\"/><text x=\"{x:.0}\" y=\"{:.0}\" text-anchor=\"middle\">{name}</text></g>",
            y + 38.0,
            name = escape(name),
        );
    }
    page.push_str("</svg>");
}

fn invariants(page: &mut String, report: &RunReport) {
    page.push_str("<h2>Invariants</h2><ul id=\"invariants\">");
    for invariant in &report.invariants {
        let (class, mark) = if invariant.held {
            ("held", "held")
        } else {
            ("broken", "BROKEN")
        };
        let _ = write!(
            page,
            "<li class=\"{class}\">{mark}: {}{}</li>",
            escape(&invariant.name),
            invariant
                .detail
                .as_deref()
                .map(|detail| format!(" ({})", escape(detail)))
                .unwrap_or_default()
                + &invariant
                    .not_checked
                    .as_deref()
                    .map(|instances| format!(" (not checked on {})", escape(instances)))
                    .unwrap_or_default()
        );
    }
    page.push_str("</ul>");
}

/// Horizontal bars, one per `(label, value)`, scaled to the largest.
fn bars(page: &mut String, id: &str, unit: &str, rows: &[(String, f64)]) {
    let largest = rows
        .iter()
        .map(|(_, v)| *v)
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let height = 24 * rows.len() + 10;
    let _ = write!(
        page,
        "<svg id=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"{height}\">"
    );
    for (index, (label, value)) in rows.iter().enumerate() {
        let y = 5 + 24 * index;
        let length = 520.0 * value / largest;
        let _ = write!(
            page,
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"90\" y=\"{y}\" width=\"{length:.1}\" \
             height=\"18\" fill=\"#1565c0\"/><text x=\"{:.1}\" y=\"{}\">{value:.1} {unit}</text>",
            y + 14,
            escape(label),
            95.0 + length,
            y + 14,
        );
    }
    page.push_str("</svg>");
}

fn latency_chart(page: &mut String, report: &RunReport) {
    page.push_str("<h2>Latency per payment</h2>");
    let latency = &report.payment_latency_ms;
    let rows = [
        ("p50", latency.p50),
        ("p90", latency.p90),
        ("p99", latency.p99),
        ("p99.9", latency.p999),
        ("max", latency.max),
    ]
    .map(|(label, value)| (label.to_owned(), value));
    bars(page, "latency", "ms", &rows);
}

/// Payments that ended each second, as columns.
fn throughput_chart(page: &mut String, report: &RunReport) {
    page.push_str("<h2>Payments ended per second</h2>");
    let seconds = &report.ended_per_second;
    let largest = seconds.iter().copied().max().unwrap_or(0).max(1) as f64;
    let width = (seconds.len() * 12).clamp(120, 1440);
    let column = width as f64 / seconds.len().max(1) as f64;
    let _ = write!(
        page,
        "<svg id=\"throughput\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"170\">"
    );
    for (second, ended) in seconds.iter().enumerate() {
        let height = 140.0 * *ended as f64 / largest;
        let _ = write!(
            page,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{height:.1}\" fill=\"#6a1b9a\">\
             <title>second {second}: {ended}</title></rect>",
            second as f64 * column,
            150.0 - height,
            (column - 1.0).max(1.0),
        );
    }
    let _ = write!(
        page,
        "<text x=\"0\" y=\"166\">0 s</text><text x=\"{}\" y=\"166\" text-anchor=\"end\">{} s \
         (most: {largest:.0}/s)</text></svg>",
        width,
        seconds.len()
    );
}

fn faults_and_reasons(page: &mut String, report: &RunReport) {
    if !report.faults.is_empty() {
        page.push_str(
            "<h2>Faults</h2><table id=\"faults\"><tr><th>kind</th><th>from</th><th>to</th>\
             <th>on at</th><th>off at</th></tr>",
        );
        for fault in &report.faults {
            let _ = write!(
                page,
                "<tr><td>{:?}</td><td>{}</td><td>{}</td><td>{:.2} s</td><td>{:.2} s</td></tr>",
                fault.kind,
                escape(&fault.between[0]),
                escape(&fault.between[1]),
                fault.from_seconds,
                fault.until_seconds
            );
        }
        page.push_str("</table>");
    }
    if !report.payments.reasons.is_empty() {
        page.push_str("<h2>Why payments failed</h2><table id=\"reasons\"><tr><th>reason</th><th>payments</th></tr>");
        for (reason, count) in &report.payments.reasons {
            let _ = write!(page, "<tr><td>{}</td><td>{count}</td></tr>", escape(reason));
        }
        page.push_str("</table>");
    }
}
