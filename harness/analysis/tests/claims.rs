//! The talk's claims judged on chosen figures: a verdict follows the
//! intervals (and the ×1.5 a size claim needs), disagreeing comparisons make
//! a claim "depend" on where they turn, one trial decides nothing, and a
//! claim without its cells says what it needs.

mod common;

use blueprint_analysis::report::claims::{self, Claim, Verdict};
use blueprint_analysis::results::{CellResult, CellSummary, ProcessUsage, RunResults};
use common::{cell, figs, run};

/// A cell of (workload, mode, runtime, trigger) whose
/// trials served about `rps` with `daprd_us` and `app_us` of CPU per request;
/// `state` marks it as one that called Dapr's state API.
fn measured(
    (workload, mode, runtime, trigger): (&str, &str, &str, &str),
    trials: usize,
    rps: f64,
    (daprd_us, app_us): (f64, f64),
    state: bool,
) -> CellResult {
    let mut c = cell(runtime, &figs(trials, rps, 1000.0, 0.02));
    c.id.workload = workload.into();
    c.id.mode = mode.into();
    c.id.trigger = trigger.into();
    for (i, t) in c.trials.iter_mut().enumerate() {
        let wobble = 1.0 + 0.01 * i as f64;
        let ok = t.load.requests as f64;
        t.processes = vec![
            ProcessUsage {
                role: "daprd".into(),
                pid: 1,
                cpu_s: daprd_us * wobble * ok / 1e6,
                peak_rss_bytes: 0,
                start_rss_bytes: 0,
                cpus_allowed: None,
            },
            ProcessUsage {
                role: "app".into(),
                pid: 2,
                cpu_s: app_us * wobble * ok / 1e6,
                peak_rss_bytes: 0,
                start_rss_bytes: 0,
                cpus_allowed: None,
            },
        ];
        t.cpu_per_request_us = Some((daprd_us + app_us) * wobble);
        t.requests_per_cpu_s = Some(1e6 / ((daprd_us + app_us) * wobble));
        if state {
            t.dapr_metrics.insert(
                "dapr_component_state_count{operation=\"get\",success=\"true\"}".into(),
                ok,
            );
        }
    }
    c.summary = CellSummary::of(&c.trials, 0);
    c
}

fn claim<'a>(claims: &'a [Claim], id: &str) -> &'a Claim {
    claims
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no claim {id}"))
}

fn five_trials() -> RunResults {
    let n = 5;
    run(
        vec![
            // gRPC vs HTTP: ×1.25 on wasmtime (clear, not dramatic), ×2 on wazero.
            measured(
                ("counter", "embedded", "wasmtime", "dapr"),
                n,
                1000.0,
                (700.0, 400.0),
                true,
            ),
            measured(
                ("counter", "standalone-http", "wasmtime", "dapr"),
                n,
                800.0,
                (800.0, 450.0),
                true,
            ),
            measured(
                ("counter", "embedded", "wazero", "dapr"),
                n,
                2000.0,
                (400.0, 300.0),
                true,
            ),
            measured(
                ("counter", "standalone-http", "wazero", "dapr"),
                n,
                1000.0,
                (800.0, 450.0),
                true,
            ),
            // The cache: daprd works clearly less.
            measured(
                ("counter", "embedded+cache", "wasmtime", "dapr"),
                n,
                1100.0,
                (500.0, 400.0),
                true,
            ),
            // Middleware serves clearly more than standalone on noop.
            measured(
                ("noop", "middleware", "wazero-in-daprd", "dapr"),
                n,
                6000.0,
                (250.0, 30.0),
                false,
            ),
            measured(
                ("noop", "standalone-http", "wasmtime", "dapr"),
                n,
                3000.0,
                (300.0, 140.0),
                false,
            ),
            // The hop through daprd: ×3 the CPU of calling the app directly.
            measured(
                ("noop", "embedded", "wasmtime", "dapr"),
                n,
                3500.0,
                (200.0, 100.0),
                false,
            ),
            measured(
                ("noop", "embedded", "wasmtime", "direct"),
                n,
                9000.0,
                (0.0, 100.0),
                false,
            ),
        ],
        n,
    )
}

#[test]
fn verdicts_follow_the_intervals_and_the_size_a_claim_needs() {
    let claims = claims::judge(&five_trials());
    assert_eq!(claims.len(), 6, "every claim is named");

    let grpc = claim(&claims, "grpc-host-calls");
    assert_eq!(grpc.verdict, Verdict::Depends, "{grpc:#?}");
    assert!(
        grpc.summary
            .contains("holds for counter / rust / in-memory / wazero"),
        "{}",
        grpc.summary
    );
    assert!(
        grpc.summary
            .contains("does not hold for counter / rust / in-memory / wasmtime"),
        "{}",
        grpc.summary
    );
    let wasmtime = grpc
        .evidence
        .iter()
        .find(|e| e.subject.ends_with("wasmtime"))
        .unwrap();
    assert!(
        wasmtime.figures.contains("not dramatically"),
        "{}",
        wasmtime.figures
    );
    assert!(
        wasmtime.figures.contains("CPU µs/req: daprd 7"),
        "the CPU split explains it: {}",
        wasmtime.figures
    );

    assert_eq!(claim(&claims, "caching").verdict, Verdict::Holds);
    assert_eq!(
        claim(&claims, "middleware-for-low-rates").verdict,
        Verdict::DoesNotHold
    );
    // noop: middleware serves clearly more than standalone; counter: embedded
    // on wazero does. Standalone is clearly highest nowhere.
    assert_eq!(
        claim(&claims, "standalone-for-high-rates").verdict,
        Verdict::DoesNotHold
    );
    let http = claim(&claims, "http-overhead");
    assert_eq!(http.verdict, Verdict::Holds, "{http:#?}");
    assert_eq!(
        http.evidence.len(),
        1,
        "only the cell measured with both triggers"
    );
    let pubsub = claim(&claims, "pubsub-streaming");
    assert_eq!(pubsub.verdict, Verdict::NotMeasured);
    assert!(pubsub.summary.starts_with("not measured: "), "{}", pubsub.summary);
}

#[test]
fn one_trial_decides_nothing_and_a_missing_cell_is_named() {
    let mut one = five_trials();
    for c in &mut one.cells {
        c.trials.truncate(1);
        c.summary = CellSummary::of(&c.trials, 0);
    }
    for c in claims::judge(&one) {
        assert!(
            matches!(c.verdict, Verdict::Inconclusive | Verdict::NotMeasured),
            "{}: {:?} from one trial",
            c.id,
            c.verdict
        );
    }

    // Without counter cells, the claims that need a workload calling Dapr
    // say so instead of judging a pure one.
    let mut pure = five_trials();
    pure.cells.retain(|c| c.id.workload != "counter");
    let claims = claims::judge(&pure);
    for id in ["grpc-host-calls", "caching"] {
        let c = claim(&claims, id);
        assert_eq!(c.verdict, Verdict::NotMeasured, "{c:#?}");
        assert!(c.summary.contains("calls Dapr"), "{}", c.summary);
    }
}

#[test]
fn the_report_has_the_claims_with_their_verdicts() {
    let report = blueprint_analysis::report::render(&five_trials(), "t.json").unwrap();
    assert!(report.markdown.contains("### The talk's claims on this machine"));
    assert!(report.html.contains("<section id=\"claims\">"));
    for c in claims::judge(&five_trials()) {
        assert!(report.markdown.contains(c.claim), "{}", c.id);
        assert!(
            report.html.contains(&format!("id=\"claim-{}\"", c.id)),
            "{}",
            c.id
        );
    }
    assert!(report.markdown.contains("| **depends** |"));
}

#[test]
fn a_direct_cell_is_not_a_blueprint_to_rank() {
    // noop embedded straight to the app costs 100 µs a request, through
    // daprd 300: only the latter is a deployment, and middleware (280) leads.
    let decisions = blueprint_analysis::report::decision::decide(&five_trials());
    let noop = decisions.iter().find(|d| d.workload == "noop").unwrap();
    assert_eq!(noop.standings[0].mode, "middleware", "{noop:#?}");
    assert!(
        noop.standings.iter().all(|s| s.per_cpu_s.median < 5000.0),
        "a direct cell was ranked: {noop:#?}"
    );
}

#[test]
fn pub_sub_is_judged_by_delivered_events_against_invocations_and_a_failed_cell_is_named() {
    let n = 5;
    let cells = vec![
        measured(
            ("counter", "embedded", "wasmtime", "pubsub"),
            n,
            1500.0,
            (500.0, 300.0),
            true,
        ),
        measured(
            ("counter", "embedded", "wasmtime", "dapr"),
            n,
            1000.0,
            (700.0, 400.0),
            true,
        ),
    ];
    let claims = claims::judge(&run(cells.clone(), n));
    let pubsub = claim(&claims, "pubsub-streaming");
    assert_eq!(pubsub.verdict, Verdict::Holds, "{pubsub:#?}");
    assert_eq!(pubsub.evidence.len(), 1);
    assert!(pubsub.evidence[0].figures.contains("events/s"), "{pubsub:#?}");

    // Slower events than invocations: the claim does not hold there.
    let slower = vec![
        measured(
            ("counter", "embedded", "wazero", "pubsub"),
            n,
            500.0,
            (500.0, 300.0),
            true,
        ),
        measured(
            ("counter", "embedded", "wazero", "dapr"),
            n,
            1000.0,
            (700.0, 400.0),
            true,
        ),
    ];
    let claims = claims::judge(&run(slower, n));
    assert_eq!(claim(&claims, "pubsub-streaming").verdict, Verdict::DoesNotHold);

    // Published at a fixed rate, a cell delivers that rate at most: it says
    // nothing of what pub/sub can carry, so it is not compared.
    let mut at_a_rate = cells.clone();
    for trial in &mut at_a_rate[0].trials {
        trial.pubsub = Some(blueprint_analysis::results::PubsubFigures {
            rate: Some(500.0),
            ..Default::default()
        });
    }
    let claims = claims::judge(&run(at_a_rate, n));
    assert_eq!(claim(&claims, "pubsub-streaming").verdict, Verdict::NotMeasured);

    // A pub/sub cell that lost events failed: no verdict, and it is named.
    let mut failed = cells;
    failed[0].status = blueprint_analysis::results::CellStatus::Failed {
        error: "2805 × event-lost".into(),
    };
    let claims = claims::judge(&run(failed, n));
    let pubsub = claim(&claims, "pubsub-streaming");
    assert_eq!(pubsub.verdict, Verdict::NotMeasured);
    assert!(
        pubsub.summary.contains("counter/embedded/wasmtime"),
        "{}",
        pubsub.summary
    );
}
