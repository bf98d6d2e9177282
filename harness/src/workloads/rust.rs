//! Rust guests: one cargo workspace in `workloads/rust/`, built for
//! `wasm32-wasip1` in every flavour.
//!
//! Each workload crate is an rlib (so native callers can link its `handle`);
//! the module is made with `cargo rustc --crate-type cdylib`, one workload at
//! a time, because asking cargo for both crate types at once makes rustc skip
//! LTO. The flavour is a cargo feature of the guest library (none is
//! `embedded`), and each flavour has its own target folder so that switching
//! features never invalidates another flavour's build.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::{BuiltModule, FLAVOURS, Flavour, Language, Missing};
use crate::progress;

/// The Rust guest language.
#[derive(Debug)]
pub struct Rust;

/// The cargo feature that selects a flavour; `None` builds `embedded`.
fn feature(flavour: Flavour) -> Option<&'static str> {
    match flavour {
        Flavour::Embedded => None,
        Flavour::Http => Some("http"),
        Flavour::Middleware => Some("middleware"),
        Flavour::Command => Some("command"),
    }
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
            cargo_rustc(&manifest, &target_dir, &workload, feature(flavour))?;
            let from = target_dir.join(format!("wasm32-wasip1/release/{workload}.wasm"));
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

/// `cargo rustc -p <workload> --crate-type cdylib` for `wasm32-wasip1`.
fn cargo_rustc(manifest: &Path, target_dir: &Path, workload: &str, feature: Option<&str>) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args([
            "rustc",
            "--release",
            "--target",
            "wasm32-wasip1",
            "--crate-type",
            "cdylib",
        ])
        .args(["-p", workload])
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir)
        // The guests' own profile decides; flags meant for the host do not apply.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR");
    if let Some(feature) = feature {
        command.args(["--features", feature]);
    }
    let output = command
        .output()
        .with_context(|| format!("running cargo to build the Rust guest `{workload}`"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("wasm32-wasip1") && stderr.contains("target may not be installed") {
            bail!("the Rust wasm32-wasip1 target is missing: run `rustup target add wasm32-wasip1`");
        }
        bail!(
            "cargo failed building `{workload}` ({}):\n{stderr}",
            feature.unwrap_or("embedded")
        );
    }
    Ok(())
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
