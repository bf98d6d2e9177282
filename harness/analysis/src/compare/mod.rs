//! Baseline vs candidate: two results files, cells matched by identity, each
//! figure judged over the trials. The verdicts set the exit code, so a
//! nightly job fails on a regression and only on one that is both real and
//! large enough to matter.
//!
//! Per metric and cell (and per swept rate): the relative change of the
//! medians with a distribution-free interval ([`stats::relative_change`]:
//! the ratio of the two medians' order-statistic intervals, conservative,
//! its actual level stated), the two-sided Mann-Whitney U p-value over the
//! trials (exact up to 10 trials a side; no normality assumed: trials are
//! skewed and sometimes bimodal), Holm-adjusted across every tested figure
//! of the comparison, and a verdict:
//! - *regressed* / *improved*: the whole interval is beyond the threshold on
//!   the worse / better side **and** the Holm-adjusted p < alpha;
//! - *unchanged*: the whole interval lies within ±threshold, at a level of
//!   at least [`MIN_UNCHANGED_LEVEL`];
//! - *inconclusive*: anything else: an interval that straddles the
//!   threshold, a change the test cannot confirm, one trial (no interval).
//!
//! Same-run A/B (`ab`, [`Options::paired`]): trial *i* of both sides ran
//! back to back, so the change is judged on the pairs instead
//! ([`crate::paired`]: the Hodges–Lehmann log-ratio with its signed-rank
//! interval, and the Wilcoxon signed-rank p-value), which cancels what the
//! machine did between pairs; the verdict rules are the same.
//!
//! Errors are gated apart from thresholds: a cell whose baseline had no
//! errors and whose candidate has any has regressed, whatever its figures.
//! A cell that did not run to the end on either side is *not compared*
//! (never *unchanged*), and an incomplete candidate fails the comparison.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::paired;
use crate::results::{self, CellResult, CellStatus, RunResults, TrialResult};
use crate::settings::CellId;
use crate::stats::{self, Estimate, RelativeChange};

mod html;
mod markdown;

pub use html::render_html;
pub use markdown::render_markdown;

/// The lowest interval level at which "unchanged" is said: an interval
/// within the threshold means little if it misses half the time (2 pairs
/// reach 50 %, 3 trials a side 56 %). Five trials a side (88 %) or four
/// pairs (88 %) reach it.
pub const MIN_UNCHANGED_LEVEL: f64 = 0.85;

/// Exit code of `compare` when a regression passed both tests.
pub const EXIT_REGRESSION: i32 = 3;

/// Exit code of `compare` when nothing regressed but the candidate did not
/// run to the end: an unmeasured cell is no evidence of "no regression".
pub const EXIT_INCOMPLETE: i32 = 4;

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
    /// Failed requests over all requests.
    Errors,
}

impl Metric {
    /// Every metric, in table order.
    pub const ALL: [Metric; 7] = [
        Metric::Throughput,
        Metric::P50,
        Metric::P99,
        Metric::Cpu,
        Metric::Rss,
        Metric::Knee,
        Metric::Errors,
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
            Metric::Errors => "errors",
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
            // Only between two non-zero rates; from zero any error regresses.
            Metric::Errors => 50.0,
        }
    }

    /// Formats a value of this metric with its unit.
    pub fn format(self, value: f64) -> String {
        match self {
            Metric::Throughput | Metric::Knee => format!("{value:.0} req/s"),
            Metric::P50 | Metric::P99 => fmt_us(value),
            Metric::Cpu => format!("{value:.0} µs/req"),
            Metric::Rss => format!("{:.1} MiB", value / (1024.0 * 1024.0)),
            Metric::Errors => fmt_rate(value),
        }
    }

    /// One closed-loop trial's value.
    fn closed_loop(self, trial: &TrialResult) -> Option<f64> {
        match self {
            Metric::Throughput => Some(trial.load.throughput_rps),
            Metric::P50 => results::latency(&trial.load).map(|l| l.p50),
            Metric::P99 => results::latency(&trial.load).map(|l| l.p99),
            Metric::Cpu => trial.cpu_per_request_us,
            Metric::Rss => app_peak_rss(trial),
            // A trial whose lowest rate already failed has knee 0.
            Metric::Knee => (!trial.sweep.is_empty()).then(|| trial.knee_rps.unwrap_or(0.0)),
            Metric::Errors => results::error_rate([&trial.load]),
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

/// An error rate as a percentage with enough digits to show one error in
/// a million requests.
pub fn fmt_rate(rate: f64) -> String {
    match rate * 100.0 {
        0.0 => "0%".into(),
        pct if pct < 0.01 => format!("{pct:.4}%"),
        pct if pct < 1.0 => format!("{pct:.2}%"),
        pct => format!("{pct:.1}%"),
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
    /// Family-wise significance level: Holm-adjusted Mann-Whitney p-values
    /// are compared with it.
    pub alpha: f64,
    /// Nominal confidence level of the change intervals.
    pub confidence: f64,
    /// Trial `i` of the baseline and trial `i` of the candidate ran back to
    /// back (same-run A/B): judge the pairs' log-ratios ([`crate::paired`])
    /// instead of two independent samples.
    #[serde(default)]
    pub paired: bool,
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
            paired: false,
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
    /// Worse: the whole interval beyond the threshold and significant after
    /// Holm (or errors where the baseline had none).
    Regressed,
    /// Better, by the same rule.
    Improved,
    /// The interval straddles the threshold, the test cannot confirm the
    /// change, or one trial allows no interval.
    Inconclusive,
    /// The whole interval within ±threshold.
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
    /// Baseline trials; `None` when no trial has the figure (e.g. latency
    /// without a successful request).
    pub baseline: Option<Estimate>,
    /// Candidate trials; `None` likewise.
    pub candidate: Option<Estimate>,
    /// Relative change of the medians with its interval.
    pub change: Option<RelativeChange>,
    /// Two-sided Mann-Whitney U p-value over the trials; `None` for a
    /// figure decided by rule, not by test (errors from or to zero).
    pub p_value: Option<f64>,
    /// The p-value after Holm's adjustment across every tested figure of
    /// the comparison.
    pub p_adjusted: Option<f64>,
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
    /// The daprd it ran: version and path.
    #[serde(default)]
    pub daprd: String,
    /// Variables its app host got on top of the children's environment.
    #[serde(default)]
    pub app_environment: BTreeMap<String, String>,
}

impl Side {
    fn of(path: &Path, results: &RunResults) -> Self {
        let env = &results.environment;
        Self {
            path: path.to_owned(),
            started_at: results.started_at.clone(),
            git_revision: env.git_revision.clone(),
            scenario: results.scenario.meta.name.clone(),
            machine: format!("{} × {}", env.cores, env.cpu),
            daprd: env
                .daprd
                .as_ref()
                .map_or_else(String::new, |d| format!("{} ({})", d.version, d.path.display())),
            app_environment: env.app_environment.clone(),
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
    /// Matched cells that did not run to the end on a side: not compared.
    pub not_compared: Vec<NotCompared>,
    /// Whether the baseline ran to its end.
    pub baseline_complete: bool,
    /// Whether the candidate ran to its end (if not: [`EXIT_INCOMPLETE`]).
    pub candidate_complete: bool,
    /// Things a reader should know (different machines, too few trials).
    pub warnings: Vec<String>,
}

/// A cell left out because it did not run to the end on a side.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotCompared {
    /// The cell.
    pub cell: CellId,
    /// Why, naming the side.
    pub reason: String,
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

    /// The process exit code: [`EXIT_REGRESSION`] on a regression, else
    /// [`EXIT_INCOMPLETE`] for an incomplete candidate, else 0.
    pub fn exit_code(&self) -> i32 {
        if self.regressed() {
            EXIT_REGRESSION
        } else if !self.candidate_complete {
            EXIT_INCOMPLETE
        } else {
            0
        }
    }
}

/// Sweep rates are matched in thousandths of a request per second, so a
/// ramp's computed rates (100 × 1.5ⁿ) meet across files.
fn rate_key(rate: f64) -> i64 {
    (rate * 1000.0).round() as i64
}

/// A figure of each trial that has it: (trial number, value).
type Samples = Vec<(usize, f64)>;

/// Per-rate samples of a cell's sweeps: rate key → (rate, p50s, p99s).
fn sweep_samples(cell: &CellResult) -> BTreeMap<i64, (f64, Samples, Samples)> {
    let mut out: BTreeMap<i64, (f64, Samples, Samples)> = BTreeMap::new();
    for trial in &cell.trials {
        // A point without a successful request has no latency to compare.
        for point in &trial.sweep {
            let Some(latency) = results::latency(&point.load) else {
                continue;
            };
            let rate = point.point.target_rps;
            let entry = out
                .entry(rate_key(rate))
                .or_insert((rate, Vec::new(), Vec::new()));
            entry.1.push((trial.trial, latency.p50));
            entry.2.push((trial.trial, latency.p99));
        }
    }
    out
}

/// One figure's samples, change and raw p-value, before the verdict.
/// Unpaired: the ratio of the medians and Mann-Whitney over the two samples.
/// Paired: the Hodges–Lehmann log-ratio of the trials both sides have and
/// the signed-rank test over them.
fn measure(
    cell: &CellId,
    rate_rps: Option<f64>,
    metric: Metric,
    base: &[(usize, f64)],
    cand: &[(usize, f64)],
    options: &Options,
) -> Row {
    let values = |s: &[(usize, f64)]| -> Vec<f64> { s.iter().map(|(_, v)| *v).collect() };
    let (b, c) = (values(base), values(cand));
    let est = |s: &[f64]| (!s.is_empty()).then(|| stats::estimate(s, options.confidence));
    let tested = !b.is_empty() && !c.is_empty();
    let (change, p_value) = if options.paired {
        let pairs: Vec<(f64, f64)> = base
            .iter()
            .filter_map(|(trial, bv)| cand.iter().find(|(t, _)| t == trial).map(|(_, cv)| (*bv, *cv)))
            .collect();
        match paired::paired_change(&pairs, options.confidence) {
            Some((change, p)) => (Some(change), Some(p)),
            None => (None, None),
        }
    } else {
        (
            stats::relative_change(&b, &c, options.confidence),
            tested.then(|| stats::mann_whitney_p(&b, &c)),
        )
    };
    Row {
        cell: cell.clone(),
        rate_rps,
        metric,
        baseline: est(&b),
        candidate: est(&c),
        change,
        p_value,
        p_adjusted: None,
        threshold_pct: options.threshold(metric),
        verdict: Verdict::Inconclusive,
        reason: String::new(),
    }
}

/// The error-rate row of a matched cell: from or to zero it is decided by
/// rule (any error where there was none is a regression, whatever the
/// thresholds); between two non-zero rates it is tested like any figure.
fn errors_row(cell: &CellId, base: &CellResult, cand: &CellResult, options: &Options) -> Option<Row> {
    let samples = |c: &CellResult| -> Samples {
        c.trials
            .iter()
            .filter_map(|t| Metric::Errors.closed_loop(t).map(|v| (t.trial, v)))
            .collect()
    };
    let mut row = measure(
        cell,
        None,
        Metric::Errors,
        &samples(base),
        &samples(cand),
        options,
    );
    let (b, c) = (
        results::error_rate(base.trials.iter().map(|t| &t.load))?,
        results::error_rate(cand.trials.iter().map(|t| &t.load))?,
    );
    let rule = match (b > 0.0, c > 0.0) {
        (false, false) => Some((Verdict::Unchanged, "no errors on either side".to_owned())),
        (false, true) => Some((
            Verdict::Regressed,
            format!("error rate {} where the baseline had none", fmt_rate(c)),
        )),
        (true, false) => Some((
            Verdict::Improved,
            format!("no errors; the baseline's error rate was {}", fmt_rate(b)),
        )),
        (true, true) => None,
    };
    if let Some((verdict, reason)) = rule {
        row.p_value = None;
        row.verdict = verdict;
        row.reason = reason;
    }
    Some(row)
}

/// The verdict of a tested row from its interval and its adjusted p-value.
fn decide(row: &Row, options: &Options) -> (Verdict, String) {
    let (Some(b), Some(c)) = (&row.baseline, &row.candidate) else {
        let side = if row.baseline.is_none() {
            "baseline"
        } else {
            "candidate"
        };
        return (
            Verdict::Inconclusive,
            format!("not measured in the {side} (e.g. no successful request)"),
        );
    };
    let Some(change) = row.change else {
        return (Verdict::Inconclusive, "baseline median is 0: no ratio".into());
    };
    let Some((lo, hi)) = change.interval() else {
        return (
            Verdict::Inconclusive,
            format!("{} vs {} trial(s): no interval with one", b.n, c.n),
        );
    };
    let t = row.threshold_pct / 100.0;
    let level = stats::fmt_level(change.confidence);
    let span = format!("{level} interval [{:+.1}%, {:+.1}%]", lo * 100.0, hi * 100.0);
    // The interval in "how much worse" terms.
    let (worse_lo, worse_hi) = if row.metric.higher_is_better() {
        (-hi, -lo)
    } else {
        (lo, hi)
    };
    let p = row.p_adjusted.or(row.p_value).unwrap_or(1.0);
    let significant = p < options.alpha;
    let pct = row.threshold_pct;
    if worse_lo > t || worse_hi < -t {
        let (verdict, side) = if worse_lo > t {
            (Verdict::Regressed, "worse")
        } else {
            (Verdict::Improved, "better")
        };
        if significant {
            (
                verdict,
                format!(
                    "{span} wholly {side} than {pct}%; Holm p = {p:.3} < {}",
                    options.alpha
                ),
            )
        } else {
            (
                Verdict::Inconclusive,
                format!(
                    "{span} wholly {side} than {pct}% but Holm p = {p:.3} ≥ {}",
                    options.alpha
                ),
            )
        }
    } else if lo >= -t && hi <= t && change.confidence < MIN_UNCHANGED_LEVEL {
        (
            Verdict::Inconclusive,
            format!(
                "{span} within ±{pct}%, but at a level below {}: too few trials to call it unchanged",
                stats::fmt_level(MIN_UNCHANGED_LEVEL)
            ),
        )
    } else if lo >= -t && hi <= t {
        (Verdict::Unchanged, format!("{span} within ±{pct}%"))
    } else {
        (Verdict::Inconclusive, format!("{span} straddles ±{pct}%"))
    }
}

/// Holm across the rows a test decides, then each such row's verdict.
fn judge_all(rows: &mut [Row], options: &Options) {
    let tested: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].p_value.is_some() && rows[i].reason.is_empty())
        .collect();
    let raw: Vec<f64> = tested.iter().map(|&i| rows[i].p_value.unwrap_or(1.0)).collect();
    for (&i, adjusted) in tested.iter().zip(stats::holm(&raw)) {
        rows[i].p_adjusted = Some(adjusted);
    }
    for row in rows.iter_mut().filter(|r| r.reason.is_empty()) {
        let (verdict, reason) = decide(row, options);
        row.verdict = verdict;
        row.reason = reason;
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
        not_compared: Vec::new(),
        baseline_complete: baseline.is_complete(),
        candidate_complete: candidate.is_complete(),
        warnings: Vec::new(),
    };
    for (side, run, complete) in [
        ("baseline", baseline, comparison.baseline_complete),
        ("candidate", candidate, comparison.candidate_complete),
    ] {
        if !complete {
            comparison.warnings.push(format!(
                "the {side} did not run to its end ({} cell(s) unfinished){}",
                run.unfinished_cells().len(),
                if side == "candidate" {
                    format!(": no verdict on what it did not measure (exit {EXIT_INCOMPLETE} unless something regressed)")
                } else {
                    String::new()
                }
            ));
        }
    }
    let unfinished =
        |r: &RunResults| -> BTreeMap<CellId, String> { r.unfinished_cells().into_iter().collect() };
    let (base_unfinished, cand_unfinished) = (unfinished(baseline), unfinished(candidate));
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
        let why: Vec<String> = [("baseline", &base_unfinished), ("candidate", &cand_unfinished)]
            .into_iter()
            .filter_map(|(side, list)| list.get(id).map(|w| format!("{side}: {w}")))
            .collect();
        if !why.is_empty() {
            comparison.not_compared.push(NotCompared {
                cell: id.clone(),
                reason: why.join("; "),
            });
            continue;
        }
        let measured = |c: &CellResult| c.status == CellStatus::Ok && !c.trials.is_empty();
        if !measured(base) || !measured(cand) {
            if measured(base) || measured(cand) || base.status != cand.status {
                comparison.status_changes.push(StatusChange {
                    cell: id.clone(),
                    baseline: base.status.describe(),
                    candidate: cand.status.describe(),
                    broken: measured(base) && matches!(cand.status, CellStatus::Failed { .. }),
                });
            }
            continue;
        }
        // The fewest samples that can reach p < 0.05 at all: 4 a side for
        // Mann-Whitney (2/70), 6 pairs for the signed-rank test (2/64).
        let least = if options.paired { 6 } else { 4 };
        for side in [base, cand] {
            if side.trials.len() < least {
                few_trials.insert(side.trials.len());
            }
        }
        for metric in Metric::ALL.into_iter().filter(|m| *m != Metric::Errors) {
            let samples = |c: &CellResult| -> Samples {
                c.trials
                    .iter()
                    .filter_map(|t| metric.closed_loop(t).map(|v| (t.trial, v)))
                    .collect()
            };
            let (b, c) = (samples(base), samples(cand));
            if b.is_empty() && c.is_empty() {
                continue; // not measured in either (e.g. no sweep): nothing to say
            }
            comparison.rows.push(measure(id, None, metric, &b, &c, options));
        }
        comparison.rows.extend(errors_row(id, base, cand, options));
        let (base_sweep, cand_sweep) = (sweep_samples(base), sweep_samples(cand));
        for (key, (rate, b50, b99)) in &base_sweep {
            let Some((_, c50, c99)) = cand_sweep.get(key) else {
                comparison.only_in_baseline.push(format!("{id} @ {rate} req/s"));
                continue;
            };
            comparison
                .rows
                .push(measure(id, Some(*rate), Metric::P50, b50, c50, options));
            comparison
                .rows
                .push(measure(id, Some(*rate), Metric::P99, b99, c99, options));
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
    for id in cand_cells.keys() {
        if !base_cells.contains_key(id)
            && let Some(why) = cand_unfinished.get(id)
        {
            comparison.not_compared.push(NotCompared {
                cell: id.clone(),
                reason: format!("candidate: {why}"),
            });
        }
    }
    judge_all(&mut comparison.rows, options);
    if let Some(fewest) = few_trials.first() {
        let test = if options.paired {
            "the signed-rank test needs at least 6 pairs"
        } else {
            "Mann-Whitney needs at least 4 a side"
        };
        comparison.warnings.push(format!(
            "some cells have only {fewest} trial(s): {test} to reach p < 0.05 before Holm's adjustment \
             (more with more figures), so no change in them can be called a regression"
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
    let options = Options {
        paired: options.paired || same_run(&base, &cand),
        ..options.clone()
    };
    Ok(compare(baseline, &base, candidate, &cand, &options))
}

/// Whether two results files are the two sides of one same-run A/B
/// (`blueprint-bench ab`): one start, one seed, one scenario, and every
/// trial of a cell on both sides ran back to back with its partner. Such
/// files are compared pair by pair, as `ab` itself compares them: the
/// machine's load over the run moves both trials of a pair alike, so the
/// pairs' ratios carry far less of it than two independent samples do.
pub fn same_run(base: &RunResults, cand: &RunResults) -> bool {
    if base.started_at != cand.started_at
        || base.scenario.meta.seed.is_none()
        || base.scenario.meta.seed != cand.scenario.meta.seed
        || base.scenario.path != cand.scenario.path
    {
        return false;
    }
    let mut pairs = 0;
    for b in &base.cells {
        let Some(c) = cand.cells.iter().find(|c| c.id == b.id) else {
            continue;
        };
        for t in &b.trials {
            match c.trials.iter().find(|u| u.trial == t.trial) {
                Some(u) if u.order.abs_diff(t.order) == 1 => pairs += 1,
                _ => return false,
            }
        }
    }
    pairs > 0
}
