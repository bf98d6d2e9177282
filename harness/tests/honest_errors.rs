//! A cell whose app breaks mid-window, through a real daprd: saved as
//! failed with its error rate, throughput counting successes only, and
//! `compare` against a healthy run of the same cell fails naming the rate.
//! The healthy run also sweeps one open-loop rate, whose step carries the
//! CPU of every process over its own window.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use blueprint_analysis::compare;
use blueprint_analysis::results::{self, CellStatus};
use blueprint_host::server::{ADDED_LATENCY_ENV, FAIL_AFTER_ENV};

const CELL: &str = r#"
[matrix]
workloads = ["noop"]
modes = ["embedded"]
runtimes = ["wasmtime"]
languages = ["rust"]
"#;

fn harness(args: &[&str]) -> Command {
    let mut cmd = Command::new(common::bin());
    cmd.args(args)
        .env("DAPRD", common::daprd().path)
        .env_remove(ADDED_LATENCY_ENV)
        .env_remove(FAIL_AFTER_ENV)
        .stdin(Stdio::null());
    cmd
}

fn run(dir: &Path, name: &str, load: &str, fail_after_ms: Option<u64>) -> PathBuf {
    let scenario = common::scenario(dir, name, &format!("{CELL}\n[load]\n{load}"));
    let out_path = dir.join(format!("{name}.json"));
    let out = harness(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out_path.to_str().unwrap(),
    ])
    .envs(fail_after_ms.map(|ms| (FAIL_AFTER_ENV, ms.to_string())))
    .output()
    .unwrap();
    // A failed cell makes the run exit 1; the healthy one exits 0.
    let expected = if fail_after_ms.is_some() { 1 } else { 0 };
    assert_eq!(
        out.status.code(),
        Some(expected),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out_path
}

#[test]
fn an_app_that_answers_503_after_one_second_fails_its_cell_and_the_comparison() {
    let dir = tempfile::tempdir().unwrap();
    let window = "connections = 2\nwarmup = \"200ms\"\nduration = \"2500ms\"\ntrials = 1\n";
    let broken = run(dir.path(), "broken", window, Some(1000));
    let healthy = run(dir.path(), "healthy", &format!("{window}rates = [800]\n"), None);

    let doc = results::read(&broken).unwrap();
    let cell = &doc.cells[0];
    let CellStatus::Failed { error } = &cell.status else {
        panic!("a cell failing most requests is saved as {:?}", cell.status);
    };
    assert!(error.contains("error rate"), "{error}");
    // What the app said, through daprd, kept once and named in the error.
    assert!(
        error.contains("the first http-503 said") && error.contains("failing every request"),
        "{error}"
    );
    let load = &cell.trials[0].load;
    assert!(load.error_examples["http-503"].contains("failing every request"));
    assert!(
        load.successes > 0 && load.errors_total > load.successes,
        "about a third of the window healthy: {} ok, {} errors",
        load.successes,
        load.errors_total
    );
    assert_eq!(load.successes + load.errors_total, load.requests);
    // Successes only: the errors are not throughput.
    let successes_per_s = load.successes as f64 / load.duration_s;
    assert!(
        (load.throughput_rps - successes_per_s).abs() <= successes_per_s * 1e-6,
        "throughput {} req/s, successes {successes_per_s} per second",
        load.throughput_rps
    );
    assert!(
        error.contains(&format!("{:.2} %", load.error_rate * 100.0)),
        "{error}"
    );

    // Each sweep step metered over its own window, every process by role.
    let doc = results::read(&healthy).unwrap();
    let step = &doc.cells[0].trials[0].sweep[0];
    let cpu = step.cpu.as_ref().expect("the step is metered");
    for role in ["load-generator", "daprd", "app"] {
        let p = cpu.processes.iter().find(|p| p.role == role);
        assert!(p.is_some_and(|p| p.cpu_s > 0.0), "{role}: {:?}", cpu.processes);
    }
    let per_success = cpu.per_success_us.expect("successes at 800 req/s");
    let sut: f64 = cpu
        .processes
        .iter()
        .filter(|p| p.role != "load-generator")
        .map(|p| p.cpu_s)
        .sum();
    assert!(
        (per_success - sut / step.load.successes as f64 * 1e6).abs() < 1e-6 * per_success,
        "{per_success} µs per success from {sut} s over {} successes",
        step.load.successes
    );

    let out = harness(&["compare", healthy.to_str().unwrap(), broken.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(compare::EXIT_REGRESSION), "{text}");
    assert!(text.contains("error rate"), "{text}");
}
