//! The `http` flavour's generic outbound import on the Rust host: plain
//! HTTP/1.1 to the sidecar's HTTP API on loopback (`workloads/ABI.md`,
//! "`http` flavour"). The guest builds Dapr HTTP API requests itself; this
//! only forwards them, as the wazero host's `outbound.go` does.

use std::sync::Arc;
use std::time::Duration;

use blueprint_runtime_api::{
    Concurrency, DaprHost, HostError, LogLevel, OutboundRequest, OutboundResponse, StateEntry,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::runtime::Handle;

/// How long one outbound request may take before the guest gets UNAVAILABLE.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Guest HTTP to the sidecar; every other call goes to `inner`.
pub struct WithOutbound {
    inner: Arc<dyn DaprHost>,
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
    runtime: Handle,
}

impl std::fmt::Debug for WithOutbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithOutbound").field("base", &self.base).finish()
    }
}

impl WithOutbound {
    /// Outbound HTTP to daprd's HTTP API on loopback `port`, in front of `inner`.
    pub fn new(inner: Arc<dyn DaprHost>, port: u16, runtime: Handle) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            inner,
            base: format!("http://127.0.0.1:{port}"),
            client: Client::builder(TokioExecutor::new()).build(connector),
            runtime,
        }
    }

    /// The URL to send, or why it is refused: a path goes to the sidecar,
    /// an absolute URL must be on 127.0.0.1.
    fn resolve(&self, url: &str) -> Result<String, HostError> {
        if url.starts_with('/') {
            Ok(format!("{}{url}", self.base))
        } else if url.starts_with("http://127.0.0.1:") {
            Ok(url.to_owned())
        } else {
            Err(HostError::NotPermitted)
        }
    }
}

impl DaprHost for WithOutbound {
    fn state_get(&self, store: &str, key: &str) -> Result<Option<StateEntry>, HostError> {
        self.inner.state_get(store, key)
    }
    fn state_set(
        &self,
        store: &str,
        key: &str,
        value: &[u8],
        etag: Option<&str>,
        concurrency: Concurrency,
    ) -> Result<(), HostError> {
        self.inner.state_set(store, key, value, etag, concurrency)
    }
    fn state_delete(
        &self,
        store: &str,
        key: &str,
        etag: Option<&str>,
        concurrency: Concurrency,
    ) -> Result<(), HostError> {
        self.inner.state_delete(store, key, etag, concurrency)
    }
    fn publish(&self, pubsub: &str, topic: &str, data: &[u8], content_type: &str) -> Result<(), HostError> {
        self.inner.publish(pubsub, topic, data, content_type)
    }
    fn invoke_binding(&self, name: &str, operation: &str, data: &[u8]) -> Result<Vec<u8>, HostError> {
        self.inner.invoke_binding(name, operation, data)
    }
    fn log(&self, level: LogLevel, message: &str) {
        self.inner.log(level, message);
    }

    fn http_request(&self, request: &OutboundRequest<'_>) -> Result<OutboundResponse, HostError> {
        let url = self.resolve(request.url)?;
        let mut builder = Request::builder().method(request.method).uri(&url);
        for (name, value) in &request.headers {
            builder = builder.header(*name, *value);
        }
        let req = builder
            .body(Full::new(Bytes::copy_from_slice(request.body)))
            .map_err(|e| HostError::Unavailable(format!("building {} {url}: {e}", request.method)))?;
        self.runtime.block_on(async {
            let work = async {
                let resp = self.client.request(req).await?;
                let status = resp.status().as_u16();
                let mut headers: Vec<(String, String)> = resp
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_owned(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                // The same bytes on every host: sorted by name, order kept within one.
                headers.sort_by(|a, b| a.0.cmp(&b.0));
                let body = resp.into_body().collect().await?.to_bytes().to_vec();
                anyhow::Ok(OutboundResponse {
                    status,
                    headers,
                    body,
                })
            };
            match tokio::time::timeout(REQUEST_TIMEOUT, work).await {
                Ok(Ok(response)) => Ok(response),
                Ok(Err(err)) => Err(HostError::Unavailable(format!(
                    "{} {url}: {err:#}",
                    request.method
                ))),
                Err(_) => Err(HostError::Unavailable(format!(
                    "{} {url}: no answer within {REQUEST_TIMEOUT:?}",
                    request.method
                ))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blueprint_runtime_api::NoDapr;

    #[test]
    fn paths_go_to_the_sidecar_and_only_loopback_urls_pass() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let out = WithOutbound::new(Arc::new(NoDapr), 3500, rt.handle().clone());
        assert_eq!(
            out.resolve("/v1.0/state/s").unwrap(),
            "http://127.0.0.1:3500/v1.0/state/s"
        );
        assert_eq!(
            out.resolve("http://127.0.0.1:9/x").unwrap(),
            "http://127.0.0.1:9/x"
        );
        for refused in [
            "http://example.com/",
            "https://127.0.0.1:1/",
            "v1.0/state",
            "http://127.0.0.10/",
        ] {
            assert_eq!(out.resolve(refused), Err(HostError::NotPermitted), "{refused}");
        }
    }
}
