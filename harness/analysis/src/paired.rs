//! Paired statistics for same-run A/B: each pair is one baseline and one
//! candidate trial of the same cell run back to back, so what the machine did
//! in that minute (another tenant, a thermal step) is in both and cancels in
//! their ratio. The tests run on the per-pair log-ratios `ln(candidate /
//! baseline)`:
//!
//! - the **Wilcoxon signed-rank test**, exact over every sign assignment of
//!   the ranks (midranks for ties, zero differences dropped), two-sided;
//! - the **Hodges–Lehmann estimate** (the median of the Walsh averages) with
//!   its distribution-free interval: the k-th smallest and k-th largest Walsh
//!   averages, where k comes from the same signed-rank distribution, so the
//!   interval's level is exact for continuous data and is stated as it is
//!   (with 5 pairs the widest interval has 1 − 2/2⁵ = 93.75 %).
//!
//! No normality is assumed: trial figures are skewed and sometimes bimodal.

use crate::stats::RelativeChange;

/// How [`paired_change`] builds its interval, for reports.
pub const PAIRED_INTERVAL_METHOD: &str = "Hodges–Lehmann estimate of the per-pair log-ratio with the \
     signed-rank interval of its Walsh averages (exact level, stated); pairs run back to back";

/// The null distribution of the signed-rank statistic for `ranks` (doubled,
/// so midranks are whole numbers): `counts[t]` is the number of the `2ⁿ` sign
/// assignments whose positive ranks sum to `t`.
fn signed_rank_counts(doubled_ranks: &[u64]) -> Vec<f64> {
    let total: u64 = doubled_ranks.iter().sum();
    let mut counts = vec![0.0; total as usize + 1];
    counts[0] = 1.0;
    let mut reach = 0usize;
    for &r in doubled_ranks {
        let r = r as usize;
        for t in (0..=reach).rev() {
            if counts[t] != 0.0 {
                counts[t + r] += counts[t];
            }
        }
        reach += r;
    }
    counts
}

/// Exact two-sided p-value of the Wilcoxon signed-rank test that the
/// differences are centred on zero. Zeros are dropped (Wilcoxon's rule);
/// tied magnitudes get their midrank. 1 when nothing is left.
///
/// # Panics
/// On NaN.
pub fn signed_rank_p(differences: &[f64]) -> f64 {
    let mut nonzero: Vec<f64> = differences.iter().copied().filter(|d| *d != 0.0).collect();
    if nonzero.is_empty() {
        return 1.0;
    }
    nonzero.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    // Doubled midranks: a run of ties over 1-based ranks i..=j gets i + j.
    let mut doubled = vec![0u64; nonzero.len()];
    let mut i = 0;
    while i < nonzero.len() {
        let mut j = i;
        while j + 1 < nonzero.len() && nonzero[j + 1].abs() == nonzero[i].abs() {
            j += 1;
        }
        for rank in &mut doubled[i..=j] {
            *rank = (i + 1 + j + 1) as u64;
        }
        i = j + 1;
    }
    let observed: u64 = nonzero
        .iter()
        .zip(&doubled)
        .filter(|(d, _)| **d > 0.0)
        .map(|(_, r)| r)
        .sum();
    let counts = signed_rank_counts(&doubled);
    let all: f64 = counts.iter().sum();
    let at_most: f64 = counts[..=observed as usize].iter().sum();
    let at_least: f64 = counts[observed as usize..].iter().sum();
    (2.0 * at_most.min(at_least) / all).min(1.0)
}

/// An interval with its exact confidence level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// Its level, as the distribution gives it.
    pub level: f64,
}

/// The Hodges–Lehmann estimate of the centre of `differences` and its
/// interval: `None` with fewer than 2 differences. The level is the largest one at or above `confidence` that
/// the signed-rank distribution offers, or the widest interval's level when
/// none reaches it (always stated, never rounded up).
///
/// # Panics
/// On NaN.
pub fn hodges_lehmann(differences: &[f64], confidence: f64) -> Option<(f64, Option<Interval>)> {
    let n = differences.len();
    if n == 0 {
        return None;
    }
    let mut walsh: Vec<f64> = Vec::with_capacity(n * (n + 1) / 2);
    for i in 0..n {
        for j in i..n {
            walsh.push((differences[i] + differences[j]) / 2.0);
        }
    }
    walsh.sort_by(f64::total_cmp);
    let m = walsh.len();
    let centre = if m % 2 == 1 {
        walsh[m / 2]
    } else {
        (walsh[m / 2 - 1] + walsh[m / 2]) / 2.0
    };
    if n < 2 {
        return Some((centre, None));
    }
    // Without ties the statistic's distribution is that of ranks 1..=n
    // (doubled here); P(T ≤ k − 1) is the chance the k-th smallest Walsh
    // average lies above the centre.
    let doubled: Vec<u64> = (1..=n as u64).map(|r| 2 * r).collect();
    let counts = signed_rank_counts(&doubled);
    let all: f64 = counts.iter().sum();
    // counts is over doubled sums: only even indices are reachable.
    let tail = |k: usize| -> f64 { counts[..=2 * (k - 1)].iter().sum::<f64>() / all };
    // The largest k (narrowest interval) whose level is still ≥ confidence;
    // k = 1 (the widest) when even that falls short.
    let mut k = 1;
    while k < m / 2 && 1.0 - 2.0 * tail(k + 1) >= confidence {
        k += 1;
    }
    let level = 1.0 - 2.0 * tail(k);
    Some((
        centre,
        Some(Interval {
            low: walsh[k - 1],
            high: walsh[m - k],
            level,
        }),
    ))
}

/// The paired relative change `candidate / baseline − 1` from pairs of
/// positive figures: `exp` of the Hodges–Lehmann log-ratio, with its
/// interval transformed likewise, and the signed-rank p-value. `None` when
/// no pair has two positive values.
pub fn paired_change(pairs: &[(f64, f64)], confidence: f64) -> Option<(RelativeChange, f64)> {
    let logs: Vec<f64> = pairs
        .iter()
        .filter(|(b, c)| *b > 0.0 && *c > 0.0 && b.is_finite() && c.is_finite())
        .map(|(b, c)| (c / b).ln())
        .collect();
    let (centre, interval) = hodges_lehmann(&logs, confidence)?;
    Some((
        RelativeChange {
            change: centre.exp() - 1.0,
            ci_low: interval.map(|i| i.low.exp() - 1.0),
            ci_high: interval.map(|i| i.high.exp() - 1.0),
            confidence: interval.map_or(0.0, |i| i.level),
        },
        signed_rank_p(&logs),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_rank_p_matches_the_exact_tables() {
        // All n differences of one sign: 2 / 2ⁿ.
        for n in 1..=10 {
            let d: Vec<f64> = (1..=n).map(f64::from).collect();
            assert!((signed_rank_p(&d) - 2.0 / 2f64.powi(n)).abs() < 1e-12, "n = {n}");
        }
        // n = 6, T+ = 2 (only rank 2 positive): P(T ≤ 2) = 3/64 (sums 0, 1, 2).
        let d = [-1.0, 2.0, -3.0, -4.0, -5.0, -6.0];
        assert!((signed_rank_p(&d) - 6.0 / 64.0).abs() < 1e-12);
        // Symmetric data are no evidence; zeros are dropped.
        assert!((signed_rank_p(&[-1.0, 1.0, -2.0, 2.0]) - 1.0).abs() < 1e-12);
        assert_eq!(signed_rank_p(&[0.0, 0.0]), 1.0);
        assert!((signed_rank_p(&[0.0, 1.0, 2.0, 3.0]) - 2.0 / 8.0).abs() < 1e-12);
        // Ties take midranks: |1|, |1| → ranks 1.5, 1.5; both positive: 2/4.
        assert!((signed_rank_p(&[1.0, 1.0]) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn hodges_lehmann_states_its_real_level() {
        // Five pairs: the widest interval, min and max Walsh average, at
        // 1 − 2/32; nothing narrower reaches 95 %.
        let d = [0.1, 0.2, 0.3, 0.4, 0.5];
        let (centre, interval) = hodges_lehmann(&d, 0.95).unwrap();
        assert!((centre - 0.3).abs() < 1e-12);
        let Interval { low, high, level } = interval.unwrap();
        assert_eq!((low, high), (0.1, 0.5));
        assert!((level - 0.9375).abs() < 1e-12);
        // Ten pairs: a narrower interval at ≥ 95 % (k = 9: P(T ≤ 8) = 25/1024).
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        let (_, interval) = hodges_lehmann(&ten, 0.95).unwrap();
        let Interval { low, high, level } = interval.unwrap();
        assert!((level - (1.0 - 50.0 / 1024.0)).abs() < 1e-12, "{level}");
        assert!(
            low > 1.0 && high < 10.0 && low < 5.5 && high > 5.5,
            "{low} {high}"
        );
        // One difference: an estimate, no interval.
        assert_eq!(hodges_lehmann(&[0.2], 0.95), Some((0.2, None)));
        assert_eq!(hodges_lehmann(&[], 0.95), None);
    }

    #[test]
    fn paired_change_sees_a_shift_that_drift_hides_from_unpaired_samples() {
        // The machine's speed drifts by ±40 % between pairs; within a pair
        // the candidate is 10 % slower. Unpaired, the two samples overlap
        // entirely; paired, every ratio says +10 %.
        let speeds = [1.0, 1.4, 0.7, 1.2, 0.6, 1.3, 0.8, 1.1, 0.9, 1.0];
        let pairs: Vec<(f64, f64)> = speeds.iter().map(|s| (100.0 * s, 110.0 * s)).collect();
        let (change, p) = paired_change(&pairs, 0.95).unwrap();
        assert!((change.change - 0.1).abs() < 1e-9, "{change:?}");
        let (lo, hi) = change.interval().unwrap();
        assert!((lo - 0.1).abs() < 1e-9 && (hi - 0.1).abs() < 1e-9);
        assert!((p - 2.0 / 1024.0).abs() < 1e-12);
        let (base, cand): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
        assert!(crate::stats::mann_whitney_p(&base, &cand) > 0.3);
        // Pairs without two positive figures are left out.
        assert!(paired_change(&[(0.0, 1.0)], 0.95).is_none());
    }
}
