//! The `pubsub` trigger through a real daprd and redis-server: every event
//! daprd accepted is handled by the app exactly once, counted by the app
//! host's own delivery log, on the Rust host (Wasmtime) and the Go host
//! (wazero).

mod common;

use blueprint_analysis::results::{CellStatus, RunResults};

const EVENTS: u64 = 300;

fn scenario(store: &str, rate: Option<f64>) -> String {
    let rate = rate.map(|r| format!("pubsub_rate = {r}\n")).unwrap_or_default();
    format!(
        r#"
[matrix]
workloads = ["counter"]
modes = ["embedded"]
runtimes = ["wasmtime", "wazero"]
languages = ["rust"]
triggers = ["pubsub"]
stores = ["{store}"]

[load]
connections = 4
warmup = "0s"
duration = "30s"
max_requests = {EVENTS}
trials = 1

[dapr]
{rate}pubsub_drain = "20s"

[inputs.counter]
text = "pubsub-events"
"#
    )
}

fn run(name: &str, text: &str) -> RunResults {
    let dir = tempfile::tempdir().unwrap();
    common::run_scenario(dir.path(), name, text)
}

/// Every cell of `run` published exactly [`EVENTS`] events and its app
/// handled each once.
fn every_event_handled_once(run: &RunResults, component: &str) {
    assert_eq!(run.cells.len(), 2, "{:#?}", run.cells);
    for cell in &run.cells {
        assert_eq!(cell.status, CellStatus::Ok, "{}: {:?}", cell.id, cell.status);
        let trial = &cell.trials[0];
        let p = trial.pubsub.as_ref().expect("a pub/sub trial records its events");
        assert_eq!(p.component, component);
        assert_eq!(p.published, EVENTS, "{}: {p:#?}", cell.id);
        assert_eq!(p.accepted, EVENTS, "{}: {p:#?}", cell.id);
        assert_eq!(p.handled, EVENTS, "{}: the host handled {p:#?}", cell.id);
        assert_eq!((p.lost, p.dropped, p.foreign), (0, 0, 0), "{}: {p:#?}", cell.id);
        assert!(p.delivered_equals_published, "{}: {p:#?}", cell.id);
        // The events are the trial's requests: handled ones its successes,
        // their publish-to-handled latency its latency.
        assert_eq!(trial.load.successes, EVENTS);
        assert_eq!(trial.load.errors_total, 0);
        let latency = trial.load.latency_us.expect("handled events have a latency");
        assert!(latency.p50 > 0.0 && latency.max >= latency.p50, "{latency:?}");
        assert!(p.delivered_per_s > 0.0);
    }
}

#[test]
fn on_redis_streams_every_published_event_is_handled_once() {
    if let Err(err) = blueprint_bench::redis::find() {
        panic!("this test needs redis-server (ci/test.sh installs it): {err}");
    }
    let run = run("pubsub-redis", &scenario("redis", None));
    every_event_handled_once(&run, "pubsub.redis");
}

#[test]
fn in_memory_at_a_fixed_rate_every_published_event_is_handled_once() {
    let run = run("pubsub-in-memory", &scenario("in-memory", Some(200.0)));
    every_event_handled_once(&run, "pubsub.in-memory");
    for cell in &run.cells {
        assert_eq!(cell.trials[0].pubsub.as_ref().unwrap().rate, Some(200.0));
    }
}
