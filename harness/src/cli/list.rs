//! `blueprint-bench list`: what this build knows and what this machine has.

use anyhow::Result;
use blueprint_analysis::modes::Mode;
use blueprint_host::table as runtimes;

use super::build::module_table;
use std::path::PathBuf;

use crate::{paths, scenario, workloads};

/// `list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Also list this scenario's own workloads (`[workloads.<name>]`),
    /// their modules checked as a run checks them.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
}

/// Runs `list`.
///
/// # Errors
/// Unreadable workloads or module cache.
pub fn execute(args: ListArgs) -> Result<i32> {
    let project = paths::project_dir();
    let (catalog, not_built) = workloads::cached_catalog(&project, &paths::cache_dir())?;
    let built_in = workloads::known_workloads(&project)?;
    let custom = match &args.scenario {
        Some(path) => scenario::load(path, &built_in, &runtimes::names())?.custom,
        None => workloads::CustomWorkloads::new(),
    };
    let mut modules = workloads::module_matrix(&project, &catalog, &not_built)?;
    modules.extend(workloads::custom_rows(&custom));
    let listing = serde_json::json!({
        "runtimes": runtimes::entries(),
        "workloads": built_in,
        "custom_workloads": custom.keys().collect::<Vec<_>>(),
        "languages": workloads::LANGUAGES,
        "modes": Mode::names(),
        "modules": modules,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&listing)?);
        return Ok(0);
    }
    println!("runtimes:");
    let entries = runtimes::entries();
    // The engine column is as wide as its longest entry.
    let width = entries.iter().map(|e| e.engine.len()).max().unwrap_or(0);
    for entry in entries {
        let version = entry.version.unwrap_or_default();
        match entry.availability {
            runtimes::Availability::Available => {
                println!(
                    "  {:<18} {version:<8} {:<width$} available",
                    entry.name, entry.engine
                )
            }
            runtimes::Availability::Unavailable { reason, fix } => {
                println!(
                    "  {:<18} {version:<8} {:<width$} UNAVAILABLE: {reason}",
                    entry.name, entry.engine
                );
                println!("  {:<18} fix: {fix}", "");
            }
        }
    }
    println!("workloads: {}", built_in.join(", "));
    if !custom.is_empty() {
        let names: Vec<&str> = custom.keys().map(String::as_str).collect();
        println!(
            "custom:    {} (language `{}`)",
            names.join(", "),
            workloads::CUSTOM_LANGUAGE
        );
    }
    println!("languages: {}", workloads::LANGUAGES.join(", "));
    println!("modes:     {}", Mode::names().join(", "));
    println!("modules (workload, language, flavour):");
    for line in module_table(&modules).lines() {
        println!("  {line}");
    }
    Ok(0)
}
