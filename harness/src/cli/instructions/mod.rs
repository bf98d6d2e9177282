//! `blueprint-bench instructions`: counted work. For each runtime × guest
//! language × workload, this binary's hidden `instructions-probe`
//! ([`probe`]) runs under Valgrind's callgrind, compiles the guest, creates
//! instances and handles requests; callgrind counts the instructions of each
//! phase ([`blueprint_analysis::instructions`] says why counts, and what
//! they leave out).
//!
//! How a phase is isolated: each is one `#[inline(never)]` function named
//! `blueprint_count_<phase>`, called one after the other, and a marker
//! (`blueprint_count_start`) runs just before the first. Callgrind writes a
//! profile part of the calling thread whenever one of them returns
//! (`--dump-after`, `--separate-threads=yes`), so a phase is that thread's
//! parts after the previous mark up to its own; [`phases_of`] says which
//! other threads count. (One option per function: callgrind applies only one
//! of `--toggle-collect` and `--dump-after` given the same pattern.)
//!
//! Workloads that call Dapr run against a real daprd started for each probe
//! run (a fresh in-memory store, so every repetition sees the same state).

mod callgrind;
mod probe;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use blueprint_analysis::instructions::{
    self as counts, CountCell, CountStatus, DEFAULT_THRESHOLD_PCT, InstructionRun, PhaseCounts, SCHEMA,
};
use blueprint_host::table::{self as runtimes, Availability, HostKind};

pub use probe::{ProbeArgs, probe};

use crate::daprd::Daprd;
use crate::process::ChildGuard;
use crate::sidecar::{Sidecar, SidecarPorts, SidecarSpec};
use crate::workloads::{self, Flavour, Lookup};
use crate::{daprd, environment, paths, progress};
use callgrind::Part;
use probe::ProbeReport;

/// Longest one probe may run under callgrind (a Go guest compiles slowly
/// there); then it is stopped and the cell fails.
const PROBE_LIMIT: Duration = Duration::from_secs(900);

/// The probe's markers and phases as its functions name them.
const PROBE_MARKS: [&str; 8] = [
    "start",
    "compile",
    "instantiate",
    "ready",
    "first_request",
    "requests",
    "host_call_begin",
    "host_call",
];

/// Instances created and dropped in the `instantiate` phase, whose count is
/// the mean: one instance's count moves by up to 2 % with the state of the
/// allocator's heap (results/README.md), the mean of ten far less.
pub const INSTANCES_COUNTED: u32 = 10;

/// The app id of the daprd the probe calls (it has no app).
const APP_ID: &str = "blueprint-count";

/// `instructions`.
#[derive(Debug, clap::Args)]
pub struct InstructionsArgs {
    /// Runtimes to count, comma-separated (default: every runtime in the
    /// table but `native`; those that cannot be counted here say why).
    #[arg(long, value_delimiter = ',')]
    pub runtimes: Vec<String>,
    /// Guest languages, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "rust,go")]
    pub languages: Vec<String>,
    /// Workloads, comma-separated. Those that call Dapr (`counter`,
    /// `lookup`, …) run against a real daprd, and each of their Dapr calls
    /// is counted too.
    #[arg(long, value_delimiter = ',', default_value = "noop,transform,compute")]
    pub workloads: Vec<String>,
    /// Requests counted after the first, per repetition.
    #[arg(long, default_value_t = 20)]
    pub requests: u32,
    /// Runs of each cell (their spread is recorded; the comparison uses the median).
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// A workload's request instead of its vectors' first answered case,
    /// e.g. `compute={"data":"x","iterations":2020}` (its answers are not checked).
    #[arg(long = "input", value_name = "WORKLOAD=TEXT", value_parser = parse_input)]
    pub inputs: Vec<(String, String)>,
    /// Where to write the counts (default: results/runs/instructions-<UTC time>.json).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// An earlier counts file to compare with: exit 3 when a phase regressed.
    #[arg(long, value_name = "FILE")]
    pub against: Option<PathBuf>,
    /// The comparison's threshold, percent.
    #[arg(long, default_value_t = DEFAULT_THRESHOLD_PCT)]
    pub threshold: f64,
    /// A daprd binary for workloads that call Dapr, instead of building one.
    #[arg(long, env = "DAPRD")]
    pub daprd: Option<PathBuf>,
    /// Print the counts (and the comparison) as JSON instead of Markdown.
    #[arg(long)]
    pub json: bool,
}

fn parse_input(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((w, text)) if !w.is_empty() => Ok((w.to_owned(), text.to_owned())),
        _ => Err(format!("expected WORKLOAD=TEXT, got `{s}`")),
    }
}

/// Counts every cell, writes the file, prints the table (and the
/// comparison); exit 3 when `--against` found a regression, 1 when a cell
/// failed, else 0.
///
/// # Errors
/// No valgrind, bad arguments, guests that do not build, no daprd for a
/// workload that calls Dapr, an unwritable file.
pub fn execute(args: InstructionsArgs) -> Result<i32> {
    if args.requests == 0 || args.repeat == 0 {
        bail!("--requests and --repeat must be positive");
    }
    let valgrind = callgrind::valgrind_version()?;
    let project = paths::project_dir();
    let cache = paths::cache_dir();
    let against = match &args.against {
        Some(path) => Some(counts::read(path)?),
        None => None,
    };
    let runtime_names: Vec<String> = if args.runtimes.is_empty() {
        runtimes::names()
            .into_iter()
            .filter(|n| *n != runtimes::NATIVE)
            .map(str::to_owned)
            .collect()
    } else {
        args.runtimes.clone()
    };
    let mut inputs = Vec::new();
    for workload in &args.workloads {
        let vectors = blueprint_workloads::load_vectors(&project, workload)?;
        inputs.push(request_for(workload, &vectors, &args.inputs)?);
    }
    for (workload, _) in &args.inputs {
        if !args.workloads.contains(workload) {
            bail!("--input {workload}=…: `{workload}` is not among --workloads");
        }
    }
    let languages: Vec<&str> = args.languages.iter().map(String::as_str).collect();
    let catalog = workloads::build_languages(&project, &cache, &languages)?;
    let dapr = if inputs.iter().any(|r| r.calls_dapr) {
        Some(daprd::resolve(args.daprd.as_deref())?)
    } else {
        None
    };

    let work = std::env::temp_dir().join(format!("blueprint-bench-instructions-{}", std::process::id()));
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let total = runtime_names.len() * args.languages.len() * inputs.len();
    let bar = progress::bar(total as u64, "counting instructions under callgrind");
    let mut cells = Vec::new();
    for runtime in &runtime_names {
        let entry = runtimes::entry(runtime)?;
        for language in &args.languages {
            for request in &inputs {
                progress::step(&bar, format!("{runtime}/{language}/{}", request.workload));
                let mut cell = CountCell {
                    runtime: runtime.clone(),
                    language: language.clone(),
                    workload: request.workload.clone(),
                    engine: String::new(),
                    runtime_version: entry.version.clone().unwrap_or_default(),
                    module_bytes: 0,
                    input: request.name.clone(),
                    checked: request.expected.is_some(),
                    status: CountStatus::Counted,
                    error: None,
                    repetitions: Vec::new(),
                };
                if let Some(why) = not_countable(&entry) {
                    cell.status = CountStatus::Unavailable;
                    cell.error = Some(why);
                } else {
                    match catalog.lookup(language, &request.workload, Flavour::Embedded) {
                        Lookup::Built(module) => {
                            cell.module_bytes = std::fs::metadata(module).map_or(0, |m| m.len());
                            count_cell(&mut cell, module, request, &args, dapr.as_ref(), &work);
                        }
                        Lookup::Unavailable(why) | Lookup::NotApplicable(why) => {
                            cell.status = CountStatus::Unavailable;
                            cell.error = Some(why);
                        }
                    }
                }
                bar.inc(1);
                cells.push(cell);
            }
        }
    }
    bar.finish_and_clear();
    let _ = std::fs::remove_dir_all(&work);

    let run = InstructionRun {
        schema: SCHEMA.to_owned(),
        started_at: chrono::Utc::now().to_rfc3339(),
        git_revision: environment::fingerprint(&project).git_revision,
        valgrind,
        requests: args.requests,
        cells,
    };
    let out = args.out.clone().unwrap_or_else(|| {
        paths::runs_dir().join(format!(
            "instructions-{}.json",
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
        ))
    });
    blueprint_analysis::results::write_atomic(&out, &run)?;
    eprintln!("counts: {}", out.display());

    let comparison = against
        .as_ref()
        .map(|base| counts::compare(base, &run, args.threshold));
    if args.json {
        let value = serde_json::json!({ "counts": run, "comparison": comparison });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!("{}", counts::markdown(&run));
        if let (Some(cmp), Some(path)) = (&comparison, &args.against) {
            println!();
            print!(
                "{}",
                counts::comparison_markdown(cmp, &path.display().to_string(), &out.display().to_string())
            );
        }
    }
    if comparison
        .as_ref()
        .is_some_and(counts::CountComparison::regressed)
    {
        return Ok(3);
    }
    Ok(i32::from(
        run.cells.iter().any(|c| c.status == CountStatus::Failed),
    ))
}

/// Why a runtime cannot be counted in this process, if it cannot.
fn not_countable(entry: &runtimes::RuntimeEntry) -> Option<String> {
    if let Availability::Unavailable { reason, fix } = &entry.availability {
        return Some(format!("{reason} (fix: {fix})"));
    }
    if entry.host == HostKind::WasmtimeServe {
        return Some(
            "not counted: `wasmtime serve` is a server of wasi:http components, not an adapter".to_owned(),
        );
    }
    (entry.host == HostKind::GoHost).then(|| {
        "not counted: its host is a Go program; callgrind aborts on the Go runtime's preemption \
         signals, and with them off (GODEBUG=asyncpreemptoff=1) the same host command's count moved \
         by 6 % between runs (results/README.md)"
            .to_owned()
    })
}

/// One workload's request and the answer it must get.
struct Request {
    workload: String,
    /// The vector case's name, or `custom`.
    name: String,
    body: Vec<u8>,
    /// The first request's answer (a workload with state answers the later
    /// ones differently: a counter counts on).
    expected: Option<Vec<u8>>,
    /// The workload calls Dapr: the probe needs a daprd.
    calls_dapr: bool,
}

fn request_for(
    workload: &str,
    vectors: &blueprint_workloads::VectorFile,
    overrides: &[(String, String)],
) -> Result<Request> {
    if let Some((_, text)) = overrides.iter().find(|(w, _)| w == workload) {
        return Ok(Request {
            workload: workload.to_owned(),
            name: "custom".to_owned(),
            body: text.as_bytes().to_vec(),
            expected: None,
            calls_dapr: !vectors.pure,
        });
    }
    for case in &vectors.cases {
        if let blueprint_workloads::Expected::Output(bytes) = case.expected()? {
            return Ok(Request {
                workload: workload.to_owned(),
                name: case.name.clone(),
                body: case.input_bytes()?,
                expected: Some(bytes),
                calls_dapr: !vectors.pure,
            });
        }
    }
    bail!("`{workload}`: no vector case with an answer to count")
}

/// A fresh daprd for one probe run that calls Dapr (no app, an in-memory
/// `statestore`, its own API token), its logs and resources in `dir`.
/// `execute` runs outside the async context (`block_in_place`), so it may
/// block on the process's runtime.
fn start_daprd(daprd: &Daprd, dir: &Path) -> Result<Sidecar> {
    let (ports, _) = SidecarPorts::allocate_with_app()?;
    let spec = SidecarSpec::new(APP_ID, None, ports);
    tokio::runtime::Handle::current()
        .block_on(Sidecar::start(daprd, &spec, &dir.join("daprd")))
        .context("starting daprd for the probe")
}

/// Runs the cell's repetitions; a failure marks the cell failed and stops it.
fn count_cell(
    cell: &mut CountCell,
    module: &Path,
    request: &Request,
    args: &InstructionsArgs,
    dapr: Option<&Daprd>,
    work: &Path,
) {
    for repetition in 0..args.repeat {
        let dir = work.join(format!(
            "{}-{}-{}-{repetition}",
            cell.runtime, cell.language, cell.workload
        ));
        let sidecar = match dapr.filter(|_| request.calls_dapr).map(|d| start_daprd(d, &dir)) {
            Some(Ok(sidecar)) => Some(sidecar),
            Some(Err(e)) => {
                cell.status = CountStatus::Failed;
                cell.error = Some(format!("repetition {}: {e:#}", repetition + 1));
                return;
            }
            None => None,
        };
        let counted = count_once(
            &cell.runtime,
            module,
            request,
            args.requests,
            sidecar.as_ref(),
            &dir,
        );
        if let Some(sidecar) = sidecar {
            sidecar.stop();
        }
        match counted {
            Ok((phases, report)) => {
                cell.engine = report.engine;
                cell.runtime_version = report.version;
                cell.repetitions.push(phases);
            }
            Err(e) => {
                cell.status = CountStatus::Failed;
                cell.error = Some(format!("repetition {}: {e:#}", repetition + 1));
                return;
            }
        }
    }
}

/// One probe under callgrind: the counts of its phases.
fn count_once(
    runtime: &str,
    module: &Path,
    request: &Request,
    requests: u32,
    sidecar: Option<&Sidecar>,
    dir: &Path,
) -> Result<(PhaseCounts, ProbeReport)> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let input = dir.join("input");
    std::fs::write(&input, &request.body)?;
    let out = dir.join("callgrind.out");
    let report = dir.join("probe.json");
    let mut cmd = Command::new("valgrind");
    cmd.args(["--tool=callgrind", "--separate-threads=yes"])
        .arg(format!("--callgrind-out-file={}", out.display()));
    for mark in PROBE_MARKS {
        cmd.arg(format!("--dump-after=*blueprint_count_{mark}"));
    }
    cmd.arg(std::env::current_exe().context("locating this binary")?)
        .arg("instructions-probe")
        .arg("--runtime")
        .arg(runtime)
        .arg("--module")
        .arg(module)
        .arg("--input-file")
        .arg(&input)
        .arg("--requests")
        .arg(requests.to_string())
        .arg("--report")
        .arg(&report)
        // rayon's global pool (Wasmer's Cranelift compiles its trampolines
        // there) with one thread, as the compiler's own pool is for counting.
        .env("RAYON_NUM_THREADS", "1");
    if let Some(expected) = &request.expected {
        let path = dir.join("expected");
        std::fs::write(&path, expected)?;
        cmd.arg("--expect-file").arg(path);
    }
    if let Some(sidecar) = sidecar {
        cmd.arg("--dapr-grpc-port")
            .arg(sidecar.grpc_port.to_string())
            .env(blueprint_host::token::DAPR_API_TOKEN_ENV, &sidecar.tokens.dapr);
    }
    let log = dir.join("probe.log");
    let mut child = ChildGuard::spawn("callgrind probe", cmd, &log)?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.exited() {
            break status;
        }
        if started.elapsed() > PROBE_LIMIT {
            child.stop();
            bail!(
                "still running after {} s; its log ends: {}",
                PROBE_LIMIT.as_secs(),
                child.log_tail(5)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if !status.success() {
        bail!("the probe failed ({status}); its log ends: {}", child.log_tail(8));
    }
    let report: ProbeReport =
        serde_json::from_slice(&std::fs::read(&report).context("the probe wrote no report")?)
            .context("reading the probe's report")?;
    let parts = callgrind::read_parts(dir, "callgrind.out")?;
    let phases = phases_of(&parts, &report, requests)?;
    Ok((phases, report))
}

/// The phases' counts from one run's parts. Callgrind writes a
/// `--dump-after` part for the calling thread only, so every phase is the
/// calling thread's parts since the previous mark, host calls included (the
/// probe's gRPC client runs on that thread). Other threads are written once,
/// at the end: those the compiler started hold the compile's work done on
/// its pools and are added to `compile`; the rest (the harness's own Tokio
/// workers, Wasmtime's epoch ticker, Wasmer's watchdog) tick with wall time
/// and are left out.
fn phases_of(parts: &[Part], report: &ProbeReport, requests: u32) -> Result<PhaseCounts> {
    // The dump that ends each phase, by its number.
    let dump = |mark: &str| -> Result<u32> {
        parts
            .iter()
            .find(|p| p.thread == 1 && p.ends(mark))
            .map(|p| p.number)
            .with_context(|| {
                format!("callgrind wrote no part for `{mark}` on the calling thread (found: {parts:?})")
            })
    };
    let calling = |after: u32, upto: u32| -> u64 {
        parts
            .iter()
            .filter(|p| p.thread == 1 && p.number > after && p.number <= upto)
            .map(|p| p.total)
            .sum()
    };
    let (start, compile, instantiate, ready, first, all) = (
        dump("start")?,
        dump("compile")?,
        dump("instantiate")?,
        dump("ready")?,
        dump("first_request")?,
        dump("requests")?,
    );
    let compiler_threads: u64 = parts
        .iter()
        .filter(|p| p.thread > report.threads_before_compile)
        .map(|p| p.total)
        .sum();

    // Host calls: the i-th dump of `blueprint_count_host_call` is the i-th
    // call the probe recorded; the later requests' are averaged by kind.
    let call_dumps: Vec<u32> = parts
        .iter()
        .filter(|p| p.thread == 1 && p.ends("host_call"))
        .map(|p| p.number)
        .collect();
    if call_dumps.len() != report.host_calls.len() {
        bail!(
            "callgrind wrote {} host-call parts for {} host calls",
            call_dumps.len(),
            report.host_calls.len()
        );
    }
    let mut by_kind: std::collections::BTreeMap<String, (u64, u32)> = std::collections::BTreeMap::new();
    for (number, kind) in call_dumps.iter().zip(&report.host_calls) {
        if *number <= first || *number > all {
            continue;
        }
        let slot = by_kind.entry(kind.clone()).or_default();
        *slot = (slot.0 + calling(number - 1, *number), slot.1 + 1);
    }

    Ok(PhaseCounts {
        compile: Some(calling(start, compile) + compiler_threads),
        instantiate: calling(compile, instantiate) / u64::from(INSTANCES_COUNTED),
        first_request: calling(ready, first),
        per_request: calling(first, all) as f64 / f64::from(requests),
        host_calls: by_kind
            .into_iter()
            .map(|(kind, (total, calls))| (kind, total as f64 / f64::from(calls)))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parts of one run as callgrind writes them: the calling thread (1) at
    /// every mark, `100 × the dump's number` each; then, at the end, every
    /// thread: 1 again, a harness worker (2), an epoch ticker (3) and a
    /// compiler thread started while compiling (4).
    fn run_with_threads() -> (Vec<Part>, ProbeReport) {
        let marks = [
            "start",
            "compile",
            "instantiate",
            "ready",
            "host_call_begin",
            "host_call",
            "first_request",
            "host_call_begin",
            "host_call",
            "host_call_begin",
            "host_call",
            "requests",
        ];
        let part = |number: u32, thread: u32, trigger: &str, total: u64| Part {
            number,
            thread,
            trigger: trigger.to_owned(),
            total,
        };
        let mut parts: Vec<Part> = marks
            .iter()
            .enumerate()
            .map(|(i, mark)| {
                let number = i as u32 + 1;
                let trigger = format!("--dump-after=x::blueprint_count_{mark}");
                part(number, 1, &trigger, 100 * u64::from(number))
            })
            .collect();
        let end = marks.len() as u32 + 1;
        for (thread, total) in [(1, 5), (2, 7), (3, 11), (4, 5000)] {
            parts.push(part(end, thread, "Program termination", total));
        }
        let report = ProbeReport {
            engine: "e".into(),
            version: "v".into(),
            threads_before_compile: 3,
            host_calls: vec!["state_get".into(), "state_get".into(), "state_set".into()],
        };
        (parts, report)
    }

    #[test]
    fn phases_are_the_calling_threads_parts_and_the_compilers_threads() {
        let (parts, report) = run_with_threads();
        let phases = phases_of(&parts, &report, 1).unwrap();
        // compile: its part, and the thread the compiler started (not the
        // ticker or the harness's worker).
        assert_eq!(phases.compile, Some(200 + 5000));
        assert_eq!(phases.instantiate, 300 / u64::from(INSTANCES_COUNTED));
        // The first request: dumps 5–7, its host call included.
        assert_eq!(phases.first_request, 500 + 600 + 700);
        // The later request: dumps 8–12.
        assert_eq!(
            phases.per_request,
            (8..=12).map(|n| 100.0 * f64::from(n)).sum::<f64>()
        );
        // Only the later request's calls: the second get (dump 9), the set (11).
        assert_eq!(phases.host_calls["state_get"], 900.0);
        assert_eq!(phases.host_calls["state_set"], 1100.0);
    }

    #[test]
    fn host_calls_that_do_not_match_the_parts_are_an_error() {
        let (parts, mut report) = run_with_threads();
        report.host_calls.pop();
        let err = phases_of(&parts, &report, 1).unwrap_err();
        assert!(
            format!("{err:#}").contains("3 host-call parts for 2 host calls"),
            "{err:#}"
        );
    }

    #[test]
    fn inputs_parse_as_workload_and_text() {
        assert_eq!(
            parse_input("compute={\"a\":1}"),
            Ok(("compute".to_owned(), "{\"a\":1}".to_owned()))
        );
        assert!(parse_input("nothing").is_err());
        assert!(parse_input("=x").is_err());
    }
}
