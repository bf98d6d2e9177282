//! A [`Comparison`] as one self-contained HTML page: every compared figure's
//! change with its interval on one forest plot, regressions first, then the
//! same rows as a table. No network; the report's styles and chart check.

use std::fmt::Write as _;

use anyhow::Result;

use super::markdown::{fmt_change, fmt_estimate, fmt_p};
use super::{Comparison, Row, Verdict};
use crate::report::charts::{self, ForestRow};
use crate::report::html::{CHECK_SCRIPT, STYLE, esc};

/// Regressions first, then improvements, inconclusive and unchanged
/// figures; within each, the largest change first.
fn page_order(rows: &[Row]) -> Vec<&Row> {
    let rank = |v: Verdict| match v {
        Verdict::Regressed => 0,
        Verdict::Improved => 1,
        Verdict::Inconclusive => 2,
        Verdict::Unchanged => 3,
    };
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by(|a, b| {
        rank(a.verdict).cmp(&rank(b.verdict)).then_with(|| {
            let size = |r: &Row| r.change.map_or(0.0, |c| c.change.abs());
            size(b).total_cmp(&size(a))
        })
    });
    sorted
}

/// The palette index of a verdict.
fn verdict_color(v: Verdict) -> usize {
    match v {
        Verdict::Regressed => 2,
        Verdict::Improved => 4,
        Verdict::Inconclusive => 5,
        Verdict::Unchanged => 9,
    }
}

fn row_label(r: &Row) -> String {
    let rate = r.rate_rps.map_or(String::new(), |x| format!(" @ {x:.0} req/s"));
    format!("{} · {}{rate}", r.cell, r.metric.name())
}

/// The page.
///
/// # Errors
/// The forest plot fails to draw.
pub fn render_html(c: &Comparison) -> Result<String> {
    let rows = page_order(&c.rows);
    let plotted: Vec<ForestRow> = rows
        .iter()
        .filter_map(|r| {
            let change = r.change?;
            Some(ForestRow {
                label: row_label(r),
                change_pct: change.change * 100.0,
                interval: change.interval().map(|(lo, hi)| (lo * 100.0, hi * 100.0)),
                threshold_pct: r.threshold_pct,
                color: verdict_color(r.verdict),
            })
        })
        .collect();
    let verdicts = [
        Verdict::Regressed,
        Verdict::Improved,
        Verdict::Inconclusive,
        Verdict::Unchanged,
    ];
    let legend: Vec<(String, usize)> = verdicts
        .iter()
        .map(|v| (v.to_string(), verdict_color(*v)))
        .collect();
    let mut out = String::new();
    let title = format!("{} against {}", c.candidate.scenario, c.baseline.scenario);
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>blueprint-bench comparison: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        esc(&title)
    );
    let _ = writeln!(out, "<h1>blueprint-bench comparison</h1>");
    let counts: Vec<String> = verdicts
        .iter()
        .map(|v| format!("{} {v}", c.with_verdict(*v).count()))
        .collect();
    let verdict_line = if c.regressed() {
        "<p class=\"failed\"><b>Regressed</b>"
    } else {
        "<p><b>No regression</b>"
    };
    let _ = writeln!(
        out,
        "{verdict_line}: {} (exit code {}).</p>",
        esc(&counts.join(", ")),
        c.exit_code()
    );
    let _ = writeln!(
        out,
        "<table id=\"sides\"><tr><th></th><th>baseline</th><th>candidate</th></tr>"
    );
    for (name, b, k) in [
        (
            "file",
            c.baseline.path.display().to_string(),
            c.candidate.path.display().to_string(),
        ),
        (
            "revision",
            c.baseline.git_revision.clone(),
            c.candidate.git_revision.clone(),
        ),
        (
            "started",
            c.baseline.started_at.clone(),
            c.candidate.started_at.clone(),
        ),
        ("daprd", c.baseline.daprd.clone(), c.candidate.daprd.clone()),
        ("machine", c.baseline.machine.clone(), c.candidate.machine.clone()),
    ] {
        let _ = writeln!(
            out,
            "<tr><th>{name}</th><td>{}</td><td>{}</td></tr>",
            esc(&b),
            esc(&k)
        );
    }
    let _ = writeln!(out, "</table>");
    for w in &c.warnings {
        let _ = writeln!(out, "<p class=\"refusal\">{}</p>", esc(w));
    }
    let broken: Vec<String> = c
        .status_changes
        .iter()
        .filter(|s| s.broken)
        .map(|s| format!("{}: {} → {}", s.cell, s.baseline, s.candidate))
        .collect();
    if !broken.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"failed\"><b>Broken cells</b> (a regression):</p><ul>"
        );
        for b in &broken {
            let _ = writeln!(out, "<li>{}</li>", esc(b));
        }
        let _ = writeln!(out, "</ul>");
    }
    let _ = writeln!(
        out,
        "<p class=\"status\" id=\"chart-status\">{} chart(s) (their check needs JavaScript)</p>",
        usize::from(!plotted.is_empty())
    );
    if !plotted.is_empty() {
        let svg = charts::forest("changes with their intervals", &plotted, &legend)?;
        let _ = writeln!(
            out,
            "<figure class=\"chart\" id=\"forest\" data-kind=\"forest\">\n{svg}\n<figcaption><b>Every compared figure</b>. \
             The dot is the change of the medians{}, the whisker its interval; ticks mark ±the figure's noise threshold. \
             A figure regressed or improved only when its whole interval is beyond the threshold and the test agrees.</figcaption>\n</figure>",
            if c.options.paired {
                " (pairs' Hodges–Lehmann log-ratio)"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(
        out,
        "<table id=\"rows\"><thead><tr><th>verdict</th><th>cell</th><th class=\"num\">rate</th><th>figure</th>\
         <th class=\"num\">baseline</th><th class=\"num\">candidate</th><th class=\"num\">change [CI, level]</th>\
         <th class=\"num\">p</th><th class=\"num\">Holm p</th><th>why</th></tr></thead><tbody>"
    );
    for r in &rows {
        let _ = writeln!(
            out,
            "<tr><td class=\"{}\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            if r.verdict == Verdict::Regressed {
                "failed"
            } else {
                ""
            },
            r.verdict,
            esc(&r.cell.to_string()),
            r.rate_rps.map_or("closed".into(), |x| format!("{x:.0}")),
            r.metric.name(),
            esc(&fmt_estimate(r.metric, &r.baseline)),
            esc(&fmt_estimate(r.metric, &r.candidate)),
            esc(&fmt_change(&r.change)),
            fmt_p(r.p_value),
            fmt_p(r.p_adjusted),
            esc(&r.reason)
        );
    }
    let _ = writeln!(out, "</tbody></table>");
    let _ = writeln!(out, "<script>{CHECK_SCRIPT}</script>\n</body>\n</html>");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_have_distinct_colours() {
        let v = [
            Verdict::Regressed,
            Verdict::Improved,
            Verdict::Inconclusive,
            Verdict::Unchanged,
        ]
        .map(verdict_color);
        let mut dedup = v.to_vec();
        dedup.dedup();
        assert_eq!(dedup.len(), 4);
    }
}
