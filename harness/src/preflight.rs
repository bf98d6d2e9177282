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
use blueprint_analysis::settings::CellId;
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
        "go" => 60,
        "c" | "zig" | "assemblyscript" => 30,
        "javascript" => 180,
        "python" => 300,
        _ => 60,
    })
}

/// How long the measured part of one trial takes, from the scenario's own
/// settings plus start-up (daprd and the app, ~2 s each trial).
fn trial_estimate(plan: &Plan) -> Duration {
    let load = &plan.load;
    let steps = if !load.rates.is_empty() {
        load.rates.len()
    } else if let Some(ramp) = &load.ramp {
        ((ramp.max / ramp.start).ln() / ramp.factor.ln()).floor() as usize + 1
    } else {
        0
    };
    Duration::from_secs(2) + load.warmup + load.duration + load.duration * steps as u32
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
    let mut build = Duration::ZERO;
    let mut builds = Vec::new();
    if let daprd::Plan::Build { version } = &pre.daprd {
        builds.push(format!("daprd {version} (~5 min)"));
        build += Duration::from_secs(300);
    }
    let languages: Vec<&str> = {
        let mut l: Vec<&str> = cells.to_run.iter().map(|c| c.language.as_str()).collect();
        l.sort_unstable();
        l.dedup();
        l
    };
    for l in pre
        .languages
        .iter()
        .filter(|l| l.ready && !l.built && languages.contains(&l.language.as_str()))
    {
        let t = build_estimate(&l.language);
        builds.push(format!(
            "{} guests (~{})",
            l.language,
            humantime::format_duration(t)
        ));
        build += t;
    }
    if !builds.is_empty() {
        let _ = writeln!(out, "  to build first: {}", builds.join(", "));
    }
    let measure = trial_estimate(plan) * (cells.to_run.len() * trials) as u32;
    let _ = writeln!(
        out,
        "  estimated: {} measuring{}",
        humantime::format_duration(Duration::from_secs(measure.as_secs())),
        if build.is_zero() {
            String::new()
        } else {
            format!(" + up to {} building", humantime::format_duration(build))
        }
    );
    out
}
