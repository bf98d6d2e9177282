//! `wasmtime serve`, Wasmtime's own `wasi:http` server, as the app of the
//! `standalone-wasi-http` cells on runtime `wasmtime-serve`: the
//! `wasmtime-cli` crate from crates.io, built on first use into the cache
//! with `cargo install --locked` and reused after.
//!
//! The version is [`VERSION`], 47.0.4, one release before the Wasmtime this
//! binary links (48.0.0): Wasmtime 48's `wasi:http` sends outgoing requests
//! without a `Host` header (47 set it from the request's authority, and the
//! guest may not set `host` itself), and daprd's Go HTTP server answers such
//! an HTTP/1.1 request `400`, so under `wasmtime serve` 48 no component can
//! call Dapr. 47.0.4 is the newest release without that fault; results
//! record the version each server ran.
//!
//! Only the features `serve` needs are built (`run`, `serve` and
//! `component-model-async`, which `serve` uses without declaring it; the
//! engine features of its defaults: Cranelift, the pooling allocator,
//! parallel compilation, the code cache, `wat`): the defaults add wasi-nn,
//! the wast runner and more, minutes of build for nothing measured.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::progress;

/// The `wasmtime-cli` version built (see the module's text for why not 48).
pub use blueprint_host::table::WASMTIME_SERVE_VERSION as VERSION;

/// The `wasmtime-cli` version built.
pub fn version() -> &'static str {
    VERSION
}

/// The cargo features it is built with.
pub const FEATURES: &str =
    "run,serve,component-model-async,cranelift,cache,parallel-compilation,pooling-allocator,wat";

/// Where the built `wasmtime` lives: `<cache>/tools/wasmtime-cli-<version>/bin/wasmtime`.
pub fn binary(cache: &Path) -> PathBuf {
    install_root(cache).join("bin/wasmtime")
}

fn install_root(cache: &Path) -> PathBuf {
    cache.join("tools").join(format!("wasmtime-cli-{}", version()))
}

/// Builds (or reuses) `wasmtime` and returns its path.
///
/// # Errors
/// Cargo fails (no network to crates.io, a compile error), with its output.
pub fn build(cache: &Path) -> Result<PathBuf> {
    let bin = binary(cache);
    if bin.is_file() {
        return Ok(bin);
    }
    let tools = cache.join("tools");
    fs::create_dir_all(&tools).with_context(|| format!("creating {}", tools.display()))?;
    // Another harness process may be building it: one builds, the other
    // waits and reuses it.
    let lock = fs::File::create(tools.join(".wasmtime-cli.lock"))?;
    let _flock = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .context("locking the wasmtime-cli build")?;
    if bin.is_file() {
        return Ok(bin);
    }
    let root = install_root(cache);
    let partial = root.with_extension("partial");
    if partial.exists() {
        fs::remove_dir_all(&partial).with_context(|| format!("clearing {}", partial.display()))?;
    }
    let bar = progress::spinner(format!(
        "building wasmtime-cli {} for `wasmtime serve` (cargo install, first run only: several minutes)",
        version()
    ));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "install",
        "--locked",
        "--no-default-features",
        "--features",
        FEATURES,
    ])
    .arg(format!("wasmtime-cli@{}", version()))
    .arg("--root")
    .arg(&partial)
    .arg("--target-dir")
    .arg(tools.join("wasmtime-cli-target"))
    // The host build's flags and target folder are not this build's.
    .env_remove("RUSTFLAGS")
    .env_remove("CARGO_ENCODED_RUSTFLAGS")
    .env_remove("CARGO_TARGET_DIR");
    let built = crate::process::run_to_end(&mut cmd, "cargo install wasmtime-cli");
    bar.finish_and_clear();
    built?;
    if root.exists() {
        fs::remove_dir_all(&root).with_context(|| format!("clearing {}", root.display()))?;
    }
    fs::rename(&partial, &root).with_context(|| format!("moving wasmtime-cli into {}", root.display()))?;
    // Only the binary is kept; its build folder is large.
    let _ = fs::remove_dir_all(tools.join("wasmtime-cli-target"));
    Ok(bin)
}

/// The `wasmtime serve` command for `component` on `port`: WASI's command
/// interfaces on (`-S cli`, as our host gives them, for the environment a
/// Dapr app reads), the variables named in `env` passed on from its own
/// environment (`--env NAME` without a value: a token stays out of the
/// process list), and the engine's defaults otherwise (Cranelift, the
/// pooling allocator where the machine allows it, a fresh instance per
/// request for WASIp2).
pub fn serve_command(wasmtime: &Path, port: u16, component: &Path, env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(wasmtime);
    cmd.arg("serve")
        .arg("--addr")
        .arg(format!("127.0.0.1:{port}"))
        .arg("-Scli");
    for (name, value) in env {
        cmd.arg("--env").arg(name).env(name, value);
    }
    cmd.arg(component);
    cmd
}
