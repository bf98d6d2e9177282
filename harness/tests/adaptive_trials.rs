//! Adaptive trials through a real daprd: a quiet cell stops once its
//! intervals are within the target, a noisy one (each trial's host draws its
//! own added latency, so throughput and p99 differ from trial to trial) runs
//! to its maximum, and the results say why each stopped. Then the trial
//! times the runs kept (in the cache, by cell and load settings) make the
//! next plan's estimate a measured one.

mod common;

use blueprint_analysis::adaptive::{MIN_TRIALS_FOR_INTERVAL, Stop};
use blueprint_analysis::results::{self, CellStatus};
use blueprint_host::server::ADDED_LATENCY_SPREAD_ENV;

const MAX: usize = 10;

/// The target: ±50 %. A quiet cell reaches it in a few trials; the noisy
/// one's trials spread over three decades, and all of its trials so far
/// landing within a factor of about 3 of each other (what ±50 % allows) is
/// rare. At ±90 % a CI run saw the noisy cell stop early (its p99 within
/// ±79 %), and the test failed for no fault of the harness.
const TARGET: f64 = 0.5;

fn scenario(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let trials = format!("trials = {{ min = 3, max = {MAX}, target_ci = {TARGET} }}\n");
    common::scenario(dir, name, &format!("{}{trials}", common::ONE_CELL))
}

fn run(dir: &std::path::Path, name: &str, spread_us: Option<u64>) -> results::RunResults {
    let out = dir.join(format!("{name}.json"));
    let mut cmd = common::harness(&[
        "run",
        scenario(dir, name).to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    cmd.envs(spread_us.map(|us| (ADDED_LATENCY_SPREAD_ENV, us.to_string())));
    common::output_ok(&mut cmd, name);
    results::read(&out).unwrap()
}

#[test]
fn a_quiet_cell_stops_early_and_a_noisy_one_takes_its_maximum() {
    let dir = tempfile::tempdir().unwrap();
    let quiet = run(dir.path(), "quiet", None);
    let cell = &quiet.cells[0];
    assert_eq!(cell.status, CellStatus::Ok);
    assert!(
        matches!(cell.stopped, Some(Stop::WithinTarget { .. })),
        "{:?} after {} trials",
        cell.stopped,
        cell.trials.len()
    );
    assert!(
        (MIN_TRIALS_FOR_INTERVAL..MAX).contains(&cell.trials.len()),
        "{} trials",
        cell.trials.len()
    );

    // 0.3–300 ms drawn log-uniformly per host: with two connections, one
    // trial serves ~7 req/s and another hundreds or thousands.
    let noisy = run(dir.path(), "noisy", Some(300_000));
    let cell = &noisy.cells[0];
    assert_eq!(cell.status, CellStatus::Ok);
    assert_eq!(cell.trials.len(), MAX);
    match &cell.stopped {
        Some(Stop::MaxTrials { widest: Some(w) }) => {
            assert!(w.half_width.is_none_or(|h| h > TARGET), "{w}");
        }
        other => panic!("{other:?}"),
    }
    // The order numbers run through both rounds without gaps.
    let mut order: Vec<usize> = cell.trials.iter().map(|t| t.order).collect();
    order.sort_unstable();
    assert_eq!(order, (0..MAX).collect::<Vec<_>>());

    // The next plan knows how long this cell's trials take here.
    let plan = common::harness(&["run", "--plan", scenario(dir.path(), "again").to_str().unwrap()])
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&plan.stderr);
    assert!(
        screen.contains("every cell's trial timed by earlier runs here"),
        "{screen}"
    );
    assert!(screen.contains("3–10 (until ±50.0 %)"), "{screen}");
}
