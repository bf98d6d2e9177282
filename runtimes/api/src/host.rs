//! The typed Dapr calls behind the guest's `dapr` import module.
//!
//! A host program implements [`DaprHost`] once (the harness maps it to Dapr's
//! gRPC API through the official SDK); every adapter calls it through
//! [`crate::abi::HostState`]. Calls are synchronous because a guest waits for
//! them: an async host blocks its worker thread on the gRPC future.

use std::fmt;

/// A state value with its etag, as Dapr returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateEntry {
    /// The stored bytes.
    pub value: Vec<u8>,
    /// The store's etag for this version, if it keeps one.
    pub etag: Option<String>,
}

/// Dapr's state concurrency option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    /// The write wins regardless of what is stored (Dapr's `last-write`).
    LastWrite,
    /// The write needs a matching etag, or, without one, a key that does not
    /// exist yet (Dapr's `first-write`).
    FirstWrite,
}

/// A write's optimistic-concurrency check: the etag the writer last read
/// (`None`: it read none) and how Dapr applies it. One value, so a write's
/// signature says "what, where, under which check" in three arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Precondition<'a> {
    /// The etag the write expects to replace.
    pub etag: Option<&'a str>,
    /// Whether the etag must match (first-write) or the write wins anyway.
    pub concurrency: Concurrency,
}

impl<'a> Precondition<'a> {
    /// The write wins whatever is stored.
    pub const LAST_WRITE: Precondition<'static> = Precondition {
        etag: None,
        concurrency: Concurrency::LastWrite,
    };

    /// The write needs `etag` to still be current (`None`: the key must not
    /// exist yet).
    pub fn first_write(etag: Option<&'a str>) -> Self {
        Self {
            etag,
            concurrency: Concurrency::FirstWrite,
        }
    }
}

/// Severity of a guest log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something looks wrong.
    Warn,
    /// Normal operation.
    Info,
    /// Details.
    Debug,
}

/// Why a Dapr call made on the guest's behalf failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// The etag did not match, or first-write found the key already there.
    #[error("etag mismatch")]
    EtagMismatch,
    /// The sidecar could not be reached or returned an error.
    #[error("dapr unavailable: {0}")]
    Unavailable(String),
    /// This host runs the module without Dapr access (pure mode).
    #[error("not permitted in this mode")]
    NotPermitted,
}

/// What a [`DaprHost`] call returns.
pub type HostResult<T> = Result<T, HostError>;

/// One request of the `http` flavour's generic outbound import, as the guest
/// wrote it (`workloads/ABI.md`, "`http` flavour").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest<'a> {
    /// HTTP method, e.g. `GET`.
    pub method: &'a str,
    /// A path on the sidecar's HTTP API (`/v1.0/…`) or an absolute loopback URL.
    pub url: &'a str,
    /// `(name, value)` pairs.
    pub headers: Vec<(&'a str, &'a str)>,
    /// Request body.
    pub body: &'a [u8],
}

/// The answer to an [`OutboundRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutboundResponse {
    /// HTTP status.
    pub status: u16,
    /// `(lower-case name, value)` pairs.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
}

/// What a guest can reach: the Dapr building blocks of the embedded blueprint
/// as typed calls, and the generic outbound HTTP of the standalone one.
pub trait DaprHost: Send + Sync {
    /// Reads a key; `Ok(None)` when it has no value.
    ///
    /// # Errors
    /// [`HostError::Unavailable`] when the sidecar call fails.
    fn state_get(&self, store: &str, key: &str) -> HostResult<Option<StateEntry>>;

    /// Reads several keys of one store, answering each in the order asked
    /// (`None` for a key with no value; a key asked twice is answered twice).
    ///
    /// The default reads them one [`DaprHost::state_get`] at a time, which
    /// gives the right answers but not the one round trip the ABI's
    /// `state_get_bulk` is for: hosts that talk to Dapr override it with one
    /// bulk call, and wrappers forward it (`forward_dapr_host!`).
    ///
    /// # Errors
    /// [`HostError::Unavailable`] when the sidecar call fails or fails for
    /// any one key.
    fn state_get_bulk(&self, store: &str, keys: &[&str]) -> HostResult<Vec<Option<StateEntry>>> {
        keys.iter().map(|key| self.state_get(store, key)).collect()
    }

    /// Writes a key.
    ///
    /// # Errors
    /// [`HostError::EtagMismatch`] when the concurrency check fails.
    fn state_set(&self, store: &str, key: &str, value: &[u8], check: Precondition<'_>) -> HostResult<()>;

    /// Deletes a key.
    ///
    /// # Errors
    /// [`HostError::EtagMismatch`] when the concurrency check fails.
    fn state_delete(&self, store: &str, key: &str, check: Precondition<'_>) -> HostResult<()>;

    /// Publishes an event.
    ///
    /// # Errors
    /// [`HostError::Unavailable`] when the sidecar call fails.
    fn publish(&self, pubsub: &str, topic: &str, data: &[u8], content_type: &str) -> HostResult<()>;

    /// Invokes an output binding and returns its response data.
    ///
    /// # Errors
    /// [`HostError::Unavailable`] when the sidecar call fails.
    fn invoke_binding(&self, name: &str, operation: &str, data: &[u8]) -> HostResult<Vec<u8>>;

    /// Receives a guest log line.
    fn log(&self, level: LogLevel, message: &str);

    /// Sends an HTTP request for the `http` flavour; hosts that give guests
    /// no outbound HTTP keep this default.
    ///
    /// # Errors
    /// [`HostError::NotPermitted`] for a refused URL or no outbound HTTP,
    /// [`HostError::Unavailable`] when the connection fails.
    fn http_request(&self, request: &OutboundRequest<'_>) -> HostResult<OutboundResponse> {
        let _ = request;
        Err(HostError::NotPermitted)
    }
}

/// Implements the named [`DaprHost`] methods by handing each call unchanged
/// to another host, so a host that adds one behaviour over another (a cache,
/// outbound HTTP) writes out only the methods it changes.
///
/// `forward_dapr_host!(self.inner => publish, log)` forwards to a field that
/// implements `DaprHost` (or derefs to one); `forward_dapr_host!(NoDapr => log)`
/// to a unit value. Used inside an `impl DaprHost for …` block.
#[macro_export]
macro_rules! forward_dapr_host {
    (self.$field:ident => $($method:ident),+ $(,)?) => {
        $($crate::forward_dapr_host!(@method $method, field $field);)+
    };
    ($to:path => $($method:ident),+ $(,)?) => {
        $($crate::forward_dapr_host!(@method $method, value $to);)+
    };
    // `self` is named where the method binds it: macro hygiene keeps a
    // `self` written by the caller from reaching the generated method.
    (@to $self:ident, field $field:ident) => { $self.$field };
    (@to $self:ident, value $to:path) => { $to };
    (@method state_get, $($how:tt)+) => {
        fn state_get(&self, store: &str, key: &str) -> ::std::result::Result<::std::option::Option<$crate::StateEntry>, $crate::HostError> {
            $crate::forward_dapr_host!(@to self, $($how)+).state_get(store, key)
        }
    };
    (@method state_get_bulk, $($how:tt)+) => {
        fn state_get_bulk(&self, store: &str, keys: &[&str]) -> ::std::result::Result<::std::vec::Vec<::std::option::Option<$crate::StateEntry>>, $crate::HostError> {
            $crate::forward_dapr_host!(@to self, $($how)+).state_get_bulk(store, keys)
        }
    };
    (@method state_set, $($how:tt)+) => {
        fn state_set(&self, store: &str, key: &str, value: &[u8], check: $crate::Precondition<'_>) -> ::std::result::Result<(), $crate::HostError> {
            $crate::forward_dapr_host!(@to self, $($how)+).state_set(store, key, value, check)
        }
    };
    (@method state_delete, $($how:tt)+) => {
        fn state_delete(&self, store: &str, key: &str, check: $crate::Precondition<'_>) -> ::std::result::Result<(), $crate::HostError> {
            $crate::forward_dapr_host!(@to self, $($how)+).state_delete(store, key, check)
        }
    };
    (@method publish, $($how:tt)+) => {
        fn publish(&self, pubsub: &str, topic: &str, data: &[u8], content_type: &str) -> ::std::result::Result<(), $crate::HostError> {
            $crate::forward_dapr_host!(@to self, $($how)+).publish(pubsub, topic, data, content_type)
        }
    };
    (@method invoke_binding, $($how:tt)+) => {
        fn invoke_binding(&self, name: &str, operation: &str, data: &[u8]) -> ::std::result::Result<::std::vec::Vec<u8>, $crate::HostError> {
            $crate::forward_dapr_host!(@to self, $($how)+).invoke_binding(name, operation, data)
        }
    };
    (@method log, $($how:tt)+) => {
        fn log(&self, level: $crate::LogLevel, message: &str) {
            $crate::forward_dapr_host!(@to self, $($how)+).log(level, message);
        }
    };
    (@method http_request, $($how:tt)+) => {
        fn http_request(&self, request: &$crate::OutboundRequest<'_>) -> ::std::result::Result<$crate::OutboundResponse, $crate::HostError> {
            $crate::forward_dapr_host!(@to self, $($how)+).http_request(request)
        }
    };
}

/// A host for modules that run without Dapr access (pure workloads,
/// micro-benchmarks): every call is refused with `NOT_PERMITTED`.
#[derive(Default, Clone, Copy)]
pub struct NoDapr;

impl fmt::Debug for NoDapr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NoDapr")
    }
}

impl DaprHost for NoDapr {
    fn state_get(&self, _: &str, _: &str) -> HostResult<Option<StateEntry>> {
        Err(HostError::NotPermitted)
    }
    fn state_get_bulk(&self, _: &str, _: &[&str]) -> HostResult<Vec<Option<StateEntry>>> {
        Err(HostError::NotPermitted)
    }
    fn state_set(&self, _: &str, _: &str, _: &[u8], _: Precondition<'_>) -> HostResult<()> {
        Err(HostError::NotPermitted)
    }
    fn state_delete(&self, _: &str, _: &str, _: Precondition<'_>) -> HostResult<()> {
        Err(HostError::NotPermitted)
    }
    fn publish(&self, _: &str, _: &str, _: &[u8], _: &str) -> HostResult<()> {
        Err(HostError::NotPermitted)
    }
    fn invoke_binding(&self, _: &str, _: &str, _: &[u8]) -> HostResult<Vec<u8>> {
        Err(HostError::NotPermitted)
    }
    fn log(&self, _: LogLevel, _: &str) {}
}
