//! The `component` flavour: the workload as a `wasi:http/proxy` component,
//! the shape a WASI 0.2 HTTP microservice is deployed in (`wasmtime serve`,
//! and the platforms built on it), rather than a core module behind our own
//! host's ABI.
//!
//! - **Incoming.** `POST` (any path) runs the handler on the body: `200` with
//!   the answer, `422` with the message when the workload refuses (as the
//!   hosts answer, `runtimes/HOST.md`). A body over [`MAX_BODY`] is `413`;
//!   any other method is `405`, which readiness probes may use.
//! - **Outgoing.** Dapr calls go to Dapr's HTTP API through
//!   `wasi:http/outgoing-handler`, by the same request building as the
//!   `http` flavour ([`crate::http_api`]). Where daprd is comes from the
//!   environment, as for any Dapr app: `DAPR_HTTP_PORT` on 127.0.0.1, and
//!   `DAPR_API_TOKEN` sent as `dapr-api-token` when set.
//!
//! A component instance serves one request (the proxy world's contract on
//! `wasmtime serve`), so nothing here outlives a request.

pub use wasip2;
pub use wasip2::exports::http::incoming_handler::Guest;
pub use wasip2::http::types::{IncomingRequest, ResponseOutparam};

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    Fields, IncomingBody, InputStream, Method, OutgoingBody, OutgoingRequest, OutgoingResponse, Scheme,
};
use wasip2::io::streams::StreamError;

use crate::http_api::{Response, Transport};

/// The largest request body served, as the Rust host's limit (64 MiB).
pub const MAX_BODY: usize = 64 << 20;

/// `UNAVAILABLE` of the ABI: daprd could not be reached.
const UNAVAILABLE: i64 = -4;

/// Serves one incoming request with `handler` (see the module's text).
pub fn serve(request: IncomingRequest, out: ResponseOutparam, handler: fn(&[u8]) -> Result<Vec<u8>, String>) {
    let (status, body) = match request.method() {
        Method::Post => match read_request(request) {
            Some(input) => match handler(&input) {
                Ok(answer) => (200, answer),
                Err(message) => (422, message.into_bytes()),
            },
            None => (413, b"request body over the limit".to_vec()),
        },
        _ => (405, b"POST only".to_vec()),
    };
    respond(out, status, &body);
}

/// The request's body, or `None` when it is over [`MAX_BODY`].
fn read_request(request: IncomingRequest) -> Option<Vec<u8>> {
    let body = request.consume().ok()?;
    let bytes = read_all(&body.stream().ok()?, MAX_BODY);
    // The stream is a child of the body: it went out of scope first.
    IncomingBody::finish(body);
    bytes
}

/// Everything `stream` yields, or `None` past `limit` bytes.
fn read_all(stream: &InputStream, limit: usize) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > limit {
                    return None;
                }
            }
            Err(StreamError::Closed) => return Some(bytes),
            Err(StreamError::LastOperationFailed(_)) => return Some(bytes),
        }
    }
}

fn respond(out: ResponseOutparam, status: u16, body: &[u8]) {
    let headers = Fields::new();
    // An error here only means the name or value is invalid, and both are fixed.
    let _ = headers.append("content-type", b"application/octet-stream");
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(status);
    let Ok(outgoing) = response.body() else {
        return;
    };
    ResponseOutparam::set(out, Ok(response));
    if let Ok(stream) = outgoing.write() {
        write_all(&stream, body);
    }
    let _ = OutgoingBody::finish(outgoing, None);
}

/// Writes `bytes` in the chunks `blocking_write_and_flush` takes (4096).
fn write_all(stream: &wasip2::io::streams::OutputStream, bytes: &[u8]) -> bool {
    bytes
        .chunks(4096)
        .all(|chunk| stream.blocking_write_and_flush(chunk).is_ok())
}

/// Dapr's HTTP API through `wasi:http/outgoing-handler`.
#[derive(Debug)]
pub struct Outgoing {
    /// `127.0.0.1:<DAPR_HTTP_PORT>`.
    authority: String,
    /// `DAPR_API_TOKEN`, when set.
    token: Option<String>,
}

impl Outgoing {
    /// daprd's address and token from the environment (`DAPR_HTTP_PORT`,
    /// default 3500 as Dapr's SDKs; `DAPR_API_TOKEN`).
    pub fn from_env() -> Self {
        let port = std::env::var("DAPR_HTTP_PORT").unwrap_or_else(|_| "3500".to_owned());
        Self {
            authority: format!("127.0.0.1:{port}"),
            token: std::env::var("DAPR_API_TOKEN").ok().filter(|t| !t.is_empty()),
        }
    }
}

impl Transport for Outgoing {
    fn request(&self, method: &str, url: &str, headers: &str, body: &[u8]) -> Result<Response, i64> {
        let fields = Fields::new();
        for line in headers.lines() {
            if let Some((name, value)) = line.split_once(':') {
                fields
                    .append(&name.trim().to_ascii_lowercase(), value.trim().as_bytes())
                    .map_err(|_| UNAVAILABLE)?;
            }
        }
        // A known length, so the body is not sent chunked (a GET then carries
        // no body at all).
        if !body.is_empty() {
            fields
                .append("content-length", body.len().to_string().as_bytes())
                .map_err(|_| UNAVAILABLE)?;
        }
        if let Some(token) = &self.token {
            fields
                .append("dapr-api-token", token.as_bytes())
                .map_err(|_| UNAVAILABLE)?;
        }
        let request = OutgoingRequest::new(fields);
        let method = match method {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            other => Method::Other(other.to_owned()),
        };
        let set = request.set_method(&method).is_ok()
            && request.set_scheme(Some(&Scheme::Http)).is_ok()
            && request.set_authority(Some(&self.authority)).is_ok()
            && request.set_path_with_query(Some(url)).is_ok();
        if !set {
            return Err(UNAVAILABLE);
        }
        let outgoing = request.body().map_err(|_| UNAVAILABLE)?;
        // Sent first, written after: the host may take the body only once the
        // request is under way.
        let future = outgoing_handler::handle(request, None).map_err(|_| UNAVAILABLE)?;
        if !body.is_empty() {
            let stream = outgoing.write().map_err(|_| UNAVAILABLE)?;
            if !write_all(&stream, body) {
                return Err(UNAVAILABLE);
            }
        }
        OutgoingBody::finish(outgoing, None).map_err(|_| UNAVAILABLE)?;
        future.subscribe().block();
        let incoming = match future.get() {
            Some(Ok(Ok(response))) => response,
            _ => return Err(UNAVAILABLE),
        };
        let status = u32::from(incoming.status());
        let headers = incoming
            .headers()
            .entries()
            .into_iter()
            .map(|(name, value)| {
                (
                    name.to_ascii_lowercase(),
                    String::from_utf8_lossy(&value).into_owned(),
                )
            })
            .collect();
        let body = incoming.consume().map_err(|_| UNAVAILABLE)?;
        let bytes = {
            let stream = body.stream().map_err(|_| UNAVAILABLE)?;
            read_all(&stream, MAX_BODY).ok_or(UNAVAILABLE)?
        };
        wasip2::http::types::IncomingBody::finish(body);
        Ok(Response {
            status,
            headers,
            body: bytes,
        })
    }
}
