//! The guest suite: the real Rust guests (built by [`super::guest_path`]) on
//! an adapter's default runtime. Every check takes the adapter's
//! constructor; [`crate::guest_suite!`] makes one `#[test]` of each.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{MemoryStore, compile_guest, instance, vector_file, vectors};
use crate::{CallError, DaprHost, Limits, NoDapr, Runtime};

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
