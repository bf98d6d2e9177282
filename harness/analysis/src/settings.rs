//! The scenario's settings as a results file records them: `[scenario]`,
//! `[load]`, `[dapr]`, and the id of each cell. Parsing and validating a
//! scenario file is orchestration's job; these are the data both sides share.

use std::time::Duration;

use anyhow::{Result, bail};
use blueprint_load::Arrival;
use serde::{Deserialize, Deserializer, Serialize};

use crate::sweep::Ramp;

/// `[scenario]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// Short name, used in result file names.
    pub name: String,
    /// What the scenario is for.
    #[serde(default)]
    pub description: String,
    /// Seed of the shuffled cell order (default: drawn, and recorded in the results).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Longest the run may take: a plan estimated over it is refused before
    /// anything starts (e.g. `"45m"`).
    #[serde(default, with = "human_duration_opt", skip_serializing_if = "Option::is_none")]
    pub budget: Option<Duration>,
}

/// `[load]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LoadSettings {
    /// Concurrent connections (closed loop).
    pub connections: usize,
    /// Excluded warm-up before measuring.
    #[serde(with = "human_duration")]
    pub warmup: Duration,
    /// Measured window.
    #[serde(with = "human_duration")]
    pub duration: Duration,
    /// Stop the measured window after this many requests.
    #[serde(default)]
    pub max_requests: Option<u64>,
    /// Time limit per request.
    #[serde(with = "human_duration", default = "default_timeout")]
    pub timeout: Duration,
    /// Independent trials per cell, each with fresh processes: a count, or
    /// adaptive bounds (see [`Trials`]).
    #[serde(default)]
    pub trials: Trials,
    /// Open-loop rates to sweep after the closed-loop window, requests/s.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rates: Vec<f64>,
    /// Instead of `rates`: an automatic geometric ramp that stops at the first
    /// rate past the knee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp: Option<Ramp>,
    /// Arrival process of the open loop.
    #[serde(default = "default_arrival")]
    pub arrival: Arrival,
    /// Most requests in flight in the open loop.
    #[serde(default = "default_open_connections")]
    pub open_connections: usize,
    /// A rate is within the knee while its p99 stays within this factor of
    /// the lowest rate's p99.
    #[serde(default = "default_knee_factor")]
    pub knee_factor: f64,
    /// A trial whose measured window has a higher error rate (errors /
    /// completed requests) fails its cell; its figures are kept.
    #[serde(default = "default_max_error_rate")]
    pub max_error_rate: f64,
    /// Pin the load generator and the system under test to disjoint CPU
    /// sets (needs 2 or more CPUs; see [`crate::results::CpuSplit`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pin: bool,
    /// Run a trial again, up to this many times, when the machine was busy
    /// outside it (foreign load above
    /// [`crate::results::MachineLoad::CONTENDED`]); the last attempt is kept
    /// and flagged if it was contended too.
    #[serde(default = "default_rerun_contended")]
    pub rerun_contended: usize,
}

fn default_rerun_contended() -> usize {
    1
}

fn default_max_error_rate() -> f64 {
    0.001
}

fn default_arrival() -> Arrival {
    Arrival::Fixed
}

fn default_open_connections() -> usize {
    64
}

fn default_knee_factor() -> f64 {
    3.0
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

impl Default for LoadSettings {
    fn default() -> Self {
        Self {
            connections: 4,
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(5),
            max_requests: None,
            timeout: default_timeout(),
            trials: Trials::default(),
            rates: Vec::new(),
            ramp: None,
            arrival: default_arrival(),
            open_connections: default_open_connections(),
            knee_factor: default_knee_factor(),
            max_error_rate: default_max_error_rate(),
            pin: false,
            rerun_contended: default_rerun_contended(),
        }
    }
}

/// `[load] trials`: a fixed count (`trials = 5`), or adaptive bounds
/// (`trials = { min = 3, max = 10, target_ci = 0.05 }`): every cell runs
/// `min` trials, then more, one per cell per round interleaved with the
/// other cells, until the intervals of its gated figures are within
/// `target_ci` of their medians or it has `max` (see
/// [`crate::adaptive`]). A results file records the bounds as asked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trials {
    /// Trials every cell runs.
    pub min: usize,
    /// Most trials a cell runs (`min` for a fixed count).
    pub max: usize,
    /// Target half-width of the intervals, as a fraction of the median;
    /// `None` for a fixed count.
    pub target_ci: Option<f64>,
}

impl Trials {
    /// Exactly `n` trials.
    pub fn fixed(n: usize) -> Self {
        Self {
            min: n,
            max: n,
            target_ci: None,
        }
    }

    /// Whether the count depends on the figures.
    pub fn is_adaptive(&self) -> bool {
        self.target_ci.is_some() && self.max > self.min
    }
}

impl Default for Trials {
    fn default() -> Self {
        Self::fixed(1)
    }
}

impl std::fmt::Display for Trials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.target_ci {
            Some(t) if self.is_adaptive() => {
                write!(f, "{}–{} (until ±{:.1} %)", self.min, self.max, t * 100.0)
            }
            _ => write!(f, "{}", self.min),
        }
    }
}

/// The table form of [`Trials`], with field names checked.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct AdaptiveTrials {
    min: usize,
    max: usize,
    target_ci: f64,
}

impl Serialize for Trials {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.target_ci {
            Some(target_ci) => AdaptiveTrials {
                min: self.min,
                max: self.max,
                target_ci,
            }
            .serialize(s),
            None => s.serialize_u64(self.min as u64),
        }
    }
}

impl<'de> Deserialize<'de> for Trials {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Trials;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of trials, or { min = 3, max = 10, target_ci = 0.05 }")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Trials, E> {
                usize::try_from(n)
                    .map(Trials::fixed)
                    .map_err(|_| E::custom("too many trials"))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Trials, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!("{n} is not a number of trials"))),
                }
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Trials, A::Error> {
                let t = AdaptiveTrials::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(Trials {
                    min: t.min,
                    max: t.max,
                    target_ci: Some(t.target_ci),
                })
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The cells a rotating scenario ran: for each rotating axis, the one value
/// of its `[rotation]` list this night took (`night mod len`), the others
/// left for other nights.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Rotation {
    /// The night: days since 1970-01-01 UTC, unless the run was given one.
    pub night: u64,
    /// Tonight's value of each rotating axis (`runtimes`, `languages`).
    pub tonight: std::collections::BTreeMap<String, String>,
    /// Cells of the matrix left for other nights.
    pub left_out: usize,
}

/// `[dapr]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DaprSettings {
    /// Backing store of `statestore` when `[matrix] stores` is not given.
    #[serde(default)]
    pub state_store: StateStoreKind,
    /// Where daprd loads the Wasm of `middleware` and `binding` cells from:
    /// `file` (a `file://` URL) or `http` (served by the harness on loopback).
    #[serde(default)]
    pub wasm_source: WasmSource,
    /// `embedded+cache`: how long a cached state entry lives.
    #[serde(with = "human_duration", default = "default_cache_ttl")]
    pub cache_ttl: Duration,
    /// `embedded+cache`: most keys cached.
    #[serde(default = "default_cache_entries")]
    pub cache_entries: usize,
    /// Trigger `pubsub`: events per second to publish (open loop, each
    /// event's latency counted from its intended time); absent: as fast as
    /// daprd accepts them over `[load] connections`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pubsub_rate: Option<f64>,
    /// Trigger `pubsub`: once publishing ended, how long the harness waits
    /// for the next delivery before counting the events still missing as
    /// lost (a backlog that keeps moving is waited for, up to 10 minutes).
    #[serde(with = "human_duration", default = "default_pubsub_drain")]
    pub pubsub_drain: Duration,
    /// Trigger `pubsub-bulk`: the most events daprd puts in one batch
    /// (the bulk subscription's `maxMessagesCount`; Dapr's default 100).
    #[serde(default = "default_bulk_max_messages")]
    pub bulk_max_messages: u32,
    /// Trigger `pubsub-bulk`: how long daprd waits to fill a batch before
    /// sending what it has (`maxAwaitDurationMs`; Dapr's default 1 s).
    #[serde(with = "human_duration", default = "default_bulk_max_await")]
    pub bulk_max_await: Duration,
    /// Trigger `cron`: how often per second daprd's `bindings.cron` input
    /// binding fires (its schedule is `@every 1/cron_rate`).
    #[serde(default = "default_cron_rate")]
    pub cron_rate: f64,
}

impl Default for DaprSettings {
    fn default() -> Self {
        Self {
            state_store: StateStoreKind::default(),
            wasm_source: WasmSource::default(),
            cache_ttl: default_cache_ttl(),
            cache_entries: default_cache_entries(),
            pubsub_rate: None,
            pubsub_drain: default_pubsub_drain(),
            bulk_max_messages: default_bulk_max_messages(),
            bulk_max_await: default_bulk_max_await(),
            cron_rate: default_cron_rate(),
        }
    }
}

fn default_bulk_max_messages() -> u32 {
    100
}

fn default_bulk_max_await() -> Duration {
    Duration::from_secs(1)
}

fn default_cron_rate() -> f64 {
    100.0
}

fn default_pubsub_drain() -> Duration {
    Duration::from_secs(10)
}

fn default_cache_ttl() -> Duration {
    Duration::from_secs(1)
}

fn default_cache_entries() -> usize {
    10_000
}

/// How daprd gets a Wasm module (daprd has no OCI source).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, Default, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum WasmSource {
    /// `url: file://…`.
    #[default]
    File,
    /// `url: http://127.0.0.1:<port>/…`, served by the harness.
    Http,
}

/// Which state store backs `statestore`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum StateStoreKind {
    /// `state.in-memory`: the embedded default, nothing to install.
    #[default]
    InMemory,
    /// `state.sqlite`: a file in the run folder.
    Sqlite,
    /// `state.redis` (and `pubsub.redis`) on a `redis-server` the harness
    /// starts on a free loopback port.
    Redis,
}

impl StateStoreKind {
    /// Every kind's name.
    pub const NAMES: &[&str] = &["in-memory", "sqlite", "redis"];
}

impl std::str::FromStr for StateStoreKind {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "in-memory" => Ok(Self::InMemory),
            "sqlite" => Ok(Self::Sqlite),
            "redis" => Ok(Self::Redis),
            _ => bail!("unknown state store `{s}`; known: {}", Self::NAMES.join(", ")),
        }
    }
}

impl std::fmt::Display for StateStoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StateStoreKind::InMemory => "in-memory",
            StateStoreKind::Sqlite => "sqlite",
            StateStoreKind::Redis => "redis",
        })
    }
}

/// One combination to measure.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CellId {
    /// Workload.
    pub workload: String,
    /// Integration mode.
    pub mode: String,
    /// Runtime.
    pub runtime: String,
    /// Guest language.
    pub language: String,
    /// daprd → app protocol.
    pub protocol: String,
    /// State store.
    pub store: String,
    /// How load reaches the workload: `dapr` or `direct`.
    #[serde(default = "dapr_trigger")]
    pub trigger: String,
    /// A fresh instance per request or a pool of warm ones; files written
    /// before this axis existed ran `fresh`.
    #[serde(default)]
    pub instances: InstanceStrategy,
}

/// How an app host gets the instance a request runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceStrategy {
    /// A new instance per request: no state can leak between requests.
    #[default]
    Fresh,
    /// A bounded pool of warm instances, one per concurrent request at
    /// most; an instance goes back only after a request that succeeded.
    Reuse,
}

impl InstanceStrategy {
    /// Every strategy's name.
    pub const NAMES: &[&str] = &["fresh", "reuse"];

    /// Its name, as scenarios and the hosts' `--instances` flag spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceStrategy::Fresh => "fresh",
            InstanceStrategy::Reuse => "reuse",
        }
    }
}

impl std::str::FromStr for InstanceStrategy {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "fresh" => Ok(Self::Fresh),
            "reuse" => Ok(Self::Reuse),
            _ => bail!(
                "unknown instance strategy `{s}`; known: {}",
                Self::NAMES.join(", ")
            ),
        }
    }
}

impl std::fmt::Display for InstanceStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn dapr_trigger() -> String {
    "dapr".into()
}

impl std::fmt::Display for CellId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}/{}/{}/{}",
            self.workload, self.mode, self.runtime, self.language, self.protocol, self.store, self.trigger
        )?;
        // `fresh` is how every cell ran before the axis: its name stays.
        match self.instances {
            InstanceStrategy::Fresh => Ok(()),
            InstanceStrategy::Reuse => write!(f, "/reuse"),
        }
    }
}

impl CellId {
    /// The mode as tables name it: `embedded`, or `embedded (reuse)` for a
    /// cell on warm instances.
    pub fn mode_label(&self) -> String {
        match self.instances {
            InstanceStrategy::Fresh => self.mode.clone(),
            InstanceStrategy::Reuse => format!("{} (reuse)", self.mode),
        }
    }
}

/// Serde for durations written as `"500ms"`, `"3s"`, `"1m"`.
mod human_duration {
    use super::*;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        let value = humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "`{text}` is not a duration ({e}); write e.g. \"500ms\" or \"3s\""
            ))
        })?;
        if value > Duration::from_secs(24 * 3600) {
            return Err(serde::de::Error::custom(format!("`{text}` is longer than a day")));
        }
        Ok(value)
    }
}

/// [`human_duration`] for optional fields.
mod human_duration_opt {
    use super::*;

    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::human_duration::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        super::human_duration::deserialize(d).map(Some)
    }
}
