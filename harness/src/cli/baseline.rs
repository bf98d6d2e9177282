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

/// Which baseline: the machine and the folder, as every subcommand takes them.
#[derive(Debug, clap::Args)]
pub struct Store {
    /// Machine name (default: $BLUEPRINT_MACHINE, else the host name).
    #[arg(long)]
    pub machine: Option<String>,
    /// Folder of baselines (default: results/baselines/ of the project).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

impl Store {
    /// The machine name and the folder, defaults filled in.
    fn resolve(self) -> (String, PathBuf) {
        (
            self.machine.unwrap_or_else(machine_name),
            self.dir.unwrap_or_else(baselines_dir),
        )
    }
}

/// `baseline promote`.
#[derive(Debug, clap::Args)]
pub struct PromoteArgs {
    /// The results file to promote.
    pub results: PathBuf,
    /// Which baseline.
    #[command(flatten)]
    pub store: Store,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `baseline path`.
#[derive(Debug, clap::Args)]
pub struct PathArgs {
    /// Which baseline.
    #[command(flatten)]
    pub store: Store,
}

/// Runs `baseline …`.
///
/// # Errors
/// See [`promote`].
pub fn execute(args: BaselineArgs) -> Result<i32> {
    match args.command {
        BaselineCommand::Promote(args) => {
            let (machine, dir) = args.store.resolve();
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
            let (machine, dir) = args.store.resolve();
            check_machine_name(&machine)?;
            println!("{}", path_for(&dir, &machine).display());
            Ok(0)
        }
    }
}
