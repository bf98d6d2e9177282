//! Conformance: every workload's golden vectors on every runtime, against a
//! real daprd, with byte-identical outputs and the same final Dapr state.
//!
//! Each (workload, language, runtime) cell gets its own fresh daprd, so its
//! state store starts empty as the vectors assume. Guests run in this process
//! through the adapter, with their `dapr` imports on daprd's gRPC API.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use blueprint_runtime_api::{CallError, DaprHost, RuntimeConfig};
use serde::Serialize;

use crate::daprd::Daprd;
use crate::host::dapr_grpc::GrpcDapr;
use crate::runtimes;
use crate::sidecar::{STATE_STORE, Sidecar, SidecarSpec};
use crate::workloads::{self, Expected, VectorFile};

/// The outcome of one cell.
#[derive(Debug, Clone, Serialize)]
pub struct ConformanceCell {
    /// Workload.
    pub workload: String,
    /// Guest language.
    pub language: String,
    /// Runtime.
    pub runtime: String,
    /// `pass`, `fail`, `unavailable`.
    pub status: String,
    /// Cases that passed, of all.
    pub passed: usize,
    /// Number of cases.
    pub cases: usize,
    /// The first difference, when failed.
    pub first_difference: Option<String>,
}

fn show(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.len() <= 80 => format!("{text:?}"),
        Ok(text) => format!(
            "{:?}… ({} bytes)",
            &text[..text.floor_char_boundary(80)],
            bytes.len()
        ),
        Err(_) => format!("{} non-UTF-8 bytes", bytes.len()),
    }
}

/// Runs one workload's vectors on one runtime against a fresh daprd in `dir`.
///
/// # Errors
/// Setup failures (daprd, compile); case mismatches are reported in the cell.
pub async fn check_cell(
    daprd: &Daprd,
    runtime_name: &str,
    module_path: &Path,
    vectors: &VectorFile,
    dir: &Path,
) -> Result<ConformanceCell> {
    let mut cell = ConformanceCell {
        workload: vectors.workload.clone(),
        language: "rust".into(),
        runtime: runtime_name.into(),
        status: "pass".into(),
        passed: 0,
        cases: vectors.cases.len(),
        first_difference: None,
    };
    let runtime = runtimes::create(runtime_name, &RuntimeConfig::default())?;
    let wasm = std::fs::read(module_path).with_context(|| format!("reading {}", module_path.display()))?;
    let module = runtime.compile(&wasm)?;
    let sidecar = Sidecar::start(daprd, &SidecarSpec::new("conformance", None)?, dir).await?;
    let dapr: Arc<dyn DaprHost> = Arc::new(GrpcDapr::new(
        sidecar.grpc_port,
        tokio::runtime::Handle::current(),
    )?);

    for case in &vectors.cases {
        let input = case.input_bytes()?;
        let expected = case.expected()?;
        let (module, dapr) = (module.clone(), dapr.clone());
        let got = tokio::task::spawn_blocking(move || {
            let mut instance = module
                .instantiate(dapr)
                .map_err(|e| CallError::Abi(e.to_string()))?;
            instance.handle(&input)
        })
        .await?;
        let difference = match (&expected, &got) {
            (Expected::Output(want), Ok(have)) if want == have => None,
            (Expected::Error(want), Err(CallError::Guest(have))) if want == have => None,
            (Expected::Output(want), Ok(have)) => {
                Some(format!("output {} != expected {}", show(have), show(want)))
            }
            (Expected::Output(want), Err(err)) => {
                Some(format!("failed ({err}), expected output {}", show(want)))
            }
            (Expected::Error(want), Ok(have)) => {
                Some(format!("returned {}, expected error {want:?}", show(have)))
            }
            (Expected::Error(want), Err(err)) => {
                Some(format!("failed with {err}, expected guest error {want:?}"))
            }
        };
        match difference {
            None => cell.passed += 1,
            Some(diff) if cell.first_difference.is_none() => {
                cell.first_difference = Some(format!("case `{}`: {diff}", case.name));
            }
            Some(_) => {}
        }
    }
    for (key, want) in &vectors.final_state {
        let have = sidecar.get_state(STATE_STORE, key).await?;
        if have.as_deref() != Some(want.as_bytes()) && cell.first_difference.is_none() {
            cell.first_difference = Some(format!(
                "final state `{key}`: {} != expected {}",
                have.as_deref().map_or("missing".into(), show),
                show(want.as_bytes())
            ));
        }
    }
    if cell.first_difference.is_some() {
        cell.status = "fail".into();
    }
    sidecar.stop();
    Ok(cell)
}

/// Runs every workload × runtime cell.
///
/// # Errors
/// Guest build failures; cell failures are reported in the cells.
pub async fn run_all(
    daprd: &Daprd,
    project: &Path,
    cache: &Path,
    runtime_filter: Option<&str>,
    work_dir: &Path,
) -> Result<Vec<ConformanceCell>> {
    let modules = workloads::build_rust(project, cache)?;
    let mut cells = Vec::new();
    for workload in workloads::known_workloads(project)? {
        let vectors = workloads::load_vectors(project, &workload)?;
        for entry in runtimes::entries() {
            if runtime_filter.is_some_and(|r| r != entry.name) {
                continue;
            }
            let unavailable = |reason: String| ConformanceCell {
                workload: workload.clone(),
                language: "rust".into(),
                runtime: entry.name.into(),
                status: "unavailable".into(),
                passed: 0,
                cases: vectors.cases.len(),
                first_difference: Some(reason),
            };
            if let runtimes::Availability::Unavailable { reason, fix } = &entry.availability {
                cells.push(unavailable(format!("{reason} (fix: {fix})")));
                continue;
            }
            let Some(module): Option<&PathBuf> = modules.get(&workload) else {
                cells.push(unavailable("no rust module built".into()));
                continue;
            };
            let dir = work_dir.join(format!("{workload}-rust-{}", entry.name));
            match check_cell(daprd, entry.name, module, &vectors, &dir).await {
                Ok(cell) => cells.push(cell),
                Err(err) => cells.push(ConformanceCell {
                    status: "fail".into(),
                    first_difference: Some(format!("{err:#}")),
                    ..unavailable(String::new())
                }),
            }
        }
    }
    Ok(cells)
}

/// The matrix as text: one line per cell.
pub fn render(cells: &[ConformanceCell]) -> String {
    let mut out = String::new();
    for c in cells {
        out.push_str(&format!(
            "{:<10} {:<6} {:<10} {:<11} {}/{}{}\n",
            c.workload,
            c.language,
            c.runtime,
            c.status.to_uppercase(),
            c.passed,
            c.cases,
            c.first_difference
                .as_ref()
                .map(|d| format!("  {d}"))
                .unwrap_or_default()
        ));
    }
    out
}
