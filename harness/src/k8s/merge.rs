//! Merging the `blueprint-bench load --json` outputs of the pods of one Job
//! (one cell, one window, run side by side) into one.
//!
//! Histograms merge exactly (HdrHistogram addition), the latency one
//! (coordinated-omission corrected in an open loop) and the service-time one
//! each with its own kind; counts and throughputs add, since the pods ran
//! over the same window. It lives here, not beside `LoadSummary`, while
//! `blueprint-load` is being reworked; it only uses that crate's public data.

use anyhow::{Context, Result, bail, ensure};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use blueprint_load::summary::{OpenLoopSummary, Quantiles};
use blueprint_load::{LoadSummary, Percentiles, decode_histogram, encode_histogram};

/// The `load --json` document: what was driven, and the summary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadOutput {
    /// The URL driven.
    pub url: String,
    /// Request method.
    pub method: String,
    /// Connections (closed loop) or most in flight (open loop).
    pub connections: usize,
    /// `1.1` or `2`.
    pub http: String,
    /// A new connection per request.
    pub new_connection_per_request: bool,
    /// The figures.
    #[serde(flatten)]
    pub summary: LoadSummary,
}

fn add_histograms<'a>(texts: impl IntoIterator<Item = &'a str>, what: &str) -> Result<Histogram<u64>> {
    let mut merged: Option<Histogram<u64>> = None;
    for text in texts {
        let h = decode_histogram(text).with_context(|| format!("reading a {what} histogram"))?;
        match &mut merged {
            None => {
                let mut first = h;
                // Another pod's values may lie beyond this one's range.
                first.auto(true);
                merged = Some(first);
            }
            Some(m) => m
                .add(&h)
                .map_err(|e| anyhow::anyhow!("adding {what} histograms: {e:?}"))?,
        }
    }
    merged.with_context(|| format!("no {what} histogram to merge"))
}

/// The quantile above which the merged latencies are lower bounds: from the
/// smallest censored value of any input (read back at its own bound).
fn lower_bound_from(inputs: &[&LoadSummary], merged: &Histogram<u64>) -> Result<Option<f64>> {
    let mut smallest: Option<u64> = None;
    for s in inputs {
        if let Some(q) = s.lower_bound_from_quantile {
            let h = decode_histogram(&s.latency_histogram)?;
            let v = h.value_at_quantile(q);
            smallest = Some(smallest.map_or(v, |m| m.min(v)));
        }
    }
    Ok(smallest.map(|min| {
        let below = merged.count_between(0, merged.lowest_equivalent(min).saturating_sub(1));
        below as f64 / merged.len().max(1) as f64
    }))
}

/// Merges the summaries of runs that drove one target side by side.
///
/// # Errors
/// No input, a mix of closed and open loops, corrupt histograms.
pub fn merge_summaries(inputs: &[&LoadSummary]) -> Result<LoadSummary> {
    let first = *inputs.first().context("nothing to merge")?;
    let open = first.open_loop.is_some();
    ensure!(
        inputs.iter().all(|s| s.open_loop.is_some() == open),
        "cannot merge closed-loop and open-loop runs"
    );
    let mut out = first.clone();
    let sum = |f: fn(&LoadSummary) -> u64| inputs.iter().map(|s| f(s)).sum::<u64>();
    out.requests = sum(|s| s.requests);
    out.successes = sum(|s| s.successes);
    out.errors_total = sum(|s| s.errors_total);
    out.censored = sum(|s| s.censored);
    out.errors.clear();
    for s in inputs {
        for (kind, n) in &s.errors {
            *out.errors.entry(kind.clone()).or_default() += n;
        }
        for (kind, body) in &s.error_examples {
            out.error_examples
                .entry(kind.clone())
                .or_insert_with(|| body.clone());
        }
    }
    out.error_rate = out.errors_total as f64 / out.requests.max(1) as f64;
    // The windows ran side by side: rates add, the window is the longest.
    out.duration_s = inputs.iter().map(|s| s.duration_s).fold(0.0, f64::max);
    out.throughput_rps = inputs.iter().map(|s| s.throughput_rps).sum();

    let latency = add_histograms(inputs.iter().map(|s| s.latency_histogram.as_str()), "latency")?;
    let has_latency = out.successes > 0 && !latency.is_empty();
    out.latency_us = has_latency.then(|| Percentiles::of(&latency));
    out.latency_quantiles_us = has_latency.then(|| Quantiles::of(&latency));
    out.lower_bound_from_quantile = lower_bound_from(inputs, &latency)?;
    out.latency_histogram = encode_histogram(&latency)?;

    let generators: Vec<_> = inputs.iter().filter_map(|s| s.generator).collect();
    out.generator = (generators.len() == inputs.len()).then(|| {
        let mut g = generators[0];
        g.threads = generators.iter().map(|g| g.threads).sum();
        g.cpu_s = generators.iter().map(|g| g.cpu_s).sum::<Option<f64>>();
        g.busiest_thread_cpu_fraction = generators
            .iter()
            .map(|g| g.busiest_thread_cpu_fraction)
            .collect::<Option<Vec<f64>>>()
            .map(|v| v.into_iter().fold(0.0, f64::max));
        g.most_waiting_thread_fraction = generators
            .iter()
            .map(|g| g.most_waiting_thread_fraction)
            .collect::<Option<Vec<f64>>>()
            .map(|v| v.into_iter().fold(0.0, f64::max));
        // Each generator saw its own machine: the busiest one is reported.
        g.machine_busy_fraction = generators
            .iter()
            .map(|g| g.machine_busy_fraction)
            .collect::<Option<Vec<f64>>>()
            .map(|v| v.into_iter().fold(0.0, f64::max));
        g.late_with_connection_free = generators.iter().map(|g| g.late_with_connection_free).sum();
        g.generator_bound = generators.iter().any(|g| g.generator_bound);
        g.machine_saturated = !g.generator_bound && generators.iter().any(|g| g.machine_saturated);
        g
    });

    if open {
        let loops: Vec<&OpenLoopSummary> = inputs.iter().filter_map(|s| s.open_loop.as_ref()).collect();
        let mut o = loops[0].clone();
        ensure!(
            loops.iter().all(|l| l.arrival == o.arrival),
            "cannot merge open loops with different arrival processes"
        );
        o.target_rate_rps = loops.iter().map(|l| l.target_rate_rps).sum();
        o.achieved_rate_rps = loops.iter().map(|l| l.achieved_rate_rps).sum();
        o.intended = loops.iter().map(|l| l.intended).sum();
        o.sent = loops.iter().map(|l| l.sent).sum();
        o.late = loops.iter().map(|l| l.late).sum();
        o.late_waiting_for_connection = loops.iter().map(|l| l.late_waiting_for_connection).sum();
        o.missed = loops.iter().map(|l| l.missed).sum();
        o.late_threshold_us = loops.iter().map(|l| l.late_threshold_us).fold(0.0, f64::max);
        o.max_send_lag_us = loops.iter().map(|l| l.max_send_lag_us).fold(0.0, f64::max);
        // Several schedules: no one seed reproduces the merged arrivals.
        if loops.iter().any(|l| l.seed != o.seed) {
            o.seed = None;
        }
        let service = add_histograms(loops.iter().map(|l| l.service_histogram.as_str()), "service-time")?;
        o.service_us = (!service.is_empty()).then(|| Quantiles::of(&service));
        o.service_histogram = encode_histogram(&service)?;
        out.open_loop = Some(o);
    }
    Ok(out)
}

/// Merges whole `load --json` documents of one target.
///
/// # Errors
/// As [`merge_summaries`]; documents of different URLs or methods.
pub fn merge_outputs(inputs: &[LoadOutput]) -> Result<LoadOutput> {
    let first = inputs.first().context("nothing to merge")?;
    for other in inputs {
        if other.url != first.url || other.method != first.method || other.http != first.http {
            bail!(
                "these runs drove different targets ({} {} over HTTP/{} and {} {} over HTTP/{})",
                first.method,
                first.url,
                first.http,
                other.method,
                other.url,
                other.http
            );
        }
    }
    let summaries: Vec<&LoadSummary> = inputs.iter().map(|o| &o.summary).collect();
    Ok(LoadOutput {
        url: first.url.clone(),
        method: first.method.clone(),
        connections: inputs.iter().map(|o| o.connections).sum(),
        http: first.http.clone(),
        new_connection_per_request: first.new_connection_per_request,
        summary: merge_summaries(&summaries)?,
    })
}

/// Finds the `load --json` document in a pod's log (other lines, such as a
/// warning on stderr, may come before it).
///
/// # Errors
/// No document in the text.
pub fn find_output(log: &str) -> Result<LoadOutput> {
    let mut last_err = None;
    for (at, _) in log.match_indices('{') {
        if at > 0 && !log[..at].ends_with('\n') {
            continue;
        }
        let mut stream = serde_json::Deserializer::from_str(&log[at..]).into_iter::<LoadOutput>();
        match stream.next() {
            Some(Ok(out)) => return Ok(out),
            Some(Err(e)) => last_err = Some(e),
            None => {}
        }
    }
    match last_err {
        Some(e) => Err(e).context("the log holds no `load --json` document"),
        None => bail!("the log holds no `load --json` document"),
    }
}
