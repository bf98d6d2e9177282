//! The shared fault suite (`blueprint_runtime_api::testing::faults`) on
//! Wasmtime, and what only Wasmtime checks.

use blueprint_runtime_api::testing::faults::compile_error;
use blueprint_runtime_api::testing::probe_limits;
use blueprint_runtime_api::{Limits, Runtime, RuntimeConfig};
use blueprint_runtime_wasmtime::WasmtimeRuntime;

fn runtime(limits: Limits) -> Box<dyn Runtime> {
    Box::new(
        WasmtimeRuntime::new(&RuntimeConfig {
            limits,
            ..Default::default()
        })
        .expect("runtime"),
    )
}

blueprint_runtime_api::fault_suite!(runtime, unbounded_recursion_is_a_stack_overflow);

/// Wasmtime checks the types of the exports the host calls when it
/// compiles, so these fail before any instance exists.
#[test]
fn export_types_are_checked_at_compile_time() {
    let rt = runtime(probe_limits());
    let rt = rt.as_ref();

    let err = compile_error(
        rt,
        r#"(func (export "bb_alloc") (param $len i32)"#,
        r#"(func (export "bb_alloc") (param $len i64)"#,
        "a mistyped bb_alloc",
    );
    assert!(err.starts_with("guest ABI: `bb_alloc`"), "{err}");

    let err = compile_error(
        rt,
        "(type $void (func))",
        r#"(type $void (func)) (func (export "_initialize") (result i32) (i32.const 0))"#,
        "a mistyped _initialize",
    );
    assert!(err.contains("_initialize"), "{err}");

    let memory_not_memory =
        blueprint_runtime_api::testing::probe_with(r#"(memory (export "memory") 1)"#, "(memory 1)")
            .replace("(table 2 funcref)", r#"(table (export "memory") 2 funcref)"#);
    let err = rt
        .compile(&blueprint_runtime_api::testing::wasm(&memory_not_memory))
        .err()
        .expect("`memory` must be a memory")
        .to_string();
    assert!(err.contains("`memory` is not a memory"), "{err}");
}
