//! Pure statistics over trial samples: medians, bootstrap confidence
//! intervals, and the Mann-Whitney U test. Nothing here knows about
//! benchmarks; every function is deterministic for a given seed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// A figure with its spread: the median of the trials, a bootstrap confidence
/// interval of that median, and the extremes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Median of the samples.
    pub median: f64,
    /// Lower bound of the confidence interval of the median.
    pub ci_low: f64,
    /// Upper bound.
    pub ci_high: f64,
    /// Confidence level of the interval (e.g. 0.95).
    pub confidence: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// Number of samples.
    pub n: usize,
}

/// Median of a non-empty sample (mean of the middle two for even sizes).
///
/// # Panics
/// On an empty sample or NaN.
pub fn median(samples: &[f64]) -> f64 {
    assert!(!samples.is_empty(), "median of no samples");
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).expect("no NaN in samples"));
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// The median with a percentile-bootstrap confidence interval (2000
/// resamples). With one sample the interval is that sample.
///
/// # Panics
/// On an empty sample or NaN.
pub fn estimate(samples: &[f64], confidence: f64, seed: u64) -> Estimate {
    let med = median(samples);
    let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
    let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (ci_low, ci_high) = if samples.len() < 2 {
        (med, med)
    } else {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut medians: Vec<f64> = (0..2000)
            .map(|_| {
                let resample: Vec<f64> = (0..samples.len())
                    .map(|_| samples[rng.random_range(0..samples.len())])
                    .collect();
                median(&resample)
            })
            .collect();
        medians.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
        let tail = (1.0 - confidence) / 2.0;
        let at = |q: f64| medians[((q * (medians.len() - 1) as f64).round() as usize).min(medians.len() - 1)];
        (at(tail), at(1.0 - tail))
    };
    Estimate {
        median: med,
        ci_low,
        ci_high,
        confidence,
        min,
        max,
        n: samples.len(),
    }
}

/// Two-sided Mann-Whitney U test: the p-value for "both samples come from the
/// same distribution", with the normal approximation and tie correction
/// (exact enough from about 4 samples a side; with fewer it cannot reach
/// small p-values, which is the honest answer).
pub fn mann_whitney_p(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    if a.is_empty() || b.is_empty() {
        return 1.0;
    }
    let mut all: Vec<(f64, usize)> = a
        .iter()
        .map(|&x| (x, 0))
        .chain(b.iter().map(|&x| (x, 1)))
        .collect();
    all.sort_by(|x, y| x.0.partial_cmp(&y.0).expect("no NaN"));
    // Average ranks over ties.
    let mut ranks = vec![0.0; all.len()];
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for r in &mut ranks[i..=j] {
            *r = rank;
        }
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    let r1: f64 = all
        .iter()
        .zip(&ranks)
        .filter(|((_, g), _)| *g == 0)
        .map(|(_, r)| r)
        .sum();
    let u1 = r1 - n1 * (n1 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let n = n1 + n2;
    let variance = n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    if variance <= 0.0 {
        return 1.0;
    }
    // Continuity correction.
    let z = ((u1 - mean).abs() - 0.5).max(0.0) / variance.sqrt();
    (2.0 * (1.0 - normal_cdf(z))).clamp(0.0, 1.0)
}

/// A relative change between two samples' medians, `(candidate - baseline) /
/// baseline`, with a percentile-bootstrap interval (both sides resampled
/// independently, 2000 times).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RelativeChange {
    /// Change of the medians, as a fraction (0.1 = 10 % higher).
    pub change: f64,
    /// Lower bound of the confidence interval.
    pub ci_low: f64,
    /// Upper bound.
    pub ci_high: f64,
    /// Confidence level of the interval.
    pub confidence: f64,
}

/// The relative change of the median from `baseline` to `candidate`, or
/// `None` when either sample is empty or the baseline median is zero (no
/// ratio exists).
///
/// # Panics
/// On NaN.
pub fn relative_change(
    baseline: &[f64],
    candidate: &[f64],
    confidence: f64,
    seed: u64,
) -> Option<RelativeChange> {
    if baseline.is_empty() || candidate.is_empty() {
        return None;
    }
    let base = median(baseline);
    if base == 0.0 {
        return None;
    }
    let change = median(candidate) / base - 1.0;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut resample = |s: &[f64]| -> f64 {
        let picked: Vec<f64> = (0..s.len()).map(|_| s[rng.random_range(0..s.len())]).collect();
        median(&picked)
    };
    let mut changes: Vec<f64> = (0..2000)
        .filter_map(|_| {
            let b = resample(baseline);
            let c = resample(candidate);
            (b != 0.0).then(|| c / b - 1.0)
        })
        .collect();
    changes.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let tail = (1.0 - confidence) / 2.0;
    let at = |q: f64| changes[((q * (changes.len() - 1) as f64).round() as usize).min(changes.len() - 1)];
    let (ci_low, ci_high) = if changes.is_empty() {
        (change, change)
    } else {
        (at(tail).min(change), at(1.0 - tail).max(change))
    };
    Some(RelativeChange {
        change,
        ci_low,
        ci_high,
        confidence,
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
    fn bootstrap_interval_contains_the_median_and_narrows_with_agreement() {
        let wide = estimate(&[10.0, 30.0, 50.0, 70.0, 90.0], 0.95, 1);
        assert!(wide.ci_low <= wide.median && wide.median <= wide.ci_high);
        assert!(wide.ci_high - wide.ci_low >= 20.0);
        let tight = estimate(&[49.0, 50.0, 50.0, 50.0, 51.0], 0.95, 1);
        assert!(tight.ci_high - tight.ci_low <= 2.0);
        assert_eq!((tight.min, tight.max, tight.n), (49.0, 51.0, 5));
        let one = estimate(&[7.0], 0.95, 1);
        assert_eq!((one.ci_low, one.ci_high), (7.0, 7.0));
    }

    #[test]
    fn mann_whitney_separates_shifted_samples_only() {
        let a = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0];
        let b = [20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0];
        assert!(mann_whitney_p(&a, &b) < 0.01);
        let c = [10.5, 11.5, 12.5, 13.5, 14.5, 15.5, 16.5, 17.5];
        assert!(mann_whitney_p(&a, &c) > 0.5);
        assert_eq!(mann_whitney_p(&[1.0; 5], &[1.0; 5]), 1.0);
        // Three against three cannot be significant at 1 %.
        assert!(mann_whitney_p(&[1.0, 2.0, 3.0], &[7.0, 8.0, 9.0]) > 0.01);
    }

    #[test]
    fn relative_change_brackets_a_shift_and_straddles_zero_without_one() {
        let base = [100.0, 102.0, 98.0, 101.0, 99.0];
        let slower = [120.0, 122.0, 118.0, 121.0, 119.0];
        let shifted = relative_change(&base, &slower, 0.95, 3).unwrap();
        assert!((shifted.change - 0.2).abs() < 1e-9);
        assert!(shifted.ci_low > 0.1 && shifted.ci_high < 0.3, "{shifted:?}");
        let same = relative_change(&base, &[99.5, 100.5, 101.5, 98.5, 100.0], 0.95, 3).unwrap();
        assert!(same.ci_low < 0.0 && same.ci_high > 0.0, "{same:?}");
        assert!(relative_change(&[0.0, 0.0], &[1.0], 0.95, 3).is_none());
        assert!(relative_change(&[], &[1.0], 0.95, 3).is_none());
    }

    #[test]
    fn normal_cdf_matches_known_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-5);
        assert!((normal_cdf(-1.0) - 0.158_655).abs() < 1e-5);
    }
}
