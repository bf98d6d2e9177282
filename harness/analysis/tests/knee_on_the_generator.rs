//! The knee rule on the real generator: a server that answers in 1 ms
//! easily serves 200 req/s, so no Poisson step at that rate may fail it,
//! whatever its seed (the old rule failed such steps about 4 times in 10,
//! on the schedule's own randomness).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

use blueprint_analysis::sweep::{self, RatePoint, Verdict};
use blueprint_load::{self as load, Arrival, LoadSpec, LoadSummary, Mode, Target};
use bytes::Bytes;
use hyper::Method;

/// A keep-alive HTTP/1.1 server, a thread per connection, answering every
/// request 200 after `delay`.
fn delayed_server(delay: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                let mut line = String::new();
                loop {
                    // The request head; GETs carry no body.
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if line != "\r\n" {
                        continue;
                    }
                    std::thread::sleep(delay);
                    if writer
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_easily_served_rate_never_fails_in_twenty_poisson_steps() {
    let target = Target::new(
        &delayed_server(Duration::from_millis(1)),
        Method::GET,
        Bytes::new(),
    )
    .unwrap();
    let mut points = Vec::new();
    for attempt in 0..20u32 {
        let mut spec = LoadSpec::open(200.0, Arrival::Poisson, 16, Duration::from_secs(1));
        if let Mode::Open { seed, .. } = &mut spec.mode {
            *seed = u64::from(attempt) * 0x9E37_79B9 + 1;
        }
        let report = load::run(&target, &spec).await.unwrap();
        let summary = LoadSummary::from_report(&report).unwrap();
        points.push(RatePoint::of(200.0, 0, &summary));
    }
    let floor = sweep::floor_p99(&points);
    // A step where this (shared, busy) machine held the generator back is
    // generator-bound: it says nothing of the server and is retested, but
    // it is not a failure of the rate.
    let verdicts: Vec<Verdict> = points.iter().map(|p| sweep::judge(p, floor, 3.0)).collect();
    let bound = verdicts.iter().filter(|v| **v == Verdict::GeneratorBound).count();
    eprintln!("{bound} of 20 steps generator-bound");
    let failed: Vec<&RatePoint> = points
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| **v == Verdict::Fail)
        .map(|(p, _)| p)
        .collect();
    assert!(failed.is_empty(), "{} of 20 failed: {failed:?}", failed.len());
    // The schedules differed: the old rule's denominator (rate × window)
    // is not what they held.
    let intended: std::collections::BTreeSet<u64> = points.iter().map(|p| p.intended).collect();
    assert!(intended.len() > 5, "{intended:?}");
    assert!(points.iter().all(|p| p.seed.is_some()));
}
