//! `blueprint-bench ab` end to end: two sides of one run through a real
//! daprd, trials paired back to back. A candidate whose app host sleeps
//! 3 ms per request (the hosts' test knob, given to that side only) is
//! called a regression with exit code 3; two sides that differ by a variable
//! nothing reads are not. `compare` on the two sides' files reaches the same
//! verdicts with its default thresholds (10 %, p99 20 %): it sees that they
//! are one run's pairs and judges them as pairs.

mod common;

use common::harness;

/// The one cheap cell with eight pairs: the fewest with which the
/// signed-rank test (2/2⁸) stays below 0.05 after Holm's adjustment over the
/// cell's five figures.
fn pairs() -> String {
    let cell = common::ONE_CELL.replace(r#"warmup = "100ms""#, r#"warmup = "200ms""#);
    format!("{cell}trials = 8\n")
}

fn ab(dir: &std::path::Path, name: &str, baseline: &str, candidate: &str) -> (i32, serde_json::Value) {
    let scenario = common::scenario(dir, name, &pairs());
    let out = dir.join(name);
    let output = harness(&[
        "ab",
        scenario.to_str().unwrap(),
        "--baseline",
        baseline,
        "--candidate",
        candidate,
        "--out",
        out.to_str().unwrap(),
        "--json",
    ])
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let code = output.status.code().unwrap_or(-1);
    assert!(matches!(code, 0 | 3), "exit {code}: {stderr}");
    let comparison: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    // Both sides' results and the comparison are on disk.
    for file in [
        "baseline.json",
        "candidate.json",
        "comparison.json",
        "comparison.md",
    ] {
        assert!(out.join(file).is_file(), "{file} missing in {}", out.display());
    }
    (code, comparison)
}

fn rows<'a>(c: &'a serde_json::Value, metric: &str) -> Vec<&'a serde_json::Value> {
    c["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["metric"] == metric && r["rate_rps"].is_null())
        .collect()
}

#[test]
fn a_slower_candidate_regresses_and_an_identical_one_does_not() {
    let dir = tempfile::tempdir().unwrap();

    let knob = format!("env={}=3000", blueprint_host::server::ADDED_LATENCY_ENV);
    let (code, slower) = ab(dir.path(), "slower", "env=BLUEPRINT_AB_SIDE=a", &knob);
    assert_eq!(slower["options"]["paired"], true);
    let p50 = rows(&slower, "p50");
    assert_eq!(p50.len(), 1, "{slower:#}");
    assert_eq!(p50[0]["verdict"], "regressed", "{:#}", p50[0]);
    assert_eq!(rows(&slower, "throughput")[0]["verdict"], "regressed");
    assert_eq!(code, 3, "a regression exits 3");
    // The knob is recorded with the side that had it, and only there.
    let read = |side: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.path().join("slower").join(side)).unwrap()).unwrap()
    };
    let knob_name = blueprint_host::server::ADDED_LATENCY_ENV;
    assert_eq!(
        read("candidate.json")["environment"]["app_environment"][knob_name],
        "3000"
    );
    assert!(read("baseline.json")["environment"]["app_environment"][knob_name].is_null());
    // Every pair ran: eight trials a side, each pair's trials adjacent.
    let (base, cand) = (read("baseline.json"), read("candidate.json"));
    let orders = |v: &serde_json::Value| -> Vec<(u64, u64)> {
        v["cells"][0]["trials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["trial"].as_u64().unwrap(), t["order"].as_u64().unwrap()))
            .collect()
    };
    let (b, c) = (orders(&base), orders(&cand));
    assert_eq!((b.len(), c.len()), (8, 8));
    for (trial, order) in &b {
        let (_, other) = c.iter().find(|(t, _)| t == trial).unwrap();
        assert_eq!(order.abs_diff(*other), 1, "pair {trial} was not back to back");
    }

    let (code, same) = ab(
        dir.path(),
        "same",
        "env=BLUEPRINT_AB_SIDE=a",
        "env=BLUEPRINT_AB_SIDE=b",
    );
    let regressed: Vec<&serde_json::Value> = same["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] == "regressed")
        .collect();
    assert!(regressed.is_empty(), "A/A regressed: {regressed:#?}");
    assert_eq!(code, 0);

    // `compare` on either run's files: paired, default thresholds, the
    // same verdicts, and Markdown that names the cell and the figure.
    let compare = |run: &str, json: bool| {
        let side = |file: &str| dir.path().join(run).join(file).display().to_string();
        let (base, cand) = (side("baseline.json"), side("candidate.json"));
        let mut args = vec!["compare", base.as_str(), cand.as_str()];
        if json {
            args.push("--json");
        }
        let out = harness(&args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, text) = compare("slower", true);
    let c: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(c["options"]["paired"], true, "{text}");
    assert_eq!(c["options"]["thresholds_pct"]["p50"], 10.0, "{text}");
    assert_eq!(rows(&c, "p50")[0]["verdict"], "regressed", "{text}");
    assert_eq!(code, Some(3));
    let (code, md) = compare("slower", false);
    assert_eq!(code, Some(3));
    assert!(
        md.contains("noop/embedded/wasmtime/rust") && md.contains("| p50 |"),
        "{md}"
    );
    let (code, text) = compare("same", true);
    let c: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(c["options"]["paired"], true, "{text}");
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn sides_that_do_not_differ_or_parts_that_do_not_parse_are_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = common::scenario(dir.path(), "refused", &pairs());
    let out = harness(&["ab", scenario.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("baseline and candidate are the same"), "{stderr}");
    let out = harness(&["ab", scenario.to_str().unwrap(), "--candidate", "image=x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unknown kind `image`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
