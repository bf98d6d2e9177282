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
    /// Service time (from the actual send) of successful requests, microseconds.
    pub service_us: Quantiles,
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
        "Requests    {} completed, {} ok, {} errors; {:.1} req/s",
        report.requests,
        report.requests - report.error_count(),
        report.error_count(),
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
                "            the generator could not keep up: {} sends due in the window never went out",
                sched.missed
            );
        }
    }
    let _ = writeln!(s);
    match &report.service {
        None => {
            let _ = writeln!(s, "Latency (from the send)");
            for (label, q) in QUANTILES {
                let _ = writeln!(
                    s,
                    "  {label:<8}{:>12}",
                    fmt_ns(report.latency.value_at_quantile(q))
                );
            }
            let _ = writeln!(s, "  {:<8}{:>12}", "max", fmt_ns(report.latency.max()));
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
                    fmt_ns(report.latency.value_at_quantile(q)),
                    fmt_ns(service.value_at_quantile(q))
                );
            }
            let _ = writeln!(
                s,
                "  {:<10}{:>28}  {:>24}",
                "max",
                fmt_ns(report.latency.max()),
                fmt_ns(service.max())
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadSummary {
    /// Requests completed (errors included).
    pub requests: u64,
    /// Errors by kind.
    pub errors: BTreeMap<String, u64>,
    /// Measured window, seconds.
    pub duration_s: f64,
    /// Requests per second.
    pub throughput_rps: f64,
    /// Latency percentiles of successful requests, microseconds. Closed
    /// loop: from the send; open loop: from the intended start
    /// (coordinated-omission corrected).
    pub latency_us: Percentiles,
    /// The latency histogram (ns), HdrHistogram V2 + DEFLATE, base64.
    pub latency_histogram: String,
    /// All latency quantiles the terminal shows (p75 and p99.99 too), microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_quantiles_us: Option<Quantiles>,
    /// Open loop only: schedule kept (achieved rate, late and missed sends)
    /// and service times from the actual send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_loop: Option<OpenLoopSummary>,
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
        let us = |ns: u64| ns as f64 / 1e3;
        Self {
            mean: h.mean() / 1e3,
            p50: us(h.value_at_quantile(0.50)),
            p90: us(h.value_at_quantile(0.90)),
            p99: us(h.value_at_quantile(0.99)),
            p999: us(h.value_at_quantile(0.999)),
            max: us(h.max()),
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
                service_us: Quantiles::of(service),
                service_histogram: encode_histogram(service)?,
            }),
            _ => None,
        };
        Ok(Self {
            requests: report.requests,
            errors: report.errors.clone(),
            duration_s: report.elapsed.as_secs_f64(),
            throughput_rps: report.throughput(),
            latency_us: Percentiles::of(&report.latency),
            latency_histogram: encode_histogram(&report.latency)?,
            latency_quantiles_us: Some(Quantiles::of(&report.latency)),
            open_loop,
        })
    }
}
