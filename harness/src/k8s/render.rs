//! `k8s render`: a scenario's cells as Kubernetes manifests for Dapr's
//! sidecar injector, one folder per deployment (workload × mode × runtime ×
//! language × store), run one after another by the rendered `run.sh`.
//!
//! Per deployment: the Dapr `Component`s and `Configuration`s (scoped to its
//! app ids, so a previous one left behind changes nothing), the app as a
//! Deployment, the request body as a ConfigMap, and per trial a direct
//! baseline Job (the app inside the load pod, no Dapr on the path) before
//! the Dapr Job (a tester pod whose own sidecar invokes the app), then one
//! Job per open-loop rate. Cells that cannot run on a cluster are listed in
//! `PLAN.md` with the reason and recorded in the plan ConfigMap, so
//! `k8s collect` reports them too.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use blueprint_analysis::modes::{App, Flavour, InDaprd, Mode, Trigger};
use blueprint_analysis::results::{CellStatus, ScenarioRecord};

use super::labels::*;
use super::yaml;
use crate::scenario::{CellId, Plan, StateStoreKind};
use crate::sidecar::{MIDDLEWARE, PUBSUB, STATE_STORE};

/// daprd's HTTP API port as the injector configures it.
pub const DAPR_HTTP_PORT: u16 = 3500;
/// daprd's gRPC API port as the injector configures it.
pub const DAPR_GRPC_PORT: u16 = 50001;
/// The app's port inside its pod (loopback only).
pub const APP_PORT: u16 = 8080;
/// Where the image keeps the built guest modules.
pub const MODULES_IN_IMAGE: &str = "/opt/blueprint-bench/modules";
/// Where pods see the module.
const WASM_DIR: &str = "/wasm";
const MODULE_FILE: &str = "/wasm/module.wasm";

/// The sidecar resources of Dapr's own performance tests.
const SIDECAR_RESOURCES: [(&str, &str); 4] = [
    ("dapr.io/sidecar-cpu-request", "0.5"),
    ("dapr.io/sidecar-cpu-limit", "4.0"),
    ("dapr.io/sidecar-memory-request", "250Mi"),
    ("dapr.io/sidecar-memory-limit", "512Mi"),
];

/// What `k8s render` was asked for.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Output folder.
    pub out: PathBuf,
    /// Registry of the `blueprint-bench` image.
    pub image_registry: String,
    /// Image tag.
    pub image_tag: String,
    /// Namespace of the run (default `bb-<scenario>`).
    pub namespace: Option<String>,
    /// Load pods per Job, each with its share of the connections or rate.
    pub parallelism: usize,
}

/// A cell of the plan as the cluster will see it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlannedCell {
    /// The cell.
    pub id: CellId,
    /// Folder index (`000`…) of its deployment; `None` when not rendered.
    pub index: Option<String>,
    /// `pending` when rendered, else why not.
    #[serde(flatten)]
    pub status: CellStatus,
}

/// The plan ConfigMap's content, read back by `k8s collect`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RenderedPlan {
    /// The scenario as rendered.
    pub scenario: ScenarioRecord,
    /// The image the pods run.
    pub image: String,
    /// Load pods per Job.
    pub parallelism: usize,
    /// Every cell of the scenario.
    pub cells: Vec<PlannedCell>,
}

/// Why a cell cannot run on a cluster, or `None`.
///
/// # Errors
/// Unreadable golden vectors, or names the scenario check should have caught.
pub fn excluded(project: &Path, plan: &Plan, cell: &CellId) -> Result<Option<CellStatus>> {
    let mode: Mode = cell.mode.parse()?;
    let trigger: Trigger = cell.trigger.parse()?;
    let store: StateStoreKind = cell.store.parse()?;
    let na = |reason: String| Ok(Some(CellStatus::NotApplicable { reason }));
    let unavailable = |reason: String| Ok(Some(CellStatus::Unavailable { reason }));
    if plan.custom.contains_key(&cell.workload) {
        return unavailable(format!(
            "not on Kubernetes: `{}` is a scenario's own workload, and the image carries only the built-in modules",
            cell.workload
        ));
    }
    let pure = crate::workloads::load_vectors(project, &cell.workload)?.pure;
    if mode.pure_only() && !pure {
        return na(format!(
            "side effects: `{}` uses Dapr, and Wasm inside daprd cannot reach it",
            cell.workload
        ));
    }
    if trigger == Trigger::Direct && !mode.has_workload_host() {
        return na(format!(
            "{mode} has no app of ours to call directly: the Wasm runs inside daprd"
        ));
    }
    if let Some(reason) = crate::blueprint::runtime_mismatch(mode, &cell.runtime) {
        return na(reason);
    }
    if cell.protocol != crate::sidecar::AppProtocol::Http.as_str() {
        if let Some(reason) = crate::blueprint::no_grpc_app_channel(mode, trigger) {
            return na(reason);
        }
        return unavailable(
            "not on Kubernetes: the rendered app pods run the HTTP app channel (`dapr.io/app-protocol: http`)"
                .into(),
        );
    }
    if trigger.delivers_events() {
        return unavailable(format!(
            "not on Kubernetes: the {trigger} trigger reads the app's delivery log (and pub/sub publishes \
             from the harness), which the rendered load job does not do"
        ));
    }
    if mode.flavour() == Some(Flavour::Component) {
        return unavailable(
            "not on Kubernetes yet: the rendered image carries no wasi:http components and no `wasmtime serve`"
                .into(),
        );
    }
    if mode.row().app == App::None {
        return unavailable(
            "not on Kubernetes: no app pod for the injector (daprd answers the binding itself); the only \
             daprd would be the load pod's own, sharing its CPU with the generator"
                .into(),
        );
    }
    if store == StateStoreKind::Redis {
        return unavailable(
            "not on Kubernetes: the redis store needs a Redis service in the cluster, which is not rendered"
                .into(),
        );
    }
    if mode == Mode::Native && cell.language != "rust" {
        return na(format!(
            "the native floor is the Rust workloads compiled into the host, not {}",
            cell.language
        ));
    }
    let wasmedge = blueprint_host::table::entry(&cell.runtime).is_ok_and(|e| e.family == "wasmedge");
    if mode.has_workload_host() && wasmedge {
        return unavailable(
            "not on Kubernetes: the image is built without the `wasmedge` feature (WasmEdge's library is not in it)"
                .into(),
        );
    }
    Ok(None)
}

/// The request body: the scenario's, else the first golden vector that is
/// expected to succeed (as a local run picks it).
fn request_body(project: &Path, plan: &Plan, workload: &str) -> Result<Vec<u8>> {
    if let Some(body) = plan.inputs.get(workload) {
        return Ok(body.clone());
    }
    let vectors = crate::workloads::load_vectors(project, workload)?;
    for case in &vectors.cases {
        if matches!(case.expected()?, crate::workloads::Expected::Output(_)) {
            return case.input_bytes();
        }
    }
    bail!("workload `{workload}` has no succeeding vector to use as input; set [inputs.{workload}]")
}

/// One deployment: the cells sharing everything but the trigger.
struct Group {
    index: String,
    dir: String,
    workload: String,
    mode: Mode,
    runtime: String,
    language: String,
    store: StateStoreKind,
    dapr: Option<CellId>,
    direct: Option<CellId>,
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// The open-loop rates of a trial: the scenario's, or its ramp written out
/// (a cluster run cannot stop at the knee, so every step is rendered and
/// the knee is found afterwards).
pub fn open_rates(plan: &Plan) -> Vec<f64> {
    if let Some(ramp) = &plan.load.ramp {
        let mut rates = Vec::new();
        let mut rate = ramp.start;
        while rate <= ramp.max {
            rates.push(rate.round());
            rate *= ramp.factor;
        }
        rates
    } else {
        plan.load.rates.clone()
    }
}

/// Renders `plan` into `opts.out`; returns the plan as recorded.
///
/// # Errors
/// A connection count or rate the parallelism does not divide, unreadable
/// vectors, an unwritable folder.
pub fn render(project: &Path, plan: &Plan, opts: &RenderOptions) -> Result<RenderedPlan> {
    let n = opts.parallelism;
    if n == 0 {
        bail!("--parallelism must be at least 1");
    }
    if plan.load.trials.is_adaptive() {
        bail!(
            "load.trials is adaptive ({}), but the rendered Jobs run a fixed number of trials with no \
             harness between them to decide on more: give `trials = N`",
            plan.load.trials
        );
    }
    if !plan.load.connections.is_multiple_of(n) || !plan.load.open_connections.is_multiple_of(n) {
        bail!(
            "--parallelism {n} does not divide load.connections ({}) and load.open_connections ({}): \
             each load pod gets an equal share",
            plan.load.connections,
            plan.load.open_connections
        );
    }
    let namespace = opts
        .namespace
        .clone()
        .unwrap_or_else(|| format!("bb-{}", slug(&plan.meta.name)));
    let image = format!(
        "{}/blueprint-bench:{}",
        opts.image_registry.trim_end_matches('/'),
        opts.image_tag
    );

    let mut cells = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    for cell in &plan.cells {
        if let Some(status) = excluded(project, plan, cell)? {
            cells.push(PlannedCell {
                id: cell.clone(),
                index: None,
                status,
            });
            continue;
        }
        let trigger: Trigger = cell.trigger.parse()?;
        let same = |g: &Group| {
            g.workload == cell.workload
                && g.mode.as_str() == cell.mode
                && g.runtime == cell.runtime
                && g.language == cell.language
                && g.store.to_string() == cell.store
        };
        let at = match groups.iter().position(same) {
            Some(at) => at,
            None => {
                let index = format!("{:03}", groups.len());
                let dir = format!(
                    "{index}-{}",
                    slug(&format!(
                        "{}-{}-{}-{}-{}",
                        cell.workload, cell.mode, cell.runtime, cell.language, cell.store
                    ))
                );
                groups.push(Group {
                    index,
                    dir,
                    workload: cell.workload.clone(),
                    mode: cell.mode.parse()?,
                    runtime: cell.runtime.clone(),
                    language: cell.language.clone(),
                    store: cell.store.parse()?,
                    dapr: None,
                    direct: None,
                });
                groups.len() - 1
            }
        };
        match trigger {
            Trigger::Dapr => groups[at].dapr = Some(cell.clone()),
            Trigger::Direct => groups[at].direct = Some(cell.clone()),
            Trigger::Pubsub | Trigger::PubsubBulk | Trigger::Cron => unreachable!("excluded above"),
        }
        cells.push(PlannedCell {
            id: cell.clone(),
            index: Some(groups[at].index.clone()),
            status: CellStatus::Pending,
        });
    }

    let rendered = RenderedPlan {
        scenario: ScenarioRecord {
            path: plan.path.display().to_string(),
            meta: plan.meta.clone(),
            load: plan.load.clone(),
            dapr: plan.dapr.clone(),
            rotation: plan.rotation.clone(),
        },
        image: image.clone(),
        parallelism: n,
        cells,
    };

    let out = &opts.out;
    std::fs::create_dir_all(out.join("cells")).with_context(|| format!("creating {}", out.display()))?;
    let write = |rel: &str, text: &str| -> Result<()> {
        let path = out.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };

    let namespace_doc = json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": namespace, "labels": {"app.kubernetes.io/part-of": "blueprint-bench"}},
    });
    let plan_doc = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": PLAN_CONFIGMAP, "namespace": namespace},
        "data": {"plan.json": serde_json::to_string_pretty(&rendered)?},
    });
    write("namespace.yaml", &yaml::documents([&namespace_doc, &plan_doc]))?;

    let ctx = Ctx {
        plan,
        namespace: &namespace,
        image: &image,
        parallelism: n,
        rates: open_rates(plan),
    };
    for group in &groups {
        let body = request_body(project, plan, &group.workload)?;
        for (name, text) in ctx.group_files(group, &body)? {
            write(&format!("cells/{}/{name}", group.dir), &text)?;
        }
    }
    write("run.sh", &ctx.run_script(&groups))?;
    write("PLAN.md", &plan_markdown(&rendered, &namespace, &groups))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(out.join("run.sh"), std::fs::Permissions::from_mode(0o755))
            .context("making run.sh executable")?;
    }
    Ok(rendered)
}

struct Ctx<'a> {
    plan: &'a Plan,
    namespace: &'a str,
    image: &'a str,
    parallelism: usize,
    rates: Vec<f64>,
}

/// Single-quotes a word for a POSIX shell.
fn sh(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

fn duration(d: std::time::Duration) -> String {
    humantime::format_duration(d).to_string().replace(' ', "")
}

fn annotations(pairs: &[(&str, String)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String(v.clone())))
            .collect(),
    )
}

impl Ctx<'_> {
    fn app_id(&self, g: &Group) -> String {
        format!("bb-{}-app", g.index)
    }
    fn load_id(&self, g: &Group) -> String {
        format!("bb-{}-load", g.index)
    }
    fn direct_id(&self, g: &Group) -> String {
        format!("bb-{}-direct", g.index)
    }

    /// The Dapr annotations of a pod; `app_port` when it has an app.
    fn dapr_annotations(
        &self,
        app_id: &str,
        config: &str,
        app_port: Option<u16>,
        wasm_in_daprd: bool,
        sqlite: bool,
    ) -> Vec<(&'static str, String)> {
        let mut a = vec![
            ("dapr.io/enabled", "true".to_owned()),
            ("dapr.io/app-id", app_id.to_owned()),
            ("dapr.io/config", config.to_owned()),
            ("dapr.io/log-level", "warn".to_owned()),
            ("dapr.io/enable-metrics", "true".to_owned()),
            // The load pods are Jobs: a native sidecar ends with the load.
            ("dapr.io/enable-native-sidecar", "true".to_owned()),
        ];
        for (k, v) in SIDECAR_RESOURCES {
            a.push((k, v.to_owned()));
        }
        if let Some(port) = app_port {
            a.push(("dapr.io/app-port", port.to_string()));
            a.push(("dapr.io/app-protocol", "http".to_owned()));
            // Never below what the load keeps in flight: the limit must not
            // be what is measured.
            let most = self.plan.load.connections.max(self.plan.load.open_connections);
            a.push(("dapr.io/app-max-concurrency", most.to_string()));
        }
        if wasm_in_daprd {
            a.push(("dapr.io/volume-mounts", format!("wasm:{WASM_DIR}")));
        }
        if sqlite {
            a.push(("dapr.io/volume-mounts-rw", "state:/state".to_owned()));
        }
        a
    }

    fn module_source(g: &Group) -> Option<String> {
        g.mode.flavour().map(|f| {
            format!(
                "{MODULES_IN_IMAGE}/{}/{}.{}.wasm",
                g.language,
                g.workload,
                f.as_str()
            )
        })
    }

    /// The init container that copies the module out of the image.
    fn copy_module(&self, g: &Group) -> Option<Value> {
        Self::module_source(g).map(|src| {
            json!({
                "name": "copy-module", "image": self.image,
                "command": ["cp", src, MODULE_FILE],
                "volumeMounts": [{"name": "wasm", "mountPath": WASM_DIR}],
            })
        })
    }

    fn app_command(&self, g: &Group) -> Vec<String> {
        let row = g.mode.row();
        let listen = format!("127.0.0.1:{APP_PORT}");
        if row.app == App::Echo {
            return vec!["blueprint-bench".into(), "echo".into(), "--listen".into(), listen];
        }
        let mut cmd: Vec<String> = if g.runtime == "wazero" {
            vec!["wazero-host".into()]
        } else {
            vec![
                "blueprint-bench".into(),
                "host".into(),
                "--runtime".into(),
                g.runtime.clone(),
            ]
        };
        cmd.extend(["--listen".into(), listen]);
        let module = if row.flavour.is_some() {
            MODULE_FILE.to_owned()
        } else {
            "native".to_owned()
        };
        cmd.extend(["--module".into(), format!("{}={module}", g.workload)]);
        if row.flavour == Some(Flavour::Http) {
            cmd.extend(["--dapr-http-port".into(), DAPR_HTTP_PORT.to_string()]);
        } else {
            cmd.extend(["--dapr-grpc-port".into(), DAPR_GRPC_PORT.to_string()]);
        }
        if row.state_cache {
            cmd.extend([
                "--state-cache-ttl-ms".into(),
                self.plan.dapr.cache_ttl.as_millis().to_string(),
                "--state-cache-entries".into(),
                self.plan.dapr.cache_entries.to_string(),
            ]);
        }
        cmd
    }

    fn app_container(&self, g: &Group) -> Value {
        let mut c = json!({
            "name": APP_CONTAINER, "image": self.image,
            "command": self.app_command(g),
            "resources": {"requests": {"cpu": "1", "memory": "256Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}},
        });
        if Self::module_source(g).is_some() && g.mode.has_workload_host() {
            c["volumeMounts"] = json!([{"name": "wasm", "mountPath": WASM_DIR, "readOnly": true}]);
        }
        c
    }

    fn volumes(&self, g: &Group, wasm: bool, body: bool) -> Value {
        let mut v = Vec::new();
        if wasm {
            v.push(json!({"name": "wasm", "emptyDir": {}}));
        }
        if g.store == StateStoreKind::Sqlite {
            v.push(json!({"name": "state", "emptyDir": {}}));
        }
        if body {
            v.push(json!({"name": "body", "configMap": {"name": format!("bb-{}-body", g.index)}}));
        }
        Value::Array(v)
    }

    fn pod_labels(g: &Group, role: &str, trial: Option<usize>, lp: Option<&str>) -> Value {
        let mut l = json!({CELL: g.index, ROLE: role, "app.kubernetes.io/part-of": "blueprint-bench"});
        if let Some(t) = trial {
            l[TRIAL] = json!(t.to_string());
        }
        if let Some(lp) = lp {
            l[LOOP] = json!(lp);
        }
        l
    }

    fn group_files(&self, g: &Group, body: &[u8]) -> Result<Vec<(String, String)>> {
        let mut files = Vec::new();
        let row = g.mode.row();
        let sqlite = g.store == StateStoreKind::Sqlite;
        let (app_id, load_id, direct_id) = (self.app_id(g), self.load_id(g), self.direct_id(g));

        // Dapr resources.
        let component = |name: &str, kind: &str, metadata: Vec<(&str, String)>, scopes: Vec<String>| {
            json!({
                "apiVersion": "dapr.io/v1alpha1", "kind": "Component",
                "metadata": {"name": name, "namespace": self.namespace},
                "spec": {"type": kind, "version": "v1",
                         "metadata": metadata.into_iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>()},
                "scopes": scopes,
            })
        };
        let state_scopes = vec![app_id.clone(), direct_id.clone()];
        let mut docs = vec![
            match g.store {
                StateStoreKind::Sqlite => component(
                    STATE_STORE,
                    "state.sqlite",
                    vec![("connectionString", "/state/state.db".into())],
                    state_scopes.clone(),
                ),
                _ => component(STATE_STORE, "state.in-memory", vec![], state_scopes.clone()),
            },
            component(PUBSUB, "pubsub.in-memory", vec![], state_scopes),
        ];
        let pipeline = match row.in_daprd {
            InDaprd::AppHttpPipeline => Some(("appHttpPipeline", app_id.clone())),
            // `httpPipeline` runs on calls to a daprd's own HTTP API: here
            // the tester's sidecar, which the load calls.
            InDaprd::HttpPipeline => Some(("httpPipeline", load_id.clone())),
            InDaprd::No | InDaprd::OutputBinding => None,
        };
        if let Some((_, runs_in)) = &pipeline {
            docs.push(component(
                MIDDLEWARE,
                "middleware.http.wasm",
                vec![("url", format!("file://{MODULE_FILE}"))],
                vec![runs_in.clone()],
            ));
        }
        let configuration = |name: &str, with_pipeline: Option<&str>| {
            let mut spec = json!({"metric": {"enabled": true}, "tracing": {"samplingRate": "0"}});
            if let Some(p) = with_pipeline {
                spec[p] = json!({"handlers": [{"name": MIDDLEWARE, "type": "middleware.http.wasm"}]});
            }
            json!({
                "apiVersion": "dapr.io/v1alpha1", "kind": "Configuration",
                "metadata": {"name": name, "namespace": self.namespace},
                "spec": spec,
            })
        };
        let app_pipeline = pipeline.as_ref().filter(|(_, id)| *id == app_id).map(|(p, _)| *p);
        let load_pipeline = pipeline
            .as_ref()
            .filter(|(_, id)| *id == load_id)
            .map(|(p, _)| *p);
        docs.push(configuration(&app_id, app_pipeline));
        docs.push(configuration(&load_id, load_pipeline));
        docs.push(configuration(&direct_id, None));
        files.push(("dapr.yaml".to_owned(), yaml::documents(&docs)));

        files.push((
            "body.yaml".to_owned(),
            yaml::to_yaml(&json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("bb-{}-body", g.index), "namespace": self.namespace,
                             "labels": Self::pod_labels(g, "body", None, None)},
                "binaryData": {"request": B64.encode(body)},
            })),
        ));

        // The app.
        let app_wasm =
            Self::module_source(g).is_some() && g.mode.has_workload_host() || app_pipeline.is_some();
        let mut pod = json!({
            "volumes": self.volumes(g, app_wasm, false),
            "containers": [self.app_container(g)],
        });
        if app_wasm && let Some(copy) = self.copy_module(g) {
            pod["initContainers"] = json!([copy]);
        }
        let deployment = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": app_id, "namespace": self.namespace, "labels": Self::pod_labels(g, "app", None, None)},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {CELL: g.index, ROLE: "app"}},
                "template": {
                    "metadata": {
                        "labels": Self::pod_labels(g, "app", None, None),
                        "annotations": annotations(&self.dapr_annotations(&app_id, &app_id, Some(APP_PORT), app_pipeline.is_some(), sqlite)),
                    },
                    "spec": pod,
                },
            },
        });
        files.push(("app.yaml".to_owned(), yaml::to_yaml(&deployment)));

        // The Jobs of each trial.
        for trial in 0..self.plan.load.trials.min {
            if g.mode.has_workload_host() {
                files.push((
                    format!("jobs/t{trial}-0-direct.yaml"),
                    yaml::to_yaml(&self.direct_job(g, trial, sqlite)?),
                ));
            }
            if g.dapr.is_some() {
                files.push((
                    format!("jobs/t{trial}-1-dapr.yaml"),
                    yaml::to_yaml(&self.dapr_job(g, trial, None, load_pipeline.is_some())?),
                ));
                for (i, rate) in self.rates.iter().enumerate() {
                    files.push((
                        format!("jobs/t{trial}-2-rate-{i:02}.yaml"),
                        yaml::to_yaml(&self.dapr_job(g, trial, Some(*rate), load_pipeline.is_some())?),
                    ));
                }
            }
        }
        Ok(files)
    }

    /// `blueprint-bench load` with this pod's share, after `ready` answers.
    fn load_script(&self, g: &Group, url: &str, ready: (u16, &str), rate: Option<f64>) -> String {
        let load = &self.plan.load;
        let n = self.parallelism;
        let mut args = vec![
            "blueprint-bench".to_owned(),
            "load".into(),
            url.to_owned(),
            "-m".into(),
            "POST".into(),
            "--body-file".into(),
            "/body/request".into(),
            "--warmup".into(),
            duration(load.warmup),
            "--duration".into(),
            duration(load.duration),
            "--timeout".into(),
            duration(load.timeout),
            "--json".into(),
        ];
        if g.mode.row().app == App::Echo {
            // As locally: the middleware may change the body's length.
            args.extend(["-H".into(), "Transfer-Encoding: chunked".into()]);
        }
        match rate {
            None => {
                args.extend(["--connections".into(), (load.connections / n).to_string()]);
                if let Some(max) = load.max_requests {
                    args.extend(["--max-requests".into(), max.div_ceil(n as u64).to_string()]);
                }
            }
            Some(rate) => {
                args.extend([
                    "--rate".into(),
                    format!("{}", rate / n as f64),
                    "--connections".into(),
                    (load.open_connections / n).to_string(),
                    "--arrival".into(),
                    match load.arrival {
                        blueprint_load::Arrival::Poisson => "poisson".into(),
                        _ => "fixed".into(),
                    },
                ]);
            }
        }
        let mut line: Vec<String> = args.iter().map(|a| sh(a)).collect();
        if rate.is_some() {
            // Each pod of an indexed Job its own Poisson schedule.
            line.extend(["--seed".into(), "\"$JOB_COMPLETION_INDEX\"".into()]);
        }
        let (port, path) = ready;
        format!(
            "set -eu\n\
             until (exec 3<>/dev/tcp/127.0.0.1/{port} && printf 'GET {path} HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 20[04]') 2>/dev/null; do sleep 0.5; done\n\
             exec {}\n",
            line.join(" ")
        )
    }

    #[allow(clippy::too_many_arguments)] // one Job's whole description, named at the call
    fn job(
        &self,
        g: &Group,
        name: String,
        role: &str,
        trial: usize,
        lp: &str,
        cell: &CellId,
        pod: Value,
        annotations_: Vec<(&str, String)>,
    ) -> Result<Value> {
        let mut ann = annotations_;
        ann.push((CELL_ID, serde_json::to_string(cell)?));
        let n = self.parallelism;
        Ok(json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": self.namespace, "labels": Self::pod_labels(g, role, Some(trial), Some(lp))},
            "spec": {
                "parallelism": n, "completions": n, "completionMode": "Indexed",
                "backoffLimit": 0,
                "template": {
                    "metadata": {"labels": Self::pod_labels(g, role, Some(trial), Some(lp)), "annotations": annotations(&ann)},
                    "spec": pod,
                },
            },
        }))
    }

    fn near_the_app(g: &Group) -> Value {
        json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": {"matchLabels": {CELL: g.index, ROLE: "app"}},
            "topologyKey": "kubernetes.io/hostname",
        }]}})
    }

    fn load_container(&self, script: String) -> Value {
        json!({
            "name": LOAD_CONTAINER, "image": self.image,
            "command": ["bash", "-c", script],
            "resources": {"requests": {"cpu": "1", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
            "volumeMounts": [{"name": "body", "mountPath": "/body", "readOnly": true}],
        })
    }

    /// The baseline: the app as a native sidecar of the load pod, called
    /// on loopback; a daprd only for the app's own Dapr calls.
    fn direct_job(&self, g: &Group, trial: usize, sqlite: bool) -> Result<Value> {
        let direct_id = self.direct_id(g);
        let cell = g.direct.clone().unwrap_or_else(|| CellId {
            trigger: "direct".into(),
            ..g.dapr.clone().expect("a rendered group has a cell")
        });
        let url = format!("http://127.0.0.1:{APP_PORT}/{}", g.workload);
        let mut app = self.app_container(g);
        app["restartPolicy"] = json!("Always");
        let mut init = Vec::new();
        if let Some(copy) = self.copy_module(g) {
            init.push(copy);
        }
        init.push(app);
        let pod = json!({
            "restartPolicy": "Never",
            "affinity": Self::near_the_app(g),
            "volumes": self.volumes(g, Self::module_source(g).is_some(), true),
            "initContainers": init,
            "containers": [self.load_container(self.load_script(g, &url, (APP_PORT, "/healthz"), None))],
        });
        let ann = if g.mode.row().reaches_dapr {
            self.dapr_annotations(&direct_id, &direct_id, Some(APP_PORT), false, sqlite)
        } else {
            Vec::new()
        };
        self.job(
            g,
            format!("bb-{}-t{trial}-direct", g.index),
            "baseline",
            trial,
            "closed",
            &cell,
            pod,
            ann,
        )
    }

    /// The Dapr run: a tester pod whose own sidecar invokes the app.
    fn dapr_job(&self, g: &Group, trial: usize, rate: Option<f64>, wasm_here: bool) -> Result<Value> {
        let load_id = self.load_id(g);
        let cell = g
            .dapr
            .clone()
            .expect("only groups with a dapr cell have a dapr job");
        let url = format!(
            "http://127.0.0.1:{DAPR_HTTP_PORT}/v1.0/invoke/{}/method/{}",
            self.app_id(g),
            g.workload
        );
        let lp = rate.map_or("closed".to_owned(), |r| format!("{r}"));
        let mut pod = json!({
            "restartPolicy": "Never",
            "affinity": Self::near_the_app(g),
            "volumes": self.volumes(g, wasm_here, true),
            "containers": [self.load_container(self.load_script(g, &url, (DAPR_HTTP_PORT, "/v1.0/healthz/outbound"), rate))],
        });
        if wasm_here && let Some(copy) = self.copy_module(g) {
            pod["initContainers"] = json!([copy]);
        }
        // The store's volume is not needed in the tester: strip it.
        if let Some(v) = pod["volumes"].as_array_mut() {
            v.retain(|v| v["name"] != "state");
        }
        let ann = self.dapr_annotations(&load_id, &load_id, None, wasm_here, false);
        let name = match rate {
            None => format!("bb-{}-t{trial}-dapr", g.index),
            Some(_) => format!("bb-{}-t{trial}-rate-{}", g.index, lp.replace('.', "-")),
        };
        self.job(g, name, "load", trial, &lp, &cell, pod, ann)
    }

    fn run_script(&self, groups: &[Group]) -> String {
        let ns = self.namespace;
        let load = &self.plan.load;
        // Sample the pods' usage in the middle of the measured window.
        let sample_after = (load.warmup + load.duration / 2).as_secs().max(1);
        let wait = (load.warmup + load.duration + load.timeout).as_secs() + 120;
        let mut s = format!(
            "#!/usr/bin/env bash\n\
             # Runs the rendered cells one after another in namespace {ns}; then\n\
             #   blueprint-bench k8s collect --namespace {ns} --out results.json\n\
             set -euo pipefail\n\
             cd \"$(dirname \"$0\")\"\n\
             NS={ns}\n\
             kubectl apply -f namespace.yaml\n\n\
             # A metrics snapshot (kubectl get --raw …/pods) taken mid-window, kept\n\
             # in a ConfigMap: metrics-server only reports running pods.\n\
             run_job() {{ # FILE CELL ROLE TRIAL LOOP\n\
             \x20 local name\n\
             \x20 name=$(kubectl apply -f \"$1\" -o name)\n\
             \x20 sleep {sample_after}\n\
             \x20 local snap=\"bb-$2-$3-t$4-$(echo \"$5\" | tr . -)-metrics\"\n\
             \x20 kubectl get --raw \"/apis/metrics.k8s.io/v1beta1/namespaces/$NS/pods\" > /tmp/$snap.json\n\
             \x20 kubectl -n \"$NS\" create configmap \"$snap\" --from-file=metrics.json=/tmp/$snap.json --dry-run=client -o yaml | kubectl apply -f -\n\
             \x20 kubectl -n \"$NS\" label configmap \"$snap\" --overwrite {METRICS}=true {CELL}=\"$2\" {ROLE}=\"$3\" {TRIAL}=\"$4\" {LOOP}=\"$5\"\n\
             \x20 kubectl -n \"$NS\" wait --for=condition=complete --timeout={wait}s \"$name\"\n\
             }}\n\n"
        );
        for g in groups {
            let _ = writeln!(
                s,
                "# {} {} {} {} {}",
                g.workload, g.mode, g.runtime, g.language, g.store
            );
            let d = format!("cells/{}", g.dir);
            let _ = writeln!(s, "kubectl apply -f {d}/dapr.yaml -f {d}/body.yaml");
            for trial in 0..load.trials.min {
                let _ = writeln!(s, "kubectl apply -f {d}/app.yaml");
                let _ = writeln!(
                    s,
                    "kubectl -n \"$NS\" rollout status deployment/{} --timeout=300s",
                    self.app_id(g)
                );
                if g.mode.has_workload_host() {
                    let _ = writeln!(
                        s,
                        "run_job {d}/jobs/t{trial}-0-direct.yaml {} baseline {trial} closed",
                        g.index
                    );
                }
                if g.dapr.is_some() {
                    let _ = writeln!(
                        s,
                        "run_job {d}/jobs/t{trial}-1-dapr.yaml {} load {trial} closed",
                        g.index
                    );
                    for (i, rate) in self.rates.iter().enumerate() {
                        let _ = writeln!(
                            s,
                            "run_job {d}/jobs/t{trial}-2-rate-{i:02}.yaml {} load {trial} {rate}",
                            g.index
                        );
                    }
                }
                // Fresh processes for every trial, as locally.
                let _ = writeln!(s, "kubectl delete -f {d}/app.yaml --wait=true");
            }
            let _ = writeln!(s);
        }
        s
    }
}

fn plan_markdown(plan: &RenderedPlan, namespace: &str, groups: &[Group]) -> String {
    let mut s = format!(
        "# {} on Kubernetes\n\nNamespace `{namespace}`, image `{}`, {} load pod(s) per Job. Run `./run.sh`, then \
         `blueprint-bench k8s collect --namespace {namespace}`.\n\n",
        plan.scenario.meta.name, plan.image, plan.parallelism
    );
    let _ = writeln!(s, "## Rendered deployments\n\n| folder | cells |\n|---|---|");
    let mut by_index: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for c in &plan.cells {
        if let Some(i) = &c.index {
            by_index
                .entry(i.as_str())
                .or_default()
                .push(format!("`{}`", c.id));
        }
    }
    for g in groups {
        let cells = by_index
            .get(g.index.as_str())
            .map(|v| v.join(", "))
            .unwrap_or_default();
        let _ = writeln!(s, "| `cells/{}` | {cells} |", g.dir);
    }
    let _ = writeln!(s, "\n## Not rendered\n\n| cell | why |\n|---|---|");
    for c in plan.cells.iter().filter(|c| c.index.is_none()) {
        let _ = writeln!(s, "| `{}` | {} |", c.id, c.status.describe().replace('|', "\\|"));
    }
    s
}

/// Reads the plan back from the ConfigMap's `plan.json`.
///
/// # Errors
/// Not a rendered plan.
pub fn parse_plan(text: &str) -> Result<RenderedPlan> {
    serde_json::from_str(text).context("the plan ConfigMap's plan.json is not a rendered plan")
}
