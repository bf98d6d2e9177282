//! `blueprint-bench instructions`: counted work. For each runtime × guest
//! language × pure workload, this binary's hidden `instructions-probe` runs
//! under Valgrind's callgrind, compiles the guest, creates one instance and
//! handles requests; callgrind counts the instructions of each phase on the
//! calling thread ([`blueprint_analysis::instructions`] says why counts, and
//! what they leave out).
//!
//! How a phase is isolated: each is one `#[inline(never)]` function named
//! `blueprint_count_<phase>`, called one after the other, and a marker
//! (`blueprint_count_start`) runs just before the first. Callgrind writes a
//! profile part whenever one of them returns (`--dump-after`), one file per
//! thread (`--separate-threads=yes`), so the calling thread's part ending
//! in a phase holds that phase (and the few instructions that pass its
//! result on). Other threads (Wasmtime's epoch ticker, Wasmer's watchdog and
//! compiler pool) are in files of their own and not counted: their work
//! depends on wall time. (One option per function: callgrind applies only
//! one of `--toggle-collect` and `--dump-after` given the same pattern.)

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use blueprint_analysis::instructions::{
    self as counts, CountCell, CountStatus, DEFAULT_THRESHOLD_PCT, InstructionRun, PhaseCounts, SCHEMA,
};
use blueprint_host::table::{self as runtimes, Availability, HostKind};
use blueprint_runtime_api::{DaprHost, Instance, Module, NoDapr, Runtime, RuntimeConfig, RuntimeError};
use serde::{Deserialize, Serialize};

use crate::process::ChildGuard;
use crate::workloads::{self, Flavour, Lookup};
use crate::{environment, paths, progress};

/// Runtimes whose compiler always runs on a thread pool of its own (Wasmer
/// 7.4's Cranelift and Singlepass compile on a rayon pool even with one
/// thread), so the calling thread's count of `compile` would be only the
/// wait: recorded as not counted.
const POOLED_COMPILERS: &[&str] = &["wasmer", "wasmer-singlepass"];

/// Longest one probe may run under callgrind (a Go guest compiles slowly
/// there); then it is stopped and the cell fails.
const PROBE_LIMIT: Duration = Duration::from_secs(900);

/// The probe's marker and phases as its functions name them, in the order
/// they run.
const PROBE_MARKS: [&str; 6] = [
    "start",
    "compile",
    "instantiate",
    "ready",
    "first_request",
    "requests",
];

/// Instances created and dropped in the `instantiate` phase, whose count is
/// the mean: one instance's count moves by up to 2 % with the state of the
/// allocator's heap (results/README.md), the mean of ten far less.
pub const INSTANCES_COUNTED: u32 = 10;

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
    /// Workloads, comma-separated: pure ones only (the probe has no daprd).
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

/// `instructions-probe` (hidden): the measured program.
#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// The runtime.
    #[arg(long)]
    pub runtime: String,
    /// The guest module (guest ABI v1).
    #[arg(long)]
    pub module: PathBuf,
    /// The request body.
    #[arg(long)]
    pub input_file: PathBuf,
    /// The answer every request must give; none: not checked.
    #[arg(long)]
    pub expect_file: Option<PathBuf>,
    /// Requests after the first.
    #[arg(long)]
    pub requests: u32,
    /// Where to write what the probe ran (engine, version).
    #[arg(long)]
    pub report: PathBuf,
}

/// What the probe writes next to callgrind's parts.
#[derive(Debug, Serialize, Deserialize)]
struct ProbeReport {
    engine: String,
    version: String,
}

/// Runs the phases once each; exit code 0 when every answer was right.
///
/// # Errors
/// An unavailable runtime, a module that does not compile or instantiate,
/// a failed request or a wrong answer.
pub fn probe(args: ProbeArgs) -> Result<i32> {
    let wasm = std::fs::read(&args.module).with_context(|| format!("reading {}", args.module.display()))?;
    let input =
        std::fs::read(&args.input_file).with_context(|| format!("reading {}", args.input_file.display()))?;
    let expected = match &args.expect_file {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?),
        None => None,
    };
    let config = RuntimeConfig {
        counting: true,
        ..RuntimeConfig::default()
    };
    let runtime = runtimes::create(&args.runtime, &config)?;
    blueprint_count_start();
    let module = blueprint_count_compile(&*runtime, &wasm).context("compile")?;
    let host: Arc<dyn DaprHost> = Arc::new(NoDapr);
    blueprint_count_instantiate(&*module, &host, INSTANCES_COUNTED).context("instantiate")?;
    let mut instance = module.instantiate(host).context("instantiate")?;
    blueprint_count_ready();
    let first = blueprint_count_first_request(&mut *instance, &input).context("first request")?;
    let want = expected.unwrap_or_else(|| first.clone());
    if first != want {
        bail!(
            "the first answer differs from the vector's: {:?}",
            String::from_utf8_lossy(&first)
        );
    }
    let wrong = blueprint_count_requests(&mut *instance, &input, &want, args.requests).context("requests")?;
    if wrong > 0 {
        bail!("{wrong} of {} answers differ from the first", args.requests);
    }
    let info = runtime.info();
    let report = ProbeReport {
        engine: info.engine,
        version: info.version,
    };
    std::fs::write(&args.report, serde_json::to_vec(&report)?)
        .with_context(|| format!("writing {}", args.report.display()))?;
    Ok(0)
}

// The counted phases. Each must stay one symbol of its own (never inlined).

/// Ends the part before `compile` (start-up, the engine's creation).
#[inline(never)]
fn blueprint_count_start() {
    std::hint::black_box(());
}

#[inline(never)]
fn blueprint_count_compile(runtime: &dyn Runtime, wasm: &[u8]) -> Result<Arc<dyn Module>, RuntimeError> {
    runtime.compile(std::hint::black_box(wasm))
}

/// `instances` instances created and dropped, one at a time.
#[inline(never)]
fn blueprint_count_instantiate(
    module: &dyn Module,
    host: &Arc<dyn DaprHost>,
    instances: u32,
) -> Result<(), RuntimeError> {
    for _ in 0..instances {
        drop(module.instantiate(std::hint::black_box(host.clone()))?);
    }
    Ok(())
}

/// Ends the part that creates the instance the requests go to (not counted).
#[inline(never)]
fn blueprint_count_ready() {
    std::hint::black_box(());
}

#[inline(never)]
fn blueprint_count_first_request(instance: &mut dyn Instance, input: &[u8]) -> Result<Vec<u8>> {
    Ok(instance.handle(std::hint::black_box(input))?)
}

/// `requests` more requests; how many answers differed from `want` (the
/// comparison is counted too: a few instructions per request, the same every
/// time).
#[inline(never)]
fn blueprint_count_requests(
    instance: &mut dyn Instance,
    input: &[u8],
    want: &[u8],
    requests: u32,
) -> Result<u32> {
    let mut wrong = 0;
    for _ in 0..requests {
        let answer = instance.handle(std::hint::black_box(input))?;
        if answer != want {
            wrong += 1;
        }
    }
    Ok(wrong)
}

/// Counts every cell, writes the file, prints the table (and the
/// comparison); exit 3 when `--against` found a regression, 1 when a cell
/// failed, else 0.
///
/// # Errors
/// No valgrind, bad arguments, guests that do not build, an unwritable file.
pub fn execute(args: InstructionsArgs) -> Result<i32> {
    if args.requests == 0 || args.repeat == 0 {
        bail!("--requests and --repeat must be positive");
    }
    let valgrind = valgrind_version()?;
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
        if !vectors.pure {
            bail!(
                "--workloads: `{workload}` uses Dapr; the probe runs without daprd, so only pure workloads can be counted"
            );
        }
        inputs.push(request_for(workload, &vectors, &args.inputs)?);
    }
    for (workload, _) in &args.inputs {
        if !args.workloads.contains(workload) {
            bail!("--input {workload}=…: `{workload}` is not among --workloads");
        }
    }
    let languages: Vec<&str> = args.languages.iter().map(String::as_str).collect();
    let catalog = workloads::build_languages(&project, &cache, &languages)?;

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
                            count_cell(&mut cell, module, request, &args, &work);
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
    expected: Option<Vec<u8>>,
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
        });
    }
    for case in &vectors.cases {
        if let blueprint_workloads::Expected::Output(bytes) = case.expected()? {
            return Ok(Request {
                workload: workload.to_owned(),
                name: case.name.clone(),
                body: case.input_bytes()?,
                expected: Some(bytes),
            });
        }
    }
    bail!("`{workload}`: no vector case with an answer to count")
}

/// Runs the cell's repetitions; a failure marks the cell failed and stops it.
fn count_cell(cell: &mut CountCell, module: &Path, request: &Request, args: &InstructionsArgs, work: &Path) {
    for repetition in 0..args.repeat {
        let dir = work.join(format!(
            "{}-{}-{}-{repetition}",
            cell.runtime, cell.language, cell.workload
        ));
        match count_once(&cell.runtime, module, request, args.requests, &dir) {
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
        .arg(&report);
    if let Some(expected) = &request.expected {
        let path = dir.join("expected");
        std::fs::write(&path, expected)?;
        cmd.arg("--expect-file").arg(path);
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
    let parts = read_parts(dir, "callgrind.out")?;
    let phase = |name: &str| -> Result<u64> {
        let suffix = format!("blueprint_count_{name}");
        parts
            .iter()
            .find(|p| p.thread == 1 && p.trigger.ends_with(&suffix))
            .map(|p| p.total)
            .with_context(|| {
                format!("callgrind wrote no part for `{name}` on the calling thread (found: {parts:?})")
            })
    };
    let compile = phase("compile")?;
    let phases = PhaseCounts {
        compile: (!POOLED_COMPILERS.contains(&runtime)).then_some(compile),
        instantiate: phase("instantiate")? / u64::from(INSTANCES_COUNTED),
        first_request: phase("first_request")?,
        per_request: phase("requests")? as f64 / f64::from(requests),
    };
    Ok((phases, report))
}

/// One profile part of one thread.
#[derive(Debug, Clone, PartialEq)]
struct Part {
    /// Callgrind's thread number; 1 is the program's first thread, the one
    /// that runs the probe.
    thread: u32,
    /// What wrote it (`--dump-after=<function>`, `Program termination`).
    trigger: String,
    /// Instructions.
    total: u64,
}

/// Callgrind's profile parts in `dir` whose names start with `prefix`.
fn read_parts(dir: &Path, prefix: &str) -> Result<Vec<Part>> {
    let mut parts = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let is_part = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(prefix));
        if !is_part {
            continue;
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        // With one file per thread, the name without a thread is left empty.
        if text.is_empty() {
            continue;
        }
        parts.push(parse_part(&text).with_context(|| format!("parsing {}", path.display()))?);
    }
    Ok(parts)
}

/// A part's thread, trigger and total from callgrind's output format.
fn parse_part(text: &str) -> Result<Part> {
    let thread = text
        .lines()
        .find_map(|l| l.strip_prefix("thread:"))
        .map_or(Ok(1), |t| t.trim().parse::<u32>())
        .context("a thread that is not a number")?;
    let trigger = text
        .lines()
        .find_map(|l| l.strip_prefix("desc: Trigger:"))
        .unwrap_or_default()
        .trim()
        .to_owned();
    let total = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))
        .context("no totals line")?
        .split_whitespace()
        .next()
        .context("an empty totals line")?
        .parse::<u64>()
        .context("totals is not a count")?;
    Ok(Part {
        thread,
        trigger,
        total,
    })
}

/// `valgrind --version`, or why it cannot be run.
fn valgrind_version() -> Result<String> {
    let out = Command::new("valgrind")
        .arg("--version")
        .output()
        .context("`instructions` runs the probe under Valgrind, which is not installed (fix: apt-get install valgrind)")?;
    if !out.status.success() {
        bail!(
            "`valgrind --version` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callgrind_part_gives_its_trigger_and_total() {
        let part = "# callgrind format\nversion: 1\ncreator: callgrind-3.19.0\npid: 7\ncmd: x\npart: 2\nthread: 3\n\
                    desc: I1 cache:\ndesc: Trigger: --dump-after=blueprint_bench::cli::instructions::blueprint_count_instantiate\n\
                    positions: line\nevents: Ir\nsummary: 123456\n\nfl=(1) x.rs\nfn=(1) f\n3 7\n\ntotals: 123456\n";
        let part = parse_part(part).unwrap();
        assert!(part.trigger.ends_with("blueprint_count_instantiate"));
        assert_eq!((part.thread, part.total), (3, 123_456));
        assert!(parse_part("version: 1\n").is_err());
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
