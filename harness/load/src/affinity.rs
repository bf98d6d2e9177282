//! CPU affinity: which CPUs a thread may run on. The load threads pin
//! themselves to [`crate::LoadSpec::cpus`], so a scenario can keep the
//! generator off the CPUs of the system it measures (`[load] pin`).

use anyhow::{Context, Result, bail};
use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;

/// The CPUs this thread may run on now, in order.
///
/// # Errors
/// The kernel refused to tell.
pub fn available_cpus() -> Result<Vec<usize>> {
    let set = sched_getaffinity(Pid::from_raw(0)).context("reading this thread's CPU affinity")?;
    Ok((0..CpuSet::count())
        .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
        .collect())
}

/// The set of `cpus`, built before a `fork` so that the child only has to
/// hand it to the kernel (nothing allocates between `fork` and `exec`).
///
/// # Errors
/// A CPU number past what the kernel's set can hold, or an empty list.
pub fn cpu_set(cpus: &[usize]) -> Result<CpuSet> {
    if cpus.is_empty() {
        bail!("no CPUs to pin to");
    }
    let mut set = CpuSet::new();
    for &cpu in cpus {
        set.set(cpu)
            .with_context(|| format!("CPU {cpu} is out of range"))?;
    }
    Ok(set)
}

/// Pins the calling thread (not its process) to `cpus`.
///
/// # Errors
/// The set is invalid or the kernel refused it (a CPU that is offline or
/// outside this process's cgroup).
pub fn pin_this_thread(cpus: &[usize]) -> Result<()> {
    let set = cpu_set(cpus)?;
    sched_setaffinity(Pid::from_raw(0), &set).with_context(|| format!("pinning a thread to CPUs {cpus:?}"))
}

/// `cpus` as the kernel writes CPU lists (`0-2,5`), to compare with
/// `Cpus_allowed_list`.
pub fn cpu_list(cpus: &[usize]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        while i + 1 < sorted.len() && sorted[i + 1] == sorted[i] + 1 {
            i += 1;
        }
        parts.push(match sorted[i] {
            end if end == start => start.to_string(),
            end => format!("{start}-{end}"),
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_the_kernel_writes_them() {
        assert_eq!(cpu_list(&[0]), "0");
        assert_eq!(cpu_list(&[3, 0, 1, 2, 5]), "0-3,5");
        assert_eq!(cpu_list(&[1, 3]), "1,3");
    }

    #[test]
    fn a_pinned_thread_runs_only_where_it_was_put() {
        let cpus = available_cpus().unwrap();
        let first = cpus[0];
        std::thread::spawn(move || {
            pin_this_thread(&[first]).unwrap();
            assert_eq!(available_cpus().unwrap(), vec![first]);
        })
        .join()
        .unwrap();
        // The process's other threads keep their set.
        assert_eq!(available_cpus().unwrap(), cpus);
        assert!(pin_this_thread(&[]).is_err());
    }
}
