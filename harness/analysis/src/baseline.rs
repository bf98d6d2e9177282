//! Stored baselines: `results/baselines/<machine>.json`, the run a nightly
//! job compares against. A baseline changes only deliberately, through
//! `baseline promote`, which validates the file first and replaces the old
//! one atomically (a reader never sees half a baseline).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::results::{self, CellStatus, RunResults};

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

/// Checks that a results document can serve as a baseline: a run that got
/// to its end, with at least one measured cell; returns warnings for what
/// would weaken comparisons.
///
/// # Errors
/// The run did not complete, or no cell was measured.
pub fn validate(results: &RunResults) -> Result<Vec<String>> {
    if !results.is_complete() {
        let unfinished = results.unfinished_cells();
        let listed: Vec<String> = unfinished
            .iter()
            .take(5)
            .map(|(id, why)| format!("{id} ({why})"))
            .collect();
        bail!(
            "the run is incomplete (it did not reach its end{}): {} cell(s) unfinished{}{}; \
             a baseline must be a whole run, so re-run the scenario to the end and promote that",
            if results.completed {
                ""
            } else {
                ", no completion mark"
            },
            unfinished.len(),
            if listed.is_empty() {
                String::new()
            } else {
                format!(": {}", listed.join(", "))
            },
            if unfinished.len() > listed.len() {
                ", …"
            } else {
                ""
            }
        );
    }
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
