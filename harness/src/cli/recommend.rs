//! `blueprint-bench recommend`: rank blueprints for stated requirements from
//! a results file's measured figures.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use blueprint_analysis::recommend as recommend_defaults;
use blueprint_analysis::recommend::{Need, Requirements, recommend, render};
use blueprint_analysis::results;

/// `recommend`.
#[derive(Debug, clap::Args)]
pub struct RecommendArgs {
    /// The results file whose figures decide.
    pub results: PathBuf,
    /// Sustained rate the blueprint must serve, requests per second.
    #[arg(long)]
    pub rate: f64,
    /// Largest acceptable p99 latency, e.g. "10ms".
    #[arg(long, value_parser = humantime::parse_duration)]
    pub p99_budget: Duration,
    /// What the workload needs from Dapr (repeatable).
    #[arg(long, default_value = "none")]
    pub needs: Vec<Need>,
    /// Only consider this guest language.
    #[arg(long)]
    pub language: Option<String>,
    /// Largest acceptable CPU per request, microseconds.
    #[arg(long, value_name = "US_PER_REQ")]
    pub cpu_budget: Option<f64>,
    /// Largest acceptable error rate, as a fraction of all requests (0.001 =
    /// 0.1 %); cells above it are excluded with their rate.
    #[arg(long, value_name = "FRACTION", default_value_t = recommend_defaults::DEFAULT_MAX_ERROR_RATE)]
    pub max_error_rate: f64,
    /// The workload whose cells decide (default: the only one in the file,
    /// else `counter` for --needs state and `noop` for none).
    #[arg(long)]
    pub workload: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `recommend`.
///
/// # Errors
/// Bad requirements, unreadable results, or an unknown workload.
pub fn execute(args: RecommendArgs) -> Result<i32> {
    let req = requirements(
        args.rate,
        args.p99_budget,
        args.needs,
        args.language,
        args.cpu_budget,
        args.max_error_rate,
    )?;
    let results = results::read(&args.results)?;
    let rec = recommend(&args.results, &results, args.workload.as_deref(), &req)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rec)?);
    } else {
        print!("{}", render(&rec));
    }
    Ok(0)
}

/// Checks what a user asked (`recommend`, `report --rate …`) and puts it
/// together.
///
/// # Errors
/// A rate, budget or error rate that is not a positive finite number (or a
/// fraction, for the error rate).
pub fn requirements(
    rate: f64,
    p99_budget: Duration,
    needs: Vec<Need>,
    language: Option<String>,
    cpu_budget: Option<f64>,
    max_error_rate: f64,
) -> Result<Requirements> {
    if !(rate.is_finite() && rate > 0.0) {
        bail!("--rate must be a positive number of requests per second, got {rate}");
    }
    if p99_budget.is_zero() {
        bail!("--p99-budget must be more than zero");
    }
    if let Some(c) = cpu_budget
        && !(c.is_finite() && c > 0.0)
    {
        bail!("--cpu-budget must be a positive number of microseconds, got {c}");
    }
    if !(max_error_rate.is_finite() && (0.0..1.0).contains(&max_error_rate)) {
        bail!("--max-error-rate must be a fraction from 0 to below 1 (0.001 = 0.1 %), got {max_error_rate}");
    }
    Ok(Requirements {
        rate_rps: rate,
        p99_budget_us: p99_budget.as_secs_f64() * 1e6,
        needs,
        language,
        cpu_budget_us: cpu_budget,
        max_error_rate,
    })
}
