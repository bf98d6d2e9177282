//! Adaptive trials: when a cell has run enough of them.
//!
//! A cell with `trials = { min, max, target_ci }` runs `min` trials, then
//! one more per round while the interval of any of its gated figures
//! (throughput, p99, CPU per request: what `compare` gates on) is wider
//! than `target_ci` of its median, up to `max`. An interval counts only at
//! the run's nominal level ([`CONFIDENCE`]): the median's order-statistic
//! interval reaches 95 % from 6 trials, so no cell stops early before 6,
//! however close its first trials are (three close trials are not evidence
//! that a fourth would be).

use serde::{Deserialize, Serialize};

use crate::results::{CONFIDENCE, CellSummary};
use crate::settings::Trials;
use crate::stats::Estimate;

/// Fewest trials whose median interval reaches [`CONFIDENCE`]
/// (`1 − 2 · 2⁻ⁿ ≥ 0.95`).
pub const MIN_TRIALS_FOR_INTERVAL: usize = 6;

/// The widest interval among a cell's gated figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Widest {
    /// Which figure.
    pub figure: String,
    /// Half the interval's width over the median; `None` when the figure
    /// has no interval at the nominal level yet.
    pub half_width: Option<f64>,
}

impl std::fmt::Display for Widest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.half_width {
            Some(h) => write!(f, "{} ±{:.1} %", self.figure, h * 100.0),
            None => write!(f, "{}: no {:.0} % interval yet", self.figure, CONFIDENCE * 100.0),
        }
    }
}

/// Why a cell ran the trials it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Stop {
    /// A fixed count, as asked.
    Fixed,
    /// Every gated figure's interval came within the target.
    WithinTarget {
        /// The widest of them.
        widest: Option<Widest>,
    },
    /// The most trials allowed, with an interval still over the target.
    MaxTrials {
        /// The widest interval then.
        widest: Option<Widest>,
    },
    /// The scenario's budget left no time for another round.
    Budget {
        /// The widest interval then.
        widest: Option<Widest>,
    },
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let widest = |w: &Option<Widest>| w.as_ref().map(|w| format!(" (widest: {w})")).unwrap_or_default();
        match self {
            Stop::Fixed => f.write_str("fixed count"),
            Stop::WithinTarget { widest: w } => write!(f, "intervals within target{}", widest(w)),
            Stop::MaxTrials { widest: w } => write!(f, "most trials reached{}", widest(w)),
            Stop::Budget { widest: w } => write!(f, "budget reached{}", widest(w)),
        }
    }
}

/// Half an interval's width over its median, at the nominal level only.
fn relative_half_width(e: &Estimate) -> Option<f64> {
    let (low, high) = (e.ci_low?, e.ci_high?);
    (e.confidence >= CONFIDENCE - 1e-9 && e.median.abs() > 0.0).then(|| (high - low) / 2.0 / e.median.abs())
}

/// The gated figure with the widest interval (one without an interval at
/// the nominal level counts as widest); `None` without a summary.
pub fn widest(summary: &CellSummary) -> Option<Widest> {
    let figures: [(&str, Option<&Estimate>); 3] = [
        ("throughput", Some(&summary.throughput_rps)),
        ("p99", summary.p99_us.as_ref()),
        ("cpu per request", summary.cpu_per_request_us.as_ref()),
    ];
    figures
        .into_iter()
        .filter_map(|(name, e)| e.map(|e| (name, relative_half_width(e))))
        .max_by(|a, b| {
            let w = |h: Option<f64>| h.unwrap_or(f64::INFINITY);
            w(a.1).total_cmp(&w(b.1))
        })
        .map(|(figure, half_width)| Widest {
            figure: figure.to_owned(),
            half_width,
        })
}

/// Whether a cell that has run `n` trials (summarised by `summary`) is done:
/// `None` means run another.
pub fn stop(trials: &Trials, n: usize, summary: Option<&CellSummary>) -> Option<Stop> {
    if n < trials.min {
        return None;
    }
    let Some(target) = trials.target_ci.filter(|_| trials.is_adaptive()) else {
        return Some(Stop::Fixed);
    };
    let widest = summary.and_then(widest);
    let within = widest
        .as_ref()
        .is_some_and(|w| w.half_width.is_some_and(|h| h <= target));
    if within {
        Some(Stop::WithinTarget { widest })
    } else if n >= trials.max {
        Some(Stop::MaxTrials { widest })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::estimate;

    fn summary(throughput: &[f64], p99: &[f64]) -> CellSummary {
        let e = |v: &[f64]| estimate(v, CONFIDENCE);
        CellSummary {
            throughput_rps: e(throughput),
            p50_us: None,
            p99_us: Some(e(p99)),
            cpu_per_request_us: None,
            app_peak_rss_bytes: None,
            cold_start_ms: e(&[1.0]),
            errors: 0,
            requests: 0,
            error_rate: None,
            knee_rps: None,
        }
    }

    fn adaptive() -> Trials {
        Trials {
            min: 3,
            max: 10,
            target_ci: Some(0.05),
        }
    }

    #[test]
    fn a_fixed_count_stops_at_its_count() {
        let s = summary(&[100.0; 3], &[500.0; 3]);
        assert_eq!(stop(&Trials::fixed(3), 2, Some(&s)), None);
        assert_eq!(stop(&Trials::fixed(3), 3, Some(&s)), Some(Stop::Fixed));
    }

    #[test]
    fn a_quiet_cell_stops_once_its_interval_exists() {
        // Identical trials: the interval is as narrow as can be, but until
        // six trials it has no 95 % level, so the cell goes on.
        let quiet = |n: usize| summary(&vec![1000.0; n], &vec![800.0; n]);
        for n in 3..MIN_TRIALS_FOR_INTERVAL {
            assert_eq!(stop(&adaptive(), n, Some(&quiet(n))), None, "{n} trials");
        }
        let n = MIN_TRIALS_FOR_INTERVAL;
        assert!(matches!(
            stop(&adaptive(), n, Some(&quiet(n))),
            Some(Stop::WithinTarget { .. })
        ));
    }

    #[test]
    fn a_noisy_cell_runs_to_its_maximum_and_names_the_widest_figure() {
        let tp = [
            1000.0, 1010.0, 990.0, 1005.0, 995.0, 1000.0, 1002.0, 998.0, 1001.0, 999.0,
        ];
        let p99 = [
            500.0, 900.0, 450.0, 1200.0, 700.0, 520.0, 1500.0, 610.0, 480.0, 1100.0,
        ];
        for n in 3..10 {
            assert_eq!(stop(&adaptive(), n, Some(&summary(&tp[..n], &p99[..n]))), None);
        }
        match stop(&adaptive(), 10, Some(&summary(&tp, &p99))) {
            Some(Stop::MaxTrials { widest: Some(w) }) => {
                assert_eq!(w.figure, "p99");
                assert!(w.half_width.unwrap() > 0.05);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn trials_read_as_a_count_or_a_table_and_write_back_the_same() {
        #[derive(Deserialize, Serialize)]
        struct Load {
            trials: Trials,
        }
        let fixed: Load = toml::from_str("trials = 5").unwrap();
        assert_eq!(fixed.trials, Trials::fixed(5));
        assert_eq!(serde_json::to_string(&fixed).unwrap(), r#"{"trials":5}"#);
        let adaptive: Load = toml::from_str("trials = { min = 3, max = 10, target_ci = 0.05 }").unwrap();
        assert_eq!(adaptive.trials, self::adaptive());
        let json = serde_json::to_string(&adaptive).unwrap();
        let back: Load = serde_json::from_str(&json).unwrap();
        assert_eq!(back.trials, self::adaptive());
        let typo = toml::from_str::<Load>("trials = { min = 3, maxx = 10, target_ci = 0.05 }");
        assert!(typo.err().unwrap().to_string().contains("maxx"));
    }
}
