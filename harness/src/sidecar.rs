//! The real Dapr sidecar: component and Configuration YAML written into a run
//! folder, daprd started in standalone mode on free loopback ports, readiness
//! awaited, its log kept, and the process stopped when the [`Sidecar`] drops.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

pub use blueprint_analysis::settings::StateStoreKind;

use crate::daprd::Daprd;
use crate::http::ControlClient;
use crate::process::ChildGuard;
use blueprint_load::net::free_ports;

/// Dapr component name of the state store guests use (see `workloads/ABI.md`).
pub const STATE_STORE: &str = "statestore";
/// Dapr component name of the pub/sub broker guests use.
pub const PUBSUB: &str = "pubsub";

/// How daprd talks to its app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AppProtocol {
    /// HTTP/1.1.
    #[default]
    Http,
    /// gRPC (h2c): daprd calls the app's `AppCallback` service
    /// (`runtimes/HOST.md`, "gRPC app channel").
    Grpc,
}

impl AppProtocol {
    /// Every protocol's name, as scenarios (`[matrix] protocols`), cell ids
    /// and daprd's `--app-protocol` spell it.
    pub const NAMES: &[&str] = &["http", "grpc"];

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            AppProtocol::Http => "http",
            AppProtocol::Grpc => "grpc",
        }
    }
}

impl std::fmt::Display for AppProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AppProtocol {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "http" => Ok(Self::Http),
            "grpc" => Ok(Self::Grpc),
            _ => bail!("unknown app protocol `{s}`; known: {}", Self::NAMES.join(", ")),
        }
    }
}

/// Which of daprd's HTTP pipelines runs a middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipeline {
    /// `appHttpPipeline`: requests daprd sends to its app.
    App,
    /// `httpPipeline`: every request to daprd's HTTP API.
    Http,
}

/// daprd's `middleware.http.wasm` running an http-wasm guest.
#[derive(Debug, Clone)]
pub struct WasmMiddleware {
    /// `file://…` or `http://127.0.0.1:…` URL of the guest.
    pub url: String,
    /// Which pipeline.
    pub pipeline: Pipeline,
}

/// daprd's `bindings.wasm` output binding running a WASI command.
#[derive(Debug, Clone)]
pub struct WasmBinding {
    /// Binding (component) name.
    pub name: String,
    /// `file://…` or `http://127.0.0.1:…` URL of the module.
    pub url: String,
}

/// Component name of the Wasm middleware.
pub const MIDDLEWARE: &str = "wasm";

/// Dapr's two API tokens for one system of processes, drawn fresh for each
/// sidecar so that nothing else on the machine can drive our daprd or our
/// app: `dapr` is daprd's `DAPR_API_TOKEN` (every caller of its HTTP and gRPC
/// APIs sends it as `dapr-api-token`; daprd leaves `GET /v1.0/healthz` open),
/// `app` its `APP_API_TOKEN` (daprd sends it to the app, which refuses
/// requests without it).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiTokens {
    /// `DAPR_API_TOKEN`: callers → daprd.
    pub dapr: String,
    /// `APP_API_TOKEN`: daprd (and the harness) → the app.
    pub app: String,
}

impl std::fmt::Debug for ApiTokens {
    // Logs and error chains must not carry the values.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiTokens { .. }")
    }
}

impl ApiTokens {
    /// Two random tokens, 128 bits each, in hex.
    pub fn generate() -> Self {
        let token = || format!("{:032x}", rand::random::<u128>());
        Self {
            dapr: token(),
            app: token(),
        }
    }

    /// The environment that gives a process both tokens, under Dapr's names.
    pub fn env(&self) -> [(&'static str, &str); 2] {
        [
            (blueprint_host::token::DAPR_API_TOKEN_ENV, self.dapr.as_str()),
            (blueprint_host::token::APP_API_TOKEN_ENV, self.app.as_str()),
        ]
    }

    /// The `dapr-api-token` header for requests to daprd.
    pub fn dapr_header(&self) -> (hyper::header::HeaderName, hyper::header::HeaderValue) {
        header(&self.dapr)
    }

    /// The `dapr-api-token` header for requests to the app.
    pub fn app_header(&self) -> (hyper::header::HeaderName, hyper::header::HeaderValue) {
        header(&self.app)
    }
}

fn header(token: &str) -> (hyper::header::HeaderName, hyper::header::HeaderValue) {
    (
        hyper::header::HeaderName::from_static(blueprint_host::token::HEADER),
        // Hex digits only: always a valid header value.
        hyper::header::HeaderValue::from_str(token).expect("a hex token is a header value"),
    )
}

/// The app's subscription to one topic of [`PUBSUB`]: daprd posts every
/// event of `topic` to the app at `route`. Declarative (a `Subscription`
/// resource), so every app protocol and host gets it alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The resource's name (unique per sidecar).
    pub name: String,
    /// The topic.
    pub topic: String,
    /// The app's path daprd posts events to.
    pub route: String,
    /// A bulk subscription: daprd posts batches of events instead.
    pub bulk: Option<BulkSubscribe>,
}

/// A bulk subscription's batching (Dapr's `bulkSubscribe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkSubscribe {
    /// The most events in one batch (`maxMessagesCount`).
    pub max_messages: u32,
    /// How long daprd waits to fill a batch (`maxAwaitDurationMs`).
    pub max_await: Duration,
}

/// A `bindings.cron` input binding: daprd posts to the app at `route` every
/// `every` (and over gRPC calls `OnBindingEvent` with the binding's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronBinding {
    /// The component's name.
    pub name: String,
    /// The app's path daprd posts each firing to.
    pub route: String,
    /// The schedule's period.
    pub every: Duration,
}

/// What to start.
#[derive(Debug, Clone)]
pub struct SidecarSpec {
    /// Dapr app id.
    pub app_id: String,
    /// The app's loopback port, if there is an app.
    pub app_port: Option<u16>,
    /// Protocol to the app.
    pub app_protocol: AppProtocol,
    /// Backing store of `statestore`.
    pub state_store: StateStoreKind,
    /// The loopback port of the redis-server behind [`StateStoreKind::Redis`].
    pub redis_port: Option<u16>,
    /// A Wasm HTTP middleware in one of daprd's pipelines.
    pub middleware: Option<WasmMiddleware>,
    /// `bindings.wasm` output bindings.
    pub wasm_bindings: Vec<WasmBinding>,
    /// Declarative subscriptions of the app to topics of `pubsub`.
    pub subscriptions: Vec<Subscription>,
    /// `bindings.cron` input bindings that call the app.
    pub cron_bindings: Vec<CronBinding>,
    /// How long to wait for readiness.
    pub ready_timeout: Duration,
    /// Ports to listen on.
    pub ports: SidecarPorts,
    /// daprd's API tokens (its app gets the same pair).
    pub tokens: ApiTokens,
    /// CPUs daprd runs on (`[load] pin`); empty for any.
    pub cpus: Vec<usize>,
}

/// The loopback ports one daprd listens on, chosen before anything starts so
/// that the app can be told the gRPC port before daprd exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SidecarPorts {
    /// Dapr HTTP API.
    pub http: u16,
    /// Dapr gRPC API.
    pub grpc: u16,
    /// Prometheus metrics.
    pub metrics: u16,
    /// Internal gRPC (sidecar to sidecar).
    pub internal: u16,
}

impl SidecarPorts {
    /// Four free loopback ports for daprd and a fifth for its app, from one
    /// allocation: ports taken one call after another can repeat, since each
    /// is released as soon as it is found.
    ///
    /// # Errors
    /// The kernel refuses to bind.
    pub fn allocate_with_app() -> Result<(Self, u16)> {
        let p = free_ports(5)?;
        let ports = Self {
            http: p[0],
            grpc: p[1],
            metrics: p[2],
            internal: p[3],
        };
        Ok((ports, p[4]))
    }
}

impl SidecarSpec {
    /// A sidecar for `app_id` on `ports`, in front of the app at `app_port`.
    pub fn new(app_id: impl Into<String>, app_port: Option<u16>, ports: SidecarPorts) -> Self {
        Self {
            app_id: app_id.into(),
            app_port,
            app_protocol: AppProtocol::Http,
            state_store: StateStoreKind::InMemory,
            redis_port: None,
            middleware: None,
            wasm_bindings: Vec::new(),
            subscriptions: Vec::new(),
            cron_bindings: Vec::new(),
            ready_timeout: Duration::from_secs(30),
            ports,
            tokens: ApiTokens::generate(),
            cpus: Vec::new(),
        }
    }
}

/// A running daprd.
#[derive(Debug)]
pub struct Sidecar {
    child: ChildGuard,
    /// Dapr HTTP API port.
    pub http_port: u16,
    /// Dapr gRPC API port.
    pub grpc_port: u16,
    /// Prometheus metrics port.
    pub metrics_port: u16,
    /// App id.
    pub app_id: String,
    /// Folder with the YAML and the log.
    pub dir: PathBuf,
    /// From spawn to ready.
    pub startup: Duration,
    /// Its API tokens.
    pub tokens: ApiTokens,
    /// What the readiness wait saw, probe by probe.
    pub readiness: Vec<Probe>,
}

/// One step of a readiness wait and when it first held, from spawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// What was waited for (`process up`, `port owned`, `healthz 2xx`, …).
    pub what: String,
    /// From spawn until it first held.
    pub after: Duration,
}

impl Sidecar {
    /// Writes the resources into `dir`, starts daprd and waits until
    /// `/v1.0/healthz` answers 204 (which includes the app channel when
    /// there is an app).
    ///
    /// # Errors
    /// daprd exits or is not ready in time; the message carries the tail of
    /// its log.
    pub async fn start(daprd: &Daprd, spec: &SidecarSpec, dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir.join("resources"))
            .with_context(|| format!("creating {}", dir.display()))?;
        write_resources(spec, dir)?;
        let SidecarPorts {
            http: http_port,
            grpc: grpc_port,
            metrics: metrics_port,
            internal: internal_port,
        } = spec.ports;

        let mut cmd = Command::new(&daprd.path);
        cmd.current_dir(dir)
            .args(["--mode", "standalone", "--app-id", &spec.app_id])
            .args(["--dapr-http-port", &http_port.to_string()])
            .args(["--dapr-grpc-port", &grpc_port.to_string()])
            .args(["--dapr-internal-grpc-port", &internal_port.to_string()])
            .args(["--metrics-port", &metrics_port.to_string()])
            .args(["--dapr-listen-addresses", "127.0.0.1"])
            .args(["--dapr-internal-grpc-listen-address", "127.0.0.1"])
            .args(["--metrics-listen-address", "127.0.0.1"])
            .args(["--resources-path", "resources", "--config", "config.yaml"])
            .args(["--log-level", "info", "--enable-profiling=false"])
            .envs(spec.tokens.env());
        if let Some(app_port) = spec.app_port {
            cmd.args(["--app-port", &app_port.to_string()])
                .args(["--app-protocol", &spec.app_protocol.to_string()])
                .args(["--app-channel-address", "127.0.0.1"]);
        }
        let started = Instant::now();
        crate::pinning::run_on(&mut cmd, &spec.cpus)?;
        let child = ChildGuard::spawn("daprd", cmd, &dir.join("daprd.log"))?;
        let mut sidecar = Self {
            child,
            http_port,
            grpc_port,
            metrics_port,
            app_id: spec.app_id.clone(),
            dir: dir.to_owned(),
            startup: Duration::ZERO,
            tokens: spec.tokens.clone(),
            readiness: Vec::new(),
        };
        // A middleware in `httpPipeline` sees daprd's own health endpoint too,
        // and may answer it (a transform refuses its empty body): then any
        // answer plus daprd's "initialized" log line (logged once the app
        // channel is up) means ready.
        let pipeline_answers = spec
            .middleware
            .as_ref()
            .is_some_and(|m| m.pipeline == Pipeline::Http);
        sidecar.readiness = sidecar
            .wait_ready(started, spec.ready_timeout, pipeline_answers)
            .await?;
        sidecar.startup = started.elapsed();
        tracing::debug!(app_id = %spec.app_id, startup = ?sidecar.startup, probes = ?sidecar.readiness, "daprd ready");
        Ok(sidecar)
    }

    /// Waits for our daprd to own its port and answer its health check;
    /// returns when each of those first held.
    async fn wait_ready(
        &mut self,
        started: Instant,
        timeout: Duration,
        pipeline_answers: bool,
    ) -> Result<Vec<Probe>> {
        let client = self.client();
        let url = format!("{}/v1.0/healthz", self.http_url());
        let deadline = started + timeout;
        let mut probes = Probes::new(started);
        probes.held("process up");
        loop {
            if let Some(status) = self.child.exited() {
                bail!(
                    "daprd exited during start-up ({status}); last log lines:\n{}",
                    self.child.log_tail(20)
                );
            }
            // Only our daprd's answer counts (see `owns_listener`).
            let owned = crate::process::owns_listener(self.child.pid(), self.http_port);
            if owned {
                probes.held("port owned");
            }
            if owned && let Ok(reply) = client.get(&url, Duration::from_secs(1)).await {
                probes.held("healthz answers");
                // 2xx from healthz includes the app channel when there is an app.
                if reply.status.is_success()
                    || (pipeline_answers && self.child.log_tail(200).contains("dapr initialized"))
                {
                    probes.held("healthz 2xx (app channel up)");
                    return Ok(probes.into_vec());
                }
            }
            if Instant::now() >= deadline {
                bail!(
                    "daprd was not ready within {timeout:?} (waited for our daprd (pid {}) to listen on \
                     port {} and {url} to answer 2xx{}; reached: {}); last log lines:\n{}",
                    self.child.pid(),
                    self.http_port,
                    if pipeline_answers {
                        ", or any answer after `dapr initialized`"
                    } else {
                        ""
                    },
                    probes,
                    self.child.log_tail(20)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `http://127.0.0.1:<dapr-http-port>`.
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// URL that invokes `method` on this sidecar's app through service invocation.
    pub fn invoke_url(&self, method: &str) -> String {
        format!("{}/v1.0/invoke/{}/method/{method}", self.http_url(), self.app_id)
    }

    /// A control client that sends this daprd's API token.
    pub fn client(&self) -> ControlClient {
        ControlClient::with_api_token(&self.tokens.dapr)
    }

    /// daprd's process id (for meters).
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// Reads a key through Dapr's HTTP state API; `None` if it has no value.
    ///
    /// # Errors
    /// The request fails or Dapr answers with an error.
    pub async fn get_state(&self, store: &str, key: &str) -> Result<Option<bytes::Bytes>> {
        let url = format!("{}/v1.0/state/{store}/{key}", self.http_url());
        let reply = self.client().get(&url, Duration::from_secs(5)).await?;
        match reply.status.as_u16() {
            200 => Ok(Some(reply.body)),
            204 => Ok(None),
            code => bail!("GET {url} answered {code}: {}", reply.text()),
        }
    }

    /// The last lines of daprd's log.
    pub fn log_tail(&self, n: usize) -> String {
        self.child.log_tail(n)
    }

    /// Stops daprd (also done on drop).
    pub fn stop(mut self) {
        self.child.stop();
    }
}

/// The steps of one readiness wait, each kept at the first time it held.
#[derive(Debug)]
pub struct Probes {
    started: Instant,
    seen: Vec<Probe>,
}

impl Probes {
    /// A wait that began (the process was spawned) at `started`.
    pub fn new(started: Instant) -> Self {
        Self {
            started,
            seen: Vec::new(),
        }
    }

    /// Notes that `what` holds now, unless it already did.
    pub fn held(&mut self, what: &str) {
        if !self.seen.iter().any(|p| p.what == what) {
            let after = self.started.elapsed();
            tracing::debug!(probe = what, ?after, "readiness");
            self.seen.push(Probe {
                what: what.to_owned(),
                after,
            });
        }
    }

    /// The steps in the order they first held.
    pub fn into_vec(self) -> Vec<Probe> {
        self.seen
    }
}

impl std::fmt::Display for Probes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.seen.is_empty() {
            return f.write_str("nothing");
        }
        for (i, p) in self.seen.iter().enumerate() {
            write!(
                f,
                "{}{} after {:?}",
                if i == 0 { "" } else { ", " },
                p.what,
                p.after
            )?;
        }
        Ok(())
    }
}

/// A YAML double-quoted scalar (JSON strings are valid YAML).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn component(name: &str, kind: &str, metadata: &[(&str, String)]) -> String {
    let mut yaml = format!(
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: {kind}\n  version: v1\n"
    );
    if metadata.is_empty() {
        yaml.push_str("  metadata: []\n");
    } else {
        yaml.push_str("  metadata:\n");
        for (key, value) in metadata {
            let _ = writeln!(yaml, "    - name: {key}\n      value: {}", q(value));
        }
    }
    yaml
}

fn write_resources(spec: &SidecarSpec, dir: &Path) -> Result<()> {
    // daprd runs in `dir`: a relative path written into its files (a run
    // given `--out x.json` works in `x.d/…`) would be looked up from there;
    // name resolution could not open its file, and every invocation
    // through that daprd answered 500.
    let dir = &std::path::absolute(dir).with_context(|| format!("locating {}", dir.display()))?;
    let redis = || -> Result<Vec<(&str, String)>> {
        let port = spec
            .redis_port
            .context("the redis state store needs a running redis-server (no port given)")?;
        Ok(vec![
            ("redisHost", format!("127.0.0.1:{port}")),
            ("redisPassword", String::new()),
        ])
    };
    let (state, pubsub) = match spec.state_store {
        StateStoreKind::InMemory => (
            component(STATE_STORE, "state.in-memory", &[]),
            component(PUBSUB, "pubsub.in-memory", &[]),
        ),
        StateStoreKind::Sqlite => (
            component(
                STATE_STORE,
                "state.sqlite",
                &[("connectionString", dir.join("state.db").display().to_string())],
            ),
            component(PUBSUB, "pubsub.in-memory", &[]),
        ),
        StateStoreKind::Redis => (
            component(STATE_STORE, "state.redis", &redis()?),
            component(PUBSUB, "pubsub.redis", &redis()?),
        ),
    };
    // Name resolution from a file in the run folder: standalone mode's default
    // (mDNS) would announce the app beyond loopback.
    let mut config = format!(
        "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: blueprint-bench\nspec:\n  \
         nameResolution:\n    component: sqlite\n    version: v1\n    configuration:\n      \
         connectionString: {}\n  metric:\n    enabled: true\n  tracing:\n    samplingRate: \"0\"\n",
        q(&dir.join("nameresolution.db").display().to_string())
    );
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };
    if let Some(middleware) = &spec.middleware {
        let pipeline = match middleware.pipeline {
            Pipeline::App => "appHttpPipeline",
            Pipeline::Http => "httpPipeline",
        };
        let _ = write!(
            config,
            "  {pipeline}:\n    handlers:\n      - name: {MIDDLEWARE}\n        type: middleware.http.wasm\n"
        );
        write(
            "resources/middleware.yaml",
            &component(
                MIDDLEWARE,
                "middleware.http.wasm",
                &[("url", middleware.url.clone())],
            ),
        )?;
    }
    for binding in &spec.wasm_bindings {
        write(
            &format!("resources/binding-{}.yaml", binding.name),
            &component(&binding.name, "bindings.wasm", &[("url", binding.url.clone())]),
        )?;
    }
    for sub in &spec.subscriptions {
        write(
            &format!("resources/subscription-{}.yaml", sub.name),
            &format!(
                "apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata:\n  name: {}\nspec:\n  \
                 pubsubname: {PUBSUB}\n  topic: {}\n  routes:\n    default: {}\n{}scopes:\n  - {}\n",
                sub.name,
                q(&sub.topic),
                q(&sub.route),
                sub.bulk.map_or(String::new(), |bulk| format!(
                    "  bulkSubscribe:\n    enabled: true\n    maxMessagesCount: {}\n    maxAwaitDurationMs: {}\n",
                    bulk.max_messages,
                    bulk.max_await.as_millis().max(1)
                )),
                q(&spec.app_id)
            ),
        )?;
    }
    for cron in &spec.cron_bindings {
        // `direction: input` spares daprd asking the app whether it wants
        // the binding (an OPTIONS request, or `ListInputBindings` over gRPC).
        let mut yaml = component(
            &cron.name,
            "bindings.cron",
            &[
                ("schedule", format!("@every {}us", cron.every.as_micros().max(1))),
                ("route", cron.route.clone()),
                ("direction", "input".to_owned()),
            ],
        );
        let _ = writeln!(yaml, "scopes:\n  - {}", q(&spec.app_id));
        write(&format!("resources/binding-{}.yaml", cron.name), &yaml)?;
    }
    write("resources/statestore.yaml", &state)?;
    write("resources/pubsub.yaml", &pubsub)?;
    write("config.yaml", &config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_dapr_yaml_with_quoted_values() {
        let yaml = component(
            "statestore",
            "state.sqlite",
            &[("connectionString", "/tmp/a \"b\".db".into())],
        );
        assert!(yaml.starts_with("apiVersion: dapr.io/v1alpha1\nkind: Component\n"));
        assert!(yaml.contains("  type: state.sqlite\n"));
        assert!(yaml.contains(r#"value: "/tmp/a \"b\".db""#));
    }
    #[test]
    fn files_daprd_opens_are_named_by_absolute_paths_from_a_relative_run_folder() {
        // A folder named relative to the working directory, as `--out x.json` gives.
        let parent = tempfile::tempdir_in(".").unwrap();
        let relative = Path::new(parent.path().file_name().unwrap()).join("cell-000-trial-0");
        std::fs::create_dir_all(relative.join("resources")).unwrap();
        let spec = SidecarSpec {
            app_id: "blueprint-app".into(),
            app_port: None,
            app_protocol: AppProtocol::Http,
            state_store: StateStoreKind::Sqlite,
            redis_port: None,
            middleware: None,
            wasm_bindings: Vec::new(),
            subscriptions: Vec::new(),
            cron_bindings: Vec::new(),
            ready_timeout: Duration::from_secs(1),
            ports: SidecarPorts {
                http: 1,
                grpc: 2,
                metrics: 3,
                internal: 4,
            },
            tokens: ApiTokens::generate(),
            cpus: Vec::new(),
        };
        write_resources(&spec, &relative).unwrap();
        let absolute = std::path::absolute(&relative).unwrap();
        let config = std::fs::read_to_string(relative.join("config.yaml")).unwrap();
        let nr = absolute.join("nameresolution.db").display().to_string();
        assert!(config.contains(&q(&nr)), "{config}");
        let store = std::fs::read_to_string(relative.join("resources/statestore.yaml")).unwrap();
        let db = absolute.join("state.db").display().to_string();
        assert!(store.contains(&q(&db)), "{store}");
    }
}
