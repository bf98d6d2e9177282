//! `blueprint-bench decide`: "which blueprint for my workload at this
//! rate?", answered by measuring what the answer needs and nothing else.
//!
//! 1. The candidates: every Wasm blueprint (mode) that can do what the
//!    workload needs (the mode table's `reaches_dapr`, and for a scenario's
//!    own workload the modules it gives), on the runtimes and languages
//!    asked for; the others are excluded before anything runs.
//! 2. What earlier runs already measured at the rate (cells with open-loop
//!    steps at R and 1.5 R) is reused ([`reuse`]: `--from` files, or the
//!    newest comparable runs of this machine and revision); only the
//!    missing trials are planned.
//!    The plan and its estimate are printed first; a plan over `--budget`
//!    is refused.
//! 3. Measuring goes in rounds of generated scenarios (kept in the output
//!    folder, so every figure can be re-run with `run`): one trial of each
//!    new candidate, after which a candidate whose closed-loop capacity is
//!    under half the rate, or whose p99 at the rate is over three times the
//!    budget, is dropped (and says so); the rest of the trials for the
//!    others; then one more trial per round for candidates whose p99
//!    interval at the rate still straddles the budget, up to
//!    `--max-trials` or the budget.
//! 4. The answer is `recommend`'s, at the rate, on the merged results,
//!    which are written as one results file that `report` renders.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use blueprint_analysis::modes::{ALL, IN_DAPRD, Mode};
use blueprint_analysis::recommend::{self, DEFAULT_MAX_ERROR_RATE, MIN_TRIALS, Need, Recommendation};
use blueprint_analysis::results::{self, CellResult, CellStatus, CellSummary, RunResults};
use blueprint_analysis::stats;
use serde::Serialize;

use crate::paths;
use crate::workloads::CUSTOM_LANGUAGE;

mod reuse;
mod subject;

use subject::Subject;

/// `decide`.
#[derive(Debug, clap::Args)]
pub struct DecideArgs {
    /// The workload (a built-in one, e.g. `counter`).
    #[arg(
        long,
        required_unless_present = "scenario_workload",
        conflicts_with = "scenario_workload"
    )]
    pub workload: Option<String>,
    /// Your own workload instead: a scenario file and one of its
    /// `[workloads.NAME]` (its modules decide which modes can serve it).
    #[arg(long, value_name = "FILE:NAME")]
    pub scenario_workload: Option<String>,
    /// The rate the blueprint must serve, requests per second.
    #[arg(long)]
    pub rate: f64,
    /// Largest acceptable p99 latency at that rate, e.g. "10ms".
    #[arg(long, value_parser = humantime::parse_duration)]
    pub p99_budget: Duration,
    /// What the workload needs from Dapr (repeatable): modes that cannot do
    /// it are never measured.
    #[arg(long, default_value = "none")]
    pub needs: Vec<Need>,
    /// Guest languages to consider (repeatable; a scenario's own workload
    /// has its one module set, language `custom`).
    #[arg(long = "language", default_values_t = ["rust".to_owned()])]
    pub languages: Vec<String>,
    /// Runtimes to consider for the app-hosted modes (repeatable; default:
    /// every runtime of this build, unavailable ones reported as such).
    #[arg(long = "runtime")]
    pub runtimes: Vec<String>,
    /// Largest acceptable CPU per request, microseconds.
    #[arg(long, value_name = "US_PER_REQ")]
    pub cpu_budget: Option<f64>,
    /// Wall time the measuring may take; a plan over it is refused.
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    pub budget: Duration,
    /// Earlier results whose cells at the same rate are reused (repeatable).
    /// Without it, the newest runs in `--runs` made on this machine by this
    /// revision with the same daprd and load settings are.
    #[arg(long)]
    pub from: Vec<PathBuf>,
    /// Reuse nothing measured earlier.
    #[arg(long, conflicts_with = "from")]
    pub fresh: bool,
    /// Folder of earlier runs to reuse from (default: results/runs/).
    #[arg(long, value_name = "DIR")]
    pub runs: Option<PathBuf>,
    /// Trials behind each verdict (3 is the fewest a ranking accepts).
    #[arg(long, default_value_t = MIN_TRIALS)]
    pub trials: usize,
    /// Most trials for a candidate whose p99 interval straddles the budget.
    #[arg(long, default_value_t = 6)]
    pub max_trials: usize,
    /// Measured window of each load step.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Warm-up before each load step.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// Connections of the load generator.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Output folder (default: results/runs/decide-<workload>-<time>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the plan (as JSON with `--json`) and stop.
    #[arg(long)]
    pub plan: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// A daprd binary to use instead of building one.
    #[arg(long, env = "DAPRD")]
    pub daprd: Option<PathBuf>,
}

/// One candidate cell: mode, runtime (as results name it), language.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
struct Candidate {
    mode: String,
    runtime: String,
    language: String,
}

impl std::fmt::Display for Candidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.mode, self.runtime, self.language)
    }
}

/// What `decide --json` prints.
#[derive(Debug, Serialize)]
struct Decision {
    /// The merged results file.
    results: PathBuf,
    /// Modes excluded before measuring, with why.
    not_candidates: Vec<String>,
    /// How the earlier runs were chosen, or why none were.
    earlier_runs: String,
    /// Cells whose trials came from earlier runs, with how many.
    reused: Vec<String>,
    /// Candidates dropped after their first trial, with the figure.
    eliminated: Vec<String>,
    /// Trials measured by this command.
    measured_trials: usize,
    /// Wall time of the measuring.
    measuring_s: f64,
    /// Every measured candidate's figures at the rate and at 1.5× it.
    at_rate: Vec<AtRate>,
    /// The answer.
    answer: Recommendation,
}

/// What `decide --plan --json` prints.
#[derive(Debug, Serialize)]
struct PlanJson<'a> {
    workload: &'a str,
    /// mode/runtime/language of every candidate.
    candidates: Vec<String>,
    not_candidates: &'a [String],
    /// How the earlier runs were chosen, or why none were.
    earlier_runs: &'a str,
    reused: &'a [String],
    /// Earlier cells left alone, with why.
    not_reused: &'a [String],
    /// Reused candidates already clearly out.
    dropped_already: &'a [String],
    to_measure: Vec<ToMeasure>,
    estimate_s: f64,
    budget_s: f64,
}

/// A candidate and the trials the plan measures of it.
#[derive(Debug, Serialize)]
struct ToMeasure {
    cell: String,
    trials: usize,
}

/// One candidate's figures at the requested rate and at 1.5× it.
#[derive(Debug, Serialize)]
struct AtRate {
    /// mode/runtime/language.
    cell: String,
    /// Trials behind the figures.
    trials: usize,
    /// p99 from the intended start at R, µs, median over trials with its
    /// interval (infinite for a step without a success).
    p99_at_rate_us: Option<stats::Estimate>,
    /// The same at 1.5 R.
    p99_at_headroom_us: Option<stats::Estimate>,
    /// CPU µs per successful request at R by process (medians over trials).
    cpu_at_rate_us: Vec<(String, f64)>,
    /// The sweep's knee over R (median over trials).
    headroom: Option<f64>,
    /// Every trial passed 1.5× R (or its generator fell behind first): the
    /// headroom is at least `headroom`.
    headroom_is_lower_bound: bool,
}

/// The figures of every measured candidate at `rate` and 1.5× it.
fn at_rate(results: &RunResults, rate: f64) -> Vec<AtRate> {
    let p99 = |cell: &CellResult, r: f64| {
        let v = p99s_at(cell, r);
        (!v.is_empty()).then(|| stats::estimate(&v, results::CONFIDENCE))
    };
    results
        .cells
        .iter()
        .filter(|c| c.status == CellStatus::Ok && !c.trials.is_empty())
        .map(|cell| {
            let mut by_role: BTreeMap<String, Vec<f64>> = BTreeMap::new();
            for t in &cell.trials {
                let Some(step) = reuse::step_at(t, rate) else {
                    continue;
                };
                let ok = results::successes(&step.load);
                let Some(cpu) = step.cpu.as_ref().filter(|_| ok > 0) else {
                    continue;
                };
                for p in &cpu.processes {
                    by_role
                        .entry(p.role.clone())
                        .or_default()
                        .push(p.cpu_s * 1e6 / ok as f64);
                }
            }
            let knees: Vec<f64> = cell.trials.iter().filter_map(|t| t.knee_rps).collect();
            AtRate {
                cell: format!(
                    "{}/{}/{}",
                    cell.id.mode_label(),
                    cell.id.runtime,
                    cell.id.language
                ),
                trials: cell.trials.len(),
                p99_at_rate_us: p99(cell, rate),
                p99_at_headroom_us: p99(cell, rate * 1.5),
                cpu_at_rate_us: by_role.into_iter().map(|(r, v)| (r, stats::median(&v))).collect(),
                headroom: (!knees.is_empty()).then(|| stats::median(&knees) / rate),
                headroom_is_lower_bound: cell.knee_is_lower_bound(),
            }
        })
        .collect()
}

/// Runs `decide`.
///
/// # Errors
/// Bad requirements, a plan over the budget, or a run that fails as a
/// whole (cells that fail are recorded and the decision goes on).
pub async fn execute(args: DecideArgs) -> Result<i32> {
    let subject = Subject::resolve(args.workload.as_deref(), args.scenario_workload.as_deref())?;
    let req = super::recommend::requirements(
        args.rate,
        args.p99_budget,
        args.needs.clone(),
        subject.language(&args.languages),
        args.cpu_budget,
        DEFAULT_MAX_ERROR_RATE,
    )?;
    if args.trials < 1 || args.max_trials < args.trials {
        bail!(
            "--trials must be at least 1 and --max-trials at least --trials (got {} and {})",
            args.trials,
            args.max_trials
        );
    }
    let (candidates, not_candidates) = candidates(&args, &subject)?;
    if candidates.is_empty() {
        bail!(
            "no blueprint can serve `{}` needing {}: {}",
            subject.name,
            args.needs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" and "),
            not_candidates.join("; ")
        );
    }
    // What earlier results already measured at this rate.
    let mut merged: BTreeMap<Candidate, CellResult> = BTreeMap::new();
    let mut template: Option<RunResults> = None;
    let mut reused = Vec::new();
    let mut earlier = reuse::earlier(
        &args.from,
        args.fresh,
        args.runs.as_deref(),
        &reuse::Here {
            daprd: args.daprd.as_deref(),
            connections: args.connections,
        },
    );
    let mut skipped = Vec::new();
    for (path, run) in earlier.take_runs()? {
        for cell in &run.cells {
            let Some(c) = candidates.iter().find(|c| same_cell(c, &subject.name, cell)) else {
                continue;
            };
            if merged.contains_key(c) {
                continue;
            }
            let mode: Mode = c.mode.parse()?;
            if !subject.same_module(mode, cell.module_sha256.as_deref()) {
                skipped.push(format!(
                    "{c} in {}: another module than the one given now (or none recorded)",
                    path.display()
                ));
                continue;
            }
            let trials = reuse::usable_trials(cell, args.rate);
            if cell.status == CellStatus::Ok && !trials.is_empty() {
                reused.push(format!("{c}: {} trial(s) from {}", trials.len(), path.display()));
                let mut cell = cell.clone();
                cell.trials = trials;
                merged.insert(c.clone(), cell);
            }
        }
        template.get_or_insert(run);
    }
    let have =
        |merged: &BTreeMap<Candidate, CellResult>, c: &Candidate| merged.get(c).map_or(0, |m| m.trials.len());
    // A reused candidate that is already clearly out stays out: measuring it
    // again could only confirm that.
    let mut eliminated = Vec::new();
    let missing: Vec<(Candidate, usize)> = candidates
        .iter()
        .filter_map(|c| {
            if let Some(why) = merged
                .get(c)
                .filter(|cell| cell.trials.len() < args.trials)
                .and_then(|cell| clearly_out(cell, &args))
            {
                eliminated.push(format!("{c}: {why} (in the reused trials)"));
                return None;
            }
            let need = args.trials.saturating_sub(have(&merged, c));
            (need > 0).then(|| (c.clone(), need))
        })
        .collect();
    let per_trial = trial_estimate(&args);
    let planned: usize = missing.iter().map(|(_, n)| n).sum();
    let estimate = per_trial * u32::try_from(planned).unwrap_or(u32::MAX);
    eprintln!(
        "decide: `{}` at {:.0} req/s (and {:.0} for headroom), p99 ≤ {}; {} candidate(s), {} reused, {planned} trial(s) \
         to measure, about {} ({} per trial, estimated from the settings)",
        subject.name,
        args.rate,
        args.rate * 1.5,
        humantime::format_duration(args.p99_budget),
        candidates.len(),
        reused.len(),
        humantime::format_duration(Duration::from_secs(estimate.as_secs())),
        humantime::format_duration(Duration::from_secs(per_trial.as_secs()))
    );
    if let Some(origin) = subject.origin() {
        eprintln!("  workload: {origin}");
    }
    for line in &not_candidates {
        eprintln!("  not a candidate: {line}");
    }
    eprintln!("  earlier runs: {}", earlier.note);
    for line in &reused {
        eprintln!("  reused: {line}");
    }
    for line in &skipped {
        eprintln!("  not reused: {line}");
    }
    for line in &eliminated {
        eprintln!("  dropped already: {line}");
    }
    for (c, n) in &missing {
        eprintln!("  to measure: {c}: {n} trial(s)");
    }
    if args.plan && args.json {
        let plan = PlanJson {
            workload: &subject.name,
            candidates: candidates.iter().map(ToString::to_string).collect(),
            not_candidates: &not_candidates,
            earlier_runs: &earlier.note,
            reused: &reused,
            not_reused: &skipped,
            dropped_already: &eliminated,
            to_measure: missing
                .iter()
                .map(|(c, n)| ToMeasure {
                    cell: c.to_string(),
                    trials: *n,
                })
                .collect(),
            estimate_s: estimate.as_secs_f64(),
            budget_s: args.budget.as_secs_f64(),
        };
        println!("{}", serde_json::to_string_pretty(&plan)?);
    }
    if estimate > args.budget {
        bail!(
            "the plan needs about {} of measuring, over --budget {}: name fewer runtimes (--runtime) or \
             languages, or give more time",
            humantime::format_duration(Duration::from_secs(estimate.as_secs())),
            humantime::format_duration(args.budget)
        );
    }
    if args.plan {
        return Ok(0);
    }

    let started = chrono::Utc::now();
    let out = args.out.clone().unwrap_or_else(|| {
        paths::runs_dir().join(format!(
            "decide-{}-{}",
            subject.name,
            started.format("%Y%m%dT%H%M%SZ")
        ))
    });
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let own_tables = subject.copy_into(&out)?;
    let clock = Instant::now();
    let mut measured_trials = 0;
    let mut round = 0;
    // Round 1: one trial of every candidate with none; then the rest of the
    // trials of those still in; then one more per round where p99 at the
    // rate straddles the budget.
    let mut next: Vec<(Candidate, usize)> = missing
        .iter()
        .map(|(c, n)| (c.clone(), if have(&merged, c) == 0 { 1 } else { *n }))
        .collect();
    while !next.is_empty() {
        round += 1;
        let left = args.budget.saturating_sub(clock.elapsed());
        let cost = per_trial * u32::try_from(next.iter().map(|(_, n)| n).sum::<usize>()).unwrap_or(u32::MAX);
        if round > 2 && cost > left {
            eprintln!(
                "decide: stopping before round {round}: it needs about {cost:?}, {left:?} of the budget is left"
            );
            break;
        }
        for (i, (scenario, group)) in scenarios(&args, &subject, &own_tables, &next, round)
            .into_iter()
            .enumerate()
        {
            let path = out.join(format!("round-{round}-{i}.toml"));
            results::write_bytes_atomic(&path, scenario.as_bytes())?;
            let results_path = out.join(format!("round-{round}-{i}.json"));
            let ran = super::run::run_scenario(&path, args.daprd.as_deref(), Some(results_path), None, false)
                .await?
                .context("a decide round is never a plan")?;
            let (mut ran, _) = ran;
            for cell in std::mem::take(&mut ran.cells) {
                let Some(c) = group.iter().find(|c| same_cell(c, &subject.name, &cell)) else {
                    continue;
                };
                measured_trials += cell.trials.len();
                absorb(&mut merged, c, cell);
            }
            template.get_or_insert(ran);
        }
        next = match round {
            1 => {
                let mut rest = Vec::new();
                for (c, _) in &missing {
                    let Some(cell) = merged.get(c).filter(|cell| cell.status == CellStatus::Ok) else {
                        continue;
                    };
                    if let Some(why) = clearly_out(cell, &args) {
                        eliminated.push(format!("{c}: {why}"));
                    } else if cell.trials.len() < args.trials {
                        rest.push((c.clone(), args.trials - cell.trials.len()));
                    }
                }
                rest
            }
            _ => candidates
                .iter()
                .filter(|c| !eliminated.iter().any(|e| e.starts_with(&format!("{c}:"))))
                .filter_map(|c| {
                    let cell = merged.get(c)?;
                    (cell.status == CellStatus::Ok
                        && cell.trials.len() < args.max_trials
                        && straddles(cell, &args))
                    .then(|| (c.clone(), 1))
                })
                .collect(),
        };
    }

    let mut results = template.context("nothing was measured or reused")?;
    results.cells = merged.into_values().collect();
    results.scenario.meta.name = format!("decide-{}", subject.name);
    results.scenario.meta.description = format!(
        "decide: `{}` at {:.0} req/s with p99 ≤ {}, needing {}",
        subject.name,
        args.rate,
        humantime::format_duration(args.p99_budget),
        args.needs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" and ")
    );
    results.mark_completed();
    let results_path = out.join("results.json");
    results::write_atomic(&results_path, &results)?;
    let mut answer = recommend::recommend(&results_path, &results, Some(&subject.name), &req)?;
    // A mode left out before measuring has no cells; its reason is the
    // exclusion, not "not measured".
    for m in &mut answer.not_measured {
        let prefix = format!("{}: ", m.mode);
        let why: Vec<String> = not_candidates
            .iter()
            .filter_map(|l| l.strip_prefix(&prefix))
            .map(|w| format!("not a candidate: {w}"))
            .collect();
        if !why.is_empty() {
            m.reasons = why;
        }
    }
    let decision = Decision {
        results: results_path.clone(),
        not_candidates,
        earlier_runs: earlier.note.clone(),
        reused,
        eliminated,
        measured_trials,
        measuring_s: clock.elapsed().as_secs_f64(),
        at_rate: at_rate(&results, args.rate),
        answer,
    };
    results::write_atomic(&out.join("decision.json"), &decision)?;
    let text = render(&decision, &args);
    results::write_bytes_atomic(&out.join("decision.md"), text.as_bytes())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&decision)?);
    } else {
        print!("{text}");
    }
    Ok(0)
}

/// The candidate cells and the modes left out before measuring.
fn candidates(args: &DecideArgs, subject: &Subject) -> Result<(Vec<Candidate>, Vec<String>)> {
    let runtimes: Vec<String> = if args.runtimes.is_empty() {
        blueprint_host::table::names()
            .into_iter()
            .map(str::to_owned)
            .collect()
    } else {
        let known = blueprint_host::table::names();
        for r in &args.runtimes {
            if !known.contains(&r.as_str()) {
                bail!("unknown runtime `{r}`; known: {}", known.join(", "));
            }
        }
        args.runtimes.clone()
    };
    let mut left_out = Vec::new();
    // A runtime this build cannot run is said once, with its fix (when an
    // app-hosted mode is a candidate at all), and not planned.
    let mut unavailable = Vec::new();
    let runtimes: Vec<String> = runtimes
        .into_iter()
        .filter(
            |r| match blueprint_host::table::entry(r).map(|e| e.availability) {
                Ok(blueprint_host::table::Availability::Unavailable { reason, fix }) => {
                    unavailable.push(format!(
                        "{r} (the app-hosted modes): unavailable: {reason} (fix: {fix})"
                    ));
                    false
                }
                _ => true,
            },
        )
        .collect();
    let needs_dapr = args.needs.iter().any(|n| *n != Need::None);
    let languages = subject.languages(&args.languages);
    let mut out = Vec::new();
    let mut app_hosted = false;
    for mode in ALL.iter().copied() {
        let row = mode.row();
        if row.reference {
            continue;
        }
        if needs_dapr && !row.reaches_dapr {
            left_out.push(format!(
                "{}: its guest cannot reach Dapr, so it cannot do {}",
                row.name,
                args.needs
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" or ")
            ));
            continue;
        }
        if let Some(why) = subject.cannot(mode) {
            left_out.push(format!("{}: {why}", row.name));
            continue;
        }
        let mode_runtimes: Vec<String> = if mode.runs_in_daprd() {
            vec![IN_DAPRD.to_owned()]
        } else {
            app_hosted = true;
            runtimes.clone()
        };
        for runtime in &mode_runtimes {
            for language in &languages {
                out.push(Candidate {
                    mode: row.name.to_owned(),
                    runtime: runtime.clone(),
                    language: language.clone(),
                });
            }
        }
    }
    if app_hosted {
        left_out.splice(0..0, unavailable);
    }
    Ok((out, left_out))
}

/// Whether `cell` is the candidate's cell of `workload` (in-memory store,
/// HTTP app channel, load through daprd: what `decide` measures).
fn same_cell(c: &Candidate, workload: &str, cell: &CellResult) -> bool {
    let id = &cell.id;
    id.workload == workload
        && id.mode == c.mode
        && id.runtime == c.runtime
        && id.language == c.language
        && id.store == "in-memory"
        && id.protocol == "http"
        && id.trigger == "dapr"
}

/// p99 (µs) of each trial at `rate`; infinite for a step without a
/// successful request.
fn p99s_at(cell: &CellResult, rate: f64) -> Vec<f64> {
    cell.trials
        .iter()
        .filter_map(|t| {
            let p = reuse::step_at(t, rate)?;
            Some(results::latency(&p.load).map_or(f64::INFINITY, |l| l.p99))
        })
        .collect()
}

/// Why a candidate is clearly out after its first trial: capacity under
/// half the rate, or p99 at the rate over three times the budget. Margins
/// that wide, because one trial has no interval.
fn clearly_out(cell: &CellResult, args: &DecideArgs) -> Option<String> {
    let capacity = stats::median(
        &cell
            .trials
            .iter()
            .map(|t| t.load.throughput_rps)
            .collect::<Vec<_>>(),
    );
    if capacity < args.rate / 2.0 {
        return Some(format!(
            "closed-loop capacity {capacity:.0} req/s, under half of {:.0} req/s",
            args.rate
        ));
    }
    let budget_us = args.p99_budget.as_secs_f64() * 1e6;
    let p99s = p99s_at(cell, args.rate);
    let p99 = stats::median(&p99s);
    (!p99s.is_empty() && p99 > 3.0 * budget_us).then(|| {
        format!(
            "p99 at {:.0} req/s was {}, over three times the budget",
            args.rate,
            blueprint_analysis::compare::fmt_us(p99)
        )
    })
}

/// Whether the p99 interval at the rate still holds the budget (the trials
/// cannot tell meets from misses).
fn straddles(cell: &CellResult, args: &DecideArgs) -> bool {
    let p99s = p99s_at(cell, args.rate);
    if p99s.is_empty() {
        return false;
    }
    let e = stats::estimate(&p99s, results::CONFIDENCE);
    let budget_us = args.p99_budget.as_secs_f64() * 1e6;
    let (lo, hi) = e.interval().unwrap_or((e.min, e.max));
    lo <= budget_us && budget_us <= hi
}

/// Adds a round's cell to what was measured: trials appended, summary
/// recomputed; a failure is kept as the cell's status.
fn absorb(merged: &mut BTreeMap<Candidate, CellResult>, c: &Candidate, cell: CellResult) {
    match merged.get_mut(c) {
        Some(have) if cell.status == CellStatus::Ok && have.status == CellStatus::Ok => {
            for mut t in cell.trials {
                t.trial = have.trials.len();
                t.order = have.trials.len();
                have.trials.push(t);
            }
            have.summary = CellSummary::of(&have.trials, 0);
            have.stopped = None;
        }
        Some(have) if have.status == CellStatus::Ok => have.status = cell.status,
        Some(_) => {}
        None => {
            merged.insert(c.clone(), cell);
        }
    }
}

/// One trial's wall time from the settings, as `run` estimates it: start-up,
/// the closed loop, and the two open-loop steps at their own lengths (a step
/// at a low rate runs long enough for its p99 to rest on enough requests).
fn trial_estimate(args: &DecideArgs) -> Duration {
    let step_warmup = args.warmup.min(Duration::from_secs(1));
    let step = |rate: f64| blueprint_analysis::sweep::step_duration(rate, args.duration) + step_warmup;
    Duration::from_secs(2) + args.warmup + args.duration + step(args.rate) + step(args.rate * 1.5)
}

/// The round's scenarios: one per (mode, language) with its runtimes, and
/// the candidates each covers; `own_tables` is a scenario's own workload as
/// copied into the decision's folder (empty for a built-in one).
fn scenarios(
    args: &DecideArgs,
    subject: &Subject,
    own_tables: &str,
    next: &[(Candidate, usize)],
    round: usize,
) -> Vec<(String, Vec<Candidate>)> {
    let mut groups: BTreeMap<(String, String, usize), Vec<Candidate>> = BTreeMap::new();
    for (c, n) in next {
        groups
            .entry((c.mode.clone(), c.language.clone(), *n))
            .or_default()
            .push(c.clone());
    }
    groups
        .into_iter()
        .map(|((mode, language, trials), group)| {
            let runtimes: Vec<String> = group
                .iter()
                .map(|c| {
                    if c.runtime == IN_DAPRD {
                        "wazero".to_owned()
                    } else {
                        c.runtime.clone()
                    }
                })
                .collect();
            let quoted = |v: &[String]| v.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ");
            // A scenario's own workload is one module set whatever the
            // languages axis says; the axis must still name a known language.
            let language = if language == CUSTOM_LANGUAGE {
                "rust".to_owned()
            } else {
                language
            };
            let mut toml = String::new();
            let _ = writeln!(
                toml,
                "# Written by `blueprint-bench decide`, round {round}; `blueprint-bench run` re-runs it.\n\
                 [scenario]\nname = \"decide-{}-r{round}\"\ndescription = \"decide: {} as {mode} at {:.0} req/s\"\n\n\
                 [matrix]\nworkloads = [{:?}]\nmodes = [{mode:?}]\nruntimes = [{}]\nlanguages = [{language:?}]\n\n\
                 [load]\nconnections = {}\nwarmup = \"{}ms\"\nduration = \"{}ms\"\ntrials = {trials}\n\
                 rates = [{}, {}]\narrival = \"poisson\"\n\n[dapr]\nstate_store = \"in-memory\"",
                subject.name,
                subject.name,
                args.rate,
                subject.name,
                quoted(&runtimes),
                args.connections,
                args.warmup.as_millis(),
                args.duration.as_millis(),
                args.rate,
                args.rate * 1.5,
            );
            toml.push_str(own_tables);
            (toml, group)
        })
        .collect()
}

/// The answer as text: what was measured and reused, then `recommend`'s.
fn render(d: &Decision, args: &DecideArgs) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Measured {} trial(s) in {}; reused {} cell(s); {} dropped after their first trial.",
        d.measured_trials,
        humantime::format_duration(Duration::from_secs(d.measuring_s.round() as u64)),
        d.reused.len(),
        d.eliminated.len()
    );
    for line in &d.not_candidates {
        let _ = writeln!(out, "  not a candidate: {line}");
    }
    let _ = writeln!(out, "  earlier runs: {}", d.earlier_runs);
    for line in &d.eliminated {
        let _ = writeln!(out, "  dropped: {line}");
    }
    let _ = writeln!(
        out,
        "\nAt {:.0} req/s and at {:.0} (headroom), p99 from the intended start, median [interval]; CPU per \
         successful request at {:.0} req/s by process:",
        args.rate,
        args.rate * 1.5,
        args.rate
    );
    let p99 = |e: &Option<stats::Estimate>| {
        e.map_or("—".into(), |e| match e.interval() {
            Some((lo, hi)) => format!(
                "{} [{}, {}]",
                blueprint_analysis::compare::fmt_us(e.median),
                blueprint_analysis::compare::fmt_us(lo),
                blueprint_analysis::compare::fmt_us(hi)
            ),
            None => blueprint_analysis::compare::fmt_us(e.median),
        })
    };
    for a in &d.at_rate {
        let cpu: Vec<String> = a
            .cpu_at_rate_us
            .iter()
            .map(|(role, us)| format!("{role} {us:.0} µs"))
            .collect();
        let _ = writeln!(
            out,
            "  {} ({} trial(s)): p99 {} at the rate, {} at 1.5×; knee/rate {}; CPU {}",
            a.cell,
            a.trials,
            p99(&a.p99_at_rate_us),
            p99(&a.p99_at_headroom_us),
            a.headroom.map_or("—".into(), |h| format!(
                "{}{h:.2}",
                if a.headroom_is_lower_bound { "≥ " } else { "" }
            )),
            if cpu.is_empty() {
                "—".into()
            } else {
                cpu.join(", ")
            }
        );
    }
    let _ = writeln!(out);
    out.push_str(&recommend::render(&d.answer));
    let _ = writeln!(
        out,
        "\nResults: {} (render with `blueprint-bench report {} --rate {} --p99-budget {}`)",
        d.results.display(),
        d.results.display(),
        args.rate,
        humantime::format_duration(args.p99_budget)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use blueprint_analysis::modes::Mode;

    #[test]
    fn state_needs_leave_the_guests_inside_daprd_out() {
        let args = <DecideArgsParser as clap::Parser>::parse_from([
            "decide",
            "--workload",
            "counter",
            "--rate",
            "100",
            "--p99-budget",
            "10ms",
            "--needs",
            "state",
            "--runtime",
            "wasmtime",
        ])
        .args;
        let subject = Subject::resolve(args.workload.as_deref(), None).unwrap();
        let (candidates, left_out) = candidates(&args, &subject).unwrap();
        assert!(candidates.iter().all(|c| {
            let mode = ALL.iter().find(|m| m.as_str() == c.mode).unwrap();
            mode.row().reaches_dapr && !mode.runs_in_daprd()
        }));
        assert!(candidates.iter().any(|c| c.mode == Mode::Embedded.as_str()));
        for m in ["middleware", "middleware+httppipeline", "binding"] {
            assert!(left_out.iter().any(|l| l.starts_with(m)), "{m}: {left_out:?}");
        }
    }

    #[derive(clap::Parser)]
    struct DecideArgsParser {
        #[command(flatten)]
        args: DecideArgs,
    }
}
