//! Serves a Wasm module over loopback HTTP, for daprd's `url: http://…`
//! module source (the talk's provisioning variations; daprd has no OCI
//! source). In process: it only has to outlive daprd's start-up.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A running module server; stops when dropped.
#[derive(Debug)]
pub struct ModuleServer {
    task: JoinHandle<()>,
    /// The module's URL.
    pub url: String,
}

impl ModuleServer {
    /// Serves the bytes of `module` at `http://127.0.0.1:<port>/<file name>`.
    ///
    /// # Errors
    /// The file cannot be read or no port bound.
    pub async fn start(module: &Path) -> Result<Self> {
        let bytes =
            Bytes::from(std::fs::read(module).with_context(|| format!("reading {}", module.display()))?);
        let listener = TcpListener::bind(SocketAddr::from((blueprint_load::net::LOOPBACK, 0))).await?;
        let name = module
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("module.wasm")
            .to_owned();
        let url = format!("http://{}/{name}", listener.local_addr()?);
        let path = format!("/{name}");
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (bytes, path) = (bytes.clone(), path.clone());
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                            let (bytes, path) = (bytes.clone(), path.clone());
                            async move {
                                let mut resp = Response::new(Full::new(Bytes::new()));
                                if req.uri().path() == path {
                                    *resp.body_mut() = Full::new(bytes);
                                } else {
                                    *resp.status_mut() = StatusCode::NOT_FOUND;
                                }
                                Ok::<_, std::convert::Infallible>(resp)
                            }
                        });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { task, url })
    }
}

impl Drop for ModuleServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
