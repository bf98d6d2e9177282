//! `blueprint-bench doctor`: what this machine has for each part of a run,
//! with the fix for what it lacks — the check `run` does before it starts.

use anyhow::Result;

use crate::{paths, preflight};

/// `doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// A daprd binary to check instead of the one the harness would build.
    #[arg(long, env = "DAPRD")]
    pub daprd: Option<std::path::PathBuf>,
}

/// Runs `doctor`; exit code 1 when daprd, which every cell needs, is missing.
///
/// # Errors
/// Writing the output.
pub fn execute(args: DoctorArgs) -> Result<i32> {
    let pre = preflight::check(
        &paths::project_dir(),
        &paths::cache_dir(),
        args.daprd.as_deref(),
        &[],
    );
    if args.json {
        println!("{}", serde_json::to_string_pretty(&pre)?);
    } else {
        print!("{}", pre.render());
    }
    Ok(if pre.require_daprd().is_err() { 1 } else { 0 })
}
