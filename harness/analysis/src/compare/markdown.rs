//! A [`Comparison`] as Markdown: regressions first, then every row.

use std::fmt::Write as _;

use super::{Comparison, EXIT_REGRESSION, Metric, Row, Verdict};
use crate::stats::{Estimate, RelativeChange};

fn fmt_change(c: &Option<RelativeChange>) -> String {
    match c {
        Some(c) => format!(
            "{:+.1}% [{:+.1}, {:+.1}]",
            c.change * 100.0,
            c.ci_low * 100.0,
            c.ci_high * 100.0
        ),
        None => "-".into(),
    }
}

fn fmt_estimate(metric: Metric, e: &Estimate) -> String {
    format!("{} (n={})", metric.format(e.median), e.n)
}

fn table(out: &mut String, rows: &[&Row]) {
    let _ = writeln!(
        out,
        "| cell | rate | metric | baseline | candidate | change [95% CI] | p | verdict |"
    );
    let _ = writeln!(out, "|---|---:|---|---:|---:|---:|---:|---|");
    for r in rows {
        let rate = r.rate_rps.map_or("closed".into(), |x| format!("{x:.0}"));
        let _ = writeln!(
            out,
            "| `{}` | {rate} | {} | {} | {} | {} | {:.3} | {} ({}) |",
            r.cell,
            r.metric.name(),
            fmt_estimate(r.metric, &r.baseline),
            fmt_estimate(r.metric, &r.candidate),
            fmt_change(&r.change),
            r.p_value,
            r.verdict,
            r.reason
        );
    }
}

/// Markdown for a CI job summary or a pull-request comment.
pub fn render_markdown(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## blueprint-bench compare\n");
    for (name, side) in [("Baseline", &c.baseline), ("Candidate", &c.candidate)] {
        let _ = writeln!(
            out,
            "- {name}: `{}` — scenario `{}`, revision `{}`, {}, {}",
            side.path.display(),
            side.scenario,
            side.git_revision,
            side.started_at,
            side.machine
        );
    }
    let thresholds: Vec<String> = c
        .options
        .thresholds_pct
        .iter()
        .map(|(m, p)| format!("{} {p}%", m.name()))
        .collect();
    let _ = writeln!(
        out,
        "- Test: Mann-Whitney U over trials, p < {}; noise thresholds: {}\n",
        c.options.alpha,
        thresholds.join(", ")
    );
    for w in &c.warnings {
        let _ = writeln!(out, "> **Note:** {w}\n");
    }
    let count = |v| c.with_verdict(v).count();
    let broken = c.status_changes.iter().filter(|s| s.broken).count();
    let headline = if c.regressed() {
        format!(
            "**REGRESSION: {} figure(s) regressed{}** (exit {EXIT_REGRESSION})",
            count(Verdict::Regressed),
            if broken > 0 {
                format!(", {broken} cell(s) failed that the baseline measured")
            } else {
                String::new()
            }
        )
    } else {
        "**No regression.**".to_owned()
    };
    let _ = writeln!(
        out,
        "{headline} {} improved, {} unchanged, {} inconclusive, of {} compared figures.\n",
        count(Verdict::Improved),
        count(Verdict::Unchanged),
        count(Verdict::Inconclusive),
        c.rows.len()
    );
    for (title, verdict) in [
        ("Regressions", Verdict::Regressed),
        ("Improvements", Verdict::Improved),
        ("Inconclusive", Verdict::Inconclusive),
    ] {
        let rows: Vec<&Row> = c.with_verdict(verdict).collect();
        if !rows.is_empty() {
            let _ = writeln!(out, "### {title}\n");
            table(&mut out, &rows);
            out.push('\n');
        }
    }
    if !c.status_changes.is_empty() {
        let _ = writeln!(out, "### Cells measured on one side only\n");
        let _ = writeln!(out, "| cell | baseline | candidate |");
        let _ = writeln!(out, "|---|---|---|");
        for s in &c.status_changes {
            let _ = writeln!(
                out,
                "| `{}` | {} | {}{} |",
                s.cell,
                one_line(&s.baseline),
                one_line(&s.candidate),
                if s.broken { " **(regression)**" } else { "" }
            );
        }
        out.push('\n');
    }
    for (title, list) in [
        ("Only in the baseline", &c.only_in_baseline),
        ("Only in the candidate", &c.only_in_candidate),
    ] {
        if !list.is_empty() {
            let _ = writeln!(out, "### {title}\n");
            for item in list {
                let _ = writeln!(out, "- `{item}`");
            }
            out.push('\n');
        }
    }
    if !c.rows.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>All {} compared figures</summary>\n",
            c.rows.len()
        );
        table(&mut out, &c.rows.iter().collect::<Vec<_>>());
        let _ = writeln!(out, "\n</details>");
    }
    out
}

/// A status message fit for one table cell.
fn one_line(text: &str) -> String {
    let first = text.lines().next().unwrap_or_default().replace('|', "\\|");
    if first.chars().count() > 120 {
        format!("{}…", first.chars().take(120).collect::<String>())
    } else {
        first
    }
}
