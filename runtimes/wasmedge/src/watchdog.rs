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

use std::ptr;
use std::sync::Arc;

use blueprint_runtime_api::watchdog::Stop;
use wasmedge_sys::ffi;

use crate::ffi::{
    AsyncCall, Config, Executor, FunctionInstance, FunctionType, check, invoke, noop_host_function,
};

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

/// One executor and the means to stop a call running on it.
///
/// WasmEdge's `Executor::stop()` sets a flag that the interpreter checks at
/// every function entry, branch and return. The C API reaches it only
/// through `WasmEdge_AsyncCancel`, whose `WasmEdge_Async` remembers the
/// executor it was started on. So each slot starts one asynchronous call of a
/// host function that does nothing, waits for it, and keeps the finished
/// `WasmEdge_Async` as its stop handle: cancelling it stops whatever call
/// runs on this executor at that moment.
///
/// The flag is per executor, so an executor serves one instance at a time
/// (slots are leased from a pool); it stays set until the interpreter sees
/// it, which [`ExecutorSlot::clear_stop`] makes happen on purpose.
pub(crate) struct ExecutorSlot {
    // Dropped in this order: the stop handle refers to the executor.
    stop: AsyncCall,
    noop: FunctionInstance,
    pub(crate) executor: Executor,
}

// SAFETY: an executor's calls come from the one instance that leases it, one
// at a time (`Instance::handle` takes `&mut self`); the only cross-thread use
// is `request_stop` from the watchdog, which sets an atomic flag (WasmEdge
// made it for exactly that: cancelling a call from another thread).
unsafe impl Send for ExecutorSlot {}
unsafe impl Sync for ExecutorSlot {}

impl ExecutorSlot {
    pub(crate) fn new(config: &Config, noop_type: &FunctionType) -> Result<Self, String> {
        // SAFETY: plain C API constructors on live contexts; the async call
        // is waited for before the slot is used.
        unsafe {
            let executor = Executor::from_raw(ffi::WasmEdge_ExecutorCreate(config.as_ptr(), ptr::null_mut()))
                .ok_or("WasmEdge_ExecutorCreate failed")?;
            let noop = FunctionInstance::from_raw(ffi::WasmEdge_FunctionInstanceCreate(
                noop_type.as_ptr(),
                Some(noop_host_function),
                ptr::null_mut(),
                0,
            ))
            .ok_or("WasmEdge_FunctionInstanceCreate failed")?;
            let stop = AsyncCall::from_raw(ffi::WasmEdge_ExecutorAsyncInvoke(
                executor.as_ptr(),
                noop.as_ptr(),
                ptr::null(),
                0,
            ))
            .ok_or("WasmEdge_ExecutorAsyncInvoke failed")?;
            ffi::WasmEdge_AsyncWait(stop.as_ptr());
            check(ffi::WasmEdge_AsyncGet(stop.as_ptr(), ptr::null_mut(), 0))
                .map_err(|f| format!("preparing the stop handle: {f}"))?;
            Ok(Self { stop, noop, executor })
        }
    }

    /// Asks the call running on this executor (if any) to stop.
    pub(crate) fn request_stop(&self) {
        // SAFETY: the handle is live; cancelling only sets the executor's
        // atomic stop flag and wakes `memory.atomic.wait`ers.
        unsafe { ffi::WasmEdge_AsyncCancel(self.stop.as_ptr()) }
    }

    /// Consumes a stop flag left set after a call ended on its own: the
    /// interpreter checks (and clears) it on entering any function, so
    /// calling the no-op host function clears it either way.
    pub(crate) fn clear_stop(&self) {
        // SAFETY: called by the leasing instance between its calls.
        let _ = unsafe { invoke(&self.executor, self.noop.as_ptr(), &[], &mut []) };
    }
}
