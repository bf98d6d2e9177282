//! Starting an app host (the process daprd calls) and waiting for it: the
//! harness side of `runtimes/HOST.md`. Every host — the Rust one in this
//! binary, the wazero Go one — is started and read the same way.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::http::ControlClient;
use crate::process::ChildGuard;
use crate::sidecar::{ApiTokens, Probe, Probes};
use blueprint_host::HostInfo;
use blueprint_host::table::{self as runtimes, Availability, HostKind};

/// How to launch a host.
#[derive(Debug, Clone)]
pub struct HostLaunch {
    /// The program (`blueprint-bench` itself for in-process runtimes).
    pub program: PathBuf,
    /// Arguments before the contract's flags (`host --runtime wasmtime`).
    pub leading_args: Vec<String>,
    /// Modules to serve, by name.
    pub modules: Vec<(String, PathBuf)>,
    /// daprd's gRPC port, if the guests may reach Dapr.
    pub dapr_grpc_port: Option<u16>,
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
    client: ControlClient,
}

impl AppHost {
    /// Spawns the host with its log in `dir` and waits for `GET /healthz`.
    ///
    /// # Errors
    /// The host exits or is not healthy in time (with its log tail).
    pub async fn start(launch: &HostLaunch, dir: &Path, log_name: &str) -> Result<Self> {
        let mut cmd = Command::new(&launch.program);
        cmd.args(&launch.leading_args)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", launch.port));
        if let Some(port) = launch.dapr_grpc_port {
            cmd.arg("--dapr-grpc-port").arg(port.to_string());
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
        let started = Instant::now();
        let mut child = ChildGuard::spawn("host", cmd, &dir.join(log_name))?;
        let mut probes = Probes::new(started);
        probes.held("process up");
        let client = launch
            .tokens
            .as_ref()
            .map_or_else(ControlClient::default, |t| ControlClient::with_api_token(&t.app));
        let base = format!("http://127.0.0.1:{}", launch.port);
        let deadline = started + launch.ready_timeout;
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
                && reply.status.is_success()
            {
                probes.held("healthz 2xx");
                break;
            }
            if Instant::now() >= deadline {
                bail!(
                    "the app host was not healthy within {:?} (waited for pid {} to listen on port {} \
                     and {base}/healthz to answer 2xx; it compiles its modules first; reached: {probes}):\n{}",
                    launch.ready_timeout,
                    child.pid(),
                    launch.port,
                    child.log_tail(15)
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let startup = started.elapsed();
        let reply = client
            .get(&format!("{base}/info"), Duration::from_secs(5))
            .await?;
        let info: HostInfo = serde_json::from_slice(&reply.body)
            .with_context(|| format!("the host's /info is not the contract's JSON: {}", reply.text()))?;
        probes.held("info read");
        let readiness = probes.into_vec();
        tracing::debug!(port = launch.port, ?startup, probes = ?readiness, "app host ready");
        Ok(Self {
            child,
            port: launch.port,
            info,
            startup,
            readiness,
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
    })
}
