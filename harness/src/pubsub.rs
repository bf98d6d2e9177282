//! The triggers that deliver events to the app. `pubsub` and `pubsub-bulk`:
//! the harness publishes events into daprd's pub/sub (at a fixed rate, or as
//! fast as daprd accepts them), daprd delivers them to the app host through
//! a declarative subscription (one by one, or in batches), and both sides
//! count them by id: the harness what it published and daprd accepted, the
//! host what it handled (`GET /events`). Publish-to-handled latency runs
//! from the time carried in each event's id to the host's handling time, on
//! the same machine's clock. `cron`: daprd's `bindings.cron` input binding
//! fires by itself; daprd's own metric counts the firings, the host's log
//! the deliveries, and latency runs from each firing's time.
//!
//! Every loop here is bounded in count and in time: publishing by the
//! window and `max_requests`, waiting for deliveries by `pubsub_drain`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use bytes::Bytes;
use hyper::Method;

use blueprint_analysis::results::PubsubFigures;
use blueprint_host::events::{Deliveries, Delivery, Outcome, unix_ns};
use blueprint_load::Target;
use blueprint_load::summary::{LoadSummary, Percentiles, Quantiles, encode_histogram};

use blueprint_analysis::modes::Trigger;
use blueprint_analysis::settings::DaprSettings;

use crate::http::ControlClient;
use crate::sidecar::{PUBSUB, StateStoreKind};

/// The topic the harness publishes to and the app is subscribed to.
pub const TOPIC: &str = "blueprint-events";

/// The app's path daprd posts `workload`'s events to (`runtimes/HOST.md`).
pub fn route(workload: &str) -> String {
    format!("/events/{workload}")
}

/// The app's path daprd posts batches of `workload`'s events to (a bulk
/// subscription).
pub fn bulk_route(workload: &str) -> String {
    format!("/bulk-events/{workload}")
}

/// The name of the `bindings.cron` component that fires `workload` (over
/// gRPC the host finds the workload by it).
pub fn cron_binding(workload: &str) -> String {
    format!("cron-{workload}")
}

/// The app's path daprd posts `workload`'s cron firings to.
pub fn cron_route(workload: &str) -> String {
    format!("/bindings/{workload}")
}

/// daprd's publish endpoint for [`TOPIC`].
pub fn publish_url(dapr_http_port: u16) -> String {
    format!("http://127.0.0.1:{dapr_http_port}/v1.0/publish/{PUBSUB}/{TOPIC}")
}

/// The pub/sub component a store brings, and what it promises about
/// delivery (which says what a redelivery means).
pub fn component(store: StateStoreKind) -> (&'static str, &'static str) {
    match store {
        StateStoreKind::Redis => (
            "pubsub.redis",
            "Redis Streams with a consumer group: at-least-once; an event whose handling failed or \
             was not acknowledged in time is delivered again, so redeliveries are counted, not lost \
             events",
        ),
        StateStoreKind::InMemory | StateStoreKind::Sqlite => (
            "pubsub.in-memory",
            "in daprd's memory: each event is delivered once and retried only after a failure \
             answer; events in flight are lost if daprd stops",
        ),
    }
}

/// The longest wait for a backlog of deliveries, however it moves.
pub const MAX_WAIT: Duration = Duration::from_secs(600);

/// Which part of a trial an event belongs to; the first letter of its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The cold start's probe events.
    Cold,
    /// The warm-up.
    Warmup,
    /// The measured window.
    Measured,
}

impl Phase {
    fn tag(self) -> char {
        match self {
            Phase::Cold => 'c',
            Phase::Warmup => 'w',
            Phase::Measured => 'm',
        }
    }
}

/// An event's id: its phase, its sequence number and the time it was meant
/// to be sent (ns since the Unix epoch), so the host's log alone gives the
/// latency of every event.
fn event_id(phase: Phase, seq: u64, sent_unix_ns: u64) -> String {
    format!("{}-{seq}-{sent_unix_ns}", phase.tag())
}

/// The phase, sequence number and send time of one of our ids.
fn parse_id(id: &str) -> Option<(char, u64, u64)> {
    let mut parts = id.splitn(3, '-');
    let tag = parts.next()?;
    let mut chars = tag.chars();
    let (Some(tag), None) = (chars.next(), chars.next()) else {
        return None;
    };
    Some((tag, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// A structured CloudEvent carrying `input` as its data: a JSON string
/// when it is UTF-8, else `data_base64`. daprd keeps a published
/// CloudEvent's id and fields and adds its own.
fn envelope(id: &str, input: &[u8]) -> Bytes {
    let mut event = serde_json::json!({
        "specversion": "1.0",
        "type": "blueprint.event",
        "source": "blueprint-bench",
        "id": id,
    });
    match std::str::from_utf8(input) {
        Ok(text) => {
            event["datacontenttype"] = "text/plain".into();
            event["data"] = text.into();
        }
        Err(_) => {
            event["datacontenttype"] = "application/octet-stream".into();
            event["data_base64"] = base64::engine::general_purpose::STANDARD.encode(input).into();
        }
    }
    Bytes::from(event.to_string())
}

/// How one publishing phase goes.
#[derive(Debug, Clone, Copy)]
pub struct PublishSpec {
    /// Which events these are.
    pub phase: Phase,
    /// Publish requests in flight at most.
    pub connections: usize,
    /// Publishing stops after this long.
    pub duration: Duration,
    /// Or after this many events.
    pub max_events: Option<u64>,
    /// Events per second on a fixed schedule; `None`: as fast as accepted.
    pub rate: Option<f64>,
    /// One publish request's time limit.
    pub timeout: Duration,
}

/// What one publishing phase sent.
#[derive(Debug, Clone, Default)]
pub struct Published {
    /// Publish requests sent.
    pub attempted: u64,
    /// Accepted events: sequence number → intended send time (Unix ns).
    pub accepted: HashMap<u64, u64>,
    /// Refused or failed publish requests, by kind.
    pub errors: BTreeMap<String, u64>,
    /// When the first event was due (Unix ns).
    pub started_unix_ns: u64,
    /// When publishing ended.
    pub ended: Option<Instant>,
    /// The same, in Unix ns.
    pub ended_unix_ns: u64,
}

/// Publishes the cell's input as events to daprd.
#[derive(Debug, Clone)]
pub struct Publisher {
    client: ControlClient,
    url: String,
    input: Bytes,
}

impl Publisher {
    /// A publisher for the target [`crate::blueprint::start`] made for a
    /// pub/sub cell: daprd's publish URL, its token, the input.
    pub fn new(target: &Target) -> Self {
        Self {
            client: crate::blueprint::control_client_for(target),
            url: target.uri.to_string(),
            input: target.body.clone(),
        }
    }

    /// Publishes one event; the error kind when daprd did not accept it.
    async fn publish(&self, id: &str, timeout: Duration) -> Result<(), String> {
        let reply = self
            .client
            .send(
                Method::POST,
                &self.url,
                Some("application/cloudevents+json"),
                envelope(id, &self.input),
                timeout,
            )
            .await;
        match reply {
            Ok(reply) if reply.status.is_success() => Ok(()),
            Ok(reply) => Err(format!("publish-http-{}", reply.status.as_u16())),
            Err(err) if format!("{err:#}").contains("timed out") => Err("publish-timeout".into()),
            Err(_) => Err("publish-connect".into()),
        }
    }

    /// One phase of publishing, bounded by `spec`'s duration and count.
    pub async fn run(&self, spec: &PublishSpec) -> Published {
        let next = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let started_unix_ns = unix_ns();
        let deadline = started + spec.duration;
        let mut workers = Vec::with_capacity(spec.connections);
        for _ in 0..spec.connections.max(1) {
            let (this, next, spec) = (self.clone(), next.clone(), *spec);
            workers.push(tokio::spawn(async move {
                let mut mine = Published::default();
                loop {
                    let seq = next.fetch_add(1, Ordering::Relaxed);
                    if spec.max_events.is_some_and(|max| seq >= max) {
                        break;
                    }
                    // Open loop: each event has its time on the schedule and
                    // its latency counts from then, however late it was sent.
                    let sent_unix_ns = match spec.rate {
                        Some(rate) => {
                            let due = Duration::from_secs_f64(seq as f64 / rate);
                            if started + due >= deadline {
                                break;
                            }
                            tokio::time::sleep_until((started + due).into()).await;
                            started_unix_ns + due.as_nanos() as u64
                        }
                        None if Instant::now() >= deadline => break,
                        None => unix_ns(),
                    };
                    mine.attempted += 1;
                    match this
                        .publish(&event_id(spec.phase, seq, sent_unix_ns), spec.timeout)
                        .await
                    {
                        Ok(()) => {
                            mine.accepted.insert(seq, sent_unix_ns);
                        }
                        Err(kind) => {
                            *mine.errors.entry(kind).or_default() += 1;
                            // Do not spin on a refusing daprd.
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                    }
                }
                mine
            }));
        }
        let mut all = Published {
            started_unix_ns,
            ..Published::default()
        };
        for worker in workers {
            if let Ok(mine) = worker.await {
                all.attempted += mine.attempted;
                all.accepted.extend(mine.accepted);
                for (kind, n) in mine.errors {
                    *all.errors.entry(kind).or_default() += n;
                }
            }
        }
        all.ended = Some(Instant::now());
        all.ended_unix_ns = unix_ns();
        all
    }
}

/// Reads the host's delivery log, page by page.
#[derive(Debug)]
pub struct Collector {
    client: ControlClient,
    url: String,
    /// Every delivery read so far.
    pub deliveries: Vec<Delivery>,
    /// Deliveries the host handled after its log was full.
    pub not_kept: u64,
}

impl Collector {
    /// A collector for the host on `port` (its app token in `client`).
    pub fn new(client: ControlClient, port: u16) -> Self {
        Self {
            client,
            url: format!("http://127.0.0.1:{port}/events"),
            deliveries: Vec::new(),
            not_kept: 0,
        }
    }

    /// Reads the deliveries logged since the last poll.
    ///
    /// # Errors
    /// The host does not answer, or not with its log.
    pub async fn poll(&mut self) -> Result<()> {
        let url = format!("{}?from={}", self.url, self.deliveries.len());
        let reply = self.client.get(&url, Duration::from_secs(30)).await?;
        if !reply.status.is_success() {
            bail!("GET {url}: {} {}", reply.status, reply.text());
        }
        let page: Deliveries =
            serde_json::from_slice(&reply.body).with_context(|| format!("reading GET {url}"))?;
        self.deliveries.extend(page.deliveries);
        self.not_kept = page.not_kept;
        Ok(())
    }

    /// Polls until every event of `published` in `phase` has a final
    /// answer (handled or dropped), or no delivery came for `drain`: a
    /// backlog that still moves is waited for, a stalled one is not. The
    /// wait never exceeds [`MAX_WAIT`].
    ///
    /// # Errors
    /// As [`Collector::poll`].
    pub async fn wait_for(&mut self, phase: Phase, published: &Published, drain: Duration) -> Result<()> {
        let started = Instant::now();
        let (mut seen, mut last_progress) = (self.deliveries.len(), started);
        loop {
            self.poll().await?;
            let settled = self.settled(phase);
            if published.accepted.keys().all(|seq| settled.contains_key(seq)) {
                return Ok(());
            }
            let now = Instant::now();
            if self.deliveries.len() > seen {
                (seen, last_progress) = (self.deliveries.len(), now);
            }
            if now >= last_progress + drain || now >= started + MAX_WAIT {
                tracing::warn!(
                    missing = published.accepted.len() - settled.len(),
                    "pub/sub: deliveries stopped before every accepted event was handled"
                );
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Events of `phase` with a final answer: sequence number → the first
    /// such delivery.
    fn settled(&self, phase: Phase) -> HashMap<u64, &Delivery> {
        let mut settled = HashMap::new();
        for d in &self.deliveries {
            if d.outcome == Outcome::Retry {
                continue;
            }
            if let Some((tag, seq, _)) = parse_id(&d.id)
                && tag == phase.tag()
            {
                settled.entry(seq).or_insert(d);
            }
        }
        settled
    }

    /// Sends probe events until one is handled: the end of a pub/sub cell's
    /// cold start (daprd may accept events before its subscription is
    /// active, and an in-memory broker drops those).
    ///
    /// # Errors
    /// No event handled within `deadline`, or the workload refusing the
    /// event's data.
    pub async fn first_delivery(&mut self, publisher: &Publisher, deadline: Duration) -> Result<()> {
        let until = Instant::now() + deadline;
        let mut last = String::from("nothing published yet");
        for seq in 0.. {
            if Instant::now() >= until {
                bail!("no event was handled by the app within {deadline:?}; last: {last}");
            }
            if let Err(kind) = publisher
                .publish(&event_id(Phase::Cold, seq, unix_ns()), Duration::from_secs(5))
                .await
            {
                last = format!("daprd refused the publish ({kind})");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            last = "published, not delivered".into();
            let wait = Instant::now() + Duration::from_secs(1);
            while Instant::now() < wait.min(until) {
                self.poll().await?;
                if let Some(d) = self.settled(Phase::Cold).values().next() {
                    if d.outcome == Outcome::Drop {
                        bail!(
                            "the app dropped the event: the workload refused its data (or it was not a \
                             CloudEvent); see the host's log"
                        );
                    }
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        unreachable!("the loop returns or fails by its deadline")
    }
}

/// Where a cell's events come from.
#[derive(Debug)]
enum Source {
    /// The harness publishes them (`pubsub`, `pubsub-bulk`).
    Publisher(Box<Publisher>),
    /// daprd's cron binding fires by itself; daprd's metrics count the
    /// firings (`cron`).
    Cron {
        /// daprd's metrics port.
        metrics_port: u16,
        /// The binding's component name.
        binding: String,
    },
}

/// One event-driven cell's trial: where its events come from and the
/// reader of its app's delivery log, through cold start, warm-up and the
/// measured window.
#[derive(Debug)]
pub struct Driver {
    source: Source,
    collector: Collector,
    /// The component and what it promises, for the figures.
    component: (String, String),
}

impl Driver {
    /// The driver of a started cell with an event trigger.
    ///
    /// # Errors
    /// A system without an app host (the cell should have been ruled out).
    pub fn new(
        system: &crate::blueprint::System,
        trigger: Trigger,
        workload: &str,
        store: StateStoreKind,
        settings: &DaprSettings,
    ) -> Result<Self> {
        let host = system
            .host
            .as_ref()
            .context("an event-driven cell needs an app host to deliver to")?;
        let (name, semantics) = component(store);
        let (source, component) = match trigger {
            Trigger::Cron => (
                Source::Cron {
                    metrics_port: system.sidecar.metrics_port,
                    binding: cron_binding(workload),
                },
                (
                    format!(
                        "bindings.cron @every {:?}",
                        Duration::from_secs_f64(1.0 / settings.cron_rate)
                    ),
                    "daprd's cron input binding posts each firing to the app once and does not retry a \
                     failed one; `@every` schedules each firing from the last, so the firings per second \
                     reach the nominal rate at most. Firings are counted by daprd's own metric \
                     (dapr_component_input_binding_count: a firing the app did not answer 2xx is lost), \
                     handled ones and their latency by the app's log over the same window"
                        .to_owned(),
                ),
            ),
            Trigger::PubsubBulk => (
                Source::Publisher(Box::new(Publisher::new(&system.target))),
                (
                    format!(
                        "{name}, bulk ≤ {} per {:?}",
                        settings.bulk_max_messages, settings.bulk_max_await
                    ),
                    format!(
                        "{semantics}. A bulk subscription: daprd sends up to {} events per batch, waiting \
                         up to {:?} to fill one; the app answers each event's status",
                        settings.bulk_max_messages, settings.bulk_max_await
                    ),
                ),
            ),
            _ => (
                Source::Publisher(Box::new(Publisher::new(&system.target))),
                (name.to_owned(), semantics.to_owned()),
            ),
        };
        Ok(Self {
            source,
            collector: Collector::new(host.client(), host.port),
            component,
        })
    }

    /// Until the first event is handled (see [`Collector::first_delivery`];
    /// for a cron cell, the binding's first firing).
    ///
    /// # Errors
    /// As [`Collector::first_delivery`].
    pub async fn cold_start(&mut self, deadline: Duration) -> Result<()> {
        match &self.source {
            Source::Publisher(publisher) => self.collector.first_delivery(publisher, deadline).await,
            Source::Cron { .. } => self.collector.first_firing(deadline).await,
        }
    }

    fn spec(plan: &crate::scenario::Plan, phase: Phase, duration: Duration) -> PublishSpec {
        let rate = plan.dapr.pubsub_rate;
        PublishSpec {
            phase,
            connections: if rate.is_some() {
                plan.load.open_connections
            } else {
                plan.load.connections
            },
            duration,
            max_events: (phase == Phase::Measured)
                .then_some(plan.load.max_requests)
                .flatten(),
            rate,
            timeout: plan.load.timeout,
        }
    }

    /// One phase of publishing (the warm-up's or the measured window's
    /// length), then the wait for its deliveries.
    async fn publish_and_wait(
        publisher: &Publisher,
        collector: &mut Collector,
        plan: &crate::scenario::Plan,
        phase: Phase,
    ) -> Result<Published> {
        let length = match phase {
            Phase::Warmup => plan.load.warmup,
            _ => plan.load.duration,
        };
        let published = publisher.run(&Self::spec(plan, phase, length)).await;
        collector
            .wait_for(phase, &published, plan.dapr.pubsub_drain)
            .await?;
        Ok(published)
    }

    /// Publishes for `[load] warmup` and waits for those events, so the
    /// measured window starts with nothing in flight; a cron cell lets its
    /// binding fire for as long.
    ///
    /// # Errors
    /// The host's log cannot be read.
    pub async fn warm_up(&mut self, plan: &crate::scenario::Plan) -> Result<()> {
        match &self.source {
            Source::Publisher(publisher) => {
                Self::publish_and_wait(publisher, &mut self.collector, plan, Phase::Warmup)
                    .await
                    .map(drop)
            }
            Source::Cron { .. } => {
                tokio::time::sleep(plan.load.warmup).await;
                self.collector.poll().await
            }
        }
    }

    /// The measured window: publishing for `[load] duration` (or
    /// `max_requests` events), then waiting up to `[dapr] pubsub_drain` for
    /// the deliveries; a cron cell's firings over `[load] duration` (or
    /// until `max_requests` were handled).
    ///
    /// # Errors
    /// The host's log or daprd's metrics cannot be read; a histogram cannot
    /// be encoded.
    pub async fn measure(&mut self, plan: &crate::scenario::Plan) -> Result<(PubsubFigures, LoadSummary)> {
        let rate = plan.dapr.pubsub_rate;
        match &self.source {
            Source::Publisher(publisher) => {
                let published =
                    Self::publish_and_wait(publisher, &mut self.collector, plan, Phase::Measured).await?;
                figures(&self.component, rate, &published, &self.collector)
            }
            Source::Cron {
                metrics_port,
                binding,
            } => {
                let window = self
                    .collector
                    .cron_window(*metrics_port, binding, plan.load.duration, plan.load.max_requests)
                    .await?;
                cron_figures(&self.component, plan.dapr.cron_rate, &window, &self.collector)
            }
        }
    }
}

/// A cron cell's measured window: daprd's count of the binding's firings
/// over it, and where in the host's log it starts.
#[derive(Debug, Clone, Default)]
pub struct CronWindow {
    /// Firings daprd delivered to the app successfully.
    pub fired_ok: u64,
    /// Firings daprd could not deliver (an app error or no answer).
    pub fired_failed: u64,
    /// The window, in Unix ns: deliveries handled in it are counted.
    pub from_unix_ns: u64,
    /// Its end.
    pub to_unix_ns: u64,
}

/// daprd's count of `binding`'s firings, by success, from its metrics.
fn firings(samples: &crate::dapr_metrics::Samples, binding: &str) -> (u64, u64) {
    let component = format!("component=\"{binding}\"");
    let mut counts = (0u64, 0u64);
    for (series, value) in samples {
        if series.starts_with("dapr_component_input_binding_count{") && series.contains(&component) {
            if series.contains("success=\"true\"") {
                counts.0 += *value as u64;
            } else {
                counts.1 += *value as u64;
            }
        }
    }
    counts
}

impl Collector {
    /// Polls until the cron binding's first firing is handled.
    ///
    /// # Errors
    /// None handled within `deadline`, or the workload refusing the input.
    pub async fn first_firing(&mut self, deadline: Duration) -> Result<()> {
        let until = Instant::now() + deadline;
        while Instant::now() < until {
            self.poll().await?;
            if let Some(d) = self
                .deliveries
                .iter()
                .find(|d| d.id.starts_with("binding") && d.outcome != Outcome::Retry)
            {
                if d.outcome == Outcome::Drop {
                    bail!(
                        "the app refused the binding's firing: the workload refused the input; see the host's log"
                    );
                }
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!(
            "the cron binding's first firing was not handled by the app within {deadline:?} (see daprd's log \
             for the binding's start)"
        )
    }

    /// Lets the binding fire for `duration` (or until `max_handled` firings
    /// were handled), reading daprd's count of firings before and after.
    /// The log's window opens before the first count and closes after the
    /// second, so a firing daprd counted is in it (the host logs a firing
    /// before it answers, daprd counts it after).
    ///
    /// # Errors
    /// daprd's metrics or the host's log cannot be read.
    pub async fn cron_window(
        &mut self,
        metrics_port: u16,
        binding: &str,
        duration: Duration,
        max_handled: Option<u64>,
    ) -> Result<CronWindow> {
        let from_unix_ns = unix_ns();
        let before = crate::dapr_metrics::scrape(metrics_port).await?;
        let until = Instant::now() + duration;
        while Instant::now() < until {
            tokio::time::sleep((until - Instant::now()).min(Duration::from_millis(200))).await;
            if let Some(max) = max_handled {
                self.poll().await?;
                let handled = self
                    .deliveries
                    .iter()
                    .filter(|d| d.handled_unix_ns >= from_unix_ns && d.id.starts_with("binding"))
                    .count() as u64;
                if handled >= max {
                    break;
                }
            }
        }
        let after = crate::dapr_metrics::scrape(metrics_port).await?;
        let to_unix_ns = unix_ns();
        self.poll().await?;
        let (ok0, failed0) = firings(&before, binding);
        let (ok1, failed1) = firings(&after, binding);
        Ok(CronWindow {
            fired_ok: ok1.saturating_sub(ok0),
            fired_failed: failed1.saturating_sub(failed0),
            from_unix_ns,
            to_unix_ns,
        })
    }
}

/// A cron cell's figures: daprd's count of firings (delivered: answered
/// 2xx by the app; lost: the others), the app's log of the same window
/// (handled, dropped, and latency from each firing's time, carried in its
/// id, to its handling).
///
/// # Errors
/// A histogram that cannot be encoded.
pub fn cron_figures(
    component: &(String, String),
    rate: f64,
    window: &CronWindow,
    collector: &Collector,
) -> Result<(PubsubFigures, LoadSummary)> {
    let mut latency = blueprint_load::new_histogram();
    let (mut handled, mut dropped, mut failed, mut foreign) = (0u64, 0u64, 0u64, 0u64);
    for d in collector
        .deliveries
        .iter()
        .filter(|d| (window.from_unix_ns..=window.to_unix_ns).contains(&d.handled_unix_ns))
    {
        let Some(fired) =
            d.id.strip_prefix("binding-")
                .and_then(|ns| ns.parse::<u64>().ok())
        else {
            foreign += 1;
            continue;
        };
        match d.outcome {
            Outcome::Success => {
                handled += 1;
                latency
                    .record(d.handled_unix_ns.saturating_sub(fired).max(1))
                    .context("recording a firing's latency")?;
            }
            Outcome::Drop => dropped += 1,
            Outcome::Retry => failed += 1,
        }
    }
    // daprd counts a firing as delivered when the app answered it 2xx; the
    // others (an app error, no answer) are the firings that did not get
    // through: a cron binding does not fire them again.
    let fired = window.fired_ok + window.fired_failed;
    let lost = window.fired_failed;
    let window_s = window.to_unix_ns.saturating_sub(window.from_unix_ns) as f64 / 1e9;
    let delivered_per_s = if window_s > 0.0 {
        handled as f64 / window_s
    } else {
        0.0
    };
    let pubsub = PubsubFigures {
        component: component.0.clone(),
        semantics: component.1.clone(),
        rate: Some(rate),
        published: fired,
        accepted: fired,
        publish_errors: BTreeMap::new(),
        handled,
        dropped,
        lost,
        redeliveries: 0,
        foreign,
        delivered_per_s,
        drain_s: 0.0,
        delivered_equals_published: lost == 0 && collector.not_kept == 0,
    };
    let mut errors = BTreeMap::new();
    // The app's refusals and failures are among daprd's failed firings.
    let other = lost.saturating_sub(dropped + failed);
    for (kind, n) in [
        ("event-lost", other),
        ("event-dropped", dropped),
        ("event-failed", failed),
    ] {
        if n > 0 {
            errors.insert(kind.to_owned(), n);
        }
    }
    let load = event_load(
        fired.max(handled),
        handled,
        errors,
        window_s,
        delivered_per_s,
        &latency,
    )?;
    Ok((pubsub, load))
}

/// The measured window's figures: the pub/sub counts, and the same events
/// as a load summary (successes are handled events, latency runs from
/// publishing to handling) so every analysis reads them like requests.
///
/// # Errors
/// A histogram that cannot be encoded.
pub fn figures(
    component: &(String, String),
    rate: Option<f64>,
    published: &Published,
    collector: &Collector,
) -> Result<(PubsubFigures, LoadSummary)> {
    let tag = Phase::Measured.tag();
    let mut seen: HashMap<u64, u64> = HashMap::new();
    let mut first_final: HashMap<u64, &Delivery> = HashMap::new();
    let mut foreign = 0u64;
    for d in &collector.deliveries {
        match parse_id(&d.id) {
            Some((t, seq, _)) if t == tag && published.accepted.contains_key(&seq) => {
                *seen.entry(seq).or_default() += 1;
                if d.outcome != Outcome::Retry {
                    first_final.entry(seq).or_insert(d);
                }
            }
            // Late events of the cold start or the warm-up are ours.
            Some((t, _, _)) if t != tag => {}
            _ => foreign += 1,
        }
    }
    let redeliveries = seen.values().map(|n| n - 1).sum();
    let mut latency = blueprint_load::new_histogram();
    let (mut handled, mut dropped, mut last_handled_ns) = (0u64, 0u64, published.started_unix_ns);
    for (seq, d) in &first_final {
        match d.outcome {
            Outcome::Success => {
                handled += 1;
                let sent = published.accepted[seq];
                // `record` grows the histogram; a saturating record would
                // clamp a backlog's seconds to its initial range.
                latency
                    .record(d.handled_unix_ns.saturating_sub(sent).max(1))
                    .context("recording an event's latency")?;
                last_handled_ns = last_handled_ns.max(d.handled_unix_ns);
            }
            Outcome::Drop => dropped += 1,
            Outcome::Retry => {}
        }
    }
    let accepted = published.accepted.len() as u64;
    let lost = accepted - handled - dropped;
    let window_s = last_handled_ns.saturating_sub(published.started_unix_ns) as f64 / 1e9;
    let delivered_per_s = if window_s > 0.0 {
        handled as f64 / window_s
    } else {
        0.0
    };
    let drain_s = collector
        .deliveries
        .iter()
        .map(|d| d.handled_unix_ns)
        .max()
        .map_or(0.0, |last| {
            last.saturating_sub(published.ended_unix_ns) as f64 / 1e9
        });
    let pubsub = PubsubFigures {
        component: component.0.clone(),
        semantics: component.1.clone(),
        rate,
        published: published.attempted,
        accepted,
        publish_errors: published.errors.clone(),
        handled,
        dropped,
        lost,
        redeliveries,
        foreign,
        delivered_per_s,
        drain_s,
        delivered_equals_published: lost == 0 && collector.not_kept == 0,
    };
    let mut errors = published.errors.clone();
    for (kind, n) in [("event-lost", lost), ("event-dropped", dropped)] {
        if n > 0 {
            errors.insert(kind.into(), n);
        }
    }
    let load = event_load(
        published.attempted,
        handled,
        errors,
        window_s,
        delivered_per_s,
        &latency,
    )?;
    Ok((pubsub, load))
}

/// Events as a load summary, so every analysis reads them like requests:
/// successes are handled events, latency runs from sending (or firing) to
/// handling.
fn event_load(
    requests: u64,
    handled: u64,
    errors: BTreeMap<String, u64>,
    window_s: f64,
    delivered_per_s: f64,
    latency: &hdrhistogram::Histogram<u64>,
) -> Result<LoadSummary> {
    let errors_total: u64 = errors.values().sum();
    let has_latency = handled > 0;
    Ok(LoadSummary {
        requests,
        successes: handled,
        errors,
        error_examples: BTreeMap::new(),
        errors_total,
        error_rate: if requests > 0 {
            errors_total as f64 / requests as f64
        } else {
            0.0
        },
        duration_s: window_s,
        throughput_rps: delivered_per_s,
        latency_us: has_latency.then(|| Percentiles::of(latency)),
        latency_histogram: encode_histogram(latency)?,
        latency_quantiles_us: has_latency.then(|| Quantiles::of(latency)),
        censored: 0,
        lower_bound_from_quantile: None,
        generator: None,
        open_loop: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_carries_its_phase_sequence_and_send_time() {
        let id = event_id(Phase::Measured, 42, 1_733_400_000_000_000_000);
        assert_eq!(parse_id(&id), Some(('m', 42, 1_733_400_000_000_000_000)));
        assert_eq!(parse_id("someone-else"), None);
        assert_eq!(parse_id("5929aaac-a5e2-4ca1"), None);
    }

    #[test]
    fn the_envelope_carries_the_input_as_the_host_reads_it() {
        for input in [
            &b"visits"[..],
            b"{\"key\":\"a\",\"amount\":1}",
            &[0xc3, 0x28],
            b"",
        ] {
            let event = blueprint_host::events::parse(&envelope("m-1-2", input)).unwrap();
            assert_eq!(event.id, "m-1-2");
            assert_eq!(event.data, input);
        }
    }

    fn delivery(id: &str, at: u64, outcome: Outcome) -> Delivery {
        Delivery {
            id: id.into(),
            handled_unix_ns: at,
            outcome,
        }
    }

    #[test]
    fn events_are_counted_by_id_lost_dropped_and_redelivered() {
        let published = Published {
            attempted: 5,
            accepted: HashMap::from([(0, 1_000), (1, 2_000), (2, 3_000), (3, 4_000)]),
            errors: BTreeMap::from([("publish-http-500".to_owned(), 1)]),
            started_unix_ns: 1_000,
            ended: Some(Instant::now()),
            ended_unix_ns: 5_000,
        };
        let collector = Collector {
            client: ControlClient::default(),
            url: String::new(),
            deliveries: vec![
                delivery("m-0-1000", 11_000, Outcome::Success),
                delivery("m-1-2000", 5_000, Outcome::Retry),
                delivery("m-1-2000", 22_000, Outcome::Success),
                delivery("m-2-3000", 9_000, Outcome::Drop),
                delivery("w-7-10", 9_500, Outcome::Success),
                delivery("not-ours", 9_600, Outcome::Success),
            ],
            not_kept: 0,
        };
        let (name, semantics) = component(StateStoreKind::Redis);
        let (p, load) = figures(&(name.into(), semantics.into()), None, &published, &collector).unwrap();
        assert_eq!((p.accepted, p.handled, p.dropped, p.lost), (4, 2, 1, 1));
        assert_eq!((p.redeliveries, p.foreign), (1, 1));
        assert!(!p.delivered_equals_published);
        assert_eq!(p.component, "pubsub.redis");
        // Two handled events from the first publish (1 µs) to the last (22 µs).
        assert!((p.delivered_per_s - 2.0 / 21e-6).abs() < 1.0);
        assert_eq!((load.requests, load.successes, load.errors_total), (5, 2, 3));
        assert_eq!(load.errors["event-lost"], 1);
        let max_us = load.latency_quantiles_us.unwrap().max;
        assert!(
            (19.0..=21.0).contains(&max_us),
            "slowest event: 20 µs, got {max_us}"
        );
    }
}
