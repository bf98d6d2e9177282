//! The command line: one subcommand enum; each subcommand is a file here
//! with its arguments and its `execute`.

use anyhow::Result;
use clap::{Parser, Subcommand};

pub mod ab;
pub mod baseline;
pub mod build;
pub mod compare;
pub mod conformance;
pub mod daprd;
pub mod decide;
pub mod doctor;
pub mod instance_rss;
pub mod instructions;
pub mod k8s;
pub mod list;
pub mod merge;
pub mod recommend;
pub mod report;
pub mod run;
pub mod wasi_run;
pub mod wasmtime_serve;

/// Benchmark and conformance harness for WebAssembly with Dapr.
#[derive(Debug, Parser)]
#[command(name = "blueprint-bench", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario file and write a results JSON under results/runs/.
    Run(run::RunArgs),
    /// Check every workload's golden vectors on every runtime against a real daprd.
    Conformance(conformance::ConformanceArgs),
    /// List runtimes (with availability), workloads, languages, modes and the built modules.
    List(list::ListArgs),
    /// Build the guest modules (cached by source hash) and show workload × language × flavour.
    Build(build::BuildArgs),
    /// Find or build daprd and print its path and version.
    Daprd(daprd::DaprdArgs),
    /// Find or build `wasmtime serve` (wasmtime-cli from crates.io, the
    /// `wasmtime-serve` runtime) and print its path and version.
    WasmtimeServe(wasmtime_serve::WasmtimeServeArgs),
    /// Check what this machine has for a run (daprd, toolchains, runtimes, redis), with fixes.
    Doctor(doctor::DoctorArgs),
    /// Serve workloads as a Dapr app on a runtime (the embedded blueprint's host; see runtimes/HOST.md).
    Host(Box<blueprint_host::HostArgs>),
    /// Drive a loopback HTTP endpoint (closed or open loop) and print latency and throughput.
    Load(Box<blueprint_load::cli::LoadArgs>),
    /// Echo request bodies: the native app behind the middleware cells.
    Echo(crate::echo::EchoArgs),
    /// Run a WASI preview 1 command module on a runtime; exits with the guest's exit code.
    WasiRun(Box<wasi_run::WasiRunArgs>),
    /// Resident memory per live guest instance (for benches/instance_rss.rs).
    #[command(hide = true)]
    InstanceRss(instance_rss::InstanceRssArgs),
    /// Count the instructions (callgrind) to compile, instantiate and serve a
    /// request, per runtime × language × workload; exit 3 on a regression.
    Instructions(Box<instructions::InstructionsArgs>),
    /// The program `instructions` runs under callgrind.
    #[command(hide = true)]
    InstructionsProbe(instructions::ProbeArgs),
    /// Render a results file as Markdown and one self-contained HTML page with charts.
    Report(report::ReportArgs),
    /// Compare a candidate results file against a baseline; exit 3 on a regression.
    Compare(compare::CompareArgs),
    /// Same-run A/B: baseline and candidate in one run, trials paired back to
    /// back; exit 3 on a regression.
    Ab(ab::AbArgs),
    /// Rank blueprints for a rate, a p99 budget and what the workload needs, from measured figures.
    Recommend(recommend::RecommendArgs),
    /// Which blueprint for a workload at a rate and a p99 budget: measures
    /// what the answer needs (open loop at the rate and 1.5×), reusing
    /// earlier results, within a time budget.
    Decide(Box<decide::DecideArgs>),
    /// Manage stored baselines (results/baselines/<machine>.json).
    Baseline(baseline::BaselineArgs),
    /// Kubernetes: render a scenario's manifests, collect a cluster run's results.
    K8s(k8s::K8sArgs),
    /// Merge the `load --json` outputs of several generators of one cell exactly.
    Merge(merge::MergeArgs),
}

impl Command {
    /// Runs the subcommand; the returned code is the process exit code.
    ///
    /// # Errors
    /// Whatever stops the command; printed as one line by `main`.
    pub async fn execute(self) -> Result<i32> {
        match self {
            Command::Run(args) => run::execute(args).await,
            Command::Conformance(args) => conformance::execute(args).await,
            Command::List(args) => list::execute(args),
            Command::Build(args) => build::execute(args),
            Command::Daprd(args) => daprd::execute(args),
            Command::WasmtimeServe(args) => wasmtime_serve::execute(args),
            Command::Doctor(args) => doctor::execute(args),
            Command::Host(args) => blueprint_host::serve(*args).await.map(|()| 0),
            Command::Load(args) => blueprint_load::cli::execute(*args).await,
            Command::Echo(args) => crate::echo::serve(args).await.map(|()| 0),
            Command::WasiRun(args) => wasi_run::execute(*args),
            Command::InstanceRss(args) => instance_rss::execute(args).await,
            // Outside the async context: both start runtimes of their own
            // and block on them (daprd's start-up; the probe's gRPC calls).
            Command::Instructions(args) => tokio::task::block_in_place(|| instructions::execute(*args)),
            Command::InstructionsProbe(args) => tokio::task::block_in_place(|| instructions::probe(args)),
            Command::Report(args) => report::execute(args),
            Command::Compare(args) => compare::execute(args),
            Command::Ab(args) => ab::execute(args).await,
            Command::Recommend(args) => recommend::execute(args),
            Command::Decide(args) => decide::execute(*args).await,
            Command::Baseline(args) => baseline::execute(args),
            Command::K8s(args) => k8s::execute(args),
            Command::Merge(args) => merge::execute(args),
        }
    }
}

/// Runs `work` unless Ctrl-C (SIGINT) or SIGTERM comes first; dropping
/// `work` stops its children, and what it wrote before (each finished trial)
/// stays written.
async fn interruptible<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        result = work => result,
        _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted (SIGINT); child processes stopped"),
        _ = term.recv() => anyhow::bail!("terminated (SIGTERM); child processes stopped"),
    }
}
