//! Child processes the harness owns (daprd, redis, hosts): started with their
//! output captured to a log file, stopped with SIGTERM then SIGKILL when the
//! guard is dropped — on success, on error, and when Ctrl-C drops the run.
//!
//! Children get an explicit environment ([`child_environment`] plus what
//! the caller sets), never the whole of the user's shell.
//!
//! Every child also gets `PR_SET_PDEATHSIG(SIGKILL)`, so that even a harness
//! killed with SIGKILL leaves no orphan behind. The death signal fires when the
//! spawning *thread* ends, so children are spawned from the thread that runs
//! the harness's main future, never from a short-lived blocking thread.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long a child gets to exit after SIGTERM before it is killed.
const GRACE: Duration = Duration::from_secs(5);

/// What every child gets from the harness's own environment, when set. The
/// rest of the user's shell stays out: a `DAPR_API_TOKEN` or a proxy setting
/// there must not silently change what daprd or a host does.
/// (The library path is there for a WasmEdge installed outside the system's.)
const INHERITED: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "TZ",
    "TMPDIR",
    "LD_LIBRARY_PATH",
    "RUST_BACKTRACE",
    "BLUEPRINT_LOG",
    "BLUEPRINT_PROJECT_DIR",
    "BLUEPRINT_CACHE_DIR",
    "XDG_CACHE_HOME",
];

/// Test knobs the hosts honour (`runtimes/HOST.md`); passed on when set, and
/// recorded in the results so a slowed run cannot pass for a normal one.
pub const KNOBS: &[&str] = &[
    "BLUEPRINT_TEST_ADDED_LATENCY_US",
    "BLUEPRINT_TEST_ADDED_LATENCY_SPREAD_US",
    "BLUEPRINT_TEST_ADDED_WORK",
    "BLUEPRINT_TEST_FAIL_AFTER_MS",
];

/// Names a user adds to what children get: `BLUEPRINT_CHILD_ENV=NAME,NAME`.
pub const CHILD_ENV: &str = "BLUEPRINT_CHILD_ENV";

/// The variables children get from this process (name and value), in the
/// order above, then the user's names: what results record.
pub fn child_environment() -> Vec<(String, String)> {
    let extra = std::env::var(CHILD_ENV).unwrap_or_default();
    INHERITED
        .iter()
        .copied()
        .chain(KNOBS.iter().copied())
        .chain(extra.split(',').map(str::trim).filter(|n| !n.is_empty()))
        .filter_map(|name| std::env::var(name).ok().map(|v| (name.to_owned(), v)))
        .collect()
}

/// A running child process, stopped on drop.
#[derive(Debug)]
pub struct ChildGuard {
    name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl ChildGuard {
    /// Spawns `cmd` with stdout and stderr appended to `log`.
    ///
    /// # Errors
    /// The log file cannot be created or the program cannot be started.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Self> {
        let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        // An explicit environment: what the caller set, plus `child_environment`.
        let explicit: Vec<(std::ffi::OsString, Option<std::ffi::OsString>)> = cmd
            .get_envs()
            .map(|(k, v)| (k.to_owned(), v.map(std::ffi::OsStr::to_owned)))
            .collect();
        cmd.env_clear().envs(child_environment());
        for (key, value) in explicit {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        unsafe {
            cmd.pre_exec(|| nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from));
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {name} ({:?})", cmd.get_program()))?;
        tracing::debug!(name, pid = child.id(), log = %log.display(), "started");
        Ok(Self {
            name: name.to_owned(),
            child: Some(child),
            log: log.to_owned(),
        })
    }

    /// The child's process id (for /proc meters).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The name given at spawn.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where its output goes.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// `Some(status)` if the child has already exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// The last `n` lines of its log, for error messages.
    pub fn log_tail(&self, n: usize) -> String {
        tail(&self.log, n)
    }

    /// Stops the child: SIGTERM, up to [`GRACE`] to exit, then SIGKILL.
    /// Returns its exit status if it was still ours to reap.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        let pid = Pid::from_raw(child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                tracing::debug!(name = %self.name, %status, "stopped");
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        tracing::warn!(name = %self.name, "did not exit within {GRACE:?} of SIGTERM; killing it");
        let _ = child.kill();
        child.wait().ok()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether process `pid` holds the listening TCP socket on 127.0.0.1:`port`.
///
/// Readiness checks ask this before trusting an answer on a port: a port is
/// chosen free, released, then bound by the child, and in between anyone on
/// the machine may take it (another harness's daprd, with the same app id,
/// answers the same health check). Reads `/proc/net/tcp` for the socket's
/// inode and the child's `/proc/<pid>/fd` for a link to it.
pub fn owns_listener(pid: u32, port: u16) -> bool {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return false;
    };
    // local_address is hex IP:port in the kernel's byte order (127.0.0.1 is
    // 0100007F on little-endian machines); state 0A is LISTEN.
    let wanted = format!(":{port:04X}");
    let inodes: Vec<String> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            (cols.len() > 9 && cols[1].ends_with(&wanted) && cols[3] == "0A").then(|| cols[9].to_owned())
        })
        .collect();
    if inodes.is_empty() {
        return false;
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(|e| e.ok().and_then(|e| std::fs::read_link(e.path()).ok()))
        .filter_map(|target| {
            target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:[")?.strip_suffix(']').map(str::to_owned))
        })
        .any(|inode| inodes.contains(&inode))
}

/// The last `n` lines of a text file ("" if unreadable).
pub fn tail(path: &Path, n: usize) -> String {
    let Ok(file) = File::open(path) else {
        return String::new();
    };
    let lines: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs a tool (a compiler, a build) to its end with its output captured.
///
/// # Errors
/// The tool cannot start, or fails: `what` and the tool's own output.
pub(crate) fn run_to_end(cmd: &mut Command, what: &str) -> Result<std::process::Output> {
    let output = cmd.output().with_context(|| format!("running {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_is_told_apart_from_a_strangers() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(owns_listener(std::process::id(), port));
        // pid 1 does not hold our socket.
        assert!(!owns_listener(1, port));
        drop(listener);
        assert!(!owns_listener(std::process::id(), port));
    }

    #[test]
    fn children_do_not_inherit_the_shell() {
        // SAFETY: tests in this module do not read these variables concurrently.
        unsafe {
            std::env::set_var("DAPR_API_TOKEN", "from-the-users-shell");
            std::env::set_var(CHILD_ENV, "BLUEPRINT_PROBE_VAR");
            std::env::set_var("BLUEPRINT_PROBE_VAR", "named");
        }
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("env.log");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "env"]).env("SET_BY_CALLER", "1");
        let mut child = ChildGuard::spawn("env", cmd, &log).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.exited().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let env = std::fs::read_to_string(&log).unwrap();
        assert!(!env.contains("DAPR_API_TOKEN"), "{env}");
        assert!(env.contains("SET_BY_CALLER=1"), "{env}");
        assert!(env.contains("BLUEPRINT_PROBE_VAR=named"), "{env}");
        assert!(env.contains("PATH="), "{env}");
    }
}
