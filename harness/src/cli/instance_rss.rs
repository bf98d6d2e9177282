//! `blueprint-bench instance-rss` (hidden; `harness/benches/instance_rss.rs`
//! runs it): how much a host process's resident memory grows per live guest
//! instance.
//!
//! In one fresh process: compile the module, run one instance through a
//! request (so lazily created runtime state exists before the baseline),
//! read the resident set size (`/proc/self/statm`), then create `N` more
//! instances, give each one request (`handle(b"")`, so each has touched what
//! a served request touches) and keep them all alive, and read it again.
//! The growth divided by `N` is the figure. The wazero host does the same in
//! Go (`wazero-host instance-rss`), which this execs for `--runtime wazero`.
//!
//! A `wasi:http/proxy` component (`--runtime wasmtime` only: our host's
//! `wasi:http` server, with `embedded`'s engine settings) is measured the
//! same way: each instance serves one `GET /` and is kept alive after its
//! answer, with the store that holds its memories and tables.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use blueprint_runtime_api::{DaprHost, Limits, NoDapr, RuntimeConfig};
use blueprint_runtime_wasmtime::proxy::{self, ProxyRuntime};
use serde::{Deserialize, Serialize};

use crate::{go_host, paths};
use blueprint_host::table::{self as runtimes, Availability, HostKind};

/// `instance-rss`.
#[derive(Debug, clap::Args)]
pub struct InstanceRssArgs {
    /// The runtime.
    #[arg(long)]
    pub runtime: String,
    /// The guest module (guest ABI v1), e.g. a built `noop.wasm`.
    #[arg(long)]
    pub module: PathBuf,
    /// Live instances to create after the baseline.
    #[arg(long, default_value_t = 100)]
    pub instances: u32,
}

/// What one measurement found; printed as one JSON line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceRss {
    /// Runtime name.
    pub runtime: String,
    /// Module path.
    pub module: String,
    /// Live instances created after the baseline.
    pub instances: u32,
    /// Resident set size with the module compiled and one instance used, KiB.
    pub rss_before_kib: u64,
    /// Resident set size with `instances` more instances alive, KiB.
    pub rss_after_kib: u64,
    /// `(after - before) / instances`, KiB.
    pub per_instance_kib: f64,
}

impl InstanceRss {
    fn new(runtime: &str, module: String, instances: u32, before: u64, after: u64) -> Self {
        Self {
            runtime: runtime.to_owned(),
            module,
            instances,
            rss_before_kib: before,
            rss_after_kib: after,
            per_instance_kib: after.saturating_sub(before) as f64 / f64::from(instances.max(1)),
        }
    }
}

/// This process's resident set size in KiB (`/proc/self/statm`, field 2, in pages).
///
/// # Errors
/// `/proc` unreadable (not Linux).
pub fn current_rss_kib() -> Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").context("reading /proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .context("parsing /proc/self/statm")?;
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|p| u64::try_from(p).ok())
        .unwrap_or(4096);
    Ok(pages * page / 1024)
}

/// Measures and prints one JSON line; the exit code is 0.
///
/// # Errors
/// Unknown or unavailable runtime, a module that does not compile or
/// instantiate, or the wazero host failing.
pub async fn execute(args: InstanceRssArgs) -> Result<i32> {
    if args.instances == 0 {
        bail!("--instances must be positive");
    }
    let entry = runtimes::entry(&args.runtime)?;
    if let Availability::Unavailable { reason, fix } = &entry.availability {
        bail!("runtime `{}` is unavailable: {reason} (fix: {fix})", args.runtime);
    }
    if entry.host == HostKind::WasmtimeServe {
        bail!(
            "runtime `{}` is `wasmtime serve`, a server of wasi:http components; measure `wasmtime` instead",
            args.runtime
        );
    }
    if entry.host == HostKind::GoHost {
        let host = go_host::build(&paths::project_dir(), &paths::cache_dir())?;
        let status = Command::new(&host)
            .arg("instance-rss")
            .arg(format!("--module={}", args.module.display()))
            .arg(format!("--instances={}", args.instances))
            .status()
            .with_context(|| format!("running {}", host.display()))?;
        return Ok(status.code().unwrap_or(1));
    }
    let wasm = std::fs::read(&args.module).with_context(|| format!("reading {}", args.module.display()))?;
    if proxy::is_component(&wasm) {
        return components(&args, &wasm).await;
    }
    let runtime = runtimes::create(&args.runtime, &RuntimeConfig::default())?;
    let module = runtime.compile(&wasm)?;
    let host: Arc<dyn DaprHost> = Arc::new(NoDapr);
    let serve_one = || -> Result<_> {
        let mut instance = module.instantiate(host.clone())?;
        instance.handle(b"")?;
        Ok(instance)
    };
    let warm = serve_one()?;
    let before = current_rss_kib()?;
    let live = (0..args.instances)
        .map(|_| serve_one())
        .collect::<Result<Vec<_>>>()
        .with_context(|| format!("keeping {} instances alive", args.instances))?;
    let after = current_rss_kib()?;
    drop((live, warm));
    print_report(&args, before, after)
}

/// Prints the measurement as one JSON line; the exit code is 0.
fn print_report(args: &InstanceRssArgs, before: u64, after: u64) -> Result<i32> {
    let report = InstanceRss::new(
        &args.runtime,
        args.module.display().to_string(),
        args.instances,
        before,
        after,
    );
    println!("{}", serde_json::to_string(&report)?);
    Ok(0)
}

/// [`execute`] for a `wasi:http/proxy` component on our host's server.
async fn components(args: &InstanceRssArgs, wasm: &[u8]) -> Result<i32> {
    if args.runtime != blueprint_runtime_wasmtime::NAME {
        bail!(
            "`{}` is a wasi:http component, which this host serves on `{}` only",
            args.module.display(),
            blueprint_runtime_wasmtime::NAME
        );
    }
    let server = ProxyRuntime::new(&Limits::default())?;
    // No environment and no daprd: instances serve a request that needs neither.
    let component = server.compile(wasm, Vec::new(), None)?;
    let serve_one = || async {
        let (parts, ()) = hyper::Request::get("http://127.0.0.1/").body(())?.into_parts();
        let (reply, instance) = component
            .handle_keeping(parts, bytes::Bytes::new())
            .await
            .map_err(|e| anyhow::anyhow!("serving a request: {e:?}"))?;
        if reply.status >= 500 {
            bail!("the component answered {}", reply.status);
        }
        Ok(instance)
    };
    let warm = serve_one().await?;
    let before = current_rss_kib()?;
    let mut live = Vec::with_capacity(args.instances as usize);
    for _ in 0..args.instances {
        live.push(
            serve_one()
                .await
                .with_context(|| format!("keeping {} instances alive", args.instances))?,
        );
    }
    let after = current_rss_kib()?;
    drop((live, warm));
    print_report(args, before, after)
}
