//! The closed loop: one worker per connection sends its next request as soon
//! as the previous answer is read. The hot loop does no shared writes but one
//! atomic counter when a request cap is set.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::client::{Client, Deadline, Template};
use super::record::{Recorder, RunParts};
use super::{LoadSpec, Window, threads};

pub(crate) async fn run(template: Arc<Template>, spec: &LoadSpec) -> Result<RunParts> {
    let counted = Arc::new(AtomicU64::new(0));
    let (timeout, cap, interval) = (spec.timeout, spec.max_requests, spec.interval);
    let finished = threads::run(template, spec, move |client, window| {
        worker(client, window, timeout, cap, interval, counted.clone())
    })
    .await?;
    Ok(RunParts {
        workers: finished.recorders,
        missed: 0,
        missed_censored: crate::new_histogram(),
        finished: finished.at,
        window: finished.window,
        cpu: finished.cpu,
    })
}

async fn worker(
    mut client: Client,
    window: Window,
    timeout: Duration,
    cap: Option<u64>,
    interval: Duration,
    counted: Arc<AtomicU64>,
) -> Recorder {
    let mut rec = Recorder::new(window.measure_from, interval, false);
    let mut deadline = Deadline::new();
    loop {
        let start = Instant::now();
        if start >= window.deadline {
            break;
        }
        let measuring = start >= window.measure_from;
        if measuring
            && let Some(cap) = cap
            && counted.fetch_add(1, Ordering::Relaxed) >= cap
        {
            break;
        }
        let until = window.request_deadline(start, timeout);
        let outcome = deadline.run(until, client.send()).await;
        let end = Instant::now();
        let error = match outcome {
            Some(Ok(status)) if status.is_success() => None,
            Some(Ok(status)) => {
                if measuring {
                    rec.http_error(status.as_u16(), client.error_body());
                }
                continue; // an HTTP error is an answer: no back-off
            }
            Some(Err(kind)) => Some(kind),
            None => {
                client.disconnect();
                Some(super::ErrorKind::Timeout)
            }
        };
        match error {
            None if measuring => rec.success(end, end - start, end - start),
            None => {}
            Some(kind) => {
                if measuring {
                    rec.error(kind);
                }
                // Do not spin on a dead endpoint (a gRPC error is an answer).
                if !matches!(kind, super::ErrorKind::Grpc(_)) {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
    }
    rec.finish()
}
