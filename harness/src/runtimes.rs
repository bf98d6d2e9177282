//! The runtime adapters this build knows, whether each can run here, and how
//! to create one. A runtime that cannot run is listed with the reason and the
//! fix, never left out.

use std::sync::Arc;

use anyhow::{Result, bail};
use blueprint_runtime_api::{Runtime, RuntimeConfig};
use serde::Serialize;

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

/// One runtime adapter.
#[derive(Debug, Clone, Serialize)]
pub struct RuntimeEntry {
    /// Scenario name.
    pub name: &'static str,
    /// Version linked into this build, when known.
    pub version: Option<String>,
    /// Where the runtime runs: `in-process` (Rust adapter, `blueprint-bench host`)
    /// or `go-host` (a separate Go program).
    pub host: &'static str,
    /// Whether it can be used.
    #[serde(flatten)]
    pub availability: Availability,
}

/// Every runtime the harness knows, in a stable order.
pub fn entries() -> Vec<RuntimeEntry> {
    vec![RuntimeEntry {
        name: blueprint_runtime_wasmtime::NAME,
        version: Some(blueprint_runtime_wasmtime::VERSION.into()),
        host: "in-process",
        availability: Availability::Available,
    }]
}

/// Looks a runtime up by name.
///
/// # Errors
/// An unknown name (listing the known ones).
pub fn entry(name: &str) -> Result<RuntimeEntry> {
    let all = entries();
    match all.iter().find(|e| e.name == name) {
        Some(e) => Ok(e.clone()),
        None => bail!(
            "unknown runtime `{name}`; known: {}",
            all.iter().map(|e| e.name).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Creates an in-process adapter.
///
/// # Errors
/// Unknown or unavailable runtime, or an engine configuration it rejects.
pub fn create(name: &str, config: &RuntimeConfig) -> Result<Arc<dyn Runtime>> {
    let entry = entry(name)?;
    if let Availability::Unavailable { reason, fix } = &entry.availability {
        bail!("runtime `{name}` is unavailable: {reason} (fix: {fix})");
    }
    match name {
        blueprint_runtime_wasmtime::NAME => Ok(Arc::new(blueprint_runtime_wasmtime::WasmtimeRuntime::new(
            config,
        )?)),
        other => bail!("runtime `{other}` has no in-process adapter"),
    }
}
