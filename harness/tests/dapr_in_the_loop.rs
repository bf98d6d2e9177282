//! daprd is really in the loop: state written by the guest through the
//! embedded host's gRPC calls is read back through daprd's own HTTP API.

mod common;

use std::time::Duration;

use blueprint_analysis::modes::{Mode, Trigger};
use blueprint_bench::blueprint::{self, Resolved};
use blueprint_bench::scenario::{CellId, DaprSettings};
use blueprint_bench::sidecar::{STATE_STORE, StateStoreKind};
use blueprint_load::{self as load, LoadSpec, Target};
use bytes::Bytes;
use hyper::Method;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counter_driven_n_times_through_daprd_reads_back_n() {
    let dir = tempfile::tempdir().unwrap();
    let cell = CellId {
        workload: "counter".into(),
        mode: "embedded".into(),
        runtime: "wasmtime".into(),
        language: "rust".into(),
        protocol: "http".into(),
        store: StateStoreKind::InMemory.to_string(),
        trigger: "dapr".into(),
        instances: Default::default(),
    };
    let resolved = Resolved {
        mode: Mode::Embedded,
        trigger: Trigger::Dapr,
        store: StateStoreKind::InMemory,
        module: Some(common::guests()["counter"].clone()),
        record_topics: Vec::new(),
    };
    let ctx = common::context(dir.path());
    let system = blueprint::start(
        &ctx,
        &DaprSettings::default(),
        &cell,
        &resolved,
        Bytes::new(),
        dir.path(),
    )
    .await
    .unwrap();
    let sidecar = &system.sidecar;

    // Four connections race on one key: the guest's etag loop must not lose an
    // increment.
    const N: u64 = 300;
    let mut target = Target::new(
        &sidecar.invoke_url("counter"),
        Method::POST,
        Bytes::from_static(b"loop-key"),
    )
    .unwrap();
    target.headers.push(sidecar.tokens.dapr_header());
    let spec = LoadSpec {
        connections: 4,
        warmup: Duration::ZERO,
        duration: Duration::from_secs(60),
        max_requests: Some(N),
        timeout: Duration::from_secs(10),
        ..LoadSpec::default()
    };
    let report = load::run(&target, &spec).await.unwrap();
    assert_eq!(report.errors, Default::default(), "no request may fail");
    assert_eq!(report.requests, N);

    let stored = sidecar.get_state(STATE_STORE, "loop-key").await.unwrap();
    assert_eq!(
        stored.as_deref(),
        Some(N.to_string().as_bytes()),
        "daprd's state API must show every increment"
    );
    // And a key nobody wrote is absent.
    assert_eq!(
        sidecar.get_state(STATE_STORE, "never-written").await.unwrap(),
        None
    );
    system.stop();
}
