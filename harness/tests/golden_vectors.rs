//! Every workload's golden vectors pass on every available runtime, through
//! each runtime's host process and a real daprd: byte-identical outputs and
//! the same final Dapr state.

mod common;

use blueprint_bench::conformance::{self, ConformanceContext};
use blueprint_bench::{paths, workloads};
use blueprint_host::table::{self as runtimes, Availability};

fn context() -> ConformanceContext {
    ConformanceContext {
        daprd: common::daprd(),
        self_exe: common::bin(),
        project: paths::project_dir(),
        cache: paths::cache_dir(),
    }
}

/// Every built embedded module of every language and workload on `runtime`.
async fn check(runtime: &str) {
    let ctx = context();
    let guests = common::all_guests();
    // Every language has every workload but those the one list says it has
    // not (`PARTIAL_WORKLOADS`): a missing module fails here instead of
    // being skipped below.
    for workload in workloads::known_workloads(&ctx.project).unwrap() {
        for language in workloads::LANGUAGES {
            let want = workloads::implemented_in(&workload, language);
            assert_eq!(
                guests.contains_key(&(language.to_string(), workload.clone())),
                want,
                "{language} {workload}: should be built: {want}"
            );
        }
    }
    for ((language, workload), module) in &guests {
        let vectors = workloads::load_vectors(&ctx.project, workload).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cell = conformance::check_cell(&ctx, runtime, language, module, &vectors, dir.path())
            .await
            .unwrap();
        assert_eq!(
            cell.status, "pass",
            "{workload} in {language} on {runtime}: {:?}",
            cell.first_difference
        );
        assert_eq!(cell.passed, vectors.cases.len());
        assert!(cell.cases >= 5, "{workload} has too few vectors to mean much");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vectors_pass_on_wasmtime() {
    check("wasmtime").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vectors_pass_on_wasmer_cranelift_and_singlepass() {
    check("wasmer").await;
    check("wasmer-singlepass").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vectors_pass_on_wazero() {
    // Go is part of this project's toolchain (it builds daprd), so wazero must
    // be available wherever the tests run.
    assert_eq!(
        runtimes::entry("wazero").unwrap().availability,
        Availability::Available
    );
    check("wazero").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_expectation_is_reported_as_a_difference() {
    let ctx = context();
    let mut vectors = workloads::load_vectors(&ctx.project, "counter").unwrap();
    vectors.final_state.insert("visits".into(), "999".into());
    let dir = tempfile::tempdir().unwrap();
    let cell = conformance::check_cell(
        &ctx,
        "wasmtime",
        "rust",
        &common::guests()["counter"],
        &vectors,
        dir.path(),
    )
    .await
    .unwrap();
    assert_eq!(cell.status, "fail");
    let diff = cell.first_difference.unwrap();
    assert!(diff.contains("final state `visits`"), "{diff}");
}

#[test]
fn unavailable_runtimes_say_why_and_how_to_fix() {
    for entry in runtimes::entries() {
        if let Availability::Unavailable { reason, fix } = entry.availability {
            assert!(!reason.is_empty() && !fix.is_empty(), "{}", entry.name);
        }
    }
}

/// `aggregate` publishes one event per succeeding case: the host, subscribed
/// as a plain subscriber, receives exactly them (the vectors pass above), and
/// a wrong or missing event is a difference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_published_event_is_reported_as_a_difference() {
    let ctx = context();
    let mut vectors = workloads::load_vectors(&ctx.project, "aggregate").unwrap();
    assert_eq!(vectors.events.len(), 7, "one event per succeeding case");
    vectors.events[0].data = vectors.events[0].data.replace("\"count\":1", "\"count\":9");
    vectors.events.push(vectors.events[1].clone());
    let dir = tempfile::tempdir().unwrap();
    let cell = conformance::check_cell(
        &ctx,
        "wasmtime",
        "rust",
        &common::guests()["aggregate"],
        &vectors,
        dir.path(),
    )
    .await
    .unwrap();
    assert_eq!(cell.status, "fail");
    let diff = cell.first_difference.unwrap();
    assert!(
        diff.contains("published events: 7 received, 8 expected") && diff.contains("\"count\":9"),
        "{diff}"
    );
}
