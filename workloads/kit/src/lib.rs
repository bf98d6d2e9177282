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

pub use rust_guest::{build_rust_guest, cargo_for, rust_feature};
pub use vectors::{Case, Expected, VectorFile, known_workloads, load_vectors, read_vectors, vectors_dir};

/// The project checkout this crate was built from (`workloads/kit/` is two
/// levels below it).
pub fn checkout_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    dir.canonicalize().unwrap_or(dir)
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
