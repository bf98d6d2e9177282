//! The HTTP server of `runtimes/HOST.md`: routes, request bodies, status
//! codes, `/info` and `/stats`, one guest call per request.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use blueprint_runtime_api::{
    CallError, DaprHost, HostError, HostResult, Instance, Limits, LogLevel, Module, NoDapr, OutboundRequest,
    OutboundResponse, Precondition, RuntimeConfig, RuntimeInfo, StateEntry,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use blueprint_load::net::ensure_loopback;

use crate::events::{self, EventLog, Outcome};
use crate::{dapr_grpc, outbound_http, state_cache, table};

/// Largest request body the host accepts; a larger one gets 413.
pub const MAX_BODY: usize = 64 << 20;

/// `blueprint-bench host`: flags as in `runtimes/HOST.md`.
#[derive(Debug, Clone, clap::Args)]
pub struct HostArgs {
    /// Loopback address to serve on.
    #[arg(long)]
    pub listen: SocketAddr,
    /// daprd's gRPC port; without it guests get NOT_PERMITTED from `dapr` imports.
    #[arg(long)]
    pub dapr_grpc_port: Option<u16>,
    /// daprd's HTTP port, for the `http` flavour's outbound import; without
    /// it that import answers NOT_PERMITTED.
    #[arg(long)]
    pub dapr_http_port: Option<u16>,
    /// Puts a read-through state cache in front of Dapr (`embedded+cache`):
    /// entries live this many milliseconds.
    #[arg(long)]
    pub state_cache_ttl_ms: Option<u64>,
    /// Most keys the state cache holds.
    #[arg(long, default_value_t = 10_000, requires = "state_cache_ttl_ms")]
    pub state_cache_entries: usize,
    /// A module to serve, as NAME=PATH (repeatable).
    #[arg(long = "module", value_parser = parse_module, required = true)]
    pub modules: Vec<(String, PathBuf)>,
    /// Runtime adapter.
    #[arg(long, default_value = "wasmtime")]
    pub runtime: String,
    /// Memory cap per instance, in 64 KiB pages.
    #[arg(long, default_value_t = Limits::default().max_memory_pages)]
    pub max_memory_pages: u32,
    /// Time limit per call, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub call_timeout_ms: u64,
    /// A fresh instance per request, or a pool of warm instances reused
    /// across requests.
    #[arg(long, value_enum, default_value_t = Instances::Fresh)]
    pub instances: Instances,
    /// How daprd calls this app: `http` (the routes below only) or `grpc`
    /// (also Dapr's `AppCallback` service, on the same port over h2c).
    #[arg(long, value_enum, default_value_t = AppProtocol::Http)]
    pub app_protocol: AppProtocol,
    /// Test knob, never for measurements: sleep this many microseconds before
    /// each workload request, so `compare`'s tests can make a deliberately
    /// slower candidate of the same build. Hidden from --help; set through
    /// the environment it reaches hosts that a run starts.
    #[arg(long, env = ADDED_LATENCY_ENV, default_value_t = 0, hide = true)]
    pub added_latency_us: u64,
    /// Test knob, never for measurements: add to that sleep a length drawn
    /// once per process, log-uniformly over the three decades below this many
    /// microseconds, so each trial (a fresh host) runs at a different speed:
    /// the noisy cell that adaptive trials are tested on. Hidden from --help; set through the
    /// environment.
    #[arg(long, env = ADDED_LATENCY_SPREAD_ENV, default_value_t = 0, hide = true)]
    pub added_latency_spread_us: u64,
    /// Test knob, never for measurements: before each workload request, run
    /// this many rounds of a fixed computation (CPU work, not a sleep), so a
    /// same-run A/B can be given a candidate that costs a known fraction more
    /// CPU per request. Hidden from --help; set through the environment.
    #[arg(long, env = ADDED_WORK_ENV, default_value_t = 0, hide = true)]
    pub added_work_rounds: u64,
    /// The input an input-binding firing that carries no data runs the
    /// workload on (a `bindings.cron` firing carries none); a file of at
    /// most the body limit.
    #[arg(long)]
    pub binding_input: Option<PathBuf>,
    /// The token every caller but `/healthz` must send as `dapr-api-token`
    /// (401 otherwise): `APP_API_TOKEN` from the environment, the variable
    /// daprd reads it from. Never a flag, so it stays out of process lists.
    #[arg(skip = crate::token::app_api_token_from_env())]
    pub app_api_token: Option<String>,
}

/// How requests get the instance they run on (`runtimes/HOST.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Instances {
    /// A new instance per request, dropped after it.
    Fresh,
    /// Warm instances kept in a pool; one goes back only after a request it
    /// answered successfully, since a trap, a time-out, a guest error or a
    /// failed host call may leave its state half-updated.
    Reuse,
}

/// How daprd calls the app (`runtimes/HOST.md`, "gRPC app channel").
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AppProtocol {
    /// The HTTP routes only.
    Http,
    /// The HTTP routes, and Dapr's `AppCallback` gRPC service for requests
    /// whose content type is `application/grpc` (h2c, same port).
    Grpc,
}

/// The environment variable of the hidden `--added-latency-us` test knob.
pub const ADDED_LATENCY_ENV: &str = "BLUEPRINT_TEST_ADDED_LATENCY_US";

/// The environment variable of the hidden `--added-latency-spread-us` test knob.
pub const ADDED_LATENCY_SPREAD_ENV: &str = "BLUEPRINT_TEST_ADDED_LATENCY_SPREAD_US";

/// The test knobs' added sleep: `base_us` plus a draw over the three decades
/// below `spread_us` (`spread_us / 1000` to `spread_us`), log-uniform, so
/// trials differ by orders of magnitude rather than by a few per cent, and
/// by more than a busy machine's own noise. New for each process:
/// `RandomState` is seeded per process.
fn added_latency(base_us: u64, spread_us: u64) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let draw = match spread_us {
        0 => 0,
        s => {
            let bits = std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish();
            let u = (bits >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
            (s as f64 * 1000f64.powf(u - 1.0)) as u64
        }
    };
    Duration::from_micros(base_us.saturating_add(draw))
}

/// The environment variable of the hidden `--added-work-rounds` test knob.
pub const ADDED_WORK_ENV: &str = "BLUEPRINT_TEST_ADDED_WORK";

/// `rounds` rounds of a computation the optimiser cannot drop: the added
/// work of the test knob, the same instructions on every request.
#[doc(hidden)]
pub fn added_work(rounds: u64) -> u64 {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..rounds {
        // xorshift with a dependency chain: no vectorising, no skipping.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = x.wrapping_add(i);
    }
    std::hint::black_box(x)
}

fn parse_module(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => {
            Ok((name.to_owned(), PathBuf::from(path)))
        }
        _ => Err(format!("expected NAME=PATH, got `{s}`")),
    }
}

/// What `GET /info` reports about one module.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModuleInfo {
    /// Where it was loaded from.
    pub path: PathBuf,
    /// Its size on disk.
    pub size_bytes: u64,
    /// How long compiling took.
    pub compile_ns: u64,
}

impl ModuleInfo {
    /// A module read from `path` as `wasm` whose compiling began at `started`.
    fn compiled(path: &Path, wasm: &[u8], started: Instant) -> Self {
        Self {
            path: path.to_owned(),
            size_bytes: wasm.len() as u64,
            compile_ns: started.elapsed().as_nanos() as u64,
        }
    }
}

/// `GET /info`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostInfo {
    /// The adapter.
    pub runtime: RuntimeInfo,
    /// Modules by name.
    pub modules: BTreeMap<String, ModuleInfo>,
}

/// `GET /stats` for one module: cumulative phase counters (`runtimes/HOST.md`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleStats {
    /// Requests that reached instantiation.
    pub requests: u64,
    /// Time spent instantiating, summed.
    pub instantiate_ns_total: u64,
    /// Time spent in the guest call (host calls included), summed.
    pub call_ns_total: u64,
    /// Instantiate + call of the first request; 0 before any.
    pub first_call_ns: u64,
    /// Instances created (every request's, with `--instances fresh`).
    #[serde(default)]
    pub instances_created: u64,
    /// Requests served on a warm instance from the pool.
    #[serde(default)]
    pub instances_reused: u64,
}

/// `GET /stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostStats {
    /// Counters by module name.
    pub modules: BTreeMap<String, ModuleStats>,
    /// The state cache's counters, when the host runs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_cache: Option<state_cache::CacheStats>,
}

/// The request-path side of [`ModuleStats`]: relaxed atomics.
#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    instantiate_ns_total: AtomicU64,
    call_ns_total: AtomicU64,
    first_call_ns: AtomicU64,
    instances_created: AtomicU64,
    instances_reused: AtomicU64,
}

impl Counters {
    fn record(&self, instantiate: Duration, call: Duration) {
        let (i, c) = (instantiate.as_nanos() as u64, call.as_nanos() as u64);
        if self.requests.fetch_add(1, Ordering::Relaxed) == 0 {
            self.first_call_ns.store((i + c).max(1), Ordering::Relaxed);
        }
        self.instantiate_ns_total.fetch_add(i, Ordering::Relaxed);
        self.call_ns_total.fetch_add(c, Ordering::Relaxed);
    }

    fn snapshot(&self) -> ModuleStats {
        ModuleStats {
            requests: self.requests.load(Ordering::Relaxed),
            instantiate_ns_total: self.instantiate_ns_total.load(Ordering::Relaxed),
            call_ns_total: self.call_ns_total.load(Ordering::Relaxed),
            first_call_ns: self.first_call_ns.load(Ordering::Relaxed),
            instances_created: self.instances_created.load(Ordering::Relaxed),
            instances_reused: self.instances_reused.load(Ordering::Relaxed),
        }
    }
}

/// Warm instances of one module waiting for a request (`--instances reuse`).
/// It never holds more than the most requests that ran at once: each
/// instance in it was created for a request and put back after it.
#[derive(Default)]
struct Pool {
    idle: Mutex<Vec<Warm>>,
}

/// A pooled instance and the host its imports call, which notes failed
/// host calls.
struct Warm {
    instance: Box<dyn Instance>,
    host: Arc<Watched>,
}

impl Pool {
    fn take(&self) -> Option<Warm> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop()
    }

    fn put(&self, warm: Warm) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(warm);
    }
}

/// The host of a pooled instance: every call goes to `inner`, and a call
/// that could not reach the sidecar is noted, so the request's instance is
/// dropped even when the guest made a success of it. An etag mismatch or a
/// refusal is an answer, not a failure.
struct Watched {
    inner: Arc<dyn DaprHost>,
    failed: AtomicBool,
}

impl Watched {
    fn note<T>(&self, result: Result<T, HostError>) -> Result<T, HostError> {
        if let Err(HostError::Unavailable(_)) = &result {
            self.failed.store(true, Ordering::Relaxed);
        }
        result
    }
}

impl DaprHost for Watched {
    fn state_get(&self, store: &str, key: &str) -> HostResult<Option<StateEntry>> {
        self.note(self.inner.state_get(store, key))
    }

    fn state_get_bulk(&self, store: &str, keys: &[&str]) -> HostResult<Vec<Option<StateEntry>>> {
        self.note(self.inner.state_get_bulk(store, keys))
    }

    fn state_set(&self, store: &str, key: &str, value: &[u8], check: Precondition<'_>) -> HostResult<()> {
        self.note(self.inner.state_set(store, key, value, check))
    }

    fn state_delete(&self, store: &str, key: &str, check: Precondition<'_>) -> HostResult<()> {
        self.note(self.inner.state_delete(store, key, check))
    }

    fn publish(&self, pubsub: &str, topic: &str, data: &[u8], content_type: &str) -> HostResult<()> {
        self.note(self.inner.publish(pubsub, topic, data, content_type))
    }

    fn invoke_binding(&self, name: &str, operation: &str, data: &[u8]) -> HostResult<Vec<u8>> {
        self.note(self.inner.invoke_binding(name, operation, data))
    }

    fn log(&self, level: LogLevel, message: &str) {
        self.inner.log(level, message);
    }

    fn http_request(&self, request: &OutboundRequest<'_>) -> HostResult<OutboundResponse> {
        self.note(self.inner.http_request(request))
    }
}

/// A `wasi:http/proxy` component and its counters.
#[derive(Clone)]
struct Proxy {
    component: blueprint_runtime_wasmtime::proxy::ProxyComponent,
    counters: Arc<Counters>,
}

/// What serves one module: its compiled form, its counters and, when
/// instances are reused, its pool.
#[derive(Clone)]
pub(crate) struct Workload {
    module: Arc<dyn Module>,
    counters: Arc<Counters>,
    pool: Option<Arc<Pool>>,
}

impl Workload {
    fn new(module: Arc<dyn Module>, instances: Instances) -> Self {
        Self {
            module,
            counters: Arc::default(),
            pool: (instances == Instances::Reuse).then(Arc::default),
        }
    }
}

pub(crate) struct Served {
    pub(crate) modules: BTreeMap<String, Workload>,
    /// `wasi:http/proxy` components by name (`standalone-wasi-http`): they
    /// take the whole request at `POST /<name>`.
    proxies: BTreeMap<String, Proxy>,
    dapr: Arc<dyn DaprHost>,
    cache: Option<Arc<state_cache::StateCache>>,
    info: HostInfo,
    added_latency: Duration,
    added_work_rounds: u64,
    call_timeout: Duration,
    pub(crate) app_api_token: Option<String>,
    pub(crate) events: EventLog,
    pub(crate) subscriber: events::Subscriber,
    /// `--binding-input`'s bytes (empty without it).
    pub(crate) binding_input: Bytes,
}

/// Compiles the modules, then serves until SIGTERM/SIGINT.
///
/// # Errors
/// A non-loopback address, an unavailable runtime, a module that does not
/// compile or lacks the ABI, a port in use.
pub async fn serve(args: HostArgs) -> Result<()> {
    ensure_loopback(&args.listen)?;
    check_unique(&args.modules)?;
    let config = RuntimeConfig {
        limits: Limits {
            max_memory_pages: args.max_memory_pages,
            call_timeout: Duration::from_millis(args.call_timeout_ms),
        },
        ..RuntimeConfig::default()
    };
    // `native` serves the Rust workloads compiled into this binary: the
    // floor without Wasm, behind the same server and Dapr client.
    let runtime = match args.runtime.as_str() {
        table::NATIVE => None,
        name => Some(table::create(name, &config)?),
    };
    let runtime_handle = tokio::runtime::Handle::current();
    let mut dapr: Arc<dyn DaprHost> = match args.dapr_grpc_port {
        Some(port) => {
            let grpc = dapr_grpc::GrpcDapr::new(port, runtime_handle.clone(), config.limits.call_timeout)?;
            // Connects while the modules compile (or as soon as daprd, which
            // may start after us, listens), not on the first request.
            grpc.connect_in_background();
            Arc::new(grpc)
        }
        None => Arc::new(NoDapr),
    };
    let cache = args.state_cache_ttl_ms.map(|ttl| {
        Arc::new(state_cache::StateCache::new(
            dapr.clone(),
            Duration::from_millis(ttl),
            args.state_cache_entries,
        ))
    });
    if let Some(cache) = &cache {
        dapr = cache.clone();
    }
    if let Some(port) = args.dapr_http_port {
        dapr = Arc::new(outbound_http::WithOutbound::new(dapr, port, runtime_handle));
    }
    let mut served = Served {
        modules: BTreeMap::new(),
        proxies: BTreeMap::new(),
        dapr,
        cache,
        info: HostInfo {
            runtime: runtime
                .as_ref()
                .map_or_else(blueprint_runtime_native::info, |r| r.info()),
            modules: BTreeMap::new(),
        },
        added_latency: added_latency(args.added_latency_us, args.added_latency_spread_us),
        added_work_rounds: args.added_work_rounds,
        call_timeout: config.limits.call_timeout,
        app_api_token: args.app_api_token.clone(),
        events: EventLog::default(),
        subscriber: events::Subscriber::default(),
        binding_input: match &args.binding_input {
            None => Bytes::new(),
            Some(path) => read_binding_input(path)?,
        },
    };
    if args.added_work_rounds > 0 {
        tracing::warn!(
            "test knob: {} rounds of added work before every request ({ADDED_WORK_ENV}); figures are not real",
            args.added_work_rounds
        );
    }
    if !served.added_latency.is_zero() {
        tracing::warn!(
            "test knob: sleeping {} µs before every request ({ADDED_LATENCY_ENV}, {ADDED_LATENCY_SPREAD_ENV}); figures are not real",
            served.added_latency.as_micros()
        );
    }
    let mut proxy_engine = None;
    for (name, path) in &args.modules {
        let Some(runtime) = &runtime else {
            let module = blueprint_runtime_native::module(name)?;
            served.info.modules.insert(
                name.clone(),
                ModuleInfo {
                    path: path.clone(),
                    size_bytes: 0,
                    compile_ns: 0,
                },
            );
            served
                .modules
                .insert(name.clone(), Workload::new(module, args.instances));
            continue;
        };
        let wasm =
            std::fs::read(path).with_context(|| format!("module `{name}`: reading {}", path.display()))?;
        if blueprint_runtime_wasmtime::proxy::is_component(&wasm) {
            let started = Instant::now();
            let component = proxy_runtime(&args, &config, &mut proxy_engine)?
                .compile(
                    &wasm,
                    component_env(args.dapr_http_port, crate::token::dapr_api_token()),
                    args.dapr_http_port.map(|p| format!("127.0.0.1:{p}")),
                )
                .with_context(|| format!("component `{name}` ({})", path.display()))?;
            served
                .info
                .modules
                .insert(name.clone(), ModuleInfo::compiled(path, &wasm, started));
            served.proxies.insert(
                name.clone(),
                Proxy {
                    component,
                    counters: Arc::default(),
                },
            );
            continue;
        }
        let started = Instant::now();
        let module = runtime
            .compile(&wasm)
            .with_context(|| format!("module `{name}` ({})", path.display()))?;
        served
            .info
            .modules
            .insert(name.clone(), ModuleInfo::compiled(path, &wasm, started));
        served
            .modules
            .insert(name.clone(), Workload::new(module, args.instances));
    }
    if let Some(engine) = &proxy_engine {
        served.info.runtime = engine.info();
    }
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!(addr = %args.listen, runtime = %args.runtime, instances = ?args.instances, app_protocol = ?args.app_protocol, "host serving");
    run_server(listener, Arc::new(served), args.app_protocol).await
}

/// The engine for `wasi:http/proxy` components, made on the first one:
/// only Wasmtime's adapter serves them.
fn proxy_runtime<'a>(
    args: &HostArgs,
    config: &RuntimeConfig,
    engine: &'a mut Option<blueprint_runtime_wasmtime::proxy::ProxyRuntime>,
) -> Result<&'a blueprint_runtime_wasmtime::proxy::ProxyRuntime> {
    if args.runtime != blueprint_runtime_wasmtime::NAME {
        bail!(
            "runtime `{}` does not serve wasi:http components here; only `{}` does",
            args.runtime,
            blueprint_runtime_wasmtime::NAME
        );
    }
    if engine.is_none() {
        *engine = Some(blueprint_runtime_wasmtime::proxy::ProxyRuntime::new(
            &config.limits,
        )?);
    }
    Ok(engine.as_ref().expect("just made"))
}

/// A `wasi:http` component's environment, as any Dapr app's: where daprd's
/// HTTP API is and the token it wants. Our host and `wasmtime serve` give
/// their components the same.
pub fn component_env(dapr_http_port: Option<u16>, dapr_api_token: Option<&str>) -> Vec<(String, String)> {
    let mut env = Vec::new();
    if let Some(port) = dapr_http_port {
        env.push(("DAPR_HTTP_PORT".to_owned(), port.to_string()));
    }
    if let Some(token) = dapr_api_token {
        env.push((crate::token::DAPR_API_TOKEN_ENV.to_owned(), token.to_owned()));
    }
    env
}

/// What one connection's requests go to: the HTTP routes, and Dapr's
/// `AppCallback` service when daprd calls the app over gRPC.
#[derive(Clone)]
struct Dispatch {
    served: Arc<Served>,
    grpc: Option<crate::app_callback::Service>,
}

/// A reply of either side: the routes' whole bodies, or tonic's.
type Reply = Response<http_body_util::Either<Full<Bytes>, tonic::body::Body>>;

impl Dispatch {
    async fn handle(self, req: Request<Incoming>) -> Result<Reply, Infallible> {
        if let Some(grpc) = self.grpc
            && crate::app_callback::is_grpc(&req)
        {
            let reply = crate::app_callback::handle(grpc, &self.served, req).await;
            return Ok(reply.map(http_body_util::Either::Right));
        }
        let reply = route(self.served, req).await?;
        Ok(reply.map(http_body_util::Either::Left))
    }
}

async fn run_server(listener: TcpListener, served: Arc<Served>, protocol: AppProtocol) -> Result<()> {
    let dispatch = Dispatch {
        grpc: (protocol == AppProtocol::Grpc).then(|| crate::app_callback::service(served.clone())),
        served,
    };
    let graceful = GracefulShutdown::new();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(conn) => conn,
                    Err(err) => { tracing::warn!("accept: {err}"); continue; }
                };
                let _ = stream.set_nodelay(true);
                let dispatch = dispatch.clone();
                let service = hyper::service::service_fn(move |req| dispatch.clone().handle(req));
                let conn = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move { let _ = conn.await; });
            }
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    tracing::info!("host shutting down");
    if tokio::time::timeout(Duration::from_secs(5), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within 5 s");
    }
    Ok(())
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    resp
}

async fn route(served: Arc<Served>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().trim_start_matches('/').to_owned();
    if let Some(expected) = &served.app_api_token
        && path != "healthz"
    {
        let given = req.headers().get(crate::token::HEADER).map(|v| v.as_bytes());
        if !given.is_some_and(|given| crate::token::matches(expected, given)) {
            return Ok(reply(
                StatusCode::UNAUTHORIZED,
                format!("missing or wrong `{}` header", crate::token::HEADER),
            ));
        }
    }
    Ok(match (req.method(), path.as_str()) {
        (&Method::GET, "healthz") => reply(StatusCode::OK, "ok"),
        (&Method::GET, "info") => match serde_json::to_vec(&served.info) {
            Ok(json) => reply(StatusCode::OK, json),
            Err(err) => reply(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
        },
        (&Method::GET, "stats") => {
            let stats = HostStats {
                modules: served
                    .modules
                    .iter()
                    .map(|(n, w)| (n.clone(), w.counters.snapshot()))
                    .chain(
                        served
                            .proxies
                            .iter()
                            .map(|(n, p)| (n.clone(), p.counters.snapshot())),
                    )
                    .collect(),
                state_cache: served.cache.as_ref().map(|c| c.stats()),
            };
            match serde_json::to_vec(&stats) {
                Ok(json) => reply(StatusCode::OK, json),
                Err(err) => reply(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
            }
        }
        (&Method::GET, "events") => {
            let from = req
                .uri()
                .query()
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("from=")))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            match serde_json::to_vec(&served.events.since(from)) {
                Ok(json) => reply(StatusCode::OK, json),
                Err(err) => reply(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
            }
        }
        (&Method::GET, "subscriber") => match serde_json::to_vec(&served.subscriber.events()) {
            Ok(json) => reply(StatusCode::OK, json),
            Err(err) => reply(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
        },
        (&Method::POST, path) if path.starts_with("subscriber/") => {
            let topic = path["subscriber/".len()..].to_owned();
            let outcome = match read_body(req).await {
                Ok(body) => match served.subscriber.receive(&topic, &body) {
                    Ok(()) => Outcome::Success,
                    Err(why) => {
                        tracing::warn!("subscriber: dropping a delivery: {why}");
                        Outcome::Drop
                    }
                },
                Err(refused) => return Ok(refused),
            };
            reply(StatusCode::OK, outcome.app_response())
        }
        (&Method::POST, path) if path.starts_with("bindings/") => {
            let name = &path["bindings/".len()..];
            match served.modules.get(name) {
                Some(workload) => fire(&served, workload.clone(), req).await,
                None => reply(StatusCode::NOT_FOUND, format!("no workload `{name}`")),
            }
        }
        (&Method::POST, path) if path.starts_with("bulk-events/") => {
            let name = &path["bulk-events/".len()..];
            match served.modules.get(name) {
                Some(workload) => deliver_bulk(&served, workload.clone(), req).await,
                None => reply(StatusCode::NOT_FOUND, format!("no workload `{name}`")),
            }
        }
        (&Method::POST, path) if path.starts_with("events/") => {
            let name = &path["events/".len()..];
            match served.modules.get(name) {
                Some(workload) => deliver(&served, workload.clone(), req).await,
                // 404 is the one answer daprd drops rather than retries.
                None => reply(StatusCode::NOT_FOUND, format!("no workload `{name}`")),
            }
        }
        (&Method::POST, name) if served.proxies.contains_key(name) => {
            let proxy = served.proxies[name].clone();
            invoke_proxy(&proxy, req).await
        }
        (&Method::POST, name) => match served.modules.get(name) {
            Some(workload) => invoke(&served, workload.clone(), req).await,
            None => reply(StatusCode::NOT_FOUND, format!("no workload `{name}`")),
        },
        _ => reply(StatusCode::METHOD_NOT_ALLOWED, "use POST /<workload>"),
    })
}

/// The request body, or the 413 that refuses it.
async fn read_body(req: Request<Incoming>) -> Result<Bytes, Response<Full<Bytes>>> {
    let announced = req.headers().get(hyper::header::CONTENT_LENGTH);
    if let Some(len) = announced.and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        && len > MAX_BODY as u64
    {
        // Refused from the head alone: reading it first would only cost time.
        return Err(reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body of {len} bytes is over the {MAX_BODY}-byte limit"),
        ));
    }
    match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(body) => Ok(body.to_bytes()),
        Err(err) => Err(reply(StatusCode::PAYLOAD_TOO_LARGE, err.to_string())),
    }
}

async fn invoke(served: &Served, workload: Workload, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let body = match read_body(req).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    match call(served, workload, body).await {
        Ok(output) => reply(StatusCode::OK, output),
        Err((status, message)) => reply(status, message),
    }
}

/// A request for a `wasi:http/proxy` component: the whole request (method,
/// path, headers, body) goes to a fresh instance, and its answer comes back
/// as it gave it. Statuses of our own, as for modules (`runtimes/HOST.md`):
/// `504` past the time limit, `500` for a trap, `502` when the component
/// gave no answer. The test knobs (`added_latency`, `added_work_rounds`)
/// apply to modules only.
async fn invoke_proxy(proxy: &Proxy, req: Request<Incoming>) -> Response<Full<Bytes>> {
    use blueprint_runtime_wasmtime::proxy::ProxyError;
    let (parts, body) = req.into_parts();
    let body = match read_body(Request::from_parts(parts.clone(), body)).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    match proxy.component.handle(parts, body).await {
        Ok(answer) => {
            proxy.counters.instances_created.fetch_add(1, Ordering::Relaxed);
            proxy.counters.record(answer.instantiate, answer.call);
            let mut response = reply(
                StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY),
                answer.body,
            );
            if let Some(content_type) = answer.content_type.and_then(|v| v.parse().ok()) {
                response
                    .headers_mut()
                    .insert(hyper::header::CONTENT_TYPE, content_type);
            }
            response
        }
        Err(ProxyError::Timeout) => reply(StatusCode::GATEWAY_TIMEOUT, "timeout"),
        Err(ProxyError::Trap(message)) => {
            reply(StatusCode::INTERNAL_SERVER_ERROR, format!("trap: {message}"))
        }
        Err(ProxyError::Failed(message)) => reply(StatusCode::BAD_GATEWAY, message),
    }
}

/// A pub/sub delivery: the CloudEvent's data is the workload's input, the
/// answer is Dapr's `AppResponse`, and the delivery goes into the event log
/// by the event's id.
async fn deliver(served: &Served, workload: Workload, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let body = match read_body(req).await {
        Ok(body) => body,
        Err(refused) => {
            served.events.record(String::new(), Outcome::Drop);
            return refused;
        }
    };
    let outcome = match events::parse(&body) {
        Err(why) => {
            tracing::warn!("dropping a delivery: {why}");
            served.events.record(String::new(), Outcome::Drop);
            Outcome::Drop
        }
        Ok(event) => handle_event(served, workload, event.id, event.data).await,
    };
    let mut resp = reply(StatusCode::OK, outcome.app_response());
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

/// An input binding's firing (`POST /bindings/<workload>`): the workload
/// runs on the body, or on `--binding-input` when the firing carries no
/// data, and the firing goes into the event log by its time (see
/// [`handle_firing`]). The answer carries no body: daprd would read one as
/// instructions to save state or call output bindings.
async fn fire(served: &Served, workload: Workload, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let fired = req
        .headers()
        .get(events::READ_TIME_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match read_body(req).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    match handle_firing(served, workload, fired.as_deref(), body).await {
        Ok(()) => reply(StatusCode::OK, Bytes::new()),
        Err((status, message)) => reply(status, message),
    }
}

/// Runs one input-binding firing and logs it as `binding-<fired ns>` (the
/// binding's `readTimeUTC`, so the harness reads firing-to-handled
/// latency), or `binding` when the firing did not say when it fired.
/// Both app protocols fire through here.
pub(crate) async fn handle_firing(
    served: &Served,
    workload: Workload,
    read_time_utc: Option<&str>,
    data: Bytes,
) -> Result<(), (StatusCode, String)> {
    let id = read_time_utc
        .and_then(events::parse_go_utc)
        .map_or_else(|| "binding".to_owned(), |ns| format!("binding-{ns}"));
    let input = if data.is_empty() {
        served.binding_input.clone()
    } else {
        data
    };
    let result = call(served, workload, input).await;
    served.events.record(id, outcome_of(&result));
    result.map(drop)
}

/// Reads `--binding-input`, refusing what the body limit would refuse.
fn read_binding_input(path: &std::path::Path) -> Result<Bytes> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("reading --binding-input {}", path.display()))?
        .len();
    if len > MAX_BODY as u64 {
        bail!(
            "--binding-input {} has {len} bytes, over the {MAX_BODY}-byte body limit",
            path.display()
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading --binding-input {}", path.display()))?;
    Ok(Bytes::from(bytes))
}

/// A bulk delivery: each entry's CloudEvent handled as a single delivery
/// is, the answer one status per entry (Dapr's bulk subscribe response).
async fn deliver_bulk(
    served: &Arc<Served>,
    workload: Workload,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let body = match read_body(req).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let entries = match events::parse_bulk(&body) {
        Ok(entries) => entries,
        // Not daprd's envelope: nothing in it can be answered by entry.
        Err(why) => return reply(StatusCode::BAD_REQUEST, why),
    };
    let statuses = handle_bulk(served, workload, entries).await;
    let mut resp = reply(
        StatusCode::OK,
        events::bulk_response(statuses.iter().map(|(id, outcome)| (id.as_str(), *outcome))),
    );
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

/// Handles a batch's entries concurrently (the instance strategy bounds
/// how many run at once, as it does for concurrent single deliveries), each
/// logged by its event's id; an entry that is not a CloudEvent is dropped.
/// The statuses come back in the batch's order.
pub(crate) async fn handle_bulk(
    served: &Arc<Served>,
    workload: Workload,
    entries: Vec<events::BulkEntry>,
) -> Vec<(String, Outcome)> {
    let mut tasks = tokio::task::JoinSet::new();
    for (index, entry) in entries.into_iter().enumerate() {
        let (served, workload) = (served.clone(), workload.clone());
        tasks.spawn(async move {
            let outcome = match entry.event {
                Ok(event) => handle_event(&served, workload, event.id, event.data).await,
                Err(why) => {
                    tracing::warn!("dropping a bulk entry: {why}");
                    served.events.record(String::new(), Outcome::Drop);
                    Outcome::Drop
                }
            };
            (index, entry.entry_id, outcome)
        });
    }
    let mut statuses = Vec::with_capacity(tasks.len());
    // A task that panicked leaves its entry without a status, which daprd
    // takes as RETRY.
    while let Some(Ok(done)) = tasks.join_next().await {
        statuses.push(done);
    }
    statuses.sort_by_key(|(index, _, _)| *index);
    statuses
        .into_iter()
        .map(|(_, entry_id, outcome)| (entry_id, outcome))
        .collect()
}

/// Runs one delivered event's data through the workload and logs the
/// delivery by the event's id: SUCCESS when the workload answered, DROP when
/// it refused (a redelivery would be refused again), RETRY after any other
/// failure. Both app protocols deliver through here.
pub(crate) async fn handle_event(served: &Served, workload: Workload, id: String, data: Vec<u8>) -> Outcome {
    let result = call(served, workload, Bytes::from(data)).await;
    let outcome = outcome_of(&result);
    if let Err((status, message)) = &result {
        tracing::debug!(%id, %status, ?outcome, "an event was not handled: {message}");
    }
    served.events.record(id, outcome);
    outcome
}

/// What a delivery's call comes to: SUCCESS when the workload answered,
/// DROP when it refused (a redelivery would be refused again), RETRY after
/// any other failure.
fn outcome_of<T>(result: &Result<T, (StatusCode, String)>) -> Outcome {
    match result {
        Ok(_) => Outcome::Success,
        Err((StatusCode::UNPROCESSABLE_ENTITY, _)) => Outcome::Drop,
        Err(_) => Outcome::Retry,
    }
}

/// One workload call on a blocking thread: the output, or the status and
/// message of the failure (`runtimes/HOST.md`).
pub(crate) async fn call(
    served: &Served,
    workload: Workload,
    body: Bytes,
) -> Result<Vec<u8>, (StatusCode, String)> {
    if failing_now() {
        return Err((
            StatusCode::SERVICE_UNAVAILABLE,
            format!("test knob {FAIL_AFTER_ENV}: failing every request"),
        ));
    }
    let dapr = served.dapr.clone();
    let added_latency = served.added_latency;
    let added_work_rounds = served.added_work_rounds;
    let call_timeout = served.call_timeout;
    // Guest code and its synchronous Dapr calls run on a blocking thread.
    let outcome = tokio::task::spawn_blocking(move || {
        if !added_latency.is_zero() {
            std::thread::sleep(added_latency); // the test knob, outside the phase timers
        }
        if added_work_rounds > 0 {
            added_work(added_work_rounds); // likewise
        }
        run_once(&workload, dapr, &body, call_timeout)
    })
    .await;
    match outcome {
        Ok(result) => result,
        Err(join) => Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("host task failed: {join}"),
        )),
    }
}

/// One request on a fresh instance, or a warm one from the pool; a failure
/// is the status and body of the reply (`runtimes/HOST.md`).
fn run_once(
    workload: &Workload,
    dapr: Arc<dyn DaprHost>,
    body: &[u8],
    call_timeout: Duration,
) -> Result<Vec<u8>, (StatusCode, String)> {
    let counters = &workload.counters;
    let started = Instant::now();
    let warm = workload.pool.as_ref().and_then(|pool| pool.take());
    let reused = warm.is_some();
    let (instance, watched) = match warm {
        Some(Warm { instance, host }) => (Ok(instance), Some(host)),
        None if workload.pool.is_some() => {
            let host = Arc::new(Watched {
                inner: dapr,
                failed: AtomicBool::new(false),
            });
            (workload.module.instantiate(host.clone()), Some(host))
        }
        None => (workload.module.instantiate(dapr), None),
    };
    let instantiated = Instant::now();
    let counter = if reused {
        &counters.instances_reused
    } else {
        &counters.instances_created
    };
    let mut instance = instance.map_err(|e| {
        counters.record(instantiated - started, Duration::ZERO);
        (StatusCode::BAD_GATEWAY, e.to_string())
    })?;
    counter.fetch_add(1, Ordering::Relaxed);
    // Host calls get what is left of the same limit the runtime enforces on
    // guest code, counted from the same start.
    let (output, host_call_expired) =
        crate::deadline::run_with(instantiated + call_timeout, || instance.handle(body));
    counters.record(instantiated - started, instantiated.elapsed());
    if host_call_expired && output.is_err() {
        // The guest only saw UNAVAILABLE; the request ran out of time.
        return Err((StatusCode::GATEWAY_TIMEOUT, "timeout".into()));
    }
    // A failed request's instance is dropped, whatever failed: a trap or a
    // time-out stops the guest mid-way, a guest error or a host call that
    // could not reach the sidecar may leave its allocator or globals
    // half-updated.
    if let (Ok(_), Some(pool), Some(host)) = (&output, &workload.pool, watched)
        && !host.failed.swap(false, Ordering::Relaxed)
    {
        pool.put(Warm { instance, host });
    }
    output.map_err(|err| match err {
        CallError::Guest(message) => (StatusCode::UNPROCESSABLE_ENTITY, message),
        CallError::Timeout(_) => (StatusCode::GATEWAY_TIMEOUT, "timeout".into()),
        trap @ CallError::Trap { .. } => (StatusCode::INTERNAL_SERVER_ERROR, trap.to_string()),
        abi @ CallError::Abi(_) => (StatusCode::BAD_GATEWAY, abi.to_string()),
    })
}

/// The environment variable of a test knob, never for measurements: every
/// workload request from this many milliseconds after the first one is
/// answered 503, so tests can make a cell that breaks mid-window.
pub const FAIL_AFTER_ENV: &str = "BLUEPRINT_TEST_FAIL_AFTER_MS";

/// Whether the [`FAIL_AFTER_ENV`] knob says to fail this request. Read once
/// per process: it stands for a host that breaks, not one reconfigured.
fn failing_now() -> bool {
    static AFTER: std::sync::OnceLock<Option<Duration>> = std::sync::OnceLock::new();
    static FIRST: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let after = AFTER.get_or_init(|| {
        let value = std::env::var(FAIL_AFTER_ENV).ok()?;
        match value.parse::<u64>() {
            Ok(ms) => {
                tracing::warn!(
                    "test knob: answering 503 from {ms} ms after the first request ({FAIL_AFTER_ENV}); figures are not real"
                );
                Some(Duration::from_millis(ms))
            }
            Err(err) => {
                tracing::warn!("ignoring {FAIL_AFTER_ENV}={value}: not milliseconds ({err})");
                None
            }
        }
    });
    after.is_some_and(|after| FIRST.get_or_init(Instant::now).elapsed() >= after)
}

/// Checks the module arguments before anything starts.
///
/// # Errors
/// Duplicate names.
pub fn check_unique(modules: &[(String, PathBuf)]) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for (name, _) in modules {
        if !seen.insert(name) {
            bail!("module name `{name}` given twice");
        }
    }
    Ok(())
}
