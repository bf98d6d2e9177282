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
///
/// 2: intervals are distribution-free with their actual level and may be
/// absent (one trial: `ci_low`/`ci_high` null, `confidence` 0); latency
/// figures are null without a successful request; `completed`, cell states
/// `pending` and `not-run`, and the summary's `requests` and `error_rate`.
/// Version 1 files still read (see [`read`]).
pub const SCHEMA_VERSION: u32 = 2;

/// The oldest schema version [`read`] accepts.
pub const OLDEST_SCHEMA_VERSION: u32 = 1;

/// Nominal confidence level of the intervals in a results file; each
/// interval also records the level it actually reaches.
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
    /// Whether the run got to its end. A writer sets `false` when it starts
    /// (the file is rewritten after every trial, so an interrupted run
    /// leaves a file behind) and `true` through
    /// [`RunResults::mark_completed`] once every cell has run. Files from
    /// before this field read as completed: they were only written whole
    /// in practice, and refusing every old baseline would help no one.
    #[serde(default = "absent_means_completed")]
    pub completed: bool,
}

fn absent_means_completed() -> bool {
    true
}

impl RunResults {
    /// The run reached its end: every cell still [`CellStatus::Pending`]
    /// (none should be) becomes [`CellStatus::NotRun`], then the document
    /// says it is complete.
    pub fn mark_completed(&mut self) {
        self.mark_not_run("the run ended before this cell ran");
        self.completed = true;
    }

    /// The run stops early (interrupted, or a failure that ends it): cells
    /// still pending become [`CellStatus::NotRun`] with `reason`, and the
    /// document stays incomplete.
    pub fn mark_interrupted(&mut self, reason: &str) {
        self.mark_not_run(reason);
        self.completed = false;
    }

    fn mark_not_run(&mut self, reason: &str) {
        for cell in &mut self.cells {
            if cell.status == CellStatus::Pending {
                cell.status = CellStatus::NotRun {
                    reason: reason.to_owned(),
                };
            }
        }
    }

    /// Cells that did not run to the end, each with why: pending or not run,
    /// and, in a file not marked completed, measured cells with fewer trials
    /// than the scenario asked for.
    pub fn unfinished_cells(&self) -> Vec<(CellId, String)> {
        let planned = self.scenario.load.trials.min;
        self.cells
            .iter()
            .filter_map(|c| {
                let why = match &c.status {
                    CellStatus::Pending => "pending: the run stopped before it".to_owned(),
                    CellStatus::NotRun { reason } => format!("not run: {reason}"),
                    CellStatus::Ok if !self.completed && c.trials.len() < planned => {
                        format!("{} of {planned} trials ran", c.trials.len())
                    }
                    _ => return None,
                };
                Some((c.id.clone(), why))
            })
            .collect()
    }

    /// Marked completed and no cell left unfinished.
    pub fn is_complete(&self) -> bool {
        self.completed && self.unfinished_cells().is_empty()
    }
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
    /// Tonight's share of a rotating scenario (`[rotation]`); `None` when
    /// every cell of the matrix ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<crate::settings::Rotation>,
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
    /// What child processes (daprd, hosts, stores) got from the harness's
    /// own environment (the harness sets the rest, e.g. API tokens): a test
    /// knob or a user's variable that changes the figures shows here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub child_environment: BTreeMap<String, String>,
    /// Variables the app host got on top: the runtime configuration one
    /// side of a same-run A/B differs by.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub app_environment: BTreeMap<String, String>,
    /// `[load] pin`: the CPUs the load generator and the system under test
    /// were given; `None` when nothing was pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinning: Option<CpuSplit>,
}

/// Disjoint CPU sets for the load generator and the system under test
/// (daprd, the app, the stores), so neither takes the other's CPU time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuSplit {
    /// The load generator's threads.
    pub load: Vec<usize>,
    /// Every child process of a trial.
    pub system_under_test: Vec<usize>,
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
    /// The CPUs it may run on (`Cpus_allowed_list` of `/proc/<pid>/status`)
    /// at the start of the window; shows `[load] pin` took effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus_allowed: Option<String>,
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
    /// Planned, not run yet: what a writer starts every cell as, so a file
    /// left by an interrupted run says which cells never ran.
    Pending,
    /// Planned but never run, and it will not be in this run.
    NotRun {
        /// Why (interrupted, a failure that ended the run).
        reason: String,
    },
}

impl CellStatus {
    /// `ok`, `failed: …`, `unavailable: …`, `n/a: …`, `pending`, `not run: …`.
    pub fn describe(&self) -> String {
        match self {
            CellStatus::Ok => "ok".into(),
            CellStatus::Failed { error } => format!("failed: {error}"),
            CellStatus::Unavailable { reason } => format!("unavailable: {reason}"),
            CellStatus::NotApplicable { reason } => format!("n/a: {reason}"),
            CellStatus::Pending => "pending".into(),
            CellStatus::NotRun { reason } => format!("not run: {reason}"),
        }
    }
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
    /// SHA-256 of the guest module file (hex), when the cell had one: what
    /// tells a scenario's own module from a rebuilt one of the same name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_sha256: Option<String>,
    /// Every trial, in the order they ran; each had fresh processes.
    pub trials: Vec<TrialResult>,
    /// Medians over the trials with confidence intervals.
    pub summary: Option<CellSummary>,
    /// Why the cell ran as many trials as it did; `None` in files from
    /// before it and for cells that did not finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<crate::adaptive::Stop>,
}

impl CellResult {
    /// A cell with only its id and status.
    pub fn bare(id: CellId, status: CellStatus) -> Self {
        Self {
            id,
            status,
            runtime: None,
            module_size_bytes: None,
            module_sha256: None,
            trials: Vec::new(),
            summary: None,
            stopped: None,
        }
    }

    /// Whether the cell's knee is only a lower bound: every swept trial
    /// passed its sweep's highest rate, or its generator fell behind first.
    /// False without a swept trial.
    pub fn knee_is_lower_bound(&self) -> bool {
        let mut swept = self.trials.iter().filter(|t| t.knee_rps.is_some()).peekable();
        swept.peek().is_some()
            && swept.all(|t| t.knee_limit.is_some_and(crate::sweep::KneeLimit::is_lower_bound))
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
    /// Where the cold start went: each readiness step as it first held
    /// (empty in files from before them). A slow cold start is read here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cold_start_steps: Vec<ColdStartStep>,
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
    /// What the rate above the knee ran into, when swept (`None` in files
    /// from before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knee_limit: Option<crate::sweep::KneeLimit>,
    /// Wall time of the rate sweep (every step, warm-ups and retests
    /// included), seconds; `None` without a sweep and in files from before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep_s: Option<f64>,
    /// `embedded+cache`: state gets answered by the host's cache over the
    /// window, as a fraction of all state gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_hit_ratio: Option<f64>,
    /// The machine over the measured window: CPU used by processes other
    /// than the trial's own, and steal time (from `/proc/stat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<MachineLoad>,
    /// Earlier attempts at this trial that ran under foreign load above
    /// [`MachineLoad::CONTENDED`] and were run again (`[load]
    /// rerun_contended`): their machine load, in order. Their figures are
    /// not kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contended_attempts: Vec<MachineLoad>,
    /// Trigger `pubsub`: what was published and what the app handled. The
    /// trial's `load` then counts events: its successes are the events the
    /// app handled, its latency runs from publishing to handling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pubsub: Option<PubsubFigures>,
}

/// One step of a trial's cold start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColdStartStep {
    /// The process and what was waited for (`app: port owned`, `daprd:
    /// healthz 2xx`, `first success, 3 attempts`).
    pub what: String,
    /// Milliseconds from that process's spawn (the first success: from the
    /// first spawn, as `cold_start_ms`) until it first held.
    pub after_ms: f64,
}

/// A pub/sub-triggered trial's events, counted by id: the harness names
/// every event it publishes, the app host records every delivery it
/// handled, and the two lists are compared once the deliveries stop.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PubsubFigures {
    /// The pub/sub component behind daprd (`pubsub.in-memory`, `pubsub.redis`).
    pub component: String,
    /// What the component promises about delivery, which says what a
    /// redelivery means.
    pub semantics: String,
    /// Open-loop publishing rate, events/s; `None`: as fast as daprd accepted them.
    pub rate: Option<f64>,
    /// Publish requests sent in the measured window.
    pub published: u64,
    /// Of those, accepted by daprd (2xx).
    pub accepted: u64,
    /// Publish requests daprd refused or that failed, by kind.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub publish_errors: BTreeMap<String, u64>,
    /// Accepted events the app handled successfully (each counted once).
    pub handled: u64,
    /// Accepted events the workload refused (answered `DROP`: a redelivery
    /// would be refused again).
    pub dropped: u64,
    /// Accepted events never delivered by the end of the drain.
    pub lost: u64,
    /// Deliveries beyond the first of an event (at-least-once brokers
    /// redeliver after a failure or a time-out).
    pub redeliveries: u64,
    /// Deliveries of ids the harness never published (another publisher on
    /// the topic): they are not counted as handled.
    #[serde(default)]
    pub foreign: u64,
    /// Handled events per second, from the first publish to the last
    /// handled event.
    pub delivered_per_s: f64,
    /// From the end of publishing until the last delivery, seconds.
    pub drain_s: f64,
    /// Every accepted event was handled or dropped exactly as published:
    /// nothing lost (redeliveries are reported, not failures).
    pub delivered_equals_published: bool,
}

/// Load on the machine from outside a trial's processes over its window:
/// the noise a reader must know to trust the trial's figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MachineLoad {
    /// Logical CPUs.
    pub cores: usize,
    /// Length of the window, seconds.
    pub window_s: f64,
    /// Busy CPU seconds of the whole machine minus those of the trial's own
    /// processes (load generator, daprd, app, store).
    pub foreign_cpu_s: f64,
    /// CPU seconds the hypervisor took (steal).
    pub steal_s: f64,
}

impl MachineLoad {
    /// Foreign and stolen CPU as a share of the machine over the window.
    pub fn noise(&self) -> f64 {
        if self.window_s <= 0.0 || self.cores == 0 {
            return 0.0;
        }
        (self.foreign_cpu_s + self.steal_s) / (self.window_s * self.cores as f64)
    }

    /// Above this share the trial ran on a busy machine and is flagged.
    pub const CONTENDED: f64 = 0.25;

    /// Whether the trial ran under foreign load above [`Self::CONTENDED`].
    pub fn contended(&self) -> bool {
        self.noise() > Self::CONTENDED
    }
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
    /// CPU of each process over this step's measured window; `None` in
    /// files from before steps were metered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<StepCpu>,
    /// A probe between the knee and the first failing rate after the ramp
    /// (see `sweep::next_bisection_rate`), not a step of the ramp itself.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bisection: bool,
}

/// What one sweep step cost: every process over exactly its measured window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepCpu {
    /// Load generator, daprd, app and store, as over a trial's window.
    pub processes: Vec<ProcessUsage>,
    /// CPU µs per successful request of the system under test (every
    /// process but the load generator); `None` without a success.
    pub per_success_us: Option<f64>,
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
    /// Instances the host created in the measured window.
    #[serde(default)]
    pub instances_created: u64,
    /// Requests of the window served on a reused warm instance
    /// (`instances = "reuse"`): the pool's hit count.
    #[serde(default)]
    pub instances_reused: u64,
}

/// A cell's figures over its trials: medians with confidence intervals.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CellSummary {
    /// Requests per second.
    pub throughput_rps: Estimate,
    /// Median latency, µs; `None` when a trial had no successful request
    /// (a latency of nothing is not 0).
    pub p50_us: Option<Estimate>,
    /// 99th percentile latency, µs; `None` as [`CellSummary::p50_us`].
    pub p99_us: Option<Estimate>,
    /// CPU per request of the system under test, µs.
    pub cpu_per_request_us: Option<Estimate>,
    /// Largest app-host RSS in the window, bytes.
    pub app_peak_rss_bytes: Option<Estimate>,
    /// Cold start of the whole blueprint, ms.
    pub cold_start_ms: Estimate,
    /// Errors over all trials.
    pub errors: u64,
    /// Requests over all trials, errors included (0 in files from before it).
    #[serde(default)]
    pub requests: u64,
    /// `errors / requests` over all trials; `None` without requests (and in
    /// files from before it: readers recompute it from the trials).
    #[serde(default)]
    pub error_rate: Option<f64>,
    /// The knee over the trials, when swept, requests/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knee_rps: Option<Estimate>,
}

/// Successful requests of a load window (`requests` counts errors too).
pub fn successes(load: &LoadSummary) -> u64 {
    load.requests.saturating_sub(error_count(load))
}

/// Failed requests of a load window, all kinds. Saturating, as every sum of
/// counts read from a file: a corrupted count must not overflow a reader.
pub fn error_count(load: &LoadSummary) -> u64 {
    load.errors.values().fold(0, |sum, n| sum.saturating_add(*n))
}

/// A window's latency percentiles, or `None` when no request succeeded:
/// the percentiles of an empty histogram read as 0 µs, which would make a
/// cell that failed every request look fastest.
pub fn latency(load: &LoadSummary) -> Option<&Percentiles> {
    load.latency_us.as_ref().filter(|_| successes(load) > 0)
}

/// Errors over requests (errors included) of some windows; `None` without
/// requests.
pub fn error_rate<'a>(loads: impl IntoIterator<Item = &'a LoadSummary>) -> Option<f64> {
    let (errors, requests) = loads.into_iter().fold((0u64, 0u64), |(e, r), l| {
        (e.saturating_add(error_count(l)), r.saturating_add(l.requests))
    });
    (requests > 0).then(|| errors as f64 / requests as f64)
}

impl CellSummary {
    /// The summary of a cell's trials; `None` without trials. `_seed` is
    /// unused (the intervals are no longer resampled) and kept for callers.
    pub fn of(trials: &[TrialResult], _seed: u64) -> Option<Self> {
        if trials.is_empty() {
            return None;
        }
        let of = |f: &dyn Fn(&TrialResult) -> f64| {
            crate::stats::estimate(&trials.iter().map(f).collect::<Vec<_>>(), CONFIDENCE)
        };
        // Only when every trial has the figure: a median over the trials
        // that happened to have it would drop the worst ones.
        let optional = |f: &dyn Fn(&TrialResult) -> Option<f64>| {
            let values: Vec<f64> = trials.iter().filter_map(f).collect();
            (values.len() == trials.len()).then(|| crate::stats::estimate(&values, CONFIDENCE))
        };
        let errors = trials
            .iter()
            .fold(0u64, |sum, t| sum.saturating_add(error_count(&t.load)));
        Some(Self {
            throughput_rps: of(&|t| t.load.throughput_rps),
            p50_us: optional(&|t| latency(&t.load).map(|l| l.p50)),
            p99_us: optional(&|t| latency(&t.load).map(|l| l.p99)),
            cpu_per_request_us: optional(&|t| t.cpu_per_request_us),
            app_peak_rss_bytes: optional(&|t| {
                t.processes
                    .iter()
                    .find(|p| p.role == "app")
                    .map(|p| p.peak_rss_bytes as f64)
            }),
            cold_start_ms: of(&|t| t.cold_start_ms),
            errors,
            requests: trials
                .iter()
                .fold(0, |sum, t| sum.saturating_add(t.load.requests)),
            error_rate: error_rate(trials.iter().map(|t| &t.load)),
            // A trial whose lowest rate already failed has knee 0.
            knee_rps: trials
                .iter()
                .any(|t| !t.sweep.is_empty())
                .then(|| of(&|t| t.knee_rps.unwrap_or(0.0))),
        })
    }
}

/// A cell's error rate: the summary's, else from its trials (files from
/// before the summary had it).
pub fn cell_error_rate(cell: &CellResult) -> Option<f64> {
    cell.summary
        .as_ref()
        .and_then(|s| s.error_rate)
        .or_else(|| error_rate(cell.trials.iter().map(|t| &t.load)))
}

/// Writes `value` as pretty JSON to `path` atomically: a temporary file in the
/// same folder, flushed to disk, then renamed over the target.
///
/// # Errors
/// The folder cannot be created or written.
pub fn write_atomic<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut json = serde_json::to_vec_pretty(value)?;
    json.push(b'\n');
    write_bytes_atomic(path, &json)
}

/// Writes `bytes` to `path` atomically, as [`write_atomic`] does.
///
/// # Errors
/// The folder cannot be created or written.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).with_context(|| format!("writing in {}", dir.display()))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

/// Reads a results document of schema version [`OLDEST_SCHEMA_VERSION`] to
/// [`SCHEMA_VERSION`]. Version 1 fields read into today's model (numbers
/// where options are now, no `completed`: read as completed).
///
/// # Errors
/// Unreadable, malformed, or of a schema version this reader does not know.
pub fn read(path: &Path) -> Result<RunResults> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).with_context(|| format!("reading results {}", path.display()))
}

/// Parses a results document (see [`read`]).
///
/// # Errors
/// Malformed, or of a schema version this reader does not know.
pub fn parse(text: &str) -> Result<RunResults> {
    #[derive(Deserialize)]
    struct Version {
        schema_version: u32,
    }
    // The version first: a newer file would otherwise fail on some field
    // with a message that hides the real cause.
    let version: Version = serde_json::from_str(text).map_err(|e| {
        // A cut or corrupted file is the common case; "no schema_version"
        // would send its reader looking for the wrong thing.
        let what = if e.is_data() {
            "no schema_version: not a results document"
        } else {
            "not valid JSON (a truncated or corrupted file?)"
        };
        anyhow::Error::new(e).context(what)
    })?;
    if !(OLDEST_SCHEMA_VERSION..=SCHEMA_VERSION).contains(&version.schema_version) {
        anyhow::bail!(
            "schema version {} is not one this blueprint-bench reads ({OLDEST_SCHEMA_VERSION} to {SCHEMA_VERSION}); \
             use a blueprint-bench that knows version {}",
            version.schema_version,
            version.schema_version
        );
    }
    serde_json::from_str(text).context("parsing the results document")
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
