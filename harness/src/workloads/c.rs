//! C guests: `workloads/c/`, one `main.c` per workload on a small guest
//! library, compiled with clang for `wasm32-wasi` (preview 1) against
//! Debian's wasi-libc. The flavour is chosen at link time: the same
//! `bb_workload` is linked with the `dapr` or `http` backend, the http-wasm
//! adapter or the WASI command wrapper (`workloads/c/README.md`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::{BuiltModule, Flavour, Language, Missing};
use crate::progress;

/// The C guest language.
#[derive(Debug)]
pub struct C;

/// What a fresh Debian/Ubuntu machine needs: clang, its wasm linker, the
/// WASI libc and the compiler-rt builtins for wasm32.
const INSTALL: &str = "apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32 \
                       (or any clang with a wasm32-wasi sysroot on PATH)";

/// The compiler; `CC` is not used because it usually names a host compiler.
const CLANG: &str = "clang";
const TARGET: &str = "--target=wasm32-wasi";

/// The guest library's sources in `workloads/c/guest/` each flavour links,
/// besides the workload's `main.c`.
fn flavour_sources(flavour: Flavour) -> &'static [&'static str] {
    match flavour {
        Flavour::Embedded => &["buf.c", "json.c", "abi.c", "dapr.c"],
        Flavour::Http => &["buf.c", "json.c", "abi.c", "http.c"],
        Flavour::Middleware => &["buf.c", "json.c", "middleware.c"],
        Flavour::Command => &["buf.c", "json.c", "command.c"],
    }
}

/// The flavours the C library has.
const BUILT_FLAVOURS: &[Flavour] = &[Flavour::Embedded, Flavour::Command];

/// Flavours whose modules cannot reach Dapr: only pure workloads have them.
const DAPR_FREE: &[Flavour] = &[Flavour::Middleware, Flavour::Command];

/// Flags every module is compiled with: warnings are errors, so a guest that
/// compiles is one clang has nothing to say about.
const CFLAGS: &[&str] = &[
    "-std=c11",
    "-O2",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wl,--strip-all",
];

impl Language for C {
    fn name(&self) -> &'static str {
        "c"
    }

    fn toolchain(&self, _cache: &Path) -> std::result::Result<(), Missing> {
        let missing = |reason: String| Missing {
            reason,
            install: INSTALL.into(),
        };
        // clang answers these from its own configuration: a bare name back
        // means it looked and found nothing.
        let print = |args: &[&str]| -> std::result::Result<PathBuf, Missing> {
            let output = Command::new(CLANG)
                .arg(TARGET)
                .args(args)
                .output()
                .map_err(|e| missing(format!("no `{CLANG}` on PATH ({e})")))?;
            let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
            if output.status.success() && path.is_absolute() && path.is_file() {
                Ok(path)
            } else {
                Err(missing(format!(
                    "`{CLANG} {TARGET} {}` finds nothing",
                    args.join(" ")
                )))
            }
        };
        print(&["-print-prog-name=wasm-ld"])
            .map_err(|m| missing(format!("no wasm linker for clang: {}", m.reason)))?;
        print(&["-print-file-name=libc.a"])
            .map_err(|m| missing(format!("no WASI libc for clang: {}", m.reason)))?;
        print(&["--rtlib=compiler-rt", "-print-libgcc-file-name"])
            .map_err(|m| missing(format!("no compiler-rt builtins for wasm32: {}", m.reason)))?;
        Ok(())
    }

    fn build(&self, project: &Path, _cache: &Path, out: &Path) -> Result<Vec<BuiltModule>> {
        let src = project.join("workloads/c");
        let guest = src.join("guest");
        let bar = progress::spinner("building C guests for wasm32-wasi");
        let mut modules = Vec::new();
        for workload in super::workloads_with(project, "c", "main.c")? {
            for flavour in self.flavours(project, &workload)? {
                progress::step(&bar, format!("building C guest {workload} ({flavour})"));
                let path = out.join(format!("{workload}.{flavour}.wasm"));
                let mut clang = Command::new(CLANG);
                clang.arg(TARGET).args(CFLAGS);
                if flavour != Flavour::Command {
                    // A reactor: no main, wasi-libc's _initialize runs the constructors.
                    clang.arg("-mexec-model=reactor");
                }
                clang
                    .arg("-I")
                    .arg(&guest)
                    .arg("-o")
                    .arg(&path)
                    .arg(src.join(&workload).join("main.c"));
                for file in flavour_sources(flavour) {
                    clang.arg(guest.join(file));
                }
                let output = clang.output().context("running clang for the C guests")?;
                if !output.status.success() {
                    bar.finish_and_clear();
                    bail!(
                        "clang failed for C guest {workload} ({flavour}):\n{}",
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
}

impl C {
    /// The flavours one workload is built in: the module shapes without Dapr
    /// access only for workloads that touch no Dapr API.
    fn flavours(&self, project: &Path, workload: &str) -> Result<Vec<Flavour>> {
        let pure = super::load_vectors(project, workload)?.pure;
        Ok(BUILT_FLAVOURS
            .iter()
            .copied()
            .filter(|f| pure || !DAPR_FREE.contains(f))
            .collect())
    }
}
