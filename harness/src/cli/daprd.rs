//! `blueprint-bench daprd`: find or build the sidecar.

use std::path::PathBuf;

use anyhow::Result;

use crate::daprd;

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

/// Runs `daprd`.
///
/// # Errors
/// No daprd found and none could be built.
pub fn execute(args: DaprdArgs) -> Result<i32> {
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
