//! The shared fault suite (`blueprint_runtime_api::testing::faults`) on both
//! Wasmer backends, and what only Wasmer checks.

use blueprint_runtime_api::{Limits, Runtime, RuntimeConfig};
use blueprint_runtime_wasmer::{Backend, WasmerRuntime};

fn runtime(backend: Backend, limits: Limits) -> Box<dyn Runtime> {
    Box::new(
        WasmerRuntime::new(
            &RuntimeConfig {
                limits,
                ..Default::default()
            },
            backend,
        )
        .expect("runtime"),
    )
}

mod cranelift {
    blueprint_runtime_api::fault_suite!(
        |limits| super::runtime(super::Backend::Cranelift, limits),
        unbounded_recursion_is_a_stack_overflow,
    );
}

mod singlepass {
    blueprint_runtime_api::fault_suite!(
        |limits| super::runtime(super::Backend::Singlepass, limits),
        unbounded_recursion_is_a_stack_overflow,
    );
}

/// The adapter's WASI is minimal (no capabilities): a call outside it, even
/// one in WASI preview 1, is an unknown import.
#[test]
fn wasi_outside_the_minimal_set_is_an_unknown_import() {
    for backend in Backend::ALL {
        let rt = runtime(backend, blueprint_runtime_api::testing::probe_limits());
        let err = blueprint_runtime_api::testing::faults::compile_error(
            rt.as_ref(),
            "(type $void (func))",
            r#"(import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32))) (type $void (func))"#,
            "an import of path_open",
        );
        assert!(
            err.contains("wasi_snapshot_preview1::path_open"),
            "{backend:?}: {err}"
        );
    }
}
