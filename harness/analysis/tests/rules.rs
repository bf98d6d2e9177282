//! Verdicts, error gating, completeness and old files: the rules a nightly
//! gate rests on.

mod common;

use blueprint_analysis::compare::{self, EXIT_INCOMPLETE, EXIT_REGRESSION, Metric, Options, Verdict};
use blueprint_analysis::results::{self, CellStatus};
use blueprint_analysis::{baseline, recommend, report, table};
use common::{cell, fig, figs, run};

fn compare(base: &results::RunResults, cand: &results::RunResults) -> compare::Comparison {
    compare::compare(
        "b.json".as_ref(),
        base,
        "c.json".as_ref(),
        cand,
        &Options::default(),
    )
}

/// One wasmtime cell with a trial per figure.
fn one_cell(figs: &[common::Fig]) -> results::RunResults {
    run(vec![cell("wasmtime", figs)], figs.len())
}

/// `n` trials a side at 4,000 req/s, spread by `spread`: p50 800 µs in the
/// baseline, `candidate_p50_us` in the candidate.
fn p50_change(n: usize, candidate_p50_us: f64, spread: f64) -> compare::Comparison {
    compare(
        &one_cell(&figs(n, 4000.0, 800.0, spread)),
        &one_cell(&figs(n, 4000.0, candidate_p50_us, spread)),
    )
}

fn row(c: &compare::Comparison, metric: Metric) -> &compare::Row {
    c.rows
        .iter()
        .find(|r| r.metric == metric)
        .unwrap_or_else(|| panic!("no {metric:?} row"))
}

#[test]
fn an_interval_that_straddles_the_threshold_is_inconclusive() {
    // Medians 8 % apart (within the 10 % threshold) but trials spread ±15 %:
    // the old rule said "unchanged"; the interval reaches past ±10 %.
    let c = p50_change(8, 864.0, 0.15);
    let p50 = row(&c, Metric::P50);
    let (lo, hi) = p50.change.unwrap().interval().unwrap();
    assert!(lo < -0.1 || hi > 0.1, "{p50:?}");
    assert_eq!(p50.verdict, Verdict::Inconclusive, "{}", p50.reason);
    assert!(p50.reason.contains("straddles"), "{}", p50.reason);
    // Tight trials with the same medians: the whole interval is within.
    assert_eq!(
        row(&p50_change(8, 820.0, 0.01), Metric::P50).verdict,
        Verdict::Unchanged
    );
}

#[test]
fn a_clear_regression_needs_the_whole_interval_beyond_and_holm() {
    let c = p50_change(8, 1200.0, 0.03);
    let p50 = row(&c, Metric::P50);
    assert_eq!(p50.verdict, Verdict::Regressed, "{}", p50.reason);
    assert!(p50.p_adjusted.unwrap() >= p50.p_value.unwrap());
    assert_eq!(c.exit_code(), EXIT_REGRESSION);
    let md = compare::render_markdown(&c);
    assert!(md.contains("Holm") && md.contains("| p50 |"), "{md}");
    // Three trials a side: exact p ≥ 0.1, never a regression however large.
    let c = p50_change(3, 2400.0, 0.01);
    assert_eq!(row(&c, Metric::P50).verdict, Verdict::Inconclusive);
    assert!((row(&c, Metric::P50).p_value.unwrap() - 0.1).abs() < 1e-12);
    // One trial: no interval, no verdict, and the table says n/a.
    let base = one_cell(&[fig(4000.0, 800.0)]);
    let c = compare(&base, &base);
    assert_eq!(row(&c, Metric::P50).verdict, Verdict::Inconclusive);
    assert!(compare::render_markdown(&c).contains("CI n/a"));
    assert!(table::render(&base).contains("n/a"));
    assert!(!table::render(&base).contains("±0"));
}

#[test]
fn errors_where_there_were_none_regress_whatever_the_thresholds() {
    let base = one_cell(&figs(5, 4000.0, 800.0, 0.02));
    let mut failing = figs(5, 4000.0, 800.0, 0.02);
    failing[2].errors = 3;
    let cand = one_cell(&failing);
    let mut wide = Options::default();
    wide.thresholds_pct.insert(Metric::Errors, 1000.0);
    let c = compare::compare("b".as_ref(), &base, "c".as_ref(), &cand, &wide);
    let errors = row(&c, Metric::Errors);
    assert_eq!(errors.verdict, Verdict::Regressed);
    assert!(errors.reason.contains("0.06%"), "{}", errors.reason);
    assert_eq!(c.exit_code(), EXIT_REGRESSION);
    // The summary and every renderer carry the rate.
    let summary = cand.cells[0].summary.as_ref().unwrap();
    assert_eq!((summary.errors, summary.requests), (3, 5000));
    assert!((summary.error_rate.unwrap() - 0.0006).abs() < 1e-12);
    assert!(table::render(&cand).contains("0.06%"));
    let r = report::render(&cand, "c.json").unwrap();
    assert!(r.markdown.contains("0.06%") && r.html.contains("0.06%"));
}

#[test]
fn a_trial_without_successes_has_no_latency_not_zero() {
    let mut figs = figs(5, 4000.0, 800.0, 0.02);
    figs[1].errors = figs[1].requests;
    let failing = one_cell(&figs);
    let summary = failing.cells[0].summary.as_ref().unwrap();
    assert!(summary.p50_us.is_none() && summary.p99_us.is_none());
    assert!(table::render(&failing).contains('—'));
    let r = report::render(&failing, "f.json").unwrap();
    assert!(r.markdown.contains("| — | — |"), "{}", r.markdown);
    // recommend excludes it on its error rate (20 %) before anything else.
    let req = recommend::Requirements {
        rate_rps: 10.0,
        p99_budget_us: 1e9,
        needs: vec![recommend::Need::None],
        language: None,
        cpu_budget_us: None,
        max_error_rate: recommend::DEFAULT_MAX_ERROR_RATE,
    };
    let rec = recommend::recommend("f.json".as_ref(), &failing, None, &req).unwrap();
    assert!(rec.ranked.is_empty(), "{rec:?}");
    let why = &rec
        .excluded
        .iter()
        .find(|e| e.mode == "embedded")
        .unwrap()
        .reasons;
    assert!(
        why.iter().any(|r| r.contains("error rate 20.0% > 0.10%")),
        "{why:?}"
    );
}

#[test]
fn incomplete_runs_are_not_compared_and_not_promoted() {
    let dir = tempfile::tempdir().unwrap();
    let base = run(
        vec![
            cell("wasmtime", &figs(5, 4000.0, 800.0, 0.02)),
            cell("wasmer", &figs(5, 3000.0, 900.0, 0.02)),
        ],
        5,
    );
    let mut cand = base.clone();
    cand.completed = false;
    cand.cells[1] = results::CellResult::bare(cand.cells[1].id.clone(), CellStatus::Pending);
    cand.mark_interrupted("interrupted (SIGINT)");
    assert_eq!(
        cand.cells[1].status,
        CellStatus::NotRun {
            reason: "interrupted (SIGINT)".into()
        }
    );
    let c = compare(&base, &cand);
    assert!(!c.candidate_complete && c.baseline_complete);
    assert!(
        c.rows.iter().all(|r| r.cell.runtime != "wasmer"),
        "never unchanged"
    );
    assert!(
        c.not_compared
            .iter()
            .any(|n| n.cell.runtime == "wasmer" && n.reason.contains("SIGINT"))
    );
    assert_eq!(c.exit_code(), EXIT_INCOMPLETE);
    assert!(compare::render_markdown(&c).contains("INCOMPLETE"));

    let path = dir.path().join("cand.json");
    results::write_atomic(&path, &cand).unwrap();
    let err = format!(
        "{:#}",
        baseline::promote(&path, &dir.path().join("b"), "box").unwrap_err()
    );
    assert!(err.contains("incomplete") && err.contains("wasmer"), "{err}");
    assert!(!dir.path().join("b/box.json").exists());
    // Marked completed, it is whole again.
    let mut done = cand.clone();
    done.cells[1] = base.cells[1].clone();
    done.mark_completed();
    assert!(done.is_complete());
}

#[test]
fn schema_one_files_still_read_and_newer_ones_are_refused() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema-1.json");
    let old = results::read(fixture.as_ref()).unwrap();
    assert_eq!(old.schema_version, 1);
    assert!(old.completed, "old files read as completed");
    let s = old.cells[0].summary.as_ref().unwrap();
    assert_eq!(s.throughput_rps.ci_low, Some(3900.0));
    assert!(s.p50_us.is_some() && s.error_rate.is_none());
    assert_eq!(results::cell_error_rate(&old.cells[0]), Some(0.0));
    assert!(report::render(&old, "old.json").is_ok());
    assert!(baseline::validate(&old).is_ok());

    let text = std::fs::read_to_string(fixture).unwrap().replacen(
        "\"schema_version\": 1",
        "\"schema_version\": 3",
        1,
    );
    let err = format!("{:#}", results::parse(&text).unwrap_err());
    assert!(
        err.contains("schema version 3") && err.contains("1 to 2"),
        "{err}"
    );
}

/// A tiny reader of the committed JSON Schema: `type`, `required`,
/// `properties`, `items`, `enum` and local `$ref`s, which is all it uses.
fn check(schema: &serde_json::Value, root: &serde_json::Value, value: &serde_json::Value, at: &str) {
    use serde_json::Value;
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => root
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("{at}: unresolved {r}")),
        None => schema,
    };
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => panic!("{at}: bad type"),
        };
        let ok = types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "number" => value.is_number(),
            "integer" => value.is_u64() || value.is_i64(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        });
        assert!(ok, "{at}: {value} is not {types:?}");
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        assert!(e.contains(value), "{at}: {value} not in {e:?}");
    }
    if let Some(obj) = value.as_object() {
        for key in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = key.as_str().unwrap();
            assert!(obj.contains_key(key), "{at}: missing `{key}`");
        }
        for (key, sub) in schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if let Some(v) = obj.get(key) {
                check(sub, root, v, &format!("{at}.{key}"));
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for (i, v) in list.iter().enumerate() {
            check(items, root, v, &format!("{at}[{i}]"));
        }
    }
}

#[test]
fn a_written_document_matches_the_committed_schema() {
    let schema_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../results/schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    assert_eq!(
        schema.pointer("/properties/schema_version/maximum"),
        Some(&serde_json::json!(results::SCHEMA_VERSION)),
        "the schema describes the version written"
    );
    let mut doc = run(
        vec![
            cell("wasmtime", &figs(5, 4000.0, 800.0, 0.02)),
            cell("wasmer", &[fig(3000.0, 900.0)]),
            results::CellResult::bare(common::id("wazero"), CellStatus::Pending),
        ],
        5,
    );
    doc.mark_interrupted("stopped");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    results::write_atomic(&path, &doc).unwrap();
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    check(&schema, &schema, &written, "$");
    // And the fixture of the previous version, minus what version 2 added.
    assert!(written["cells"][1]["summary"]["throughput_rps"]["ci_low"].is_null());
}

/// Same-run A/B: the machine's speed drifts by ±30 % from pair to pair, the
/// candidate is 15 % slower within every pair. Unpaired, the two samples
/// overlap and nothing can be called; paired, the drift cancels and the
/// regression is plain.
#[test]
fn pairing_sees_through_drift_that_hides_a_regression_from_unpaired_trials() {
    let drift = [1.0, 1.3, 0.75, 1.2, 0.7, 1.25, 0.8, 1.1];
    let base: Vec<common::Fig> = drift.iter().map(|d| fig(4000.0 / d, 800.0 * d)).collect();
    let cand: Vec<common::Fig> = drift
        .iter()
        .map(|d| fig(4000.0 / d / 1.15, 800.0 * d * 1.15))
        .collect();
    let (base, cand) = (one_cell(&base), one_cell(&cand));
    let unpaired = compare(&base, &cand);
    assert_eq!(row(&unpaired, Metric::P50).verdict, Verdict::Inconclusive);
    assert_eq!(unpaired.exit_code(), 0);
    let paired = Options {
        paired: true,
        ..Options::default()
    };
    let c = compare::compare("b.json".as_ref(), &base, "c.json".as_ref(), &cand, &paired);
    for metric in [Metric::P50, Metric::Throughput] {
        let r = row(&c, metric);
        assert_eq!(r.verdict, Verdict::Regressed, "{metric:?}: {}", r.reason);
    }
    let change = row(&c, Metric::P50).change.unwrap();
    assert!((change.change - 0.15).abs() < 1e-9, "{change:?}");
    assert_eq!(c.exit_code(), EXIT_REGRESSION);
    // The same figures as an A/A (the candidate is the baseline): nothing moves.
    let aa = compare::compare("b.json".as_ref(), &base, "c.json".as_ref(), &base, &paired);
    assert!(aa.rows.iter().all(|r| r.verdict != Verdict::Regressed));
    assert!(aa.rows.iter().any(|r| r.verdict == Verdict::Unchanged));
}

/// The sidecar's added latency: a cell through daprd and the same cell
/// straight to the app, p50 800 µs against 300 µs in every trial.
#[test]
fn the_report_shows_what_the_sidecar_adds_where_both_triggers_ran() {
    let through = cell("wasmtime", &figs(5, 4000.0, 800.0, 0.0));
    let mut direct = cell("wasmtime", &figs(5, 9000.0, 300.0, 0.0));
    direct.id.trigger = "direct".into();
    let section = report::markdown::sidecar_added_latency(&run(vec![through.clone(), direct], 5));
    assert!(section.contains("Added by the sidecar"), "{section}");
    assert!(section.contains("+500 µs [+500, +500] 87.9%"), "{section}");
    // Without the direct cell there is nothing to subtract.
    assert!(report::markdown::sidecar_added_latency(&run(vec![through], 5)).is_empty());
}

/// A knee says what ended it: three swept trials, two where the machine's
/// cores ran out above the knee, one where the generator fell behind.
#[test]
fn the_report_says_what_ended_each_sweep() {
    use blueprint_analysis::sweep::KneeLimit;
    let mut swept = cell("wasmtime", &figs(3, 4000.0, 800.0, 0.0));
    for (trial, limit) in
        swept
            .trials
            .iter_mut()
            .zip([KneeLimit::Machine, KneeLimit::Generator, KneeLimit::Machine])
    {
        let point = blueprint_analysis::sweep::RatePoint::of(100.0, 0, &trial.load);
        trial.sweep = vec![results::SweepPoint {
            point,
            within_knee: true,
            load: trial.load.clone(),
            cpu: None,
            bisection: false,
        }];
        trial.knee_rps = Some(100.0);
        trial.knee_limit = Some(limit);
    }
    let unswept = cell("wasmer", &figs(3, 4000.0, 800.0, 0.0));
    let section = report::markdown::knee_limits(&run(vec![swept, unswept], 3));
    assert!(
        section.contains(
            "the machine's cores ran out (2 of 3); the generator fell behind (knee is a lower bound) (1 of 3)"
        ),
        "{section}"
    );
    assert!(!section.contains("wasmer"), "{section}");
    assert!(
        report::markdown::knee_limits(&run(vec![cell("wasmer", &figs(3, 4000.0, 800.0, 0.0))], 3)).is_empty()
    );
}

/// Two identical pairs: the interval is [0, 0] but at 50 %, which is no
/// ground for "unchanged".
#[test]
fn an_interval_at_a_low_level_is_not_called_unchanged() {
    let two = one_cell(&figs(2, 4000.0, 800.0, 0.0));
    let paired = Options {
        paired: true,
        ..Options::default()
    };
    let c = compare::compare("b.json".as_ref(), &two, "c.json".as_ref(), &two, &paired);
    let p50 = row(&c, Metric::P50);
    assert_eq!(p50.verdict, Verdict::Inconclusive, "{}", p50.reason);
    assert!(p50.reason.contains("too few trials"), "{}", p50.reason);
    assert!(
        c.rows
            .iter()
            .all(|r| r.verdict != Verdict::Unchanged || r.metric == Metric::Errors)
    );
}

/// The report says how busy the machine was, which trials ran again for it
/// and which were kept busy, and whether the run was pinned.
#[test]
fn the_report_shows_the_machines_noise_and_the_reruns() {
    use blueprint_analysis::results::{CpuSplit, MachineLoad};
    let load = |foreign_cpu_s: f64| MachineLoad {
        cores: 2,
        window_s: 1.0,
        foreign_cpu_s,
        steal_s: 0.0,
    };
    let mut c = cell("wasmtime", &figs(3, 4000.0, 800.0, 0.0));
    c.trials[0].machine = Some(load(0.1)); // 5 %
    c.trials[1].machine = Some(load(0.2)); // 10 %, after one busy attempt
    c.trials[1].contended_attempts = vec![load(1.0)];
    c.trials[2].machine = Some(load(0.9)); // 45 %: kept busy
    c.trials[2].contended_attempts = vec![load(1.2)];
    let mut results = run(vec![c], 3);
    let section = report::markdown::machine_noise(&results);
    assert!(section.contains("median 10.0 %, highest 45.0 %"), "{section}");
    assert!(
        section.contains("2 trial(s) ran on a machine busy above 25 %"),
        "{section}"
    );
    assert!(section.contains("(2 re-run(s) in all"), "{section}");
    assert!(
        section.contains("1 trial(s) kept although the machine was busy"),
        "{section}"
    );
    assert!(section.contains("trial 3 (45 %)"), "{section}");
    assert!(section.contains("Not pinned"), "{section}");
    results.environment.pinning = Some(CpuSplit {
        load: vec![0],
        system_under_test: vec![1],
    });
    let section = report::markdown::machine_noise(&results);
    assert!(
        section.contains("load generator on CPU(s) [0], daprd, the app and the stores on [1]"),
        "{section}"
    );
    // Files from before the machine was recorded: no section.
    for t in &mut results.cells[0].trials {
        t.machine = None;
    }
    assert!(report::markdown::machine_noise(&results).is_empty());
}

/// `compare` on the two files of one same-run A/B judges them pair by pair,
/// as `ab` does; two separate runs stay two samples.
#[test]
fn the_two_sides_of_one_ab_run_are_compared_as_pairs() {
    let mut base = run(vec![cell("wasmtime", &figs(8, 4000.0, 800.0, 0.05))], 8);
    let mut cand = run(vec![cell("wasmtime", &figs(8, 4000.0, 800.0, 0.05))], 8);
    for (i, (b, c)) in base.cells[0]
        .trials
        .iter_mut()
        .zip(&mut cand.cells[0].trials)
        .enumerate()
    {
        // ABBA: b c, c b, b c, …
        let (first, second) = (2 * i, 2 * i + 1);
        (b.order, c.order) = if i % 2 == 0 {
            (first, second)
        } else {
            (second, first)
        };
    }
    assert!(compare::same_run(&base, &cand));
    let dir = tempfile::tempdir().unwrap();
    let (b, c) = (dir.path().join("b.json"), dir.path().join("c.json"));
    results::write_atomic(&b, &base).unwrap();
    results::write_atomic(&c, &cand).unwrap();
    let paired = compare::compare_files(&b, &c, &Options::default()).unwrap();
    assert!(paired.options.paired);

    // Another start (a second run of the same scenario): independent samples.
    cand.started_at = "2026-01-01T01:00:00+00:00".into();
    assert!(!compare::same_run(&base, &cand));
    results::write_atomic(&c, &cand).unwrap();
    assert!(
        !compare::compare_files(&b, &c, &Options::default())
            .unwrap()
            .options
            .paired
    );
    // Same start, but one side's trials all ran before the other's.
    cand.started_at.clone_from(&base.started_at);
    for (i, t) in cand.cells[0].trials.iter_mut().enumerate() {
        t.order = 8 + i;
    }
    for (i, t) in base.cells[0].trials.iter_mut().enumerate() {
        t.order = i;
    }
    assert!(!compare::same_run(&base, &cand));
}

/// A trial without a sweep has no knee, so the report says nothing of what
/// ended one, whatever an older file recorded.
#[test]
fn unswept_trials_have_no_knee_limit_in_the_report() {
    let mut c = cell("wasmtime", &figs(3, 4000.0, 800.0, 0.0));
    for t in &mut c.trials {
        t.knee_limit = Some(blueprint_analysis::sweep::KneeLimit::Ramp);
    }
    assert!(report::markdown::knee_limits(&run(vec![c], 3)).is_empty());
}
