//! Runs a [`Plan`]: every (cell, trial) pair in a shuffled order, each with
//! a fresh app host and a fresh daprd, warm-up, and a measured window with
//! meters on every process. A failing trial marks its cell failed and the run
//! goes on; the results file is rewritten (atomically) after every trial, so
//! an interrupted run keeps what it measured.
//!
//! Order is shuffled with a recorded seed so slow drift of the machine
//! (thermal, other tenants) does not line up with one runtime or mode.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use blueprint_runtime_api::RuntimeInfo;
use bytes::Bytes;
use rand::SeedableRng;
use rand::seq::SliceRandom;

use crate::daprd::Daprd;
use crate::meter::{MachineLoad, ProcMeter, ProcessUsage};
use crate::progress;
use crate::scenario::{CellId, Plan};
use blueprint_analysis::adaptive::{self, Stop};
use blueprint_analysis::modes::Mode;
use blueprint_analysis::results::{
    CellResult, CellStatus, CellSummary, ColdStartStep, LoadSummary, Phases, PubsubFigures, RunResults,
    SCHEMA_VERSION, ScenarioRecord, StepCpu, SweepPoint, TrialResult,
};
use blueprint_analysis::settings::Trials;
use blueprint_analysis::sweep::{self, RatePoint};
use blueprint_host::server::HostStats;
use blueprint_host::table as runtimes;
use blueprint_load::{self as load, LoadSpec, Target};

use crate::blueprint::{self, RunContext};
use crate::{dapr_metrics, environment, workloads};

/// Runs every cell of `plan`, writing `results_path` after each trial.
///
/// # Errors
/// Only failures that stop the whole run: writing results.
pub async fn run(
    ctx: &RunContext,
    plan: &Plan,
    catalog: &workloads::Catalog,
    results_path: &Path,
) -> Result<RunResults> {
    let side = Side {
        ctx,
        catalog,
        results_path,
    };
    let mut results = run_sides(plan, &[side]).await?;
    Ok(results.remove(0))
}

/// One side of a run: what it runs (daprd, host binary, guests, the app's
/// environment) and where its results go.
pub struct Side<'a> {
    /// Where the side runs from.
    pub ctx: &'a RunContext,
    /// Its guests.
    pub catalog: &'a workloads::Catalog,
    /// Its results file.
    pub results_path: &'a Path,
}

/// The order of a run's first `trials` trials as (cell, trial, side). One
/// side: every (cell, trial) pair shuffled. Two sides (same-run A/B): the
/// (cell, pair) pairs shuffled, each pair's two trials back to back, the
/// side that goes first alternating from pair to pair (AB, BA, AB, …) so
/// neither side is always the one that runs right after another cell.
fn trial_order(cells: usize, trials: usize, sides: usize, seed: u64) -> Vec<(usize, usize, usize)> {
    let pairs: Vec<(usize, usize)> = (0..cells)
        .flat_map(|c| (0..trials).map(move |t| (c, t)))
        .collect();
    interleave(pairs, sides, seed)
}

/// One round of adaptive trials: trial `trial` of each of `cells`, in the
/// same interleaving as [`trial_order`].
fn round_order(cells: &[usize], trial: usize, sides: usize, seed: u64) -> Vec<(usize, usize, usize)> {
    interleave(cells.iter().map(|&c| (c, trial)).collect(), sides, seed)
}

/// `pairs` shuffled by `seed`, each expanded to its sides (see [`trial_order`]).
fn interleave(mut pairs: Vec<(usize, usize)>, sides: usize, seed: u64) -> Vec<(usize, usize, usize)> {
    pairs.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    pairs
        .into_iter()
        .flat_map(|(cell, trial)| {
            (0..sides).map(move |i| {
                let side = if trial % 2 == 0 { i } else { sides - 1 - i };
                (cell, trial, side)
            })
        })
        .collect()
}

/// Runs every cell of `plan` on every side, interleaved by
/// [`trial_order`], writing each side's results after each of its trials.
///
/// # Errors
/// Only failures that stop the whole run: writing results.
pub async fn run_sides(plan: &Plan, sides: &[Side<'_>]) -> Result<Vec<RunResults>> {
    let started = chrono::Utc::now();
    let seed = plan.meta.seed.unwrap_or_else(rand::random);
    // `[load] pin`: one split for the whole run, recorded with the machine.
    let pinning = match plan.load.pin {
        true => match crate::pinning::split_here() {
            Ok(split) => Some(split),
            Err(e) => {
                tracing::warn!("{e:#}: the run goes on without pinning, and its results say so");
                None
            }
        },
        false => None,
    };
    let contexts: Vec<RunContext> = sides
        .iter()
        .map(|side| RunContext {
            pinning: pinning.clone(),
            ..side.ctx.clone()
        })
        .collect();
    let mut meta = plan.meta.clone();
    meta.seed = Some(seed);
    let mut all: Vec<RunResults> = sides
        .iter()
        .map(|side| {
            let ctx = side.ctx;
            let mut environment = environment::fingerprint(&ctx.project);
            environment.daprd = Some(ctx.daprd.clone());
            for entry in runtimes::entries() {
                if let Some(version) = entry.version {
                    environment.runtimes.insert(entry.name.to_owned(), version);
                }
            }
            environment.child_environment = crate::process::child_environment().into_iter().collect();
            environment.app_environment = ctx.app_env.iter().cloned().collect();
            environment.pinning.clone_from(&pinning);
            RunResults {
                schema_version: SCHEMA_VERSION,
                started_at: started.to_rfc3339(),
                environment,
                scenario: ScenarioRecord {
                    path: plan.path.display().to_string(),
                    meta: meta.clone(),
                    load: plan.load.clone(),
                    dapr: plan.dapr.clone(),
                    rotation: plan.rotation.clone(),
                },
                cells: plan
                    .cells
                    .iter()
                    .map(|id| CellResult::bare(id.clone(), CellStatus::Pending))
                    .collect(),
                completed: false,
            }
        })
        .collect();

    let trials = plan.load.trials;
    let mut order = trial_order(plan.cells.len(), trials.min, sides.len(), seed);
    let run_start = Instant::now();

    // On disk from the start: an interrupted run leaves a file that says so.
    for (side, results) in sides.iter().zip(&all) {
        blueprint_analysis::results::write_atomic(side.results_path, results)?;
    }
    let mut save_failed = vec![false; sides.len()];
    let mut timings = crate::timings::Timings::default();
    let bar = progress::bar(order.len() as u64, format!("running {}", plan.meta.name));
    let mut position = 0;
    // The steps known so far, kept here too: a hidden bar (a log, not a
    // terminal) has no length to ask.
    let mut steps = order.len();
    let mut round = 0;
    loop {
        for &(index, trial, s) in &order {
            position += 1;
            let Side {
                catalog,
                results_path,
                ..
            } = sides[s];
            let ctx = &contexts[s];
            let cell = &plan.cells[index];
            let results = &mut all[s];
            let result = &mut results.cells[index];
            if !matches!(result.status, CellStatus::Ok | CellStatus::Pending) {
                bar.inc(1);
                continue; // an earlier trial already failed or ruled the cell out
            }
            let side_name = match sides.len() {
                1 => String::new(),
                _ => format!(
                    " ({})",
                    ["baseline", "candidate"].get(s).copied().unwrap_or("side")
                ),
            };
            progress::step(
                &bar,
                format!("{position}/{steps}: {cell} trial {}{side_name}", trial + 1),
            );
            let trial_start = Instant::now();
            // A trial the machine's other work disturbed is run again, up to
            // `rerun_contended` times and while the budget has room for it;
            // the attempts set aside are recorded. Only a trial that passed
            // is run again: a failure is never run away.
            let mut contended_attempts = Vec::new();
            let mut set_aside: Option<Box<Measured>> = None;
            let outcome = loop {
                let dir = match contended_attempts.len() {
                    0 => ctx.work_dir.join(format!("cell-{index:03}-trial-{trial}")),
                    n => ctx
                        .work_dir
                        .join(format!("cell-{index:03}-trial-{trial}-rerun-{n}")),
                };
                let outcome = run_trial(ctx, plan, cell, catalog, &dir).await;
                if let Ok(TrialOutcome::Measured(measured)) = &outcome
                    && let Some(machine) = measured.trial.machine.filter(MachineLoad::contended)
                    && error_verdict(&measured.trial.load, plan.load.max_error_rate).is_none()
                    && contended_attempts.len() < plan.load.rerun_contended
                    && plan
                        .meta
                        .budget
                        .is_none_or(|b| run_start.elapsed() + crate::preflight::trial_estimate(plan) <= b)
                {
                    tracing::warn!(
                        "{cell} trial {}{side_name}: the machine was {:.0} % busy outside it; running it again ({} of at most {})",
                        trial + 1,
                        machine.noise() * 100.0,
                        contended_attempts.len() + 1,
                        plan.load.rerun_contended
                    );
                    contended_attempts.push(machine);
                    if let Ok(TrialOutcome::Measured(measured)) = outcome {
                        set_aside = Some(measured);
                    }
                    continue;
                }
                break outcome;
            };
            match outcome {
                Ok(TrialOutcome::Measured(measured)) => {
                    if let Some(m) = measured.trial.machine.filter(MachineLoad::contended) {
                        tracing::warn!(
                            "{cell} trial {}{side_name}: the machine was {:.0} % busy outside it; the trial is kept and flagged",
                            trial + 1,
                            m.noise() * 100.0
                        );
                    }
                    timings.record(&plan.load, cell, trial_start.elapsed());
                    // Errors fail the cell (a failing system is never fast); the
                    // trial's figures stay in the file as evidence.
                    result.status = match error_verdict(&measured.trial.load, plan.load.max_error_rate) {
                        Some(error) => CellStatus::Failed {
                            error: format!("trial {trial}: {error}"),
                        },
                        None => CellStatus::Ok,
                    };
                    keep_measured(result, *measured, (trial, position - 1), contended_attempts, seed);
                }
                Ok(TrialOutcome::Skipped(status)) => result.status = status,
                Err(err) => {
                    tracing::warn!("{cell} trial {trial}{side_name} failed: {err:#}");
                    // A re-run that failed fails the cell, and the attempt it
                    // was to replace stays in the file: nothing measured is lost.
                    let rerun = match set_aside {
                        Some(measured) => {
                            contended_attempts.pop();
                            keep_measured(result, *measured, (trial, position - 1), contended_attempts, seed);
                            " (its re-run after a busy machine)"
                        }
                        None => "",
                    };
                    result.status = CellStatus::Failed {
                        error: format!("trial {trial}{rerun}: {err:#}"),
                    };
                }
            }
            save_or_warn(results_path, results, &mut save_failed[s]);
            bar.inc(1);
        }
        // Adaptive trials: one more round for the cells whose intervals are
        // still wide, while the budget has room for it.
        let open = cells_needing_more(&all, &trials);
        if open.is_empty() {
            break;
        }
        round += 1;
        let next_round = crate::preflight::trial_estimate(plan) * (open.len() * sides.len()) as u32;
        if let Some(budget) = plan.meta.budget
            && run_start.elapsed() + next_round > budget
        {
            tracing::info!(
                "{} cell(s) would take another round of trials (~{}s), but the budget of {}s would be over: stopping",
                open.len(),
                next_round.as_secs(),
                budget.as_secs()
            );
            for results in &mut all {
                for &c in &open {
                    let cell = &mut results.cells[c];
                    cell.stopped = Some(Stop::Budget {
                        widest: cell.summary.as_ref().and_then(adaptive::widest),
                    });
                }
            }
            break;
        }
        order = round_order(
            &open,
            trials.min + round - 1,
            sides.len(),
            seed.wrapping_add(round as u64),
        );
        bar.inc_length(order.len() as u64);
        steps += order.len();
    }
    bar.finish_and_clear();
    if let Some(side) = sides.first()
        && let Err(err) = timings.save(&side.ctx.cache)
    {
        tracing::warn!("keeping this run's trial times for the next estimate: {err:#}");
    }
    for results in &mut all {
        for cell in &mut results.cells {
            if cell.status == CellStatus::Ok && cell.stopped.is_none() {
                cell.stopped = adaptive::stop(&trials, cell.trials.len(), cell.summary.as_ref());
            }
        }
    }
    for (side, results) in sides.iter().zip(all.iter_mut()) {
        results.mark_completed();
        save_or_fall_back(side.results_path, results)?;
    }
    Ok(all)
}

/// Puts a measured trial into its cell as trial `trial` at `order` in the
/// run, after the `contended_attempts` set aside for it: the module it ran
/// and the cell's summary follow it.
/// A cold start step by step: the app host's readiness probes, daprd's,
/// then its end (`end`, at `cold_start`). A probe counts from its own
/// process's spawn.
fn cold_start_steps(system: &blueprint::System, end: String, cold_start: Duration) -> Vec<ColdStartStep> {
    let step = |process: &str, probe: &crate::sidecar::Probe| ColdStartStep {
        what: format!("{process}: {}", probe.what),
        after_ms: probe.after.as_secs_f64() * 1e3,
    };
    let app = system
        .host
        .iter()
        .flat_map(|h| h.readiness.iter().map(|p| step("app", p)));
    let daprd = system.sidecar.readiness.iter().map(|p| step("daprd", p));
    app.chain(daprd)
        .chain([ColdStartStep {
            what: end,
            after_ms: cold_start.as_secs_f64() * 1e3,
        }])
        .collect()
}

fn keep_measured(
    result: &mut CellResult,
    measured: Measured,
    (trial, order): (usize, usize),
    contended_attempts: Vec<MachineLoad>,
    seed: u64,
) {
    result.runtime = Some(measured.runtime);
    result.module_size_bytes = measured.module_size_bytes;
    result.module_sha256 = measured.module_sha256;
    result.trials.push(TrialResult {
        trial,
        order,
        contended_attempts,
        ..measured.trial
    });
    result.summary = CellSummary::of(&result.trials, seed);
}

/// The cells that need another trial on some side (adaptive trials): still
/// healthy on every side, and not done by [`adaptive::stop`] on one.
fn cells_needing_more(all: &[RunResults], trials: &Trials) -> Vec<usize> {
    let Some(first) = all.first() else {
        return Vec::new();
    };
    (0..first.cells.len())
        .filter(|&c| {
            let cells = all.iter().map(|r| &r.cells[c]);
            cells.clone().all(|cell| cell.status == CellStatus::Ok)
                && cells
                    .into_iter()
                    .any(|cell| adaptive::stop(trials, cell.trials.len(), cell.summary.as_ref()).is_none())
        })
        .collect()
}

/// Rewrites the results after a trial. A write that fails (a full disk, a
/// folder that went away) does not stop the run: the figures stay in memory
/// and the next trial's write tries again. Warns once per run of failures.
fn save_or_warn(path: &Path, results: &RunResults, failed: &mut bool) {
    match blueprint_analysis::results::write_atomic(path, results) {
        Ok(()) => *failed = false,
        Err(err) if !*failed => {
            *failed = true;
            tracing::warn!(
                "{err:#}; the run goes on with its results in memory and tries again after each trial"
            );
        }
        Err(_) => {}
    }
}

/// The run's last write; if `path` cannot be written, the results go to the
/// temporary folder instead and the error names both files, so that nothing
/// measured is lost.
fn save_or_fall_back(path: &Path, results: &RunResults) -> Result<()> {
    let Err(err) = blueprint_analysis::results::write_atomic(path, results) else {
        return Ok(());
    };
    let name = path
        .file_name()
        .map_or("results.json".into(), |n| n.to_string_lossy());
    let fallback = std::env::temp_dir().join(format!("blueprint-bench-{}-{name}", std::process::id()));
    blueprint_analysis::results::write_atomic(&fallback, results)
        .with_context(|| format!("{err:#}; and the fallback {} failed too", fallback.display()))?;
    bail!(
        "{err:#}: the results of this run are in {} instead",
        fallback.display()
    )
}

/// Why a measured window fails its cell: an error rate above `max_rate`,
/// with the kinds that made it up.
fn error_verdict(load: &LoadSummary, max_rate: f64) -> Option<String> {
    if load.errors_total == 0 || load.error_rate <= max_rate {
        return None;
    }
    let kinds: Vec<String> = load.errors.iter().map(|(k, n)| format!("{n} × {k}")).collect();
    let examples: String = load
        .error_examples
        .iter()
        .map(|(k, body)| format!("; the first {k} said: {:?}", body.trim()))
        .collect();
    Some(format!(
        "error rate {:.2} % ({} of {} requests: {}) is above the {:.2} % allowed ([load] max_error_rate){examples}",
        load.error_rate * 100.0,
        load.errors_total,
        load.requests,
        kinds.join(", "),
        max_rate * 100.0
    ))
}

/// The request body for a workload: the scenario's, else the first golden
/// vector that is expected to succeed (a custom workload's own vectors).
fn request_body(ctx: &RunContext, plan: &Plan, workload: &str) -> Result<Vec<u8>> {
    if let Some(body) = plan.inputs.get(workload) {
        return Ok(body.clone());
    }
    let vectors = match plan.custom.get(workload) {
        Some(custom) => custom.vectors.clone().with_context(|| {
            format!("custom workload `{workload}` has neither vectors nor [inputs.{workload}]")
        })?,
        None => workloads::load_vectors(&ctx.project, workload)?,
    };
    for case in &vectors.cases {
        if matches!(case.expected()?, workloads::Expected::Output(_)) {
            return case.input_bytes();
        }
    }
    bail!("workload `{workload}` has no succeeding vector to use as input; set [inputs.{workload}]")
}

/// What a measured window produced: the load engine's report, or a pub/sub
/// cell's events.
enum Window {
    Requests(Box<load::LoadReport>),
    Events(Box<(PubsubFigures, LoadSummary)>),
}

enum TrialOutcome {
    Measured(Box<Measured>),
    /// The cell cannot run here (unavailable runtime, n/a mode).
    Skipped(CellStatus),
}

struct Measured {
    runtime: blueprint_runtime_api::RuntimeInfo,
    module_size_bytes: Option<u64>,
    module_sha256: Option<String>,
    trial: TrialResult,
}

/// The host's `GET /stats`, when there is a host and it answers.
async fn host_stats(host: Option<&crate::app::AppHost>) -> Option<HostStats> {
    let host = host.filter(|h| h.control_routes)?;
    let reply = host
        .client()
        .get(
            &format!("http://127.0.0.1:{}/stats", host.port),
            Duration::from_secs(5),
        )
        .await
        .ok()?;
    serde_json::from_slice(&reply.body).ok()
}

async fn run_trial(
    ctx: &RunContext,
    plan: &Plan,
    cell: &CellId,
    catalog: &workloads::Catalog,
    dir: &Path,
) -> Result<TrialOutcome> {
    let resolved = match blueprint::resolve(&ctx.project, cell, catalog)? {
        Ok(resolved) => resolved,
        Err(status) => return Ok(TrialOutcome::Skipped(status)),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let body = Bytes::from(request_body(ctx, plan, &cell.workload)?);

    // A Go host built on first use (a fresh checkout, changed sources) takes
    // seconds: that is a build, not this trial's cold start.
    if resolved.mode.has_workload_host() && resolved.mode != Mode::Native {
        crate::app::host_command(&cell.runtime, &ctx.host_program, &ctx.project, &ctx.cache)?;
    }
    // Cold start: spawn every process, then the first successful response.
    let cold = Instant::now();
    let system = blueprint::start(ctx, &plan.dapr, cell, &resolved, body, dir).await?;
    // Everything is up and nothing has been sent yet.
    let host_idle_rss_bytes = system.app_pid().and_then(crate::meter::rss_bytes);
    // A pub/sub cell is driven by events, counted by id on both sides.
    let mut events = match resolved.trigger {
        trigger if trigger.delivers_events() => Some(crate::pubsub::Driver::new(
            &system,
            trigger,
            &cell.workload,
            resolved.store,
            &plan.dapr,
        )?),
        _ => None,
    };
    let end = match &mut events {
        Some(events) => {
            events.cold_start(Duration::from_secs(30)).await?;
            "first delivery".to_owned()
        }
        None => {
            let attempts =
                blueprint::first_success(&system.target, system.http2, Duration::from_secs(30)).await?;
            format!("first success, {attempts} attempt(s)")
        }
    };
    let cold_start = cold.elapsed();
    let cold_start_steps = cold_start_steps(&system, end, cold_start);
    tracing::debug!(%cell, ?cold_start, steps = ?cold_start_steps, "cold start: what the readiness waits saw");
    // Only the built-in guests promise the mark; a custom middleware's effect
    // is its own.
    if matches!(resolved.mode, Mode::Middleware | Mode::MiddlewareHttpPipeline)
        && !catalog.custom.contains_key(&cell.workload)
    {
        check_middleware_ran(&system, &cell.workload).await?;
    }

    // Warm-up, then the measured window with meters around it. The load
    // engine measures its own window; the meters bracket warm-up-free time
    // by starting when the warm-up is over.
    let target = &system.target;
    let load_cpus: &[usize] = ctx.pinning.as_ref().map_or(&[], |p| &p.load);
    let drive = Drive {
        target,
        http2: system.http2,
        cpus: load_cpus,
    };
    if !plan.load.warmup.is_zero() {
        match &mut events {
            Some(events) => events.warm_up(plan).await.context("warm-up")?,
            None => {
                let warm = LoadSpec {
                    connections: plan.load.connections,
                    duration: plan.load.warmup,
                    timeout: plan.load.timeout,
                    http2: system.http2,
                    cpus: load_cpus.to_vec(),
                    ..LoadSpec::default()
                };
                load::run(target, &warm).await.context("warm-up")?;
            }
        }
    }
    let host_port = system.host.as_ref();
    let metrics_before = dapr_metrics::scrape(system.sidecar.metrics_port)
        .await
        .unwrap_or_default();
    let stats_before = host_stats(host_port).await;
    let mut metered = vec![(LOAD_GENERATOR, std::process::id())];
    metered.extend(system.processes());
    let meter = ProcMeter::start(&metered);
    let spec = LoadSpec {
        connections: plan.load.connections,
        duration: plan.load.duration,
        max_requests: plan.load.max_requests,
        timeout: plan.load.timeout,
        http2: system.http2,
        cpus: load_cpus.to_vec(),
        ..LoadSpec::default()
    };
    let window = match &mut events {
        Some(events) => Window::Events(Box::new(events.measure(plan).await?)),
        None => Window::Requests(Box::new(load::run(target, &spec).await?)),
    };
    let (_, mut processes, machine) = meter.stop();
    if !load_cpus.is_empty()
        && let Some(generator) = processes.iter_mut().find(|p| p.role == LOAD_GENERATOR)
    {
        // The harness's own threads are not pinned, its load threads are
        // (they fail the run if the kernel refuses): theirs is the set.
        generator.cpus_allowed = Some(blueprint_load::affinity::cpu_list(load_cpus));
    }
    let (load, pubsub) = match window {
        Window::Requests(report) => {
            generator_cpu_from_its_threads(&mut processes, &report);
            (LoadSummary::from_report(&report)?, None)
        }
        Window::Events(measured) => {
            let (pubsub, load) = *measured;
            (load, Some(pubsub))
        }
    };
    ensure_running(&system, "the warm-up or the measured window", dir)?;
    let stats_after = host_stats(host_port).await;
    let metrics_after = dapr_metrics::scrape(system.sidecar.metrics_port)
        .await
        .unwrap_or_default();
    let sweep_start = Instant::now();
    // A pub/sub cell runs at its one rate (`[dapr] pubsub_rate`): the sweep
    // drives requests, not events.
    let (sweep, knee_rps, knee_limit) = match events {
        Some(_) => (Vec::new(), None, None),
        None => sweep_rates(plan, drive, &metered).await?,
    };
    let sweep_s = (!sweep.is_empty()).then(|| sweep_start.elapsed().as_secs_f64());
    // Without a sweep there is no knee, so nothing ended one.
    let knee_limit = knee_limit.filter(|_| !sweep.is_empty());
    ensure_running(&system, "the rate sweep", dir)?;

    let sut_cpu = sut_cpu_s(&processes);
    let module_stats =
        |s: &Option<HostStats>| s.as_ref().and_then(|s| s.modules.get(&cell.workload).copied());
    let phases = match (module_stats(&stats_before), module_stats(&stats_after)) {
        (Some(b), Some(a)) if a.requests > b.requests => {
            let n = (a.requests - b.requests) as f64;
            Some(Phases {
                instantiate_us: (a.instantiate_ns_total - b.instantiate_ns_total) as f64 / n / 1e3,
                call_us: (a.call_ns_total - b.call_ns_total) as f64 / n / 1e3,
                first_call_us: a.first_call_ns as f64 / 1e3,
                instances_created: a.instances_created - b.instances_created,
                instances_reused: a.instances_reused - b.instances_reused,
            })
        }
        _ => None,
    };
    let cache = |s: &Option<HostStats>| s.as_ref().and_then(|s| s.state_cache);
    let cache_hit_ratio = match (cache(&stats_before), cache(&stats_after)) {
        (Some(b), Some(a)) => {
            let (hits, misses) = (a.hits - b.hits, a.misses - b.misses);
            (hits + misses > 0).then(|| hits as f64 / (hits + misses) as f64)
        }
        _ => None,
    };
    let module_info = system
        .host
        .as_ref()
        .and_then(|h| h.info.modules.get(&cell.workload));
    let module_size_bytes = match (module_info, &resolved.module) {
        (Some(info), _) => Some(info.size_bytes),
        (None, Some(path)) => std::fs::metadata(path).ok().map(|m| m.len()),
        (None, None) => None,
    };
    let trial = TrialResult {
        trial: 0,
        order: 0,
        compile_ns: module_info.map(|m| m.compile_ns),
        host_startup_ms: system.app_startup.as_secs_f64() * 1e3,
        sidecar_startup_ms: system.sidecar.startup.as_secs_f64() * 1e3,
        host_idle_rss_bytes,
        cold_start_ms: cold_start.as_secs_f64() * 1e3,
        cold_start_steps,
        cpu_per_request_us: cpu_per_success_us(&processes, load.successes),
        requests_per_cpu_s: (sut_cpu > 0.0).then(|| load.successes as f64 / sut_cpu),
        load,
        processes,
        phases,
        dapr_metrics: dapr_metrics::delta(&metrics_before, &metrics_after),
        sweep,
        knee_rps,
        knee_limit,
        sweep_s,
        cache_hit_ratio,
        machine,
        contended_attempts: Vec::new(),
        pubsub,
    };
    let measured = Measured {
        runtime: runtime_info(&system, cell, &ctx.daprd),
        module_size_bytes,
        module_sha256: resolved.module.as_deref().and_then(crate::workloads::file_sha256),
        trial,
    };
    system.stop();
    Ok(TrialOutcome::Measured(Box::new(measured)))
}

/// Fails the trial when a process of the system died during `phase`: what
/// the load measured then was a broken system, whatever its error count.
fn ensure_running(system: &blueprint::System, phase: &str, dir: &Path) -> Result<()> {
    let gone = system.gone();
    if gone.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = gone
        .iter()
        .map(|(role, pid)| format!("{role} (pid {pid})"))
        .collect();
    bail!(
        "{} exited during {phase}; its log is in {}",
        names.join(" and "),
        dir.display()
    )
}

/// The role of this process (it runs the load) among the metered ones.
const LOAD_GENERATOR: &str = "load-generator";

/// The load generator's CPU as its load threads measured it themselves:
/// they exit at the end of a run and take their time out of `/proc` with
/// them, so the meter's view of this process misses most of it (and can
/// read 0).
fn generator_cpu_from_its_threads(processes: &mut [ProcessUsage], report: &load::LoadReport) {
    if let Some(cpu) = report.generator.cpu
        && let Some(p) = processes.iter_mut().find(|p| p.role == LOAD_GENERATOR)
    {
        p.cpu_s = p.cpu_s.max(cpu.as_secs_f64());
    }
}

/// CPU seconds of the system under test: every metered process but the
/// load generator.
fn sut_cpu_s(processes: &[ProcessUsage]) -> f64 {
    processes
        .iter()
        .filter(|p| p.role != LOAD_GENERATOR)
        .map(|p| p.cpu_s)
        .sum()
}

/// CPU µs of the system under test per successful request: failures are
/// not the work being costed. `None` without a success.
fn cpu_per_success_us(processes: &[ProcessUsage], successes: u64) -> Option<f64> {
    (successes > 0).then(|| sut_cpu_s(processes) / successes as f64 * 1e6)
}

/// What ran the guest: the host's own report, daprd's wazero for the modes
/// inside daprd, nothing for the baseline.
fn runtime_info(system: &blueprint::System, cell: &CellId, daprd: &Daprd) -> RuntimeInfo {
    match &system.host {
        Some(host) => host.info.runtime.clone(),
        None => RuntimeInfo {
            name: cell.runtime.clone(),
            version: format!("daprd {}", daprd.version),
            engine: if cell.runtime == blueprint_analysis::modes::NONE {
                "no wasm".into()
            } else {
                "wazero inside daprd (components-contrib)".into()
            },
        },
    }
}

/// A middleware cell must measure the middleware: the echo app's answer
/// carries the mark the guest sets, or the pipeline did not run it.
async fn check_middleware_ran(system: &blueprint::System, workload: &str) -> Result<()> {
    let reply = blueprint::control_client_for(&system.target)
        .send_chunked(
            &system.target.uri.to_string(),
            system.target.body.clone(),
            Duration::from_secs(10),
        )
        .await?;
    match reply.headers.get(crate::echo::MARK_HEADER) {
        Some(mark) if mark.as_bytes() == workload.as_bytes() => Ok(()),
        other => bail!(
            "the middleware did not run: the echo app's answer has {}: {other:?} (expected `{workload}`); \
             daprd log:\n{}",
            crate::echo::MARK_HEADER,
            system.sidecar.log_tail(15)
        ),
    }
}

/// Runs the scenario's open-loop rates (or ramp) against `target` and finds
/// the knee by [`sweep::assess`]. Each step has a fresh Poisson seed and
/// lasts [`sweep::step_duration`]; a rate whose first step fails is
/// retested (2 of 3 pass it). A ramp stops at the first rate that fails or
/// where the generator fell behind, retests any rate the final floor left
/// undecided, then bisects between its knee and that failing rate down to
/// its `refine` ([`sweep::next_bisection_rate`]).
///
/// Each step's `metered` processes are metered over exactly its measured
/// window: its warm-up runs before, as a load of its own at the same rate.
/// Returns the steps, the knee and what ended the passing run.
async fn sweep_rates(
    plan: &Plan,
    drive: Drive<'_>,
    metered: &[(&str, u32)],
) -> Result<(Vec<SweepPoint>, Option<f64>, Option<sweep::KneeLimit>)> {
    let (rates, stop_at_knee) = match &plan.load.ramp {
        Some(ramp) => (ramp.rates(), true),
        None => (plan.load.rates.clone(), false),
    };
    let factor = plan.load.knee_factor;
    let mut points: Vec<SweepPoint> = Vec::new();
    let judged = |points: &[SweepPoint]| assess(points, factor);
    for rate in rates {
        sweep_rate(plan, drive, metered, rate, false, &mut points).await?;
        if stop_at_knee && judged(&points).outcome(rate) != Some(sweep::Verdict::Pass) {
            break;
        }
    }
    // Each rate has at most `MAX_ATTEMPTS` steps, so this ends.
    while let Some(rate) = sweep::undecided_rate(&judged(&points)) {
        let before = points.len();
        sweep_rate(plan, drive, metered, rate, false, &mut points).await?;
        if points.len() == before {
            break;
        }
    }
    if let Some(ramp) = &plan.load.ramp {
        let refine = ramp.refine.unwrap_or(0.0);
        for _ in 0..sweep::MAX_BISECTIONS {
            let Some(rate) = sweep::next_bisection_rate(&judged(&points), refine) else {
                break;
            };
            sweep_rate(plan, drive, metered, rate, true, &mut points).await?;
        }
    }
    let assessment = judged(&points);
    for p in &mut points {
        p.within_knee = sweep::judge(&p.point, assessment.floor_p99_us, factor) == sweep::Verdict::Pass;
    }
    Ok((points, assessment.knee_rps, assessment.limit))
}

/// Where and how the load generator drives the system under test.
#[derive(Debug, Clone, Copy)]
struct Drive<'a> {
    target: &'a Target,
    http2: bool,
    /// The load threads' CPUs (`[load] pin`); empty for any.
    cpus: &'a [usize],
}

/// A sweep's steps judged so far ([`sweep::assess`] on their points).
fn assess(points: &[SweepPoint], factor: f64) -> sweep::Assessment {
    sweep::assess(&points.iter().map(|p| p.point).collect::<Vec<_>>(), factor)
}

/// The steps of one rate: the first (unless it has steps already), and
/// retests until [`sweep::rate_outcome`] decides it or it has
/// [`sweep::MAX_ATTEMPTS`], each pushed to `points`.
async fn sweep_rate(
    plan: &Plan,
    drive: Drive<'_>,
    metered: &[(&str, u32)],
    rate: f64,
    bisection: bool,
    points: &mut Vec<SweepPoint>,
) -> Result<()> {
    let factor = plan.load.knee_factor;
    let done = points
        .iter()
        .filter(|p| (p.point.target_rps - rate).abs() < 1e-9)
        .count();
    for attempt in done..sweep::MAX_ATTEMPTS {
        let seed: u64 = rand::random();
        let mut spec = LoadSpec {
            timeout: plan.load.timeout,
            http2: drive.http2,
            cpus: drive.cpus.to_vec(),
            ..LoadSpec::open(
                rate,
                plan.load.arrival,
                plan.load.open_connections,
                sweep::step_duration(rate, plan.load.duration),
            )
        };
        if let load::Mode::Open { seed: s, .. } = &mut spec.mode {
            *s = seed;
        }
        let warmup = plan.load.warmup.min(Duration::from_secs(1));
        if !warmup.is_zero() {
            let warm = LoadSpec {
                duration: warmup,
                ..spec.clone()
            };
            load::run(drive.target, &warm)
                .await
                .with_context(|| format!("warm-up of the open loop at {rate} req/s"))?;
        }
        let meter = ProcMeter::start(metered);
        let report = load::run(drive.target, &spec)
            .await
            .with_context(|| format!("open loop at {rate} req/s (seed {seed})"))?;
        let (_, mut processes, _) = meter.stop();
        generator_cpu_from_its_threads(&mut processes, &report);
        let load = LoadSummary::from_report(&report)?;
        let point = RatePoint::of(rate, attempt as u32, &load);
        points.push(SweepPoint {
            point,
            within_knee: false,
            cpu: Some(StepCpu {
                per_success_us: cpu_per_success_us(&processes, load.successes),
                processes,
            }),
            load,
            bisection,
        });
        if assess(points, factor).outcome(rate).is_some() {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::trial_order;

    #[test]
    fn one_side_runs_every_trial_once() {
        let mut order = trial_order(3, 4, 1, 7);
        assert!(order.iter().all(|&(_, _, side)| side == 0));
        order.sort_unstable();
        let every: Vec<_> = (0..3).flat_map(|c| (0..4).map(move |t| (c, t, 0))).collect();
        assert_eq!(order, every);
    }

    #[test]
    fn two_sides_run_each_pair_back_to_back_in_alternating_order() {
        let order = trial_order(3, 6, 2, 7);
        assert_eq!(order.len(), 3 * 6 * 2);
        for pair in order.chunks(2) {
            let [(c0, t0, s0), (c1, t1, s1)] = [pair[0], pair[1]];
            assert_eq!((c0, t0), (c1, t1), "a pair's trials are adjacent");
            // AB on even pairs, BA on odd ones.
            assert_eq!((s0, s1), if t0 % 2 == 0 { (0, 1) } else { (1, 0) });
        }
        // Each side goes first in half of a cell's pairs.
        let firsts = order.chunks(2).filter(|p| p[0].0 == 0 && p[0].2 == 0).count();
        assert_eq!(firsts, 3);
    }
}
