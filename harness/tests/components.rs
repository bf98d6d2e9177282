//! `wasi:http/proxy` components in every language that builds them (Rust on
//! the `wasip2` crate, Go through wit-bindgen's Go generator and
//! wit-component, JavaScript by componentize-js, Python by componentize-py),
//! in mode `standalone-wasi-http` on both of its servers, `wasmtime serve`
//! itself and our host's wasi:http, through a real daprd:
//! they answer the golden vectors byte for byte, and the counter's calls to
//! Dapr's HTTP API (first-write with the etag it read, retried on a
//! conflict) lose no increment across racing connections.

mod common;

use blueprint_analysis::modes::Mode;
use blueprint_bench::scenario::CellId;
use blueprint_bench::{paths, workloads};

/// The servers of `standalone-wasi-http`.
const SERVERS: [&str; 2] = ["wasmtime-serve", "wasmtime"];

/// The component cell of `workload` in `language` on `runtime`, reached
/// through daprd's service invocation.
fn cell(language: &str, workload: &str, runtime: &str) -> CellId {
    CellId {
        language: language.into(),
        ..common::rust_cell(workload, Mode::StandaloneWasiHttp, runtime)
    }
}

async fn answer_their_vectors(language: &str) {
    for runtime in SERVERS {
        for workload in ["noop", "transform", "counter"] {
            common::vectors_pass_as(&cell(language, workload, runtime)).await;
        }
    }
}

async fn count_to_120(language: &str) {
    for runtime in SERVERS {
        common::count_through_daprd(&cell(language, "counter", runtime), 120).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_components_answer_their_vectors_through_daprd_on_both_servers() {
    answer_their_vectors("rust").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_components_count_through_daprds_http_api_on_both_servers() {
    // It failed under `wasmtime serve` 48, whose requests lack `Host`.
    count_to_120("rust").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_components_answer_their_vectors_through_daprd_on_both_servers() {
    answer_their_vectors("go").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_components_count_through_daprds_http_api_on_both_servers() {
    count_to_120("go").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_components_answer_their_vectors_through_daprd_on_both_servers() {
    answer_their_vectors("javascript").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_components_count_through_daprds_http_api_on_both_servers() {
    count_to_120("javascript").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_components_answer_their_vectors_through_daprd_on_both_servers() {
    answer_their_vectors("python").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_components_count_through_daprds_http_api_on_both_servers() {
    count_to_120("python").await;
}

/// Each of the four builds a component of every workload it implements
/// (none is left out silently), and C, Zig and AssemblyScript say why they
/// have none.
#[test]
fn every_workload_of_the_component_languages_is_built_as_a_component() {
    let catalog = common::catalog();
    let project = paths::project_dir();
    for language in ["rust", "go", "javascript", "python"] {
        for workload in workloads::known_workloads(&project).unwrap() {
            let lookup = catalog.lookup(language, &workload, workloads::Flavour::Component);
            assert_eq!(
                matches!(lookup, workloads::Lookup::Built(_)),
                workloads::implemented_in(&workload, language),
                "{language} {workload} component: {lookup:?}"
            );
        }
    }
    for language in ["c", "zig", "assemblyscript"] {
        let lookup = catalog.lookup(language, "noop", workloads::Flavour::Component);
        assert!(
            matches!(lookup, workloads::Lookup::NotApplicable(ref why) if why.contains("component")),
            "{language}: {lookup:?}"
        );
    }
}

/// `instance-rss` measures a component's instances on our host's server:
/// each kept alive after serving its request, so the process grows with
/// them, and a component given to another runtime is refused.
#[test]
fn instance_rss_keeps_served_component_instances_alive() {
    let catalog = common::catalog();
    let workloads::Lookup::Built(noop) = catalog.lookup("rust", "noop", workloads::Flavour::Component) else {
        panic!("the Rust noop component was not built");
    };
    let run = |runtime: &str, instances: &str| {
        std::process::Command::new(common::bin())
            .args([
                "instance-rss",
                "--runtime",
                runtime,
                "--instances",
                instances,
                "--module",
            ])
            .arg(noop)
            .output()
            .unwrap()
    };
    let out = run("wasmtime", "50");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: blueprint_bench::cli::instance_rss::InstanceRss =
        serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(report.instances, 50);
    // A served instance keeps at least its touched linear memory pages; 50
    // of them dropped at once would leave the process where it was.
    assert!(
        report.per_instance_kib >= 16.0,
        "{} KiB per kept instance: {report:?}",
        report.per_instance_kib
    );
    let out = run("wasmer", "2");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("wasi:http component"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
