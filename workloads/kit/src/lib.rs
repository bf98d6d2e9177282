//! The workloads as data: their golden vectors and their Rust guest modules.
//!
//! - [`vectors`] reads `workloads/vectors/<workload>.json`, the expected
//!   behaviour every language, runtime and mode must reproduce.
//! - [`rust_guest`] builds a Rust workload of `workloads/rust/` into a
//!   `wasm32-wasip1` module.
//!
//! Both are used by the harness and by the runtime adapters' tests, so there
//! is one reader of the vectors and one way to build a guest.

#![deny(missing_docs)]

pub mod rust_guest;
pub mod vectors;

use std::path::PathBuf;

pub use rust_guest::{build_rust_guest, cargo_for, rust_feature, rust_target};
pub use vectors::{
    Case, Expected, PARTIAL_WORKLOADS, PublishedEvent, VectorFile, implemented_in, known_workloads,
    languages_of, load_vectors, read_vectors, vectors_dir,
};

/// The project checkout: `$BLUEPRINT_PROJECT_DIR`; else the nearest folder
/// at or above the current directory that is a checkout; else the one this
/// crate was built from (`workloads/kit/` is two levels below it).
///
/// The current directory comes before the built-in path because a build
/// cache may be shared between checkouts: cargo does not rebuild a crate
/// whose sources are unchanged, so the built-in path can name another
/// checkout than the one whose tests (run in their crate's folder) or binary
/// is being used.
pub fn checkout_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BLUEPRINT_PROJECT_DIR") {
        let dir = PathBuf::from(dir);
        return dir.canonicalize().unwrap_or(dir);
    }
    let here = std::env::current_dir().ok();
    if let Some(found) = here.iter().flat_map(|d| d.ancestors()).find(|d| is_checkout(d)) {
        return found.to_owned();
    }
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let dir = dir.canonicalize().unwrap_or(dir);
    if !is_checkout(&dir) {
        // Whatever reads the project next fails on a missing file; say once
        // why, and what to do.
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            eprintln!(
                "warning: not run from a blueprint-bench checkout, and the one it was built from ({}) is \
                 gone or moved: run it from inside the checkout, or set BLUEPRINT_PROJECT_DIR",
                dir.display()
            );
        });
    }
    dir
}

/// Whether `dir` is a blueprint-bench checkout: it has the golden vectors
/// and this crate's manifest.
fn is_checkout(dir: &std::path::Path) -> bool {
    dir.join("workloads/vectors").is_dir() && dir.join("workloads/kit/Cargo.toml").is_file()
}

/// The build cache: `$BLUEPRINT_CACHE_DIR`, else `$XDG_CACHE_HOME/blueprint-bench`,
/// else `~/.cache/blueprint-bench`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BLUEPRINT_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("blueprint-bench")
}
