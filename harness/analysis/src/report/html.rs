//! The HTML page: one file, no network. Styles and the SVG charts are
//! inline; a few lines of script check in the reader's browser that every
//! chart rendered (and say so on the page), which is also what the
//! headless-browser test reads.

use std::fmt::Write as _;

use super::charts::{hex, mode_color};
use super::decision::{self, Standing, WorkloadDecision};
use super::figures::ChartPlan;
use crate::recommend::{Figures, Ranked, Recommendation};
use crate::results::{CellResult, CellStatus, RunResults};

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

pub(crate) const STYLE: &str = "
body { font-family: sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
td.mode { white-space: nowrap; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ddd; padding: 3px 6px; text-align: left; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure.chart { margin: 1.5em 0; }
figure.chart figcaption { font-size: 0.9em; color: #555; margin-top: 0.3em; }
.status { font-size: 0.9em; color: #555; }
.failed { color: #b00; }
nav a { margin-right: 1em; }
h3 { margin: 1em 0 0.2em; font-size: 1.1em; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.35em; vertical-align: baseline; }
table.rank td.why { font-size: 0.9em; color: #444; max-width: 30em; }
tr.reference td { color: #666; font-style: italic; }
.refusal { color: #8a5a00; font-weight: bold; }
th.sortable { cursor: pointer; } th.sortable:after { content: ' ⇅'; color: #aaa; }
input#cell-filter { margin: 0.5em 0; padding: 3px 6px; width: 20em; }
details.run summary { cursor: pointer; color: #555; }
ul.not-measured { font-size: 0.85em; color: #555; }
";

/// Sorts the cell table by a clicked header (numbers by their `data-v`, text
/// otherwise; a second click reverses) and filters its rows by the text in
/// the filter box. Plain script: the page stays one file without network.
const TABLE_SCRIPT: &str = "
(function () {
  var table = document.getElementById('cell-table');
  if (!table) { return; }
  var body = table.tBodies[0];
  var heads = table.tHead.rows[0].cells;
  for (var i = 0; i < heads.length; i++) {
    (function (col) {
      heads[col].addEventListener('click', function () {
        var dir = heads[col].getAttribute('data-dir') === 'asc' ? -1 : 1;
        heads[col].setAttribute('data-dir', dir === 1 ? 'asc' : 'desc');
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          var xv = x.getAttribute('data-v'), yv = y.getAttribute('data-v');
          if (xv !== null && yv !== null) { return dir * (parseFloat(xv) - parseFloat(yv)); }
          if (xv !== null) { return -1; }
          if (yv !== null) { return 1; }
          return dir * x.textContent.localeCompare(y.textContent);
        });
        for (var r = 0; r < rows.length; r++) { body.appendChild(rows[r]); }
      });
    })(i);
  }
  var filter = document.getElementById('cell-filter');
  function apply() {
    var words = filter.value.toLowerCase().split(/\\s+/).filter(function (w) { return w; });
    for (var r = 0; r < body.rows.length; r++) {
      var text = body.rows[r].textContent.toLowerCase();
      var show = words.every(function (w) { return text.indexOf(w) >= 0; });
      body.rows[r].style.display = show ? '' : 'none';
    }
  }
  filter.addEventListener('input', apply);
  // A link can carry a filter: report.html#filter=counter%20wazero.
  if (location.hash.indexOf('#filter=') === 0) {
    filter.value = decodeURIComponent(location.hash.slice('#filter='.length));
    apply();
  }
})();
";

/// Runs in the browser: counts the charts that laid out with a non-empty
/// box, writes `rendered/total` on the body and the page, and reports a
/// chart that did not render as a console error.
pub(crate) const CHECK_SCRIPT: &str = "
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
  // Where the answer sits on the page (the browser test checks it is on the
  // first screen).
  var decision = document.getElementById('answer') || document.getElementById('decision');
  var answer = decision ? decision.querySelector('table.rank, p.refusal') : null;
  if (answer) {
    document.body.setAttribute('data-first-answer-bottom',
      Math.round(answer.getBoundingClientRect().bottom + window.scrollY));
  }
  document.getElementById('chart-status').textContent =
    rendered + ' of ' + figures.length + ' charts rendered';
})();
";

/// Renders the page.
pub fn render(
    results: &RunResults,
    source: &str,
    charts: &[(ChartPlan, String)],
    answer: Option<&Recommendation>,
) -> String {
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
    if !results.completed {
        let _ = writeln!(
            out,
            "<p class=\"failed\"><b>Incomplete run:</b> it did not reach its end; {} cell(s) unfinished.</p>",
            results.unfinished_cells().len()
        );
    }
    if let Some(answer) = answer {
        answer_section(&mut out, answer);
    }
    decision_section(&mut out, results);
    claims_section(&mut out, results);
    pubsub_section(&mut out, results);
    let _ = writeln!(
        out,
        "<p class=\"status\" id=\"chart-status\">{} charts (their check needs JavaScript)</p>",
        charts.len()
    );
    let _ = writeln!(
        out,
        "<details class=\"run\" id=\"run\"><summary>Run: {}, started {}, revision {}</summary>\n<table>",
        esc(source),
        esc(&results.started_at),
        esc(&env.git_revision)
    );
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
    let _ = writeln!(out, "</table>\n</details>");
    cells_table(&mut out, results);
    let sections: [(&str, &str, &[super::figures::ChartKind]); 5] = [
        (
            "throughput",
            "Throughput and CPU per request",
            &[
                super::figures::ChartKind::Throughput,
                super::figures::ChartKind::CpuPerRequest,
                super::figures::ChartKind::CpuSplit,
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
            &[
                super::figures::ChartKind::BlueprintSpectra,
                super::figures::ChartKind::LatencySpectrum,
            ],
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
    let _ = writeln!(
        out,
        "<script>{TABLE_SCRIPT}{CHECK_SCRIPT}</script>\n</body>\n</html>"
    );
    out
}

/// The answer to the user's requirements (`report --rate … --p99-budget …`),
/// with the figures that decided it.
fn answer_section(out: &mut String, r: &Recommendation) {
    let req = &r.requirements;
    let _ = writeln!(out, "<section id=\"answer\">\n<h2>Your requirements</h2>");
    let mut asked = format!(
        "<code>{}</code> at {:.0} req/s with p99 ≤ {}",
        esc(&r.workload),
        req.rate_rps,
        esc(&crate::compare::fmt_us(req.p99_budget_us))
    );
    if !req.needs.is_empty() {
        let needs: Vec<String> = req.needs.iter().map(ToString::to_string).collect();
        let _ = write!(asked, ", needing {}", esc(&needs.join(" and ")));
    }
    if let Some(l) = &req.language {
        let _ = write!(asked, ", in {}", esc(l));
    }
    if let Some(c) = req.cpu_budget_us {
        let _ = write!(asked, ", CPU ≤ {c:.0} µs/req");
    }
    let _ = writeln!(
        out,
        "<p>{asked}. <span class=\"status\">{}.</span></p>",
        esc(&r.ranking_rule)
    );
    let candidates: Vec<&Ranked> = if r.refusal.is_some() {
        r.unranked.iter().collect()
    } else {
        r.ranked.iter().collect()
    };
    if let Some(why) = &r.refusal {
        let why = why.strip_prefix("not ranked: ").unwrap_or(why);
        let _ = writeln!(out, "<p class=\"refusal\">No ranking: {}.</p>", esc(why));
    } else if r.ranked.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"refusal\">No blueprint meets these requirements with the measured figures.</p>"
        );
    }
    if !candidates.is_empty() {
        let _ = writeln!(
            out,
            "<table class=\"rank\"><thead><tr><th>rank</th><th>blueprint</th><th>best cell</th><th>measured at</th>\
             <th class=\"num\">p99 [interval]</th><th class=\"num\">CPU µs/req [interval]</th>\
             <th class=\"num\">capacity req/s</th></tr></thead><tbody>"
        );
        for c in candidates {
            let rank = match (c.rank, c.tied_with.is_empty()) {
                (0, _) => "–".to_owned(),
                (n, true) => n.to_string(),
                (n, false) => format!("{n} (tie)"),
            };
            answer_row(out, &rank, &c.mode, &c.best, req.rate_rps);
        }
        let _ = writeln!(out, "</tbody></table>");
    }
    if !r.excluded.is_empty() {
        let _ = writeln!(out, "<ul class=\"not-measured\">");
        for e in &r.excluded {
            let _ = writeln!(
                out,
                "<li><b>{}</b> excluded: {}</li>",
                esc(&e.mode),
                esc(&e.reasons.join("; "))
            );
        }
        let _ = writeln!(out, "</ul>");
    }
    let _ = writeln!(out, "</section>");
}

fn answer_row(out: &mut String, rank: &str, mode: &str, f: &Figures, rate: f64) {
    let at = match f.basis {
        crate::recommend::Basis::AtRate { rate_rps } => format!("open loop at {rate_rps:.0} req/s"),
        crate::recommend::Basis::CannotReach { highest_rps } => {
            format!("cannot reach {rate:.0} req/s (swept to {highest_rps:.0})")
        }
        crate::recommend::Basis::ClosedLoop => "closed loop (no sweep)".into(),
    };
    let at_least = if f.p99_lower_bound { "≥ " } else { "" };
    let _ = writeln!(
        out,
        "<tr><td>{}</td><td class=\"mode\"><span class=\"swatch\" style=\"background:{}\"></span>{}</td>\
         <td>{} / {}</td><td>{}</td><td class=\"num\">{at_least}{}</td><td class=\"num\">{}</td><td class=\"num\">{}{:.0}</td></tr>",
        esc(rank),
        hex(mode_color(mode)),
        esc(mode),
        esc(&f.runtime),
        esc(&f.language),
        esc(&at),
        esc(&f.p99_us.map_or("—".into(), |p| p.display(0, 1.0) + " µs")),
        esc(&f.cpu_per_success_us.map_or("—".into(), |c| c.display(0, 1.0))),
        if f.capacity_is_lower_bound { "≥ " } else { "" },
        f.capacity_rps
    );
}

/// The answer first: per workload, the blueprints ranked (or why not).
/// A page for a document that is Markdown tables and lines (instruction
/// counts): `## ` headings, `|` tables (the second line their rule), the
/// rest paragraphs and list items; self-contained like the run report.
pub fn markdown_page(title: &str, markdown: &str) -> String {
    let mut out = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>blueprint-bench: {}</title>\n<style>{STYLE}</style>\n</head>\n<body data-chart-count=\"0\">\n",
        esc(title)
    );
    let mut in_table = false;
    for line in markdown.lines() {
        let trimmed = line.trim();
        if let Some(row) = trimmed.strip_prefix('|') {
            let cells: Vec<&str> = row.trim_end_matches('|').split('|').map(str::trim).collect();
            if cells.iter().all(|c| c.chars().all(|ch| matches!(ch, '-' | ':'))) {
                continue; // the header rule
            }
            let tag = if in_table { "td" } else { "th" };
            if !in_table {
                out.push_str("<table>\n");
                in_table = true;
            }
            out.push_str("<tr>");
            for c in cells {
                let _ = write!(out, "<{tag}>{}</{tag}>", esc(c));
            }
            out.push_str("</tr>\n");
            continue;
        }
        if in_table {
            out.push_str("</table>\n");
            in_table = false;
        }
        if trimmed.is_empty() {
            continue;
        }
        if let Some(h) = trimmed.strip_prefix("## ") {
            let _ = writeln!(out, "<h1>{}</h1>", esc(h));
        } else if let Some(item) = trimmed.strip_prefix("- ") {
            let _ = writeln!(out, "<p>• {}</p>", esc(item));
        } else {
            let _ = writeln!(out, "<p>{}</p>", esc(trimmed));
        }
    }
    if in_table {
        out.push_str("</table>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The talk's claims, a verdict each, the comparisons behind them folded.
fn claims_section(out: &mut String, results: &RunResults) {
    let claims = super::claims::judge(results);
    let _ = writeln!(
        out,
        "<section id=\"claims\">\n<h2>The talk's claims on this machine</h2>\n<p class=\"status\">A difference \
         counts only where the intervals do not overlap; \"dramatically\" and \"quite some\" need ×{} or \
         more.</p>\n<table class=\"claims\"><thead><tr><th>claim</th><th>verdict</th><th>why</th></tr></thead><tbody>",
        super::claims::LARGE
    );
    for c in &claims {
        let _ = writeln!(
            out,
            "<tr id=\"claim-{}\"><td>{}</td><td class=\"verdict {}\">{}</td><td>{}</td></tr>",
            c.id,
            esc(c.claim),
            c.verdict.label().replace(' ', "-"),
            esc(c.verdict.label()),
            esc(&c.summary)
        );
    }
    let _ = writeln!(out, "</tbody></table>");
    for c in claims.iter().filter(|c| !c.evidence.is_empty()) {
        let _ = writeln!(
            out,
            "<details class=\"claim\"><summary>{}: {}</summary><p>{}</p><ul>",
            esc(c.id),
            esc(c.verdict.label()),
            esc(c.test)
        );
        for e in &c.evidence {
            let _ = writeln!(
                out,
                "<li><b>{}</b>: {} — {}</li>",
                esc(&e.subject),
                esc(&e.figures),
                esc(e.verdict.label())
            );
        }
        let _ = writeln!(out, "</ul></details>");
    }
    let _ = writeln!(out, "</section>");
}

/// The pub/sub cells' events, as in the Markdown report.
fn pubsub_section(out: &mut String, results: &RunResults) {
    let rows = super::markdown::pubsub_rows(results);
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<section id=\"pubsub\">\n<h2>Pub/sub events</h2>\n<p class=\"status\">Counted by id on both sides, \
         summed over trials; latency from each event's intended send time to the end of its handling.</p>\n\
         <table>\n<tr>{}</tr>",
        super::markdown::PUBSUB_COLUMNS
            .iter()
            .map(|c| format!("<th>{}</th>", esc(c)))
            .collect::<String>()
    );
    for row in rows {
        let _ = writeln!(
            out,
            "<tr>{}</tr>",
            row.iter()
                .map(|c| format!("<td>{}</td>", esc(c)))
                .collect::<String>()
        );
    }
    let _ = writeln!(out, "</table>\n</section>");
}

fn decision_section(out: &mut String, results: &RunResults) {
    let decisions = decision::decide(results);
    let _ = writeln!(out, "<section id=\"decision\">\n<h2>Which blueprint</h2>");
    let _ = writeln!(
        out,
        "<p class=\"status\">Per workload, each blueprint's best cell ranked by {}; median over trials with its \
         interval. Blueprints whose intervals overlap the leader of a rank share it.</p>",
        esc(decision::RANKED_BY)
    );
    for d in &decisions {
        workload_decision(out, d);
    }
    let _ = writeln!(out, "</section>");
}

fn workload_decision(out: &mut String, d: &WorkloadDecision) {
    let _ = writeln!(
        out,
        "<h3 id=\"decision-{}\">{}</h3>",
        super::figures::slug(&d.workload),
        esc(&d.workload)
    );
    if let Some(why) = &d.refusal {
        let _ = writeln!(out, "<p class=\"refusal\">{}</p>", esc(why));
    }
    if d.standings.is_empty() && d.references.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<table class=\"rank\"><thead><tr><th>rank</th><th>blueprint</th><th>best cell</th>\
         <th class=\"num\">requests per CPU-s [interval]</th><th class=\"num\">req/s</th><th class=\"num\">p99 ms</th>\
         <th class=\"num\">knee req/s</th><th>why</th></tr></thead><tbody>"
    );
    for s in &d.standings {
        let rank = match (s.rank, s.tied) {
            (0, _) => "–".to_owned(),
            (r, true) => format!("{r} (tie)"),
            (r, false) => r.to_string(),
        };
        standing_row(out, s, &rank, "");
    }
    for s in &d.references {
        standing_row(out, s, "ref", " class=\"reference\"");
    }
    let _ = writeln!(out, "</tbody></table>");
    if !d.left_out.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"status\">Not ranked: {}.</p>",
            esc(&d.left_out.join("; "))
        );
    }
}

fn standing_row(out: &mut String, s: &Standing, rank: &str, class: &str) {
    let _ = writeln!(
        out,
        "<tr{class}><td>{}</td><td class=\"mode\"><span class=\"swatch\" style=\"background:{}\"></span>{}</td><td>{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{:.0}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"why\">{}: {}</td></tr>",
        esc(rank),
        hex(mode_color(&s.mode)),
        esc(&s.mode),
        esc(&s.cell),
        esc(&s.per_cpu_s.display(0, 1.0)),
        s.throughput_rps.median,
        s.p99_us.map_or("—".into(), |e| format!("{:.2}", e.median / 1e3)),
        s.knee_rps.map_or("—".into(), |e| format!("{:.0}", e.median)),
        esc(&s.shape),
        esc(&s.why)
    );
}

/// Cells that were not measured for a reason that does not depend on the
/// run (unavailable here, or not applicable): one line per reason.
pub fn not_measured_by_reason(results: &RunResults) -> Vec<(&'static str, String, Vec<String>)> {
    let mut groups: Vec<(&'static str, String, Vec<String>)> = Vec::new();
    for cell in &results.cells {
        let (kind, reason) = match &cell.status {
            CellStatus::Unavailable { reason } => ("unavailable", reason),
            CellStatus::NotApplicable { reason } => ("n/a", reason),
            _ => continue,
        };
        let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
        let name = format!(
            "{}/{}/{}/{}",
            cell.id.workload,
            cell.id.mode_label(),
            cell.id.runtime,
            cell.id.language
        );
        match groups.iter_mut().find(|(k, r, _)| *k == kind && *r == reason) {
            Some((_, _, cells)) => cells.push(name),
            None => groups.push((kind, reason, vec![name])),
        }
    }
    groups
}

fn listed(cells: &[String], at_most: usize) -> String {
    if cells.len() <= at_most {
        cells.join(", ")
    } else {
        format!(
            "{}, … ({} more)",
            cells[..at_most].join(", "),
            cells.len() - at_most
        )
    }
}

/// A number cell that sorts by `value`.
fn num(text: &str, value: Option<f64>) -> String {
    match value.filter(|v| v.is_finite()) {
        Some(v) => format!("<td class=\"num\" data-v=\"{v}\">{}</td>", esc(text)),
        None => format!("<td class=\"num\">{}</td>", esc(text)),
    }
}

/// The mode as a cell table shows it: with its trigger when the load did
/// not go through daprd (a `direct` cell is the app without its sidecar hop,
/// not another blueprint).
pub fn mode_and_trigger(id: &crate::settings::CellId) -> String {
    if id.trigger == "dapr" {
        id.mode_label()
    } else {
        format!("{} ({})", id.mode_label(), id.trigger)
    }
}

fn cell_row(out: &mut String, cell: &CellResult) {
    let id = &cell.id;
    let class = match &cell.status {
        CellStatus::Failed { .. } | CellStatus::NotRun { .. } => "failed",
        _ => "",
    };
    let status = super::markdown::one_line(&cell.status.describe(), 160);
    let _ = write!(
        out,
        "<tr><td>{}</td><td class=\"mode\"><span class=\"swatch\" style=\"background:{}\"></span>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{}</td>",
        esc(&id.workload),
        hex(mode_color(&id.mode_label())),
        esc(&mode_and_trigger(id)),
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
            let latency = |e: &Option<crate::stats::Estimate>| match e {
                Some(e) => num(&format!("{:.0}", e.median), Some(e.median)),
                None => num("—", None),
            };
            let rate = crate::results::cell_error_rate(cell);
            let _ = writeln!(
                out,
                "{}{}{}{}{}{}{}{}</tr>",
                num(&s.throughput_rps.n.to_string(), Some(s.throughput_rps.n as f64)),
                num(&e(&s.throughput_rps), Some(s.throughput_rps.median)),
                latency(&s.p50_us),
                latency(&s.p99_us),
                num(
                    &s.cpu_per_request_us.as_ref().map_or("-".into(), e),
                    s.cpu_per_request_us.map(|c| c.median)
                ),
                num(&e(&s.cold_start_ms), Some(s.cold_start_ms.median)),
                num(
                    &s.knee_rps.as_ref().map_or("-".into(), e),
                    s.knee_rps.map(|k| k.median)
                ),
                num(&rate.map_or("—".into(), crate::compare::fmt_rate), rate),
            );
        }
        None => {
            let _ = writeln!(out, "{}</tr>", "<td class=\"num\">-</td>".repeat(8));
        }
    }
}

fn cells_table(out: &mut String, results: &RunResults) {
    let _ = writeln!(out, "<h2 id=\"cells\">Cells</h2>");
    let _ = writeln!(
        out,
        "<input id=\"cell-filter\" type=\"search\" placeholder=\"filter cells, e.g. counter wazero\" aria-label=\"filter cells\">"
    );
    let _ = writeln!(out, "<table id=\"cell-table\">\n<thead><tr>");
    for (head, numeric) in [
        ("workload", false),
        ("mode", false),
        ("runtime", false),
        ("lang", false),
        ("protocol", false),
        ("store", false),
        ("status", false),
        ("trials", true),
        ("throughput, req/s [CI] level", true),
        ("p50, µs", true),
        ("p99, µs", true),
        ("CPU, µs/req", true),
        ("cold start, ms", true),
        ("knee, req/s", true),
        ("error rate", true),
    ] {
        let class = if numeric { "sortable num" } else { "sortable" };
        let _ = write!(out, "<th class=\"{class}\">{}</th>", esc(head));
    }
    let _ = writeln!(out, "</tr></thead>\n<tbody>");
    for cell in &results.cells {
        if matches!(
            cell.status,
            CellStatus::Unavailable { .. } | CellStatus::NotApplicable { .. }
        ) {
            continue;
        }
        cell_row(out, cell);
    }
    let _ = writeln!(out, "</tbody>\n</table>");
    let groups = not_measured_by_reason(results);
    if !groups.is_empty() {
        let total: usize = groups.iter().map(|(_, _, c)| c.len()).sum();
        let _ = writeln!(
            out,
            "<p class=\"status\">{total} cell(s) not measured, one line per reason:</p>\n<ul class=\"not-measured\">"
        );
        for (kind, reason, cells) in &groups {
            let _ = writeln!(
                out,
                "<li><b>{kind}</b> ({} cell(s): {}): {}</li>",
                cells.len(),
                esc(&listed(cells, 6)),
                esc(reason)
            );
        }
        let _ = writeln!(out, "</ul>");
    }
}
