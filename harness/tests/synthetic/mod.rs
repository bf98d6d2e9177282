//! Results documents built from chosen figures, for tests of the tools that
//! read results (compare, recommend, report) without running anything.
#![allow(dead_code)]

use std::collections::BTreeMap;

use blueprint_analysis::results::ProcessUsage;
use blueprint_analysis::results::{
    CellResult, CellStatus, Environment, LoadSummary, Percentiles, Phases, RunResults, SCHEMA_VERSION,
    ScenarioRecord, SweepPoint, TrialResult, encode_histogram,
};
use blueprint_analysis::settings::{CellId, DaprSettings, LoadSettings, Meta};
use blueprint_analysis::sweep::RatePoint;
use blueprint_load::summary::OpenLoopSummary;

/// A latency histogram (ns) whose median is about `p50_us` and whose 99th
/// percentile is about `p99_us`.
fn histogram(p50_us: f64, p99_us: f64) -> String {
    let mut h = blueprint_load::new_histogram();
    for i in 0..1000u64 {
        let us = if i < 985 {
            p50_us * (0.5 + i as f64 / 985.0)
        } else {
            p99_us * (1.0 + (i - 985) as f64 / 100.0)
        };
        h.record((us * 1e3) as u64).unwrap();
    }
    encode_histogram(&h).unwrap()
}

fn load(rps: f64, p50_us: f64, p99_us: f64, open: Option<f64>) -> LoadSummary {
    LoadSummary {
        requests: (rps * 5.0) as u64,
        successes: (rps * 5.0) as u64,
        errors: BTreeMap::new(),
        errors_total: 0,
        error_examples: Default::default(),
        error_rate: 0.0,
        censored: 0,
        lower_bound_from_quantile: None,
        generator: None,
        duration_s: 5.0,
        throughput_rps: rps,
        latency_us: Some(Percentiles {
            mean: p50_us,
            p50: p50_us,
            p90: (p50_us + p99_us) / 2.0,
            p99: p99_us,
            p999: p99_us * 1.2,
            max: p99_us * 1.5,
        }),
        latency_histogram: histogram(p50_us, p99_us),
        latency_quantiles_us: None,
        open_loop: open.map(|rate| OpenLoopSummary {
            arrival: blueprint_load::Arrival::Poisson,
            target_rate_rps: rate,
            achieved_rate_rps: rate,
            intended: (rate * 5.0) as u64,
            sent: (rate * 5.0) as u64,
            late: 0,
            late_waiting_for_connection: 0,
            missed: 0,
            late_threshold_us: 1000.0,
            max_send_lag_us: 10.0,
            seed: None,
            service_us: Some(blueprint_load::summary::Quantiles {
                mean: p50_us * 0.8,
                p50: p50_us * 0.8,
                p75: p50_us,
                p90: p50_us,
                p99: p99_us * 0.8,
                p999: p99_us,
                p9999: p99_us,
                max: p99_us,
            }),
            service_histogram: histogram(p50_us * 0.8, p99_us * 0.8),
        }),
    }
}

/// One trial's figures.
#[derive(Debug, Clone)]
pub struct Trial {
    pub rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub cpu_us: f64,
    pub rss_mib: f64,
    /// (rate, p99 µs) of an open-loop sweep, lowest first.
    pub sweep: Vec<(f64, f64)>,
    pub knee_factor: f64,
}

impl Trial {
    pub fn new(rps: f64, p50_us: f64, p99_us: f64) -> Self {
        Self {
            rps,
            p50_us,
            p99_us,
            cpu_us: 1e6 / rps,
            rss_mib: 30.0,
            sweep: Vec::new(),
            knee_factor: 3.0,
        }
    }

    pub fn sweep(mut self, points: &[(f64, f64)]) -> Self {
        self.sweep = points.to_vec();
        self
    }

    fn result(&self, index: usize) -> TrialResult {
        let floor = self.sweep.first().map_or(0.0, |p| p.1);
        let sweep: Vec<SweepPoint> = self
            .sweep
            .iter()
            .map(|&(rate, p99)| {
                let point = RatePoint {
                    target_rps: rate,
                    achieved_rps: rate,
                    p99_us: p99,
                    errors: 0,
                    requests: (rate * 5.0) as u64,
                    intended: (rate * 5.0) as u64,
                    sent: (rate * 5.0) as u64,
                    p99_lower_bound: false,
                    generator_bound: false,
                    machine_saturated: false,
                    seed: None,
                    attempt: 0,
                };
                SweepPoint {
                    point,
                    within_knee: blueprint_analysis::sweep::passes(&point, floor, self.knee_factor),
                    load: load(rate, p99 / 3.0, p99, Some(rate)),
                    cpu: Some(blueprint_analysis::results::StepCpu {
                        processes: Vec::new(),
                        per_success_us: Some(self.cpu_us),
                    }),
                    bisection: false,
                }
            })
            .collect();
        let points: Vec<RatePoint> = sweep.iter().map(|s| s.point).collect();
        TrialResult {
            trial: index,
            order: index,
            compile_ns: Some(25_000_000),
            host_startup_ms: 40.0,
            sidecar_startup_ms: 60.0,
            host_idle_rss_bytes: Some(20 << 20),
            cold_start_ms: 110.0 + index as f64,
            cold_start_steps: Vec::new(),
            load: load(self.rps, self.p50_us, self.p99_us, None),
            // daprd and the app share the system's CPU per request 60/40;
            // the load generator spends a fifth of it on top.
            processes: [("daprd", 0.6), ("app", 0.4), ("load-generator", 0.2)]
                .iter()
                .map(|(role, share)| ProcessUsage {
                    role: (*role).into(),
                    pid: 1,
                    cpu_s: share * self.cpu_us * self.rps * 5.0 / 1e6,
                    peak_rss_bytes: (self.rss_mib * 1024.0 * 1024.0) as u64,
                    start_rss_bytes: 20 << 20,
                    cpus_allowed: None,
                })
                .collect(),
            cpu_per_request_us: Some(self.cpu_us),
            requests_per_cpu_s: Some(1e6 / self.cpu_us),
            phases: Some(Phases {
                instantiate_us: 15.0,
                call_us: 25.0,
                first_call_us: 200.0,
                instances_created: 0,
                instances_reused: 0,
            }),
            dapr_metrics: BTreeMap::new(),
            knee_rps: blueprint_analysis::sweep::knee(&points, self.knee_factor),
            knee_limit: blueprint_analysis::sweep::assess(&points, self.knee_factor).limit,
            sweep_s: None,
            sweep,
            cache_hit_ratio: None,
            machine: None,
            contended_attempts: Vec::new(),
            pubsub: None,
        }
    }
}

pub fn id(workload: &str, mode: &str, runtime: &str, language: &str) -> CellId {
    CellId {
        workload: workload.into(),
        mode: mode.into(),
        runtime: runtime.into(),
        language: language.into(),
        protocol: "http".into(),
        store: "in-memory".into(),
        trigger: "dapr".into(),
        instances: Default::default(),
    }
}

/// A measured cell.
pub fn cell(id: CellId, trials: &[Trial]) -> CellResult {
    let results: Vec<TrialResult> = trials.iter().enumerate().map(|(i, t)| t.result(i)).collect();
    CellResult {
        id,
        status: CellStatus::Ok,
        runtime: None,
        module_size_bytes: Some(32 * 1024),
        module_sha256: None,
        summary: blueprint_analysis::results::CellSummary::of(&results, 7),
        trials: results,
        stopped: None,
    }
}

/// A cell that was not measured.
pub fn unmeasured(id: CellId, status: CellStatus) -> CellResult {
    CellResult::bare(id, status)
}

/// `n` trials around the given figures, spread by ±`spread` (a fraction),
/// deterministic.
pub fn trials(n: usize, rps: f64, p50_us: f64, p99_us: f64, spread: f64) -> Vec<Trial> {
    (0..n)
        .map(|i| {
            // -1 … +1 in an interleaved order, so no trend lines up with the index.
            let k = [0.0, 0.8, -0.6, 0.3, -0.9, 0.5, -0.2, 1.0, -0.4, 0.1][i % 10];
            let f = 1.0 + k * spread;
            Trial::new(rps * f, p50_us * f, p99_us * f)
        })
        .collect()
}

/// A results document.
pub fn run(cells: Vec<CellResult>) -> RunResults {
    RunResults {
        schema_version: SCHEMA_VERSION,
        started_at: "2026-01-01T00:00:00+00:00".into(),
        environment: Environment {
            cpu: "Test CPU".into(),
            cores: 2,
            git_revision: "abc123".into(),
            ..Environment::default()
        },
        scenario: ScenarioRecord {
            path: "synthetic.toml".into(),
            meta: Meta {
                name: "synthetic".into(),
                description: "figures chosen by a test".into(),
                seed: Some(1),
                budget: None,
            },
            load: LoadSettings {
                trials: blueprint_analysis::settings::Trials::fixed(
                    cells.iter().map(|c| c.trials.len()).max().unwrap_or(1),
                ),
                ..LoadSettings::default()
            },
            dapr: DaprSettings::default(),
            rotation: None,
        },
        cells,
        completed: true,
    }
}

/// Writes a document to `dir/name.json`.
pub fn write(dir: &std::path::Path, name: &str, results: &RunResults) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.json"));
    blueprint_analysis::results::write_atomic(&path, results).unwrap();
    path
}
