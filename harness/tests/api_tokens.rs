//! Dapr's API tokens, per system of processes: while a short run drives a
//! cell through daprd with its tokens, a caller without them is refused —
//! daprd answers 401 without `DAPR_API_TOKEN`, the app (Rust host, wazero
//! host, echo app) 401 without `APP_API_TOKEN` — and the run's own requests
//! all succeed.

mod common;

use std::path::Path;
use std::time::Duration;

use blueprint_analysis::modes::Mode;
use blueprint_bench::blueprint;
use blueprint_bench::http::ControlClient;
use blueprint_bench::scenario::{self, CellId, DaprSettings};
use blueprint_bench::{paths, workloads};
use blueprint_load::{self as load, LoadSpec};
use bytes::Bytes;

/// The one cell of a scenario crossing `workload`, `mode` and `runtime`.
fn cell(workload: &str, mode: Mode, runtime: &str) -> CellId {
    let text = format!(
        "[scenario]\nname = \"tokens\"\n[matrix]\nworkloads = [\"{workload}\"]\nmodes = [\"{}\"]\nruntimes = [\"{runtime}\"]\n",
        mode.as_str()
    );
    let plan = scenario::parse(
        &text,
        Path::new("tokens.toml"),
        &[workload.to_owned()],
        &[runtime],
    )
    .unwrap();
    assert_eq!(plan.cells.len(), 1, "{:?}", plan.cells);
    plan.cells[0].clone()
}

fn body(workload: &str) -> Bytes {
    let vectors = workloads::load_vectors(&paths::project_dir(), workload).unwrap();
    let case = vectors
        .cases
        .iter()
        .find(|c| matches!(c.expected(), Ok(workloads::Expected::Output(_))))
        .unwrap();
    Bytes::from(case.input_bytes().unwrap())
}

/// Starts `id`, runs a short load through daprd with the system's tokens and,
/// during it, sends the same request without them.
async fn strangers_are_refused_while_the_run_succeeds(id: CellId) {
    let dir = tempfile::tempdir().unwrap();
    let ctx = common::context(dir.path());
    let resolved = common::resolved(&id);
    let body = body(&id.workload);
    let system = blueprint::start(
        &ctx,
        &DaprSettings::default(),
        &id,
        &resolved,
        body.clone(),
        dir.path(),
    )
    .await
    .unwrap();
    let target = system.target.clone();
    let spec = LoadSpec {
        connections: 2,
        warmup: Duration::ZERO,
        duration: Duration::from_secs(3),
        max_requests: Some(200),
        timeout: Duration::from_secs(10),
        ..LoadSpec::default()
    };
    let run = tokio::spawn(async move { load::run(&target, &spec).await });

    let stranger = ControlClient::default();
    let invoke = system.sidecar.invoke_url(&id.workload);
    let refused = stranger
        .post(&invoke, body.clone(), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(refused.status, 401, "daprd without its token: {}", refused.text());
    // Dapr leaves its health check open (so probes need no secret).
    let health = stranger
        .get(
            &format!("{}/v1.0/healthz", system.sidecar.http_url()),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert!(health.status.is_success(), "healthz: {}", health.status);

    let app_port = system
        .host
        .as_ref()
        .map(|h| h.port)
        .or(system.echo.as_ref().map(|e| e.port))
        .expect("the cell has an app");
    let app_url = format!("http://127.0.0.1:{app_port}/{}", id.workload);
    let refused = stranger
        .post(&app_url, body.clone(), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        refused.status,
        401,
        "the app without the app token: {}",
        refused.text()
    );
    let wrong = ControlClient::with_api_token(&system.sidecar.tokens.dapr)
        .post(&app_url, body.clone(), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        wrong.status,
        401,
        "the app with daprd's token instead of its own: {}",
        wrong.text()
    );
    // The harness's own calls with the tokens go through.
    // Chunked: a middleware may change the body's length on its way.
    let ok = system
        .sidecar
        .client()
        .send_chunked(&invoke, body, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(ok.status, 200, "daprd with its token: {}", ok.text());

    let report = run.await.unwrap().unwrap();
    assert!(report.requests > 0);
    assert_eq!(
        report.errors,
        Default::default(),
        "the run's own requests must all succeed"
    );
    system.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_host_and_its_daprd_refuse_callers_without_the_tokens() {
    strangers_are_refused_while_the_run_succeeds(cell("transform", Mode::Embedded, "wasmtime")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wazero_host_and_its_daprd_refuse_callers_without_the_tokens() {
    strangers_are_refused_while_the_run_succeeds(cell("transform", Mode::EmbeddedCache, "wazero")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_app_behind_a_middleware_refuses_callers_without_the_app_token() {
    strangers_are_refused_while_the_run_succeeds(cell("transform", Mode::Middleware, "wazero")).await;
}
