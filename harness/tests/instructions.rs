//! `blueprint-bench instructions`: counts under Valgrind's callgrind that
//! repeat on a busy machine and see a 1 % change in a guest's work, and
//! Dapr calls counted behind a real daprd. Needs
//! `valgrind` (ci/test.sh installs it): without it the test fails, it does
//! not skip.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use blueprint_analysis::instructions::{self, CountStatus, InstructionRun, PHASES};

/// `compute` with 2,000 SHA-256 rounds per request, and the same with 1 %
/// more: the guest's work changes by 1 %, its parsing and the ABI do not.
const COMPUTE: &str = r#"compute={"data":"blueprint-bench","iterations":2000}"#;
const COMPUTE_PLUS_1PCT: &str = r#"compute={"data":"blueprint-bench","iterations":2020}"#;

fn count(out: &Path, compute: &str, repeat: &str, against: Option<&Path>) -> (i32, InstructionRun, String) {
    let mut cmd = common::harness(&[
        "instructions",
        "--runtimes",
        "wasmtime",
        "--languages",
        "rust",
        "--workloads",
        "noop,compute",
        "--requests",
        "10",
        "--repeat",
        repeat,
        "--input",
        compute,
    ]);
    cmd.arg("--out").arg(out);
    if let Some(base) = against {
        cmd.arg("--against").arg(base);
    }
    let output = cmd.output().expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let code = output.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 3,
        "instructions failed ({code}): {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    (code, instructions::read(out).expect("a counts file"), stdout)
}

#[test]
fn counts_repeat_under_a_cpu_hog_and_a_one_percent_change_in_the_guest_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (idle, busy, changed) = (
        dir.path().join("idle.json"),
        dir.path().join("busy.json"),
        dir.path().join("changed.json"),
    );

    let (code, idle_run, table) = count(&idle, COMPUTE, "2", None);
    assert_eq!(code, 0);
    assert!(table.contains("| wasmtime | rust | compute |"), "{table}");
    for cell in &idle_run.cells {
        assert_eq!(cell.status, CountStatus::Counted, "{cell:?}");
        assert!(
            cell.repetitions.iter().all(|r| r.compile.is_some()),
            "wasmtime compiles on the calling thread"
        );
    }

    // The same build with every core busy: the counts do not move.
    let stop = Arc::new(AtomicBool::new(false));
    let hogs = common::cpu_hog(stop.clone());
    let (code, busy_run, table) = count(&busy, COMPUTE, "1", Some(&idle));
    stop.store(true, Ordering::Relaxed);
    hogs.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(code, 0, "a CPU hog is not a regression:\n{table}");
    for cell in &idle_run.cells {
        let under_hog = busy_run.cells.iter().find(|c| c.key() == cell.key()).unwrap();
        for phase in PHASES {
            let values: Vec<f64> = cell
                .repetitions
                .iter()
                .chain(&under_hog.repetitions)
                .filter_map(|r| r.get(phase))
                .collect();
            let (min, max) = values
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
            // Instantiation goes through an allocator whose heap the
            // runtime's threads share: it has a noise floor of its own.
            let allowed = 0.1_f64.max(instructions::phase_noise_pct(phase));
            assert!(
                (max - min) / min * 100.0 <= allowed,
                "{} {phase}: three runs, one under a hog, spread by {:.4} % ({values:?})",
                cell.key(),
                (max - min) / min * 100.0
            );
        }
    }

    // 1 % more SHA-256 rounds per request: compute's per-request count
    // regresses, noop's does not.
    let (code, _, table) = count(&changed, COMPUTE_PLUS_1PCT, "1", Some(&idle));
    assert_eq!(
        code, 3,
        "a 1 % change in the guest's work must be caught:\n{table}"
    );
    let cmp = instructions::compare(
        &instructions::read(&idle).unwrap(),
        &instructions::read(&changed).unwrap(),
        instructions::DEFAULT_THRESHOLD_PCT,
    );
    let verdict = |cell: &str, phase: &str| {
        cmp.changes
            .iter()
            .find(|c| c.cell == cell && c.phase == phase)
            .map(|c| c.verdict)
    };
    assert_eq!(
        verdict("wasmtime/rust/compute", "per_request"),
        Some(instructions::CountVerdict::Regressed),
        "{cmp:?}"
    );
    assert_eq!(
        verdict("wasmtime/rust/noop", "per_request"),
        Some(instructions::CountVerdict::Unchanged),
        "{cmp:?}"
    );
}

/// `counter` against a real daprd: each request's two Dapr calls are
/// counted apart, and Wasmer's compile includes its compiler pool's thread.
#[test]
fn dapr_calls_are_counted_each_behind_a_real_daprd() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("counter.json");
    let mut cmd = common::harness(&[
        "instructions",
        "--runtimes",
        "wasmtime,wasmer",
        "--languages",
        "rust",
        "--workloads",
        "counter",
        "--requests",
        "5",
    ]);
    cmd.arg("--out").arg(&out);
    let output = cmd.output().expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "instructions failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let run = instructions::read(&out).unwrap();
    let compile = |runtime: &str| -> f64 {
        let cell = run.cells.iter().find(|c| c.runtime == runtime).unwrap();
        assert_eq!(cell.status, CountStatus::Counted, "{cell:?}");
        let counts = &cell.repetitions[0];
        let (get, set) = (counts.host_calls["state_get"], counts.host_calls["state_set"]);
        // A gRPC call is tens of thousands of instructions on the host side;
        // a request is its two calls and the guest's own work.
        assert!(get > 10_000.0 && set > 10_000.0, "{counts:?}");
        assert!(counts.per_request > get + set, "{counts:?}");
        counts.compile.expect("compile is counted on every runtime") as f64
    };
    let (wasmtime, wasmer) = (compile("wasmtime"), compile("wasmer"));
    // Wasmer compiles on a rayon pool: the calling thread alone would show
    // only the wait, a small fraction of what Wasmtime's serial compile does.
    assert!(
        wasmer > 0.25 * wasmtime,
        "Wasmer's compile ({wasmer}) looks like the wait alone (Wasmtime: {wasmtime})"
    );
    assert!(stdout.contains("state_get"), "{stdout}");
}
