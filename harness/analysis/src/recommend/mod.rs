//! `blueprint-bench recommend`: which blueprint fits a workload, a rate and
//! a latency budget, decided from measured figures only.
//!
//! For each integration mode, every measured cell of the workload (any
//! runtime and language, or the one language asked for) is judged at the
//! requested rate R. A cell with a rate sweep is judged with what was
//! measured there: the lowest swept rate at or above R (the conservative
//! side, no interpolation), its p99 from the intended start (a censored one
//! is a lower bound, shown as ≥) and its CPU per successful request, each
//! the median over the trials with its order-statistic interval. A ramp
//! that never reached R cannot serve it. A cell without a sweep keeps the
//! closed-loop figures, each trial at its own saturation rate, and says so.
//! A cell qualifies when:
//! 1. the mode can do what the workload needs (middleware and binding guests
//!    cannot reach Dapr at all);
//! 2. its error rate (failed over all requests, every trial) is at most
//!    `max_error_rate` (default 0.1 %): a blueprint that drops requests
//!    does not serve the rate, however fast its successes are;
//! 3. capacity: the knee of its sweep (median over trials) is at least R;
//!    without a sweep, the closed-loop throughput stands in;
//! 4. p99 within the budget, and CPU per request within the budget when one
//!    is given.
//!
//! Modes with a cell that passes are ranked by the CPU per successful
//! request of their best cell, then by p99. Candidates whose CPU intervals
//! overlap with the leader of their rank share it: the trials cannot tell
//! them apart. With fewer than [`MIN_TRIALS`] trials behind any candidate
//! nothing is ranked (an interval of so few trials separates nothing); the
//! candidates are listed unranked with the reason. A mode whose every cell
//! fails is excluded with the figure that excluded it; a mode with no
//! measured cell is listed as not measured — never guessed.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use crate::compare::{fmt_rate, fmt_us};
use crate::modes::Mode;
use crate::results::{CellResult, CellStatus, RunResults};
use crate::stats;

mod markdown;

pub use markdown::render;

/// What the workload needs from Dapr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Need {
    /// State store reads and writes.
    State,
    /// Publishing events.
    Pubsub,
    /// Output bindings.
    Bindings,
    /// Nothing: a pure function of the request.
    None,
}

impl std::str::FromStr for Need {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "state" => Ok(Need::State),
            "pubsub" => Ok(Need::Pubsub),
            "bindings" => Ok(Need::Bindings),
            "none" => Ok(Need::None),
            _ => Err(format!(
                "unknown need `{s}`; known: state, pubsub, bindings, none"
            )),
        }
    }
}

impl std::fmt::Display for Need {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Need::State => "state",
            Need::Pubsub => "pub/sub",
            Need::Bindings => "bindings",
            Need::None => "nothing from Dapr",
        })
    }
}

/// What the user asked for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Requirements {
    /// Sustained rate, requests per second.
    pub rate_rps: f64,
    /// Largest acceptable p99, µs.
    pub p99_budget_us: f64,
    /// What the workload needs from Dapr.
    pub needs: Vec<Need>,
    /// Only cells of this guest language.
    pub language: Option<String>,
    /// Largest acceptable CPU per request, µs.
    pub cpu_budget_us: Option<f64>,
    /// Largest acceptable error rate (failed / all requests), a fraction.
    #[serde(default = "default_max_error_rate")]
    pub max_error_rate: f64,
}

/// The error rate a cell may have and still qualify: 0.1 %.
pub const DEFAULT_MAX_ERROR_RATE: f64 = 0.001;

fn default_max_error_rate() -> f64 {
    DEFAULT_MAX_ERROR_RATE
}

impl Requirements {
    fn needs_dapr(&self) -> Vec<Need> {
        self.needs.iter().copied().filter(|n| *n != Need::None).collect()
    }
}

/// Fewest trials behind a candidate for a ranking: with fewer, the
/// distribution-free interval of a median is [min, max] at 75 % or less and
/// cannot separate candidates.
pub const MIN_TRIALS: usize = 3;

/// What a cell's p99 and CPU were measured at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Basis {
    /// Open loop at this swept rate, the lowest at or above the requested one.
    AtRate {
        /// The swept rate, req/s.
        rate_rps: f64,
    },
    /// The sweep never reached the requested rate: nothing was measured there.
    CannotReach {
        /// The highest rate any trial swept, req/s.
        highest_rps: f64,
    },
    /// No rate sweep: closed-loop figures, each trial at its own saturation.
    ClosedLoop,
}

/// The measured figures a decision rests on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Figures {
    /// The cell.
    pub cell: String,
    /// Runtime.
    pub runtime: String,
    /// Guest language.
    pub language: String,
    /// Trials of the cell.
    pub trials: usize,
    /// What `p99_us` and `cpu_per_success_us` were measured at.
    pub basis: Basis,
    /// Trials behind `p99_us` and `cpu_per_success_us` (those that measured
    /// the basis).
    pub basis_trials: usize,
    /// Highest sustainable rate, req/s.
    pub capacity_rps: f64,
    /// Where `capacity_rps` comes from.
    pub capacity_source: String,
    /// Every trial's sweep passed its highest rate (or its generator fell
    /// behind first): the capacity is at least `capacity_rps`, perhaps far
    /// more.
    #[serde(default)]
    pub capacity_is_lower_bound: bool,
    /// p99 at the basis over the trials, µs; infinite for a trial without a
    /// successful request; `None` where nothing was measured.
    pub p99_us: Option<stats::Estimate>,
    /// Some trial's p99 is a lower bound (timeouts or unsent requests reach
    /// it): the figure reads "≥".
    pub p99_lower_bound: bool,
    /// Where `p99_us` comes from.
    pub p99_source: String,
    /// CPU per successful request of the system under test (daprd, app,
    /// store) over the trials, µs.
    pub cpu_per_success_us: Option<stats::Estimate>,
    /// Where `cpu_per_success_us` comes from.
    pub cpu_source: String,
    /// Closed-loop throughput, req/s.
    pub throughput_rps: f64,
    /// Failed over all requests of every trial; `None` without requests.
    #[serde(default)]
    pub error_rate: Option<f64>,
}

/// A mode that qualifies.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ranked {
    /// 1 = best; modes tied with a better one share its rank; 0 when the
    /// ranking was refused.
    pub rank: usize,
    /// Other modes of the same rank: their CPU intervals overlap.
    #[serde(default)]
    pub tied_with: Vec<String>,
    /// The mode.
    pub mode: String,
    /// Its best cell's figures.
    pub best: Figures,
    /// Its other cells that also qualify, best first (runtime/language).
    pub also_qualifying: Vec<String>,
    /// Its cells that do not qualify, with the figure that ruled each out.
    pub not_qualifying: Vec<String>,
    /// The talk's considerations and limitations.
    pub considerations: Vec<String>,
}

/// A mode ruled out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Excluded {
    /// The mode.
    pub mode: String,
    /// Why, with the figure that decided it.
    pub reasons: Vec<String>,
}

/// The whole answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recommendation {
    /// Where the figures come from.
    pub results: PathBuf,
    /// Revision that was measured.
    pub git_revision: String,
    /// The workload whose cells were used.
    pub workload: String,
    /// What was asked.
    pub requirements: Requirements,
    /// How modes are ranked.
    pub ranking_rule: String,
    /// Qualifying modes, best first; empty when the ranking was refused.
    pub ranked: Vec<Ranked>,
    /// Why the qualifying modes are not ranked, when they are not.
    #[serde(default)]
    pub refusal: Option<String>,
    /// Qualifying modes when the ranking was refused, in no order of merit.
    #[serde(default)]
    pub unranked: Vec<Ranked>,
    /// Modes ruled out.
    pub excluded: Vec<Excluded>,
    /// Modes without a measured cell for this workload (and language).
    pub not_measured: Vec<Excluded>,
    /// The native floor, when measured (not ranked: it is not a Wasm blueprint).
    pub reference: Option<Figures>,
}

impl Recommendation {
    /// Why `mode` was excluded, when it was.
    pub fn exclusion(&self, mode: &str) -> Option<&[String]> {
        self.excluded
            .iter()
            .find(|e| e.mode == mode)
            .map(|e| e.reasons.as_slice())
    }
}

const RANKING_RULE: &str = "qualifying modes ranked by their best cell's CPU per successful request at the requested rate \
     (from the rate sweep; closed loop where none was measured), then by p99; modes whose CPU intervals overlap \
     share a rank; no ranking with fewer than 3 trials behind a candidate";

/// The workload a `--needs` stands for when none is named: the one the
/// project measures for it.
fn default_workload(needs: &[Need]) -> Option<&'static str> {
    if needs.contains(&Need::State) {
        Some("counter")
    } else if needs.iter().all(|n| *n == Need::None) {
        Some("noop")
    } else {
        None
    }
}

/// Needs as words joined by `sep`.
pub(crate) fn join_needs(needs: &[Need], sep: &str) -> String {
    needs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(sep)
}

/// One trial's figures at one swept rate.
struct AtRate {
    p99_us: f64,
    lower_bound: bool,
    cpu_per_success_us: Option<f64>,
}

/// A trial's figures at `rate`: the median over its steps there (retests
/// included); `None` when the trial never swept that rate.
fn trial_at_rate(trial: &crate::results::TrialResult, rate: f64) -> Option<AtRate> {
    let steps: Vec<&crate::results::SweepPoint> = trial
        .sweep
        .iter()
        .filter(|p| (p.point.target_rps - rate).abs() < 1e-6)
        .collect();
    if steps.is_empty() {
        return None;
    }
    // A step without a successful request has no latency: it failed.
    let p99s: Vec<f64> = steps
        .iter()
        .map(|p| crate::results::latency(&p.load).map_or(f64::INFINITY, |l| l.p99))
        .collect();
    let cpus: Vec<f64> = steps
        .iter()
        .filter_map(|p| p.cpu.as_ref().and_then(|c| c.per_success_us))
        .collect();
    Some(AtRate {
        p99_us: stats::median(&p99s),
        lower_bound: steps.iter().any(|p| p.point.p99_lower_bound),
        cpu_per_success_us: (cpus.len() == steps.len()).then(|| stats::median(&cpus)),
    })
}

/// The swept rates of a cell, lowest first.
fn swept_rates(cell: &CellResult) -> Vec<f64> {
    let mut rates: Vec<f64> = cell
        .trials
        .iter()
        .flat_map(|t| t.sweep.iter().map(|p| p.point.target_rps))
        .collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup_by(|a, b| (*a - *b).abs() < 1e-6);
    rates
}

fn estimate(values: &[f64]) -> Option<stats::Estimate> {
    (!values.is_empty()).then(|| stats::estimate(values, crate::results::CONFIDENCE))
}

fn figures(cell: &CellResult, rate: f64) -> Option<Figures> {
    let summary = cell.summary.as_ref()?;
    let capacity_is_lower_bound = cell.knee_is_lower_bound();
    let (capacity_rps, capacity_source) = match summary.knee_rps {
        Some(k) if capacity_is_lower_bound => (
            k.median,
            format!(
                "a lower bound: every trial passed its sweep's highest rate (median of {} trials; the closed \
                 loop served {:.0} req/s)",
                k.n, summary.throughput_rps.median
            ),
        ),
        Some(k) => (
            k.median,
            format!("knee of the rate sweep (median of {} trials)", k.n),
        ),
        None => (
            summary.throughput_rps.median,
            "closed-loop throughput (no rate sweep measured: an upper bound, not a knee)".to_owned(),
        ),
    };
    let closed_cpu = || {
        (
            summary.cpu_per_request_us,
            "closed loop, at the cell's own saturation rate".to_owned(),
        )
    };
    let mut f = Figures {
        cell: cell.id.to_string(),
        runtime: cell.id.runtime.clone(),
        language: cell.id.language.clone(),
        trials: cell.trials.len(),
        basis: Basis::ClosedLoop,
        basis_trials: cell.trials.len(),
        capacity_rps,
        capacity_source,
        capacity_is_lower_bound,
        // No successful request: no latency, which fails any budget.
        p99_us: Some(
            summary
                .p99_us
                .unwrap_or_else(|| stats::estimate(&[f64::INFINITY], 0.0)),
        ),
        p99_lower_bound: false,
        p99_source: "closed-loop p99 (no rate sweep measured)".to_owned(),
        cpu_per_success_us: None,
        cpu_source: String::new(),
        throughput_rps: summary.throughput_rps.median,
        error_rate: crate::results::cell_error_rate(cell),
    };
    (f.cpu_per_success_us, f.cpu_source) = closed_cpu();
    let rates = swept_rates(cell);
    let Some(&highest) = rates.last() else {
        return Some(f);
    };
    let Some(&at) = rates.iter().find(|r| **r >= rate - 1e-6) else {
        f.basis = Basis::CannotReach { highest_rps: highest };
        f.basis_trials = 0;
        f.p99_us = None;
        f.p99_source = format!("not measured: the sweep stopped at {highest:.0} req/s");
        return Some(f);
    };
    let measured: Vec<AtRate> = cell.trials.iter().filter_map(|t| trial_at_rate(t, at)).collect();
    let p99s: Vec<f64> = measured.iter().map(|m| m.p99_us).collect();
    let cpus: Vec<f64> = measured.iter().filter_map(|m| m.cpu_per_success_us).collect();
    f.basis = Basis::AtRate { rate_rps: at };
    f.basis_trials = measured.len();
    f.p99_us = estimate(&p99s);
    f.p99_lower_bound = measured.iter().any(|m| m.lower_bound);
    let trials = format!("{} of {} trials", measured.len(), cell.trials.len());
    f.p99_source = format!(
        "p99 from intended start at {at:.0} req/s, the smallest swept rate ≥ the requested one ({trials})"
    );
    if cpus.len() == measured.len() {
        f.cpu_per_success_us = estimate(&cpus);
        f.cpu_source = format!("at {at:.0} req/s ({trials})");
    } else {
        // Sweeps from before steps were metered: the closed loop stands in.
        let (cpu, source) = closed_cpu();
        f.cpu_per_success_us = cpu;
        f.cpu_source = format!("{source}: the sweep's steps carry no CPU");
    }
    Some(f)
}

fn median(e: Option<&stats::Estimate>) -> Option<f64> {
    e.map(|e| e.median)
}

/// Why a cell does not qualify, or `None` when it does.
fn disqualify(f: &Figures, req: &Requirements) -> Option<String> {
    let who = format!("{}/{}", f.runtime, f.language);
    if let Some(rate) = f.error_rate
        && rate > req.max_error_rate
    {
        return Some(format!(
            "{who}: error rate {} > {} allowed",
            fmt_rate(rate),
            fmt_rate(req.max_error_rate)
        ));
    }
    if let Basis::CannotReach { highest_rps } = f.basis {
        return Some(format!(
            "{who}: cannot reach {:.0} req/s: the sweep stopped at {highest_rps:.0} req/s (knee {:.0} req/s)",
            req.rate_rps, f.capacity_rps
        ));
    }
    if f.capacity_rps < req.rate_rps {
        let what = if f.capacity_source.starts_with("knee") {
            "knee"
        } else {
            "closed-loop throughput"
        };
        return Some(format!(
            "{who}: {what} {:.0} req/s < {:.0} req/s",
            f.capacity_rps, req.rate_rps
        ));
    }
    match median(f.p99_us.as_ref()) {
        None => {
            return Some(format!(
                "{who}: p99 at {:.0} req/s {}",
                req.rate_rps, f.p99_source
            ));
        }
        Some(p99) if p99.is_infinite() => {
            return Some(format!("{who}: no successful request ({})", f.p99_source));
        }
        Some(p99) if p99 > req.p99_budget_us => {
            return Some(format!(
                "{who}: p99 {}{} > budget {} ({})",
                if f.p99_lower_bound { "≥ " } else { "" },
                fmt_us(p99),
                fmt_us(req.p99_budget_us),
                f.p99_source
            ));
        }
        Some(_) => {}
    }
    if let Some(budget) = req.cpu_budget_us {
        match median(f.cpu_per_success_us.as_ref()) {
            None => return Some(format!("{who}: CPU per request not measured")),
            Some(cpu) if cpu > budget => {
                return Some(format!("{who}: CPU {cpu:.0} µs/req > budget {budget:.0} µs/req"));
            }
            Some(_) => {}
        }
    }
    None
}

fn order(a: &Figures, b: &Figures) -> std::cmp::Ordering {
    let key = |e: Option<&stats::Estimate>| median(e).unwrap_or(f64::INFINITY);
    key(a.cpu_per_success_us.as_ref())
        .total_cmp(&key(b.cpu_per_success_us.as_ref()))
        .then(key(a.p99_us.as_ref()).total_cmp(&key(b.p99_us.as_ref())))
}

/// Whether the trials cannot tell two cells' CPU per request apart: their
/// intervals overlap (a figure without an interval is its median alone;
/// two unmeasured figures are alike).
fn tied(a: &Figures, b: &Figures) -> bool {
    let span = |f: &Figures| {
        f.cpu_per_success_us
            .map(|e| e.interval().unwrap_or((e.median, e.median)))
    };
    match (span(a), span(b)) {
        (Some((lo_a, hi_a)), Some((lo_b, hi_b))) => lo_a <= hi_b && lo_b <= hi_a,
        (None, None) => true,
        _ => false,
    }
}

/// Why no ranking can be made from these candidates, if none can.
fn refusal(qualifying: &[(String, Vec<Figures>, Vec<String>)]) -> Option<String> {
    let few: Vec<String> = qualifying
        .iter()
        .flat_map(|(_, cells, _)| cells)
        .filter(|f| f.basis_trials < MIN_TRIALS)
        .map(|f| format!("{} ({} trial(s))", f.cell, f.basis_trials))
        .collect();
    (!few.is_empty()).then(|| {
        format!(
            "not ranked: fewer than {MIN_TRIALS} trials behind {}; with so few, a median's interval cannot tell \
             candidates apart (run with [load] trials = {MIN_TRIALS} or more)",
            few.join(", ")
        )
    })
}

/// Ranks sorted candidates: a candidate whose CPU interval overlaps its
/// rank's leader shares the rank (1, 1, 3 …).
fn assign_ranks(candidates: &mut [Ranked]) {
    let mut leader = 0;
    for i in 0..candidates.len() {
        if i == 0 || !tied(&candidates[leader].best, &candidates[i].best) {
            leader = i;
        }
        candidates[i].rank = leader + 1;
    }
    let ranks: Vec<(usize, String)> = candidates.iter().map(|c| (c.rank, c.mode.clone())).collect();
    for c in candidates.iter_mut() {
        c.tied_with = ranks
            .iter()
            .filter(|(r, m)| *r == c.rank && *m != c.mode)
            .map(|(_, m)| m.clone())
            .collect();
    }
}

/// Decides.
///
/// # Errors
/// The workload is not in the results, or none is named and `--needs` does
/// not pick one.
pub fn recommend(
    path: &Path,
    results: &RunResults,
    workload: Option<&str>,
    req: &Requirements,
) -> Result<Recommendation> {
    let mut workloads: Vec<&str> = results.cells.iter().map(|c| c.id.workload.as_str()).collect();
    workloads.dedup();
    workloads.sort_unstable();
    workloads.dedup();
    let workload = match workload {
        Some(w) => w.to_owned(),
        None if workloads.len() == 1 => workloads[0].to_owned(),
        None => match default_workload(&req.needs) {
            Some(w) => w.to_owned(),
            None => bail!(
                "no workload of this project stands for needing {}; name one with --workload (in {}: {})",
                join_needs(&req.needs_dapr(), " and "),
                path.display(),
                workloads.join(", ")
            ),
        },
    };
    if !workloads.contains(&workload.as_str()) {
        bail!(
            "{} has no cells of workload `{workload}` (it has: {}); no recommendation without measurements",
            path.display(),
            workloads.join(", ")
        );
    }
    let mut modes: Vec<String> = Mode::names().into_iter().map(str::to_owned).collect();
    for c in &results.cells {
        if !modes.contains(&c.id.mode) {
            modes.push(c.id.mode.clone());
        }
    }
    let mut out = Recommendation {
        results: path.to_owned(),
        git_revision: results.environment.git_revision.clone(),
        workload: workload.clone(),
        requirements: req.clone(),
        ranking_rule: RANKING_RULE.to_owned(),
        ranked: Vec::new(),
        refusal: None,
        unranked: Vec::new(),
        excluded: Vec::new(),
        not_measured: Vec::new(),
        reference: None,
    };
    let mut qualifying: Vec<(String, Vec<Figures>, Vec<String>)> = Vec::new();
    for mode in modes {
        let prof = mode.parse::<Mode>().ok().map(Mode::row);
        let cells: Vec<&CellResult> = results
            .cells
            .iter()
            .filter(|c| c.id.workload == workload && c.id.mode == mode)
            .filter(|c| req.language.as_ref().is_none_or(|l| &c.id.language == l))
            // A blueprint serves requests through daprd: `direct` cells skip
            // it, and `pubsub` cells count events, not requests.
            .filter(|c| c.id.trigger == "dapr")
            .collect();
        let measured: Vec<Figures> = cells
            .iter()
            .filter(|c| c.status == CellStatus::Ok)
            .filter_map(|c| figures(c, req.rate_rps))
            .collect();
        if prof.is_some_and(|p| p.reference) {
            out.reference = measured.into_iter().min_by(order);
            continue;
        }
        let dapr_needs = req.needs_dapr();
        if prof.is_some_and(|p| !p.reaches_dapr) && !dapr_needs.is_empty() {
            out.excluded.push(Excluded {
                mode,
                reasons: vec![format!(
                    "cannot do {}: its guest cannot reach Dapr (pure functions only)",
                    join_needs(&dapr_needs, " or ")
                )],
            });
            continue;
        }
        if measured.is_empty() {
            let mut reasons: Vec<String> = cells
                .iter()
                .filter(|c| c.status != CellStatus::Ok)
                .map(|c| {
                    let why = match &c.status {
                        CellStatus::Ok => "no summary".into(),
                        other => first_line(&other.describe()),
                    };
                    format!("{}/{}: {why}", c.id.runtime, c.id.language)
                })
                .collect();
            if reasons.is_empty() {
                reasons.push(format!(
                    "no cells of `{workload}`{} in this results file: not measured, so not judged",
                    req.language
                        .as_ref()
                        .map_or(String::new(), |l| format!(" in {l}"))
                ));
            }
            out.not_measured.push(Excluded { mode, reasons });
            continue;
        }
        let (mut pass, fail): (Vec<Figures>, Vec<Figures>) =
            measured.into_iter().partition(|f| disqualify(f, req).is_none());
        let reasons: Vec<String> = fail.iter().filter_map(|f| disqualify(f, req)).collect();
        if pass.is_empty() {
            out.excluded.push(Excluded { mode, reasons });
            continue;
        }
        pass.sort_by(order);
        qualifying.push((mode, pass, reasons));
    }
    qualifying.sort_by(|a, b| order(&a.1[0], &b.1[0]));
    out.refusal = refusal(&qualifying);
    let mut candidates: Vec<Ranked> = qualifying
        .into_iter()
        .map(|(mode, mut pass, not_qualifying)| Ranked {
            rank: 0,
            tied_with: Vec::new(),
            considerations: mode
                .parse::<Mode>()
                .ok()
                .map(Mode::row)
                .map(|p| p.considerations.iter().map(|s| (*s).to_owned()).collect())
                .unwrap_or_else(|| vec!["no considerations known for this mode".into()]),
            best: pass.remove(0),
            also_qualifying: pass
                .iter()
                .map(|f| format!("{}/{}", f.runtime, f.language))
                .collect(),
            mode,
            not_qualifying,
        })
        .collect();
    if out.refusal.is_some() {
        out.unranked = candidates;
    } else {
        assign_ranks(&mut candidates);
        out.ranked = candidates;
    }
    Ok(out)
}

pub(crate) fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 120 {
        format!("{}…", line.chars().take(120).collect::<String>())
    } else {
        line.to_owned()
    }
}
