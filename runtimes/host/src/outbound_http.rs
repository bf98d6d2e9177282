//! The `http` flavour's generic outbound import on the Rust host: plain
//! HTTP/1.1 to the sidecar's HTTP API on loopback (`workloads/ABI.md`,
//! "`http` flavour"). The guest builds Dapr HTTP API requests itself; this
//! only forwards them, as the wazero host's `outbound.go` does.

use std::sync::Arc;
use std::time::Duration;

use blueprint_runtime_api::{DaprHost, HostError, OutboundRequest, OutboundResponse};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::runtime::Handle;

/// How long one outbound request may take before the guest gets UNAVAILABLE
/// (less when the guest call has less time left: [`crate::deadline`]).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest response body read into host memory for the guest (`runtimes/HOST.md`).
pub const MAX_RESPONSE_BODY: usize = 16 << 20;

/// Guest HTTP to the sidecar; every other call goes to `inner`.
pub struct WithOutbound {
    inner: Arc<dyn DaprHost>,
    /// `127.0.0.1:<port>`: the one authority a guest URL may name.
    authority: String,
    client: Client<HttpConnector, Full<Bytes>>,
    runtime: Handle,
    /// `DAPR_API_TOKEN`, sent as `dapr-api-token` when set.
    token: Option<String>,
}

impl std::fmt::Debug for WithOutbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithOutbound")
            .field("authority", &self.authority)
            .finish()
    }
}

impl WithOutbound {
    /// Outbound HTTP to daprd's HTTP API on loopback `port`, in front of `inner`.
    pub fn new(inner: Arc<dyn DaprHost>, port: u16, runtime: Handle) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            inner,
            authority: format!("127.0.0.1:{port}"),
            client: Client::builder(TokioExecutor::new()).build(connector),
            runtime,
            token: crate::token::dapr_api_token().map(str::to_owned),
        }
    }

    /// The URL to send, or why it is refused (`runtimes/HOST.md`): a path
    /// goes to the sidecar; an absolute URL must be plain http with exactly
    /// the sidecar's authority. The checks run on the parsed URI, the one
    /// the client dials, so user info (`http://127.0.0.1:1@other.host/`),
    /// another port or another spelling of the address never passes.
    fn resolve(&self, url: &str) -> Result<Uri, HostError> {
        let target = if url.starts_with('/') {
            format!("http://{}{url}", self.authority)
        } else {
            url.to_owned()
        };
        let uri: Uri = target.parse().map_err(|_| HostError::NotPermitted)?;
        let authority = uri.authority().map(|a| a.as_str());
        if uri.scheme_str() != Some("http") || authority != Some(self.authority.as_str()) {
            return Err(HostError::NotPermitted);
        }
        Ok(uri)
    }
}

impl DaprHost for WithOutbound {
    blueprint_runtime_api::forward_dapr_host!(self.inner => state_get, state_get_bulk, state_set, state_delete, publish, invoke_binding, log);

    fn http_request(&self, request: &OutboundRequest<'_>) -> Result<OutboundResponse, HostError> {
        let url = self.resolve(request.url)?;
        let mut builder = Request::builder().method(request.method).uri(url.clone());
        for (name, value) in &request.headers {
            builder = builder.header(*name, *value);
        }
        let mut req = builder
            .body(Full::new(Bytes::copy_from_slice(request.body)))
            .map_err(|e| HostError::Unavailable(format!("building {} {url}: {e}", request.method)))?;
        if let Some(token) = &self.token {
            // The host's token replaces any the guest wrote: guests never see it.
            let value = hyper::header::HeaderValue::from_str(token)
                .map_err(|e| HostError::Unavailable(format!("{}: {e}", crate::token::DAPR_API_TOKEN_ENV)))?;
            req.headers_mut().insert(crate::token::HEADER, value);
        }
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
                let announced = resp.headers().get(hyper::header::CONTENT_LENGTH);
                if let Some(len) = announced.and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                    && len > MAX_RESPONSE_BODY as u64
                {
                    anyhow::bail!("response body of {len} bytes is over the {MAX_RESPONSE_BODY}-byte limit");
                }
                // Redirects are not followed (the legacy client never does):
                // the guest gets the 3xx itself.
                let body = Limited::new(resp.into_body(), MAX_RESPONSE_BODY)
                    .collect()
                    .await
                    .map_err(|e| anyhow::anyhow!("reading the response: {e}"))?
                    .to_bytes()
                    .to_vec();
                anyhow::Ok(OutboundResponse {
                    status,
                    headers,
                    body,
                })
            };
            let limit =
                crate::deadline::remaining().map_or(REQUEST_TIMEOUT, |left| left.min(REQUEST_TIMEOUT));
            match tokio::time::timeout(limit, work).await {
                Ok(Ok(response)) => Ok(response),
                Ok(Err(err)) => Err(HostError::Unavailable(format!(
                    "{} {url}: {err:#}",
                    request.method
                ))),
                Err(_) => {
                    crate::deadline::note_expired_if_due();
                    Err(HostError::Unavailable(format!(
                        "{} {url}: no answer within {limit:?}",
                        request.method
                    )))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blueprint_runtime_api::NoDapr;

    #[test]
    fn only_paths_and_urls_naming_exactly_the_sidecar_pass() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let out = WithOutbound::new(Arc::new(NoDapr), 3500, rt.handle().clone());
        assert_eq!(
            out.resolve("/v1.0/state/s").unwrap().to_string(),
            "http://127.0.0.1:3500/v1.0/state/s"
        );
        assert_eq!(
            out.resolve("http://127.0.0.1:3500/x?y=1").unwrap().to_string(),
            "http://127.0.0.1:3500/x?y=1"
        );
        for refused in [
            "http://example.com/",
            "https://127.0.0.1:3500/",
            "v1.0/state",
            "http://127.0.0.10/",
            "http://127.0.0.1:1@other.host/",
            "http://127.0.0.1:3500@other.host/",
            "http://user@127.0.0.1:3500/",
            "http://127.0.0.1:9/x",
            "http://127.0.0.1/x",
            "http://127.0.0.1:03500/x",
            "http://localhost:3500/x",
            "http://127.1:3500/x",
            "http://[::1]:3500/x",
        ] {
            assert_eq!(out.resolve(refused), Err(HostError::NotPermitted), "{refused}");
        }
    }

    /// A sidecar on loopback that answers one connection with `answer` and
    /// hands back the request head it got.
    fn sidecar(answer: Vec<u8>) -> (u16, std::sync::mpsc::Receiver<String>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let _ = tx.send(String::from_utf8_lossy(&head).into_owned());
            let _ = conn.write_all(&answer);
        });
        (port, rx)
    }

    fn get(out: &WithOutbound, url: &str) -> Result<OutboundResponse, HostError> {
        out.http_request(&OutboundRequest {
            method: "GET",
            url,
            headers: vec![("dapr-api-token", "the guest's own")],
            body: b"",
        })
    }

    #[test]
    fn redirects_reach_the_guest_and_the_token_is_the_hosts() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (port, head) = sidecar(
            b"HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:1/elsewhere\r\ncontent-length: 0\r\n\r\n"
                .to_vec(),
        );
        let mut out = WithOutbound::new(Arc::new(NoDapr), port, rt.handle().clone());
        out.token = Some("to-daprd".into());
        let response = get(&out, "/v1.0/state/s/k").unwrap();
        assert_eq!(response.status, 302);
        let head = head.recv().unwrap().to_ascii_lowercase();
        assert!(head.contains("dapr-api-token: to-daprd\r\n"), "{head}");
        assert!(!head.contains("the guest's own"), "{head}");
    }

    #[test]
    fn response_bodies_over_16_mib_fail_the_call() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        // Announced: refused from the head.
        let (port, _) = sidecar(
            format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
                MAX_RESPONSE_BODY + 1
            )
            .into_bytes(),
        );
        let out = WithOutbound::new(Arc::new(NoDapr), port, rt.handle().clone());
        let began = std::time::Instant::now();
        assert!(matches!(get(&out, "/big"), Err(HostError::Unavailable(m)) if m.contains("limit")));
        assert!(began.elapsed() < Duration::from_secs(5));
        // Streamed without a length: cut off as read.
        let mut chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..17 {
            chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            chunked.extend_from_slice(&chunk);
            chunked.extend_from_slice(b"\r\n");
        }
        chunked.extend_from_slice(b"0\r\n\r\n");
        let (port, _) = sidecar(chunked);
        let out = WithOutbound::new(Arc::new(NoDapr), port, rt.handle().clone());
        assert!(
            matches!(get(&out, "/big"), Err(HostError::Unavailable(m)) if m.contains("length limit") || m.contains("limit"))
        );
        // Exactly at the limit is fine.
        let mut body = format!("HTTP/1.1 200 OK\r\ncontent-length: {MAX_RESPONSE_BODY}\r\n\r\n").into_bytes();
        body.resize(body.len() + MAX_RESPONSE_BODY, b'y');
        let (port, _) = sidecar(body);
        let out = WithOutbound::new(Arc::new(NoDapr), port, rt.handle().clone());
        assert_eq!(get(&out, "/ok").unwrap().body.len(), MAX_RESPONSE_BODY);
    }
}
