//! The call time limit: the shared watchdog
//! ([`blueprint_runtime_api::watchdog`]) stopping executors whose call ran
//! past its deadline.
//!
//! WasmEdge's interpreter checks a per-executor stop flag at every function
//! entry, branch and return, and ends the call with `Interrupted` once it is
//! set: a cooperative stop with no signals, the same mechanism its own
//! `WasmEdge_AsyncCancel` uses (see [`ExecutorSlot`] for how the adapter
//! reaches it). So a runaway loop or recursion stops within one check of the
//! deadline; a host function that blocks (a Dapr call) is not cut short, and
//! the guest stops as soon as it returns.
//!
//! The flag stays set until the interpreter consumes it. A stop that lands
//! just after the call finished would therefore end the executor's *next*
//! call; so a call whose deadline fired clears the flag before its executor
//! is used again (`ExecutorSlot::clear_stop`).
//!

use std::sync::Arc;

use blueprint_runtime_api::watchdog::Stop;

use crate::engine::ExecutorSlot;

/// The watchdog of one runtime, stopping WasmEdge executors.
pub(crate) type Watchdog = blueprint_runtime_api::watchdog::Watchdog<StopExecutor>;

/// What a module or instance keeps to arm the watchdog around its calls.
pub(crate) type WatchdogHandle = blueprint_runtime_api::watchdog::WatchdogHandle<StopExecutor>;

/// Starts the ticker thread of one runtime.
pub(crate) fn start() -> std::io::Result<Watchdog> {
    Watchdog::start("wasmedge-watchdog")
}

/// Stops the call running on one executor.
pub(crate) struct StopExecutor(pub(crate) Arc<ExecutorSlot>);

impl Stop for StopExecutor {
    // Once is enough: the flag stays set until the interpreter sees it.
    const REPEAT: bool = false;

    fn stop(&self) {
        self.0.request_stop();
    }

    fn after_stopped(&self) {
        self.0.clear_stop();
    }
}
