//! Shared helpers for the adapter's integration tests (built only with the
//! `wasmedge` feature).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use blueprint_runtime_api::{Instance, Limits, Module, NoDapr, Runtime, RuntimeConfig};
use blueprint_runtime_wasmedge::WasmEdgeRuntime;

/// The command that builds the guest modules these tests load.
pub const BUILD_GUESTS: &str = "cd workloads/rust && cargo build --release --target wasm32-wasip1 \
     --target-dir ~/.cache/blueprint-bench/target-guests";

/// A runtime with the given limits.
pub fn runtime(max_memory_pages: u32, call_timeout: Duration) -> WasmEdgeRuntime {
    let config = RuntimeConfig {
        limits: Limits {
            max_memory_pages,
            call_timeout,
        },
    };
    WasmEdgeRuntime::new(&config).expect("runtime")
}

/// A runtime with the default limits.
pub fn default_runtime() -> WasmEdgeRuntime {
    WasmEdgeRuntime::new(&RuntimeConfig::default()).expect("runtime")
}

/// A fresh instance without Dapr access.
pub fn instance(module: &Arc<dyn Module>) -> Box<dyn Instance> {
    module.instantiate(Arc::new(NoDapr)).expect("instantiate")
}

/// Compiles a built guest module, e.g. `noop`.
pub fn compile_guest(runtime: &dyn Runtime, name: &str) -> Arc<dyn Module> {
    let path = guest_path(name);
    let wasm = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    runtime
        .compile(&wasm)
        .unwrap_or_else(|e| panic!("compiling {}: {e}", path.display()))
}

/// Where the guest `<name>.wasm` is: `$BLUEPRINT_GUEST_DIR` (either the
/// directory holding the `.wasm` files or the cargo target directory they
/// were built into), by default `~/.cache/blueprint-bench/target-guests`.
/// Panics with the build command when it is missing.
pub fn guest_path(name: &str) -> PathBuf {
    let dir = std::env::var_os("BLUEPRINT_GUEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
            home.join(".cache/blueprint-bench/target-guests")
        });
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

/// One golden-vector case.
pub struct Case {
    pub name: String,
    pub input: Vec<u8>,
    /// `Ok(output)` or `Err(guest error message)`.
    pub expected: Result<Vec<u8>, String>,
}

/// Reads `workloads/vectors/<workload>.json`.
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
