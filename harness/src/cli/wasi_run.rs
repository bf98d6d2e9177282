//! `blueprint-bench wasi-run`: one WASI preview 1 command module on any
//! runtime, with arguments, environment, preopened directories and this
//! process's stdio, exiting with the guest's exit code. It is how every
//! runtime's WASI is checked the same way (`harness/tests/wasi_run.rs`).
//!
//! The Rust adapters run the module in this process through
//! [`CommandRunner`]; wazero runs it in its Go host's `wasi-run`
//! subcommand, which this execs with the same flags and whose exit code it
//! passes on. Exit codes: the guest's own, else
//! [`EXIT_TRAP`](blueprint_runtime_api::command::EXIT_TRAP) (134, a trap),
//! [`EXIT_TIMEOUT`](blueprint_runtime_api::command::EXIT_TIMEOUT) (124, past
//! the time limit) or [`EXIT_SETUP`](blueprint_runtime_api::command::EXIT_SETUP)
//! (125, the module could not be run), with one line on stderr.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use blueprint_runtime_api::command::EXIT_SETUP;
use blueprint_runtime_api::{Limits, PreopenDir, RuntimeConfig, WasiCommand};

use crate::{go_host, paths};
use blueprint_host::table::{self as runtimes, Availability, HostKind};

/// `wasi-run`.
#[derive(Debug, clap::Args)]
pub struct WasiRunArgs {
    /// The runtime (`blueprint-bench list` names them).
    #[arg(long)]
    pub runtime: String,
    /// A host directory to preopen, read and write: `HOST::GUEST`, or `DIR`
    /// for the same path in both (repeatable; fds 3, 4, … in order).
    #[arg(long = "dir", value_name = "HOST::GUEST", value_parser = parse_dir)]
    pub dirs: Vec<PreopenDir>,
    /// An environment variable for the guest, `KEY=VALUE` (repeatable; the
    /// guest gets only these).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// Largest guest linear memory, in 64 KiB pages.
    #[arg(long, default_value_t = Limits::default().max_memory_pages)]
    pub max_memory_pages: u32,
    /// Time limit of the whole run, in milliseconds.
    #[arg(long, default_value_t = Limits::default().call_timeout.as_millis() as u64)]
    pub timeout_ms: u64,
    /// The command module (`.wasm` exporting `_start`).
    pub module: PathBuf,
    /// Arguments after the program name (`argv[0]` is the module path as given).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

fn parse_dir(value: &str) -> Result<PreopenDir, String> {
    let (host, guest) = value.split_once("::").unwrap_or((value, value));
    if host.is_empty() || guest.is_empty() {
        return Err(format!("want HOST::GUEST or DIR, got `{value}`"));
    }
    let host = PathBuf::from(host);
    if !host.is_dir() {
        return Err(format!("{} is not a directory", host.display()));
    }
    Ok(PreopenDir {
        host,
        guest: guest.to_owned(),
    })
}

fn parse_env(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("want KEY=VALUE, got `{value}`")),
    }
}

/// Runs the command; the returned code is the process exit code.
///
/// # Errors
/// An unknown or unavailable runtime, or a module that cannot be read.
pub fn execute(args: WasiRunArgs) -> Result<i32> {
    let entry = runtimes::entry(&args.runtime)?;
    if let Availability::Unavailable { reason, fix } = &entry.availability {
        bail!("runtime `{}` is unavailable: {reason} (fix: {fix})", args.runtime);
    }
    if args.max_memory_pages == 0 || args.max_memory_pages > 65536 {
        bail!(
            "--max-memory-pages {} must be within 1..=65536",
            args.max_memory_pages
        );
    }
    if args.timeout_ms == 0 {
        bail!("--timeout-ms must be positive");
    }
    match entry.host {
        HostKind::GoHost => run_in_go_host(&args),
        HostKind::InProcess => run_in_process(args),
        HostKind::WasmtimeServe => bail!(
            "runtime `{}` serves wasi:http components, not WASI commands; use --runtime wasmtime",
            args.runtime
        ),
    }
}

fn run_in_process(args: WasiRunArgs) -> Result<i32> {
    let wasm = std::fs::read(&args.module).with_context(|| format!("reading {}", args.module.display()))?;
    let config = RuntimeConfig {
        limits: Limits {
            max_memory_pages: args.max_memory_pages,
            call_timeout: Duration::from_millis(args.timeout_ms),
        },
        ..RuntimeConfig::default()
    };
    let runner = runtimes::command_runner(&args.runtime, &config)?;
    if runtimes::entry(&args.runtime)?.family == "wasmer" && !cfg!(feature = "wasmer-wasix") {
        // Its WASI is ours, not wasmer-wasix: a pass or fail here is this
        // project's (results/README.md, "`wasmer-wasix` for `wasi-run`").
        eprintln!(
            "note: {}: WASI here is the {} (runtimes/wasmer/src/command.rs), not Wasmer's wasmer-wasix \
             (build with `--features wasmer-wasix` for Wasmer's own)",
            args.runtime,
            blueprint_runtime_wasmer::COMMAND_WASI
        );
    }
    let mut argv = vec![args.module.display().to_string()];
    argv.extend(args.args);
    let command = WasiCommand {
        args: argv,
        env: args.env,
        dirs: args.dirs,
    };
    // Its own thread, outside the async runtime: WASI implementations that
    // block on stdin (or start a runtime of their own) must not run on one
    // of its workers.
    let name = args.runtime.clone();
    let outcome = std::thread::Builder::new()
        .name("wasi-run".into())
        .spawn(move || runner.run_command(&wasm, &command))
        .context("starting the wasi-run thread")?
        .join()
        .map_err(|_| anyhow::anyhow!("{name}: the runtime panicked"))?;
    match outcome {
        Ok(code) => Ok(code),
        Err(err) => {
            eprintln!("error: {name}: {err}");
            Ok(err.exit_code())
        }
    }
}

/// Execs the wazero host's `wasi-run` with the same flags (stdio inherited)
/// and passes its exit code on.
fn run_in_go_host(args: &WasiRunArgs) -> Result<i32> {
    let host = go_host::build(&paths::project_dir(), &paths::cache_dir())?;
    let mut cmd = Command::new(&host);
    cmd.arg("wasi-run")
        .arg(format!("--max-memory-pages={}", args.max_memory_pages))
        .arg(format!("--call-timeout-ms={}", args.timeout_ms));
    for dir in &args.dirs {
        cmd.arg(format!("--dir={}::{}", dir.host.display(), dir.guest));
    }
    for (key, value) in &args.env {
        cmd.arg(format!("--env={key}={value}"));
    }
    cmd.arg(&args.module).args(&args.args);
    let status = cmd
        .status()
        .with_context(|| format!("running {}", host.display()))?;
    if let Some(code) = status.code() {
        return Ok(code);
    }
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(signal) => Ok(128 + signal),
        None => Ok(EXIT_SETUP),
    }
}
