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

use anyhow::{Context, Result};
use serde::Serialize;

use bytes::Bytes;

use crate::blueprint::RunContext;
use crate::blueprint::{self, Resolved};
use crate::daprd::Daprd;
use crate::scenario::{CellId, DaprSettings, Plan};
use crate::sidecar::{AppProtocol, STATE_STORE, StateStoreKind};
use crate::workloads::{self, Catalog, Expected, VectorFile};
use blueprint_analysis::modes::{self, Mode, Trigger};
use blueprint_analysis::results::CellStatus;
use blueprint_host::table as runtimes;

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
    /// Integration mode.
    pub mode: String,
    /// Guest language.
    pub language: String,
    /// Runtime.
    pub runtime: String,
    /// How daprd calls the app (`http`, `grpc`).
    pub protocol: String,
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
    /// The binding failed; daprd does not pass the guest's message on.
    BindingError(String),
}

/// Runs one workload's vectors in the embedded mode on one runtime against a
/// fresh daprd in `dir`.
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
    let cell = cell_id(
        &vectors.workload,
        Mode::Embedded,
        runtime,
        language,
        AppProtocol::Http,
    );
    let resolved = Resolved {
        mode: Mode::Embedded,
        trigger: Trigger::Direct,
        store: StateStoreKind::InMemory,
        module: Some(module_path.to_owned()),
        record_topics: Vec::new(),
    };
    check(ctx, &cell, &resolved, vectors, dir).await
}

fn cell_id(workload: &str, mode: Mode, runtime: &str, language: &str, protocol: AppProtocol) -> CellId {
    CellId {
        workload: workload.into(),
        mode: mode.as_str().into(),
        runtime: runtime.into(),
        language: language.into(),
        protocol: protocol.as_str().into(),
        store: StateStoreKind::InMemory.to_string(),
        // Straight to our host where there is one (over HTTP: the direct
        // trigger has no daprd to speak gRPC); through daprd otherwise.
        trigger: if mode.has_workload_host() && protocol == AppProtocol::Http {
            "direct"
        } else {
            "dapr"
        }
        .into(),
        instances: Default::default(),
    }
}

/// Runs one cell's vectors in its mode against a fresh daprd in `dir`. Cases
/// go to the app host directly where there is one (its `dapr` calls still go
/// to daprd), else through daprd: the middleware pipeline in front of the
/// echo app, or the binding API.
///
/// # Errors
/// Setup failures (host, daprd); case mismatches are reported in the cell.
pub async fn check(
    ctx: &ConformanceContext,
    cell_id: &CellId,
    resolved: &Resolved,
    vectors: &VectorFile,
    dir: &Path,
) -> Result<ConformanceCell> {
    let mut cell = ConformanceCell {
        workload: vectors.workload.clone(),
        mode: cell_id.mode.clone(),
        language: cell_id.language.clone(),
        runtime: cell_id.runtime.clone(),
        protocol: cell_id.protocol.clone(),
        status: "pass".into(),
        passed: 0,
        cases: vectors.cases.len(),
        first_difference: None,
    };
    std::fs::create_dir_all(dir)?;
    // The events the vectors publish are received by the app host as a
    // plain subscriber; a mode without a host of ours cannot publish.
    let checks_events = !vectors.events.is_empty() && resolved.mode.has_workload_host();
    // A component's host cannot subscribe (`wasmtime serve` hands every
    // request to the component), so its events cannot be checked: the cell
    // says so rather than passing on its answers alone.
    if checks_events && resolved.mode.flavour() == Some(blueprint_analysis::modes::Flavour::Component) {
        cell.status = "n/a".into();
        cell.first_difference = Some(format!(
            "`{}` publishes events, which conformance receives by subscribing the app host; a wasi:http \
             component's host cannot subscribe",
            vectors.workload
        ));
        return Ok(cell);
    }
    let mut resolved = resolved.clone();
    if checks_events {
        resolved.record_topics = vectors
            .events
            .iter()
            .map(|e| e.topic.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
    }
    let resolved = &resolved;
    let run_ctx = RunContext {
        project: ctx.project.clone(),
        cache: ctx.cache.clone(),
        daprd: ctx.daprd.clone(),
        host_program: ctx.self_exe.clone(),
        work_dir: dir.to_owned(),
        app_env: Vec::new(),
        pinning: None,
    };
    let system = blueprint::start(
        &run_ctx,
        &DaprSettings::default(),
        cell_id,
        resolved,
        Bytes::new(),
        dir,
    )
    .await?;

    // The app token for the host, daprd's for daprd.
    let (client, url) = case_target(&system, resolved.trigger, &vectors.workload);
    for case in &vectors.cases {
        let input = case.input_bytes()?;
        let got = if resolved.mode == Mode::Binding {
            invoke_binding(
                system.sidecar.grpc_port,
                &system.sidecar.tokens.dapr,
                &vectors.workload,
                input,
            )
            .await
        } else {
            let reply = if resolved.mode.runs_in_daprd() {
                client.send_chunked(&url, input, Duration::from_secs(30)).await?
            } else {
                client.post(&url, input, Duration::from_secs(30)).await?
            };
            reply_outcome(&reply, &cell_id.protocol)
        };
        let difference = match (case.expected()?, got) {
            (Expected::Output(want), Outcome::Output(have)) if want == have => None,
            (Expected::Error(want), Outcome::GuestError(have)) if want == have => None,
            // daprd's bindings.wasm drops the guest's stderr: only the failure is visible.
            (Expected::Error(_), Outcome::BindingError(_)) => None,
            (Expected::Output(want), Outcome::Output(have)) => {
                Some(format!("output {} != expected {}", show(&have), show(&want)))
            }
            (
                Expected::Output(want),
                Outcome::GuestError(err) | Outcome::Failure(err) | Outcome::BindingError(err),
            ) => Some(format!("failed ({err}), expected output {}", show(&want))),
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
        let have = system.sidecar.get_state(STATE_STORE, key).await?;
        if have.as_deref() != Some(want.as_bytes()) && cell.first_difference.is_none() {
            cell.first_difference = Some(format!(
                "final state `{key}`: {} != expected {}",
                have.as_deref().map_or("missing".into(), show),
                show(want.as_bytes())
            ));
        }
    }
    if checks_events
        && cell.first_difference.is_none()
        && let Some(host) = &system.host
    {
        cell.first_difference = published_events_differ(host, &vectors.events).await?;
    }
    if cell.first_difference.is_some() {
        cell.status = "fail".into();
    }
    system.stop();
    Ok(cell)
}

/// How long the check waits for daprd to deliver the published events.
const EVENTS_WAIT: Duration = Duration::from_secs(10);

/// What the app host received as a plain subscriber against the events the
/// vectors publish: topic, component and content type exactly; the data
/// byte for byte, except that daprd re-encodes JSON data inside its
/// CloudEvent (components-contrib's envelope decodes it and encodes it
/// again, keys sorted), so JSON data is compared as JSON values. Events are
/// matched as a multiset: daprd may deliver them in another order than the
/// cases published them. `None` when they match.
async fn published_events_differ(
    host: &crate::app::AppHost,
    want: &[blueprint_workloads::PublishedEvent],
) -> Result<Option<String>> {
    use base64::Engine as _;
    let url = format!("http://127.0.0.1:{}/subscriber", host.port);
    let until = std::time::Instant::now() + EVENTS_WAIT;
    let received = loop {
        let reply = host.client().get(&url, Duration::from_secs(10)).await?;
        let got: blueprint_host::events::ReceivedEvents = serde_json::from_slice(&reply.body)
            .with_context(|| format!("reading GET {url}: {}", reply.text()))?;
        if got.events.len() >= want.len() || std::time::Instant::now() >= until {
            break got.events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // One comparable form per event: JSON data as its value, other data as bytes.
    let key = |pubsub: &str, topic: &str, content_type: &str, data: &[u8]| {
        let json = content_type.starts_with("application/json");
        let data = match serde_json::from_slice::<serde_json::Value>(data) {
            Ok(value) if json => value.to_string(),
            _ => format!("bytes:{}", show(data)),
        };
        format!("{pubsub} {topic} {content_type} {data}")
    };
    let mut expected: Vec<String> = want
        .iter()
        .map(|e| key(&e.pubsub, &e.topic, &e.content_type, e.data.as_bytes()))
        .collect();
    let mut got = Vec::with_capacity(received.len());
    for r in &received {
        let data = base64::engine::general_purpose::STANDARD
            .decode(&r.data_base64)
            .context("the subscriber's data is not base64")?;
        got.push(key(&r.pubsub, &r.topic, &r.content_type, &data));
    }
    expected.sort();
    got.sort();
    if expected == got {
        return Ok(None);
    }
    let missing: Vec<&String> = expected.iter().filter(|e| !got.contains(e)).collect();
    let unexpected: Vec<&String> = got.iter().filter(|g| !expected.contains(g)).collect();
    Ok(Some(format!(
        "published events: {} received, {} expected; first missing: {}; first unexpected: {}",
        got.len(),
        expected.len(),
        missing.first().map_or("none", |s| s.as_str()),
        unexpected.first().map_or("none", |s| s.as_str()),
    )))
}

/// Where a cell's cases go, with the token that place wants: straight to the
/// app host for the direct trigger, else daprd's invoke API (in front of
/// the host, over either app protocol, or of the echo app).
fn case_target(
    system: &blueprint::System,
    trigger: Trigger,
    workload: &str,
) -> (crate::http::ControlClient, String) {
    match &system.host {
        Some(host) if trigger == Trigger::Direct => (
            host.client(),
            format!("http://127.0.0.1:{}/{workload}", host.port),
        ),
        _ => (system.sidecar.client(), system.sidecar.invoke_url(workload)),
    }
}

/// What a reply says, by the contract's status codes; over the gRPC app
/// channel daprd answers the host's `INVALID_ARGUMENT` (the guest refused)
/// with 400 and the status as JSON, whose message is the guest's.
fn reply_outcome(reply: &crate::http::Reply, protocol: &str) -> Outcome {
    match reply.status.as_u16() {
        200 => Outcome::Output(reply.body.to_vec()),
        422 => Outcome::GuestError(reply.text()),
        400 if protocol == AppProtocol::Grpc.as_str() => {
            match serde_json::from_slice::<serde_json::Value>(&reply.body) {
                Ok(status) if status["code"] == tonic::Code::InvalidArgument as i32 => {
                    Outcome::GuestError(status["message"].as_str().unwrap_or_default().to_owned())
                }
                _ => Outcome::Failure(format!("HTTP 400: {}", reply.text())),
            }
        }
        code => Outcome::Failure(format!("HTTP {code}: {}", reply.text())),
    }
}

/// One call of daprd's `bindings.wasm` binding over gRPC (which passes the
/// bytes unchanged; the HTTP API would re-encode them as JSON).
async fn invoke_binding(grpc_port: u16, token: &str, name: &str, data: Vec<u8>) -> Outcome {
    use dapr::dapr::proto::runtime::v1::dapr_client::DaprClient;
    let endpoint = format!("http://127.0.0.1:{grpc_port}");
    let mut client = match DaprClient::connect(endpoint).await {
        Ok(client) => client,
        Err(err) => return Outcome::Failure(format!("connecting to daprd: {err}")),
    };
    let mut request = tonic::Request::new(blueprint::binding_request(name, data));
    match tonic::metadata::MetadataValue::try_from(token) {
        Ok(value) => {
            request
                .metadata_mut()
                .insert(blueprint_host::token::HEADER, value);
        }
        Err(err) => return Outcome::Failure(format!("the API token is not gRPC metadata: {err}")),
    }
    match client.invoke_binding(request).await {
        Ok(response) => Outcome::Output(response.into_inner().data),
        Err(status) => Outcome::BindingError(status.message().to_owned()),
    }
}

/// Every cell of every workload × language × mode × runtime; cells that do
/// not apply say why.
///
/// # Errors
/// Guest build failures; cell failures are reported in the cells.
pub async fn run_all(
    ctx: &ConformanceContext,
    filter: &Filter,
    work_dir: &Path,
) -> Result<Vec<ConformanceCell>> {
    let catalog = workloads::build_all(&ctx.project, &ctx.cache)?;
    let mut cells = Vec::new();
    for workload in workloads::known_workloads(&ctx.project)? {
        let vectors = workloads::load_vectors(&ctx.project, &workload)?;
        for language in workloads::LANGUAGES {
            for mode in CONFORMANCE_MODES {
                if filter.mode.as_ref().is_some_and(|m| m != mode.as_str()) {
                    continue;
                }
                let runtimes: Vec<String> = if mode.runs_in_daprd() {
                    vec![modes::IN_DAPRD.into()]
                } else if *mode == Mode::Native {
                    vec![modes::NATIVE.into()]
                } else {
                    runtimes::entries().iter().map(|e| e.name.to_owned()).collect()
                };
                for runtime in runtimes {
                    if filter.runtime.as_ref().is_some_and(|r| *r != runtime) {
                        continue;
                    }
                    let id = cell_id(&workload, *mode, &runtime, language, AppProtocol::Http);
                    cells.push(check_resolved(ctx, &id, &catalog, &vectors, work_dir).await?);
                }
                // The gRPC app channel: through daprd, on one runtime per
                // host program (the Rust host, the wazero Go host).
                if !mode.has_workload_host() || *mode == Mode::Native {
                    continue;
                }
                for runtime in GRPC_RUNTIMES {
                    if filter.runtime.as_ref().is_some_and(|r| r != runtime) {
                        continue;
                    }
                    let id = cell_id(&workload, *mode, runtime, language, AppProtocol::Grpc);
                    cells.push(check_resolved(ctx, &id, &catalog, &vectors, work_dir).await?);
                }
            }
        }
    }
    Ok(cells)
}

/// The vectors of a scenario's own workloads, in every mode and runtime its
/// matrix lists that can run them (stores and triggers aside: conformance
/// uses a fresh in-memory store and goes straight to the app where there is
/// one). Nothing is built: the modules are the scenario's.
///
/// # Errors
/// Unreadable built-in vectors; cell failures are reported in the cells.
pub async fn run_scenario(
    ctx: &ConformanceContext,
    plan: &Plan,
    filter: &Filter,
    work_dir: &Path,
) -> Result<Vec<ConformanceCell>> {
    let mut catalog = Catalog::default();
    catalog.add_custom(&plan.custom);
    let mut cells = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for planned in &plan.cells {
        let Some(workload) = plan.custom.get(&planned.workload) else {
            continue;
        };
        let Ok(mode) = planned.mode.parse::<Mode>() else {
            continue;
        };
        if !CONFORMANCE_MODES.contains(&mode)
            || filter.mode.as_ref().is_some_and(|m| m != mode.as_str())
            || filter.runtime.as_ref().is_some_and(|r| *r != planned.runtime)
            || !seen.insert((
                planned.workload.clone(),
                mode.as_str(),
                planned.runtime.clone(),
                planned.protocol.clone(),
            ))
        {
            continue;
        }
        let protocol = planned.protocol.parse()?;
        let id = cell_id(
            &planned.workload,
            mode,
            &planned.runtime,
            &planned.language,
            protocol,
        );
        match &workload.vectors {
            Some(vectors) => cells.push(check_resolved(ctx, &id, &catalog, vectors, work_dir).await?),
            None => cells.push(skipped_cell(
                &id,
                "n/a",
                0,
                format!("custom workload `{}` has no vectors", workload.name),
            )),
        }
    }
    Ok(cells)
}

fn skipped_cell(id: &CellId, status: &str, cases: usize, reason: String) -> ConformanceCell {
    ConformanceCell {
        workload: id.workload.clone(),
        mode: id.mode.clone(),
        language: id.language.clone(),
        runtime: id.runtime.clone(),
        protocol: id.protocol.clone(),
        status: status.into(),
        passed: 0,
        cases,
        first_difference: Some(reason),
    }
}

/// One cell: resolved as a run resolves it, then checked, or skipped with
/// the reason it cannot run.
async fn check_resolved(
    ctx: &ConformanceContext,
    id: &CellId,
    catalog: &Catalog,
    vectors: &VectorFile,
    work_dir: &Path,
) -> Result<ConformanceCell> {
    let cases = vectors.cases.len();
    let resolved = match blueprint::resolve(&ctx.project, id, catalog)? {
        Ok(resolved) => resolved,
        Err(CellStatus::NotApplicable { reason }) => return Ok(skipped_cell(id, "n/a", cases, reason)),
        Err(CellStatus::Unavailable { reason }) => {
            return Ok(skipped_cell(id, "unavailable", cases, reason));
        }
        Err(other) => return Ok(skipped_cell(id, "fail", cases, format!("{other:?}"))),
    };
    let dir = work_dir.join(format!(
        "{}-{}-{}-{}-{}",
        id.workload, id.language, id.mode, id.runtime, id.protocol
    ));
    Ok(match check(ctx, id, &resolved, vectors, &dir).await {
        Ok(cell) => cell,
        Err(err) => skipped_cell(id, "fail", cases, format!("{err:#}")),
    })
}

/// The modes conformance covers: every mode that runs a guest.
pub const CONFORMANCE_MODES: &[Mode] = &[
    Mode::Embedded,
    Mode::EmbeddedCache,
    Mode::StandaloneHttp,
    Mode::StandaloneWasiHttp,
    Mode::Middleware,
    Mode::Binding,
    Mode::Native,
];

/// The runtimes whose cells `run_all` also checks over the gRPC app channel:
/// one per host program (the Rust host, the wazero Go host), since the
/// channel is the host's, whatever adapter runs the guest; every runtime
/// again would add half the HTTP run's time.
pub const GRPC_RUNTIMES: &[&str] = &["wasmtime", "wazero"];

/// Which cells `run_all` checks.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this runtime.
    pub runtime: Option<String>,
    /// Only this mode.
    pub mode: Option<String>,
}

/// The matrix as text: one line per cell; a cell over the gRPC app channel
/// shows its mode as `<mode>/grpc`.
pub fn render(cells: &[ConformanceCell]) -> String {
    let mut out = String::new();
    for c in cells {
        let mode = if c.protocol == AppProtocol::Http.as_str() {
            c.mode.clone()
        } else {
            format!("{}/{}", c.mode, c.protocol)
        };
        out.push_str(&format!(
            "{:<10} {:<20} {:<10} {:<17} {:<11} {}/{}{}\n",
            c.workload,
            mode,
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
