//! The `pubsub-bulk` and `cron` triggers through a real daprd, over both app
//! protocols, on the Rust host (Wasmtime) and the Go host (wazero): a bulk
//! subscription's batches are handled event by event, every event exactly
//! once; daprd's cron input binding fires the workload on the cell's input,
//! and every firing daprd counted was answered by the app.

mod common;

use blueprint_analysis::results::{CellStatus, RunResults};

const EVENTS: u64 = 300;

fn run(name: &str, body: &str) -> RunResults {
    let dir = tempfile::tempdir().unwrap();
    common::run_scenario(dir.path(), name, body)
}

#[test]
fn a_bulk_subscription_handles_every_event_once_over_both_app_protocols() {
    let run = run(
        "pubsub-bulk",
        &format!(
            r#"
[matrix]
workloads = ["counter"]
modes = ["embedded"]
runtimes = ["wasmtime", "wazero"]
triggers = ["pubsub-bulk"]
stores = ["in-memory"]
protocols = ["http", "grpc"]

[load]
connections = 4
warmup = "0s"
duration = "30s"
max_requests = {EVENTS}
trials = 1

[dapr]
pubsub_rate = 300.0
pubsub_drain = "20s"
bulk_max_messages = 25
bulk_max_await = "20ms"

[inputs.counter]
text = "bulk-events"
"#
        ),
    );
    assert_eq!(run.cells.len(), 4, "{:#?}", run.cells);
    for cell in &run.cells {
        assert_eq!(cell.id.trigger, "pubsub-bulk");
        assert_eq!(cell.status, CellStatus::Ok, "{}: {:?}", cell.id, cell.status);
        let trial = &cell.trials[0];
        let p = trial.pubsub.as_ref().expect("a bulk trial records its events");
        // A single delivery posted to the bulk route would be refused (it is
        // not a batch) and never handled: handling every event proves daprd
        // sent batches.
        assert_eq!(p.component, "pubsub.in-memory, bulk ≤ 25 per 20ms", "{}", cell.id);
        assert_eq!(p.accepted, EVENTS, "{}: {p:#?}", cell.id);
        assert_eq!(p.handled, EVENTS, "{}: the host handled {p:#?}", cell.id);
        assert_eq!((p.lost, p.dropped, p.foreign), (0, 0, 0), "{}: {p:#?}", cell.id);
        assert!(p.delivered_equals_published, "{}: {p:#?}", cell.id);
        assert_eq!(trial.load.errors_total, 0, "{}", cell.id);
        assert!(trial.load.latency_us.is_some(), "{}", cell.id);
    }
}

#[test]
fn a_cron_binding_fires_the_workload_on_the_cells_input_over_both_app_protocols() {
    let run = run(
        "cron",
        r#"
[matrix]
workloads = ["transform"]
modes = ["embedded"]
runtimes = ["wasmtime", "wazero"]
triggers = ["cron"]
protocols = ["http", "grpc"]

[load]
connections = 1
warmup = "500ms"
duration = "3s"
trials = 1

[dapr]
cron_rate = 50.0
"#,
    );
    assert_eq!(run.cells.len(), 4, "{:#?}", run.cells);
    for cell in &run.cells {
        assert_eq!(cell.id.trigger, "cron");
        assert_eq!(cell.status, CellStatus::Ok, "{}: {:?}", cell.id, cell.status);
        let trial = &cell.trials[0];
        let p = trial.pubsub.as_ref().expect("a cron trial records its firings");
        assert_eq!(p.component, "bindings.cron @every 20ms", "{}", cell.id);
        assert_eq!(p.rate, Some(50.0));
        // `transform` refuses an empty input: a firing carries no data, so
        // every one handled ran on the cell's input (`--binding-input`).
        assert_eq!((p.lost, p.dropped), (0, 0), "{}: {p:#?}", cell.id);
        assert!(p.delivered_equals_published, "{}: {p:#?}", cell.id);
        // Three seconds at 50 a second, less what `@every`'s drift and the
        // start of the window cost.
        assert!((60..=160).contains(&p.published), "{}: {p:#?}", cell.id);
        // daprd counts a firing after the app logged it; the app's window
        // holds daprd's, and only a firing in flight at an edge differs.
        assert!(
            p.handled + 2 >= p.published && p.handled <= p.published + 2,
            "{}: daprd counted {} firings, the app handled {}",
            cell.id,
            p.published,
            p.handled
        );
        let latency = trial.load.latency_us.expect("handled firings have a latency");
        assert!(latency.p50 > 0.0, "{latency:?}");
    }
}
