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
//! a libcall such as `memory.grow`) can be missed. An interrupt that arrives
//! while an imported host function runs is recorded and takes effect when the
//! import returns. So the watchdog keeps re-sending the interrupt on every
//! tick after the deadline until the call ends, which bounds the overrun by
//! about one tick plus signal latency. A host import that blocks (a Dapr call)
//! is not cut short: its own timeout bounds it, and the guest is stopped as
//! soon as it returns.
//!
//! Interrupts are only ever sent while the call's
//! [`ArmGuard`](blueprint_runtime_api::watchdog::ArmGuard) is alive, that
//! is after its deadline and before `handle` returns; a signal that reaches
//! the thread once it has left Wasm code is ignored by Wasmer's handler.

use wasmer::Interrupter;

/// The watchdog of one runtime, interrupting Wasmer stores.
pub(crate) type Watchdog = blueprint_runtime_api::watchdog::Watchdog<Interrupt>;

/// What an instance keeps to arm the watchdog around its calls.
pub(crate) type WatchdogHandle = blueprint_runtime_api::watchdog::WatchdogHandle<Interrupt>;

/// Starts the ticker thread of one runtime.
pub(crate) fn start() -> std::io::Result<Watchdog> {
    Watchdog::start("wasmer-watchdog")
}

/// Interrupts one store (the thread running it).
pub(crate) struct Interrupt(pub(crate) Interrupter);

impl blueprint_runtime_api::watchdog::Stop for Interrupt {
    // A signal can be missed (see the module docs).
    const REPEAT: bool = true;

    fn stop(&self) {
        self.0.interrupt();
    }
}
