//! The HTML page: one file, no network. Styles and the SVG charts are
//! inline; a few lines of script check in the reader's browser that every
//! chart rendered (and say so on the page), which is also what the
//! headless-browser test reads.

use std::fmt::Write as _;

use super::figures::ChartPlan;
use crate::results::{CellStatus, RunResults};

/// Escapes text for HTML element content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body { font-family: sans-serif; margin: 2em auto; max-width: 960px; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ddd; padding: 3px 6px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure.chart { margin: 1.5em 0; }
figure.chart figcaption { font-size: 0.9em; color: #555; margin-top: 0.3em; }
.status { font-size: 0.9em; color: #555; }
.failed { color: #b00; }
nav a { margin-right: 1em; }
";

/// Runs in the browser: counts the charts that laid out with a non-empty
/// box, writes `rendered/total` on the body and the page, and reports a
/// chart that did not render as a console error.
const CHECK_SCRIPT: &str = "
(function () {
  var figures = document.querySelectorAll('figure.chart');
  var rendered = 0;
  for (var i = 0; i < figures.length; i++) {
    var svg = figures[i].querySelector('svg');
    var box = svg ? svg.getBBox() : null;
    if (box && box.width > 0 && box.height > 0) { rendered++; }
    else { console.error('chart ' + figures[i].id + ' did not render'); }
  }
  document.body.setAttribute('data-charts-rendered', rendered + '/' + figures.length);
  document.getElementById('chart-status').textContent =
    rendered + ' of ' + figures.length + ' charts rendered';
})();
";

/// Renders the page.
pub fn render(results: &RunResults, source: &str, charts: &[(ChartPlan, String)]) -> String {
    let mut out = String::new();
    let meta = &results.scenario.meta;
    let env = &results.environment;
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>blueprint-bench: {}</title>\n<style>{STYLE}</style>\n</head>\n<body data-chart-count=\"{}\">\n",
        esc(&meta.name),
        charts.len()
    );
    let _ = writeln!(out, "<h1>blueprint-bench: {}</h1>", esc(&meta.name));
    if !meta.description.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", esc(&meta.description));
    }
    let _ = writeln!(
        out,
        "<p class=\"status\" id=\"chart-status\">{} charts (their check needs JavaScript)</p>",
        charts.len()
    );
    let _ = writeln!(out, "<h2 id=\"run\">Run</h2>\n<table>");
    let daprd = env
        .daprd
        .as_ref()
        .map_or("?".to_owned(), |d| format!("{} ({})", d.version, d.source));
    let runtimes: Vec<String> = env.runtimes.iter().map(|(n, v)| format!("{n} {v}")).collect();
    let load = &results.scenario.load;
    for (k, v) in [
        ("results file", source.to_owned()),
        ("started", results.started_at.clone()),
        ("git revision", env.git_revision.clone()),
        (
            "machine",
            format!(
                "{} × {}, {:.1} GiB",
                env.cores,
                env.cpu,
                env.memory_bytes as f64 / (1u64 << 30) as f64
            ),
        ),
        ("kernel", env.kernel.clone()),
        ("daprd", daprd),
        ("runtimes", runtimes.join(", ")),
        (
            "load",
            format!(
                "{} trials, {} connections, {} warm-up, {} measured, arrival {}, knee factor {}",
                load.trials,
                load.connections,
                humantime::format_duration(load.warmup),
                humantime::format_duration(load.duration),
                load.arrival,
                load.knee_factor
            ),
        ),
        ("state store", results.scenario.dapr.state_store.to_string()),
    ] {
        let _ = writeln!(out, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    let _ = writeln!(out, "</table>");
    if !results.completed {
        let _ = writeln!(
            out,
            "<p class=\"failed\"><b>Incomplete run:</b> it did not reach its end; {} cell(s) unfinished.</p>",
            results.unfinished_cells().len()
        );
    }
    cells_table(&mut out, results);
    let sections: [(&str, &str, &[super::figures::ChartKind]); 5] = [
        (
            "throughput",
            "Throughput and CPU per request",
            &[
                super::figures::ChartKind::Throughput,
                super::figures::ChartKind::CpuPerRequest,
            ],
        ),
        (
            "sweeps",
            "p99 against offered rate",
            &[super::figures::ChartKind::RateSweep],
        ),
        (
            "startup",
            "Cold start and phases",
            &[
                super::figures::ChartKind::ColdStart,
                super::figures::ChartKind::Phases,
            ],
        ),
        ("sizes", "Module sizes", &[super::figures::ChartKind::ModuleSize]),
        (
            "spectra",
            "Latency by percentile",
            &[super::figures::ChartKind::LatencySpectrum],
        ),
    ];
    let _ = write!(out, "<nav>");
    for (id, title, kinds) in &sections {
        if charts.iter().any(|(c, _)| kinds.contains(&c.kind)) {
            let _ = write!(out, "<a href=\"#{id}\">{}</a>", esc(title));
        }
    }
    let _ = writeln!(out, "</nav>");
    for (id, title, kinds) in &sections {
        let in_section: Vec<&(ChartPlan, String)> =
            charts.iter().filter(|(c, _)| kinds.contains(&c.kind)).collect();
        if in_section.is_empty() {
            continue;
        }
        let _ = writeln!(out, "<h2 id=\"{id}\">{}</h2>", esc(title));
        for (chart, svg) in in_section {
            let _ = writeln!(
                out,
                "<figure class=\"chart\" id=\"{}\" data-kind=\"{}\">\n{svg}\n<figcaption><b>{}</b>. {}</figcaption>\n</figure>",
                esc(&chart.id),
                serde_json::to_value(chart.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                esc(&chart.title),
                esc(&chart.note)
            );
        }
    }
    let _ = writeln!(out, "<script>{CHECK_SCRIPT}</script>\n</body>\n</html>");
    out
}

fn cells_table(out: &mut String, results: &RunResults) {
    let _ = writeln!(out, "<h2 id=\"cells\">Cells</h2>\n<table>");
    let _ = writeln!(
        out,
        "<tr><th>workload</th><th>mode</th><th>runtime</th><th>lang</th><th>protocol</th><th>store</th><th>status</th>\
         <th>trials</th><th>req/s [CI] level</th><th>p50 µs</th><th>p99 µs</th><th>CPU µs/req</th><th>cold ms</th><th>knee req/s</th><th>error rate</th></tr>"
    );
    for cell in &results.cells {
        let id = &cell.id;
        let class = match &cell.status {
            CellStatus::Failed { .. } | CellStatus::NotRun { .. } => "failed",
            _ => "",
        };
        let status = super::markdown::one_line(&cell.status.describe(), 160);
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{}</td>",
            esc(&id.workload),
            esc(&id.mode_label()),
            esc(&id.runtime),
            esc(&id.language),
            esc(&id.protocol),
            esc(&id.store),
            esc(&status)
        );
        match &cell.summary {
            Some(s) => {
                let e = |e: &crate::stats::Estimate| e.display(0, 1.0);
                // No successful request: no latency, a dash rather than 0.
                let latency = |e: &Option<crate::stats::Estimate>| {
                    e.map_or("—".into(), |e| format!("{:.0}", e.median))
                };
                let _ = writeln!(
                    out,
                    "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                     <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                    s.throughput_rps.n,
                    esc(&e(&s.throughput_rps)),
                    latency(&s.p50_us),
                    latency(&s.p99_us),
                    esc(&s.cpu_per_request_us.as_ref().map_or("-".into(), e)),
                    esc(&e(&s.cold_start_ms)),
                    esc(&s.knee_rps.as_ref().map_or("-".into(), e)),
                    esc(&crate::results::cell_error_rate(cell).map_or("—".into(), crate::compare::fmt_rate)),
                );
            }
            None => {
                let _ = writeln!(out, "{}</tr>", "<td class=\"num\">-</td>".repeat(8));
            }
        }
    }
    let _ = writeln!(out, "</table>");
}
