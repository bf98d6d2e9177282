//! daprd is really in the loop: state written by the guest through the
//! embedded host's gRPC calls is read back through daprd's own HTTP API.

mod common;

use std::time::Duration;

use blueprint_bench::app::{AppHost, HostLaunch};
use blueprint_bench::load::{self, LoadSpec, Target};
use blueprint_bench::net::free_ports;
use blueprint_bench::sidecar::{STATE_STORE, Sidecar, SidecarPorts, SidecarSpec};
use bytes::Bytes;
use hyper::Method;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counter_driven_n_times_through_daprd_reads_back_n() {
    let daprd = common::daprd();
    let counter = common::guests()["counter"].clone();
    let dir = tempfile::tempdir().unwrap();
    let ports = SidecarPorts::allocate().unwrap();
    let host_port = free_ports(1).unwrap()[0];
    let host = AppHost::start(
        &HostLaunch {
            program: common::bin(),
            leading_args: vec!["host".into(), "--runtime".into(), "wasmtime".into()],
            modules: vec![("counter".into(), counter)],
            dapr_grpc_port: Some(ports.grpc),
            port: host_port,
            ready_timeout: Duration::from_secs(60),
        },
        dir.path(),
        "host.log",
    )
    .await
    .unwrap();
    let mut spec = SidecarSpec::new("loop-test", Some(host_port)).unwrap();
    spec.ports = ports;
    let sidecar = Sidecar::start(&daprd, &spec, dir.path()).await.unwrap();

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
