//! `blueprint-bench merge OUT IN…`: one `load --json` document from several
//! runs of one target side by side (the pods of one Kubernetes Job).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::k8s::merge::{LoadOutput, merge_outputs};

/// `merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Where to write the merged document.
    pub out: PathBuf,
    /// `blueprint-bench load --json` outputs of one target.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

/// Runs `merge`.
///
/// # Errors
/// An unreadable or foreign input, runs of different targets or loops.
pub fn execute(args: MergeArgs) -> Result<i32> {
    let inputs = args
        .inputs
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            serde_json::from_str::<LoadOutput>(&text)
                .with_context(|| format!("{} is not a `blueprint-bench load --json` output", p.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    let merged = merge_outputs(&inputs)?;
    blueprint_analysis::results::write_atomic(&args.out, &merged)?;
    Ok(0)
}
