//! The `instances` axis: `reuse` cells keep warm instances and still compute
//! exactly what `fresh` cells do, on every host kind and guest language;
//! modes where something else keeps the instances say so.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use blueprint_analysis::modes::Mode;
use blueprint_analysis::results::CellStatus;
use blueprint_bench::blueprint;
use blueprint_bench::scenario::{self, CellId, DaprSettings, InstanceStrategy};
use blueprint_bench::{paths, workloads};
use blueprint_host::server::HostStats;
use blueprint_runtime_api::{CallError, Limits, NoDapr, RuntimeConfig};

fn cell(workload: &str, mode: Mode, runtime: &str, instances: InstanceStrategy) -> CellId {
    CellId {
        instances,
        ..common::rust_cell(workload, mode, runtime)
    }
}

/// Every language's every pure workload, in order and twice over on ONE
/// instance of the in-process runtimes: both passes must answer the golden
/// vectors, as a fresh instance per case does. A guest that keeps state
/// between requests answers differently the second time. (The stateful
/// workloads: every language on wazero in its Go test with a fake store,
/// `BLUEPRINT_REUSE_GUEST_DIRS`; the Rust guests on every adapter in the
/// shared guest suite; the counter through daprd below.)
#[test]
fn every_languages_guests_answer_twice_on_one_instance_in_process() {
    let guests = common::all_guests();
    let project = paths::project_dir();
    let config = RuntimeConfig {
        // Interpreted guests' compute vectors take seconds on a busy machine;
        // this is about answers, not time.
        limits: Limits {
            call_timeout: Duration::from_secs(120),
            ..Limits::default()
        },
        ..RuntimeConfig::default()
    };
    for runtime_name in ["wasmtime", "wasmer"] {
        let runtime = blueprint_host::table::create(runtime_name, &config).unwrap();
        let mut checked = std::collections::BTreeSet::new();
        for ((language, workload), path) in &guests {
            let vectors = workloads::load_vectors(&project, workload).unwrap();
            if !vectors.pure {
                continue;
            }
            let what = format!("{language} {workload} on {runtime_name}");
            let module = runtime
                .compile(&std::fs::read(path).unwrap())
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let cases: Vec<_> = vectors
                .cases
                .iter()
                .map(|c| {
                    let want = c.expected().unwrap().into_result().map_err(CallError::Guest);
                    (c.name.clone(), c.input_bytes().unwrap(), want)
                })
                .collect();
            for (name, input, want) in &cases {
                let got = module.instantiate(Arc::new(NoDapr)).unwrap().handle(input);
                assert_eq!(&got, want, "{what}: case `{name}` on a fresh instance");
            }
            let mut one = module.instantiate(Arc::new(NoDapr)).unwrap();
            for pass in 1..=2 {
                for (name, input, want) in &cases {
                    assert_eq!(
                        &one.handle(input),
                        want,
                        "{what}: case `{name}` on a reused instance, pass {pass}"
                    );
                }
            }
            checked.insert(language.as_str());
        }
        assert!(checked.len() >= 7, "{runtime_name}: only {checked:?} checked");
    }
}

async fn count_with_reuse(mode: Mode, runtime: &str, n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let id = cell("counter", mode, runtime, InstanceStrategy::Reuse);
    let system = common::start(&id, &DaprSettings::default(), dir.path()).await;
    common::count_concurrently(&system, &id, "reused", n).await;
    let host = system.host.as_ref().expect("an app host");
    let reply = host
        .client()
        .get(
            &format!("http://127.0.0.1:{}/stats", host.port),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    let stats: HostStats = serde_json::from_slice(&reply.body).unwrap();
    let m = stats.modules["counter"];
    assert_eq!(m.instances_created + m.instances_reused, n as u64, "{id}: {m:?}");
    // Four connections: never more than four requests at once, so never
    // more than four instances.
    assert!(m.instances_created <= 4, "{id}: {m:?}");
    system.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_on_reused_instances_reads_back_exactly_n_through_daprd() {
    count_with_reuse(Mode::Embedded, "wasmtime", 120).await;
    count_with_reuse(Mode::Embedded, "wazero", 120).await;
    count_with_reuse(Mode::StandaloneHttp, "wasmer", 60).await;
}

#[test]
fn reuse_where_daprd_or_nothing_keeps_the_instances_is_not_applicable_with_the_reason() {
    let catalog = common::catalog();
    let cases = [
        (Mode::Middleware, "wazero-in-daprd", "pool"),
        (Mode::MiddlewareHttpPipeline, "wazero-in-daprd", "pool"),
        (Mode::Binding, "wazero-in-daprd", "fresh WASI command per call"),
        (Mode::Native, "native", "no Wasm"),
        (Mode::MiddlewareBaseline, "none", "no Wasm"),
    ];
    for (mode, runtime, says) in cases {
        let id = cell("noop", mode, runtime, InstanceStrategy::Reuse);
        match blueprint::resolve(&paths::project_dir(), &id, &catalog).unwrap() {
            Err(CellStatus::NotApplicable { reason }) => {
                assert!(
                    reason.contains("reuse") && reason.contains(says),
                    "{mode}: {reason}"
                );
            }
            other => panic!("{mode}: {other:?}"),
        }
        // The same cell with fresh instances is what it always was.
        let fresh = cell("noop", mode, runtime, InstanceStrategy::Fresh);
        assert!(
            blueprint::resolve(&paths::project_dir(), &fresh, &catalog)
                .unwrap()
                .is_ok(),
            "{mode}"
        );
    }
}

fn parse(text: &str) -> anyhow::Result<scenario::Plan> {
    let known = workloads::known_workloads(&paths::project_dir()).unwrap();
    scenario::parse(text, Path::new("s.toml"), &known, &["wasmtime", "wazero"])
}

#[test]
fn the_axis_crosses_defaults_to_fresh_and_names_a_bad_value_by_line() {
    let base = "[scenario]\nname = \"i\"\n[matrix]\nworkloads = [\"noop\"]\nmodes = [\"embedded\"]\nruntimes = [\"wasmtime\"]\n";
    let plan = parse(base).unwrap();
    assert_eq!(plan.cells.len(), 1);
    assert_eq!(plan.cells[0].instances, InstanceStrategy::Fresh);
    assert_eq!(
        plan.cells[0].to_string(),
        "noop/embedded/wasmtime/rust/http/in-memory/dapr"
    );

    let plan = parse(&format!("{base}instances = [\"fresh\", \"reuse\"]\n")).unwrap();
    let strategies: Vec<_> = plan.cells.iter().map(|c| c.instances).collect();
    assert_eq!(strategies, [InstanceStrategy::Fresh, InstanceStrategy::Reuse]);
    assert!(plan.cells[1].to_string().ends_with("/reuse"));
    assert_eq!(plan.cells[1].mode_label(), "embedded (reuse)");

    let err = parse(&format!("{base}instances = [\"fresh\",\n  \"warm\"]\n"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("s.toml:8: matrix.instances: unknown value `warm`"),
        "{err}"
    );
}

#[test]
fn results_written_before_the_axis_read_as_fresh_and_the_strategy_is_always_recorded() {
    let old = r#"{"workload":"noop","mode":"embedded","runtime":"wasmtime","language":"rust","protocol":"http","store":"in-memory","trigger":"dapr"}"#;
    let id: CellId = serde_json::from_str(old).unwrap();
    assert_eq!(id.instances, InstanceStrategy::Fresh);
    let written = serde_json::to_value(&id).unwrap();
    assert_eq!(written["instances"], "fresh");
    let reuse = CellId {
        instances: InstanceStrategy::Reuse,
        ..id.clone()
    };
    assert_ne!(reuse, id, "the strategy is part of the cell's identity");
}
