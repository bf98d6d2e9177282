//! The fault suite: [`super::PROBE`] on an adapter's probe runtime
//! ([`super::probe_limits`]). Every check takes the adapter's constructor;
//! [`crate::fault_suite!`] makes one `#[test]` of each.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::{
    CAP, GROW_EXPECTED, LIMIT, PROBE, TRAPS, instance, probe_limits, probe_module, probe_with, trap_kind,
    wasm, words,
};
use crate::{CallError, Instance, Limits, NoDapr, Runtime, RuntimeError, TrapKind};

/// Runs the looping request and checks it stopped as a timeout, not before
/// the limit and within twice it.
pub fn assert_times_out(inst: &mut dyn Instance, what: &str) {
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

/// A looping call stops as a timeout, twice on the same instance, and both
/// it and a fresh instance serve afterwards.
pub fn infinite_loop_times_out_and_the_host_keeps_serving(new: impl Fn(Limits) -> Box<dyn Runtime>) {
    let (_rt, module) = probe_module(&new);
    let mut inst = instance(&module);
    for round in 0..2 {
        assert_times_out(inst.as_mut(), &format!("round {round}"));
        assert_eq!(inst.handle(b"echo").as_deref(), Ok(&b"echo"[..]));
        assert_eq!(instance(&module).handle(b"e2").as_deref(), Ok(&b"e2"[..]));
    }
}

/// The host may keep only the compiled module: the timer that enforces the
/// limit must not stop with the runtime value.
pub fn the_time_limit_holds_after_the_runtime_is_dropped(new: impl Fn(Limits) -> Box<dyn Runtime>) {
    let (rt, module) = probe_module(&new);
    drop(rt);
    let mut inst = instance(&module);
    assert_times_out(inst.as_mut(), "runtime dropped");
    assert_eq!(inst.handle(b"e").as_deref(), Ok(&b"e"[..]));
}

/// While one call loops on another thread, other instances serve normally,
/// and only the looping call times out.
pub fn a_timeout_stops_only_its_own_store(new: impl Fn(Limits) -> Box<dyn Runtime>) {
    let (_rt, module) = probe_module(&new);
    let looping = {
        let module = module.clone();
        thread::spawn(move || {
            let start = Instant::now();
            (instance(&module).handle(b"l"), start.elapsed())
        })
    };
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

/// A guest that loops calling an import (`W`: stdout for ever) spends most
/// of its time in host code, where an engine's interruption may not reach or
/// may land badly. Several such calls side by side, again and again, each
/// time out within twice the limit, and the host keeps serving.
pub fn a_loop_of_imports_times_out_every_time(new: impl Fn(Limits) -> Box<dyn Runtime>) {
    const THREADS: usize = 3;
    const ROUNDS: usize = 8;
    let (_rt, module) = probe_module(&new);
    let (tx, rx) = std::sync::mpsc::channel();
    for t in 0..THREADS {
        let (module, tx) = (module.clone(), tx.clone());
        thread::spawn(move || {
            let mut inst = instance(&module);
            for round in 0..ROUNDS {
                let start = Instant::now();
                let result = inst.handle(b"W");
                let _ = tx.send((t, round, result, start.elapsed()));
            }
        });
    }
    drop(tx);
    // A hung call would hang the test: wait for each answer with a bound.
    for _ in 0..THREADS * ROUNDS {
        let (t, round, result, took) = rx
            .recv_timeout(10 * LIMIT)
            .unwrap_or_else(|_| panic!("a call looping on an import did not end within {:?}", 10 * LIMIT));
        assert_eq!(result, Err(CallError::Timeout(LIMIT)), "thread {t} round {round}");
        assert!(
            took < 2 * LIMIT,
            "thread {t} round {round}: stopped after {took:?}"
        );
    }
    assert_eq!(instance(&module).handle(b"e").as_deref(), Ok(&b"e"[..]));
}

/// Each trap of [`TRAPS`] maps to its kind, on a fresh instance and on one
/// that keeps serving after it; the message is fit for an HTTP 500 body.
pub fn traps_map_to_their_kinds_and_the_instance_survives(new: impl Fn(Limits) -> Box<dyn Runtime>) {
    let (_rt, module) = probe_module(&new);
    let mut inst = instance(&module);
    for (request, kind) in TRAPS {
        assert_trap_then_serves(&module, inst.as_mut(), request, kind);
    }
    match instance(&module).handle(b"u") {
        Err(err @ CallError::Trap { .. }) => {
            let text = err.to_string();
            assert!(text.starts_with("trap (unreachable): "), "{text}");
            assert!(text.contains("unreachable"), "{text}");
        }
        other => panic!("{other:?}"),
    }
}

/// Optional: unbounded recursion is a stack-overflow trap, and the instance
/// survives it (engines that compile to machine code; an interpreter whose
/// stack lives on the heap runs into the time limit instead).
pub fn unbounded_recursion_is_a_stack_overflow(new: impl Fn(Limits) -> Box<dyn Runtime>) {
    let (_rt, module) = probe_module(&new);
    let mut inst = instance(&module);
    assert_trap_then_serves(&module, inst.as_mut(), b"r", TrapKind::StackOverflow);
}

fn assert_trap_then_serves(
    module: &Arc<dyn crate::Module>,
    inst: &mut dyn Instance,
    request: &[u8],
    kind: TrapKind,
) {
    let op = String::from_utf8_lossy(request);
    assert_eq!(trap_kind(instance(module).handle(request)), kind, "`{op}`");
    assert_eq!(trap_kind(inst.handle(request)), kind, "`{op}`");
    assert_eq!(inst.handle(b"e").as_deref(), Ok(&b"e"[..]), "after `{op}`");
}

/// `memory.grow` past the cap answers -1 instead of trapping or growing.
pub fn memory_grow_past_the_cap_returns_minus_one(new: impl Fn(Limits) -> Box<dyn Runtime>) {
    let (_rt, module) = probe_module(&new);
    let out = instance(&module).handle(b"g").expect("grow probe");
    assert_eq!(words(&out), GROW_EXPECTED);
}

/// A module whose memory minimum is above the cap is refused (at compile
/// time or at instantiation, never served); exactly at the cap is fine.
pub fn a_memory_minimum_above_the_cap_is_refused(new: impl Fn(Limits) -> Box<dyn Runtime>) {
    let rt = new(probe_limits());
    let memory = r#"(memory (export "memory") 1)"#;
    let big = probe_with(memory, &format!(r#"(memory (export "memory") {})"#, CAP + 1));
    match rt.compile(&wasm(&big)).map(|m| m.instantiate(Arc::new(NoDapr))) {
        Err(RuntimeError::Compile(message) | RuntimeError::Instantiate(message))
        | Ok(Err(RuntimeError::Instantiate(message))) => {
            assert!(message.contains("memory"), "{message}")
        }
        Err(other) | Ok(Err(other)) => panic!("{other}"),
        Ok(Ok(_)) => panic!("instantiated a memory above the cap"),
    }
    let at_cap = probe_with(memory, &format!(r#"(memory (export "memory") {CAP})"#));
    let module = rt.compile(&wasm(&at_cap)).expect("compile");
    assert_eq!(instance(&module).handle(b"e").as_deref(), Ok(&b"e"[..]));
}

/// A response outside memory is an ABI breach; a refusal is a guest error
/// with the guest's message; the instance serves after both.
pub fn abi_breaches_and_guest_errors(new: impl Fn(Limits) -> Box<dyn Runtime>) {
    let (_rt, module) = probe_module(&new);
    let mut inst = instance(&module);
    assert!(matches!(inst.handle(b"o"), Err(CallError::Abi(_))));
    assert_eq!(inst.handle(b"x"), Err(CallError::Guest("refused".into())));
    assert_eq!(inst.handle(b"e").as_deref(), Ok(&b"e"[..]));
}

/// The WASI calls a guest may make without capabilities, and the `dapr`
/// imports on a host without Dapr.
pub fn wasi_and_dapr_imports(new: impl Fn(Limits) -> Box<dyn Runtime>) {
    let (_rt, module) = probe_module(&new);
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

/// A WASI sleep sleeps: `poll_oneoff` on one 50 ms clock subscription
/// reports its one event, errno 0, no sooner than 50 ms later.
pub fn a_short_wasi_sleep_sleeps_its_time(new: impl Fn(Limits) -> Box<dyn Runtime>) {
    let (_rt, module) = probe_module(&new);
    let mut inst = instance(&module);
    for round in 0..2 {
        let start = Instant::now();
        let answer = inst.handle(b"n");
        let took = start.elapsed();
        assert_eq!(
            answer.map(|bytes| words(&bytes)),
            Ok(vec![1, 0]),
            "round {round}: one event, errno 0"
        );
        assert!(
            took >= Duration::from_millis(50),
            "round {round}: a 50 ms sleep returned after {took:?}"
        );
    }
}

/// A guest that asks WASI for an hour's sleep is stopped at the call's time
/// limit as a timeout (no runtime's interrupt reaches into a host function,
/// so the sleep itself must end there), and the instance serves on.
pub fn a_long_wasi_sleep_ends_at_the_time_limit(new: impl Fn(Limits) -> Box<dyn Runtime>) {
    let (_rt, module) = probe_module(&new);
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut inst = instance(&module);
        let start = Instant::now();
        let slept = inst.handle(b"z");
        let took = start.elapsed();
        let _ = tx.send((slept, took, inst.handle(b"e")));
    });
    // A sleep the limit does not end would hang the test: wait with a bound.
    let (slept, took, after) = rx
        .recv_timeout(10 * LIMIT)
        .unwrap_or_else(|_| panic!("an hour's WASI sleep did not end within {:?}", 10 * LIMIT));
    eprintln!("an hour's WASI sleep: {slept:?} after {took:?} (limit {LIMIT:?})");
    assert_eq!(slept, Err(CallError::Timeout(LIMIT)));
    assert!(took < 2 * LIMIT, "stopped after {took:?}, limit {LIMIT:?}");
    assert_eq!(after.as_deref(), Ok(&b"e"[..]));
}

/// A looping `_initialize` fails instantiation as a timeout within the
/// limit, and what it ran on (pool slot, executor) serves the next instances.
pub fn initialisation_runs_under_the_time_limit(new: impl Fn(Limits) -> Box<dyn Runtime>) {
    let rt = new(probe_limits());
    let looping = probe_with(
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
    let module = rt.compile(&wasm(PROBE)).expect("compile");
    for _ in 0..3 {
        assert_eq!(instance(&module).handle(b"e").as_deref(), Ok(&b"e"[..]));
    }
}

/// `_initialize` runs before the first call.
pub fn initialize_runs_once_before_the_first_call(new: impl Fn(Limits) -> Box<dyn Runtime>) {
    let rt = new(probe_limits());
    // _initialize writes 'I' at 100; request `n` responds with that byte.
    let init = probe_with(
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

/// The compile error of the probe with `from` replaced by `to`, or a panic
/// saying `what` compiled.
pub fn compile_error(rt: &dyn Runtime, from: &str, to: &str, what: &str) -> String {
    match rt.compile(&wasm(&probe_with(from, to))) {
        Err(err) => err.to_string(),
        Ok(_) => panic!("{what} compiled"),
    }
}

/// Modules that break the ABI are refused when compiled, with a message that
/// names the export or import at fault; a wrong ABI version is refused at
/// instantiation; bytes that are not Wasm are a compile error.
pub fn modules_that_break_the_abi_are_refused(new: impl Fn(Limits) -> Box<dyn Runtime>) {
    let rt = new(probe_limits());
    let rt = rt.as_ref();

    let err = compile_error(rt, r#"(export "bb_handle")"#, "", "a module without bb_handle");
    assert!(err.contains("bb_handle"), "{err}");

    let err = compile_error(
        rt,
        r#"(func (export "bb_alloc") (param $len i32)"#,
        r#"(func (export "bb_alloc") (param $len i64)"#,
        "a mistyped bb_alloc",
    );
    assert!(err.contains("bb_alloc"), "{err}");

    // Imports no adapter provides: outside the `dapr` module's functions,
    // outside WASI preview 1, and from a module no host defines.
    for (import, name) in [
        (
            r#"(import "dapr" "secret_get" (func (param i32 i32) (result i64)))"#,
            "dapr::secret_get",
        ),
        (
            r#"(import "wasi_snapshot_preview1" "no_such_call" (func (param i32 i32) (result i32)))"#,
            "wasi_snapshot_preview1::no_such_call",
        ),
        (r#"(import "env" "abort" (func))"#, "env::abort"),
        // A `dapr` import with the wrong type.
        (
            r#"(import "dapr" "take_result" (func (param i64 i32) (result i64)))"#,
            "dapr::take_result",
        ),
    ] {
        let void = "(type $void (func))";
        let err = compile_error(rt, void, &format!("{import} {void}"), name);
        assert!(err.contains(name), "{err}");
    }

    let v2 = probe_with(
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
