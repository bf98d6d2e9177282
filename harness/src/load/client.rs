//! One connection of the generator: HTTP/1.1 keep-alive, a new connection
//! per request, or h2c (HTTP/2 with prior knowledge). Requests are cloned
//! from a template built once, so the hot path parses nothing.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper::header::{CONNECTION, HOST, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use super::record::ErrorKind;
use super::{LoadSpec, Target};

/// How long the up-front connection (the probe) may take.
const CONNECT_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The request every connection sends, and how to connect.
#[derive(Debug)]
pub(crate) struct Template {
    parts: Parts,
    body: Bytes,
    addr: std::net::SocketAddr,
    http2: bool,
    keep_alive: bool,
}

impl Template {
    pub(crate) fn new(target: &Target, spec: &LoadSpec) -> Self {
        // HTTP/1.1 sends the path and a Host header; HTTP/2 the absolute URI
        // (its :scheme and :authority pseudo-headers).
        let uri = if spec.http2 {
            target.uri.clone()
        } else {
            target.uri.path_and_query().map_or_else(
                || Uri::from_static("/"),
                |p| p.as_str().parse().expect("a path parses"),
            )
        };
        let mut req = Request::builder().method(target.method.clone()).uri(uri);
        if let Some(headers) = req.headers_mut() {
            if !spec.http2 {
                let authority = target.uri.authority().map_or("localhost", |a| a.as_str());
                headers.insert(
                    HOST,
                    HeaderValue::from_str(authority).expect("an authority is a valid header"),
                );
                if spec.new_connection_per_request {
                    headers.insert(CONNECTION, HeaderValue::from_static("close"));
                }
            }
            // The first header of a name replaces a default, later ones add.
            let mut seen = std::collections::HashSet::new();
            for (name, value) in &target.headers {
                if seen.insert(name.clone()) {
                    headers.insert(name.clone(), value.clone());
                } else {
                    headers.append(name.clone(), value.clone());
                }
            }
        }
        let (parts, ()) = req.body(()).expect("request parts are valid").into_parts();
        Self {
            parts,
            body: target.body.clone(),
            addr: target.addr,
            http2: spec.http2,
            keep_alive: !spec.new_connection_per_request,
        }
    }

    fn request(&self) -> Request<Full<Bytes>> {
        Request::from_parts(self.parts.clone(), Full::new(self.body.clone()))
    }
}

type H1Driver = http1::Connection<TokioIo<TcpStream>, Full<Bytes>>;

enum Conn {
    /// HTTP/1.1: the connection is driven by the worker's own task, polled
    /// alongside each request (no second task to wake per request).
    H1 {
        sender: http1::SendRequest<Full<Bytes>>,
        driver: Pin<Box<H1Driver>>,
    },
    /// h2c: the connection runs in its own task.
    H2(http2::SendRequest<Full<Bytes>>),
}

impl Conn {
    fn is_closed(&self) -> bool {
        match self {
            Conn::H1 { sender, .. } => sender.is_closed(),
            Conn::H2(s) => s.is_closed(),
        }
    }
}

/// One connection slot; reconnects after errors (and after every request
/// when connections are not kept alive).
pub(crate) struct Client {
    template: Arc<Template>,
    conn: Option<Conn>,
}

impl Client {
    pub(crate) fn new(template: Arc<Template>) -> Self {
        Self { template, conn: None }
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

    /// Drops the connection.
    pub(crate) fn disconnect(&mut self) {
        self.conn = None;
    }

    /// Sends one request, reconnecting if needed, and reads the whole body.
    pub(crate) async fn send(&mut self) -> Result<StatusCode, ErrorKind> {
        let result = self.send_inner().await;
        if result.is_err() || !self.template.keep_alive {
            self.conn = None;
        }
        result
    }

    async fn send_inner(&mut self) -> Result<StatusCode, ErrorKind> {
        let conn = match &mut self.conn {
            Some(conn) if !conn.is_closed() => conn,
            slot => slot.insert(connect(&self.template).await.map_err(|_| ErrorKind::Connect)?),
        };
        let req = self.template.request();
        match conn {
            Conn::H1 { sender, driver } => {
                let exchange = async {
                    sender.ready().await.map_err(|e| classify(&e))?;
                    let resp = sender.send_request(req).await.map_err(|e| classify(&e))?;
                    read_body(resp).await
                };
                tokio::select! {
                    biased;
                    result = exchange => result,
                    // The connection ended before the response did.
                    end = driver.as_mut() => Err(end.err().map_or(ErrorKind::ConnectionClosed, |e| classify(&e))),
                }
            }
            Conn::H2(s) => {
                s.ready().await.map_err(|e| classify(&e))?;
                let resp = s.send_request(req).await.map_err(|e| classify(&e))?;
                read_body(resp).await
            }
        }
    }
}

async fn read_body(resp: hyper::Response<hyper::body::Incoming>) -> Result<StatusCode, ErrorKind> {
    let status = resp.status();
    let mut body = resp.into_body();
    while let Some(frame) = body.frame().await {
        frame.map_err(|_| ErrorKind::Body)?;
    }
    Ok(status)
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
    let stream = TcpStream::connect(template.addr).await?;
    stream.set_nodelay(true)?;
    let io = TokioIo::new(stream);
    if template.http2 {
        let (sender, conn) = http2::Builder::new(TokioExecutor::new()).handshake(io).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn::H2(sender))
    } else {
        let (sender, driver) = http1::handshake(io).await?;
        Ok(Conn::H1 {
            sender,
            driver: Box::pin(driver),
        })
    }
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
