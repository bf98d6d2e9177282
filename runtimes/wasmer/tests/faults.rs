//! Fault probes written in WAT: every guest fault comes back as the right
//! `CallError`, never as a host crash, and the host keeps serving after it.
//! Each probe runs on both compiler backends.

mod common;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use blueprint_runtime_api::{CallError, NoDapr, Runtime, RuntimeError, TrapKind};
use blueprint_runtime_wasmer::{Backend, WasmerRuntime};
use common::{CAP, GROW_EXPECTED, PROBE, TRAPS, instance, runtime, trap_kind, wasm, words};

/// Call time limit of the probe runtimes. Timeouts must come back within
/// twice this; the margin absorbs scheduling delays on a loaded 2-core box.
const LIMIT: Duration = Duration::from_millis(500);

fn probe_runtime(backend: Backend) -> WasmerRuntime {
    runtime(backend, CAP, LIMIT)
}

fn probe(backend: Backend) -> (WasmerRuntime, Arc<dyn blueprint_runtime_api::Module>) {
    let rt = probe_runtime(backend);
    let module = rt.compile(&wasm(PROBE)).expect("compile probe");
    (rt, module)
}

#[test]
fn infinite_loop_times_out_and_the_host_keeps_serving() {
    for backend in Backend::ALL {
        let (_rt, module) = probe(backend);
        let mut inst = instance(&module);
        for round in 0..2 {
            let start = Instant::now();
            let result = inst.handle(b"l");
            let took = start.elapsed();
            eprintln!("{backend:?}: looping call stopped after {took:?} (limit {LIMIT:?})");
            assert_eq!(
                result,
                Err(CallError::Timeout(LIMIT)),
                "{backend:?} round {round}"
            );
            assert!(took >= LIMIT, "{backend:?}: stopped early, after {took:?}");
            assert!(
                took < 2 * LIMIT,
                "{backend:?}: stopped after {took:?}, limit {LIMIT:?}"
            );
            // The interrupted instance still serves, and so does a fresh one.
            assert_eq!(inst.handle(b"echo").as_deref(), Ok(&b"echo"[..]), "{backend:?}");
            assert_eq!(
                instance(&module).handle(b"e2").as_deref(),
                Ok(&b"e2"[..]),
                "{backend:?}"
            );
        }
    }
}

#[test]
fn a_timeout_stops_only_its_own_store() {
    for backend in Backend::ALL {
        let (_rt, module) = probe(backend);
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
            assert_eq!(
                instance(&module).handle(b"e").as_deref(),
                Ok(&b"e"[..]),
                "{backend:?}"
            );
            served += 1;
        }
        let (result, took) = looping.join().expect("looping thread");
        assert_eq!(result, Err(CallError::Timeout(LIMIT)), "{backend:?}");
        assert!(took < 2 * LIMIT, "{backend:?}: stopped after {took:?}");
        assert!(served > 10, "{backend:?}: only {served} calls served");
    }
}

#[test]
fn traps_map_to_their_kinds_and_the_instance_survives() {
    for backend in Backend::ALL {
        let (_rt, module) = probe(backend);
        let mut inst = instance(&module);
        for (request, kind) in TRAPS {
            let op = String::from_utf8_lossy(request);
            assert_eq!(
                trap_kind(instance(&module).handle(request)),
                kind,
                "{backend:?} `{op}`"
            );
            // Same instance: the trap, then a normal call.
            assert_eq!(trap_kind(inst.handle(request)), kind, "{backend:?} `{op}`");
            assert_eq!(
                inst.handle(b"e").as_deref(),
                Ok(&b"e"[..]),
                "{backend:?} after `{op}`"
            );
        }
        // The trap message says what happened, for the HTTP 500 body.
        match instance(&module).handle(b"u") {
            Err(err @ CallError::Trap { .. }) => {
                let text = err.to_string();
                assert!(text.starts_with("trap (unreachable): "), "{backend:?}: {text}");
                assert!(text.contains("unreachable"), "{backend:?}: {text}");
            }
            other => panic!("{backend:?}: {other:?}"),
        }
    }
}

#[test]
fn memory_grow_past_the_cap_returns_minus_one() {
    for backend in Backend::ALL {
        let (_rt, module) = probe(backend);
        let out = instance(&module).handle(b"g").expect("grow probe");
        // grow(1000) fails, grow(15) goes from 1 to the cap, grow(1) fails.
        assert_eq!(words(&out), GROW_EXPECTED, "{backend:?}");
    }
}

#[test]
fn a_memory_minimum_above_the_cap_fails_to_instantiate() {
    for backend in Backend::ALL {
        let rt = probe_runtime(backend);
        let big = PROBE.replace(
            r#"(memory (export "memory") 1)"#,
            r#"(memory (export "memory") 17)"#,
        );
        let module = rt.compile(&wasm(&big)).expect("compile");
        match module.instantiate(Arc::new(NoDapr)) {
            Err(RuntimeError::Instantiate(message)) => {
                assert!(message.contains("memory"), "{backend:?}: {message}")
            }
            Err(other) => panic!("{backend:?}: {other}"),
            Ok(_) => panic!("{backend:?}: instantiated a memory above the cap"),
        }
        // Exactly at the cap is fine.
        let at_cap = PROBE.replace(
            r#"(memory (export "memory") 1)"#,
            r#"(memory (export "memory") 16)"#,
        );
        let module = rt.compile(&wasm(&at_cap)).expect("compile");
        assert_eq!(
            instance(&module).handle(b"e").as_deref(),
            Ok(&b"e"[..]),
            "{backend:?}"
        );
    }
}

#[test]
fn abi_breaches_and_guest_errors() {
    for backend in Backend::ALL {
        let (_rt, module) = probe(backend);
        let mut inst = instance(&module);
        assert!(matches!(inst.handle(b"o"), Err(CallError::Abi(_))), "{backend:?}");
        assert_eq!(
            inst.handle(b"x"),
            Err(CallError::Guest("refused".into())),
            "{backend:?}"
        );
        assert_eq!(inst.handle(b"e").as_deref(), Ok(&b"e"[..]), "{backend:?}");
    }
}

#[test]
fn minimal_wasi_and_dapr_imports() {
    for backend in Backend::ALL {
        let (_rt, module) = probe(backend);
        let mut inst = instance(&module);
        // fd_write to stdout: all 5 bytes "written", errno 0.
        assert_eq!(
            inst.handle(b"w").unwrap(),
            [5, 0, 0, 0, 0, 0, 0, 0],
            "{backend:?}"
        );
        // fd 7 is not open: EBADF.
        assert_eq!(inst.handle(b"b").unwrap(), 8i32.to_le_bytes(), "{backend:?}");
        // Without Dapr: NOT_PERMITTED; a bad pointer: INVALID_ARGUMENT, no trap.
        assert_eq!(inst.handle(b"s").unwrap(), (-7i64).to_le_bytes(), "{backend:?}");
        assert_eq!(inst.handle(b"a").unwrap(), (-3i64).to_le_bytes(), "{backend:?}");
        // proc_exit ends the call as a trap that names the code.
        assert_eq!(
            inst.handle(b"p"),
            Err(CallError::Trap {
                kind: TrapKind::Other,
                message: "guest called proc_exit(3)".into()
            }),
            "{backend:?}"
        );
        assert_eq!(
            instance(&module).handle(b"e").as_deref(),
            Ok(&b"e"[..]),
            "{backend:?}"
        );
    }
}

#[test]
fn initialisation_runs_under_the_time_limit() {
    for backend in Backend::ALL {
        let rt = probe_runtime(backend);
        let looping = PROBE.replace(
            "(type $void (func))",
            r#"(type $void (func)) (func (export "_initialize") (loop $l (br $l)))"#,
        );
        let module = rt.compile(&wasm(&looping)).expect("compile");
        let start = Instant::now();
        match module.instantiate(Arc::new(NoDapr)) {
            Err(RuntimeError::Instantiate(message)) => {
                assert!(message.contains("timeout"), "{backend:?}: {message}")
            }
            Err(other) => panic!("{backend:?}: {other}"),
            Ok(_) => panic!("{backend:?}: a looping _initialize returned"),
        }
        assert!(
            start.elapsed() < 2 * LIMIT,
            "{backend:?}: took {:?}",
            start.elapsed()
        );
    }
}

#[test]
fn initialize_runs_once_before_the_first_call() {
    for backend in Backend::ALL {
        let rt = probe_runtime(backend);
        // _initialize writes 'I' at 100; request `n` responds with that byte.
        let init = PROBE.replace(
            "(type $void (func))",
            r#"(type $void (func)) (func (export "_initialize") (i32.store8 (i32.const 100) (i32.const 73)))"#,
        )
        .replace(
            ";; e: echo the request",
            ";; n: the byte _initialize wrote\n    (if (i32.eq (local.get $op) (i32.const 110)) (then (return (call $pack (i32.const 100) (i32.const 1)))))\n    ;; e: echo the request",
        );
        let module = rt.compile(&wasm(&init)).expect("compile");
        assert_eq!(
            instance(&module).handle(b"n").as_deref(),
            Ok(&b"I"[..]),
            "{backend:?}"
        );
    }
}

#[test]
fn modules_that_break_the_abi_are_refused() {
    let rt = probe_runtime(Backend::Cranelift);
    let compile = |wat: &str| rt.compile(&wasm(wat)).err().map(|e| e.to_string());

    let no_handle = PROBE.replace(r#"(export "bb_handle")"#, "");
    let err = compile(&no_handle).expect("missing bb_handle must fail");
    assert!(err.contains("bb_handle"), "{err}");

    let wrong_type = PROBE.replace(
        r#"(func (export "bb_alloc") (param $len i32) (result i32) (i32.const 1024))"#,
        r#"(func (export "bb_alloc") (param $len i64) (result i32) (i32.const 1024))"#,
    );
    assert!(
        compile(&wrong_type)
            .expect("bad bb_alloc type")
            .contains("bb_alloc")
    );

    let unknown_import = PROBE.replace(
        r#"(type $void (func))"#,
        r#"(import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32))) (type $void (func))"#,
    );
    let err = compile(&unknown_import).expect("unknown import must fail");
    assert!(err.contains("wasi_snapshot_preview1::path_open"), "{err}");

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
