//! Wasmer adapter: the guest ABI on Wasmer's `sys` engine, with the Cranelift
//! compiler (default) or Singlepass.
//!
//! - One [`wasmer::Engine`] per runtime, built for the chosen [`Backend`]
//!   with capped-memory tunables (`src/tunables.rs`).
//! - Wasmer has no pooling allocator and no pre-linked instances: every
//!   instance gets its own [`Store`] (so dropping the instance frees it) and
//!   its own host functions. `compile` resolves and type-checks the module's
//!   imports once, so instantiation only creates what the module imports.
//! - Memory caps lower each memory's maximum (`src/tunables.rs`): a guest
//!   growing past the cap sees `memory.grow` return `-1`.
//! - The call time limit is real interruption, not fuel: a watchdog thread
//!   stops a store past its deadline through Wasmer's signal-based
//!   [`wasmer::Interrupter`] (`src/watchdog.rs` says how exact it is).
//! - ABI guests get a minimal in-crate WASI preview 1 (`src/imports.rs`
//!   says why not `wasmer-wasix`). WASI commands (`wasi-run`) get Wasmer's
//!   own `wasmer-wasix` with the `wasix` feature (`src/wasix.rs`), this
//!   crate's command-mode subset without it (`src/command.rs`):
//!   [`COMMAND_WASI`] says which.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use blueprint_runtime_api::abi::{self, HostState, PackedResponse};
use blueprint_runtime_api::{
    CallError, DaprHost, Instance, Limits, Module, Runtime, RuntimeConfig, RuntimeError, RuntimeInfo,
    TrapKind,
};
use wasmer::sys::vm::TrapCode;
use wasmer::sys::{Cranelift, EngineBuilder, Singlepass};
use wasmer::{
    Engine, ExternType, FunctionEnv, FunctionType, Imports, InstantiationError, Interrupter, Memory, Store,
    Type, TypedFunction,
};

#[cfg(not(feature = "wasix"))]
mod command;
mod imports;
mod tunables;
#[cfg(feature = "wasix")]
mod wasix;
mod watchdog;

pub use imports::ProcExit;

use imports::Env;
use tunables::CappedTunables;
use watchdog::{ImportGate, Interrupt, Watchdog, WatchdogHandle};

/// The runtime's name in scenarios and results.
pub const NAME: &str = "wasmer";
/// The linked Wasmer version (read from Cargo.lock at build time).
pub const VERSION: &str = env!("BLUEPRINT_LOCKED_VERSION");

/// Which Wasmer compiler generates the machine code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Cranelift: optimising, the backend Wasmer uses by default.
    #[default]
    Cranelift,
    /// Singlepass: one pass, fast to compile, slower code.
    Singlepass,
}

impl Backend {
    /// Both backends, default first.
    pub const ALL: [Backend; 2] = [Backend::Cranelift, Backend::Singlepass];

    /// The engine label recorded in results (`RuntimeInfo::engine`).
    pub fn label(self) -> &'static str {
        match self {
            Backend::Cranelift => "cranelift",
            Backend::Singlepass => "singlepass",
        }
    }

    /// The engine recorded in results (`RuntimeInfo::engine`): the backend
    /// and [`WASI`], so no row credits Wasmer with this crate's WASI.
    pub fn engine(self) -> String {
        format!("{}, {WASI}", self.label())
    }

    /// The backend for an engine label, or for an [`engine`](Self::engine).
    pub fn from_label(label: &str) -> Option<Self> {
        let label = label.split(',').next().unwrap_or_default();
        Self::ALL.into_iter().find(|b| b.label() == label)
    }
}

/// Whose WASI preview 1 the guests get: this crate's own subset
/// (`src/command.rs`, `src/imports.rs`), not Wasmer's `wasmer-wasix`, so a
/// WASI figure or conformance row on Wasmer measures this code.
pub const WASI: &str = "harness WASI subset";

/// Whose WASI preview 1 WASI commands (`wasi-run`) get: Wasmer's own
/// `wasmer-wasix` with the `wasix` feature, else [`WASI`].
#[cfg(feature = "wasix")]
pub const COMMAND_WASI: &str = concat!("wasmer-wasix ", env!("BLUEPRINT_WASIX_VERSION"));
/// Whose WASI preview 1 WASI commands (`wasi-run`) get: Wasmer's own
/// `wasmer-wasix` with the `wasix` feature, else [`WASI`].
#[cfg(not(feature = "wasix"))]
pub const COMMAND_WASI: &str = WASI;

/// Wasmer with a chosen compiler, capped memories and a watchdog for the
/// call time limit.
pub struct WasmerRuntime {
    engine: Engine,
    backend: Backend,
    limits: Limits,
    watchdog: Watchdog,
}

impl WasmerRuntime {
    /// Creates an engine for `config` with the given compiler backend.
    ///
    /// # Errors
    /// A memory cap above 4 GiB (65536 pages), or the watchdog thread could
    /// not be started.
    pub fn new(config: &RuntimeConfig, backend: Backend) -> Result<Self, RuntimeError> {
        let limits = config.limits.clone();
        if limits.max_memory_pages > wasmer::WASM_MAX_PAGES {
            return Err(RuntimeError::Config(format!(
                "max_memory_pages {} exceeds the wasm32 limit of {} pages",
                limits.max_memory_pages,
                wasmer::WASM_MAX_PAGES
            )));
        }
        // Both compilers run on a rayon pool of their own, built per module.
        // Counting instructions follows the pool's threads, which is
        // repeatable with one (`RuntimeConfig::counting`); runs keep one per CPU.
        let threads = if config.counting {
            NonZeroUsize::MIN
        } else {
            std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
        };
        let mut engine = match backend {
            Backend::Cranelift => {
                let mut compiler = Cranelift::default();
                compiler.num_threads(threads);
                EngineBuilder::new(compiler).engine()
            }
            Backend::Singlepass => {
                let mut compiler = Singlepass::default();
                compiler.num_threads(threads);
                EngineBuilder::new(compiler).engine()
            }
        };
        engine.set_tunables(CappedTunables::new(limits.max_memory_pages));
        let watchdog =
            watchdog::start().map_err(|e| RuntimeError::Config(format!("watchdog thread: {e}")))?;
        Ok(Self {
            engine: engine.into(),
            backend,
            limits,
            watchdog,
        })
    }

    /// The compiler backend this runtime uses.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

impl Runtime for WasmerRuntime {
    fn info(&self) -> RuntimeInfo {
        RuntimeInfo {
            name: NAME.into(),
            version: VERSION.into(),
            engine: self.backend.engine(),
        }
    }

    fn compile(&self, wasm: &[u8]) -> Result<Arc<dyn Module>, RuntimeError> {
        let module =
            wasmer::Module::new(&self.engine, wasm).map_err(|e| RuntimeError::Compile(e.to_string()))?;
        check_exports(&module)?;
        let imports = check_imports(&self.engine, &module)?;
        Ok(Arc::new(WasmerModule {
            engine: self.engine.clone(),
            module,
            imports,
            limits: self.limits.clone(),
            watchdog: self.watchdog.handle(),
        }))
    }
}

fn func_type(params: &[Type], results: &[Type]) -> FunctionType {
    FunctionType::new(params.to_vec(), results.to_vec())
}

/// The ABI's exports, with their types.
fn check_exports(module: &wasmer::Module) -> Result<(), RuntimeError> {
    use Type::{I32, I64};
    let functions = [
        (abi::EXPORT_ABI_VERSION, func_type(&[], &[I32])),
        (abi::EXPORT_ALLOC, func_type(&[I32], &[I32])),
        (abi::EXPORT_HANDLE, func_type(&[I32, I32], &[I64])),
    ];
    let find = |name: &str| {
        module
            .exports()
            .find(|e| e.name() == name)
            .map(|e| e.ty().clone())
    };
    match find(abi::EXPORT_MEMORY) {
        Some(ExternType::Memory(_)) => {}
        Some(other) => {
            return Err(RuntimeError::Abi(format!(
                "`memory` is not a memory but {other:?}"
            )));
        }
        None => return Err(RuntimeError::Abi("module does not export `memory`".into())),
    }
    for (name, wanted) in functions {
        match find(name) {
            Some(ExternType::Function(ty)) if ty == wanted => {}
            Some(other) => {
                return Err(RuntimeError::Abi(format!(
                    "`{name}` has type {other:?}, the ABI says {wanted}"
                )));
            }
            None => return Err(RuntimeError::Abi(format!("module does not export `{name}`"))),
        }
    }
    if let Some(ty) = find(abi::EXPORT_INITIALIZE)
        && ty != ExternType::Function(func_type(&[], &[]))
    {
        return Err(RuntimeError::Abi(format!(
            "`_initialize` has type {ty:?}, expected [] -> []"
        )));
    }
    Ok(())
}

/// Resolves the module's imports against what this host provides, with
/// types, so a module that cannot link is refused at compile time (as
/// Wasmtime's `instantiate_pre` does) rather than on every request.
fn check_imports(engine: &Engine, module: &wasmer::Module) -> Result<Vec<(String, String)>, RuntimeError> {
    let mut store = Store::new(engine.clone());
    let env = FunctionEnv::new(
        &mut store,
        Env {
            host: HostState::new(Arc::new(blueprint_runtime_api::NoDapr)),
            memory: None,
            gate: Arc::default(),
        },
    );
    let mut resolved = Vec::new();
    for import in module.imports() {
        let (m, n) = (import.module(), import.name());
        let Some(func) = imports::function(&mut store, &env, m, n) else {
            return Err(RuntimeError::Instantiate(format!(
                "unknown import `{m}::{n}`: this host provides the ABI's `dapr` module and WASI \
                 preview 1 without capabilities (environ, args, fd_write to stdout/stderr, \
                 proc_exit)"
            )));
        };
        let host_ty = ExternType::Function(func.ty(&store));
        if import.ty() != &host_ty {
            return Err(RuntimeError::Instantiate(format!(
                "import `{m}::{n}` has type {:?}, the host's is {host_ty:?}",
                import.ty()
            )));
        }
        resolved.push((m.to_owned(), n.to_owned()));
    }
    Ok(resolved)
}

struct WasmerModule {
    engine: Engine,
    module: wasmer::Module,
    /// `(module, name)` of every import, checked by [`check_imports`].
    imports: Vec<(String, String)>,
    limits: Limits,
    watchdog: WatchdogHandle,
}

impl Module for WasmerModule {
    fn instantiate(&self, host: Arc<dyn DaprHost>) -> Result<Box<dyn Instance>, RuntimeError> {
        let timeout = self.limits.call_timeout;
        let fail = |e: wasmer::RuntimeError| match call_error(e, timeout) {
            CallError::Timeout(_) => {
                RuntimeError::Instantiate(format!("timeout: initialisation ran longer than {timeout:?}"))
            }
            other => RuntimeError::Instantiate(other.to_string()),
        };
        let abi_err = |e: wasmer::ExportError| RuntimeError::Abi(e.to_string());

        let mut store = Store::new(self.engine.clone());
        let gate = Arc::new(ImportGate::default());
        let env = FunctionEnv::new(
            &mut store,
            Env {
                host: HostState::new(host),
                memory: None,
                gate: gate.clone(),
            },
        );
        let mut imports = Imports::new();
        for (m, n) in &self.imports {
            let func = imports::function(&mut store, &env, m, n)
                .ok_or_else(|| RuntimeError::Instantiate(format!("import `{m}::{n}` vanished")))?;
            imports.define(m, n, func);
        }

        // Start function, `_initialize` and `bb_abi_version` run under the
        // same time limit as a call.
        let stop = Interrupt::for_call_on_this_thread(store.interrupter(), gate);
        let armed = self.watchdog.arm(stop.clone(), timeout);
        let deadline = imports::CallDeadline::set(timeout);
        let instance = wasmer::Instance::new(&mut store, &self.module, &imports).map_err(|e| match e {
            InstantiationError::Start(e) => fail(e),
            other => RuntimeError::Instantiate(other.to_string()),
        })?;
        let memory = instance
            .exports
            .get_memory(abi::EXPORT_MEMORY)
            .map_err(abi_err)?
            .clone();
        env.as_mut(&mut store).memory = Some(memory.clone());
        if instance.exports.contains(abi::EXPORT_INITIALIZE) {
            instance
                .exports
                .get_typed_function::<(), ()>(&store, abi::EXPORT_INITIALIZE)
                .map_err(abi_err)?
                .call(&mut store)
                .map_err(fail)?;
        }
        let version = instance
            .exports
            .get_typed_function::<(), i32>(&store, abi::EXPORT_ABI_VERSION)
            .map_err(abi_err)?
            .call(&mut store)
            .map_err(fail)?;
        drop((armed, deadline));
        if version != abi::ABI_VERSION {
            return Err(RuntimeError::Abi(format!(
                "module speaks guest ABI {version}, this host speaks {}",
                abi::ABI_VERSION
            )));
        }
        Ok(Box::new(WasmerInstance {
            alloc: instance
                .exports
                .get_typed_function(&store, abi::EXPORT_ALLOC)
                .map_err(abi_err)?,
            handle: instance
                .exports
                .get_typed_function(&store, abi::EXPORT_HANDLE)
                .map_err(abi_err)?,
            store,
            memory,
            stop,
            watchdog: self.watchdog.clone(),
            timeout,
        }))
    }
}

struct WasmerInstance {
    store: Store,
    memory: Memory,
    alloc: TypedFunction<i32, i32>,
    handle: TypedFunction<(i32, i32), i64>,
    /// What stops this instance's calls (its store's interrupter and import gate).
    stop: Interrupt,
    watchdog: WatchdogHandle,
    timeout: Duration,
}

// SAFETY: Wasmer 7 stopped declaring `Store: Send` (6.x had
// `unsafe impl Send for Store`; see wasmerio/wasmer#7001 and #6596). What makes
// it `!Send` is, on the one hand, raw pointers into the store's own heap
// allocations (instances, tables, globals, function contexts), which have no
// thread affinity, and on the other, boxed trait objects without a `Send`
// bound that this adapter never fills with non-`Send` data:
// - host-function closures: `Function::new_typed_with_env` requires them to be
//   `Send + Sync`, and the env data `Env` is `Send` (asserted below);
// - the store's `on_called` handler and trap handler: only set by WASIX and
//   async embedders through APIs this adapter does not call;
// - `StoreAsync`'s `Rc`-based lock: `experimental-async` is not enabled.
// The only per-thread state Wasmer keeps for a store (the thread-local store
// context stack, the interrupt registry's pthread entry, the trap handler's
// thread-locals) is installed when a call starts and removed when it returns,
// and `handle(&mut self)` never lets the instance move during a call. So an
// instance moved between calls, or dropped, on another thread is sound.
unsafe impl Send for WasmerInstance {}

const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<Env>();
    assert_send::<Interrupter>();
    assert_send::<Memory>();
    assert_send::<TypedFunction<(i32, i32), i64>>();
};

impl Instance for WasmerInstance {
    fn handle(&mut self, request: &[u8]) -> Result<Vec<u8>, CallError> {
        let len =
            i32::try_from(request.len()).map_err(|_| CallError::Abi("request larger than 2 GiB".into()))?;
        let timeout = self.timeout;
        let _armed = self
            .watchdog
            .arm(self.stop.for_next_call_on_this_thread(), timeout);
        let _deadline = imports::CallDeadline::set(timeout);
        let ptr = self
            .alloc
            .call(&mut self.store, len)
            .map_err(|e| call_error(e, timeout))?;
        if ptr == 0 && len > 0 {
            return Err(CallError::Abi("bb_alloc returned 0".into()));
        }
        self.memory
            .view(&self.store)
            .write(u64::from(ptr as u32), request)
            .map_err(|_| CallError::Abi(format!("bb_alloc returned {ptr}, outside memory")))?;
        let packed = self
            .handle
            .call(&mut self.store, ptr, len)
            .map_err(|e| call_error(e, timeout))?;
        let view = self.memory.view(&self.store);
        // SAFETY: no guest code runs while `self.store` is borrowed here, and
        // the slice is dropped before the store is used again.
        let mem = unsafe { view.data_unchecked() };
        PackedResponse::decode(packed).read(mem)
    }
}

/// A WASI command's `_start`, of type `[] -> []`.
fn start_function(instance: &wasmer::Instance, store: &Store) -> Result<TypedFunction<(), ()>, RuntimeError> {
    instance
        .exports
        .get_typed_function::<(), ()>(store, "_start")
        .map_err(|e| RuntimeError::Abi(format!("not a WASI command: no `_start` of type [] -> [] ({e})")))
}

/// [`call_error`] for a WASI command started at `started`: past the limit,
/// a trap is the limit's (Singlepass code interrupted by the watchdog
/// sometimes reports the interruption as an out-of-bounds access).
fn command_error(err: wasmer::RuntimeError, timeout: Duration, started: std::time::Instant) -> CallError {
    match call_error(err, timeout) {
        CallError::Trap { .. } if started.elapsed() >= timeout => CallError::Timeout(timeout),
        other => other,
    }
}

/// Maps a Wasmer call error to the ABI's error kinds.
fn call_error(err: wasmer::RuntimeError, timeout: Duration) -> CallError {
    if let Some(exit) = err.downcast_ref::<ProcExit>() {
        return CallError::Trap {
            kind: TrapKind::Other,
            message: exit.to_string(),
        };
    }
    if err
        .downcast_ref::<blueprint_runtime_api::wasi::DeadlineReached>()
        .is_some()
    {
        return CallError::Timeout(timeout);
    }
    let kind = match err.clone().to_trap() {
        Some(TrapCode::HostInterrupt) => return CallError::Timeout(timeout),
        Some(TrapCode::UnreachableCodeReached) => TrapKind::Unreachable,
        Some(TrapCode::HeapAccessOutOfBounds | TrapCode::HeapMisaligned | TrapCode::UnalignedAtomic) => {
            TrapKind::MemoryOutOfBounds
        }
        Some(TrapCode::IntegerDivisionByZero) => TrapKind::DivisionByZero,
        Some(TrapCode::IntegerOverflow | TrapCode::BadConversionToInteger) => TrapKind::IntegerOverflow,
        Some(TrapCode::StackOverflow) => TrapKind::StackOverflow,
        Some(TrapCode::TableAccessOutOfBounds | TrapCode::IndirectCallToNull | TrapCode::BadSignature) => {
            TrapKind::BadIndirectCall
        }
        _ => TrapKind::Other,
    };
    let mut message = err.message();
    if let Some(frame) = err.trace().first() {
        let func = frame.function_name().map_or_else(
            || format!("function #{}", frame.func_index()),
            |name| name.to_owned(),
        );
        message = format!("{message} (in {func})");
    }
    CallError::Trap { kind, message }
}
