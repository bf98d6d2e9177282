//! The answer first: per workload, the blueprints (modes) ranked by what a
//! request costs the machine, with intervals, ties as ties, and why.
//!
//! The figure is requests per CPU-second of the system under test (daprd,
//! app host, stores): on a machine whose cores are shared, CPU per request
//! is what decides how much traffic a blueprint serves, and it moves less
//! with the machine's load than throughput does. Each mode stands with its
//! best cell (any runtime and language). As in `recommend`, a mode whose
//! interval overlaps the leader of a rank shares that rank, cells that drop
//! more than 0.1 % of their requests do not stand, and with fewer than
//! three trials behind a mode nothing is ranked: the page says why instead.
//! Reference modes (the native floor, the middleware baseline) are shown
//! beside the ranking, never in it.

use serde::Serialize;

use crate::modes::{ALL, App, Flavour, InDaprd, Mode};
use crate::recommend::{DEFAULT_MAX_ERROR_RATE, MIN_TRIALS};
use crate::results::{self, CellResult, CellStatus, RunResults};
use crate::stats::{self, Estimate};

/// The figure modes are ranked by.
pub const RANKED_BY: &str = "requests per CPU-second of daprd + app host + stores (higher is better)";

/// One mode's standing in a workload.
#[derive(Debug, Clone, Serialize)]
pub struct Standing {
    /// 1 = best; tied modes share the rank of the best among them; 0 when
    /// not ranked.
    pub rank: usize,
    /// Whether another mode shares its rank.
    pub tied: bool,
    /// The mode.
    pub mode: String,
    /// Its best cell: runtime / language / store.
    pub cell: String,
    /// Trials behind the figures.
    pub trials: usize,
    /// Requests per CPU-second, median over trials with its interval.
    pub per_cpu_s: Estimate,
    /// Closed-loop throughput.
    pub throughput_rps: Estimate,
    /// p99 of the closed loop, µs.
    pub p99_us: Option<Estimate>,
    /// Knee of the rate sweep, when swept.
    pub knee_rps: Option<Estimate>,
    /// CPU µs per successful request by process (median over trials), in
    /// [`PROCESS_ORDER`].
    pub cpu_split_us: Vec<(String, f64)>,
    /// What the blueprint is, in a few words.
    pub shape: String,
    /// Why it stands where it does, from the figures.
    pub why: String,
}

/// One workload's answer.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadDecision {
    /// The workload.
    pub workload: String,
    /// Wasm blueprints, best first (ranked, or in no order when refused).
    pub standings: Vec<Standing>,
    /// Why the blueprints are not ranked, when they are not.
    pub refusal: Option<String>,
    /// Reference modes (native floor, middleware baseline), for scale.
    pub references: Vec<Standing>,
    /// Modes with cells of this workload that stand nowhere, and why.
    pub left_out: Vec<String>,
}

/// Processes in the order they are stacked and listed.
pub const PROCESS_ORDER: [&str; 4] = ["daprd", "app", "redis", "load-generator"];

/// The decision for every workload of the run, in the order of its cells.
pub fn decide(results: &RunResults) -> Vec<WorkloadDecision> {
    let mut workloads: Vec<&str> = Vec::new();
    for c in &results.cells {
        if !workloads.contains(&c.id.workload.as_str()) {
            workloads.push(&c.id.workload);
        }
    }
    workloads
        .into_iter()
        .map(|w| decide_workload(results, w))
        .collect()
}

fn mode_of(name: &str) -> Option<Mode> {
    ALL.iter().copied().find(|m| m.as_str() == name)
}

/// A blueprint's shape in a few words, from the mode table.
pub fn shape(mode: &str) -> String {
    let Some(m) = mode_of(mode) else {
        return String::new();
    };
    let row = m.row();
    if row.reference {
        return match row.app {
            App::Echo => "reference: daprd and its app without Wasm".into(),
            _ => "reference: the workload compiled into the host, no Wasm".into(),
        };
    }
    match (row.in_daprd, row.flavour) {
        (InDaprd::AppHttpPipeline | InDaprd::HttpPipeline, _) => {
            "Wasm inside daprd's process (its wazero): no extra hop, no Dapr API".into()
        }
        (InDaprd::OutputBinding, _) => {
            "Wasm inside daprd as an output binding: a fresh instance per call".into()
        }
        (InDaprd::No, Some(Flavour::Http)) => {
            "an app on a Wasm runtime; the guest calls Dapr's HTTP API".into()
        }
        (InDaprd::No, _) if row.state_cache => {
            "an app embedding the runtime; host calls to Dapr's gRPC API, state cached in the host".into()
        }
        _ => "an app embedding the runtime; host calls to Dapr's gRPC API".into(),
    }
}

/// A trial's CPU µs per successful request of one process role.
pub(crate) fn role_us(trial: &results::TrialResult, role: &str) -> Option<f64> {
    let ok = results::successes(&trial.load);
    if ok == 0 {
        return None;
    }
    let cpu: f64 = trial
        .processes
        .iter()
        .filter(|p| p.role == role)
        .map(|p| p.cpu_s)
        .sum();
    trial
        .processes
        .iter()
        .any(|p| p.role == role)
        .then(|| cpu * 1e6 / ok as f64)
}

/// CPU µs per successful request by process, medians over the trials.
pub fn cpu_split(cell: &CellResult) -> Vec<(String, f64)> {
    PROCESS_ORDER
        .iter()
        .filter_map(|role| {
            let v: Vec<f64> = cell.trials.iter().filter_map(|t| role_us(t, role)).collect();
            (!v.is_empty()).then(|| ((*role).to_owned(), stats::median(&v)))
        })
        .collect()
}

fn standing(cell: &CellResult) -> Option<Standing> {
    let summary = cell.summary.as_ref()?;
    let per_cpu: Vec<f64> = cell.trials.iter().filter_map(|t| t.requests_per_cpu_s).collect();
    if per_cpu.is_empty() {
        return None;
    }
    Some(Standing {
        rank: 0,
        tied: false,
        mode: cell.id.mode_label(),
        cell: format!("{} / {} / {}", cell.id.runtime, cell.id.language, cell.id.store),
        trials: cell.trials.len(),
        per_cpu_s: stats::estimate(&per_cpu, results::CONFIDENCE),
        throughput_rps: summary.throughput_rps,
        p99_us: summary.p99_us,
        knee_rps: summary.knee_rps,
        cpu_split_us: cpu_split(cell),
        shape: shape(&cell.id.mode),
        why: String::new(),
    })
}

/// Whether two estimates' intervals overlap (their ranges, without one).
pub(crate) fn overlaps(a: &Estimate, b: &Estimate) -> bool {
    let (alo, ahi) = a.interval().unwrap_or((a.min, a.max));
    let (blo, bhi) = b.interval().unwrap_or((b.min, b.max));
    alo <= bhi && blo <= ahi
}

fn decide_workload(results: &RunResults, workload: &str) -> WorkloadDecision {
    let mut best: Vec<Standing> = Vec::new();
    let mut references = Vec::new();
    let mut left_out = Vec::new();
    // Blueprints as deployed: load through daprd. A `direct` cell measures
    // the app without its sidecar hop, which no deployment serves.
    let of_workload = results
        .cells
        .iter()
        .filter(|c| c.id.workload == workload && c.id.trigger == "dapr");
    for cell in of_workload.clone() {
        if cell.status != CellStatus::Ok {
            continue;
        }
        let rate = results::cell_error_rate(cell).unwrap_or(0.0);
        if rate > DEFAULT_MAX_ERROR_RATE {
            left_out.push(format!(
                "{} ({}/{}): {} of its requests failed (more than {})",
                cell.id.mode_label(),
                cell.id.runtime,
                cell.id.language,
                crate::compare::fmt_rate(rate),
                crate::compare::fmt_rate(DEFAULT_MAX_ERROR_RATE)
            ));
            continue;
        }
        let Some(s) = standing(cell) else {
            left_out.push(format!(
                "{} ({}/{}): no CPU figures",
                cell.id.mode_label(),
                cell.id.runtime,
                cell.id.language
            ));
            continue;
        };
        let reference = mode_of(&cell.id.mode).is_some_and(|m| m.row().reference);
        let pool = if reference { &mut references } else { &mut best };
        match pool.iter_mut().find(|b| b.mode == s.mode) {
            Some(b) if b.per_cpu_s.median < s.per_cpu_s.median => *b = s,
            Some(_) => {}
            None => pool.push(s),
        }
    }
    // Modes with cells but nothing measured.
    let mut unmeasured: Vec<String> = Vec::new();
    for cell in of_workload {
        let label = cell.id.mode_label();
        let stands = best.iter().chain(&references).any(|s| s.mode == label);
        if !stands && !unmeasured.contains(&label) && !matches!(cell.status, CellStatus::NotApplicable { .. })
        {
            unmeasured.push(label);
        }
    }
    for m in unmeasured {
        if !left_out.iter().any(|l| l.starts_with(&format!("{m} ("))) {
            left_out.push(format!("{m}: no measured cell"));
        }
    }
    best.sort_by(|a, b| b.per_cpu_s.median.total_cmp(&a.per_cpu_s.median));
    let few = best
        .iter()
        .filter(|s| s.trials < MIN_TRIALS)
        .map(|s| s.mode.clone())
        .collect::<Vec<_>>();
    let refusal = if best.is_empty() {
        Some("no Wasm blueprint of this workload was measured with CPU figures".into())
    } else if !few.is_empty() {
        let fewest = best.iter().map(|s| s.trials).min().unwrap_or(0);
        let who = if few.len() == best.len() {
            "every blueprint".to_owned()
        } else {
            few.join(", ")
        };
        Some(format!(
            "not ranked: {who} had fewer than {MIN_TRIALS} trials (fewest: {fewest}), and an interval of so few \
             trials separates nothing; listed by their median, which may not repeat (run with `trials = {MIN_TRIALS}` \
             or more to rank)"
        ))
    } else {
        None
    };
    if refusal.is_none() {
        // A mode whose interval overlaps the leader of the current rank
        // shares it; the first that does not starts the next rank.
        let mut leader = 0;
        for i in 0..best.len() {
            if i > 0 && !overlaps(&best[leader].per_cpu_s, &best[i].per_cpu_s) {
                leader = i;
            }
            best[i].rank = leader + 1;
        }
        for i in 0..best.len() {
            let rank = best[i].rank;
            best[i].tied = best.iter().filter(|s| s.rank == rank).count() > 1;
        }
    }
    // Against the leader only when there is a ranking to lead.
    let leader = best.first().cloned().filter(|_| refusal.is_none());
    for s in best.iter_mut().chain(references.iter_mut()) {
        s.why = why(s, leader.as_ref());
    }
    WorkloadDecision {
        workload: workload.to_owned(),
        standings: best,
        refusal,
        references,
        left_out,
    }
}

/// One sentence from the figures: where a request's CPU goes, and against
/// the leader, how much more it costs and in which process.
fn why(s: &Standing, leader: Option<&Standing>) -> String {
    let total: f64 = s
        .cpu_split_us
        .iter()
        .filter(|(r, _)| r != "load-generator")
        .map(|(_, v)| v)
        .sum();
    let parts: Vec<String> = s
        .cpu_split_us
        .iter()
        .filter(|(r, _)| r != "load-generator")
        .map(|(r, v)| format!("{r} {v:.0} µs"))
        .collect();
    let mut text = if parts.is_empty() {
        "no per-process CPU recorded".to_owned()
    } else {
        format!("a request costs {total:.0} µs of CPU: {}", parts.join(", "))
    };
    if let Some(l) = leader.filter(|l| l.mode != s.mode) {
        let ratio = l.per_cpu_s.median / s.per_cpu_s.median;
        // The process with the largest difference to the leader.
        let diff = s
            .cpu_split_us
            .iter()
            .filter(|(r, _)| r != "load-generator")
            .map(|(r, v)| {
                let theirs = l
                    .cpu_split_us
                    .iter()
                    .find(|(lr, _)| lr == r)
                    .map_or(0.0, |(_, lv)| *lv);
                (r.clone(), v - theirs)
            })
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()));
        let _ = std::fmt::Write::write_fmt(
            &mut text,
            format_args!("; {ratio:.2}× the CPU per request of {}", l.mode),
        );
        if let Some((role, d)) = diff.filter(|(_, d)| d.abs() >= 1.0) {
            let _ = std::fmt::Write::write_fmt(
                &mut text,
                format_args!(", most of the difference in {role} ({d:+.0} µs)"),
            );
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(median: f64, lo: f64, hi: f64) -> Estimate {
        Estimate {
            median,
            ci_low: Some(lo),
            ci_high: Some(hi),
            confidence: 0.95,
            min: lo,
            max: hi,
            n: 5,
        }
    }

    #[test]
    fn every_mode_has_a_shape() {
        for m in ALL {
            assert!(!shape(m.as_str()).is_empty(), "{}", m.as_str());
        }
    }

    #[test]
    fn overlapping_intervals_tie_and_disjoint_ones_do_not() {
        assert!(overlaps(&est(10.0, 9.0, 11.0), &est(10.5, 10.8, 12.0)));
        assert!(!overlaps(&est(10.0, 9.0, 11.0), &est(13.0, 12.0, 14.0)));
    }
}
