//! Rust side of blueprint-bench's guest ABI (`workloads/ABI.md`, which is
//! normative; this crate only implements it).
//!
//! A workload is one function `pub fn handle(&[u8]) -> Result<Vec<u8>,
//! String>` handed to [`workload!`], which emits the module's exports for the
//! flavour this crate is built as (one cargo feature each, at most one on):
//!
//! | feature | flavour | exports | Dapr calls go to |
//! |---|---|---|---|
//! | (none) | `embedded` | `bb_abi_version`, `bb_alloc`, `bb_handle` | the `dapr` imports |
//! | `http` | `http` | the same | Dapr's HTTP API over the `http` import ([`http_api`]) |
//! | `middleware` | `middleware` | `handle_request`, `handle_response` (http-wasm) | nowhere: `NOT_PERMITTED` |
//! | `command` | `command` | `_start` (a WASI command) | nowhere: `NOT_PERMITTED` |
//! | `component` | `component` | `wasi:http/incoming-handler` (a `wasi:http/proxy` component, `wasm32-wasip2`) | Dapr's HTTP API over `wasi:http/outgoing-handler` ([`component`]) |
//!
//! Outside `wasm32` (tests, the harness's native mode) no exports are
//! emitted: the workload crate is an rlib whose `handle` the host calls
//! directly, and Dapr calls go to the backend the host installed with
//! [`native::with_imports`].
//!
//! The ABI v1 exports:
//!
//! - `bb_abi_version() -> i32` returns [`ABI_VERSION`];
//! - `bb_alloc(len) -> ptr` hands out a zeroed buffer the host writes the
//!   request into. Buffers live in a per-instance arena that the next
//!   `bb_handle` empties, so a reused instance never accumulates them;
//! - `bb_handle(ptr, len) -> i64` takes the request buffer back out of the
//!   arena, runs the handler and returns the packed response:
//!
//!   ```text
//!    63                32 31 30                    0
//!   +--------------------+--+-----------------------+
//!   |  ptr (u32)         |E |  len (31 bits)        |
//!   +--------------------+--+-----------------------+
//!   ```
//!
//!   `E = 1` marks the bytes as a UTF-8 error message. The bytes are kept in
//!   the instance until the next `bb_handle`, because the host reads them
//!   after the call has returned.
//!
//! The handler reaches Dapr through the safe wrappers [`state_get`],
//! [`state_set`], [`state_delete`], [`publish`], [`invoke_binding`] and
//! [`log`], and [`update_state`] is the etag-checked read-modify-write loop
//! built on them. Imports that produce a result leave it in the host's result slot
//! and return its size; the wrappers then copy it out with `take_result` into
//! a buffer of exactly that size. A state result is laid out as
//! `etag_len: u32 LE`, the etag, then the value.
//!
//! A workload that calls none of the wrappers imports nothing from `dapr`
//! (the linker drops imports nothing calls), so it can run on hosts
//! without Dapr access.

#[cfg(any(
    all(feature = "http", feature = "middleware"),
    all(feature = "http", feature = "command"),
    all(feature = "http", feature = "component"),
    all(feature = "middleware", feature = "command"),
    all(feature = "middleware", feature = "component"),
    all(feature = "command", feature = "component"),
))]
compile_error!("the flavour features `http`, `middleware`, `command` and `component` exclude each other");

pub mod abi;
#[cfg(all(target_arch = "wasm32", feature = "command"))]
pub mod command;
#[cfg(all(target_arch = "wasm32", feature = "component"))]
pub mod component;
mod dapr;
pub mod http_api;
pub mod json;
#[cfg(all(target_arch = "wasm32", feature = "middleware"))]
pub mod middleware;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;
pub mod raw;

pub use dapr::{
    Concurrency, Error, LogLevel, StateEntry, UPDATE_ATTEMPTS, invoke_binding, log, publish, state_delete,
    state_get, state_get_bulk, state_set, update_state,
};

/// The ABI version this crate implements; `bb_abi_version` returns it.
pub const ABI_VERSION: i32 = 1;

/// Emits the module's exports for the flavour being built around a handler
/// `fn(&[u8]) -> Result<Vec<u8>, String>`; nothing outside `wasm32`.
///
/// `Ok` bytes are the response; `Err` is a guest error with that message.
/// Invoke it exactly once, in the workload's crate.
///
/// ```ignore
/// pub fn handle(input: &[u8]) -> Result<Vec<u8>, String> {
///     Ok(input.to_vec())
/// }
/// blueprint_guest::workload!(handle);
/// ```
#[macro_export]
macro_rules! workload {
    ($handler:path) => {
        // The exports live in the workload crate rather than in this library,
        // so that the `cdylib` exports them whatever the linker keeps of an
        // upstream rlib. Which exports is decided by `__exports!`, whose
        // definition depends on this crate's features (a `cfg` written here
        // would test the workload crate's features instead).
        #[cfg(target_arch = "wasm32")]
        $crate::__exports!($handler);
    };
}

/// The `embedded` and `http` exports: guest ABI v1.
#[cfg(not(any(feature = "middleware", feature = "command", feature = "component")))]
#[doc(hidden)]
#[macro_export]
macro_rules! __exports {
    ($handler:path) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn bb_abi_version() -> i32 {
            $crate::ABI_VERSION
        }

        #[unsafe(no_mangle)]
        pub extern "C" fn bb_alloc(len: i32) -> i32 {
            $crate::abi::alloc(len)
        }

        #[unsafe(no_mangle)]
        pub extern "C" fn bb_handle(ptr: i32, len: i32) -> i64 {
            $crate::abi::handle(ptr, len, $handler)
        }
    };
}

/// The `middleware` exports: an http-wasm guest.
#[cfg(feature = "middleware")]
#[doc(hidden)]
#[macro_export]
macro_rules! __exports {
    ($handler:path) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn handle_request() -> i64 {
            $crate::middleware::handle_request(env!("CARGO_PKG_NAME"), $handler)
        }

        #[unsafe(no_mangle)]
        pub extern "C" fn handle_response(req_ctx: i32, is_error: i32) {
            $crate::middleware::handle_response(req_ctx, is_error)
        }
    };
}

/// The `component` export: `wasi:http/incoming-handler`, the one export of
/// a `wasi:http/proxy` component.
#[cfg(feature = "component")]
#[doc(hidden)]
#[macro_export]
macro_rules! __exports {
    ($handler:path) => {
        struct __BlueprintComponent;

        impl $crate::component::Guest for __BlueprintComponent {
            fn handle(request: $crate::component::IncomingRequest, out: $crate::component::ResponseOutparam) {
                $crate::component::serve(request, out, $handler)
            }
        }

        $crate::component::wasip2::http::proxy::export!(
            __BlueprintComponent with_types_in $crate::component::wasip2
        );
    };
}

/// The `command` export: `_start`, a WASI command's entry point.
#[cfg(feature = "command")]
#[doc(hidden)]
#[macro_export]
macro_rules! __exports {
    ($handler:path) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn _start() {
            $crate::command::run($handler)
        }
    };
}
