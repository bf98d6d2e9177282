//! Where things live: the project checkout (sources the harness builds from)
//! and the cache (built daprd, guests, Go caches), kept apart from the run
//! output.

use std::path::PathBuf;

/// The project checkout: `$BLUEPRINT_PROJECT_DIR`, else the checkout around
/// the current directory, else the one this binary was built from.
pub use blueprint_host::table::project_dir;

/// The build cache: `$BLUEPRINT_CACHE_DIR`, else `$XDG_CACHE_HOME/blueprint-bench`,
/// else `~/.cache/blueprint-bench` (one definition, shared with the adapters'
/// test kit).
pub use blueprint_workloads::cache_dir;

/// Where run folders and result files go by default: `results/runs/`.
pub fn runs_dir() -> PathBuf {
    project_dir().join("results").join("runs")
}
