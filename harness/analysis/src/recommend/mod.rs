//! `blueprint-bench recommend`: which blueprint fits a workload, a rate and
//! a latency budget, decided from measured figures only.
//!
//! For each integration mode, every measured cell of the workload (any
//! runtime and language, or the one language asked for) is checked against
//! the requirements:
//! 1. the mode can do what the workload needs (middleware and binding guests
//!    cannot reach Dapr at all);
//! 2. capacity: the knee of its rate sweep (median over trials) is at least
//!    the rate; without a sweep, the closed-loop throughput stands in and
//!    the output says so;
//! 3. p99 at the rate: the p99 (from the intended start) at the smallest
//!    swept rate at or above the requested one — the conservative side, no
//!    interpolation; without a sweep, the closed-loop p99;
//! 4. CPU per request within the budget, when one is given;
//! 5. error rate (failed over all requests, every trial) at most
//!    `max_error_rate` (default 0.1 %): a blueprint that drops requests
//!    does not serve the rate, however fast its successes are.
//!
//! Modes with a cell that passes are ranked by the CPU per request of their
//! best cell (what serving a request costs), then by p99. A mode whose every
//! cell fails is excluded with the figure that excluded it; a mode with no
//! measured cell is listed as not measured — never guessed.

use std::collections::BTreeMap;
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

/// The measured figures a decision rests on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Figures {
    /// The cell.
    pub cell: String,
    /// Runtime.
    pub runtime: String,
    /// Guest language.
    pub language: String,
    /// Trials behind the figures.
    pub trials: usize,
    /// Highest sustainable rate, req/s.
    pub capacity_rps: f64,
    /// Where `capacity_rps` comes from.
    pub capacity_source: String,
    /// p99 at (or above) the requested rate, µs.
    pub p99_us: Option<f64>,
    /// Where `p99_us` comes from.
    pub p99_source: String,
    /// CPU per request of the system under test, µs.
    pub cpu_per_request_us: Option<f64>,
    /// Closed-loop throughput, req/s.
    pub throughput_rps: f64,
    /// Failed over all requests of every trial; `None` without requests.
    #[serde(default)]
    pub error_rate: Option<f64>,
}

/// A mode that qualifies.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ranked {
    /// 1 = best.
    pub rank: usize,
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
    /// Qualifying modes, best first.
    pub ranked: Vec<Ranked>,
    /// Modes ruled out.
    pub excluded: Vec<Excluded>,
    /// Modes without a measured cell for this workload (and language).
    pub not_measured: Vec<Excluded>,
    /// The native floor, when measured (not ranked: it is not a Wasm blueprint).
    pub reference: Option<Figures>,
}

const RANKING_RULE: &str =
    "qualifying modes ranked by their best cell's CPU per request (what serving the rate costs), then by p99";

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

/// Per-rate p99s (µs) of a cell's sweeps over trials.
fn sweep_p99(cell: &CellResult) -> Vec<(f64, Vec<f64>)> {
    let mut by_rate: BTreeMap<i64, (f64, Vec<f64>)> = BTreeMap::new();
    for t in &cell.trials {
        for p in &t.sweep {
            by_rate
                .entry((p.point.target_rps * 1000.0).round() as i64)
                .or_insert((p.point.target_rps, Vec::new()))
                .1
                // A point without a successful request has no latency: it failed.
                .push(crate::results::latency(&p.load).map_or(f64::INFINITY, |l| l.p99));
        }
    }
    by_rate.into_values().collect()
}

fn figures(cell: &CellResult, rate: f64) -> Option<Figures> {
    let summary = cell.summary.as_ref()?;
    let sweep = sweep_p99(cell);
    let (capacity_rps, capacity_source) = match summary.knee_rps {
        Some(k) => (
            k.median,
            format!("knee of the rate sweep (median of {} trials)", k.n),
        ),
        None => (
            summary.throughput_rps.median,
            "closed-loop throughput (no rate sweep measured: an upper bound, not a knee)".to_owned(),
        ),
    };
    let (p99_us, p99_source) = if sweep.is_empty() {
        (
            // No successful request: no latency, which fails any budget.
            Some(summary.p99_us.map_or(f64::INFINITY, |e| e.median)),
            "closed-loop p99 (no rate sweep measured)".to_owned(),
        )
    } else {
        match sweep.iter().find(|(r, _)| *r >= rate - 1e-9) {
            Some((r, p99s)) => (
                Some(stats::median(p99s)),
                format!(
                    "p99 from intended start at {r:.0} req/s, the smallest swept rate ≥ the requested one"
                ),
            ),
            None => (
                None,
                format!(
                    "not measured: the sweep stopped at {:.0} req/s",
                    sweep.last().map_or(0.0, |(r, _)| *r)
                ),
            ),
        }
    };
    Some(Figures {
        cell: cell.id.to_string(),
        runtime: cell.id.runtime.clone(),
        language: cell.id.language.clone(),
        trials: cell.trials.len(),
        capacity_rps,
        capacity_source,
        p99_us,
        p99_source,
        cpu_per_request_us: summary.cpu_per_request_us.map(|e| e.median),
        throughput_rps: summary.throughput_rps.median,
        error_rate: crate::results::cell_error_rate(cell),
    })
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
    match f.p99_us {
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
                "{who}: p99 {} > budget {} ({})",
                fmt_us(p99),
                fmt_us(req.p99_budget_us),
                f.p99_source
            ));
        }
        Some(_) => {}
    }
    if let Some(budget) = req.cpu_budget_us {
        match f.cpu_per_request_us {
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
    let cpu = |f: &Figures| f.cpu_per_request_us.unwrap_or(f64::INFINITY);
    cpu(a).total_cmp(&cpu(b)).then(
        a.p99_us
            .unwrap_or(f64::INFINITY)
            .total_cmp(&b.p99_us.unwrap_or(f64::INFINITY)),
    )
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
                req.needs_dapr()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" and "),
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
                    dapr_needs
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" or ")
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
    for (i, (mode, mut pass, not_qualifying)) in qualifying.into_iter().enumerate() {
        let best = pass.remove(0);
        out.ranked.push(Ranked {
            rank: i + 1,
            considerations: mode
                .parse::<Mode>()
                .ok()
                .map(Mode::row)
                .map(|p| p.considerations.iter().map(|s| (*s).to_owned()).collect())
                .unwrap_or_else(|| vec!["no considerations known for this mode".into()]),
            mode,
            best,
            also_qualifying: pass
                .iter()
                .map(|f| format!("{}/{}", f.runtime, f.language))
                .collect(),
            not_qualifying,
        });
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
