//! The integration modes: the talk's blueprints, plus the baselines that make
//! them comparable (`DESIGN.md`, "Integration modes"). What differs between
//! modes is only where the Wasm runs and how it reaches Dapr; the workloads,
//! load and meters are the same.

use std::fmt;
use std::str::FromStr;

use anyhow::{Result, bail};

use crate::workloads::Flavour;

/// One way of combining Dapr and Wasm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// A native host embedding the runtime; typed `dapr` imports → Dapr gRPC.
    Embedded,
    /// `Embedded` with a read-through state cache in the host.
    EmbeddedCache,
    /// A runtime-hosted HTTP microservice; the guest speaks Dapr's HTTP API
    /// through one generic outbound-HTTP import.
    StandaloneHttp,
    /// An http-wasm guest in daprd's `appHttpPipeline` (wazero inside daprd).
    Middleware,
    /// The same guest in daprd's `httpPipeline` (every API call passes it).
    MiddlewareHttpPipeline,
    /// The middleware cells' app and daprd without the middleware.
    MiddlewareBaseline,
    /// daprd's `bindings.wasm` output binding: a WASI command per call.
    Binding,
    /// The workload compiled natively into the host: no Wasm at all.
    Native,
}

/// Every mode, in the order tables list them.
pub const ALL: &[Mode] = &[
    Mode::Embedded,
    Mode::EmbeddedCache,
    Mode::StandaloneHttp,
    Mode::Middleware,
    Mode::MiddlewareHttpPipeline,
    Mode::MiddlewareBaseline,
    Mode::Binding,
    Mode::Native,
];

/// Runtime name recorded for the modes whose Wasm runs inside daprd.
pub const IN_DAPRD: &str = "wazero-in-daprd";
/// Runtime and language recorded for cells without any Wasm guest.
pub const NONE: &str = "none";
/// Runtime recorded for the native cells (the workload compiled into the host).
pub const NATIVE: &str = "native";

impl Mode {
    /// Its name in scenarios and results.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Embedded => "embedded",
            Mode::EmbeddedCache => "embedded+cache",
            Mode::StandaloneHttp => "standalone-http",
            Mode::Middleware => "middleware",
            Mode::MiddlewareHttpPipeline => "middleware+httppipeline",
            Mode::MiddlewareBaseline => "middleware-baseline",
            Mode::Binding => "binding",
            Mode::Native => "native",
        }
    }

    /// Every mode's name.
    pub fn names() -> Vec<&'static str> {
        ALL.iter().map(|m| m.as_str()).collect()
    }

    /// The module flavour it runs; `None` when it runs no Wasm module.
    pub fn flavour(self) -> Option<Flavour> {
        match self {
            Mode::Embedded | Mode::EmbeddedCache => Some(Flavour::Embedded),
            Mode::StandaloneHttp => Some(Flavour::Http),
            Mode::Middleware | Mode::MiddlewareHttpPipeline => Some(Flavour::Middleware),
            Mode::Binding => Some(Flavour::Command),
            Mode::MiddlewareBaseline | Mode::Native => None,
        }
    }

    /// Whether only pure workloads fit (the talk: "no side effects in
    /// function" for Wasm inside daprd).
    pub fn pure_only(self) -> bool {
        matches!(
            self,
            Mode::Middleware | Mode::MiddlewareHttpPipeline | Mode::MiddlewareBaseline | Mode::Binding
        )
    }

    /// Whether the Wasm runs inside daprd, on daprd's own wazero, whatever
    /// runtimes the scenario lists.
    pub fn runs_in_daprd(self) -> bool {
        matches!(
            self,
            Mode::Middleware | Mode::MiddlewareHttpPipeline | Mode::Binding
        )
    }

    /// Whether an app host of ours serves the workload (so the `direct`
    /// trigger and the app-side meters apply).
    pub fn has_workload_host(self) -> bool {
        matches!(
            self,
            Mode::Embedded | Mode::EmbeddedCache | Mode::StandaloneHttp | Mode::Native
        )
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match ALL.iter().find(|m| m.as_str() == s) {
            Some(mode) => Ok(*mode),
            None => bail!("unknown mode `{s}`; known: {}", Mode::names().join(", ")),
        }
    }
}

/// How load reaches the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trigger {
    /// Through daprd (service invocation, the binding API, the middleware pipeline).
    Dapr,
    /// Straight to the app, to isolate daprd's inbound hop.
    Direct,
}

/// Every trigger's name.
pub const TRIGGERS: &[&str] = &["dapr", "direct"];

impl Trigger {
    /// Its name in scenarios and results.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Dapr => "dapr",
            Trigger::Direct => "direct",
        }
    }
}

impl FromStr for Trigger {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "dapr" => Ok(Trigger::Dapr),
            "direct" => Ok(Trigger::Direct),
            _ => bail!("unknown trigger `{s}`; known: dapr, direct"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known_ones() {
        for mode in ALL {
            assert_eq!(mode.as_str().parse::<Mode>().unwrap(), *mode);
        }
        let err = "embeded".parse::<Mode>().unwrap_err().to_string();
        assert!(err.contains("embedded+cache") && err.contains("binding"), "{err}");
    }

    #[test]
    fn daprd_hosted_modes_are_pure_only_and_have_no_host_of_ours() {
        for mode in ALL {
            if mode.runs_in_daprd() {
                assert!(mode.pure_only() && !mode.has_workload_host(), "{mode}");
            }
        }
        assert_eq!(Mode::Binding.flavour(), Some(Flavour::Command));
        assert_eq!(Mode::Native.flavour(), None);
    }
}
