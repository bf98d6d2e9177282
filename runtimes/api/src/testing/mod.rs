//! The runtime adapters' shared test kit (the `testing` feature; adapters
//! take it as a dev-dependency): a fault probe written in WAT, the real Rust
//! guests, and two suites every adapter runs over its own constructor.
//!
//! - [`faults`]: every guest fault comes back as the right [`CallError`],
//!   never as a host crash, and the host keeps serving after it.
//! - [`guests`]: the real Rust guests reproduce their golden vectors byte for
//!   byte, with and without a state store.
//!
//! An adapter's `tests/faults.rs` is `blueprint_runtime_api::fault_suite!(constructor);`
//! and its `tests/guests.rs` is `blueprint_runtime_api::guest_suite!(constructor);`,
//! each expanding to one `#[test]` per check (so a failing check is named in
//! the test output), plus the few checks that are truly the adapter's own.
//! The constructor is a closure from [`Limits`] to a boxed [`Runtime`].
//!
//! Guest modules come from [`guest_path`]: built on first use with the one
//! guest builder, [`blueprint_workloads::build_rust_guest`], so the tests pass
//! on a machine with an empty cache.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use crate::{CallError, Instance, Limits, Module, NoDapr, Runtime, TrapKind};

pub mod faults;
pub mod guests;
mod store;
mod stub;

pub use store::MemoryStore;
pub use stub::StubHost;

/// Memory cap of the probe runtimes, in pages; [`PROBE`]'s `g` request grows
/// its one page to exactly this.
pub const CAP: u32 = 16;

/// Call time limit of the probe runtimes. Timeouts must come back within
/// twice this; the margin absorbs scheduling delays on a loaded 2-core box.
pub const LIMIT: Duration = Duration::from_millis(500);

/// The limits of the probe runtimes: [`CAP`] pages and [`LIMIT`].
pub fn probe_limits() -> Limits {
    Limits {
        max_memory_pages: CAP,
        call_timeout: LIMIT,
    }
}

/// A guest that exports the ABI and does what the request's first byte says.
pub const PROBE: &str = r#"
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "dapr" "state_get" (func $state_get (param i32 i32 i32 i32) (result i64)))
  (type $void (func))
  (memory (export "memory") 1)
  (table 2 funcref)
  (data (i32.const 16) "refused")
  (data (i32.const 32) "hello")
  (func (export "bb_abi_version") (result i32) (i32.const 1))
  (func (export "bb_alloc") (param $len i32) (result i32) (i32.const 1024))
  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len))))
  (func $recurse (param $n i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get $n) (i32.const 1))) (i32.const 1)))
  ;; A zero the compiler cannot see through (memory starts zeroed).
  (func $zero (result i32) (i32.load (i32.const 8)))
  ;; poll_oneoff on one relative monotonic-clock subscription of $ns (at
  ;; 256, 48 bytes), its event at 320; respond nevents and errno.
  (func $sleep (param $ns i64) (result i64)
    (i64.store (i32.const 256) (i64.const 0))
    (i32.store8 (i32.const 264) (i32.const 0))
    (i32.store (i32.const 272) (i32.const 1))
    (i64.store (i32.const 280) (local.get $ns))
    (i64.store (i32.const 288) (i64.const 0))
    (i32.store16 (i32.const 296) (i32.const 0))
    (i32.store (i32.const 352) (i32.const 0))
    (i32.store (i32.const 356)
      (call $poll (i32.const 256) (i32.const 320) (i32.const 1) (i32.const 352)))
    (call $pack (i32.const 352) (i32.const 8)))
  (func (export "bb_handle") (param $ptr i32) (param $len i32) (result i64)
    (local $op i32)
    (local.set $op (i32.load8_u (local.get $ptr)))
    ;; e: echo the request
    (if (i32.eq (local.get $op) (i32.const 101))
      (then (return (call $pack (local.get $ptr) (local.get $len)))))
    ;; l: loop forever
    (if (i32.eq (local.get $op) (i32.const 108))
      (then (loop $forever (br $forever))))
    ;; u: unreachable
    (if (i32.eq (local.get $op) (i32.const 117))
      (then unreachable))
    ;; d: 1 / 0
    (if (i32.eq (local.get $op) (i32.const 100))
      (then (drop (i32.div_s (i32.const 1) (call $zero)))))
    ;; c: i32::MIN / -1
    (if (i32.eq (local.get $op) (i32.const 99))
      (then (drop (i32.div_s (i32.const 0x80000000) (i32.sub (call $zero) (i32.const 1))))))
    ;; r: unbounded recursion
    (if (i32.eq (local.get $op) (i32.const 114))
      (then (drop (call $recurse (call $zero)))))
    ;; m: load far outside memory
    (if (i32.eq (local.get $op) (i32.const 109))
      (then (drop (i32.load (i32.sub (call $zero) (i32.const 16))))))
    ;; i: call through a null table slot
    (if (i32.eq (local.get $op) (i32.const 105))
      (then (call_indirect (type $void) (call $zero))))
    ;; g: grow past the cap, up to it, past it again; report results and size
    (if (i32.eq (local.get $op) (i32.const 103))
      (then
        (i32.store (i32.const 64) (memory.grow (i32.const 1000)))
        (i32.store (i32.const 68) (memory.grow (i32.const 15)))
        (i32.store (i32.const 72) (memory.grow (i32.const 1)))
        (i32.store (i32.const 76) (memory.size))
        (return (call $pack (i32.const 64) (i32.const 16)))))
    ;; o: a response pointer outside memory
    (if (i32.eq (local.get $op) (i32.const 111))
      (then (return (call $pack (i32.const 0xffff0000) (i32.const 16)))))
    ;; x: refuse the request with a guest error
    (if (i32.eq (local.get $op) (i32.const 120))
      (then (return (i64.or (call $pack (i32.const 16) (i32.const 7)) (i64.const 0x80000000)))))
    ;; p: proc_exit(3)
    (if (i32.eq (local.get $op) (i32.const 112))
      (then (call $proc_exit (i32.const 3))))
    ;; w: write "hello" to stdout; respond nwritten and errno
    (if (i32.eq (local.get $op) (i32.const 119))
      (then
        (i32.store (i32.const 48) (i32.const 32))
        (i32.store (i32.const 52) (i32.const 5))
        (i32.store (i32.const 60) (call $fd_write (i32.const 1) (i32.const 48) (i32.const 1) (i32.const 56)))
        (return (call $pack (i32.const 56) (i32.const 8)))))
    ;; W: write "hello" to stdout for ever (a loop that lives in an import)
    (if (i32.eq (local.get $op) (i32.const 87))
      (then
        (i32.store (i32.const 48) (i32.const 32))
        (i32.store (i32.const 52) (i32.const 5))
        (loop $chatter
          (drop (call $fd_write (i32.const 1) (i32.const 48) (i32.const 1) (i32.const 56)))
          (br $chatter))))
    ;; b: write to a file descriptor that is not open; respond errno
    (if (i32.eq (local.get $op) (i32.const 98))
      (then
        (i32.store (i32.const 60) (call $fd_write (i32.const 7) (i32.const 48) (i32.const 1) (i32.const 56)))
        (return (call $pack (i32.const 60) (i32.const 4)))))
    ;; n: sleep 50 ms through WASI; respond nevents and errno
    (if (i32.eq (local.get $op) (i32.const 110))
      (then (return (call $sleep (i64.const 50000000)))))
    ;; z: sleep an hour through WASI (a wait that lives in an import)
    (if (i32.eq (local.get $op) (i32.const 122))
      (then (return (call $sleep (i64.const 3600000000000)))))
    ;; s: dapr.state_get("hello", "hello"); respond its i64 result
    (if (i32.eq (local.get $op) (i32.const 115))
      (then
        (i64.store (i32.const 80) (call $state_get (i32.const 32) (i32.const 5) (i32.const 32) (i32.const 5)))
        (return (call $pack (i32.const 80) (i32.const 8)))))
    ;; a: dapr.state_get with a name outside memory
    (if (i32.eq (local.get $op) (i32.const 97))
      (then
        (i64.store (i32.const 80) (call $state_get (i32.const -8) (i32.const 5) (i32.const 32) (i32.const 5)))
        (return (call $pack (i32.const 80) (i32.const 8)))))
    (call $pack (local.get $ptr) (local.get $len)))
)
"#;

/// The probe requests that trap on every adapter, with the kind each must map
/// to. Unbounded recursion (`r`) is not among them: an interpreter may keep
/// its call stack on the heap and run into the time limit instead (see
/// [`faults::unbounded_recursion_is_a_stack_overflow`]).
pub const TRAPS: [(&[u8], TrapKind); 5] = [
    (b"u", TrapKind::Unreachable),
    (b"d", TrapKind::DivisionByZero),
    (b"c", TrapKind::IntegerOverflow),
    (b"m", TrapKind::MemoryOutOfBounds),
    (b"i", TrapKind::BadIndirectCall),
];

/// What [`PROBE`]'s `g` request must answer under [`CAP`]: `grow(1000)`
/// fails, `grow(15)` goes from 1 page to the cap, `grow(1)` fails, size = cap.
pub const GROW_EXPECTED: [i32; 4] = [-1, 1, -1, CAP as i32];

/// Assembles WAT.
pub fn wasm(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).unwrap_or_else(|e| panic!("probe WAT: {e}"))
}

/// [`PROBE`] with `from` replaced by `to`; panics when `from` is not in it,
/// so a probe edit cannot silently turn a check into a no-op.
pub fn probe_with(from: &str, to: &str) -> String {
    assert!(PROBE.contains(from), "the probe has no `{from}`");
    PROBE.replace(from, to)
}

/// Compiles [`PROBE`] on a fresh probe runtime (the runtime comes back too:
/// some adapters tie their timers to it).
pub fn probe_module(new: &impl Fn(Limits) -> Box<dyn Runtime>) -> (Box<dyn Runtime>, Arc<dyn Module>) {
    let runtime = new(probe_limits());
    let module = runtime.compile(&wasm(PROBE)).expect("compile probe");
    (runtime, module)
}

/// The kind of a trap, or a panic naming what came back instead.
pub fn trap_kind(result: Result<Vec<u8>, CallError>) -> TrapKind {
    match result {
        Err(CallError::Trap { kind, .. }) => kind,
        other => panic!("expected a trap, got {other:?}"),
    }
}

/// Reads a response as little-endian `i32` words.
pub fn words(bytes: &[u8]) -> Vec<i32> {
    bytes
        .chunks(4)
        .map(|w| i32::from_le_bytes(w.try_into().expect("whole words")))
        .collect()
}

/// A fresh instance without Dapr access.
pub fn instance(module: &Arc<dyn Module>) -> Box<dyn Instance> {
    module.instantiate(Arc::new(NoDapr)).expect("instantiate")
}

/// One golden-vector case, as the tests compare it with a call's answer.
#[derive(Debug, Clone)]
pub struct Case {
    /// Case name, for messages.
    pub name: String,
    /// The request.
    pub input: Vec<u8>,
    /// `Ok(output)` or `Err(guest error message)`.
    pub expected: Result<Vec<u8>, String>,
}

/// The cases of `workloads/vectors/<workload>.json`, in order.
pub fn vectors(workload: &str) -> Vec<Case> {
    vector_file(workload)
        .cases
        .iter()
        .map(|case| Case {
            name: case.name.clone(),
            input: case.input_bytes().expect("checked by load_vectors"),
            expected: case.expected().expect("checked by load_vectors").into_result(),
        })
        .collect()
}

/// The whole vector file of a workload (cases and final state).
pub fn vector_file(workload: &str) -> blueprint_workloads::VectorFile {
    blueprint_workloads::load_vectors(&blueprint_workloads::checkout_dir(), workload)
        .unwrap_or_else(|e| panic!("{e:#}"))
}

/// Compiles a Rust guest module (`embedded` flavour), e.g. `noop`.
pub fn compile_guest(runtime: &dyn Runtime, name: &str) -> Arc<dyn Module> {
    let path = guest_path(name);
    let wasm = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    runtime
        .compile(&wasm)
        .unwrap_or_else(|e| panic!("compiling {}: {e}", path.display()))
}

/// Where the Rust guest `<name>.wasm` (`embedded` flavour) is.
///
/// With `$BLUEPRINT_GUEST_DIR` (the folder holding the `.wasm` files, or the
/// cargo target folder they were built into) the modules there are used as
/// they are. Otherwise the guest is built, once per test process (cargo
/// makes an unchanged tree cost about a second), into
/// `<cache>/guests/test-embedded`, where `<cache>` is `$BLUEPRINT_CACHE_DIR`
/// or `~/.cache/blueprint-bench`; so a fresh machine and edited guests both
/// work.
///
/// # Panics
/// The module is missing from `$BLUEPRINT_GUEST_DIR`, or the build fails
/// (with the builder's message, e.g. the missing `rustup` target).
pub fn guest_path(name: &str) -> PathBuf {
    guest_path_of_flavour(name, "embedded")
}

/// [`guest_path`] for any flavour (`embedded`, `http`, `middleware`,
/// `command`); each flavour is built into its own `test-<flavour>` folder.
///
/// # Panics
/// As [`guest_path`].
pub fn guest_path_of_flavour(name: &str, flavour: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("BLUEPRINT_GUEST_DIR") {
        let dir = PathBuf::from(dir);
        let candidates = [
            dir.join(format!("{name}.wasm")),
            dir.join(format!("{name}.{flavour}.wasm")),
            dir.join(format!("wasm32-wasip1/release/{name}.wasm")),
            // Cargo's name for a crate with a `-` in it.
            dir.join(format!("wasm32-wasip1/release/{}.wasm", name.replace('-', "_"))),
        ];
        return candidates.iter().find(|p| p.is_file()).cloned().unwrap_or_else(|| {
            panic!(
                "guest module `{name}` ({flavour}) not found in BLUEPRINT_GUEST_DIR (looked at {candidates:?}); \
                 unset it to have the tests build the guests"
            )
        });
    }
    static BUILT: OnceLock<Mutex<HashMap<(String, String), PathBuf>>> = OnceLock::new();
    // Held across the build: tests running in parallel wait for one build
    // instead of queueing on cargo's lock with the same work.
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let key = (name.to_owned(), flavour.to_owned());
    if let Some(path) = built.get(&key) {
        return path.clone();
    }
    let manifest = blueprint_workloads::checkout_dir().join("workloads/rust/Cargo.toml");
    let target_dir = blueprint_workloads::cache_dir()
        .join("guests")
        .join(format!("test-{flavour}"));
    let path = blueprint_workloads::build_rust_guest(
        &manifest,
        &target_dir,
        name,
        blueprint_workloads::rust_feature(flavour),
    )
    .unwrap_or_else(|e| panic!("building the Rust guest `{name}` ({flavour}) for the tests: {e:#}"));
    built.insert(key, path.clone());
    path
}

/// One `#[test]` per check of a suite module: `$check` names a function of
/// `$crate::testing::$suite` that takes the constructor.
#[doc(hidden)]
#[macro_export]
macro_rules! __adapter_checks {
    ($suite:ident, $new:expr, [$($check:ident),* $(,)?]) => {
        $(
            #[test]
            fn $check() {
                $crate::testing::$suite::$check($new)
            }
        )*
    };
}

/// The fault suite ([`faults`]) as one `#[test]` per check, for an adapter's
/// constructor `|limits: Limits| -> Box<dyn Runtime>`. Names after the
/// constructor add optional checks of [`faults`] that hold on this adapter,
/// e.g. `unbounded_recursion_is_a_stack_overflow`.
#[macro_export]
macro_rules! fault_suite {
    ($new:expr $(, $extra:ident)* $(,)?) => {
        $crate::__adapter_checks!(faults, $new, [
            infinite_loop_times_out_and_the_host_keeps_serving,
            the_time_limit_holds_after_the_runtime_is_dropped,
            a_timeout_stops_only_its_own_store,
            a_loop_of_imports_times_out_every_time,
            traps_map_to_their_kinds_and_the_instance_survives,
            memory_grow_past_the_cap_returns_minus_one,
            a_memory_minimum_above_the_cap_is_refused,
            abi_breaches_and_guest_errors,
            wasi_and_dapr_imports,
            a_short_wasi_sleep_sleeps_its_time,
            a_long_wasi_sleep_ends_at_the_time_limit,
            initialisation_runs_under_the_time_limit,
            initialize_runs_once_before_the_first_call,
            modules_that_break_the_abi_are_refused,
            $($extra,)*
        ]);
    };
}

/// The guest suite ([`guests`]) as one `#[test]` per check, for an adapter's
/// constructor `|limits: Limits| -> Box<dyn Runtime>`, plus the per-call
/// figures as an ignored test (`-- --ignored --nocapture per_call_figures`).
#[macro_export]
macro_rules! guest_suite {
    ($new:expr $(,)?) => {
        $crate::__adapter_checks!(
            guests,
            $new,
            [
                noop_golden_vectors_pass_byte_identical,
                counter_without_dapr_is_refused_by_the_guest,
                counter_vectors_pass_against_an_in_memory_store,
                every_vector_twice_on_one_reused_instance,
            ]
        );

        #[test]
        #[ignore = "prints timings; run on demand"]
        fn per_call_figures() {
            $crate::testing::guests::per_call_figures($new)
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_assembles_and_its_edits_apply() {
        assert_eq!(&wasm(PROBE)[..4], b"\0asm");
        let big = probe_with(
            r#"(memory (export "memory") 1)"#,
            r#"(memory (export "memory") 17)"#,
        );
        assert!(big.contains("17") && !big.contains(r#"(memory (export "memory") 1)"#));
    }

    #[test]
    #[should_panic(expected = "the probe has no")]
    fn an_edit_that_misses_the_probe_panics() {
        probe_with("(no such text)", "");
    }

    #[test]
    fn words_reads_little_endian_i32s() {
        assert_eq!(words(&[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]), [1, -1]);
        assert_eq!(GROW_EXPECTED[3], CAP as i32);
    }

    #[test]
    fn vectors_come_as_answers() {
        let noop = vectors("noop");
        assert!(noop.len() >= 5, "noop vectors look truncated");
        let counter = vectors("counter");
        assert!(counter.iter().any(|c| c.expected.is_err()));
        assert!(counter.iter().any(|c| c.expected.is_ok()));
    }

    #[test]
    fn guests_are_built_when_missing() {
        // With BLUEPRINT_CACHE_DIR pointing at an empty folder this is the
        // brand-new-machine case.
        let path = guest_path("noop");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(&bytes[..4], b"\0asm", "{}", path.display());
        assert_eq!(guest_path("noop"), path, "built once per process");
    }
}
