//! Rust guests: one cargo workspace in `workloads/rust/`, built for
//! `wasm32-wasip1`.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::{BuiltModule, Flavour, Language, Missing};
use crate::progress;

/// The Rust guest language.
#[derive(Debug)]
pub struct Rust;

impl Language for Rust {
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
        // One cargo target folder across source versions keeps builds incremental.
        let target_dir = cache.join("guests/target-rust");
        let bar = progress::spinner("building Rust guests for wasm32-wasip1");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip1",
                "--manifest-path",
            ])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target_dir)
            // The guests' own profile decides; flags meant for the host do not apply.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .context("running cargo to build the Rust guests")?;
        bar.finish_and_clear();
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            if stderr.contains("wasm32-wasip1") && stderr.contains("target may not be installed") {
                bail!("the Rust wasm32-wasip1 target is missing: run `rustup target add wasm32-wasip1`");
            }
            bail!("cargo failed:\n{stderr}");
        }
        let built = target_dir.join("wasm32-wasip1/release");
        let mut modules = Vec::new();
        for workload in super::workloads_with(project, "rust", "Cargo.toml")? {
            let from = built.join(format!("{workload}.wasm"));
            let to = out.join(format!("{workload}.{}.wasm", Flavour::Embedded));
            std::fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
            modules.push(BuiltModule {
                workload,
                flavour: Flavour::Embedded,
                path: to,
            });
        }
        Ok(modules)
    }
}
