//! A [`Recommendation`] as Markdown.

use std::fmt::Write as _;

use super::{Basis, Figures, Ranked, Recommendation, join_needs};
use crate::compare::{fmt_rate, fmt_us};
use crate::stats::{Estimate, fmt_level};

/// `median [low, high] level` in `unit`, "≥" before a lower bound, or the
/// median alone where one trial allows no interval.
fn fmt_estimate(e: &Estimate, lower_bound: bool, unit: &dyn Fn(f64) -> String) -> String {
    let at_least = if lower_bound { "≥ " } else { "" };
    match e.interval() {
        Some((lo, hi)) => format!(
            "{at_least}{} [{}, {}] {}",
            unit(e.median),
            unit(lo),
            unit(hi),
            fmt_level(e.confidence)
        ),
        None => format!("{at_least}{} (interval n/a)", unit(e.median)),
    }
}

fn basis(f: &Figures, rate: f64) -> String {
    match f.basis {
        Basis::AtRate { rate_rps } => format!(
            "at {rate_rps:.0} req/s, the lowest swept rate ≥ {rate:.0} req/s ({} of {} trials)",
            f.basis_trials, f.trials
        ),
        Basis::CannotReach { highest_rps } => {
            format!("cannot reach {rate:.0} req/s: the sweep stopped at {highest_rps:.0} req/s")
        }
        Basis::ClosedLoop => {
            "closed loop (no rate sweep: each trial at its own saturation rate, not at the requested one)"
                .into()
        }
    }
}

fn describe(out: &mut String, f: &Figures, rate: f64) {
    let headroom = if rate > 0.0 {
        format!(" ({:.1}× the rate)", f.capacity_rps / rate)
    } else {
        String::new()
    };
    let _ = writeln!(out, "     measured {}", basis(f, rate));
    let _ = writeln!(
        out,
        "     capacity: {}{:.0} req/s{headroom}, {}",
        if f.capacity_is_lower_bound {
            "at least "
        } else {
            ""
        },
        f.capacity_rps,
        f.capacity_source
    );
    let _ = writeln!(
        out,
        "     p99: {}, {}",
        f.p99_us
            .filter(|p| p.median.is_finite())
            .map_or("— (no successful request)".into(), |p| fmt_estimate(
                &p,
                f.p99_lower_bound,
                &fmt_us
            )),
        f.p99_source
    );
    let _ = writeln!(
        out,
        "     CPU per successful request: {}, {}",
        f.cpu_per_success_us
            .map_or("not measured".into(), |c| fmt_estimate(&c, false, &|v| format!(
                "{v:.0} µs"
            ))),
        f.cpu_source
    );
    let _ = writeln!(
        out,
        "     closed-loop throughput {:.0} req/s; error rate {}; {} trial(s)",
        f.throughput_rps,
        f.error_rate.map_or("— (no requests)".into(), fmt_rate),
        f.trials
    );
}

fn candidate(out: &mut String, heading: &str, c: &Ranked, rate: f64) {
    let _ = writeln!(
        out,
        "{heading} {} — {}/{}",
        c.mode, c.best.runtime, c.best.language
    );
    if !c.tied_with.is_empty() {
        let _ = writeln!(
            out,
            "     tie with {}: their CPU intervals overlap, the trials cannot order them",
            c.tied_with.join(", ")
        );
    }
    describe(out, &c.best, rate);
    if !c.also_qualifying.is_empty() {
        let _ = writeln!(out, "     also qualifying: {}", c.also_qualifying.join(", "));
    }
    for reason in &c.not_qualifying {
        let _ = writeln!(out, "     not qualifying: {reason}");
    }
    for line in &c.considerations {
        let _ = writeln!(out, "     · {line}");
    }
    out.push('\n');
}

/// The answer as text.
pub fn render(r: &Recommendation) -> String {
    let req = &r.requirements;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Blueprints for `{}` at {:.0} req/s with p99 ≤ {}{}{}{}",
        r.workload,
        req.rate_rps,
        fmt_us(req.p99_budget_us),
        if req.needs.is_empty() {
            String::new()
        } else {
            format!(", needing {}", join_needs(&req.needs, " and "))
        },
        req.language
            .as_ref()
            .map_or(String::new(), |l| format!(", in {l}")),
        req.cpu_budget_us
            .map_or(String::new(), |c| format!(", CPU ≤ {c:.0} µs/req"))
    );
    let _ = writeln!(
        out,
        "Cells with an error rate above {} are excluded.",
        fmt_rate(req.max_error_rate)
    );
    let _ = writeln!(
        out,
        "From {} (revision {}); {}.\n",
        r.results.display(),
        r.git_revision,
        r.ranking_rule
    );
    if let Some(why) = &r.refusal {
        let why = why.strip_prefix("not ranked: ").unwrap_or(why);
        let _ = writeln!(out, "No ranking: {why}.\nCandidates, unranked:\n");
        for c in &r.unranked {
            candidate(&mut out, "-", c, req.rate_rps);
        }
    } else if r.ranked.is_empty() {
        let _ = writeln!(
            out,
            "No blueprint meets these requirements with the measured figures.\n"
        );
    }
    for c in &r.ranked {
        let heading = if c.tied_with.is_empty() {
            format!("{}.", c.rank)
        } else {
            format!("{}. (tie)", c.rank)
        };
        candidate(&mut out, &heading, c, req.rate_rps);
    }
    for (title, list) in [("Excluded", &r.excluded), ("Not measured", &r.not_measured)] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{title}:");
        for e in list {
            let _ = writeln!(out, "  - {}:", e.mode);
            for reason in &e.reasons {
                let _ = writeln!(out, "      {reason}");
            }
        }
        out.push('\n');
    }
    match &r.reference {
        Some(f) => {
            let _ = writeln!(
                out,
                "Reference, not ranked (no Wasm): native — {}/{}",
                f.runtime, f.language
            );
            describe(&mut out, f, req.rate_rps);
        }
        None => {
            let _ = writeln!(out, "Reference (no Wasm): native not measured in this file.");
        }
    }
    out
}
