//! Scenario files: TOML in, a validated [`Plan`] of cells out.
//!
//! Parsing rejects unknown keys; every error names the file, the line and the
//! field. Validation (known workloads, modes, runtimes, languages, and the
//! modules of the scenario's own `[workloads.<name>]`) happens here too,
//! before anything is built or started.

use std::collections::BTreeMap;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use blueprint_analysis::modes::{self, Mode, TRIGGERS};

use crate::sidecar::AppProtocol;
use crate::workloads::Flavour;
use crate::workloads::custom::{self, CUSTOM_LANGUAGE, CustomWorkload, CustomWorkloads};
pub use blueprint_analysis::settings::{
    CellId, DaprSettings, InstanceStrategy, LoadSettings, Meta, StateStoreKind, Trials, WasmSource,
};

/// A scenario file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Name and description.
    pub scenario: Meta,
    /// What to cross.
    pub matrix: Matrix,
    /// How hard and how long.
    #[serde(default)]
    pub load: LoadSettings,
    /// Sidecar settings.
    #[serde(default)]
    pub dapr: DaprSettings,
    /// Request body per workload; default: the first golden-vector input that succeeds.
    #[serde(default)]
    pub inputs: BTreeMap<String, Input>,
    /// The scenario's own workloads.
    #[serde(default)]
    pub workloads: BTreeMap<String, CustomWorkloadFile>,
    /// Axes whose listed values take turns, one per night.
    #[serde(default)]
    pub rotation: RotationFile,
}

/// `[rotation]`: of the matrix's runtimes (languages) listed here, each run
/// takes one, `night mod len`, and leaves the others' cells for other
/// nights; values not listed run every night. A nightly thus covers a wide
/// matrix over a few nights within its time.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotationFile {
    /// Runtimes that take turns.
    #[serde(default)]
    pub runtimes: Vec<Spanned<String>>,
    /// Guest languages that take turns.
    #[serde(default)]
    pub languages: Vec<Spanned<String>>,
}

/// `[workloads.<name>]`: a workload the scenario brings, one module per
/// flavour it has (paths relative to the scenario file).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomWorkloadFile {
    /// Guest ABI v1 with `dapr` imports (`embedded`, `embedded+cache`).
    pub embedded: Option<Spanned<PathBuf>>,
    /// Guest ABI v1 with the `http` import (`standalone-http`).
    pub http: Option<Spanned<PathBuf>>,
    /// An http-wasm guest (`middleware`, `middleware+httppipeline`).
    pub middleware: Option<Spanned<PathBuf>>,
    /// A WASI command, stdin to stdout (`binding`).
    pub command: Option<Spanned<PathBuf>>,
    /// A `wasi:http/proxy` component (`standalone-wasi-http`).
    pub component: Option<Spanned<PathBuf>>,
    /// Golden vectors in the schema of `workloads/vectors/`.
    pub vectors: Option<Spanned<PathBuf>>,
    /// False when it needs Dapr; default: the vectors' `pure`, else true.
    pub pure: Option<Spanned<bool>>,
}

impl CustomWorkloadFile {
    fn modules(&self) -> [(Flavour, Option<&Spanned<PathBuf>>); 5] {
        [
            (Flavour::Embedded, self.embedded.as_ref()),
            (Flavour::Http, self.http.as_ref()),
            (Flavour::Middleware, self.middleware.as_ref()),
            (Flavour::Command, self.command.as_ref()),
            (Flavour::Component, self.component.as_ref()),
        ]
    }
}

/// `[matrix]`: the cells are the cross product.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matrix {
    /// Workload names (files in `workloads/vectors/`).
    pub workloads: Vec<Spanned<String>>,
    /// Integration modes.
    pub modes: Vec<Spanned<String>>,
    /// Runtime names.
    pub runtimes: Vec<Spanned<String>>,
    /// Guest languages.
    #[serde(default = "default_languages")]
    pub languages: Vec<Spanned<String>>,
    /// How load reaches the workload: `dapr` (through daprd) and/or `direct`.
    #[serde(default = "default_triggers")]
    pub triggers: Vec<Spanned<String>>,
    /// State stores to cross (default: `[dapr] state_store`).
    #[serde(default)]
    pub stores: Vec<Spanned<String>>,
    /// How our hosts keep instances: `fresh` (one per request) and/or
    /// `reuse` (a pool of warm ones).
    #[serde(default = "default_instances")]
    pub instances: Vec<Spanned<String>>,
    /// How daprd calls the app: `http` and/or `grpc` (Dapr's `AppCallback`
    /// service on our app hosts).
    #[serde(default = "default_protocols")]
    pub protocols: Vec<Spanned<String>>,
}

fn default_protocols() -> Vec<Spanned<String>> {
    vec![Spanned::new(0..0, AppProtocol::Http.as_str().to_owned())]
}

fn default_instances() -> Vec<Spanned<String>> {
    vec![Spanned::new(0..0, InstanceStrategy::Fresh.as_str().to_owned())]
}

fn default_triggers() -> Vec<Spanned<String>> {
    vec![Spanned::new(0..0, "dapr".to_owned())]
}

fn default_languages() -> Vec<Spanned<String>> {
    vec![Spanned::new(0..0, "rust".to_owned())]
}

/// `[inputs.<workload>]`: the request body.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Input {
    /// Literal text.
    Text(String),
    /// A file, relative to the scenario file and inside its folder (no
    /// absolute path, no `..`), at most [`MAX_INPUT_FILE`] bytes.
    File(PathBuf),
}

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Where it came from.
    pub path: PathBuf,
    /// `[scenario]`.
    pub meta: Meta,
    /// Cells in file order (the runner may shuffle).
    pub cells: Vec<CellId>,
    /// `[load]`.
    pub load: LoadSettings,
    /// `[dapr]`.
    pub dapr: DaprSettings,
    /// Request bodies given in the file.
    pub inputs: BTreeMap<String, Vec<u8>>,
    /// The scenario's own workloads, their modules checked.
    pub custom: CustomWorkloads,
    /// `[rotation]`: each rotating axis with its values, in file order.
    pub rotating: Vec<(&'static str, Vec<String>)>,
    /// What [`Plan::rotate`] kept, once applied.
    pub rotation: Option<blueprint_analysis::settings::Rotation>,
}

impl Plan {
    /// Keeps tonight's share of a rotating scenario: for each rotating axis
    /// the value `night mod len`, every cell with another of its values left
    /// out. Nothing to do without `[rotation]`.
    pub fn rotate(&mut self, night: u64) {
        if self.rotating.is_empty() {
            return;
        }
        let mut tonight = BTreeMap::new();
        let before = self.cells.len();
        for (axis, values) in &self.rotating {
            let chosen = values[(night % values.len() as u64) as usize].clone();
            let value_of = |cell: &CellId| match *axis {
                "runtimes" => cell.runtime.clone(),
                _ => cell.language.clone(),
            };
            self.cells
                .retain(|cell| !values.contains(&value_of(cell)) || value_of(cell) == chosen);
            tonight.insert((*axis).to_owned(), chosen);
        }
        self.rotation = Some(blueprint_analysis::settings::Rotation {
            night,
            tonight,
            left_out: before - self.cells.len(),
        });
    }
}

/// Tonight's number for [`Plan::rotate`]: days since 1970-01-01 UTC.
pub fn night_of_today() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    now.as_secs() / 86_400
}

/// An error located in a scenario file.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub struct ScenarioError {
    /// The file.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong, naming the field.
    pub message: String,
}

fn line_of(text: &str, span: &Range<usize>) -> usize {
    text[..span.start.min(text.len())].matches('\n').count() + 1
}

/// Reads and validates a scenario file against what this checkout has.
///
/// # Errors
/// [`ScenarioError`] naming file, line and field.
pub fn load(path: &Path, known_workloads: &[String], known_runtimes: &[&str]) -> Result<Plan> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading scenario {}", path.display()))?;
    parse(&text, path, known_workloads, known_runtimes)
}

/// Parses and validates scenario text (`path` is for messages and relative files).
///
/// # Errors
/// [`ScenarioError`] naming file, line and field.
pub fn parse(text: &str, path: &Path, known_workloads: &[String], known_runtimes: &[&str]) -> Result<Plan> {
    let shown = path.display().to_string();
    let located = |span: Option<Range<usize>>, message: String| ScenarioError {
        path: shown.clone(),
        line: span.map_or(1, |s| line_of(text, &s)),
        message,
    };
    let file: ScenarioFile = toml::from_str(text).map_err(|e| {
        // toml's own message names the key and shows the line; keep it whole.
        let message = e.message().to_owned();
        let field = e.span().map(|s| text[s].to_owned()).unwrap_or_default();
        let message = if field.is_empty() || message.contains(&field) {
            message
        } else {
            format!("{message} (at `{field}`)")
        };
        located(e.span(), message)
    })?;

    let check =
        |field: &str, values: &[Spanned<String>], known: &[&str]| -> Result<Vec<String>, ScenarioError> {
            if values.is_empty() {
                return Err(located(None, format!("matrix.{field} is empty")));
            }
            values
                .iter()
                .map(|v| {
                    if known.contains(&v.get_ref().as_str()) {
                        Ok(v.get_ref().clone())
                    } else {
                        Err(located(
                            Some(v.span()),
                            format!(
                                "matrix.{field}: unknown value `{}`; known: {}",
                                v.get_ref(),
                                known.join(", ")
                            ),
                        ))
                    }
                })
                .collect()
        };
    let base = path.parent().unwrap_or(Path::new("."));
    let custom = custom_workloads(&file, text, base, known_workloads, &located)?;
    let workload_names: Vec<&str> = known_workloads
        .iter()
        .map(String::as_str)
        .chain(custom.keys().map(String::as_str))
        .collect();
    let workloads = check("workloads", &file.matrix.workloads, &workload_names)?;
    let modes = check("modes", &file.matrix.modes, &Mode::names())?;
    let runtimes = check("runtimes", &file.matrix.runtimes, known_runtimes)?;
    let languages = check("languages", &file.matrix.languages, crate::workloads::LANGUAGES)?;
    let triggers = check("triggers", &file.matrix.triggers, TRIGGERS)?;
    let protocols = check("protocols", &file.matrix.protocols, AppProtocol::NAMES)?;
    let instances: Vec<InstanceStrategy> =
        check("instances", &file.matrix.instances, InstanceStrategy::NAMES)?
            .iter()
            .map(|name| name.parse())
            .collect::<Result<_>>()?;
    let stores = if file.matrix.stores.is_empty() {
        vec![file.dapr.state_store.to_string()]
    } else {
        check("stores", &file.matrix.stores, StateStoreKind::NAMES)?
    };

    check_name(&file.scenario.name)
        .map_err(|why| located(find(text, "name"), format!("scenario.name: {why}")))?;
    check_bounds(&file.load).map_err(|(key, why)| located(find(text, key), why))?;
    let mut load = file.load.clone();
    if let Some(ramp) = &mut load.ramp {
        // Recorded in the results, so a reader sees the bisection that ran.
        ramp.refine
            .get_or_insert(blueprint_analysis::sweep::DEFAULT_REFINE);
    }
    if file.load.connections == 0 || file.load.connections > 1024 {
        return Err(located(
            find(text, "connections"),
            "load.connections must be between 1 and 1024".into(),
        )
        .into());
    }
    check_trials(&file.load.trials).map_err(|why| located(find(text, "trials"), why))?;
    if file.load.ramp.is_some() && !file.load.rates.is_empty() {
        return Err(located(
            find(text, "ramp"),
            "give load.rates or load.ramp, not both".into(),
        )
        .into());
    }
    if !(file.load.knee_factor.is_finite() && file.load.knee_factor > 1.0) {
        return Err(located(
            find(text, "knee_factor"),
            "load.knee_factor must be above 1".into(),
        )
        .into());
    }
    if file.load.open_connections == 0 || file.load.open_connections > 4096 {
        return Err(located(
            find(text, "open_connections"),
            "load.open_connections must be between 1 and 4096".into(),
        )
        .into());
    }
    if file.load.duration.is_zero() {
        return Err(located(find(text, "duration"), "load.duration must be positive".into()).into());
    }
    check_pubsub(&file.dapr).map_err(|(key, why)| located(find(text, key), why))?;

    let mut inputs = BTreeMap::new();
    for (name, input) in &file.inputs {
        if !known_workloads.contains(name) && !custom.contains_key(name) {
            return Err(located(find(text, name), format!("inputs.{name}: no such workload")).into());
        }
        let bytes = match input {
            Input::Text(text) => text.as_bytes().to_vec(),
            Input::File(rel) => read_input(base, rel).map_err(|why| {
                let table = find(text, &format!("[inputs.{name}]")).or_else(|| find(text, name));
                located(table, format!("inputs.{name}.file: {why}"))
            })?,
        };
        inputs.insert(name.clone(), bytes);
    }

    // Modes whose Wasm runs inside daprd have one runtime whatever the
    // scenario lists, native cells no Wasm runtime, the middleware baseline
    // no guest at all: their cells are not multiplied by what does not apply.
    let mut cells = Vec::new();
    for workload in &workloads {
        // A custom workload is one module set, not one per guest language.
        let languages = if custom.contains_key(workload) {
            vec![CUSTOM_LANGUAGE.to_owned()]
        } else {
            languages.clone()
        };
        for mode in &modes {
            let mode_value: Mode = mode.parse()?;
            let (runtimes_here, languages_here): (Vec<String>, Vec<String>) = match mode_value {
                Mode::MiddlewareBaseline => (vec![modes::NONE.into()], vec![modes::NONE.into()]),
                Mode::Native => (vec![modes::NATIVE.into()], languages.clone()),
                m if m.runs_in_daprd() => (vec![modes::IN_DAPRD.into()], languages.clone()),
                _ => (runtimes.clone(), languages.clone()),
            };
            for runtime in &runtimes_here {
                for language in &languages_here {
                    for (store, protocol) in stores.iter().flat_map(|s| protocols.iter().map(move |p| (s, p)))
                    {
                        for (trigger, strategy) in triggers
                            .iter()
                            .flat_map(|t| instances.iter().map(move |i| (t, *i)))
                        {
                            let cell = CellId {
                                workload: workload.clone(),
                                mode: mode.clone(),
                                runtime: runtime.clone(),
                                language: language.clone(),
                                protocol: protocol.clone(),
                                store: store.clone(),
                                trigger: trigger.clone(),
                                instances: strategy,
                            };
                            if !cells.contains(&cell) {
                                cells.push(cell);
                            }
                        }
                    }
                }
            }
        }
    }
    let mut rotating = Vec::new();
    for (axis, listed, in_matrix) in [
        ("runtimes", &file.rotation.runtimes, &runtimes),
        ("languages", &file.rotation.languages, &languages),
    ] {
        if listed.is_empty() {
            continue;
        }
        let mut values = Vec::new();
        for v in listed {
            if !in_matrix.contains(v.get_ref()) {
                return Err(located(
                    Some(v.span()),
                    format!(
                        "rotation.{axis}: `{}` is not in matrix.{axis} ({})",
                        v.get_ref(),
                        in_matrix.join(", ")
                    ),
                )
                .into());
            }
            if !values.contains(v.get_ref()) {
                values.push(v.get_ref().clone());
            }
        }
        rotating.push((axis, values));
    }
    Ok(Plan {
        path: path.to_owned(),
        meta: file.scenario,
        cells,
        load,
        dapr: file.dapr,
        inputs,
        custom,
        rotating,
        rotation: None,
    })
}

/// Largest `inputs.*.file`: a request body, sent by every request of a
/// trial and rendered into Kubernetes manifests, not a data set.
pub const MAX_INPUT_FILE: u64 = 16 * 1024 * 1024;

/// Longest `load.timeout`: past it a value is a typo, not a benchmark.
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// Most rates one open-loop sweep may list.
const MAX_RATES: usize = 100;

/// Highest open-loop rate, requests per second.
const MAX_RATE: f64 = 10_000_000.0;

/// `[load] trials`: a count, or adaptive bounds that can be met.
fn check_trials(trials: &Trials) -> std::result::Result<(), String> {
    let Trials { min, max, target_ci } = *trials;
    if min == 0 || max > 100 || min > max {
        return Err(match target_ci {
            None => "load.trials must be between 1 and 100".into(),
            Some(_) => format!("load.trials: need 1 ≤ min ≤ max ≤ 100, got min = {min}, max = {max}"),
        });
    }
    if let Some(t) = target_ci {
        if !(t.is_finite() && t > 0.0 && t < 1.0) {
            return Err(format!(
                "load.trials.target_ci is the interval's half-width over the median, between 0 and 1 (e.g. 0.05), got {t}"
            ));
        }
        if max < blueprint_analysis::adaptive::MIN_TRIALS_FOR_INTERVAL {
            return Err(format!(
                "load.trials.max = {max}: a median's {:.0} % interval needs at least {} trials, so no cell could stop \
                 on its interval; raise max or give a fixed count",
                blueprint_analysis::results::CONFIDENCE * 100.0,
                blueprint_analysis::adaptive::MIN_TRIALS_FOR_INTERVAL
            ));
        }
    }
    Ok(())
}

/// `[scenario] name` names the results file: a plain file name.
fn check_name(name: &str) -> Result<(), String> {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if name.is_empty() || name.len() > 100 || !plain || name.starts_with('.') {
        return Err(format!(
            "`{name}` is not a plain name: 1 to 100 of letters, digits, `-`, `_` and `.`, \
             not starting with `.` (it becomes a file name)"
        ));
    }
    Ok(())
}

/// The most events per second a `pubsub` cell may be asked to publish.
const MAX_PUBSUB_RATE: f64 = 1e6;

/// The longest wait for deliveries after the last publish.
const MAX_PUBSUB_DRAIN: Duration = Duration::from_secs(600);

/// The largest batch a `pubsub-bulk` cell may ask daprd for.
const MAX_BULK_MESSAGES: u32 = 10_000;

/// The longest a `pubsub-bulk` cell may let daprd wait to fill a batch.
const MAX_BULK_AWAIT: Duration = Duration::from_secs(60);

/// The most firings per second a `cron` cell may ask for.
const MAX_CRON_RATE: f64 = 1000.0;

/// `[dapr]`'s pub/sub and input-binding numbers, checked before anything starts.
fn check_pubsub(dapr: &DaprSettings) -> Result<(), (&'static str, String)> {
    if let Some(rate) = dapr.pubsub_rate
        && !(rate.is_finite() && rate > 0.0 && rate <= MAX_PUBSUB_RATE)
    {
        return Err((
            "pubsub_rate",
            format!(
                "dapr.pubsub_rate must be a positive number of events per second up to {MAX_PUBSUB_RATE}"
            ),
        ));
    }
    if dapr.pubsub_drain.is_zero() || dapr.pubsub_drain > MAX_PUBSUB_DRAIN {
        return Err((
            "pubsub_drain",
            "dapr.pubsub_drain must be positive and at most 10m".into(),
        ));
    }
    if !(1..=MAX_BULK_MESSAGES).contains(&dapr.bulk_max_messages) {
        return Err((
            "bulk_max_messages",
            format!("dapr.bulk_max_messages must be from 1 to {MAX_BULK_MESSAGES} events per batch"),
        ));
    }
    if dapr.bulk_max_await < Duration::from_millis(1) || dapr.bulk_max_await > MAX_BULK_AWAIT {
        return Err((
            "bulk_max_await",
            "dapr.bulk_max_await must be from 1ms to 1m (daprd counts it in whole milliseconds)".into(),
        ));
    }
    if !(dapr.cron_rate.is_finite() && dapr.cron_rate > 0.0 && dapr.cron_rate <= MAX_CRON_RATE) {
        return Err((
            "cron_rate",
            format!(
                "dapr.cron_rate must be a positive number of firings per second up to {MAX_CRON_RATE} \
                 (the schedule's finest step is a millisecond)"
            ),
        ));
    }
    Ok(())
}

/// Every number of `[load]` that would only fail (or never end) once
/// processes run: the key to locate and the message.
fn check_bounds(load: &LoadSettings) -> Result<(), (&'static str, String)> {
    if load.timeout.is_zero() || load.timeout > MAX_TIMEOUT {
        return Err(("timeout", "load.timeout must be positive and at most 1h".into()));
    }
    if load.max_requests == Some(0) {
        return Err((
            "max_requests",
            "load.max_requests must be positive (leave it out for no cap)".into(),
        ));
    }
    if load.rates.len() > MAX_RATES
        || load
            .rates
            .iter()
            .any(|r| !(r.is_finite() && *r > 0.0 && *r <= MAX_RATE))
    {
        return Err((
            "rates",
            format!("load.rates must be at most {MAX_RATES} positive numbers up to {MAX_RATE} per second"),
        ));
    }
    if let Some(ramp) = &load.ramp {
        if ramp
            .refine
            .is_some_and(|r| !(r.is_finite() && (0.0..1.0).contains(&r)))
        {
            return Err((
                "ramp",
                "load.ramp.refine is the bracket to bisect the knee down to, a fraction from 0 (off) to below 1, e.g. 0.05".into(),
            ));
        }
        let finite = [ramp.start, ramp.factor, ramp.max].iter().all(|v| v.is_finite());
        if !(finite
            && ramp.start > 0.0
            && ramp.factor > 1.0
            && ramp.max >= ramp.start
            && ramp.max <= MAX_RATE)
        {
            return Err((
                "ramp",
                format!(
                    "load.ramp needs finite numbers: start > 0, factor > 1 and start <= max <= {MAX_RATE}"
                ),
            ));
        }
    }
    if !(load.max_error_rate.is_finite() && (0.0..=1.0).contains(&load.max_error_rate)) {
        return Err((
            "max_error_rate",
            "load.max_error_rate must be between 0 and 1".into(),
        ));
    }
    if load.rerun_contended > MAX_RERUN_CONTENDED {
        return Err((
            "rerun_contended",
            format!(
                "load.rerun_contended is how often a trial on a busy machine runs again: 0 to {MAX_RERUN_CONTENDED}"
            ),
        ));
    }
    Ok(())
}

/// Most re-runs of one contended trial: a machine busy for that long will
/// not be quiet for the next attempt either.
const MAX_RERUN_CONTENDED: usize = 5;

/// Reads an `inputs.*.file`: a regular file below the scenario's folder, at
/// most [`MAX_INPUT_FILE`] bytes. Absolute paths and `..` are refused so that
/// a scenario someone shares cannot pull a file from elsewhere on the
/// reader's machine into request bodies and rendered manifests.
fn read_input(base: &Path, rel: &Path) -> Result<Vec<u8>, String> {
    use std::path::Component;
    if rel
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "`{}`: give a path relative to the scenario file, inside its folder (no absolute path, no `..`)",
            rel.display()
        ));
    }
    let p = base.join(rel);
    let meta = std::fs::metadata(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", p.display()));
    }
    if meta.len() > MAX_INPUT_FILE {
        return Err(format!(
            "{} is {} bytes; a request body may be at most 16 MiB ({MAX_INPUT_FILE} bytes)",
            p.display(),
            meta.len()
        ));
    }
    let mut bytes = Vec::new();
    // The size may grow between the check and the read.
    Read::take(
        std::fs::File::open(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?,
        MAX_INPUT_FILE + 1,
    )
    .read_to_end(&mut bytes)
    .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    if bytes.len() as u64 > MAX_INPUT_FILE {
        return Err(format!("{} grew past 16 MiB while being read", p.display()));
    }
    Ok(bytes)
}

/// Checks every `[workloads.<name>]`: its name, each module against its
/// flavour, its vectors through the built-ins' reader, and that a request
/// body can be found.
fn custom_workloads(
    file: &ScenarioFile,
    text: &str,
    base: &Path,
    known_workloads: &[String],
    located: &dyn Fn(Option<Range<usize>>, String) -> ScenarioError,
) -> Result<CustomWorkloads, ScenarioError> {
    let mut out = CustomWorkloads::new();
    for (name, spec) in &file.workloads {
        let first_field = spec
            .modules()
            .into_iter()
            .find_map(|(_, m)| m.map(Spanned::span))
            .or_else(|| spec.vectors.as_ref().map(Spanned::span));
        let header = find_table(text, name).or(first_field);
        if !custom::valid_name(name) {
            return Err(located(
                header,
                format!(
                    "workloads.{name}: a workload name is lower-case letters, digits and `-` \
                     (it becomes a URL path and a Dapr component name)"
                ),
            ));
        }
        if known_workloads.contains(name) {
            return Err(located(
                header,
                format!("workloads.{name}: `{name}` is a built-in workload; give yours another name"),
            ));
        }
        let mut modules = BTreeMap::new();
        for (flavour, given) in spec.modules() {
            let Some(given) = given else { continue };
            let module = base.join(given.get_ref());
            custom::check_module(&module, flavour)
                .map_err(|e| located(Some(given.span()), format!("workloads.{name}.{flavour}: {e}")))?;
            // daprd and the hosts run in other folders: hand them absolute paths.
            let module = std::fs::canonicalize(&module).unwrap_or(module);
            modules.insert(flavour, module);
        }
        if modules.is_empty() {
            return Err(located(
                header,
                format!("workloads.{name}: give at least one module: embedded, http, middleware or command"),
            ));
        }
        let vectors = match &spec.vectors {
            Some(given) => Some(
                blueprint_workloads::read_vectors(&base.join(given.get_ref()), name)
                    .map_err(|e| located(Some(given.span()), format!("workloads.{name}.vectors: {e:#}")))?,
            ),
            None => None,
        };
        let pure = match (&spec.pure, &vectors) {
            (Some(pure), Some(v)) if *pure.get_ref() != v.pure => {
                return Err(located(
                    Some(pure.span()),
                    format!(
                        "workloads.{name}.pure: {} here, but its vectors say `\"pure\": {}`",
                        pure.get_ref(),
                        v.pure
                    ),
                ));
            }
            (Some(pure), _) => *pure.get_ref(),
            (None, Some(v)) => v.pure,
            (None, None) => true,
        };
        if vectors.is_none() && !file.inputs.contains_key(name) {
            return Err(located(
                header,
                format!("workloads.{name}: no request body: give `vectors` or an [inputs.{name}] table"),
            ));
        }
        out.insert(
            name.clone(),
            CustomWorkload {
                name: name.clone(),
                modules,
                vectors,
                pure,
            },
        );
    }
    Ok(out)
}

/// The span of the line opening table `[workloads.<name>]`.
fn find_table(text: &str, name: &str) -> Option<Range<usize>> {
    let headers = [format!("[workloads.{name}]"), format!("[workloads.\"{name}\"]")];
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        if headers.iter().any(|h| trimmed.starts_with(h.as_str())) {
            return Some(offset..offset + line.len());
        }
        offset += line.len();
    }
    None
}

/// The span of the first occurrence of `key` at the start of a line, for
/// messages about values serde has already accepted.
fn find(text: &str, key: &str) -> Option<Range<usize>> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with(key) {
            return Some(offset..offset + line.len());
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const GOOD: &str = r#"
[scenario]
name = "t"

[matrix]
workloads = ["noop", "counter"]
modes = ["embedded"]
runtimes = ["wasmtime"]

[load]
connections = 2
warmup = "200ms"
duration = "1s"
"#;

    fn parse_str(text: &str) -> Result<Plan> {
        parse(
            text,
            Path::new("scenarios/t.toml"),
            &["counter".into(), "noop".into()],
            &["wasmtime", "wasmer"],
        )
    }

    fn error_of(text: &str) -> String {
        parse_str(text).unwrap_err().to_string()
    }

    #[test]
    fn a_good_file_becomes_the_cross_product() {
        let plan = parse_str(GOOD).unwrap();
        assert_eq!(plan.cells.len(), 2);
        assert_eq!(plan.load.warmup, Duration::from_millis(200));
        assert_eq!(plan.cells[0].store, "in-memory");
        assert_eq!(plan.cells[0].language, "rust");
    }

    #[test]
    fn a_typo_in_a_key_names_the_key_and_its_line() {
        let text = GOOD.replace("connections = 2", "conections = 2");
        let err = error_of(&text);
        assert!(err.starts_with("scenarios/t.toml:11:"), "{err}");
        assert!(err.contains("conections"), "{err}");
    }

    #[test]
    fn an_unknown_runtime_names_the_field_and_line() {
        let err = error_of(&GOOD.replace(r#"["wasmtime"]"#, r#"["wasmtime", "wasmtim"]"#));
        assert!(err.starts_with("scenarios/t.toml:8:"), "{err}");
        assert!(
            err.contains("matrix.runtimes") && err.contains("wasmtim"),
            "{err}"
        );
    }

    #[test]
    fn bad_values_are_located() {
        let err = error_of(&GOOD.replace(r#""1s""#, r#""soon""#));
        assert!(
            err.starts_with("scenarios/t.toml:13:") && err.contains("not a duration"),
            "{err}"
        );
        let err = error_of(&GOOD.replace("connections = 2", "connections = 0"));
        assert!(
            err.starts_with("scenarios/t.toml:11:") && err.contains("load.connections"),
            "{err}"
        );
        let err = error_of(&GOOD.replace("connections = 2", "connections = -3"));
        assert!(err.starts_with("scenarios/t.toml:11:"), "{err}");
    }

    #[test]
    fn the_checked_in_scenarios_are_valid() {
        let project = crate::paths::project_dir();
        let workloads = crate::workloads::known_workloads(&project).unwrap();
        let runtimes: Vec<&str> = blueprint_host::table::entries().iter().map(|e| e.name).collect();
        for entry in std::fs::read_dir(project.join("scenarios")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                load(&path, &workloads, &runtimes).unwrap_or_else(|e| panic!("{e:#}"));
            }
        }
    }

    #[test]
    fn a_scenario_name_is_a_plain_file_name() {
        for bad in ["../../x", "a/b", ".hidden", "..", "", "a b", "a\\b"] {
            let err = error_of(&GOOD.replace(r#"name = "t""#, &format!("name = {bad:?}")));
            assert!(
                err.starts_with("scenarios/t.toml:3:")
                    && err.contains("scenario.name")
                    && err.contains("plain name"),
                "{bad}: {err}"
            );
        }
        assert!(parse_str(&GOOD.replace(r#"name = "t""#, r#"name = "smoke-2.v1_b""#)).is_ok());
    }

    #[test]
    fn a_rotation_runs_one_listed_value_a_night_and_records_it() {
        let text = GOOD.replace(
            r#"runtimes = ["wasmtime"]"#,
            r#"runtimes = ["wasmtime", "wasmer"]"#,
        ) + "\n[rotation]\nruntimes = [\"wasmtime\", \"wasmer\"]\n";
        let tonight = |night: u64| {
            let mut plan = parse_str(&text).unwrap();
            assert_eq!(plan.cells.len(), 4, "the whole matrix before rotating");
            plan.rotate(night);
            let runtimes: Vec<String> = plan.cells.iter().map(|c| c.runtime.clone()).collect();
            (runtimes, plan.rotation.unwrap())
        };
        let (runtimes, rotation) = tonight(0);
        assert_eq!(runtimes, ["wasmtime", "wasmtime"]);
        assert_eq!((rotation.night, rotation.left_out), (0, 2));
        assert_eq!(rotation.tonight["runtimes"], "wasmtime");
        let (runtimes, _) = tonight(7);
        assert_eq!(runtimes, ["wasmer", "wasmer"]);

        // Without [rotation] nothing is left out or recorded.
        let mut plan = parse_str(GOOD).unwrap();
        plan.rotate(3);
        assert_eq!((plan.cells.len(), plan.rotation), (2, None));

        let bad = GOOD.to_owned() + "\n[rotation]\nruntimes = [\"wasmer\"]\n";
        let err = parse_str(&bad).unwrap_err().to_string();
        assert!(
            err.starts_with("scenarios/t.toml:16:")
                && err.contains("rotation.runtimes: `wasmer` is not in matrix.runtimes"),
            "{err}"
        );
    }

    #[test]
    fn zero_and_unbounded_numbers_fail_at_load_with_their_line_and_field() {
        let with = |line: &str| format!("{GOOD}{line}\n");
        // Line 14 is the one appended after GOOD's 13.
        for (line, field) in [
            ("timeout = \"0s\"", "load.timeout"),
            ("timeout = \"2h\"", "load.timeout"),
            ("max_requests = 0", "load.max_requests"),
            ("rates = [100.0, inf]", "load.rates"),
            ("rates = [nan]", "load.rates"),
            ("rates = [0.0]", "load.rates"),
            ("ramp = { start = 100, factor = 1.5, max = inf }", "load.ramp"),
            ("ramp = { start = 100, factor = nan, max = 1000 }", "load.ramp"),
            ("ramp = { start = 0, factor = 2, max = 1000 }", "load.ramp"),
            ("max_error_rate = nan", "load.max_error_rate"),
            ("max_error_rate = 1.5", "load.max_error_rate"),
            ("rerun_contended = 99", "load.rerun_contended"),
            ("pin = \"yes\"", "expected a boolean"),
            ("knee_factor = inf", "load.knee_factor"),
            (
                "ramp = { start = 100, factor = 1.5, max = 900, refine = 5 }",
                "load.ramp.refine",
            ),
            ("trials = 0", "load.trials"),
            (
                "trials = { min = 3, max = 5, target_ci = 0.05 }",
                "at least 6 trials",
            ),
            (
                "trials = { min = 3, max = 10, target_ci = 5 }",
                "load.trials.target_ci",
            ),
            ("trials = { min = 7, max = 6, target_ci = 0.05 }", "min ≤ max"),
            ("trials = { min = 3, maxx = 10, target_ci = 0.05 }", "maxx"),
        ] {
            let err = error_of(&with(line));
            assert!(
                err.starts_with("scenarios/t.toml:14:") && err.contains(field),
                "{line}: {err}"
            );
        }
        let err = error_of(&GOOD.replace(r#"duration = "1s""#, r#"duration = "400days""#));
        assert!(
            err.starts_with("scenarios/t.toml:13:")
                && (err.contains("load.duration") || err.contains("longer than a day")),
            "{err}"
        );
        assert!(parse_str(&with("max_requests = 10")).is_ok());
        let adaptive = parse_str(&with("trials = { min = 3, max = 10, target_ci = 0.05 }")).unwrap();
        assert!(adaptive.load.trials.is_adaptive());
        let ramp = parse_str(&with("ramp = { start = 100, factor = 1.5, max = 900 }")).unwrap();
        assert_eq!(
            ramp.load.ramp.unwrap().refine,
            Some(blueprint_analysis::sweep::DEFAULT_REFINE),
            "recorded, so a reader sees the bisection"
        );
    }

    #[test]
    fn an_input_file_is_inside_the_scenario_folder_and_at_most_16_mib() {
        let dir = tempfile::tempdir().unwrap();
        let scenario = dir.path().join("s.toml");
        let parse_in = |input: &str| {
            parse(
                &format!("{GOOD}\n[inputs.counter]\nfile = {input:?}\n"),
                &scenario,
                &["counter".into(), "noop".into()],
                &["wasmtime"],
            )
        };
        std::fs::write(dir.path().join("body.txt"), b"hello").unwrap();
        assert_eq!(parse_in("body.txt").unwrap().inputs["counter"], b"hello");

        let big = std::fs::File::create(dir.path().join("big.bin")).unwrap();
        big.set_len(MAX_INPUT_FILE + 1).unwrap();
        let err = parse_in("big.bin").unwrap_err().to_string();
        assert!(
            err.contains("inputs.counter.file") && err.contains("16 MiB"),
            "{err}"
        );
        // The line of its `[inputs.counter]` table.
        assert!(err.contains("s.toml:15:"), "{err}");

        for outside in ["/etc/hostname", "../body.txt", "sub/../../x"] {
            let err = parse_in(outside).unwrap_err().to_string();
            assert!(
                err.contains("inputs.counter.file") && err.contains("no absolute path"),
                "{outside}: {err}"
            );
        }
        std::fs::create_dir(dir.path().join("folder")).unwrap();
        let err = parse_in("folder").unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
    }
}
