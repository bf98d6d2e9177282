//! The golden vectors of every workload pass on Wasmtime, through a real daprd.

mod common;

use blueprint_bench::conformance;
use blueprint_bench::workloads;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noop_and_counter_vectors_pass_on_wasmtime() {
    let daprd = common::daprd();
    let project = blueprint_bench::paths::project_dir();
    let guests = common::guests();
    for workload in ["noop", "counter"] {
        let vectors = workloads::load_vectors(&project, workload).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cell = conformance::check_cell(&daprd, "wasmtime", &guests[workload], &vectors, dir.path())
            .await
            .unwrap();
        assert_eq!(cell.status, "pass", "{workload}: {:?}", cell.first_difference);
        assert_eq!(cell.passed, vectors.cases.len());
        assert!(cell.cases >= 5, "{workload} has too few vectors to mean much");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_expectation_is_reported_as_a_difference() {
    let daprd = common::daprd();
    let project = blueprint_bench::paths::project_dir();
    let mut vectors = workloads::load_vectors(&project, "counter").unwrap();
    vectors.final_state.insert("visits".into(), "999".into());
    let dir = tempfile::tempdir().unwrap();
    let cell = conformance::check_cell(
        &daprd,
        "wasmtime",
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
