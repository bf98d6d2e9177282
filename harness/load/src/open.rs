//! The open loop: requests are due on a schedule, whatever the answers do.
//!
//! # Scheduling
//! One shared schedule hands out intended start times in order; `connections`
//! workers, each owning one connection, form the pool. A free worker claims
//! the next intended start (one atomic operation), waits until it with a
//! [`Pacer`], sends, records, and claims again. So a request is sent at its
//! intended start whenever some connection is free then; when every
//! connection is busy it is claimed by the first worker to become free, and
//! goes out late (FIFO), its latency from the intended start growing with the
//! wait: that is the coordinated-omission correction.
//!
//! - Fixed arrivals: the *i*-th start is `i / rate` after the run's start
//!   (computed from the index, so it never drifts).
//! - Poisson arrivals: gaps are `-ln(U) / rate` with `U` uniform in (0, 1].
//!   The gap after a start is drawn from a generator seeded with the seed and
//!   that start, and claimed with a compare-and-swap, so the schedule is the
//!   same for the same seed however the workers interleave.
//!
//! # What is recorded
//! For each request of the measured window (by intended start): latency =
//! end − intended start (CO-corrected), service time = end − actual send.
//! A send is *late* when it goes out more than `late_threshold` after its
//! intended start; of those, the ones claimed after their intended start
//! waited for a connection (the pool was full). An intended start inside the
//! window that could not be sent before the window's end is *missed*. Late
//! and missed sends are counted, never hidden by lowering the rate.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::client::{Client, Deadline, Template};
use super::pacer::Pacer;
use super::record::{Recorder, RunParts};
use super::{Arrival, ErrorKind, LoadSpec, Window, threads};

/// Past this many, missed Poisson arrivals after the run are estimated from
/// the rate instead of drawn one by one.
const MAX_DRAWN_MISSES: u64 = 10_000_000;

/// Intended start times, in nanoseconds after the run's start.
pub(crate) enum Schedule {
    Fixed { next: AtomicU64, period_ns: f64 },
    Poisson(Poisson),
}

/// Poisson arrivals: each gap is drawn from the seed and the start before
/// it, so the schedule is the same whichever thread claims which start.
pub(crate) struct Poisson {
    next_ns: AtomicU64,
    mean_gap_ns: f64,
    seed: u64,
}

impl Poisson {
    /// The start after `at`: an exponential gap, `-ln(U) * mean`, U in (0, 1].
    fn after(&self, at: u64) -> u64 {
        let mut rng = SmallRng::seed_from_u64(self.seed ^ at.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let u = 1.0 - rng.random::<f64>();
        at.saturating_add(((-u.ln() * self.mean_gap_ns).round() as u64).max(1))
    }
}

impl Schedule {
    pub(crate) fn new(rate: f64, arrival: Arrival, seed: u64) -> Self {
        let period_ns = 1e9 / rate;
        match arrival {
            Arrival::Fixed => Schedule::Fixed {
                next: AtomicU64::new(0),
                period_ns,
            },
            Arrival::Poisson => Schedule::Poisson(Poisson {
                next_ns: AtomicU64::new(0),
                mean_gap_ns: period_ns,
                seed,
            }),
        }
    }

    /// Claims the next intended start.
    pub(crate) fn claim(&self) -> u64 {
        match self {
            Schedule::Fixed { next, period_ns } => {
                let i = next.fetch_add(1, Ordering::Relaxed);
                (i as f64 * period_ns) as u64
            }
            Schedule::Poisson(p) => {
                let mut at = p.next_ns.load(Ordering::Relaxed);
                loop {
                    let next = p.after(at);
                    match p
                        .next_ns
                        .compare_exchange_weak(at, next, Ordering::Relaxed, Ordering::Relaxed)
                    {
                        Ok(_) => return at,
                        Err(current) => at = current,
                    }
                }
            }
        }
    }

    /// After the workers stopped: the unclaimed starts in `[from, to)` (ns),
    /// at most `limit`. `each(at, n)` is told of them: `n` starts at `at`
    /// or earlier (past [`MAX_EACH`] starts, they come in slices, each at
    /// its latest start, so `to - at` stays a lower bound of their wait).
    fn remaining(&self, from: u64, to: u64, limit: u64, mut each: impl FnMut(u64, u64)) -> u64 {
        match self {
            Schedule::Fixed { next, period_ns } => {
                let next = next.load(Ordering::Relaxed);
                // First index at or after `from`, and first index at or after `to`.
                let first = (from as f64 / period_ns).ceil() as u64;
                let end = (to as f64 / period_ns).ceil() as u64;
                let start = next.max(first);
                let n = end.saturating_sub(start).min(limit);
                let at = |i: u64| (i as f64 * period_ns) as u64;
                spread(n, |i| at(start + i), &mut each);
                n
            }
            Schedule::Poisson(p) => {
                let mut at = p.next_ns.load(Ordering::Relaxed);
                let mut n = 0u64;
                while at < to && n < limit {
                    if n == MAX_DRAWN_MISSES {
                        each(at, n - MAX_EACH);
                        // The rest, as if evenly spaced.
                        let left = (((to - at) as f64 / p.mean_gap_ns).round() as u64).min(limit - n);
                        let step = (to - at) as f64 / left.max(1) as f64;
                        spread(left, |i| at + (i as f64 * step) as u64, &mut each);
                        return n + left;
                    }
                    if at >= from {
                        n += 1;
                        if n <= MAX_EACH {
                            each(at, 1);
                        }
                    }
                    at = p.after(at);
                }
                if n > MAX_EACH {
                    // Past `MAX_EACH`, the drawn starts are known only by
                    // count: all of them before `at`, the last start drawn.
                    each(at.min(to), n - MAX_EACH);
                }
                n
            }
        }
    }
}

/// Most unsent starts reported one by one after a run.
const MAX_EACH: u64 = 100_000;

/// Tells `each` of `n` starts, the `i`-th at `at(i)` (increasing): one by
/// one up to [`MAX_EACH`], else in 1,000 slices, each at its latest start.
fn spread(n: u64, at: impl Fn(u64) -> u64, each: &mut impl FnMut(u64, u64)) {
    if n <= MAX_EACH {
        (0..n).for_each(|i| each(at(i), 1));
        return;
    }
    let slices = 1000;
    for k in 0..slices {
        let (lo, hi) = (n * k / slices, n * (k + 1) / slices);
        if hi > lo {
            each(at(hi - 1), hi - lo);
        }
    }
}

struct Shared {
    schedule: Schedule,
    timeout: Duration,
    late_threshold: Duration,
    interval: Duration,
    cap: Option<u64>,
    counted: AtomicU64,
}

pub(crate) async fn run(
    template: Arc<Template>,
    spec: &LoadSpec,
    rate: f64,
    arrival: Arrival,
    seed: u64,
) -> Result<RunParts> {
    let shared = Arc::new(Shared {
        schedule: Schedule::new(rate, arrival, seed),
        timeout: spec.timeout,
        late_threshold: spec.late_threshold,
        interval: spec.interval,
        cap: spec.max_requests,
        counted: AtomicU64::new(0),
    });
    let for_workers = shared.clone();
    let finished = threads::run(template, spec, move |client, window| {
        worker(client, for_workers.clone(), window)
    })
    .await?;
    let window = finished.window;
    // Starts still unclaimed but due in the window were never sent.
    let offset = |t: Instant| u64::try_from((t - window.started).as_nanos()).unwrap_or(u64::MAX);
    let limit = match shared.cap {
        Some(cap) => cap.saturating_sub(shared.counted.load(Ordering::Relaxed)),
        None => u64::MAX,
    };
    // Each waited, at least, from its intended start to the window's end.
    let end = offset(window.deadline);
    let mut missed_censored = super::new_histogram();
    let missed = shared
        .schedule
        .remaining(offset(window.measure_from), end, limit, |at, n| {
            let waited = Duration::from_nanos(end.saturating_sub(at));
            let _ = missed_censored.record_n(super::record::ns(waited), n);
        });
    Ok(RunParts {
        workers: finished.recorders,
        missed,
        missed_censored,
        finished: finished.at,
        window,
        cpu: finished.cpu,
    })
}

async fn worker(mut client: Client, shared: Arc<Shared>, window: Window) -> Recorder {
    let mut rec = Recorder::new(window.measure_from, shared.interval, true);
    let mut pacer = Pacer::new();
    let mut deadline = Deadline::new();
    loop {
        let intended = window.started + Duration::from_nanos(shared.schedule.claim());
        if intended >= window.deadline {
            break;
        }
        let measuring = intended >= window.measure_from;
        if measuring
            && let Some(cap) = shared.cap
            && shared.counted.fetch_add(1, Ordering::Relaxed) >= cap
        {
            rec.cap_reached_at = Some(intended);
            break;
        }
        let claimed = Instant::now();
        pacer.sleep_until(intended).await;
        let sent = Instant::now();
        if sent >= window.deadline {
            // Due in the window, but the window is over: it waited at
            // least until now.
            if measuring {
                rec.missed += 1;
                rec.censored(sent, sent - intended);
            }
            break;
        }
        let until = window.request_deadline(sent, shared.timeout);
        let outcome = deadline.run(until, client.send()).await;
        let end = Instant::now();
        if !measuring {
            if outcome.is_none() {
                client.disconnect();
            }
            continue;
        }
        rec.sent += 1;
        let lag = sent - intended;
        if lag > shared.late_threshold {
            rec.late += 1;
            if claimed > intended {
                rec.late_waiting += 1;
            }
        }
        rec.max_lag = rec.max_lag.max(lag);
        match outcome {
            Some(Ok(status)) if status.is_success() => rec.success(end, end - intended, end - sent),
            Some(Ok(status)) => rec.http_error(status.as_u16(), client.error_body()),
            Some(Err(ErrorKind::Timeout)) => rec.timed_out(end, end - intended),
            Some(Err(kind)) => rec.error(kind),
            None => {
                client.disconnect();
                rec.timed_out(end, end - intended);
            }
        }
    }
    rec.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_starts_are_exact_multiples_of_the_period() {
        let s = Schedule::new(3.0, Arrival::Fixed, 0);
        let starts: Vec<u64> = (0..4).map(|_| s.claim()).collect();
        assert_eq!(starts, [0, 333_333_333, 666_666_666, 1_000_000_000]);
        // Unclaimed starts in [1 s, 2 s): 4/3 s and 5/3 s (3 s/3 = 1 s was claimed).
        let mut told = Vec::new();
        assert_eq!(
            s.remaining(1_000_000_000, 2_000_000_000, u64::MAX, |at, n| told.push((at, n))),
            2
        );
        assert_eq!(told, [(1_333_333_333, 1), (1_666_666_666, 1)]);
        assert_eq!(s.remaining(1_000_000_000, 2_000_000_000, 1, |_, _| {}), 1);
    }

    #[test]
    fn poisson_gaps_have_mean_and_sd_of_one_over_rate() {
        let s = Schedule::new(1000.0, Arrival::Poisson, 7);
        let starts: Vec<u64> = (0..20_000).map(|_| s.claim()).collect();
        let gaps: Vec<f64> = starts.windows(2).map(|w| (w[1] - w[0]) as f64 / 1e6).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let sd = (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64).sqrt();
        assert!((mean - 1.0).abs() < 0.03, "mean gap {mean} ms");
        assert!((sd - 1.0).abs() < 0.05, "sd {sd} ms");
        // Exponential: P(gap > mean) = 1/e.
        let above = gaps.iter().filter(|&&g| g > 1.0).count() as f64 / gaps.len() as f64;
        assert!((above - (-1f64).exp()).abs() < 0.02, "{above}");
    }

    #[test]
    fn a_seed_fixes_the_poisson_schedule_whatever_the_interleaving() {
        let sequential: Vec<u64> = {
            let s = Schedule::new(5000.0, Arrival::Poisson, 42);
            (0..40_000).map(|_| s.claim()).collect()
        };
        let shared = Arc::new(Schedule::new(5000.0, Arrival::Poisson, 42));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let s = shared.clone();
                std::thread::spawn(move || (0..10_000).map(|_| s.claim()).collect::<Vec<_>>())
            })
            .collect();
        let mut concurrent: Vec<u64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
        concurrent.sort_unstable();
        assert_eq!(concurrent, sequential);
        let other = Schedule::new(5000.0, Arrival::Poisson, 43);
        let other: Vec<u64> = (0..100).map(|_| other.claim()).collect();
        assert_ne!(other[..], sequential[..100]);
    }

    #[test]
    fn remaining_poisson_starts_are_counted_inside_the_window_only() {
        let s = Schedule::new(1000.0, Arrival::Poisson, 1);
        let all: Vec<u64> = {
            let t = Schedule::new(1000.0, Arrival::Poisson, 1);
            std::iter::repeat_with(|| t.claim())
                .take_while(|&at| at < 3_000_000_000)
                .collect()
        };
        let expected = all.iter().filter(|&&at| at >= 1_000_000_000).count() as u64;
        let mut told = Vec::new();
        assert_eq!(
            s.remaining(1_000_000_000, 3_000_000_000, u64::MAX, |at, n| told.push((at, n))),
            expected
        );
        let inside: Vec<(u64, u64)> = all
            .iter()
            .filter(|&&at| at >= 1_000_000_000)
            .map(|&at| (at, 1))
            .collect();
        assert_eq!(told, inside);
    }

    #[test]
    fn many_unsent_starts_come_in_slices_that_keep_lower_bounds() {
        let s = Schedule::new(1e6, Arrival::Fixed, 0);
        let (mut count, mut latest) = (0, 0);
        let n = s.remaining(0, 1_000_000_000, u64::MAX, |at, k| {
            assert!(at >= latest, "slices in order");
            latest = at;
            count += k;
        });
        assert_eq!((n, count), (1_000_000, 1_000_000));
        assert_eq!(latest, 999_999_000, "the last slice ends at the last start");
    }
}
