//! The parts of WASI preview 1 that adapters serve alike: errno values, the
//! monotonic clock, guest-memory words, and a `poll_oneoff` whose sleeps end
//! at the guest call's deadline.
//!
//! Why `poll_oneoff` lives here: neither a Wasmtime epoch nor a Wasmer
//! watchdog can interrupt a host function, so a guest asking WASI for an
//! hour's sleep would hold its thread (and its request) for that hour, past
//! any time limit. While a [`CallDeadline`] guard lives on the calling
//! thread, [`poll_oneoff`] sleeps no later than the deadline and then fails
//! with [`DeadlineReached`], which the adapter reports as the call's time-out.

use std::cell::Cell;
use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::abi;

/// WASI preview 1 import module name.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// The WASI errno values the adapters return.
#[allow(missing_docs)]
pub mod errno {
    pub const SUCCESS: i32 = 0;
    pub const ACCES: i32 = 2;
    pub const BADF: i32 = 8;
    pub const EXIST: i32 = 20;
    pub const FAULT: i32 = 21;
    pub const INVAL: i32 = 28;
    pub const IO: i32 = 29;
    pub const ISDIR: i32 = 31;
    pub const LOOP: i32 = 32;
    pub const NAMETOOLONG: i32 = 37;
    pub const NOENT: i32 = 44;
    pub const NOSPC: i32 = 51;
    pub const NOTDIR: i32 = 54;
    pub const NOTEMPTY: i32 = 55;
    pub const OVERFLOW: i32 = 61;
    pub const PERM: i32 = 63;
    pub const ROFS: i32 = 69;
    pub const SPIPE: i32 = 70;
    pub const NOTCAPABLE: i32 = 76;
}

/// WASI's monotonic clock (`clock_time_get` id 1) in nanoseconds since a
/// process-wide anchor. Adapters that serve the clock and `poll_oneoff` from
/// different code must both read this one, so that an absolute sleep means
/// the time the guest read.
pub fn monotonic_ns() -> u64 {
    static ANCHOR: OnceLock<Instant> = OnceLock::new();
    ANCHOR.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// WASI's realtime clock (id 0): nanoseconds since 1970.
pub fn realtime_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The little-endian `u32` at `ptr`, if it lies in `mem`.
pub fn read_u32(mem: &[u8], ptr: u32) -> Option<u32> {
    let bytes = abi::slice(mem, ptr as i32, 4)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// The little-endian `u64` at `ptr`, if it lies in `mem`.
pub fn read_u64(mem: &[u8], ptr: u32) -> Option<u64> {
    let bytes = abi::slice(mem, ptr as i32, 8)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// Writes `value` at `ptr`; `false` if it does not fit in `mem`.
pub fn write_u32(mem: &mut [u8], ptr: u32, value: u32) -> bool {
    write(mem, ptr, &value.to_le_bytes())
}

/// Writes `value` at `ptr`; `false` if it does not fit in `mem`.
pub fn write_u64(mem: &mut [u8], ptr: u32, value: u64) -> bool {
    write(mem, ptr, &value.to_le_bytes())
}

fn write(mem: &mut [u8], ptr: u32, bytes: &[u8]) -> bool {
    let start = ptr as usize;
    match start
        .checked_add(bytes.len())
        .and_then(|end| mem.get_mut(start..end))
    {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            true
        }
        None => false,
    }
}

thread_local! {
    /// The deadline of the guest call running on this thread, if any.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// The time limit of the guest call on this thread, for imports that wait.
/// Set it around every guest call (instantiation included); guards nest.
#[must_use = "the deadline holds only while the guard lives"]
pub struct CallDeadline(Option<Instant>);

impl CallDeadline {
    /// Bounds waiting imports on this thread by `timeout` from now.
    pub fn set(timeout: Duration) -> Self {
        let deadline = Instant::now().checked_add(timeout);
        Self(DEADLINE.replace(deadline))
    }
}

impl Drop for CallDeadline {
    fn drop(&mut self) {
        DEADLINE.set(self.0);
    }
}

/// The guest call's deadline came while it was in an import (a sleep in
/// `poll_oneoff`, or an adapter's check on entering or leaving an import):
/// the adapter ends the call as a time-out (returned from the host function,
/// it traps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineReached;

impl fmt::Display for DeadlineReached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the call's time limit came while the guest was in an import")
    }
}

impl std::error::Error for DeadlineReached {}

/// Sleeps `wait`, or until the call's deadline if that comes first.
fn sleep_within_deadline(wait: Duration) -> Result<(), DeadlineReached> {
    let left = DEADLINE
        .get()
        .map(|deadline| deadline.saturating_duration_since(Instant::now()));
    match left {
        Some(left) if left < wait => {
            std::thread::sleep(left);
            Err(DeadlineReached)
        }
        _ => {
            std::thread::sleep(wait);
            Ok(())
        }
    }
}

/// `poll_oneoff(in, out, nsubscriptions, nevents)` for guests without
/// descriptors to wait on. Subscriptions are 48 bytes (`userdata: u64`, tag
/// `u8` at 8; for clocks `id: u32` at 16, `timeout: u64` at 24, `flags: u16`
/// at 40, bit 0 = absolute); events are 32 bytes (`userdata: u64`, `error:
/// u16` at 8, `type: u8` at 10).
///
/// Clock subscriptions sleep until the earliest one is due, then report it;
/// fd subscriptions (no readable or writable descriptors here) report
/// `EBADF` at once without sleeping. Bad pointers give `EFAULT`.
///
/// # Errors
/// [`DeadlineReached`] when the sleep was cut at the call's deadline.
pub fn poll_oneoff(
    mem: &mut [u8],
    input: i32,
    output: i32,
    count: i32,
    nevents: i32,
) -> Result<i32, DeadlineReached> {
    let (input, output) = (input as u32, output as u32);
    let mut earliest: Option<u64> = None;
    let mut subs = Vec::new();
    for i in 0..count.max(0) as u32 {
        let at = input.wrapping_add(i.wrapping_mul(48));
        let (Some(userdata), Some(tag)) = (read_u64(mem, at), abi::slice(mem, at.wrapping_add(8) as i32, 1))
        else {
            return Ok(errno::FAULT);
        };
        let tag = tag[0];
        if tag == 0 {
            let (Some(id), Some(timeout), Some(flags)) = (
                read_u32(mem, at.wrapping_add(16)),
                read_u64(mem, at.wrapping_add(24)),
                abi::slice(mem, at.wrapping_add(40) as i32, 2),
            ) else {
                return Ok(errno::FAULT);
            };
            let absolute = flags[0] & 1 != 0;
            let wait = match (absolute, id) {
                (false, _) => timeout,
                (true, 0) => timeout.saturating_sub(realtime_ns()),
                (true, _) => timeout.saturating_sub(monotonic_ns()),
            };
            earliest = Some(earliest.map_or(wait, |e| e.min(wait)));
            subs.push((userdata, tag, wait));
        } else {
            subs.push((userdata, tag, 0));
        }
    }
    let has_fd = subs.iter().any(|s| s.1 != 0);
    if let (Some(wait), false) = (earliest, has_fd) {
        sleep_within_deadline(Duration::from_nanos(wait))?;
    }
    let mut written = 0u32;
    for (userdata, tag, wait) in subs {
        let fires = if tag == 0 {
            !has_fd && Some(wait) == earliest
        } else {
            true
        };
        if !fires {
            continue;
        }
        let at = output.wrapping_add(written.wrapping_mul(32));
        let error: u16 = if tag == 0 { 0 } else { errno::BADF as u16 };
        let Some(event) = (at as usize)
            .checked_add(32)
            .and_then(|end| mem.get_mut(at as usize..end))
        else {
            return Ok(errno::FAULT);
        };
        event.fill(0);
        event[..8].copy_from_slice(&userdata.to_le_bytes());
        event[8..10].copy_from_slice(&error.to_le_bytes());
        event[10] = tag;
        written += 1;
    }
    Ok(if write_u32(mem, nevents as u32, written) {
        errno::SUCCESS
    } else {
        errno::FAULT
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One clock subscription at 0: `userdata`, clock `id`, `timeout` ns.
    fn clock(mem: &mut [u8], userdata: u64, id: u32, timeout: u64, absolute: bool) {
        mem[0..8].copy_from_slice(&userdata.to_le_bytes());
        mem[8] = 0;
        mem[16..20].copy_from_slice(&id.to_le_bytes());
        mem[24..32].copy_from_slice(&timeout.to_le_bytes());
        mem[40] = u8::from(absolute);
    }

    #[test]
    fn a_relative_clock_sleeps_and_reports_its_event() {
        let mut mem = vec![0u8; 256];
        clock(&mut mem, 7, 1, 20_000_000, false);
        let started = Instant::now();
        assert_eq!(poll_oneoff(&mut mem, 0, 64, 1, 200), Ok(errno::SUCCESS));
        assert!(started.elapsed() >= Duration::from_millis(20));
        assert_eq!(read_u32(&mem, 200), Some(1));
        assert_eq!(read_u64(&mem, 64), Some(7));
    }

    #[test]
    fn an_absolute_clock_sleeps_until_the_time_the_guest_read() {
        let mut mem = vec![0u8; 256];
        clock(&mut mem, 1, 1, monotonic_ns() + 30_000_000, true);
        let started = Instant::now();
        assert_eq!(poll_oneoff(&mut mem, 0, 64, 1, 200), Ok(errno::SUCCESS));
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(25) && took < Duration::from_secs(2),
            "{took:?}"
        );
        // Realtime, already past: no sleep.
        clock(&mut mem, 1, 0, realtime_ns() - 1, true);
        let started = Instant::now();
        assert_eq!(poll_oneoff(&mut mem, 0, 64, 1, 200), Ok(errno::SUCCESS));
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_sleep_ends_at_the_call_deadline_as_a_time_out() {
        let mut mem = vec![0u8; 256];
        // One relative clock subscription asking for an hour.
        clock(&mut mem, 0, 1, 3_600_000_000_000, false);
        let began = Instant::now();
        {
            let _deadline = CallDeadline::set(Duration::from_millis(50));
            assert_eq!(poll_oneoff(&mut mem, 0, 64, 1, 200), Err(DeadlineReached));
        }
        let took = began.elapsed();
        assert!(
            took >= Duration::from_millis(40) && took < Duration::from_secs(2),
            "{took:?}"
        );
        assert_eq!(DEADLINE.get(), None, "the guard left its deadline behind");
    }

    #[test]
    fn fd_subscriptions_report_badf_without_sleeping() {
        let mut mem = vec![0u8; 256];
        clock(&mut mem, 1, 1, 3_600_000_000_000, false);
        // A second subscription at 48: fd_read (tag 1), userdata 9.
        mem[48..56].copy_from_slice(&9u64.to_le_bytes());
        mem[56] = 1;
        let started = Instant::now();
        assert_eq!(poll_oneoff(&mut mem, 0, 128, 2, 200), Ok(errno::SUCCESS));
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(read_u32(&mem, 200), Some(1));
        assert_eq!(read_u64(&mem, 128), Some(9));
        assert_eq!(mem[136], errno::BADF as u8);
    }

    #[test]
    fn bad_pointers_fault() {
        let mut mem = vec![0u8; 64];
        assert_eq!(poll_oneoff(&mut mem, 40, 0, 1, 0), Ok(errno::FAULT));
        assert_eq!(poll_oneoff(&mut mem, 0, 60, 1, 0), Ok(errno::FAULT));
        assert_eq!(poll_oneoff(&mut mem, -48, 0, 2, 0), Ok(errno::FAULT));
        assert!(!write_u32(&mut mem, 62, 1));
        assert!(!write_u64(&mut mem, u32::MAX, 1));
    }
}
