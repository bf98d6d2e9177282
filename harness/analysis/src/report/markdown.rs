//! The Markdown summary: short enough for a CI job summary or a pull-request
//! comment, one row per cell, every figure with its interval.

use std::fmt::Write as _;

use crate::compare::{fmt_rate, fmt_us};
use crate::results::{CellStatus, RunResults, cell_error_rate};
use crate::stats::Estimate;
use crate::sweep::KneeLimit;

/// `median [low, high] level` with `digits` decimals, or the median and
/// "CI n/a" with one trial.
fn with_ci(e: &Estimate, digits: usize) -> String {
    e.display(digits, 1.0)
}

/// A status or error message fit for one table cell.
pub fn one_line(text: &str, max: usize) -> String {
    let first = text.lines().next().unwrap_or_default().replace('|', "\\|");
    if first.chars().count() > max {
        format!("{}…", first.chars().take(max).collect::<String>())
    } else {
        first
    }
}

/// Renders the summary; `html_name` is the page it points to, if any.
pub fn render(
    results: &RunResults,
    source: &str,
    html_name: Option<&str>,
    charts: usize,
    answer: Option<&crate::recommend::Recommendation>,
) -> String {
    let mut out = String::new();
    let env = &results.environment;
    let meta = &results.scenario.meta;
    let _ = writeln!(out, "## blueprint-bench: `{}`\n", meta.name);
    if !meta.description.is_empty() {
        let _ = writeln!(out, "{}\n", meta.description);
    }
    let load = &results.scenario.load;
    let _ = writeln!(
        out,
        "- Run: `{source}`, started {}, revision `{}`",
        results.started_at, env.git_revision
    );
    let _ = writeln!(
        out,
        "- Machine: {} × {}, {:.1} GiB, Linux {}; daprd {}",
        env.cores,
        env.cpu,
        env.memory_bytes as f64 / (1u64 << 30) as f64,
        env.kernel,
        env.daprd.as_ref().map_or("?".to_owned(), |d| d.version.clone())
    );
    let _ = writeln!(
        out,
        "- Load: {} trials per cell, {} connections, {} warm-up, {} measured{}; state store {}\n",
        load.trials,
        load.connections,
        humantime::format_duration(load.warmup),
        humantime::format_duration(load.duration),
        if load.rates.is_empty() && load.ramp.is_none() {
            String::new()
        } else {
            format!(
                ", open-loop sweep ({}, knee factor {})",
                load.arrival, load.knee_factor
            )
        },
        results.scenario.dapr.state_store
    );
    if let Some(answer) = answer {
        let _ = writeln!(
            out,
            "### Your requirements\n\n```text\n{}```\n",
            crate::recommend::render(answer)
        );
    }
    out.push_str(&decision_summary(results));
    let _ = writeln!(
        out,
        "| workload | mode | runtime | lang | status | req/s [CI] level | p50 | p99 | CPU µs/req | app RSS MiB | cold ms | knee req/s | error rate |"
    );
    let _ = writeln!(
        out,
        "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for cell in &results.cells {
        if matches!(
            cell.status,
            CellStatus::Unavailable { .. } | CellStatus::NotApplicable { .. }
        ) {
            continue;
        }
        let id = &cell.id;
        let status = match &cell.status {
            CellStatus::Failed { error } => format!("**failed**: {}", one_line(error, 80)),
            CellStatus::NotRun { reason } => format!("**not run**: {}", one_line(reason, 80)),
            other => one_line(&other.describe(), 80),
        };
        let figures = match &cell.summary {
            Some(s) => format!(
                "{} | {} | {} | {} | {} | {} | {} | {}",
                with_ci(&s.throughput_rps, 0),
                s.p50_us.map_or("—".into(), |e| fmt_us(e.median)),
                s.p99_us.map_or("—".into(), |e| fmt_us(e.median)),
                s.cpu_per_request_us
                    .as_ref()
                    .map_or("-".into(), |e| with_ci(e, 0)),
                s.app_peak_rss_bytes
                    .as_ref()
                    .map_or("-".into(), |e| format!("{:.1}", e.median / (1024.0 * 1024.0))),
                with_ci(&s.cold_start_ms, 0),
                s.knee_rps.as_ref().map_or("-".into(), |e| with_ci(e, 0)),
                cell_error_rate(cell).map_or("—".into(), fmt_rate),
            ),
            None => "- | - | - | - | - | - | - | -".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {status} | {figures} |",
            id.workload,
            super::html::mode_and_trigger(id),
            id.runtime,
            id.language
        );
    }
    out.push('\n');
    let groups = super::html::not_measured_by_reason(results);
    if !groups.is_empty() {
        let _ = writeln!(out, "Not measured, one line per reason:\n");
        for (kind, reason, cells) in &groups {
            let shown: Vec<&str> = cells.iter().take(6).map(String::as_str).collect();
            let more = cells.len().saturating_sub(shown.len());
            let _ = writeln!(
                out,
                "- {kind}: {reason} ({} cell(s): {}{})",
                cells.len(),
                shown.join(", "),
                if more > 0 {
                    format!(", … {more} more")
                } else {
                    String::new()
                }
            );
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Medians over trials with distribution-free intervals of the median (order statistics, \
         Hettmansperger–Sheather interpolation) at 95 % where the number of trials allows, else at the level \
         printed (5 trials reach 93.8 %, 3 reach 75 %; one trial has none: \"CI n/a\"); \
         p50/p99 are closed-loop latencies from the send, \"—\" without a successful request. \
         CPU per request counts daprd, the app host and stores."
    );
    out.push_str(&machine_noise(results));
    out.push_str(&knee_limits(results));
    out.push_str(&sidecar_added_latency(results));
    out.push_str(&pubsub_events(results));
    out.push_str(&claims_section(results));
    if !results.completed {
        let unfinished = results.unfinished_cells();
        let _ = writeln!(
            out,
            "\n> **Incomplete run:** it did not reach its end; {} cell(s) unfinished: {}",
            unfinished.len(),
            unfinished
                .iter()
                .map(|(id, why)| format!("`{id}` ({})", one_line(why, 80)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(html) = html_name {
        let _ = writeln!(out, "\nCharts ({charts}): `{html}` (one self-contained page).");
    }
    out
}

/// How busy the machine was outside the run's own processes while it
/// measured, and what was done about it: the noise every figure above
/// carries. Empty when no trial recorded its machine.
pub fn machine_noise(results: &RunResults) -> String {
    use crate::results::MachineLoad;
    let trials: Vec<(
        &crate::results::CellResult,
        &crate::results::TrialResult,
        MachineLoad,
    )> = results
        .cells
        .iter()
        .flat_map(|c| c.trials.iter().filter_map(move |t| t.machine.map(|m| (c, t, m))))
        .collect();
    if trials.is_empty() {
        return String::new();
    }
    let mut noise: Vec<f64> = trials.iter().map(|(_, _, m)| m.noise() * 100.0).collect();
    noise.sort_by(f64::total_cmp);
    let median = noise[noise.len() / 2];
    let (worst_cell, _, worst) = trials
        .iter()
        .max_by(|a, b| a.2.noise().total_cmp(&b.2.noise()))
        .expect("not empty");
    let reruns: usize = trials.iter().map(|(_, t, _)| t.contended_attempts.len()).sum();
    let rerun_trials = trials
        .iter()
        .filter(|(_, t, _)| !t.contended_attempts.is_empty())
        .count();
    let flagged: Vec<String> = trials
        .iter()
        .filter(|(_, _, m)| m.contended())
        .map(|(c, t, m)| format!("`{}` trial {} ({:.0} %)", c.id, t.trial + 1, m.noise() * 100.0))
        .collect();
    let mut out = String::from("\n### The machine's noise\n\n");
    let _ = writeln!(
        out,
        "Foreign load (CPU time of processes other than the trials' own, plus steal, as a share of the \
         machine's {} CPU(s)) over {} measured window(s): median {median:.1} %, highest {:.1} % (`{}`).",
        worst.cores,
        trials.len(),
        worst.noise() * 100.0,
        worst_cell.id
    );
    let threshold = MachineLoad::CONTENDED * 100.0;
    let _ = match rerun_trials {
        0 => writeln!(
            out,
            "\nNo trial was run again for a busy machine (above {threshold:.0} %)."
        ),
        n => writeln!(
            out,
            "\n{n} trial(s) ran on a machine busy above {threshold:.0} % and were run again ({reruns} re-run(s) in all, \
             `[load] rerun_contended = {}`).",
            results.scenario.load.rerun_contended
        ),
    };
    if !flagged.is_empty() {
        let _ = writeln!(
            out,
            "\n**{} trial(s) kept although the machine was busy** (their figures carry that noise): {}.",
            flagged.len(),
            flagged.join(", ")
        );
    }
    let _ = match &results.environment.pinning {
        Some(p) => writeln!(
            out,
            "\nPinned (`[load] pin`): the load generator on CPU(s) {:?}, daprd, the app and the stores on {:?}.",
            p.load, p.system_under_test
        ),
        None => writeln!(
            out,
            "\nNot pinned: the load generator and the system under test shared the CPUs (`[load] pin = true` separates them)."
        ),
    };
    out.push('\n');
    out
}

/// The talk's claims with this run's verdicts ([`super::claims`]).
pub fn claims_section(results: &RunResults) -> String {
    let claims = super::claims::judge(results);
    let mut out = String::from("\n### The talk's claims on this machine\n\n");
    let _ = writeln!(out, "| claim | verdict | why |\n|---|---|---|");
    for c in &claims {
        let _ = writeln!(out, "| {} | **{}** | {} |", c.claim, c.verdict.label(), c.summary);
    }
    out.push('\n');
    for c in claims.iter().filter(|c| !c.evidence.is_empty()) {
        let _ = writeln!(out, "- `{}` ({}):", c.id, c.test);
        for e in &c.evidence {
            let _ = writeln!(out, "  - {}: {} — {}", e.subject, e.figures, e.verdict.label());
        }
    }
    let _ = writeln!(
        out,
        "\nA difference counts only where the intervals do not overlap; \"dramatically\" and \"quite some\" \
         need ×{} or more.",
        super::claims::LARGE
    );
    out
}

/// What the rate above each swept cell's knee ran into, over its trials:
/// a knee the machine's cores or the generator ended means something else
/// than one where the system fell behind. Empty without sweeps.
pub fn knee_limits(results: &RunResults) -> String {
    let mut lines = Vec::new();
    for cell in &results.cells {
        let mut counts = std::collections::BTreeMap::<KneeLimit, usize>::new();
        // Only swept trials have a knee (files from before this rule give
        // unswept trials a limit too).
        for limit in cell
            .trials
            .iter()
            .filter(|t| !t.sweep.is_empty())
            .filter_map(|t| t.knee_limit)
        {
            *counts.entry(limit).or_default() += 1;
        }
        if counts.is_empty() {
            continue;
        }
        let swept = cell.trials.iter().filter(|t| !t.sweep.is_empty()).count();
        let parts: Vec<String> = counts
            .iter()
            .map(|(limit, n)| format!("{} ({n} of {swept})", limit.describe()))
            .collect();
        lines.push(format!("- {}: {}", cell.id, parts.join("; ")));
    }
    if lines.is_empty() {
        return String::new();
    }
    format!(
        "What the rate above each knee ran into, by trial (a knee where the machine's cores ran out is this \
         machine's, the load generator's small share included):\n\n{}\n\n",
        lines.join("\n")
    )
}

/// The columns of the pub/sub table, for the Markdown and HTML reports.
pub const PUBSUB_COLUMNS: [&str; 9] = [
    "cell",
    "component",
    "published",
    "handled",
    "lost",
    "redelivered",
    "events/s",
    "p50 publish→handled",
    "p99",
];

/// One row per cell driven by pub/sub events: its events summed over the
/// trials, delivered events per second (median over trials) and the
/// publish-to-handled latency (medians).
pub fn pubsub_rows(results: &RunResults) -> Vec<[String; 9]> {
    let mut rows = Vec::new();
    for cell in results
        .cells
        .iter()
        .filter(|c| crate::modes::delivers_events(&c.id.trigger))
    {
        let figures: Vec<_> = cell.trials.iter().filter_map(|t| t.pubsub.as_ref()).collect();
        let Some(first) = figures.first() else {
            continue;
        };
        let sum = |f: fn(&crate::results::PubsubFigures) -> u64| figures.iter().map(|p| f(p)).sum::<u64>();
        let (p50, p99) = cell
            .summary
            .as_ref()
            .map_or((None, None), |s| (s.p50_us, s.p99_us));
        rows.push([
            format!(
                "{}/{}/{}/{}/{}/{}",
                cell.id.workload,
                cell.id.mode_label(),
                cell.id.runtime,
                cell.id.store,
                cell.id.protocol,
                cell.id.trigger
            ),
            first.component.clone(),
            sum(|p| p.published).to_string(),
            sum(|p| p.handled).to_string(),
            sum(|p| p.lost).to_string(),
            sum(|p| p.redeliveries).to_string(),
            cell.summary
                .as_ref()
                .map_or("-".into(), |s| with_ci(&s.throughput_rps, 0)),
            p50.map_or("—".into(), |e| fmt_us(e.median)),
            p99.map_or("—".into(), |e| fmt_us(e.median)),
        ]);
    }
    rows
}

/// The pub/sub cells' events: every event is counted by id on both sides,
/// so "lost" and "redelivered" are counts, not estimates.
pub fn pubsub_events(results: &RunResults) -> String {
    let rows = pubsub_rows(results);
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\n### Pub/sub events\n\nEvents published into daprd's pub/sub and delivered to the app, counted by \
         id on both sides (summed over trials); events/s from the first publish to the last handled \
         event; latency from the event's intended send time to the end of its handling. A `pubsub-bulk` \
         cell's events come in batches; a `cron` cell's \"published\" are the firings its schedule made in \
         the window, its latency runs from each firing.\n\n",
    );
    let _ = writeln!(out, "| {} |", PUBSUB_COLUMNS.join(" | "));
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out
}

/// What daprd's inbound hop adds: each cell measured both through daprd
/// (`trigger = "dapr"`) and straight to the app (`direct`), the difference
/// of their medians' p50 and p99 with an interval — the figure Dapr's own
/// performance reports publish. Empty when no cell has both.
pub fn sidecar_added_latency(results: &RunResults) -> String {
    use crate::stats::{Difference, difference};
    let measured = |c: &&crate::results::CellResult| c.status == CellStatus::Ok && !c.trials.is_empty();
    let figure = |c: &crate::results::CellResult, f: fn(&crate::results::Percentiles) -> f64| -> Vec<f64> {
        c.trials
            .iter()
            .filter_map(|t| crate::results::latency(&t.load).map(f))
            .collect()
    };
    let show = |d: Option<Difference>| -> String {
        match d {
            Some(d) => match (d.ci_low, d.ci_high) {
                (Some(lo), Some(hi)) => format!(
                    "{:+.0} µs [{:+.0}, {:+.0}] {}",
                    d.difference,
                    lo,
                    hi,
                    crate::stats::fmt_level(d.confidence)
                ),
                _ => format!("{:+.0} µs (CI n/a)", d.difference),
            },
            None => "—".into(),
        }
    };
    let mut rows = Vec::new();
    for through in results
        .cells
        .iter()
        .filter(measured)
        .filter(|c| c.id.trigger == "dapr")
    {
        let mut key = through.id.clone();
        key.trigger = "direct".into();
        let Some(direct) = results.cells.iter().filter(measured).find(|c| c.id == key) else {
            continue;
        };
        let conf = crate::results::CONFIDENCE;
        rows.push(format!(
            "| {} | {} | {} | {} | {} | {} |",
            through.id.workload,
            through.id.mode_label(),
            through.id.runtime,
            through.id.language,
            show(difference(
                &figure(through, |l| l.p50),
                &figure(direct, |l| l.p50),
                conf
            )),
            show(difference(
                &figure(through, |l| l.p99),
                &figure(direct, |l| l.p99),
                conf
            )),
        ));
    }
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "\n### Added by the sidecar\n\nThe same cell through daprd minus straight to the app (closed loop, \
         medians over trials; the interval spans both medians' order-statistic intervals, its level stated).\n\n\
         | workload | mode | runtime | lang | p50 added | p99 added |\n|---|---|---|---|---:|---:|\n{}\n",
        rows.join("\n")
    )
}

/// The answer first: per workload, the blueprints ranked by requests per
/// CPU-second (or why they are not).
fn decision_summary(results: &RunResults) -> String {
    let mut out = String::new();
    let decisions = super::decision::decide(results);
    if decisions.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "### Which blueprint\n\nEach blueprint's best cell, ranked by {}; ties share a rank.\n",
        super::decision::RANKED_BY
    );
    for d in &decisions {
        let _ = write!(out, "- **{}**: ", d.workload);
        if let Some(why) = &d.refusal {
            let _ = write!(out, "{why}. ");
        }
        let standings: Vec<String> = d
            .standings
            .iter()
            .map(|s| {
                let rank = match (s.rank, s.tied) {
                    (0, _) => String::new(),
                    (r, true) => format!("{r}= "),
                    (r, false) => format!("{r}. "),
                };
                format!(
                    "{rank}{} ({}, {} req/CPU-s)",
                    s.mode,
                    s.cell,
                    s.per_cpu_s.display(0, 1.0)
                )
            })
            .collect();
        let _ = write!(out, "{}", standings.join("; "));
        if !d.references.is_empty() {
            let refs: Vec<String> = d
                .references
                .iter()
                .map(|s| format!("{} {:.0}", s.mode, s.per_cpu_s.median))
                .collect();
            let _ = write!(out, " (reference: {})", refs.join(", "));
        }
        out.push('\n');
    }
    out.push('\n');
    out
}
