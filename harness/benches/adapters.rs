//! The in-process runtime adapters side by side, Sightglass-style: the same
//! guest modules and the same phases (compile, instantiate, call) on every
//! adapter, all created through `blueprint_host::table::create` with the
//! default configuration, in one run.
//!
//! `cargo bench --bench adapters` (filters work as usual:
//! `cargo bench --bench adapters -- call/`). Benchmarks, per runtime
//! (`wasmtime`, `wasmer`, `wasmer-singlepass`, and `wasmedge` when its
//! adapter is available in this build):
//!
//! - `compile/<runtime>/<module>`: `Runtime::compile` of the Rust `noop` and
//!   `counter` guests (the embedded flavour from `workloads::build_all`).
//! - `instantiate/<runtime>`: `Module::instantiate` of `noop`, including
//!   dropping the instance (Wasmtime instantiates from its pre-linked
//!   `InstancePre` into the pooling allocator; the drop returns the slot).
//! - `call/<runtime>/empty`: `Instance::handle(b"")` on one reused `noop`
//!   instance: `bb_alloc`, the request write, `bb_handle`, the response copy
//!   and (Wasmer) arming the watchdog. The adapter's per-call cost.
//! - `call/<runtime>/raw`: the baseline, a typed call of `(func (export
//!   "nop"))` through the runtime's own crate API (`wasmtime::TypedFunc`,
//!   `wasmer::TypedFunction`) on an engine with the runtime's default
//!   configuration; none for WasmEdge (no direct dependency here).
//! - `hostcall/<runtime>`: `handle` of a WAT guest whose `bb_handle` calls
//!   `dapr.state_get` once, answered at once by [`ImmediateHost`]; the summary
//!   subtracts the same guest's `handle` without the call, leaving one host-call
//!   round trip (guest → adapter → `abi::HostState` → host → back).
//! - `fresh_request/<runtime>`: instantiate `noop`, `handle(b"")`, drop: the
//!   per-request cost when every request gets a fresh instance.
//! - `compute`: not yet: there is no compute workload; it comes with one.
//! - wazero (Go, no Rust bindings): after the summary, its host's Go
//!   benchmarks (`runtimes/wazero/bench_test.go`: the same phases on the same
//!   guests, with the raw and host-call WAT modules written out by this
//!   bench) run with `go test -bench` and print a row in the summary's shape.
//!
//! After criterion's report a summary table is printed from its own quick
//! measurements in the same process (median of timed batches), so the
//! adapter-to-raw ratio reads at a glance.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use blueprint_bench::{paths, workloads};
use blueprint_host::table as runtimes;
use blueprint_runtime_api::{DaprHost, HostError, Module, NoDapr, Runtime, RuntimeConfig, StateEntry};
use blueprint_runtime_wasmedge::Mode as WasmEdgeMode;
use criterion::{Criterion, SamplingMode};

/// The baseline guest: one empty exported function.
const RAW_WAT: &str = r#"(module (func (export "nop")))"#;

/// The smallest ABI guest, with one `dapr.state_get` when the request is not
/// empty: `bb_alloc` returns a fixed buffer, `bb_handle` an empty response.
const HOSTCALL_WAT: &str = r#"
(module
  (import "dapr" "state_get" (func $state_get (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 16) "storekey")
  (func (export "bb_abi_version") (result i32) (i32.const 1))
  (func (export "bb_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "bb_handle") (param $ptr i32) (param $len i32) (result i64)
    (if (local.get $len)
      (then (drop (call $state_get (i32.const 16) (i32.const 5) (i32.const 21) (i32.const 3)))))
    ;; ptr 1024, len 0
    (i64.const 0x40000000000))
)
"#;

/// A benchmark stub, not a Dapr imitation: `state_get` returns at once
/// finding nothing (every other call is refused), so `hostcall/*` measures only the Wasm
/// boundary and the ABI's argument checks. It counts `state_get` calls (one
/// relaxed atomic add) so the bench can check the guest really calls it.
#[derive(Debug, Default)]
struct ImmediateHost {
    state_gets: AtomicU64,
}

impl DaprHost for ImmediateHost {
    fn state_get(&self, _: &str, _: &str) -> Result<Option<StateEntry>, HostError> {
        self.state_gets.fetch_add(1, Ordering::Relaxed);
        Ok(None)
    }
    // Never called by the host-call guest.
    blueprint_runtime_api::forward_dapr_host!(NoDapr => state_set, state_delete, publish, invoke_binding, log);
}

/// A raw typed call of the baseline's `nop`, through the engine's own API.
trait RawCall {
    fn call(&mut self);
}

struct WasmtimeRaw {
    store: wasmtime::Store<()>,
    nop: wasmtime::TypedFunc<(), ()>,
}

impl WasmtimeRaw {
    fn new(wasm: &[u8]) -> Self {
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, wasm).expect("wasmtime: raw module");
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).expect("wasmtime: raw instance");
        let nop = instance
            .get_typed_func::<(), ()>(&mut store, "nop")
            .expect("wasmtime: nop");
        Self { store, nop }
    }
}

impl RawCall for WasmtimeRaw {
    fn call(&mut self) {
        self.nop.call(&mut self.store, ()).expect("wasmtime: nop call");
    }
}

struct WasmerRaw {
    store: wasmer::Store,
    nop: wasmer::TypedFunction<(), ()>,
}

impl WasmerRaw {
    fn new(wasm: &[u8], singlepass: bool) -> Self {
        use wasmer::sys::{Cranelift, EngineBuilder, Singlepass};
        let engine: wasmer::Engine = if singlepass {
            EngineBuilder::new(Singlepass::default()).engine().into()
        } else {
            EngineBuilder::new(Cranelift::default()).engine().into()
        };
        let mut store = wasmer::Store::new(engine);
        let module = wasmer::Module::new(&store, wasm).expect("wasmer: raw module");
        let instance = wasmer::Instance::new(&mut store, &module, &wasmer::Imports::new())
            .expect("wasmer: raw instance");
        let nop = instance
            .exports
            .get_typed_function::<(), ()>(&store, "nop")
            .expect("wasmer: nop");
        Self { store, nop }
    }
}

impl RawCall for WasmerRaw {
    fn call(&mut self) {
        self.nop.call(&mut self.store).expect("wasmer: nop call");
    }
}

/// One adapter under test, with what its benchmarks need.
struct Subject {
    name: &'static str,
    runtime: Arc<dyn Runtime>,
    noop: Arc<dyn Module>,
    hostcall: Arc<dyn Module>,
    raw: Option<Box<dyn RawCall>>,
}

fn subjects(raw_wasm: &[u8], hostcall_wasm: &[u8], noop_wasm: &[u8]) -> Vec<Subject> {
    let mut names = vec!["wasmtime", "wasmer", "wasmer-singlepass"];
    for mode in [WasmEdgeMode::Aot, WasmEdgeMode::Interpreter] {
        match blueprint_runtime_wasmedge::availability(mode) {
            Ok(()) => names.push(mode.runtime_name()),
            Err((reason, fix)) => println!("{}: skipped: {reason} (fix: {fix})", mode.runtime_name()),
        }
    }
    names
        .into_iter()
        .map(|name| {
            let runtime =
                runtimes::create(name, &RuntimeConfig::default()).unwrap_or_else(|e| panic!("{name}: {e:#}"));
            let compile = |wasm: &[u8], what: &str| {
                runtime
                    .compile(wasm)
                    .unwrap_or_else(|e| panic!("{name}: compiling {what}: {e}"))
            };
            let raw: Option<Box<dyn RawCall>> = match name {
                "wasmtime" => Some(Box::new(WasmtimeRaw::new(raw_wasm))),
                "wasmer" => Some(Box::new(WasmerRaw::new(raw_wasm, false))),
                "wasmer-singlepass" => Some(Box::new(WasmerRaw::new(raw_wasm, true))),
                _ => None,
            };
            Subject {
                name,
                noop: compile(noop_wasm, "noop"),
                hostcall: compile(hostcall_wasm, "the host-call guest"),
                runtime,
                raw,
            }
        })
        .collect()
}

fn main() {
    // The summary needs real timing: not under `cargo test --benches`
    // (criterion's test mode) nor `--profile-time`.
    let args: Vec<String> = std::env::args().collect();
    let print_summary =
        args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a.starts_with("--profile-time"));
    let guests: BTreeMap<String, PathBuf> = workloads::build_all(&paths::project_dir(), &paths::cache_dir())
        .expect("building the guests")
        .of_flavour(workloads::Flavour::Embedded)
        .into_iter()
        .filter(|((language, _), _)| language == "rust")
        .map(|((_, workload), path)| (workload, path))
        .collect();
    let read = |name: &str| {
        let path = guests
            .get(name)
            .unwrap_or_else(|| panic!("no Rust guest `{name}`"));
        std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let modules = [("noop", read("noop")), ("counter", read("counter"))];
    let raw_wasm = wat::parse_str(RAW_WAT).expect("raw WAT");
    let hostcall_wasm = wat::parse_str(HOSTCALL_WAT).expect("host-call WAT");
    let mut subjects = subjects(&raw_wasm, &hostcall_wasm, &modules[0].1);
    let dapr: Arc<dyn DaprHost> = Arc::new(NoDapr);
    let stub = Arc::new(ImmediateHost::default());
    let immediate: Arc<dyn DaprHost> = stub.clone();
    // Never time a wrong answer: every guest answers correctly first.
    for s in &subjects {
        let mut noop = s.noop.instantiate(dapr.clone()).expect("instantiate noop");
        assert_eq!(noop.handle(b"check").expect("noop"), b"check", "{}", s.name);
        assert_eq!(noop.handle(b"").expect("noop"), b"", "{}", s.name);
        let mut guest = s.hostcall.instantiate(immediate.clone()).expect("instantiate");
        let before = stub.state_gets.load(Ordering::Relaxed);
        assert_eq!(guest.handle(b"").expect("host-call guest"), b"", "{}", s.name);
        assert_eq!(stub.state_gets.load(Ordering::Relaxed), before, "{}", s.name);
        assert_eq!(guest.handle(b"s").expect("host-call guest"), b"", "{}", s.name);
        assert_eq!(stub.state_gets.load(Ordering::Relaxed), before + 1, "{}", s.name);
    }

    println!(
        "{} cores, {}; adapters: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        subjects
            .iter()
            .map(|s| {
                let info = s.runtime.info();
                format!("{} {} ({})", s.name, info.version, info.engine)
            })
            .collect::<Vec<_>>()
            .join(", ")
    );

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();

    {
        // Cranelift takes tens of milliseconds per module: few, flat samples.
        let mut group = c.benchmark_group("compile");
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .measurement_time(Duration::from_secs(3));
        for s in &subjects {
            for (module, wasm) in &modules {
                group.bench_function(format!("{}/{module}", s.name), |b| {
                    b.iter(|| s.runtime.compile(black_box(wasm)).expect("compile"))
                });
            }
        }
        group.finish();
    }
    {
        let mut group = c.benchmark_group("instantiate");
        for s in &subjects {
            group.bench_function(s.name, |b| {
                b.iter(|| s.noop.instantiate(dapr.clone()).expect("instantiate"))
            });
        }
        group.finish();
    }
    {
        let mut group = c.benchmark_group("call");
        for s in &mut subjects {
            let mut inst = s.noop.instantiate(dapr.clone()).expect("instantiate");
            group.bench_function(format!("{}/empty", s.name), |b| {
                b.iter(|| inst.handle(black_box(b"")).expect("handle"))
            });
            if let Some(raw) = s.raw.as_mut() {
                group.bench_function(format!("{}/raw", s.name), |b| b.iter(|| raw.call()));
            }
        }
        group.finish();
    }
    {
        let mut group = c.benchmark_group("hostcall");
        for s in &subjects {
            let mut inst = s.hostcall.instantiate(immediate.clone()).expect("instantiate");
            group.bench_function(s.name, |b| {
                b.iter(|| inst.handle(black_box(b"s")).expect("handle"))
            });
        }
        group.finish();
    }
    {
        let mut group = c.benchmark_group("fresh_request");
        for s in &subjects {
            group.bench_function(s.name, |b| {
                b.iter(|| {
                    s.noop
                        .instantiate(dapr.clone())
                        .expect("instantiate")
                        .handle(black_box(b""))
                        .expect("handle")
                })
            });
        }
        group.finish();
    }
    // compute/<runtime>: skipped until there is a compute workload.
    c.final_summary();

    if print_summary {
        summary(&mut subjects, &dapr, &immediate);
        wazero(&modules, &raw_wasm, &hostcall_wasm);
    }
}

/// wazero has no Rust bindings: its host's own Go benchmarks
/// (`runtimes/wazero/bench_test.go`) measure the same phases on the same
/// guests, run here with `go test -bench` and printed in the same shapes.
fn wazero(guests: &[(&str, Vec<u8>)], raw_wasm: &[u8], hostcall_wasm: &[u8]) {
    if !blueprint_bench::go_host::go_available() {
        println!("\nwazero: skipped: no Go toolchain (install Go 1.26+)");
        return;
    }
    let project = paths::project_dir();
    let wasm_dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(wasm_dir.path().join("raw.wasm"), raw_wasm).expect("raw.wasm");
    std::fs::write(wasm_dir.path().join("hostcall.wasm"), hostcall_wasm).expect("hostcall.wasm");
    // The very bytes the Rust adapters were measured on, in a folder of
    // this run's own.
    for (name, wasm) in guests {
        std::fs::write(wasm_dir.path().join(format!("{name}.wasm")), wasm).expect("guest module");
    }
    println!("\nwazero: go test -run '^$' -bench . -benchtime 2s (runtimes/wazero/bench_test.go) …");
    let out = blueprint_bench::go_host::go_command(
        &paths::cache_dir(),
        &blueprint_bench::go_host::source_dir(&project),
    )
    .args([
        "test",
        "-run",
        "^$",
        "-bench",
        ".",
        "-benchtime",
        "2s",
        "-count",
        "1",
    ])
    .env("BLUEPRINT_GUEST_DIR", wasm_dir.path())
    .env("BLUEPRINT_BENCH_WASM_DIR", wasm_dir.path())
    .output()
    .expect("running go test -bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "go test -bench failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ns = parse_go_bench(&stdout);
    let get = |name: &str| {
        *ns.get(name)
            .unwrap_or_else(|| panic!("go test -bench printed no {name}:\n{stdout}"))
    };
    let (raw, empty, wat, host, fresh) = (
        get("Call/raw"),
        get("Call/empty"),
        get("Call/wat"),
        get("HostCall"),
        get("FreshRequest"),
    );
    println!(
        "{:<18} {:>8} {:>10} {:>7} {:>10} {:>7} {:>12} {:>13}",
        "runtime", "raw ns", "empty ns", "ratio", "WAT ns", "ratio", "fresh µs", "host-call ns"
    );
    println!(
        "{:<18} {:>8.1} {:>10.1} {:>7} {:>10.1} {:>7} {:>12.2} {:>13.1}",
        "wazero",
        raw,
        empty,
        format!("{:.1}×", empty / raw),
        wat,
        format!("{:.1}×", wat / raw),
        fresh / 1000.0,
        host - wat
    );
    println!(
        "wazero (go test -bench, ns/op): compile/noop {:.2} ms, compile/counter {:.2} ms, instantiate (incl. close) {:.2} µs, call/empty {empty:.1} ns, call/raw {raw:.1} ns, hostcall (whole call) {host:.1} ns, fresh_request {:.2} µs; WAT empty with bb_alloc/bb_handle looked up once {:.1} ns (the host looks them up per request)",
        get("Compile/noop") / 1e6,
        get("Compile/counter") / 1e6,
        get("Instantiate") / 1e3,
        fresh / 1e3,
        get("CallCachedFunctions"),
    );
}

/// `Benchmark<Name>[/<sub>]-<procs>  <n>  <ns> ns/op` lines, by `<Name>[/<sub>]`.
fn parse_go_bench(stdout: &str) -> BTreeMap<String, f64> {
    stdout
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let name = fields.next()?.strip_prefix("Benchmark")?;
            let name =
                name.rsplit_once('-').map_or(
                    name,
                    |(n, procs)| {
                        if procs.parse::<u32>().is_ok() { n } else { name }
                    },
                );
            let _iterations = fields.next()?;
            let ns: f64 = fields.next()?.parse().ok()?;
            (fields.next()? == "ns/op").then(|| (name.to_owned(), ns))
        })
        .collect()
}

/// Median per-operation time, in nanoseconds, of `batches` timed batches of
/// `per_batch` operations each, after one untimed batch.
fn median_ns(batches: usize, per_batch: u32, mut op: impl FnMut()) -> f64 {
    for _ in 0..per_batch {
        op();
    }
    let mut times: Vec<f64> = (0..batches)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                op();
            }
            start.elapsed().as_nanos() as f64 / f64::from(per_batch)
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn summary(subjects: &mut [Subject], dapr: &Arc<dyn DaprHost>, immediate: &Arc<dyn DaprHost>) {
    const BATCHES: usize = 31;
    println!();
    println!(
        "summary (median of {BATCHES} batches each): `empty` is handle(b\"\") on the Rust noop guest, \
         `WAT empty` on the minimal WAT guest; host call = handle with one state_get minus without"
    );
    println!(
        "{:<18} {:>8} {:>10} {:>7} {:>10} {:>7} {:>12} {:>13}",
        "runtime", "raw ns", "empty ns", "ratio", "WAT ns", "ratio", "fresh µs", "host-call ns"
    );
    for s in subjects {
        let raw = s
            .raw
            .as_mut()
            .map(|raw| median_ns(BATCHES, 20_000, || raw.call()));
        let mut noop = s.noop.instantiate(dapr.clone()).expect("instantiate");
        let empty = median_ns(BATCHES, 20_000, || {
            black_box(noop.handle(black_box(b"")).expect("handle"));
        });
        let mut minimal = s.hostcall.instantiate(immediate.clone()).expect("instantiate");
        let wat_empty = median_ns(BATCHES, 20_000, || {
            black_box(minimal.handle(black_box(b"")).expect("handle"));
        });
        let with_call = median_ns(BATCHES, 20_000, || {
            black_box(minimal.handle(black_box(b"s")).expect("handle"));
        });
        let fresh = median_ns(BATCHES, 500, || {
            let mut inst = s.noop.instantiate(dapr.clone()).expect("instantiate");
            black_box(inst.handle(black_box(b"")).expect("handle"));
        });
        let (raw_text, ratio, wat_ratio) = match raw {
            Some(raw) => (
                format!("{raw:.1}"),
                format!("{:.1}×", empty / raw),
                format!("{:.1}×", wat_empty / raw),
            ),
            None => ("n/a".into(), "n/a".into(), "n/a".into()),
        };
        println!(
            "{:<18} {:>8} {:>10.1} {:>7} {:>10.1} {:>7} {:>12.2} {:>13.1}",
            s.name,
            raw_text,
            empty,
            ratio,
            wat_empty,
            wat_ratio,
            fresh / 1000.0,
            with_call - wat_empty
        );
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
