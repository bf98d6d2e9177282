//! The call time limit: a watchdog thread that interrupts stores whose call
//! ran past its deadline.
//!
//! Wasmer has no epochs. What it does have (behind the
//! `experimental-host-interrupt` feature, Unix only) is
//! [`wasmer::Store::interrupter`]: [`Interrupter::interrupt`] sends `SIGUSR1`
//! to the thread running the store, and Wasmer's signal handler unwinds the
//! Wasm code with a `HostInterrupt` trap. That is a real interruption of
//! running machine code, so no instruction counting is needed and the limit is
//! wall-clock time, as on the other runtimes.
//!
//! Wasmer documents the interrupt as best effort: a signal that arrives while
//! the thread is not executing Wasm code of that store (entering a call, inside
//! a libcall such as `memory.grow`) can be missed. An interrupt that arrives
//! while an imported host function runs is recorded and takes effect when the
//! import returns. So the watchdog keeps re-sending the interrupt on every
//! tick after the deadline until the call ends, which bounds the overrun by
//! about one tick plus signal latency. A host import that blocks (a Dapr call)
//! is not cut short: its own timeout bounds it, and the guest is stopped as
//! soon as it returns.
//!
//! Interrupts are only ever sent while the call's [`ArmGuard`] is alive, that
//! is after its deadline and before `handle` returns; a signal that reaches
//! the thread once it has left Wasm code is ignored by Wasmer's handler.
//!
//! One ticker thread per runtime, like Wasmtime's epoch ticker: it wakes every
//! [`TICK`] and scans the calls in flight (a short `Vec` under a mutex that a
//! call takes twice: to arm and to disarm).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::thread;
use std::time::{Duration, Instant};

use wasmer::Interrupter;

/// How often the watchdog checks deadlines; the limit is enforced to about
/// this precision (the same as Wasmtime's epoch tick in this project).
pub(crate) const TICK: Duration = Duration::from_millis(5);

struct Armed {
    id: u64,
    deadline: Instant,
    interrupter: Interrupter,
}

#[derive(Default)]
struct Shared {
    calls: Mutex<Vec<Armed>>,
    next_id: AtomicU64,
}

impl Shared {
    fn calls(&self) -> std::sync::MutexGuard<'_, Vec<Armed>> {
        // The lock only guards plain pushes and removals; a panic elsewhere
        // cannot leave the list inconsistent.
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
            .name("wasmer-watchdog".into())
            .spawn(move || {
                loop {
                    thread::sleep(TICK);
                    let Some(shared) = weak.upgrade() else { break };
                    let now = Instant::now();
                    for call in shared.calls().iter().filter(|c| c.deadline <= now) {
                        // Re-sent on every tick until the call disarms: a
                        // signal can be missed (see the module docs).
                        call.interrupter.interrupt();
                    }
                }
            })?;
        Ok(Self { shared })
    }

    /// A handle that arms the watchdog for calls into one store.
    pub(crate) fn handle(&self) -> WatchdogHandle {
        WatchdogHandle {
            shared: self.shared.clone(),
        }
    }
}

/// What an instance keeps to arm the watchdog around its calls.
#[derive(Clone)]
pub(crate) struct WatchdogHandle {
    shared: Arc<Shared>,
}

impl WatchdogHandle {
    /// Interrupts `interrupter`'s store once `timeout` has passed, until the
    /// returned guard is dropped.
    pub(crate) fn arm(&self, interrupter: &Interrupter, timeout: Duration) -> ArmGuard {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        // A timeout too large for `Instant` means no limit at all.
        if let Some(deadline) = Instant::now().checked_add(timeout) {
            self.shared.calls().push(Armed {
                id,
                deadline,
                interrupter: interrupter.clone(),
            });
        }
        ArmGuard {
            shared: self.shared.clone(),
            id,
        }
    }
}

/// Disarms the watchdog for one call when dropped.
pub(crate) struct ArmGuard {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for ArmGuard {
    fn drop(&mut self) {
        let mut calls = self.shared.calls();
        if let Some(pos) = calls.iter().position(|c| c.id == self.id) {
            calls.swap_remove(pos);
        }
    }
}
