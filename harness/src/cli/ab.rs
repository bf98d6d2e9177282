//! `blueprint-bench ab`: a same-run A/B. Baseline and candidate run the same
//! scenario in one run, each cell's trials in pairs back to back (AB, BA,
//! AB, …) with fresh processes, and the verdict comes from the pairs'
//! ratios, so a machine whose load changes during the run moves both sides
//! of a pair alike instead of passing for a regression.
//!
//! A side is this checkout as it is, changed by `--baseline` /
//! `--candidate` parts: `daprd=PATH` (another sidecar binary),
//! `rev=REVISION` (this project at a git revision, built into the cache:
//! its host binary, its guests, its Go host), `host=PATH` (another
//! `blueprint-bench` binary as the app host) and `env=NAME=VALUE` (a
//! variable for the app host: a runtime configuration).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use blueprint_analysis::compare::{self, Metric, Options, parse_threshold, render_html, render_markdown};
use blueprint_analysis::results;

use super::interruptible;
use crate::blueprint::RunContext;
use crate::runner::{self, Side};
use crate::{daprd, paths, preflight, progress, workloads};

/// `ab`.
#[derive(Debug, clap::Args)]
pub struct AbArgs {
    /// The scenario file (TOML); its `trials` are the number of pairs.
    pub scenario: PathBuf,
    /// What the baseline changes from this checkout, repeatable:
    /// daprd=PATH, rev=REVISION, host=PATH, env=NAME=VALUE.
    #[arg(long, value_name = "KIND=VALUE", value_parser = parse_part)]
    pub baseline: Vec<Part>,
    /// What the candidate changes, likewise.
    #[arg(long, value_name = "KIND=VALUE", value_parser = parse_part)]
    pub candidate: Vec<Part>,
    /// Noise threshold as METRIC=PERCENT, repeatable (as for `compare`).
    #[arg(long = "threshold", value_name = "METRIC=PCT", value_parser = parse_threshold)]
    pub thresholds: Vec<(Metric, f64)>,
    /// Family-wise significance level of the signed-rank tests (Holm).
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Folder for baseline.json, candidate.json and comparison.{json,md}
    /// (default: results/runs/<name>-ab-<time>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The daprd both sides use unless a side names its own.
    #[arg(long, env = "DAPRD")]
    pub daprd: Option<PathBuf>,
    /// Print the comparison as JSON instead of Markdown.
    #[arg(long)]
    pub json: bool,
    /// Print the plan and the estimate, and stop.
    #[arg(long)]
    pub plan: bool,
}

/// One change a side makes to this checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Another daprd binary.
    Daprd(PathBuf),
    /// This project at a git revision.
    Rev(String),
    /// Another `blueprint-bench` binary as the app host.
    Host(PathBuf),
    /// A variable for the app host.
    Env(String, String),
}

/// Parses `KIND=VALUE`.
///
/// # Errors
/// An unknown kind or an empty value.
pub fn parse_part(s: &str) -> Result<Part, String> {
    let (kind, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KIND=VALUE (daprd=, rev=, host=, env=), got `{s}`"))?;
    if value.is_empty() {
        return Err(format!("`{s}`: the value is empty"));
    }
    match kind {
        "daprd" => Ok(Part::Daprd(value.into())),
        "rev" => Ok(Part::Rev(value.into())),
        "host" => Ok(Part::Host(value.into())),
        "env" => match value.split_once('=') {
            Some((name, v)) if !name.is_empty() => Ok(Part::Env(name.into(), v.into())),
            _ => Err(format!("`{s}`: expected env=NAME=VALUE")),
        },
        other => Err(format!(
            "unknown kind `{other}` in `{s}`; one of daprd, rev, host, env"
        )),
    }
}

/// Describes a side for the plan and the results.
fn describe(parts: &[Part]) -> String {
    if parts.is_empty() {
        return "this checkout".into();
    }
    let parts: Vec<String> = parts
        .iter()
        .map(|p| match p {
            Part::Daprd(path) => format!("daprd {}", path.display()),
            Part::Rev(rev) => format!("revision {rev}"),
            Part::Host(path) => format!("host {}", path.display()),
            Part::Env(k, v) => format!("{k}={v}"),
        })
        .collect();
    parts.join(", ")
}

/// A side made ready: its context and guests.
struct Prepared {
    ctx: RunContext,
    catalog: workloads::Catalog,
    revision: Option<String>,
}

/// Runs `ab`: exit code as `compare`'s (3 regression, 4 incomplete, 0 else).
///
/// # Errors
/// A bad scenario or side, a build that fails, or results that cannot be written.
pub async fn execute(args: AbArgs) -> Result<i32> {
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        bail!("--alpha must be between 0 and 1, got {}", args.alpha);
    }
    for parts in [&args.baseline, &args.candidate] {
        if parts.iter().filter(|p| matches!(p, Part::Rev(_))).count() > 1 {
            bail!("a side names more than one rev=");
        }
        if parts.iter().filter(|p| matches!(p, Part::Daprd(_))).count() > 1 {
            bail!("a side names more than one daprd=");
        }
    }
    if args.baseline == args.candidate {
        bail!(
            "baseline and candidate are the same ({}): give --baseline or --candidate a change (daprd=, rev=, host=, env=)",
            describe(&args.baseline)
        );
    }
    let preflight::Checked {
        project,
        cache,
        plan,
        pre,
        cells,
    } = preflight::check_scenario(&args.scenario, args.daprd.as_deref(), None)?;
    eprintln!(
        "same-run A/B: {} pair(s) per cell, each a baseline and a candidate trial back to back\n  baseline:  {}\n  candidate: {}",
        plan.load.trials,
        describe(&args.baseline),
        describe(&args.candidate)
    );
    pre.require_daprd()?;
    let mut estimate = preflight::estimate(&plan, &cells, &pre);
    // Two trials per pair.
    estimate.measuring *= 2;
    estimate.measuring_max *= 2;
    eprintln!(
        "  estimated for both sides: about {} measuring, {} in all",
        humantime::format_duration(std::time::Duration::from_secs(estimate.measuring.as_secs())),
        humantime::format_duration(std::time::Duration::from_secs(estimate.total().as_secs()))
    );
    preflight::check_budget(&plan, &cells, &estimate)?;
    if plan.load.trials.max < 6 {
        eprintln!(
            "note: {} pair(s) per cell: the signed-rank test needs at least 6 to reach p < 0.05, so no change can be called a regression (set [load] trials)",
            plan.load.trials.max
        );
    }
    if args.plan {
        return Ok(0);
    }

    let started = chrono::Utc::now();
    let out = args.out.clone().unwrap_or_else(|| {
        paths::runs_dir().join(format!(
            "{}-ab-{}",
            plan.meta.name,
            started.format("%Y%m%dT%H%M%SZ")
        ))
    });
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut to_build: Vec<&str> = cells.to_run.iter().map(|c| c.language.as_str()).collect();
    to_build.sort_unstable();
    to_build.dedup();
    let default_daprd = daprd::resolve(args.daprd.as_deref())?;
    let mut sides = Vec::new();
    for (name, parts) in [("baseline", &args.baseline), ("candidate", &args.candidate)] {
        let prepared = prepare(
            &project,
            &cache,
            &default_daprd,
            parts,
            &to_build,
            &out.join(name),
        )
        .with_context(|| format!("preparing the {name} ({})", describe(parts)))?;
        sides.push(prepared);
    }
    for side in &mut sides {
        side.catalog.add_custom(&plan.custom);
    }
    let paths = [out.join("baseline.json"), out.join("candidate.json")];
    let run_sides: Vec<Side> = sides
        .iter()
        .zip(&paths)
        .map(|(side, path)| Side {
            ctx: &side.ctx,
            catalog: &side.catalog,
            results_path: path,
        })
        .collect();
    let mut all = match interruptible(runner::run_sides(&plan, &run_sides)).await {
        Ok(all) => all,
        Err(err) => {
            for path in &paths {
                if let Ok(mut partial) = results::read(path) {
                    partial.mark_interrupted(&format!("{err:#}"));
                    let _ = results::write_atomic(path, &partial);
                }
            }
            eprintln!("partial results (marked incomplete) in {}", out.display());
            return Err(err);
        }
    };
    // A revision's sources are an extracted tree without git: say which.
    for (results, side) in all.iter_mut().zip(&sides) {
        if let Some(rev) = &side.revision {
            results.environment.git_revision = rev.clone();
        }
    }
    for (results, path) in all.iter().zip(&paths) {
        results::write_atomic(path, results)?;
    }

    let mut options = Options {
        alpha: args.alpha,
        paired: true,
        ..Options::default()
    };
    options.thresholds_pct.extend(args.thresholds);
    let comparison = compare::compare(&paths[0], &all[0], &paths[1], &all[1], &options);
    let markdown = render_markdown(&comparison);
    results::write_atomic(&out.join("comparison.json"), &comparison)?;
    results::write_bytes_atomic(&out.join("comparison.md"), markdown.as_bytes())?;
    results::write_bytes_atomic(&out.join("comparison.html"), render_html(&comparison)?.as_bytes())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&comparison)?);
    } else {
        print!("{markdown}");
        println!("\nresults: {}", out.display());
    }
    Ok(comparison.exit_code())
}

/// Builds what a side needs: a revision's tree and binary, its guests.
fn prepare(
    project: &Path,
    cache: &Path,
    default_daprd: &daprd::Daprd,
    parts: &[Part],
    languages: &[&str],
    work_dir: &Path,
) -> Result<Prepared> {
    let mut ctx = RunContext {
        project: project.to_owned(),
        cache: cache.to_owned(),
        daprd: default_daprd.clone(),
        host_program: std::env::current_exe().context("locating the blueprint-bench binary")?,
        work_dir: work_dir.to_owned(),
        app_env: Vec::new(),
        pinning: None,
    };
    let mut revision = None;
    for part in parts {
        match part {
            Part::Daprd(path) => ctx.daprd = daprd::resolve(Some(path))?,
            Part::Host(path) => {
                if !path.is_file() {
                    bail!("host={}: no such file", path.display());
                }
                ctx.host_program = path.clone();
            }
            Part::Env(name, value) => ctx.app_env.push((name.clone(), value.clone())),
            Part::Rev(rev) => {
                let (sha, tree, binary) = build_revision(project, cache, rev)?;
                ctx.project = tree;
                // A host= of the same side wins over the revision's binary.
                if !parts.iter().any(|p| matches!(p, Part::Host(_))) {
                    ctx.host_program = binary;
                }
                revision = Some(sha);
            }
        }
    }
    let catalog = workloads::build_languages(&ctx.project, cache, languages)?;
    Ok(Prepared {
        ctx,
        catalog,
        revision,
    })
}

/// This project at `rev`: its tree extracted into the cache and its
/// `blueprint-bench` built there (release, one target folder shared by all
/// revisions so a second revision rebuilds only what differs), the binary
/// kept per revision. Returns the full commit, the tree and the binary.
fn build_revision(project: &Path, cache: &Path, rev: &str) -> Result<(String, PathBuf, PathBuf)> {
    let git = |args: &[&str]| -> Result<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(project)
            .args(args)
            .output()
            .context("running git")?;
        if !out.status.success() {
            bail!(
                "git {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let sha = git(&["rev-parse", "--verify", &format!("{rev}^{{commit}}")])
        .with_context(|| format!("rev={rev} is not a commit of {}", project.display()))?;
    let root = cache.join("ab");
    let tree = root.join("trees").join(&sha);
    let binary = root.join("bin").join(&sha).join("blueprint-bench");
    if !tree.is_dir() {
        let partial = root.join("trees").join(format!("{sha}.partial"));
        let _ = std::fs::remove_dir_all(&partial);
        std::fs::create_dir_all(&partial).with_context(|| format!("creating {}", partial.display()))?;
        let archive = Command::new("git")
            .arg("-C")
            .arg(project)
            .args(["archive", "--format=tar", &sha])
            .output()
            .context("running git archive")?;
        if !archive.status.success() {
            bail!(
                "git archive {sha}: {}",
                String::from_utf8_lossy(&archive.stderr).trim()
            );
        }
        let mut tar = Command::new("tar")
            .arg("-x")
            .arg("-C")
            .arg(&partial)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .context("running tar")?;
        use std::io::Write;
        tar.stdin
            .take()
            .context("tar's stdin")?
            .write_all(&archive.stdout)
            .context("extracting the revision")?;
        if !tar.wait()?.success() {
            bail!("tar could not extract revision {sha}");
        }
        std::fs::rename(&partial, &tree).with_context(|| format!("renaming into {}", tree.display()))?;
    }
    // Built before, here or by `ci/nightly.sh`, which keeps each passing
    // night's binary for the next night's gate.
    if binary.is_file() {
        return Ok((sha, tree, binary));
    }
    let target = root.join("target");
    let spinner = progress::spinner(format!(
        "building revision {} (cargo build --release; a first build takes about 25 minutes, a later one only what changed)",
        &sha[..12]
    ));
    let log = root.join(format!("build-{}.log", &sha[..12]));
    let log_file = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let status = Command::new("cargo")
        .current_dir(&tree)
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "blueprint-bench",
            "--bin",
            "blueprint-bench",
        ])
        .env("CARGO_TARGET_DIR", &target)
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .status()
        .context("running cargo")?;
    spinner.finish_and_clear();
    if !status.success() {
        bail!("building revision {sha} failed; its log is {}", log.display());
    }
    std::fs::create_dir_all(binary.parent().unwrap_or(&root))?;
    let tmp = binary.with_extension("partial");
    std::fs::copy(target.join("release/blueprint-bench"), &tmp)
        .with_context(|| format!("copying the built binary to {}", tmp.display()))?;
    std::fs::rename(&tmp, &binary)?;
    Ok((sha, tree, binary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_parse_and_bad_ones_say_what_was_expected() {
        assert_eq!(parse_part("daprd=/x/daprd"), Ok(Part::Daprd("/x/daprd".into())));
        assert_eq!(parse_part("rev=HEAD~1"), Ok(Part::Rev("HEAD~1".into())));
        assert_eq!(
            parse_part("env=BLUEPRINT_X=a=b"),
            Ok(Part::Env("BLUEPRINT_X".into(), "a=b".into()))
        );
        assert!(parse_part("daprd").unwrap_err().contains("KIND=VALUE"));
        assert!(parse_part("rev=").unwrap_err().contains("empty"));
        assert!(parse_part("env=NOVALUE").unwrap_err().contains("env=NAME=VALUE"));
        assert!(
            parse_part("image=x")
                .unwrap_err()
                .contains("unknown kind `image`")
        );
    }
}
