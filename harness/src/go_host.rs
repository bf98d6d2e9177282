//! The wazero host is a Go program (`runtimes/wazero/`): wazero has no Rust
//! bindings. The harness builds it on first use into the cache, keyed by a
//! hash of its sources, and starts it exactly like the Rust host.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::progress;

pub use blueprint_host::table::{go_available, wazero_source_dir as source_dir, wazero_version};

/// `go` run in `dir` with the harness's own module and build caches (under
/// `cache`, so they are kept and cleaned with the rest) and the local
/// toolchain only (no toolchain downloads).
pub fn go_command(cache: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new("go");
    cmd.current_dir(dir)
        .env("GOMODCACHE", cache.join("go/mod"))
        .env("GOCACHE", cache.join("go/build"))
        .env("GOFLAGS", "-modcacherw")
        .env("GOTOOLCHAIN", "local");
    cmd
}

fn source_key(dir: &Path) -> Result<String> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            (name.ends_with(".go") && !name.ends_with("_test.go")) || name == "go.mod" || name == "go.sum"
        })
        .collect();
    files.sort();
    let mut hash = Sha256::new();
    for file in files {
        hash.update(file.file_name().unwrap_or_default().as_encoded_bytes());
        hash.update(fs::read(&file)?);
    }
    Ok(hex::encode(&hash.finalize()[..8]))
}

static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// Builds (or reuses) the wazero host and returns the binary.
///
/// # Errors
/// No Go toolchain (with the fix), or a compile error with Go's output.
pub fn build(project: &Path, cache: &Path) -> Result<PathBuf> {
    let src = source_dir(project);
    let out = cache.join("hosts").join(format!("wazero-{}", source_key(&src)?));
    let bin = out.join("wazero-host");
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if bin.is_file() {
        return Ok(bin);
    }
    // Another harness process may be building the same host: one builds,
    // the other waits and reuses it.
    fs::create_dir_all(&out)?;
    let lock = fs::File::create(out.join(".lock"))?;
    let _flock = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .context("locking the wazero host build folder")?;
    if bin.is_file() {
        return Ok(bin);
    }
    if !go_available() {
        bail!("the wazero host needs Go to build: install Go 1.26+ (Debian: `apt-get install golang`)");
    }
    let bar = progress::spinner("building the wazero host (Go, first run only)");
    let tmp = out.join(format!("wazero-host.{}.tmp", std::process::id()));
    let mut cmd = go_command(cache, &src);
    cmd.args(["build", "-trimpath", "-o"]).arg(&tmp).arg(".");
    let built = crate::process::run_to_end(&mut cmd, "go build of the wazero host");
    bar.finish_and_clear();
    built?;
    fs::rename(&tmp, &bin)?;
    Ok(bin)
}
