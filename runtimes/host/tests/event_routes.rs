//! The host's event routes without daprd: a bulk batch answered entry by
//! entry, and an input binding's firing run on `--binding-input` when it
//! carries no data, each logged in `GET /events` by its id.

mod common;

use blueprint_host::events::{Deliveries, Outcome};

/// "pong" for a non-empty input; an empty one is refused (the ABI's error
/// flag), as a JSON workload refuses the empty body of a cron firing.
fn picky() -> String {
    common::guest(
        "",
        "(if (result i64) (i32.eqz (local.get 1)) \
           (then (i64.const 0x0000006480000004)) \
           (else (i64.const 0x0000006400000004)))",
    )
}

fn log(host: &common::Host) -> Deliveries {
    let (status, body) = common::request(host.addr, "GET", "/events?from=0", &[], b"");
    assert_eq!(status, 200);
    serde_json::from_slice(&body).unwrap()
}

#[test]
fn a_bulk_batch_is_answered_entry_by_entry_in_order() {
    let host = common::start("wasmtime", &[("picky", picky())], |_| {});
    let batch = br#"{"id":"b1","topic":"t","pubsubname":"pubsub","type":"com.dapr.event.sent.bulk","metadata":{},
      "entries":[
        {"entryId":"e1","event":{"id":"m-0-1","data":"x","datacontenttype":"text/plain"},"contentType":"application/cloudevents+json"},
        {"entryId":"e2","event":{"id":"m-1-2","data":"","datacontenttype":"text/plain"},"contentType":"application/cloudevents+json"},
        {"entryId":"e3","event":"cmF3","contentType":"application/octet-stream"},
        {"entryId":"e4","event":{"id":"m-3-4","data":"y","datacontenttype":"text/plain"},"contentType":"application/cloudevents+json"}]}"#;
    let (status, body) = common::request(host.addr, "POST", "/bulk-events/picky", &[], batch);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        answer,
        serde_json::json!({"statuses":[
            {"entryId":"e1","status":"SUCCESS"},
            {"entryId":"e2","status":"DROP"},
            {"entryId":"e3","status":"DROP"},
            {"entryId":"e4","status":"SUCCESS"}]})
    );
    let mut logged: Vec<(String, Outcome)> = log(&host)
        .deliveries
        .into_iter()
        .map(|d| (d.id, d.outcome))
        .collect();
    logged.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        logged,
        [
            (String::new(), Outcome::Drop),
            ("m-0-1".to_owned(), Outcome::Success),
            ("m-1-2".to_owned(), Outcome::Drop),
            ("m-3-4".to_owned(), Outcome::Success),
        ]
    );
    // A single delivery is not a batch: refused whole, for daprd to retry.
    let (status, _) = common::request(
        host.addr,
        "POST",
        "/bulk-events/picky",
        &[],
        br#"{"id":"x","data":"x"}"#,
    );
    assert_eq!(status, 400);
    let (status, _) = common::request(host.addr, "POST", "/bulk-events/nobody", &[], batch);
    assert_eq!(status, 404);
}

#[test]
fn a_firing_without_data_runs_on_the_binding_input_and_is_logged_by_its_time() {
    let input = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(input.path(), b"cell input").unwrap();
    let path = input.path().to_owned();
    let host = common::start("wasmtime", &[("picky", picky())], |args| {
        args.binding_input = Some(path);
    });
    let fired = [("readTimeUTC", "2026-12-05 14:40:00.5 +0000 UTC")];
    let (status, body) = common::request(host.addr, "POST", "/bindings/picky", &fired, b"");
    // No body: daprd would read one as orders to save state or send on.
    assert_eq!((status, body.as_slice()), (200, &b""[..]));
    let (status, _) = common::request(host.addr, "POST", "/bindings/picky", &[], b"");
    assert_eq!(status, 200);
    let logged = log(&host).deliveries;
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[0].id, "binding-1796481600500000000");
    assert_eq!(logged[1].id, "binding");
    assert!(logged.iter().all(|d| d.outcome == Outcome::Success));

    // Without --binding-input the empty firing reaches the workload, which
    // refuses it: a non-2xx answer, which daprd counts as a failed firing.
    let bare = common::start("wasmtime", &[("picky", picky())], |_| {});
    let (status, _) = common::request(bare.addr, "POST", "/bindings/picky", &fired, b"");
    assert_eq!(status, 422);
    assert_eq!(log(&bare).deliveries[0].outcome, Outcome::Drop);
}
