//! The guest suite: the real Rust guests (built by [`super::guest_path`]) on
//! an adapter's default runtime. Every check takes the adapter's
//! constructor; [`crate::guest_suite!`] makes one `#[test]` of each.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{MemoryStore, compile_guest, instance, vector_file, vectors};
use crate::{CallError, DaprHost, Limits, Module, NoDapr, Runtime};

/// `noop`'s golden vectors byte for byte: a fresh instance per request, as
/// the host does, and all cases through one instance in order.
pub fn noop_golden_vectors_pass_byte_identical(new: impl Fn(Limits) -> Box<dyn Runtime>) {
    let cases = vectors("noop");
    assert!(cases.len() >= 5, "noop vectors look truncated");
    let runtime = new(Limits::default());
    let module = compile_guest(runtime.as_ref(), "noop");
    for case in &cases {
        let got = instance(&module).handle(&case.input);
        assert_eq!(
            got,
            case.expected.clone().map_err(CallError::Guest),
            "case `{}`",
            case.name
        );
    }
    let mut one = instance(&module);
    for case in &cases {
        assert_eq!(
            one.handle(&case.input).ok(),
            case.expected.clone().ok(),
            "{}",
            case.name
        );
    }
}

/// `counter` on a host without Dapr: its state read is refused and the guest
/// says so, repeatedly; its input checks come before any Dapr call, so its
/// error vectors pass without Dapr.
pub fn counter_without_dapr_is_refused_by_the_guest(new: impl Fn(Limits) -> Box<dyn Runtime>) {
    let runtime = new(Limits::default());
    let module = compile_guest(runtime.as_ref(), "counter");
    let mut inst = module.instantiate(Arc::new(NoDapr)).expect("instantiate");
    for _ in 0..2 {
        assert_eq!(
            inst.handle(b"visits"),
            Err(CallError::Guest("dapr: not permitted".into()))
        );
    }
    for case in vectors("counter").iter().filter(|c| c.expected.is_err()) {
        let got = instance(&module).handle(&case.input);
        assert_eq!(
            got,
            case.expected.clone().map_err(CallError::Guest),
            "{}",
            case.name
        );
    }
}

/// `counter`'s vectors in order against an in-memory store (every `dapr`
/// state import the guest uses, through the adapter's host functions), and
/// the store's final state.
pub fn counter_vectors_pass_against_an_in_memory_store(new: impl Fn(Limits) -> Box<dyn Runtime>) {
    let runtime = new(Limits::default());
    let module = compile_guest(runtime.as_ref(), "counter");
    let store = Arc::new(MemoryStore::default());
    for case in vectors("counter") {
        let mut inst = module.instantiate(store.clone()).expect("instantiate");
        assert_eq!(
            inst.handle(&case.input),
            case.expected.clone().map_err(CallError::Guest),
            "case `{}`",
            case.name
        );
    }
    let expected = vector_file("counter").final_state;
    assert!(!expected.is_empty(), "counter vectors have no final state");
    for (key, value) in expected {
        let stored = store
            .value(&key)
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        assert_eq!(stored.as_deref(), Some(value.as_str()), "final state of `{key}`");
    }
}

/// `workload`'s vectors in order, twice over on ONE instance (the store
/// emptied between the passes), as a host with `--instances reuse` serves
/// them: both passes must answer as fresh instances do, one per case. A guest
/// that keeps state between requests (a counter in a global, an allocator
/// that runs out) fails here. Returns whether the fresh answers were the
/// golden vectors themselves: they are not where the workload needs what
/// [`MemoryStore`] refuses (publish, bindings).
///
/// # Panics
/// A reused instance answers differently from a fresh one.
pub fn vectors_twice_on_one_instance(module: &Arc<dyn Module>, workload: &str, what: &str) -> bool {
    let cases = vectors(workload);
    let store = Arc::new(MemoryStore::default());
    let fresh: Vec<_> = cases
        .iter()
        .map(|case| {
            let mut inst = module.instantiate(store.clone()).expect("instantiate");
            inst.handle(&case.input)
        })
        .collect();
    let golden = cases
        .iter()
        .zip(&fresh)
        .all(|(case, got)| *got == case.expected.clone().map_err(CallError::Guest));
    let mut one = module.instantiate(store.clone()).expect("instantiate");
    for pass in 1..=2 {
        store.clear();
        for (case, want) in cases.iter().zip(&fresh) {
            assert_eq!(
                &one.handle(&case.input),
                want,
                "{what}: case `{}` on a reused instance, pass {pass}",
                case.name
            );
        }
    }
    golden
}

/// Every Rust guest's vectors twice over on one instance
/// ([`vectors_twice_on_one_instance`]); `noop`, the state-only workloads
/// (`counter`, `fanout`, `fanout-bulk`, `lookup`) and the pure workloads must also match
/// their golden vectors.
pub fn every_vector_twice_on_one_reused_instance(new: impl Fn(Limits) -> Box<dyn Runtime>) {
    let runtime = new(Limits::default());
    let workloads = blueprint_workloads::known_workloads(&blueprint_workloads::checkout_dir())
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(workloads.len() >= 6, "workloads look missing: {workloads:?}");
    for workload in &workloads {
        let module = compile_guest(runtime.as_ref(), workload);
        let golden = vectors_twice_on_one_instance(&module, workload, &format!("rust {workload}"));
        let must = ["counter", "fanout", "fanout-bulk", "lookup"].contains(&workload.as_str())
            || vector_file(workload).pure;
        assert!(
            golden || !must,
            "rust {workload}: fresh instances do not match the vectors"
        );
    }
}

/// Per-call figures on this machine for `noop` and `counter` (not a
/// benchmark: the harness measures properly).
pub fn per_call_figures(new: impl Fn(Limits) -> Box<dyn Runtime>) {
    let runtime = new(Limits::default());
    for name in ["noop", "counter"] {
        let start = Instant::now();
        let module = compile_guest(runtime.as_ref(), name);
        let compile = start.elapsed();
        let host: Arc<dyn DaprHost> = Arc::new(MemoryStore::default());
        let n = 2000u32;
        let (mut inst_total, mut call_total, mut warm_total) =
            (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        let mut warm = module.instantiate(host.clone()).expect("instantiate");
        for i in 0..n {
            let request = format!("key{}", i % 16);
            let t0 = Instant::now();
            let mut inst = module.instantiate(host.clone()).expect("instantiate");
            let t1 = Instant::now();
            inst.handle(request.as_bytes()).expect("call");
            let t2 = Instant::now();
            warm.handle(request.as_bytes()).expect("warm call");
            warm_total += t2.elapsed();
            inst_total += t1 - t0;
            call_total += t2 - t1;
        }
        println!(
            "{name}: compile {compile:?} (includes a cold guest build), instantiate {:?}/req, first call {:?}/req, warm call {:?}/req",
            inst_total / n,
            call_total / n,
            warm_total / n
        );
    }
}
