//! Pure statistics over trial samples: medians, distribution-free intervals
//! with their actual confidence levels, the Mann-Whitney U test (exact for
//! small samples) and Holm's adjustment. Nothing here knows about
//! benchmarks, and nothing is random: the same samples give the same figures.
//!
//! Benchmark trials are few (3–10), skewed and sometimes bimodal, so every
//! interval here comes from order statistics and the binomial distribution,
//! never from a normal or bootstrap approximation whose coverage collapses at
//! such sizes (a percentile bootstrap of 5 trials is [min, max], about 94 %,
//! while claiming 95 %; of 3 trials it is 75 %).

use serde::{Deserialize, Serialize};

/// A figure with its spread: the median of the trials, a distribution-free
/// confidence interval of that median at its actual level, and the extremes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Median of the samples.
    pub median: f64,
    /// Lower bound of the confidence interval of the median; `None` when one
    /// sample allows no interval.
    pub ci_low: Option<f64>,
    /// Upper bound; `None` with [`Estimate::ci_low`].
    pub ci_high: Option<f64>,
    /// The interval's confidence level: the nominal one (0.95) when the
    /// sample allows it, else the highest level it reaches (5 samples:
    /// 0.9375); 0 without an interval.
    pub confidence: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// Number of samples.
    pub n: usize,
}

impl Estimate {
    /// The interval, when there is one.
    pub fn interval(&self) -> Option<(f64, f64)> {
        self.ci_low.zip(self.ci_high)
    }

    /// `median [low, high] 95%` with `digits` decimals after scaling by
    /// `scale`, or `median (CI n/a)` without an interval.
    pub fn display(&self, digits: usize, scale: f64) -> String {
        match self.interval() {
            Some((lo, hi)) => format!(
                "{:.digits$} [{:.digits$}, {:.digits$}] {}",
                self.median * scale,
                lo * scale,
                hi * scale,
                fmt_level(self.confidence)
            ),
            None => format!("{:.digits$} (CI n/a)", self.median * scale),
        }
    }
}

/// A confidence level as a percentage with no needless digits: `95%`,
/// `93.8%`; `n/a` for 0.
pub fn fmt_level(level: f64) -> String {
    if level <= 0.0 {
        return "n/a".into();
    }
    let pct = level * 100.0;
    if (pct - pct.round()).abs() < 0.05 {
        format!("{pct:.0}%")
    } else {
        format!("{pct:.1}%")
    }
}

/// Median of a non-empty sample (mean of the middle two for even sizes).
///
/// # Panics
/// On an empty sample or NaN.
pub fn median(samples: &[f64]) -> f64 {
    assert!(!samples.is_empty(), "median of no samples");
    let sorted = sorted(samples);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

fn sorted(samples: &[f64]) -> Vec<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).expect("no NaN in samples"));
    sorted
}

/// P(k ≤ B ≤ n−k) for B ~ Binomial(n, ½): the probability that the order
/// statistics X(k) and X(n−k+1) of n continuous samples bracket their
/// population median (k is 1-based, k ≤ n/2).
fn bracket_level(n: usize, k: usize) -> f64 {
    // Log domain: ½ⁿ underflows beyond n ≈ 1074.
    let mut ln_pmf = n as f64 * 0.5f64.ln();
    let mut below = 0.0; // P(B ≤ k−1)
    for j in 0..k {
        if j > 0 {
            ln_pmf += ((n - j + 1) as f64 / j as f64).ln();
        }
        below += ln_pmf.exp();
    }
    (1.0 - 2.0 * below).max(0.0)
}

/// A distribution-free interval of the population median from sorted samples:
/// `(low, high, level)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MedianInterval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// Its confidence level.
    pub level: f64,
}

/// The largest k whose [X(k), X(n−k+1)] has level ≥ `min_level`; 1 when
/// none reaches it.
fn outer_k(n: usize, min_level: f64) -> usize {
    let mut k = 1;
    while k < n / 2 && bracket_level(n, k + 1) >= min_level {
        k += 1;
    }
    k
}

/// The narrowest order-statistic interval [X(k), X(n−k+1)] whose exact
/// level is at least `min_level`, or [X(1), X(n)] with its level when none
/// reaches it. No interpolation: the level is exact for continuous data
/// (and conservative with ties). `None` for fewer than 2 samples.
pub fn median_interval_exact(samples: &[f64], min_level: f64) -> Option<MedianInterval> {
    let n = samples.len();
    if n < 2 {
        return None;
    }
    let x = sorted(samples);
    let k = outer_k(n, min_level);
    Some(MedianInterval {
        low: x[k - 1],
        high: x[n - k],
        level: bracket_level(n, k),
    })
}

/// An interval of the population median at `confidence`: the
/// Hettmansperger–Sheather interpolation between the two order-statistic
/// intervals that bracket the level (close to nominal for continuous
/// distributions, symmetric or not), or, when even [X(1), X(n)] falls short
/// (n ≤ 5 for 95 %), that interval with its exact, lower level. `None` for
/// fewer than 2 samples.
pub fn median_interval(samples: &[f64], confidence: f64) -> Option<MedianInterval> {
    let n = samples.len();
    if n < 2 {
        return None;
    }
    let x = sorted(samples);
    let d = outer_k(n, confidence);
    let outer_level = bracket_level(n, d);
    let inner_level = if d < n / 2 { bracket_level(n, d + 1) } else { 0.0 };
    if outer_level <= confidence || d >= n / 2 || inner_level >= outer_level {
        return Some(MedianInterval {
            low: x[d - 1],
            high: x[n - d],
            level: outer_level,
        });
    }
    let i = (outer_level - confidence) / (outer_level - inner_level);
    let (nf, df) = (n as f64, d as f64);
    let lambda = (nf - df) * i / (df + (nf - 2.0 * df) * i);
    Some(MedianInterval {
        low: (1.0 - lambda) * x[d - 1] + lambda * x[d],
        high: (1.0 - lambda) * x[n - d] + lambda * x[n - d - 1],
        level: confidence,
    })
}

/// The median with a distribution-free interval at `confidence` (see
/// [`median_interval`]); one sample has no interval (level 0).
///
/// # Panics
/// On an empty sample or NaN.
pub fn estimate(samples: &[f64], confidence: f64) -> Estimate {
    let med = median(samples);
    let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
    let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let interval = median_interval(samples, confidence);
    Estimate {
        median: med,
        ci_low: interval.map(|i| i.low),
        ci_high: interval.map(|i| i.high),
        confidence: interval.map_or(0.0, |i| i.level),
        min,
        max,
        n: samples.len(),
    }
}

/// Largest sample size a side for which [`mann_whitney_p`] enumerates the
/// exact permutation distribution; beyond, the normal approximation is
/// within a few thousandths.
pub const EXACT_MANN_WHITNEY_MAX: usize = 10;

/// Two-sided Mann-Whitney U test: the p-value for "both samples come from
/// the same distribution". Exact (the permutation distribution of the rank
/// sum, with midranks for ties) when neither side has more than
/// [`EXACT_MANN_WHITNEY_MAX`] samples; else the normal approximation with
/// continuity and tie corrections. 1 when either side is empty.
///
/// # Panics
/// On NaN.
pub fn mann_whitney_p(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 1.0;
    }
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, true))
        .chain(b.iter().map(|&x| (x, false)))
        .collect();
    all.sort_by(|x, y| x.0.partial_cmp(&y.0).expect("no NaN in samples"));
    // Twice the midranks: integers, so the exact distribution is counted
    // without rounding.
    let mut ranks2 = vec![0usize; all.len()];
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        for r in &mut ranks2[i..=j] {
            *r = i + j + 2;
        }
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    let (n1, n2, n) = (a.len(), b.len(), all.len());
    let r1_2: usize = all
        .iter()
        .zip(&ranks2)
        .filter(|((_, in_a), _)| *in_a)
        .map(|(_, r)| r)
        .sum();
    if n1 <= EXACT_MANN_WHITNEY_MAX && n2 <= EXACT_MANN_WHITNEY_MAX {
        return exact_rank_sum_p(&ranks2, n1, r1_2);
    }
    let (n1, n2, n) = (n1 as f64, n2 as f64, n as f64);
    let u1 = r1_2 as f64 / 2.0 - n1 * (n1 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let variance = n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    if variance <= 0.0 {
        return 1.0;
    }
    let z = ((u1 - mean).abs() - 0.5).max(0.0) / variance.sqrt();
    (2.0 * (1.0 - normal_cdf(z))).clamp(0.0, 1.0)
}

/// P(|T − E[T]| ≥ |t − E[T]|) where T is the sum of `n1` of the doubled
/// ranks `ranks2` drawn without replacement: counted over all C(n, n1)
/// subsets by dynamic programming on (subset size, sum).
fn exact_rank_sum_p(ranks2: &[usize], n1: usize, observed: usize) -> f64 {
    let total: usize = ranks2.iter().sum();
    // ways[k][s]: subsets of k ranks summing to s (f64: C(20, 10) is exact).
    let mut ways = vec![vec![0.0f64; total + 1]; n1 + 1];
    ways[0][0] = 1.0;
    for &r in ranks2 {
        for k in (1..=n1).rev() {
            for s in (r..=total).rev() {
                let add = ways[k - 1][s - r];
                if add != 0.0 {
                    ways[k][s] += add;
                }
            }
        }
    }
    // E[T] = n1 × mean rank; compared doubled again so everything stays integral.
    let n = ranks2.len();
    let centre2 = n1 * total; // n·E[T]
    let dev = |s: usize| (s * n).abs_diff(centre2);
    let observed_dev = dev(observed);
    let all: f64 = ways[n1].iter().sum();
    let extreme: f64 = ways[n1]
        .iter()
        .enumerate()
        .filter(|&(s, _)| dev(s) >= observed_dev)
        .map(|(_, w)| w)
        .sum();
    (extreme / all).clamp(0.0, 1.0)
}

/// Holm's step-down adjustment of p-values for a family of tests: reject
/// where the adjusted value is below α and the family-wise error rate stays
/// at most α, whatever the dependence between the tests.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![1.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// A relative change between two samples' medians, `candidate / baseline −
/// 1`, with a distribution-free interval (see [`relative_change`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RelativeChange {
    /// Change of the medians, as a fraction (0.1 = 10 % higher).
    pub change: f64,
    /// Lower bound of the interval; `None` when a side has one sample or
    /// the baseline's interval reaches zero (no bounded ratio).
    pub ci_low: Option<f64>,
    /// Upper bound.
    pub ci_high: Option<f64>,
    /// The interval's confidence level (at least the product of the two
    /// sides' exact levels); 0 without an interval.
    pub confidence: f64,
}

impl RelativeChange {
    /// The interval, when there is one.
    pub fn interval(&self) -> Option<(f64, f64)> {
        self.ci_low.zip(self.ci_high)
    }
}

/// How [`relative_change`] builds its interval, for reports.
pub const RATIO_INTERVAL_METHOD: &str = "ratio of the two medians' order-statistic intervals, each at an exact \
     level ≥ √(confidence) (independent sides: joint level ≥ the product); conservative, no model assumed";

/// The relative change of the median from `baseline` to `candidate`, or
/// `None` when either sample is empty or the baseline median is zero (no
/// ratio exists).
///
/// The interval: each median's exact order-statistic interval at a level of
/// at least √`confidence` ([`median_interval_exact`]); both cover their
/// medians at once with probability at least the product of their levels
/// (the sides are independent), and then the ratio lies between the extreme
/// ratios of the two intervals' bounds. The stated level is that product:
/// `confidence` or more when each side has 6 samples or more, less with
/// fewer (5 a side: 0.9375² ≈ 0.88).
///
/// # Panics
/// On NaN.
pub fn relative_change(baseline: &[f64], candidate: &[f64], confidence: f64) -> Option<RelativeChange> {
    if baseline.is_empty() || candidate.is_empty() {
        return None;
    }
    let base = median(baseline);
    if base == 0.0 {
        return None;
    }
    let change = median(candidate) / base - 1.0;
    let side = confidence.sqrt();
    let interval = median_interval_exact(baseline, side)
        .zip(median_interval_exact(candidate, side))
        .filter(|(b, _)| b.low > 0.0 || b.high < 0.0)
        .map(|(b, c)| {
            let corners = [c.low / b.low, c.low / b.high, c.high / b.low, c.high / b.high];
            let lo = corners.iter().copied().fold(f64::INFINITY, f64::min) - 1.0;
            let hi = corners.iter().copied().fold(f64::NEG_INFINITY, f64::max) - 1.0;
            (lo, hi, b.level * c.level)
        });
    Some(RelativeChange {
        change,
        ci_low: interval.map(|i| i.0),
        ci_high: interval.map(|i| i.1),
        confidence: interval.map_or(0.0, |i| i.2),
    })
}

/// A difference between two samples' medians, `a − b`, with a
/// distribution-free interval (see [`difference`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// Difference of the medians.
    pub difference: f64,
    /// Lower bound of the interval; `None` when a side has one sample.
    pub ci_low: Option<f64>,
    /// Upper bound.
    pub ci_high: Option<f64>,
    /// The interval's level (at least the product of the two sides' exact
    /// levels); 0 without an interval.
    pub confidence: f64,
}

/// The difference of the medians of independent samples `a` and `b`, with
/// the interval between the extreme differences of the two medians'
/// order-statistic intervals, each at an exact level ≥ √`confidence` (both
/// cover at once with probability at least the product: the level stated).
/// `None` when either sample is empty.
///
/// # Panics
/// On NaN.
pub fn difference(a: &[f64], b: &[f64], confidence: f64) -> Option<Difference> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let side = confidence.sqrt();
    let interval = median_interval_exact(a, side)
        .zip(median_interval_exact(b, side))
        .map(|(a, b)| (a.low - b.high, a.high - b.low, a.level * b.level));
    Some(Difference {
        difference: median(a) - median(b),
        ci_low: interval.map(|i| i.0),
        ci_high: interval.map(|i| i.1),
        confidence: interval.map_or(0.0, |i| i.2),
    })
}

/// Standard normal CDF (Abramowitz-Stegun 7.1.26 erf, error < 1.5e-7).
fn normal_cdf(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    let erf = if x >= 0.0 { erf } else { -erf };
    0.5 * (1.0 + erf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_samples() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn order_statistic_levels_are_binomial() {
        // [X(1), X(n)] misses only when all n fall on one side: 1 − 2·½ⁿ.
        for (n, level) in [(2, 0.5), (3, 0.75), (4, 0.875), (5, 0.9375), (6, 0.96875)] {
            assert!((bracket_level(n, 1) - level).abs() < 1e-12, "n = {n}");
        }
        // n = 10: [X(2), X(9)] is 1 − 2·11/1024.
        assert!((bracket_level(10, 2) - (1.0 - 22.0 / 1024.0)).abs() < 1e-12);
        // Large n does not underflow.
        assert!(bracket_level(2000, 950) > 0.97);
    }

    #[test]
    fn intervals_state_their_real_level_and_none_for_one_sample() {
        let five = estimate(&[10.0, 30.0, 50.0, 70.0, 90.0], 0.95);
        assert_eq!(five.interval(), Some((10.0, 90.0)));
        assert!((five.confidence - 0.9375).abs() < 1e-12);
        assert_eq!(five.display(0, 1.0), "50 [10, 90] 93.8%");
        let one = estimate(&[7.0], 0.95);
        assert_eq!((one.ci_low, one.ci_high, one.confidence), (None, None, 0.0));
        assert_eq!(one.display(0, 1.0), "7 (CI n/a)");
        // Where n allows, the interpolated interval lies between the two
        // bracketing order-statistic intervals and claims the nominal level.
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        let e = estimate(&ten, 0.95);
        let (lo, hi) = e.interval().unwrap();
        assert!((2.0..3.0).contains(&lo) && (8.0..9.0).contains(&hi), "{e:?}");
        assert_eq!(e.confidence, 0.95);
        assert_eq!(fmt_level(0.95), "95%");
    }

    #[test]
    fn exact_mann_whitney_matches_tables() {
        let p = |a: &[f64], b: &[f64]| mann_whitney_p(a, b);
        // Fully separated samples: 2 / C(n1 + n2, n1).
        assert!((p(&[1.0, 2.0, 3.0], &[7.0, 8.0, 9.0]) - 0.1).abs() < 1e-12);
        assert!((p(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0]) - 2.0 / 70.0).abs() < 1e-12);
        let five: Vec<f64> = (0..5).map(f64::from).collect();
        let high: Vec<f64> = (10..15).map(f64::from).collect();
        assert!((p(&five, &high) - 2.0 / 252.0).abs() < 1e-12);
        assert!((p(&five, &high) - 0.007_94).abs() < 5e-6);
        // Symmetric in the sides; identical samples are no evidence.
        assert_eq!(p(&high, &five), p(&five, &high));
        assert_eq!(p(&[1.0; 5], &[1.0; 5]), 1.0);
        // U = 1 for 3 vs 3 (one swap): 4 of 20 orderings are as extreme.
        assert!((p(&[1.0, 2.0, 4.0], &[3.0, 5.0, 6.0]) - 0.2).abs() < 1e-12);
        // 4 vs 4, U = 2: P(U ≤ 2) = 4/70, two-sided 8/70.
        assert!((p(&[1.0, 2.0, 3.0, 6.0], &[4.0, 5.0, 7.0, 8.0]) - 8.0 / 70.0).abs() < 1e-12);
        // Beyond the exact range the approximation takes over and agrees.
        let a: Vec<f64> = (0..12).map(f64::from).collect();
        let b: Vec<f64> = (0..12).map(|x| f64::from(x) + 6.5).collect();
        assert!((1e-4..0.01).contains(&p(&a, &b)), "{}", p(&a, &b));
        assert!(p(&[], &[1.0]) == 1.0);
    }

    #[test]
    fn holm_steps_down() {
        let adj = holm(&[0.01, 0.04, 0.03, 0.2]);
        assert_eq!(adj, vec![0.04, 0.09, 0.09, 0.2]);
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn relative_change_brackets_a_shift_and_straddles_zero_without_one() {
        let base = [100.0, 102.0, 98.0, 101.0, 99.0];
        let slower = [120.0, 122.0, 118.0, 121.0, 119.0];
        let shifted = relative_change(&base, &slower, 0.95).unwrap();
        assert!((shifted.change - 0.2).abs() < 1e-9);
        let (lo, hi) = shifted.interval().unwrap();
        assert!(lo > 0.1 && hi < 0.3, "{shifted:?}");
        assert!((shifted.confidence - 0.9375 * 0.9375).abs() < 1e-12);
        let same = relative_change(&base, &[99.5, 100.5, 101.5, 98.5, 100.0], 0.95).unwrap();
        assert!(
            same.ci_low.unwrap() < 0.0 && same.ci_high.unwrap() > 0.0,
            "{same:?}"
        );
        assert!(relative_change(&[0.0, 0.0], &[1.0], 0.95).is_none());
        assert!(relative_change(&[], &[1.0], 0.95).is_none());
        let one = relative_change(&[100.0], &[120.0], 0.95).unwrap();
        assert_eq!((one.interval(), one.confidence), (None, 0.0));
    }

    #[test]
    fn difference_brackets_a_shift_with_its_level() {
        let through = [1100.0, 1150.0, 1120.0, 1180.0, 1130.0];
        let direct = [100.0, 140.0, 110.0, 130.0, 120.0];
        let d = difference(&through, &direct, 0.95).unwrap();
        assert_eq!(d.difference, 1130.0 - 120.0);
        // Five a side: [X(1), X(5)] each, at 0.9375² together.
        assert_eq!(
            (d.ci_low, d.ci_high),
            (Some(1100.0 - 140.0), Some(1180.0 - 100.0))
        );
        assert!((d.confidence - 0.9375 * 0.9375).abs() < 1e-12);
        let one = difference(&[5.0], &[2.0], 0.95).unwrap();
        assert_eq!((one.difference, one.ci_low, one.confidence), (3.0, None, 0.0));
        assert!(difference(&[], &[1.0], 0.95).is_none());
    }

    #[test]
    fn normal_cdf_matches_known_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-5);
        assert!((normal_cdf(-1.0) - 0.158_655).abs() < 1e-5);
    }
}
