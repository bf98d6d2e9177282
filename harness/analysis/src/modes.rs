//! The integration modes: the talk's blueprints, plus the baselines that make
//! them comparable (`DESIGN.md`, "Integration modes"). What differs between
//! modes is only where the Wasm runs and how it reaches Dapr; the workloads,
//! load and meters are the same.

use std::fmt;
use std::str::FromStr;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

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
    /// The same microservice as a `wasi:http/proxy` component, served by
    /// `wasmtime serve` or by our host's `wasi:http`; Dapr's HTTP API through
    /// `wasi:http/outgoing-handler`.
    StandaloneWasiHttp,
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

/// Every mode, in the order tables list them (the order of [`TABLE`]).
pub const ALL: &[Mode] = &[
    Mode::Embedded,
    Mode::EmbeddedCache,
    Mode::StandaloneHttp,
    Mode::StandaloneWasiHttp,
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

/// The app process a mode starts behind daprd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum App {
    /// A host of ours serving the workload (`runtimes/HOST.md`): the Rust
    /// host, or the runtime's own host program (wazero's Go host).
    WorkloadHost,
    /// The native echo app; the Wasm (if any) runs inside daprd.
    Echo,
    /// No app: daprd itself answers (output bindings).
    None,
}

/// Where inside daprd the Wasm runs, for the modes that run it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InDaprd {
    /// Not inside daprd (an app of ours runs it, or no Wasm at all).
    No,
    /// `middleware.http.wasm` in `appHttpPipeline`: requests daprd sends to its app.
    AppHttpPipeline,
    /// `middleware.http.wasm` in `httpPipeline`: every call to daprd's HTTP API.
    HttpPipeline,
    /// `bindings.wasm`: an output binding, a WASI command per call.
    OutputBinding,
}

/// How the load generator reaches the workload through daprd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// Service invocation: `POST /v1.0/invoke/<app>/method/<workload>`.
    Invoke,
    /// daprd's gRPC `InvokeBinding` (`execute`) of the `bindings.wasm` component.
    Binding,
}

/// Everything a mode is, said once. Orchestration, conformance, scenario
/// validation and `recommend` read these fields; none of them keeps a table
/// of its own.
#[derive(Debug, Clone, Copy)]
pub struct ModeRow {
    /// The mode this row describes.
    pub mode: Mode,
    /// Its name in scenarios and results.
    pub name: &'static str,
    /// The module flavour it runs; `None` when it runs no Wasm module.
    pub flavour: Option<Flavour>,
    /// The app process behind daprd.
    pub app: App,
    /// How load enters daprd.
    pub entry: Entry,
    /// Where inside daprd the Wasm runs (on daprd's own wazero, whatever
    /// runtimes the scenario lists).
    pub in_daprd: InDaprd,
    /// Whether the guest can reach Dapr's building blocks (state, pub/sub,
    /// bindings); when not, only pure workloads fit (the talk: "no side
    /// effects in function").
    pub reaches_dapr: bool,
    /// The host keeps a read-through state cache (`[dapr] cache_ttl`).
    pub state_cache: bool,
    /// Not a Wasm blueprint: a baseline or floor, shown for reference.
    pub reference: bool,
    /// The talk's considerations and limitations that apply to any use of it.
    pub considerations: &'static [&'static str],
}

/// The mode table, one row per mode in [`ALL`]'s order.
pub const TABLE: &[ModeRow] = &[
    ModeRow {
        mode: Mode::Embedded,
        name: "embedded",
        flavour: Some(Flavour::Embedded),
        app: App::WorkloadHost,
        entry: Entry::Invoke,
        in_daprd: InDaprd::No,
        reaches_dapr: true,
        state_cache: false,
        reference: false,
        considerations: &[
            "typed host functions over one persistent gRPC channel to daprd (the talk: host calls mapped to gRPC for high throughput)",
            "more development effort: a native host program per runtime, and the guest ABI to maintain",
        ],
    },
    ModeRow {
        mode: Mode::EmbeddedCache,
        name: "embedded+cache",
        flavour: Some(Flavour::Embedded),
        app: App::WorkloadHost,
        entry: Entry::Invoke,
        in_daprd: InDaprd::No,
        reaches_dapr: true,
        state_cache: true,
        reference: false,
        considerations: &[
            "as embedded, with a local cache in front of Dapr state: fewer round trips to daprd",
            "cached reads can be stale; its figures depend on the workload's hit rate",
            "more development effort: a native host program per runtime, and the guest ABI to maintain",
        ],
    },
    ModeRow {
        mode: Mode::StandaloneHttp,
        name: "standalone-http",
        flavour: Some(Flavour::Http),
        app: App::WorkloadHost,
        entry: Entry::Invoke,
        in_daprd: InDaprd::No,
        reaches_dapr: true,
        state_cache: false,
        reference: false,
        considerations: &[
            "a standalone Wasm runtime serving HTTP as the app behind daprd",
            "HTTP only: the guest speaks Dapr's HTTP API through an outbound-HTTP import",
            "for high rates, and scalable: replicas scale like any app",
        ],
    },
    ModeRow {
        mode: Mode::StandaloneWasiHttp,
        name: "standalone-wasi-http",
        flavour: Some(Flavour::Component),
        app: App::WorkloadHost,
        entry: Entry::Invoke,
        in_daprd: InDaprd::No,
        reaches_dapr: true,
        state_cache: false,
        reference: false,
        considerations: &[
            "a standalone Wasm runtime serving HTTP as the app behind daprd, as WASI 0.2 is deployed: a wasi:http/proxy component on the runtime's own server (wasmtime serve)",
            "HTTP only: the guest speaks Dapr's HTTP API through wasi:http/outgoing-handler, a new connection per call",
            "a fresh component instance per request",
            "for high rates, and scalable: replicas scale like any app",
        ],
    },
    ModeRow {
        mode: Mode::Middleware,
        name: "middleware",
        flavour: Some(Flavour::Middleware),
        app: App::Echo,
        entry: Entry::Invoke,
        in_daprd: InDaprd::AppHttpPipeline,
        reaches_dapr: false,
        state_cache: false,
        reference: false,
        considerations: &[
            "runs inside daprd's HTTP pipeline (middleware.http.wasm on wazero): no extra process to operate",
            "no side effects: the guest cannot call Dapr (no state, pub/sub or bindings); pure request/response transforms",
            "for low and medium rates: it shares daprd's CPU and sits on every request's path",
            "HTTP only",
        ],
    },
    ModeRow {
        mode: Mode::MiddlewareHttpPipeline,
        name: "middleware+httppipeline",
        flavour: Some(Flavour::Middleware),
        app: App::Echo,
        entry: Entry::Invoke,
        in_daprd: InDaprd::HttpPipeline,
        reaches_dapr: false,
        state_cache: false,
        reference: false,
        considerations: &[
            "the same guest in daprd's httpPipeline: it runs on every call to daprd's HTTP API, not only on requests to the app",
            "no side effects: the guest cannot call Dapr; pure request/response transforms",
            "for low and medium rates: it shares daprd's CPU",
            "HTTP only",
        ],
    },
    ModeRow {
        mode: Mode::MiddlewareBaseline,
        name: "middleware-baseline",
        flavour: None,
        app: App::Echo,
        entry: Entry::Invoke,
        in_daprd: InDaprd::No,
        reaches_dapr: false,
        state_cache: false,
        reference: true,
        considerations: &[
            "no Wasm: the middleware cells' echo app behind daprd, to read the middleware's cost as a difference",
        ],
    },
    ModeRow {
        mode: Mode::Binding,
        name: "binding",
        flavour: Some(Flavour::Command),
        app: App::None,
        entry: Entry::Binding,
        in_daprd: InDaprd::OutputBinding,
        reaches_dapr: false,
        state_cache: false,
        reference: false,
        considerations: &[
            "a fresh WASI instance per call (bindings.wasm on wazero): start-up is paid on every invocation",
            "stdin in, stdout out: the guest cannot call Dapr",
            "invoked as an output binding through daprd, not as an app endpoint",
        ],
    },
    ModeRow {
        mode: Mode::Native,
        name: "native",
        flavour: None,
        app: App::WorkloadHost,
        entry: Entry::Invoke,
        in_daprd: InDaprd::No,
        reaches_dapr: true,
        state_cache: false,
        reference: true,
        considerations: &[
            "no Wasm: the same logic compiled into the host; the floor the blueprints are measured against, without Wasm's isolation and portability",
        ],
    },
];

impl Mode {
    /// Its row of [`TABLE`].
    pub fn row(self) -> &'static ModeRow {
        // `ALL` and `TABLE` share their order; a test checks it.
        &TABLE[self as usize]
    }

    /// Its name in scenarios and results.
    pub fn as_str(self) -> &'static str {
        self.row().name
    }

    /// Every mode's name.
    pub fn names() -> Vec<&'static str> {
        TABLE.iter().map(|r| r.name).collect()
    }

    /// The module flavour it runs; `None` when it runs no Wasm module.
    pub fn flavour(self) -> Option<Flavour> {
        self.row().flavour
    }

    /// Whether only pure workloads fit: the guest cannot reach Dapr.
    pub fn pure_only(self) -> bool {
        !self.row().reaches_dapr
    }

    /// Whether the Wasm runs inside daprd, on daprd's own wazero.
    pub fn runs_in_daprd(self) -> bool {
        self.row().in_daprd != InDaprd::No
    }

    /// Whether an app host of ours serves the workload (so the `direct`
    /// trigger and the app-side meters apply).
    pub fn has_workload_host(self) -> bool {
        self.row().app == App::WorkloadHost
    }

    /// Why the scenario's `instances` axis does not apply, when something
    /// other than our host decides how guest instances are kept; `None` for
    /// the modes whose Wasm runs in our host (there it is `fresh` or `reuse`).
    pub fn fixed_instances(self) -> Option<&'static str> {
        match self.row().in_daprd {
            // http-wasm-host-go's `handler.Middleware` keeps a `sync.Pool` of
            // guest instances and returns each after its request.
            InDaprd::AppHttpPipeline | InDaprd::HttpPipeline => Some(
                "daprd's middleware.http.wasm keeps its own pool of reused guest instances (http-wasm-host-go)",
            ),
            // components-contrib `bindings/wasm/output.go`: `Invoke` calls
            // `InstantiateModule` on the module compiled at `Init`.
            InDaprd::OutputBinding => {
                Some("daprd's bindings.wasm compiles once and instantiates a fresh WASI command per call")
            }
            InDaprd::No if self.row().flavour.is_none() => Some("no Wasm guest runs in this mode"),
            // `wasmtime serve` drops a WASIp2 component's instance after one
            // request (`--max-instance-reuse-count` defaults to 1), and our
            // host's `wasi:http` does the same.
            InDaprd::No if self.row().flavour == Some(Flavour::Component) => Some(
                "a wasi:http component gets a fresh instance per request, as `wasmtime serve` gives WASIp2 components",
            ),
            InDaprd::No => None,
        }
    }
}

/// `Display` and `FromStr` by the name `as_str` gives, among the values of
/// `$all`; an unknown name is refused with the known ones listed.
macro_rules! by_name {
    ($ty:ty, $all:expr, $what:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = anyhow::Error;
            fn from_str(s: &str) -> Result<Self> {
                let all = $all;
                all.iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .with_context(|| {
                        let names: Vec<&str> = all.iter().map(|v| v.as_str()).collect();
                        format!("unknown {} `{s}`; known: {}", $what, names.join(", "))
                    })
            }
        }
    };
}

by_name!(Mode, ALL, "mode");

/// How load reaches the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trigger {
    /// Through daprd (service invocation, the binding API, the middleware pipeline).
    Dapr,
    /// Straight to the app, to isolate daprd's inbound hop.
    Direct,
    /// Events published into daprd's pub/sub, which delivers them to the app
    /// (a declarative subscription): the talk's "pub/sub as a trigger".
    Pubsub,
    /// The same, through a bulk subscription: daprd delivers the events in
    /// batches (`[dapr] bulk_max_messages`, `bulk_max_await`).
    PubsubBulk,
    /// daprd's `bindings.cron` input binding fires at `[dapr] cron_rate`
    /// and posts each firing to the app: the talk's "bindings as a trigger".
    Cron,
}

/// Every trigger's name.
pub const TRIGGERS: &[&str] = &["dapr", "direct", "pubsub", "pubsub-bulk", "cron"];

impl Trigger {
    /// Its name in scenarios and results.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Dapr => "dapr",
            Trigger::Direct => "direct",
            Trigger::Pubsub => "pubsub",
            Trigger::PubsubBulk => "pubsub-bulk",
            Trigger::Cron => "cron",
        }
    }

    /// Events through daprd's pub/sub, one by one or in bulk.
    pub fn is_pubsub(self) -> bool {
        matches!(self, Trigger::Pubsub | Trigger::PubsubBulk)
    }

    /// Driven by events daprd delivers to the app (pub/sub, an input
    /// binding), counted by the app host's delivery log, not by requests.
    pub fn delivers_events(self) -> bool {
        matches!(self, Trigger::Pubsub | Trigger::PubsubBulk | Trigger::Cron)
    }
}

/// Whether the trigger named `name` delivers events ([`Trigger::delivers_events`]),
/// for code that reads results by name.
pub fn delivers_events(name: &str) -> bool {
    name.parse::<Trigger>().is_ok_and(Trigger::delivers_events)
}

by_name!(
    Trigger,
    [
        Trigger::Dapr,
        Trigger::Direct,
        Trigger::Pubsub,
        Trigger::PubsubBulk,
        Trigger::Cron
    ],
    "trigger"
);

/// How a module is shaped for the mode that runs it (`workloads/ABI.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flavour {
    /// Guest ABI v1 with the typed `dapr` imports (`embedded`, `embedded+cache`).
    Embedded,
    /// Guest ABI v1 with the generic outbound `http` import (`standalone-http`).
    Http,
    /// An http-wasm guest for daprd's `middleware.http.wasm` (`middleware`).
    Middleware,
    /// A WASI command, stdin to stdout, for daprd's `bindings.wasm` (`binding`).
    Command,
    /// A `wasi:http/proxy` component (`standalone-wasi-http`).
    Component,
}

/// Every flavour, in display order.
pub const FLAVOURS: &[Flavour] = &[
    Flavour::Embedded,
    Flavour::Http,
    Flavour::Middleware,
    Flavour::Command,
    Flavour::Component,
];

impl Flavour {
    /// Its name in files and results.
    pub fn as_str(self) -> &'static str {
        match self {
            Flavour::Embedded => "embedded",
            Flavour::Http => "http",
            Flavour::Middleware => "middleware",
            Flavour::Command => "command",
            Flavour::Component => "component",
        }
    }
}

by_name!(Flavour, FLAVOURS, "flavour");

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
    fn the_instances_axis_applies_to_the_modes_our_host_runs_wasm_in() {
        let open: Vec<Mode> = ALL
            .iter()
            .copied()
            .filter(|m| m.fixed_instances().is_none())
            .collect();
        assert_eq!(open, [Mode::Embedded, Mode::EmbeddedCache, Mode::StandaloneHttp]);
        assert!(
            Mode::StandaloneWasiHttp
                .fixed_instances()
                .unwrap()
                .contains("fresh")
        );
        assert!(Mode::Binding.fixed_instances().unwrap().contains("fresh"));
        assert!(Mode::Middleware.fixed_instances().unwrap().contains("pool"));
    }

    #[test]
    fn every_mode_has_its_own_row_in_order() {
        assert_eq!(ALL.len(), TABLE.len());
        for (i, mode) in ALL.iter().enumerate() {
            assert_eq!(*mode as usize, i, "ALL is in declaration order");
            assert_eq!(mode.row().mode, *mode, "row {i}");
            assert!(!mode.row().considerations.is_empty(), "{mode} cites the talk");
        }
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
