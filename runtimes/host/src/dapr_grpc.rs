//! [`DaprHost`] over Dapr's gRPC API with the official Rust SDK (`dapr`
//! crate): one channel to the sidecar, opened on first use and shared by every
//! instance of the host. Guests call synchronously, from blocking threads, so
//! each call blocks its thread on the SDK's future.

use std::collections::HashMap;
use std::time::Duration;

use blueprint_runtime_api::{Concurrency, DaprHost, HostError, LogLevel, StateEntry};
use dapr::dapr::proto::common::v1::{Etag, StateItem, StateOptions, state_options::StateConcurrency};
use dapr::dapr::proto::runtime::v1::{
    DeleteStateRequest, GetStateRequest, InvokeBindingRequest, PublishEventRequest, SaveStateRequest,
    dapr_client::DaprClient,
};
use tokio::runtime::Handle;
use tokio::sync::OnceCell;
use tonic::transport::{Channel, Endpoint};

/// Dapr over gRPC for guests.
pub struct GrpcDapr {
    endpoint: Endpoint,
    client: OnceCell<DaprClient<Channel>>,
    runtime: Handle,
}

impl std::fmt::Debug for GrpcDapr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcDapr")
            .field("endpoint", &self.endpoint.uri())
            .finish()
    }
}

impl GrpcDapr {
    /// A client for daprd's gRPC API on loopback `port`; `runtime` runs the
    /// SDK's futures.
    ///
    /// # Errors
    /// Never in practice: the URI is built from a port number.
    pub fn new(port: u16, runtime: Handle) -> anyhow::Result<Self> {
        let endpoint = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))?
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true);
        Ok(Self {
            endpoint,
            client: OnceCell::new(),
            runtime,
        })
    }

    fn call<T, F, Fut>(&self, what: &str, f: F) -> Result<T, HostError>
    where
        F: FnOnce(DaprClient<Channel>) -> Fut,
        Fut: Future<Output = Result<T, tonic::Status>>,
    {
        self.runtime.block_on(async {
            let client = self
                .client
                .get_or_try_init(|| async { self.endpoint.connect().await.map(DaprClient::new) })
                .await
                .map_err(|e| HostError::Unavailable(format!("connecting to daprd: {e}")))?;
            // A clone shares the channel; tonic needs `&mut` per call.
            f(client.clone())
                .await
                .map_err(|status| status_error(what, status))
        })
    }
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

impl DaprHost for GrpcDapr {
    fn state_get(&self, store: &str, key: &str) -> Result<Option<StateEntry>, HostError> {
        let request = GetStateRequest {
            store_name: store.into(),
            key: key.into(),
            ..Default::default()
        };
        let response = self.call("GetState", |mut c| async move {
            c.get_state(request).await.map(tonic::Response::into_inner)
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

    fn state_set(
        &self,
        store: &str,
        key: &str,
        value: &[u8],
        etag_value: Option<&str>,
        concurrency: Concurrency,
    ) -> Result<(), HostError> {
        let request = SaveStateRequest {
            store_name: store.into(),
            states: vec![StateItem {
                key: key.into(),
                value: value.to_vec(),
                etag: etag(etag_value),
                metadata: HashMap::new(),
                options: options(concurrency),
            }],
        };
        self.call("SaveState", |mut c| async move {
            c.save_state(request).await.map(|_| ())
        })
    }

    fn state_delete(
        &self,
        store: &str,
        key: &str,
        etag_value: Option<&str>,
        concurrency: Concurrency,
    ) -> Result<(), HostError> {
        let request = DeleteStateRequest {
            store_name: store.into(),
            key: key.into(),
            etag: etag(etag_value),
            options: options(concurrency),
            metadata: HashMap::new(),
        };
        self.call("DeleteState", |mut c| async move {
            c.delete_state(request).await.map(|_| ())
        })
    }

    fn publish(&self, pubsub: &str, topic: &str, data: &[u8], content_type: &str) -> Result<(), HostError> {
        let request = PublishEventRequest {
            pubsub_name: pubsub.into(),
            topic: topic.into(),
            data: data.to_vec(),
            data_content_type: content_type.into(),
            metadata: HashMap::new(),
        };
        self.call("PublishEvent", |mut c| async move {
            c.publish_event(request).await.map(|_| ())
        })
    }

    fn invoke_binding(&self, name: &str, operation: &str, data: &[u8]) -> Result<Vec<u8>, HostError> {
        let request = InvokeBindingRequest {
            name: name.into(),
            data: data.to_vec(),
            operation: operation.into(),
            metadata: HashMap::new(),
        };
        self.call("InvokeBinding", |mut c| async move {
            c.invoke_binding(request).await.map(|r| r.into_inner().data)
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
