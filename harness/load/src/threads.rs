//! Where the workers run: `threads` OS threads, each with its own
//! single-threaded Tokio runtime and its share of the connections (as wrk
//! runs one event loop per thread). A connection's tasks never move between
//! threads and no thread wakes another per request; the caller's runtime only
//! waits for the results.
//!
//! Each thread connects its connections first; when all have, one of them
//! starts the clock ([`Window`]) for everyone.

use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::client::{Client, Template};
use super::record::Recorder;
use super::{LoadSpec, Window};

/// What the threads hand back.
pub(crate) struct Finished {
    pub(crate) recorders: Vec<Recorder>,
    pub(crate) window: Window,
    /// When the last worker stopped.
    pub(crate) at: Instant,
    /// Per load thread: CPU time and wall time of its run, when readable.
    pub(crate) cpu: Vec<Option<ThreadCpu>>,
}

/// One load thread's CPU over its run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ThreadCpu {
    pub(crate) cpu: Duration,
    pub(crate) wall: Duration,
}

/// The calling thread's CPU time so far: the first field of
/// `/proc/thread-self/schedstat`, in nanoseconds (`/proc/self` would give
/// the main thread's, not this load thread's).
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Threads to use for `spec`: its own count, else one per core, never more
/// than connections.
pub(crate) fn count(spec: &LoadSpec) -> usize {
    let auto = std::thread::available_parallelism().map_or(1, |n| n.get());
    let wanted = if spec.threads == 0 { auto } else { spec.threads };
    wanted.clamp(1, spec.connections)
}

/// Runs one `worker` per connection, spread over the threads.
///
/// # Errors
/// A thread could not start, or a worker panicked.
pub(crate) async fn run<F, Fut>(template: Arc<Template>, spec: &LoadSpec, worker: F) -> Result<Finished>
where
    F: Fn(Client, Window) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Recorder> + Send + 'static,
{
    let threads = count(spec);
    let worker = Arc::new(worker);
    let barrier = Arc::new(Barrier::new(threads));
    let window: Arc<Mutex<Option<Window>>> = Arc::new(Mutex::new(None));
    // Dropping this future (Ctrl-C, an interrupted scenario) drops `cancel`,
    // and the threads drop their workers and connections at once.
    let (cancel, cancelled) = tokio::sync::watch::channel(());
    let mut results = Vec::with_capacity(threads);
    for index in 0..threads {
        // Connections index, index + threads, …: an even share each.
        let mine = (index..spec.connections).step_by(threads).count();
        let (template, worker, barrier, window) =
            (template.clone(), worker.clone(), barrier.clone(), window.clone());
        let (spec, (tx, rx)) = (spec.clone(), tokio::sync::oneshot::channel());
        let mut cancelled = cancelled.clone();
        std::thread::Builder::new()
            .name(format!("load-{index}"))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a Tokio runtime for a load thread");
                let work = async move {
                    let mut clients = Vec::with_capacity(mine);
                    for _ in 0..mine {
                        let mut client = Client::new(template.clone());
                        if !spec.new_connection_per_request {
                            // A failure here shows up as `connect` errors in the run.
                            let _ = client.connect_now().await;
                        }
                        clients.push(client);
                    }
                    if barrier.wait().is_leader() {
                        *window.lock().expect("window lock") = Window::new(&spec).ok();
                    }
                    barrier.wait();
                    let Some(w) = *window.lock().expect("window lock") else {
                        return (Vec::new(), Instant::now(), None);
                    };
                    let cpu_before = thread_cpu();
                    let handles: Vec<_> = clients
                        .into_iter()
                        .map(|client| tokio::spawn(worker(client, w)))
                        .collect();
                    let mut recorders = Vec::with_capacity(handles.len());
                    for handle in handles {
                        match handle.await {
                            Ok(rec) => recorders.push(rec),
                            Err(e) => std::panic::resume_unwind(e.into_panic()),
                        }
                    }
                    let finished = Instant::now();
                    let cpu = cpu_before.zip(thread_cpu()).map(|(before, after)| ThreadCpu {
                        cpu: after.saturating_sub(before),
                        wall: finished.saturating_duration_since(w.started),
                    });
                    (recorders, finished, cpu)
                };
                let out = rt.block_on(async move {
                    tokio::select! {
                        biased;
                        out = work => Some(out),
                        _ = cancelled.changed() => None,
                    }
                });
                if let Some(out) = out {
                    let _ = tx.send(out);
                }
            })
            .context("starting a load thread")?;
        results.push(rx);
    }
    let mut recorders = Vec::with_capacity(spec.connections);
    let mut at = None::<Instant>;
    let mut cpu = Vec::with_capacity(threads);
    for rx in results {
        let (part, finished, thread_cpu) = rx.await.context("a load thread panicked")?;
        recorders.extend(part);
        cpu.push(thread_cpu);
        at = Some(at.map_or(finished, |a| a.max(finished)));
    }
    drop(cancel);
    let window =
        (*window.lock().expect("window lock")).context("warm-up plus duration overflows the clock")?;
    Ok(Finished {
        recorders,
        window,
        at: at.unwrap_or_else(Instant::now),
        cpu,
    })
}
