//! The HdrHistogram interval log of a run: the standard text format that
//! HdrHistogram's tools (`HistogramLogProcessor`, HdrHistogram's Rust
//! `IntervalLogIterator`, …) read — one V2 + DEFLATE histogram per interval
//! and tag, in nanoseconds.
//!
//! Tags: `latency` is measured from each request's intended start
//! (coordinated-omission corrected), `service` from its actual send. In a
//! closed loop a request is intended when it is sent, so both tags carry the
//! same histogram. Interval timestamps are seconds since the start of the
//! measured window (`BaseTime`); the max column is in milliseconds
//! (`MaxValueDivisor` 10⁶), as Java's `HistogramLogWriter` writes it.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

use super::{LoadReport, Mode};

/// Tag of latency from the intended start.
pub const TAG_LATENCY: &str = "latency";
/// Tag of service time from the actual send.
pub const TAG_SERVICE: &str = "service";

/// Writes `report`'s interval log to `path`.
///
/// # Errors
/// The file cannot be written.
pub fn write(path: &Path, report: &LoadReport) -> Result<()> {
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    write_to(&mut out, report).with_context(|| format!("writing {}", path.display()))?;
    out.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Writes `report`'s interval log to `out`.
///
/// # Errors
/// Writing or serialising failed.
pub fn write_to<W: Write>(out: &mut W, report: &LoadReport) -> Result<()> {
    let mut serializer = V2DeflateSerializer::new();
    let mode = match report.mode {
        Mode::Closed => "closed loop (latency = service time, from the send)".to_owned(),
        Mode::Open { rate, arrival, .. } => format!("open loop, {arrival} arrivals at {rate}/s"),
    };
    // The header as Java's HistogramLogWriter writes it; the legend line is
    // not a comment, so it goes straight to the output.
    IntervalLogWriterBuilder::new()
        .add_comment(&format!(
            "[Logged with blueprint-bench {}: {mode}; values in nanoseconds; Tag={TAG_LATENCY} from the intended start (coordinated-omission corrected), Tag={TAG_SERVICE} from the actual send]",
            env!("CARGO_PKG_VERSION")
        ))
        .add_comment("[Histogram log format version 1.3]")
        .with_start_time(report.window_start)
        .with_base_time(report.window_start)
        .begin_log_with(out, &mut serializer)?;
    writeln!(
        out,
        "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
    )?;
    let mut log = IntervalLogWriterBuilder::new()
        .with_max_value_divisor(1e6)
        .begin_log_with(out, &mut serializer)?;
    let latency_tag = Tag::new(TAG_LATENCY).expect("a valid tag");
    let service_tag = Tag::new(TAG_SERVICE).expect("a valid tag");
    for interval in &report.intervals {
        let service = interval.service.as_ref().unwrap_or(&interval.latency);
        for (tag, h) in [(latency_tag, &interval.latency), (service_tag, service)] {
            log.write_histogram(h, interval.start, interval.length, Some(tag))
                .map_err(|e| anyhow::anyhow!("writing an interval histogram: {e}"))?;
        }
    }
    Ok(())
}
