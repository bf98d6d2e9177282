//! Runs a [`Plan`]: for every cell, a fresh app host and a fresh daprd,
//! warm-up, a measured window, and a [`CellResult`]. A failing cell is
//! recorded as failed and the run goes on; the results file is rewritten
//! (atomically) after every cell, so an interrupted run keeps what it measured.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use hyper::Method;

use crate::app::{AppHost, HostLaunch};
use crate::daprd::Daprd;
use crate::load::{self, LoadSpec, Target};
use crate::progress;
use crate::results::{CellResult, CellStatus, LoadSummary, RunResults, SCHEMA_VERSION, ScenarioRecord};
use crate::scenario::{CellId, Plan};
use crate::sidecar::{Sidecar, SidecarPorts, SidecarSpec};
use crate::{environment, net, runtimes, workloads};

/// Everything a run needs besides the plan.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The project checkout (sources, vectors).
    pub project: PathBuf,
    /// Build cache.
    pub cache: PathBuf,
    /// The sidecar binary.
    pub daprd: Daprd,
    /// The `blueprint-bench` binary, started as the embedded host.
    pub host_program: PathBuf,
    /// Where run folders go.
    pub work_dir: PathBuf,
}

/// The app id every cell's sidecar uses.
pub const APP_ID: &str = "blueprint-app";

/// Runs every cell of `plan`, writing `results_path` after each.
///
/// # Errors
/// Only failures that stop the whole run: building the guests, writing results.
pub async fn run(ctx: &RunContext, plan: &Plan, results_path: &Path) -> Result<RunResults> {
    let started = chrono::Utc::now();
    let modules = workloads::build_rust(&ctx.project, &ctx.cache)?;
    let mut environment = environment::fingerprint(&ctx.project);
    environment.daprd = Some(ctx.daprd.clone());
    for entry in runtimes::entries() {
        if let Some(version) = entry.version {
            environment.runtimes.insert(entry.name.to_owned(), version);
        }
    }
    let mut results = RunResults {
        schema_version: SCHEMA_VERSION,
        started_at: started.to_rfc3339(),
        environment,
        scenario: ScenarioRecord {
            path: plan.path.display().to_string(),
            meta: plan.meta.clone(),
            load: plan.load.clone(),
            dapr: plan.dapr.clone(),
        },
        cells: Vec::new(),
    };
    let bar = progress::bar(plan.cells.len() as u64, format!("running {}", plan.meta.name));
    for (index, cell) in plan.cells.iter().enumerate() {
        progress::step(&bar, format!("cell {}/{}: {cell}", index + 1, plan.cells.len()));
        let dir = ctx.work_dir.join(format!("cell-{index:03}"));
        let result = match run_cell(ctx, plan, cell, &modules, &dir).await {
            Ok(result) => result,
            Err(err) => {
                tracing::warn!("cell {cell} failed: {err:#}");
                CellResult::bare(
                    cell.clone(),
                    CellStatus::Failed {
                        error: format!("{err:#}"),
                    },
                )
            }
        };
        results.cells.push(result);
        crate::results::write_atomic(results_path, &results)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(results)
}

/// The request body for a workload: the scenario's, else the first golden
/// vector that is expected to succeed.
fn request_body(ctx: &RunContext, plan: &Plan, workload: &str) -> Result<Vec<u8>> {
    if let Some(body) = plan.inputs.get(workload) {
        return Ok(body.clone());
    }
    let vectors = workloads::load_vectors(&ctx.project, workload)?;
    for case in &vectors.cases {
        if matches!(case.expected()?, workloads::Expected::Output(_)) {
            return case.input_bytes();
        }
    }
    anyhow::bail!("workload `{workload}` has no succeeding vector to use as input; set [inputs.{workload}]")
}

async fn run_cell(
    ctx: &RunContext,
    plan: &Plan,
    cell: &CellId,
    modules: &BTreeMap<String, PathBuf>,
    dir: &Path,
) -> Result<CellResult> {
    let entry = runtimes::entry(&cell.runtime)?;
    if let runtimes::Availability::Unavailable { reason, fix } = entry.availability {
        return Ok(CellResult::bare(
            cell.clone(),
            CellStatus::Unavailable {
                reason: format!("{reason} (fix: {fix})"),
            },
        ));
    }
    let module = modules.get(&cell.workload).with_context(|| {
        format!(
            "no {} module was built for workload `{}`",
            cell.language, cell.workload
        )
    })?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;

    let dapr_ports = SidecarPorts::allocate()?;
    let host_port = net::free_ports(1)?[0];
    let launch = HostLaunch {
        program: ctx.host_program.clone(),
        leading_args: vec!["host".into(), "--runtime".into(), cell.runtime.clone()],
        modules: vec![(cell.workload.clone(), module.clone())],
        dapr_grpc_port: Some(dapr_ports.grpc),
        port: host_port,
        ready_timeout: Duration::from_secs(120),
    };
    let host = AppHost::start(&launch, dir, "host.log").await?;
    let mut spec = SidecarSpec::new(APP_ID, Some(host_port))?;
    spec.ports = dapr_ports;
    spec.state_store = plan.dapr.state_store;
    let sidecar = Sidecar::start(&ctx.daprd, &spec, dir).await?;

    let body = request_body(ctx, plan, &cell.workload)?;
    let target = Target::new(
        &sidecar.invoke_url(&cell.workload),
        Method::POST,
        Bytes::from(body),
    )?;
    let load_spec = LoadSpec {
        connections: plan.load.connections,
        warmup: plan.load.warmup,
        duration: plan.load.duration,
        max_requests: plan.load.max_requests,
        timeout: plan.load.timeout,
    };
    let report = load::run(&target, &load_spec).await?;
    let module_info = host.info.modules.get(&cell.workload);
    let result = CellResult {
        id: cell.clone(),
        status: CellStatus::Ok,
        runtime: Some(host.info.runtime.clone()),
        module_size_bytes: module_info.map(|m| m.size_bytes),
        compile_ns: module_info.map(|m| m.compile_ns),
        sidecar_startup_ms: Some(sidecar.startup.as_secs_f64() * 1e3),
        load: Some(LoadSummary::from_report(&report)?),
    };
    sidecar.stop();
    host.stop();
    Ok(result)
}
