//! blueprint-bench: a benchmark and conformance harness for WebAssembly with
//! Dapr. It runs identical Wasm workloads under each way of combining the two
//! (the "blueprints"), on several runtimes, against a real daprd, and records
//! throughput, latency, CPU and memory.
//!
//! Layout, in the order a run uses it:
//! - [`cli`]: subcommands; `main` only parses and reports errors.
//! - [`scenario`]: TOML → a validated [`scenario::Plan`] of cells.
//! - [`daprd`]: find the sidecar, or build it from the official Go module.
//! - [`workloads`]: build guest modules, read golden vectors.
//! - [`runner`]: per cell, start an app host ([`app`]) and a sidecar
//!   ([`sidecar`]), drive load ([`load`]), record [`results`].
//! - [`host`]: the embedded blueprint's host program (`blueprint-bench host`).
//! - [`conformance`]: golden vectors on every runtime through a real daprd.
//! - [`wasi_run`]: one WASI preview 1 command module on any runtime.
//! - [`compare`], [`recommend`], [`report`], [`baseline`]: read results
//!   files back: regressions, blueprint choices, charts, stored baselines.
//! - [`process`], [`net`], [`http`], [`paths`], [`progress`]: plumbing.

pub mod app;
pub mod baseline;
pub mod blueprint;
pub mod cli;
pub mod compare;
pub mod conformance;
pub mod dapr_metrics;
pub mod daprd;
pub mod echo;
pub mod environment;
pub mod go_host;
pub mod host;
pub mod http;
pub mod instance_rss;
pub mod load;
pub mod meter;
pub mod modes;
pub mod module_server;
pub mod net;
pub mod paths;
pub mod process;
pub mod progress;
pub mod recommend;
pub mod redis;
pub mod report;
pub mod results;
pub mod runner;
pub mod runtimes;
pub mod scenario;
pub mod sidecar;
pub mod stats;
pub mod sweep;
pub mod table;
pub mod wasi_run;
pub mod workloads;
