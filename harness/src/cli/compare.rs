//! `blueprint-bench compare`: two results files, a verdict per cell and figure.

use std::path::PathBuf;

use anyhow::{Result, bail};
use blueprint_analysis::compare::{
    Metric, Options, compare_files, parse_threshold, render_html, render_markdown,
};
use blueprint_analysis::results;

/// `compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The reference results file.
    pub baseline: PathBuf,
    /// The results file to judge.
    pub candidate: PathBuf,
    /// Noise threshold as METRIC=PERCENT, repeatable (metrics: throughput,
    /// p50, p99, cpu, rss, knee, errors; defaults 10, 10, 20, 10, 10, 25, 50;
    /// errors where the baseline had none regress whatever the threshold).
    #[arg(long = "threshold", value_name = "METRIC=PCT", value_parser = parse_threshold)]
    pub thresholds: Vec<(Metric, f64)>,
    /// Family-wise significance level: Mann-Whitney p-values, Holm-adjusted
    /// across every tested figure, must be below it.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Print JSON instead of Markdown.
    #[arg(long)]
    pub json: bool,
    /// Also write the comparison as one self-contained HTML page: every
    /// figure's change with its interval on a forest plot, regressions first.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// Runs `compare`: prints the comparison; exit code `EXIT_REGRESSION` (3)
/// on a regression, else `EXIT_INCOMPLETE` (4) when the candidate did not
/// run to its end.
///
/// # Errors
/// Unreadable files or a bad significance level.
pub fn execute(args: CompareArgs) -> Result<i32> {
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        bail!("--alpha must be between 0 and 1, got {}", args.alpha);
    }
    let mut options = Options {
        alpha: args.alpha,
        ..Options::default()
    };
    options.thresholds_pct.extend(args.thresholds);
    let comparison = compare_files(&args.baseline, &args.candidate, &options)?;
    if let Some(page) = &args.html {
        results::write_bytes_atomic(page, render_html(&comparison)?.as_bytes())?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&comparison)?);
    } else {
        print!("{}", render_markdown(&comparison));
    }
    Ok(comparison.exit_code())
}
