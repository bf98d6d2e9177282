//! Finding the real daprd, or building it from the official Go module.
//!
//! Order: `--daprd PATH` / `$DAPRD`, then `~/.dapr/bin/daprd` (what `dapr
//! init` installs), then a daprd built from `dapr/` (the wrapper module that
//! registers exactly the components the harness uses) into the cache.
//!
//! The build is keyed by a hash of the wrapper's sources, so a changed pin
//! rebuilds and an unchanged one is reused. It runs `go build` on a private
//! copy of the `github.com/dapr/dapr` module in which
//! `cmd/daprd/components/zz_notag.go` — whose only job is to panic when no
//! component build tag is set — is blanked. Upstream selects components with
//! the `allcomponents`/`stablecomponents` tags, which compile every cloud SDK;
//! building without them keeps a cold build to a few minutes. (`go build
//! -overlay` would be the natural tool, but it refuses files in the module
//! cache.)

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use nix::fcntl::{Flock, FlockArg};
use sha2::{Digest, Sha256};

use crate::paths;
use crate::progress;

pub use blueprint_analysis::results::Daprd;

/// Finds or builds daprd. `explicit` is `--daprd` (clap also fills it from
/// `$DAPRD`).
///
/// # Errors
/// An explicit path that does not run, or a failed build (with the tail of
/// the Go build log and what to install).
pub fn resolve(explicit: Option<&Path>) -> Result<Daprd> {
    if let Some(path) = explicit {
        return describe(path, "flag");
    }
    if let Some(home) = std::env::var_os("HOME") {
        let installed = PathBuf::from(home).join(".dapr/bin/daprd");
        if installed.is_file() {
            return describe(&installed, "dapr-init");
        }
    }
    let path = build(&paths::project_dir().join("dapr"), &paths::cache_dir())?;
    describe(&path, "built")
}

/// What `resolve` would do, found out in milliseconds: nothing is built.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Plan {
    /// A daprd that runs (given, installed by `dapr init`, or built before).
    Ready(Daprd),
    /// To be built from `dapr/` (Go is here).
    Build {
        /// The pinned Dapr version.
        version: String,
    },
    /// Neither found nor buildable: every cell needs it, so nothing can run.
    Missing {
        /// Why.
        reason: String,
        /// What to do.
        fix: String,
    },
}

/// Finds daprd without building it.
pub fn plan(explicit: Option<&Path>) -> Plan {
    if let Some(path) = explicit {
        return match describe(path, "flag") {
            Ok(d) => Plan::Ready(d),
            Err(err) => Plan::Missing {
                reason: format!("{err:#}"),
                fix: "point --daprd / $DAPRD at a daprd that runs, or unset it to build one".into(),
            },
        };
    }
    if let Some(home) = std::env::var_os("HOME") {
        let installed = PathBuf::from(home).join(".dapr/bin/daprd");
        if installed.is_file()
            && let Ok(d) = describe(&installed, "dapr-init")
        {
            return Plan::Ready(d);
        }
    }
    let wrapper = paths::project_dir().join("dapr");
    let version = pinned_version(&wrapper).unwrap_or_else(|_| "?".into());
    if let Ok(bin) = built_path(&wrapper, &paths::cache_dir())
        && bin.is_file()
        && let Ok(d) = describe(&bin, "built")
    {
        return Plan::Ready(d);
    }
    if crate::go_host::go_available() {
        Plan::Build { version }
    } else {
        Plan::Missing {
            reason: "daprd is not installed and Go is not available to build it".into(),
            fix: "install Go 1.26+ (Debian: `apt-get install golang`), or point --daprd / $DAPRD at a \
                  daprd binary (`dapr init` installs one in ~/.dapr/bin)"
                .into(),
        }
    }
}

/// Where the build of `wrapper` goes in `cache` (whether or not it is there).
fn built_path(wrapper: &Path, cache: &Path) -> Result<PathBuf> {
    let version = pinned_version(wrapper)?;
    Ok(cache
        .join("daprd")
        .join(format!("{version}-{}", source_key(wrapper)?))
        .join("daprd"))
}

fn describe(path: &Path, source: &str) -> Result<Daprd> {
    let out = Command::new(path)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", path.display()))?;
    if !out.status.success() {
        bail!(
            "{} --version failed: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(Daprd {
        path: path.to_owned(),
        version: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        source: source.to_owned(),
    })
}

/// The dapr version the wrapper module pins (from its `go.mod`).
///
/// # Errors
/// `go.mod` unreadable or without a `github.com/dapr/dapr` requirement.
pub fn pinned_version(wrapper: &Path) -> Result<String> {
    let go_mod = fs::read_to_string(wrapper.join("go.mod"))
        .with_context(|| format!("reading {}", wrapper.join("go.mod").display()))?;
    go_mod
        .lines()
        .filter_map(|l| l.trim().strip_prefix("github.com/dapr/dapr "))
        .map(|v| v.split_whitespace().next().unwrap_or_default().to_owned())
        .next()
        .context("dapr/go.mod does not require github.com/dapr/dapr")
}

fn source_key(wrapper: &Path) -> Result<String> {
    let mut hash = Sha256::new();
    for name in ["go.mod", "go.sum", "main.go"] {
        let bytes = fs::read(wrapper.join(name))
            .with_context(|| format!("reading {}", wrapper.join(name).display()))?;
        hash.update(name.as_bytes());
        hash.update(&bytes);
    }
    Ok(hex::encode(&hash.finalize()[..8]))
}

/// Serialises builds within this process; a file lock does across processes.
static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// Builds daprd from the wrapper module unless the cache has it.
///
/// # Errors
/// Go missing, a module download or compile failure.
pub fn build(wrapper: &Path, cache: &Path) -> Result<PathBuf> {
    let version = pinned_version(wrapper)?;
    let bin = built_path(wrapper, cache)?;
    let out_dir = bin.parent().context("daprd build folder")?.to_owned();
    if bin.is_file() {
        return Ok(bin);
    }
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let lock = File::create(out_dir.join(".lock"))?;
    let _flock = Flock::lock(lock, FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .context("locking the daprd build folder")?;
    if bin.is_file() {
        return Ok(bin); // another process built it while we waited
    }
    which_go()?;
    let bar = progress::spinner(format!(
        "building daprd {version} from github.com/dapr/dapr (first run only; a few minutes)"
    ));
    let started = Instant::now();
    let log = out_dir.join("build.log");
    let result = build_into(wrapper, cache, &out_dir, &bin, &version, &log);
    bar.finish_and_clear();
    match result {
        Ok(()) => {
            let size = fs::metadata(&bin).map(|m| m.len()).unwrap_or(0);
            tracing::info!(
                "built daprd {version} in {:.0?} ({:.1} MB) at {}",
                started.elapsed(),
                size as f64 / 1e6,
                bin.display()
            );
            Ok(bin)
        }
        Err(err) => Err(err.context(format!(
            "building daprd failed; Go's output is in {}:\n{}",
            log.display(),
            crate::process::tail(&log, 15)
        ))),
    }
}

fn which_go() -> Result<()> {
    if !crate::go_host::go_available() {
        bail!(
            "daprd is not installed and Go is not available to build it. Install Go \
             (Debian: `apt-get install golang`, or https://go.dev/dl) or point --daprd / \
             $DAPRD at a daprd binary (`dapr init` installs one in ~/.dapr/bin)"
        );
    }
    Ok(())
}

fn go(cache: &Path, dir: &Path, log: &Path) -> Result<Command> {
    let mut cmd = crate::go_host::go_command(cache, dir);
    cmd.stdout(File::options().create(true).append(true).open(log)?)
        .stderr(File::options().create(true).append(true).open(log)?);
    Ok(cmd)
}

fn run(mut cmd: Command, what: &str) -> Result<()> {
    let status = cmd.status().with_context(|| format!("starting {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

fn build_into(
    wrapper: &Path,
    cache: &Path,
    out_dir: &Path,
    bin: &Path,
    version: &str,
    log: &Path,
) -> Result<()> {
    fs::write(log, b"")?;
    // 1. The official module, through the Go module proxy (verified by go.sum).
    let mut download = go(cache, wrapper, log)?;
    download
        .args(["mod", "download", "-json", "github.com/dapr/dapr"])
        .stdout(std::process::Stdio::piped());
    let out = download.output().context("running go mod download")?;
    if !out.status.success() {
        bail!("go mod download github.com/dapr/dapr failed");
    }
    #[derive(serde::Deserialize)]
    struct Downloaded {
        #[serde(rename = "Dir")]
        dir: PathBuf,
    }
    let module_dir = serde_json::from_slice::<Downloaded>(&out.stdout)
        .context("reading go mod download's JSON")?
        .dir;

    // 2. A private, writable copy with the component-tag guard blanked.
    let work = out_dir.join("work");
    let src = work.join("dapr");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work)?;
    run(
        {
            let mut cp = Command::new("cp");
            cp.arg("-R").arg(&module_dir).arg(&src);
            cp
        },
        "copying the dapr module",
    )?;
    run(
        {
            let mut chmod = Command::new("chmod");
            chmod.arg("-R").arg("u+w").arg(&src);
            chmod
        },
        "making the copy writable",
    )?;
    fs::write(
        src.join("cmd/daprd/components/zz_notag.go"),
        "// Blanked by blueprint-bench: components are registered by its wrapper.\npackage components\n",
    )?;

    // 3. The wrapper's go.mod pointing at the copy.
    let mut build_mod = fs::read_to_string(wrapper.join("go.mod"))?;
    build_mod.push_str(&format!("\nreplace github.com/dapr/dapr => {}\n", src.display()));
    fs::write(work.join("build.mod"), build_mod)?;
    fs::copy(wrapper.join("go.sum"), work.join("build.sum"))?;

    // 4. Build, then move into place atomically.
    let tmp = out_dir.join("daprd.tmp");
    let mut build = go(cache, wrapper, log)?;
    build
        .args(["build", "-mod=mod", "-trimpath"])
        .arg(format!("-modfile={}", work.join("build.mod").display()))
        .arg(format!(
            "-ldflags=-s -w -X github.com/dapr/dapr/pkg/buildinfo.version={}",
            version.trim_start_matches('v')
        ))
        .arg("-o")
        .arg(&tmp)
        .arg(".");
    run(build, "go build")?;
    fs::rename(&tmp, bin)?;
    let _ = fs::remove_dir_all(&work);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_pinned_version() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("go.mod"),
            "module x\n\nrequire (\n\tgithub.com/dapr/components-contrib v1.18.3\n\tgithub.com/dapr/dapr v1.18.2\n)\n",
        )
        .unwrap();
        assert_eq!(pinned_version(dir.path()).unwrap(), "v1.18.2");
        fs::write(dir.path().join("go.mod"), "module x\n").unwrap();
        assert!(pinned_version(dir.path()).is_err());
    }
}
