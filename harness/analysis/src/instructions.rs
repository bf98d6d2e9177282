//! Counted work: instructions the Wasm host process executes to compile a
//! guest, instantiate it and handle a request, counted under Valgrind's
//! callgrind (`blueprint-bench instructions`), and their comparison.
//!
//! Why counts: wall time and CPU time move with the machine's load, so two
//! runs on a shared machine differ by more than a regression worth catching
//! (results/README.md). Retired instructions of the same code on the same
//! input do not: callgrind simulates the program on one core and counts
//! every instruction, whatever else the machine runs. They are what
//! rustc-perf, Sightglass and iai-callgrind gate on. They cover one process
//! (the runtime, the guest, the host's ABI), not daprd or the network, and
//! say nothing of cache misses or parallelism: a gate, not a benchmark.
//!
//! Workloads that call Dapr run against a real daprd outside the counted
//! process; their requests and each host call are counted on the calling
//! thread and the host's gRPC thread (the Tokio worker that speaks HTTP/2 to
//! daprd), and nothing of daprd itself.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::stats;

/// The document's schema name; bumped when a field changes meaning.
pub const SCHEMA: &str = "blueprint-bench/instructions/v1";

/// Default gate threshold, percent. Repeated counts of one build's compile
/// and requests agree within 0.01 % (results/README.md), so a change of
/// 0.5 % is far beyond the noise, and a 1 % change in a guest's work is
/// caught. `instantiate` has a floor of its own ([`phase_noise_pct`]).
pub const DEFAULT_THRESHOLD_PCT: f64 = 0.5;

/// The least change a phase needs to be a change, percent, whatever the
/// threshold: what its count moved by between runs of one build here. Only
/// `instantiate` moves: by up to 5.5 % over three runs of a cell, and by
/// 7.6 % in a CI run under the gate test's CPU hog (creating and dropping
/// instances goes through the allocator, whose heap state the runtime's
/// other threads share), where compile moved by < 0.01 % and requests not
/// at all (results/README.md). For cells that call Dapr see
/// [`DAPR_CALL_NOISE_PCT`].
pub fn phase_noise_pct(phase: &str) -> f64 {
    match phase {
        "instantiate" => 10.0,
        _ => 0.0,
    }
}

/// The floor of the request phases and each host call of a cell that calls
/// Dapr, percent. A gRPC call's count depends on how daprd's answer arrives
/// (already there when the client reads, or after it parks; in one HTTP/2
/// frame or two): over runs of a cell here, a host call and a request moved
/// by up to 2.25 %, the first request (which opens the store's key) by up to
/// 4.3 % (results/README.md).
pub const DAPR_CALL_NOISE_PCT: f64 = 5.0;

/// A phase's floor in `cell`: [`phase_noise_pct`], or
/// [`DAPR_CALL_NOISE_PCT`] for the phases a Dapr call is part of.
pub fn cell_noise_pct(cell: &CountCell, phase: &str) -> f64 {
    let calls_dapr = cell.repetitions.iter().any(|r| !r.host_calls.is_empty());
    let with_calls =
        phase == "first_request" || phase == "per_request" || phase.starts_with(HOST_CALL_PREFIX);
    if calls_dapr && with_calls {
        DAPR_CALL_NOISE_PCT.max(phase_noise_pct(phase))
    } else {
        phase_noise_pct(phase)
    }
}

/// One `instructions` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstructionRun {
    /// [`SCHEMA`].
    pub schema: String,
    /// When it ran (RFC 3339, UTC).
    pub started_at: String,
    /// The checkout it ran from (`-dirty` when it had changes).
    pub git_revision: String,
    /// `valgrind --version`.
    pub valgrind: String,
    /// Requests counted after the first, per repetition.
    pub requests: u32,
    /// One per runtime × language × workload.
    pub cells: Vec<CountCell>,
}

/// What one cell counted, or why it did not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountCell {
    /// Runtime name (`wasmtime`, `wasmer`, …).
    pub runtime: String,
    /// Guest language.
    pub language: String,
    /// Workload.
    pub workload: String,
    /// Engine configuration the counts are of (`cranelift+ondemand`, …).
    #[serde(default)]
    pub engine: String,
    /// Runtime library version.
    #[serde(default)]
    pub runtime_version: String,
    /// Module size, bytes.
    #[serde(default)]
    pub module_bytes: u64,
    /// The input every request carried: a vector case's name, or `custom`.
    #[serde(default)]
    pub input: String,
    /// Whether every counted answer was checked against the vector's
    /// expected output (a custom input has none).
    #[serde(default)]
    pub checked: bool,
    /// `counted`, `failed` or `unavailable`.
    pub status: CountStatus,
    /// Why it failed or could not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Each repetition's counts, in run order.
    #[serde(default)]
    pub repetitions: Vec<PhaseCounts>,
}

/// Whether a cell was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CountStatus {
    /// Every repetition counted.
    Counted,
    /// A repetition failed; `error` says how.
    Failed,
    /// The runtime or language cannot run here; `error` says why.
    Unavailable,
}

/// Instructions (callgrind's `Ir`) of one repetition, by phase, on the
/// thread that called the runtime (and, where a phase uses them, the
/// compiler's own threads and the host's gRPC thread).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseCounts {
    /// Compiling the module, on the calling thread and the threads the
    /// compiler started for it (Wasmer's rayon pools, sized to one thread
    /// for counting); `None` where it could not be counted.
    pub compile: Option<u64>,
    /// Creating and dropping one instance (the mean of several).
    pub instantiate: u64,
    /// The first request on that instance (lazy set-up included).
    pub first_request: u64,
    /// Each later request: the count over `requests` divided by it (its
    /// host calls included).
    pub per_request: f64,
    /// Each kind of Dapr call the later requests made (`state_get`,
    /// `state_set`, …): the mean count of one call, from the guest's import
    /// until it returns, on the calling thread and the gRPC thread. Empty for
    /// workloads that call no Dapr API.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub host_calls: BTreeMap<String, f64>,
}

/// The phases, in the order they run; a workload that calls Dapr adds one
/// per kind of call, named [`HOST_CALL_PREFIX`] and the kind.
pub const PHASES: [&str; 4] = ["compile", "instantiate", "first_request", "per_request"];

/// The name of a host call's phase before its kind: `host_call.state_get`.
pub const HOST_CALL_PREFIX: &str = "host_call.";

impl PhaseCounts {
    /// One phase's count by its name ([`PHASES`] or a host call's).
    pub fn get(&self, phase: &str) -> Option<f64> {
        match phase {
            "compile" => self.compile.map(|c| c as f64),
            "instantiate" => Some(self.instantiate as f64),
            "first_request" => Some(self.first_request as f64),
            "per_request" => Some(self.per_request),
            _ => phase
                .strip_prefix(HOST_CALL_PREFIX)
                .and_then(|kind| self.host_calls.get(kind).copied()),
        }
    }
}

impl CountCell {
    /// `runtime/language/workload`.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.runtime, self.language, self.workload)
    }

    /// Every phase any repetition counted: [`PHASES`], then its host calls'.
    pub fn phases(&self) -> Vec<String> {
        let kinds: std::collections::BTreeSet<&String> = self
            .repetitions
            .iter()
            .flat_map(|r| r.host_calls.keys())
            .collect();
        PHASES
            .iter()
            .map(|p| (*p).to_owned())
            .chain(kinds.into_iter().map(|k| format!("{HOST_CALL_PREFIX}{k}")))
            .collect()
    }

    /// A phase's counts over the repetitions, in run order.
    fn values(&self, phase: &str) -> Vec<f64> {
        self.repetitions.iter().filter_map(|r| r.get(phase)).collect()
    }

    /// A phase's median over the repetitions.
    pub fn median(&self, phase: &str) -> Option<f64> {
        let values = self.values(phase);
        (!values.is_empty()).then(|| stats::median(&values))
    }

    /// A phase's spread over the repetitions: (max − min) ÷ median, percent;
    /// `None` with fewer than two.
    pub fn spread_pct(&self, phase: &str) -> Option<f64> {
        let values = self.values(phase);
        if values.len() < 2 {
            return None;
        }
        let max = values.iter().copied().fold(f64::MIN, f64::max);
        let min = values.iter().copied().fold(f64::MAX, f64::min);
        let median = stats::median(&values);
        (median > 0.0).then(|| (max - min) / median * 100.0)
    }
}

/// Reads a file written by `blueprint-bench instructions`.
///
/// # Errors
/// Unreadable, not JSON of this shape, or another schema.
pub fn read(path: &Path) -> Result<InstructionRun> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let run: InstructionRun = serde_json::from_str(&text)
        .with_context(|| format!("{}: not an instructions file", path.display()))?;
    if run.schema != SCHEMA {
        bail!("{}: schema `{}`, expected `{SCHEMA}`", path.display(), run.schema);
    }
    Ok(run)
}

/// How one phase of one cell changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountChange {
    /// `runtime/language/workload`.
    pub cell: String,
    /// A [`PHASES`] name.
    pub phase: String,
    /// Baseline median, instructions.
    pub baseline: f64,
    /// Candidate median, instructions.
    pub candidate: f64,
    /// (candidate − baseline) ÷ baseline, percent.
    pub change_pct: f64,
    /// The larger of the two sides' spreads, percent, when either repeated.
    pub noise_pct: Option<f64>,
    /// `regressed`, `improved` or `unchanged`.
    pub verdict: CountVerdict,
}

/// A phase's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CountVerdict {
    /// More instructions, beyond the threshold and the sides' own spread.
    Regressed,
    /// Fewer, beyond both.
    Improved,
    /// Within the threshold or the spread.
    Unchanged,
}

/// Baseline against candidate, cell by cell and phase by phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountComparison {
    /// Threshold, percent.
    pub threshold_pct: f64,
    /// Every phase counted on both sides.
    pub changes: Vec<CountChange>,
    /// Cells counted in the baseline and not in the candidate (a failure
    /// there is a regression), with the candidate's reason.
    pub lost: Vec<(String, String)>,
    /// Cells on one side only, or not counted on either.
    pub unmatched: Vec<String>,
}

impl CountComparison {
    /// Whether anything regressed or was lost.
    pub fn regressed(&self) -> bool {
        !self.lost.is_empty() || self.changes.iter().any(|c| c.verdict == CountVerdict::Regressed)
    }

    /// The process exit code `compare` uses: 3 on a regression, else 0.
    pub fn exit_code(&self) -> i32 {
        if self.regressed() { 3 } else { 0 }
    }
}

/// Compares two runs. A phase regresses when its median grew by more than
/// `threshold_pct` and by more than either side's own spread.
pub fn compare(baseline: &InstructionRun, candidate: &InstructionRun, threshold_pct: f64) -> CountComparison {
    let by_key = |run: &InstructionRun| -> BTreeMap<String, CountCell> {
        run.cells.iter().map(|c| (c.key(), c.clone())).collect()
    };
    let (base, cand) = (by_key(baseline), by_key(candidate));
    let mut changes = Vec::new();
    let mut lost = Vec::new();
    let mut unmatched = Vec::new();
    for (key, b) in &base {
        let Some(c) = cand.get(key) else {
            unmatched.push(key.clone());
            continue;
        };
        match (b.status, c.status) {
            (CountStatus::Counted, CountStatus::Counted) => {}
            (CountStatus::Counted, _) => {
                lost.push((key.clone(), c.error.clone().unwrap_or_default()));
                continue;
            }
            _ => {
                unmatched.push(key.clone());
                continue;
            }
        }
        for phase in b.phases() {
            let phase = phase.as_str();
            let (Some(bm), Some(cm)) = (b.median(phase), c.median(phase)) else {
                continue;
            };
            if bm <= 0.0 {
                continue;
            }
            let change_pct = (cm - bm) / bm * 100.0;
            let noise_pct = match (b.spread_pct(phase), c.spread_pct(phase)) {
                (None, None) => None,
                (x, y) => Some(x.unwrap_or(0.0).max(y.unwrap_or(0.0))),
            };
            let bar = threshold_pct
                .max(noise_pct.unwrap_or(0.0))
                .max(cell_noise_pct(b, phase))
                .max(cell_noise_pct(c, phase));
            let verdict = if change_pct > bar {
                CountVerdict::Regressed
            } else if change_pct < -bar {
                CountVerdict::Improved
            } else {
                CountVerdict::Unchanged
            };
            changes.push(CountChange {
                cell: key.clone(),
                phase: phase.to_owned(),
                baseline: bm,
                candidate: cm,
                change_pct,
                noise_pct,
                verdict,
            });
        }
    }
    unmatched.extend(cand.keys().filter(|k| !base.contains_key(*k)).cloned());
    CountComparison {
        threshold_pct,
        changes,
        lost,
        unmatched,
    }
}

/// Instructions in a human unit: `1.23 M`.
fn human(count: f64) -> String {
    match count {
        c if c >= 1e9 => format!("{:.3} G", c / 1e9),
        c if c >= 1e6 => format!("{:.3} M", c / 1e6),
        c if c >= 1e3 => format!("{:.2} k", c / 1e3),
        c => format!("{c:.0}"),
    }
}

/// A run as a Markdown table: one row per cell, the medians by phase and
/// the largest spread over the repetitions.
pub fn markdown(run: &InstructionRun) -> String {
    let mut out = format!(
        "## Instructions (callgrind `Ir`, the Wasm host process)\n\n\
         Revision {}, {}; {} requests after the first per repetition. A host call is one Dapr call \
         of the later requests, from the guest's import until it returns (daprd's own work is not \
         counted).\n\n\
         | runtime | language | workload | engine | compile | instantiate | first request | per request | per host call | spread |\n\
         |---|---|---|---|---:|---:|---:|---:|---:|---:|\n",
        run.git_revision, run.valgrind, run.requests
    );
    let mut failed = Vec::new();
    // Unavailable cells, one line per reason (in first-seen order).
    let mut unavailable: Vec<(&str, Vec<String>)> = Vec::new();
    for cell in &run.cells {
        let why = cell.error.as_deref().unwrap_or("no reason recorded");
        match cell.status {
            CountStatus::Counted => {}
            CountStatus::Failed => {
                failed.push(format!("- {}: failed — {why}", cell.key()));
                continue;
            }
            CountStatus::Unavailable => {
                match unavailable.iter_mut().find(|(reason, _)| *reason == why) {
                    Some((_, cells)) => cells.push(cell.key()),
                    None => unavailable.push((why, vec![cell.key()])),
                }
                continue;
            }
        }
        let show = |phase: &str| cell.median(phase).map_or_else(|| "—".to_owned(), human);
        let host_calls = cell
            .phases()
            .iter()
            .filter_map(|p| {
                let kind = p.strip_prefix(HOST_CALL_PREFIX)?;
                Some(format!("{kind} {}", human(cell.median(p)?)))
            })
            .collect::<Vec<_>>();
        let host_calls = if host_calls.is_empty() {
            "—".to_owned()
        } else {
            host_calls.join(", ")
        };
        let spread = cell
            .phases()
            .iter()
            .filter_map(|p| cell.spread_pct(p))
            .fold(None, |acc: Option<f64>, s| Some(acc.map_or(s, |a| a.max(s))))
            .map_or_else(
                || "one run".to_owned(),
                |s| format!("{s:.3} % of {}", cell.repetitions.len()),
            );
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            cell.runtime,
            cell.language,
            cell.workload,
            cell.engine,
            show("compile"),
            show("instantiate"),
            show("first_request"),
            show("per_request"),
            host_calls,
            spread
        ));
    }
    if run
        .cells
        .iter()
        .any(|c| c.status == CountStatus::Counted && c.median("compile").is_none())
    {
        out.push_str("\n— compile: not counted for this runtime (see the cell's engine).\n");
    }
    let notes: Vec<String> = failed
        .into_iter()
        .chain(
            unavailable
                .into_iter()
                .map(|(why, cells)| format!("- {}: {why}", cells.join(", "))),
        )
        .collect();
    if !notes.is_empty() {
        out.push_str("\nNot counted:\n\n");
        out.push_str(&notes.join("\n"));
        out.push('\n');
    }
    out
}

/// A comparison as Markdown: regressions first, then improvements, then a
/// count of the unchanged.
pub fn comparison_markdown(cmp: &CountComparison, baseline: &str, candidate: &str) -> String {
    let mut out = format!(
        "## Instruction counts: {candidate} against {baseline}\n\n\
         A phase changed when its median moved by more than {:.2} % (instantiate: {:.0} %; in cells that call \
         Dapr, the requests and each host call: {:.0} %, their run-to-run noise) and by more than either side's \
         own spread.\n\n",
        cmp.threshold_pct,
        phase_noise_pct("instantiate"),
        DAPR_CALL_NOISE_PCT
    );
    let mut rows: Vec<&CountChange> = cmp
        .changes
        .iter()
        .filter(|c| c.verdict != CountVerdict::Unchanged)
        .collect();
    rows.sort_by(|a, b| {
        (a.verdict != CountVerdict::Regressed)
            .cmp(&(b.verdict != CountVerdict::Regressed))
            .then(b.change_pct.abs().total_cmp(&a.change_pct.abs()))
    });
    if rows.is_empty() {
        out.push_str("No phase changed.\n");
    } else {
        out.push_str(
            "| cell | phase | baseline | candidate | change | verdict |\n|---|---|---:|---:|---:|---|\n",
        );
        for c in rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {:+.3} % | {} |\n",
                c.cell,
                c.phase,
                human(c.baseline),
                human(c.candidate),
                c.change_pct,
                match c.verdict {
                    CountVerdict::Regressed => "**regressed**",
                    CountVerdict::Improved => "improved",
                    CountVerdict::Unchanged => "unchanged",
                }
            ));
        }
    }
    let unchanged = cmp
        .changes
        .iter()
        .filter(|c| c.verdict == CountVerdict::Unchanged)
        .count();
    out.push_str(&format!(
        "\n{unchanged} of {} phases unchanged.\n",
        cmp.changes.len()
    ));
    for (cell, why) in &cmp.lost {
        out.push_str(&format!(
            "\n- **{cell}: counted in the baseline, not in the candidate**: {why}"
        ));
    }
    if !cmp.unmatched.is_empty() {
        out.push_str(&format!(
            "\n- Not compared (on one side only, or counted on neither): {}\n",
            cmp.unmatched.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(workload: &str, per_request: &[f64]) -> CountCell {
        CountCell {
            runtime: "wasmtime".into(),
            language: "rust".into(),
            workload: workload.into(),
            engine: "cranelift".into(),
            runtime_version: "48".into(),
            module_bytes: 1,
            input: "case".into(),
            checked: true,
            status: CountStatus::Counted,
            error: None,
            repetitions: per_request
                .iter()
                .map(|&p| PhaseCounts {
                    compile: Some(1_000_000),
                    instantiate: 10_000,
                    first_request: 20_000,
                    per_request: p,
                    host_calls: BTreeMap::new(),
                })
                .collect(),
        }
    }

    /// A `counter` cell whose state reads cost `get` instructions each.
    fn dapr_cell(get: &[f64]) -> CountCell {
        let mut cell = cell("counter", &vec![300_000.0; get.len()]);
        for (r, &g) in cell.repetitions.iter_mut().zip(get) {
            r.host_calls = BTreeMap::from([("state_get".to_owned(), g), ("state_set".to_owned(), 150_000.0)]);
        }
        cell
    }

    fn run(cells: Vec<CountCell>) -> InstructionRun {
        InstructionRun {
            schema: SCHEMA.into(),
            started_at: String::new(),
            git_revision: "r".into(),
            valgrind: "valgrind-3.19.0".into(),
            requests: 20,
            cells,
        }
    }

    #[test]
    fn report_renders_an_instructions_file_as_its_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("instructions.json");
        std::fs::write(
            &path,
            serde_json::to_vec(&run(vec![cell("noop", &[512.0, 512.0])])).unwrap(),
        )
        .unwrap();
        let out = dir.path().join("report");
        let report = crate::report::write(&path, &out, None).unwrap();
        assert!(
            report.markdown.contains("| wasmtime | rust | noop | cranelift |"),
            "{}",
            report.markdown
        );
        let html = std::fs::read_to_string(out.join(crate::report::HTML_NAME)).unwrap();
        assert!(
            html.contains("<th>runtime</th>") && html.contains("<td>noop</td>"),
            "{html}"
        );
        assert!(html.contains("<td>512</td>") || html.contains("512"), "{html}");
        assert!(!html.contains("---"), "the table's rule is not a row: {html}");
    }

    #[test]
    fn a_one_percent_rise_regresses_and_noise_within_the_threshold_does_not() {
        let base = run(vec![
            cell("compute", &[100_000.0, 100_010.0]),
            cell("noop", &[5_000.0]),
        ]);
        let cand = run(vec![
            cell("compute", &[101_000.0, 101_005.0]),
            cell("noop", &[5_010.0]),
        ]);
        let cmp = compare(&base, &cand, DEFAULT_THRESHOLD_PCT);
        let compute = cmp
            .changes
            .iter()
            .find(|c| c.cell.ends_with("compute") && c.phase == "per_request")
            .unwrap();
        assert_eq!(compute.verdict, CountVerdict::Regressed, "{compute:?}");
        let noop = cmp
            .changes
            .iter()
            .find(|c| c.cell.ends_with("noop") && c.phase == "per_request")
            .unwrap();
        assert_eq!(noop.verdict, CountVerdict::Unchanged, "+0.2 % is within 0.5 %");
        assert_eq!(cmp.exit_code(), 3);
        assert!(comparison_markdown(&cmp, "a", "b").contains("**regressed**"));
    }

    #[test]
    fn a_change_within_a_sides_own_spread_is_unchanged() {
        // The baseline's repetitions spread by 2 %: a 1 % move is not a change.
        let base = run(vec![cell("compute", &[99_000.0, 101_000.0])]);
        let cand = run(vec![cell("compute", &[101_000.0])]);
        let cmp = compare(&base, &cand, DEFAULT_THRESHOLD_PCT);
        assert!(!cmp.regressed(), "{cmp:?}");
    }

    #[test]
    fn instantiation_moves_within_its_noise_floor_without_a_verdict() {
        let mut base = cell("noop", &[5_000.0]);
        let mut cand = cell("noop", &[5_000.0]);
        base.repetitions[0].instantiate = 26_400;
        cand.repetitions[0].instantiate = 25_000; // −5.3 %, seen between runs of one build
        let cmp = compare(&run(vec![base.clone()]), &run(vec![cand]), DEFAULT_THRESHOLD_PCT);
        assert!(
            cmp.changes.iter().all(|c| c.verdict == CountVerdict::Unchanged),
            "{cmp:?}"
        );
        let mut slower = base.clone();
        slower.repetitions[0].instantiate = 30_000; // +13.6 %
        let cmp = compare(&run(vec![base]), &run(vec![slower]), DEFAULT_THRESHOLD_PCT);
        assert!(cmp.regressed());
    }

    #[test]
    fn a_cell_that_stops_counting_is_a_regression() {
        let base = run(vec![cell("noop", &[5_000.0])]);
        let mut failed = cell("noop", &[]);
        failed.status = CountStatus::Failed;
        failed.error = Some("guest trapped".into());
        let cmp = compare(&base, &run(vec![failed]), DEFAULT_THRESHOLD_PCT);
        assert_eq!(
            cmp.lost,
            vec![("wasmtime/rust/noop".to_owned(), "guest trapped".to_owned())]
        );
        assert_eq!(cmp.exit_code(), 3);
    }

    #[test]
    fn each_kind_of_host_call_is_a_phase_of_its_own() {
        let base = run(vec![dapr_cell(&[100_000.0, 100_040.0])]);
        let same = run(vec![dapr_cell(&[100_020.0])]);
        let cmp = compare(&base, &same, DEFAULT_THRESHOLD_PCT);
        assert!(!cmp.regressed(), "{cmp:?}");
        let phases: Vec<&str> = cmp.changes.iter().map(|c| c.phase.as_str()).collect();
        assert!(phases.contains(&"host_call.state_get") && phases.contains(&"host_call.state_set"));

        // Within the floor of a Dapr call's noise, then beyond it.
        let noisy = run(vec![dapr_cell(&[103_000.0])]);
        assert!(!compare(&base, &noisy, DEFAULT_THRESHOLD_PCT).regressed());
        let slower = run(vec![dapr_cell(&[106_000.0])]);
        let cmp = compare(&base, &slower, DEFAULT_THRESHOLD_PCT);
        let regressed: Vec<&str> = cmp
            .changes
            .iter()
            .filter(|c| c.verdict == CountVerdict::Regressed)
            .map(|c| c.phase.as_str())
            .collect();
        assert_eq!(regressed, ["host_call.state_get"]);

        let table = markdown(&base);
        assert!(
            table.contains("state_get 100.02 k, state_set 150.00 k"),
            "{table}"
        );
    }

    #[test]
    fn fewer_instructions_are_an_improvement_not_a_failure() {
        let base = run(vec![cell("noop", &[5_000.0])]);
        let cand = run(vec![cell("noop", &[4_000.0])]);
        let cmp = compare(&base, &cand, DEFAULT_THRESHOLD_PCT);
        assert!(cmp.changes.iter().any(|c| c.verdict == CountVerdict::Improved));
        assert_eq!(cmp.exit_code(), 0);
    }

    #[test]
    fn medians_and_spreads() {
        let c = cell("noop", &[100.0, 103.0, 101.0]);
        assert_eq!(c.median("per_request"), Some(101.0));
        let spread = c.spread_pct("per_request").unwrap();
        assert!((spread - 3.0 / 101.0 * 100.0).abs() < 1e-9);
        assert_eq!(cell("noop", &[100.0]).spread_pct("per_request"), None);
        let mut away = cell("noop", &[]);
        away.runtime = "wazero".into();
        away.status = CountStatus::Unavailable;
        away.error = Some("not here".into());
        let mut away_too = away.clone();
        away_too.workload = "compute".into();
        let table = markdown(&run(vec![c, away, away_too]));
        assert!(table.contains("| wasmtime | rust | noop |"), "{table}");
        assert!(
            table.contains("- wazero/rust/noop, wazero/rust/compute: not here"),
            "one line per reason: {table}"
        );
    }
}
