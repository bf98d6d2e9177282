//! Ground truth for the load generator: servers whose behaviour is known
//! (a fixed delay, one stall, a count of arrivals) and the figures the
//! generator must report for them. Tolerances allow a loaded 2-core CI
//! machine; each assertion still fails if the measurement is wrong.

mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use blueprint_load::{self as load, Arrival, LoadReport, LoadSpec, Target};
use bytes::Bytes;
use common::{Action, Server, gap_cv, ms};
use hyper::Method;

fn target(server: &Server) -> Target {
    Target::new(&server.url("/"), Method::GET, Bytes::new()).unwrap()
}

/// 2 s at 500 req/s over 16 connections against a server that answers at
/// once; the server and the spec stay for another run.
async fn open_500_for_2s(arrival: Arrival) -> (Server, LoadSpec, LoadReport) {
    let server = Server::start(|_| Action::ok());
    let spec = LoadSpec::open(500.0, arrival, 16, Duration::from_secs(2));
    let report = load::run(&target(&server), &spec).await.unwrap();
    (server, spec, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_p50_matches_a_fixed_server_delay() {
    let delay = Duration::from_millis(10);
    let server = Server::delayed(delay);
    let spec = LoadSpec::closed(2, Duration::from_millis(200), Duration::from_secs(2));
    let report = load::run(&target(&server), &spec).await.unwrap();
    assert_eq!(report.error_count(), 0, "{:?}", report.errors);
    let p50 = ms(report.latency.value_at_quantile(0.5));
    // Never below the delay; at most 5% above it (loopback and wake-ups).
    assert!((10.0..=10.5).contains(&p50), "p50 {p50:.3} ms for a 10 ms server");
    assert!(
        ms(report.latency.min()) >= 9.99,
        "min {}",
        ms(report.latency.min())
    );
    // Two connections, 10 ms each: about 200 requests per second.
    let rps = report.throughput();
    assert!((180.0..=201.0).contains(&rps), "throughput {rps:.1}");
    // The warm-up reached the server but not the report.
    assert!(
        server.requests() > report.requests + 20,
        "{} vs {}",
        server.requests(),
        report.requests
    );
}

/// 200 requests per second for 5 s; the server stalls once for 1 s about
/// 2 s in. From the intended start, the ~200 requests due during the stall
/// wait 1 s down to 0: a fifth of the run, so p90 is about S/2 and p99 about
/// S. Service time does not see it, except for the few requests that were on
/// the wire when it began: with 8 connections (plenty for 200/s at well
/// under a millisecond each), the other requests due in the stall wait for a
/// free connection and are then served at the normal speed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_shows_in_corrected_latency_but_not_in_service_time() {
    let stall = Duration::from_secs(1);
    let stall_until = std::sync::Arc::new(OnceLock::<Instant>::new());
    let until = stall_until.clone();
    let server = Server::start(move |r| {
        if r.index == 400 {
            let _ = until.set(r.arrival + stall);
        }
        match until.get() {
            Some(&end) if r.arrival < end => Action::Respond {
                status: 200,
                at: Some(end),
            },
            _ => Action::ok(),
        }
    });
    let spec = LoadSpec::open(200.0, Arrival::Fixed, 8, Duration::from_secs(5));
    let report = load::run(&target(&server), &spec).await.unwrap();
    assert!(stall_until.get().is_some(), "the server never stalled");
    assert_eq!(report.error_count(), 0, "{:?}", report.errors);
    let schedule = report.schedule.unwrap();
    assert_eq!(schedule.intended, 1000);
    assert_eq!(schedule.sent, 1000);
    assert_eq!(schedule.missed, 0);

    let lat = |q| ms(report.latency.value_at_quantile(q));
    assert!(lat(0.5) < 20.0, "latency p50 {:.1} ms", lat(0.5));
    assert!(
        lat(0.90) >= 400.0,
        "latency p90 {:.1} ms must reflect the stall",
        lat(0.9)
    );
    assert!(
        (850.0..=1150.0).contains(&lat(0.99)),
        "latency p99 {:.1} ms",
        lat(0.99)
    );
    let max = ms(report.latency.max());
    assert!((950.0..=1300.0).contains(&max), "latency max {max:.1} ms");

    let service = report.service.as_ref().unwrap();
    let svc = |q| ms(service.value_at_quantile(q));
    assert!(svc(0.5) < 5.0, "service p50 {:.2} ms", svc(0.5));
    assert!(
        svc(0.9) < 20.0,
        "service p90 {:.2} ms must not reflect the stall",
        svc(0.9)
    );
    // The requests that were on the wire did wait through the stall.
    assert!(
        ms(service.max()) >= 900.0,
        "service max {:.1} ms",
        ms(service.max())
    );
    // The requests due during the stall waited for a connection.
    assert!(
        schedule.late_waiting_for_connection >= 150,
        "{} late for want of a connection",
        schedule.late_waiting_for_connection
    );
    assert!(
        schedule.max_send_lag >= Duration::from_millis(900),
        "{:?}",
        schedule.max_send_lag
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_sends_rate_times_duration_at_fixed_intervals() {
    let (server, _, report) = open_500_for_2s(Arrival::Fixed).await;
    let schedule = report.schedule.unwrap();
    assert_eq!(schedule.intended, 1000, "500/s for 2 s");
    assert!(schedule.sent >= 990, "sent {} of 1000", schedule.sent);
    assert_eq!(schedule.sent + schedule.missed, schedule.intended);
    // The server saw exactly what the generator says it sent.
    assert_eq!(server.requests(), schedule.sent);
    assert_eq!(report.requests, schedule.sent);
    let achieved = schedule.achieved_rate(report.elapsed);
    assert!((490.0..=510.0).contains(&achieved), "achieved {achieved:.1}/s");
    assert_eq!(report.elapsed, Duration::from_secs(2));
    // Fixed intervals arrive evenly (a Poisson stream would give about 1).
    let arrivals: Vec<Instant> = server.seen().iter().map(|s| s.arrival).collect();
    let cv = gap_cv(&arrivals);
    assert!(cv < 0.5, "gaps vary too much for fixed intervals: cv {cv:.2}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poisson_arrivals_have_the_rate_and_exponential_gaps() {
    let (server, spec, report) = open_500_for_2s(Arrival::Poisson).await;
    let schedule = report.schedule.unwrap();
    // A Poisson count with mean 1000 has a standard deviation of about 32.
    assert!(
        (850..=1150).contains(&schedule.intended),
        "intended {}",
        schedule.intended
    );
    assert_eq!(server.requests(), schedule.sent);
    assert!(schedule.sent + 10 >= schedule.intended, "{schedule:?}");
    let arrivals: Vec<Instant> = server.seen().iter().map(|s| s.arrival).collect();
    // Exponential gaps have sd = mean.
    let cv = gap_cv(&arrivals);
    assert!((0.8..=1.2).contains(&cv), "gap cv {cv:.2}, expected about 1");
    // The same seed gives the same schedule.
    let again = load::run(&target(&server), &spec).await.unwrap();
    assert_eq!(again.schedule.unwrap().intended, schedule.intended);
}

/// One connection, 50 ms per request, asked for 100/s: at most 20/s can go
/// out. The generator must say so (late and missed), not lower the rate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_that_cannot_keep_up_reports_late_and_missed_sends() {
    let server = Server::delayed(Duration::from_millis(50));
    let spec = LoadSpec::open(100.0, Arrival::Fixed, 1, Duration::from_secs(1));
    let report = load::run(&target(&server), &spec).await.unwrap();
    let schedule = report.schedule.unwrap();
    assert_eq!(schedule.intended, 100);
    assert_eq!(schedule.sent + schedule.missed, 100);
    assert!((15..=21).contains(&schedule.sent), "sent {}", schedule.sent);
    assert!(schedule.missed >= 79, "missed {}", schedule.missed);
    assert!(
        schedule.late + 1 >= schedule.sent,
        "late {} of {}",
        schedule.late,
        schedule.sent
    );
    assert_eq!(schedule.late, schedule.late_waiting_for_connection);
    // The last sends were due early in the window but went out near its end.
    assert!(
        ms(report.latency.max()) >= 700.0,
        "max {}",
        ms(report.latency.max())
    );
    assert!(ms(report.service.as_ref().unwrap().max()) < 100.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_cap_stops_both_loops_exactly() {
    let server = Server::start(|_| Action::ok());
    let mut closed = LoadSpec::closed(4, Duration::ZERO, Duration::from_secs(30));
    closed.max_requests = Some(123);
    let report = load::run(&target(&server), &closed).await.unwrap();
    assert_eq!(report.requests, 123);
    assert_eq!(server.requests(), 123);
    assert!(report.elapsed < Duration::from_secs(10));

    let mut open = LoadSpec::open(200.0, Arrival::Fixed, 4, Duration::from_secs(30));
    open.max_requests = Some(50);
    let started = Instant::now();
    let report = load::run(&target(&server), &open).await.unwrap();
    let schedule = report.schedule.unwrap();
    assert_eq!(schedule.sent, 50);
    assert_eq!(schedule.missed, 0);
    assert_eq!(report.requests, 50);
    // 50 requests at 200/s: the window is a quarter of a second.
    let secs = report.elapsed.as_secs_f64();
    assert!((0.24..=0.26).contains(&secs), "window {secs:.3} s");
    assert!(started.elapsed() < Duration::from_secs(5));
}
