//! Soak: one cell per blueprint under a steady open-loop load for
//! `BLUEPRINT_SOAK_MINUTES` (default 30), with the resident memory and the
//! open file descriptors of daprd, the app and the load generator (this
//! process) sampled every 10 s. A blueprint passes when no request failed and
//! no process's RSS or descriptor count at the end is more than 10 % above
//! its value once settled (after the first minute, or the first fifth of a
//! shorter soak).
//!
//! The rate is 70 % of the cell's closed-loop capacity (4 connections,
//! 5 s), measured first on the same system, with at most 4 requests in
//! flight as then; the closed-loop capacity is at or above the knee, so the
//! rate errs on the side of more load.
//!
//! `cargo bench --bench soak` runs every blueprint; `-- --bench MODE…`
//! only those modes (`MODE/RUNTIME`: one cell). One Markdown row per
//! blueprint and process on stdout, then each cell's served rate per tenth
//! of the soak and each process's RSS over time (a rate that falls while a
//! process grows is a leak that costs time as well as memory). The
//! generator's RSS is judged net of the bytes its recorders hold for that
//! series at the same sample (`blueprint_load::series_bytes`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use blueprint_analysis::modes::Mode;
use blueprint_bench::blueprint::{self, RunContext};
use blueprint_bench::scenario::{CellId, DaprSettings};
use blueprint_bench::{daprd, meter, paths, workloads};
use blueprint_load::{self as load, Arrival, LoadSpec};
use bytes::Bytes;

/// The cells: each blueprint once, on a stateful workload where the mode can
/// reach Dapr (the paths that hold connections and caches) and a pure one
/// where it cannot.
const CELLS: &[(Mode, &str, &str)] = &[
    (Mode::Embedded, "wasmtime", "counter"),
    (Mode::EmbeddedCache, "wasmtime", "counter"),
    (Mode::StandaloneHttp, "wasmtime", "counter"),
    (Mode::Embedded, "wazero", "counter"),
    (Mode::Middleware, "wazero-in-daprd", "transform"),
    (Mode::Binding, "wazero-in-daprd", "transform"),
];

const SAMPLE_EVERY: Duration = Duration::from_secs(10);
const FLAT_WITHIN: f64 = 0.10;
/// Points of the time series printed under the table.
const SERIES_POINTS: u32 = 10;

/// One sample of one process.
#[derive(Clone, Copy, Debug)]
struct Sample {
    at: Duration,
    rss_bytes: u64,
    fds: u64,
    /// Of `rss_bytes`, what the process holds by design: the load
    /// generator's time series (this process); 0 for the others.
    series_bytes: u64,
}

impl Sample {
    /// The RSS a leak would show in.
    fn net_rss(&self) -> u64 {
        self.rss_bytes.saturating_sub(self.series_bytes)
    }
}

fn open_fds(pid: u32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}

/// Samples every process until `stop`, every [`SAMPLE_EVERY`].
fn sample(processes: Vec<(&'static str, u32)>, stop: Arc<AtomicBool>) -> Vec<(&'static str, Vec<Sample>)> {
    let start = Instant::now();
    let mut out: Vec<(&'static str, Vec<Sample>)> =
        processes.iter().map(|(role, _)| (*role, Vec::new())).collect();
    let mut next = start;
    while !stop.load(Ordering::Relaxed) {
        if Instant::now() >= next {
            for ((_, pid), (_, samples)) in processes.iter().zip(out.iter_mut()) {
                if let (Some(rss_bytes), Some(fds)) = (meter::rss_bytes(*pid), open_fds(*pid)) {
                    let own = *pid == std::process::id();
                    samples.push(Sample {
                        at: start.elapsed(),
                        rss_bytes,
                        fds,
                        series_bytes: if own { load::series_bytes() } else { 0 },
                    });
                }
            }
            next += SAMPLE_EVERY;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    out
}

/// The settled sample (the first at or after `settle`) and the last one
/// taken while the load still ran (before `end`: the generator closes its
/// connections as the window ends).
fn ends(samples: &[Sample], settle: Duration, end: Duration) -> Option<(Sample, Sample)> {
    let during: Vec<&Sample> = samples.iter().filter(|s| s.at < end).collect();
    let first = during.iter().find(|s| s.at >= settle).or(during.first())?;
    Some((**first, **during.last()?))
}

fn change(from: u64, to: u64) -> f64 {
    (to as f64 - from as f64) / (from as f64).max(1.0)
}

/// A request body the workload answers successfully.
fn body(workload: &str) -> Bytes {
    if workload == "counter" {
        return Bytes::from_static(b"soak");
    }
    let vectors = workloads::load_vectors(&paths::project_dir(), workload).expect("golden vectors");
    let case = vectors
        .cases
        .iter()
        .find(|c| matches!(c.expected(), Ok(workloads::Expected::Output(_))))
        .expect("a succeeding vector");
    Bytes::from(case.input_bytes().expect("its input"))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Under `cargo test --benches` there is nothing to soak: say so and stop.
    if !args.iter().any(|a| a == "--bench") {
        println!("soak: run with `cargo bench --bench soak` (BLUEPRINT_SOAK_MINUTES, default 30)");
        return;
    }
    let only: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(String::as_str)
        .collect();
    let minutes: f64 = std::env::var("BLUEPRINT_SOAK_MINUTES")
        .ok()
        .map(|m| m.parse().expect("BLUEPRINT_SOAK_MINUTES: a number of minutes"))
        .unwrap_or(30.0);
    let soak = Duration::from_secs_f64(minutes * 60.0);
    let settle = Duration::from_secs(60).min(soak / 5);

    let project = paths::project_dir();
    let cache = paths::cache_dir();
    let daprd = daprd::resolve(None).expect("daprd");
    let catalog = workloads::build_languages(&project, &cache, &["rust"]).expect("the Rust guests");
    println!(
        "soak of {minutes} min per blueprint, sampled every {SAMPLE_EVERY:?}, settled after {settle:?}\n"
    );
    println!(
        "| blueprint | runtime | workload | rate req/s | requests | errors | process | RSS settled → end MiB | fds settled → end | verdict |"
    );
    println!("|---|---|---|---:|---:|---:|---|---:|---:|---|");
    // Printed after the table: served rate and RSS over time, per cell.
    let mut series = Vec::new();
    for &(mode, runtime, workload) in CELLS.iter().filter(|(m, r, _)| {
        only.is_empty() || only.contains(&m.as_str()) || only.contains(&format!("{m}/{r}").as_str())
    }) {
        let dir = tempfile::tempdir().expect("temp dir");
        let ctx = RunContext {
            project: project.clone(),
            cache: cache.clone(),
            daprd: daprd.clone(),
            host_program: env!("CARGO_BIN_EXE_blueprint-bench").into(),
            work_dir: dir.path().to_owned(),
            app_env: Vec::new(),
            pinning: None,
        };
        let id = CellId {
            workload: workload.into(),
            mode: mode.as_str().into(),
            runtime: runtime.into(),
            language: "rust".into(),
            protocol: "http".into(),
            store: "in-memory".into(),
            trigger: "dapr".into(),
            instances: Default::default(),
        };
        let resolved = match blueprint::resolve(&project, &id, &catalog).expect("resolving") {
            Ok(resolved) => resolved,
            Err(status) => {
                println!("| {mode} | {runtime} | {workload} | — | — | — | — | — | — | not run: {status:?} |");
                continue;
            }
        };
        let system = blueprint::start(
            &ctx,
            &DaprSettings::default(),
            &id,
            &resolved,
            body(workload),
            dir.path(),
        )
        .await
        .unwrap_or_else(|e| panic!("{id}: {e:#}"));
        let capacity = load::run(
            &system.target,
            &LoadSpec {
                connections: 4,
                warmup: Duration::from_secs(1),
                duration: Duration::from_secs(5),
                http2: system.http2,
                ..LoadSpec::default()
            },
        )
        .await
        .expect("capacity run");
        let successes = capacity.requests - capacity.errors.values().sum::<u64>();
        let rate = 0.7 * successes as f64 / capacity.elapsed.as_secs_f64();

        let mut processes = system.processes();
        processes.push(("load-generator", std::process::id()));
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let stop = stop.clone();
            std::thread::spawn(move || sample(processes, stop))
        };
        let report = load::run(
            &system.target,
            &LoadSpec {
                // The capacity run's concurrency: more requests in flight on
                // the counter's one key turn into etag conflicts (422), which
                // measure contention, not endurance.
                connections: 4,
                duration: soak,
                timeout: Duration::from_secs(5),
                // Ten intervals, for the served rate over time: a log of
                // thousands of interval histograms would grow this
                // process's own RSS.
                interval: soak / SERIES_POINTS,
                mode: load::Mode::Open {
                    rate,
                    arrival: Arrival::Poisson,
                    seed: 1,
                },
                http2: system.http2,
                ..LoadSpec::default()
            },
        )
        .await
        .expect("soak run");
        stop.store(true, Ordering::Relaxed);
        let samples = sampler.join().expect("sampler");
        system.stop();

        let errors: u64 = report.errors.values().sum();
        if errors > 0 {
            // The processes' logs are the only evidence of why: keep them.
            let kept = dir.keep();
            eprintln!(
                "{mode}: {errors} failed request(s); the logs are in {}",
                kept.display()
            );
            for (kind, body) in &report.error_examples {
                eprintln!("{mode}: the first {kind} answered: {:?}", body.trim());
            }
        }
        let kinds: Vec<String> = report.errors.iter().map(|(k, n)| format!("{n} × {k}")).collect();
        let errors = if errors == 0 {
            "0".to_owned()
        } else {
            format!("{errors} ({})", kinds.join(", "))
        };
        let served: Vec<String> = report
            .intervals
            .iter()
            // Completions after the window (its grace) fall in an eleventh.
            .filter(|i| i.start < soak)
            .map(|i| format!("{:.0}", i.latency.len() as f64 / i.length.as_secs_f64().max(1e-9)))
            .collect();
        series.push(format!(
            "- {mode}/{runtime}/{workload}: served req/s per tenth: {}",
            served.join(", ")
        ));
        let mib = |b: u64| b as f64 / (1 << 20) as f64;
        for (role, samples) in &samples {
            let step = (samples.len() / SERIES_POINTS as usize).max(1);
            let points = |of: fn(&Sample) -> u64| -> String {
                let mibs: Vec<String> = samples
                    .iter()
                    .step_by(step)
                    .map(|s| format!("{:.1}", mib(of(s))))
                    .collect();
                mibs.join(", ")
            };
            series.push(format!("  - {role} RSS MiB: {}", points(|s| s.rss_bytes)));
            if samples.iter().any(|s| s.series_bytes > 0) {
                series.push(format!(
                    "  - {role} of it, its series histograms, MiB: {}",
                    points(|s| s.series_bytes)
                ));
            }
        }
        for (role, samples) in samples {
            let Some((first, last)) = ends(&samples, settle, soak.saturating_sub(SAMPLE_EVERY / 2)) else {
                continue;
            };
            let (rss, fds) = (
                change(first.net_rss(), last.net_rss()),
                change(first.fds, last.fds),
            );
            // Growth is what a leak looks like; a process that gives memory
            // back is not one.
            let flat = rss <= FLAT_WITHIN && fds <= FLAT_WITHIN;
            let verdict = match (flat, errors.as_str()) {
                (true, "0") => "flat, no errors".to_owned(),
                (true, _) => "flat, ERRORS".to_owned(),
                (false, _) => format!("GREW (RSS {:+.0} %, fds {:+.0} %)", rss * 100.0, fds * 100.0),
            };
            let mut rss_column = format!("{:.1} → {:.1}", mib(first.rss_bytes), mib(last.rss_bytes));
            if last.series_bytes > 0 {
                rss_column += &format!(
                    " (net of series {:.1} → {:.1})",
                    mib(first.net_rss()),
                    mib(last.net_rss())
                );
            }
            println!(
                "| {mode} | {runtime} | {workload} | {rate:.0} | {} | {errors} | {role} | {rss_column} | {} → {} | {verdict} |",
                report.requests, first.fds, last.fds
            );
        }
    }
    println!("\n{}", series.join("\n"));
}
