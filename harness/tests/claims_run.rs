//! The claims report on a short real claims run: every claim of the talk is
//! named with a verdict or "not measured: why", and one trial per cell
//! decides none of them.

mod common;

use blueprint_analysis::report::claims::{self, Verdict};

/// `scenarios/claims.toml` cut to one runtime, two workloads, one trial and
/// short windows: the cells of every measurable claim, briefly.
const SHORT: &str = r#"
[matrix]
workloads = ["noop", "counter"]
modes = ["middleware", "standalone-http", "embedded", "embedded+cache"]
runtimes = ["wasmtime"]
languages = ["rust"]
triggers = ["dapr", "direct", "pubsub"]

[load]
connections = 2
warmup = "200ms"
duration = "500ms"
trials = 1

[dapr]
state_store = "in-memory"

[inputs.counter]
text = "claims-short"
"#;

#[test]
fn a_short_claims_run_names_every_claim_with_a_verdict_or_what_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = common::scenario(dir.path(), "claims-short", SHORT);
    let results = dir.path().join("results.json");
    common::output_ok(
        &mut common::harness(&[
            "run",
            scenario.to_str().unwrap(),
            "--out",
            results.to_str().unwrap(),
        ]),
        "run",
    );
    let run = blueprint_analysis::results::read(&results).unwrap();
    let judged = claims::judge(&run);
    assert_eq!(judged.len(), 6);
    for c in &judged {
        match c.verdict {
            Verdict::NotMeasured => assert!(c.summary.starts_with("not measured: "), "{c:#?}"),
            Verdict::Inconclusive => {
                assert!(!c.evidence.is_empty(), "{c:#?}");
                assert!(
                    c.evidence.iter().all(|e| e.figures.contains("one trial")),
                    "one trial has no interval: {c:#?}"
                );
            }
            other => panic!("{}: {other:?} from one trial", c.id),
        }
    }
    // Every measurable claim found its cells in this run.
    for id in [
        "middleware-for-low-rates",
        "grpc-host-calls",
        "caching",
        "http-overhead",
        "pubsub-streaming",
    ] {
        let c = judged.iter().find(|c| c.id == id).unwrap();
        assert_eq!(c.verdict, Verdict::Inconclusive, "{c:#?}");
    }

    let out = dir.path().join("report");
    common::output_ok(
        &mut common::harness(&[
            "report",
            results.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]),
        "report",
    );
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        markdown.contains("### The talk's claims on this machine"),
        "{markdown}"
    );
    for c in &judged {
        assert!(
            markdown.contains(&format!("| {} | **{}** |", c.claim, c.verdict.label())),
            "{}: {markdown}",
            c.id
        );
    }
}
