//! What earlier runs already measured that a decision can take instead of
//! measuring it again: cells of the same workload, mode, runtime and
//! language with open-loop steps at the rate and at 1.5× it.
//!
//! The files are those given with `--from` (the user vouches for them), or
//! else the newest runs in the runs folder that were made on this machine
//! (CPU, cores, memory, kernel), by this very revision of the project with
//! no uncommitted change, with the same daprd, the same child environment
//! and the same load settings that shape latency (connections, arrival).
//! Anything else could have measured something different, so it is not
//! reused; `--fresh` reuses nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use blueprint_analysis::results::{self, CellResult, RunResults, SweepPoint, TrialResult};
use blueprint_load::Arrival;

use crate::daprd;
use crate::paths;

/// How many of the newest result files are looked at: enough for a week of
/// decisions and runs, few enough to read in a moment.
const NEWEST: usize = 40;

/// The files to reuse from and a line saying how they were chosen.
pub struct Earlier {
    /// Results files, best first (the first with a candidate's cell wins).
    pub files: Vec<PathBuf>,
    /// For the plan: where they came from, or why there are none.
    pub note: String,
    /// The runs of `files`, when choosing them read them already (found in
    /// the runs folder); empty for `--from` files.
    read: Vec<RunResults>,
}

impl Earlier {
    /// Each file with its run, best first: those read while choosing them
    /// are not read again.
    ///
    /// # Errors
    /// A `--from` file that is not a results file.
    pub fn take_runs(&mut self) -> Result<Vec<(PathBuf, RunResults)>> {
        let files = std::mem::take(&mut self.files);
        let read = std::mem::take(&mut self.read);
        if read.len() == files.len() {
            return Ok(files.into_iter().zip(read).collect());
        }
        files
            .into_iter()
            .map(|path| {
                let run = results::read(&path)?;
                Ok((path, run))
            })
            .collect()
    }
}

/// What the current decision would measure with, to compare earlier runs to.
pub struct Here<'a> {
    /// `--daprd`, when given.
    pub daprd: Option<&'a Path>,
    /// Connections of the load generator.
    pub connections: usize,
}

/// The earlier results a decision reuses: `from` when given, none when
/// `fresh`, else the newest comparable runs in `folder` (default
/// `results/runs/`).
pub fn earlier(from: &[PathBuf], fresh: bool, folder: Option<&Path>, here: &Here) -> Earlier {
    if !from.is_empty() {
        return Earlier {
            files: from.to_vec(),
            note: format!("reusing what {} file(s) given with --from measured", from.len()),
            read: Vec::new(),
        };
    }
    if fresh {
        return Earlier {
            files: Vec::new(),
            note: "--fresh: nothing earlier is reused".into(),
            read: Vec::new(),
        };
    }
    let folder = folder.map_or_else(paths::runs_dir, Path::to_path_buf);
    let machine = crate::environment::fingerprint(&paths::project_dir());
    if machine.git_revision.ends_with("-dirty") || machine.git_revision == "unknown" {
        return Earlier {
            files: Vec::new(),
            note: format!(
                "nothing earlier is reused: the checkout's revision is {} (uncommitted changes can change \
                 every figure); commit, or give --from",
                machine.git_revision
            ),
            read: Vec::new(),
        };
    }
    let daprd = match daprd::plan(here.daprd) {
        daprd::Plan::Ready(d) => Some(d),
        _ => None,
    };
    let children: BTreeMap<String, String> = crate::process::child_environment().into_iter().collect();
    let mut files = Vec::new();
    let mut read = Vec::new();
    let mut looked = 0;
    for path in newest_results(&folder) {
        looked += 1;
        let Ok(run) = results::read(&path) else {
            tracing::debug!("{} is not a results file", path.display());
            continue;
        };
        let env = &run.environment;
        let same = env.cpu == machine.cpu
            && env.cores == machine.cores
            && env.memory_bytes == machine.memory_bytes
            && env.kernel == machine.kernel
            && env.git_revision == machine.git_revision
            && env.child_environment == children
            && env.app_environment.is_empty()
            && daprd.as_ref().is_some_and(|d| {
                env.daprd
                    .as_ref()
                    .is_some_and(|e| e.path == d.path && e.version == d.version)
            })
            && run.scenario.load.connections == here.connections
            && run.scenario.load.arrival == Arrival::Poisson;
        if same {
            files.push(path);
            read.push(run);
        }
    }
    let note = if files.is_empty() {
        format!(
            "no earlier run in {} ({looked} result file(s) looked at) was made on this machine by revision {} \
             with this daprd and these load settings",
            folder.display(),
            machine.git_revision
        )
    } else {
        format!(
            "reusing {} earlier run(s) in {} made on this machine by revision {} with this daprd and these \
             load settings (--fresh to measure anew)",
            files.len(),
            folder.display(),
            machine.git_revision
        )
    };
    Earlier { files, note, read }
}

/// The newest [`NEWEST`] JSON files of a runs folder: results files at its
/// top, and `results.json` and round files of the decisions' folders.
fn newest_results(folder: &Path) -> Vec<PathBuf> {
    let json = |p: &Path| p.extension().is_some_and(|e| e == "json");
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    let mut add = |p: PathBuf| {
        if let Ok(modified) = std::fs::metadata(&p).and_then(|m| m.modified()) {
            found.push((modified, p));
        }
    };
    for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            for inner in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                let p = inner.path();
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                if json(&p) && (name == "results.json" || name.starts_with("round-")) {
                    add(p);
                }
            }
        } else if json(&path) {
            add(path);
        }
    }
    found.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    found.into_iter().take(NEWEST).map(|(_, p)| p).collect()
}

/// A trial's open-loop step at `rate` (within 0.5 %), if it has one.
pub fn step_at(t: &TrialResult, rate: f64) -> Option<&SweepPoint> {
    t.sweep
        .iter()
        .find(|p| (p.point.target_rps - rate).abs() <= rate * 0.005)
}

/// The trials of `cell` with steps at `rate` and at 1.5× it: what a
/// decision at `rate` can take.
pub fn usable_trials(cell: &CellResult, rate: f64) -> Vec<TrialResult> {
    cell.trials
        .iter()
        .filter(|t| step_at(t, rate).is_some() && step_at(t, rate * 1.5).is_some())
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_results_files_of_runs_and_of_decisions_folders() {
        let dir = tempfile::tempdir().unwrap();
        let touch = |rel: &str| {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "{}").unwrap();
            // Distinct modification times, in the order written.
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        touch("smoke-1.json");
        touch("smoke-1.d/cell-1.json");
        touch("decide-counter-1/round-1-0.json");
        touch("decide-counter-1/decision.json");
        touch("decide-counter-1/results.json");
        touch("notes.txt");
        let names: Vec<String> = newest_results(dir.path())
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "decide-counter-1/results.json",
                "decide-counter-1/round-1-0.json",
                "smoke-1.json"
            ]
        );
    }

    #[test]
    fn fresh_reuses_nothing_and_from_is_taken_as_given() {
        let here = Here {
            daprd: None,
            connections: 4,
        };
        let e = earlier(&[], true, None, &here);
        assert!(e.files.is_empty() && e.note.contains("--fresh"));
        let given = [PathBuf::from("/x/results.json")];
        let e = earlier(&given, false, None, &here);
        assert_eq!(e.files, given);
    }
}
