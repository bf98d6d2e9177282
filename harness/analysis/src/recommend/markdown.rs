//! A [`Recommendation`] as Markdown.

use std::fmt::Write as _;

use super::{Figures, Recommendation};
use crate::compare::{fmt_rate, fmt_us};

fn describe(out: &mut String, f: &Figures, rate: f64) {
    let headroom = if rate > 0.0 {
        format!(" ({:.1}× the rate)", f.capacity_rps / rate)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "     capacity: {:.0} req/s{headroom}, {}",
        f.capacity_rps, f.capacity_source
    );
    let _ = writeln!(
        out,
        "     p99: {}, {}",
        f.p99_us
            .filter(|p| p.is_finite())
            .map_or("— (no successful request)".into(), fmt_us),
        f.p99_source
    );
    let _ = writeln!(
        out,
        "     CPU per request (closed loop): {}; closed-loop throughput {:.0} req/s; error rate {}; {} trial(s)",
        f.cpu_per_request_us
            .map_or("not measured".into(), |c| format!("{c:.0} µs")),
        f.throughput_rps,
        f.error_rate.map_or("— (no requests)".into(), fmt_rate),
        f.trials
    );
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
            format!(
                ", needing {}",
                req.needs
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" and ")
            )
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
    if r.ranked.is_empty() {
        let _ = writeln!(
            out,
            "No blueprint meets these requirements with the measured figures.\n"
        );
    }
    for ranked in &r.ranked {
        let _ = writeln!(
            out,
            "{}. {} — {}/{}",
            ranked.rank, ranked.mode, ranked.best.runtime, ranked.best.language
        );
        describe(&mut out, &ranked.best, req.rate_rps);
        if !ranked.also_qualifying.is_empty() {
            let _ = writeln!(out, "     also qualifying: {}", ranked.also_qualifying.join(", "));
        }
        for reason in &ranked.not_qualifying {
            let _ = writeln!(out, "     not qualifying: {reason}");
        }
        for c in &ranked.considerations {
            let _ = writeln!(out, "     · {c}");
        }
        out.push('\n');
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
