//! Conformance: every workload's golden vectors on every runtime, against a
//! real daprd, with byte-identical outputs and the same final Dapr state.
//!
//! Each (workload, language, runtime) cell gets its own fresh daprd, so its
//! state store starts empty as the vectors assume, and its own host process,
//! started through the same contract as in a run (`runtimes/HOST.md`), so the
//! Rust adapters and the wazero Go host are checked the same way. Cases are
//! posted straight to the host; the host's `dapr` calls go to daprd.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use crate::app::start_with_sidecar;
use crate::daprd::Daprd;
use crate::http::ControlClient;
use crate::runtimes;
use crate::sidecar::{STATE_STORE, StateStoreKind};
use crate::workloads::{self, Expected, Flavour, Lookup, VectorFile};

/// What conformance needs to start hosts and sidecars.
#[derive(Debug, Clone)]
pub struct ConformanceContext {
    /// The sidecar.
    pub daprd: Daprd,
    /// The `blueprint-bench` binary (the Rust host).
    pub self_exe: PathBuf,
    /// The checkout.
    pub project: PathBuf,
    /// The build cache.
    pub cache: PathBuf,
}

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

/// What one request to a host produced, as the contract's status codes say.
#[derive(Debug)]
enum Outcome {
    Output(Vec<u8>),
    GuestError(String),
    Failure(String),
}

/// Runs one workload's vectors on one runtime against a fresh daprd in `dir`.
///
/// # Errors
/// Setup failures (host, daprd); case mismatches are reported in the cell.
pub async fn check_cell(
    ctx: &ConformanceContext,
    runtime: &str,
    language: &str,
    module_path: &Path,
    vectors: &VectorFile,
    dir: &Path,
) -> Result<ConformanceCell> {
    let mut cell = ConformanceCell {
        workload: vectors.workload.clone(),
        language: language.into(),
        runtime: runtime.into(),
        status: "pass".into(),
        passed: 0,
        cases: vectors.cases.len(),
        first_difference: None,
    };
    std::fs::create_dir_all(dir)?;
    let (host, sidecar) = start_with_sidecar(
        &ctx.daprd,
        runtimes::host_command(runtime, &ctx.self_exe, &ctx.project, &ctx.cache)?,
        (vectors.workload.clone(), module_path.to_owned()),
        "conformance",
        StateStoreKind::InMemory,
        dir,
    )
    .await?;

    let client = ControlClient::default();
    let url = format!("http://127.0.0.1:{}/{}", host.port, vectors.workload);
    for case in &vectors.cases {
        let reply = client
            .post(&url, case.input_bytes()?, Duration::from_secs(30))
            .await?;
        let got = match reply.status.as_u16() {
            200 => Outcome::Output(reply.body.to_vec()),
            422 => Outcome::GuestError(reply.text()),
            code => Outcome::Failure(format!("HTTP {code}: {}", reply.text())),
        };
        let difference = match (case.expected()?, got) {
            (Expected::Output(want), Outcome::Output(have)) if want == have => None,
            (Expected::Error(want), Outcome::GuestError(have)) if want == have => None,
            (Expected::Output(want), Outcome::Output(have)) => {
                Some(format!("output {} != expected {}", show(&have), show(&want)))
            }
            (Expected::Output(want), Outcome::GuestError(err) | Outcome::Failure(err)) => {
                Some(format!("failed ({err}), expected output {}", show(&want)))
            }
            (Expected::Error(want), Outcome::Output(have)) => {
                Some(format!("returned {}, expected error {want:?}", show(&have)))
            }
            (Expected::Error(want), Outcome::GuestError(err) | Outcome::Failure(err)) => {
                Some(format!("failed with {err:?}, expected guest error {want:?}"))
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
    host.stop();
    Ok(cell)
}

/// Runs every workload × runtime cell.
///
/// # Errors
/// Guest build failures; cell failures are reported in the cells.
pub async fn run_all(
    ctx: &ConformanceContext,
    runtime_filter: Option<&str>,
    work_dir: &Path,
) -> Result<Vec<ConformanceCell>> {
    let catalog = workloads::build_all(&ctx.project, &ctx.cache)?;
    let mut cells = Vec::new();
    for workload in workloads::known_workloads(&ctx.project)? {
        let vectors = workloads::load_vectors(&ctx.project, &workload)?;
        for language in workloads::LANGUAGES {
            for entry in runtimes::entries() {
                if runtime_filter.is_some_and(|r| r != entry.name) {
                    continue;
                }
                let unavailable = |reason: String| ConformanceCell {
                    workload: workload.clone(),
                    language: (*language).into(),
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
                let module = match catalog.lookup(language, &workload, Flavour::Embedded) {
                    Lookup::Built(module) => module.to_owned(),
                    Lookup::Unavailable(reason) | Lookup::NotApplicable(reason) => {
                        cells.push(unavailable(reason));
                        continue;
                    }
                };
                let dir = work_dir.join(format!("{workload}-{language}-{}", entry.name));
                match check_cell(ctx, entry.name, language, &module, &vectors, &dir).await {
                    Ok(cell) => cells.push(cell),
                    Err(err) => cells.push(ConformanceCell {
                        status: "fail".into(),
                        first_difference: Some(format!("{err:#}")),
                        ..unavailable(String::new())
                    }),
                }
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
