//! Figures of a load run as data ([`LoadSummary`]: serialisable, the load
//! section of every results file and of `load --json`), and the terminal
//! summary, which only renders what the report holds.

use std::collections::BTreeMap;
#[cfg(feature = "generator")]
use std::fmt::Write as _;
#[cfg(feature = "generator")]
use std::time::Duration;

use anyhow::{Context, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

use super::{Arrival, LoadReport};
#[cfg(feature = "generator")]
use super::{LoadSpec, Mode, Target};

/// Latency quantiles in microseconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Quantiles {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 75th.
    pub p75: f64,
    /// 90th.
    pub p90: f64,
    /// 99th.
    pub p99: f64,
    /// 99.9th.
    pub p999: f64,
    /// 99.99th.
    pub p9999: f64,
    /// Largest.
    pub max: f64,
}

/// The quantiles [`Quantiles`] holds, with their labels.
pub const QUANTILES: [(&str, f64); 6] = [
    ("p50", 0.50),
    ("p75", 0.75),
    ("p90", 0.90),
    ("p99", 0.99),
    ("p99.9", 0.999),
    ("p99.99", 0.9999),
];

impl Quantiles {
    /// Reads the quantiles of a nanosecond histogram.
    pub fn of(h: &Histogram<u64>) -> Self {
        let us = |q: f64| h.value_at_quantile(q) as f64 / 1e3;
        Self {
            mean: h.mean() / 1e3,
            p50: us(0.50),
            p75: us(0.75),
            p90: us(0.90),
            p99: us(0.99),
            p999: us(0.999),
            p9999: us(0.9999),
            max: h.max() as f64 / 1e3,
        }
    }
}

/// Open-loop figures: the schedule kept, and service times.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OpenLoopSummary {
    /// Fixed interval or Poisson.
    pub arrival: Arrival,
    /// Requests per second asked for.
    pub target_rate_rps: f64,
    /// Sends per second achieved in the measured window.
    pub achieved_rate_rps: f64,
    /// Sends due in the measured window.
    pub intended: u64,
    /// Of those, sent.
    pub sent: u64,
    /// Sent more than `late_threshold_us` after their intended start.
    pub late: u64,
    /// Of the late ones, those that waited for a free connection.
    pub late_waiting_for_connection: u64,
    /// Due in the window but never sent.
    pub missed: u64,
    /// The threshold for `late`, microseconds.
    pub late_threshold_us: f64,
    /// Largest delay of a send after its intended start, microseconds.
    pub max_send_lag_us: f64,
    /// Seed of the Poisson schedule (`None` in files from before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Service time (from the actual send) of successful requests,
    /// microseconds; `None` when none succeeded.
    #[serde(default)]
    pub service_us: Option<Quantiles>,
    /// The service-time histogram (ns), HdrHistogram V2 + DEFLATE, base64.
    pub service_histogram: String,
}

/// Formats nanoseconds with a unit that keeps 3–4 significant digits.
pub fn fmt_ns(ns: u64) -> String {
    let ns = ns as f64;
    if ns < 1e3 {
        format!("{ns:.0}ns")
    } else if ns < 1e6 {
        format!("{:.1}µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2}ms", ns / 1e6)
    } else {
        format!("{:.3}s", ns / 1e9)
    }
}

#[cfg(feature = "generator")]
fn fmt_duration(d: Duration) -> String {
    fmt_ns(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The terminal summary of a run.
#[cfg(feature = "generator")]
pub fn render(target: &Target, spec: &LoadSpec, report: &LoadReport) -> String {
    let mut s = String::new();
    let protocol = match (spec.http2, spec.new_connection_per_request) {
        (true, false) => "h2c",
        (true, true) => "h2c, new connection per request",
        (false, false) => "HTTP/1.1 keep-alive",
        (false, true) => "HTTP/1.1, new connection per request",
    };
    let _ = writeln!(s, "Target      {} {} ({protocol})", target.method, target.uri);
    let warmup = humantime::format_duration(spec.warmup);
    let _ = match report.mode {
        Mode::Closed => writeln!(
            s,
            "Load        closed loop, {} connections, {} measured after {warmup} warm-up",
            spec.connections,
            fmt_duration(report.elapsed)
        ),
        Mode::Open { rate, arrival, .. } => writeln!(
            s,
            "Load        open loop, {arrival} arrivals at {rate}/s, at most {} in flight, {} measured after {warmup} warm-up",
            spec.connections,
            fmt_duration(report.elapsed)
        ),
    };
    let _ = writeln!(
        s,
        "Requests    {} completed: {} ok, {} errors ({:.2} % of completed); {:.1} ok/s",
        report.requests,
        report.successes(),
        report.error_count(),
        report.error_rate() * 100.0,
        report.throughput()
    );
    if let Some(sched) = &report.schedule {
        let _ = writeln!(
            s,
            "Schedule    {} due, {} sent ({:.1}/s achieved of {}/s); {} late (> {} after the intended start, {} of them waiting for a free connection); {} missed; max send lag {}",
            sched.intended,
            sched.sent,
            sched.achieved_rate(report.elapsed),
            sched.rate,
            sched.late,
            fmt_duration(sched.late_threshold),
            sched.late_waiting_for_connection,
            sched.missed,
            fmt_duration(sched.max_send_lag)
        );
        if sched.missed > 0 {
            let _ = writeln!(
                s,
                "            {} sends due in the window never went out",
                sched.missed
            );
        }
    }
    let g = &report.generator;
    let percent = |f: Option<f64>| f.map_or("unknown".to_owned(), |f| format!("{:.0} %", f * 100.0));
    let _ = writeln!(
        s,
        "Generator   {} thread(s), CPU {}, busiest thread {} of a core, waiting for a CPU up to {} of its run; \
         {} sends late with a connection free",
        g.threads,
        g.cpu
            .map_or("unknown".to_owned(), |d| format!("{:.3}s", d.as_secs_f64())),
        percent(g.busiest_thread_cpu_fraction),
        percent(g.most_waiting_thread_fraction),
        g.late_with_connection_free,
    );
    let _ = writeln!(
        s,
        "Machine     {} of all cores busy{}",
        percent(g.machine_busy_fraction),
        if g.bound() {
            " — generator-bound: these figures describe the generator"
        } else if g.machine_saturated() {
            " — saturated: sends waited for the busy machine's CPU, and the latency holds that wait"
        } else {
            ""
        }
    );
    let _ = writeln!(s);
    if report.successes() == 0 || report.latency.is_empty() {
        let _ = writeln!(s, "Latency     no successful request");
    } else {
        // `≥`: a censored value (timeout, unsent request) lies at or below it.
        let lat = |q: f64| {
            let mark = if report.is_lower_bound(q) { "≥ " } else { "" };
            format!("{mark}{}", fmt_ns(report.latency.value_at_quantile(q)))
        };
        let max = format!(
            "{}{}",
            if report.censored > 0 { "≥ " } else { "" },
            fmt_ns(report.latency.max())
        );
        match &report.service {
            None => {
                let _ = writeln!(s, "Latency (from the send)");
                for (label, q) in QUANTILES {
                    let _ = writeln!(s, "  {label:<8}{:>14}", lat(q));
                }
                let _ = writeln!(s, "  {:<8}{max:>14}", "max");
            }
            Some(service) => {
                let _ = writeln!(
                    s,
                    "            {:>28}  {:>24}",
                    "latency from intended start", "service time from send"
                );
                let _ = writeln!(s, "            {:>28}  {:>24}", "(CO-corrected)", "");
                for (label, q) in QUANTILES {
                    let _ = writeln!(
                        s,
                        "  {label:<10}{:>28}  {:>24}",
                        lat(q),
                        fmt_ns(service.value_at_quantile(q))
                    );
                }
                let _ = writeln!(s, "  {:<10}{max:>28}  {:>24}", "max", fmt_ns(service.max()));
            }
        }
        if report.censored > 0 {
            let _ = writeln!(
                s,
                "  ≥: lower bound; {} requests timed out or were never sent and are counted with the time they waited at least",
                report.censored
            );
        }
    }
    if !report.errors.is_empty() {
        let _ = writeln!(s, "\nErrors");
        for (kind, n) in &report.errors {
            let _ = writeln!(s, "  {kind:<20}{n:>10}");
        }
    }
    s
}

/// Throughput and latency of a measured window.
///
/// Fields marked `serde(default)` are absent from files written before they
/// existed; there `successes` and `errors_total` read as 0 and
/// `throughput_rps` counted every completion, errors included.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadSummary {
    /// Requests completed (errors included).
    pub requests: u64,
    /// Of those, answered with success.
    #[serde(default)]
    pub successes: u64,
    /// Errors by kind.
    pub errors: BTreeMap<String, u64>,
    /// The start of the first answer's body of each HTTP error status (files
    /// from before it have none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub error_examples: BTreeMap<String, String>,
    /// All errors.
    #[serde(default)]
    pub errors_total: u64,
    /// Errors as a fraction of completed requests.
    #[serde(default)]
    pub error_rate: f64,
    /// Measured window, seconds.
    pub duration_s: f64,
    /// Successful responses per second.
    pub throughput_rps: f64,
    /// Latency percentiles, microseconds; `None` when no request succeeded.
    /// Closed loop: successes from the send; open loop: from the intended
    /// start (coordinated-omission corrected), with the censored lower
    /// bounds of timeouts and unsent requests.
    #[serde(default)]
    pub latency_us: Option<Percentiles>,
    /// The latency histogram (ns), HdrHistogram V2 + DEFLATE, base64.
    pub latency_histogram: String,
    /// All latency quantiles the terminal shows (p75 and p99.99 too),
    /// microseconds; `None` when no request succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_quantiles_us: Option<Quantiles>,
    /// Values of the latency histogram that are lower bounds (open loop:
    /// requests that timed out or were due but never sent).
    #[serde(default)]
    pub censored: u64,
    /// Latency percentiles above this quantile are lower bounds (a censored
    /// value lies at or below them); `None` when nothing was censored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower_bound_from_quantile: Option<f64>,
    /// The generator's own CPU and lateness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<GeneratorSummary>,
    /// Open loop only: schedule kept (achieved rate, late and missed sends)
    /// and service times from the actual send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_loop: Option<OpenLoopSummary>,
}

/// What the load generator itself spent, and whether it set the pace.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct GeneratorSummary {
    /// Load threads.
    pub threads: usize,
    /// CPU seconds of the load threads over their run (warm-up included).
    pub cpu_s: Option<f64>,
    /// The busiest load thread's CPU as a fraction of one core.
    pub busiest_thread_cpu_fraction: Option<f64>,
    /// Open loop: sends late by more than the threshold although a
    /// connection was free when they were due.
    pub late_with_connection_free: u64,
    /// The load thread that waited longest for a CPU, as a fraction of its
    /// run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub most_waiting_thread_fraction: Option<f64>,
    /// The whole machine's busy and stolen CPU over the run, as a fraction
    /// of all its cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_busy_fraction: Option<f64>,
    /// The generator fell behind (see `GeneratorReport::bound`): the run's
    /// figures describe the generator, not the system.
    pub generator_bound: bool,
    /// Sends were late because the machine had no CPU to spare (see
    /// `GeneratorReport::machine_saturated`): the figures describe the
    /// system on this machine, the wait included.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub machine_saturated: bool,
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th.
    pub p90: f64,
    /// 99th.
    pub p99: f64,
    /// 99.9th.
    pub p999: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    /// Reads the percentiles of a nanosecond histogram.
    pub fn of(h: &Histogram<u64>) -> Self {
        let q = Quantiles::of(h);
        Self {
            mean: q.mean,
            p50: q.p50,
            p90: q.p90,
            p99: q.p99,
            p999: q.p999,
            max: q.max,
        }
    }
}

/// Serialises a histogram as V2 + DEFLATE, base64.
///
/// # Errors
/// Serialisation failure (not expected for in-memory buffers).
pub fn encode_histogram(h: &Histogram<u64>) -> Result<String> {
    let mut buf = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut buf)
        .map_err(|e| anyhow::anyhow!("serialising histogram: {e:?}"))?;
    Ok(B64.encode(buf))
}

/// Reverses [`encode_histogram`].
///
/// # Errors
/// Bad base64 or a corrupt histogram.
pub fn decode_histogram(text: &str) -> Result<Histogram<u64>> {
    let bytes = B64.decode(text).context("histogram is not base64")?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| anyhow::anyhow!("corrupt histogram: {e:?}"))
}

impl LoadSummary {
    /// Summarises a load report.
    ///
    /// # Errors
    /// Histogram serialisation failure.
    pub fn from_report(report: &LoadReport) -> Result<Self> {
        let open_loop = match (&report.schedule, &report.service) {
            (Some(schedule), Some(service)) => Some(OpenLoopSummary {
                arrival: schedule.arrival,
                target_rate_rps: schedule.rate,
                achieved_rate_rps: schedule.achieved_rate(report.elapsed),
                intended: schedule.intended,
                sent: schedule.sent,
                late: schedule.late,
                late_waiting_for_connection: schedule.late_waiting_for_connection,
                missed: schedule.missed,
                late_threshold_us: schedule.late_threshold.as_secs_f64() * 1e6,
                max_send_lag_us: schedule.max_send_lag.as_secs_f64() * 1e6,
                service_us: (!service.is_empty()).then(|| Quantiles::of(service)),
                service_histogram: encode_histogram(service)?,
                seed: (schedule.arrival == Arrival::Poisson).then_some(schedule.seed),
            }),
            _ => None,
        };
        let has_latency = report.successes() > 0 && !report.latency.is_empty();
        let g = &report.generator;
        Ok(Self {
            requests: report.requests,
            successes: report.successes(),
            errors: report.errors.clone(),
            error_examples: report.error_examples.clone(),
            errors_total: report.error_count(),
            error_rate: report.error_rate(),
            duration_s: report.elapsed.as_secs_f64(),
            throughput_rps: report.throughput(),
            latency_us: has_latency.then(|| Percentiles::of(&report.latency)),
            latency_histogram: encode_histogram(&report.latency)?,
            latency_quantiles_us: has_latency.then(|| Quantiles::of(&report.latency)),
            censored: report.censored,
            lower_bound_from_quantile: report.censored_min_ns.map(|min| {
                let h = &report.latency;
                let below = h.count_between(0, h.lowest_equivalent(min).saturating_sub(1));
                below as f64 / h.len().max(1) as f64
            }),
            generator: Some(GeneratorSummary {
                threads: g.threads,
                cpu_s: g.cpu.map(|d| d.as_secs_f64()),
                busiest_thread_cpu_fraction: g.busiest_thread_cpu_fraction,
                most_waiting_thread_fraction: g.most_waiting_thread_fraction,
                machine_busy_fraction: g.machine_busy_fraction,
                late_with_connection_free: g.late_with_connection_free,
                generator_bound: g.bound(),
                machine_saturated: g.machine_saturated(),
            }),
            open_loop,
        })
    }

    /// Whether the latency percentile at quantile `q` is a lower bound.
    pub fn is_lower_bound(&self, q: f64) -> bool {
        self.lower_bound_from_quantile.is_some_and(|from| q > from)
    }

    /// Whether the generator set the pace of this run.
    pub fn generator_bound(&self) -> bool {
        self.generator.is_some_and(|g| g.generator_bound)
    }

    /// Whether the machine's busy cores set the pace of this run.
    pub fn machine_saturated(&self) -> bool {
        self.generator.is_some_and(|g| g.machine_saturated)
    }
}
