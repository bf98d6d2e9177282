//! Results documents from chosen per-trial figures, for tests that read
//! results back without running anything.
#![allow(dead_code)]

use std::collections::BTreeMap;

use blueprint_analysis::results::{
    CellResult, CellStatus, CellSummary, Environment, LoadSummary, Percentiles, ProcessUsage, RunResults,
    SCHEMA_VERSION, ScenarioRecord, TrialResult, encode_histogram,
};
use blueprint_analysis::settings::{CellId, DaprSettings, LoadSettings, Meta};

/// One trial's figures.
#[derive(Debug, Clone, Copy)]
pub struct Fig {
    pub rps: f64,
    pub p50_us: f64,
    pub requests: u64,
    pub errors: u64,
}

pub fn fig(rps: f64, p50_us: f64) -> Fig {
    Fig {
        rps,
        p50_us,
        requests: 1000,
        errors: 0,
    }
}

fn load(f: Fig) -> LoadSummary {
    let mut h = blueprint_load::new_histogram();
    if f.requests > f.errors {
        h.record((f.p50_us * 1e3) as u64).unwrap();
    }
    let lat = f.p50_us;
    LoadSummary {
        requests: f.requests,
        successes: f.requests - f.errors,
        errors_total: f.errors,
        error_examples: Default::default(),
        error_rate: f.errors as f64 / f.requests as f64,
        errors: if f.errors > 0 {
            BTreeMap::from([("http-500".to_owned(), f.errors)])
        } else {
            BTreeMap::new()
        },
        duration_s: 1.0,
        throughput_rps: f.rps,
        latency_us: (f.requests > f.errors).then_some(Percentiles {
            mean: lat,
            p50: lat,
            p90: lat * 1.5,
            p99: lat * 3.0,
            p999: lat * 4.0,
            max: lat * 5.0,
        }),
        latency_histogram: encode_histogram(&h).unwrap(),
        latency_quantiles_us: None,
        censored: 0,
        lower_bound_from_quantile: None,
        generator: None,
        open_loop: None,
    }
}

pub fn trial(i: usize, f: Fig) -> TrialResult {
    TrialResult {
        trial: i,
        order: i,
        compile_ns: None,
        host_startup_ms: 10.0,
        sidecar_startup_ms: 20.0,
        host_idle_rss_bytes: None,
        cold_start_ms: 100.0,
        cold_start_steps: Vec::new(),
        load: load(f),
        processes: vec![ProcessUsage {
            role: "app".into(),
            pid: 1,
            cpu_s: 1.0,
            peak_rss_bytes: 30 << 20,
            start_rss_bytes: 20 << 20,
            cpus_allowed: None,
        }],
        cpu_per_request_us: Some(50.0),
        requests_per_cpu_s: Some(20_000.0),
        phases: None,
        dapr_metrics: BTreeMap::new(),
        sweep: Vec::new(),
        knee_rps: None,
        knee_limit: None,
        sweep_s: None,
        cache_hit_ratio: None,
        machine: None,
        contended_attempts: Vec::new(),
        pubsub: None,
    }
}

pub fn id(runtime: &str) -> CellId {
    CellId {
        workload: "noop".into(),
        mode: "embedded".into(),
        runtime: runtime.into(),
        language: "rust".into(),
        protocol: "http".into(),
        store: "in-memory".into(),
        trigger: "dapr".into(),
        instances: Default::default(),
    }
}

pub fn cell(runtime: &str, figs: &[Fig]) -> CellResult {
    let trials: Vec<TrialResult> = figs.iter().enumerate().map(|(i, f)| trial(i, *f)).collect();
    CellResult {
        id: id(runtime),
        status: CellStatus::Ok,
        runtime: None,
        module_size_bytes: None,
        module_sha256: None,
        summary: CellSummary::of(&trials, 0),
        trials,
        stopped: None,
    }
}

pub fn run(cells: Vec<CellResult>, trials: usize) -> RunResults {
    RunResults {
        schema_version: SCHEMA_VERSION,
        started_at: "2026-01-01T00:00:00+00:00".into(),
        environment: Environment {
            cpu: "Test CPU".into(),
            cores: 2,
            ..Environment::default()
        },
        scenario: ScenarioRecord {
            path: "t.toml".into(),
            meta: Meta {
                name: "t".into(),
                description: String::new(),
                seed: Some(1),
                budget: None,
            },
            load: LoadSettings {
                trials: blueprint_analysis::settings::Trials::fixed(trials),
                ..LoadSettings::default()
            },
            dapr: DaprSettings::default(),
            rotation: None,
        },
        cells,
        completed: true,
    }
}

/// `n` figures spread ±`spread` around `rps` and `p50_us`, deterministic.
pub fn figs(n: usize, rps: f64, p50_us: f64, spread: f64) -> Vec<Fig> {
    (0..n)
        .map(|i| {
            let k = [0.0, 0.8, -0.6, 0.3, -0.9, 0.5, -0.2, 1.0, -0.4, 0.1][i % 10];
            let f = 1.0 + k * spread;
            fig(rps * f, p50_us * f)
        })
        .collect()
}
