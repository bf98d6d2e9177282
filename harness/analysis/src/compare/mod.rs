//! Baseline vs candidate: two results files, cells matched by identity, each
//! figure judged over the trials with a significance test and a noise
//! threshold. The verdicts set the exit code, so a nightly job fails on a
//! regression and only on one that is both real and large enough to matter.
//!
//! Per metric and cell (and per swept rate): the relative change of the
//! medians with a bootstrap interval, the two-sided Mann-Whitney U p-value
//! over the trials (no normality assumed: benchmark trials are skewed and
//! sometimes bimodal), and a verdict:
//! - *regressed* / *improved*: `p < alpha` **and** `|change| > threshold`;
//! - *unchanged*: `|change| <= threshold`;
//! - *inconclusive*: beyond the threshold but not significant, or too few
//!   trials to tell (Mann-Whitney needs at least 4 trials a side to reach
//!   p < 0.05; fewer can never be called a regression).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::results::{self, CellResult, CellStatus, RunResults, TrialResult};
use crate::settings::CellId;
use crate::stats::{self, Estimate, RelativeChange};

mod markdown;

pub use markdown::render_markdown;

/// Exit code of `compare` when a regression passed both tests.
pub const EXIT_REGRESSION: i32 = 3;

/// A compared figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    /// Closed-loop requests per second.
    Throughput,
    /// Median latency (open loop: from the intended start).
    P50,
    /// 99th percentile latency (open loop: from the intended start).
    P99,
    /// CPU per request of the system under test.
    Cpu,
    /// Peak resident set of the app host.
    Rss,
    /// The knee of a rate sweep.
    Knee,
}

impl Metric {
    /// Every metric, in table order.
    pub const ALL: [Metric; 6] = [
        Metric::Throughput,
        Metric::P50,
        Metric::P99,
        Metric::Cpu,
        Metric::Rss,
        Metric::Knee,
    ];

    /// The name used on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Throughput => "throughput",
            Metric::P50 => "p50",
            Metric::P99 => "p99",
            Metric::Cpu => "cpu",
            Metric::Rss => "rss",
            Metric::Knee => "knee",
        }
    }

    /// Whether a larger value is better.
    pub fn higher_is_better(self) -> bool {
        matches!(self, Metric::Throughput | Metric::Knee)
    }

    /// Default noise threshold, percent. Latency tails and knees move more
    /// between runs of the same build than medians do (and a knee moves in
    /// whole ramp steps), so their thresholds are wider.
    pub fn default_threshold_pct(self) -> f64 {
        match self {
            Metric::Throughput | Metric::P50 | Metric::Cpu | Metric::Rss => 10.0,
            Metric::P99 => 20.0,
            Metric::Knee => 25.0,
        }
    }

    /// Formats a value of this metric with its unit.
    pub fn format(self, value: f64) -> String {
        match self {
            Metric::Throughput | Metric::Knee => format!("{value:.0} req/s"),
            Metric::P50 | Metric::P99 => fmt_us(value),
            Metric::Cpu => format!("{value:.0} µs/req"),
            Metric::Rss => format!("{:.1} MiB", value / (1024.0 * 1024.0)),
        }
    }

    /// One closed-loop trial's value.
    fn closed_loop(self, trial: &TrialResult) -> Option<f64> {
        match self {
            Metric::Throughput => Some(trial.load.throughput_rps),
            Metric::P50 => Some(trial.load.latency_us.p50),
            Metric::P99 => Some(trial.load.latency_us.p99),
            Metric::Cpu => trial.cpu_per_request_us,
            Metric::Rss => app_peak_rss(trial),
            // A trial whose lowest rate already failed has knee 0.
            Metric::Knee => (!trial.sweep.is_empty()).then(|| trial.knee_rps.unwrap_or(0.0)),
        }
    }
}

impl std::str::FromStr for Metric {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu-per-request" => return Ok(Metric::Cpu),
            "rps" => return Ok(Metric::Throughput),
            _ => {}
        }
        Metric::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
            format!("unknown metric `{s}`; one of {}", names.join(", "))
        })
    }
}

/// Largest app-host RSS in a trial's window, bytes.
pub fn app_peak_rss(trial: &TrialResult) -> Option<f64> {
    trial
        .processes
        .iter()
        .find(|p| p.role == "app")
        .map(|p| p.peak_rss_bytes as f64)
}

/// Microseconds with a unit that keeps 3–4 significant digits.
pub fn fmt_us(us: f64) -> String {
    if us < 1_000.0 {
        format!("{us:.0} µs")
    } else if us < 1_000_000.0 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

/// Parses `METRIC=PERCENT`.
///
/// # Errors
/// An unknown metric or a percentage that is not a non-negative number.
pub fn parse_threshold(s: &str) -> Result<(Metric, f64), String> {
    let (metric, pct) = s
        .split_once('=')
        .ok_or_else(|| format!("expected METRIC=PERCENT (e.g. p99=25), got `{s}`"))?;
    let metric: Metric = metric.trim().parse()?;
    let pct: f64 = pct
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{pct}` in `{s}` is not a percentage"))?;
    if !pct.is_finite() || pct < 0.0 {
        return Err(format!("threshold `{s}` must be a non-negative percentage"));
    }
    Ok((metric, pct))
}

/// What counts as a change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Options {
    /// Noise threshold per metric, percent.
    pub thresholds_pct: BTreeMap<Metric, f64>,
    /// Significance level of the Mann-Whitney test.
    pub alpha: f64,
    /// Confidence level of the change intervals.
    pub confidence: f64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            thresholds_pct: Metric::ALL
                .into_iter()
                .map(|m| (m, m.default_threshold_pct()))
                .collect(),
            alpha: 0.05,
            confidence: results::CONFIDENCE,
        }
    }
}

impl Options {
    fn threshold(&self, metric: Metric) -> f64 {
        self.thresholds_pct
            .get(&metric)
            .copied()
            .unwrap_or_else(|| metric.default_threshold_pct())
    }
}

/// A verdict on one figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Worse, significantly and beyond the threshold.
    Regressed,
    /// Better, significantly and beyond the threshold.
    Improved,
    /// Beyond the threshold but not significant, or too few trials.
    Inconclusive,
    /// Within the noise threshold.
    Unchanged,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Unchanged => "unchanged",
        })
    }
}

/// One metric of one matched cell (or swept rate).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// The cell.
    pub cell: CellId,
    /// The offered rate for a sweep point; `None` for the closed loop.
    pub rate_rps: Option<f64>,
    /// The figure.
    pub metric: Metric,
    /// Baseline trials.
    pub baseline: Estimate,
    /// Candidate trials.
    pub candidate: Estimate,
    /// Relative change of the medians with its interval.
    pub change: Option<RelativeChange>,
    /// Two-sided Mann-Whitney U p-value over the trials.
    pub p_value: f64,
    /// The noise threshold applied, percent.
    pub threshold_pct: f64,
    /// The outcome.
    pub verdict: Verdict,
    /// Why, in a few words.
    pub reason: String,
}

/// A cell present on both sides but measured on only one (or neither).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusChange {
    /// The cell.
    pub cell: CellId,
    /// Its status in the baseline.
    pub baseline: String,
    /// Its status in the candidate.
    pub candidate: String,
    /// Measured in the baseline, failed in the candidate: counts as a regression.
    pub broken: bool,
}

/// One side's provenance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Side {
    /// The file.
    pub path: PathBuf,
    /// When it ran.
    pub started_at: String,
    /// The checkout it ran from.
    pub git_revision: String,
    /// Scenario name.
    pub scenario: String,
    /// CPU model and cores.
    pub machine: String,
}

impl Side {
    fn of(path: &Path, results: &RunResults) -> Self {
        Self {
            path: path.to_owned(),
            started_at: results.started_at.clone(),
            git_revision: results.environment.git_revision.clone(),
            scenario: results.scenario.meta.name.clone(),
            machine: format!("{} × {}", results.environment.cores, results.environment.cpu),
        }
    }
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    /// The reference run.
    pub baseline: Side,
    /// The run judged.
    pub candidate: Side,
    /// Thresholds and significance level.
    pub options: Options,
    /// Every compared figure.
    pub rows: Vec<Row>,
    /// Matched cells measured on only one side.
    pub status_changes: Vec<StatusChange>,
    /// Cells (or swept rates) only in the baseline.
    pub only_in_baseline: Vec<String>,
    /// Cells (or swept rates) only in the candidate.
    pub only_in_candidate: Vec<String>,
    /// Things a reader should know (different machines, too few trials).
    pub warnings: Vec<String>,
}

impl Comparison {
    /// Rows with a verdict.
    pub fn with_verdict(&self, verdict: Verdict) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(move |r| r.verdict == verdict)
    }

    /// Whether anything regressed (a figure, or a cell that stopped working).
    pub fn regressed(&self) -> bool {
        self.with_verdict(Verdict::Regressed).next().is_some() || self.status_changes.iter().any(|s| s.broken)
    }

    /// The process exit code: [`EXIT_REGRESSION`] on a regression, else 0.
    pub fn exit_code(&self) -> i32 {
        if self.regressed() { EXIT_REGRESSION } else { 0 }
    }
}

fn status_name(status: &CellStatus) -> String {
    match status {
        CellStatus::Ok => "ok".into(),
        CellStatus::Failed { error } => format!("failed: {error}"),
        CellStatus::Unavailable { reason } => format!("unavailable: {reason}"),
        CellStatus::NotApplicable { reason } => format!("n/a: {reason}"),
    }
}

/// Sweep rates are matched in thousandths of a request per second, so a
/// ramp's computed rates (100 × 1.5ⁿ) meet across files.
fn rate_key(rate: f64) -> i64 {
    (rate * 1000.0).round() as i64
}

/// A stable seed per row, so a comparison prints the same intervals every time.
fn seed_of(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Per-rate samples of a cell's sweeps: rate key → (rate, p50s, p99s).
fn sweep_samples(cell: &CellResult) -> BTreeMap<i64, (f64, Vec<f64>, Vec<f64>)> {
    let mut out: BTreeMap<i64, (f64, Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for trial in &cell.trials {
        // A point without a successful request has no latency to compare.
        for point in trial.sweep.iter().filter(|p| p.load.latency_us.p99 > 0.0) {
            let rate = point.point.target_rps;
            let entry = out
                .entry(rate_key(rate))
                .or_insert((rate, Vec::new(), Vec::new()));
            entry.1.push(point.load.latency_us.p50);
            entry.2.push(point.load.latency_us.p99);
        }
    }
    out
}

/// Judges one figure.
fn judge(
    cell: &CellId,
    rate_rps: Option<f64>,
    metric: Metric,
    base: &[f64],
    cand: &[f64],
    options: &Options,
) -> Row {
    let label = format!("{cell}@{rate_rps:?}/{}", metric.name());
    let seed = seed_of(&label);
    let threshold_pct = options.threshold(metric);
    let change = stats::relative_change(base, cand, options.confidence, seed);
    let p_value = stats::mann_whitney_p(base, cand);
    let (verdict, reason) = match change {
        _ if base.len() < 2 || cand.len() < 2 => (
            Verdict::Inconclusive,
            format!("{} vs {} trials: too few to test", base.len(), cand.len()),
        ),
        None => (Verdict::Inconclusive, "baseline median is 0: no ratio".into()),
        Some(c) => {
            let beyond = c.change.abs() * 100.0 > threshold_pct;
            let significant = p_value < options.alpha;
            let worse = if metric.higher_is_better() {
                c.change < 0.0
            } else {
                c.change > 0.0
            };
            match (beyond, significant) {
                (true, true) if worse => (
                    Verdict::Regressed,
                    format!("p = {p_value:.3} < {}", options.alpha),
                ),
                (true, true) => (Verdict::Improved, format!("p = {p_value:.3} < {}", options.alpha)),
                (true, false) => (
                    Verdict::Inconclusive,
                    format!("beyond {threshold_pct}% but p = {p_value:.3} ≥ {}", options.alpha),
                ),
                (false, _) => (Verdict::Unchanged, format!("within {threshold_pct}%")),
            }
        }
    };
    let est = |s: &[f64]| stats::estimate(s, options.confidence, seed);
    Row {
        cell: cell.clone(),
        rate_rps,
        metric,
        baseline: est(base),
        candidate: est(cand),
        change,
        p_value,
        threshold_pct,
        verdict,
        reason,
    }
}

/// Compares two runs.
pub fn compare(
    baseline_path: &Path,
    baseline: &RunResults,
    candidate_path: &Path,
    candidate: &RunResults,
    options: &Options,
) -> Comparison {
    let mut comparison = Comparison {
        baseline: Side::of(baseline_path, baseline),
        candidate: Side::of(candidate_path, candidate),
        options: options.clone(),
        rows: Vec::new(),
        status_changes: Vec::new(),
        only_in_baseline: Vec::new(),
        only_in_candidate: Vec::new(),
        warnings: Vec::new(),
    };
    let (be, ce) = (&baseline.environment, &candidate.environment);
    if (be.cpu.as_str(), be.cores) != (ce.cpu.as_str(), ce.cores) {
        comparison.warnings.push(format!(
            "different machines: baseline {} × {}, candidate {} × {}; changes may be the machine's",
            be.cores, be.cpu, ce.cores, ce.cpu
        ));
    }
    let by_id = |r: &RunResults| -> BTreeMap<CellId, CellResult> {
        r.cells.iter().map(|c| (c.id.clone(), c.clone())).collect()
    };
    let (base_cells, cand_cells) = (by_id(baseline), by_id(candidate));
    let mut few_trials = BTreeSet::new();
    for (id, base) in &base_cells {
        let Some(cand) = cand_cells.get(id) else {
            comparison.only_in_baseline.push(id.to_string());
            continue;
        };
        let measured = |c: &CellResult| c.status == CellStatus::Ok && !c.trials.is_empty();
        if !measured(base) || !measured(cand) {
            if measured(base) || measured(cand) || base.status != cand.status {
                comparison.status_changes.push(StatusChange {
                    cell: id.clone(),
                    baseline: status_name(&base.status),
                    candidate: status_name(&cand.status),
                    broken: measured(base) && matches!(cand.status, CellStatus::Failed { .. }),
                });
            }
            continue;
        }
        for side in [base, cand] {
            if side.trials.len() < 4 {
                few_trials.insert(side.trials.len());
            }
        }
        for metric in Metric::ALL {
            let samples = |c: &CellResult| -> Vec<f64> {
                c.trials.iter().filter_map(|t| metric.closed_loop(t)).collect()
            };
            let (b, c) = (samples(base), samples(cand));
            if b.is_empty() && c.is_empty() {
                continue; // not measured in either (e.g. no sweep): nothing to say
            }
            comparison.rows.push(judge(id, None, metric, &b, &c, options));
        }
        let (base_sweep, cand_sweep) = (sweep_samples(base), sweep_samples(cand));
        for (key, (rate, b50, b99)) in &base_sweep {
            let Some((_, c50, c99)) = cand_sweep.get(key) else {
                comparison.only_in_baseline.push(format!("{id} @ {rate} req/s"));
                continue;
            };
            comparison
                .rows
                .push(judge(id, Some(*rate), Metric::P50, b50, c50, options));
            comparison
                .rows
                .push(judge(id, Some(*rate), Metric::P99, b99, c99, options));
        }
        for (key, (rate, ..)) in &cand_sweep {
            if !base_sweep.contains_key(key) {
                comparison.only_in_candidate.push(format!("{id} @ {rate} req/s"));
            }
        }
    }
    for id in cand_cells.keys() {
        if !base_cells.contains_key(id) {
            comparison.only_in_candidate.push(id.to_string());
        }
    }
    if let Some(fewest) = few_trials.first() {
        comparison.warnings.push(format!(
            "some cells have only {fewest} trial(s): Mann-Whitney needs at least 4 a side to reach p < 0.05, \
             so no change in them can be called a regression"
        ));
    }
    comparison
}

/// Reads both files and compares them.
///
/// # Errors
/// Either file is unreadable or not a results document.
pub fn compare_files(baseline: &Path, candidate: &Path, options: &Options) -> Result<Comparison> {
    let base = results::read(baseline)?;
    let cand = results::read(candidate)?;
    Ok(compare(baseline, &base, candidate, &cand, options))
}
