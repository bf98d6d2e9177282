//! JavaScript guests: QuickJS (through `rquickjs`) compiled to WebAssembly
//! by the cargo workspace in `workloads/javascript/`, with one workload's
//! `<workload>/<workload>.js` built into each module.
//!
//! - `embedded`: built for `wasm32-unknown-unknown`, so the module imports the
//!   ABI's `dapr` module and nothing else (no WASI at all).
//! - `command` (pure workloads): a WASI command for `wasm32-wasip1`.
//!
//! QuickJS is C: a clang that targets wasm32, an `llvm-ar`, and (for the
//! WASI command) Debian's wasi-libc headers.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::{BuiltModule, Flavour, Language, Missing, build_step};

/// The JavaScript guest language.
#[derive(Debug)]
pub struct JavaScript;

/// What installs the C side on Debian/Ubuntu and the Rust targets.
const INSTALL: &str = "apt-get install -y clang llvm wasi-libc && \
                       rustup target add wasm32-unknown-unknown wasm32-wasip1";

/// wasi-libc's headers as Debian installs them; clang finds them itself for
/// `--target=wasm32-wasi`.
const WASI_LIBC_HEADER: &str = "/usr/include/wasm32-wasi/stdio.h";

/// Rust targets the two flavours are built for.
const EMBEDDED_TARGET: &str = "wasm32-unknown-unknown";
const COMMAND_TARGET: &str = "wasm32-wasip1";

/// The C tools QuickJS is compiled with.
#[derive(Debug)]
struct CTools {
    clang: PathBuf,
    ar: PathBuf,
}

impl JavaScript {
    fn c_tools() -> std::result::Result<CTools, Missing> {
        let missing = |what: &str| Missing {
            reason: format!("no {what} on PATH (QuickJS is compiled from C for wasm32)"),
            install: INSTALL.into(),
        };
        let clang = find_tool("clang").ok_or_else(|| missing("clang"))?;
        let ar = find_tool("llvm-ar").ok_or_else(|| missing("llvm-ar"))?;
        if !Path::new(WASI_LIBC_HEADER).is_file() {
            return Err(Missing {
                reason: format!("no wasi-libc headers ({WASI_LIBC_HEADER})"),
                install: INSTALL.into(),
            });
        }
        for target in [EMBEDDED_TARGET, COMMAND_TARGET] {
            if !rust_target_installed(target) {
                return Err(Missing {
                    reason: format!("the Rust target {target} is not installed"),
                    install: INSTALL.into(),
                });
            }
        }
        Ok(CTools { clang, ar })
    }
}

impl Language for JavaScript {
    identity!("javascript", "JavaScript");

    fn extra_sources(&self) -> &'static [&'static str] {
        // The engine links the Rust guest library for its ABI glue.
        &["workloads/rust/guest"]
    }

    fn toolchain(&self, _cache: &Path) -> std::result::Result<(), Missing> {
        Self::c_tools().map(|_| ())
    }

    fn rust_targets(&self) -> &'static [&'static str] {
        &[EMBEDDED_TARGET, COMMAND_TARGET]
    }

    fn build(&self, project: &Path, cache: &Path, out: &Path) -> Result<Vec<BuiltModule>> {
        let tools = Self::c_tools().map_err(|m| anyhow::anyhow!("{m}"))?;
        let src = project.join("workloads/javascript");
        // One target folder across source versions: QuickJS is compiled once,
        // each workload only relinks the engine.
        let target_dir = cache.join("guests/target-javascript");
        build_step::guests(self, project, out, "{workload}.js", |workload, flavour, path| {
            let script = src.join(workload).join(format!("{workload}.js"));
            let from = cargo_build(&src, &target_dir, &tools, &script, flavour)?;
            std::fs::copy(&from, path).with_context(|| format!("copying {}", from.display()))?;
            Ok(())
        })
    }

    fn unsupported(&self) -> &'static [(Flavour, &'static str)] {
        &[
            (
                Flavour::Http,
                "not built yet: the JS guest library has no Dapr-over-HTTP client",
            ),
            (
                Flavour::Middleware,
                "not built yet: the JS guest library has no http-wasm handler",
            ),
            (
                Flavour::Component,
                "not built yet: a JavaScript wasi:http component needs componentize-js (npm), which this project does not install yet",
            ),
        ]
    }
}

/// Builds the engine around `script` for one flavour; returns the `.wasm`.
fn cargo_build(
    src: &Path,
    target_dir: &Path,
    tools: &CTools,
    script: &Path,
    flavour: Flavour,
) -> Result<PathBuf> {
    let (target, artifact) = match flavour {
        Flavour::Embedded => (EMBEDDED_TARGET, "blueprint_js.wasm"),
        Flavour::Command => (COMMAND_TARGET, "command.wasm"),
        other => bail!("no JavaScript {other} flavour"),
    };
    let env_target = target.replace('-', "_");
    let mut command = blueprint_workloads::cargo_for("build", target, &src.join("Cargo.toml"), target_dir);
    command
        .env("BLUEPRINT_JS_WORKLOAD", script)
        .env(format!("CC_{env_target}"), &tools.clang)
        .env(format!("AR_{env_target}"), &tools.ar);
    match flavour {
        Flavour::Command => {
            command
                .args(["--bin", "command", "--no-default-features"])
                // rquickjs would download a WASI SDK; Debian's clang and
                // wasi-libc do the same job. Clang 14 knows the triple by its
                // older name.
                .env("RQUICKJS_SYS_NO_WASI_SDK", "1")
                .env(format!("CFLAGS_{env_target}"), "--target=wasm32-wasi");
        }
        _ => {
            command.arg("--lib");
        }
    }
    build_step::run(&mut command, "cargo build of the JavaScript engine")?;
    Ok(target_dir.join(target).join("release").join(artifact))
}

/// `name` on PATH, or its newest versioned Debian/LLVM name (`clang-19`, …).
pub(super) fn find_tool(name: &str) -> Option<PathBuf> {
    let candidates = std::iter::once(name.to_owned()).chain((14..=22).rev().map(|v| format!("{name}-{v}")));
    for candidate in candidates {
        if let Some(found) = on_path(&candidate) {
            return Some(found);
        }
    }
    None
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Whether rustup (or a sysroot) has the standard library for `target`.
fn rust_target_installed(target: &str) -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            let sysroot = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
            sysroot.join("lib/rustlib").join(target).join("lib").is_dir()
        })
        .unwrap_or(false)
}
