//! What the generator sends: one loopback HTTP endpoint, checked before any
//! connection is made.

use std::net::SocketAddr;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use hyper::{Method, Uri};

use crate::net::{LOOPBACK, ensure_loopback};

/// What to send.
#[derive(Debug, Clone)]
pub struct Target {
    /// Full URL (`http://127.0.0.1:port/path`).
    pub uri: Uri,
    /// Resolved loopback address.
    pub addr: SocketAddr,
    /// Method.
    pub method: Method,
    /// Extra headers (a `Host` here replaces the default one).
    pub headers: Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>,
    /// Body of every request.
    pub body: Bytes,
}

impl Target {
    /// Parses `url` and checks that it is plain HTTP to a loopback address.
    ///
    /// # Errors
    /// A malformed URL, another scheme, a host name that is not loopback.
    pub fn new(url: &str, method: Method, body: Bytes) -> Result<Self> {
        let uri: Uri = url
            .parse()
            .with_context(|| format!("`{url}` is not a valid URL"))?;
        if uri.scheme_str() != Some("http") {
            bail!("`{url}`: only http:// URLs are supported");
        }
        let host = uri.host().with_context(|| format!("`{url}` has no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ip = if host == "localhost" {
            LOOPBACK
        } else {
            host.parse().with_context(|| {
                format!("`{url}`: host `{host}` is neither an IP address nor localhost (only loopback targets are allowed)")
            })?
        };
        let addr = SocketAddr::new(ip, uri.port_u16().unwrap_or(80));
        ensure_loopback(&addr)?;
        Ok(Self {
            uri,
            addr,
            method,
            headers: Vec::new(),
            body,
        })
    }
}
