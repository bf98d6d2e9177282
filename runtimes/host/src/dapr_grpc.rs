//! [`DaprHost`] over Dapr's gRPC API with the official Rust SDK (`dapr`
//! crate): one channel to the sidecar, shared by every instance of the host.
//! Guests call synchronously, from blocking threads, so each call blocks its
//! thread on the SDK's future.
//!
//! The channel is opened by one attempt at a time: concurrent first calls
//! wait for the attempt under way instead of racing their own, and
//! [`GrpcDapr::connect_in_background`] starts it at start-up so the first
//! request does not pay for it. daprd may start after the app (the harness
//! starts the app first), so that attempt keeps retrying for a while.
//! Every call is bounded by the time its guest call has left
//! ([`crate::deadline`]), also sent to daprd as the gRPC deadline, and
//! carries `DAPR_API_TOKEN` as `dapr-api-token` metadata when it is set
//! (the generated client used here does not read it, unlike the SDK's
//! high-level `Client`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use blueprint_runtime_api::{
    Concurrency, DaprHost, HostError, HostResult, LogLevel, Precondition, StateEntry,
};
use dapr::dapr::proto::common::v1::{Etag, StateItem, StateOptions, state_options::StateConcurrency};
use dapr::dapr::proto::runtime::v1::{
    BulkStateItem, DeleteStateRequest, GetBulkStateRequest, GetStateRequest, InvokeBindingRequest,
    PublishEventRequest, SaveStateRequest, dapr_client::DaprClient,
};
use tokio::runtime::Handle;
use tokio::sync::OnceCell;
use tokio::time::Instant;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

/// How long a call keeps retrying to connect when daprd is not listening
/// yet (within its own deadline).
const CONNECT_PATIENCE: Duration = Duration::from_secs(5);

/// How long the start-up connection attempt keeps retrying: daprd starts
/// after the app and loads its components first.
const STARTUP_PATIENCE: Duration = Duration::from_secs(60);

/// What runs the SDK's futures.
enum Driver {
    /// A runtime the host shares: calls block on its handle while its
    /// workers do the I/O.
    Shared(Handle),
    /// A current-thread runtime of the client's own, driven by whichever
    /// thread makes the call: all of a call's work is on that thread.
    Own(tokio::runtime::Runtime),
}

impl Driver {
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        match self {
            Self::Shared(handle) => handle.block_on(future),
            Self::Own(runtime) => runtime.block_on(future),
        }
    }

    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        match self {
            Self::Shared(handle) => drop(handle.spawn(future)),
            Self::Own(runtime) => drop(runtime.spawn(future)),
        }
    }
}

/// Dapr over gRPC for guests.
pub struct GrpcDapr {
    endpoint: Endpoint,
    client: Arc<OnceCell<DaprClient<Channel>>>,
    runtime: Driver,
    /// The bound of a call made outside any guest call.
    call_timeout: Duration,
    token: Option<MetadataValue<tonic::metadata::Ascii>>,
}

impl std::fmt::Debug for GrpcDapr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcDapr")
            .field("endpoint", &self.endpoint.uri())
            .field("call_timeout", &self.call_timeout)
            .finish()
    }
}

/// Connects, retrying a refused connection until `until`.
async fn connect(endpoint: Endpoint, until: Instant) -> Result<DaprClient<Channel>, tonic::transport::Error> {
    let mut pause = Duration::from_millis(10);
    loop {
        match endpoint.connect().await {
            Ok(channel) => return Ok(DaprClient::new(channel)),
            Err(err) if Instant::now() + pause >= until => return Err(err),
            Err(_) => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(250));
            }
        }
    }
}

impl GrpcDapr {
    /// A client for daprd's gRPC API on loopback `port`; `runtime` runs the
    /// SDK's futures; `call_timeout` bounds calls made outside a guest call.
    ///
    /// # Errors
    /// A `DAPR_API_TOKEN` that is not a valid metadata value.
    pub fn new(port: u16, runtime: Handle, call_timeout: Duration) -> anyhow::Result<Self> {
        Self::with_driver(port, Driver::Shared(runtime), call_timeout)
    }

    /// A client whose runtime is its own and runs on the calling thread
    /// during each call, so that a call's every instruction is on the thread
    /// that made it (`blueprint-bench instructions` counts them per thread).
    /// The host serves with [`GrpcDapr::new`] on its shared runtime.
    ///
    /// # Errors
    /// As [`GrpcDapr::new`], or the runtime cannot be built.
    pub fn on_calling_thread(port: u16, call_timeout: Duration) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Self::with_driver(port, Driver::Own(runtime), call_timeout)
    }

    fn with_driver(port: u16, runtime: Driver, call_timeout: Duration) -> anyhow::Result<Self> {
        let endpoint = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))?
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true);
        let token = crate::token::dapr_api_token()
            .map(|t| {
                t.parse().map_err(|e| {
                    anyhow::anyhow!(
                        "{}: not a valid gRPC metadata value: {e}",
                        crate::token::DAPR_API_TOKEN_ENV
                    )
                })
            })
            .transpose()?;
        Ok(Self {
            endpoint,
            client: Arc::new(OnceCell::new()),
            runtime,
            call_timeout,
            token,
        })
    }

    /// Starts connecting now, retrying until daprd listens or
    /// [`STARTUP_PATIENCE`] passes; calls meanwhile wait for this attempt.
    pub fn connect_in_background(&self) {
        let (cell, endpoint) = (self.client.clone(), self.endpoint.clone());
        let until = Instant::now() + STARTUP_PATIENCE;
        self.runtime.spawn(async move {
            if let Err(err) = cell.get_or_try_init(|| connect(endpoint, until)).await {
                tracing::warn!("daprd's gRPC API did not answer within {STARTUP_PATIENCE:?}: {err}");
            }
        });
    }

    /// Whether the channel is open (for tests).
    pub fn is_connected(&self) -> bool {
        self.client.initialized()
    }

    fn call<M, T, F, Fut>(&self, what: &str, message: M, f: F) -> Result<T, HostError>
    where
        F: FnOnce(DaprClient<Channel>, tonic::Request<M>) -> Fut,
        Fut: Future<Output = Result<T, tonic::Status>>,
    {
        let left = crate::deadline::remaining().unwrap_or(self.call_timeout);
        let result = self.runtime.block_on(async {
            let deadline = Instant::now() + left;
            let connecting = self.client.get_or_try_init(|| {
                connect(
                    self.endpoint.clone(),
                    deadline.min(Instant::now() + CONNECT_PATIENCE),
                )
            });
            let client = match tokio::time::timeout_at(deadline, connecting).await {
                Ok(Ok(client)) => client.clone(),
                Ok(Err(e)) => return Err(HostError::Unavailable(format!("connecting to daprd: {e}"))),
                Err(_) => return Err(timed_out(what, left)),
            };
            let mut request = tonic::Request::new(message);
            // daprd gives up too, rather than finishing work nobody waits for.
            request.set_timeout(deadline.saturating_duration_since(Instant::now()));
            if let Some(token) = &self.token {
                request.metadata_mut().insert(crate::token::HEADER, token.clone());
            }
            // A clone shares the channel; tonic needs `&mut` per call.
            match tokio::time::timeout_at(deadline, f(client, request)).await {
                Ok(Ok(out)) => Ok(out),
                Ok(Err(status)) if status.code() == tonic::Code::DeadlineExceeded => {
                    Err(timed_out(what, left))
                }
                Ok(Err(status)) => Err(status_error(what, status)),
                Err(_) => Err(timed_out(what, left)),
            }
        });
        if result.is_err() {
            crate::deadline::note_expired_if_due();
        }
        result
    }
}

fn timed_out(what: &str, left: Duration) -> HostError {
    HostError::Unavailable(format!("{what}: no answer within the call's {left:?} left"))
}

/// Dapr reports etag conflicts as `Aborted` (and some stores as
/// `FailedPrecondition`); everything else means the call did not happen.
fn status_error(what: &str, status: tonic::Status) -> HostError {
    match status.code() {
        tonic::Code::Aborted | tonic::Code::FailedPrecondition => HostError::EtagMismatch,
        _ => HostError::Unavailable(format!("{what}: {}: {}", status.code(), status.message())),
    }
}

fn options(concurrency: Concurrency) -> Option<StateOptions> {
    let concurrency = match concurrency {
        Concurrency::FirstWrite => StateConcurrency::ConcurrencyFirstWrite,
        Concurrency::LastWrite => StateConcurrency::ConcurrencyLastWrite,
    };
    Some(StateOptions {
        concurrency: concurrency as i32,
        consistency: 0,
    })
}

fn etag(etag: Option<&str>) -> Option<Etag> {
    etag.map(|value| Etag {
        value: value.to_owned(),
    })
}

/// Puts daprd's bulk items back in the order the keys were asked (daprd
/// answers in the store's order): as for `GetState`, empty data and no etag
/// is a missing key; an item's own error fails the whole read.
fn bulk_answers(keys: &[&str], items: Vec<BulkStateItem>) -> HostResult<Vec<Option<StateEntry>>> {
    let mut by_key = HashMap::with_capacity(items.len());
    for item in items {
        if !item.error.is_empty() {
            return Err(HostError::Unavailable(format!(
                "GetBulkState: key {:?}: {}",
                item.key, item.error
            )));
        }
        let entry = (!item.data.is_empty() || !item.etag.is_empty()).then(|| StateEntry {
            value: item.data,
            etag: (!item.etag.is_empty()).then_some(item.etag),
        });
        by_key.insert(item.key, entry);
    }
    keys.iter()
        .map(|key| {
            by_key
                .get(*key)
                .cloned()
                .ok_or_else(|| HostError::Unavailable(format!("GetBulkState: no answer for key {key:?}")))
        })
        .collect()
}

impl DaprHost for GrpcDapr {
    fn state_get(&self, store: &str, key: &str) -> HostResult<Option<StateEntry>> {
        let request = GetStateRequest {
            store_name: store.into(),
            key: key.into(),
            ..Default::default()
        };
        let response = self.call("GetState", request, |mut c, r| async move {
            c.get_state(r).await.map(tonic::Response::into_inner)
        })?;
        // Dapr answers a missing key with empty data and no etag.
        if response.data.is_empty() && response.etag.is_empty() {
            return Ok(None);
        }
        Ok(Some(StateEntry {
            value: response.data,
            etag: (!response.etag.is_empty()).then_some(response.etag),
        }))
    }

    fn state_get_bulk(&self, store: &str, keys: &[&str]) -> HostResult<Vec<Option<StateEntry>>> {
        let request = GetBulkStateRequest {
            store_name: store.into(),
            keys: keys.iter().map(|&k| k.to_owned()).collect(),
            ..Default::default()
        };
        let response = self.call("GetBulkState", request, |mut c, r| async move {
            c.get_bulk_state(r).await.map(tonic::Response::into_inner)
        })?;
        bulk_answers(keys, response.items)
    }

    fn state_set(&self, store: &str, key: &str, value: &[u8], check: Precondition<'_>) -> HostResult<()> {
        let request = SaveStateRequest {
            store_name: store.into(),
            states: vec![StateItem {
                key: key.into(),
                value: value.to_vec(),
                etag: etag(check.etag),
                metadata: HashMap::new(),
                options: options(check.concurrency),
            }],
        };
        self.call("SaveState", request, |mut c, r| async move {
            c.save_state(r).await.map(|_| ())
        })
    }

    fn state_delete(&self, store: &str, key: &str, check: Precondition<'_>) -> HostResult<()> {
        let request = DeleteStateRequest {
            store_name: store.into(),
            key: key.into(),
            etag: etag(check.etag),
            options: options(check.concurrency),
            metadata: HashMap::new(),
        };
        self.call("DeleteState", request, |mut c, r| async move {
            c.delete_state(r).await.map(|_| ())
        })
    }

    fn publish(&self, pubsub: &str, topic: &str, data: &[u8], content_type: &str) -> HostResult<()> {
        let request = PublishEventRequest {
            pubsub_name: pubsub.into(),
            topic: topic.into(),
            data: data.to_vec(),
            data_content_type: content_type.into(),
            metadata: HashMap::new(),
        };
        self.call("PublishEvent", request, |mut c, r| async move {
            c.publish_event(r).await.map(|_| ())
        })
    }

    fn invoke_binding(&self, name: &str, operation: &str, data: &[u8]) -> HostResult<Vec<u8>> {
        let request = InvokeBindingRequest {
            name: name.into(),
            data: data.to_vec(),
            operation: operation.into(),
            metadata: HashMap::new(),
        };
        self.call("InvokeBinding", request, |mut c, r| async move {
            c.invoke_binding(r).await.map(|r| r.into_inner().data)
        })
    }

    fn log(&self, level: LogLevel, message: &str) {
        match level {
            LogLevel::Error => tracing::error!(target: "guest", "{message}"),
            LogLevel::Warn => tracing::warn!(target: "guest", "{message}"),
            LogLevel::Info => tracing::info!(target: "guest", "{message}"),
            LogLevel::Debug => tracing::debug!(target: "guest", "{message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(key: &str, data: &str, etag: &str, error: &str) -> BulkStateItem {
        BulkStateItem {
            key: key.into(),
            data: data.into(),
            etag: etag.into(),
            error: error.into(),
            metadata: HashMap::new(),
        }
    }

    #[test]
    fn bulk_items_come_back_in_the_order_asked() {
        let items = vec![
            item("b", "", "", ""),
            item("a", "5", "2", ""),
            item("c", "", "9", ""),
        ];
        let answers = bulk_answers(&["a", "b", "a", "c"], items).unwrap();
        let five = Some(StateEntry {
            value: b"5".to_vec(),
            etag: Some("2".into()),
        });
        let empty = Some(StateEntry {
            value: Vec::new(),
            etag: Some("9".into()),
        });
        assert_eq!(answers, vec![five.clone(), None, five, empty]);
        assert!(matches!(
            bulk_answers(&["a"], vec![item("a", "", "", "boom")]),
            Err(HostError::Unavailable(m)) if m.contains("boom")
        ));
        assert!(matches!(
            bulk_answers(&["a", "z"], vec![item("a", "1", "", "")]),
            Err(HostError::Unavailable(_))
        ));
    }

    /// A daprd stopped with SIGSTOP: the kernel completes connections into
    /// the backlog, nothing ever answers.
    #[test]
    fn a_stalled_sidecar_costs_a_call_no_more_than_its_time_left() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let stalled = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = stalled.local_addr().unwrap().port();
        let dapr = GrpcDapr::new(port, rt.handle().clone(), Duration::from_secs(3600)).unwrap();
        let began = std::time::Instant::now();
        let (result, expired) = crate::deadline::run_with(began + Duration::from_millis(300), || {
            dapr.state_get("statestore", "k")
        });
        let took = began.elapsed();
        assert!(matches!(result, Err(HostError::Unavailable(_))), "{result:?}");
        assert!(expired, "the expiry was not noted");
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(3),
            "{took:?}"
        );
        // Outside a guest call the host's own bound applies.
        let dapr = GrpcDapr::new(port, rt.handle().clone(), Duration::from_millis(200)).unwrap();
        let began = std::time::Instant::now();
        assert!(dapr.state_get("statestore", "k").is_err());
        assert!(began.elapsed() < Duration::from_secs(3));
        // A client on its own runtime, driven by the calling thread: its
        // timers run only while a call blocks, and still end the call.
        let dapr = GrpcDapr::on_calling_thread(port, Duration::from_millis(200)).unwrap();
        let began = std::time::Instant::now();
        assert!(matches!(
            dapr.state_get("statestore", "k"),
            Err(HostError::Unavailable(_))
        ));
        assert!(began.elapsed() < Duration::from_secs(3));
    }
}
