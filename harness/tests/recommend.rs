//! `recommend` on runs with chosen figures: modes ranked from measured
//! figures, excluded with the number that excluded them, unmeasured ones said.

mod common;
mod synthetic;

use std::process::Command;

use blueprint_analysis::recommend::{self, Need, Recommendation, Requirements};
use blueprint_analysis::results::RunResults;
use synthetic::{Trial, cell, id, run};

/// Three trials with a sweep whose knee is `knee` (100, 200, 400 or 800).
fn swept(rps: f64, p99_us: f64, cpu_us: f64, knee: f64) -> Vec<Trial> {
    (0..3)
        .map(|i| {
            let j = 1.0 + i as f64 * 0.02;
            let at = |rate: f64| {
                if rate <= knee {
                    p99_us * j
                } else {
                    p99_us * 20.0 * j
                }
            };
            let mut t = Trial::new(rps * j, p99_us / 3.0 * j, p99_us * j).sweep(&[
                (100.0, at(100.0)),
                (200.0, at(200.0)),
                (400.0, at(400.0)),
                (800.0, at(800.0)),
            ]);
            t.cpu_us = cpu_us * j;
            t
        })
        .collect()
}

/// (mode, runtime, language, figures for [`swept`]) of each cell measured
/// for every workload.
const MEASURED: &[(&str, &str, &str, [f64; 4])] = &[
    ("embedded", "wasmtime", "rust", [4000.0, 2000.0, 400.0, 400.0]),
    ("embedded", "wazero", "go", [400.0, 9000.0, 4000.0, 100.0]),
    (
        "standalone-http",
        "wasmtime",
        "rust",
        [2500.0, 3000.0, 600.0, 200.0],
    ),
    ("native", "none", "rust", [9000.0, 900.0, 150.0, 800.0]),
];

fn results() -> RunResults {
    let mut cells = Vec::new();
    for w in ["noop", "counter"] {
        for &(mode, runtime, language, [rps, p99_us, cpu_us, knee]) in MEASURED {
            cells.push(cell(
                id(w, mode, runtime, language),
                &swept(rps, p99_us, cpu_us, knee),
            ));
        }
    }
    // Middleware only measured for the pure workload (it cannot run counter).
    cells.push(cell(
        id("noop", "middleware", "wazero", "rust"),
        &swept(3000.0, 1500.0, 300.0, 400.0),
    ));
    run(cells)
}

fn req(rate: f64, p99_ms: f64, needs: &[Need]) -> Requirements {
    Requirements {
        rate_rps: rate,
        p99_budget_us: p99_ms * 1000.0,
        needs: needs.to_vec(),
        language: None,
        cpu_budget_us: None,
        max_error_rate: recommend::DEFAULT_MAX_ERROR_RATE,
    }
}

fn decide(workload: Option<&str>, r: &Requirements) -> Recommendation {
    recommend::recommend("synthetic.json".as_ref(), &results(), workload, r).unwrap()
}

fn excluded<'a>(rec: &'a Recommendation, mode: &str) -> &'a [String] {
    &rec.excluded
        .iter()
        .find(|e| e.mode == mode)
        .unwrap_or_else(|| panic!("{mode} not excluded: {}", recommend::render(rec)))
        .reasons
}

#[test]
fn a_pure_workload_at_a_medium_rate_ranks_by_measured_cost() {
    let rec = decide(None, &req(300.0, 10.0, &[Need::None]));
    assert_eq!(rec.workload, "noop");
    let modes: Vec<&str> = rec.ranked.iter().map(|r| r.mode.as_str()).collect();
    assert_eq!(modes, ["middleware", "embedded"], "{}", recommend::render(&rec));
    let best = &rec.ranked[0];
    assert!((best.best.capacity_rps - 400.0).abs() < 1e-9);
    assert!(best.best.capacity_source.starts_with("knee"));
    assert!(
        best.best.p99_source.contains("400 req/s"),
        "{}",
        best.best.p99_source
    );
    assert!(best.considerations.iter().any(|c| c.contains("no side effects")));
    let embedded = &rec.ranked[1];
    assert_eq!(
        (embedded.best.runtime.as_str(), embedded.best.language.as_str()),
        ("wasmtime", "rust")
    );
    assert!(
        embedded
            .considerations
            .iter()
            .any(|c| c.contains("more development effort"))
    );
    assert!(
        embedded
            .not_qualifying
            .iter()
            .any(|r| r == "wazero/go: knee 100 req/s < 300 req/s"),
        "{:?}",
        embedded.not_qualifying
    );
    // Excluded with the figure that excluded it.
    assert_eq!(
        excluded(&rec, "standalone-http"),
        ["wasmtime/rust: knee 200 req/s < 300 req/s"]
    );
    // Not measured is said, not guessed (in the mode table's order).
    let unmeasured: Vec<&str> = rec.not_measured.iter().map(|e| e.mode.as_str()).collect();
    assert_eq!(
        unmeasured,
        [
            "embedded+cache",
            "standalone-wasi-http",
            "middleware+httppipeline",
            "binding"
        ]
    );
    // The native floor is shown, not ranked.
    assert_eq!(rec.reference.as_ref().unwrap().capacity_rps, 800.0);
    let text = recommend::render(&rec);
    assert!(text.contains("1. middleware — wazero/rust"), "{text}");
    assert!(text.contains("Reference, not ranked (no Wasm): native"), "{text}");
}

#[test]
fn needing_state_rules_out_the_modes_that_cannot_reach_dapr() {
    let rec = decide(None, &req(150.0, 10.0, &[Need::State]));
    assert_eq!(rec.workload, "counter");
    assert!(excluded(&rec, "middleware")[0].contains("cannot do state"));
    assert!(excluded(&rec, "binding")[0].contains("cannot do state"));
    let modes: Vec<&str> = rec.ranked.iter().map(|r| r.mode.as_str()).collect();
    assert_eq!(
        modes,
        ["embedded", "standalone-http"],
        "{}",
        recommend::render(&rec)
    );
    assert!(
        rec.ranked[1]
            .considerations
            .iter()
            .any(|c| c.contains("HTTP only"))
    );
}

#[test]
fn latency_and_cpu_budgets_exclude_with_their_figures() {
    let tight = decide(Some("noop"), &req(150.0, 1.8, &[]));
    let modes: Vec<&str> = tight.ranked.iter().map(|r| r.mode.as_str()).collect();
    assert_eq!(modes, ["middleware"], "{}", recommend::render(&tight));
    let reasons = excluded(&tight, "embedded");
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("wasmtime/rust: p99 2.04 ms > budget 1.80 ms")),
        "{reasons:?}"
    );

    let mut cpu = req(150.0, 10.0, &[]);
    cpu.cpu_budget_us = Some(350.0);
    let rec = decide(Some("noop"), &cpu);
    assert_eq!(rec.ranked.len(), 1);
    assert!(
        excluded(&rec, "embedded")
            .iter()
            .any(|r| r.starts_with("wasmtime/rust: CPU 408 µs/req > budget 350")),
        "{}",
        recommend::render(&rec)
    );

    let mut go = req(150.0, 10.0, &[]);
    go.language = Some("go".into());
    let rec = decide(Some("noop"), &go);
    assert!(rec.ranked.is_empty(), "{}", recommend::render(&rec));
    assert!(recommend::render(&rec).contains("No blueprint meets these requirements"));
}

#[test]
fn no_recommendation_without_measurements() {
    let err = recommend::recommend(
        "synthetic.json".as_ref(),
        &results(),
        Some("publish"),
        &req(100.0, 10.0, &[]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("no cells of workload `publish`") && err.contains("counter, noop"),
        "{err}"
    );
    let err = recommend::recommend(
        "synthetic.json".as_ref(),
        &results(),
        None,
        &req(100.0, 10.0, &[Need::Pubsub]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("--workload"), "{err}");
}

#[test]
fn the_command_line_prints_json_and_refuses_bad_requirements() {
    let dir = tempfile::tempdir().unwrap();
    let path = synthetic::write(dir.path(), "r", &results());
    let recommend = |rate: &str, more: &[&str]| {
        Command::new(common::bin())
            .args([
                "recommend",
                path.to_str().unwrap(),
                "--p99-budget",
                "10ms",
                "--rate",
                rate,
            ])
            .args(more)
            .output()
            .unwrap()
    };
    let out = recommend("300", &["--needs", "state", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rec: Recommendation = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rec.ranked[0].mode, "embedded");
    assert_eq!(rec.requirements.p99_budget_us, 10_000.0);
    let out = recommend("-5", &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--rate"));
}
