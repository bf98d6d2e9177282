//! Rate sweeps: open-loop load at increasing rates, and the **knee** — the
//! highest offered rate the blueprint still serves at its low-rate latency.
//!
//! A point passes when its p99 (measured from each request's intended start,
//! so queueing counts) is within `factor` × the p99 at the lowest rate, and
//! the generator achieved at least 99 % of the rate asked for. The knee is
//! the highest rate of the passing run that starts at the lowest rate: one
//! lucky point above a failure does not move it.

use serde::{Deserialize, Serialize};

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
}

impl Ramp {
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

/// One measured rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatePoint {
    /// Rate asked for, requests per second.
    pub target_rps: f64,
    /// Rate the generator achieved.
    pub achieved_rps: f64,
    /// p99 latency from intended start, µs.
    pub p99_us: f64,
    /// Requests that failed.
    pub errors: u64,
}

/// Whether `point` passes against the low-rate floor.
pub fn passes(point: &RatePoint, floor_p99_us: f64, factor: f64) -> bool {
    point.errors == 0
        && point.achieved_rps >= 0.99 * point.target_rps
        && point.p99_us <= factor * floor_p99_us
}

/// The knee of a sweep (points in any order), or `None` when even the lowest
/// rate fails.
pub fn knee(points: &[RatePoint], factor: f64) -> Option<f64> {
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| a.target_rps.total_cmp(&b.target_rps));
    let floor = sorted.first()?.p99_us;
    sorted
        .iter()
        .take_while(|p| passes(p, floor, factor))
        .last()
        .map(|p| p.target_rps)
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
        }
    }

    #[test]
    fn the_knee_is_the_last_rate_before_latency_leaves_its_floor() {
        let points = [
            point(100.0, 100.0, 800.0),
            point(200.0, 199.5, 900.0),
            point(400.0, 399.0, 2_000.0),
            point(800.0, 790.0, 30_000.0),
        ];
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

    #[test]
    fn ramps_grow_geometrically_and_stop_at_max() {
        let ramp = Ramp {
            start: 50.0,
            factor: 2.0,
            max: 500.0,
        };
        assert_eq!(ramp.rates(), vec![50.0, 100.0, 200.0, 400.0]);
        assert_eq!(
            Ramp {
                start: 1.0,
                factor: 1.0,
                max: 10.0
            }
            .rates()
            .len(),
            32,
            "bounded"
        );
    }
}
