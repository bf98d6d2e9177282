//! Zig guests: `workloads/zig/`, one `main.zig` per workload on a small
//! guest library, compiled with `zig build-exe` for `wasm32-wasi`.
//!
//! Zig changes its language and standard library between minor versions, so
//! the guests are written for one pinned release. A `zig` of that version on
//! PATH is used; otherwise the builder installs the `ziglang` wheel from PyPI
//! (the official binaries, repackaged) into the toolchain cache.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail};

use super::{BuiltModule, Flavour, Language, Missing, build_step};

/// The Zig guest language.
#[derive(Debug)]
pub struct Zig;

/// The Zig release the guests are written for.
const ZIG_VERSION: &str = "0.15.2";

/// The root file of each flavour in `workloads/zig/guest/`, and the file
/// that provides the workload's `dapr` module (`None`: the flavour has no
/// Dapr access, so only pure workloads, which never import it, build).
fn flavour_files(flavour: Flavour) -> (&'static str, Option<&'static str>) {
    match flavour {
        Flavour::Embedded => ("embedded.zig", Some("dapr.zig")),
        Flavour::Http => ("embedded.zig", Some("dapr_http.zig")),
        Flavour::Middleware => ("middleware.zig", None),
        Flavour::Command => ("command.zig", None),
        // `unsupported` keeps the build from asking.
        Flavour::Component => unreachable!("Zig has no component flavour"),
    }
}

impl Language for Zig {
    identity!("zig", "Zig");

    fn unsupported(&self) -> &'static [(Flavour, &'static str)] {
        &[(
            Flavour::Component,
            "not built: Zig makes WASIp1 modules; a wasi:http component needs wasm-tools and a preview-1 adapter, which this project does not install",
        )]
    }

    fn toolchain(&self, cache: &Path) -> std::result::Result<(), Missing> {
        if find_zig(cache).is_some() || build_step::pip_available() {
            return Ok(());
        }
        Err(Missing {
            reason: format!("no zig {ZIG_VERSION} on PATH, and no python3 with pip to install it"),
            install: format!(
                "python3 -m pip install --target {} ziglang=={ZIG_VERSION}",
                install_dir(cache).display()
            ),
        })
    }

    fn build(&self, project: &Path, cache: &Path, out: &Path) -> Result<Vec<BuiltModule>> {
        let zig = match find_zig(cache) {
            Some(zig) => zig,
            None => install(cache)?,
        };
        let src = project.join("workloads/zig");
        let guest = src.join("guest");
        let zig_cache = cache.join("guests/zig-cache");
        build_step::guests(self, project, out, "main.zig", |workload, flavour, path| {
            let (root, dapr) = flavour_files(flavour);
            let mut cmd = Command::new(&zig);
            cmd.args([
                "build-exe",
                "-target",
                "wasm32-wasi",
                "-O",
                "ReleaseFast",
                "-fstrip",
            ]);
            if flavour != Flavour::Command {
                // A library-like module: no _start, every `export fn` exported.
                cmd.args(["-fno-entry", "-rdynamic"]);
            }
            cmd.arg("--cache-dir")
                .arg(zig_cache.join("local"))
                .arg("--global-cache-dir")
                .arg(zig_cache.join("global"));
            // Modules: `--dep` flags name the imports of the `-M` that follows.
            cmd.args(["--dep", "bb", "--dep", "workload"])
                .arg(module_flag("root", &guest.join(root)))
                .args(["--dep", "bb"]);
            if dapr.is_some() {
                cmd.args(["--dep", "dapr"]);
            }
            cmd.arg(module_flag("workload", &src.join(workload).join("main.zig")))
                .arg(module_flag("bb", &guest.join("bb.zig")));
            if let Some(dapr) = dapr {
                cmd.args(["--dep", "bb"])
                    .arg(module_flag("dapr", &guest.join(dapr)));
            }
            let mut emit = std::ffi::OsString::from("-femit-bin=");
            emit.push(path);
            cmd.arg(emit);
            build_step::run(&mut cmd, "zig build-exe").map(drop)
        })
    }
}

fn module_flag(name: &str, file: &Path) -> std::ffi::OsString {
    let mut flag = std::ffi::OsString::from(format!("-M{name}="));
    flag.push(file);
    flag
}

/// Where the builder installs the pinned wheel.
fn install_dir(cache: &Path) -> PathBuf {
    cache.join("toolchains/zig").join(ZIG_VERSION)
}

/// A `zig` of the pinned version: on PATH, or installed by an earlier build.
fn find_zig(cache: &Path) -> Option<PathBuf> {
    let installed = install_dir(cache).join("ziglang/zig");
    [PathBuf::from("zig"), installed]
        .into_iter()
        .find(|zig| zig_version(zig).as_deref() == Some(ZIG_VERSION))
}

fn zig_version(zig: &Path) -> Option<String> {
    let output = Command::new(zig).arg("version").output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Installs `ziglang==ZIG_VERSION` from PyPI into the toolchain cache.
fn install(cache: &Path) -> Result<PathBuf> {
    let dir = install_dir(cache);
    let what = format!("zig {ZIG_VERSION} from PyPI (ziglang)");
    build_step::install_into(&dir, &what, |partial| {
        build_step::pip_install_target(
            partial,
            &format!("ziglang=={ZIG_VERSION}"),
            &["--quiet", "--no-warn-script-location"],
        )
    })?;
    let zig = dir.join("ziglang/zig");
    match zig_version(&zig) {
        Some(v) if v == ZIG_VERSION => Ok(zig),
        other => bail!("{} reports version {other:?}, not {ZIG_VERSION}", zig.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_builds_with_the_abi_shape_in_its_flavours() {
        let modules = super::super::c::shape::check_every_workload(&Zig);
        assert!(
            modules
                .iter()
                .any(|m| m.workload == "counter" && m.flavour == Flavour::Http)
        );
    }
}
