//! C guests: `workloads/c/`, one `main.c` per workload on a small guest
//! library, compiled with clang for `wasm32-wasi` (preview 1) against
//! Debian's wasi-libc. The flavour is chosen at link time: the same
//! `bb_workload` is linked with the `dapr` or `http` backend, the http-wasm
//! adapter or the WASI command wrapper (`workloads/c/README.md`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use super::{BuiltModule, Flavour, Language, Missing, build_step};

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
        // `unsupported` keeps the build from asking.
        Flavour::Component => unreachable!("C has no component flavour"),
    }
}

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
    identity!("c", "C");

    fn unsupported(&self) -> &'static [(Flavour, &'static str)] {
        &[(
            Flavour::Component,
            "not built yet: a C wasi:http component needs wit-bindgen's C bindings and a wasm32-wasip2 libc, which this project does not install",
        )]
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
        build_step::guests(self, project, out, "main.c", |workload, flavour, path| {
            let mut clang = Command::new(CLANG);
            clang.arg(TARGET).args(CFLAGS);
            if flavour != Flavour::Command {
                // A reactor: no main, wasi-libc's _initialize runs the constructors.
                clang.arg("-mexec-model=reactor");
            }
            // The middleware names the workload in a request header.
            clang
                .arg(format!("-DBB_WORKLOAD_NAME=\"{workload}\""))
                .arg("-I")
                .arg(&guest)
                .arg("-o")
                .arg(path)
                .arg(src.join(workload).join("main.c"));
            for file in flavour_sources(flavour) {
                clang.arg(guest.join(file));
            }
            build_step::run(&mut clang, "clang").map(drop)
        })
    }
}

/// Checks of the module shapes every guest build must produce, shared by the
/// C, Zig and AssemblyScript tests.
#[cfg(test)]
pub(super) mod shape {
    use super::super::{BuiltModule, Flavour, Language};

    /// The import modules a flavour may use (`workloads/ABI.md`).
    fn allowed_imports(flavour: Flavour) -> &'static [&'static str] {
        match flavour {
            Flavour::Embedded => &["dapr", "wasi_snapshot_preview1"],
            Flavour::Http => &["http", "wasi_snapshot_preview1"],
            Flavour::Middleware => &["http_handler", "wasi_snapshot_preview1"],
            // Components are not core modules; none of these languages builds one.
            Flavour::Command | Flavour::Component => &["wasi_snapshot_preview1"],
        }
    }

    /// The exports a flavour must have.
    fn required_exports(flavour: Flavour) -> &'static [&'static str] {
        match flavour {
            Flavour::Embedded | Flavour::Http => &["memory", "bb_abi_version", "bb_alloc", "bb_handle"],
            Flavour::Middleware => &["memory", "handle_request", "handle_response"],
            Flavour::Command => &["memory", "_start"],
            Flavour::Component => &[],
        }
    }

    /// Builds `language` (through the cache, as a run does) and checks every
    /// module's imports and exports against its flavour, and that the
    /// Dapr-free flavours exist for pure workloads only.
    pub fn check(language: &dyn Language) -> Vec<BuiltModule> {
        let project = crate::paths::project_dir();
        let cache = crate::paths::cache_dir();
        if let Err(missing) = language.toolchain(&cache) {
            panic!("{} toolchain missing: {missing}", language.name());
        }
        let modules = super::super::build_cached(language, &project, &cache).unwrap();
        let engine = wasmtime::Engine::default();
        for m in &modules {
            let bytes = std::fs::read(&m.path).unwrap();
            let module = wasmtime::Module::new(&engine, &bytes)
                .unwrap_or_else(|e| panic!("{}: not a valid module: {e}", m.path.display()));
            for import in module.imports() {
                assert!(
                    allowed_imports(m.flavour).contains(&import.module()),
                    "{} {} ({}) imports {}.{}",
                    language.name(),
                    m.workload,
                    m.flavour,
                    import.module(),
                    import.name()
                );
            }
            let exports: Vec<&str> = module.exports().map(|e| e.name()).collect();
            for name in required_exports(m.flavour) {
                assert!(
                    exports.contains(name),
                    "{} {} ({}) lacks export {name}: {exports:?}",
                    language.name(),
                    m.workload,
                    m.flavour
                );
            }
            let pure = super::super::load_vectors(&project, &m.workload).unwrap().pure;
            assert!(
                pure || matches!(m.flavour, Flavour::Embedded | Flavour::Http),
                "{} {} touches Dapr but was built as {}",
                language.name(),
                m.workload,
                m.flavour
            );
        }
        modules
    }

    /// [`check`], then that exactly the workloads the language implements
    /// ([`super::super::implemented_in`]) were built as `embedded`, and the
    /// pure `compute` also in the Dapr-free flavours.
    pub fn check_every_workload(language: &dyn Language) -> Vec<BuiltModule> {
        let modules = check(language);
        let built = |workload: &str, flavour: Flavour| {
            modules
                .iter()
                .any(|m| m.workload == workload && m.flavour == flavour)
        };
        let project = crate::paths::project_dir();
        for workload in super::super::known_workloads(&project).unwrap() {
            let implemented = super::super::implemented_in(&workload, language.name());
            assert_eq!(
                built(&workload, Flavour::Embedded),
                implemented,
                "{} {workload}: implemented {implemented}",
                language.name()
            );
        }
        for flavour in [Flavour::Middleware, Flavour::Command] {
            assert!(
                built("compute", flavour),
                "no {} {flavour} compute",
                language.name()
            );
        }
        modules
    }
}

#[cfg(test)]
mod tests {
    use super::super::FLAVOURS;
    use super::*;

    #[test]
    fn every_workload_builds_in_every_flavour_its_purity_allows_with_the_abi_shape() {
        let modules = shape::check(&C);
        let project = crate::paths::project_dir();
        for workload in super::super::known_workloads(&project).unwrap() {
            let pure = super::super::load_vectors(&project, &workload).unwrap().pure;
            let flavours: Vec<Flavour> = modules
                .iter()
                .filter(|m| m.workload == workload)
                .map(|m| m.flavour)
                .collect();
            // Every core-module flavour; C builds no components.
            let want: Vec<Flavour> = if pure {
                FLAVOURS
                    .iter()
                    .copied()
                    .filter(|f| *f != Flavour::Component)
                    .collect()
            } else {
                vec![Flavour::Embedded, Flavour::Http]
            };
            assert_eq!(flavours, want, "C {workload}");
        }
    }
}
