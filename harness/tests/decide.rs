//! `decide` measures what its answer needs, through a real daprd: at the
//! requested rate, only the modes that can do what the workload needs,
//! dropping a candidate that is clearly out after its first trial, and
//! nothing again that an earlier run measured at that rate (named with
//! `--from`, or found among the runs of this machine and revision).

mod common;

use std::path::Path;

use serde_json::Value;

/// The arguments of `decide` for `counter` at 250 req/s needing state on
/// wasmtime, short windows.
fn question(budget: &str) -> Vec<&str> {
    vec![
        "decide",
        "--workload",
        "counter",
        "--rate",
        "250",
        "--p99-budget",
        budget,
        "--needs",
        "state",
        "--runtime",
        "wasmtime",
        "--warmup",
        "200ms",
        "--duration",
        "1s",
        "--json",
    ]
}

/// `decide` of [`question`] into `out`, with `extra` arguments; returns its
/// JSON. Without `--from` it reuses nothing (`--fresh`): the project's own
/// runs folder may hold runs of this revision.
fn decide(out: &Path, budget: &str, extra: &[&str]) -> Value {
    let mut args = question(budget);
    args.extend_from_slice(&["--out", out.to_str().unwrap()]);
    if !extra.contains(&"--from") {
        args.push("--fresh");
    }
    args.extend_from_slice(extra);
    let output = common::output_ok(&mut common::harness(&args), "decide");
    serde_json::from_slice(&output.stdout).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// The modes that can keep state, all run on `--runtime wasmtime`: the
/// candidates every question below measures.
const STATEFUL_MODES: [&str; 4] = [
    "embedded",
    "embedded+cache",
    "standalone-http",
    "standalone-wasi-http",
];

fn qualifying(d: &Value) -> Vec<String> {
    let answer = &d["answer"];
    answer["ranked"]
        .as_array()
        .unwrap()
        .iter()
        .chain(answer["unranked"].as_array().unwrap())
        .map(|r| r["mode"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn decide_measures_at_the_rate_only_what_can_serve_and_reuses_what_it_has() {
    let dir = tempfile::tempdir().unwrap();

    // A rate well under every Rust blueprint's capacity, a generous budget.
    let first = decide(
        &dir.path().join("first"),
        "1s",
        &["--trials", "1", "--max-trials", "1"],
    );
    assert_eq!(
        first["measured_trials"],
        STATEFUL_MODES.len(),
        "one trial of each state-capable mode"
    );
    let modes = qualifying(&first);
    assert!(!modes.is_empty(), "no blueprint qualifies: {first:#}");
    // Measured at the rate, not in the closed loop.
    let best = first["answer"]["unranked"][0]["best"]["basis"].clone();
    assert_eq!(best["kind"], "at-rate", "{best}");
    assert_eq!(best["rate_rps"], 250.0);
    // Each candidate's figures at the rate and at 1.5× it, CPU by process.
    let at_rate = first["at_rate"].as_array().unwrap();
    assert_eq!(at_rate.len(), STATEFUL_MODES.len(), "{first:#}");
    for a in at_rate {
        assert!(a["p99_at_rate_us"]["median"].as_f64().unwrap() > 0.0, "{a}");
        assert!(a["p99_at_headroom_us"]["median"].as_f64().unwrap() > 0.0, "{a}");
        let roles: Vec<&str> = a["cpu_at_rate_us"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[0].as_str().unwrap())
            .collect();
        assert!(roles.contains(&"daprd") && roles.contains(&"app"), "{a}");
    }
    // Modes whose guest cannot reach Dapr are never measured.
    let results: Value =
        serde_json::from_slice(&std::fs::read(first["results"].as_str().unwrap()).unwrap()).unwrap();
    for cell in results["cells"].as_array().unwrap() {
        let mode = cell["id"]["mode"].as_str().unwrap();
        assert!(
            STATEFUL_MODES.contains(&mode),
            "{mode} was measured for a workload that needs state"
        );
    }
    let not_candidates = strings(&first["not_candidates"]);
    for mode in ["middleware", "middleware+httppipeline", "binding"] {
        assert!(
            not_candidates.iter().any(|l| l.starts_with(mode)),
            "{not_candidates:?}"
        );
    }

    // The same question again, from the first's results: nothing new.
    let first_results = first["results"].as_str().unwrap();
    let again = decide(
        &dir.path().join("again"),
        "1s",
        &["--trials", "1", "--max-trials", "1", "--from", first_results],
    );
    assert_eq!(again["measured_trials"], 0, "{again:#}");
    assert_eq!(strings(&again["reused"]).len(), STATEFUL_MODES.len());
    assert_eq!(qualifying(&again), modes);

    // Without --from, the runs folder is searched: runs of this revision on
    // this machine with this daprd are reused; with uncommitted changes in
    // the checkout none are (they could have measured other code), and
    // the plan says why. --fresh reuses nothing.
    let plan = |extra: &[&str]| -> Value {
        let mut args = question("1s");
        args.extend_from_slice(&["--trials", "1", "--max-trials", "1", "--plan"]);
        args.extend_from_slice(extra);
        let output = common::output_ok(&mut common::harness(&args), "decide --plan");
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let runs = dir.path().to_str().unwrap();
    let found = plan(&["--runs", runs]);
    let revision = results["environment"]["git_revision"].as_str().unwrap();
    let note = found["earlier_runs"].as_str().unwrap();
    if revision.ends_with("-dirty") {
        assert!(note.contains("uncommitted"), "{found:#}");
        assert_eq!(
            found["to_measure"].as_array().unwrap().len(),
            STATEFUL_MODES.len(),
            "{found:#}"
        );
    } else {
        assert!(note.contains(revision), "{found:#}");
        assert!(found["to_measure"].as_array().unwrap().is_empty(), "{found:#}");
        assert_eq!(strings(&found["reused"]).len(), STATEFUL_MODES.len(), "{found:#}");
    }
    let fresh = plan(&["--runs", runs, "--fresh"]);
    assert_eq!(
        fresh["to_measure"].as_array().unwrap().len(),
        STATEFUL_MODES.len(),
        "{fresh:#}"
    );
    assert!(strings(&fresh["reused"]).is_empty(), "{fresh:#}");

    // An impossible budget: three trials asked, but each candidate is
    // dropped after its first (p99 far over 3 × 10 µs); none qualifies and
    // each mode's measured p99 is shown.
    let none = decide(&dir.path().join("none"), "10us", &["--trials", "3"]);
    assert_eq!(none["measured_trials"], STATEFUL_MODES.len(), "{none:#}");
    assert_eq!(
        strings(&none["eliminated"]).len(),
        STATEFUL_MODES.len(),
        "{none:#}"
    );
    assert!(qualifying(&none).is_empty(), "{none:#}");
    let excluded = none["answer"]["excluded"].as_array().unwrap();
    for mode in STATEFUL_MODES {
        let reasons = excluded
            .iter()
            .find(|e| e["mode"] == mode)
            .unwrap_or_else(|| panic!("{mode} not excluded: {none:#}"));
        let text = reasons["reasons"].to_string();
        assert!(
            text.contains("p99") && text.contains("> budget"),
            "{mode}: {text}"
        );
    }

    // Asked again from those results: the dropped candidates stay dropped
    // without measuring them again.
    let none_results = none["results"].as_str().unwrap();
    let again = decide(
        &dir.path().join("none-again"),
        "10us",
        &["--trials", "3", "--from", none_results],
    );
    assert_eq!(again["measured_trials"], 0, "{again:#}");
    assert_eq!(
        strings(&again["eliminated"]).len(),
        STATEFUL_MODES.len(),
        "{again:#}"
    );
}
