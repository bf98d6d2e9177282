//! How long trials took on this machine, kept between runs so the next
//! plan's estimate is measured rather than guessed: the wall time of each
//! trial (start-up, warm-up, window, sweep) by cell, under the load settings
//! it ran with. One JSON file in the cache, rewritten atomically after a
//! run; a missing or unreadable file only means no history.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::scenario::{CellId, LoadSettings, Trials};

/// Trial times kept per cell: the newest ones.
const KEPT: usize = 5;

/// Trial wall times by load settings, then by cell.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Timings {
    #[serde(flatten)]
    by_settings: BTreeMap<String, BTreeMap<String, Vec<f64>>>,
}

/// The settings a trial's length depends on, as one key: everything in
/// `[load]` but the number of trials.
fn settings_key(load: &LoadSettings) -> String {
    let load = LoadSettings {
        trials: Trials::default(),
        ..load.clone()
    };
    serde_json::to_string(&load).unwrap_or_default()
}

/// The file, under the build cache.
pub fn path(cache: &Path) -> PathBuf {
    cache.join("trial-times.json")
}

impl Timings {
    /// The history in `cache`, or none.
    pub fn load(cache: &Path) -> Self {
        std::fs::read(path(cache))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// The median of the kept times of `cell` under `load`.
    pub fn trial(&self, load: &LoadSettings, cell: &CellId) -> Option<Duration> {
        let times = self
            .by_settings
            .get(&settings_key(load))?
            .get(&cell.to_string())?;
        let mut sorted = times.clone();
        sorted.sort_by(f64::total_cmp);
        let median = *sorted.get(sorted.len() / 2)?;
        Duration::try_from_secs_f64(median).ok()
    }

    /// Adds one trial's time.
    pub fn record(&mut self, load: &LoadSettings, cell: &CellId, took: Duration) {
        let times = self
            .by_settings
            .entry(settings_key(load))
            .or_default()
            .entry(cell.to_string())
            .or_default();
        times.push(took.as_secs_f64());
        if times.len() > KEPT {
            times.remove(0);
        }
    }

    /// Writes the history to `cache`: merged into what is there now (another
    /// run may have finished meanwhile), atomically.
    ///
    /// # Errors
    /// The file could not be written.
    pub fn save(&self, cache: &Path) -> anyhow::Result<()> {
        let mut merged = Self::load(cache);
        for (settings, cells) in &self.by_settings {
            for (cell, times) in cells {
                let kept = merged
                    .by_settings
                    .entry(settings.clone())
                    .or_default()
                    .entry(cell.clone())
                    .or_default();
                kept.extend(times);
                let extra = kept.len().saturating_sub(KEPT);
                kept.drain(..extra);
            }
        }
        blueprint_analysis::results::write_atomic(&path(cache), &merged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(workload: &str) -> CellId {
        CellId {
            workload: workload.into(),
            mode: "embedded".into(),
            runtime: "wasmtime".into(),
            language: "rust".into(),
            protocol: "http".into(),
            store: "in-memory".into(),
            trigger: "dapr".into(),
            instances: Default::default(),
        }
    }

    #[test]
    fn a_trial_time_is_the_median_of_the_newest_under_the_same_settings() {
        let dir = tempfile::tempdir().unwrap();
        let load = LoadSettings::default();
        let mut t = Timings::default();
        for s in [9.0, 1.0, 2.0, 3.0, 4.0, 5.0] {
            t.record(&load, &cell("noop"), Duration::from_secs_f64(s));
        }
        t.save(dir.path()).unwrap();
        let back = Timings::load(dir.path());
        // 9 s fell out; the median of 1–5 is 3.
        assert_eq!(back.trial(&load, &cell("noop")), Some(Duration::from_secs(3)));
        assert_eq!(back.trial(&load, &cell("counter")), None);
        // Other settings, other lengths; the trial count does not matter.
        let longer = LoadSettings {
            duration: Duration::from_secs(30),
            ..load.clone()
        };
        assert_eq!(back.trial(&longer, &cell("noop")), None);
        let more_trials = LoadSettings {
            trials: Trials::fixed(9),
            ..load
        };
        assert_eq!(
            back.trial(&more_trials, &cell("noop")),
            Some(Duration::from_secs(3))
        );
    }

    #[test]
    fn an_unreadable_history_is_no_history() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(path(dir.path()), b"{ not json").unwrap();
        assert!(Timings::load(dir.path()).by_settings.is_empty());
    }
}
