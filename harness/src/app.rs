//! Starting an app host (the process daprd calls) and waiting for it: the
//! harness side of `runtimes/HOST.md`. Every host — the Rust one in this
//! binary, the wazero Go one — is started and read the same way; `wasmtime
//! serve`, which keeps none of that contract, is started by its own flags
//! and described by the harness ([`Contract::WasmtimeServe`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::http::ControlClient;
use crate::process::ChildGuard;
use crate::sidecar::{ApiTokens, Probe, Probes};
use blueprint_host::HostInfo;
use blueprint_host::table::{self as runtimes, Availability, HostKind};

/// Which flags a host takes and which routes it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contract {
    /// `runtimes/HOST.md`: our flags, `/healthz`, `/info`, `/stats`, `/events`.
    Host,
    /// `wasmtime serve`: its own flags; every request goes to the component.
    WasmtimeServe,
}

/// How to launch a host.
#[derive(Debug, Clone)]
pub struct HostLaunch {
    /// The flags it takes and the routes it serves.
    pub contract: Contract,
    /// The program (`blueprint-bench` itself for in-process runtimes).
    pub program: PathBuf,
    /// Arguments before the contract's flags (`host --runtime wasmtime`).
    pub leading_args: Vec<String>,
    /// Modules to serve, by name.
    pub modules: Vec<(String, PathBuf)>,
    /// daprd's gRPC port, if the guests may reach Dapr over gRPC.
    pub dapr_grpc_port: Option<u16>,
    /// daprd's HTTP port, if the guests reach Dapr's HTTP API (the `http`
    /// and `component` flavours).
    pub dapr_http_port: Option<u16>,
    /// How daprd calls the host: with `Grpc` the host also serves Dapr's
    /// `AppCallback` service (`--app-protocol grpc`).
    pub app_protocol: crate::sidecar::AppProtocol,
    /// Flags after the contract's (mode settings such as the state cache).
    pub extra_args: Vec<String>,
    /// Loopback port to serve on.
    pub port: u16,
    /// How long compiling the modules and binding may take.
    pub ready_timeout: Duration,
    /// The sidecar's API tokens: the host checks `app` on incoming requests
    /// and sends `dapr` to daprd.
    pub tokens: Option<ApiTokens>,
    /// Variables on top of the children's environment.
    pub env: Vec<(String, String)>,
    /// CPUs the host runs on (`[load] pin`); empty for any.
    pub cpus: Vec<usize>,
}

/// A running app host.
#[derive(Debug)]
pub struct AppHost {
    child: ChildGuard,
    /// Its port.
    pub port: u16,
    /// What it reported on `GET /info`.
    pub info: HostInfo,
    /// From spawn to healthy.
    pub startup: Duration,
    /// What the readiness wait saw, probe by probe.
    pub readiness: Vec<Probe>,
    /// Whether it serves `runtimes/HOST.md`'s control routes (`/stats`,
    /// `/events`); `wasmtime serve` hands every path to the component.
    pub control_routes: bool,
    client: ControlClient,
}

impl AppHost {
    /// Spawns the host with its log in `dir` and waits for `GET /healthz`.
    ///
    /// # Errors
    /// The host exits or is not healthy in time (with its log tail).
    pub async fn start(launch: &HostLaunch, dir: &Path, log_name: &str) -> Result<Self> {
        let mut cmd = match launch.contract {
            Contract::Host => host_command_line(launch),
            Contract::WasmtimeServe => {
                let (_, component) = launch
                    .modules
                    .first()
                    .context("`wasmtime serve` serves one component")?;
                let mut cmd = crate::wasmtime_cli::serve_command(
                    &launch.program,
                    launch.port,
                    component,
                    &blueprint_host::component_env(
                        launch.dapr_http_port,
                        launch.tokens.as_ref().map(|t| t.dapr.as_str()),
                    ),
                );
                cmd.envs(launch.env.iter().map(|(k, v)| (k, v)));
                cmd
            }
        };
        let started = Instant::now();
        crate::pinning::run_on(&mut cmd, &launch.cpus)?;
        let mut child = ChildGuard::spawn("host", cmd, &dir.join(log_name))?;
        let mut probes = Probes::new(started);
        probes.held("process up");
        let client = launch
            .tokens
            .as_ref()
            .map_or_else(ControlClient::default, |t| ControlClient::with_api_token(&t.app));
        let base = format!("http://127.0.0.1:{}", launch.port);
        let deadline = started + launch.ready_timeout;
        // Our hosts answer `/healthz` 2xx; under `wasmtime serve` the
        // component answers it, and any answer (405 for a GET) means the
        // server is up with the component compiled.
        let healthy = |status: hyper::StatusCode| match launch.contract {
            Contract::Host => status.is_success(),
            Contract::WasmtimeServe => true,
        };
        loop {
            if let Some(status) = child.exited() {
                bail!(
                    "the app host exited during start-up ({status}):\n{}",
                    child.log_tail(15)
                );
            }
            // Only our host's answer counts (see `owns_listener`).
            let owned = crate::process::owns_listener(child.pid(), launch.port);
            if owned {
                probes.held("port owned");
            }
            if owned
                && let Ok(reply) = client
                    .get(&format!("{base}/healthz"), Duration::from_secs(1))
                    .await
                && healthy(reply.status)
            {
                probes.held("healthz answered");
                break;
            }
            if Instant::now() >= deadline {
                bail!(
                    "the app host was not healthy within {:?} (waited for pid {} to listen on port {} \
                     and {base}/healthz to answer; it compiles its modules first; reached: {probes}):\n{}",
                    launch.ready_timeout,
                    child.pid(),
                    launch.port,
                    child.log_tail(15)
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let startup = started.elapsed();
        let info = match launch.contract {
            Contract::Host => {
                let reply = client
                    .get(&format!("{base}/info"), Duration::from_secs(5))
                    .await?;
                let info: HostInfo = serde_json::from_slice(&reply.body).with_context(|| {
                    format!("the host's /info is not the contract's JSON: {}", reply.text())
                })?;
                probes.held("info read");
                info
            }
            Contract::WasmtimeServe => serve_info(launch),
        };
        let readiness = probes.into_vec();
        tracing::debug!(port = launch.port, ?startup, probes = ?readiness, "app host ready");
        Ok(Self {
            child,
            port: launch.port,
            info,
            startup,
            readiness,
            control_routes: launch.contract == Contract::Host,
            client,
        })
    }

    /// A control client that sends the app token, when there is one.
    pub fn client(&self) -> ControlClient {
        self.client.clone()
    }

    /// Its process id (for meters).
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// Stops it (also done on drop).
    pub fn stop(mut self) {
        self.child.stop();
    }
}

/// The command line of a `runtimes/HOST.md` host.
fn host_command_line(launch: &HostLaunch) -> Command {
    let mut cmd = Command::new(&launch.program);
    cmd.args(&launch.leading_args)
        .arg("--listen")
        .arg(format!("127.0.0.1:{}", launch.port));
    if let Some(port) = launch.dapr_grpc_port {
        cmd.arg("--dapr-grpc-port").arg(port.to_string());
    }
    if let Some(port) = launch.dapr_http_port {
        cmd.arg("--dapr-http-port").arg(port.to_string());
    }
    for (name, path) in &launch.modules {
        cmd.arg("--module").arg(format!("{name}={}", path.display()));
    }
    if launch.app_protocol != crate::sidecar::AppProtocol::Http {
        cmd.arg("--app-protocol").arg(launch.app_protocol.as_str());
    }
    cmd.args(&launch.extra_args);
    cmd.envs(launch.env.iter().map(|(k, v)| (k, v)));
    if let Some(tokens) = &launch.tokens {
        cmd.envs(tokens.env());
    }
    cmd
}

/// What results record for `wasmtime serve`, which has no `/info`: the
/// version built and its engine; compile time is inside its start-up.
fn serve_info(launch: &HostLaunch) -> HostInfo {
    HostInfo {
        runtime: blueprint_runtime_api::RuntimeInfo {
            name: runtimes::WASMTIME_SERVE.to_owned(),
            version: crate::wasmtime_cli::version().to_owned(),
            engine: "cranelift+pooling, wasmtime serve -Scli".to_owned(),
        },
        modules: launch
            .modules
            .iter()
            .map(|(name, path)| {
                let info = blueprint_host::ModuleInfo {
                    path: path.clone(),
                    size_bytes: std::fs::metadata(path).map_or(0, |m| m.len()),
                    compile_ns: 0,
                };
                (name.clone(), info)
            })
            .collect(),
    }
}

/// The program and leading arguments that start `name`'s host; the contract's
/// flags (`runtimes/HOST.md`) follow them. Builds the Go host if needed.
///
/// # Errors
/// Unknown or unavailable runtime, or a failed host build.
pub fn host_command(
    name: &str,
    self_exe: &Path,
    project: &Path,
    cache: &Path,
) -> Result<(PathBuf, Vec<String>)> {
    if name == runtimes::NATIVE {
        return Ok((
            self_exe.to_owned(),
            vec!["host".into(), "--runtime".into(), name.into()],
        ));
    }
    let entry = runtimes::entry(name)?;
    if let Availability::Unavailable { reason, fix } = &entry.availability {
        bail!("runtime `{name}` is unavailable: {reason} (fix: {fix})");
    }
    Ok(match entry.host {
        HostKind::InProcess => (
            self_exe.to_owned(),
            vec!["host".into(), "--runtime".into(), name.into()],
        ),
        HostKind::GoHost => (crate::go_host::build(project, cache)?, Vec::new()),
        HostKind::WasmtimeServe => (crate::wasmtime_cli::build(cache)?, Vec::new()),
    })
}
