//! Shared setup for the integration tests: the real daprd (built once into
//! the cache), the guest modules, the binary under test, and process checks.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;

use blueprint_bench::daprd::{self, Daprd};
use blueprint_bench::{paths, workloads};

/// daprd, built from the wrapper module on first use (or `$DAPRD`).
pub fn daprd() -> Daprd {
    static DAPRD: OnceLock<Daprd> = OnceLock::new();
    DAPRD
        .get_or_init(|| {
            let explicit = std::env::var_os("DAPRD").map(PathBuf::from);
            daprd::resolve(explicit.as_deref()).expect("daprd must be available")
        })
        .clone()
}

/// Rust guest modules by workload.
pub fn guests() -> BTreeMap<String, PathBuf> {
    all_guests()
        .into_iter()
        .filter(|((language, _), _)| language == "rust")
        .map(|((_, workload), path)| (workload, path))
        .collect()
}

/// Every language's guest modules of every flavour. Every language's
/// toolchain is part of this project's setup, so all must build.
pub fn catalog() -> workloads::Catalog {
    static CATALOG: OnceLock<workloads::Catalog> = OnceLock::new();
    CATALOG
        .get_or_init(|| {
            let catalog =
                workloads::build_all(&paths::project_dir(), &paths::cache_dir()).expect("guests build");
            assert!(
                catalog.unavailable.is_empty(),
                "languages without a toolchain: {:?}",
                catalog.unavailable
            );
            catalog
        })
        .clone()
}

/// Every language's embedded-flavour modules, by (language, workload).
pub fn all_guests() -> BTreeMap<(String, String), PathBuf> {
    catalog().of_flavour(workloads::Flavour::Embedded)
}

/// The `blueprint-bench` binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_blueprint-bench"))
}

/// Pids of the live (non-zombie) direct children of `pid`.
pub fn children_of(pid: u32) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // Fields after the parenthesised command: state, ppid, …
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 1 && fields[1] == pid.to_string() && fields[0] != "Z" {
            out.insert(child);
        }
    }
    out
}

/// Whether `pid` is alive and not a zombie.
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.split_whitespace().next() != Some("Z"))
        })
        .unwrap_or(false)
}

/// A scenario file in `dir` with the given body after the `[scenario]` table.
pub fn scenario(dir: &std::path::Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, format!("[scenario]\nname = \"{name}\"\n\n{body}")).unwrap();
    path
}

/// Runs the scenario `body` (named `name`) to its end in `dir` and reads
/// its results; a failing run fails the test with its stderr.
#[allow(dead_code)] // not every test file runs whole scenarios
pub fn run_scenario(
    dir: &std::path::Path,
    name: &str,
    body: &str,
) -> blueprint_analysis::results::RunResults {
    let scenario = scenario(dir, name, body);
    let results = dir.join("results.json");
    output_ok(
        &mut harness(&[
            "run",
            scenario.to_str().unwrap(),
            "--out",
            results.to_str().unwrap(),
        ]),
        "run",
    );
    blueprint_analysis::results::read(&results).unwrap()
}

/// A scenario body of one cheap cell: `noop` embedded on wasmtime, two
/// connections, a one-second window.
pub const ONE_CELL: &str = r#"
[matrix]
workloads = ["noop"]
modes = ["embedded"]
runtimes = ["wasmtime"]

[load]
connections = 2
warmup = "100ms"
duration = "1s"
"#;

/// `blueprint-bench` with `args`, on the test's daprd, without stdin, and
/// without the host's added-latency knob (a test adds it where it means to).
pub fn harness(args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(bin());
    cmd.args(args)
        .env("DAPRD", daprd().path)
        .env_remove(blueprint_host::server::ADDED_LATENCY_ENV)
        .env_remove(blueprint_host::server::ADDED_LATENCY_SPREAD_ENV)
        .stdin(std::process::Stdio::null());
    cmd
}

/// Runs `cmd` to its end; a failure fails the test with `what` and the
/// command's stderr.
pub fn output_ok(cmd: &mut std::process::Command, what: &str) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The run context of a system started by a test in `dir`.
pub fn context(dir: &std::path::Path) -> blueprint_bench::blueprint::RunContext {
    blueprint_bench::blueprint::RunContext {
        project: paths::project_dir(),
        cache: paths::cache_dir(),
        daprd: daprd(),
        host_program: bin(),
        work_dir: dir.to_owned(),
        app_env: Vec::new(),
        pinning: None,
    }
}

/// The Rust guest's cell of `workload` in `mode` on `runtime`, in-memory
/// store, HTTP app channel, one fresh instance per request.
pub fn rust_cell(
    workload: &str,
    mode: blueprint_analysis::modes::Mode,
    runtime: &str,
) -> blueprint_bench::scenario::CellId {
    blueprint_bench::scenario::CellId {
        workload: workload.into(),
        mode: mode.as_str().into(),
        runtime: runtime.into(),
        language: "rust".into(),
        protocol: "http".into(),
        store: "in-memory".into(),
        trigger: "dapr".into(),
        instances: Default::default(),
    }
}

/// How `id` runs here; a cell that cannot run fails the test with its status.
pub fn resolved(id: &blueprint_bench::scenario::CellId) -> blueprint_bench::blueprint::Resolved {
    match blueprint_bench::blueprint::resolve(&paths::project_dir(), id, &catalog()).unwrap() {
        Ok(resolved) => resolved,
        Err(status) => panic!("{id} cannot run: {status:?}"),
    }
}

/// Starts `id`'s system (daprd and whatever the mode needs) in `dir`.
pub async fn start(
    id: &blueprint_bench::scenario::CellId,
    settings: &blueprint_bench::scenario::DaprSettings,
    dir: &std::path::Path,
) -> blueprint_bench::blueprint::System {
    blueprint_bench::blueprint::start(
        &context(dir),
        settings,
        id,
        &resolved(id),
        bytes::Bytes::new(),
        dir,
    )
    .await
    .unwrap_or_else(|e| panic!("{id} did not start: {e:#}"))
}

/// Sends `n` requests with body `key` to the `counter` app of `id`'s system
/// through daprd on four concurrent connections, then checks that daprd holds
/// `n` under `key`: the guest's etag loop must not lose an increment.
pub async fn count_concurrently(
    system: &blueprint_bench::blueprint::System,
    id: &blueprint_bench::scenario::CellId,
    key: &str,
    n: usize,
) {
    use std::time::Duration;
    let url = system.sidecar.invoke_url("counter");
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (url, key) = (url.clone(), key.to_owned());
        let client = system.sidecar.client();
        tasks.push(tokio::spawn(async move {
            for _ in (worker..n).step_by(4) {
                let reply = client
                    .post(&url, key.clone(), Duration::from_secs(30))
                    .await
                    .unwrap();
                assert_eq!(reply.status, 200, "{}", reply.text());
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let stored = system
        .sidecar
        .get_state(blueprint_bench::sidecar::STATE_STORE, key)
        .await
        .unwrap();
    assert_eq!(
        stored.as_deref(),
        Some(n.to_string().as_bytes()),
        "{id}: daprd holds {stored:?} after {n} increments"
    );
}

/// A busy loop on every core until `stop`: foreign load for the trial
/// meters, from outside the harness's processes.
#[allow(dead_code)] // not every test file loads the machine
pub fn cpu_hog(stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Vec<std::thread::JoinHandle<()>> {
    use std::sync::atomic::Ordering;
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    (0..cores)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            })
        })
        .collect()
}

/// The golden vectors of cell `id`, by its own trigger, through a real
/// daprd (`conformance::check`): every case must pass.
#[allow(dead_code)] // not every test file checks vectors
pub async fn vectors_pass_as(id: &blueprint_bench::scenario::CellId) {
    let (workload, mode, runtime, language) = (&id.workload, &id.mode, &id.runtime, &id.language);
    let ctx = blueprint_bench::conformance::ConformanceContext {
        daprd: daprd(),
        self_exe: bin(),
        project: paths::project_dir(),
        cache: paths::cache_dir(),
    };
    let vectors = workloads::load_vectors(&paths::project_dir(), workload).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cell = blueprint_bench::conformance::check(&ctx, id, &resolved(id), &vectors, dir.path())
        .await
        .unwrap();
    assert_eq!(
        cell.status, "pass",
        "{language} {workload} {mode} {runtime}: {:?}",
        cell.first_difference
    );
    assert_eq!(cell.passed, vectors.cases.len());
}

/// Starts cell `id` (a counter), sends `n` increments over 4 racing
/// connections and reads the key back through daprd's own HTTP state API
/// ([`count_concurrently`]).
#[allow(dead_code)] // not every test file counts
pub async fn count_through_daprd(id: &blueprint_bench::scenario::CellId, n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let settings = blueprint_bench::scenario::DaprSettings {
        cache_ttl: std::time::Duration::from_secs(60),
        ..blueprint_bench::scenario::DaprSettings::default()
    };
    let system = start(id, &settings, dir.path()).await;
    count_concurrently(&system, id, "racing", n).await;
    system.stop();
}
