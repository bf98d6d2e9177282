//! blueprint-bench: the harness's orchestration and command line. It runs
//! identical Wasm workloads under each way of combining Wasm and Dapr (the
//! "blueprints"), on several runtimes, against a real daprd, and records
//! throughput, latency, CPU and memory.
//!
//! The crates below it, by dependency direction (`DESIGN.md`):
//! `blueprint-load` (the load generator), `blueprint-analysis` (the results
//! model, statistics, compare, recommend, report: no engines, no daprd),
//! `blueprint-host` (the Rust app host and the runtime table), and the
//! runtime adapters under `runtimes/`.
//!
//! This crate, in the order a run uses it:
//! - [`cli`]: one file per subcommand; `main` only parses and reports errors.
//! - [`scenario`]: TOML → a validated [`scenario::Plan`] of cells.
//! - [`daprd`], [`go_host`], [`workloads`]: find or build the sidecar, the
//!   wazero host and the guest modules.
//! - [`runner`]: the cells' trials in shuffled order, measured, summarised,
//!   written after every trial; [`timings`] keeps how long they took, for
//!   the next plan's estimate.
//! - [`blueprint`]: one cell's system of processes ([`app`], [`echo`],
//!   [`sidecar`], [`redis`], [`module_server`]) started and stopped together.
//! - [`meter`], [`dapr_metrics`], [`environment`]: CPU and memory from /proc,
//!   daprd's Prometheus counters, the machine's fingerprint.
//! - [`conformance`]: golden vectors on every runtime and mode through a real daprd.
//! - [`process`], [`http`], [`paths`], [`progress`]: plumbing.

pub mod app;
pub mod blueprint;
pub mod cli;
pub mod conformance;
pub mod dapr_metrics;
pub mod daprd;
pub mod echo;
pub mod environment;
pub mod go_host;
pub mod http;
pub mod k8s;
pub mod meter;
pub mod module_server;
pub mod paths;
pub mod pinning;
pub mod preflight;
pub mod process;
pub mod progress;
pub mod pubsub;
pub mod redis;
pub mod runner;
pub mod scenario;
pub mod sidecar;
pub mod timings;
pub mod wasmtime_cli;
pub mod workloads;
