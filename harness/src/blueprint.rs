//! One cell's system under test, per integration mode: which processes run
//! (store, app, daprd), how they are wired, and where load is sent. The
//! runner measures whatever this starts the same way, so modes differ only
//! here.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use hyper::Method;
use prost::Message as _;

use crate::app::{AppHost, Contract, HostLaunch};
use crate::daprd::Daprd;
use crate::echo::EchoApp;
use crate::module_server::ModuleServer;
use crate::redis::Redis;
use crate::scenario::{CellId, DaprSettings, InstanceStrategy, WasmSource};
use crate::sidecar::{
    AppProtocol, BulkSubscribe, CronBinding, Pipeline, Sidecar, SidecarPorts, SidecarSpec, StateStoreKind,
    Subscription, WasmBinding, WasmMiddleware,
};
use crate::workloads::{Catalog, CustomWorkloads, Lookup};
use blueprint_analysis::modes::{App, Entry, Flavour, InDaprd, Mode, Trigger};
use blueprint_analysis::results::CellStatus;
use blueprint_host::table as runtimes;
use blueprint_load::Target;

use crate::workloads;

/// Everything a run needs besides the plan.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The project checkout (sources, vectors).
    pub project: PathBuf,
    /// Build cache.
    pub cache: PathBuf,
    /// The sidecar binary.
    pub daprd: Daprd,
    /// The `blueprint-bench` binary, started as the embedded host.
    pub host_program: PathBuf,
    /// Where run folders go.
    pub work_dir: PathBuf,
    /// Variables the app host gets on top of the children's environment:
    /// a runtime configuration one side of an A/B run differs by.
    pub app_env: Vec<(String, String)>,
    /// `[load] pin`: the CPUs of the load generator and of every child
    /// process; `None` to leave them to the kernel.
    pub pinning: Option<crate::pinning::CpuSplit>,
}

/// The app id every cell's sidecar uses.
pub const APP_ID: &str = "blueprint-app";

/// What a cell runs, resolved before anything starts.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The mode.
    pub mode: Mode,
    /// How load reaches it.
    pub trigger: Trigger,
    /// The state store.
    pub store: StateStoreKind,
    /// The guest module, for modes that run one.
    pub module: Option<PathBuf>,
    /// Topics the app host subscribes to as a plain subscriber
    /// (`/subscriber/<topic>`, `runtimes/HOST.md`): the conformance check
    /// of the events a workload publishes.
    pub record_topics: Vec<String>,
}

/// Why a workload that uses Dapr cannot run in a mode whose guest cannot
/// reach it (the Wasm inside daprd).
pub fn side_effects(workload: &str) -> String {
    format!(
        "side effects: `{workload}` uses Dapr, and Wasm inside daprd cannot reach it (the talk: no side \
         effects in middleware)"
    )
}

/// Why `cell` cannot run here, from what is known before anything is built:
/// the mode against the workload and trigger, the store, the runtime, the
/// native floor, and the modules a custom workload was given. `None` when
/// nothing rules it out.
///
/// # Errors
/// A cell naming an unknown mode, trigger or store (the scenario checks
/// those first), or unreadable vectors.
pub fn ruled_out(project: &Path, cell: &CellId, custom: &CustomWorkloads) -> Result<Option<CellStatus>> {
    let mode: Mode = cell.mode.parse()?;
    let trigger: Trigger = cell.trigger.parse()?;
    let store: StateStoreKind = cell.store.parse()?;
    let protocol: AppProtocol = cell.protocol.parse()?;
    let not_applicable = |reason: String| Ok(Some(CellStatus::NotApplicable { reason }));
    let own = custom.get(&cell.workload);
    let pure = match own {
        Some(workload) => workload.pure,
        None => workloads::load_vectors(project, &cell.workload)?.pure,
    };
    if mode.pure_only() && !pure {
        return not_applicable(side_effects(&cell.workload));
    }
    if cell.instances == InstanceStrategy::Reuse
        && let Some(reason) = mode.fixed_instances()
    {
        return not_applicable(format!(
            "instances = \"reuse\" is not ours to choose in {mode}: {reason}"
        ));
    }
    if trigger == Trigger::Direct && !mode.has_workload_host() {
        return not_applicable(format!(
            "{mode} has no app of ours to call directly: the Wasm runs inside daprd"
        ));
    }
    if trigger.delivers_events() && !mode.has_workload_host() {
        return not_applicable(format!(
            "trigger {trigger}: daprd delivers events to an app of ours that runs the workload; {mode} has \
             none (its Wasm runs inside daprd)"
        ));
    }
    if let Some(reason) = runtime_mismatch(mode, &cell.runtime) {
        return not_applicable(reason);
    }
    if trigger.delivers_events() && mode.flavour() == Some(Flavour::Component) {
        return not_applicable(format!(
            "trigger {trigger}: the harness counts events by the app host's delivery log \
             (`runtimes/HOST.md`), which a wasi:http component under `wasmtime serve` does not keep"
        ));
    }
    if protocol == AppProtocol::Grpc
        && let Some(reason) = no_grpc_app_channel(mode, trigger)
    {
        return not_applicable(reason);
    }
    if store == StateStoreKind::Redis
        && let Err(err) = crate::redis::find()
    {
        return Ok(Some(CellStatus::Unavailable {
            reason: err.to_string(),
        }));
    }
    if mode.has_workload_host() && mode != Mode::Native {
        let entry = runtimes::entry(&cell.runtime)?;
        if let runtimes::Availability::Unavailable { reason, fix } = entry.availability {
            return Ok(Some(CellStatus::Unavailable {
                reason: format!("{reason} (fix: {fix})"),
            }));
        }
    }
    if let Some(workload) = own {
        if mode == Mode::Native {
            return not_applicable(format!(
                "the native floor is the built-in Rust workloads compiled into the host; `{}` is a \
                 custom workload",
                cell.workload
            ));
        }
        if let Some(reason) = mode.flavour().and_then(|f| workload.missing(f)) {
            return not_applicable(reason);
        }
    }
    if mode == Mode::Native {
        if cell.language != "rust" {
            return not_applicable(format!(
                "the native floor is the Rust workloads compiled into the host, not {}",
                cell.language
            ));
        }
        if !blueprint_runtime_native::workloads().contains(&cell.workload.as_str()) {
            return not_applicable(format!("no native build of `{}` is linked in", cell.workload));
        }
    }
    Ok(None)
}

/// Why a cell of `mode` and `trigger` has no gRPC app channel to measure:
/// daprd calls Dapr's `AppCallback` service only on an app host of ours.
pub fn no_grpc_app_channel(mode: Mode, trigger: Trigger) -> Option<String> {
    match mode.row().app {
        App::Echo => Some(format!(
            "protocol grpc: {mode}'s app is the echo app, which serves HTTP only (its Wasm runs in \
             daprd's HTTP pipeline); a gRPC app channel needs an app host of ours"
        )),
        App::None => Some(format!(
            "protocol grpc: {mode} has no app, so no app channel (its Wasm runs as daprd's output binding)"
        )),
        App::WorkloadHost if trigger == Trigger::Direct => Some(
            "protocol grpc: the direct trigger posts to the app over HTTP without daprd; the gRPC app \
             channel is daprd's (use trigger dapr, pubsub, pubsub-bulk or cron)"
                .to_owned(),
        ),
        App::WorkloadHost if mode.flavour() == Some(Flavour::Component) => Some(format!(
            "protocol grpc: {mode}'s app is a wasi:http/proxy component, which serves HTTP only"
        )),
        App::WorkloadHost => None,
    }
}

/// Why `runtime` cannot run `mode`'s cells: `wasmtime serve` serves
/// `wasi:http` components only, and only Wasmtime serves those.
pub fn runtime_mismatch(mode: Mode, runtime: &str) -> Option<String> {
    let components = mode.flavour() == Some(Flavour::Component);
    if runtime == runtimes::WASMTIME_SERVE && !components {
        return Some(format!(
            "`wasmtime serve` serves wasi:http/proxy components: mode {} only, not {mode}",
            Mode::StandaloneWasiHttp
        ));
    }
    if !components || runtime == runtimes::WASMTIME_SERVE || runtime == blueprint_runtime_wasmtime::NAME {
        return None;
    }
    let family = runtimes::entry(runtime).map_or_else(|_| runtime.to_owned(), |e| e.family.to_owned());
    Some(match family.as_str() {
        "wasmer" => "Wasmer's released crates run core modules (WASI preview 1, WASIX); they have no \
                     component model, so no wasi:http component"
            .to_owned(),
        "wazero" => {
            "wazero runs core modules only; it has no component model, so no wasi:http component".to_owned()
        }
        "wasmedge" => {
            "the wasmedge-sdk crate this adapter uses has no wasi:http server for components".to_owned()
        }
        _ => format!("runtime `{runtime}` does not serve wasi:http components here"),
    })
}

/// Works out what `cell` needs, or why it cannot run here.
///
/// # Errors
/// As [`ruled_out`].
pub fn resolve(
    project: &Path,
    cell: &CellId,
    catalog: &Catalog,
) -> Result<std::result::Result<Resolved, CellStatus>> {
    if let Some(status) = ruled_out(project, cell, &catalog.custom)? {
        return Ok(Err(status));
    }
    let mode: Mode = cell.mode.parse()?;
    let trigger: Trigger = cell.trigger.parse()?;
    let store: StateStoreKind = cell.store.parse()?;
    let not_applicable = |reason: String| Ok(Err(CellStatus::NotApplicable { reason }));
    let module = match mode.flavour() {
        None => None,
        Some(flavour) => match catalog.lookup(&cell.language, &cell.workload, flavour) {
            Lookup::Built(path) => Some(path.to_owned()),
            Lookup::Unavailable(reason) => return Ok(Err(CellStatus::Unavailable { reason })),
            Lookup::NotApplicable(reason) => return not_applicable(reason),
        },
    };
    Ok(Ok(Resolved {
        mode,
        trigger,
        store,
        module,
        record_topics: Vec::new(),
    }))
}

/// The running processes of one cell and where its load goes.
#[derive(Debug)]
pub struct System {
    /// Our app host serving the workload (app-hosted modes).
    pub host: Option<AppHost>,
    /// The echo app (middleware modes).
    pub echo: Option<EchoApp>,
    /// daprd.
    pub sidecar: Sidecar,
    /// The redis-server behind `statestore`.
    pub redis: Option<Redis>,
    /// Serves the module to daprd for `wasm_source = "http"`.
    pub module_server: Option<ModuleServer>,
    /// Where load goes.
    pub target: Target,
    /// Whether `target` speaks gRPC over h2c.
    pub http2: bool,
    /// The app's start-up time (host or echo), if there is an app.
    pub app_startup: Duration,
}

impl System {
    /// Process ids to meter, with their roles.
    pub fn processes(&self) -> Vec<(&'static str, u32)> {
        let mut out = vec![("daprd", self.sidecar.pid())];
        if let Some(host) = &self.host {
            out.push(("app", host.pid()));
        }
        if let Some(echo) = &self.echo {
            out.push(("app", echo.pid()));
        }
        if let Some(redis) = &self.redis {
            out.push(("redis", redis.pid()));
        }
        out
    }

    /// The processes of [`processes`](Self::processes) that are no longer
    /// running (exited, or dead and not yet reaped), by role and pid.
    pub fn gone(&self) -> Vec<(&'static str, u32)> {
        self.processes()
            .into_iter()
            .filter(|&(_, pid)| !running(pid))
            .collect()
    }

    /// The app's pid, if any.
    pub fn app_pid(&self) -> Option<u32> {
        self.host
            .as_ref()
            .map(AppHost::pid)
            .or_else(|| self.echo.as_ref().map(EchoApp::pid))
    }

    /// Stops everything, daprd first (it holds connections to the others).
    pub fn stop(self) {
        self.sidecar.stop();
        if let Some(host) = self.host {
            host.stop();
        }
        if let Some(echo) = self.echo {
            echo.stop();
        }
        if let Some(redis) = self.redis {
            redis.stop();
        }
    }
}

/// Whether `pid` is a live process: a child that died stays a zombie until
/// it is reaped at stop, so "still in /proc" is not enough. A stopped
/// (`SIGSTOP`) process is running in this sense.
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let (_, rest) = stat.rsplit_once(')')?;
            rest.split_whitespace()
                .next()
                .map(|state| state != "Z" && state != "X")
        })
        .unwrap_or(false)
}

/// How many times a start that lost a port to another process is tried.
const START_ATTEMPTS: u32 = 3;

/// Starts the store, the app and daprd for `cell` in `dir`, with `body` as
/// the request every load request sends.
///
/// Ports are chosen free and then bound by the children, so another process
/// can take one in between (see [`blueprint_load::net::free_ports`]); a
/// start that fails only because a port was taken is started again on
/// fresh ports, with the processes of the failed attempt stopped first.
///
/// # Errors
/// A process that does not start (with its log tail).
pub async fn start(
    ctx: &RunContext,
    settings: &DaprSettings,
    cell: &CellId,
    resolved: &Resolved,
    body: Bytes,
    dir: &Path,
) -> Result<System> {
    let mut attempt = 1;
    loop {
        match start_once(ctx, settings, cell, resolved, body.clone(), dir).await {
            Err(e) if attempt < START_ATTEMPTS && lost_a_port(&e) => {
                tracing::warn!(%cell, attempt, "a port was taken before our process bound it; starting again on fresh ports: {e:#}");
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Whether a start failed because a port it was given was taken meanwhile
/// (the error carries the child's log tail: daprd's, the host's or redis's).
fn lost_a_port(e: &anyhow::Error) -> bool {
    format!("{e:#}")
        .to_ascii_lowercase()
        .contains("address already in use")
}

async fn start_once(
    ctx: &RunContext,
    settings: &DaprSettings,
    cell: &CellId,
    resolved: &Resolved,
    body: Bytes,
    dir: &Path,
) -> Result<System> {
    let sut_cpus = ctx
        .pinning
        .as_ref()
        .map(|p| p.system_under_test.clone())
        .unwrap_or_default();
    let redis = match resolved.store {
        StateStoreKind::Redis => Some(Redis::start(dir, &sut_cpus)?),
        _ => None,
    };
    let (ports, app_port) = SidecarPorts::allocate_with_app()?;
    let module_url = |server: &Option<ModuleServer>, module: &Path| match server {
        Some(server) => server.url.clone(),
        None => format!("file://{}", module.display()),
    };
    let module_server = match (&resolved.module, settings.wasm_source) {
        (Some(module), WasmSource::Http) if resolved.mode.runs_in_daprd() => {
            Some(ModuleServer::start(module).await?)
        }
        _ => None,
    };

    let mut spec = SidecarSpec::new(APP_ID, None, ports);
    // `ruled_out` leaves grpc to app-hosted cells only.
    spec.app_protocol = cell.protocol.parse()?;
    spec.state_store = resolved.store;
    spec.redis_port = redis.as_ref().map(|r| r.port);
    spec.cpus.clone_from(&sut_cpus);

    let mut host = None;
    let mut echo = None;
    let app_startup;
    let row = resolved.mode.row();
    match row.app {
        App::WorkloadHost => {
            // A mode without a flavour runs the workload linked into the host
            // (native), chosen by name.
            let module = match row.flavour {
                None => PathBuf::from(blueprint_analysis::modes::NATIVE),
                Some(_) => resolved
                    .module
                    .clone()
                    .context("an app-hosted cell needs its module")?,
            };
            let (program, leading_args) =
                crate::app::host_command(&cell.runtime, &ctx.host_program, &ctx.project, &ctx.cache)?;
            let mut extra_args = vec!["--instances".to_owned(), cell.instances.to_string()];
            let mut grpc = Some(ports.grpc);
            if row.state_cache {
                extra_args.extend([
                    "--state-cache-ttl-ms".to_owned(),
                    settings.cache_ttl.as_millis().to_string(),
                    "--state-cache-entries".to_owned(),
                    settings.cache_entries.to_string(),
                ]);
            }
            // The http and component flavours reach Dapr over HTTP only.
            let mut http = None;
            if matches!(row.flavour, Some(Flavour::Http | Flavour::Component)) {
                grpc = None;
                http = Some(ports.http);
            }
            // A cron firing carries no data: the host runs the cell's input.
            if resolved.trigger == Trigger::Cron {
                let input = dir.join("binding-input");
                blueprint_analysis::results::write_bytes_atomic(&input, &body)?;
                extra_args.extend(["--binding-input".to_owned(), input.display().to_string()]);
            }
            let contract = match runtimes::entry(&cell.runtime).map(|e| e.host) {
                Ok(runtimes::HostKind::WasmtimeServe) => Contract::WasmtimeServe,
                _ => Contract::Host,
            };
            let launch = HostLaunch {
                contract,
                program,
                leading_args,
                modules: vec![(cell.workload.clone(), module)],
                dapr_grpc_port: grpc,
                dapr_http_port: http,
                app_protocol: spec.app_protocol,
                extra_args,
                port: app_port,
                ready_timeout: Duration::from_secs(120),
                tokens: Some(spec.tokens.clone()),
                env: ctx.app_env.clone(),
                cpus: sut_cpus.clone(),
            };
            let started = AppHost::start(&launch, dir, "host.log").await?;
            app_startup = started.startup;
            spec.app_port = Some(started.port);
            host = Some(started);
        }
        App::Echo => {
            let started = EchoApp::start(
                &ctx.host_program,
                app_port,
                dir,
                Some(&spec.tokens.app),
                &sut_cpus,
            )
            .await?;
            app_startup = started.startup;
            spec.app_port = Some(started.port);
            echo = Some(started);
            let pipeline = match row.in_daprd {
                InDaprd::HttpPipeline => Some(Pipeline::Http),
                InDaprd::AppHttpPipeline => Some(Pipeline::App),
                InDaprd::No | InDaprd::OutputBinding => None,
            };
            if let (Some(module), Some(pipeline)) = (&resolved.module, pipeline) {
                spec.middleware = Some(WasmMiddleware {
                    url: module_url(&module_server, module),
                    pipeline,
                });
            }
        }
        App::None => {
            let module = resolved
                .module
                .as_ref()
                .context("a binding cell needs its module")?;
            spec.wasm_bindings.push(WasmBinding {
                name: cell.workload.clone(),
                url: module_url(&module_server, module),
            });
            app_startup = Duration::ZERO;
        }
    }
    match resolved.trigger {
        Trigger::Pubsub => spec.subscriptions.push(Subscription {
            name: "blueprint-events".to_owned(),
            topic: crate::pubsub::TOPIC.to_owned(),
            route: crate::pubsub::route(&cell.workload),
            bulk: None,
        }),
        Trigger::PubsubBulk => spec.subscriptions.push(Subscription {
            name: "blueprint-events".to_owned(),
            topic: crate::pubsub::TOPIC.to_owned(),
            route: crate::pubsub::bulk_route(&cell.workload),
            bulk: Some(BulkSubscribe {
                max_messages: settings.bulk_max_messages,
                max_await: settings.bulk_max_await,
            }),
        }),
        Trigger::Cron => spec.cron_bindings.push(CronBinding {
            name: crate::pubsub::cron_binding(&cell.workload),
            route: crate::pubsub::cron_route(&cell.workload),
            every: Duration::from_secs_f64(1.0 / settings.cron_rate),
        }),
        Trigger::Dapr | Trigger::Direct => {}
    }
    if host.is_some() {
        for topic in &resolved.record_topics {
            spec.subscriptions.push(Subscription {
                name: format!("record-{topic}"),
                topic: topic.clone(),
                route: format!("/subscriber/{topic}"),
                bulk: None,
            });
        }
    }
    let sidecar = Sidecar::start(&ctx.daprd, &spec, dir).await?;

    let (target, http2) = match (row.entry, resolved.trigger) {
        (Entry::Binding, _) => (invoke_binding_target(&sidecar, &cell.workload, &body)?, true),
        // daprd's publish API; the events carry the body (`crate::pubsub`).
        (_, Trigger::Pubsub | Trigger::PubsubBulk) => {
            let mut target = Target::new(&crate::pubsub::publish_url(sidecar.http_port), Method::POST, body)?;
            target.headers.push(sidecar.tokens.dapr_header());
            (target, false)
        }
        // Straight to the host: the app token daprd would have sent. A cron
        // cell sends nothing (daprd's binding fires); its target is the
        // host's binding route, for the record.
        (_, Trigger::Direct | Trigger::Cron) => {
            let port = host
                .as_ref()
                .map(|h| h.port)
                .context("a direct trigger needs an app host")?;
            let path = match resolved.trigger {
                Trigger::Cron => crate::pubsub::cron_route(&cell.workload),
                _ => format!("/{}", cell.workload),
            };
            let mut target = Target::new(&format!("http://127.0.0.1:{port}{path}"), Method::POST, body)?;
            target.headers.push(spec.tokens.app_header());
            (target, false)
        }
        (_, _) if row.app == App::Echo => {
            let mut target = Target::new(&sidecar.invoke_url(&cell.workload), Method::POST, body)?;
            target.headers.push(sidecar.tokens.dapr_header());
            // daprd forwards the original Content-Length after the middleware
            // rewrote the body; a chunked request lets the length change. The
            // baseline is sent the same way so the two differ only by the Wasm.
            target.headers.push((
                hyper::header::TRANSFER_ENCODING,
                hyper::header::HeaderValue::from_static("chunked"),
            ));
            (target, false)
        }
        (_, Trigger::Dapr) => {
            let mut target = Target::new(&sidecar.invoke_url(&cell.workload), Method::POST, body)?;
            target.headers.push(sidecar.tokens.dapr_header());
            (target, false)
        }
    };
    Ok(System {
        host,
        echo,
        sidecar,
        redis,
        module_server,
        target,
        http2,
        app_startup,
    })
}

/// daprd's gRPC `InvokeBinding` with operation `execute`, as an h2c target:
/// gRPC carries the request bytes to the binding unchanged, where the HTTP
/// API would re-encode them as JSON.
pub fn invoke_binding_target(sidecar: &Sidecar, name: &str, body: &Bytes) -> Result<Target> {
    let message = binding_request(name, body.to_vec()).encode_to_vec();
    // gRPC framing: uncompressed flag, big-endian length, message.
    let mut frame = Vec::with_capacity(5 + message.len());
    frame.push(0);
    frame.extend_from_slice(&u32::try_from(message.len())?.to_be_bytes());
    frame.extend_from_slice(&message);
    let url = format!(
        "http://127.0.0.1:{}/dapr.proto.runtime.v1.Dapr/InvokeBinding",
        sidecar.grpc_port
    );
    let mut target = Target::new(&url, Method::POST, Bytes::from(frame))?;
    target.headers.push((
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/grpc"),
    ));
    target.headers.push((
        hyper::header::TE,
        hyper::header::HeaderValue::from_static("trailers"),
    ));
    target.headers.push(sidecar.tokens.dapr_header());
    Ok(target)
}

/// daprd's `InvokeBinding` of `name` with operation `execute`, the only one
/// `bindings.wasm` accepts.
pub fn binding_request(name: &str, data: Vec<u8>) -> dapr::dapr::proto::runtime::v1::InvokeBindingRequest {
    dapr::dapr::proto::runtime::v1::InvokeBindingRequest {
        name: name.to_owned(),
        data,
        metadata: Default::default(),
        operation: "execute".to_owned(),
    }
}

/// A control client that sends the `dapr-api-token` `target` sends.
pub fn control_client_for(target: &Target) -> crate::http::ControlClient {
    target
        .headers
        .iter()
        .find(|(name, _)| name.as_str() == blueprint_host::token::HEADER)
        .and_then(|(_, value)| value.to_str().ok())
        .map_or_else(
            crate::http::ControlClient::default,
            crate::http::ControlClient::with_api_token,
        )
}

/// Sends requests until one succeeds: the end of a cold start. Returns how
/// many were sent.
///
/// # Errors
/// The workload refusing the request (HTTP 422), or no success in time.
pub async fn first_success(target: &Target, http2: bool, deadline: Duration) -> Result<u32> {
    let started = Instant::now();
    let until = started + deadline;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let spec = blueprint_load::LoadSpec {
            connections: 1,
            warmup: Duration::ZERO,
            duration: Duration::from_secs(2),
            max_requests: Some(1),
            timeout: Duration::from_secs(10),
            http2,
            threads: 1,
            ..blueprint_load::LoadSpec::default()
        };
        let last = match blueprint_load::run(target, &spec).await {
            Ok(report) if report.requests > report.errors.values().sum::<u64>() => {
                tracing::debug!(attempts, after = ?started.elapsed(), "readiness: first success");
                return Ok(attempts);
            }
            Ok(report) if report.errors.contains_key("http-422") => {
                // The load engine skips bodies: ask once more for the guest's reason.
                let reason = control_client_for(target)
                    .post(
                        &target.uri.to_string(),
                        target.body.clone(),
                        Duration::from_secs(10),
                    )
                    .await
                    .map(|reply| reply.text())
                    .unwrap_or_default();
                bail!("the workload refused the request body (HTTP 422): {reason}")
            }
            Ok(report) => format!("errors {:?}", report.errors),
            Err(err) => format!("{err:#}"),
        };
        tracing::debug!(attempts, after = ?started.elapsed(), %last, "readiness: no success yet");
        if Instant::now() >= until {
            bail!("no successful response within {deadline:?} ({attempts} attempts); last attempt: {last}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_taken_port_starts_again() {
        // As daprd, redis-server and our hosts report it, under our context.
        let daprd =
            anyhow::anyhow!("level=fatal msg=\"listen tcp 127.0.0.1:45943: bind: address already in use\"")
                .context("daprd exited during start-up (exit status: 1); last log lines:");
        let redis = anyhow::anyhow!(
            "Could not create server TCP listening socket 127.0.0.1:21000: bind: Address already in use"
        );
        let guest = anyhow::anyhow!("the module's `handle` trapped: unreachable");
        assert!(lost_a_port(&daprd));
        assert!(lost_a_port(&redis));
        assert!(!lost_a_port(&guest));
    }
}
