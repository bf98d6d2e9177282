//! Faults injected into real runs: a process of the system under test is
//! killed or stopped while its cell runs. Each time the cell is saved as
//! failed with the cause, the run goes on with the next cell, the file keeps
//! every finished trial and says the run completed, the exit code says the
//! run was partial, and no process of the run is left behind. A results
//! folder that goes away mid-run loses nothing either: the run ends with its
//! results in a fallback file that the error names.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use blueprint_analysis::results::{self, CellStatus, RunResults};
use blueprint_host::server::{ADDED_LATENCY_ENV, FAIL_AFTER_ENV};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// What the test does to the first process of its kind it finds.
#[derive(Clone, Copy, Debug)]
enum Fault {
    Kill,
    /// `SIGSTOP`, then `SIGCONT` after this long.
    Stall(Duration),
    /// The results folder is moved away and a file takes its name: every
    /// later write under it fails, even for root (whom permissions do not
    /// stop).
    BreakResultsFolder,
}

/// Two cells of one trial each; the first system whose process named `comm`
/// appears gets the fault.
struct Injection<'a> {
    name: &'a str,
    matrix: &'a str,
    comm: &'a str,
    fault: Fault,
    /// From the process's appearance to the fault: past start-up and warm-up.
    delay: Duration,
}

/// Any error fails a cell: a stall overlapping the window by one timeout
/// is enough to show. No re-run on a busy machine (these tests run side by
/// side): each fault hits one attempt, and its outcome is what is checked.
const LOAD: &str = r#"
[load]
rerun_contended = 0
max_error_rate = 0.0
connections = 2
warmup = "200ms"
duration = "3s"
timeout = "1s"
trials = 1
"#;

/// `/proc/<pid>/comm` of each live child of `parent`.
fn children(parent: u32) -> BTreeMap<u32, String> {
    common::children_of(parent)
        .into_iter()
        .filter_map(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            Some((pid, comm.trim().to_owned()))
        })
        .collect()
}

/// Does `fault` to `pid` (or to `results`); false if `pid` was gone already.
fn inject(pid: u32, fault: Fault, results: &Path) -> bool {
    let target = Pid::from_raw(pid as i32);
    match fault {
        Fault::BreakResultsFolder => {
            std::fs::rename(results, results.with_extension("moved")).unwrap();
            std::fs::write(results, "not a folder").unwrap();
            true
        }
        Fault::Kill => kill(target, Signal::SIGKILL).is_ok(),
        Fault::Stall(pause) => {
            if kill(target, Signal::SIGSTOP).is_err() {
                return false;
            }
            std::thread::sleep(pause);
            kill(target, Signal::SIGCONT).unwrap();
            true
        }
    }
}

/// What a run with a fault left.
struct Outcome {
    /// The results file, if it could be read where the run was told to write it.
    results: Option<RunResults>,
    code: Option<i32>,
    /// Every child the run had.
    pids: Vec<u32>,
    stderr: String,
}

/// Runs the scenario with its results in `dir/results/` and the temporary
/// folder at `dir/tmp/`, and injects the fault.
fn run_with(dir: &Path, injection: &Injection) -> Outcome {
    // A fixed seed: the same cell order every time.
    let body = format!("seed = 7\n{}\n{LOAD}", injection.matrix);
    let scenario = common::scenario(dir, injection.name, &body);
    let folder = dir.join("results");
    let out: PathBuf = folder.join(format!("{}.json", injection.name));
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    let mut child: Child = Command::new(common::bin())
        .args(["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .env("DAPRD", common::daprd().path)
        .env_remove(ADDED_LATENCY_ENV)
        .env_remove(FAIL_AFTER_ENV)
        .env("TMPDIR", dir.join("tmp"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let harness = child.id();
    let mut seen = BTreeMap::new();
    // The first process of the kind that lives `delay` gets the fault
    // (short-lived ones, such as `daprd --version`, do not).
    let mut candidate: Option<(u32, Instant)> = None;
    let mut injected = false;
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "{}: the run did not end",
            injection.name
        );
        let now = children(harness);
        if !injected {
            candidate = candidate.filter(|(pid, _)| now.contains_key(pid)).or_else(|| {
                now.iter()
                    .find(|(_, comm)| **comm == injection.comm)
                    .map(|(&pid, _)| (pid, Instant::now()))
            });
            if let Some((pid, since)) = candidate
                && since.elapsed() >= injection.delay
            {
                injected = inject(pid, injection.fault, &folder);
            }
        }
        seen.extend(now);
        std::thread::sleep(Duration::from_millis(25));
    };
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(
        injected,
        "{}: no `{}` process ever started:\n{stderr}",
        injection.name, injection.comm
    );
    Outcome {
        results: results::read(&out).ok(),
        code: status.code(),
        pids: seen.into_keys().collect(),
        stderr,
    }
}

/// The checks every fault shares; returns the failed cell's error.
fn partial_run_with_one_failed_cell(injection: &Injection) -> String {
    let dir = tempfile::tempdir().unwrap();
    let Outcome {
        results,
        code,
        pids,
        stderr,
    } = run_with(dir.path(), injection);
    let name = injection.name;
    let doc = results.unwrap_or_else(|| panic!("{name}: no results file:\n{stderr}"));
    assert_eq!(code, Some(1), "{name}: a run with a failed cell exits 1");
    assert!(doc.completed, "{name}: the run went on to its end");
    let failed: Vec<&String> = doc
        .cells
        .iter()
        .filter_map(|c| match &c.status {
            CellStatus::Failed { error } => Some(error),
            _ => None,
        })
        .collect();
    assert_eq!(
        failed.len(),
        1,
        "{name}: exactly the faulted cell fails: {failed:?}"
    );
    let healthy: Vec<_> = doc.cells.iter().filter(|c| c.status == CellStatus::Ok).collect();
    assert_eq!(healthy.len(), 1, "{name}: the other cell ran: {:?}", doc.cells);
    assert_eq!(healthy[0].trials.len(), 1, "{name}: its trial is in the file");
    assert!(healthy[0].trials[0].load.successes > 0);
    // Stopped on the way out; give the kernel a moment to reap.
    let left: Vec<u32> = pids.into_iter().filter(|&pid| common::alive(pid)).collect();
    assert!(left.is_empty(), "{name}: processes left behind: {left:?}");
    eprintln!("{name}: {}", failed[0]);
    failed[0].clone()
}

const TWO_EMBEDDED: &str = r#"
[matrix]
workloads = ["noop"]
modes = ["embedded", "standalone-http"]
runtimes = ["wasmtime"]
languages = ["rust"]
"#;

#[test]
fn daprd_killed_mid_trial_fails_its_cell_naming_daprd() {
    let error = partial_run_with_one_failed_cell(&Injection {
        name: "daprd-killed",
        matrix: TWO_EMBEDDED,
        comm: "daprd",
        fault: Fault::Kill,
        delay: Duration::from_millis(1500),
    });
    assert!(error.contains("daprd") && error.contains("exited"), "{error}");
}

#[test]
fn the_app_host_killed_mid_trial_fails_its_cell_naming_the_app() {
    let error = partial_run_with_one_failed_cell(&Injection {
        name: "host-killed",
        matrix: TWO_EMBEDDED,
        comm: "blueprint-bench",
        fault: Fault::Kill,
        delay: Duration::from_millis(1500),
    });
    assert!(error.contains("app") && error.contains("exited"), "{error}");
}

#[test]
fn redis_killed_mid_trial_fails_its_cell_naming_redis() {
    let error = partial_run_with_one_failed_cell(&Injection {
        name: "redis-killed",
        matrix: r#"
[matrix]
workloads = ["counter"]
modes = ["embedded", "standalone-http"]
runtimes = ["wasmtime"]
languages = ["rust"]
stores = ["redis"]
"#,
        comm: "redis-server",
        fault: Fault::Kill,
        delay: Duration::from_millis(2000),
    });
    assert!(error.contains("redis") && error.contains("exited"), "{error}");
}

#[test]
fn daprd_stalled_for_three_seconds_fails_its_cell_on_its_timeouts() {
    let error = partial_run_with_one_failed_cell(&Injection {
        name: "daprd-stalled",
        matrix: TWO_EMBEDDED,
        comm: "daprd",
        fault: Fault::Stall(Duration::from_secs(3)),
        delay: Duration::from_millis(1500),
    });
    assert!(
        error.contains("error rate") && error.contains("timeout"),
        "{error}"
    );
}

#[test]
fn a_results_folder_gone_mid_run_loses_no_trial() {
    let dir = tempfile::tempdir().unwrap();
    let Outcome {
        results,
        code,
        pids,
        stderr,
    } = run_with(
        dir.path(),
        &Injection {
            name: "folder-gone",
            matrix: TWO_EMBEDDED,
            comm: "daprd",
            fault: Fault::BreakResultsFolder,
            delay: Duration::from_millis(1500),
        },
    );
    assert!(results.is_none(), "the results folder is a file now");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("instead"),
        "the error names where the results went:\n{stderr}"
    );
    let fallback: Vec<PathBuf> = std::fs::read_dir(dir.path().join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("blueprint-bench-")
        })
        .collect();
    assert_eq!(fallback.len(), 1, "{fallback:?}\n{stderr}");
    assert!(stderr.contains(&fallback[0].display().to_string()), "{stderr}");
    let doc = results::read(&fallback[0]).unwrap();
    assert!(doc.completed, "the run went on to its end");
    // The cell that ran when the folder went finished its trial; the next
    // one could not make its folder and says so.
    let ok: Vec<_> = doc.cells.iter().filter(|c| c.status == CellStatus::Ok).collect();
    assert_eq!(ok.len(), 1, "{:?}", doc.cells);
    assert_eq!(ok[0].trials.len(), 1);
    let failed: Vec<_> = doc
        .cells
        .iter()
        .filter_map(|c| match &c.status {
            CellStatus::Failed { error } => Some(error),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1, "{:?}", doc.cells);
    assert!(failed[0].contains("creating"), "{}", failed[0]);
    let left: Vec<u32> = pids.into_iter().filter(|&pid| common::alive(pid)).collect();
    assert!(left.is_empty(), "processes left behind: {left:?}");
}
