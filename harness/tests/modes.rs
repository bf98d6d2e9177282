//! Every integration mode for real, through a real daprd: the middleware runs
//! inside daprd, the stateful blueprints leave exactly the state their calls
//! made, and the smoke scenario (the README's main command) runs every mode ×
//! available runtime without an error.

mod common;

use std::time::Duration;

use blueprint_analysis::modes::Mode;
use blueprint_analysis::results::{CellStatus, RunResults};
use blueprint_bench::blueprint;
use blueprint_bench::scenario::DaprSettings;
use blueprint_bench::sidecar::StateStoreKind;
use blueprint_bench::{paths, workloads};

use common::{resolved, rust_cell as cell};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_middleware_runs_inside_daprd_and_transforms_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let id = cell("transform", Mode::Middleware, "wazero-in-daprd");
    let system = common::start(&id, &DaprSettings::default(), dir.path()).await;
    let vectors = workloads::load_vectors(&paths::project_dir(), "transform").unwrap();
    let case = vectors
        .cases
        .iter()
        .find(|c| matches!(c.expected(), Ok(workloads::Expected::Output(_))))
        .unwrap();
    let workloads::Expected::Output(want) = case.expected().unwrap() else {
        unreachable!()
    };
    let url = system.sidecar.invoke_url("transform");
    let reply = system
        .sidecar
        .client()
        .send_chunked(&url, case.input_bytes().unwrap(), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    // The echo app returns what reached it: the guest's output, marked.
    assert_ne!(
        want,
        case.input_bytes().unwrap(),
        "pick a case the transform changes"
    );
    assert_eq!(reply.body.as_ref(), want.as_slice());
    assert_eq!(reply.headers["x-blueprint-workload"], "transform");
    let log = std::fs::read_to_string(dir.path().join("daprd.log")).unwrap();
    assert!(
        log.contains("middleware.http.wasm"),
        "daprd's log does not show the wasm middleware loaded:\n{log}"
    );
    system.stop();
}

/// `n` increments of the Rust counter in `mode` on `runtime`
/// ([`common::count_through_daprd`]).
async fn count_to(mode: Mode, runtime: &str, n: usize) {
    let mut id = cell("counter", mode, runtime);
    if mode == Mode::Native {
        id.runtime = "native".into();
    }
    common::count_through_daprd(&id, n).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_http_counts_through_daprds_http_api_on_every_host_kind() {
    count_to(Mode::StandaloneHttp, "wasmtime", 120).await;
    count_to(Mode::StandaloneHttp, "wazero", 120).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_cached_and_native_counters_lose_no_increment() {
    count_to(Mode::Embedded, "wasmer", 120).await;
    count_to(Mode::EmbeddedCache, "wasmtime", 120).await;
    count_to(Mode::EmbeddedCache, "wazero", 120).await;
    count_to(Mode::Native, "native", 120).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_backs_the_state_store_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mut id = cell("counter", Mode::Embedded, "wasmtime");
    id.store = StateStoreKind::Redis.to_string();
    assert_eq!(resolved(&id).store, StateStoreKind::Redis);
    let system = common::start(&id, &DaprSettings::default(), dir.path()).await;
    assert!(system.redis.is_some());
    let reply = system
        .sidecar
        .client()
        .post(
            &system.sidecar.invoke_url("counter"),
            "r",
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert_eq!(reply.body.as_ref(), b"1");
    let components = std::fs::read_to_string(dir.path().join("resources/statestore.yaml")).unwrap();
    assert!(components.contains("state.redis"), "{components}");
    system.stop();
}

#[test]
fn a_stateful_workload_is_not_applicable_inside_daprd_and_says_why() {
    let catalog = common::catalog();
    for mode in [Mode::Middleware, Mode::Binding] {
        let id = cell("counter", mode, "wazero-in-daprd");
        match blueprint::resolve(&paths::project_dir(), &id, &catalog).unwrap() {
            Err(CellStatus::NotApplicable { reason }) => assert!(reason.contains("side effects"), "{reason}"),
            other => panic!("{mode}: {other:?}"),
        }
    }
    let mut direct = cell("noop", Mode::Middleware, "wazero-in-daprd");
    direct.trigger = "direct".into();
    assert!(matches!(
        blueprint::resolve(&paths::project_dir(), &direct, &catalog).unwrap(),
        Err(CellStatus::NotApplicable { .. })
    ));
}

#[test]
fn the_smoke_scenario_runs_every_mode_and_runtime_without_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("smoke.json");
    let status = std::process::Command::new(common::bin())
        .args(["run", "scenarios/smoke.toml", "--out"])
        .arg(&out)
        .current_dir(paths::project_dir())
        .env("DAPRD", common::daprd().path)
        .stdin(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let results: RunResults = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert!(results.completed, "a finished run is marked completed");
    let mut modes_measured = std::collections::BTreeSet::new();
    for cell in &results.cells {
        match &cell.status {
            CellStatus::Ok => {
                let summary = cell.summary.as_ref().unwrap();
                assert_eq!(summary.errors, 0, "{}: {} errors", cell.id, summary.errors);
                assert!(summary.throughput_rps.median > 0.0, "{}", cell.id);
                for trial in &cell.trials {
                    // The cold start says where its time went, and adds up.
                    let steps = &trial.cold_start_steps;
                    let end = steps.last().expect("cold-start steps");
                    assert!(end.what.starts_with("first "), "{}: {steps:?}", cell.id);
                    assert_eq!(end.after_ms, trial.cold_start_ms, "{}", cell.id);
                    assert!(
                        steps.iter().any(|s| s.what.starts_with("daprd: ")),
                        "{}: {steps:?}",
                        cell.id
                    );
                    assert!(
                        steps.iter().all(|s| s.after_ms <= trial.cold_start_ms),
                        "{}: {steps:?}",
                        cell.id
                    );
                }
                modes_measured.insert(cell.id.mode.clone());
            }
            // Only WasmEdge may be missing (its library is not in Debian),
            // and it must say how to get it.
            CellStatus::Unavailable { reason } => {
                assert_eq!(cell.id.runtime, "wasmedge", "{}: {reason}", cell.id);
                assert!(reason.contains("fix"), "{reason}");
            }
            // A stateful workload inside daprd, and the runtimes that serve
            // no wasi:http components (or only those).
            CellStatus::NotApplicable { reason } => {
                assert!(
                    (reason.contains("side effects") && cell.id.workload == "counter")
                        || (reason.contains("wasi:http")
                            && (cell.id.mode == "standalone-wasi-http"
                                || cell.id.runtime == "wasmtime-serve")),
                    "{}: n/a: {reason}",
                    cell.id
                );
            }
            CellStatus::Failed { error } => panic!("{}: {error}", cell.id),
            other => panic!("{}: a finished run left it {other:?}", cell.id),
        }
    }
    for mode in blueprint_analysis::modes::ALL {
        assert!(
            modes_measured.contains(mode.as_str()),
            "no {mode} cell was measured"
        );
    }
}

/// One cell's golden vectors in `mode` through `conformance::check`,
/// straight to the app where there is one.
async fn vectors_pass(workload: &str, mode: Mode, runtime: &str) {
    let mut id = cell(workload, mode, runtime);
    if mode.has_workload_host() {
        id.trigger = "direct".into();
    }
    common::vectors_pass_as(&id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binding_answers_its_golden_vectors_through_daprd() {
    vectors_pass("transform", Mode::Binding, "wazero-in-daprd").await;
    vectors_pass("compute", Mode::Binding, "wazero-in-daprd").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_and_the_standalone_and_native_blueprints_give_embedded_answers() {
    for workload in ["counter", "aggregate"] {
        vectors_pass(workload, Mode::Embedded, "wasmtime").await;
        vectors_pass(workload, Mode::EmbeddedCache, "wasmtime").await;
        vectors_pass(workload, Mode::StandaloneHttp, "wazero").await;
        vectors_pass(workload, Mode::Native, "native").await;
    }
}
