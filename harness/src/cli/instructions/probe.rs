//! `instructions-probe` (hidden): the program `instructions` runs under
//! callgrind. It compiles the guest, creates instances and handles requests,
//! each phase in one `#[inline(never)]` function named `blueprint_count_*`
//! whose return makes callgrind write a profile part (`--dump-after`).
//!
//! With `--dapr-grpc-port` the guest's Dapr calls go to a real daprd over
//! gRPC, through the embedded blueprint host's client ([`GrpcDapr`]), and
//! each call is a part of its own: a marker just before it and the call
//! itself both end a part. Callgrind writes a `--dump-after` part for the
//! calling thread only, so the client runs on the calling thread too
//! ([`GrpcDapr::on_calling_thread`]: its HTTP/2 connection and timers are
//! driven while a call blocks). The host proper serves with a multi-thread
//! runtime; its hand-offs between threads are not in these counts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use blueprint_host::dapr_grpc::GrpcDapr;
use blueprint_host::table as runtimes;
use blueprint_runtime_api::{
    DaprHost, HostResult, Instance, Module, NoDapr, Precondition, Runtime, RuntimeConfig, RuntimeError,
    StateEntry,
};
use serde::{Deserialize, Serialize};

use super::INSTANCES_COUNTED;

/// How long one Dapr call may take: generous, since the probe runs some
/// fifty times slower under callgrind than natively.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// The key the probe reads before the first request, to open the gRPC
/// channel outside every counted phase.
const WARM_UP_KEY: &str = "blueprint-count-warm-up";

/// `instructions-probe`.
#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// The runtime.
    #[arg(long)]
    pub runtime: String,
    /// The guest module (guest ABI v1).
    #[arg(long)]
    pub module: std::path::PathBuf,
    /// The request body.
    #[arg(long)]
    pub input_file: std::path::PathBuf,
    /// The answer the first request must give; none: not checked.
    #[arg(long)]
    pub expect_file: Option<std::path::PathBuf>,
    /// Requests after the first.
    #[arg(long)]
    pub requests: u32,
    /// daprd's gRPC port on loopback, for workloads that call Dapr (its
    /// token, if any, in `DAPR_API_TOKEN`). Such a workload has state, so
    /// its later answers may differ from the first (a counter counts on);
    /// otherwise each must answer alike.
    #[arg(long)]
    pub dapr_grpc_port: Option<u16>,
    /// Where to write what the probe ran (engine, version, host calls).
    #[arg(long)]
    pub report: std::path::PathBuf,
}

/// What the probe writes next to callgrind's parts.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ProbeReport {
    pub engine: String,
    pub version: String,
    /// Threads alive when compiling started. Callgrind numbers threads from
    /// 1 in the order they start (a number is reused only after its thread
    /// ended, and none has by then), so every higher number is a thread the
    /// compiler started (Wasmer's rayon pools): nothing else starts one
    /// after it.
    pub threads_before_compile: u32,
    /// The kind of each Dapr call, in the order they were made.
    pub host_calls: Vec<String>,
}

/// Runs the phases once each; exit code 0 when every answer was right.
///
/// # Errors
/// An unavailable runtime, a module that does not compile or instantiate,
/// a daprd that does not answer, a failed request or a wrong answer.
pub fn probe(args: ProbeArgs) -> Result<i32> {
    let wasm = std::fs::read(&args.module).with_context(|| format!("reading {}", args.module.display()))?;
    let input =
        std::fs::read(&args.input_file).with_context(|| format!("reading {}", args.input_file.display()))?;
    let expected = match &args.expect_file {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?),
        None => None,
    };
    let config = RuntimeConfig {
        counting: true,
        ..RuntimeConfig::default()
    };
    let runtime = runtimes::create(&args.runtime, &config)?;
    let counted = match args.dapr_grpc_port {
        Some(port) => Some(Arc::new(CountedDapr::new(GrpcDapr::on_calling_thread(
            port,
            CALL_TIMEOUT,
        )?))),
        None => None,
    };
    let host: Arc<dyn DaprHost> = match &counted {
        Some(dapr) => dapr.clone(),
        None => Arc::new(NoDapr),
    };
    let threads_before_compile = live_threads()?;

    blueprint_count_start();
    let module = blueprint_count_compile(&*runtime, &wasm).context("compile")?;
    blueprint_count_instantiate(&*module, &host, INSTANCES_COUNTED).context("instantiate")?;
    let mut instance = module.instantiate(host).context("instantiate")?;
    if let Some(dapr) = &counted {
        dapr.warm_up()?;
    }
    blueprint_count_ready();
    let first = blueprint_count_first_request(&mut *instance, &input).context("first request")?;
    if let Some(want) = &expected
        && first != *want
    {
        bail!(
            "the first answer differs from the vector's: {:?}",
            String::from_utf8_lossy(&first)
        );
    }
    let want = args.dapr_grpc_port.is_none().then_some(first.as_slice());
    let wrong = blueprint_count_requests(&mut *instance, &input, want, args.requests).context("requests")?;
    if wrong > 0 {
        bail!("{wrong} of {} answers differ from the first", args.requests);
    }
    let info = runtime.info();
    let report = ProbeReport {
        engine: info.engine,
        version: info.version,
        threads_before_compile,
        host_calls: counted.map(|d| d.calls()).unwrap_or_default(),
    };
    std::fs::write(&args.report, serde_json::to_vec(&report)?)
        .with_context(|| format!("writing {}", args.report.display()))?;
    Ok(0)
}

/// Threads of this process now (`/proc/self/task`).
fn live_threads() -> Result<u32> {
    let tasks = std::fs::read_dir("/proc/self/task").context("reading /proc/self/task")?;
    Ok(u32::try_from(tasks.count())?)
}

// The counted phases. Each must stay one symbol of its own (never inlined).

// The markers' bodies differ (each its own constant) so that no
// optimisation folds them into one symbol: callgrind names a part by the
// function whose return wrote it.

/// Ends the part before `compile` (start-up, the engine's creation).
#[inline(never)]
fn blueprint_count_start() {
    std::hint::black_box(1_u32);
}

#[inline(never)]
fn blueprint_count_compile(runtime: &dyn Runtime, wasm: &[u8]) -> Result<Arc<dyn Module>, RuntimeError> {
    runtime.compile(std::hint::black_box(wasm))
}

/// `instances` instances created and dropped, one at a time.
#[inline(never)]
fn blueprint_count_instantiate(
    module: &dyn Module,
    host: &Arc<dyn DaprHost>,
    instances: u32,
) -> Result<(), RuntimeError> {
    for _ in 0..instances {
        drop(module.instantiate(std::hint::black_box(host.clone()))?);
    }
    Ok(())
}

/// Ends the part that creates the instance the requests go to (not counted).
#[inline(never)]
fn blueprint_count_ready() {
    std::hint::black_box(2_u32);
}

#[inline(never)]
fn blueprint_count_first_request(instance: &mut dyn Instance, input: &[u8]) -> Result<Vec<u8>> {
    Ok(instance.handle(std::hint::black_box(input))?)
}

/// `requests` more requests; how many answers differed from `want` (the
/// comparison is counted too: a few instructions per request, the same every
/// time).
#[inline(never)]
fn blueprint_count_requests(
    instance: &mut dyn Instance,
    input: &[u8],
    want: Option<&[u8]>,
    requests: u32,
) -> Result<u32> {
    let mut wrong = 0;
    for _ in 0..requests {
        let answer = instance.handle(std::hint::black_box(input))?;
        if want.is_some_and(|w| answer != w) {
            wrong += 1;
        }
    }
    Ok(wrong)
}

/// Ends the guest's part before a host call.
#[inline(never)]
fn blueprint_count_host_call_begin() {
    std::hint::black_box(3_u32);
}

/// One host call: its part ends when this returns.
#[inline(never)]
fn blueprint_count_host_call(call: &mut dyn FnMut()) {
    call();
}

/// Dapr over gRPC, each call between the two markers above, its kind
/// recorded in order (the command matches them to callgrind's parts).
struct CountedDapr {
    inner: GrpcDapr,
    calls: Mutex<Vec<&'static str>>,
}

impl CountedDapr {
    fn new(inner: GrpcDapr) -> Self {
        Self {
            inner,
            calls: Mutex::new(Vec::new()),
        }
    }

    /// Opens the channel to daprd (and its HTTP/2 settings exchange) in
    /// the part no phase counts, just before the first request: a channel
    /// opened before compiling sat idle, undriven, for the minutes a Go
    /// guest compiles under callgrind, and daprd had dropped it by then
    /// ("transport error"). A call that finds its channel dropped fails and
    /// the next reconnects, so a failure is tried once more.
    fn warm_up(&self) -> Result<()> {
        let read = || self.inner.state_get("statestore", WARM_UP_KEY);
        read()
            .or_else(|_| read())
            .map(drop)
            .map_err(|e| anyhow::anyhow!("daprd: {e}"))
    }

    fn calls(&self) -> Vec<String> {
        self.calls
            .lock()
            .map(|c| c.iter().map(|k| (*k).to_owned()).collect())
            .unwrap_or_default()
    }

    fn counted<R>(&self, kind: &'static str, call: impl FnOnce(&GrpcDapr) -> R) -> R {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(kind);
        }
        let mut call = Some(call);
        let mut out = None;
        blueprint_count_host_call_begin();
        blueprint_count_host_call(&mut || {
            if let Some(call) = call.take() {
                out = Some(call(&self.inner));
            }
        });
        out.expect("the host call ran")
    }
}

impl DaprHost for CountedDapr {
    fn state_get(&self, store: &str, key: &str) -> HostResult<Option<StateEntry>> {
        self.counted("state_get", |d| d.state_get(store, key))
    }

    fn state_get_bulk(&self, store: &str, keys: &[&str]) -> HostResult<Vec<Option<StateEntry>>> {
        self.counted("state_get_bulk", |d| d.state_get_bulk(store, keys))
    }

    fn state_set(&self, store: &str, key: &str, value: &[u8], check: Precondition<'_>) -> HostResult<()> {
        self.counted("state_set", |d| d.state_set(store, key, value, check))
    }

    fn state_delete(&self, store: &str, key: &str, check: Precondition<'_>) -> HostResult<()> {
        self.counted("state_delete", |d| d.state_delete(store, key, check))
    }

    fn publish(&self, pubsub: &str, topic: &str, data: &[u8], content_type: &str) -> HostResult<()> {
        self.counted("publish", |d| d.publish(pubsub, topic, data, content_type))
    }

    fn invoke_binding(&self, name: &str, operation: &str, data: &[u8]) -> HostResult<Vec<u8>> {
        self.counted("invoke_binding", |d| d.invoke_binding(name, operation, data))
    }

    // Not Dapr calls: a guest's log line, and outbound HTTP (which the
    // embedded blueprint's host refuses).
    blueprint_runtime_api::forward_dapr_host!(self.inner => log, http_request);
}
