//! The call time limit: the shared watchdog
//! ([`blueprint_runtime_api::watchdog`]) interrupting stores whose call ran
//! past its deadline.
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
//! a libcall such as `memory.grow`) can be missed. So the watchdog keeps
//! re-sending the interrupt on every tick after the deadline until the call
//! ends, which bounds the overrun by about one tick plus signal latency. A
//! host import that blocks (a Dapr call) is not cut short: its own timeout
//! bounds it, and the guest is stopped as soon as it returns.
//!
//! # Never while the guest is in host code
//!
//! Wasmer's handler unwinds whatever runs on the guest's stack when the signal
//! comes, and host functions run on that stack too: Wasmer's own trampoline
//! around each import (which borrows the store's context and locks the
//! interrupt registry) and the import itself. A signal there leaves a
//! `RefCell` borrowed or a lock held and the host aborts or hangs (a guest
//! calling `fd_write` in a loop did both). So the imports and the watchdog
//! share an [`ImportGate`]: every import of this crate runs through it, and a
//! call past its deadline is ended there, by the import returning
//! [`DeadlineReached`] (a trap Wasmer raises at a safe point). The signal is
//! only sent to a guest that is not inside an import and has entered none
//! since the watchdog's previous tick: one that runs Wasm code only; and
//! never once an import has ended the call, since the guest is then leaving
//! through Wasmer's trap path (a descheduled thread can sit there across a
//! tick, which aborted a busy CI run). What remains is a guest that, after
//! at least a tick of pure Wasm code, enters an import in the microseconds
//! between the watchdog's look and the signal.
//!
//! Interrupts are only ever sent while the call's
//! [`ArmGuard`](blueprint_runtime_api::watchdog::ArmGuard) is alive, that
//! is after its deadline and before `handle` returns; a signal that reaches
//! the thread once it has left Wasm code is ignored by Wasmer's handler.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use blueprint_runtime_api::wasi::DeadlineReached;
use wasmer::Interrupter;

/// The watchdog of one runtime, interrupting Wasmer stores.
pub(crate) type Watchdog = blueprint_runtime_api::watchdog::Watchdog<Interrupt>;

/// What an instance keeps to arm the watchdog around its calls.
pub(crate) type WatchdogHandle = blueprint_runtime_api::watchdog::WatchdogHandle<Interrupt>;

/// Starts the ticker thread of one runtime.
pub(crate) fn start() -> std::io::Result<Watchdog> {
    Watchdog::start("wasmer-watchdog")
}

/// What one store's imports and the watchdog share (module docs).
#[derive(Debug, Default)]
pub(crate) struct ImportGate {
    /// Imports entered so far.
    entered: AtomicU64,
    /// `entered` as the watchdog saw it on its previous tick.
    seen: AtomicU64,
    /// An import of this store is running.
    inside: AtomicBool,
    /// The call in progress is past its deadline.
    late: AtomicBool,
    /// An import ended the late call: the guest is unwinding through
    /// Wasmer's own code (its trap and exit path borrow the store's
    /// context), where a signal must never land.
    ending: AtomicBool,
}

impl ImportGate {
    /// Runs one import's `body`, unless the call is past its deadline, in
    /// which case the import ends the call as a time-out (checked before and
    /// after `body`, so a long host call ends the guest as soon as it returns).
    ///
    /// # Errors
    /// [`DeadlineReached`]: the call ran past its time limit.
    pub(crate) fn run<R>(&self, body: impl FnOnce() -> R) -> Result<R, DeadlineReached> {
        self.inside.store(true, Ordering::SeqCst);
        self.entered.fetch_add(1, Ordering::SeqCst);
        let result = if self.late.load(Ordering::SeqCst) {
            Err(DeadlineReached)
        } else {
            let value = body();
            if self.late.load(Ordering::SeqCst) {
                Err(DeadlineReached)
            } else {
                Ok(value)
            }
        };
        if result.is_err() {
            self.ending.store(true, Ordering::SeqCst);
        }
        self.inside.store(false, Ordering::SeqCst);
        result
    }

    /// Whether a signal may be sent now: no import is running, none was
    /// entered since the previous look, and none has already ended the call
    /// (the guest would be in Wasmer's exit path, not in Wasm code).
    fn quiet(&self) -> bool {
        let entered = self.entered.load(Ordering::SeqCst);
        let unchanged = self.seen.swap(entered, Ordering::SeqCst) == entered;
        unchanged && !self.inside.load(Ordering::SeqCst) && !self.ending.load(Ordering::SeqCst)
    }
}

/// Stops one store's call: through its imports, or by interrupting the thread
/// running it when it runs Wasm code only (module docs).
#[derive(Clone)]
pub(crate) struct Interrupt {
    pub(crate) interrupter: Interrupter,
    pub(crate) gate: Arc<ImportGate>,
}

impl blueprint_runtime_api::watchdog::Stop for Interrupt {
    // A signal can be missed, or held back while the guest is in host code.
    const REPEAT: bool = true;

    fn stop(&self) {
        self.gate.late.store(true, Ordering::SeqCst);
        if self.gate.quiet() {
            self.interrupter.interrupt();
        }
    }

    fn after_stopped(&self) {
        self.gate.late.store(false, Ordering::SeqCst);
        self.gate.ending.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_call_ends_in_its_next_import_and_the_next_call_is_not_late() {
        let gate = ImportGate::default();
        assert_eq!(gate.run(|| 7), Ok(7));
        gate.late.store(true, Ordering::SeqCst);
        assert_eq!(gate.run(|| 7), Err(DeadlineReached));
        gate.late.store(false, Ordering::SeqCst);
        assert_eq!(gate.run(|| 7), Ok(7));
    }

    #[test]
    fn an_import_that_returns_past_the_deadline_ends_the_call() {
        let gate = ImportGate::default();
        let body = || gate.late.store(true, Ordering::SeqCst);
        assert_eq!(gate.run(body), Err(DeadlineReached));
    }

    #[test]
    fn no_signal_once_an_import_has_ended_the_call() {
        // The guest leaves through Wasmer's trap path however long that
        // takes (a descheduled thread may sit there for ticks); a signal
        // there would unwind Wasmer's own code.
        let gate = ImportGate::default();
        gate.late.store(true, Ordering::SeqCst);
        assert_eq!(gate.run(|| ()), Err(DeadlineReached));
        assert!(!gate.quiet());
        assert!(!gate.quiet(), "still not, a tick later");
        gate.late.store(false, Ordering::SeqCst);
        gate.ending.store(false, Ordering::SeqCst);
        assert!(gate.quiet(), "the next call may be interrupted again");
    }

    #[test]
    fn the_signal_waits_for_a_tick_without_imports() {
        let gate = ImportGate::default();
        assert!(gate.quiet(), "no import ever entered");
        gate.run(|| ()).unwrap();
        assert!(!gate.quiet(), "an import since the last look");
        assert!(gate.quiet(), "none since");
        gate.run(|| assert!(!gate.quiet(), "inside an import")).unwrap();
    }
}
