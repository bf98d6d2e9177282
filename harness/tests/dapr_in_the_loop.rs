//! daprd is really in the loop: state written by the guest through the
//! embedded host's gRPC calls is read back through daprd's own HTTP API.

mod common;

use std::time::Duration;

use blueprint_bench::app::start_with_sidecar;
use blueprint_bench::load::{self, LoadSpec, Target};
use blueprint_bench::sidecar::{STATE_STORE, StateStoreKind};
use bytes::Bytes;
use hyper::Method;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counter_driven_n_times_through_daprd_reads_back_n() {
    let daprd = common::daprd();
    let counter = common::guests()["counter"].clone();
    let dir = tempfile::tempdir().unwrap();
    let (host, sidecar) = start_with_sidecar(
        &daprd,
        (
            common::bin(),
            vec!["host".into(), "--runtime".into(), "wasmtime".into()],
        ),
        ("counter".into(), counter),
        "loop-test",
        StateStoreKind::InMemory,
        dir.path(),
    )
    .await
    .unwrap();

    // Four connections race on one key: the guest's etag loop must not lose an
    // increment.
    const N: u64 = 300;
    let target = Target::new(
        &sidecar.invoke_url("counter"),
        Method::POST,
        Bytes::from_static(b"loop-key"),
    )
    .unwrap();
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
    sidecar.stop();
    host.stop();
}
