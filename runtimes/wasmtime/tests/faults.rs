//! Fault probes written in WAT (the probe shared with the other adapters'
//! tests): every guest fault comes back as the right `CallError`, never as a
//! host crash, and the host keeps serving after it.

mod common;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use blueprint_runtime_api::{CallError, Module, NoDapr, Runtime, RuntimeError, TrapKind};
use blueprint_runtime_wasmtime::WasmtimeRuntime;
use common::{CAP, GROW_EXPECTED, PROBE, TRAPS, instance, runtime, trap_kind, wasm, words};

/// Call time limit of the probe runtimes. Timeouts must come back within
/// twice this; the margin absorbs scheduling delays on a loaded 2-core box.
const LIMIT: Duration = Duration::from_millis(500);

fn probe_runtime() -> WasmtimeRuntime {
    runtime(CAP, LIMIT)
}

fn probe() -> (WasmtimeRuntime, Arc<dyn Module>) {
    let rt = probe_runtime();
    let module = rt.compile(&wasm(PROBE)).expect("compile probe");
    (rt, module)
}

/// Runs the looping request and checks it stopped as a timeout, not before
/// the limit and within twice it.
fn assert_times_out(inst: &mut dyn blueprint_runtime_api::Instance, what: &str) {
    let start = Instant::now();
    let result = inst.handle(b"l");
    let took = start.elapsed();
    eprintln!("{what}: looping call stopped after {took:?} (limit {LIMIT:?})");
    assert_eq!(result, Err(CallError::Timeout(LIMIT)), "{what}");
    assert!(took >= LIMIT, "{what}: stopped early, after {took:?}");
    assert!(
        took < 2 * LIMIT,
        "{what}: stopped after {took:?}, limit {LIMIT:?}"
    );
}

#[test]
fn infinite_loop_times_out_and_the_host_keeps_serving() {
    let (_rt, module) = probe();
    let mut inst = instance(&module);
    for round in 0..2 {
        assert_times_out(inst.as_mut(), &format!("round {round}"));
        // The interrupted instance still serves, and so does a fresh one.
        assert_eq!(inst.handle(b"echo").as_deref(), Ok(&b"echo"[..]));
        assert_eq!(instance(&module).handle(b"e2").as_deref(), Ok(&b"e2"[..]));
    }
}

#[test]
fn the_time_limit_holds_after_the_runtime_is_dropped() {
    // The host may keep only the compiled module; the epoch ticker must not
    // stop with the runtime value.
    let (rt, module) = probe();
    drop(rt);
    let mut inst = instance(&module);
    assert_times_out(inst.as_mut(), "runtime dropped");
    assert_eq!(inst.handle(b"e").as_deref(), Ok(&b"e"[..]));
}

#[test]
fn a_timeout_stops_only_its_own_store() {
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
    let (_rt, module) = probe();
    let mut inst = instance(&module);
    for (request, kind) in TRAPS {
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

#[test]
fn memory_grow_past_the_cap_returns_minus_one() {
    let (_rt, module) = probe();
    let out = instance(&module).handle(b"g").expect("grow probe");
    // grow(1000) fails, grow(15) goes from 1 to the cap, grow(1) fails.
    assert_eq!(words(&out), GROW_EXPECTED);
}

#[test]
fn a_memory_minimum_above_the_cap_is_refused() {
    let rt = probe_runtime();
    let big = PROBE.replace(
        r#"(memory (export "memory") 1)"#,
        r#"(memory (export "memory") 17)"#,
    );
    // Refused at compile time or at instantiation, never served.
    match rt.compile(&wasm(&big)).map(|m| m.instantiate(Arc::new(NoDapr))) {
        Err(RuntimeError::Compile(message) | RuntimeError::Instantiate(message))
        | Ok(Err(RuntimeError::Instantiate(message))) => {
            assert!(message.contains("memory"), "{message}")
        }
        Err(other) | Ok(Err(other)) => panic!("{other}"),
        Ok(Ok(_)) => panic!("instantiated a memory above the cap"),
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
fn wasi_and_dapr_imports() {
    let (_rt, module) = probe();
    let mut inst = instance(&module);
    // fd_write to stdout (a sink): all 5 bytes "written", errno 0.
    assert_eq!(inst.handle(b"w").unwrap(), [5, 0, 0, 0, 0, 0, 0, 0]);
    // fd 7 is not open: EBADF.
    assert_eq!(inst.handle(b"b").unwrap(), 8i32.to_le_bytes());
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
    // The pool slot of the failed instance is free again.
    let module = rt.compile(&wasm(PROBE)).expect("compile");
    assert_eq!(instance(&module).handle(b"e").as_deref(), Ok(&b"e"[..]));
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
fn modules_that_break_the_abi_are_refused_at_compile_time() {
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
    assert!(err.starts_with("guest ABI: `bb_alloc`"), "{err}");

    let bad_initialize = PROBE.replace(
        "(type $void (func))",
        r#"(type $void (func)) (func (export "_initialize") (result i32) (i32.const 0))"#,
    );
    let err = compile(&bad_initialize).expect("mistyped _initialize must fail");
    assert!(err.contains("_initialize"), "{err}");

    let memory_not_memory = PROBE
        .replace(r#"(memory (export "memory") 1)"#, "(memory 1)")
        .replace("(table 2 funcref)", r#"(table (export "memory") 2 funcref)"#);
    let err = compile(&memory_not_memory).expect("`memory` must be a memory");
    assert!(err.contains("`memory` is not a memory"), "{err}");

    // Wasmtime links all of WASI preview 1 (without capabilities), so an
    // unknown import is one outside it.
    let unknown_import = PROBE.replace(
        r#"(type $void (func))"#,
        r#"(import "dapr" "secret_get" (func (param i32 i32) (result i64))) (type $void (func))"#,
    );
    let err = compile(&unknown_import).expect("unknown import must fail");
    assert!(err.contains("dapr::secret_get"), "{err}");

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
