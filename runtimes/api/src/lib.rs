//! The contract between blueprint-bench and a WebAssembly runtime adapter.
//!
//! Every runtime (Wasmtime, Wasmer, WasmEdge, and the wazero Go host through
//! its process contract) runs the same guest modules through the same guest
//! ABI (`workloads/ABI.md`). An adapter implements three small traits, in the
//! order a host uses them:
//!
//! ```text
//! Runtime::compile(bytes) -> Module          once per workload   ("compile" phase)
//! Module::instantiate(host) -> Instance      per request/worker  ("instantiate" phase)
//! Instance::handle(request) -> response      per request         ("call" phase)
//! ```
//!
//! - [`abi`] holds the ABI's constants and [`abi::HostState`], the host side of
//!   the `dapr` import module. Adapters only move bytes in and out of guest
//!   memory and call it, so every runtime gives the guest the same answers.
//! - [`host`] is the [`DaprHost`] trait: the typed Dapr calls that a host
//!   program maps to the sidecar (gRPC through the official SDK).
//! - [`watchdog`] enforces the call time limit for adapters whose engine has
//!   no timer of its own: a thread that stops calls past their deadline.
//! - `testing` (the `testing` feature) is the adapters' shared test kit: a
//!   fault probe, the real guests, and the suites every adapter runs.
//!
//! Threading: a [`Runtime`] and its [`Module`]s are shared across threads; an
//! [`Instance`] is used by one thread at a time and never re-entered.
//!
//! Errors: compile and instantiate failures are [`RuntimeError`]s; a request
//! that fails inside the guest is a [`CallError`] that says whose fault it was
//! (the workload refused, the guest trapped, it ran out of time). An adapter
//! never panics on guest behaviour: the host keeps serving.

#![deny(missing_docs)]

pub mod abi;
pub mod build_support;
pub mod command;
pub mod host;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod wasi;
pub mod watchdog;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use command::{CommandError, CommandRunner, PreopenDir, WasiCommand};
pub use host::{
    Concurrency, DaprHost, HostError, HostResult, LogLevel, NoDapr, OutboundRequest, OutboundResponse,
    Precondition, StateEntry,
};

/// What an adapter reports about itself; recorded with every result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeInfo {
    /// Runtime family as used in scenarios: `wasmtime`, `wasmer`, `wasmedge`, `wazero`.
    pub name: String,
    /// Version of the runtime library actually linked.
    pub version: String,
    /// Engine configuration that changes its figures, e.g. `cranelift+pooling`.
    pub engine: String,
}

/// Limits every adapter enforces the same way, from one scenario setting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest linear memory an instance may grow to, in 64 KiB pages.
    pub max_memory_pages: u32,
    /// Longest one `handle` call may run before it is stopped as a timeout.
    pub call_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_memory_pages: 1024, // 64 MiB
            call_timeout: Duration::from_secs(10),
        }
    }
}

/// How an adapter is set up; one value per scenario cell.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeConfig {
    /// Uniform guest limits.
    pub limits: Limits,
    /// Set up for counting instructions (`blueprint-bench instructions`):
    /// compile on the calling thread where the runtime allows it, and no
    /// instance pool (a pool's address-space reservation is larger than
    /// Valgrind lets a program map). Runs and tests leave it off.
    #[serde(default)]
    pub counting: bool,
}

/// A configured runtime engine that compiles guest modules.
pub trait Runtime: Send + Sync {
    /// Name, version and engine configuration.
    fn info(&self) -> RuntimeInfo;

    /// Compiles (or validates, for an interpreter) a guest module and checks
    /// that it exports the ABI this host speaks.
    ///
    /// # Errors
    /// Invalid bytes, a module the engine rejects, or a module that does not
    /// export the guest ABI.
    fn compile(&self, wasm: &[u8]) -> Result<Arc<dyn Module>, RuntimeError>;
}

/// A compiled guest module, ready to be instantiated many times.
pub trait Module: Send + Sync {
    /// Creates a fresh instance whose `dapr` imports call `host`. Runs the
    /// guest's `_initialize` and checks `bb_abi_version`.
    ///
    /// # Errors
    /// Missing imports, a start function that traps, an ABI version mismatch.
    fn instantiate(&self, host: Arc<dyn DaprHost>) -> Result<Box<dyn Instance>, RuntimeError>;
}

/// One live guest instance. Not shared: one request at a time.
pub trait Instance: Send {
    /// Runs `bb_handle` on one request and returns the response bytes.
    ///
    /// # Errors
    /// See [`CallError`]: the workload refused the request, the guest
    /// trapped, ran past the time limit, or broke the ABI.
    fn handle(&mut self, request: &[u8]) -> Result<Vec<u8>, CallError>;
}

/// Setting a runtime up, compiling or instantiating failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The runtime could not be configured (bad limits, engine options).
    #[error("runtime configuration: {0}")]
    Config(String),
    /// The module could not be compiled or validated.
    #[error("compile: {0}")]
    Compile(String),
    /// The module does not follow the guest ABI (missing export, wrong version).
    #[error("guest ABI: {0}")]
    Abi(String),
    /// Instantiation failed (missing import, trap in start/_initialize, memory limit).
    #[error("instantiate: {0}")]
    Instantiate(String),
}

/// Why one request did not produce a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The workload refused the request (the ABI's error flag); the message is the guest's.
    #[error("guest error: {0}")]
    Guest(String),
    /// The guest trapped.
    #[error("trap ({kind}): {message}")]
    Trap {
        /// What kind of fault it was.
        kind: TrapKind,
        /// The runtime's own description.
        message: String,
    },
    /// The call ran past [`Limits::call_timeout`] and was stopped.
    #[error("timeout: the call ran longer than {0:?}")]
    Timeout(Duration),
    /// The guest broke the ABI (e.g. a response outside its memory).
    #[error("guest ABI: {0}")]
    Abi(String),
}

impl CallError {
    /// A short stable label for error tallies and HTTP responses.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::Guest(_) => "guest",
            CallError::Trap { .. } => "trap",
            CallError::Timeout(_) => "timeout",
            CallError::Abi(_) => "abi",
        }
    }
}

/// The kinds of trap every adapter distinguishes, so the same fault reads the
/// same on every runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrapKind {
    /// `unreachable` executed (also Rust panics compiled to abort).
    Unreachable,
    /// A load or store outside linear memory.
    MemoryOutOfBounds,
    /// Integer division or remainder by zero.
    DivisionByZero,
    /// Integer overflow in a conversion or `i32.div_s` of `MIN / -1`.
    IntegerOverflow,
    /// The call stack was exhausted.
    StackOverflow,
    /// Memory growth past the limit that the guest did not handle.
    MemoryLimit,
    /// An indirect call through a bad table slot or signature.
    BadIndirectCall,
    /// Anything else the runtime reports.
    Other,
}

impl std::fmt::Display for TrapKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TrapKind::Unreachable => "unreachable",
            TrapKind::MemoryOutOfBounds => "memory-out-of-bounds",
            TrapKind::DivisionByZero => "division-by-zero",
            TrapKind::IntegerOverflow => "integer-overflow",
            TrapKind::StackOverflow => "stack-overflow",
            TrapKind::MemoryLimit => "memory-limit",
            TrapKind::BadIndirectCall => "bad-indirect-call",
            TrapKind::Other => "other",
        })
    }
}
