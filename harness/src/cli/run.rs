//! `blueprint-bench run`: a scenario, start to results file.

use std::path::PathBuf;

use anyhow::{Context, Result};
use blueprint_analysis::{results, table};
use blueprint_host::table as runtimes;

use super::interruptible;
use crate::blueprint::RunContext;
use crate::{daprd, paths, runner, scenario, workloads};

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

/// Runs `run`; exit code 1 when a cell failed.
///
/// # Errors
/// A bad scenario, no daprd, or a failure that stops the whole run.
pub async fn execute(args: RunArgs) -> Result<i32> {
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
    let ctx = RunContext {
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
