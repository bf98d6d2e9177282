//! Shared helpers for the adapter's integration tests (built only with the
//! `wasmedge` feature): the runtime constructors here, the rest (guest
//! lookup and build, golden vectors, a fresh instance) from the probes
//! module every adapter's tests include. `faults.rs` keeps a WAT probe of its
//! own: WasmEdge's interpreter answers some faults differently (unbounded
//! recursion runs into the time limit instead of a stack-overflow trap).

#![allow(dead_code)]

use std::time::Duration;

use blueprint_runtime_api::{Limits, RuntimeConfig};
use blueprint_runtime_wasmedge::WasmEdgeRuntime;

#[path = "../../../api/tests/probes/mod.rs"]
mod probes;

pub use probes::*;

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
