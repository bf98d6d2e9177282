//! Shared helpers for the adapter's integration tests: the runtime
//! constructors here, the rest (fault probe, guest lookup, golden vectors)
//! from the probes module every adapter's tests include.

#![allow(dead_code)]

use std::time::Duration;

use blueprint_runtime_api::{Limits, RuntimeConfig};
use blueprint_runtime_wasmer::{Backend, WasmerRuntime};

#[path = "../../../api/tests/probes/mod.rs"]
mod probes;

pub use probes::*;

/// A runtime with the given limits.
pub fn runtime(backend: Backend, max_memory_pages: u32, call_timeout: Duration) -> WasmerRuntime {
    let config = RuntimeConfig {
        limits: Limits {
            max_memory_pages,
            call_timeout,
        },
    };
    WasmerRuntime::new(&config, backend).expect("runtime")
}

/// A runtime with the default limits.
pub fn default_runtime(backend: Backend) -> WasmerRuntime {
    WasmerRuntime::new(&RuntimeConfig::default(), backend).expect("runtime")
}
