//! A [`Comparison`] as Markdown: regressions first, then every row.

use std::fmt::Write as _;

use super::{Comparison, EXIT_INCOMPLETE, EXIT_REGRESSION, Metric, Row, Verdict};
use crate::paired::PAIRED_INTERVAL_METHOD;
use crate::stats::{Estimate, RATIO_INTERVAL_METHOD, RelativeChange, fmt_level};

pub(super) fn fmt_change(c: &Option<RelativeChange>) -> String {
    match c {
        Some(c) => match c.interval() {
            Some((lo, hi)) => format!(
                "{:+.1}% [{:+.1}, {:+.1}] {}",
                c.change * 100.0,
                lo * 100.0,
                hi * 100.0,
                fmt_level(c.confidence)
            ),
            None => format!("{:+.1}% (CI n/a)", c.change * 100.0),
        },
        None => "—".into(),
    }
}

pub(super) fn fmt_estimate(metric: Metric, e: &Option<Estimate>) -> String {
    match e {
        Some(e) => format!("{} (n={})", metric.format(e.median), e.n),
        None => "—".into(),
    }
}

pub(super) fn fmt_p(p: Option<f64>) -> String {
    p.map_or("—".into(), |p| format!("{p:.3}"))
}

fn table(out: &mut String, rows: &[&Row]) {
    let _ = writeln!(
        out,
        "| cell | rate | metric | baseline | candidate | change [CI, level] | p | Holm p | verdict |"
    );
    let _ = writeln!(out, "|---|---:|---|---:|---:|---:|---:|---:|---|");
    for r in rows {
        let rate = r.rate_rps.map_or("closed".into(), |x| format!("{x:.0}"));
        let _ = writeln!(
            out,
            "| `{}` | {rate} | {} | {} | {} | {} | {} | {} | {} ({}) |",
            r.cell,
            r.metric.name(),
            fmt_estimate(r.metric, &r.baseline),
            fmt_estimate(r.metric, &r.candidate),
            fmt_change(&r.change),
            fmt_p(r.p_value),
            fmt_p(r.p_adjusted),
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
        let daprd = if side.daprd.is_empty() {
            String::new()
        } else {
            format!(", daprd {}", side.daprd)
        };
        let env: Vec<String> = side
            .app_environment
            .iter()
            .map(|(k, v)| format!("`{k}={v}`"))
            .collect();
        let env = if env.is_empty() {
            String::new()
        } else {
            format!(", app host with {}", env.join(" "))
        };
        let _ = writeln!(
            out,
            "- {name}: `{}` — scenario `{}`, revision `{}`{daprd}{env}, {}, {}",
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
    let (test, method) = if c.options.paired {
        (
            "the Wilcoxon signed-rank p-value over the pairs (two-sided, exact)",
            PAIRED_INTERVAL_METHOD,
        )
    } else {
        (
            "the Mann-Whitney U p-value (two-sided, exact up to 10 trials a side)",
            RATIO_INTERVAL_METHOD,
        )
    };
    let _ = writeln!(
        out,
        "- Rule: *regressed*/*improved* when the whole interval of the change is beyond the noise threshold \
         and {test}, Holm-adjusted across all {} tested figures, is below {}; *unchanged* when the whole \
         interval, at a level of 85 % or more, is within ±threshold; else *inconclusive*. Any error where \
         the baseline had none is a regression.",
        c.rows.iter().filter(|r| r.p_adjusted.is_some()).count(),
        c.options.alpha
    );
    let _ = writeln!(
        out,
        "- Interval of the change ({} % nominal, actual level per row): {method}.",
        c.options.confidence * 100.0
    );
    let _ = writeln!(out, "- Noise thresholds: {}\n", thresholds.join(", "));
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
    } else if !c.candidate_complete {
        format!(
            "**INCOMPLETE candidate: no regression among what ran, but it did not run to its end** (exit {EXIT_INCOMPLETE})"
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
    let changes = c.status_changes.iter().map(|s| {
        let regression = if s.broken { " **(regression)**" } else { "" };
        [
            format!("`{}`", s.cell),
            one_line(&s.baseline),
            one_line(&s.candidate) + regression,
        ]
    });
    section_table(
        &mut out,
        "Cells measured on one side only",
        ["cell", "baseline", "candidate"],
        changes,
    );
    let not_compared = c
        .not_compared
        .iter()
        .map(|n| [format!("`{}`", n.cell), one_line(&n.reason)]);
    section_table(
        &mut out,
        "Not compared (did not run to the end)",
        ["cell", "why"],
        not_compared,
    );
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

/// `### title` and a table of the rows; nothing when there are none.
fn section_table<const N: usize>(
    out: &mut String,
    title: &str,
    columns: [&str; N],
    rows: impl Iterator<Item = [String; N]>,
) {
    let mut rows = rows.peekable();
    if rows.peek().is_none() {
        return;
    }
    let _ = writeln!(out, "### {title}\n");
    let _ = writeln!(out, "| {} |", columns.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(N));
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
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
