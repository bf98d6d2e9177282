//! JavaScript guests: QuickJS (through `rquickjs`) compiled to WebAssembly
//! by the cargo workspace in `workloads/javascript/`, with one workload's
//! `<workload>/<workload>.js` built into each module.
//!
//! - `embedded`: built for `wasm32-unknown-unknown`, so the module imports the
//!   ABI's `dapr` module and nothing else (no WASI at all).
//! - `command` (pure workloads): a WASI command for `wasm32-wasip1`.
//! - `component`: not QuickJS but componentize-js (SpiderMonkey, from npm):
//!   `workloads/javascript/component/build.mjs` makes each workload, on the
//!   same `guest.js`, a `wasi:http/proxy` component whose Dapr natives are
//!   Dapr HTTP API requests through `wasi:http/outgoing-handler`.
//!
//! QuickJS is C: a clang that targets wasm32, an `llvm-ar`, and (for the
//! WASI command) Debian's wasi-libc headers. componentize-js needs Node.js
//! 20+ and npm; it is installed with `npm ci` at the version
//! `component/package-lock.json` pins, into the toolchain cache, on the
//! first component build. Without Node.js the other flavours still build
//! and the component flavour is n/a with the reason and the fix.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

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

/// The component builder's folder in `workloads/javascript/`: its
/// `package.json` and `package-lock.json` (componentize-js, pinned),
/// `build.mjs`, the glue `component.js` and the world in `wit/`.
const COMPONENT_DIR: &str = "component";

/// The npm package the components are built with.
const COMPONENTIZE_JS: &str = "@bytecodealliance/componentize-js";

/// The oldest Node.js major version componentize-js is run on here.
const NODE_MAJOR: u32 = 20;

/// What installs Node.js and npm.
const NODE_INSTALL: &str = "apt-get install -y nodejs npm (Node.js 20+), or https://nodejs.org";

/// The flavours the JavaScript guest library has no backend for.
const NOT_WRITTEN: [(Flavour, &str); 2] = [
    (
        Flavour::Http,
        "not built yet: the JS guest library has no Dapr-over-HTTP client",
    ),
    (
        Flavour::Middleware,
        "not built yet: the JS guest library has no http-wasm handler",
    ),
];

/// [`NOT_WRITTEN`] and the component, when Node.js or npm is missing.
const WITHOUT_NODE: [(Flavour, &str); 3] = [
    NOT_WRITTEN[0],
    NOT_WRITTEN[1],
    (
        Flavour::Component,
        "unavailable here: JavaScript wasi:http components are built by componentize-js, \
         which needs Node.js 20+ and npm on PATH (install: apt-get install -y nodejs npm, \
         or https://nodejs.org)",
    ),
];

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
    fn name(&self) -> &'static str {
        "javascript"
    }

    fn title(&self) -> &'static str {
        "JavaScript"
    }

    /// As `identity!` gives every language (this file and the shared build
    /// steps), marked when Node.js is missing: a build made without the
    /// component flavour is then cached under a key of its own, and not
    /// reused once Node.js is installed.
    fn recipe(&self) -> &'static str {
        const RECIPE: &str = concat!(include_str!("javascript.rs"), include_str!("build_step.rs"));
        const RECIPE_WITHOUT_NODE: &str = concat!(
            include_str!("javascript.rs"),
            include_str!("build_step.rs"),
            "\0without Node.js: no component flavour"
        );
        if node_tools().is_ok() {
            RECIPE
        } else {
            RECIPE_WITHOUT_NODE
        }
    }

    fn extra_sources(&self) -> &'static [&'static str] {
        // The engine links the Rust guest library for its ABI glue; the
        // component flavour is built for the shared world.
        &["workloads/rust/guest", super::COMPONENT_WIT]
    }

    /// QuickJS's C tools. Node.js (the component flavour's) is not part of
    /// it: without Node.js the other flavours build, and the component is
    /// n/a with the reason and the fix ([`WITHOUT_NODE`]).
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
        if let Err(missing) = node_tools() {
            tracing::warn!("JavaScript {} guests not built: {missing}", Flavour::Component);
        }
        // Installed on the first component build, not before: a build
        // without one needs no npm.
        let mut componentize: Option<PathBuf> = None;
        build_step::guests(self, project, out, "{workload}.js", |workload, flavour, path| {
            let script = src.join(workload).join(format!("{workload}.js"));
            if flavour == Flavour::Component {
                let entry = match &componentize {
                    Some(entry) => entry.clone(),
                    None => componentize.insert(install_componentize(&src, cache)?).clone(),
                };
                return componentize_build(&src, &entry, &script, path);
            }
            let from = cargo_build(&src, &target_dir, &tools, &script, flavour)?;
            std::fs::copy(&from, path).with_context(|| format!("copying {}", from.display()))?;
            Ok(())
        })
    }

    fn unsupported(&self) -> &'static [(Flavour, &'static str)] {
        if node_tools().is_ok() {
            &NOT_WRITTEN
        } else {
            &WITHOUT_NODE
        }
    }
}

/// Whether Node.js (20+) and npm are on PATH, as componentize-js needs
/// them; asked once per process.
fn node_tools() -> std::result::Result<(), Missing> {
    static FOUND: OnceLock<std::result::Result<(), Missing>> = OnceLock::new();
    FOUND.get_or_init(find_node_tools).clone()
}

fn find_node_tools() -> std::result::Result<(), Missing> {
    let version = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let missing = |reason: String| Missing {
        reason,
        install: NODE_INSTALL.into(),
    };
    let node = version("node")
        .ok_or_else(|| missing("no `node` on PATH (Node.js 20+ runs componentize-js)".into()))?;
    let major = node
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    if major.is_none_or(|m| m < NODE_MAJOR) {
        return Err(missing(format!(
            "`node` is {node}; componentize-js is run on Node.js {NODE_MAJOR}+"
        )));
    }
    version("npm").ok_or_else(|| missing("no `npm` on PATH (it installs componentize-js)".into()))?;
    Ok(())
}

/// Installs the componentize-js that `component/package-lock.json` pins
/// with `npm ci` (once per lock file, into
/// `toolchains/componentize-js/<version>-<lock hash>`) and returns its
/// entry module, which `build.mjs` imports.
fn install_componentize(src: &Path, cache: &Path) -> Result<PathBuf> {
    let dir = src.join(COMPONENT_DIR);
    let manifest = std::fs::read(dir.join("package.json"))
        .context("reading workloads/javascript/component/package.json")?;
    let version = serde_json::from_slice::<serde_json::Value>(&manifest)
        .context("parsing workloads/javascript/component/package.json")?["devDependencies"][COMPONENTIZE_JS]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("package.json pins no {COMPONENTIZE_JS}"))?;
    build_step::npm_ci(
        &dir,
        &cache.join("toolchains/componentize-js"),
        &format!("{version}-"),
        &format!("node_modules/{COMPONENTIZE_JS}/src/componentize.js"),
        &format!("componentize-js {version}"),
    )
}

/// Builds `script` into the `wasi:http/proxy` component `out` with
/// `component/build.mjs` on the componentize-js at `entry`.
fn componentize_build(src: &Path, entry: &Path, script: &Path, out: &Path) -> Result<()> {
    let dir = src.join(COMPONENT_DIR);
    let mut node = Command::new("node");
    node.current_dir(&dir)
        .arg("build.mjs")
        .arg(entry)
        .arg(script)
        .arg(out);
    build_step::run(&mut node, "componentize-js (component/build.mjs)").map(drop)
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
