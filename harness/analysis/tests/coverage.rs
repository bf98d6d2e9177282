//! The intervals say what they cover: on samples from known distributions
//! (fixed seeds), the share of intervals that contain the true median (or
//! the true ratio of medians) matches the level they state.

use blueprint_analysis::stats;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const DRAWS: usize = 2000;

#[derive(Debug, Clone, Copy)]
enum Dist {
    Normal,
    Exponential,
    LogNormal,
}

impl Dist {
    fn sample(self, rng: &mut StdRng) -> f64 {
        // Box-Muller: one standard normal per call is plenty here.
        let normal = |rng: &mut StdRng| {
            let (u1, u2): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
            (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        };
        match self {
            Dist::Normal => 100.0 + 10.0 * normal(rng),
            Dist::Exponential => -(1.0 - rng.random::<f64>()).ln() * 100.0,
            Dist::LogNormal => (4.0 + 0.8 * normal(rng)).exp(),
        }
    }

    fn median(self) -> f64 {
        match self {
            Dist::Normal => 100.0,
            Dist::Exponential => 100.0 * std::f64::consts::LN_2,
            Dist::LogNormal => 4f64.exp(),
        }
    }
}

const DISTS: [Dist; 3] = [Dist::Normal, Dist::Exponential, Dist::LogNormal];

#[test]
fn median_intervals_cover_at_their_stated_level() {
    for (d, dist) in DISTS.into_iter().enumerate() {
        for n in [5usize, 10, 20] {
            let mut rng = StdRng::seed_from_u64(1000 + 10 * d as u64 + n as u64);
            let mut covered = 0;
            let mut level = 0.0;
            for _ in 0..DRAWS {
                let sample: Vec<f64> = (0..n).map(|_| dist.sample(&mut rng)).collect();
                let e = stats::estimate(&sample, 0.95);
                let (lo, hi) = e.interval().expect("n ≥ 2 has an interval");
                level = e.confidence;
                covered += usize::from(lo <= dist.median() && dist.median() <= hi);
            }
            let share = covered as f64 / DRAWS as f64;
            eprintln!("{dist:?} n={n}: covered {share:.3}, stated {level:.4}");
            assert!(
                (share - level).abs() <= 0.025,
                "{dist:?}, n = {n}: covered {share:.3}, stated {level:.4}"
            );
            if level == 0.95 {
                assert!((0.93..=0.97).contains(&share), "{dist:?}, n = {n}: {share:.3}");
            } else {
                assert_eq!(n, 5, "only n ≤ 5 cannot reach 95 %");
                assert!((level - 0.9375).abs() < 1e-12);
            }
        }
    }
}

#[test]
fn ratio_intervals_cover_at_least_their_stated_level() {
    for (d, dist) in DISTS.into_iter().enumerate() {
        for n in [5usize, 10, 20] {
            let mut rng = StdRng::seed_from_u64(2000 + 10 * d as u64 + n as u64);
            // Candidate 30 % slower, and a different shape: the interval
            // assumes no model.
            let truth = 1.3 * dist.median() / dist.median() - 1.0;
            let mut covered = 0;
            let mut level = 0.0;
            for _ in 0..DRAWS {
                let base: Vec<f64> = (0..n).map(|_| dist.sample(&mut rng)).collect();
                let cand: Vec<f64> = (0..n).map(|_| 1.3 * dist.sample(&mut rng)).collect();
                let c = stats::relative_change(&base, &cand, 0.95).unwrap();
                let (lo, hi) = c.interval().expect("interval");
                level = c.confidence;
                covered += usize::from(lo <= truth && truth <= hi);
            }
            let share = covered as f64 / DRAWS as f64;
            eprintln!("{dist:?} n={n}: covered {share:.3}, stated {level:.4}");
            assert!(
                share >= level - 0.025,
                "{dist:?}, n = {n}: covered {share:.3}, stated {level:.4}"
            );
            if n >= 10 {
                assert!(level >= 0.95, "{dist:?}, n = {n}: {level}");
            }
        }
    }
}
