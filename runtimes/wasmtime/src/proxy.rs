//! `wasi:http/proxy` components on Wasmtime, served by our host: the
//! `standalone-wasi-http` mode's own server, against which `wasmtime serve`
//! itself is measured.
//!
//! - **Engine settings as `embedded`'s**: Cranelift, the pooling allocator,
//!   epoch interruption for the call time limit, the same memory cap; plus
//!   the component model, which a proxy component needs.
//! - **An instance per request**, as `wasmtime serve` does for WASIp2
//!   components: [`ProxyPre`] resolves the imports once, so a request pays
//!   the instantiation only.
//! - **WASI as `wasmtime serve -S cli`**: every WASI 0.2 interface plus
//!   `wasi:http`, and the environment the host is given for its guests
//!   (`DAPR_HTTP_PORT`, `DAPR_API_TOKEN`), no stdio, no files, no sockets.
//! - **Outgoing requests reach daprd only**: `wasi:http/outgoing-handler`
//!   refuses any other authority with `HTTP-request-denied` before it
//!   connects (`wasmtime serve` has no such restriction), and they carry a
//!   `Host` header, which Wasmtime 48 leaves out.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use blueprint_runtime_api::{Limits, RuntimeError, RuntimeInfo};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimits,
    StoreLimitsBuilder,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::{
    RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

/// Concurrent component instances the pool holds (as `embedded`'s pool).
const POOL_INSTANCES: u32 = 256;
/// Core instances, memories and tables a component may hold: a Rust WASIp2
/// component is its module plus a few adapter shims.
const PER_COMPONENT: u32 = 8;

/// The engine `wasi:http/proxy` components are compiled and run on.
pub struct ProxyRuntime {
    engine: Engine,
    limits: Limits,
}

impl ProxyRuntime {
    /// An engine with `embedded`'s settings and the component model.
    ///
    /// # Errors
    /// An engine configuration Wasmtime rejects.
    pub fn new(limits: &Limits) -> Result<Self, RuntimeError> {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(POOL_INSTANCES)
            .total_core_instances(POOL_INSTANCES * PER_COMPONENT)
            .total_memories(POOL_INSTANCES * PER_COMPONENT)
            .total_tables(POOL_INSTANCES * PER_COMPONENT)
            .max_memory_size(limits.max_memory_pages as usize * 65536);
        let mut cfg = Config::new();
        cfg.epoch_interruption(true)
            .wasm_component_model(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&cfg).map_err(|e| RuntimeError::Config(format!("{e:#}")))?;
        crate::start_epoch_ticker(&engine, "wasmtime-proxy-epoch")?;
        Ok(Self {
            engine,
            limits: limits.clone(),
        })
    }

    /// What results record about this server.
    pub fn info(&self) -> RuntimeInfo {
        RuntimeInfo {
            name: crate::NAME.into(),
            version: crate::VERSION.into(),
            engine: "cranelift+pooling, wasi:http".into(),
        }
    }

    /// Compiles a `wasi:http/proxy` component and resolves its imports.
    /// `env` is its environment; `dapr_authority` (`127.0.0.1:<port>`) the
    /// one authority its outgoing requests may reach (none without it).
    ///
    /// # Errors
    /// Not a component, or one that does not compile, does not export
    /// `wasi:http/incoming-handler`, or imports what WASI 0.2 does not have.
    pub fn compile(
        &self,
        wasm: &[u8],
        env: Vec<(String, String)>,
        dapr_authority: Option<String>,
    ) -> Result<ProxyComponent, RuntimeError> {
        let component =
            Component::new(&self.engine, wasm).map_err(|e| RuntimeError::Compile(format!("{e:#}")))?;
        let mut linker = Linker::<ProxyState>::new(&self.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| RuntimeError::Config(format!("WASI: {e:#}")))?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(|e| RuntimeError::Config(format!("wasi:http: {e:#}")))?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| RuntimeError::Instantiate(format!("{e:#}")))?;
        let pre = ProxyPre::new(pre)
            .map_err(|e| RuntimeError::Abi(format!("not a wasi:http/proxy component: {e:#}")))?;
        Ok(ProxyComponent {
            pre,
            env: Arc::new(env),
            dapr_authority: Arc::new(dapr_authority),
            limits: self.limits.clone(),
        })
    }
}

/// Whether `wasm` is a component rather than a core module (its layer field).
pub fn is_component(wasm: &[u8]) -> bool {
    wasm.len() >= 8 && wasm[..4] == *b"\0asm" && wasm[6..8] == [1, 0]
}

/// A compiled proxy component, ready to serve requests.
#[derive(Clone)]
pub struct ProxyComponent {
    pre: ProxyPre<ProxyState>,
    env: Arc<Vec<(String, String)>>,
    dapr_authority: Arc<Option<String>>,
    limits: Limits,
}

/// One answered request.
#[derive(Debug)]
pub struct ProxyReply {
    /// The component's status code.
    pub status: u16,
    /// Its `content-type`, if any.
    pub content_type: Option<String>,
    /// Its whole body.
    pub body: Bytes,
    /// Creating the instance.
    pub instantiate: Duration,
    /// From the handler's call to the end of the body.
    pub call: Duration,
}

/// Why a request got no answer from the component.
#[derive(Debug)]
pub enum ProxyError {
    /// The call's time limit passed.
    Timeout,
    /// The guest trapped (its message).
    Trap(String),
    /// The instance could not be made, or the guest never answered.
    Failed(String),
}

impl ProxyComponent {
    /// Serves one request: a fresh instance, its `handle`, and its whole
    /// answer, within the call time limit. `body` is at most `max_body`.
    ///
    /// # Errors
    /// See [`ProxyError`].
    pub async fn handle(&self, parts: http::request::Parts, body: Bytes) -> Result<ProxyReply, ProxyError> {
        self.handle_keeping(parts, body)
            .await
            .map(|(reply, _instance)| reply)
    }

    /// As [`handle`](Self::handle), and gives back the instance that served
    /// the request instead of dropping it: what `instance-rss` keeps alive
    /// to measure the memory of one served instance.
    ///
    /// # Errors
    /// See [`ProxyError`].
    pub async fn handle_keeping(
        &self,
        parts: http::request::Parts,
        body: Bytes,
    ) -> Result<(ProxyReply, ServedInstance), ProxyError> {
        let deadline = self.limits.call_timeout;
        match tokio::time::timeout(deadline, self.handle_unbounded(parts, body)).await {
            Ok(result) => result,
            Err(_) => Err(ProxyError::Timeout),
        }
    }

    async fn handle_unbounded(
        &self,
        parts: http::request::Parts,
        body: Bytes,
    ) -> Result<(ProxyReply, ServedInstance), ProxyError> {
        let mut wasi = WasiCtx::builder();
        wasi.envs(&self.env);
        let mut store = Store::new(
            self.pre.engine(),
            ProxyState {
                table: ResourceTable::new(),
                wasi: wasi.build(),
                http: WasiHttpCtx::new(),
                hooks: OnlyDaprd {
                    authority: self.dapr_authority.clone(),
                },
                limits: StoreLimitsBuilder::new()
                    .memory_size(self.limits.max_memory_pages as usize * 65536)
                    .build(),
            },
        );
        store.limiter(|s| &mut s.limits);
        // The epoch deadline traps a guest that computes past the limit; the
        // timeout around this future ends one that waits (on daprd, say).
        let ticks = (self.limits.call_timeout.as_millis() / crate::EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();

        let body =
            Full::new(body).map_err(|never: Infallible| -> wasmtime_wasi_http::Error { match never {} });
        let request = http::Request::from_parts(parts, body);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let (request, out) = {
            let mut http = store.data_mut().http();
            let request = http
                .new_incoming_request(Scheme::Http, request)
                .map_err(|e| ProxyError::Failed(format!("{e:#}")))?;
            let out = http
                .new_response_outparam(sender)
                .map_err(|e| ProxyError::Failed(format!("{e:#}")))?;
            (request, out)
        };
        let started = Instant::now();
        let proxy = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| ProxyError::Failed(format!("instantiating: {e:#}")))?;
        let instantiate = started.elapsed();
        let called = Instant::now();
        // The guest runs in its own task: it writes the body after it set the
        // response, while this one reads it.
        let task = tokio::task::spawn(async move {
            let result = proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, request, out)
                .await;
            result.map(|()| store)
        });
        let response = match receiver.await {
            Ok(Ok(response)) => response,
            Ok(Err(code)) => {
                return Err(ProxyError::Failed(format!(
                    "the component answered an error: {code:?}"
                )));
            }
            Err(_) => {
                return Err(match task.await {
                    Ok(Err(e)) => ProxyError::Trap(format!("{e:#}")),
                    Ok(Ok(_)) => ProxyError::Failed("the component never set a response".into()),
                    Err(e) => ProxyError::Failed(format!("the handler task failed: {e}")),
                });
            }
        };
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_REPLY)
            .collect()
            .await
            .map_err(|e| ProxyError::Failed(format!("reading the component's answer: {e}")))?
            .to_bytes();
        let store = match task.await {
            Ok(Ok(store)) => store,
            Ok(Err(e)) => return Err(ProxyError::Trap(format!("{e:#}"))),
            Err(e) => return Err(ProxyError::Failed(format!("the handler task failed: {e}"))),
        };
        let reply = ProxyReply {
            status: parts.status.as_u16(),
            content_type: parts
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body,
            instantiate,
            call: called.elapsed(),
        };
        Ok((reply, ServedInstance(store)))
    }
}

/// A component instance after it served its request, kept alive (its
/// store, memories and tables) until dropped.
pub struct ServedInstance(#[allow(dead_code, reason = "kept for its memory, never read")] Store<ProxyState>);

/// The largest answer read from a component (as the host's request limit).
pub const MAX_REPLY: usize = 64 << 20;

/// Per-request store data.
struct ProxyState {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: OnlyDaprd,
    limits: StoreLimits,
}

impl WasiView for ProxyState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for ProxyState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// `wasi:http/outgoing-handler` to daprd's HTTP port and nowhere else.
struct OnlyDaprd {
    authority: Arc<Option<String>>,
}

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

impl WasiHttpHooks for OnlyDaprd {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let allowed = request.uri().scheme() == Some(&http::uri::Scheme::HTTP)
            && request.uri().authority().map(|a| a.as_str()) == self.authority.as_deref();
        if !allowed {
            tracing::debug!(uri = %request.uri(), "outgoing request refused: not daprd");
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        // Wasmtime 48's `wasi:http` sends no `Host` header (47 added one from
        // the authority, and `host` is forbidden to the guest), and daprd's
        // Go server refuses an HTTP/1.1 request without it (400).
        if let Some(authority) = request.uri().authority()
            && let Ok(host) = http::HeaderValue::from_str(authority.as_str())
        {
            request.headers_mut().entry(http::header::HOST).or_insert(host);
        }
        _ = fut;
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}
