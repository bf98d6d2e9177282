//! Waits until an instant with sub-millisecond precision.
//!
//! Tokio's timer rounds every sleep up to the next millisecond tick, which
//! would add up to 1 ms to every open-loop send (and to its latency from the
//! intended start). A worker's [`Pacer`] instead arms its own `timerfd`
//! (high-resolution, one-shot, relative) and awaits it through the runtime's
//! reactor; if no timerfd can be made, it falls back to Tokio's timer.

use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::Instant;

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

struct Timer(TimerFd);

impl AsRawFd for Timer {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

impl Timer {
    /// Consumes an expiration; `WouldBlock` when there is none.
    fn read(&self) -> io::Result<()> {
        let mut buf = [0u8; 8];
        nix::unistd::read(self.0.as_fd(), &mut buf)
            .map(drop)
            .map_err(io::Error::from)
    }
}

pub(crate) struct Pacer {
    timer: Option<AsyncFd<Timer>>,
}

impl Pacer {
    /// Must be called inside a Tokio runtime.
    pub(crate) fn new() -> Self {
        let timer = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )
        .ok()
        .and_then(|fd| {
            // SAFETY: `Timer` owns the timerfd (an `OwnedFd` inside
            // `TimerFd`), never replaces it, and closes it only when dropped,
            // after the `AsyncFd` that owns the `Timer`.
            unsafe { AsyncFd::register_with_interest(Timer(fd), Interest::READABLE) }.ok()
        });
        Self { timer }
    }

    /// Returns at `at` or a little after (never before).
    pub(crate) async fn sleep_until(&mut self, at: Instant) {
        loop {
            let now = Instant::now();
            if now >= at {
                return;
            }
            if self.wait(at - now).await.is_err() {
                // No usable timerfd: the millisecond timer is late, not wrong.
                self.timer = None;
                tokio::time::sleep_until(at.into()).await;
            }
        }
    }

    async fn wait(&mut self, after: std::time::Duration) -> io::Result<()> {
        let Some(timer) = &self.timer else {
            return Err(io::ErrorKind::Unsupported.into());
        };
        // Re-arming resets the expiration count, so a stale wake-up reads
        // `WouldBlock` below and waits again.
        timer
            .get_ref()
            .0
            .set(
                Expiration::OneShot(TimeSpec::from_duration(after)),
                TimerSetTimeFlags::empty(),
            )
            .map_err(io::Error::from)?;
        loop {
            let mut guard = timer.readable().await?;
            match guard.try_io(|t| t.get_ref().read()) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Tokio's timer would be late by half a millisecond at the median (it
    /// rounds up to the next millisecond tick); the timerfd is not.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wakes_on_time_to_a_fraction_of_a_millisecond() {
        let mut pacer = Pacer::new();
        assert!(pacer.timer.is_some(), "no timerfd");
        let mut lateness = Vec::new();
        for i in 0..200u64 {
            let at = Instant::now() + Duration::from_micros(1100 + 7 * i);
            pacer.sleep_until(at).await;
            let now = Instant::now();
            assert!(now >= at, "woke early");
            lateness.push(now - at);
        }
        lateness.sort_unstable();
        let median = lateness[lateness.len() / 2];
        eprintln!("pacer lateness: median {median:?}, p90 {:?}", lateness[180]);
        assert!(median < Duration::from_micros(250), "median lateness {median:?}");
    }
}
