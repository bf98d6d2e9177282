//! The call time limit for engines without a timer of their own: a watchdog
//! thread that stops calls whose deadline has passed.
//!
//! An adapter arms the watchdog around each call with something that can stop
//! that call (its [`Stop`]): a signal to the thread running the store
//! (Wasmer), a flag the interpreter checks (WasmEdge). What the stop does and
//! how exact it is belongs to the adapter; this module only keeps the
//! deadlines.
//!
//! One ticker thread per runtime, like Wasmtime's epoch ticker: it wakes every
//! [`TICK`] and scans the calls in flight (a short `Vec` under a mutex that a
//! call takes twice: to arm and to disarm). Stops are only ever requested
//! while the call is armed, under the same lock that disarming takes, so a
//! stop never lands on a call that already ended its [`ArmGuard`]. The thread
//! ends once the [`Watchdog`] and every [`WatchdogHandle`] are gone, so a
//! module that outlives its runtime keeps its time limit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::thread;
use std::time::{Duration, Instant};

/// How often the watchdog checks deadlines; the limit is enforced to about
/// this precision (the same as Wasmtime's epoch tick in this project).
pub const TICK: Duration = Duration::from_millis(5);

/// How to stop one call that ran past its deadline.
pub trait Stop: Send + 'static {
    /// Whether [`Stop::stop`] is sent again on every tick until the call
    /// ends (for a stop that can be missed, such as a signal), or only once
    /// (for one that stays in effect until the engine sees it).
    const REPEAT: bool;

    /// Asks the call to stop. Runs on the watchdog thread, under its lock:
    /// it must not block.
    fn stop(&self);

    /// Runs when a call whose stop was sent is disarmed, on the calling
    /// thread: the place to clear a stop that the engine may not have
    /// consumed, so it cannot end the next call.
    fn after_stopped(&self) {}
}

struct Armed<S> {
    id: u64,
    deadline: Instant,
    stop: S,
    sent: bool,
}

struct Shared<S> {
    calls: Mutex<Vec<Armed<S>>>,
    next_id: AtomicU64,
}

impl<S> Shared<S> {
    fn calls(&self) -> MutexGuard<'_, Vec<Armed<S>>> {
        // The lock only guards plain pushes, removals and flag updates; a
        // panic elsewhere cannot leave the list inconsistent.
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Owner of the ticker thread.
pub struct Watchdog<S: Stop> {
    shared: Arc<Shared<S>>,
}

impl<S: Stop> Watchdog<S> {
    /// Starts the ticker thread, named `name` (e.g. `wasmer-watchdog`).
    ///
    /// # Errors
    /// The thread could not be spawned.
    pub fn start(name: &str) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            calls: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
        });
        let weak: Weak<Shared<S>> = Arc::downgrade(&shared);
        thread::Builder::new().name(name.into()).spawn(move || {
            loop {
                thread::sleep(TICK);
                let Some(shared) = weak.upgrade() else { break };
                let now = Instant::now();
                for call in shared
                    .calls()
                    .iter_mut()
                    .filter(|c| c.deadline <= now && (S::REPEAT || !c.sent))
                {
                    call.stop.stop();
                    call.sent = true;
                }
            }
        })?;
        Ok(Self { shared })
    }

    /// A handle that arms the watchdog for calls.
    pub fn handle(&self) -> WatchdogHandle<S> {
        WatchdogHandle {
            shared: self.shared.clone(),
        }
    }
}

/// What a module or instance keeps to arm the watchdog around its calls.
pub struct WatchdogHandle<S: Stop> {
    shared: Arc<Shared<S>>,
}

impl<S: Stop> Clone for WatchdogHandle<S> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<S: Stop> WatchdogHandle<S> {
    /// Sends `stop` once `timeout` has passed, until the returned guard is
    /// dropped. A timeout too large for [`Instant`] means no limit at all.
    pub fn arm(&self, stop: S, timeout: Duration) -> ArmGuard<S> {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        if let Some(deadline) = Instant::now().checked_add(timeout) {
            self.shared.calls().push(Armed {
                id,
                deadline,
                stop,
                sent: false,
            });
        }
        ArmGuard {
            shared: self.shared.clone(),
            id,
        }
    }
}

/// Disarms the watchdog for one call when dropped (and runs
/// [`Stop::after_stopped`] if its stop was sent).
pub struct ArmGuard<S: Stop> {
    shared: Arc<Shared<S>>,
    id: u64,
}

impl<S: Stop> Drop for ArmGuard<S> {
    fn drop(&mut self) {
        let removed = {
            let mut calls = self.shared.calls();
            calls
                .iter()
                .position(|c| c.id == self.id)
                .map(|pos| calls.swap_remove(pos))
        };
        if let Some(call) = removed.filter(|c| c.sent) {
            call.stop.after_stopped();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[derive(Clone, Default)]
    struct Count<const REPEAT: bool> {
        stops: Arc<AtomicUsize>,
        cleared: Arc<AtomicUsize>,
    }

    impl<const R: bool> Stop for Count<R> {
        const REPEAT: bool = R;
        fn stop(&self) {
            self.stops.fetch_add(1, Ordering::SeqCst);
        }
        fn after_stopped(&self) {
            self.cleared.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_call_within_its_deadline_is_never_stopped() {
        let dog = Watchdog::<Count<true>>::start("test-watchdog").unwrap();
        let count = Count::default();
        drop(dog.handle().arm(count.clone(), Duration::from_secs(60)));
        thread::sleep(TICK * 4);
        assert_eq!(count.stops.load(Ordering::SeqCst), 0);
        assert_eq!(count.cleared.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_late_call_is_stopped_repeatedly_or_once_then_cleared() {
        let repeat = Count::<true>::default();
        let once = Count::<false>::default();
        let dog_r = Watchdog::start("test-watchdog-r").unwrap();
        let dog_o = Watchdog::start("test-watchdog-o").unwrap();
        let guard_r = dog_r.handle().arm(repeat.clone(), Duration::from_millis(1));
        let guard_o = dog_o.handle().arm(once.clone(), Duration::from_millis(1));
        thread::sleep(TICK * 10);
        assert!(repeat.stops.load(Ordering::SeqCst) >= 2, "repeated");
        assert_eq!(once.stops.load(Ordering::SeqCst), 1, "once");
        drop((guard_r, guard_o));
        assert_eq!(repeat.cleared.load(Ordering::SeqCst), 1);
        assert_eq!(once.cleared.load(Ordering::SeqCst), 1);
        let after = repeat.stops.load(Ordering::SeqCst);
        thread::sleep(TICK * 4);
        assert_eq!(repeat.stops.load(Ordering::SeqCst), after, "disarmed");
    }

    #[test]
    fn handles_keep_the_ticker_alive_after_the_watchdog_is_dropped() {
        let dog = Watchdog::<Count<false>>::start("test-watchdog-h").unwrap();
        let handle = dog.handle();
        drop(dog);
        let count = Count::default();
        let _guard = handle.arm(count.clone(), Duration::from_millis(1));
        thread::sleep(TICK * 10);
        assert_eq!(count.stops.load(Ordering::SeqCst), 1);
    }
}
