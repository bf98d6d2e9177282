//! `k8s collect`: a rendered run's outputs read back through `kubectl` into
//! the results schema, so `report`, `compare` and `recommend` work unchanged.
//!
//! Load figures come from the logs of the load pods (`load --json`; the pods
//! of one Job merged), CPU and memory from metrics-server's `PodMetricsList`
//! (the snapshots `run.sh` kept mid-window, else the live list), the
//! environment from the nodes and the sidecar injector's image.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::Value;

use blueprint_analysis::results::{
    CellResult, CellStatus, CellSummary, Daprd, Environment, ProcessUsage, RunResults, SCHEMA_VERSION,
    SweepPoint, TrialResult,
};
use blueprint_analysis::sweep::{RatePoint, Verdict, assess, judge};
use blueprint_load::LoadSummary;

use super::labels::*;
use super::merge::{find_output, merge_summaries};
use super::render::{RenderedPlan, parse_plan};
use crate::scenario::CellId;

/// Where to read from.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// The run's namespace.
    pub namespace: String,
    /// The `kubectl` program.
    pub kubectl: PathBuf,
    /// Where Dapr's control plane runs.
    pub dapr_namespace: String,
}

fn kubectl(opts: &CollectOptions, args: &[&str]) -> Result<String> {
    let out = Command::new(&opts.kubectl)
        .args(args)
        .output()
        .with_context(|| format!("running {}", opts.kubectl.display()))?;
    if !out.status.success() {
        bail!(
            "`kubectl {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8(out.stdout).with_context(|| format!("`kubectl {}` printed non-UTF-8", args.join(" ")))
}

fn json_of(opts: &CollectOptions, args: &[&str]) -> Result<Value> {
    let text = kubectl(opts, args)?;
    serde_json::from_str(&text).with_context(|| format!("`kubectl {}` did not print JSON", args.join(" ")))
}

/// A Kubernetes CPU quantity in cores (`250m`, `1234567n`, `2`).
pub fn cpu_cores(q: &str) -> Option<f64> {
    let (num, scale) = match q.char_indices().last()? {
        (i, 'n') => (&q[..i], 1e-9),
        (i, 'u') => (&q[..i], 1e-6),
        (i, 'm') => (&q[..i], 1e-3),
        _ => (q, 1.0),
    };
    num.parse::<f64>().ok().map(|v| v * scale)
}

/// A Kubernetes memory quantity in bytes (`1024Ki`, `2Gi`, `1G`, `123`).
pub fn bytes(q: &str) -> Option<u64> {
    const SUFFIXES: [(&str, f64); 8] = [
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("Ti", 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    for (suffix, scale) in SUFFIXES {
        if let Some(num) = q.strip_suffix(suffix) {
            return num.parse::<f64>().ok().map(|v| (v * scale) as u64);
        }
    }
    q.parse::<f64>().ok().map(|v| v as u64)
}

/// One pod's usage from a `PodMetricsList` item.
#[derive(Debug, Clone, Deserialize)]
struct PodMetrics {
    metadata: Meta,
    #[serde(default)]
    containers: Vec<ContainerMetrics>,
}

#[derive(Debug, Clone, Deserialize, Default)]
struct Meta {
    name: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
struct ContainerMetrics {
    name: String,
    usage: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct List<T> {
    items: Vec<T>,
}

/// The key of one Job's window.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Window {
    cell: String,
    role: String,
    trial: usize,
    lp: String,
}

fn window_of(labels: &BTreeMap<String, String>) -> Option<Window> {
    Some(Window {
        cell: labels.get(CELL)?.clone(),
        role: labels.get(ROLE)?.clone(),
        trial: labels.get(TRIAL)?.parse().ok()?,
        lp: labels.get(LOOP)?.clone(),
    })
}

/// The processes of one window from a metrics list: the app pod's
/// containers, and the load pods' (their own sidecar apart).
fn usage(items: &[PodMetrics], w: &Window, seconds: f64) -> Vec<ProcessUsage> {
    let mut out = Vec::new();
    for pod in items {
        let l = &pod.metadata.labels;
        if l.get(CELL) != Some(&w.cell) {
            continue;
        }
        let role = l.get(ROLE).map(String::as_str);
        let this_load = window_of(l).as_ref() == Some(w);
        // The app Deployment's pod serves the Dapr runs; a baseline pod
        // carries its own app.
        let app_pod = role == Some("app") && w.role == "load";
        if !(app_pod || this_load) {
            continue;
        }
        for c in &pod.containers {
            let name = match (c.name.as_str(), role) {
                (LOAD_CONTAINER, _) => "load-generator",
                (DAPRD_CONTAINER, Some("load")) => "daprd-tester",
                (DAPRD_CONTAINER, _) => "daprd",
                (APP_CONTAINER, _) => "app",
                _ => continue,
            };
            let cores = c.usage.get("cpu").and_then(|q| cpu_cores(q)).unwrap_or(0.0);
            let rss = c.usage.get("memory").and_then(|q| bytes(q)).unwrap_or(0);
            out.push(ProcessUsage {
                role: name.to_owned(),
                pid: 0,
                // metrics-server gives a rate over its own window; spread
                // over the measured window it estimates the CPU spent there.
                cpu_s: cores * seconds,
                peak_rss_bytes: rss,
                start_rss_bytes: rss,
                cpus_allowed: None,
            });
        }
    }
    out
}

/// Reads the run in `opts.namespace` into a results document.
///
/// # Errors
/// `kubectl` failing, or a namespace without a rendered plan.
pub fn collect(opts: &CollectOptions) -> Result<RunResults> {
    let ns = opts.namespace.as_str();
    let plan_map = json_of(
        opts,
        &["get", "configmap", PLAN_CONFIGMAP, "-n", ns, "-o", "json"],
    )?;
    let plan: RenderedPlan = parse_plan(
        plan_map["data"]["plan.json"]
            .as_str()
            .with_context(|| format!("configmap {PLAN_CONFIGMAP} in {ns} has no plan.json"))?,
    )?;

    // Load outputs, the pods of one Job merged.
    let pods: Value = json_of(
        opts,
        &[
            "get",
            "pods",
            "-n",
            ns,
            "-l",
            "app.kubernetes.io/part-of=blueprint-bench",
            "-o",
            "json",
        ],
    )?;
    let mut outputs: BTreeMap<(CellId, Window), Vec<LoadSummary>> = BTreeMap::new();
    let mut failures: BTreeMap<CellId, Vec<String>> = BTreeMap::new();
    let mut node = None;
    let mut started_at: Option<String> = None;
    for pod in pods["items"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let meta: Meta = serde_json::from_value(pod["metadata"].clone()).unwrap_or_default();
        let Some(w) = window_of(&meta.labels) else {
            continue;
        };
        if w.role != "load" && w.role != "baseline" {
            continue;
        }
        let cell: CellId = serde_json::from_str(
            meta.annotations
                .get(CELL_ID)
                .with_context(|| format!("pod {} has no {CELL_ID} annotation", meta.name))?,
        )
        .with_context(|| format!("pod {}: {CELL_ID} is not a cell id", meta.name))?;
        if let Some(t) = pod["status"]["startTime"].as_str()
            && started_at.as_deref().is_none_or(|s| t < s)
        {
            started_at = Some(t.to_owned());
        }
        node = node.or_else(|| pod["spec"]["nodeName"].as_str().map(str::to_owned));
        match pod["status"]["phase"].as_str() {
            Some("Succeeded") => {}
            phase => {
                failures.entry(cell).or_default().push(format!(
                    "pod {} is {}",
                    meta.name,
                    phase.unwrap_or("in no phase")
                ));
                continue;
            }
        }
        let log = kubectl(opts, &["logs", "-n", ns, &meta.name, "-c", LOAD_CONTAINER])?;
        let out = find_output(&log).with_context(|| format!("pod {}", meta.name))?;
        outputs.entry((cell, w)).or_default().push(out.summary);
    }

    // Metrics: the snapshots kept mid-window, else the live list.
    let mut snapshots: BTreeMap<Window, Vec<PodMetrics>> = BTreeMap::new();
    let maps = json_of(
        opts,
        &[
            "get",
            "configmaps",
            "-n",
            ns,
            "-l",
            &format!("{METRICS}=true"),
            "-o",
            "json",
        ],
    )?;
    for map in maps["items"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let meta: Meta = serde_json::from_value(map["metadata"].clone()).unwrap_or_default();
        let (Some(w), Some(text)) = (window_of(&meta.labels), map["data"]["metrics.json"].as_str()) else {
            continue;
        };
        let list: List<PodMetrics> = serde_json::from_str(text)
            .with_context(|| format!("configmap {}: metrics.json is not a PodMetricsList", meta.name))?;
        snapshots.insert(w, list.items);
    }
    let live: List<PodMetrics> = serde_json::from_value(json_of(
        opts,
        &[
            "get",
            "--raw",
            &format!("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods"),
        ],
    )?)
    .context("the metrics API did not answer a PodMetricsList")?;

    let mut trials: BTreeMap<CellId, BTreeMap<usize, TrialResult>> = BTreeMap::new();
    let mut sweeps: BTreeMap<(CellId, usize), Vec<SweepPoint>> = BTreeMap::new();
    let mut order = 0;
    for ((cell, w), summaries) in &outputs {
        let refs: Vec<&LoadSummary> = summaries.iter().collect();
        let load = merge_summaries(&refs).with_context(|| format!("merging the load pods of {cell}"))?;
        if w.lp != "closed" {
            let target = load.open_loop.as_ref().map_or(0.0, |o| o.target_rate_rps);
            let point = RatePoint::of(target, 0, &load);
            sweeps
                .entry((cell.clone(), w.trial))
                .or_default()
                .push(SweepPoint {
                    point,
                    within_knee: false,
                    load,
                    cpu: None,
                    bisection: false,
                });
            continue;
        }
        let items = snapshots.get(w).unwrap_or(&live.items);
        let processes = usage(items, w, load.duration_s);
        let sut_cpu: f64 = processes
            .iter()
            .filter(|p| p.role != "load-generator")
            .map(|p| p.cpu_s)
            .sum();
        let measured = !processes.is_empty() && load.successes > 0;
        let trial = TrialResult {
            trial: w.trial,
            order,
            compile_ns: None,
            host_startup_ms: 0.0,
            sidecar_startup_ms: 0.0,
            host_idle_rss_bytes: None,
            cold_start_ms: 0.0,
            cold_start_steps: Vec::new(),
            cpu_per_request_us: measured.then(|| sut_cpu * 1e6 / load.successes as f64),
            requests_per_cpu_s: (measured && sut_cpu > 0.0).then(|| load.successes as f64 / sut_cpu),
            load,
            processes,
            phases: None,
            dapr_metrics: BTreeMap::new(),
            sweep: Vec::new(),
            knee_rps: None,
            knee_limit: None,
            sweep_s: None,
            cache_hit_ratio: None,
            machine: None,
            contended_attempts: Vec::new(),
            pubsub: None,
        };
        order += 1;
        trials.entry(cell.clone()).or_default().insert(w.trial, trial);
    }
    let factor = plan.scenario.load.knee_factor;
    for ((cell, t), mut points) in sweeps {
        points.sort_by(|a, b| a.point.target_rps.total_cmp(&b.point.target_rps));
        let rates: Vec<RatePoint> = points.iter().map(|p| p.point).collect();
        // Judged as a local run judges its steps: against the sweep's floor
        // (`sweep::floor_p99`), not the lowest rate's one step.
        let assessment = assess(&rates, factor);
        for p in &mut points {
            p.within_knee = judge(&p.point, assessment.floor_p99_us, factor) == Verdict::Pass;
        }
        if let Some(trial) = trials.get_mut(&cell).and_then(|m| m.get_mut(&t)) {
            trial.knee_rps = assessment.knee_rps;
            trial.knee_limit = assessment.limit;
            trial.sweep = points;
        }
    }

    let seed = plan.scenario.meta.seed.unwrap_or(0);
    let mut ids: Vec<CellId> = plan.cells.iter().map(|c| c.id.clone()).collect();
    for id in trials.keys().chain(failures.keys()) {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    let cells = ids
        .into_iter()
        .map(|id| {
            let planned = plan.cells.iter().find(|c| c.id == id);
            if let Some(p) = planned
                && p.index.is_none()
            {
                return CellResult::bare(id, p.status.clone());
            }
            let t: Vec<TrialResult> = trials
                .remove(&id)
                .map(|m| m.into_values().collect())
                .unwrap_or_default();
            if t.is_empty() {
                let status = match failures.get(&id) {
                    Some(why) => CellStatus::Failed {
                        error: why.join("; "),
                    },
                    None => CellStatus::NotRun {
                        reason: format!("no load pod of this cell in namespace {ns}"),
                    },
                };
                return CellResult::bare(id, status);
            }
            let mut cell = CellResult::bare(id, CellStatus::Ok);
            cell.summary = CellSummary::of(&t, seed);
            cell.trials = t;
            cell
        })
        .collect();

    Ok(RunResults {
        schema_version: SCHEMA_VERSION,
        started_at: started_at.unwrap_or_else(|| chrono::Utc::now().to_rfc3339()),
        environment: environment(opts, node.as_deref(), &plan)?,
        scenario: plan.scenario,
        cells,
        completed: true,
    })
}

/// The cluster as the environment: the app's node (or the first), the
/// number of nodes, the kernel, and Dapr's version from the injector image.
fn environment(opts: &CollectOptions, node: Option<&str>, plan: &RenderedPlan) -> Result<Environment> {
    let nodes = json_of(opts, &["get", "nodes", "-o", "json"])?;
    let items = nodes["items"].as_array().cloned().unwrap_or_default();
    let chosen = items
        .iter()
        .find(|n| Some(n["metadata"]["name"].as_str().unwrap_or_default()) == node)
        .or_else(|| items.first())
        .context("the cluster lists no nodes")?;
    let info = &chosen["status"]["nodeInfo"];
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let capacity = &chosen["status"]["capacity"];
    let injector = json_of(
        opts,
        &[
            "get",
            "pods",
            "-n",
            &opts.dapr_namespace,
            "-l",
            "app=dapr-sidecar-injector",
            "-o",
            "json",
        ],
    )?;
    let image = injector["items"][0]["spec"]["containers"][0]["image"]
        .as_str()
        .map(str::to_owned);
    let daprd = image.map(|image| Daprd {
        version: image
            .rsplit_once(':')
            .map(|(_, tag)| tag.trim_start_matches('v').to_owned())
            .unwrap_or_else(|| "unknown".into()),
        path: PathBuf::from(&image),
        source: "kubernetes: the sidecar injector's image".into(),
    });
    Ok(Environment {
        cpu: format!(
            "Kubernetes node {} ({}, {}, kubelet {}, {}) of {} node(s)",
            s(&chosen["metadata"]["name"]),
            s(&info["architecture"]),
            s(&info["osImage"]),
            s(&info["kubeletVersion"]),
            s(&info["containerRuntimeVersion"]),
            items.len()
        ),
        cores: capacity["cpu"]
            .as_str()
            .and_then(cpu_cores)
            .map_or(0, |c| c as usize),
        memory_bytes: capacity["memory"].as_str().and_then(bytes).unwrap_or(0),
        kernel: s(&info["kernelVersion"]),
        harness_version: env!("CARGO_PKG_VERSION").to_owned(),
        git_revision: format!("image {}", plan.image),
        daprd,
        runtimes: BTreeMap::new(),
        child_environment: BTreeMap::new(),
        app_environment: BTreeMap::new(),
        pinning: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse() {
        assert_eq!(cpu_cores("250m"), Some(0.25));
        assert_eq!(cpu_cores("1500000000n"), Some(1.5));
        assert_eq!(cpu_cores("2"), Some(2.0));
        assert_eq!(bytes("1Ki"), Some(1024));
        assert_eq!(bytes("16393948Ki"), Some(16_393_948 * 1024));
        assert_eq!(bytes("1G"), Some(1_000_000_000));
    }
}
