//! The ABI v1 exports (`bb_abi_version`, `bb_alloc`, `bb_handle`) from the
//! Rust guest library (`workloads/rust/guest`), around a handler that runs
//! the workload in this instance's engine. The arena, the packed response
//! and their limits are that library's, so both languages answer alike.

use std::cell::RefCell;

use crate::engine::Engine;

thread_local! {
    /// The engine, started by the first `bb_handle`.
    static ENGINE: RefCell<Option<Result<Engine, String>>> = const { RefCell::new(None) };
}

/// Runs the workload on one request; a failed start is every call's error.
pub fn handle(request: &[u8]) -> Result<Vec<u8>, String> {
    ENGINE.with_borrow_mut(|engine| match engine.get_or_insert_with(Engine::new) {
        Ok(engine) => engine.call(request),
        Err(start) => Err(start.clone()),
    })
}

blueprint_guest::workload!(handle);
