//! Fault probes written in WAT: every guest fault comes back as the right
//! `CallError`, never as a host crash, and the host keeps serving after it.
//!
//! Built only with the `wasmedge` feature.

#![cfg(feature = "wasmedge")]

mod common;

use std::sync::{Arc, LazyLock};
use std::thread;
use std::time::{Duration, Instant};

use blueprint_runtime_api::{
    CallError, Concurrency, DaprHost, HostError, LogLevel, NoDapr, Runtime, RuntimeConfig, RuntimeError,
    StateEntry, TrapKind,
};
use blueprint_runtime_wasmedge::WasmEdgeRuntime;
use common::{CAP, instance, runtime, trap_kind, wasm};

/// Call time limit of the probe runtimes.
const LIMIT: Duration = Duration::from_millis(200);

/// The shared fault probe (`runtimes/api/tests/probes/mod.rs`) plus one
/// request WasmEdge's WASI is checked with: `k` closes stdout and responds
/// the errno.
static PROBE: LazyLock<String> = LazyLock::new(|| {
    let fd_write = r#"(import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))"#;
    let b_op = ";; b: write to a file descriptor that is not open; respond errno";
    assert!(common::PROBE.contains(fd_write) && common::PROBE.contains(b_op));
    common::PROBE
        .replace(
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

fn probe_runtime() -> WasmEdgeRuntime {
    runtime(CAP, LIMIT)
}

fn probe() -> (WasmEdgeRuntime, Arc<dyn blueprint_runtime_api::Module>) {
    let rt = probe_runtime();
    let module = rt.compile(&wasm(&PROBE)).expect("compile probe");
    (rt, module)
}

/// The process's peak resident set size so far, in KiB (Linux).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn infinite_loop_times_out_and_the_host_keeps_serving() {
    let (_rt, module) = probe();
    let mut inst = instance(&module);
    for round in 0..2 {
        let start = Instant::now();
        let result = inst.handle(b"l");
        let took = start.elapsed();
        assert_eq!(result, Err(CallError::Timeout(LIMIT)), "round {round}");
        assert!(took >= LIMIT, "stopped early, after {took:?}");
        assert!(took < 2 * LIMIT, "stopped after {took:?}, limit {LIMIT:?}");
        // The interrupted instance still serves, and so does a fresh one.
        assert_eq!(inst.handle(b"echo").as_deref(), Ok(&b"echo"[..]));
        assert_eq!(instance(&module).handle(b"e2").as_deref(), Ok(&b"e2"[..]));
    }
}

#[test]
fn a_timeout_stops_only_its_own_call() {
    let (_rt, module) = probe();
    let looping = {
        let module = module.clone();
        thread::spawn(move || {
            let start = Instant::now();
            (instance(&module).handle(b"l"), start.elapsed())
        })
    };
    // Meanwhile other instances, on this thread, serve normally.
    let mut served = 0;
    let start = Instant::now();
    while start.elapsed() < LIMIT + LIMIT / 2 {
        assert_eq!(instance(&module).handle(b"e").as_deref(), Ok(&b"e"[..]));
        served += 1;
    }
    let (result, took) = looping.join().expect("looping thread");
    assert_eq!(result, Err(CallError::Timeout(LIMIT)));
    assert!(took < 2 * LIMIT, "stopped after {took:?}");
    assert!(served > 10, "only {served} calls served");
}

#[test]
fn traps_map_to_their_kinds_and_the_instance_survives() {
    let cases: [(&[u8], TrapKind); 5] = [
        (b"u", TrapKind::Unreachable),
        (b"d", TrapKind::DivisionByZero),
        (b"c", TrapKind::IntegerOverflow),
        (b"m", TrapKind::MemoryOutOfBounds),
        (b"i", TrapKind::BadIndirectCall),
    ];
    let (_rt, module) = probe();
    let mut inst = instance(&module);
    for (request, kind) in cases {
        let op = String::from_utf8_lossy(request);
        assert_eq!(trap_kind(instance(&module).handle(request)), kind, "`{op}`");
        // Same instance: the trap, then a normal call.
        assert_eq!(trap_kind(inst.handle(request)), kind, "`{op}`");
        assert_eq!(inst.handle(b"e").as_deref(), Ok(&b"e"[..]), "after `{op}`");
    }
    // The trap message says what happened, for the HTTP 500 body.
    match instance(&module).handle(b"u") {
        Err(err @ CallError::Trap { .. }) => {
            let text = err.to_string();
            assert!(text.starts_with("trap (unreachable): "), "{text}");
            assert!(text.contains("unreachable"), "{text}");
        }
        other => panic!("{other:?}"),
    }
}

/// WasmEdge's interpreter keeps the Wasm call stack in growable heap vectors
/// with no depth limit, so unbounded recursion is not a stack-overflow trap
/// here: it runs (using host memory) until the time limit stops it.
#[test]
fn unbounded_recursion_runs_until_the_time_limit() {
    let (_rt, module) = probe();
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

#[test]
fn memory_grow_past_the_cap_returns_minus_one() {
    let (_rt, module) = probe();
    let out = instance(&module).handle(b"g").expect("grow probe");
    let words: Vec<i32> = out
        .chunks(4)
        .map(|w| i32::from_le_bytes(w.try_into().unwrap()))
        .collect();
    // grow(1000) fails, grow(15) goes from 1 to the cap, grow(1) fails.
    assert_eq!(words, [-1, 1, -1, CAP as i32]);
}

#[test]
fn a_memory_minimum_above_the_cap_fails_to_instantiate() {
    let rt = probe_runtime();
    let big = PROBE.replace(
        r#"(memory (export "memory") 1)"#,
        r#"(memory (export "memory") 17)"#,
    );
    let module = rt.compile(&wasm(&big)).expect("compile");
    match module.instantiate(Arc::new(NoDapr)) {
        Err(RuntimeError::Instantiate(message)) => assert!(message.contains("memory"), "{message}"),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("instantiated a memory above the cap"),
    }
    // Exactly at the cap is fine.
    let at_cap = PROBE.replace(
        r#"(memory (export "memory") 1)"#,
        r#"(memory (export "memory") 16)"#,
    );
    let module = rt.compile(&wasm(&at_cap)).expect("compile");
    assert_eq!(instance(&module).handle(b"e").as_deref(), Ok(&b"e"[..]));
}

#[test]
fn abi_breaches_and_guest_errors() {
    let (_rt, module) = probe();
    let mut inst = instance(&module);
    assert!(matches!(inst.handle(b"o"), Err(CallError::Abi(_))));
    assert_eq!(inst.handle(b"x"), Err(CallError::Guest("refused".into())));
    assert_eq!(inst.handle(b"e").as_deref(), Ok(&b"e"[..]));
}

#[test]
fn minimal_wasi_and_dapr_imports() {
    let (_rt, module) = probe();
    let mut inst = instance(&module);
    // fd_write to stdout (mapped to /dev/null): all 5 bytes written, errno 0.
    assert_eq!(inst.handle(b"w").unwrap(), [5, 0, 0, 0, 0, 0, 0, 0]);
    // fd 7 is not open: EBADF.
    assert_eq!(inst.handle(b"b").unwrap(), 8i32.to_le_bytes());
    // A guest closing its stdout closes only its own WASI descriptor: the
    // next instance writes to stdout as before.
    let mut closer = instance(&module);
    assert_eq!(closer.handle(b"k").unwrap(), 0i32.to_le_bytes());
    assert_eq!(closer.handle(b"w").unwrap()[4..], 8i32.to_le_bytes());
    assert_eq!(instance(&module).handle(b"w").unwrap(), [5, 0, 0, 0, 0, 0, 0, 0]);
    // Without Dapr: NOT_PERMITTED; a bad pointer: INVALID_ARGUMENT, no trap.
    assert_eq!(inst.handle(b"s").unwrap(), (-7i64).to_le_bytes());
    assert_eq!(inst.handle(b"a").unwrap(), (-3i64).to_le_bytes());
    // proc_exit ends the call as a trap that names the code.
    assert_eq!(
        inst.handle(b"p"),
        Err(CallError::Trap {
            kind: TrapKind::Other,
            message: "guest called proc_exit(3)".into()
        })
    );
    assert_eq!(instance(&module).handle(b"e").as_deref(), Ok(&b"e"[..]));
}

/// A host whose state calls panic, as a buggy `DaprHost` might.
struct PanickingHost;

impl DaprHost for PanickingHost {
    fn state_get(&self, _: &str, _: &str) -> Result<Option<StateEntry>, HostError> {
        panic!("state store exploded")
    }
    fn state_set(
        &self,
        _: &str,
        _: &str,
        _: &[u8],
        _: Option<&str>,
        _: Concurrency,
    ) -> Result<(), HostError> {
        unreachable!()
    }
    fn state_delete(&self, _: &str, _: &str, _: Option<&str>, _: Concurrency) -> Result<(), HostError> {
        unreachable!()
    }
    fn publish(&self, _: &str, _: &str, _: &[u8], _: &str) -> Result<(), HostError> {
        unreachable!()
    }
    fn invoke_binding(&self, _: &str, _: &str, _: &[u8]) -> Result<Vec<u8>, HostError> {
        unreachable!()
    }
    fn log(&self, _: LogLevel, _: &str) {}
}

#[test]
fn a_panicking_host_function_fails_the_call_not_the_process() {
    let (_rt, module) = probe();
    let mut inst = module.instantiate(Arc::new(PanickingHost)).expect("instantiate");
    assert_eq!(
        inst.handle(b"s"),
        Err(CallError::Trap {
            kind: TrapKind::Other,
            message: "host function failed: state store exploded".into()
        })
    );
    assert_eq!(inst.handle(b"e").as_deref(), Ok(&b"e"[..]));
}

#[test]
fn initialisation_runs_under_the_time_limit() {
    let rt = probe_runtime();
    let looping = PROBE.replace(
        "(type $void (func))",
        r#"(type $void (func)) (func (export "_initialize") (loop $l (br $l)))"#,
    );
    let module = rt.compile(&wasm(&looping)).expect("compile");
    let start = Instant::now();
    match module.instantiate(Arc::new(NoDapr)) {
        Err(RuntimeError::Instantiate(message)) => assert!(message.contains("timeout"), "{message}"),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("a looping _initialize returned"),
    }
    assert!(start.elapsed() < 2 * LIMIT, "took {:?}", start.elapsed());
    // The executor it ran on serves the next instance normally.
    let module = rt.compile(&wasm(&PROBE)).expect("compile");
    for _ in 0..3 {
        assert_eq!(instance(&module).handle(b"e").as_deref(), Ok(&b"e"[..]));
    }
}

#[test]
fn initialize_runs_once_before_the_first_call() {
    let rt = probe_runtime();
    // _initialize writes 'I' at 100; request `n` responds with that byte.
    let init = PROBE
        .replace(
            "(type $void (func))",
            r#"(type $void (func)) (func (export "_initialize") (i32.store8 (i32.const 100) (i32.const 73)))"#,
        )
        .replace(
            ";; e: echo the request",
            ";; n: the byte _initialize wrote\n    (if (i32.eq (local.get $op) (i32.const 110)) (then (return (call $pack (i32.const 100) (i32.const 1)))))\n    ;; e: echo the request",
        );
    let module = rt.compile(&wasm(&init)).expect("compile");
    assert_eq!(instance(&module).handle(b"n").as_deref(), Ok(&b"I"[..]));
}

#[test]
fn modules_that_break_the_abi_are_refused() {
    let rt = probe_runtime();
    let compile = |wat: &str| rt.compile(&wasm(wat)).err().map(|e| e.to_string());

    let no_handle = PROBE.replace(r#"(export "bb_handle")"#, "");
    let err = compile(&no_handle).expect("missing bb_handle must fail");
    assert!(err.contains("bb_handle"), "{err}");

    let wrong_type = PROBE.replace(
        r#"(func (export "bb_alloc") (param $len i32) (result i32) (i32.const 1024))"#,
        r#"(func (export "bb_alloc") (param $len i64) (result i32) (i32.const 1024))"#,
    );
    let err = compile(&wrong_type).expect("bad bb_alloc type");
    assert!(err.contains("bb_alloc"), "{err}");

    let unknown_import = PROBE.replace(
        r#"(type $void (func))"#,
        r#"(import "wasi_snapshot_preview1" "no_such_call" (func (param i32 i32) (result i32))) (type $void (func))"#,
    );
    let err = compile(&unknown_import).expect("unknown import must fail");
    assert!(err.contains("wasi_snapshot_preview1::no_such_call"), "{err}");

    let other_module = PROBE.replace(
        r#"(type $void (func))"#,
        r#"(import "env" "abort" (func)) (type $void (func))"#,
    );
    let err = compile(&other_module).expect("unknown module must fail");
    assert!(err.contains("env::abort"), "{err}");

    let bad_wasi_type = PROBE.replace(
        r#"(type $void (func))"#,
        r#"(import "wasi_snapshot_preview1" "random_get" (func (param i64 i32) (result i32))) (type $void (func))"#,
    );
    let err = compile(&bad_wasi_type).expect("mistyped WASI import must fail");
    assert!(err.contains("wasi_snapshot_preview1::random_get"), "{err}");

    let bad_import_type = PROBE.replace(
        r#"(type $void (func))"#,
        r#"(import "dapr" "take_result" (func (param i64 i32) (result i64))) (type $void (func))"#,
    );
    let err = compile(&bad_import_type).expect("mistyped import must fail");
    assert!(err.contains("dapr::take_result"), "{err}");

    let v2 = PROBE.replace(
        r#"(func (export "bb_abi_version") (result i32) (i32.const 1))"#,
        r#"(func (export "bb_abi_version") (result i32) (i32.const 2))"#,
    );
    let module = rt
        .compile(&wasm(&v2))
        .expect("version is checked at instantiation");
    assert!(matches!(
        module.instantiate(Arc::new(NoDapr)),
        Err(RuntimeError::Abi(_))
    ));

    assert!(matches!(rt.compile(b"not wasm"), Err(RuntimeError::Compile(_))));
}

#[test]
fn limits_are_validated() {
    let config = |pages| RuntimeConfig {
        limits: blueprint_runtime_api::Limits {
            max_memory_pages: pages,
            call_timeout: LIMIT,
        },
    };
    assert!(matches!(
        WasmEdgeRuntime::new(&config(65537)),
        Err(RuntimeError::Config(_))
    ));
    assert!(WasmEdgeRuntime::new(&config(65536)).is_ok());
}

#[test]
fn many_instances_alive_at_once_each_get_their_own_executor() {
    let (_rt, module) = probe();
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
