//! `blueprint-bench run`: a scenario, start to results file.

use std::path::PathBuf;

use anyhow::{Context, Result};
use blueprint_analysis::{results, table};

use super::interruptible;
use crate::blueprint::RunContext;
use crate::{daprd, paths, preflight, runner, workloads};

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
    /// Print the plan (cells, what will be built, the estimate) and stop.
    #[arg(long)]
    pub plan: bool,
    /// A scenario with `[rotation]`: the night whose share to run
    /// (default: days since 1970-01-01 UTC, so each night takes the next).
    #[arg(long, env = "BLUEPRINT_NIGHT")]
    pub night: Option<u64>,
}

/// Runs `run`; exit code 1 when a cell failed.
///
/// # Errors
/// A bad scenario, no daprd, or a failure that stops the whole run.
pub async fn execute(args: RunArgs) -> Result<i32> {
    let Some(results) = run_scenario(
        &args.scenario,
        args.daprd.as_deref(),
        args.out,
        args.night,
        args.plan,
    )
    .await?
    else {
        return Ok(0);
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results.0)?);
    } else {
        print!("{}", table::render(&results.0));
        println!("\nresults: {}", results.1.display());
    }
    let failed = results
        .0
        .cells
        .iter()
        .any(|c| matches!(c.status, results::CellStatus::Failed { .. }));
    Ok(if failed { 1 } else { 0 })
}

/// Checks, builds for and runs one scenario file into `out` (default
/// `results/runs/<name>-<time>.json`); `None` when `plan_only`. An
/// interrupted run leaves its finished trials in the file, marked
/// incomplete.
///
/// # Errors
/// A bad scenario, no daprd, a plan over its budget, or a failure that
/// stops the whole run.
pub async fn run_scenario(
    scenario: &std::path::Path,
    explicit_daprd: Option<&std::path::Path>,
    out: Option<PathBuf>,
    night: Option<u64>,
    plan_only: bool,
) -> Result<Option<(results::RunResults, PathBuf)>> {
    let preflight::Checked {
        project,
        cache,
        plan,
        pre,
        cells,
    } = preflight::check_scenario(scenario, explicit_daprd, night)?;
    pre.require_daprd()?;
    preflight::check_budget(&plan, &cells, &preflight::estimate(&plan, &cells, &pre))?;
    if plan_only {
        return Ok(None);
    }
    let (daprd, mut catalog) = prepare(&project, &cache, explicit_daprd, &cells)?;
    catalog.add_custom(&plan.custom);
    let started = chrono::Utc::now();
    let out = out.unwrap_or_else(|| results::default_path(&paths::runs_dir(), &plan.meta.name, &started));
    let work_dir = out.with_extension("d");
    let ctx = RunContext {
        project,
        cache,
        daprd,
        host_program: std::env::current_exe().context("locating the blueprint-bench binary")?,
        work_dir,
        app_env: Vec::new(),
        pinning: None,
    };
    match interruptible(runner::run(&ctx, &plan, &catalog, &out)).await {
        Ok(results) => Ok(Some((results, out))),
        Err(err) => {
            // Every finished trial is already in the file; say that the run
            // stopped, and which cells it never reached.
            if let Ok(mut partial) = results::read(&out) {
                partial.mark_interrupted(&format!("{err:#}"));
                match results::write_atomic(&out, &partial) {
                    Ok(()) => eprintln!("partial results (marked incomplete): {}", out.display()),
                    Err(e) => tracing::warn!("marking {} incomplete: {e:#}", out.display()),
                }
            }
            Err(err)
        }
    }
}

/// Builds what the cells to run need: daprd (when it has to be built) in a
/// thread of its own while the guests build, so the cold path pays for the
/// longer of the two rather than both.
///
/// # Errors
/// daprd or a guest build failed.
pub fn prepare(
    project: &std::path::Path,
    cache: &std::path::Path,
    explicit_daprd: Option<&std::path::Path>,
    cells: &preflight::CellPlan,
) -> Result<(daprd::Daprd, workloads::Catalog)> {
    let mut languages: Vec<&str> = cells.to_run.iter().map(|c| c.language.as_str()).collect();
    languages.sort_unstable();
    languages.dedup();
    let explicit = explicit_daprd.map(std::path::Path::to_owned);
    let daprd = std::thread::spawn(move || daprd::resolve(explicit.as_deref()));
    let catalog = workloads::build_languages(project, cache, &languages);
    let daprd = daprd
        .join()
        .map_err(|_| anyhow::anyhow!("the daprd build thread panicked"))??;
    Ok((daprd, catalog?))
}
