//! AssemblyScript guests: `workloads/assemblyscript/`, one `main.ts` per
//! workload on a small guest library, compiled with `asc` for plain wasm32.
//!
//! The compiler comes from npm at the version `package-lock.json` pins: the
//! builder installs it with `npm ci` into the toolchain cache, in a folder
//! named after the lock file's hash, so a new pin gets a fresh install.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use super::{BuiltModule, Flavour, Language, Missing};
use crate::progress;

/// The AssemblyScript guest language.
#[derive(Debug)]
pub struct AssemblyScript;

/// The entry of each flavour in `workloads/assemblyscript/guest/`, compiled
/// together with the workload's `main.ts` (which registers its handler).
fn flavour_entry(flavour: Flavour) -> Option<&'static str> {
    match flavour {
        Flavour::Embedded => Some("guest/embedded.ts"),
        Flavour::Middleware => Some("guest/middleware.ts"),
        Flavour::Command => Some("guest/command.ts"),
        Flavour::Http => None,
    }
}

/// The compiler flags of every module.
const ASC_FLAGS: &[&str] = &[
    "-O3",
    // TLSF and the incremental collector: a reused instance frees its garbage.
    "--runtime",
    "incremental",
    // AssemblyScript imports env.abort for failed checks; the ABI allows only
    // `dapr` and WASI imports, so the guest library's abort traps instead.
    "--use",
    "abort=guest/bb/trap",
];

impl Language for AssemblyScript {
    fn recipe(&self) -> &'static str {
        include_str!("assemblyscript.rs")
    }

    fn name(&self) -> &'static str {
        "assemblyscript"
    }

    fn toolchain(&self, _cache: &Path) -> std::result::Result<(), Missing> {
        for tool in ["node", "npm"] {
            let found = Command::new(tool)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success());
            if !found {
                return Err(Missing {
                    reason: format!("no `{tool}` on PATH (Node.js 20+ runs the AssemblyScript compiler)"),
                    install: "apt-get install -y nodejs npm, or https://nodejs.org".into(),
                });
            }
        }
        Ok(())
    }

    fn build(&self, project: &Path, cache: &Path, out: &Path) -> Result<Vec<BuiltModule>> {
        let src = project.join("workloads/assemblyscript");
        let asc = install(&src, cache)?;
        let bar = progress::spinner("building AssemblyScript guests");
        let mut modules = Vec::new();
        for workload in super::workloads_with(project, "assemblyscript", "main.ts")? {
            for flavour in flavours(project, &workload)? {
                let Some(entry) = flavour_entry(flavour) else {
                    continue;
                };
                progress::step(
                    &bar,
                    format!("building AssemblyScript guest {workload} ({flavour})"),
                );
                let path = out.join(format!("{workload}.{flavour}.wasm"));
                // Paths relative to the sources, which is what `--use` names.
                let output = Command::new("node")
                    .current_dir(&src)
                    .arg(&asc)
                    .arg(format!("{workload}/main.ts"))
                    .arg(entry)
                    .args(ASC_FLAGS)
                    .args(if flavour == Flavour::Embedded {
                        // Top-level code (the handler's registration) runs as a WASI
                        // reactor's initialiser, which every host calls. A command and
                        // an http-wasm guest keep the start section, which wazero runs
                        // at instantiation.
                        &["--exportStart", "_initialize"][..]
                    } else {
                        &[]
                    })
                    .arg("-o")
                    .arg(&path)
                    .output()
                    .context("running the AssemblyScript compiler (asc)")?;
                if !output.status.success() {
                    bar.finish_and_clear();
                    bail!(
                        "asc failed for AssemblyScript guest {workload} ({flavour}):\n{}{}",
                        String::from_utf8_lossy(&output.stdout),
                        String::from_utf8_lossy(&output.stderr)
                    );
                }
                modules.push(BuiltModule {
                    workload: workload.clone(),
                    flavour,
                    path,
                });
            }
        }
        bar.finish_and_clear();
        Ok(modules)
    }

    fn unsupported(&self) -> &'static [(Flavour, &'static str)] {
        &[(
            Flavour::Http,
            "not written: the AssemblyScript library has no HTTP backend for the Dapr API \
             (asc resolves the workloads' guest/dapr import statically; a second backend \
             would need an indirection every embedded call pays for)",
        )]
    }
}

/// The flavours one workload is built in: the Dapr-free shapes (middleware,
/// command) only for a workload that touches no Dapr API.
fn flavours(project: &Path, workload: &str) -> Result<Vec<Flavour>> {
    let pure = super::load_vectors(project, workload)?.pure;
    Ok(if pure {
        vec![Flavour::Embedded, Flavour::Middleware, Flavour::Command]
    } else {
        vec![Flavour::Embedded]
    })
}

/// Installs the pinned compiler with `npm ci` (once per lock file) and
/// returns its `asc.js`.
fn install(src: &Path, cache: &Path) -> Result<PathBuf> {
    let manifest =
        std::fs::read(src.join("package.json")).context("reading workloads/assemblyscript/package.json")?;
    let lock = std::fs::read(src.join("package-lock.json"))
        .context("reading workloads/assemblyscript/package-lock.json")?;
    let mut hasher = Sha256::new();
    hasher.update(&manifest);
    hasher.update([0]);
    hasher.update(&lock);
    let key = hex::encode(&hasher.finalize()[..8]);
    let dir = cache.join("toolchains/assemblyscript").join(&key);
    let asc = dir.join("node_modules/assemblyscript/bin/asc.js");
    if asc.is_file() {
        return Ok(asc);
    }
    // Installed under a temporary name and renamed once npm succeeded, so a
    // half-finished install is never used.
    let partial = dir.with_extension("partial");
    if partial.exists() {
        std::fs::remove_dir_all(&partial).with_context(|| format!("clearing {}", partial.display()))?;
    }
    std::fs::create_dir_all(&partial).with_context(|| format!("creating {}", partial.display()))?;
    std::fs::write(partial.join("package.json"), &manifest)?;
    std::fs::write(partial.join("package-lock.json"), &lock)?;
    let bar = progress::spinner(format!(
        "installing the AssemblyScript compiler with npm ci into {}",
        dir.display()
    ));
    let output = Command::new("npm")
        .current_dir(&partial)
        .args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .output()
        .context("running npm ci for the AssemblyScript compiler")?;
    bar.finish_and_clear();
    if !output.status.success() {
        bail!(
            "npm ci for the AssemblyScript compiler failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::rename(&partial, &dir).with_context(|| format!("moving the compiler into {}", dir.display()))?;
    if !asc.is_file() {
        bail!("npm ci finished but {} is missing", asc.display());
    }
    Ok(asc)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Also proves `--use abort=...` works: an `env.abort` import would fail
    /// the shape check.
    #[test]
    fn every_workload_builds_with_the_abi_shape_in_its_flavours() {
        let modules = super::super::c::shape::check(&AssemblyScript);
        for workload in ["noop", "counter", "transform", "validate", "aggregate", "compute"] {
            assert!(
                modules
                    .iter()
                    .any(|m| m.workload == workload && m.flavour == Flavour::Embedded),
                "no AssemblyScript {workload}"
            );
        }
        for flavour in [Flavour::Middleware, Flavour::Command] {
            assert!(
                modules
                    .iter()
                    .any(|m| m.workload == "compute" && m.flavour == flavour),
                "no {flavour} compute"
            );
        }
    }
}
