//! The trivial native app behind the middleware cells
//! (`blueprint-bench echo`): it answers every request with the body it got,
//! so a client sees what the middleware in daprd's pipeline made of the
//! request. It also returns the `x-blueprint-workload` request header, the
//! mark a middleware guest sets when it ran (`workloads/ABI.md`).
//!
//! Like the hosts (`runtimes/HOST.md`, "Tokens"), it refuses with 401 every
//! request without `dapr-api-token: <APP_API_TOKEN>` when that variable is
//! set, so only its own daprd can drive it.

use std::convert::Infallible;
use std::net::SocketAddr;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

use blueprint_load::net::ensure_loopback;

/// The header a middleware guest adds to mark that it ran.
pub const MARK_HEADER: &str = "x-blueprint-workload";

/// `blueprint-bench echo`.
#[derive(Debug, Clone, clap::Args)]
pub struct EchoArgs {
    /// Loopback address to serve on.
    #[arg(long)]
    pub listen: SocketAddr,
}

/// Serves until SIGTERM/SIGINT.
///
/// # Errors
/// A non-loopback address or a port in use.
pub async fn serve(args: EchoArgs) -> Result<()> {
    ensure_loopback(&args.listen)?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let token: Option<std::sync::Arc<str>> = blueprint_host::token::app_api_token_from_env().map(Into::into);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let token = token.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| echo(token.clone(), req));
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            _ = term.recv() => return Ok(()),
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

async fn echo(
    token: Option<std::sync::Arc<str>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if let Some(expected) = token.as_deref() {
        let given = req
            .headers()
            .get(blueprint_host::token::HEADER)
            .map(|v| v.as_bytes());
        if !given.is_some_and(|given| blueprint_host::token::matches(expected, given)) {
            let mut resp = Response::new(Full::new(Bytes::from_static(
                b"missing or wrong `dapr-api-token` header",
            )));
            *resp.status_mut() = StatusCode::UNAUTHORIZED;
            return Ok(resp);
        }
    }
    let mark = req.headers().get(MARK_HEADER).cloned();
    let body = match req.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(err) => {
            let mut resp = Response::new(Full::new(Bytes::from(err.to_string())));
            *resp.status_mut() = StatusCode::BAD_REQUEST;
            return Ok(resp);
        }
    };
    let mut resp = Response::new(Full::new(body));
    if let Some(mark) = mark {
        resp.headers_mut().insert(MARK_HEADER, mark);
    }
    Ok(resp)
}

/// A running echo app.
#[derive(Debug)]
pub struct EchoApp {
    child: crate::process::ChildGuard,
    /// Its port.
    pub port: u16,
    /// From spawn to answering.
    pub startup: std::time::Duration,
}

impl EchoApp {
    /// Starts `<program> echo` on loopback `port`, its log in `dir`, and
    /// waits until it answers; with `app_token`, it demands that token.
    ///
    /// # Errors
    /// It exits or does not answer within 10 s.
    pub async fn start(
        program: &std::path::Path,
        port: u16,
        dir: &std::path::Path,
        app_token: Option<&str>,
        cpus: &[usize],
    ) -> Result<Self> {
        let mut cmd = std::process::Command::new(program);
        cmd.args(["echo", "--listen", &format!("127.0.0.1:{port}")]);
        if let Some(token) = app_token {
            cmd.env(blueprint_host::token::APP_API_TOKEN_ENV, token);
        }
        let started = std::time::Instant::now();
        crate::pinning::run_on(&mut cmd, cpus)?;
        let mut child = crate::process::ChildGuard::spawn("echo", cmd, &dir.join("echo.log"))?;
        let client = app_token.map_or_else(
            crate::http::ControlClient::default,
            crate::http::ControlClient::with_api_token,
        );
        loop {
            if let Some(status) = child.exited() {
                anyhow::bail!(
                    "the echo app exited during start-up ({status}):\n{}",
                    child.log_tail(10)
                );
            }
            if crate::process::owns_listener(child.pid(), port)
                && client
                    .get(
                        &format!("http://127.0.0.1:{port}/"),
                        std::time::Duration::from_secs(1),
                    )
                    .await
                    .is_ok_and(|r| r.status.is_success())
            {
                return Ok(Self {
                    child,
                    port,
                    startup: started.elapsed(),
                });
            }
            if started.elapsed() > std::time::Duration::from_secs(10) {
                anyhow::bail!("the echo app did not answer within 10 s:\n{}", child.log_tail(10));
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Its process id (for meters).
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// Stops it (also done on drop).
    pub fn stop(mut self) {
        self.child.stop();
    }
}
