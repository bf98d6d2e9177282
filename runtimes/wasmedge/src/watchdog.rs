//! The call time limit: a watchdog thread that stops executors whose call ran
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
//! One ticker thread per runtime, like Wasmtime's epoch ticker and the Wasmer
//! adapter's watchdog: it wakes every [`TICK`] and scans the calls in flight
//! (a short `Vec` under a mutex that a call takes twice: to arm and to
//! disarm). Stops are only ever requested while the call is armed, under the
//! same lock that disarming takes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::thread;
use std::time::{Duration, Instant};

use crate::engine::ExecutorSlot;

/// How often the watchdog checks deadlines; the limit is enforced to about
/// this precision (the same as the other adapters in this project).
pub(crate) const TICK: Duration = Duration::from_millis(5);

struct Armed {
    id: u64,
    deadline: Instant,
    slot: Arc<ExecutorSlot>,
    fired: bool,
}

#[derive(Default)]
struct Shared {
    calls: Mutex<Vec<Armed>>,
    next_id: AtomicU64,
}

impl Shared {
    fn calls(&self) -> std::sync::MutexGuard<'_, Vec<Armed>> {
        // The lock only guards plain pushes, removals and flag updates; a
        // panic elsewhere cannot leave the list inconsistent.
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Owner of the ticker thread; the thread ends when this is dropped.
pub(crate) struct Watchdog {
    shared: Arc<Shared>,
}

impl Watchdog {
    /// Starts the ticker thread.
    pub(crate) fn start() -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let weak: Weak<Shared> = Arc::downgrade(&shared);
        thread::Builder::new()
            .name("wasmedge-watchdog".into())
            .spawn(move || {
                loop {
                    thread::sleep(TICK);
                    let Some(shared) = weak.upgrade() else { break };
                    let now = Instant::now();
                    for call in shared
                        .calls()
                        .iter_mut()
                        .filter(|c| !c.fired && c.deadline <= now)
                    {
                        // Once is enough: the flag stays set until the
                        // interpreter sees it.
                        call.slot.request_stop();
                        call.fired = true;
                    }
                }
            })?;
        Ok(Self { shared })
    }

    /// A handle that arms the watchdog for calls.
    pub(crate) fn handle(&self) -> WatchdogHandle {
        WatchdogHandle {
            shared: self.shared.clone(),
        }
    }
}

/// What a module or instance keeps to arm the watchdog around its calls.
#[derive(Clone)]
pub(crate) struct WatchdogHandle {
    shared: Arc<Shared>,
}

impl WatchdogHandle {
    /// Stops `slot`'s executor once `timeout` has passed, until the returned
    /// guard is dropped.
    pub(crate) fn arm(&self, slot: &Arc<ExecutorSlot>, timeout: Duration) -> ArmGuard {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        // A timeout too large for `Instant` means no limit at all.
        if let Some(deadline) = Instant::now().checked_add(timeout) {
            self.shared.calls().push(Armed {
                id,
                deadline,
                slot: slot.clone(),
                fired: false,
            });
        }
        ArmGuard {
            shared: self.shared.clone(),
            slot: slot.clone(),
            id,
        }
    }
}

/// Disarms the watchdog for one call when dropped, and clears a stop that
/// fired so the executor's next call is not interrupted by it.
pub(crate) struct ArmGuard {
    shared: Arc<Shared>,
    slot: Arc<ExecutorSlot>,
    id: u64,
}

impl Drop for ArmGuard {
    fn drop(&mut self) {
        let fired = {
            let mut calls = self.shared.calls();
            match calls.iter().position(|c| c.id == self.id) {
                Some(pos) => calls.swap_remove(pos).fired,
                None => false,
            }
        };
        if fired {
            self.slot.clear_stop();
        }
    }
}
