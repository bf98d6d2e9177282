//! The real Rust guests on Wasmtime, without Dapr: `noop`'s golden vectors
//! byte for byte, and `counter` refused by a host without Dapr access.

mod common;

use std::sync::Arc;

use blueprint_runtime_api::{CallError, NoDapr, Runtime};
use blueprint_runtime_wasmtime::{NAME, VERSION};
use common::{compile_guest, default_runtime, instance, vectors};

#[test]
fn info_names_runtime_version_and_engine() {
    let info = default_runtime().info();
    assert_eq!(info.name, NAME);
    assert_eq!(info.version, VERSION);
    assert!(info.version.starts_with("48."), "version {}", info.version);
    assert_eq!(info.engine, "cranelift+pooling");
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
