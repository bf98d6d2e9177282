//! Rust guests: one cargo workspace in `workloads/rust/`, built for
//! `wasm32-wasip1` in every flavour by the one guest builder,
//! [`blueprint_workloads::build_rust_guest`] (which says why it is `cargo
//! rustc --crate-type cdylib`). Each flavour has its own target folder so
//! that switching features never invalidates another flavour's build.

use std::path::Path;

use anyhow::{Context, Result};

use super::{BuiltModule, FLAVOURS, Flavour, Language, Missing};
use crate::progress;

/// The Rust guest language.
#[derive(Debug)]
pub struct Rust;

/// The cargo feature that selects a flavour; `None` builds `embedded`.
fn feature(flavour: Flavour) -> Option<&'static str> {
    blueprint_workloads::rust_feature(flavour.as_str())
}

/// Whether a flavour can carry a workload: middleware and command modules
/// have no Dapr access, so only pure workloads are built as those.
fn carries(flavour: Flavour, pure: bool) -> bool {
    pure || matches!(flavour, Flavour::Embedded | Flavour::Http)
}

impl Language for Rust {
    fn recipe(&self) -> &'static str {
        include_str!("rust.rs")
    }

    fn extra_sources(&self) -> &'static [&'static str] {
        // The one guest builder the modules are made with.
        &["workloads/kit/src"]
    }

    fn name(&self) -> &'static str {
        "rust"
    }

    fn toolchain(&self, _cache: &Path) -> std::result::Result<(), Missing> {
        // cargo runs this binary's own builds, so only the target can be missing;
        // the build names it precisely if so.
        Ok(())
    }

    fn build(&self, project: &Path, cache: &Path, out: &Path) -> Result<Vec<BuiltModule>> {
        let manifest = project.join("workloads/rust/Cargo.toml");
        let mut jobs = Vec::new();
        for workload in super::workloads_with(project, "rust", "Cargo.toml")? {
            let pure = super::load_vectors(project, &workload)?.pure;
            for &flavour in FLAVOURS {
                if carries(flavour, pure) {
                    jobs.push((workload.clone(), flavour));
                }
            }
        }
        let bar = progress::bar(jobs.len() as u64, "building Rust guests for wasm32-wasip1");
        let mut modules = Vec::new();
        for (workload, flavour) in jobs {
            progress::step(&bar, format!("Rust guest {workload}.{flavour}"));
            // One cargo target folder per flavour, kept across source
            // versions, keeps builds incremental.
            let target_dir = cache.join("guests/target-rust").join(flavour.as_str());
            let from =
                blueprint_workloads::build_rust_guest(&manifest, &target_dir, &workload, feature(flavour))?;
            let to = out.join(format!("{workload}.{flavour}.wasm"));
            std::fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
            modules.push(BuiltModule {
                workload,
                flavour,
                path: to,
            });
            bar.inc(1);
        }
        bar.finish_and_clear();
        Ok(modules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_embedded_and_http_carry_workloads_that_use_dapr() {
        assert!(carries(Flavour::Embedded, false) && carries(Flavour::Http, false));
        assert!(!carries(Flavour::Middleware, false) && !carries(Flavour::Command, false));
        assert!(FLAVOURS.iter().all(|f| carries(*f, true)));
        assert_eq!(feature(Flavour::Embedded), None);
        assert_eq!(feature(Flavour::Command), Some("command"));
    }
}
