//! The talk's two state-heavy workloads through a real daprd, in every mode
//! that runs a guest with Dapr access and in the native floor:
//!
//! - `fanout` with K = 8 (its vectors, then a longer K = 8 run on a fresh
//!   key that wraps around all eight counters) gives the same answers and
//!   leaves the same state in `embedded`, `embedded+cache`,
//!   `standalone-http` and `native`, for the Rust, Go and C guests on
//!   Wasmtime;
//! - `fanout-bulk`, the same work with the K reads as one bulk read, has
//!   `fanout`'s vectors and passes them (and the same K = 8 run) in the same
//!   cells; daprd's own metrics show it makes one state read per request
//!   (a `bulk_get`, no `get`) in `embedded` and `standalone-http`, where
//!   `fanout` makes K;
//! - `lookup`'s vectors pass in the same cells;
//! - under `embedded+cache`, repeated lookups of one hot key are served by
//!   the host's state cache, and its hit ratio shows it.
//!
//! Each cell gets a fresh daprd and host, started as conformance starts them
//! ([`conformance::check`]).

mod common;

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use blueprint_analysis::modes::{self, Mode};
use blueprint_analysis::settings::InstanceStrategy;
use blueprint_bench::blueprint::{self, Resolved};
use blueprint_bench::conformance::{self, ConformanceContext};
use blueprint_bench::dapr_metrics;
use blueprint_bench::paths;
use blueprint_bench::scenario::{CellId, DaprSettings};
use blueprint_bench::sidecar::STATE_STORE;
use blueprint_bench::workloads::{self, Case, Catalog, VectorFile};
use blueprint_host::server::HostStats;

/// The modes compared: every one whose app is our host with Dapr access.
const MODES: [Mode; 4] = [
    Mode::Embedded,
    Mode::EmbeddedCache,
    Mode::StandaloneHttp,
    Mode::Native,
];

/// The languages with both workloads (`workloads::PARTIAL_WORKLOADS`); the
/// native floor is Rust only.
const LANGUAGES: [&str; 3] = ["rust", "go", "c"];

/// The guests of [`LANGUAGES`], built once (only those: the other
/// languages have neither workload).
fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        for workload in ["fanout", "fanout-bulk", "lookup"] {
            assert_eq!(
                workloads::languages_of(workload),
                Some(&LANGUAGES[..]),
                "{workload}"
            );
        }
        let catalog = workloads::build_languages(&paths::project_dir(), &paths::cache_dir(), &LANGUAGES)
            .expect("guests build");
        assert!(catalog.unavailable.is_empty(), "{:?}", catalog.unavailable);
        catalog
    })
}

fn context() -> ConformanceContext {
    ConformanceContext {
        daprd: common::daprd(),
        self_exe: common::bin(),
        project: paths::project_dir(),
        cache: paths::cache_dir(),
    }
}

/// `workload` in `mode` for `language`: on Wasmtime (the native floor has
/// its own "runtime"), in-memory store, cases posted straight to the host.
fn cell(workload: &str, mode: Mode, language: &str) -> CellId {
    CellId {
        workload: workload.into(),
        mode: mode.as_str().into(),
        runtime: if mode == Mode::Native {
            modes::NATIVE
        } else {
            "wasmtime"
        }
        .into(),
        language: language.into(),
        protocol: "http".into(),
        store: "in-memory".into(),
        trigger: "direct".into(),
        instances: Default::default(),
    }
}

fn resolved(id: &CellId) -> Resolved {
    match blueprint::resolve(&paths::project_dir(), id, catalog()).unwrap() {
        Ok(resolved) => resolved,
        Err(status) => panic!("{id} cannot run: {status:?}"),
    }
}

/// The cells: every mode for Rust, every Wasm mode for the others.
fn cells(workload: &str) -> Vec<CellId> {
    let mut cells = Vec::new();
    for language in LANGUAGES {
        for mode in MODES {
            if mode != Mode::Native || language == "rust" {
                cells.push(cell(workload, mode, language));
            }
        }
    }
    cells
}

/// `vectors` in every cell; each must pass every case and the final state.
async fn pass_everywhere(vectors: &VectorFile) {
    let ctx = context();
    let mut failures = Vec::new();
    for id in cells(&vectors.workload) {
        let dir = tempfile::tempdir().unwrap();
        let cell = conformance::check(&ctx, &id, &resolved(&id), vectors, dir.path())
            .await
            .unwrap_or_else(|e| panic!("{id}: {e:#}"));
        if cell.status != "pass" || cell.passed != vectors.cases.len() {
            failures.push(format!("{id}: {:?}", cell.first_difference));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `requests` requests of K = 8 on `key`, their answers and the counters
/// they leave, from a model of the contract: read the eight counters
/// (missing = 0), answer how many there are and their sum, increment the
/// one at `sum mod 8`.
fn k8_run(key: &str, requests: usize) -> (Vec<Case>, BTreeMap<String, String>) {
    let mut counters = [0u64; 8];
    let mut cases = Vec::new();
    for n in 1..=requests {
        let found = counters.iter().filter(|c| **c > 0).count();
        let sum: u64 = counters.iter().sum();
        cases.push(Case {
            name: format!("K = 8 on `{key}`, request {n}"),
            input: Some(format!(r#"{{"key":"{key}","k":8}}"#)),
            input_base64: None,
            output: Some(format!(r#"{{"found":{found},"sum":{sum}}}"#)),
            output_base64: None,
            error: None,
        });
        counters[(sum % 8) as usize] += 1;
    }
    let state = counters
        .iter()
        .enumerate()
        .map(|(i, c)| (format!("{key}.{i}"), c.to_string()))
        .collect();
    (cases, state)
}

#[test]
fn the_k8_model_wraps_around_every_counter() {
    let (cases, state) = k8_run("m", 20);
    assert_eq!(cases[0].output.as_deref(), Some(r#"{"found":0,"sum":0}"#));
    assert_eq!(cases[8].output.as_deref(), Some(r#"{"found":8,"sum":8}"#));
    assert_eq!(cases[19].output.as_deref(), Some(r#"{"found":8,"sum":19}"#));
    assert_eq!(state.values().map(|v| v.parse::<u64>().unwrap()).sum::<u64>(), 20);
    // The model agrees with the checked-in vectors' first K = 8 cases.
    let vectors = workloads::load_vectors(&paths::project_dir(), "fanout").unwrap();
    let (fan, _) = k8_run("fan", 3);
    for (model, golden) in fan.iter().zip(&vectors.cases) {
        assert_eq!((&model.input, &model.output), (&golden.input, &golden.output));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_with_k_8_answers_and_leaves_the_same_state_in_every_mode() {
    let mut vectors = workloads::load_vectors(&paths::project_dir(), "fanout").unwrap();
    let eights = vectors
        .cases
        .iter()
        .filter(|c| c.input.as_deref().is_some_and(|i| i.contains(r#""k":8}"#)))
        .count();
    assert!(eights >= 8, "the vectors have {eights} K = 8 cases");
    // A longer K = 8 run on a key no vector touches: every counter gets
    // written, and the sum wraps around them twice.
    let (cases, state) = k8_run("load", 20);
    vectors.cases.extend(cases);
    vectors.final_state.extend(state);
    pass_everywhere(&vectors).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_bulk_answers_and_leaves_what_fanout_does_in_every_mode() {
    let project = paths::project_dir();
    let fanout = workloads::load_vectors(&project, "fanout").unwrap();
    let mut vectors = workloads::load_vectors(&project, "fanout-bulk").unwrap();
    assert_eq!(vectors.cases, fanout.cases, "fanout-bulk's cases are fanout's");
    assert_eq!(vectors.final_state, fanout.final_state);
    assert_ne!(vectors.description, fanout.description);
    let (cases, state) = k8_run("load", 20);
    vectors.cases.extend(cases);
    vectors.final_state.extend(state);
    pass_everywhere(&vectors).await;
}

/// daprd's count of state-store calls of `operation` (`get`, `bulk_get`)
/// in a metrics scrape, summed over its series.
fn state_calls(samples: &dapr_metrics::Samples, operation: &str) -> f64 {
    let label = format!(r#"operation="{operation}""#);
    samples
        .iter()
        .filter(|(series, _)| series.starts_with("dapr_component_state_count{") && series.contains(&label))
        .map(|(_, value)| value)
        .sum()
}

/// `N` K = 8 requests of `workload` on a fresh key in `mode` (Rust guest)
/// with `instances`, and daprd's state calls meanwhile: `(get, bulk_get)`.
async fn state_calls_of(workload: &str, mode: Mode, instances: InstanceStrategy) -> (f64, f64) {
    const N: usize = 5;
    let mut id = cell(workload, mode, "rust");
    id.instances = instances;
    let dir = tempfile::tempdir().unwrap();
    let run_ctx = common::context(dir.path());
    let system = blueprint::start(
        &run_ctx,
        &DaprSettings::default(),
        &id,
        &resolved(&id),
        bytes::Bytes::new(),
        dir.path(),
    )
    .await
    .unwrap_or_else(|e| panic!("{id} did not start: {e:#}"));
    let host = system.host.as_ref().unwrap();
    let url = format!("http://127.0.0.1:{}/{workload}", host.port);
    let port = system.sidecar.metrics_port;
    let before = dapr_metrics::scrape(port).await.unwrap();
    let (cases, _) = k8_run("calls", N);
    for case in &cases {
        let input = case.input.clone().unwrap();
        let reply = host
            .client()
            .post(&url, input, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(
            (reply.status.as_u16(), reply.text()),
            (200, case.output.clone().unwrap()),
            "{id}: {}",
            case.name
        );
    }
    let delta = dapr_metrics::delta(&before, &dapr_metrics::scrape(port).await.unwrap());
    system.stop();
    (state_calls(&delta, "get"), state_calls(&delta, "bulk_get"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_bulk_makes_one_dapr_read_per_request_where_fanout_makes_k() {
    const N: f64 = 5.0;
    // Pooled instances go through the host's own wrapper of Dapr, which
    // must pass the bulk read on as one call too.
    for (mode, instances) in [
        (Mode::Embedded, InstanceStrategy::Fresh),
        (Mode::Embedded, InstanceStrategy::Reuse),
        (Mode::StandaloneHttp, InstanceStrategy::Fresh),
    ] {
        assert_eq!(
            state_calls_of("fanout-bulk", mode, instances).await,
            (0.0, N),
            "fanout-bulk in {mode:?} with {instances:?} instances: daprd's (get, bulk_get) for {N} requests"
        );
    }
    // The control: the same requests one read at a time.
    assert_eq!(
        state_calls_of("fanout", Mode::Embedded, InstanceStrategy::Fresh).await,
        (8.0 * N, 0.0),
        "fanout in embedded: daprd's (get, bulk_get) for {N} requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_vectors_pass_in_every_mode() {
    let vectors = workloads::load_vectors(&paths::project_dir(), "lookup").unwrap();
    pass_everywhere(&vectors).await;
}

/// The host's `GET /stats`.
async fn host_stats(system: &blueprint::System) -> HostStats {
    let host = system.host.as_ref().expect("embedded+cache has our host");
    let reply = host
        .client()
        .get(
            &format!("http://127.0.0.1:{}/stats", host.port),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    serde_json::from_slice(&reply.body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_cache_serves_the_hot_key_of_lookup() {
    let id = cell("lookup", Mode::EmbeddedCache, "rust");
    let dir = tempfile::tempdir().unwrap();
    let run_ctx = common::context(dir.path());
    let settings = DaprSettings {
        cache_ttl: Duration::from_secs(60),
        ..DaprSettings::default()
    };
    let system = blueprint::start(
        &run_ctx,
        &settings,
        &id,
        &resolved(&id),
        bytes::Bytes::new(),
        dir.path(),
    )
    .await
    .unwrap_or_else(|e| panic!("{id} did not start: {e:#}"));
    let host = system.host.as_ref().unwrap();
    let url = format!("http://127.0.0.1:{}/lookup", host.port);
    const N: u64 = 50;
    for _ in 0..N {
        let reply = host
            .client()
            .post(&url, "hot", Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!((reply.status.as_u16(), reply.text()), (200, "3".to_owned()));
    }
    let stats = host_stats(&system)
        .await
        .state_cache
        .expect("embedded+cache runs a state cache");
    // The first request misses, stores the key (which drops it from the
    // cache) and the second misses again; every later one is a hit.
    assert_eq!(
        (stats.hits, stats.misses),
        (N - 2, 2),
        "hits and misses of {N} lookups of one key"
    );
    let stored = system.sidecar.get_state(STATE_STORE, "hot").await.unwrap();
    assert_eq!(stored.as_deref(), Some(&b"3"[..]));
    system.stop();
}
