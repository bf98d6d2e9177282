//! Contention, measured and reduced: `[load] pin` puts the load generator
//! and the system under test on disjoint CPUs (and the results show where
//! each process was allowed to run), and a trial measured while something
//! else kept the machine busy is run again and says so.
//!
//! One test at a time in this file: the CPU hog of one would be the other's
//! foreign load.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use blueprint_analysis::results::{CellStatus, MachineLoad};

/// Held by each test for its whole run (see the module's text).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The counter cell of `common::ONE_CELL`, pinned, never re-run.
fn pinned() -> String {
    let cell = common::ONE_CELL.replace(r#"workloads = ["noop"]"#, r#"workloads = ["counter"]"#);
    format!("{cell}pin = true\nrerun_contended = 0\n")
}

#[test]
fn a_pinned_run_keeps_the_generator_and_the_system_under_test_apart() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let results = common::run_scenario(dir.path(), "pinned", &pinned());
    let cell = &results.cells[0];
    assert_eq!(cell.status, CellStatus::Ok, "{:?}", cell.status);
    let available = blueprint_load::affinity::available_cpus().unwrap();
    if available.len() < 2 {
        // Nothing to split: the run says it was not pinned.
        assert!(results.environment.pinning.is_none());
        return;
    }
    let split = results.environment.pinning.clone().expect("a recorded split");
    assert_eq!(split, blueprint_bench::pinning::split(&available).unwrap());
    let list = blueprint_load::affinity::cpu_list;
    let processes = &cell.trials[0].processes;
    for role in ["load-generator", "daprd", "app"] {
        let p = processes
            .iter()
            .find(|p| p.role == role)
            .unwrap_or_else(|| panic!("no {role} in {processes:?}"));
        let expected = match role {
            "load-generator" => list(&split.load),
            _ => list(&split.system_under_test),
        };
        assert_eq!(p.cpus_allowed.as_deref(), Some(expected.as_str()), "{role}");
    }
    // The counter counted: pinning changed where, not what.
    assert!(cell.trials[0].load.successes > 0);
}

#[test]
fn a_trial_on_a_busy_machine_runs_again_and_is_flagged_when_it_stays_busy() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let body = common::ONE_CELL.replace("duration = \"1s\"", "duration = \"1s\"\nrerun_contended = 2");
    // A busy loop on every core, in this process: foreign to the run's.
    let stop = Arc::new(AtomicBool::new(false));
    let hogs = common::cpu_hog(stop.clone());
    let results = common::run_scenario(dir.path(), "busy", &body);
    stop.store(true, Ordering::Relaxed);
    hogs.into_iter().for_each(|h| h.join().unwrap());

    let cell = &results.cells[0];
    assert_eq!(cell.status, CellStatus::Ok, "{:?}", cell.status);
    let trial = &cell.trials[0];
    // Every attempt ran under the hog: two were set aside, the third kept.
    assert_eq!(
        trial.contended_attempts.len(),
        2,
        "{:?}",
        trial.contended_attempts
    );
    assert!(trial.contended_attempts.iter().all(MachineLoad::contended));
    let machine = trial.machine.expect("the kept attempt's machine");
    assert!(machine.contended(), "{machine:?}");
    let report = blueprint_analysis::report::markdown::machine_noise(&results);
    assert!(report.contains("were run again (2 re-run(s) in all"), "{report}");
    assert!(report.contains("kept although the machine was busy"), "{report}");
}

#[test]
fn a_failing_trial_is_never_run_again_however_busy_the_machine() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    // Every request waits 20 ms in the host and times out after 5 ms.
    let body = common::ONE_CELL.replace(
        "duration = \"1s\"",
        "duration = \"1s\"\ntimeout = \"5ms\"\nrerun_contended = 2",
    );
    let scenario = common::scenario(dir.path(), "failing", &body);
    let out = dir.path().join("results.json");
    let stop = Arc::new(AtomicBool::new(false));
    let hogs = common::cpu_hog(stop.clone());
    let status = common::harness(&["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .env(blueprint_host::server::ADDED_LATENCY_ENV, "20000")
        .output()
        .unwrap()
        .status;
    stop.store(true, Ordering::Relaxed);
    hogs.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(status.code(), Some(1), "a failed cell exits 1");
    let results = blueprint_analysis::results::read(&out).unwrap();
    let cell = &results.cells[0];
    assert!(
        matches!(cell.status, CellStatus::Failed { .. }),
        "{:?}",
        cell.status
    );
    // The failing attempt is the one kept, not re-run into a pass.
    assert_eq!(cell.trials.len(), 1);
    assert!(
        cell.trials[0].contended_attempts.is_empty(),
        "{:?}",
        cell.trials[0]
    );
}
