//! The one runtime table: every runtime this build knows, whether it can run
//! here, and its constructors. A runtime that cannot run is listed with the
//! reason and the fix, never left out. The host, `wasi-run`, `list`,
//! `instance-rss` and scenario validation all read this table; adding a
//! runtime is one row in [`entries`].

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use anyhow::{Result, bail};
use blueprint_runtime_api::{CommandRunner, Runtime, RuntimeConfig};
use blueprint_runtime_wasmedge::Mode as WasmEdgeMode;
use blueprint_runtime_wasmer::Backend;
use serde::Serialize;

/// The runtime name of the native cells: the workload compiled into the
/// host, no Wasm (`blueprint-bench host --runtime native`).
pub const NATIVE: &str = "native";

/// The runtime name of `wasmtime serve` itself (`standalone-wasi-http` only).
pub const WASMTIME_SERVE: &str = "wasmtime-serve";

/// The `wasmtime-cli` release `wasmtime serve` is built from: one before the
/// linked Wasmtime, whose `wasi:http` sends no `Host` header
/// (harness/src/wasmtime_cli.rs).
pub const WASMTIME_SERVE_VERSION: &str = "47.0.4";

/// Creates an in-process adapter.
pub type RuntimeConstructor = fn(&RuntimeConfig) -> Result<Arc<dyn Runtime>>;
/// Creates an in-process WASI command runner.
pub type CommandRunnerConstructor = fn(&RuntimeConfig) -> Result<Box<dyn CommandRunner>>;

/// The constructors of a runtime that runs inside this process.
#[derive(Clone, Copy)]
pub struct Constructors {
    /// The adapter behind the guest ABI.
    pub runtime: RuntimeConstructor,
    /// The adapter running WASI commands (`wasi-run`, command mode).
    pub command_runner: CommandRunnerConstructor,
}

impl std::fmt::Debug for Constructors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Constructors")
    }
}

/// Whether a runtime can be used on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Availability {
    /// Ready.
    Available,
    /// Not usable here.
    Unavailable {
        /// Why not.
        reason: String,
        /// What would make it available.
        fix: String,
    },
}

/// Where a runtime's guests run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostKind {
    /// A Rust adapter inside `blueprint-bench host`.
    InProcess,
    /// A separate Go program following `runtimes/HOST.md`.
    GoHost,
    /// `wasmtime serve`: the runtime's own `wasi:http` server, which serves
    /// components only and keeps none of `runtimes/HOST.md`'s routes.
    WasmtimeServe,
}

/// One runtime configuration as scenarios name it.
#[derive(Debug, Clone, Serialize)]
pub struct RuntimeEntry {
    /// Scenario name (`wasmtime`, `wasmer`, `wasmer-singlepass`, `wasmedge`,
    /// `wasmedge-interp`, `wazero`).
    pub name: &'static str,
    /// Runtime family (`wasmer` for both Wasmer engines).
    pub family: &'static str,
    /// Version linked or pinned, when known.
    pub version: Option<String>,
    /// Engine configuration.
    pub engine: &'static str,
    /// Where it runs.
    pub host: HostKind,
    /// Whether it can be used.
    #[serde(flatten)]
    pub availability: Availability,
    /// How to create it in this process ([`HostKind::InProcess`] only).
    #[serde(skip)]
    pub constructors: Option<Constructors>,
}

/// WasmEdge in one of its modes: `wasmedge` (AOT) or `wasmedge-interp`.
fn wasmedge(mode: WasmEdgeMode) -> RuntimeEntry {
    RuntimeEntry {
        name: mode.runtime_name(),
        family: "wasmedge",
        version: blueprint_runtime_wasmedge::version(),
        engine: mode.engine(),
        host: HostKind::InProcess,
        availability: match blueprint_runtime_wasmedge::availability(mode) {
            Ok(()) => Availability::Available,
            Err((reason, fix)) => Availability::Unavailable { reason, fix },
        },
        constructors: Some(Constructors {
            runtime: match mode {
                WasmEdgeMode::Aot => |c| Ok(blueprint_runtime_wasmedge::create(c, WasmEdgeMode::Aot)?),
                WasmEdgeMode::Interpreter => {
                    |c| Ok(blueprint_runtime_wasmedge::create(c, WasmEdgeMode::Interpreter)?)
                }
            },
            command_runner: |c| Ok(blueprint_runtime_wasmedge::command_runner(c)?),
        }),
    }
}

/// Every runtime the harness knows, in a stable order: the table.
pub fn entries() -> Vec<RuntimeEntry> {
    let in_process = |name, family, version: &str, engine, constructors| RuntimeEntry {
        name,
        family,
        version: Some(version.to_owned()),
        engine,
        host: HostKind::InProcess,
        availability: Availability::Available,
        constructors: Some(constructors),
    };
    vec![
        in_process(
            "wasmtime",
            "wasmtime",
            blueprint_runtime_wasmtime::VERSION,
            "cranelift+pooling",
            Constructors {
                runtime: |c| Ok(Arc::new(blueprint_runtime_wasmtime::WasmtimeRuntime::new(c)?)),
                command_runner: |c| Ok(Box::new(blueprint_runtime_wasmtime::WasmtimeRuntime::new(c)?)),
            },
        ),
        in_process(
            "wasmer",
            "wasmer",
            blueprint_runtime_wasmer::VERSION,
            "cranelift, harness WASI subset",
            Constructors {
                runtime: |c| {
                    Ok(Arc::new(blueprint_runtime_wasmer::WasmerRuntime::new(
                        c,
                        Backend::Cranelift,
                    )?))
                },
                command_runner: |c| {
                    Ok(Box::new(blueprint_runtime_wasmer::WasmerRuntime::new(
                        c,
                        Backend::Cranelift,
                    )?))
                },
            },
        ),
        in_process(
            "wasmer-singlepass",
            "wasmer",
            blueprint_runtime_wasmer::VERSION,
            "singlepass, harness WASI subset",
            Constructors {
                runtime: |c| {
                    Ok(Arc::new(blueprint_runtime_wasmer::WasmerRuntime::new(
                        c,
                        Backend::Singlepass,
                    )?))
                },
                command_runner: |c| {
                    Ok(Box::new(blueprint_runtime_wasmer::WasmerRuntime::new(
                        c,
                        Backend::Singlepass,
                    )?))
                },
            },
        ),
        wasmedge(WasmEdgeMode::Aot),
        wasmedge(WasmEdgeMode::Interpreter),
        RuntimeEntry {
            name: WASMTIME_SERVE,
            family: "wasmtime",
            version: Some(WASMTIME_SERVE_VERSION.to_owned()),
            engine: "cranelift+pooling, wasmtime serve",
            host: HostKind::WasmtimeServe,
            availability: if cargo_available() {
                Availability::Available
            } else {
                Availability::Unavailable {
                    reason: "`wasmtime serve` is built on first use with `cargo install wasmtime-cli`, and no cargo was found".into(),
                    fix: "install Rust with rustup (https://rustup.rs)".into(),
                }
            },
            constructors: None,
        },
        RuntimeEntry {
            name: "wazero",
            family: "wazero",
            version: wazero_version(&project_dir()),
            engine: "compiler",
            host: HostKind::GoHost,
            availability: if go_available() {
                Availability::Available
            } else {
                Availability::Unavailable {
                    reason: "the wazero host is a Go program and no Go toolchain was found".into(),
                    fix: "install Go 1.26+ (Debian: apt-get install golang)".into(),
                }
            },
            constructors: None,
        },
    ]
}

/// Names of every known runtime.
pub fn names() -> Vec<&'static str> {
    entries().iter().map(|e| e.name).collect()
}

/// Looks a runtime up by name.
///
/// # Errors
/// An unknown name (listing the known ones).
pub fn entry(name: &str) -> Result<RuntimeEntry> {
    let all = entries();
    match all.iter().find(|e| e.name == name) {
        Some(e) => Ok(e.clone()),
        None => bail!("unknown runtime `{name}`; known: {}", names().join(", ")),
    }
}

/// The constructors of an available in-process runtime.
///
/// # Errors
/// Unknown, unavailable or out-of-process runtime.
fn constructors(name: &str) -> Result<Constructors> {
    let entry = entry(name)?;
    if let Availability::Unavailable { reason, fix } = &entry.availability {
        bail!("runtime `{name}` is unavailable: {reason} (fix: {fix})");
    }
    match entry.constructors {
        Some(c) => Ok(c),
        None => bail!("runtime `{name}` runs in its own host program, not in this process"),
    }
}

/// Creates an in-process adapter.
///
/// # Errors
/// Unknown, unavailable or out-of-process runtime, or an engine configuration
/// it rejects.
pub fn create(name: &str, config: &RuntimeConfig) -> Result<Arc<dyn Runtime>> {
    (constructors(name)?.runtime)(config)
}

/// Creates an in-process WASI command runner.
///
/// # Errors
/// As [`create`].
pub fn command_runner(name: &str, config: &RuntimeConfig) -> Result<Box<dyn CommandRunner>> {
    (constructors(name)?.command_runner)(config)
}

/// The project checkout (one definition, with the workloads' kit).
pub use blueprint_workloads::checkout_dir as project_dir;

/// The Go module of the wazero host in a checkout.
pub fn wazero_source_dir(project: &Path) -> PathBuf {
    project.join("runtimes/wazero")
}

/// The wazero version the Go host pins (from its `go.mod`), e.g. `1.12.0`.
pub fn wazero_version(project: &Path) -> Option<String> {
    let go_mod = std::fs::read_to_string(wazero_source_dir(project).join("go.mod")).ok()?;
    go_mod
        .lines()
        .find_map(|l| l.trim().strip_prefix("github.com/tetratelabs/wazero "))
        .map(|v| {
            v.split_whitespace()
                .next()
                .unwrap_or_default()
                .trim_start_matches('v')
                .to_owned()
        })
}

/// Whether cargo runs (`$CARGO` when cargo started this process).
pub fn cargo_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Whether a Go toolchain is on the PATH. Asked once per process: runtime
/// and language look-ups ask on every cell.
pub fn go_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        Command::new("go")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}
