//! Where the workers run: `threads` OS threads, each with its own
//! single-threaded Tokio runtime and its share of the connections (as wrk
//! runs one event loop per thread). A connection's tasks never move between
//! threads and no thread wakes another per request; the caller's runtime only
//! waits for the results.
//!
//! Each thread connects its connections first; when all have, one of them
//! starts the clock ([`Window`]) for everyone. A thread that cannot start
//! (no Tokio runtime, out of file descriptors) fails the [`Gate`], and every
//! other thread stops there instead of waiting for it for ever.

use std::sync::{Arc, Condvar, Mutex};
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
    /// Time it was ready to run but waited for a CPU (the run queue).
    pub(crate) waited: Duration,
    pub(crate) wall: Duration,
}

/// The calling thread's scheduler figures so far: CPU time and run-queue
/// wait, the first two fields of `/proc/thread-self/schedstat`, in
/// nanoseconds (`/proc/self` would give the main thread's, not this load
/// thread's).
#[derive(Debug, Clone, Copy)]
struct Sched {
    cpu: Duration,
    waited: Duration,
}

fn thread_sched() -> Option<Sched> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    let (Some(Ok(cpu)), Some(Ok(waited))) = (fields.next(), fields.next()) else {
        return None;
    };
    Some(Sched {
        cpu: Duration::from_nanos(cpu),
        waited: Duration::from_nanos(waited),
    })
}

/// Where the load threads meet before the clock starts: a barrier that one
/// failed thread opens for everyone, with its reason.
#[derive(Default)]
pub(crate) struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
    /// Wakes threads that are still opening their connections (each on its
    /// own runtime) when another fails: a connect to a server that does not
    /// accept can take minutes to give up.
    failure: tokio::sync::Notify,
}

#[derive(Default)]
struct GateState {
    arrived: usize,
    /// Bumped when everyone has arrived, so a waiter of one round is not
    /// confused by the next.
    round: u64,
    failed: Option<String>,
}

impl Gate {
    /// Waits until `parties` threads have arrived or one has failed. `Ok(true)`
    /// for exactly one thread per round (the one that completed it).
    ///
    /// # Errors
    /// Another thread failed to start; the error is its reason.
    pub(crate) fn wait(&self, parties: usize) -> Result<bool> {
        let mut state = self.state.lock().expect("gate lock");
        if let Some(why) = &state.failed {
            anyhow::bail!("{why}");
        }
        state.arrived += 1;
        if state.arrived == parties {
            state.arrived = 0;
            state.round += 1;
            self.changed.notify_all();
            return Ok(true);
        }
        let round = state.round;
        let state = self
            .changed
            .wait_while(state, |s| s.round == round && s.failed.is_none())
            .expect("gate lock");
        match &state.failed {
            Some(why) if state.round == round => anyhow::bail!("{why}"),
            _ => Ok(false),
        }
    }

    /// Opens the gate for everyone with `why` (the first reason wins).
    pub(crate) fn fail(&self, why: String) {
        let mut state = self.state.lock().expect("gate lock");
        state.failed.get_or_insert(why);
        self.changed.notify_all();
        self.failure.notify_waiters();
    }

    /// Completes once the gate has failed.
    pub(crate) async fn failed(&self) {
        loop {
            let notified = self.failure.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the check, so a failure between the two is
            // not missed.
            notified.as_mut().enable();
            if self.state.lock().expect("gate lock").failed.is_some() {
                return;
            }
            notified.await;
        }
    }
}

/// Fails `gate` when dropped before [`Arrival::disarm`]: a thread that panics
/// or returns early on its way to the gate still releases the others.
struct Arrival<'a> {
    gate: &'a Gate,
    index: usize,
    armed: bool,
}

impl Arrival<'_> {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for Arrival<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.gate.fail(format!(
                "load thread {} stopped before the load started",
                self.index
            ));
        }
    }
}

/// Whether `error` means this process ran out of file descriptors: a failed
/// start of the generator, not an error of the target.
pub(crate) fn out_of_descriptors(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| matches!(io.raw_os_error(), Some(EMFILE | ENFILE)))
}

/// `errno` values for "too many open files" (per process, system-wide).
const EMFILE: i32 = 24;
const ENFILE: i32 = 23;

/// Builds one load thread's runtime.
fn build_runtime(_index: usize) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

/// Threads to use for `spec`: its own count, else one per core (per CPU it
/// is pinned to), never more than connections.
pub(crate) fn count(spec: &LoadSpec) -> usize {
    let auto = match spec.cpus.len() {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        pinned => pinned,
    };
    let wanted = if spec.threads == 0 { auto } else { spec.threads };
    wanted.clamp(1, spec.connections)
}

/// Runs one `worker` per connection, spread over the threads.
///
/// # Errors
/// A thread could not start (every thread then stops), or a worker panicked.
pub(crate) async fn run<F, Fut>(template: Arc<Template>, spec: &LoadSpec, worker: F) -> Result<Finished>
where
    F: Fn(Client, Window) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Recorder> + Send + 'static,
{
    run_with(template, spec, worker, build_runtime).await
}

/// What one load thread sends back: its part, or why it could not start.
type Part = Result<(Vec<Recorder>, Instant, Option<ThreadCpu>), String>;

/// [`run`] with the way each thread builds its runtime given (tests make
/// one thread's fail).
async fn run_with<F, Fut>(
    template: Arc<Template>,
    spec: &LoadSpec,
    worker: F,
    build: fn(usize) -> std::io::Result<tokio::runtime::Runtime>,
) -> Result<Finished>
where
    F: Fn(Client, Window) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Recorder> + Send + 'static,
{
    let threads = count(spec);
    let worker = Arc::new(worker);
    let gate = Arc::new(Gate::default());
    let window: Arc<Mutex<Option<Window>>> = Arc::new(Mutex::new(None));
    // Dropping this future (Ctrl-C, an interrupted scenario) drops `cancel`,
    // and the threads drop their workers and connections at once.
    let (cancel, cancelled) = tokio::sync::watch::channel(());
    let mut results = Vec::with_capacity(threads);
    for index in 0..threads {
        // Connections index, index + threads, …: an even share each.
        let mine = (index..spec.connections).step_by(threads).count();
        let (template, worker, gate, window) =
            (template.clone(), worker.clone(), gate.clone(), window.clone());
        let (spec, (tx, rx)) = (spec.clone(), tokio::sync::oneshot::channel::<Part>());
        let mut cancelled = cancelled.clone();
        let thread_gate = gate.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("load-{index}"))
            .spawn(move || {
                let gate = thread_gate;
                let arrival = Arrival {
                    gate: &gate,
                    index,
                    armed: true,
                };
                if !spec.cpus.is_empty()
                    && let Err(e) = crate::affinity::pin_this_thread(&spec.cpus)
                {
                    let why = format!("load thread {index}: {e:#}");
                    gate.fail(why.clone());
                    let _ = tx.send(Err(why));
                    return;
                }
                let rt = match build(index) {
                    Ok(rt) => rt,
                    Err(e) => {
                        let why = format!("load thread {index} could not start its Tokio runtime: {e}");
                        gate.fail(why.clone());
                        let _ = tx.send(Err(why));
                        return;
                    }
                };
                let work = async {
                    let mut clients = Vec::with_capacity(mine);
                    for _ in 0..mine {
                        let mut client = Client::new(template.clone());
                        if !spec.new_connection_per_request {
                            // A refused connection shows up as `connect` errors
                            // in the run; running out of descriptors is ours.
                            if let Err(e) = client.connect_now().await
                                && out_of_descriptors(&e)
                            {
                                let why = format!(
                                    "load thread {index} could not open its {mine} connections: {e:#} \
                                 (raise the open-file limit, `ulimit -n`, or use fewer connections)"
                                );
                                gate.fail(why.clone());
                                return Err(why);
                            }
                        }
                        clients.push(client);
                    }
                    arrival.disarm();
                    if gate.wait(threads).map_err(|e| e.to_string())? {
                        *window.lock().expect("window lock") = Window::new(&spec).ok();
                    }
                    gate.wait(threads).map_err(|e| e.to_string())?;
                    let Some(w) = *window.lock().expect("window lock") else {
                        return Ok((Vec::new(), Instant::now(), None));
                    };
                    let before = thread_sched();
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
                    let cpu = before.zip(thread_sched()).map(|(before, after)| ThreadCpu {
                        cpu: after.cpu.saturating_sub(before.cpu),
                        waited: after.waited.saturating_sub(before.waited),
                        wall: finished.saturating_duration_since(w.started),
                    });
                    Ok((recorders, finished, cpu))
                };
                let out = rt.block_on(async {
                    tokio::select! {
                        biased;
                        out = work => Some(out),
                        _ = cancelled.changed() => None,
                        // Only before the gate: once every thread is through,
                        // nothing fails it.
                        () = gate.failed() => Some(Err("stopped: another load thread failed to start".to_owned())),
                    }
                });
                if let Some(out) = out {
                    let _ = tx.send(out);
                }
            });
        if let Err(e) = spawned {
            // The threads already started would otherwise wait for this one.
            gate.fail(format!("load thread {index} could not be spawned: {e}"));
            return Err(e).context("starting a load thread");
        }
        results.push(rx);
    }
    let mut recorders = Vec::with_capacity(spec.connections);
    let mut at = None::<Instant>;
    let mut cpu = Vec::with_capacity(threads);
    let mut failed = None::<String>;
    for rx in results {
        match rx.await {
            Ok(Ok((part, finished, thread_cpu))) => {
                recorders.extend(part);
                cpu.push(thread_cpu);
                at = Some(at.map_or(finished, |a| a.max(finished)));
            }
            // The first thread's own reason, not another's echo of it.
            Ok(Err(why)) => {
                failed.get_or_insert(why);
            }
            Err(_) => {
                failed.get_or_insert_with(|| "a load thread panicked".to_owned());
            }
        }
    }
    drop(cancel);
    if let Some(why) = gate.state.lock().expect("gate lock").failed.clone().or(failed) {
        anyhow::bail!("the load did not start: {why}");
    }
    let window =
        (*window.lock().expect("window lock")).context("warm-up plus duration overflows the clock")?;
    Ok(Finished {
        recorders,
        window,
        at: at.unwrap_or_else(Instant::now),
        cpu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Target;

    /// A runtime for every thread but the second.
    fn second_fails(index: usize) -> std::io::Result<tokio::runtime::Runtime> {
        if index == 1 {
            return Err(std::io::Error::from_raw_os_error(EMFILE));
        }
        build_runtime(index)
    }

    #[tokio::test]
    async fn one_thread_that_cannot_start_stops_them_all_with_its_reason() {
        // Nothing needs to listen: refused connections are the run's errors.
        let target = Target::new("http://127.0.0.1:9/", hyper::Method::GET, bytes::Bytes::new()).unwrap();
        let mut spec = LoadSpec::closed(4, Duration::ZERO, Duration::from_millis(200));
        spec.threads = 4;
        let template = Arc::new(Template::new(&target, &spec));
        let worker = |_client: Client, w: Window| async move {
            Recorder::new(w.measure_from, Duration::from_secs(1), false)
        };
        // Before the gate, the other three threads waited on a barrier for
        // ever and so did this test.
        let outcome = tokio::time::timeout(
            Duration::from_secs(30),
            run_with(template, &spec, worker, second_fails),
        )
        .await
        .expect("the load threads hung when one could not start");
        let error = format!("{:#}", outcome.err().expect("a failed start is an error"));
        assert!(
            error.contains("load thread 1 could not start its Tokio runtime"),
            "{error}"
        );
        assert!(error.contains("Too many open files"), "{error}");
    }

    #[test]
    fn a_gate_passes_when_everyone_arrives_and_elects_one_leader() {
        let gate = Arc::new(Gate::default());
        let leaders: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..3).map(|_| s.spawn(|| gate.wait(3).unwrap())).collect();
            handles.into_iter().map(|h| usize::from(h.join().unwrap())).sum()
        });
        assert_eq!(leaders, 1);
    }

    #[test]
    fn a_thread_dropped_before_arriving_opens_the_gate() {
        let gate = Gate::default();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| gate.wait(2));
            drop(Arrival {
                gate: &gate,
                index: 5,
                armed: true,
            });
            let error = waiter.join().unwrap().unwrap_err().to_string();
            assert!(error.contains("load thread 5 stopped"), "{error}");
        });
    }
}
