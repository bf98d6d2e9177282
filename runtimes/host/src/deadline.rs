//! The guest call's deadline, seen from its host calls.
//!
//! Guests call `dapr` and `http` imports synchronously, on the thread that
//! runs the guest, so the deadline of the request being served lives in a
//! thread-local set around the guest call: every host call bounds itself by
//! the time the request has left, and notes when it ran out, so the reply is
//! `504 timeout` (`runtimes/HOST.md`) rather than whatever the guest made of
//! the UNAVAILABLE it got.

use std::cell::Cell;
use std::time::{Duration, Instant};

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    static EXPIRED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` (a guest call) under `deadline`; the flag says whether a host
/// call inside it ran out of time.
pub fn run_with<T>(deadline: Instant, f: impl FnOnce() -> T) -> (T, bool) {
    let outer = DEADLINE.replace(Some(deadline));
    let outer_expired = EXPIRED.replace(false);
    let out = f();
    let expired = EXPIRED.replace(outer_expired);
    DEADLINE.set(outer);
    (out, expired)
}

/// Time left for the guest call on this thread; `None` outside one.
pub fn remaining() -> Option<Duration> {
    DEADLINE
        .get()
        .map(|d| d.saturating_duration_since(Instant::now()))
}

/// Records that a host call gave up because the guest call's time was up
/// (a no-op when there is still time: that was the host call's own bound).
pub fn note_expired_if_due() {
    if remaining().is_some_and(|left| left.is_zero()) {
        EXPIRED.set(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_calls_see_the_time_left_and_only_a_real_expiry_is_noted() {
        assert_eq!(remaining(), None);
        let (left, expired) = run_with(Instant::now() + Duration::from_secs(60), || {
            note_expired_if_due();
            remaining().unwrap()
        });
        assert!(left > Duration::from_secs(59) && !expired);
        let ((), expired) = run_with(Instant::now(), note_expired_if_due);
        assert!(expired);
        assert_eq!(remaining(), None);
    }
}
