//! `blueprint-bench load URL`: drive any loopback HTTP endpoint.
//!
//! Flags become a [`Target`] and a [`LoadSpec`] in [`LoadArgs::plan`], which
//! checks every value before anything connects; a bad value is one line on
//! stderr and a non-zero exit.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use hyper::Method;
use hyper::header::{HeaderName, HeaderValue};
use serde::Serialize;

use super::{Arrival, LoadSpec, Mode, Target};
use crate::LoadSummary;

/// Arrival process of an open loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ArrivalArg {
    /// Every 1/rate seconds.
    Fixed,
    /// Exponential gaps with mean 1/rate.
    Poisson,
}

/// `load`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// The URL to drive (plain http:// to a loopback address).
    pub url: String,
    /// Request method.
    #[arg(short = 'm', long, default_value = "GET")]
    pub method: String,
    /// A request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Request body.
    #[arg(long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Request body from a file.
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// Connections: closed loop, each sends as fast as answers allow; open
    /// loop, the most requests in flight [default: 4 closed, 64 open].
    #[arg(short = 'c', long)]
    pub connections: Option<usize>,
    /// Open loop at this many requests per second (latency measured from
    /// each request's intended start).
    #[arg(short = 'r', long, value_name = "PER_SECOND", allow_negative_numbers = true)]
    pub rate: Option<f64>,
    /// Load threads, each with its own event loop and share of the
    /// connections [default: one per core, at most one per connection].
    #[arg(short = 't', long, default_value_t = 0, hide_default_value = true)]
    pub threads: usize,
    /// Pin the load threads to these CPUs (e.g. `0` or `0,1`), to keep them
    /// off the CPUs of the system under test.
    #[arg(long, value_name = "CPU,...", value_delimiter = ',')]
    pub cpus: Vec<usize>,
    /// Open-loop arrivals: fixed interval or Poisson.
    #[arg(long, value_enum, requires = "rate", default_value = "fixed")]
    pub arrival: ArrivalArg,
    /// Seed of the Poisson schedule.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Excluded warm-up before the measured window.
    #[arg(short = 'w', long, value_parser = parse_duration, default_value = "0s")]
    pub warmup: Duration,
    /// Measured window.
    #[arg(short = 'd', long, value_parser = parse_duration, default_value = "10s")]
    pub duration: Duration,
    /// Stop the measured window after this many requests.
    #[arg(short = 'n', long)]
    pub max_requests: Option<u64>,
    /// Time limit per request.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub timeout: Duration,
    /// After the window, how long in-flight requests may finish before they
    /// are abandoned (and counted as timeouts).
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    pub grace: Duration,
    /// Open loop: a send this much after its intended start counts as late.
    #[arg(long, value_parser = parse_duration, default_value = "1ms")]
    pub late_threshold: Duration,
    /// Open a new connection for every request (default: keep-alive).
    #[arg(long)]
    pub new_connection_per_request: bool,
    /// HTTP/2 without TLS, with prior knowledge (h2c).
    #[arg(long)]
    pub http2: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write an HdrHistogram interval log (tags `latency` and `service`).
    #[arg(long, value_name = "FILE")]
    pub hdr_log: Option<PathBuf>,
    /// Interval of the interval log.
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub hdr_interval: Duration,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("`{text}` is not a duration like 10s or 500ms: {e}"))
}

/// What [`LoadArgs::plan`] makes of the flags.
#[derive(Debug)]
pub struct Plan {
    /// What to send.
    pub target: Target,
    /// How.
    pub spec: LoadSpec,
}

impl LoadArgs {
    /// Checks the flags and reads the body file.
    ///
    /// # Errors
    /// A bad URL, method, header, rate or duration; an unreadable body file.
    pub fn plan(&self) -> Result<Plan> {
        let method = Method::from_bytes(self.method.as_bytes())
            .map_err(|_| anyhow::anyhow!("`{}` is not an HTTP method", self.method))?;
        let body = match (&self.body, &self.body_file) {
            (Some(text), _) => Bytes::from(text.clone()),
            (None, Some(path)) => Bytes::from(
                std::fs::read(path).with_context(|| format!("cannot read body file {}", path.display()))?,
            ),
            (None, None) => Bytes::new(),
        };
        let mut target = Target::new(&self.url, method, body)?;
        for header in &self.headers {
            target.headers.push(parse_header(header)?);
        }
        let mode = match self.rate {
            None => Mode::Closed,
            Some(rate) => {
                if !(rate.is_finite() && rate > 0.0) {
                    bail!("--rate must be a positive number of requests per second, got {rate}");
                }
                Mode::Open {
                    rate,
                    arrival: match self.arrival {
                        ArrivalArg::Fixed => Arrival::Fixed,
                        ArrivalArg::Poisson => Arrival::Poisson,
                    },
                    seed: self.seed,
                }
            }
        };
        let default_connections = if mode == Mode::Closed { 4 } else { 64 };
        let spec = LoadSpec {
            connections: self.connections.unwrap_or(default_connections),
            warmup: self.warmup,
            duration: self.duration,
            max_requests: self.max_requests,
            timeout: self.timeout,
            mode,
            grace: self.grace,
            late_threshold: self.late_threshold,
            http2: self.http2,
            new_connection_per_request: self.new_connection_per_request,
            interval: self.hdr_interval,
            threads: self.threads,
            cpus: self.cpus.clone(),
        };
        spec.validate()
            .map_err(|e| anyhow::anyhow!("{}", flag_names(&e.to_string())))?;
        Ok(Plan { target, spec })
    }
}

/// Names the flags in [`LoadSpec::validate`]'s messages.
fn flag_names(message: &str) -> String {
    for (word, flag) in [
        ("connections", "--connections"),
        ("duration", "--duration"),
        ("warm-up", "--warmup"),
        ("timeout", "--timeout"),
        ("max requests", "--max-requests"),
        ("rate", "--rate"),
        ("threads", "--threads"),
        ("the histogram log interval", "--hdr-interval"),
    ] {
        if let Some(rest) = message.strip_prefix(word) {
            return format!("{flag}{rest}");
        }
    }
    message.to_owned()
}

fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue)> {
    let (name, value) = text
        .split_once(':')
        .with_context(|| format!("header `{text}` is not `Name: value`"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| anyhow::anyhow!("header `{text}`: `{}` is not a header name", name.trim()))?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| anyhow::anyhow!("header `{text}`: the value is not a valid header value"))?;
    Ok((name, value))
}

/// The `--json` document: what was driven, and the summary.
#[derive(Debug, Serialize)]
struct JsonOutput<'a> {
    url: String,
    method: String,
    connections: usize,
    http: &'static str,
    new_connection_per_request: bool,
    #[serde(flatten)]
    summary: &'a LoadSummary,
}

/// Runs `blueprint-bench load`.
///
/// # Errors
/// Bad flags, an unreachable target, an unwritable log file.
pub async fn execute(args: LoadArgs) -> Result<i32> {
    let Plan { target, spec } = args.plan()?;
    // Fail on an unwritable log before the run, not after.
    if let Some(path) = &args.hdr_log {
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let report = tokio::select! {
        report = super::run(&target, &spec) => report?,
        _ = tokio::signal::ctrl_c() => bail!("interrupted"),
    };
    if let Some(path) = &args.hdr_log {
        super::hdr_log::write(path, &report)?;
    }
    if args.json {
        let summary = LoadSummary::from_report(&report)?;
        let out = JsonOutput {
            url: target.uri.to_string(),
            method: target.method.to_string(),
            connections: spec.connections,
            http: if spec.http2 { "2" } else { "1.1" },
            new_connection_per_request: spec.new_connection_per_request,
            summary: &summary,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", super::summary::render(&target, &spec, &report));
        if let Some(path) = &args.hdr_log {
            println!("\ninterval log: {}", path.display());
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: LoadArgs,
    }

    fn plan(args: &[&str]) -> Result<Plan> {
        let mut argv = vec!["load"];
        argv.extend_from_slice(args);
        Wrapper::try_parse_from(argv)?.args.plan()
    }

    #[test]
    fn flags_become_a_spec() {
        let p = plan(&[
            "http://127.0.0.1:9/x",
            "--rate",
            "250",
            "--arrival",
            "poisson",
            "-c",
            "7",
        ])
        .unwrap();
        assert!(matches!(
            p.spec.mode,
            Mode::Open {
                rate: 250.0,
                arrival: Arrival::Poisson,
                ..
            }
        ));
        assert_eq!(p.spec.connections, 7);
        let p = plan(&[
            "http://localhost:9/",
            "-H",
            "Host: other",
            "-H",
            "x-a: 1",
            "-H",
            "x-a: 2",
        ])
        .unwrap();
        assert_eq!(p.spec.mode, Mode::Closed);
        assert_eq!(p.spec.connections, 4);
        assert_eq!(p.target.headers.len(), 3);
        assert_eq!(
            plan(&["http://127.0.0.1:9/", "--rate", "10"])
                .unwrap()
                .spec
                .connections,
            64
        );
    }

    #[test]
    fn bad_flags_name_the_flag() {
        let err = |args: &[&str]| format!("{:#}", plan(args).unwrap_err());
        assert!(err(&["http://127.0.0.1:9/", "--rate", "0"]).starts_with("--rate must be a positive"));
        assert!(err(&["http://127.0.0.1:9/", "-c", "0"]).starts_with("--connections"));
        assert!(err(&["http://127.0.0.1:9/", "-d", "8d"]).starts_with("--duration must be at most"));
        assert!(err(&["http://127.0.0.1:9/", "--hdr-interval", "0s"]).starts_with("--hdr-interval"));
        assert!(err(&["http://127.0.0.1:9/", "-H", ": v"]).contains("not a header name"));
        assert!(err(&["http://127.0.0.1:9/", "--arrival", "poisson"]).contains("--rate"));
    }
}
