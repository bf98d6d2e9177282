//! Rate sweeps: open-loop load at increasing rates, and the **knee** — the
//! highest offered rate the blueprint still serves at its low-rate latency.
//!
//! # The rule ([`judge`], [`assess`])
//! A step (one open-loop run at one rate) passes when
//! - the generator kept its own schedule: it sent at least 99 % of the
//!   requests *its schedule* held in the window (`sent / intended`, not
//!   `sent / (rate × window)`: a Poisson schedule's own count is random, and
//!   at 100 req/s for 10 s it falls short of 99 % of 1,000 about four times
//!   in ten whatever the system does);
//! - errors stay within [`MAX_ERROR_RATE`] of completed requests (one error
//!   does not fail a rate; a failing system does);
//! - its p99 (from each request's intended start, so queueing counts; a
//!   lower bound when timeouts or unsent requests are in it) is within
//!   `factor` × the **floor**: the median p99 of the lowest [`FLOOR_RATES`]
//!   rates (the lower of two when only two are known), not one point.
//!
//! A step where the generator itself fell behind (`generator_bound`) is
//! neither: it says nothing about the system, and is never its knee. A step
//! whose sends were late because the machine had no CPU to spare
//! (`machine_saturated`: the generator had CPU to spare and waited for
//! one) is judged like any other: its latency counts from each intended
//! start, so the wait is in it, and a system that takes the whole machine at
//! a rate has reached its knee there. Which of these ended the passing run
//! is the sweep's [`KneeLimit`].
//!
//! A rate passes when its first step passes; a failing rate is retested and
//! passes on 2 of 3 steps ([`rate_outcome`]), so one noisy step does not end
//! a ramp. The knee is the highest rate of the run of passing rates that
//! starts at the lowest rate: one lucky rate above a failure does not move
//! it. Every step draws a fresh Poisson seed (kept in its point), and lasts
//! long enough for its rate ([`step_duration`]).

use std::time::Duration;

use blueprint_load::LoadSummary;
use serde::{Deserialize, Serialize};

/// A step keeps its schedule when it sent at least this fraction of the
/// requests due in its window.
pub const MIN_SENT_FRACTION: f64 = 0.99;

/// Errors, as a fraction of completed requests, above which a step fails.
pub const MAX_ERROR_RATE: f64 = 0.001;

/// The floor is the median p99 of this many lowest rates.
pub const FLOOR_RATES: usize = 3;

/// Most steps run at one rate: the first, and two retests.
pub const MAX_ATTEMPTS: usize = 3;

/// A step lasts long enough for about this many intended requests …
pub const MIN_INTENDED_PER_STEP: f64 = 2_000.0;

/// … but never longer than this.
pub const MAX_STEP: Duration = Duration::from_secs(60);

/// How long a step at `rate` lasts: `configured`, or long enough for
/// [`MIN_INTENDED_PER_STEP`] requests when that is longer, at most
/// [`MAX_STEP`] (and never shorter than `configured`).
pub fn step_duration(rate: f64, configured: Duration) -> Duration {
    let needed = if rate.is_finite() && rate > 0.0 {
        Duration::try_from_secs_f64(MIN_INTENDED_PER_STEP / rate).unwrap_or(MAX_STEP)
    } else {
        MAX_STEP
    };
    configured.max(needed.min(MAX_STEP))
}

/// How rates are chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ramp {
    /// First rate, requests per second.
    pub start: f64,
    /// Each next rate is the previous one times this.
    pub factor: f64,
    /// Stop before exceeding this rate.
    pub max: f64,
    /// After the ramp, bisect between the knee and the first failing rate
    /// above it until they are within this fraction of each other (see
    /// [`next_bisection_rate`]); `None` (files from before it) or 0: no
    /// bisection. Scenarios default to [`DEFAULT_REFINE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refine: Option<f64>,
}

/// The bracket a ramp's knee is bisected down to unless a scenario says
/// otherwise: 5 % between the last passing and the first failing rate.
pub const DEFAULT_REFINE: f64 = 0.05;

/// Most bisection probes after a ramp (a 1.5× bracket needs 3 for 5 %).
pub const MAX_BISECTIONS: usize = 8;

impl Ramp {
    /// How many bisection probes at most a ramp with this `refine` takes
    /// to narrow one `factor` bracket.
    pub fn bisections(&self) -> usize {
        match self.refine {
            Some(r) if r > 0.0 && self.factor > 1.0 + r => {
                let halvings = (self.factor.ln() / (1.0 + r).ln()).log2().ceil();
                (halvings.max(0.0) as usize).min(MAX_BISECTIONS)
            }
            _ => 0,
        }
    }

    /// The rates a ramp visits, at most 32.
    pub fn rates(&self) -> Vec<f64> {
        let mut rates = Vec::new();
        let mut rate = self.start;
        while rate <= self.max && rates.len() < 32 {
            rates.push(rate);
            rate *= self.factor;
        }
        rates
    }
}

/// One step: one open-loop run at one rate. Fields with `serde(default)` are
/// absent from files written before them; [`judge`] falls back to the old
/// rule (achieved ÷ asked) for those.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatePoint {
    /// Rate asked for, requests per second.
    pub target_rps: f64,
    /// Sends per second the generator achieved.
    pub achieved_rps: f64,
    /// p99 latency from intended start, µs; 0 when no request succeeded.
    pub p99_us: f64,
    /// Requests that failed.
    pub errors: u64,
    /// Requests completed, errors included.
    #[serde(default)]
    pub requests: u64,
    /// Sends the schedule held in the window.
    #[serde(default)]
    pub intended: u64,
    /// Of those, sent.
    #[serde(default)]
    pub sent: u64,
    /// `p99_us` is a lower bound (timeouts or unsent requests reach it).
    #[serde(default)]
    pub p99_lower_bound: bool,
    /// The generator itself fell behind: the step says nothing of the system.
    #[serde(default)]
    pub generator_bound: bool,
    /// Sends were late because the generator, with CPU to spare, waited for
    /// the busy machine's: judged as any step, the wait included.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub machine_saturated: bool,
    /// Seed of the step's Poisson schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Which step at this rate: 0 first, then retests.
    #[serde(default)]
    pub attempt: u32,
}

impl RatePoint {
    /// The figures of a step at `target_rps` from its load summary.
    pub fn of(target_rps: f64, attempt: u32, load: &LoadSummary) -> Self {
        let open = load.open_loop.as_ref();
        Self {
            target_rps,
            achieved_rps: open.map_or(load.throughput_rps, |o| o.achieved_rate_rps),
            p99_us: load.latency_us.map_or(0.0, |l| l.p99),
            errors: load.errors.values().fold(0, |sum, n| sum.saturating_add(*n)),
            requests: load.requests,
            intended: open.map_or(0, |o| o.intended),
            sent: open.map_or(0, |o| o.sent),
            p99_lower_bound: load.is_lower_bound(0.99),
            generator_bound: load.generator_bound(),
            machine_saturated: load.machine_saturated(),
            seed: open.and_then(|o| o.seed),
            attempt,
        }
    }
}

/// What a step, or a rate, came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Served at the floor's latency.
    Pass,
    /// The system did not keep up: schedule, errors or latency.
    Fail,
    /// The generator fell behind; nothing is known of the system.
    GeneratorBound,
}

/// Whether the generator sent what its schedule held.
pub fn schedule_kept(point: &RatePoint) -> bool {
    if point.intended > 0 {
        point.sent as f64 >= MIN_SENT_FRACTION * point.intended as f64
    } else {
        // Files from before `intended` was kept.
        point.achieved_rps >= MIN_SENT_FRACTION * point.target_rps
    }
}

/// Judges one step against the floor (`None`: not known yet, latency is not
/// judged).
pub fn judge(point: &RatePoint, floor_p99_us: Option<f64>, factor: f64) -> Verdict {
    if point.generator_bound {
        return Verdict::GeneratorBound;
    }
    let errors_ok = point.errors as f64 <= MAX_ERROR_RATE * point.requests as f64;
    let latency_ok = point.p99_us > 0.0 && floor_p99_us.is_none_or(|floor| point.p99_us <= factor * floor);
    if schedule_kept(point) && errors_ok && latency_ok {
        Verdict::Pass
    } else {
        Verdict::Fail
    }
}

/// Whether `point` passes against the floor.
pub fn passes(point: &RatePoint, floor_p99_us: f64, factor: f64) -> bool {
    judge(point, Some(floor_p99_us), factor) == Verdict::Pass
}

/// A rate's outcome from its steps' verdicts in order, or `None` while
/// another step is needed: the first step passing passes; otherwise 2 of up
/// to [`MAX_ATTEMPTS`] must. A rate that cannot pass fails when at least two
/// of its steps failed, and is generator-bound otherwise.
pub fn rate_outcome(verdicts: &[Verdict]) -> Option<Verdict> {
    let passed = verdicts.iter().filter(|v| **v == Verdict::Pass).count();
    let failed = verdicts.iter().filter(|v| **v == Verdict::Fail).count();
    let not_passed = verdicts.len() - passed;
    if verdicts.first() == Some(&Verdict::Pass) || passed >= 2 {
        Some(Verdict::Pass)
    } else if not_passed >= 2 || verdicts.len() >= MAX_ATTEMPTS {
        Some(if failed >= 2 {
            Verdict::Fail
        } else {
            Verdict::GeneratorBound
        })
    } else {
        None
    }
}

fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// Distinct rates of `points`, ascending, each with its steps in order.
fn by_rate(points: &[RatePoint]) -> Vec<(f64, Vec<RatePoint>)> {
    let mut rates: Vec<(f64, Vec<RatePoint>)> = Vec::new();
    for p in points {
        match rates.iter_mut().find(|(r, _)| (r - p.target_rps).abs() < 1e-9) {
            Some((_, steps)) => steps.push(*p),
            None => rates.push((p.target_rps, vec![*p])),
        }
    }
    rates.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (_, steps) in &mut rates {
        steps.sort_by_key(|p| p.attempt);
    }
    rates
}

/// The low-rate p99 latencies are judged against: over the lowest
/// [`FLOOR_RATES`] rates with a usable step (some success, generator not
/// behind), each rate's median p99, then the lowest of those. One slow
/// early step cannot loosen the floor (another low rate sets it), and a
/// knee among the lowest rates cannot either: a median there would be the
/// overloaded p99 and call every rate within the knee.
pub fn floor_p99(points: &[RatePoint]) -> Option<f64> {
    let mut per_rate: Vec<f64> = by_rate(points)
        .into_iter()
        .filter_map(|(_, steps)| {
            let mut p99s: Vec<f64> = steps
                .iter()
                .filter(|p| p.p99_us > 0.0 && !p.generator_bound)
                .map(|p| p.p99_us)
                .collect();
            median(&mut p99s)
        })
        .take(FLOOR_RATES)
        .collect();
    per_rate.sort_by(f64::total_cmp);
    per_rate.first().copied()
}

/// A sweep judged as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// The floor p99, µs.
    pub floor_p99_us: Option<f64>,
    /// Each rate, ascending, with its outcome (`None`: needs another step).
    pub rates: Vec<(f64, Option<Verdict>)>,
    /// The knee: the highest rate of the passing run from the lowest rate.
    pub knee_rps: Option<f64>,
    /// The passing run ended at a generator-bound rate: the system's knee
    /// is at least `knee_rps`, perhaps higher.
    pub knee_is_lower_bound: bool,
    /// What ended the passing run; `None` while the rate after it is
    /// undecided.
    pub limit: Option<KneeLimit>,
}

/// What ended a sweep's passing run: what the rate above the knee ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KneeLimit {
    /// The system fell behind: schedule, errors or latency.
    System,
    /// The system fell behind while the generator, with CPU to spare,
    /// waited for the busy machine's: at this rate the system (with the
    /// generator's small share) kept every core busy when it mattered.
    Machine,
    /// The generator fell behind: the knee is a lower bound.
    Generator,
    /// Every rate passed up to the end of the ramp: the knee is a lower bound.
    Ramp,
}

impl KneeLimit {
    /// Whether the knee it ended is only a lower bound: nothing of the
    /// system's own stopped the passing run.
    pub fn is_lower_bound(self) -> bool {
        matches!(self, Self::Generator | Self::Ramp)
    }

    /// The limit in a few words, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Self::System => "the system fell behind",
            Self::Machine => "the machine's cores ran out",
            Self::Generator => "the generator fell behind (knee is a lower bound)",
            Self::Ramp => "the ramp ended (knee is a lower bound)",
        }
    }
}

impl Assessment {
    /// The outcome of `rate`, if it is decided.
    pub fn outcome(&self, rate: f64) -> Option<Verdict> {
        self.rates
            .iter()
            .find(|(r, _)| (r - rate).abs() < 1e-9)
            .and_then(|(_, v)| *v)
    }
}

/// Judges every step of a sweep (in any order) against the sweep's floor,
/// every rate by [`rate_outcome`], and finds the knee.
pub fn assess(points: &[RatePoint], factor: f64) -> Assessment {
    let floor = floor_p99(points);
    let rates: Vec<(f64, Option<Verdict>)> = by_rate(points)
        .into_iter()
        .map(|(rate, steps)| {
            let verdicts: Vec<Verdict> = steps.iter().map(|p| judge(p, floor, factor)).collect();
            (rate, rate_outcome(&verdicts))
        })
        .collect();
    let mut knee_rps = None;
    let mut knee_is_lower_bound = false;
    let mut limit = Some(KneeLimit::Ramp);
    for (rate, outcome) in &rates {
        match outcome {
            Some(Verdict::Pass) => knee_rps = Some(*rate),
            Some(Verdict::GeneratorBound) => {
                knee_is_lower_bound = true;
                limit = Some(KneeLimit::Generator);
                break;
            }
            Some(Verdict::Fail) => {
                let saturated = points.iter().any(|p| {
                    (p.target_rps - rate).abs() < 1e-9
                        && p.machine_saturated
                        && judge(p, floor, factor) == Verdict::Fail
                });
                limit = Some(if saturated {
                    KneeLimit::Machine
                } else {
                    KneeLimit::System
                });
                break;
            }
            None => {
                limit = None;
                break;
            }
        }
    }
    Assessment {
        floor_p99_us: floor,
        rates,
        knee_rps,
        knee_is_lower_bound,
        limit,
    }
}

/// The lowest rate still undecided, to be retested. The floor is known only
/// once the lowest rates have run: a step that passed against the early
/// floor (one slow first step sets it high) can fail against the final one,
/// which leaves its rate with one failing step and no outcome, and the knee
/// unknown until it is retested like any failing rate.
pub fn undecided_rate(assessment: &Assessment) -> Option<f64> {
    assessment
        .rates
        .iter()
        .find(|(_, outcome)| outcome.is_none())
        .map(|(rate, _)| *rate)
}

/// The next rate to probe after a ramp: the geometric middle between the
/// knee and the lowest decided rate above it that failed, while they are
/// more than `refine` apart (`upper / knee > 1 + refine`). `None` when the
/// bracket is narrow enough, when there is no knee or no failing rate above
/// it to bracket (the ramp ended at its `max`, or at a generator-bound
/// rate: nothing is known past it), or when `refine` is not positive.
///
/// Probes only ever land inside the bracket, so every passing rate stays
/// below every failing one and [`assess`]'s knee (the top of the passing
/// run from the lowest rate) is the bracket's lower end.
pub fn next_bisection_rate(assessment: &Assessment, refine: f64) -> Option<f64> {
    if refine.is_nan() || refine <= 0.0 || assessment.knee_is_lower_bound {
        return None;
    }
    let knee = assessment.knee_rps?;
    let upper = assessment
        .rates
        .iter()
        .find(|(rate, outcome)| *rate > knee && outcome.is_some())
        .filter(|(_, outcome)| *outcome == Some(Verdict::Fail))?
        .0;
    if upper / knee <= 1.0 + refine {
        return None;
    }
    // Whole requests per second: a rate the reader can type back in.
    let middle = (knee * upper).sqrt().round();
    (middle > knee && middle < upper).then_some(middle)
}

/// The knee of a sweep (points in any order), or `None` when even the lowest
/// rate fails. See [`assess`].
pub fn knee(points: &[RatePoint], factor: f64) -> Option<f64> {
    assess(points, factor).knee_rps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(target: f64, achieved: f64, p99: f64) -> RatePoint {
        RatePoint {
            target_rps: target,
            achieved_rps: achieved,
            p99_us: p99,
            errors: 0,
            requests: 0,
            intended: 0,
            sent: 0,
            p99_lower_bound: false,
            generator_bound: false,
            machine_saturated: false,
            seed: None,
            attempt: 0,
        }
    }

    /// A step of the new kind: `sent` of `intended`, `requests` completed.
    fn step(target: f64, p99: f64, intended: u64, sent: u64) -> RatePoint {
        RatePoint {
            requests: sent,
            intended,
            sent,
            ..point(target, sent as f64 / 10.0, p99)
        }
    }

    fn retest(mut p: RatePoint, attempt: u32) -> RatePoint {
        p.attempt = attempt;
        p
    }

    #[test]
    fn the_knee_is_the_last_rate_before_latency_leaves_its_floor() {
        let points = [
            point(100.0, 100.0, 800.0),
            point(200.0, 199.5, 900.0),
            point(400.0, 399.0, 2_000.0),
            point(800.0, 790.0, 30_000.0),
        ];
        // Floor: the lowest of 800, 900, 2,000.
        assert_eq!(floor_p99(&points), Some(800.0));
        assert_eq!(knee(&points, 3.0), Some(400.0));
        assert_eq!(knee(&points, 1.5), Some(200.0));
    }

    #[test]
    fn an_unachieved_rate_or_errors_end_the_passing_run() {
        let points = [
            point(100.0, 100.0, 800.0),
            point(200.0, 150.0, 850.0),
            point(400.0, 400.0, 850.0),
        ];
        assert_eq!(
            knee(&points, 3.0),
            Some(100.0),
            "a lucky point after a miss does not count"
        );
        let mut erroring = point(200.0, 200.0, 800.0);
        erroring.errors = 3;
        assert_eq!(knee(&[point(100.0, 100.0, 800.0), erroring], 3.0), Some(100.0));
        assert_eq!(knee(&[point(100.0, 10.0, 800.0)], 3.0), None);
        assert_eq!(knee(&[], 3.0), None);
    }

    /// The `noop` cell: at 100 req/s its Poisson schedule held 906 requests
    /// in 10 s, all sent: the schedule, not the system, was short.
    #[test]
    fn a_short_poisson_schedule_is_not_a_missed_rate() {
        let first = RatePoint {
            achieved_rps: 90.6,
            ..step(100.0, 800.0, 906, 906)
        };
        assert_eq!(judge(&first, None, 3.0), Verdict::Pass);
        assert_eq!(knee(&[first, step(200.0, 900.0, 2010, 2010)], 3.0), Some(200.0));
        let short = step(100.0, 800.0, 1000, 980);
        assert_eq!(judge(&short, None, 3.0), Verdict::Fail, "2 % unsent");
    }

    #[test]
    fn errors_fail_a_rate_only_above_a_small_rate() {
        let mut one = step(100.0, 800.0, 2000, 2000);
        one.errors = 1;
        assert_eq!(judge(&one, Some(800.0), 3.0), Verdict::Pass);
        one.errors = 3;
        assert_eq!(judge(&one, Some(800.0), 3.0), Verdict::Fail);
        let mut none_ok = step(100.0, 0.0, 2000, 2000);
        none_ok.errors = 2000;
        assert_eq!(judge(&none_ok, None, 3.0), Verdict::Fail);
    }

    #[test]
    fn the_floor_is_the_lowest_of_the_low_rates_not_one_point() {
        // A slow first step (5 ms, a stall) does not loosen the floor: the
        // next low rates set it, and the knee is found where it is.
        let points = [
            step(100.0, 5_000.0, 1000, 1000),
            step(200.0, 800.0, 2000, 2000),
            step(400.0, 850.0, 4000, 4000),
            step(800.0, 9_000.0, 8000, 8000),
        ];
        assert_eq!(floor_p99(&points), Some(800.0));
        // The slow step is retested, passes 2 of 3, and the knee is 400.
        let mut retried = points.to_vec();
        retried.push(retest(step(100.0, 820.0, 1000, 1000), 1));
        retried.push(retest(step(100.0, 810.0, 1000, 1000), 2));
        assert_eq!(assess(&retried, 3.0).knee_rps, Some(400.0));
        // A knee among the lowest rates: the floor is the unloaded p99, not
        // a median of overloaded ones (which would pass every rate).
        let early = [
            step(100.0, 9_000.0, 1000, 1000),
            step(200.0, 180_000.0, 2000, 2000),
            step(400.0, 180_000.0, 4000, 4000),
            step(800.0, 180_000.0, 8000, 8000),
        ];
        assert_eq!(floor_p99(&early), Some(9_000.0));
        assert_eq!(knee(&early, 3.0), Some(100.0));
        // A rate's own retests: their median.
        let retested = [
            step(100.0, 800.0, 1000, 1000),
            retest(step(100.0, 5000.0, 1000, 1000), 1),
            retest(step(100.0, 900.0, 1000, 1000), 2),
        ];
        assert_eq!(floor_p99(&retested), Some(900.0));
    }

    #[test]
    fn one_noisy_step_does_not_end_the_ramp() {
        let noisy = step(400.0, 20_000.0, 4000, 4000);
        let mut points = vec![
            step(100.0, 800.0, 1000, 1000),
            step(200.0, 850.0, 2000, 2000),
            noisy,
            step(800.0, 900.0, 8000, 8000),
        ];
        let a = assess(&points, 3.0);
        assert_eq!(a.outcome(400.0), None, "a failing step is retested");
        assert_eq!(a.knee_rps, Some(200.0));
        points.push(retest(step(400.0, 820.0, 4000, 4000), 1));
        points.push(retest(step(400.0, 870.0, 4000, 4000), 2));
        let a = assess(&points, 3.0);
        assert_eq!(a.outcome(400.0), Some(Verdict::Pass), "2 of 3");
        assert_eq!(a.knee_rps, Some(800.0));
        // Two failures of three: the rate fails.
        points.pop();
        points.push(retest(step(400.0, 30_000.0, 4000, 4000), 2));
        assert_eq!(assess(&points, 3.0).outcome(400.0), Some(Verdict::Fail));
        assert_eq!(knee(&points, 3.0), Some(200.0));
    }

    #[test]
    fn rate_outcomes_need_the_first_step_or_two_of_three() {
        use Verdict::{Fail, GeneratorBound as Gen, Pass};
        assert_eq!(rate_outcome(&[Pass]), Some(Pass));
        assert_eq!(rate_outcome(&[Fail]), None);
        assert_eq!(rate_outcome(&[Fail, Pass]), None);
        assert_eq!(rate_outcome(&[Fail, Pass, Pass]), Some(Pass));
        assert_eq!(rate_outcome(&[Fail, Pass, Fail]), Some(Fail));
        assert_eq!(rate_outcome(&[Fail, Fail]), Some(Fail));
        assert_eq!(rate_outcome(&[Gen, Gen]), Some(Gen));
        assert_eq!(rate_outcome(&[Fail, Pass, Gen]), Some(Gen));
        assert_eq!(rate_outcome(&[]), None);
    }

    #[test]
    fn a_generator_bound_step_is_never_the_knee() {
        let mut bound = step(800.0, 900.0, 8000, 8000);
        bound.generator_bound = true;
        let points = [
            step(100.0, 800.0, 1000, 1000),
            step(200.0, 850.0, 2000, 2000),
            step(400.0, 870.0, 4000, 4000),
            bound,
            retest(bound, 1),
        ];
        assert_eq!(judge(&bound, Some(800.0), 3.0), Verdict::GeneratorBound);
        let a = assess(&points, 3.0);
        assert_eq!(a.outcome(800.0), Some(Verdict::GeneratorBound));
        assert_eq!(a.knee_rps, Some(400.0));
        assert!(a.knee_is_lower_bound, "the system may serve more");
        assert_eq!(a.limit, Some(KneeLimit::Generator));
        // Its latency does not enter the floor either.
        let mut slow_bound = step(100.0, 50.0, 1000, 1000);
        slow_bound.generator_bound = true;
        assert_eq!(
            floor_p99(&[slow_bound, step(200.0, 800.0, 2000, 2000)]),
            Some(800.0)
        );
    }

    #[test]
    fn a_saturated_machine_is_judged_and_named_as_the_limit() {
        let low = [
            step(100.0, 800.0, 1000, 1000),
            step(200.0, 850.0, 2000, 2000),
            step(400.0, 870.0, 4000, 4000),
        ];
        // Late sends on a busy machine that the system still served within
        // its floor: a pass, not a lower bound.
        let mut served = step(800.0, 900.0, 8000, 8000);
        served.machine_saturated = true;
        assert_eq!(judge(&served, Some(800.0), 3.0), Verdict::Pass);
        // The rate above: every core busy and latency past the floor.
        let mut full = step(1600.0, 9000.0, 16000, 16000);
        full.machine_saturated = true;
        let mut points = low.to_vec();
        points.extend([served, full, retest(full, 1)]);
        let a = assess(&points, 3.0);
        assert_eq!((a.knee_rps, a.knee_is_lower_bound), (Some(800.0), false));
        assert_eq!(a.limit, Some(KneeLimit::Machine));
        // The same failure with CPU to spare is the system's own.
        let mut slow = full;
        slow.machine_saturated = false;
        let mut points = low.to_vec();
        points.extend([served, slow, retest(slow, 1)]);
        assert_eq!(assess(&points, 3.0).limit, Some(KneeLimit::System));
        // Every rate passed: the ramp's end; a rate still undecided: none yet.
        assert_eq!(assess(&low, 3.0).limit, Some(KneeLimit::Ramp));
        let mut points = low.to_vec();
        points.push(slow);
        assert_eq!(assess(&points, 3.0).limit, None);
    }

    #[test]
    fn a_first_step_the_final_floor_fails_is_retested_not_left_undecided() {
        // 300 req/s ran first with a hiccup (p99 38 ms): against itself it
        // passed; against the floor the next rates set (2.6 ms) it fails.
        let hiccup = step(300.0, 38_000.0, 2000, 2000);
        let mut points = vec![
            hiccup,
            step(600.0, 2_600.0, 2000, 2000),
            step(1200.0, 3_000.0, 2000, 2000),
            step(2400.0, 20_000.0, 2400, 2400),
            retest(step(2400.0, 20_000.0, 2400, 2400), 1),
        ];
        let a = assess(&points, 3.0);
        assert_eq!(a.outcome(300.0), None);
        assert_eq!((a.knee_rps, a.limit), (None, None), "nothing known below it");
        assert_eq!(undecided_rate(&a), Some(300.0));
        // Its retest passes: one fail and one pass, so a third step decides.
        points.push(retest(step(300.0, 2_500.0, 2000, 2000), 1));
        let a = assess(&points, 3.0);
        assert_eq!(undecided_rate(&a), Some(300.0));
        points.push(retest(step(300.0, 2_400.0, 2000, 2000), 2));
        let a = assess(&points, 3.0);
        assert_eq!(undecided_rate(&a), None);
        assert_eq!(a.knee_rps, Some(1200.0));
        assert_eq!(a.limit, Some(KneeLimit::System));
    }

    #[test]
    fn steps_last_for_about_two_thousand_requests_within_bounds() {
        let ten = Duration::from_secs(10);
        assert_eq!(step_duration(100.0, ten), Duration::from_secs(20));
        assert_eq!(step_duration(1000.0, ten), ten);
        assert_eq!(step_duration(1.0, ten), MAX_STEP);
        assert_eq!(
            step_duration(1.0, Duration::from_secs(120)),
            Duration::from_secs(120)
        );
    }

    #[test]
    fn old_points_still_parse_and_judge_by_the_achieved_rate() {
        let old = r#"{"target_rps":100.0,"achieved_rps":99.5,"p99_us":800.0,"errors":0}"#;
        let p: RatePoint = serde_json::from_str(old).unwrap();
        assert_eq!((p.intended, p.seed, p.generator_bound), (0, None, false));
        assert_eq!(judge(&p, Some(800.0), 3.0), Verdict::Pass);
    }

    #[test]
    fn ramps_grow_geometrically_and_stop_at_max() {
        let ramp = Ramp {
            start: 50.0,
            factor: 2.0,
            max: 500.0,
            refine: None,
        };
        assert_eq!(ramp.rates(), vec![50.0, 100.0, 200.0, 400.0]);
        assert_eq!(
            Ramp {
                start: 1.0,
                factor: 1.0,
                max: 10.0,
                refine: None,
            }
            .rates()
            .len(),
            32,
            "bounded"
        );
    }

    /// Decided rates: one passing step, or two failing ones (the retest).
    fn stepped(rates: &[(f64, f64)]) -> Vec<RatePoint> {
        rates
            .iter()
            .flat_map(|&(rate, p99)| {
                let attempts = if p99 > 5000.0 { 2 } else { 1 };
                (0..attempts).map(move |attempt| RatePoint {
                    intended: 1000,
                    sent: 1000,
                    requests: 1000,
                    attempt,
                    ..point(rate, rate, p99)
                })
            })
            .collect()
    }

    #[test]
    fn bisection_narrows_the_bracket_above_the_knee_and_then_stops() {
        // 100, 150, 225 pass; 337.5 fails (p99 far above 3 × the floor).
        let mut points = stepped(&[(100.0, 500.0), (150.0, 520.0), (225.0, 600.0), (337.5, 9000.0)]);
        // The system's real knee is at 300 req/s.
        let mut probes = Vec::new();
        while let Some(rate) = next_bisection_rate(&assess(&points, 3.0), DEFAULT_REFINE) {
            assert!(rate > 225.0 && rate < 337.5, "{rate} inside the first bracket");
            probes.push(rate);
            let p99 = if rate <= 300.0 { 700.0 } else { 9000.0 };
            points.extend(stepped(&[(rate, p99)]));
            assert!(probes.len() <= MAX_BISECTIONS);
        }
        let a = assess(&points, 3.0);
        let knee = a.knee_rps.unwrap();
        let upper = a
            .rates
            .iter()
            .find(|(r, v)| *r > knee && *v == Some(Verdict::Fail))
            .unwrap()
            .0;
        assert!(upper / knee <= 1.0 + DEFAULT_REFINE + 0.01, "{knee}..{upper}");
        assert!(knee <= 300.0 && upper > 300.0);
        let ramp = Ramp {
            start: 100.0,
            factor: 1.5,
            max: 1000.0,
            refine: Some(DEFAULT_REFINE),
        };
        assert!(
            probes.len() <= ramp.bisections(),
            "{probes:?} within the estimate"
        );
    }

    #[test]
    fn no_bisection_without_a_failing_rate_above_the_knee() {
        // The ramp reached its max passing: nothing to bracket.
        let points = stepped(&[(100.0, 500.0), (150.0, 520.0)]);
        assert_eq!(next_bisection_rate(&assess(&points, 3.0), 0.05), None);
        // Generator-bound past the knee: nothing known there.
        let mut bound = stepped(&[(100.0, 500.0), (150.0, 520.0), (225.0, 530.0)]);
        bound[2].generator_bound = true;
        assert_eq!(next_bisection_rate(&assess(&bound, 3.0), 0.05), None);
        // Turned off.
        let failing = stepped(&[(100.0, 500.0), (150.0, 9000.0)]);
        assert_eq!(next_bisection_rate(&assess(&failing, 3.0), 0.0), None);
        assert!(next_bisection_rate(&assess(&failing, 3.0), 0.05).is_some());
    }
}
