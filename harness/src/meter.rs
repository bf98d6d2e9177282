//! Per-process CPU time and memory from `/proc`, sampled over the measured
//! window only.
//!
//! CPU seconds are the time on CPU between `start` and `stop`, in
//! nanoseconds from `/proc/<pid>/task/*/schedstat` (every live thread; the
//! 10 ms ticks of `/proc/<pid>/stat` are the fallback). A thread that exits
//! inside the window takes its time with it: the hosts, daprd and redis keep
//! their threads. Peak RSS is the largest resident set seen by a background
//! sampler during the window (`VmHWM` would be the lifetime peak, start-up
//! included, which is not what the window cost). The machine's own busy
//! time over the window, minus ours, is the foreign load the trial ran under.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use blueprint_analysis::results::{MachineLoad, ProcessUsage};

fn clock_ticks_per_second() -> f64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100.0, |t| t as f64)
}

/// CPU seconds of a process so far (its live threads' time on CPU), or
/// `None` if it is gone.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    schedstat_seconds(pid).or_else(|| tick_seconds(pid))
}

/// Sum of the first field of every thread's `schedstat` (ns on CPU).
fn schedstat_seconds(pid: u32) -> Option<f64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut ns: u64 = 0;
    let mut any = false;
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("schedstat"))
            && let Some(Ok(v)) = text.split_whitespace().next().map(str::parse::<u64>)
        {
            ns += v;
            any = true;
        }
    }
    any.then(|| ns as f64 / 1e9)
}

/// Busy and steal CPU seconds of the whole machine so far, from `/proc/stat`.
fn machine_seconds() -> Option<(f64, f64)> {
    let [user, nice, system, _idle, _iowait, irq, softirq, steal] = blueprint_load::machine_cpu_ticks()?;
    let busy = user + nice + system + irq + softirq;
    let tick = clock_ticks_per_second();
    Some((busy as f64 / tick, steal as f64 / tick))
}

/// User + system CPU seconds from `/proc/<pid>/stat` (10 ms ticks).
fn tick_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command: state(3) … utime(14) stime(15).
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks_per_second())
}

/// Resident set size in bytes, or `None` if the process is gone.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// How often the RSS sampler looks.
const SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// One process at the start of a window.
#[derive(Debug)]
struct Snapshot {
    role: String,
    pid: u32,
    cpu_s: f64,
    rss: u64,
    cpus_allowed: Option<String>,
}

/// The CPUs a process may run on: `Cpus_allowed_list` of its status
/// (its main thread's; threads it starts inherit it).
pub fn cpus_allowed(pid: u32) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|v| v.trim().to_owned())
}

/// Measures a set of processes over one window.
#[derive(Debug)]
pub struct ProcMeter {
    processes: Vec<Snapshot>,
    peaks: Arc<std::sync::Mutex<BTreeMap<u32, u64>>>,
    running: Arc<AtomicBool>,
    sampler: Option<JoinHandle<()>>,
    started: Instant,
    machine_at_start: Option<(f64, f64)>,
}

impl ProcMeter {
    /// Starts the window for `(role, pid)` processes.
    pub fn start(processes: &[(&str, u32)]) -> Self {
        let snapshot: Vec<Snapshot> = processes
            .iter()
            .map(|(role, pid)| Snapshot {
                role: (*role).to_owned(),
                pid: *pid,
                cpu_s: cpu_seconds(*pid).unwrap_or(0.0),
                rss: rss_bytes(*pid).unwrap_or(0),
                cpus_allowed: cpus_allowed(*pid),
            })
            .collect();
        let peaks = Arc::new(std::sync::Mutex::new(
            snapshot
                .iter()
                .map(|p| (p.pid, p.rss))
                .collect::<BTreeMap<_, _>>(),
        ));
        let running = Arc::new(AtomicBool::new(true));
        let pids: Vec<u32> = snapshot.iter().map(|p| p.pid).collect();
        let sampler = {
            let (peaks, running) = (peaks.clone(), running.clone());
            std::thread::Builder::new()
                .name("rss-sampler".into())
                .spawn(move || {
                    while running.load(Ordering::Relaxed) {
                        for pid in &pids {
                            if let Some(rss) = rss_bytes(*pid) {
                                let mut peaks = peaks.lock().unwrap_or_else(|e| e.into_inner());
                                let peak = peaks.entry(*pid).or_default();
                                *peak = (*peak).max(rss);
                            }
                        }
                        std::thread::sleep(SAMPLE_EVERY);
                    }
                })
                .ok()
        };
        Self {
            processes: snapshot,
            peaks,
            running,
            sampler,
            started: Instant::now(),
            machine_at_start: machine_seconds(),
        }
    }

    /// Ends the window and returns each process's usage, and the machine's
    /// load from everything else.
    pub fn stop(mut self) -> (Duration, Vec<ProcessUsage>, Option<MachineLoad>) {
        let elapsed = self.started.elapsed();
        let machine_at_end = machine_seconds();
        self.running.store(false, Ordering::Relaxed);
        if let Some(sampler) = self.sampler.take() {
            let _ = sampler.join();
        }
        let peaks = self.peaks.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let usage = self
            .processes
            .iter()
            .map(|p| {
                let final_rss = rss_bytes(p.pid).unwrap_or(0);
                ProcessUsage {
                    role: p.role.clone(),
                    pid: p.pid,
                    cpu_s: (cpu_seconds(p.pid).unwrap_or(p.cpu_s) - p.cpu_s).max(0.0),
                    peak_rss_bytes: peaks.get(&p.pid).copied().unwrap_or(0).max(final_rss),
                    start_rss_bytes: p.rss,
                    cpus_allowed: p.cpus_allowed.clone(),
                }
            })
            .collect::<Vec<ProcessUsage>>();
        let ours: f64 = usage.iter().map(|u| u.cpu_s).sum();
        let machine = match (self.machine_at_start, machine_at_end) {
            (Some((busy0, steal0)), Some((busy1, steal1))) => Some(MachineLoad {
                cores: std::thread::available_parallelism().map_or(1, usize::from),
                window_s: elapsed.as_secs_f64(),
                foreign_cpu_s: (busy1 - busy0 - ours).max(0.0),
                steal_s: (steal1 - steal0).max(0.0),
            }),
            _ => None,
        };
        (elapsed, usage, machine)
    }
}

impl Drop for ProcMeter {
    fn drop(&mut self) {
        self.running.store(false, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burning_cpu_shows_up_and_an_idle_process_does_not() {
        let me = std::process::id();
        let mut idle = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let meter = ProcMeter::start(&[("self", me), ("idle", idle.id())]);
        // 300 ms of this thread's own CPU time, however long a busy machine
        // makes that take in wall time.
        let thread_cpu = || {
            let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).unwrap();
            Duration::from(t)
        };
        let start_cpu = thread_cpu();
        let mut x = 0u64;
        while thread_cpu() - start_cpu < Duration::from_millis(300) {
            for _ in 0..10_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
        }
        std::hint::black_box(x);
        let (_, usage, machine) = meter.stop();
        let machine = machine.expect("/proc/stat is readable");
        assert!(machine.window_s >= 0.3 && machine.cores >= 1, "{machine:?}");
        idle.kill().unwrap();
        let _ = idle.wait();
        let me = &usage[0];
        assert!(me.cpu_s >= 0.29, "300 ms of spinning measured as {} s", me.cpu_s);
        assert!(me.peak_rss_bytes > 1 << 20);
        assert!(usage[1].cpu_s < 0.05, "sleep used {} s", usage[1].cpu_s);
    }

    #[test]
    fn a_busy_process_outside_the_trial_is_foreign_load() {
        let hog = Guard(
            std::process::Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .spawn()
                .unwrap(),
        );
        let meter = ProcMeter::start(&[("self", std::process::id())]);
        // Until the shell has had 0.3 s of CPU, however busy the machine.
        let (shell, started) = (cpu_seconds(hog.0.id()).unwrap_or(0.0), Instant::now());
        while cpu_seconds(hog.0.id()).unwrap_or(0.0) - shell < 0.3
            && started.elapsed() < Duration::from_secs(20)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        let (_, _, machine) = meter.stop();
        let machine = machine.unwrap();
        assert!(
            machine.foreign_cpu_s >= 0.2,
            "a shell spinning for 0.3 s of CPU measured as {machine:?}"
        );
    }

    /// Kills the child when the test ends, whatever happens.
    struct Guard(std::process::Child);
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[test]
    fn a_missing_process_reads_as_none() {
        assert_eq!(cpu_seconds(u32::MAX - 1), None);
        assert_eq!(rss_bytes(u32::MAX - 1), None);
    }
}
