//! The load generator: drives one loopback HTTP endpoint and records every
//! request's latency in HdrHistograms.
//!
//! Two ways to drive it, chosen by [`Mode`]:
//! - **Closed loop** ([`closed`]): `connections` workers, each with its own
//!   connection, send the next request as soon as the previous answer is read.
//!   Latency is measured from the send.
//! - **Open loop** ([`open`]): requests are due on a schedule (fixed interval
//!   or Poisson arrivals at `rate`), served by a pool of at most
//!   `connections` in-flight requests. Latency is measured from each
//!   request's *intended* start (coordinated-omission corrected, as wrk2
//!   does) and service time from its actual send; both are kept. Sends later
//!   than `late_threshold` after their intended start are counted as late,
//!   intended sends that never went out before the deadline as missed: the
//!   rate is never lowered silently.
//!
//! # What the figures count
//! - **Throughput** is successful responses (2xx; for gRPC, `grpc-status`
//!   0) per second of the measured window. Requests that got an answer
//!   other than success, or none, are errors, tallied by kind and as an
//!   error rate; they never count as throughput.
//! - **Latency** holds successful requests. In an open loop it also holds
//!   *censored* values: a request that timed out enters with the time from
//!   its intended start to when it was given up, and a request due in the
//!   window but never sent with the time from its intended start to the
//!   window's end. Those are lower bounds of what the request would have
//!   taken, so every percentile at or above the smallest censored value is
//!   a lower bound too (shown as `≥`; `censored` and
//!   `lower_bound_from_quantile` in the summary). Leaving them out would hide
//!   exactly the tail they are. Other errors (a non-2xx answer, a closed
//!   connection) are answers, not waits: counted apart, never in latency.
//! - **The generator's own share**: its CPU time per load thread (from
//!   `/proc/thread-self/schedstat`) and, in an open loop, the sends that went
//!   out late although a connection was free (the generator, not the system,
//!   was behind), with the load threads' wait for a CPU and the whole
//!   machine's busy share. A load thread without spare CPU, or late sends the
//!   machine's load does not explain, make a run *generator-bound*
//!   ([`GeneratorReport::bound`]): its figures describe the generator. Late
//!   sends from a generator with CPU to spare that waited for a busy
//!   machine's CPU make it *saturated* ([`GeneratorReport::machine_saturated`]):
//!   the machine's cores, shared by the system and the generator, set the
//!   pace, and the figures, which count from each intended start, hold the
//!   wait.
//!
//! Module layout: [`client`] (one connection: HTTP/1.1 keep-alive, a new
//! connection per request, or h2c) over [`h1`] (a lean HTTP/1.1 client:
//! request serialised once, responses parsed in place); [`record`]
//! (per-worker histograms, rotated per interval, and tallies); [`closed`]
//! and [`open`] (the loops); [`threads`] (load threads, one single-threaded
//! runtime each, as wrk has one event loop per thread); [`pacer`]
//! (sub-millisecond waits for the open loop); [`hdr_log`] (HdrHistogram
//! interval log); [`summary`] (serialisable figures and the terminal
//! summary); [`cli`] (`blueprint-bench load`).
//!
//! Hot loops log nothing, write no files, take no locks and write nothing
//! shared, but one atomic read-modify-write per request where a shared count
//! or schedule needs it (a request cap; the open-loop schedule). Workers
//! merge their histograms after the run. Every loop is bounded in count and
//! time: the measured window ends at `warmup + duration` (or at the request
//! cap); requests still in flight get `grace` more, then are abandoned and
//! counted as `timeout`.

use std::collections::BTreeMap;
#[cfg(feature = "generator")]
use std::time::Instant;
use std::time::{Duration, SystemTime};

#[cfg(feature = "generator")]
use anyhow::Context;
use anyhow::{Result, bail};
use hdrhistogram::Histogram;

// The engine (sockets, event loops, the CLI) is behind the default
// `generator` feature; without it this crate is the data of a load run only,
// which the analysis crate reads without linking Tokio or Hyper.
#[cfg(feature = "generator")]
pub mod affinity;
#[cfg(feature = "generator")]
pub mod cli;
#[cfg(feature = "generator")]
mod client;
#[cfg(feature = "generator")]
mod closed;
#[cfg(feature = "generator")]
mod h1;
pub mod hdr_log;
pub mod net;
#[cfg(feature = "generator")]
mod open;
#[cfg(feature = "generator")]
mod pacer;
#[cfg(feature = "generator")]
mod record;
pub mod summary;
#[cfg(feature = "generator")]
mod target;
#[cfg(feature = "generator")]
mod threads;

#[cfg(feature = "generator")]
pub use record::{ErrorKind, series_bytes};
// The response reader alone, for its property tests (tests/fuzz_h1.rs).
#[cfg(feature = "generator")]
#[doc(hidden)]
pub use h1::{H1, Outcome};
pub use summary::{
    GeneratorSummary, LoadSummary, OpenLoopSummary, Percentiles, Quantiles, decode_histogram,
    encode_histogram,
};
#[cfg(feature = "generator")]
pub use target::Target;

/// Highest latency a histogram tracks: one hour, in nanoseconds.
pub const MAX_TRACKABLE_NS: u64 = 3_600_000_000_000;

/// Longest warm-up or measured window accepted (7 days).
pub const MAX_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// Highest open-loop rate accepted, requests per second.
pub const MAX_RATE: f64 = 10_000_000.0;

/// Most connections accepted.
pub const MAX_CONNECTIONS: usize = 10_000;

/// A new latency histogram in nanoseconds, 3 significant digits.
///
/// It starts small and grows to the largest value recorded (up to
/// [`MAX_TRACKABLE_NS`], which callers clamp to), so a worker's histograms
/// cost memory in proportion to the latencies seen, not to the hour they
/// could track.
pub fn new_histogram() -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, 1 << 20, 3).expect("valid histogram bounds");
    h.auto(true);
    h
}

/// When requests are due in an open loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arrival {
    /// Every `1/rate` seconds.
    Fixed,
    /// Exponentially distributed gaps with mean `1/rate` (a Poisson process).
    Poisson,
}

impl std::fmt::Display for Arrival {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Arrival::Fixed => "fixed",
            Arrival::Poisson => "poisson",
        })
    }
}

/// Closed or open loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Each connection sends its next request when the previous answer is in.
    Closed,
    /// Requests are due on a schedule, whatever the answers do.
    Open {
        /// Requests per second.
        rate: f64,
        /// Interval between intended starts.
        arrival: Arrival,
        /// Seed of the Poisson schedule (the same seed gives the same schedule).
        seed: u64,
    },
}

/// How much load, for how long.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Concurrent connections; in an open loop, the most requests in flight.
    pub connections: usize,
    /// Excluded warm-up.
    pub warmup: Duration,
    /// Measured window.
    pub duration: Duration,
    /// Stop the measured window after this many requests.
    pub max_requests: Option<u64>,
    /// Time limit per request (counted as a `timeout` error).
    pub timeout: Duration,
    /// Closed or open loop.
    pub mode: Mode,
    /// After the window, how long in-flight requests may still finish before
    /// they are abandoned and counted as `timeout`.
    pub grace: Duration,
    /// Open loop: a send later than this after its intended start is late.
    pub late_threshold: Duration,
    /// h2c (HTTP/2 with prior knowledge) instead of HTTP/1.1.
    pub http2: bool,
    /// Open a new connection for every request instead of keeping it alive.
    pub new_connection_per_request: bool,
    /// Length of the intervals of the HdrHistogram interval log.
    pub interval: Duration,
    /// Load threads, each with its own runtime and share of the connections
    /// (0: one per core, or per CPU of `cpus`; never more than connections).
    pub threads: usize,
    /// CPUs the load threads are pinned to (empty: wherever the kernel
    /// puts them).
    pub cpus: Vec<usize>,
}

impl Default for LoadSpec {
    /// A closed loop on 4 keep-alive HTTP/1.1 connections for 10 s.
    fn default() -> Self {
        Self {
            connections: 4,
            warmup: Duration::ZERO,
            duration: Duration::from_secs(10),
            max_requests: None,
            timeout: Duration::from_secs(10),
            mode: Mode::Closed,
            grace: Duration::from_secs(2),
            late_threshold: Duration::from_millis(1),
            http2: false,
            new_connection_per_request: false,
            interval: Duration::from_secs(1),
            threads: 0,
            cpus: Vec::new(),
        }
    }
}

impl LoadSpec {
    /// A closed loop with the defaults of [`LoadSpec::default`] otherwise.
    pub fn closed(connections: usize, warmup: Duration, duration: Duration) -> Self {
        Self {
            connections,
            warmup,
            duration,
            ..Self::default()
        }
    }

    /// An open loop at `rate` requests per second.
    pub fn open(rate: f64, arrival: Arrival, connections: usize, duration: Duration) -> Self {
        Self {
            connections,
            duration,
            mode: Mode::Open {
                rate,
                arrival,
                seed: 0,
            },
            ..Self::default()
        }
    }

    /// Checks every bound; the messages name the flag a user would fix.
    ///
    /// # Errors
    /// A value out of range.
    pub fn validate(&self) -> Result<()> {
        if self.connections == 0 || self.connections > MAX_CONNECTIONS {
            bail!(
                "connections must be between 1 and {MAX_CONNECTIONS}, got {}",
                self.connections
            );
        }
        for (name, value) in [("duration", self.duration), ("warm-up", self.warmup)] {
            if value > MAX_WINDOW {
                bail!(
                    "{name} must be at most {} (7 days), got {}s",
                    humantime::format_duration(MAX_WINDOW),
                    value.as_secs()
                );
            }
        }
        if self.duration.is_zero() {
            bail!("duration must be positive");
        }
        if self.timeout.is_zero() {
            bail!("timeout must be positive");
        }
        if self.grace > MAX_WINDOW || self.timeout > MAX_WINDOW {
            bail!(
                "timeout and grace must be at most {}",
                humantime::format_duration(MAX_WINDOW)
            );
        }
        if self.interval < Duration::from_millis(1) || self.interval > MAX_WINDOW {
            bail!("the histogram log interval must be between 1ms and 7 days");
        }
        if self.threads > 1024 {
            bail!("threads must be at most 1024, got {}", self.threads);
        }
        if self.max_requests == Some(0) {
            bail!("max requests must be at least 1");
        }
        if let Mode::Open { rate, .. } = self.mode
            && !(rate.is_finite() && rate > 0.0 && rate <= MAX_RATE)
        {
            bail!("rate must be a positive number of requests per second up to {MAX_RATE:.0}, got {rate}");
        }
        Ok(())
    }
}

/// How well an open loop kept its schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScheduleReport {
    /// Requests per second asked for.
    pub rate: f64,
    /// Fixed or Poisson.
    pub arrival: Arrival,
    /// Sends due in the measured window.
    pub intended: u64,
    /// Of those, sent.
    pub sent: u64,
    /// Sent more than [`LoadSpec::late_threshold`] after their intended start.
    pub late: u64,
    /// Of the late ones, those whose intended start came while every
    /// connection was busy (the pool, not the generator, held them back);
    /// the others are the generator's own lateness.
    pub late_waiting_for_connection: u64,
    /// Due in the window but not sent before its end.
    pub missed: u64,
    /// Largest delay between an intended start and the send.
    pub max_send_lag: Duration,
    /// Seed of the Poisson schedule.
    pub seed: u64,
    /// The threshold for `late`.
    pub late_threshold: Duration,
}

impl ScheduleReport {
    /// Sends per second in the measured window.
    pub fn achieved_rate(&self, elapsed: Duration) -> f64 {
        self.sent as f64 / elapsed.as_secs_f64().max(1e-9)
    }
}

/// One interval of the measured window, for the interval log.
#[derive(Debug, Clone)]
pub struct IntervalHistograms {
    /// Start, from the beginning of the measured window.
    pub start: Duration,
    /// Length.
    pub length: Duration,
    /// Latency (closed loop: from the send; open loop: from the intended start).
    pub latency: Histogram<u64>,
    /// Service time from the actual send (open loop only).
    pub service: Option<Histogram<u64>>,
}

/// What a load run measured (warm-up excluded).
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Closed or open loop, as run.
    pub mode: Mode,
    /// Requests completed in the measured window, errors included.
    pub requests: u64,
    /// Errors by kind (`http-503`, `connect`, `connection-closed`, `timeout`, …).
    pub errors: BTreeMap<String, u64>,
    /// For each HTTP error status among them, the start of the first such
    /// answer's body (what the server said went wrong).
    pub error_examples: BTreeMap<String, String>,
    /// Length of the measured window.
    pub elapsed: Duration,
    /// Latency of successful requests, nanoseconds. Closed loop: from the
    /// send. Open loop: from the intended start (coordinated-omission
    /// corrected), plus the `censored` lower bounds of timeouts and unsent
    /// requests.
    pub latency: Histogram<u64>,
    /// Open loop: service time of successful requests from the actual send.
    pub service: Option<Histogram<u64>>,
    /// Open loop: schedule adherence.
    pub schedule: Option<ScheduleReport>,
    /// Of the values in `latency`, those that are lower bounds (open loop:
    /// timeouts and sends due but never made).
    pub censored: u64,
    /// The smallest censored value, ns: percentiles at or above it are
    /// lower bounds.
    pub censored_min_ns: Option<u64>,
    /// What the generator itself spent and how far it fell behind.
    pub generator: GeneratorReport,
    /// Per-interval histograms, by completion time, in order.
    pub intervals: Vec<IntervalHistograms>,
    /// Wall-clock time at the start of the measured window.
    pub window_start: SystemTime,
}

impl LoadReport {
    /// Total errors.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Requests answered with success.
    pub fn successes(&self) -> u64 {
        self.requests.saturating_sub(self.error_count())
    }

    /// Errors as a fraction of completed requests (0 when none completed).
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.error_count() as f64 / self.requests as f64
        }
    }

    /// Successful responses per second over the measured window.
    pub fn throughput(&self) -> f64 {
        self.successes() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Whether the value at quantile `q` of `latency` is a lower bound: some
    /// censored value lies at or below it.
    pub fn is_lower_bound(&self, q: f64) -> bool {
        self.censored_min_ns
            .is_some_and(|min| self.latency.value_at_quantile(q) >= self.latency.lowest_equivalent(min))
    }
}

/// Sends that went out late while a connection was free, as a fraction of
/// sends, above which a run's pace was not the system's own.
pub const GENERATOR_LATE_FRACTION: f64 = 0.01;

/// CPU of one load thread, as a fraction of a core over its run, at or
/// above which the generator is saturated.
pub const GENERATOR_CPU_FRACTION: f64 = 0.9;

/// The whole machine's busy (and stolen) CPU, as a fraction of all its
/// cores over the run, at or above which the machine had no CPU to spare.
pub const MACHINE_SATURATED_FRACTION: f64 = 0.9;

/// A load thread's time ready to run without a CPU, as a fraction of its
/// run, at or above which its late sends are waits for a CPU. On an idle
/// two-core machine driving a native echo server it stays at 0–1 % up to
/// 2,000 req/s (`results/README.md`); a thread on a free core waits for
/// nothing.
pub const CPU_WAIT_FRACTION: f64 = 0.02;

/// The generator's own share of a run.
///
/// Late sends have two causes that call for opposite readings. A load thread
/// with no spare CPU is too slow for the rate: the run describes the
/// generator ([`GeneratorReport::bound`]). A load thread with spare CPU that
/// still sent late waited for a CPU that the system under test (or something
/// else) was using: every core was busy when it needed one. That is the
/// machine running out, which is what a rate sweep looks for, and the run's
/// figures (latency from each request's intended start) hold that wait
/// ([`GeneratorReport::machine_saturated`]). The evidence is either the
/// whole machine busy over the run or the load threads' own run-queue wait:
/// on two cores the system's threads and the generator's collide long before
/// the average reaches 100 %.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GeneratorReport {
    /// Load threads.
    pub threads: usize,
    /// CPU time of the load threads over their run (warm-up included),
    /// when `/proc/thread-self/schedstat` could be read.
    pub cpu: Option<Duration>,
    /// The busiest load thread's CPU as a fraction of one core.
    pub busiest_thread_cpu_fraction: Option<f64>,
    /// The load thread that waited longest for a CPU (ready to run, on the
    /// run queue), as a fraction of its run.
    pub most_waiting_thread_fraction: Option<f64>,
    /// The whole machine's busy and stolen CPU over the run, as a fraction
    /// of all its cores (`/proc/stat`).
    pub machine_busy_fraction: Option<f64>,
    /// Open loop: sends late by more than the threshold although a
    /// connection was free when they were due.
    pub late_with_connection_free: u64,
    /// Open loop: sends in the window.
    pub sent: u64,
}

impl GeneratorReport {
    /// More than [`GENERATOR_LATE_FRACTION`] of sends went out late although
    /// a connection was free.
    pub fn late(&self) -> bool {
        self.sent > 0 && self.late_with_connection_free as f64 > GENERATOR_LATE_FRACTION * self.sent as f64
    }

    /// A load thread used [`GENERATOR_CPU_FRACTION`] of a core or more.
    pub fn cpu_bound(&self) -> bool {
        self.busiest_thread_cpu_fraction
            .is_some_and(|f| f >= GENERATOR_CPU_FRACTION)
    }

    /// Sends were late while the generator had CPU to spare and waited for
    /// the machine's: the machine was busy over the run
    /// ([`MACHINE_SATURATED_FRACTION`]) or a load thread waited on the run
    /// queue ([`CPU_WAIT_FRACTION`]). The machine, not the generator, set the
    /// pace, and the figures hold the wait.
    pub fn machine_saturated(&self) -> bool {
        let busy = self
            .machine_busy_fraction
            .is_some_and(|f| f >= MACHINE_SATURATED_FRACTION);
        let waited = self
            .most_waiting_thread_fraction
            .is_some_and(|f| f >= CPU_WAIT_FRACTION);
        self.late() && !self.cpu_bound() && (busy || waited)
    }

    /// Whether the generator itself fell behind: a load thread at
    /// [`GENERATOR_CPU_FRACTION`] of a core or more, or late sends that no
    /// wait for the machine's CPU explains.
    pub fn bound(&self) -> bool {
        self.cpu_bound() || (self.late() && !self.machine_saturated())
    }
}

/// The whole machine's CPU time so far, in clock ticks, from the `cpu` line
/// of `/proc/stat`: user, nice, system, idle, iowait, irq, softirq, steal.
pub fn machine_cpu_ticks() -> Option<[u64; 8]> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    v.try_into().ok()
}

/// Busy (with stolen) and total CPU time of the whole machine so far, in
/// clock ticks.
#[cfg(feature = "generator")]
fn machine_ticks() -> Option<(u64, u64)> {
    let [user, nice, system, idle, iowait, irq, softirq, steal] = machine_cpu_ticks()?;
    let busy = user + nice + system + irq + softirq + steal;
    Some((busy, busy + idle + iowait))
}

#[cfg(feature = "generator")]
/// The clock of one run.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// When workers begin (warm-up included).
    started: Instant,
    /// Start of the measured window.
    measure_from: Instant,
    /// End of the measured window: no new request starts after it.
    deadline: Instant,
    /// Requests still in flight are abandoned here.
    hard_stop: Instant,
}

#[cfg(feature = "generator")]
impl Window {
    fn new(spec: &LoadSpec) -> Result<Self> {
        let started = Instant::now();
        let overflow = || "warm-up plus duration plus grace overflows the clock";
        let measure_from = started.checked_add(spec.warmup).with_context(overflow)?;
        let deadline = measure_from.checked_add(spec.duration).with_context(overflow)?;
        let hard_stop = deadline.checked_add(spec.grace).with_context(overflow)?;
        Ok(Self {
            started,
            measure_from,
            deadline,
            hard_stop,
        })
    }

    /// Deadline of a request sent at `sent`.
    fn request_deadline(&self, sent: Instant, timeout: Duration) -> Instant {
        sent.checked_add(timeout)
            .map_or(self.hard_stop, |t| t.min(self.hard_stop))
    }
}

/// Runs a load against `target` as `spec` says.
///
/// The target is probed first: a refused or unreachable port fails here, in
/// one line, before any load.
///
/// # Errors
/// An invalid spec, an unreachable target; failures of individual requests
/// are tallied, not returned.
#[cfg(feature = "generator")]
pub async fn run(target: &Target, spec: &LoadSpec) -> Result<LoadReport> {
    spec.validate()?;
    Window::new(spec)?;
    let template = std::sync::Arc::new(client::Template::new(target, spec));
    // The probe. Then each load thread connects its own connections (in
    // keep-alive modes, so the measured window does not pay for them).
    client::Client::new(template.clone())
        .connect_now()
        .await
        .map_err(|e| {
            if threads::out_of_descriptors(&e) {
                anyhow::anyhow!(
                    "the load did not start: cannot connect to {}: {e:#} (raise the open-file limit, `ulimit -n`)",
                    target.addr
                )
            } else {
                anyhow::anyhow!(
                    "cannot connect to {}: {e:#} (is the server running?)",
                    target.addr
                )
            }
        })?;
    let machine_before = machine_ticks();
    let parts = match spec.mode {
        Mode::Closed => closed::run(template, spec).await?,
        Mode::Open { rate, arrival, seed } => open::run(template, spec, rate, arrival, seed).await?,
    };
    let mut report = record::assemble(parts, spec);
    report.generator.machine_busy_fraction =
        machine_before
            .zip(machine_ticks())
            .and_then(|((busy0, total0), (busy1, total1))| {
                let total = total1.checked_sub(total0).filter(|t| *t > 0)?;
                Some(busy1.saturating_sub(busy0) as f64 / total as f64)
            });
    Ok(report)
}
