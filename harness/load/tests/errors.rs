//! Servers that fail: errors are tallied by kind, the run goes on, and every
//! loop ends on time.

mod common;

use std::time::{Duration, Instant};

use blueprint_load::{self as load, Arrival, LoadSpec, Target};
use bytes::Bytes;
use common::{Action, Server};
use hyper::Method;

fn target(server: &Server) -> Target {
    Target::new(&server.url("/"), Method::GET, Bytes::new()).unwrap()
}

fn count(report: &load::LoadReport, kind: &str) -> u64 {
    report.errors.get(kind).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_tallied_by_status_and_the_run_goes_on() {
    let server = Server::start(|r| match r.index % 4 {
        0 => Action::Respond {
            status: 503,
            at: None,
        },
        1 => Action::Respond {
            status: 500,
            at: None,
        },
        _ => Action::ok(),
    });
    let spec = LoadSpec::closed(2, Duration::ZERO, Duration::from_secs(1));
    let report = load::run(&target(&server), &spec).await.unwrap();
    assert_eq!(
        report.elapsed,
        Duration::from_secs(1),
        "the run went the whole window"
    );
    assert_eq!(report.requests, server.requests());
    let (e503, e500) = (count(&report, "http-503"), count(&report, "http-500"));
    assert_eq!(report.errors.len(), 2, "{:?}", report.errors);
    // A quarter each, give or take the requests in flight at the edges.
    let quarter = report.requests / 4;
    assert!(
        e503.abs_diff(quarter) <= 2 && e500.abs_diff(quarter) <= 2,
        "{:?}",
        report.errors
    );
    assert_eq!(
        report.latency.len(),
        report.requests - e503 - e500,
        "only successes are in the histogram"
    );
    assert!(report.requests > 100, "only {} requests", report.requests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_connections_are_tallied_and_the_run_goes_on() {
    // Every third request: the server hangs up without answering.
    let server = Server::start(|r| {
        if r.index % 3 == 2 {
            Action::Close
        } else {
            Action::ok()
        }
    });
    for spec in [
        LoadSpec::closed(2, Duration::ZERO, Duration::from_secs(1)),
        LoadSpec::open(300.0, Arrival::Fixed, 4, Duration::from_secs(1)),
    ] {
        let report = load::run(&target(&server), &spec).await.unwrap();
        let closed = count(&report, "connection-closed");
        assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
        assert!(closed > 20, "{:?}", report.errors);
        let ok = report.requests - closed;
        assert!(ok.abs_diff(2 * closed) <= 4, "{ok} ok and {closed} closed");
        assert_eq!(report.elapsed, Duration::from_secs(1));
    }
    // The generator reconnected after every hang-up.
    assert!(server.connections() > 40, "{} connections", server.connections());
}

/// A server that never answers: at the end of the window plus the grace
/// period, requests in flight are abandoned and counted as timeouts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hard_stop_abandons_requests_as_timeouts() {
    let server = Server::start(|r| Action::Respond {
        status: 200,
        at: Some(r.arrival + Duration::from_secs(60)),
    });
    let mut spec = LoadSpec::closed(3, Duration::ZERO, Duration::from_millis(500));
    spec.grace = Duration::from_millis(300);
    let started = Instant::now();
    let report = load::run(&target(&server), &spec).await.unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(took >= Duration::from_millis(800), "took {took:?}");
    assert_eq!(count(&report, "timeout"), 3);
    assert_eq!(report.requests, 3);

    // The same with an open loop and a request timeout shorter than the window.
    let mut spec = LoadSpec::open(20.0, Arrival::Fixed, 4, Duration::from_secs(1));
    spec.timeout = Duration::from_millis(100);
    let report = load::run(&target(&server), &spec).await.unwrap();
    assert_eq!(count(&report, "timeout"), 20, "{:?}", report.errors);
    assert_eq!(report.schedule.unwrap().sent, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_port_fails_before_any_load() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = Target::new(&format!("http://127.0.0.1:{port}/"), Method::GET, Bytes::new()).unwrap();
    let started = Instant::now();
    let err = load::run(&target, &LoadSpec::default()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    let msg = format!("{err:#}");
    assert!(
        msg.contains("cannot connect to 127.0.0.1:") && msg.contains("refused"),
        "{msg}"
    );
}
