//! AssemblyScript guests: `workloads/assemblyscript/`, one `main.ts` per
//! workload on a small guest library, compiled with `asc` for plain wasm32.
//!
//! The compiler comes from npm at the version `package-lock.json` pins: the
//! builder installs it with `npm ci` into the toolchain cache, in a folder
//! named after the lock file's hash, so a new pin gets a fresh install.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail};

use super::{BuiltModule, Flavour, Language, Missing, build_step};

/// The AssemblyScript guest language.
#[derive(Debug)]
pub struct AssemblyScript;

/// The entry of each flavour in `workloads/assemblyscript/guest/`, compiled
/// together with the workload's `main.ts` (which registers its handler).
fn flavour_entry(flavour: Flavour) -> Result<&'static str> {
    match flavour {
        Flavour::Embedded => Ok("guest/embedded.ts"),
        Flavour::Middleware => Ok("guest/middleware.ts"),
        Flavour::Command => Ok("guest/command.ts"),
        Flavour::Http | Flavour::Component => bail!("no AssemblyScript {flavour} flavour"),
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
    identity!("assemblyscript", "AssemblyScript");

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
        build_step::guests(self, project, out, "main.ts", |workload, flavour, path| {
            // Paths relative to the sources, which is what `--use` names.
            let mut asc_cmd = Command::new("node");
            asc_cmd
                .current_dir(&src)
                .arg(&asc)
                .arg(format!("{workload}/main.ts"))
                .arg(flavour_entry(flavour)?)
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
                .arg(path);
            build_step::run(&mut asc_cmd, "the AssemblyScript compiler (asc)").map(drop)
        })
    }

    fn unsupported(&self) -> &'static [(Flavour, &'static str)] {
        &[
            (
                Flavour::Http,
                "not written: the AssemblyScript library has no HTTP backend for the Dapr API \
             (asc resolves the workloads' guest/dapr import statically; a second backend \
             would need an indirection every embedded call pays for)",
            ),
            (
                Flavour::Component,
                "not built: AssemblyScript has no component-model support",
            ),
        ]
    }
}

/// Installs the pinned compiler with `npm ci` (once per lock file) and
/// returns its `asc.js`.
fn install(src: &Path, cache: &Path) -> Result<PathBuf> {
    build_step::npm_ci(
        src,
        &cache.join("toolchains/assemblyscript"),
        "",
        "node_modules/assemblyscript/bin/asc.js",
        "the AssemblyScript compiler",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Also proves `--use abort=...` works: an `env.abort` import would fail
    /// the shape check.
    #[test]
    fn every_workload_builds_with_the_abi_shape_in_its_flavours() {
        super::super::c::shape::check_every_workload(&AssemblyScript);
    }
}
