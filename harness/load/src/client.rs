//! One connection of the generator: HTTP/1.1 keep-alive, a new connection
//! per request (both by the lean client of [`h1`]), or h2c (HTTP/2 with
//! prior knowledge, by hyper). Requests come from a template built once, so
//! the hot path parses and formats nothing.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2;
use hyper::header::{HOST, HeaderMap};
use hyper::http::request::Parts;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use super::h1::{self, H1};
use super::record::ErrorKind;
use super::{LoadSpec, Target};

/// How long the up-front connection (the probe) may take.
const CONNECT_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The request every connection sends, and how to connect.
#[derive(Debug)]
pub(crate) struct Template {
    /// HTTP/1.1: the request on the wire.
    wire: Bytes,
    /// A HEAD request (its response has no body).
    head: bool,
    /// h2c: the request's head, cloned per request.
    parts: Parts,
    body: Bytes,
    addr: std::net::SocketAddr,
    http2: bool,
    keep_alive: bool,
}

impl Template {
    pub(crate) fn new(target: &Target, spec: &LoadSpec) -> Self {
        // The first header of a name replaces a default, later ones add.
        let mut headers = HeaderMap::new();
        for (name, value) in &target.headers {
            if headers.contains_key(name) {
                headers.append(name.clone(), value.clone());
            } else {
                headers.insert(name.clone(), value.clone());
            }
        }
        let path = target.uri.path_and_query().map_or("/", |p| p.as_str());
        let authority = target.uri.authority().map_or("localhost", |a| a.as_str());
        let wire = h1::serialize(
            &target.method,
            path,
            authority,
            &headers,
            &target.body,
            spec.new_connection_per_request,
        );
        // HTTP/2 sends the absolute URI (its :scheme and :authority).
        let mut req = Request::builder()
            .method(target.method.clone())
            .uri(target.uri.clone());
        if let Some(h) = req.headers_mut() {
            *h = headers;
            h.remove(HOST);
        }
        let (parts, ()) = req.body(()).expect("request parts are valid").into_parts();
        Self {
            wire,
            head: target.method == Method::HEAD,
            parts,
            body: target.body.clone(),
            addr: target.addr,
            http2: spec.http2,
            keep_alive: !spec.new_connection_per_request,
        }
    }

    fn h2_request(&self) -> Request<Full<Bytes>> {
        Request::from_parts(self.parts.clone(), Full::new(self.body.clone()))
    }
}

enum Conn {
    /// HTTP/1.1, by the lean client of [`h1`].
    H1(H1),
    /// h2c by hyper; the connection runs in its own task.
    H2(http2::SendRequest<Full<Bytes>>),
}

impl Conn {
    fn is_closed(&mut self) -> bool {
        match self {
            Conn::H1(c) => c.closed_by_peer(),
            Conn::H2(s) => s.is_closed(),
        }
    }
}

/// One connection slot; reconnects after errors (and after every request
/// when connections are not kept alive).
pub(crate) struct Client {
    template: Arc<Template>,
    conn: Option<Conn>,
    /// The start of the body of the last HTTP error answer (reused buffer).
    error_body: Vec<u8>,
}

impl Client {
    pub(crate) fn new(template: Arc<Template>) -> Self {
        Self {
            template,
            conn: None,
            error_body: Vec::new(),
        }
    }

    /// Connects now, for the probe before a run.
    ///
    /// # Errors
    /// The connection or the HTTP handshake failed.
    pub(crate) async fn connect_now(&mut self) -> Result<()> {
        let conn = tokio::time::timeout(CONNECT_PROBE_TIMEOUT, connect(&self.template))
            .await
            .ok()
            .context("timed out")??;
        self.conn = Some(conn);
        Ok(())
    }

    /// The start of the body of the last answer with an HTTP error status
    /// (at most [`h1::ERROR_BODY_BYTES`]): the example a report shows.
    pub(crate) fn error_body(&self) -> &[u8] {
        &self.error_body
    }

    /// Drops the connection.
    pub(crate) fn disconnect(&mut self) {
        self.conn = None;
    }

    /// Sends one request, reconnecting if needed, and reads the whole body.
    pub(crate) async fn send(&mut self) -> Result<StatusCode, ErrorKind> {
        let result = self.send_inner().await;
        // A gRPC error status is an answer: the connection stays good.
        let broken = result.as_ref().is_err_and(|e| !matches!(e, ErrorKind::Grpc(_)));
        if broken || !self.template.keep_alive {
            self.conn = None;
        }
        result
    }

    async fn send_inner(&mut self) -> Result<StatusCode, ErrorKind> {
        if self.conn.as_mut().is_some_and(Conn::is_closed) {
            self.conn = None;
        }
        let conn = match &mut self.conn {
            Some(conn) => conn,
            slot => slot.insert(connect(&self.template).await.map_err(|_| ErrorKind::Connect)?),
        };
        match conn {
            Conn::H1(c) => {
                let outcome = c.exchange(&self.template.wire, self.template.head).await?;
                if outcome.status >= 400 {
                    self.error_body.clear();
                    self.error_body.extend_from_slice(c.error_body());
                }
                if !outcome.keep_alive {
                    self.conn = None;
                }
                StatusCode::from_u16(outcome.status).map_err(|_| ErrorKind::Malformed)
            }
            Conn::H2(s) => {
                s.ready().await.map_err(|e| classify(&e))?;
                let resp = s
                    .send_request(self.template.h2_request())
                    .await
                    .map_err(|e| classify(&e))?;
                read_body(resp, &mut self.error_body).await
            }
        }
    }
}

/// Reads an h2 response to its end. A gRPC call answers HTTP 200 and puts
/// its outcome in `grpc-status`, in the trailers (or in the head of a
/// trailers-only response): anything but `0` is an error.
async fn read_body(
    resp: hyper::Response<hyper::body::Incoming>,
    error_body: &mut Vec<u8>,
) -> Result<StatusCode, ErrorKind> {
    let status = resp.status();
    let mut grpc_status = grpc_status_of(resp.headers());
    let mut body = resp.into_body();
    if status.as_u16() >= 400 {
        error_body.clear();
    }
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| ErrorKind::Body)?;
        if status.as_u16() >= 400
            && let Some(data) = frame.data_ref()
        {
            let room = h1::ERROR_BODY_BYTES.saturating_sub(error_body.len());
            error_body.extend_from_slice(&data[..room.min(data.len())]);
        }
        if let Some(trailers) = frame.trailers_ref() {
            grpc_status = grpc_status.or(grpc_status_of(trailers));
        }
    }
    match grpc_status {
        Some(0) | None => Ok(status),
        Some(code) => Err(ErrorKind::Grpc(code)),
    }
}

fn grpc_status_of(headers: &hyper::HeaderMap) -> Option<u16> {
    headers.get("grpc-status")?.to_str().ok()?.trim().parse().ok()
}

/// A worker's request deadlines on one timer that is re-armed lazily: when
/// it fires before the current request's deadline it is moved to it, so the
/// timer wheel is touched about once per timeout, not once per request.
pub(crate) struct Deadline {
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Deadline {
    pub(crate) fn new() -> Self {
        let far = tokio::time::Instant::now() + Duration::from_secs(86_400 * 365);
        Self {
            sleep: Box::pin(tokio::time::sleep_until(far)),
        }
    }

    /// Runs `work` until it completes (`Some`) or `until` passes (`None`).
    pub(crate) async fn run<F: Future>(&mut self, until: Instant, work: F) -> Option<F::Output> {
        let until = tokio::time::Instant::from_std(until);
        if self.sleep.deadline() > until {
            self.sleep.as_mut().reset(until);
        }
        let mut work = std::pin::pin!(work);
        loop {
            tokio::select! {
                biased;
                out = &mut work => return Some(out),
                () = self.sleep.as_mut() => {
                    if tokio::time::Instant::now() >= until {
                        return None;
                    }
                    self.sleep.as_mut().reset(until);
                }
            }
        }
    }
}

async fn connect(template: &Template) -> Result<Conn> {
    if !template.http2 {
        return Ok(Conn::H1(H1::connect(template.addr).await?));
    }
    let stream = TcpStream::connect(template.addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(stream))
        .await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(Conn::H2(sender))
}

fn classify(e: &hyper::Error) -> ErrorKind {
    if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
        ErrorKind::ConnectionClosed
    } else if e.is_parse() || e.is_parse_status() {
        ErrorKind::Malformed
    } else {
        ErrorKind::Io
    }
}
