//! The real adapter (feature `wasmedge`): the guest ABI on WasmEdge 0.17.1,
//! ahead-of-time compiled ([`Mode::Aot`], `src/aot.rs`) or interpreted
//! ([`Mode::Interpreter`]).
//!
//! - `compile` loads and validates the module once (an AST module that every
//!   instance shares; with AOT, from the compiled shared library) and checks
//!   the ABI's exports and every import, with types, so a module that cannot
//!   link is refused at compile time.
//! - Every `instantiate` creates a fresh guest instance in its own store,
//!   next to its own WASI module (no arguments, no environment, no preopens,
//!   stdin/stdout/stderr on `/dev/null`, as `workloads/ABI.md` asks; its
//!   `poll_oneoff` is the API crate's, whose sleeps end at the call's time
//!   limit: see [`crate::imports::serve_poll_oneoff`]) and its own `dapr`
//!   host module bound to its [`HostState`]; then `_initialize` if exported
//!   and `bb_abi_version` (which must return 1).
//! - The memory cap is WasmEdge's `max_memory_pages` setting: `memory.grow`
//!   past it returns `-1`. WasmEdge would silently *shrink* a memory whose
//!   declared minimum is above the cap, so such a module fails to instantiate
//!   here instead, as on the other runtimes.
//! - The call time limit stops the guest cooperatively from a watchdog
//!   thread (see [`crate::watchdog`] and [`ExecutorSlot`]); compiled code is
//!   made interruptible so that it checks the same stop flag.
//!
//! # Why `wasmedge_sys::ffi` and not only the sdk's safe types
//!
//! `wasmedge-sdk` 0.17.1 is the dependency that fixes the WasmEdge release
//! (its binding crate `wasmedge-sys` 0.21.1 generates the bindings from the
//! installed 0.17.1 headers), and the adapter uses its `LogManager` and
//! `CoreVersion`. Its safe types cannot express four things this adapter
//! needs, so those go through the same bindings directly:
//!
//! 1. **A time limit that leaves the process sound.** The sdk's only timeout,
//!    `run_func_with_timeout`, arms a POSIX timer whose signal handler
//!    `siglongjmp`s out of the C++ interpreter: no destructor runs (the call's
//!    value and frame stacks leak, which after a runaway recursion is
//!    gigabytes), and a jump out of `malloc` or out of a held logger lock
//!    deadlocks a later call. WasmEdge's own stop flag (what
//!    `WasmEdge_AsyncCancel` sets) ends the call through its normal error
//!    path instead; reaching it needs the executor's raw context, which the
//!    sdk keeps private.
//! 2. **Discarded stdio.** The sdk's `WasiModule::create` inherits the host
//!    process's stdin/stdout/stderr; `WasmEdge_ModuleInstanceCreateWASIWithFds`
//!    maps them to `/dev/null`.
//! 3. **Cheap host calls.** The sdk's executor registers pre/post host-call
//!    hooks (two `pthread_sigmask` system calls around every host call, for
//!    its signal timeout) and its host-function wrapper allocates two `Vec`s
//!    per call and panics across the C boundary (an abort) on a bad result
//!    count. The `dapr` imports here read their `i32` arguments directly (see
//!    [`crate::imports`]).
//! 4. **Type-checked imports at compile time**, which needs the AST module
//!    context the sdk's `Module` also keeps private.
//!
//! # Stack exhaustion
//!
//! WasmEdge's interpreter keeps the Wasm call stack in growable heap vectors
//! and has no depth limit: unbounded recursion does not trap, it runs until
//! the call time limit stops it (a [`CallError::Timeout`]), using host memory
//! as it goes (about 100 bytes per frame; the tests measure it). The kind
//! [`TrapKind::StackOverflow`] never occurs on this runtime.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::ptr;
use std::sync::{Arc, Mutex, Once, PoisonError};
use std::time::Duration;

use blueprint_runtime_api::abi::{self, HostState, PackedResponse};
use blueprint_runtime_api::wasi::CallDeadline;
use blueprint_runtime_api::{
    CallError, DaprHost, Instance, Limits, Module, Runtime, RuntimeConfig, RuntimeError, RuntimeInfo,
    TrapKind,
};
use wasmedge_sys::ffi;

use crate::aot::AotCompiler;
use crate::ffi::{
    AstModule, Config, Failure, FunctionType, ModuleInstance, Store, check, invoke, load_and_validate,
    load_compiled, memory_bytes, show_signature, signature, to_string, wasm_str, zero,
};
use crate::imports::{DEADLINE_REACHED, HostCellBox, IMPORT_MODULES, ImportTypes, serve_poll_oneoff};
use crate::watchdog::{ExecutorSlot, StopExecutor, Watchdog, WatchdogHandle};
use crate::{Mode, NAME, REQUIRED_WASMEDGE};

/// WASI preview 1 import module name.
const WASI_MODULE: &str = "wasi_snapshot_preview1";
/// Idle executors kept for reuse; more than this many instances alive at
/// once still work, their executors are just freed afterwards.
const MAX_IDLE_EXECUTORS: usize = 256;
/// Largest page count of a 32-bit memory.
const WASM32_MAX_PAGES: u32 = 65536;

/// The linked library's version (`WasmEdge_VersionGet`).
pub(crate) fn linked_version() -> String {
    wasmedge_sdk::utils::CoreVersion::version_string()
}

/// `Ok` when the linked library is the 0.17 release the sdk is made for.
pub(crate) fn check_linked_version() -> Result<(), (String, String)> {
    use wasmedge_sdk::utils::CoreVersion;
    if (CoreVersion::major(), CoreVersion::minor()) == (0, 17) {
        return Ok(());
    }
    Err((
        format!(
            "this build links WasmEdge {}, but wasmedge-sdk {} is made for WasmEdge {REQUIRED_WASMEDGE}",
            linked_version(),
            crate::SDK_VERSION
        ),
        format!(
            "point LD_LIBRARY_PATH at the lib directory of a WasmEdge {REQUIRED_WASMEDGE} install \
             (the one this crate was built against)"
        ),
    ))
}

/// What the runtime, its modules and their instances share.
struct Engine {
    config: Config,
    limits: Limits,
    types: ImportTypes,
    noop_type: FunctionType,
    /// Every instance's WASI stdin, stdout and stderr.
    devnull: File,
    pool: Mutex<Vec<Arc<ExecutorSlot>>>,
    watchdog: WatchdogHandle,
    version: String,
    mode: Mode,
    /// The compiler, with [`Mode::Aot`].
    aot: Option<AotCompiler>,
}

// SAFETY: after construction the configuration and the function types are
// only read (WasmEdge copies them into every executor and function instance
// made from them); the pool is behind a mutex.
unsafe impl Send for Engine {}
unsafe impl Sync for Engine {}

impl Engine {
    fn lease(self: &Arc<Self>) -> Result<Lease, RuntimeError> {
        let idle = self.pool.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let slot = match idle {
            Some(slot) => slot,
            None => Arc::new(
                ExecutorSlot::new(&self.config, &self.noop_type)
                    .map_err(|e| RuntimeError::Instantiate(format!("executor: {e}")))?,
            ),
        };
        Ok(Lease {
            slot,
            engine: self.clone(),
        })
    }
}

/// An executor leased to one instance; back to the pool when dropped.
struct Lease {
    slot: Arc<ExecutorSlot>,
    engine: Arc<Engine>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut pool = self.engine.pool.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.len() < MAX_IDLE_EXECUTORS {
            pool.push(self.slot.clone());
        }
    }
}

/// WasmEdge, compiled or interpreted, with capped memories and a watchdog
/// for the call time limit.
pub struct WasmEdgeRuntime {
    engine: Arc<Engine>,
    _watchdog: Watchdog,
}

impl WasmEdgeRuntime {
    /// Creates a configuration for `config` that runs guests in `mode`.
    ///
    /// # Errors
    /// A linked WasmEdge other than 0.17, a memory cap above 4 GiB (65536
    /// pages), [`Mode::Aot`] on a WasmEdge without its AOT compiler, or
    /// WasmEdge or the watchdog thread could not be set up.
    pub fn new(config: &RuntimeConfig, mode: Mode) -> Result<Self, RuntimeError> {
        Self::with_cache(config, mode, &blueprint_workloads::cache_dir())
    }

    /// As [`new`](Self::new), with compiled modules cached under `cache`
    /// instead of the build cache.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_cache(
        config: &RuntimeConfig,
        mode: Mode,
        cache: &std::path::Path,
    ) -> Result<Self, RuntimeError> {
        if let Err((reason, fix)) = check_linked_version() {
            return Err(RuntimeError::Config(format!("{reason} (fix: {fix})")));
        }
        let limits = config.limits.clone();
        if limits.max_memory_pages > WASM32_MAX_PAGES {
            return Err(RuntimeError::Config(format!(
                "max_memory_pages {} exceeds the wasm32 limit of {WASM32_MAX_PAGES} pages",
                limits.max_memory_pages
            )));
        }
        // WasmEdge logs every trap and refused grow at error level to
        // stderr; the adapter reports them as values instead.
        static LOG_OFF: Once = Once::new();
        LOG_OFF.call_once(wasmedge_sdk::LogManager::log_off);

        let fail = |what: &str| RuntimeError::Config(format!("WasmEdge: {what} failed"));
        // SAFETY: C API constructors and setters on a fresh context.
        let config = unsafe {
            let config =
                Config::from_raw(ffi::WasmEdge_ConfigureCreate()).ok_or_else(|| fail("configure"))?;
            ffi::WasmEdge_ConfigureSetMaxMemoryPage(config.as_ptr(), u64::from(limits.max_memory_pages));
            // The engine label must say what ran: the interpreter even for
            // a module that carries WasmEdge AOT code, or only AOT code.
            let run_mode = match mode {
                Mode::Aot => ffi::WasmEdge_RunMode_AOT,
                Mode::Interpreter => ffi::WasmEdge_RunMode_Interpreter,
            };
            ffi::WasmEdge_ConfigureSetRunMode(config.as_ptr(), run_mode);
            config
        };
        let version = linked_version();
        let aot = match mode {
            Mode::Aot => Some(AotCompiler::new(limits.max_memory_pages, cache, &version)?),
            Mode::Interpreter => None,
        };
        let types = ImportTypes::new().ok_or_else(|| fail("creating the dapr function types"))?;
        let noop_type = FunctionType::i32s_to(0, false).ok_or_else(|| fail("creating a function type"))?;
        let devnull = File::options()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map_err(|e| RuntimeError::Config(format!("opening /dev/null for WASI stdio: {e}")))?;
        let watchdog =
            crate::watchdog::start().map_err(|e| RuntimeError::Config(format!("watchdog thread: {e}")))?;
        let engine = Arc::new(Engine {
            config,
            limits,
            types,
            noop_type,
            devnull,
            pool: Mutex::new(Vec::new()),
            watchdog: watchdog.handle(),
            version,
            mode,
            aot,
        });
        // One executor up front: a setup failure shows here, not on the
        // first request.
        drop(engine.lease()?);
        Ok(Self {
            engine,
            _watchdog: watchdog,
        })
    }
}

impl Runtime for WasmEdgeRuntime {
    fn info(&self) -> RuntimeInfo {
        RuntimeInfo {
            name: NAME.into(),
            version: self.engine.version.clone(),
            engine: self.engine.mode.engine().into(),
        }
    }

    fn compile(&self, wasm: &[u8]) -> Result<Arc<dyn Module>, RuntimeError> {
        let ast = match &self.engine.aot {
            Some(aot) => load_compiled(&self.engine.config, &aot.library(wasm)?)?,
            None => load_and_validate(&self.engine.config, wasm)?,
        };
        let memory_error = check_exports(&ast, self.engine.limits.max_memory_pages)?;
        check_imports(&ast, &self.engine.types)?;
        Ok(Arc::new(WasmEdgeModule {
            engine: self.engine.clone(),
            ast,
            memory_error,
        }))
    }
}

/// One export: name, external type, export context (owned by the AST module).
type Export = (
    String,
    ffi::WasmEdge_ExternalType,
    *const ffi::WasmEdge_ExportTypeContext,
);

/// A module's exports.
fn exports(ast: &AstModule) -> Vec<Export> {
    // SAFETY: the list buffer has the length WasmEdge reported; the export
    // contexts live as long as `ast`.
    unsafe {
        let mut list = vec![ptr::null(); ffi::WasmEdge_ASTModuleListExportsLength(ast.as_ptr()) as usize];
        let n = ffi::WasmEdge_ASTModuleListExports(ast.as_ptr(), list.as_mut_ptr(), list.len() as u32);
        list.truncate(n as usize);
        list.into_iter()
            .map(|e| {
                (
                    to_string(ffi::WasmEdge_ExportTypeGetExternalName(e)),
                    ffi::WasmEdge_ExportTypeGetExternalType(e),
                    e,
                )
            })
            .collect()
    }
}

/// The ABI's exports, with their types. Returns why the module cannot be
/// instantiated under the memory cap, if it cannot.
fn check_exports(ast: &AstModule, cap: u32) -> Result<Option<String>, RuntimeError> {
    let exports = exports(ast);
    let find = |name: &str| exports.iter().find(|(n, ..)| n == name);
    let func_sig = |e: *const ffi::WasmEdge_ExportTypeContext| {
        // SAFETY: `e` comes from `ast`'s export list.
        signature(unsafe { ffi::WasmEdge_ExportTypeGetFunctionType(ast.as_ptr(), e) })
    };
    let memory_error = match find(abi::EXPORT_MEMORY) {
        Some(&(_, ty, e)) if ty == ffi::WasmEdge_ExternalType_Memory => {
            // SAFETY: `e` is a memory export of `ast`.
            let (min, is64) = unsafe {
                let limit =
                    ffi::WasmEdge_MemoryTypeGetLimit(ffi::WasmEdge_ExportTypeGetMemoryType(ast.as_ptr(), e));
                (
                    ffi::WasmEdge_LimitGetMin(limit),
                    ffi::WasmEdge_LimitIs64Bit(limit),
                )
            };
            if is64 {
                return Err(RuntimeError::Abi(
                    "`memory` is a 64-bit memory; the ABI needs wasm32".into(),
                ));
            }
            (min > u64::from(cap))
                .then(|| format!("memory `memory` starts at {min} pages, above the cap of {cap} pages"))
        }
        Some(_) => return Err(RuntimeError::Abi("`memory` is not a memory".into())),
        None => return Err(RuntimeError::Abi("module does not export `memory`".into())),
    };
    let functions: [(&str, &[&str], &[&str]); 3] = [
        (abi::EXPORT_ABI_VERSION, &[], &["i32"]),
        (abi::EXPORT_ALLOC, &["i32"], &["i32"]),
        (abi::EXPORT_HANDLE, &["i32", "i32"], &["i64"]),
    ];
    for (name, params, returns) in functions {
        let wanted = (params.to_vec(), returns.to_vec());
        match find(name) {
            Some(&(_, ty, e)) if ty == ffi::WasmEdge_ExternalType_Function => {
                let got = func_sig(e);
                if got != wanted {
                    return Err(RuntimeError::Abi(format!(
                        "`{name}` has type {}, the ABI says {}",
                        show_signature(&got),
                        show_signature(&wanted)
                    )));
                }
            }
            Some(_) => return Err(RuntimeError::Abi(format!("`{name}` is not a function"))),
            None => return Err(RuntimeError::Abi(format!("module does not export `{name}`"))),
        }
    }
    if let Some(&(_, ty, e)) = find(abi::EXPORT_INITIALIZE) {
        let got = (ty == ffi::WasmEdge_ExternalType_Function).then(|| func_sig(e));
        if got != Some((Vec::new(), Vec::new())) {
            return Err(RuntimeError::Abi(
                "`_initialize` must be a function [] -> []".into(),
            ));
        }
    }
    Ok(memory_error)
}

/// Resolves every import against what this host provides, with types: the
/// ABI's `dapr` functions and WasmEdge's WASI preview 1 functions.
fn check_imports(ast: &AstModule, types: &ImportTypes) -> Result<(), RuntimeError> {
    // SAFETY: a fresh WASI module, only looked into, dropped at the end.
    let wasi = unsafe {
        ModuleInstance::from_raw(ffi::WasmEdge_ModuleInstanceCreateWASI(
            ptr::null(),
            0,
            ptr::null(),
            0,
            ptr::null(),
            0,
        ))
    }
    .ok_or_else(|| RuntimeError::Compile("creating a WASI module failed".into()))?;
    // SAFETY: the list buffer has the length WasmEdge reported; the import
    // contexts live as long as `ast`.
    let imports = unsafe {
        let mut list = vec![ptr::null(); ffi::WasmEdge_ASTModuleListImportsLength(ast.as_ptr()) as usize];
        let n = ffi::WasmEdge_ASTModuleListImports(ast.as_ptr(), list.as_mut_ptr(), list.len() as u32);
        list.truncate(n as usize);
        list
    };
    for import in imports {
        // SAFETY: `import` comes from `ast`'s import list; the function
        // types looked up live as long as their module instance.
        unsafe {
            let module = to_string(ffi::WasmEdge_ImportTypeGetModuleName(import));
            let name = to_string(ffi::WasmEdge_ImportTypeGetExternalName(import));
            if ffi::WasmEdge_ImportTypeGetExternalType(import) != ffi::WasmEdge_ExternalType_Function {
                return Err(RuntimeError::Instantiate(format!(
                    "import `{module}::{name}` is not a function; this host provides only the ABI's \
                     `dapr` functions and WASI preview 1"
                )));
            }
            let host_type = match module.as_str() {
                abi::IMPORT_MODULE | abi::IMPORT_HTTP_MODULE => {
                    types.get(&module, &name).map(|t| t.as_ptr().cast_const())
                }
                WASI_MODULE => {
                    let func = ffi::WasmEdge_ModuleInstanceFindFunction(wasi.as_ptr(), wasm_str(&name));
                    (!func.is_null()).then(|| ffi::WasmEdge_FunctionInstanceGetFunctionType(func))
                }
                _ => None,
            };
            let Some(host_type) = host_type else {
                return Err(RuntimeError::Instantiate(format!(
                    "unknown import `{module}::{name}`: this host provides the ABI's `dapr` and `http` modules and \
                     WasmEdge's WASI preview 1"
                )));
            };
            let wanted = signature(host_type);
            let got = signature(ffi::WasmEdge_ImportTypeGetFunctionType(ast.as_ptr(), import));
            if got != wanted {
                return Err(RuntimeError::Instantiate(format!(
                    "import `{module}::{name}` has type {}, the host's is {}",
                    show_signature(&got),
                    show_signature(&wanted)
                )));
            }
        }
    }
    Ok(())
}

struct WasmEdgeModule {
    engine: Arc<Engine>,
    ast: AstModule,
    /// Set when the module's memory cannot be created under the cap.
    memory_error: Option<String>,
}

// SAFETY: after validation the AST module is only read; WasmEdge
// instantiates one AST module many times, from any thread.
unsafe impl Send for WasmEdgeModule {}
unsafe impl Sync for WasmEdgeModule {}

/// Looks up an exported function of a guest instance.
fn find_function(guest: &ModuleInstance, name: &str) -> *mut ffi::WasmEdge_FunctionInstanceContext {
    // SAFETY: lookup in a live module instance; the name is copied.
    unsafe { ffi::WasmEdge_ModuleInstanceFindFunction(guest.as_ptr(), wasm_str(name)) }
}

impl Module for WasmEdgeModule {
    fn instantiate(&self, host: Arc<dyn DaprHost>) -> Result<Box<dyn Instance>, RuntimeError> {
        if let Some(message) = &self.memory_error {
            return Err(RuntimeError::Instantiate(message.clone()));
        }
        let engine = &self.engine;
        let timeout = engine.limits.call_timeout;
        let fail = |what: &str| RuntimeError::Instantiate(format!("WasmEdge: {what} failed"));
        let lease = engine.lease()?;
        let mut cell = HostCellBox::new(HostState::new(host));
        let imports = IMPORT_MODULES
            .iter()
            .map(|name| {
                cell.import_module(&engine.types, name)
                    .ok_or_else(|| fail(&format!("creating the `{name}` import module")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let stdio = engine.devnull.as_raw_fd();
        // SAFETY: C API constructors and registrations on live contexts;
        // `/dev/null` stays open as long as the engine (the lease holds it).
        let (wasi, store) = unsafe {
            let wasi = ModuleInstance::from_raw(ffi::WasmEdge_ModuleInstanceCreateWASIWithFds(
                ptr::null(),
                0,
                ptr::null(),
                0,
                ptr::null(),
                0,
                stdio,
                stdio,
                stdio,
            ))
            .ok_or_else(|| fail("creating the WASI module"))?;
            serve_poll_oneoff(&wasi, &engine.types).ok_or_else(|| fail("serving WASI's poll_oneoff"))?;
            let store =
                Store::from_raw(ffi::WasmEdge_StoreCreate()).ok_or_else(|| fail("creating a store"))?;
            let executor = lease.slot.executor.as_ptr();
            for import in std::iter::once(&wasi).chain(&imports) {
                check(ffi::WasmEdge_ExecutorRegisterImport(
                    executor,
                    store.as_ptr(),
                    import.as_ptr(),
                ))
                .map_err(|f| RuntimeError::Instantiate(format!("registering imports: {f}")))?;
            }
            (wasi, store)
        };

        // Start function, `_initialize` and `bb_abi_version` run under the
        // same time limit as a call.
        let armed = engine.watchdog.arm(StopExecutor(lease.slot.clone()), timeout);
        let deadline = CallDeadline::set(timeout);
        let init_error = |f: Failure, cell: &mut HostCellBox, wasi: &ModuleInstance| match call_error(
            f, cell, wasi, timeout,
        ) {
            CallError::Timeout(_) => {
                RuntimeError::Instantiate(format!("timeout: initialisation ran longer than {timeout:?}"))
            }
            other => RuntimeError::Instantiate(other.to_string()),
        };
        let executor = &lease.slot.executor;
        // SAFETY: instantiation into this instance's own store, with the
        // leased executor (no other call runs on it).
        let guest = unsafe {
            let mut raw = ptr::null_mut();
            let result = check(ffi::WasmEdge_ExecutorInstantiate(
                executor.as_ptr(),
                &mut raw,
                store.as_ptr(),
                self.ast.as_ptr(),
            ));
            if let Err(f) = result {
                drop(ModuleInstance::from_raw(raw));
                return Err(init_error(f, &mut cell, &wasi));
            }
            ModuleInstance::from_raw(raw).ok_or_else(|| fail("instantiation"))?
        };
        let initialize = find_function(&guest, abi::EXPORT_INITIALIZE);
        if !initialize.is_null() {
            // SAFETY: a `[] -> []` export (checked at compile time).
            unsafe { invoke(executor, initialize, &[], &mut []) }
                .map_err(|f| init_error(f, &mut cell, &wasi))?;
        }
        let mut ret = [zero()];
        // SAFETY: a `[] -> [i32]` export (checked at compile time).
        unsafe {
            invoke(
                executor,
                find_function(&guest, abi::EXPORT_ABI_VERSION),
                &[],
                &mut ret,
            )
        }
        .map_err(|f| init_error(f, &mut cell, &wasi))?;
        drop((deadline, armed));
        // SAFETY: reading a returned value.
        let version = unsafe { ffi::WasmEdge_ValueGetI32(ret[0]) };
        if version != abi::ABI_VERSION {
            return Err(RuntimeError::Abi(format!(
                "module speaks guest ABI {version}, this host speaks {}",
                abi::ABI_VERSION
            )));
        }
        // SAFETY: lookup in a live module instance.
        let memory =
            unsafe { ffi::WasmEdge_ModuleInstanceFindMemory(guest.as_ptr(), wasm_str(abi::EXPORT_MEMORY)) };
        let (alloc, handle) = (
            find_function(&guest, abi::EXPORT_ALLOC),
            find_function(&guest, abi::EXPORT_HANDLE),
        );
        if memory.is_null() || alloc.is_null() || handle.is_null() {
            return Err(RuntimeError::Abi(
                "an ABI export is missing from the instance".into(),
            ));
        }
        Ok(Box::new(WasmEdgeInstance {
            _guest: guest,
            _store: store,
            wasi,
            _imports: imports,
            cell,
            lease,
            alloc,
            handle,
            memory,
            watchdog: engine.watchdog.clone(),
            timeout,
        }))
    }
}

/// One guest instance and everything it links to. Fields drop in order: the
/// guest instance before the store and host modules it links to, the host
/// state after the `dapr` functions that point into it, the executor last.
struct WasmEdgeInstance {
    _guest: ModuleInstance,
    _store: Store,
    wasi: ModuleInstance,
    _imports: Vec<ModuleInstance>,
    cell: HostCellBox,
    lease: Lease,
    // Owned by `guest`.
    alloc: *mut ffi::WasmEdge_FunctionInstanceContext,
    handle: *mut ffi::WasmEdge_FunctionInstanceContext,
    memory: *mut ffi::WasmEdge_MemoryInstanceContext,
    watchdog: WatchdogHandle,
    timeout: Duration,
}

// SAFETY: WasmEdge contexts have no thread affinity; the instance is used by
// one thread at a time (`handle` takes `&mut self`) and its executor is
// leased to it alone.
unsafe impl Send for WasmEdgeInstance {}

impl Instance for WasmEdgeInstance {
    fn handle(&mut self, request: &[u8]) -> Result<Vec<u8>, CallError> {
        let len =
            i32::try_from(request.len()).map_err(|_| CallError::Abi("request larger than 2 GiB".into()))?;
        let _armed = self
            .watchdog
            .arm(StopExecutor(self.lease.slot.clone()), self.timeout);
        // Bounds the sleeps of `poll_oneoff` (see `serve_poll_oneoff`).
        let _deadline = CallDeadline::set(self.timeout);
        let executor = &self.lease.slot.executor;
        let mut ret = [zero()];
        // SAFETY: `bb_alloc` is `[i32] -> [i32]` (checked at compile time)
        // and lives as long as `self._guest`.
        let ptr = unsafe {
            invoke(executor, self.alloc, &[ffi::WasmEdge_ValueGenI32(len)], &mut ret)
                .map_err(|f| call_error(f, &mut self.cell, &self.wasi, self.timeout))?;
            ffi::WasmEdge_ValueGetI32(ret[0])
        };
        if ptr == 0 && len > 0 {
            return Err(CallError::Abi("bb_alloc returned 0".into()));
        }
        // SAFETY: no guest code runs while the slice is alive.
        let memory = unsafe { memory_bytes(self.memory) };
        let start = ptr as u32 as usize;
        memory
            .get_mut(start..)
            .and_then(|m| m.get_mut(..request.len()))
            .ok_or_else(|| CallError::Abi(format!("bb_alloc returned {ptr}, outside memory")))?
            .copy_from_slice(request);
        // SAFETY: `bb_handle` is `[i32, i32] -> [i64]` (checked at compile
        // time) and lives as long as `self._guest`.
        let packed = unsafe {
            invoke(
                executor,
                self.handle,
                &[ffi::WasmEdge_ValueGenI32(ptr), ffi::WasmEdge_ValueGenI32(len)],
                &mut ret,
            )
            .map_err(|f| call_error(f, &mut self.cell, &self.wasi, self.timeout))?;
            ffi::WasmEdge_ValueGetI64(ret[0])
        };
        // SAFETY: as above; the memory may have grown during the call.
        PackedResponse::decode(packed).read(unsafe { memory_bytes(self.memory) })
    }
}

/// Maps a failed call to the ABI's error kinds.
fn call_error(f: Failure, cell: &mut HostCellBox, wasi: &ModuleInstance, timeout: Duration) -> CallError {
    if f.user && f.code == DEADLINE_REACHED {
        return CallError::Timeout(timeout);
    }
    if f.user {
        let message = cell.take_panic().unwrap_or(f.message);
        return CallError::Trap {
            kind: TrapKind::Other,
            message: format!("host function failed: {message}"),
        };
    }
    match f.code {
        ffi::WasmEdge_ErrCode_Interrupted => CallError::Timeout(timeout),
        ffi::WasmEdge_ErrCode_Terminated => {
            // SAFETY: reading the exit code of a live WASI module.
            let code = unsafe { ffi::WasmEdge_ModuleInstanceWASIGetExitCode(wasi.as_ptr()) };
            CallError::Trap {
                kind: TrapKind::Other,
                message: format!("guest called proc_exit({})", code as i32),
            }
        }
        _ => f.into_trap(),
    }
}
