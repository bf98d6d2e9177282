//! Rust guests: one cargo workspace in `workloads/rust/`, built for
//! `wasm32-wasip1` in every flavour but `component` (`wasm32-wasip2`) by the
//! one guest builder,
//! [`blueprint_workloads::build_rust_guest`] (which says why it is `cargo
//! rustc --crate-type cdylib`). Each flavour has its own target folder so
//! that switching features never invalidates another flavour's build.

use std::path::Path;

use anyhow::{Context, Result};

use super::{BuiltModule, Flavour, Language, Missing, build_step};

/// The Rust guest language.
#[derive(Debug)]
pub struct Rust;

/// The cargo feature that selects a flavour; `None` builds `embedded`.
fn feature(flavour: Flavour) -> Option<&'static str> {
    blueprint_workloads::rust_feature(flavour.as_str())
}

impl Language for Rust {
    identity!("rust", "Rust");

    fn extra_sources(&self) -> &'static [&'static str] {
        // The one guest builder the modules are made with.
        &["workloads/kit/src"]
    }

    fn rust_targets(&self) -> &'static [&'static str] {
        &["wasm32-wasip1", "wasm32-wasip2"]
    }

    fn toolchain(&self, _cache: &Path) -> std::result::Result<(), Missing> {
        // cargo runs this binary's own builds, so only the target can be missing;
        // the build names it precisely if so.
        Ok(())
    }

    fn build(&self, project: &Path, cache: &Path, out: &Path) -> Result<Vec<BuiltModule>> {
        let manifest = project.join("workloads/rust/Cargo.toml");
        build_step::guests(self, project, out, "Cargo.toml", |workload, flavour, path| {
            // One cargo target folder per flavour, kept across source
            // versions, keeps builds incremental.
            let target_dir = cache.join("guests/target-rust").join(flavour.as_str());
            let from =
                blueprint_workloads::build_rust_guest(&manifest, &target_dir, workload, feature(flavour))?;
            std::fs::copy(&from, path).with_context(|| format!("copying {}", from.display()))?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_flavour_is_the_default_features() {
        assert_eq!(feature(Flavour::Embedded), None);
        assert_eq!(feature(Flavour::Command), Some("command"));
    }
}
