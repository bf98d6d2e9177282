//! The environment fingerprint stored with every run: enough to tell whether
//! two result files are comparable.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use blueprint_analysis::results::Environment;

/// Reads CPU, cores, memory, kernel and the checkout's git revision.
pub fn fingerprint(project: &Path) -> Environment {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_bytes = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024);
    let kernel = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    Environment {
        cpu,
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        memory_bytes,
        kernel,
        harness_version: env!("CARGO_PKG_VERSION").to_owned(),
        git_revision: git_revision(project),
        daprd: None,
        runtimes: BTreeMap::new(),
        child_environment: BTreeMap::new(),
        app_environment: BTreeMap::new(),
        pinning: None,
    }
}

fn git_revision(project: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(project)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(rev) => {
            let dirty =
                git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
            if dirty { format!("{rev}-dirty") } else { rev }
        }
        None => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fingerprint_reads_this_machine() {
        let env = super::fingerprint(&crate::paths::project_dir());
        assert!(env.cores >= 1);
        assert!(env.memory_bytes > 0);
        assert!(!env.kernel.is_empty());
    }
}
