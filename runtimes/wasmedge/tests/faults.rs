//! The shared fault suite (`blueprint_runtime_api::testing::faults`) on
//! WasmEdge, compiled ahead of time and interpreted, and what only
//! WasmEdge's interpreter checks.
//!
//! Built only with the `wasmedge` feature.

#![cfg(feature = "wasmedge")]

use std::sync::{Arc, LazyLock};
use std::time::Instant;

use blueprint_runtime_api::testing::faults::compile_error;
use blueprint_runtime_api::testing::{LIMIT, StubHost, instance, probe_limits, probe_module, wasm};
use blueprint_runtime_api::{CallError, Limits, Runtime, RuntimeConfig, RuntimeError, TrapKind};
use blueprint_runtime_wasmedge::{Mode, WasmEdgeRuntime};

fn runtime_in(mode: Mode, limits: Limits) -> Box<dyn Runtime> {
    Box::new(
        WasmEdgeRuntime::new(
            &RuntimeConfig {
                limits,
                ..Default::default()
            },
            mode,
        )
        .expect("runtime"),
    )
}

/// The interpreter, for the checks below.
fn runtime(limits: Limits) -> Box<dyn Runtime> {
    runtime_in(Mode::Interpreter, limits)
}

mod aot {
    use super::*;
    fn runtime(limits: Limits) -> Box<dyn Runtime> {
        runtime_in(Mode::Aot, limits)
    }
    blueprint_runtime_api::fault_suite!(runtime);

    /// Compiled code that recurses without end must end within the time
    /// limit, as a trap or the limit, and leave the instance serving. Before
    /// function bodies were wrapped in a block (`src/entry_checks.rs`) it
    /// ran for ever: tail-call elimination made the recursion a loop with no
    /// stop check in it.
    #[test]
    fn unbounded_recursion_ends_within_the_time_limit() {
        let (_rt, module) = probe_module(&runtime);
        let mut inst = instance(&module);
        let start = Instant::now();
        let result = inst.handle(b"r");
        let took = start.elapsed();
        eprintln!("AOT unbounded recursion: {result:?} after {took:?}");
        assert!(result.is_err(), "{result:?}");
        assert!(took < 2 * LIMIT, "stopped after {took:?}");
        assert_eq!(inst.handle(b"e").as_deref(), Ok(&b"e"[..]));
    }
}

mod interpreter {
    use super::*;
    blueprint_runtime_api::fault_suite!(runtime);
}

/// The shared probe plus one request WasmEdge's WASI is checked with: `k`
/// closes stdout and responds the errno.
static CLOSING_PROBE: LazyLock<String> = LazyLock::new(|| {
    let fd_write = r#"(import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))"#;
    let b_op = ";; b: write to a file descriptor that is not open; respond errno";
    blueprint_runtime_api::testing::probe_with(
        fd_write,
        &format!(
            r#"{fd_write}
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))"#
        ),
    )
    .replace(
        b_op,
        &format!(
            r#";; k: close stdout; respond errno
    (if (i32.eq (local.get $op) (i32.const 107))
      (then
        (i32.store (i32.const 60) (call $fd_close (i32.const 1)))
        (return (call $pack (i32.const 60) (i32.const 4)))))
    {b_op}"#
        ),
    )
});

/// The process's peak resident set size so far, in KiB (Linux).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// WasmEdge's interpreter keeps the Wasm call stack in growable heap vectors
/// with no depth limit, so unbounded recursion is not a stack-overflow trap
/// here: it runs (using host memory) until the time limit stops it.
#[test]
fn unbounded_recursion_runs_until_the_time_limit() {
    let (_rt, module) = probe_module(&runtime);
    let mut inst = instance(&module);
    let before = peak_rss_kib();
    let start = Instant::now();
    let result = inst.handle(b"r");
    let took = start.elapsed();
    // Other tests may run at the same time: a rough figure, for the log.
    let grown_mib = peak_rss_kib().saturating_sub(before) / 1024;
    eprintln!("unbounded recursion: {result:?} after {took:?}; peak resident memory grew by {grown_mib} MiB");
    assert_eq!(result, Err(CallError::Timeout(LIMIT)));
    assert!(took < 2 * LIMIT, "stopped after {took:?}");
    // The stacks are freed with the call; the instance still serves.
    assert_eq!(inst.handle(b"e").as_deref(), Ok(&b"e"[..]));
}

/// A guest closing its stdout closes only its own WASI descriptor: the next
/// instance writes to stdout as before.
#[test]
fn closing_stdout_closes_only_the_guests_descriptor() {
    let rt = runtime(probe_limits());
    let module = rt.compile(&wasm(&CLOSING_PROBE)).expect("compile probe");
    let mut closer = instance(&module);
    assert_eq!(closer.handle(b"k").unwrap(), 0i32.to_le_bytes());
    assert_eq!(closer.handle(b"w").unwrap()[4..], 8i32.to_le_bytes());
    assert_eq!(instance(&module).handle(b"w").unwrap(), [5, 0, 0, 0, 0, 0, 0, 0]);
}

/// A panic cannot unwind through the interpreter's C frames, so the adapter
/// catches it in the host function.
#[test]
fn a_panicking_host_function_fails_the_call_not_the_process() {
    let (_rt, module) = probe_module(&runtime);
    let mut inst = module
        .instantiate(Arc::new(
            // As a buggy `DaprHost` might.
            StubHost::default().on_state_get(|_, _| panic!("state store exploded")),
        ))
        .expect("instantiate");
    assert_eq!(
        inst.handle(b"s"),
        Err(CallError::Trap {
            kind: TrapKind::Other,
            message: "host function failed: state store exploded".into()
        })
    );
    assert_eq!(inst.handle(b"e").as_deref(), Ok(&b"e"[..]));
}

/// The adapter checks WASI imports against its own table of types.
#[test]
fn a_mistyped_wasi_import_is_refused() {
    let rt = runtime(probe_limits());
    let err = compile_error(
        rt.as_ref(),
        "(type $void (func))",
        r#"(import "wasi_snapshot_preview1" "random_get" (func (param i64 i32) (result i32))) (type $void (func))"#,
        "a mistyped random_get",
    );
    assert!(err.contains("wasi_snapshot_preview1::random_get"), "{err}");
}

#[test]
fn limits_are_validated() {
    let config = |pages| RuntimeConfig {
        limits: Limits {
            max_memory_pages: pages,
            call_timeout: LIMIT,
        },
        ..RuntimeConfig::default()
    };
    assert!(matches!(
        WasmEdgeRuntime::new(&config(65537), Mode::Interpreter),
        Err(RuntimeError::Config(_))
    ));
    assert!(WasmEdgeRuntime::new(&config(65536), Mode::Interpreter).is_ok());
}

/// Executors come from a pool; instances alive at once each hold their own.
#[test]
fn many_instances_alive_at_once_each_get_their_own_executor() {
    let (_rt, module) = probe_module(&runtime);
    let mut live: Vec<_> = (0..300).map(|_| instance(&module)).collect();
    for (i, inst) in live.iter_mut().enumerate() {
        let request = format!("e{i}");
        assert_eq!(inst.handle(request.as_bytes()).as_deref(), Ok(request.as_bytes()));
    }
    // Timeouts on some do not leak into the others.
    for inst in live.iter_mut().step_by(100) {
        assert_eq!(inst.handle(b"l"), Err(CallError::Timeout(LIMIT)));
    }
    for inst in &mut live {
        assert_eq!(inst.handle(b"e").as_deref(), Ok(&b"e"[..]));
    }
}
