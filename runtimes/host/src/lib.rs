//! blueprint-host: the Rust app host of the `embedded`, `embedded+cache`,
//! `standalone-http` and `native` modes, and the one runtime table.
//!
//! The host is a runtime adapter inside a native HTTP server that daprd calls
//! as its app (`blueprint-bench host …`, a child process of the harness). It
//! follows `runtimes/HOST.md` exactly like the wazero Go host, so the harness
//! cannot tell them apart. The guests' `dapr` imports go to daprd over gRPC
//! through the official Dapr SDK; the `http` flavour's outbound import goes
//! to daprd's HTTP API.
//!
//! - [`table`]: every runtime the build knows — name, version, engine, where
//!   it runs, whether it can run here (with the reason and the fix), and its
//!   constructors. Adding a runtime is one row here.
//! - [`server`]: the HTTP routes of the host contract.
//! - [`app_callback`]: Dapr's `AppCallback` gRPC service, for daprd's gRPC app channel.
//! - [`dapr_grpc`]: the guests' `dapr` imports over daprd's gRPC API.
//! - [`state_cache`]: the read-through state cache of `embedded+cache`.
//! - [`outbound_http`]: the `http` flavour's one outbound import, to daprd only.
//! - [`deadline`]: the guest call's deadline, which bounds its host calls.
//! - [`events`]: pub/sub deliveries: the CloudEvent in, the log of what was handled.
//! - [`token`]: Dapr's API tokens, demanded of callers and sent to daprd.

pub mod app_callback;
pub mod dapr_grpc;
pub mod deadline;
pub mod events;
pub mod outbound_http;
pub mod server;
pub mod state_cache;
pub mod table;
pub mod token;

pub use server::{HostArgs, HostInfo, ModuleInfo, component_env, serve};
