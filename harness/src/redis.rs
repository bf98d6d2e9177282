//! The realistic state store: Debian's `redis-server`, started by the harness
//! on a free loopback port with persistence off in a temporary folder, and
//! stopped with the cell (`[dapr] state_store = "redis"`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::process::ChildGuard;
use blueprint_load::net::free_ports;

/// How to get redis-server where it is missing.
pub const INSTALL_HINT: &str = "install it with `apt-get install redis-server` (Debian/Ubuntu)";

/// A running redis-server.
#[derive(Debug)]
pub struct Redis {
    child: ChildGuard,
    /// Its loopback port.
    pub port: u16,
}

/// The `redis-server` on `PATH`.
///
/// # Errors
/// Not installed (with the install hint).
pub fn find() -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .chain([
            PathBuf::from("/usr/bin/redis-server"),
            PathBuf::from("/usr/sbin/redis-server"),
        ])
        .find(|p| p.is_file())
        .with_context(|| {
            format!("the redis state store needs redis-server, which is not installed: {INSTALL_HINT}")
        })
}

impl Redis {
    /// Starts redis-server with its data folder and log in `dir` and waits
    /// until it answers `PING`.
    ///
    /// # Errors
    /// redis-server missing, exiting, or not answering within 10 s. `cpus`
    /// pins it (`[load] pin`); empty for any.
    pub fn start(dir: &Path, cpus: &[usize]) -> Result<Self> {
        let program = find()?;
        let port = free_ports(1)?[0];
        let data = dir.join("redis");
        std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
        let mut cmd = Command::new(program);
        cmd.args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--protected-mode",
            "yes",
        ])
        // No persistence: the figures are Dapr's and the store's request
        // path, not fsync; nothing survives the cell.
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .arg("--dir")
        .arg(&data);
        crate::pinning::run_on(&mut cmd, cpus)?;
        let mut child = ChildGuard::spawn("redis", cmd, &dir.join("redis.log"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.exited() {
                bail!(
                    "redis-server exited during start-up ({status}):\n{}",
                    child.log_tail(10)
                );
            }
            // Only our redis-server's answer counts (see `owns_listener`).
            if crate::process::owns_listener(child.pid(), port) && ping(port).is_ok() {
                return Ok(Self { child, port });
            }
            if Instant::now() >= deadline {
                bail!(
                    "redis-server (pid {}) was not listening on port {port} and answering PING within 10 s:\n{}",
                    child.pid(),
                    child.log_tail(10)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Its process id (for meters).
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// Stops it (also done on drop).
    pub fn stop(mut self) {
        self.child.stop();
    }
}

/// One `PING` in RESP, answered `+PONG`.
fn ping(port: u16) -> Result<()> {
    let mut stream = TcpStream::connect_timeout(
        &(blueprint_load::net::LOOPBACK, port).into(),
        Duration::from_millis(200),
    )?;
    stream.set_read_timeout(Some(Duration::from_millis(500)))?;
    stream.write_all(b"PING\r\n")?;
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply)?;
    if &reply != b"+PONG\r\n" {
        bail!("unexpected reply {:?}", String::from_utf8_lossy(&reply));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_server_answers_and_is_gone_after_stop() {
        if find().is_err() {
            // The integration suite (`.ci/run` installs redis-server) covers it;
            // here a missing binary must at least be reported with the fix.
            assert!(
                find()
                    .unwrap_err()
                    .to_string()
                    .contains("apt-get install redis-server")
            );
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let redis = Redis::start(dir.path(), &[]).unwrap();
        let port = redis.port;
        ping(port).unwrap();
        redis.stop();
        assert!(ping(port).is_err());
    }
}
