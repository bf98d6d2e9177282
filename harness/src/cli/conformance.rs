//! `blueprint-bench conformance`: golden vectors through a real daprd.

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::interruptible;
use crate::{conformance, daprd, paths, preflight, scenario, workloads};
use blueprint_host::table as runtimes;

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
    /// Check this scenario's own workloads (`[workloads.<name>]`) in the
    /// modes and runtimes it lists, instead of the built-in ones.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// A daprd binary to use instead of building one.
    #[arg(long, env = "DAPRD")]
    pub daprd: Option<PathBuf>,
}

/// Runs `conformance`; exit code 1 when a cell failed.
///
/// # Errors
/// No daprd, or a failure that stops every cell.
pub async fn execute(args: ConformanceArgs) -> Result<i32> {
    let project = paths::project_dir();
    // A bad scenario fails before daprd is looked for.
    let plan = match &args.scenario {
        Some(path) => Some(scenario::load(
            path,
            &workloads::known_workloads(&project)?,
            &runtimes::names(),
        )?),
        None => None,
    };
    // Check in seconds what every cell needs before building daprd.
    let pre = preflight::check(&project, &paths::cache_dir(), args.daprd.as_deref(), &["rust"]);
    pre.require_daprd()?;
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
    let cells = match &plan {
        Some(plan) => interruptible(conformance::run_scenario(&ctx, plan, &filter, work.path())).await?,
        None => interruptible(conformance::run_all(&ctx, &filter, work.path())).await?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&cells)?);
    } else {
        print!("{}", conformance::render(&cells));
        if plan.is_none() && cells.iter().any(|c| c.protocol != "http") {
            println!(
                "(`<mode>/grpc`: daprd calls the app over gRPC, cases sent through daprd; checked on {} only, \
                 one runtime per host program)",
                conformance::GRPC_RUNTIMES.join(" and ")
            );
        }
    }
    Ok(if cells.iter().any(|c| c.status == "fail") {
        1
    } else {
        0
    })
}
