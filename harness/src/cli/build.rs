//! `blueprint-bench build`: the guest modules, cached by source hash.

use anyhow::Result;

use crate::{paths, workloads};

/// `build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Only these languages (repeatable; default: all).
    #[arg(long = "language")]
    pub languages: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `build`.
///
/// # Errors
/// An unknown language or a failed build.
pub fn execute(args: BuildArgs) -> Result<i32> {
    let project = paths::project_dir();
    for language in &args.languages {
        workloads::language(language)?;
    }
    let names: Vec<&str> = if args.languages.is_empty() {
        workloads::LANGUAGES.to_vec()
    } else {
        args.languages.iter().map(String::as_str).collect()
    };
    let catalog = workloads::build_languages(&project, &paths::cache_dir(), &names)?;
    let rows: Vec<_> = workloads::module_matrix(&project, &catalog, &[])?
        .into_iter()
        .filter(|r| names.contains(&r.language.as_str()))
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", module_table(&rows));
    }
    Ok(0)
}

/// The module matrix as text, one line per module.
pub(super) fn module_table(rows: &[workloads::ModuleRow]) -> String {
    let mut out = String::new();
    for r in rows {
        let detail = match (r.size_bytes, &r.reason) {
            (Some(size), _) => format!("{size} bytes"),
            (None, Some(reason)) => reason.clone(),
            (None, None) => String::new(),
        };
        out.push_str(&format!(
            "{:<10} {:<15} {:<11} {:<12} {detail}\n",
            r.workload, r.language, r.flavour, r.status
        ));
    }
    out
}
