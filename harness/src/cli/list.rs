//! `blueprint-bench list`: what this build knows and what this machine has.

use anyhow::Result;
use blueprint_analysis::modes::Mode;
use blueprint_host::table as runtimes;

use super::build::module_table;
use crate::{paths, workloads};

/// `list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `list`.
///
/// # Errors
/// Unreadable workloads or module cache.
pub fn execute(args: ListArgs) -> Result<i32> {
    let project = paths::project_dir();
    let (catalog, not_built) = workloads::cached_catalog(&project, &paths::cache_dir())?;
    let modules = workloads::module_matrix(&project, &catalog, &not_built)?;
    let listing = serde_json::json!({
        "runtimes": runtimes::entries(),
        "workloads": workloads::known_workloads(&project)?,
        "languages": workloads::LANGUAGES,
        "modes": Mode::names(),
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
    println!("modes:     {}", Mode::names().join(", "));
    println!("modules (workload, language, flavour):");
    for line in module_table(&modules).lines() {
        println!("  {line}");
    }
    Ok(0)
}
