//! blueprint-bench's JavaScript guests: QuickJS (through `rquickjs`) with the
//! JS guest library (`guest.js`) and one workload (`<workload>/<workload>.js`,
//! embedded at build time) behind guest ABI v1 (`workloads/ABI.md`).
//!
//! The module exports `bb_abi_version`, `bb_alloc` and `bb_handle` like every
//! other language's. `bb_handle` passes the request to the workload's global
//! `handle(input: Uint8Array)` and returns what it returns (a string, sent as
//! UTF-8, or a `Uint8Array`/`ArrayBuffer`); whatever it throws becomes a guest
//! error (see [`engine`] for the message).
//!
//! The engine starts on the first `bb_handle` of an instance, not at
//! instantiation, and is kept for the calls after it: a host that reuses
//! instances pays for QuickJS once, a host that instantiates per request pays
//! for it on every call. That start-up cost is what this language adds to a
//! call, and the benchmark should see it.

pub mod abi;
#[cfg(feature = "dapr")]
mod dapr;
pub mod engine;
mod js_bytes;

/// The one host hook rquickjs's `wasm32-unknown-unknown` libc shim imports
/// (its clock). Defining it here keeps the embedded module's imports to the
/// ABI's `dapr` module alone. Workloads must be deterministic, so they have
/// no use for the time: `Date.now()` is the epoch.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
#[unsafe(no_mangle)]
pub extern "C" fn __rquickjs_host_now_us() -> f64 {
    0.0
}
