//! The real Rust guests on WasmEdge: `noop`'s golden vectors byte for byte,
//! `counter` refused by a host without Dapr access, and `counter`'s vectors
//! against an in-memory state store (which exercises every `dapr` import the
//! guest uses through WasmEdge's host functions).
//!
//! Built only with the `wasmedge` feature; they fail (with the build
//! command) when the guest modules are missing.

#![cfg(feature = "wasmedge")]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use blueprint_runtime_api::{
    CallError, Concurrency, DaprHost, HostError, LogLevel, NoDapr, Runtime, RuntimeConfig, StateEntry,
};
use blueprint_runtime_wasmedge::{ENGINE, NAME, REQUIRED_WASMEDGE, availability, create, version};
use common::{compile_guest, default_runtime, instance, vectors};

#[test]
fn info_names_runtime_version_and_engine() {
    assert_eq!(availability(), Ok(()));
    let info = default_runtime().info();
    assert_eq!(info.name, NAME);
    assert_eq!(info.version, REQUIRED_WASMEDGE);
    assert_eq!(Some(info.version.clone()), version());
    assert_eq!(info.engine, "interpreter");
    assert_eq!(info.engine, ENGINE);
    // The feature-independent constructor gives the same runtime.
    assert_eq!(create(&RuntimeConfig::default()).expect("create").info(), info);
}

#[test]
fn noop_golden_vectors_pass_byte_identical() {
    let cases = vectors("noop");
    assert!(cases.len() >= 5, "noop vectors look truncated");
    let runtime = default_runtime();
    let module = compile_guest(&runtime, "noop");
    // A fresh instance per request, as the host does.
    for case in &cases {
        let got = instance(&module).handle(&case.input);
        match &case.expected {
            Ok(output) => assert_eq!(got.as_deref(), Ok(output.as_slice()), "case `{}`", case.name),
            Err(message) => assert_eq!(
                got,
                Err(CallError::Guest(message.clone())),
                "case `{}`",
                case.name
            ),
        }
    }
    // And all cases through one instance, in order.
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

#[test]
fn counter_without_dapr_is_refused_by_the_guest() {
    let runtime = default_runtime();
    let module = compile_guest(&runtime, "counter");
    let mut inst = module.instantiate(Arc::new(NoDapr)).expect("instantiate");
    // state_get returns NOT_PERMITTED; the guest reports it as `dapr: <error>`.
    assert_eq!(
        inst.handle(b"visits"),
        Err(CallError::Guest("dapr: not permitted".into()))
    );
    // The instance keeps working after a guest error.
    assert_eq!(
        inst.handle(b"visits"),
        Err(CallError::Guest("dapr: not permitted".into()))
    );
    // The counter's input checks come before any Dapr call: its error
    // vectors pass without Dapr.
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

/// An in-memory state store with Dapr's etag rules, standing in for the
/// sidecar.
#[derive(Default)]
struct MemoryStore {
    state: Mutex<HashMap<String, (Vec<u8>, u64)>>,
    logs: Mutex<Vec<String>>,
}

impl DaprHost for MemoryStore {
    fn state_get(&self, _store: &str, key: &str) -> Result<Option<StateEntry>, HostError> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .get(key)
            .map(|(value, etag)| StateEntry {
                value: value.clone(),
                etag: Some(etag.to_string()),
            }))
    }
    fn state_set(
        &self,
        _store: &str,
        key: &str,
        value: &[u8],
        etag: Option<&str>,
        concurrency: Concurrency,
    ) -> Result<(), HostError> {
        let mut state = self.state.lock().unwrap();
        let current = state.get(key).map(|(_, e)| e.to_string());
        let ok = match (concurrency, etag) {
            (Concurrency::LastWrite, _) => true,
            (Concurrency::FirstWrite, Some(etag)) => current.as_deref() == Some(etag),
            (Concurrency::FirstWrite, None) => current.is_none(),
        };
        if !ok {
            return Err(HostError::EtagMismatch);
        }
        let next = state.get(key).map_or(1, |(_, e)| e + 1);
        state.insert(key.to_owned(), (value.to_vec(), next));
        Ok(())
    }
    fn state_delete(&self, _: &str, key: &str, _: Option<&str>, _: Concurrency) -> Result<(), HostError> {
        self.state.lock().unwrap().remove(key);
        Ok(())
    }
    fn publish(&self, _: &str, _: &str, _: &[u8], _: &str) -> Result<(), HostError> {
        Err(HostError::NotPermitted)
    }
    fn invoke_binding(&self, _: &str, _: &str, _: &[u8]) -> Result<Vec<u8>, HostError> {
        Err(HostError::NotPermitted)
    }
    fn log(&self, level: LogLevel, message: &str) {
        self.logs.lock().unwrap().push(format!("{level:?}: {message}"));
    }
}

#[test]
fn counter_vectors_pass_against_an_in_memory_store() {
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workloads/vectors/counter.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let runtime = default_runtime();
    let module = compile_guest(&runtime, "counter");
    let store = Arc::new(MemoryStore::default());
    for case in vectors("counter") {
        let mut inst = module.instantiate(store.clone()).expect("instantiate");
        let got = inst.handle(&case.input);
        assert_eq!(
            got,
            case.expected.clone().map_err(CallError::Guest),
            "case `{}`",
            case.name
        );
    }
    let state = store.state.lock().unwrap();
    for (key, value) in doc["final_state"].as_object().expect("final_state") {
        let stored = state
            .get(key)
            .map(|(v, _)| String::from_utf8_lossy(v).into_owned());
        assert_eq!(stored.as_deref(), value.as_str(), "final state of `{key}`");
    }
}

/// Per-call figures on this machine (not a benchmark: the harness measures
/// properly). Run with `-- --ignored --nocapture per_call_figures`.
#[test]
#[ignore = "prints timings; run on demand"]
fn per_call_figures() {
    let runtime = default_runtime();
    for name in ["noop", "counter"] {
        let start = Instant::now();
        let module = compile_guest(&runtime, name);
        let compile = start.elapsed();
        let host: Arc<dyn DaprHost> = Arc::new(MemoryStore::default());
        let n = 2000u32;
        let (mut inst_total, mut call_total, mut warm_total) =
            (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        let mut warm = module.instantiate(host.clone()).unwrap();
        for i in 0..n {
            let request = format!("key{}", i % 16);
            let t0 = Instant::now();
            let mut inst = module.instantiate(host.clone()).unwrap();
            let t1 = Instant::now();
            inst.handle(request.as_bytes()).unwrap();
            let t2 = Instant::now();
            warm.handle(request.as_bytes()).unwrap();
            warm_total += t2.elapsed();
            inst_total += t1 - t0;
            call_total += t2 - t1;
        }
        println!(
            "{name}: compile {compile:?}, instantiate {:?}/req, first call {:?}/req, warm call {:?}/req",
            inst_total / n,
            call_total / n,
            warm_total / n
        );
    }
}
