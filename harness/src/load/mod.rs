//! The load generator: drives one loopback HTTP endpoint and records every
//! request's latency in HdrHistograms.
//!
//! Closed loop: `connections` workers, each with its own keep-alive
//! connection, send the next request as soon as the previous answer is read.
//! Workers keep their own histograms and error tallies and merge them at the
//! end, so the hot loop does no shared writes but one atomic counter when a
//! request cap is set. Every loop is bounded by the deadline and the cap.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::net::ensure_loopback;

/// Highest latency a histogram tracks: one hour, in nanoseconds.
pub const MAX_TRACKABLE_NS: u64 = 3_600_000_000_000;

/// A new latency histogram in nanoseconds, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_TRACKABLE_NS, 3).expect("valid histogram bounds")
}

/// What to send.
#[derive(Debug, Clone)]
pub struct Target {
    /// Full URL (`http://127.0.0.1:port/path`).
    pub uri: Uri,
    /// Resolved loopback address.
    pub addr: SocketAddr,
    /// Method.
    pub method: Method,
    /// Extra headers.
    pub headers: Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>,
    /// Body of every request.
    pub body: Bytes,
}

impl Target {
    /// Parses `url` and checks that it is plain HTTP to a loopback address.
    ///
    /// # Errors
    /// A malformed URL, another scheme, a host name that is not loopback.
    pub fn new(url: &str, method: Method, body: Bytes) -> Result<Self> {
        let uri: Uri = url
            .parse()
            .with_context(|| format!("`{url}` is not a valid URL"))?;
        if uri.scheme_str() != Some("http") {
            bail!("`{url}`: only http:// URLs are supported");
        }
        let host = uri.host().with_context(|| format!("`{url}` has no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ip = if host == "localhost" {
            crate::net::LOOPBACK
        } else {
            host.parse()
                .with_context(|| format!("`{url}`: host `{host}` is neither an IP address nor localhost"))?
        };
        let addr = SocketAddr::new(ip, uri.port_u16().unwrap_or(80));
        ensure_loopback(&addr)?;
        Ok(Self {
            uri,
            addr,
            method,
            headers: Vec::new(),
            body,
        })
    }

    fn request(&self) -> Request<Full<Bytes>> {
        let mut req = Request::builder()
            .method(self.method.clone())
            .uri(self.uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(
                hyper::header::HOST,
                self.uri.authority().map_or("localhost", |a| a.as_str()),
            );
        for (name, value) in &self.headers {
            req = req.header(name, value);
        }
        req.body(Full::new(self.body.clone()))
            .expect("request parts are valid")
    }
}

/// How much load, for how long.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Concurrent connections.
    pub connections: usize,
    /// Excluded warm-up.
    pub warmup: Duration,
    /// Measured window.
    pub duration: Duration,
    /// Stop the measured window after this many requests.
    pub max_requests: Option<u64>,
    /// Time limit per request (counted as a `timeout` error).
    pub timeout: Duration,
}

/// What a load run measured (warm-up excluded).
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Requests completed in the measured window, errors included.
    pub requests: u64,
    /// Errors by kind (`http-503`, `connect`, `timeout`, …).
    pub errors: BTreeMap<String, u64>,
    /// Length of the measured window.
    pub elapsed: Duration,
    /// Latency of successful requests, nanoseconds.
    pub latency: Histogram<u64>,
}

impl LoadReport {
    /// Total errors.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Completed requests per second over the measured window.
    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

struct WorkerReport {
    requests: u64,
    errors: BTreeMap<String, u64>,
    latency: Histogram<u64>,
}

/// Runs a closed-loop load against `target`.
///
/// # Errors
/// Invalid spec; failures of individual requests are tallied, not returned.
pub async fn run(target: &Target, spec: &LoadSpec) -> Result<LoadReport> {
    if spec.connections == 0 {
        bail!("connections must be at least 1");
    }
    let target = Arc::new(target.clone());
    let started = Instant::now();
    let measure_from = started + spec.warmup;
    let deadline = measure_from
        .checked_add(spec.duration)
        .context("warm-up plus duration overflows the clock")?;
    let counted = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..spec.connections)
        .map(|_| {
            let (target, counted) = (target.clone(), counted.clone());
            let (timeout, cap) = (spec.timeout, spec.max_requests);
            tokio::spawn(worker(target, measure_from, deadline, timeout, cap, counted))
        })
        .collect();
    let mut report = LoadReport {
        requests: 0,
        errors: BTreeMap::new(),
        elapsed: Duration::ZERO,
        latency: new_histogram(),
    };
    for worker in workers {
        let w = worker.await.context("load worker panicked")?;
        report.requests += w.requests;
        for (kind, n) in w.errors {
            *report.errors.entry(kind).or_default() += n;
        }
        report.latency.add(&w.latency).context("merging histograms")?;
    }
    // The window ends at the deadline, or earlier when the cap stopped it.
    report.elapsed = Instant::now()
        .min(deadline)
        .saturating_duration_since(measure_from);
    Ok(report)
}

async fn connect(addr: SocketAddr) -> Result<http1::SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

async fn worker(
    target: Arc<Target>,
    measure_from: Instant,
    deadline: Instant,
    timeout: Duration,
    cap: Option<u64>,
    counted: Arc<AtomicU64>,
) -> WorkerReport {
    let mut report = WorkerReport {
        requests: 0,
        errors: BTreeMap::new(),
        latency: new_histogram(),
    };
    let mut sender: Option<http1::SendRequest<Full<Bytes>>> = None;
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let measuring = now >= measure_from;
        if measuring
            && let Some(cap) = cap
            && counted.fetch_add(1, Ordering::Relaxed) >= cap
        {
            break;
        }
        let start = Instant::now();
        let outcome = tokio::time::timeout(timeout, send_one(&target, &mut sender)).await;
        let latency = start.elapsed();
        let error = match outcome {
            Ok(Ok(status)) if status.is_success() => None,
            Ok(Ok(status)) => Some(format!("http-{}", status.as_u16())),
            Ok(Err(kind)) => {
                sender = None;
                Some(kind.to_owned())
            }
            Err(_) => {
                sender = None;
                Some("timeout".to_owned())
            }
        };
        if !measuring {
            continue;
        }
        report.requests += 1;
        match error {
            None => {
                let _ = report
                    .latency
                    .record((latency.as_nanos() as u64).clamp(1, MAX_TRACKABLE_NS));
            }
            Some(kind) => {
                *report.errors.entry(kind).or_default() += 1;
                // Do not spin on a dead endpoint.
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
    report
}

/// Sends one request on the worker's connection, reconnecting if needed, and
/// reads the whole body. Errors are short kind labels.
async fn send_one(
    target: &Target,
    sender: &mut Option<http1::SendRequest<Full<Bytes>>>,
) -> Result<hyper::StatusCode, &'static str> {
    if sender.as_ref().is_none_or(|s| s.is_closed()) {
        *sender = Some(connect(target.addr).await.map_err(|_| "connect")?);
    }
    let conn = sender.as_mut().expect("connected above");
    conn.ready().await.map_err(|_| "connection-closed")?;
    let resp = conn.send_request(target.request()).await.map_err(|_| "io")?;
    let status = resp.status();
    resp.into_body().collect().await.map_err(|_| "body")?;
    Ok(status)
}
