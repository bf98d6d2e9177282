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
//! ends. That bounds the overrun by about two ticks plus signal latency: the
//! first look past the deadline only reads the thread's CPU clock (see
//! below), the next may signal. A
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
//! only sent to a guest that is not inside an import, has entered none since
//! the watchdog's previous tick, and has used at least [`MIN_RUN`] of CPU
//! time since then: one that runs Wasm code only. It is never sent once an
//! import has ended the call, since the guest is then leaving through
//! Wasmer's trap path (a descheduled thread can sit there across a tick,
//! which aborted a busy CI run).
//!
//! The CPU time is what makes "no import since the last tick" mean "ran Wasm
//! code": a thread descheduled inside Wasmer's trampoline (before or after
//! one of our imports) enters no import for as long as it waits, and on a
//! busy machine that is often longer than a tick. Signalled there, it
//! panicked with the store context's `RefCell` borrowed (three guests
//! calling `fd_write` in a loop beside three busy processes: 16 runs in 40
//! aborted). A trampoline takes microseconds of CPU, so a thread that used a
//! millisecond of it without entering an import spent it in Wasm code. What
//! remains is a guest that, after at least that much pure Wasm code, is
//! inside a trampoline's first microseconds at the moment of the look and
//! still there when the signal arrives.
//!
//! Interrupts are only ever sent while the call's
//! [`ArmGuard`](blueprint_runtime_api::watchdog::ArmGuard) is alive, that
//! is after its deadline and before `handle` returns; a signal that reaches
//! the thread once it has left Wasm code is ignored by Wasmer's handler.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

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

/// The CPU time a call's thread must have used since the watchdog's previous
/// tick, without entering an import, before it may be signalled (module
/// docs): a fifth of a tick, hundreds of times what a trampoline takes.
const MIN_RUN: Duration = Duration::from_millis(1);

/// `cpu_seen` until the watchdog's first look at a call: that look only
/// takes the baseline. Reading the clock when the call is armed instead
/// would put a system call (about half a microsecond on the 2-core test
/// machine) on every call, not just on the late ones.
const NO_LOOK_YET: u64 = u64::MAX;

/// What one store's imports and the watchdog share (module docs).
#[derive(Debug, Default)]
pub(crate) struct ImportGate {
    /// Imports entered so far.
    entered: AtomicU64,
    /// `entered` as the watchdog saw it on its previous tick.
    seen: AtomicU64,
    /// The CPU time (ns) of the thread running the call, as the watchdog saw
    /// it on its previous tick ([`NO_LOOK_YET`] since the call was armed).
    cpu_seen: AtomicU64,
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

    /// Whether a signal may be sent now, given the CPU time (ns) the call's
    /// thread has used so far (`None`: unknown): no import is running, none
    /// was entered since the previous look, the thread has run at least
    /// [`MIN_RUN`] since then, and no import has already ended the call (the
    /// guest would be in Wasmer's exit path, not in Wasm code).
    fn quiet(&self, cpu_ns: Option<u64>) -> bool {
        let entered = self.entered.load(Ordering::SeqCst);
        let unchanged = self.seen.swap(entered, Ordering::SeqCst) == entered;
        // Without a CPU clock (not seen on Linux) the gate falls back to the
        // import count alone rather than never stopping a pure Wasm loop.
        // After `NO_LOOK_YET` the difference saturates to 0: not yet.
        let ran = cpu_ns.is_none_or(|now| {
            let before = self.cpu_seen.swap(now, Ordering::SeqCst);
            now.saturating_sub(before) >= MIN_RUN.as_nanos() as u64
        });
        unchanged && ran && !self.inside.load(Ordering::SeqCst) && !self.ending.load(Ordering::SeqCst)
    }
}

/// The CPU clock of one thread, readable from any other while that thread
/// lives (its `CLOCK_THREAD_CPUTIME_ID` seen from outside).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ThreadCpuClock(libc::clockid_t);

impl ThreadCpuClock {
    /// The calling thread's clock, if the system gives one.
    fn of_this_thread() -> Option<Self> {
        let mut clock: libc::clockid_t = 0;
        // SAFETY: `pthread_self` is always a live thread of this process and
        // `clock` is a valid place to write the id.
        let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) };
        (rc == 0).then_some(Self(clock))
    }

    /// The CPU time the thread has used, in ns; `None` if it has ended.
    fn now_ns(self) -> Option<u64> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid place to write the time; the clock of a
        // thread that has ended gives an error, not undefined behaviour.
        let rc = unsafe { libc::clock_gettime(self.0, &mut ts) };
        (rc == 0).then(|| (ts.tv_sec as u64).saturating_mul(1_000_000_000) + ts.tv_nsec as u64)
    }
}

/// Stops one store's call: through its imports, or by interrupting the thread
/// running it when it runs Wasm code only (module docs).
#[derive(Clone)]
pub(crate) struct Interrupt {
    interrupter: Interrupter,
    gate: Arc<ImportGate>,
    /// The CPU clock of the thread that runs the call.
    clock: Option<ThreadCpuClock>,
}

impl Interrupt {
    /// What stops a call that is about to run on the calling thread. Made
    /// for each call, just before it is armed: an instance may serve its
    /// calls from different threads.
    pub(crate) fn for_call_on_this_thread(interrupter: Interrupter, gate: Arc<ImportGate>) -> Self {
        gate.cpu_seen.store(NO_LOOK_YET, Ordering::SeqCst);
        Self {
            interrupter,
            gate,
            clock: ThreadCpuClock::of_this_thread(),
        }
    }

    /// The same stop for the store's next call, on the calling thread.
    pub(crate) fn for_next_call_on_this_thread(&self) -> Self {
        Self::for_call_on_this_thread(self.interrupter.clone(), self.gate.clone())
    }
}

impl blueprint_runtime_api::watchdog::Stop for Interrupt {
    // A signal can be missed, or held back while the guest is in host code.
    const REPEAT: bool = true;

    fn stop(&self) {
        self.gate.late.store(true, Ordering::SeqCst);
        // Stops are only sent while the call is armed, so its thread lives.
        let cpu_ns = self.clock.and_then(ThreadCpuClock::now_ns);
        if self.gate.quiet(cpu_ns) {
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

    /// CPU times (ns) a tick apart: `RAN` is a thread that ran Wasm code
    /// for the whole tick, `STILL` one that did not run at all.
    const RAN: u64 = 5_000_000;
    const STILL: u64 = 10_000;

    #[test]
    fn no_signal_once_an_import_has_ended_the_call() {
        // The guest leaves through Wasmer's trap path however long that
        // takes (a descheduled thread may sit there for ticks); a signal
        // there would unwind Wasmer's own code.
        let gate = ImportGate::default();
        gate.late.store(true, Ordering::SeqCst);
        assert_eq!(gate.run(|| ()), Err(DeadlineReached));
        assert!(!gate.quiet(Some(RAN)));
        assert!(!gate.quiet(Some(2 * RAN)), "still not, a tick later");
        gate.late.store(false, Ordering::SeqCst);
        gate.ending.store(false, Ordering::SeqCst);
        assert!(
            gate.quiet(Some(3 * RAN)),
            "the next call may be interrupted again"
        );
    }

    #[test]
    fn the_signal_waits_for_a_tick_without_imports() {
        let gate = ImportGate::default();
        assert!(gate.quiet(Some(RAN)), "no import ever entered");
        gate.run(|| ()).unwrap();
        assert!(!gate.quiet(Some(2 * RAN)), "an import since the last look");
        assert!(gate.quiet(Some(3 * RAN)), "none since");
        gate.run(|| assert!(!gate.quiet(Some(4 * RAN)), "inside an import"))
            .unwrap();
    }

    #[test]
    fn a_thread_that_did_not_run_since_the_last_look_is_not_signalled() {
        // Descheduled in Wasmer's trampoline around an import, a thread
        // enters no import for as long as it waits: that is not Wasm code.
        let gate = ImportGate::default();
        gate.run(|| ()).unwrap();
        assert!(!gate.quiet(Some(RAN)), "an import since the last look");
        assert!(
            !gate.quiet(Some(RAN + STILL)),
            "no import, but no CPU time either"
        );
        assert!(!gate.quiet(Some(RAN + 2 * STILL)), "nor a tick later");
        assert!(
            gate.quiet(Some(2 * RAN)),
            "a tick of CPU without an import: Wasm code"
        );
    }

    #[test]
    fn the_first_look_at_a_call_only_takes_the_cpu_baseline() {
        let gate = ImportGate::default();
        gate.cpu_seen.store(NO_LOOK_YET, Ordering::SeqCst);
        assert!(!gate.quiet(Some(100 * RAN)), "no baseline yet");
        assert!(gate.quiet(Some(101 * RAN)), "a tick of CPU since the first look");
    }

    #[test]
    fn without_a_cpu_clock_the_import_count_alone_decides() {
        let gate = ImportGate::default();
        gate.run(|| ()).unwrap();
        assert!(!gate.quiet(None));
        assert!(gate.quiet(None));
    }

    #[test]
    fn a_thread_reads_its_own_cpu_time_from_another_thread() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let worker = std::thread::spawn(move || {
            let clock = ThreadCpuClock::of_this_thread().expect("a CPU clock for this thread");
            // Spin until the thread itself sees the CPU time (bounded).
            let start = std::time::Instant::now();
            while clock.now_ns().unwrap() < 2 * MIN_RUN.as_nanos() as u64 && start.elapsed().as_secs() < 10 {
                std::hint::spin_loop();
            }
            tx.send(clock).unwrap();
            done_rx.recv().unwrap();
        });
        let clock = rx.recv().unwrap();
        let used = clock.now_ns().expect("the worker is alive");
        assert!(
            used >= 2 * MIN_RUN.as_nanos() as u64,
            "the worker spun, yet used {used} ns"
        );
        done_tx.send(()).unwrap();
        worker.join().unwrap();
    }
}
