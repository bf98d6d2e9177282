//! `recommend` judges cells at the requested rate with what the sweep
//! measured there, calls overlapping intervals a tie and refuses to rank on
//! fewer than three trials.

mod common;
mod synthetic;

use blueprint_analysis::recommend::{self, Basis, Recommendation, Requirements};
use blueprint_analysis::results::RunResults;
use synthetic::{Trial, cell, id, run};

/// `n` trials swept at 100, 200 and 400 req/s (p99 flat: the knee is 400),
/// costing `cpu_us[i]` per request in trial `i`, in the closed loop and at
/// every step alike.
fn trials(cpu_us: &[f64]) -> Vec<Trial> {
    cpu_us
        .iter()
        .map(|&cpu| {
            let mut t =
                Trial::new(3000.0, 500.0, 1500.0).sweep(&[(100.0, 1500.0), (200.0, 1500.0), (400.0, 1500.0)]);
            t.cpu_us = cpu;
            t
        })
        .collect()
}

/// Asserts the rendered text shows `part`.
fn shows(text: &str, part: &str) {
    assert!(text.contains(part), "`{part}` not in:\n{text}");
}

fn req(rate: f64) -> Requirements {
    Requirements {
        rate_rps: rate,
        p99_budget_us: 10_000.0,
        needs: Vec::new(),
        language: None,
        cpu_budget_us: None,
        max_error_rate: recommend::DEFAULT_MAX_ERROR_RATE,
    }
}

fn decide(results: &RunResults, rate: f64) -> Recommendation {
    recommend::recommend("synthetic.json".as_ref(), results, Some("noop"), &req(rate)).unwrap()
}

#[test]
fn overlapping_cpu_intervals_share_a_rank() {
    let results = run(vec![
        cell(
            id("noop", "embedded", "wasmtime", "rust"),
            &trials(&[400.0, 410.0, 420.0]),
        ),
        cell(
            id("noop", "standalone-http", "wasmtime", "rust"),
            &trials(&[405.0, 415.0, 425.0]),
        ),
        cell(
            id("noop", "middleware", "wazero", "rust"),
            &trials(&[900.0, 910.0, 920.0]),
        ),
    ]);
    let rec = decide(&results, 150.0);
    let text = recommend::render(&rec);
    let ranks: Vec<(&str, usize)> = rec.ranked.iter().map(|r| (r.mode.as_str(), r.rank)).collect();
    assert_eq!(
        ranks,
        [("embedded", 1), ("standalone-http", 1), ("middleware", 3)],
        "{text}"
    );
    assert_eq!(rec.ranked[0].tied_with, ["standalone-http"]);
    assert!(rec.ranked[2].tied_with.is_empty());
    shows(&text, "1. (tie) embedded");
    shows(&text, "1. (tie) standalone-http");
    shows(&text, "3. middleware");
    // Judged at the lowest swept rate at or above 150 req/s, with its interval.
    let best = &rec.ranked[0].best;
    assert_eq!(best.basis, Basis::AtRate { rate_rps: 200.0 });
    assert_eq!(best.basis_trials, 3);
    let cpu = best.cpu_per_success_us.unwrap();
    assert_eq!((cpu.median, cpu.interval()), (410.0, Some((400.0, 420.0))));
    shows(&text, "at 200 req/s, the lowest swept rate ≥ 150 req/s");
    shows(&text, "410 µs [400 µs, 420 µs]");
}

#[test]
fn fewer_than_three_trials_are_listed_unranked_with_the_reason() {
    let results = run(vec![
        cell(
            id("noop", "embedded", "wasmtime", "rust"),
            &trials(&[400.0, 410.0]),
        ),
        cell(
            id("noop", "middleware", "wazero", "rust"),
            &trials(&[900.0, 910.0, 920.0]),
        ),
    ]);
    let rec = decide(&results, 150.0);
    let text = recommend::render(&rec);
    assert!(rec.ranked.is_empty(), "{text}");
    let refusal = rec.refusal.as_deref().unwrap();
    assert!(
        refusal.contains("fewer than 3 trials") && refusal.contains("noop/embedded/wasmtime/rust"),
        "{refusal}"
    );
    let unranked: Vec<&str> = rec.unranked.iter().map(|r| r.mode.as_str()).collect();
    assert_eq!(unranked, ["embedded", "middleware"]);
    assert!(rec.unranked.iter().all(|r| r.rank == 0));
    shows(&text, "No ranking: fewer than 3 trials");
    shows(&text, "- embedded — wasmtime/rust");
}

#[test]
fn the_cpu_measured_at_the_rate_decides_not_the_closed_loop() {
    // Closed loop, embedded is cheaper; at 400 req/s it costs more.
    let mut cheap_closed = cell(
        id("noop", "embedded", "wasmtime", "rust"),
        &trials(&[300.0, 305.0, 310.0]),
    );
    for t in &mut cheap_closed.trials {
        for p in &mut t.sweep {
            p.cpu.as_mut().unwrap().per_success_us = Some(800.0 + p.point.target_rps);
        }
    }
    let results = run(vec![
        cheap_closed,
        cell(
            id("noop", "middleware", "wazero", "rust"),
            &trials(&[500.0, 505.0, 510.0]),
        ),
    ]);
    let rec = decide(&results, 400.0);
    let modes: Vec<&str> = rec.ranked.iter().map(|r| r.mode.as_str()).collect();
    assert_eq!(modes, ["middleware", "embedded"], "{}", recommend::render(&rec));
    assert_eq!(rec.ranked[1].best.cpu_per_success_us.unwrap().median, 1200.0);

    // Beyond the highest swept rate nothing was measured: it cannot reach it.
    let rec = decide(&results, 500.0);
    let why = rec.exclusion("embedded").unwrap();
    assert!(
        why.iter()
            .any(|r| r.contains("cannot reach 500 req/s: the sweep stopped at 400 req/s (knee 400 req/s)")),
        "{why:?}"
    );

    // Without a sweep the closed loop stands in, and says so.
    let results = run(vec![cell(
        id("noop", "embedded", "wasmtime", "rust"),
        &[300.0, 305.0, 310.0].map(|cpu| {
            let mut t = Trial::new(3000.0, 500.0, 1500.0);
            t.cpu_us = cpu;
            t
        }),
    )]);
    let rec = decide(&results, 400.0);
    assert_eq!(rec.ranked[0].best.basis, Basis::ClosedLoop);
    shows(&recommend::render(&rec), "closed loop (no rate sweep");
}
