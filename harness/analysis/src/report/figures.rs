//! From a results file to chart inputs: which charts a run gets, and the
//! figures in each. Medians and intervals come from the file's summaries
//! where it has them; what it keeps only per trial (per-rate p99, startup
//! parts, phases) is summarised here with the same statistics.

use std::collections::BTreeMap;

use anyhow::Result;
use hdrhistogram::Histogram;
use serde::Serialize;

use super::charts::{Bar, BarChart, RateSeries, SpectrumSeries, mode_color, process_color};
use super::decision::{PROCESS_ORDER, cpu_split};
use crate::results::{self, CellResult, CellStatus, CellSummary, RunResults, TrialResult};
use crate::stats::{self, Estimate};

/// What a chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChartKind {
    /// Closed-loop throughput per cell, coloured by blueprint.
    Throughput,
    /// CPU per request per cell, coloured by blueprint.
    CpuPerRequest,
    /// CPU per request per cell, stacked by process.
    CpuSplit,
    /// p99 against offered rate of a workload's cells, knees marked.
    RateSweep,
    /// Cold start and its parts per runtime.
    ColdStart,
    /// Host-side phases per runtime.
    Phases,
    /// Guest module sizes per language.
    ModuleSize,
    /// Latency by percentile of one cell.
    LatencySpectrum,
    /// Latency by percentile of each blueprint's best cell of a workload.
    BlueprintSpectra,
}

/// A chart to draw, before drawing.
#[derive(Debug, Clone)]
pub enum ChartData {
    /// Grouped bars.
    Bars(BarChart),
    /// A rate sweep.
    Sweep(String, Vec<RateSeries>),
    /// A latency spectrum.
    Spectrum(String, Vec<SpectrumSeries>),
}

/// One chart of the page.
#[derive(Debug, Clone)]
pub struct ChartPlan {
    /// HTML id, stable for a given results file.
    pub id: String,
    /// What it shows.
    pub kind: ChartKind,
    /// Caption.
    pub title: String,
    /// A sentence on how to read it.
    pub note: String,
    /// The figures.
    pub data: ChartData,
}

/// Lower-case letters, digits and dashes.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

fn measured(results: &RunResults) -> Vec<&CellResult> {
    results
        .cells
        .iter()
        .filter(|c| c.status == CellStatus::Ok && !c.trials.is_empty())
        .collect()
}

fn workloads(cells: &[&CellResult]) -> Vec<String> {
    let mut seen = Vec::new();
    for c in cells {
        if !seen.contains(&c.id.workload) {
            seen.push(c.id.workload.clone());
        }
    }
    seen
}

fn bar_of(e: &Estimate, scale: f64) -> Bar {
    Bar {
        value: e.median * scale,
        interval: e.interval().map(|(lo, hi)| (lo * scale, hi * scale)),
    }
}

fn estimate_of(values: &[f64]) -> Option<Estimate> {
    (!values.is_empty()).then(|| stats::estimate(values, results::CONFIDENCE))
}

/// A cell's band label: its blueprint, runtime and language.
fn cell_label(c: &CellResult) -> String {
    format!("{} / {} / {}", c.id.mode_label(), c.id.runtime, c.id.language)
}

/// Bars of one figure per workload: a band per cell, grouped by blueprint
/// in the mode table's order, one series (and colour) per blueprint.
fn per_cell_by_mode(
    cells: &[&CellResult],
    workload: &str,
    figure: impl Fn(&CellResult) -> Option<Bar>,
) -> (Vec<String>, Vec<String>, Vec<Vec<Option<Bar>>>) {
    let mut of_workload: Vec<&CellResult> = cells
        .iter()
        .copied()
        .filter(|c| c.id.workload == workload)
        .collect();
    // Stable: runtimes and languages keep the run's order within a mode.
    of_workload.sort_by_key(|c| mode_color(&c.id.mode_label()));
    let mut modes: Vec<String> = Vec::new();
    for c in &of_workload {
        if !modes.contains(&c.id.mode_label()) {
            modes.push(c.id.mode_label());
        }
    }
    let categories = of_workload.iter().map(|c| cell_label(c)).collect();
    let values = of_workload
        .iter()
        .map(|c| {
            let mut row = vec![None; modes.len()];
            if let Some(m) = modes.iter().position(|m| *m == c.id.mode_label()) {
                row[m] = figure(c);
            }
            row
        })
        .collect();
    (categories, modes, values)
}

/// The reference lines of a workload's figure: the best value of each
/// reference mode (native floor, middleware baseline) that has one.
fn reference_lines(
    cells: &[&CellResult],
    workload: &str,
    figure: impl Fn(&CellResult) -> Option<f64>,
    higher_is_better: bool,
) -> Vec<(String, f64)> {
    let mut lines: Vec<(String, f64)> = Vec::new();
    for c in cells.iter().filter(|c| c.id.workload == workload) {
        let Some(mode) = crate::modes::ALL.iter().find(|m| m.as_str() == c.id.mode) else {
            continue;
        };
        if !mode.row().reference {
            continue;
        }
        let Some(v) = figure(c) else { continue };
        let label = match mode.row().app {
            crate::modes::App::Echo => format!("middleware baseline {v:.0}"),
            _ => format!("native floor {v:.0}"),
        };
        let kind = label.split(' ').next().unwrap_or_default().to_owned();
        match lines.iter_mut().find(|(l, _)| l.starts_with(&kind)) {
            Some(line) if (v > line.1) == higher_is_better => *line = (label, v),
            Some(_) => {}
            None => lines.push((label, v)),
        }
    }
    lines
}

/// CPU per request of a workload's cells, stacked by process: where a
/// request's cost sits. The whisker is the interval of the system under
/// test's total (daprd, app host, stores; the load generator is drawn
/// after it, outside).
fn cpu_split_chart(cells: &[&CellResult], workload: &str) -> Option<ChartPlan> {
    let mut of: Vec<&CellResult> = cells
        .iter()
        .copied()
        .filter(|c| c.id.workload == workload)
        .collect();
    of.sort_by_key(|c| mode_color(&c.id.mode_label()));
    let splits: Vec<Vec<(String, f64)>> = of.iter().map(|c| cpu_split(c)).collect();
    let roles: Vec<&str> = PROCESS_ORDER
        .iter()
        .copied()
        .filter(|r| splits.iter().any(|s| s.iter().any(|(x, _)| x == r)))
        .collect();
    if roles.is_empty() {
        return None;
    }
    let values = of
        .iter()
        .zip(&splits)
        .map(|(c, split)| {
            let total = c.summary.as_ref().and_then(|s| s.cpu_per_request_us);
            let last_sut = roles
                .iter()
                .rposition(|r| *r != "load-generator" && split.iter().any(|(x, _)| x == r));
            roles
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    split.iter().find(|(x, _)| x == r).map(|(_, v)| Bar {
                        value: *v,
                        interval: (Some(i) == last_sut)
                            .then(|| total.and_then(|t| t.interval()))
                            .flatten(),
                    })
                })
                .collect()
        })
        .collect();
    let label = |r: &str| match r {
        "app" => "app host".to_owned(),
        "load-generator" => "load generator".to_owned(),
        other => other.to_owned(),
    };
    Some(ChartPlan {
        id: format!("cpu-split-{}", slug(workload)),
        kind: ChartKind::CpuSplit,
        title: format!("{workload}: CPU per request by process"),
        note: "CPU time per successful request of each process over the measured window, median over trials, stacked; \
               the whisker is the interval of the system under test's total (daprd, app host, stores). The load \
               generator is drawn last, outside the total."
            .into(),
        data: ChartData::Bars(BarChart {
            title: format!("{workload}: CPU per request by process"),
            value_label: "CPU µs per request".into(),
            categories: of.iter().map(|c| cell_label(c)).collect(),
            series: roles.iter().map(|r| label(r)).collect(),
            colors: roles.iter().map(|r| process_color(r)).collect(),
            category_colors: of.iter().map(|c| Some(mode_color(&c.id.mode_label()))).collect(),
            stacked: true,
            values,
            ..BarChart::default()
        }),
    })
}

/// Merges the trials' histograms (base64 V2 + DEFLATE).
///
/// # Errors
/// A corrupt histogram.
pub fn merged<'a>(encoded: impl Iterator<Item = &'a str>) -> Result<Option<Histogram<u64>>> {
    let mut total: Option<Histogram<u64>> = None;
    for text in encoded {
        let h = results::decode_histogram(text)?;
        match &mut total {
            Some(t) => t
                .add(&h)
                .map_err(|e| anyhow::anyhow!("merging histograms: {e:?}"))?,
            // Trials' histograms may cover different ranges: merge into an
            // auto-resizing one.
            None => {
                let mut t = Histogram::new(h.sigfig()).map_err(|e| anyhow::anyhow!("histogram: {e:?}"))?;
                t.add(&h)
                    .map_err(|e| anyhow::anyhow!("merging histograms: {e:?}"))?;
                total = Some(t);
            }
        }
    }
    Ok(total.filter(|h| !h.is_empty()))
}

/// The spectrum of a nanosecond histogram: (1/(1-p), ms), the way
/// HdrHistogram's percentile output is plotted.
pub fn spectrum_points(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    let mut points = Vec::new();
    for v in h.iter_quantiles(5) {
        let q = v.quantile_iterated_to();
        if q >= 1.0 {
            break;
        }
        let ms = v.value_iterated_to() as f64 / 1e6;
        if ms > 0.0 {
            points.push((1.0 / (1.0 - q), ms));
        }
    }
    points
}

/// Per-rate sweep figures of a cell: rate → p99s (µs) over trials.
fn sweep_p99s(cell: &CellResult) -> BTreeMap<i64, (f64, Vec<f64>)> {
    let mut out: BTreeMap<i64, (f64, Vec<f64>)> = BTreeMap::new();
    for t in &cell.trials {
        for p in &t.sweep {
            // A point without a successful request has no p99 (its 0 is the
            // empty histogram's): left out rather than drawn as fastest.
            let Some(latency) = results::latency(&p.load) else {
                continue;
            };
            let rate = p.point.target_rps;
            out.entry((rate * 1000.0).round() as i64)
                .or_insert((rate, Vec::new()))
                .1
                .push(latency.p99);
        }
    }
    out
}

/// The swept rates whose spectra a cell's chart shows: the knee (the median
/// knee over trials, as swept) and the first rate past it.
fn spectrum_rates(cell: &CellResult) -> Vec<f64> {
    let rates: Vec<f64> = sweep_p99s(cell).values().map(|(r, _)| *r).collect();
    if rates.is_empty() {
        return rates;
    }
    let knee = cell
        .summary
        .as_ref()
        .and_then(|s| s.knee_rps)
        .map_or(0.0, |k| k.median);
    let at_or_below = rates.iter().copied().rfind(|r| *r <= knee + 1e-9);
    let above = rates.iter().copied().find(|r| *r > knee + 1e-9);
    at_or_below.into_iter().chain(above).collect()
}

fn trials_at(cell: &CellResult, rate: f64) -> impl Iterator<Item = &crate::results::SweepPoint> {
    cell.trials
        .iter()
        .flat_map(|t| t.sweep.iter())
        .filter(move |p| (p.point.target_rps - rate).abs() < 1e-6)
}

fn phases_of(trials: &[TrialResult], f: impl Fn(&crate::results::Phases) -> f64) -> Option<Bar> {
    let v: Vec<f64> = trials.iter().filter_map(|t| t.phases.as_ref().map(&f)).collect();
    estimate_of(&v)
        .filter(|e| e.median > 0.0)
        .map(|e| bar_of(&e, 1.0))
}

/// A figure of a cell's summary drawn per mode × runtime, a bar per language.
struct ModeRuntimeFigure {
    kind: ChartKind,
    /// Prefix of the chart's HTML id.
    id: &'static str,
    /// Caption and chart title, after the workload's name.
    title: &'static str,
    chart_title: &'static str,
    note: &'static str,
    value_label: &'static str,
    estimate: fn(&CellSummary) -> Option<&Estimate>,
}

/// The bar charts of every workload, in page order.
const MODE_RUNTIME_FIGURES: [ModeRuntimeFigure; 2] = [
    ModeRuntimeFigure {
        kind: ChartKind::Throughput,
        id: "throughput",
        title: "closed-loop throughput",
        chart_title: "throughput (closed loop)",
        note: "Median over trials; whiskers: distribution-free interval of the median (95 %, or the most the trials allow: 93.8 % with 5, none with 1).",
        value_label: "requests per second",
        estimate: |s| Some(&s.throughput_rps),
    },
    ModeRuntimeFigure {
        kind: ChartKind::CpuPerRequest,
        id: "cpu",
        title: "CPU per request",
        chart_title: "CPU per request",
        note: "CPU time of the system under test (daprd, app host, stores) per request; median and its interval (95 %, or the most the trials allow).",
        value_label: "CPU µs per request",
        estimate: |s| s.cpu_per_request_us.as_ref(),
    },
];

/// Every chart a results file gets, in page order.
///
/// # Errors
/// A corrupt histogram in the file.
pub fn plan(results: &RunResults) -> Result<Vec<ChartPlan>> {
    let cells = measured(results);
    let mut charts = Vec::new();
    for w in workloads(&cells) {
        for f in &MODE_RUNTIME_FIGURES {
            let (categories, series, values) = per_cell_by_mode(&cells, &w, |c| {
                c.summary.as_ref().and_then(f.estimate).map(|e| bar_of(e, 1.0))
            });
            // A workload none of whose cells has the figure gets no chart.
            if values.iter().flatten().any(Option::is_some) {
                let references = reference_lines(
                    &cells,
                    &w,
                    |c| c.summary.as_ref().and_then(f.estimate).map(|e| e.median),
                    f.kind == ChartKind::Throughput,
                );
                charts.push(ChartPlan {
                    id: format!("{}-{}", f.id, slug(&w)),
                    kind: f.kind,
                    title: format!("{w}: {}", f.title),
                    note: f.note.into(),
                    data: ChartData::Bars(BarChart {
                        title: format!("{w}: {}", f.chart_title),
                        value_label: f.value_label.into(),
                        colors: series.iter().map(|m| mode_color(m)).collect(),
                        categories,
                        series,
                        values,
                        references,
                        ..BarChart::default()
                    }),
                });
            }
        }
        if let Some(chart) = cpu_split_chart(&cells, &w) {
            charts.push(chart);
        }
    }
    // Rate sweeps, one chart per workload: every swept cell, coloured by
    // its blueprint.
    for w in workloads(&cells) {
        let mut swept: Vec<&&CellResult> = cells
            .iter()
            .filter(|c| c.id.workload == w && c.trials.iter().any(|t| !t.sweep.is_empty()))
            .collect();
        swept.sort_by_key(|c| mode_color(&c.id.mode_label()));
        let mut series = Vec::new();
        for c in swept {
            let per_rate = sweep_p99s(c);
            if per_rate.is_empty() {
                continue;
            }
            let points: Vec<(f64, f64)> = per_rate
                .values()
                .map(|(rate, p99s)| (*rate, stats::median(p99s) / 1e3))
                .filter(|(_, ms)| *ms > 0.0)
                .collect();
            let knee_rate = c.summary.as_ref().and_then(|s| s.knee_rps).map(|k| k.median);
            let knee = knee_rate
                .filter(|k| *k > 0.0)
                .and_then(|k| points.iter().copied().find(|(r, _)| (r - k).abs() < 1e-6));
            let knee_text = match knee_rate {
                Some(k) if k > 0.0 => format!("knee {k:.0} req/s"),
                _ => "no knee: the lowest rate failed".into(),
            };
            series.push(RateSeries {
                label: format!("{} / {} ({knee_text})", cell_label(c), c.id.store),
                points,
                knee,
                color: mode_color(&c.id.mode_label()),
            });
        }
        if series.is_empty() {
            continue;
        }
        charts.push(ChartPlan {
            id: format!("sweep-{}", slug(&w)),
            kind: ChartKind::RateSweep,
            title: format!("{w}: p99 against offered rate, per blueprint"),
            note: "Open loop; p99 from each request's intended start (coordinated omission corrected), median over trials; \
                   one colour per blueprint. The knee (triangle) is the highest rate whose p99 stays within the scenario's \
                   factor of the lowest rate's."
                .into(),
            data: ChartData::Sweep(format!("{w}: p99 vs offered rate"), series),
        });
    }
    // Start-up and phases per runtime.
    for w in workloads(&cells) {
        let mut of_workload: Vec<&&CellResult> = cells.iter().filter(|c| c.id.workload == w).collect();
        of_workload.sort_by_key(|c| mode_color(&c.id.mode_label()));
        let categories: Vec<String> = of_workload.iter().map(|c| cell_label(c)).collect();
        let category_colors: Vec<Option<usize>> = of_workload
            .iter()
            .map(|c| Some(mode_color(&c.id.mode_label())))
            .collect();
        let startup_series = vec![
            "cold start (host + daprd to first response)".to_owned(),
            "app host start".to_owned(),
            "sidecar start".to_owned(),
            "module compile".to_owned(),
        ];
        let values: Vec<Vec<Option<Bar>>> = of_workload
            .iter()
            .map(|c| {
                let t = &c.trials;
                let part = |f: &dyn Fn(&TrialResult) -> Option<f64>| {
                    estimate_of(&t.iter().filter_map(f).collect::<Vec<_>>()).map(|e| bar_of(&e, 1.0))
                };
                vec![
                    part(&|t| Some(t.cold_start_ms)),
                    part(&|t| Some(t.host_startup_ms)),
                    part(&|t| Some(t.sidecar_startup_ms)),
                    part(&|t| t.compile_ns.map(|ns| ns as f64 / 1e6)),
                ]
            })
            .collect();
        charts.push(ChartPlan {
            id: format!("coldstart-{}", slug(&w)),
            kind: ChartKind::ColdStart,
            title: format!("{w}: cold start and its parts"),
            note: "Spawning the app host and daprd until the first successful response through daprd, with the host's and \
                   the sidecar's own start-up and the module compile inside the host; median over trials with its interval (95 %, or the most the trials allow)."
                .into(),
            data: ChartData::Bars(BarChart {
                title: format!("{w}: cold start"),
                value_label: "milliseconds".into(),
                log: false,
                categories: categories.clone(),
                series: startup_series,
                values,
                category_colors: category_colors.clone(),
                ..BarChart::default()
            }),
        });
        let values: Vec<Vec<Option<Bar>>> = of_workload
            .iter()
            .map(|c| {
                vec![
                    phases_of(&c.trials, |p| p.instantiate_us),
                    phases_of(&c.trials, |p| p.call_us),
                    phases_of(&c.trials, |p| p.first_call_us),
                ]
            })
            .collect();
        if values.iter().flatten().any(Option::is_some) {
            charts.push(ChartPlan {
                id: format!("phases-{}", slug(&w)),
                kind: ChartKind::Phases,
                title: format!("{w}: per-request phases in the host"),
                note: "Means per request over the measured window as the host counts them (a fresh instance per request); \
                       first call is instantiate + call of the host's first request. Log scale."
                    .into(),
                data: ChartData::Bars(BarChart {
                    title: format!("{w}: phases"),
                    value_label: "microseconds (log)".into(),
                    log: true,
                    categories,
                    series: vec!["instantiate".into(), "call (incl. Dapr calls)".into(), "first call".into()],
                    values,
                    category_colors,
                    ..BarChart::default()
                }),
            });
        }
    }
    // Module sizes: workloads × languages.
    let mut sizes: BTreeMap<(String, String), u64> = BTreeMap::new();
    for c in results.cells.iter() {
        if let Some(size) = c.module_size_bytes {
            sizes.insert((c.id.workload.clone(), c.id.language.clone()), size);
        }
    }
    if !sizes.is_empty() {
        let mut categories: Vec<String> = Vec::new();
        let mut languages: Vec<String> = Vec::new();
        for (w, l) in sizes.keys() {
            if !categories.contains(w) {
                categories.push(w.clone());
            }
            if !languages.contains(l) {
                languages.push(l.clone());
            }
        }
        let values = categories
            .iter()
            .map(|w| {
                languages
                    .iter()
                    .map(|l| {
                        sizes.get(&(w.clone(), l.clone())).map(|b| Bar {
                            value: *b as f64 / 1024.0,
                            interval: None,
                        })
                    })
                    .collect()
            })
            .collect();
        charts.push(ChartPlan {
            id: "module-sizes".into(),
            kind: ChartKind::ModuleSize,
            title: "Guest module sizes".into(),
            note: "Size on disk of each workload's guest module per language. Log scale.".into(),
            data: ChartData::Bars(BarChart {
                title: "module size".into(),
                value_label: "KiB (log)".into(),
                log: true,
                categories,
                series: languages,
                values,
                ..BarChart::default()
            }),
        });
    }
    // Each blueprint's best cell per workload, overlaid.
    for w in workloads(&cells) {
        let mut best: Vec<&CellResult> = Vec::new();
        for c in cells.iter().copied().filter(|c| c.id.workload == w) {
            let rps = |c: &CellResult| c.summary.as_ref().map_or(0.0, |s| s.throughput_rps.median);
            match best.iter_mut().find(|b| b.id.mode_label() == c.id.mode_label()) {
                Some(b) if rps(b) < rps(c) => *b = c,
                Some(_) => {}
                None => best.push(c),
            }
        }
        best.sort_by_key(|c| mode_color(&c.id.mode_label()));
        let mut series = Vec::new();
        for c in best {
            if let Some(h) = merged(c.trials.iter().map(|t| t.load.latency_histogram.as_str()))? {
                series.push(SpectrumSeries {
                    label: format!("{} ({} / {})", c.id.mode_label(), c.id.runtime, c.id.language),
                    points: spectrum_points(&h),
                    dashed: false,
                    color: mode_color(&c.id.mode_label()),
                });
            }
        }
        if series.len() > 1 {
            charts.push(ChartPlan {
                id: format!("spectra-{}", slug(&w)),
                kind: ChartKind::BlueprintSpectra,
                title: format!("{w}: latency by percentile, per blueprint"),
                note: "Closed loop, service time from each send, all trials merged; each blueprint's cell with the \
                       highest throughput, in its blueprint's colour."
                    .into(),
                data: ChartData::Spectrum(format!("{w}: latency by percentile"), series),
            });
        }
    }
    // One latency spectrum per measured cell.
    for c in &cells {
        let mut series = Vec::new();
        if let Some(h) = merged(c.trials.iter().map(|t| t.load.latency_histogram.as_str()))? {
            series.push(SpectrumSeries {
                label: format!("closed loop, service time ({} requests)", h.len()),
                points: spectrum_points(&h),
                dashed: false,
                color: 0,
            });
        }
        for (i, rate) in spectrum_rates(c).into_iter().enumerate() {
            let at: Vec<_> = trials_at(c, rate).collect();
            let color = 1 + i;
            if let Some(h) = merged(at.iter().map(|p| p.load.latency_histogram.as_str()))? {
                series.push(SpectrumSeries {
                    label: format!("{rate:.0} req/s, from intended start (CO-corrected)"),
                    points: spectrum_points(&h),
                    dashed: false,
                    color,
                });
            }
            let service = at
                .iter()
                .filter_map(|p| p.load.open_loop.as_ref().map(|o| o.service_histogram.as_str()));
            if let Some(h) = merged(service)? {
                series.push(SpectrumSeries {
                    label: format!("{rate:.0} req/s, service time (from send)"),
                    points: spectrum_points(&h),
                    dashed: true,
                    color,
                });
            }
        }
        if series.is_empty() {
            continue;
        }
        charts.push(ChartPlan {
            id: format!("spectrum-{}", slug(&c.id.to_string())),
            kind: ChartKind::LatencySpectrum,
            title: format!("Latency by percentile: {}", c.id),
            note: "All trials merged. Closed loop: from each send. Open loop at the knee and the first rate past it: \
                   solid from the intended start (coordinated omission corrected), dashed from the actual send."
                .into(),
            data: ChartData::Spectrum(c.id.to_string(), series),
        });
    }
    Ok(charts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_ids() {
        assert_eq!(
            slug("noop/embedded+cache/wasmtime/rust/http/in-memory"),
            "noop-embedded-cache-wasmtime-rust-http-in-memory"
        );
        assert_eq!(slug("  A b "), "a-b");
    }

    #[test]
    fn spectrum_points_climb_towards_the_tail() {
        let mut h = blueprint_load::new_histogram();
        for i in 1..=10_000u64 {
            h.record(i * 1_000).unwrap();
        }
        let points = spectrum_points(&h);
        assert!(points.len() > 20);
        assert!(points.windows(2).all(|w| w[1].0 >= w[0].0 && w[1].1 >= w[0].1));
        let p99 = points.iter().find(|(x, _)| *x >= 100.0).unwrap();
        assert!((p99.1 - 9.9).abs() < 0.1, "{p99:?}");
    }
}
