//! `blueprint-bench report`: Markdown and one self-contained HTML page.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use blueprint_analysis::recommend::{DEFAULT_MAX_ERROR_RATE, Need};
use blueprint_analysis::report::{Asked, HTML_NAME, MARKDOWN_NAME, default_out_dir, write};

/// `report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The results file.
    pub results: PathBuf,
    /// Output folder (default: `<results stem>.report/` next to the file).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the Markdown summary to stdout as well.
    #[arg(long)]
    pub print: bool,
    /// Print JSON (paths and charts) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also write screenshots of the page's first screen at desktop
    /// (1400 × 900) and narrow (420 × 900) widths next to it, taken by
    /// headless Chromium (`$CHROMIUM`, or `chromium` on PATH).
    #[arg(long)]
    pub screenshots: bool,
    /// Answer `recommend`'s question at the top of the report: the rate the
    /// blueprint must serve, requests per second (with --p99-budget).
    #[arg(long, requires = "p99_budget", help_heading = "Requirements (as `recommend`)")]
    pub rate: Option<f64>,
    /// Largest acceptable p99 latency, e.g. "10ms" (with --rate).
    #[arg(long, value_parser = humantime::parse_duration, requires = "rate", help_heading = "Requirements (as `recommend`)")]
    pub p99_budget: Option<Duration>,
    /// What the workload needs from Dapr (repeatable).
    #[arg(
        long,
        default_value = "none",
        requires = "rate",
        help_heading = "Requirements (as `recommend`)"
    )]
    pub needs: Vec<Need>,
    /// Only consider this guest language.
    #[arg(long, requires = "rate", help_heading = "Requirements (as `recommend`)")]
    pub language: Option<String>,
    /// Largest acceptable CPU per request, microseconds.
    #[arg(
        long,
        value_name = "US_PER_REQ",
        requires = "rate",
        help_heading = "Requirements (as `recommend`)"
    )]
    pub cpu_budget: Option<f64>,
    /// Largest acceptable error rate, a fraction of all requests.
    #[arg(long, value_name = "FRACTION", default_value_t = DEFAULT_MAX_ERROR_RATE, help_heading = "Requirements (as `recommend`)")]
    pub max_error_rate: f64,
    /// The workload the requirements are about (default as `recommend`).
    #[arg(long, requires = "rate", help_heading = "Requirements (as `recommend`)")]
    pub workload: Option<String>,
}

/// The screenshots `--screenshots` writes: file name, width, height.
pub const SCREENSHOTS: [(&str, u32, u32); 2] = [
    ("screenshot-desktop.png", 1400, 900),
    ("screenshot-narrow.png", 420, 900),
];

/// Headless Chromium: `$CHROMIUM`, else `chromium` or `chromium-browser` on
/// PATH.
///
/// # Errors
/// None of them is there (with the fix).
pub fn chromium() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Ok(PathBuf::from(path));
    }
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!(
        "screenshots need headless Chromium, which is not on PATH: install it with \
         `apt-get install -y chromium`, or point $CHROMIUM at a binary"
    )
}

/// Takes a screenshot of `page` at `width` × `height` into `shot`, with the
/// network off (the page must not need it). Chromium is stopped after a
/// minute.
///
/// # Errors
/// Chromium fails, takes too long, or writes no picture.
pub fn screenshot(page: &Path, shot: &Path, width: u32, height: u32) -> Result<()> {
    let profile = tempfile::tempdir().context("a profile folder for chromium")?;
    let _ = std::fs::remove_file(shot);
    let mut child = Command::new(chromium()?)
        .args([
            "--headless",
            "--no-sandbox", // CI containers run as root
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            // Nothing may be fetched: a proxy that is not there.
            "--proxy-server=127.0.0.1:9",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting chromium")?;
    let started = Instant::now();
    while child.try_wait()?.is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            bail!("chromium took more than 60 s to screenshot {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if !shot.is_file() {
        bail!(
            "chromium wrote no screenshot of {} at {}",
            page.display(),
            shot.display()
        );
    }
    Ok(())
}

/// Runs `report`.
///
/// # Errors
/// See [`write`].
pub fn execute(args: ReportArgs) -> Result<i32> {
    let asked = match (args.rate, args.p99_budget) {
        (Some(rate), Some(p99)) => Some(Asked {
            workload: args.workload.clone(),
            requirements: super::recommend::requirements(
                rate,
                p99,
                args.needs.clone(),
                args.language.clone(),
                args.cpu_budget,
                args.max_error_rate,
            )?,
        }),
        _ => None,
    };
    let out = args.out.unwrap_or_else(|| default_out_dir(&args.results));
    let report = write(&args.results, &out, asked.as_ref())?;
    let (md, html) = (out.join(MARKDOWN_NAME), out.join(HTML_NAME));
    let mut shots = Vec::new();
    if args.screenshots {
        let page = std::fs::canonicalize(&html).with_context(|| format!("finding {}", html.display()))?;
        for (name, width, height) in SCREENSHOTS {
            let shot = page.with_file_name(name);
            screenshot(&page, &shot, width, height)?;
            shots.push(shot);
        }
    }
    if args.json {
        let value = serde_json::json!({
            "markdown": md,
            "html": html,
            "charts": report.charts,
            "screenshots": shots,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(0);
    }
    if args.print {
        print!("{}", report.markdown);
        println!();
    }
    println!(
        "markdown: {}\nhtml:     {} ({} charts)",
        md.display(),
        html.display(),
        report.charts.len()
    );
    for shot in &shots {
        println!("screenshot: {}", shot.display());
    }
    Ok(0)
}
