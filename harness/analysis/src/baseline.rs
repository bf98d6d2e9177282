//! Stored baselines: `results/baselines/<machine>.json`, the run a nightly
//! job compares against. A baseline changes only deliberately, through
//! `baseline promote`, which validates the file first and replaces the old
//! one atomically (a reader never sees half a baseline).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::results::{self, CellStatus, RunResults};

/// `results/baselines/` of the project.
pub fn baselines_dir() -> PathBuf {
    crate::paths::project_dir().join("results").join("baselines")
}

/// This machine's name for baselines: `$BLUEPRINT_MACHINE`, else the host name.
pub fn machine_name() -> String {
    std::env::var("BLUEPRINT_MACHINE")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Checks a machine name is usable as a file name.
///
/// # Errors
/// Empty, or characters other than letters, digits, `.`, `_`, `-`.
pub fn check_machine_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok {
        bail!("machine name `{name}` must be letters, digits, `.`, `_` or `-` (it becomes a file name)");
    }
    Ok(())
}

/// The baseline file of a machine.
pub fn path_for(dir: &Path, machine: &str) -> PathBuf {
    dir.join(format!("{machine}.json"))
}

/// Checks that a results document can serve as a baseline: at least one
/// measured cell; returns warnings for what would weaken comparisons.
///
/// # Errors
/// No cell was measured.
pub fn validate(results: &RunResults) -> Result<Vec<String>> {
    let measured: Vec<_> = results
        .cells
        .iter()
        .filter(|c| c.status == CellStatus::Ok && !c.trials.is_empty())
        .collect();
    if measured.is_empty() {
        bail!("no cell was measured; a baseline needs figures to compare against");
    }
    let mut warnings = Vec::new();
    let fewest = measured.iter().map(|c| c.trials.len()).min().unwrap_or(0);
    if fewest < 4 {
        warnings.push(format!(
            "some cells have {fewest} trial(s); with fewer than 4 no regression against them can be significant"
        ));
    }
    let failed = results
        .cells
        .iter()
        .filter(|c| matches!(c.status, CellStatus::Failed { .. }))
        .count();
    if failed > 0 {
        warnings.push(format!(
            "{failed} cell(s) failed in this run and will not be compared"
        ));
    }
    if results.environment.git_revision.ends_with("-dirty") {
        warnings.push(format!(
            "the run came from a modified checkout ({})",
            results.environment.git_revision
        ));
    }
    Ok(warnings)
}

/// Validates `source` and copies it byte for byte to `<dir>/<machine>.json`
/// atomically. Returns the target and the warnings.
///
/// # Errors
/// Unreadable or invalid results, a bad machine name, an unwritable folder.
pub fn promote(source: &Path, dir: &Path, machine: &str) -> Result<(PathBuf, Vec<String>)> {
    check_machine_name(machine)?;
    let parsed = results::read(source)?;
    let warnings = validate(&parsed).with_context(|| format!("{} cannot be a baseline", source.display()))?;
    let bytes = std::fs::read(source).with_context(|| format!("reading {}", source.display()))?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let target = path_for(dir, machine);
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).with_context(|| format!("writing in {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, &bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(&target)
        .with_context(|| format!("renaming into {}", target.display()))?;
    Ok((target, warnings))
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
