//! The runtimes this build knows, whether each can run here, how to create an
//! in-process adapter, and how to launch each one's host process. A runtime
//! that cannot run is listed with the reason and the fix, never left out.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, bail};
use blueprint_runtime_api::{Runtime, RuntimeConfig};
use blueprint_runtime_wasmer::Backend;
use serde::Serialize;

use crate::{go_host, paths};

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
}

/// One runtime configuration as scenarios name it.
#[derive(Debug, Clone, Serialize)]
pub struct RuntimeEntry {
    /// Scenario name (`wasmtime`, `wasmer`, `wasmer-singlepass`, `wasmedge`, `wazero`).
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
}

/// Every runtime the harness knows, in a stable order.
pub fn entries() -> Vec<RuntimeEntry> {
    let in_process = |name, family, version: &str, engine| RuntimeEntry {
        name,
        family,
        version: Some(version.to_owned()),
        engine,
        host: HostKind::InProcess,
        availability: Availability::Available,
    };
    let wazero = RuntimeEntry {
        name: "wazero",
        family: "wazero",
        version: go_host::wazero_version(&paths::project_dir()),
        engine: "compiler",
        host: HostKind::GoHost,
        availability: if go_host::go_available() {
            Availability::Available
        } else {
            Availability::Unavailable {
                reason: "the wazero host is a Go program and no Go toolchain was found".into(),
                fix: "install Go 1.26+ (Debian: apt-get install golang)".into(),
            }
        },
    };
    vec![
        in_process(
            "wasmtime",
            "wasmtime",
            blueprint_runtime_wasmtime::VERSION,
            "cranelift+pooling",
        ),
        in_process("wasmer", "wasmer", blueprint_runtime_wasmer::VERSION, "cranelift"),
        in_process(
            "wasmer-singlepass",
            "wasmer",
            blueprint_runtime_wasmer::VERSION,
            "singlepass",
        ),
        wasmedge_entry(),
        wazero,
    ]
}

fn wasmedge_entry() -> RuntimeEntry {
    RuntimeEntry {
        name: "wasmedge",
        family: "wasmedge",
        version: blueprint_runtime_wasmedge::version(),
        engine: blueprint_runtime_wasmedge::ENGINE,
        host: HostKind::InProcess,
        availability: match blueprint_runtime_wasmedge::availability() {
            Ok(()) => Availability::Available,
            Err((reason, fix)) => Availability::Unavailable { reason, fix },
        },
    }
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

/// Creates an in-process adapter.
///
/// # Errors
/// Unknown, unavailable or out-of-process runtime, or an engine configuration
/// it rejects.
pub fn create(name: &str, config: &RuntimeConfig) -> Result<Arc<dyn Runtime>> {
    let entry = entry(name)?;
    if let Availability::Unavailable { reason, fix } = &entry.availability {
        bail!("runtime `{name}` is unavailable: {reason} (fix: {fix})");
    }
    Ok(match name {
        "wasmtime" => Arc::new(blueprint_runtime_wasmtime::WasmtimeRuntime::new(config)?),
        "wasmer" => Arc::new(blueprint_runtime_wasmer::WasmerRuntime::new(
            config,
            Backend::Cranelift,
        )?),
        "wasmer-singlepass" => Arc::new(blueprint_runtime_wasmer::WasmerRuntime::new(
            config,
            Backend::Singlepass,
        )?),
        "wasmedge" => blueprint_runtime_wasmedge::create(config)?,
        other => bail!("runtime `{other}` runs in its own host program, not in this process"),
    })
}

/// The program and leading arguments that start `name`'s host; the contract's
/// flags (`runtimes/HOST.md`) follow them. Builds the Go host if needed.
///
/// # Errors
/// Unknown or unavailable runtime, or a failed host build.
pub fn host_command(
    name: &str,
    self_exe: &Path,
    project: &Path,
    cache: &Path,
) -> Result<(PathBuf, Vec<String>)> {
    if name == crate::modes::NATIVE {
        return Ok((
            self_exe.to_owned(),
            vec!["host".into(), "--runtime".into(), name.into()],
        ));
    }
    let entry = entry(name)?;
    if let Availability::Unavailable { reason, fix } = &entry.availability {
        bail!("runtime `{name}` is unavailable: {reason} (fix: {fix})");
    }
    Ok(match entry.host {
        HostKind::InProcess => (
            self_exe.to_owned(),
            vec!["host".into(), "--runtime".into(), name.into()],
        ),
        HostKind::GoHost => (go_host::build(project, cache)?, Vec::new()),
    })
}
