//! Test support shared by the adapters' integration tests (dev-only; not a
//! test target of this crate: Cargo only picks up `tests/*.rs` and
//! `tests/*/main.rs`). Each adapter's `tests/common/mod.rs` includes it with
//! `#[path = "../../../api/tests/probes/mod.rs"] mod probes;`, so the fault
//! probe, the golden-vector reader and the guest lookup are written once.
//!
//! Needs the dev-dependencies `wat`, `serde_json` and `base64`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use blueprint_runtime_api::{CallError, Instance, Module, NoDapr, Runtime, TrapKind};

/// Memory cap of the probe runtimes, in pages; [`PROBE`]'s `g` request grows
/// its one page to exactly this.
pub const CAP: u32 = 16;

/// A guest that exports the ABI and does what the request's first byte says.
pub const PROBE: &str = r#"
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
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
    ;; b: write to a file descriptor that is not open; respond errno
    (if (i32.eq (local.get $op) (i32.const 98))
      (then
        (i32.store (i32.const 60) (call $fd_write (i32.const 7) (i32.const 48) (i32.const 1) (i32.const 56)))
        (return (call $pack (i32.const 60) (i32.const 4)))))
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

/// The probe requests that trap, with the kind each must map to.
pub const TRAPS: [(&[u8], TrapKind); 6] = [
    (b"u", TrapKind::Unreachable),
    (b"d", TrapKind::DivisionByZero),
    (b"c", TrapKind::IntegerOverflow),
    (b"r", TrapKind::StackOverflow),
    (b"m", TrapKind::MemoryOutOfBounds),
    (b"i", TrapKind::BadIndirectCall),
];

/// What [`PROBE`]'s `g` request must answer under [`CAP`]: `grow(1000)`
/// fails, `grow(15)` goes from 1 page to the cap, `grow(1)` fails, size = cap.
pub const GROW_EXPECTED: [i32; 4] = [-1, 1, -1, CAP as i32];

/// Assembles WAT.
pub fn wasm(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("probe WAT")
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

/// The command that builds the guest modules these tests load.
pub const BUILD_GUESTS: &str = "cd workloads/rust && cargo build --release --target wasm32-wasip1 \
     --target-dir ~/.cache/blueprint-bench/target-guests";

/// Compiles a built guest module, e.g. `noop`.
pub fn compile_guest(runtime: &dyn Runtime, name: &str) -> Arc<dyn Module> {
    let path = guest_path(name);
    let wasm = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    runtime
        .compile(&wasm)
        .unwrap_or_else(|e| panic!("compiling {}: {e}", path.display()))
}

/// Where the guest `<name>.wasm` is. With `$BLUEPRINT_GUEST_DIR` (either the
/// directory holding the `.wasm` files or the cargo target directory they
/// were built into) the modules there are used as they are. Otherwise the
/// Rust guests are built (once per test binary; cargo makes an unchanged
/// tree cost about a second) into `~/.cache/blueprint-bench/target-guests`
/// with [`BUILD_GUESTS`], so a fresh machine and edited guests both work.
/// Panics with the build command when the module is missing.
pub fn guest_path(name: &str) -> PathBuf {
    let dir = match std::env::var_os("BLUEPRINT_GUEST_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => build_guests().to_owned(),
    };
    let file = format!("{name}.wasm");
    let candidates = [dir.join(&file), dir.join("wasm32-wasip1/release").join(&file)];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "guest module `{file}` not found (looked at {} and {}); build the guests with \
             `{BUILD_GUESTS}` or point BLUEPRINT_GUEST_DIR at them",
                candidates[0].display(),
                candidates[1].display()
            )
        })
}

/// Builds the Rust guests once per process and returns the target directory.
fn build_guests() -> &'static Path {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
        let target_dir = home.join(".cache/blueprint-bench/target-guests");
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workloads/rust/Cargo.toml");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = std::process::Command::new(cargo)
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip1",
                "--manifest-path",
            ])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target_dir)
            // The guests' own profile decides; the host build's settings do not apply.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .unwrap_or_else(|e| panic!("running cargo to build the guests (`{BUILD_GUESTS}`): {e}"));
        assert!(
            out.status.success(),
            "building the guests (`{BUILD_GUESTS}`) failed (is the target installed? \
             `rustup target add wasm32-wasip1`):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        target_dir
    })
}

/// One golden-vector case.
pub struct Case {
    pub name: String,
    pub input: Vec<u8>,
    /// `Ok(output)` or `Err(guest error message)`.
    pub expected: Result<Vec<u8>, String>,
}

/// Reads `workloads/vectors/<workload>.json` (adapters live at
/// `runtimes/<name>/`, two levels below the project).
pub fn vectors(workload: &str) -> Vec<Case> {
    use base64::Engine as _;
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../workloads/vectors")
        .join(format!("{workload}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: serde_json::Value = serde_json::from_str(&text).expect("vector JSON");
    let bytes = |case: &serde_json::Value, key: &str| -> Option<Vec<u8>> {
        if let Some(text) = case[key].as_str() {
            return Some(text.as_bytes().to_vec());
        }
        let b64 = case[format!("{key}_base64")].as_str()?;
        Some(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("base64"),
        )
    };
    doc["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|case| Case {
            name: case["name"].as_str().expect("name").to_owned(),
            input: bytes(case, "input").expect("input"),
            expected: match case["error"].as_str() {
                Some(message) => Err(message.to_owned()),
                None => Ok(bytes(case, "output").expect("output")),
            },
        })
        .collect()
}
