//! The binary end to end: a scenario run writes results, a typo'd scenario is
//! refused with file, line and key, and no child process outlives a run —
//! whether it succeeds, fails mid-way or is interrupted.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::harness;

/// The one cheap cell every run here is made of.
const TINY: &str = common::ONE_CELL;

#[test]
fn a_typo_in_a_scenario_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::scenario(dir.path(), "typo", &TINY.replace("duration", "durration"));
    let out = harness(&["run", path.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{}:13:", path.display())), "{stderr}");
    assert!(stderr.contains("durration"), "{stderr}");
    // Nothing was started for a file that does not validate.
    assert!(!stderr.contains("building"), "{stderr}");
}

/// Runs the harness, collecting the pids of its children while it runs.
fn run_watching_children(
    mut cmd: Command,
    interrupt_after: Option<Duration>,
) -> (std::process::Output, Vec<u32>) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let started = Instant::now();
    let mut seen = std::collections::BTreeSet::new();
    let mut interrupted = false;
    while child.try_wait().unwrap().is_none() {
        seen.extend(common::children_of(pid));
        if let Some(after) = interrupt_after
            && !interrupted
            && started.elapsed() >= after
            && seen.len() >= 2
        {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGINT,
            )
            .unwrap();
            interrupted = true;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "harness did not finish"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (child.wait_with_output().unwrap(), seen.into_iter().collect())
}

#[test]
fn a_run_writes_results_and_leaves_no_process_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::scenario(dir.path(), "tiny", TINY);
    let out_file = dir.path().join("out.json");
    let (out, children) = run_watching_children(
        harness(&["run", path.to_str().unwrap(), "--out", out_file.to_str().unwrap()]),
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("noop") && stdout.contains("wasmtime"), "{stdout}");
    let results: serde_json::Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    assert_eq!(
        results["schema_version"],
        blueprint_analysis::results::SCHEMA_VERSION
    );
    assert_eq!(results["completed"], true);
    let cell = &results["cells"][0];
    assert_eq!(cell["status"], "ok");
    let trial = &cell["trials"][0];
    assert!(trial["load"]["requests"].as_u64().unwrap() > 0);
    // The meters saw the real processes: daprd and the host burned CPU in the
    // window, and the host had a resident set before the first request.
    for role in ["daprd", "app"] {
        let process = trial["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["role"] == role);
        let process = process.unwrap_or_else(|| panic!("no {role} in {}", trial["processes"]));
        assert!(process["cpu_s"].as_f64().unwrap() > 0.0, "{role}: {process}");
        assert!(
            process["peak_rss_bytes"].as_u64().unwrap() > 1 << 20,
            "{role}: {process}"
        );
    }
    assert!(trial["host_idle_rss_bytes"].as_u64().unwrap() > 1 << 20);
    assert!(
        trial["phases"]["instantiate_us"].as_f64().unwrap() > 0.0,
        "{}",
        trial["phases"]
    );
    assert!(trial["cpu_per_request_us"].as_f64().unwrap() > 0.0);
    assert!(
        !results["environment"]["daprd"]["version"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    assert!(
        children.len() >= 2,
        "expected daprd and a host among {children:?}"
    );
    for pid in children {
        assert!(!common::alive(pid), "child {pid} outlived the run");
    }
}

#[test]
fn a_cell_that_fails_mid_way_is_recorded_and_leaves_no_process_behind() {
    let dir = tempfile::tempdir().unwrap();
    // The request times out inside the guest? No: an input the guest refuses
    // makes every request an error, and a missing daprd app makes start-up
    // fail. Here the host is pointed at a module that does not compile.
    let bad = dir.path().join("broken.wasm");
    std::fs::write(&bad, b"\0asm\x01\0\0\0garbage").unwrap();
    let mut cmd = harness(&[
        "host",
        "--listen",
        "127.0.0.1:1",
        "--module",
        &format!("broken={}", bad.display()),
    ]);
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("broken"),
        "start-up error names the module"
    );

    // A scenario whose second cell fails (counter has no input that the
    // scenario's `inputs` allows: the key is too long) still records both.
    let long_key = "k".repeat(200);
    let body = format!(
        "{}\n[inputs.counter]\ntext = \"{long_key}\"\n",
        TINY.replace(r#"["noop"]"#, r#"["noop", "counter"]"#)
    );
    let path = common::scenario(dir.path(), "half", &body);
    let out_file = dir.path().join("half.json");
    let (out, children) = run_watching_children(
        harness(&["run", path.to_str().unwrap(), "--out", out_file.to_str().unwrap()]),
        None,
    );
    let results: serde_json::Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    let cells = results["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2, "both cells are recorded");
    assert_eq!(cells[0]["status"], "ok");
    // Every counter request is refused by the guest: the cell fails with the
    // guest's reason, and the run still finished the other cell.
    assert_eq!(cells[1]["status"], "failed");
    let error = cells[1]["error"].as_str().unwrap();
    assert!(error.contains("key must be at most 128 bytes"), "{error}");
    let _ = out;
    for pid in children {
        assert!(!common::alive(pid), "child {pid} outlived the run");
    }
}

#[test]
fn ctrl_c_stops_the_run_and_every_child() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::scenario(dir.path(), "long", &TINY.replace(r#""1s""#, r#""60s""#));
    let out_file = dir.path().join("long.json");
    let (out, children) = run_watching_children(
        harness(&["run", path.to_str().unwrap(), "--out", out_file.to_str().unwrap()]),
        Some(Duration::from_secs(1)),
    );
    assert!(!out.status.success(), "an interrupted run must not exit 0");
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    assert!(
        children.len() >= 2,
        "the interrupt came after daprd and the host started: {children:?}"
    );
    for pid in children {
        assert!(!common::alive(pid), "child {pid} outlived the interrupted run");
    }
    // The results file says the run is incomplete, and cannot become a baseline.
    let results: serde_json::Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    assert_eq!(results["completed"], false, "{results}");
    let promote = harness(&[
        "baseline",
        "promote",
        out_file.to_str().unwrap(),
        "--dir",
        dir.path().join("baselines").to_str().unwrap(),
        "--machine",
        "test",
    ])
    .output()
    .unwrap();
    assert!(!promote.status.success(), "an incomplete run was promoted");
    let stderr = String::from_utf8_lossy(&promote.stderr);
    assert!(
        stderr.contains("incomplete") || stderr.contains("not run"),
        "{stderr}"
    );
}

#[test]
fn a_plan_over_its_budget_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    // `scenario` writes `[scenario] name`; the budget goes in the same table.
    let body = format!("budget = \"1s\"\n{TINY}");
    let path = common::scenario(dir.path(), "tight", &body);
    let out = harness(&["run", "--plan", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("budget is 1s") && stderr.contains("measuring 1 cells"),
        "{stderr}"
    );
    // Within budget, --plan prints the plan and exits 0 without running.
    let roomy = body.replace(r#"budget = "1s""#, r#"budget = "1h""#);
    let path = common::scenario(dir.path(), "roomy", &roomy);
    let out = harness(&["run", "--plan", path.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("plan: roomy") && stderr.contains("estimated"),
        "{stderr}"
    );
}
