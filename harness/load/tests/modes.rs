//! Connection modes (keep-alive, a new connection per request, h2c) and the
//! HdrHistogram interval log.

mod common;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use blueprint_load::{self as load, Arrival, LoadSpec, Target, hdr_log};
use bytes::Bytes;
use common::{Action, Server};
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use http_body_util::Full;
use hyper::{Method, Request, Response, Version};

fn target(server: &Server) -> Target {
    Target::new(&server.url("/"), Method::GET, Bytes::new()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_reuses_connections_and_the_other_mode_does_not() {
    let server = Server::start(|_| Action::ok());
    let spec = LoadSpec::closed(3, Duration::ZERO, Duration::from_millis(500));
    let report = load::run(&target(&server), &spec).await.unwrap();
    assert_eq!(report.error_count(), 0, "{:?}", report.errors);
    assert!(report.requests > 100);
    assert_eq!(
        server.connections(),
        3 + 1,
        "one connection per worker, plus the probe"
    );

    let server = Server::start(|_| Action::ok());
    let mut spec = LoadSpec::closed(3, Duration::ZERO, Duration::from_millis(500));
    spec.new_connection_per_request = true;
    let report = load::run(&target(&server), &spec).await.unwrap();
    assert_eq!(report.error_count(), 0, "{:?}", report.errors);
    assert!(report.requests > 20);
    // One per request, plus the probe.
    assert_eq!(server.connections(), report.requests + 1);
    assert!(
        server
            .seen()
            .iter()
            .all(|s| s.head.to_ascii_lowercase().contains("connection: close"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_with_prior_knowledge() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let http2_requests = Arc::new(AtomicU64::new(0));
    let counter = http2_requests.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    if req.version() == Version::HTTP_2 {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok")))) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let target = Target::new(&format!("http://{addr}/h2"), Method::GET, Bytes::new()).unwrap();
    let mut spec = LoadSpec::closed(2, Duration::ZERO, Duration::from_millis(500));
    spec.http2 = true;
    let report = load::run(&target, &spec).await.unwrap();
    assert_eq!(report.error_count(), 0, "{:?}", report.errors);
    assert!(report.requests > 50, "{}", report.requests);
    assert_eq!(http2_requests.load(Ordering::Relaxed), report.requests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_interval_log_reads_back_with_hdrhistogram() {
    let server = Server::delayed(Duration::from_millis(2));
    let mut spec = LoadSpec::open(200.0, Arrival::Poisson, 8, Duration::from_millis(2500));
    spec.interval = Duration::from_millis(500);
    spec.warmup = Duration::from_millis(300);
    let report = load::run(&target(&server), &spec).await.unwrap();
    let mut log = Vec::new();
    hdr_log::write_to(&mut log, &report).unwrap();
    let text = String::from_utf8(log.clone()).unwrap();
    assert!(text.contains("#[Histogram log format version 1.3]"), "{text}");

    let mut start_time = None;
    let mut base_time = None;
    let mut per_tag: std::collections::BTreeMap<String, (u64, Vec<f64>)> = Default::default();
    for entry in IntervalLogIterator::new(&log) {
        match entry.unwrap() {
            LogEntry::StartTime(t) => start_time = Some(t),
            LogEntry::BaseTime(t) => base_time = Some(t),
            LogEntry::Interval(i) => {
                let bytes =
                    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, i.encoded_histogram())
                        .unwrap();
                let h: hdrhistogram::Histogram<u64> =
                    Deserializer::new().deserialize(&mut bytes.as_slice()).unwrap();
                assert_eq!(i.duration(), Duration::from_millis(500));
                // The max column is in milliseconds.
                assert!((i.max() - h.max() as f64 / 1e6).abs() < 0.01);
                let e = per_tag.entry(i.tag().unwrap().as_str().to_owned()).or_default();
                e.0 += h.len();
                e.1.push(i.start_timestamp().as_secs_f64());
            }
        }
    }
    assert!(start_time.is_some() && base_time.is_some());
    let ok = report.requests - report.error_count();
    assert!(ok > 400, "{ok}");
    assert_eq!(per_tag.keys().collect::<Vec<_>>(), ["latency", "service"]);
    for (tag, (n, starts)) in &per_tag {
        assert_eq!(*n, ok, "tag {tag}: every success in exactly one interval");
        // 2.5 s in 0.5 s intervals, by completion time: 5, or 6 with the tail.
        assert!((5..=6).contains(&starts.len()), "{tag}: {starts:?}");
        assert!(
            starts.windows(2).all(|w| (w[1] - w[0] - 0.5).abs() < 1e-6),
            "{starts:?}"
        );
        assert_eq!(starts[0], 0.0);
    }
    assert_eq!(report.latency.len(), ok);
    assert_eq!(report.service.as_ref().unwrap().len(), ok);
}
