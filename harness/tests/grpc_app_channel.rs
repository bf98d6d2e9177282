//! daprd → app over gRPC (`--app-protocol grpc`): the app hosts serve Dapr's
//! `AppCallback` service beside their HTTP routes. Service invocation
//! through daprd's HTTP API reaches the workload through `OnInvoke`, pub/sub
//! events through `OnTopicEvent`, on the Rust host (Wasmtime) and the Go host
//! (wazero); the protocol axis of a scenario is checked like the others.

mod common;

use std::path::Path;
use std::time::Duration;

use blueprint_analysis::modes::Mode;
use blueprint_analysis::results::{CellStatus, RunResults};
use blueprint_bench::scenario::DaprSettings;
use blueprint_bench::{blueprint, paths, scenario};

use common::rust_cell;

fn grpc_cell(workload: &str, runtime: &str) -> blueprint_bench::scenario::CellId {
    let mut id = rust_cell(workload, Mode::Embedded, runtime);
    id.protocol = "grpc".into();
    id
}

/// 120 increments over 4 racing connections through daprd's HTTP invoke
/// API, daprd → host over gRPC, read back through daprd's state API; then a
/// refused input, which daprd answers as an error status.
async fn count_over_grpc(runtime: &str) {
    let dir = tempfile::tempdir().unwrap();
    let id = grpc_cell("counter", runtime);
    let system = common::start(&id, &DaprSettings::default(), dir.path()).await;
    let args = std::fs::read_to_string(dir.path().join("host.log")).unwrap_or_default();
    common::count_concurrently(&system, &id, "over-grpc", 120).await;

    // The host ran every one of them (the same counters as over HTTP).
    let host = system.host.as_ref().unwrap();
    let stats = host
        .client()
        .get(
            &format!("http://127.0.0.1:{}/stats", host.port),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&stats.body).unwrap();
    assert_eq!(
        stats["modules"]["counter"]["requests"], 120,
        "{id}: {stats} {args}"
    );

    // The workload's refusal (an empty key) is INVALID_ARGUMENT, 400 through daprd.
    let reply = system
        .sidecar
        .client()
        .post(
            &system.sidecar.invoke_url("counter"),
            Vec::new(),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 400, "{id}: {}", reply.text());
    assert!(
        reply.text().contains("key must not be empty"),
        "{id}: {}",
        reply.text()
    );
    // An unknown workload is NOT_FOUND, 404.
    let reply = system
        .sidecar
        .client()
        .post(
            &system.sidecar.invoke_url("nothing"),
            b"x".to_vec(),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 404, "{id}: {}", reply.text());
    system.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counter_counts_through_daprd_over_grpc_on_every_host_kind() {
    count_over_grpc("wasmtime").await;
    count_over_grpc("wazero").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_token_guards_the_grpc_side_too() {
    use dapr::dapr::proto::common::v1::InvokeRequest;
    use dapr::dapr::proto::runtime::v1::app_callback_client::AppCallbackClient;
    for runtime in ["wasmtime", "wazero"] {
        let dir = tempfile::tempdir().unwrap();
        let id = grpc_cell("noop", runtime);
        let system = common::start(&id, &DaprSettings::default(), dir.path()).await;
        let port = system.host.as_ref().unwrap().port;
        let mut client = AppCallbackClient::connect(format!("http://127.0.0.1:{port}"))
            .await
            .unwrap();
        let call = |token: Option<&str>| {
            let mut request = tonic::Request::new(InvokeRequest {
                method: "noop".into(),
                data: Some(prost_types::Any {
                    type_url: String::new(),
                    value: b"hello".to_vec(),
                }),
                ..InvokeRequest::default()
            });
            if let Some(token) = token {
                request
                    .metadata_mut()
                    .insert("dapr-api-token", token.parse().unwrap());
            }
            request
        };
        let refused = client.on_invoke(call(None)).await.unwrap_err();
        assert_eq!(
            refused.code(),
            tonic::Code::Unauthenticated,
            "{runtime}: {refused:?}"
        );
        let refused = client.on_invoke(call(Some("wrong"))).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{runtime}");
        let answered = client
            .on_invoke(call(Some(&system.sidecar.tokens.app)))
            .await
            .unwrap_or_else(|e| panic!("{runtime}: {e:?}"))
            .into_inner();
        assert_eq!(answered.data.unwrap().value, b"hello", "{runtime}: noop echoes");
        system.stop();
    }
}

fn run(dir: &Path, name: &str, text: &str) -> RunResults {
    common::run_scenario(dir, name, text)
}

const EVENTS: u64 = 200;

#[test]
fn over_grpc_every_published_event_is_handled_once() {
    let dir = tempfile::tempdir().unwrap();
    let run = run(
        dir.path(),
        "pubsub-grpc",
        &format!(
            r#"
[matrix]
workloads = ["counter"]
modes = ["embedded"]
runtimes = ["wasmtime", "wazero"]
triggers = ["pubsub"]
stores = ["in-memory"]
protocols = ["grpc"]

[load]
connections = 4
warmup = "0s"
duration = "30s"
max_requests = {EVENTS}
trials = 1

[dapr]
pubsub_rate = 200.0
pubsub_drain = "20s"

[inputs.counter]
text = "grpc-events"
"#
        ),
    );
    assert_eq!(run.cells.len(), 2, "{:#?}", run.cells);
    for cell in &run.cells {
        assert_eq!(cell.id.protocol, "grpc");
        assert_eq!(cell.status, CellStatus::Ok, "{}: {:?}", cell.id, cell.status);
        let trial = &cell.trials[0];
        let p = trial.pubsub.as_ref().expect("a pub/sub trial records its events");
        assert_eq!(p.component, "pubsub.in-memory");
        assert_eq!(p.published, EVENTS, "{}: {p:#?}", cell.id);
        assert_eq!(p.accepted, EVENTS, "{}: {p:#?}", cell.id);
        assert_eq!(p.handled, EVENTS, "{}: the host handled {p:#?}", cell.id);
        assert_eq!((p.lost, p.dropped, p.foreign), (0, 0, 0), "{}: {p:#?}", cell.id);
        assert!(p.delivered_equals_published, "{}: {p:#?}", cell.id);
        assert_eq!(trial.load.errors_total, 0);
    }
}

const PROTOCOLS: &str = r#"[scenario]
name = "protocols"

[matrix]
workloads = ["transform", "counter"]
modes = ["middleware", "embedded"]
runtimes = ["wasmtime"]
protocols = ["http", "grpc"]
"#;

fn parse(text: &str) -> anyhow::Result<scenario::Plan> {
    let project = paths::project_dir();
    scenario::parse(
        text,
        Path::new("scenarios/protocols.toml"),
        &blueprint_bench::workloads::known_workloads(&project).unwrap(),
        &["wasmtime", "wazero"],
    )
}

#[test]
fn the_protocol_axis_crosses_cells_and_rules_out_what_has_no_grpc_app_channel() {
    let plan = parse(PROTOCOLS).unwrap();
    let project = paths::project_dir();
    let mut seen = Vec::new();
    for cell in &plan.cells {
        let status = blueprint::ruled_out(&project, cell, &plan.custom).unwrap();
        seen.push((cell.workload.clone(), cell.mode.clone(), cell.protocol.clone()));
        match (
            cell.workload.as_str(),
            cell.mode.as_str(),
            cell.protocol.as_str(),
            &status,
        ) {
            // counter uses Dapr: n/a in middleware whatever the protocol.
            ("counter", "middleware", _, _) => {}
            ("transform", "middleware", "grpc", Some(CellStatus::NotApplicable { reason })) => {
                assert!(
                    reason.contains("protocol grpc") && reason.contains("echo app"),
                    "{cell}: {reason}"
                );
            }
            (_, _, _, None) if cell.mode == "embedded" || cell.protocol == "http" => {}
            (_, _, _, other) => panic!("{cell}: {other:?}"),
        }
    }
    // Both protocols of each workload × mode.
    assert!(seen.contains(&("counter".into(), "embedded".into(), "grpc".into())));
    assert!(seen.contains(&("counter".into(), "embedded".into(), "http".into())));
    assert!(seen.contains(&("transform".into(), "middleware".into(), "grpc".into())));

    // A direct trigger has no daprd in the path: n/a over gRPC, with the reason.
    let mut direct = plan
        .cells
        .iter()
        .find(|c| c.mode == "embedded" && c.protocol == "grpc")
        .unwrap()
        .clone();
    direct.trigger = "direct".into();
    match blueprint::ruled_out(&project, &direct, &plan.custom).unwrap() {
        Some(CellStatus::NotApplicable { reason }) => assert!(reason.contains("direct"), "{reason}"),
        other => panic!("{direct}: {other:?}"),
    }
}

#[test]
fn an_unknown_protocol_is_refused_with_its_file_and_line() {
    let err = parse(&PROTOCOLS.replace(r#"["http", "grpc"]"#, r#"["http", "h3"]"#))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("scenarios/protocols.toml:8:")
            && err.contains("matrix.protocols")
            && err.contains("`h3`")
            && err.contains("known: http, grpc"),
        "{err}"
    );
    let err = parse(&PROTOCOLS.replace(r#"["http", "grpc"]"#, "[]"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("matrix.protocols is empty"), "{err}");
    // Without the key, cells are http as before.
    let plan = parse(&PROTOCOLS.replace("protocols = [\"http\", \"grpc\"]\n", "")).unwrap();
    assert!(plan.cells.iter().all(|c| c.protocol == "http"));
}
