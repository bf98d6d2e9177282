//! The command line: one subcommand enum, each with its `execute`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::{conformance, daprd, host, paths, results, runner, runtimes, scenario, table, workloads};

/// Benchmark and conformance harness for WebAssembly with Dapr.
#[derive(Debug, Parser)]
#[command(name = "blueprint-bench", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario file and write a results JSON under results/runs/.
    Run(RunArgs),
    /// Check every workload's golden vectors on every runtime against a real daprd.
    Conformance(ConformanceArgs),
    /// List runtimes (with availability), workloads, languages, modes and the built modules.
    List(ListArgs),
    /// Build the guest modules (cached by source hash) and show workload × language × flavour.
    Build(BuildArgs),
    /// Find or build daprd and print its path and version.
    Daprd(DaprdArgs),
    /// Serve workloads as a Dapr app on a runtime (the embedded blueprint's host; see runtimes/HOST.md).
    Host(Box<host::HostArgs>),
    /// Drive a loopback HTTP endpoint (closed or open loop) and print latency and throughput.
    Load(Box<crate::load::cli::LoadArgs>),
    /// Echo request bodies: the native app behind the middleware cells.
    Echo(crate::echo::EchoArgs),
    /// Run a WASI preview 1 command module on a runtime; exits with the guest's exit code.
    WasiRun(Box<crate::wasi_run::WasiRunArgs>),
    /// Resident memory per live guest instance (for benches/instance_rss.rs).
    #[command(hide = true)]
    InstanceRss(crate::instance_rss::InstanceRssArgs),
    /// Render a results file as Markdown and one self-contained HTML page with charts.
    Report(crate::report::ReportArgs),
    /// Compare a candidate results file against a baseline; exit 3 on a regression.
    Compare(crate::compare::CompareArgs),
    /// Rank blueprints for a rate, a p99 budget and what the workload needs, from measured figures.
    Recommend(crate::recommend::RecommendArgs),
    /// Manage stored baselines (results/baselines/<machine>.json).
    Baseline(crate::baseline::BaselineArgs),
}

/// Where daprd comes from.
#[derive(Debug, Clone, clap::Args)]
pub struct DaprdArgs {
    /// A daprd binary to use instead of building one.
    #[arg(long, env = "DAPRD", global = true)]
    pub daprd: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Results file (default: results/runs/<name>-<time>.json).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the results JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// A daprd binary to use instead of building one.
    #[arg(long, env = "DAPRD")]
    pub daprd: Option<PathBuf>,
}

/// `conformance`.
#[derive(Debug, clap::Args)]
pub struct ConformanceArgs {
    /// Only this runtime.
    #[arg(long)]
    pub runtime: Option<String>,
    /// Only this mode (embedded, embedded+cache, standalone-http, middleware, binding, native).
    #[arg(long)]
    pub mode: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// A daprd binary to use instead of building one.
    #[arg(long, env = "DAPRD")]
    pub daprd: Option<PathBuf>,
}

/// `list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Only these languages (repeatable; default: all).
    #[arg(long = "language")]
    pub languages: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

impl Command {
    /// Runs the subcommand; the returned code is the process exit code.
    ///
    /// # Errors
    /// Whatever stops the command; printed as one line by `main`.
    pub async fn execute(self) -> Result<i32> {
        match self {
            Command::Run(args) => run(args).await,
            Command::Conformance(args) => conformance_cmd(args).await,
            Command::List(args) => list(args),
            Command::Build(args) => build(args),
            Command::Daprd(args) => {
                let found = daprd::resolve(args.daprd.as_deref())?;
                if args.json {
                    println!("{}", serde_json::to_string_pretty(&found)?);
                } else {
                    println!(
                        "{} (version {}, {})",
                        found.path.display(),
                        found.version,
                        found.source
                    );
                }
                Ok(0)
            }
            Command::Host(args) => host::serve(*args).await.map(|()| 0),
            Command::Load(args) => crate::load::cli::execute(*args).await,
            Command::Echo(args) => crate::echo::serve(args).await.map(|()| 0),
            Command::WasiRun(args) => crate::wasi_run::execute(*args),
            Command::InstanceRss(args) => crate::instance_rss::execute(args),
            Command::Report(args) => crate::report::execute(args),
            Command::Compare(args) => crate::compare::execute(args),
            Command::Recommend(args) => crate::recommend::execute(args),
            Command::Baseline(args) => crate::baseline::execute(args),
        }
    }
}

/// Runs `work` unless Ctrl-C comes first; dropping `work` stops its children.
async fn interruptible<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::select! {
        result = work => result,
        _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted; child processes stopped"),
    }
}

async fn run(args: RunArgs) -> Result<i32> {
    let project = paths::project_dir();
    let workloads = workloads::known_workloads(&project)?;
    // Validate before building or starting anything.
    let plan = scenario::load(&args.scenario, &workloads, &runtimes::names())?;
    let daprd = daprd::resolve(args.daprd.as_deref())?;
    let started = chrono::Utc::now();
    let out = args
        .out
        .unwrap_or_else(|| results::default_path(&paths::runs_dir(), &plan.meta.name, &started));
    let work_dir = out.with_extension("d");
    let ctx = runner::RunContext {
        project,
        cache: paths::cache_dir(),
        daprd,
        host_program: std::env::current_exe().context("locating the blueprint-bench binary")?,
        work_dir,
    };
    let results = interruptible(runner::run(&ctx, &plan, &out)).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        print!("{}", table::render(&results));
        println!("\nresults: {}", out.display());
    }
    let failed = results
        .cells
        .iter()
        .any(|c| matches!(c.status, results::CellStatus::Failed { .. }));
    Ok(if failed { 1 } else { 0 })
}

async fn conformance_cmd(args: ConformanceArgs) -> Result<i32> {
    let project = paths::project_dir();
    let daprd = daprd::resolve(args.daprd.as_deref())?;
    let work = tempfile::Builder::new()
        .prefix("blueprint-conformance-")
        .tempdir()?;
    let ctx = conformance::ConformanceContext {
        daprd,
        self_exe: std::env::current_exe().context("locating the blueprint-bench binary")?,
        project,
        cache: paths::cache_dir(),
    };
    let filter = conformance::Filter {
        runtime: args.runtime.clone(),
        mode: args.mode.clone(),
    };
    let cells = interruptible(conformance::run_all(&ctx, &filter, work.path())).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&cells)?);
    } else {
        print!("{}", conformance::render(&cells));
    }
    Ok(if cells.iter().any(|c| c.status == "fail") {
        1
    } else {
        0
    })
}

fn build(args: BuildArgs) -> Result<i32> {
    let project = paths::project_dir();
    for language in &args.languages {
        workloads::language(language)?;
    }
    let names: Vec<&str> = if args.languages.is_empty() {
        workloads::LANGUAGES.to_vec()
    } else {
        args.languages.iter().map(String::as_str).collect()
    };
    let catalog = workloads::build_languages(&project, &paths::cache_dir(), &names)?;
    let rows: Vec<_> = workloads::module_matrix(&project, &catalog, &[])?
        .into_iter()
        .filter(|r| names.contains(&r.language.as_str()))
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", module_table(&rows));
    }
    Ok(0)
}

/// The module matrix as text, one line per module.
fn module_table(rows: &[workloads::ModuleRow]) -> String {
    let mut out = String::new();
    for r in rows {
        let detail = match (r.size_bytes, &r.reason) {
            (Some(size), _) => format!("{size} bytes"),
            (None, Some(reason)) => reason.clone(),
            (None, None) => String::new(),
        };
        out.push_str(&format!(
            "{:<10} {:<15} {:<11} {:<12} {detail}\n",
            r.workload, r.language, r.flavour, r.status
        ));
    }
    out
}

fn list(args: ListArgs) -> Result<i32> {
    let project = paths::project_dir();
    let (catalog, not_built) = workloads::cached_catalog(&project, &paths::cache_dir())?;
    let modules = workloads::module_matrix(&project, &catalog, &not_built)?;
    let listing = serde_json::json!({
        "runtimes": runtimes::entries(),
        "workloads": workloads::known_workloads(&project)?,
        "languages": workloads::LANGUAGES,
        "modes": crate::modes::Mode::names(),
        "modules": modules,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&listing)?);
        return Ok(0);
    }
    println!("runtimes:");
    for entry in runtimes::entries() {
        let version = entry.version.unwrap_or_default();
        match entry.availability {
            runtimes::Availability::Available => {
                println!("  {:<18} {version:<8} {:<18} available", entry.name, entry.engine)
            }
            runtimes::Availability::Unavailable { reason, fix } => {
                println!(
                    "  {:<18} {version:<8} {:<18} UNAVAILABLE: {reason}",
                    entry.name, entry.engine
                );
                println!("  {:<18} fix: {fix}", "");
            }
        }
    }
    println!("workloads: {}", workloads::known_workloads(&project)?.join(", "));
    println!("languages: {}", workloads::LANGUAGES.join(", "));
    println!("modes:     {}", crate::modes::Mode::names().join(", "));
    println!("modules (workload, language, flavour):");
    for line in module_table(&modules).lines() {
        println!("  {line}");
    }
    Ok(0)
}
