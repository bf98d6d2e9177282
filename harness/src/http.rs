//! A small HTTP/1.1 client for control traffic (health checks, reading state
//! back, single requests). Load traffic has its own engine in [`blueprint_load`].

use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// A keep-alive client for loopback control requests.
#[derive(Clone, Debug)]
pub struct ControlClient {
    inner: Client<HttpConnector, Full<Bytes>>,
    /// Sent as `dapr-api-token` with every request, when set.
    token: Option<hyper::header::HeaderValue>,
}

impl Default for ControlClient {
    fn default() -> Self {
        Self {
            inner: Client::builder(TokioExecutor::new()).build_http(),
            token: None,
        }
    }
}

/// A status and body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// Whole body.
    pub body: Bytes,
    /// Response headers.
    pub headers: hyper::HeaderMap,
}

impl Reply {
    /// The body as text (lossy), for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl ControlClient {
    /// A client that sends `token` as `dapr-api-token` with every request
    /// (daprd's `DAPR_API_TOKEN`, or a host's `APP_API_TOKEN`).
    pub fn with_api_token(token: &str) -> Self {
        Self {
            token: hyper::header::HeaderValue::from_str(token).ok(),
            ..Self::default()
        }
    }

    /// Sends one request and reads the whole reply, within `timeout`.
    ///
    /// # Errors
    /// Connection failures and the timeout, with the URL named.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        content_type: Option<&str>,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Reply> {
        let mut req = Request::builder().method(method.clone()).uri(url);
        if let Some(ct) = content_type {
            req = req.header(hyper::header::CONTENT_TYPE, ct);
        }
        if let Some(token) = &self.token {
            req = req.header(blueprint_host::token::HEADER, token);
        }
        let req = req
            .body(Full::new(body))
            .with_context(|| format!("building request to {url}"))?;
        let work = async {
            let resp = self.inner.request(req).await?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let body = resp.into_body().collect().await?.to_bytes();
            anyhow::Ok(Reply {
                status,
                body,
                headers,
            })
        };
        tokio::time::timeout(timeout, work)
            .await
            .with_context(|| format!("{method} {url} timed out after {timeout:?}"))?
            .with_context(|| format!("{method} {url}"))
    }

    /// `GET url`.
    ///
    /// # Errors
    /// As [`ControlClient::send`].
    pub async fn get(&self, url: &str, timeout: Duration) -> Result<Reply> {
        self.send(Method::GET, url, None, Bytes::new(), timeout).await
    }

    /// `POST url` with a body.
    ///
    /// # Errors
    /// As [`ControlClient::send`].
    pub async fn post(&self, url: &str, body: impl Into<Bytes>, timeout: Duration) -> Result<Reply> {
        self.send(
            Method::POST,
            url,
            Some("application/octet-stream"),
            body.into(),
            timeout,
        )
        .await
    }

    /// `POST url` with the body sent chunked (no `Content-Length`), on a
    /// connection of its own: what daprd's Wasm middleware needs to change a
    /// request body's length.
    ///
    /// # Errors
    /// As [`ControlClient::send`].
    pub async fn post_chunked(url: &str, body: impl Into<Bytes>, timeout: Duration) -> Result<Reply> {
        Self::default().send_chunked(url, body, timeout).await
    }

    /// [`ControlClient::post_chunked`] with this client's token.
    ///
    /// # Errors
    /// As [`ControlClient::send`].
    pub async fn send_chunked(&self, url: &str, body: impl Into<Bytes>, timeout: Duration) -> Result<Reply> {
        let uri: hyper::Uri = url.parse().with_context(|| format!("`{url}` is not a URL"))?;
        let authority = uri.authority().context("URL without host")?.clone();
        let body = body.into();
        let work = async {
            let stream = tokio::net::TcpStream::connect(authority.as_str()).await?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            // A stream body has no exact size, so hyper frames it as chunks.
            let frames = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(
                hyper::body::Frame::data(body),
            )]);
            let mut req = Request::builder()
                .method(Method::POST)
                .uri(uri.path_and_query().map_or("/", |p| p.as_str()))
                .header(hyper::header::HOST, authority.as_str());
            if let Some(token) = &self.token {
                req = req.header(blueprint_host::token::HEADER, token);
            }
            let req = req.body(http_body_util::StreamBody::new(frames))?;
            let resp = sender.send_request(req).await?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let body = resp.into_body().collect().await?.to_bytes();
            anyhow::Ok(Reply {
                status,
                body,
                headers,
            })
        };
        tokio::time::timeout(timeout, work)
            .await
            .with_context(|| format!("POST {url} timed out after {timeout:?}"))?
            .with_context(|| format!("POST {url}"))
    }
}
