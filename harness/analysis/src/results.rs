//! The results document: data only, versioned, written atomically.
//!
//! One JSON file per run. Histograms are kept whole (HdrHistogram V2 +
//! DEFLATE, base64), so runs can be merged and re-analysed later without
//! re-running anything. `results/schema.json` describes the format and a test
//! checks that a written document has every field it lists.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
pub use blueprint_load::{LoadSummary, Percentiles, decode_histogram, encode_histogram};
use serde::{Deserialize, Serialize};

use crate::settings::{CellId, DaprSettings, LoadSettings, Meta};
use crate::stats::Estimate;

/// Bumped on any change a reader could notice.
pub const SCHEMA_VERSION: u32 = 1;

/// Confidence level of every interval in a results file.
pub const CONFIDENCE: f64 = 0.95;

/// A whole run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResults {
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// Where it ran.
    pub environment: Environment,
    /// What was asked.
    pub scenario: ScenarioRecord,
    /// One entry per cell, in the order they ran.
    pub cells: Vec<CellResult>,
}

/// The scenario as run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioRecord {
    /// The file.
    pub path: String,
    /// `[scenario]`.
    pub meta: Meta,
    /// `[load]`.
    pub load: LoadSettings,
    /// `[dapr]`.
    pub dapr: DaprSettings,
}

/// The machine and software a run measured.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Environment {
    /// CPU model name.
    pub cpu: String,
    /// Logical cores available.
    pub cores: usize,
    /// Memory in bytes.
    pub memory_bytes: u64,
    /// Kernel release.
    pub kernel: String,
    /// `blueprint-bench` version.
    pub harness_version: String,
    /// Git revision of the checkout (with `-dirty` when modified).
    pub git_revision: String,
    /// daprd version and origin.
    pub daprd: Option<Daprd>,
    /// Runtime name → version.
    pub runtimes: BTreeMap<String, String>,
}

/// A daprd binary and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Daprd {
    /// The executable.
    pub path: PathBuf,
    /// What `daprd --version` printed.
    pub version: String,
    /// `flag`, `env`, `dapr-init` or `built`.
    pub source: String,
}

/// One process's usage over a measured window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessUsage {
    /// `load-generator`, `daprd`, `app`, `redis`.
    pub role: String,
    /// Its pid.
    pub pid: u32,
    /// User + system CPU seconds in the window.
    pub cpu_s: f64,
    /// Largest resident set sampled in the window, bytes.
    pub peak_rss_bytes: u64,
    /// Resident set at the start of the window, bytes.
    pub start_rss_bytes: u64,
}

/// How one cell ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum CellStatus {
    /// Measured.
    Ok,
    /// Tried and failed; the run went on.
    Failed {
        /// Why.
        error: String,
    },
    /// Could not be tried on this machine.
    Unavailable {
        /// Why, and the fix.
        reason: String,
    },
    /// Does not make sense (e.g. a stateful workload as middleware).
    NotApplicable {
        /// Why.
        reason: String,
    },
}

/// One cell's outcome and figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CellResult {
    /// Which combination.
    pub id: CellId,
    /// How it ended.
    #[serde(flatten)]
    pub status: CellStatus,
    /// Runtime name, version and engine configuration, as the host reported.
    pub runtime: Option<blueprint_runtime_api::RuntimeInfo>,
    /// Guest module size on disk.
    pub module_size_bytes: Option<u64>,
    /// Every trial, in the order they ran; each had fresh processes.
    pub trials: Vec<TrialResult>,
    /// Medians over the trials with confidence intervals.
    pub summary: Option<CellSummary>,
}

impl CellResult {
    /// A cell with only its id and status.
    pub fn bare(id: CellId, status: CellStatus) -> Self {
        Self {
            id,
            status,
            runtime: None,
            module_size_bytes: None,
            trials: Vec::new(),
            summary: None,
        }
    }
}

/// One trial of a cell: fresh host and daprd, warm-up, measured window.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrialResult {
    /// Trial number within the cell (0-based).
    pub trial: usize,
    /// Position in the run's shuffled order.
    pub order: usize,
    /// Module compile time in the host.
    pub compile_ns: Option<u64>,
    /// Spawning the app host until it is healthy.
    pub host_startup_ms: f64,
    /// Spawning daprd until `/v1.0/healthz` answers.
    pub sidecar_startup_ms: f64,
    /// The app host's resident set once healthy, before any request, bytes.
    #[serde(default)]
    pub host_idle_rss_bytes: Option<u64>,
    /// Spawning the host and daprd until the first successful response through daprd.
    pub cold_start_ms: f64,
    /// Load figures of the measured window.
    pub load: LoadSummary,
    /// CPU and memory per process over the measured window.
    pub processes: Vec<ProcessUsage>,
    /// CPU microseconds per request of the system under test (daprd + app + stores).
    pub cpu_per_request_us: Option<f64>,
    /// Requests per CPU-second of the system under test.
    pub requests_per_cpu_s: Option<f64>,
    /// Per-request phase means inside the host over the window.
    pub phases: Option<Phases>,
    /// daprd's Prometheus counters and buckets: after minus before the window.
    pub dapr_metrics: BTreeMap<String, f64>,
    /// Open-loop points of a rate sweep, in the order they ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sweep: Vec<SweepPoint>,
    /// The highest rate within the knee (see `sweep`), when swept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knee_rps: Option<f64>,
    /// `embedded+cache`: state gets answered by the host's cache over the
    /// window, as a fraction of all state gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_hit_ratio: Option<f64>,
}

/// One rate of a sweep.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepPoint {
    /// The figures the knee is judged on.
    pub point: crate::sweep::RatePoint,
    /// Whether it passed against the lowest rate's p99.
    pub within_knee: bool,
    /// The full open-loop figures.
    pub load: LoadSummary,
}

/// Host-side phase timings (from the host's `GET /stats`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Phases {
    /// Mean time to create a fresh instance, µs.
    pub instantiate_us: f64,
    /// Mean time of the guest call incl. its Dapr host calls, µs.
    pub call_us: f64,
    /// Instantiate + call of the host's first request, µs.
    pub first_call_us: f64,
}

/// A cell's figures over its trials: medians with confidence intervals.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CellSummary {
    /// Requests per second.
    pub throughput_rps: Estimate,
    /// Median latency, µs.
    pub p50_us: Estimate,
    /// 99th percentile latency, µs.
    pub p99_us: Estimate,
    /// CPU per request of the system under test, µs.
    pub cpu_per_request_us: Option<Estimate>,
    /// Largest app-host RSS in the window, bytes.
    pub app_peak_rss_bytes: Option<Estimate>,
    /// Cold start of the whole blueprint, ms.
    pub cold_start_ms: Estimate,
    /// Errors over all trials.
    pub errors: u64,
    /// The knee over the trials, when swept, requests/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knee_rps: Option<Estimate>,
}

impl CellSummary {
    pub fn of(trials: &[TrialResult], seed: u64) -> Option<Self> {
        if trials.is_empty() {
            return None;
        }
        let of = |f: &dyn Fn(&TrialResult) -> f64| {
            crate::stats::estimate(&trials.iter().map(f).collect::<Vec<_>>(), CONFIDENCE, seed)
        };
        let optional = |f: &dyn Fn(&TrialResult) -> Option<f64>| {
            let values: Vec<f64> = trials.iter().filter_map(f).collect();
            (values.len() == trials.len()).then(|| crate::stats::estimate(&values, CONFIDENCE, seed))
        };
        Some(Self {
            throughput_rps: of(&|t| t.load.throughput_rps),
            p50_us: of(&|t| t.load.latency_us.p50),
            p99_us: of(&|t| t.load.latency_us.p99),
            cpu_per_request_us: optional(&|t| t.cpu_per_request_us),
            app_peak_rss_bytes: optional(&|t| {
                t.processes
                    .iter()
                    .find(|p| p.role == "app")
                    .map(|p| p.peak_rss_bytes as f64)
            }),
            cold_start_ms: of(&|t| t.cold_start_ms),
            errors: trials.iter().map(|t| t.load.errors.values().sum::<u64>()).sum(),
            // A trial whose lowest rate already failed has knee 0.
            knee_rps: trials
                .iter()
                .any(|t| !t.sweep.is_empty())
                .then(|| of(&|t| t.knee_rps.unwrap_or(0.0))),
        })
    }
}

/// Writes `value` as pretty JSON to `path` atomically: a temporary file in the
/// same folder, flushed to disk, then renamed over the target.
///
/// # Errors
/// The folder cannot be created or written.
pub fn write_atomic<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).with_context(|| format!("writing in {}", dir.display()))?;
    serde_json::to_writer_pretty(&mut tmp, value)?;
    tmp.write_all(b"\n")?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

/// Reads a results document.
///
/// # Errors
/// Unreadable, malformed, or from a newer schema.
pub fn read(path: &Path) -> Result<RunResults> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let results: RunResults =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    if results.schema_version > SCHEMA_VERSION {
        anyhow::bail!(
            "{} has schema version {}, this blueprint-bench reads up to {SCHEMA_VERSION}",
            path.display(),
            results.schema_version
        );
    }
    Ok(results)
}

/// `results/runs/<scenario>-<timestamp>.json`.
pub fn default_path(runs_dir: &Path, scenario: &str, started: &chrono::DateTime<chrono::Utc>) -> PathBuf {
    runs_dir.join(format!("{scenario}-{}.json", started.format("%Y%m%dT%H%M%SZ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_round_trip_through_base64() {
        let mut h = blueprint_load::new_histogram();
        for v in [1_000u64, 2_000, 2_000, 1_000_000, 7_000_000_000] {
            h.record(v).unwrap();
        }
        let back = decode_histogram(&encode_histogram(&h).unwrap()).unwrap();
        assert_eq!(back.len(), 5);
        assert_eq!(back.max(), h.max());
        assert_eq!(back.value_at_quantile(0.5), h.value_at_quantile(0.5));
        assert!(decode_histogram("not base64!").is_err());
    }

    #[test]
    fn atomic_write_replaces_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/r.json");
        write_atomic(&path, &serde_json::json!({"a": 1})).unwrap();
        write_atomic(&path, &serde_json::json!({"a": 2})).unwrap();
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["a"], 2);
        assert_eq!(
            std::fs::read_dir(dir.path().join("sub")).unwrap().count(),
            1,
            "no temp file left"
        );
    }
}
