//! Results files as `report`, `compare`, `table` and `baseline promote` read
//! them, truncated, flipped and structurally hostile: an error or a
//! document, never a panic; and every document that does parse goes
//! through the analysis without a panic either.

mod common;
#[path = "../../tests/mutate/mod.rs"]
mod mutate;

use std::path::Path;

use blueprint_analysis::results::{self, RunResults};
use blueprint_analysis::{baseline, compare, report, table};
use proptest::prelude::*;
use serde_json::{Value, json};

/// A run that reaches every branch of the readers: two cells of several
/// trials, one with errors, one failed, one trial with a rate sweep.
fn seed_run() -> String {
    let mut failing = common::figs(5, 900.0, 120.0, 0.1);
    failing[1].errors = 40;
    let mut doc = common::run(
        vec![
            common::cell("wasmtime", &common::figs(5, 1000.0, 100.0, 0.1)),
            common::cell("wasmer", &failing),
        ],
        5,
    );
    doc.cells.push(results::CellResult::bare(
        common::id("wazero"),
        results::CellStatus::Failed {
            error: "daprd exited".into(),
        },
    ));
    let mut value = serde_json::to_value(&doc).expect("a run serialises");
    let load = value["cells"][0]["trials"][0]["load"].clone();
    let point = |rate: f64, p99: f64| {
        json!({
            "point": {"target_rps": rate, "achieved_rps": rate, "p99_us": p99, "errors": 0,
                      "requests": 100, "intended": 100, "sent": 100},
            "within_knee": p99 < 1000.0,
            "load": load,
        })
    };
    value["cells"][0]["trials"][0]["sweep"] = json!([point(100.0, 300.0), point(200.0, 5000.0)]);
    value["cells"][0]["trials"][0]["knee_rps"] = json!(100.0);
    serde_json::to_string_pretty(&value).expect("a run prints")
}

fn seeds() -> Vec<String> {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema-1.json");
    vec![
        seed_run(),
        std::fs::read_to_string(fixture).expect("the schema 1 fixture"),
    ]
}

/// Everything a reader of saved results does with a document.
fn analyse(doc: &RunResults) {
    let _ = table::render(doc);
    if let Ok(report) = report::render(doc, "fuzz.json") {
        assert!(!report.markdown.is_empty());
    }
    let _ = baseline::validate(doc);
    let pristine = results::parse(&seed_run()).expect("the seed parses");
    let options = compare::Options::default();
    for (base, cand) in [(&pristine, doc), (doc, &pristine), (doc, doc)] {
        let c = compare::compare(Path::new("a.json"), base, Path::new("b.json"), cand, &options);
        let _ = compare::render_markdown(&c);
        let _ = c.exit_code();
    }
}

fn check(text: &str) -> Result<(), TestCaseError> {
    match results::parse(text) {
        Ok(doc) => analyse(&doc),
        Err(err) => {
            let message = format!("{err:#}");
            prop_assert!(!message.trim().is_empty());
        }
    }
    Ok(())
}

/// Every node of `value`, depth first, as mutable references' paths.
fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Object(o) => o.values().map(count).sum(),
        _ => 0,
    }
}

/// The `n`th node of a depth-first walk.
fn nth<'a>(v: &'a mut Value, n: &mut usize) -> Option<&'a mut Value> {
    if *n == 0 {
        return Some(v);
    }
    *n -= 1;
    match v {
        Value::Array(a) => a.iter_mut().find_map(|c| nth(c, n)),
        Value::Object(o) => o.values_mut().find_map(|c| nth(c, n)),
        _ => None,
    }
}

/// The document with the node at `at` replaced by `with`.
fn replace_node(value: &mut Value, at: prop::sample::Index, with: Value) {
    let mut n = at.index(count(value));
    if let Some(node) = nth(value, &mut n) {
        *node = with;
    }
}

/// A value of the same JSON type as `node` that a writer would not write:
/// counts and figures of zero, negative, at the edges of their types;
/// histograms that do not decode; lists emptied or repeated.
fn same_type_hostile(node: &Value, pick: usize) -> Value {
    match node {
        Value::Number(_) => [
            json!(0),
            json!(-1),
            json!(0.0),
            json!(-0.5),
            json!(1e308),
            json!(-1e308),
            json!(f64::MIN_POSITIVE),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(u32::MAX),
        ][pick % 10]
            .clone(),
        Value::String(_) => [
            json!(""),
            json!("not base64!"),
            json!("HISTFAAAACR4nJNpmSzMwMDAzAABMFoYAF"),
            json!("AAAA"),
            json!("\u{202e}ñ🦀"),
            json!("../../x"),
        ][pick % 6]
            .clone(),
        Value::Array(items) => match pick % 3 {
            0 => json!([]),
            1 => Value::Array(items.iter().cycle().take(items.len() * 20).cloned().collect()),
            _ => Value::Array(items.iter().rev().cloned().collect()),
        },
        Value::Bool(b) => json!(!b),
        Value::Null => json!(0),
        Value::Object(_) => json!({}),
    }
}

proptest! {
    #![proptest_config(mutate::config(256))]

    #[test]
    fn edited_results_are_errors_or_analysable(
        text in prop::sample::select(seeds()).prop_flat_map(|t| mutate::mutated(&t))
    ) {
        check(&text)?;
    }

    #[test]
    fn hostile_nodes_are_errors_or_analysable(
        seed in prop::sample::select(seeds()),
        edits in prop::collection::vec((any::<prop::sample::Index>(), mutate::hostile_value()), 1..4),
    ) {
        let mut value: Value = serde_json::from_str(&seed).expect("seed is JSON");
        for (at, hostile) in edits {
            // Values JSON cannot spell (nan, inf) stay raw text: a parse error.
            let Ok(with) = serde_json::from_str::<Value>(&hostile) else {
                let text = serde_json::to_string(&value).expect("prints");
                check(&text.replacen("100.0", &hostile, 1))?;
                continue;
            };
            replace_node(&mut value, at, with);
        }
        check(&serde_json::to_string(&value).expect("prints"))?;
    }

    #[test]
    fn same_type_hostile_values_are_errors_or_analysable(
        seed in prop::sample::select(seeds()),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<usize>()), 1..6),
    ) {
        let mut value: Value = serde_json::from_str(&seed).expect("seed is JSON");
        for (at, pick) in edits {
            let nodes = count(&value);
            // Repeated lists nest: past this the case tests memory, not parsing.
            if nodes > 200_000 {
                break;
            }
            let mut n = at.index(nodes);
            if let Some(node) = nth(&mut value, &mut n) {
                *node = same_type_hostile(node, pick);
            }
        }
        check(&serde_json::to_string(&value).expect("prints"))?;
    }

    #[test]
    fn every_schema_version_is_read_or_refused(
        seed in prop::sample::select(seeds()),
        version in prop_oneof![Just(0u64), Just(1), Just(2), Just(3), Just(999), Just(u64::from(u32::MAX) + 1)],
    ) {
        let mut value: Value = serde_json::from_str(&seed).expect("seed is JSON");
        value["schema_version"] = json!(version);
        let text = serde_json::to_string(&value).expect("prints");
        match results::parse(&text) {
            Ok(doc) => analyse(&doc),
            Err(err) => {
                let message = format!("{err:#}");
                prop_assert!(
                    message.contains("schema") || message.contains("parsing the results document"),
                    "{message}"
                );
            }
        }
    }
}

#[test]
fn the_seeds_read_and_analyse() {
    for seed in seeds() {
        analyse(&results::parse(&seed).expect("seed parses"));
    }
}

/// Found by `edited_results_are_errors_or_analysable`: error counts whose
/// sum passes `u64::MAX` (one duplicated line) overflowed while summing
/// (a panic in debug builds, a wrapped count in release).
#[test]
fn error_counts_past_u64_do_not_overflow() {
    let mut doc = common::run(
        vec![common::cell("wasmtime", &common::figs(3, 1000.0, 100.0, 0.1))],
        3,
    );
    for trial in &mut doc.cells[0].trials {
        trial.load.requests = u64::MAX;
        trial.load.errors = [("http-500".to_owned(), u64::MAX), ("io".to_owned(), 1)].into();
    }
    let text = serde_json::to_string(&doc).expect("prints");
    let doc = results::parse(&text).expect("parses");
    assert_eq!(results::error_count(&doc.cells[0].trials[0].load), u64::MAX);
    let summary = results::CellSummary::of(&doc.cells[0].trials, 0).expect("a summary");
    assert_eq!((summary.errors, summary.requests), (u64::MAX, u64::MAX));
    analyse(&doc);
}

#[test]
fn a_truncated_file_is_called_one() {
    let seed = seed_run();
    let err = results::parse(&seed[..seed.len() / 2]).expect_err("cut in half");
    assert!(format!("{err:#}").contains("not valid JSON"), "{err:#}");
    let err = results::parse(r#"{"cells": []}"#).expect_err("no version");
    assert!(format!("{err:#}").contains("no schema_version"), "{err:#}");
}
