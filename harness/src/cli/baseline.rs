//! `blueprint-bench baseline`: stored baselines, promoted deliberately.

use std::path::PathBuf;

use anyhow::Result;
use blueprint_analysis::baseline::{check_machine_name, machine_name, path_for, promote};

use crate::paths;

/// `results/baselines/` of the project.
pub fn baselines_dir() -> PathBuf {
    paths::project_dir().join("results").join("baselines")
}

/// `baseline`.
#[derive(Debug, clap::Args)]
pub struct BaselineArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: BaselineCommand,
}

/// `baseline` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum BaselineCommand {
    /// Validate a results file and make it this machine's baseline (atomic replace).
    Promote(PromoteArgs),
    /// Print the baseline path this machine would use.
    Path(PathArgs),
}

/// `baseline promote`.
#[derive(Debug, clap::Args)]
pub struct PromoteArgs {
    /// The results file to promote.
    pub results: PathBuf,
    /// Machine name (default: $BLUEPRINT_MACHINE, else the host name).
    #[arg(long)]
    pub machine: Option<String>,
    /// Folder of baselines (default: results/baselines/ of the project).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `baseline path`.
#[derive(Debug, clap::Args)]
pub struct PathArgs {
    /// Machine name (default: $BLUEPRINT_MACHINE, else the host name).
    #[arg(long)]
    pub machine: Option<String>,
    /// Folder of baselines (default: results/baselines/ of the project).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Runs `baseline …`.
///
/// # Errors
/// See [`promote`].
pub fn execute(args: BaselineArgs) -> Result<i32> {
    match args.command {
        BaselineCommand::Promote(args) => {
            let machine = args.machine.unwrap_or_else(machine_name);
            let dir = args.dir.unwrap_or_else(baselines_dir);
            let (target, warnings) = promote(&args.results, &dir, &machine)?;
            if args.json {
                let out = serde_json::json!({
                    "machine": machine,
                    "baseline": target,
                    "source": args.results,
                    "warnings": warnings,
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                for w in &warnings {
                    eprintln!("warning: {w}");
                }
                println!(
                    "baseline for `{machine}`: {} (from {})",
                    target.display(),
                    args.results.display()
                );
            }
            Ok(0)
        }
        BaselineCommand::Path(args) => {
            let machine = args.machine.unwrap_or_else(machine_name);
            check_machine_name(&machine)?;
            println!(
                "{}",
                path_for(&args.dir.unwrap_or_else(baselines_dir), &machine).display()
            );
            Ok(0)
        }
    }
}
