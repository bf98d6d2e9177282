//! What a command needs, checked in seconds before anything slow starts:
//! daprd (found, or buildable), each guest language's toolchain (Rust
//! targets are added on the spot), the runtimes, redis-server. A missing
//! prerequisite of some cells makes those cells unavailable with the reason
//! and the fix; a prerequisite of every cell (daprd) fails the command at
//! once. `blueprint-bench doctor` prints the same check alone.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use blueprint_analysis::results::CellStatus;
use blueprint_analysis::settings::{CellId, Trials};
use blueprint_host::table::{self as runtimes, Availability, RuntimeEntry};
use serde::Serialize;

use crate::scenario::Plan;
use crate::{blueprint, daprd, workloads};

/// One guest language's state on this machine.
#[derive(Debug, Clone, Serialize)]
pub struct LanguageCheck {
    /// Its name.
    pub language: String,
    /// Whether its toolchain is here.
    pub ready: bool,
    /// Whether this checkout's guests are already built (no build to wait for).
    pub built: bool,
    /// What is missing, when not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<workloads::Missing>,
}

/// A scenario read, validated and checked against this machine, before
/// anything is built or started: what `run` and `ab` both begin with.
pub struct Checked {
    /// The checkout.
    pub project: PathBuf,
    /// The build cache.
    pub cache: PathBuf,
    /// The scenario's plan.
    pub plan: Plan,
    /// What this machine has.
    pub pre: Preflight,
    /// The cells to run and those ruled out.
    pub cells: CellPlan,
}

/// Reads `scenario`, checks the machine for its cells and prints the plan
/// screen.
///
/// # Errors
/// A bad scenario (file, line and field) or an unreadable project.
pub fn check_scenario(scenario: &Path, explicit_daprd: Option<&Path>, night: Option<u64>) -> Result<Checked> {
    let project = crate::paths::project_dir();
    let known = workloads::known_workloads(&project)?;
    // Validate before building or starting anything.
    let mut plan = crate::scenario::load(scenario, &known, &runtimes::names())?;
    plan.rotate(night.unwrap_or_else(crate::scenario::night_of_today));
    let cache = crate::paths::cache_dir();
    let languages: Vec<&str> = plan.cells.iter().map(|c| c.language.as_str()).collect();
    let pre = check(&project, &cache, explicit_daprd, &languages);
    let cells = cells(&project, &plan, &pre)?;
    eprint!("{}", render_plan(&plan, &cells, &pre));
    Ok(Checked {
        project,
        cache,
        plan,
        pre,
        cells,
    })
}

/// The machine, as far as a command needs it.
#[derive(Debug, Clone, Serialize)]
pub struct Preflight {
    /// Where daprd comes from.
    pub daprd: daprd::Plan,
    /// Each language asked about.
    pub languages: Vec<LanguageCheck>,
    /// Every runtime with its availability.
    pub runtimes: Vec<RuntimeEntry>,
    /// redis-server, for `redis` store cells.
    pub redis: std::result::Result<PathBuf, String>,
    /// How long trials took here before, for the estimate.
    #[serde(skip)]
    pub timings: crate::timings::Timings,
}

/// Checks `languages` (all known ones when empty) and everything else.
pub fn check(project: &Path, cache: &Path, explicit_daprd: Option<&Path>, languages: &[&str]) -> Preflight {
    let languages = workloads::LANGUAGE_BUILDS
        .iter()
        .filter(|l| languages.is_empty() || languages.contains(&l.name()))
        .map(|l| {
            let missing = workloads::check_toolchain(*l, cache).err();
            LanguageCheck {
                language: l.name().to_owned(),
                ready: missing.is_none(),
                built: missing.is_none() && workloads::is_built(*l, project, cache),
                missing,
            }
        })
        .collect();
    Preflight {
        daprd: daprd::plan(explicit_daprd),
        languages,
        runtimes: runtimes::entries(),
        redis: crate::redis::find().map_err(|e| e.to_string()),
        timings: crate::timings::Timings::load(cache),
    }
}

impl Preflight {
    /// Fails when daprd can be neither found nor built: no cell could run.
    ///
    /// # Errors
    /// daprd missing, with the fix.
    pub fn require_daprd(&self) -> Result<()> {
        if let daprd::Plan::Missing { reason, fix } = &self.daprd {
            anyhow::bail!("{reason}; every cell needs daprd (fix: {fix})");
        }
        Ok(())
    }

    fn language(&self, name: &str) -> Option<&LanguageCheck> {
        self.languages.iter().find(|l| l.language == name)
    }

    /// The text `doctor` prints.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = match &self.daprd {
            daprd::Plan::Ready(d) => writeln!(
                out,
                "daprd      ready     {} ({}, {})",
                d.version,
                d.source,
                d.path.display()
            ),
            daprd::Plan::Build { version } => writeln!(
                out,
                "daprd      to build  {version} from dapr/ (Go is here; a few minutes, once)"
            ),
            daprd::Plan::Missing { reason, fix } => {
                writeln!(out, "daprd      MISSING   {reason}\n           fix: {fix}")
            }
        };
        let _ = match &self.redis {
            Ok(path) => writeln!(out, "redis      ready     {}", path.display()),
            Err(reason) => writeln!(
                out,
                "redis      MISSING   {reason} (only `redis` store cells need it)"
            ),
        };
        for l in &self.languages {
            let _ = match (&l.missing, l.built) {
                (None, true) => writeln!(out, "{:<10} ready     guests built", l.language),
                (None, false) => writeln!(out, "{:<10} ready     guests to build", l.language),
                (Some(m), _) => writeln!(
                    out,
                    "{:<10} MISSING   {}\n           fix: {}",
                    l.language, m.reason, m.install
                ),
            };
        }
        for r in &self.runtimes {
            let version = r.version.clone().unwrap_or_default();
            let _ = match &r.availability {
                Availability::Available => writeln!(out, "{:<18} ready     {version} {}", r.name, r.engine),
                Availability::Unavailable { reason, fix } => {
                    let reason = reason.lines().next().unwrap_or_default();
                    writeln!(out, "{:<18} MISSING   {reason}\n           fix: {fix}", r.name)
                }
            };
        }
        out
    }
}

/// A scenario's cells as they will go: to run, or ruled out with the reason.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CellPlan {
    /// Cells that will be measured.
    pub to_run: Vec<CellId>,
    /// Cells that cannot run here, each with its status (unavailable or n/a).
    pub ruled_out: Vec<(CellId, CellStatus)>,
}

/// Sorts `plan`'s cells by what is known before building: mode, store,
/// runtime and language toolchain.
///
/// # Errors
/// Unreadable vectors.
pub fn cells(project: &Path, plan: &Plan, pre: &Preflight) -> Result<CellPlan> {
    let mut out = CellPlan::default();
    for cell in &plan.cells {
        let mut status = blueprint::ruled_out(project, cell, &plan.custom)?;
        if status.is_none()
            && let Some(l) = pre.language(&cell.language)
            && let Some(m) = &l.missing
        {
            status = Some(CellStatus::Unavailable {
                reason: format!("{} guests: {} (fix: {})", l.language, m.reason, m.install),
            });
        }
        match status {
            Some(status) => out.ruled_out.push((cell.clone(), status)),
            None => out.to_run.push(cell.clone()),
        }
    }
    Ok(out)
}

/// Rough build times on a 2-core machine, for the plan screen only.
fn build_estimate(language: &str) -> Duration {
    Duration::from_secs(match language {
        "rust" => 90,
        // With its components (a go build and a wrap each, seconds).
        "go" => 90,
        "c" | "zig" | "assemblyscript" => 30,
        // Each adds its components (componentize, ~10 s a workload, and
        // the tool's install on first use).
        "javascript" => 270,
        "python" => 370,
        _ => 60,
    })
}

/// How long one trial takes at most, from the scenario's own settings:
/// start-up (daprd and the app, ~2 s), warm-up, the closed-loop window, and
/// every open-loop step at its own length (`sweep::step_duration`) after its
/// own warm-up. A ramp is counted to its end (it stops past the knee) plus
/// its bisection probes (at the top rate's length), without retests: a
/// rough figure, not a bound (a sweep that retests its failing rates ran
/// twice as long on the nightly, `results/README.md`), replaced by measured
/// times ([`crate::timings`]) once a cell has run here.
pub fn trial_estimate(plan: &Plan) -> Duration {
    let load = &plan.load;
    let step_warmup = load.warmup.min(Duration::from_secs(1));
    let step = |rate: f64| blueprint_analysis::sweep::step_duration(rate, load.duration) + step_warmup;
    let sweep: Duration = match &load.ramp {
        Some(ramp) => {
            let rates = ramp.rates();
            let top = rates.last().copied().unwrap_or(ramp.start);
            rates.iter().map(|r| step(*r)).sum::<Duration>() + step(top) * ramp.bisections() as u32
        }
        None => load.rates.iter().map(|r| step(*r)).sum(),
    };
    Duration::from_secs(2) + load.warmup + load.duration + sweep
}

/// What a run will take, by part.
#[derive(Debug, Clone, Default)]
pub struct Estimate {
    /// Builds before the first cell, with their rough times.
    pub builds: Vec<(String, Duration)>,
    /// Measuring every cell to run, every trial (the minimum of adaptive
    /// trials).
    pub measuring: Duration,
    /// The same with adaptive trials at their maximum (= `measuring` for a
    /// fixed count).
    pub measuring_max: Duration,
    /// One trial of a cell never run here with these settings: a rough
    /// figure from the settings (retests not counted).
    pub per_trial: Duration,
    /// Cells whose trial time comes from earlier runs here instead.
    pub timed_cells: usize,
}

impl Estimate {
    /// Builds plus measuring (adaptive trials at their minimum).
    pub fn total(&self) -> Duration {
        self.measuring + self.builds.iter().map(|(_, d)| *d).sum::<Duration>()
    }

    /// The parts, largest first, as a reader would want them named.
    pub fn contributors(&self, cells: usize, trials: &Trials) -> Vec<String> {
        let fmt = |d: Duration| humantime::format_duration(Duration::from_secs(d.as_secs())).to_string();
        let mut parts: Vec<(Duration, String)> = vec![(
            self.measuring,
            format!(
                "measuring {cells} cells × {} trials × {} per trial",
                trials.min,
                fmt(self.per_trial)
            ),
        )];
        parts.extend(
            self.builds
                .iter()
                .map(|(what, d)| (*d, format!("building {what}"))),
        );
        parts.sort_by_key(|p| std::cmp::Reverse(p.0));
        parts
            .into_iter()
            .map(|(d, what)| format!("{what} = {}", fmt(d)))
            .collect()
    }
}

/// The estimate of `plan`'s run here.
pub fn estimate(plan: &Plan, cells: &CellPlan, pre: &Preflight) -> Estimate {
    let mut builds = Vec::new();
    if let daprd::Plan::Build { version } = &pre.daprd {
        builds.push((format!("daprd {version}"), Duration::from_secs(300)));
    }
    let mut languages: Vec<&str> = cells.to_run.iter().map(|c| c.language.as_str()).collect();
    languages.sort_unstable();
    languages.dedup();
    for l in pre
        .languages
        .iter()
        .filter(|l| l.ready && !l.built && languages.contains(&l.language.as_str()))
    {
        builds.push((format!("{} guests", l.language), build_estimate(&l.language)));
    }
    // `wasmtime serve` is built once, with cargo (10 min 36 s measured on
    // 2 busy cores, results/README.md).
    let serves = cells
        .to_run
        .iter()
        .any(|c| c.runtime == blueprint_host::table::WASMTIME_SERVE);
    if serves && !crate::wasmtime_cli::binary(&crate::paths::cache_dir()).is_file() {
        builds.push((
            format!("wasmtime serve (wasmtime-cli {})", crate::wasmtime_cli::version()),
            Duration::from_secs(600),
        ));
    }
    let per_trial = trial_estimate(plan);
    let times: Vec<Option<Duration>> = cells
        .to_run
        .iter()
        .map(|c| pre.timings.trial(&plan.load, c))
        .collect();
    let one_of_each: Duration = times.iter().map(|t| t.unwrap_or(per_trial)).sum();
    Estimate {
        builds,
        measuring: one_of_each * plan.load.trials.min as u32,
        measuring_max: one_of_each * plan.load.trials.max as u32,
        per_trial,
        timed_cells: times.iter().filter(|t| t.is_some()).count(),
    }
}

/// Refuses a plan whose estimate is over the scenario's `budget`. Adaptive
/// trials must fit at their minimum; the run stops adding trials when the
/// next round would not fit.
///
/// # Errors
/// Over budget, naming the biggest contributors.
pub fn check_budget(plan: &Plan, cells: &CellPlan, estimate: &Estimate) -> Result<()> {
    let Some(budget) = plan.meta.budget else {
        return Ok(());
    };
    if estimate.total() > budget {
        anyhow::bail!(
            "the plan needs about {} but [scenario] budget is {}: {}; run fewer cells, trials or rates",
            humantime::format_duration(Duration::from_secs(estimate.total().as_secs())),
            humantime::format_duration(budget),
            estimate
                .contributors(cells.to_run.len(), &plan.load.trials)
                .join("; ")
        );
    }
    Ok(())
}

/// The plan screen: cells to run, cells ruled out grouped by reason, what
/// will be built, and an estimate of the wall time.
pub fn render_plan(plan: &Plan, cells: &CellPlan, pre: &Preflight) -> String {
    let mut out = String::new();
    let trials = plan.load.trials;
    let _ = writeln!(
        out,
        "plan: {} — {} cells to run × {trials} trial(s); {} ruled out",
        plan.meta.name,
        cells.to_run.len(),
        cells.ruled_out.len()
    );
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for (_, status) in &cells.ruled_out {
        let key = match status {
            CellStatus::Unavailable { reason } => {
                format!("unavailable: {}", reason.lines().next().unwrap_or_default())
            }
            CellStatus::NotApplicable { reason } => format!("n/a: {reason}"),
            other => format!("{other:?}"),
        };
        *reasons.entry(key).or_default() += 1;
    }
    for (reason, n) in &reasons {
        let _ = writeln!(out, "  {n:>3} × {reason}");
    }
    if let Some(r) = &plan.rotation {
        let tonight: Vec<String> = r.tonight.iter().map(|(axis, v)| format!("{axis} {v}")).collect();
        let _ = writeln!(
            out,
            "  rotation, night {}: {} ({} cells of the matrix left for other nights; --night N picks another)",
            r.night,
            tonight.join(", "),
            r.left_out
        );
    }
    if !plan.custom.is_empty() {
        let given: Vec<String> = plan
            .custom
            .values()
            .map(|w| {
                let flavours: Vec<&str> = w.modules.keys().map(|f| f.as_str()).collect();
                format!("{} ({})", w.name, flavours.join(", "))
            })
            .collect();
        let _ = writeln!(
            out,
            "  custom workloads (language `{}`, nothing to build): {}",
            workloads::CUSTOM_LANGUAGE,
            given.join("; ")
        );
    }
    let est = estimate(plan, cells, pre);
    let fmt = |d: Duration| humantime::format_duration(Duration::from_secs(d.as_secs())).to_string();
    if !est.builds.is_empty() {
        let builds: Vec<String> = est
            .builds
            .iter()
            .map(|(what, d)| format!("{what} (~{})", fmt(*d)))
            .collect();
        let _ = writeln!(out, "  to build first: {}", builds.join(", "));
    }
    let build: Duration = est.builds.iter().map(|(_, d)| *d).sum();
    let _ = writeln!(
        out,
        "  estimated: {}{}{}{}",
        match (est.timed_cells, cells.to_run.len()) {
            (0, _) => format!(
                "about {} measuring ({} per trial from the settings, retests not counted: no earlier run here to time it)",
                fmt(est.measuring),
                fmt(est.per_trial)
            ),
            (t, n) if t == n => format!(
                "about {} measuring (every cell's trial timed by earlier runs here)",
                fmt(est.measuring)
            ),
            (t, n) => format!(
                "about {} measuring ({t} of {n} cells timed by earlier runs here, the others {} per trial from the settings)",
                fmt(est.measuring),
                fmt(est.per_trial)
            ),
        },
        if build.is_zero() {
            String::new()
        } else {
            format!(" + up to {} building", fmt(build))
        },
        if est.measuring_max > est.measuring {
            format!(
                ", up to {} if every cell needs {} trials",
                fmt(est.measuring_max),
                plan.load.trials.max
            )
        } else {
            String::new()
        },
        match plan.meta.budget {
            Some(b) => format!("; budget {}", fmt(b)),
            None => String::new(),
        }
    );
    out
}
