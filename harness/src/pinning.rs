//! `[load] pin`: the load generator and the system under test on disjoint
//! CPU sets, so that a trial's figures do not include the two fighting over
//! a core (on two cores, the generator's thread and daprd's would otherwise
//! share both).
//!
//! The split gives the generator a quarter of the CPUs this process may use
//! (at least one) and the system under test the rest: daprd, the app and the
//! stores do several times the generator's work per request.

use std::os::unix::process::CommandExt;
use std::process::Command;

use anyhow::{Result, bail};
pub use blueprint_analysis::results::CpuSplit;

/// The split of `available` CPUs (see the module's text).
///
/// # Errors
/// Fewer than two CPUs: nothing to split.
pub fn split(available: &[usize]) -> Result<CpuSplit> {
    if available.len() < 2 {
        bail!(
            "[load] pin needs 2 or more CPUs and this process may use {} ({:?})",
            available.len(),
            available
        );
    }
    let load = (available.len() / 4).max(1);
    Ok(CpuSplit {
        load: available[..load].to_vec(),
        system_under_test: available[load..].to_vec(),
    })
}

/// The split of the CPUs this process may use now.
///
/// # Errors
/// See [`split`]; or the affinity cannot be read.
pub fn split_here() -> Result<CpuSplit> {
    split(&blueprint_load::affinity::available_cpus()?)
}

/// Starts `cmd`'s process on `cpus` only (every thread it starts inherits
/// them). Nothing happens for an empty list.
///
/// # Errors
/// A CPU number the kernel's set cannot hold.
pub fn run_on(cmd: &mut Command, cpus: &[usize]) -> Result<()> {
    if cpus.is_empty() {
        return Ok(());
    }
    let set = blueprint_load::affinity::cpu_set(cpus)?;
    // SAFETY: between fork and exec the child only hands a set built
    // beforehand to one system call; nothing allocates or locks.
    unsafe {
        cmd.pre_exec(move || {
            nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).map_err(std::io::Error::from)
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_gets_a_quarter_and_at_least_one() {
        let s = split(&[0, 1]).unwrap();
        assert_eq!((s.load, s.system_under_test), (vec![0], vec![1]));
        let s = split(&[0, 1, 2, 3, 4, 5, 6, 7]).unwrap();
        assert_eq!(
            (s.load, s.system_under_test),
            (vec![0, 1], vec![2, 3, 4, 5, 6, 7])
        );
        let s = split(&[2, 5, 7]).unwrap();
        assert_eq!((s.load, s.system_under_test), (vec![2], vec![5, 7]));
        assert!(split(&[3]).unwrap_err().to_string().contains("2 or more CPUs"));
    }

    #[test]
    fn a_child_started_on_a_set_runs_only_there() {
        let Ok(s) = split_here() else {
            return; // one CPU: `split` says so above
        };
        let mut cmd = Command::new("sleep");
        cmd.arg("5");
        run_on(&mut cmd, &s.system_under_test).unwrap();
        let mut child = cmd.spawn().unwrap();
        let allowed = crate::meter::cpus_allowed(child.id());
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(
            allowed.as_deref(),
            Some(blueprint_load::affinity::cpu_list(&s.system_under_test).as_str())
        );
    }
}
