//! WASI preview 1 commands on WasmEdge (`blueprint-bench wasi-run`).
//!
//! With the `wasmedge` feature: WasmEdge's own WASI module
//! (`WasmEdge_ModuleInstanceCreateWASI`: the command's arguments,
//! environment and preopened directories, the process's stdin, stdout and
//! stderr) and the interpreter, with the runtime's memory cap
//! (`max_memory_pages`). `_start` runs as an asynchronous invocation so the
//! time limit needs no watchdog: the caller waits for it at most
//! `call_timeout` and then cancels it (`WasmEdge_AsyncCancel`, the same stop
//! flag the adapter's watchdog sets), which ends the call with
//! `Interrupted`. Without the feature, [`command_runner`] fails with the
//! reason and the fix, as [`crate::create`] does.

use blueprint_runtime_api::{CommandRunner, RuntimeConfig, RuntimeError};

/// WasmEdge as a [`CommandRunner`].
///
/// # Errors
/// [`RuntimeError::Config`] when WasmEdge is unavailable in this build or
/// rejects `config`.
pub fn command_runner(config: &RuntimeConfig) -> Result<Box<dyn CommandRunner>, RuntimeError> {
    #[cfg(feature = "wasmedge")]
    {
        real::WasmEdgeCommands::new(config).map(|r| Box::new(r) as Box<dyn CommandRunner>)
    }
    #[cfg(not(feature = "wasmedge"))]
    {
        let _ = config;
        let (reason, fix) = crate::stub::unavailable();
        Err(RuntimeError::Config(format!(
            "WasmEdge is unavailable: {reason} (fix: {fix})"
        )))
    }
}

#[cfg(feature = "wasmedge")]
mod real {
    use std::ffi::CString;
    use std::ptr;

    use blueprint_runtime_api::{
        CallError, CommandError, CommandRunner, Limits, RuntimeConfig, RuntimeError, WasiCommand,
    };
    use wasmedge_sys::ffi;

    use crate::engine::check_linked_version;
    use crate::ffi::{
        AsyncCall, Config, Executor, ModuleInstance, Store, check, load_and_validate, to_string, wasm_str,
    };

    const WASM32_MAX_PAGES: u32 = 65536;

    pub(super) struct WasmEdgeCommands {
        limits: Limits,
    }

    impl WasmEdgeCommands {
        pub(super) fn new(config: &RuntimeConfig) -> Result<Self, RuntimeError> {
            if let Err((reason, fix)) = check_linked_version() {
                return Err(RuntimeError::Config(format!("{reason} (fix: {fix})")));
            }
            if config.limits.max_memory_pages > WASM32_MAX_PAGES {
                return Err(RuntimeError::Config(format!(
                    "max_memory_pages {} exceeds the wasm32 limit of {WASM32_MAX_PAGES} pages",
                    config.limits.max_memory_pages
                )));
            }
            Ok(Self {
                limits: config.limits.clone(),
            })
        }
    }

    /// C strings for WasmEdge, and the pointer array that refers to them.
    struct CStrings {
        _owned: Vec<CString>,
        ptrs: Vec<*const std::ffi::c_char>,
    }

    impl CStrings {
        fn new(items: impl IntoIterator<Item = String>, what: &str) -> Result<Self, RuntimeError> {
            let owned = items
                .into_iter()
                .map(|s| {
                    CString::new(s).map_err(|_| RuntimeError::Config(format!("{what} contains a NUL byte")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let ptrs = owned.iter().map(|s| s.as_ptr()).collect();
            Ok(Self { _owned: owned, ptrs })
        }

        fn as_ptr(&self) -> *const *const std::ffi::c_char {
            if self.ptrs.is_empty() {
                ptr::null()
            } else {
                self.ptrs.as_ptr()
            }
        }

        fn len(&self) -> u32 {
            self.ptrs.len() as u32
        }
    }

    impl CommandRunner for WasmEdgeCommands {
        fn run_command(&self, wasm: &[u8], command: &WasiCommand) -> Result<i32, CommandError> {
            let timeout = self.limits.call_timeout;
            let setup =
                |what: &str| CommandError::Setup(RuntimeError::Instantiate(format!("WasmEdge: {what}")));
            let args = CStrings::new(command.args.iter().cloned(), "an argument")?;
            let envs = CStrings::new(
                command.env.iter().map(|(k, v)| format!("{k}={v}")),
                "an environment variable",
            )?;
            let mut preopens = Vec::new();
            for dir in &command.dirs {
                // WasmEdge's format is `GUEST:HOST`: a guest path with a
                // colon cannot be told apart.
                if dir.guest.contains(':') {
                    return Err(RuntimeError::Config(format!(
                        "guest directory `{}`: WasmEdge cannot preopen a path containing ':'",
                        dir.guest
                    ))
                    .into());
                }
                preopens.push(format!("{}:{}", dir.guest, dir.host.display()));
            }
            let preopens = CStrings::new(preopens, "a directory path")?;

            // SAFETY: C API calls on contexts created here and dropped in
            // reverse order at the end (the handles' `Drop`); the string
            // arrays outlive the WASI module's creation (WasmEdge copies
            // them); the module bytes outlive the parse.
            unsafe {
                let config = Config::from_raw(ffi::WasmEdge_ConfigureCreate())
                    .ok_or_else(|| setup("configure failed"))?;
                ffi::WasmEdge_ConfigureSetMaxMemoryPage(
                    config.as_ptr(),
                    u64::from(self.limits.max_memory_pages),
                );
                ffi::WasmEdge_ConfigureSetRunMode(config.as_ptr(), ffi::WasmEdge_RunMode_Interpreter);

                let ast = load_and_validate(&config, wasm)?;

                // Named here, so that the error says which import is foreign
                // (WasmEdge's own says only "unknown import").
                let mut imports =
                    vec![ptr::null(); ffi::WasmEdge_ASTModuleListImportsLength(ast.as_ptr()) as usize];
                let n = ffi::WasmEdge_ASTModuleListImports(
                    ast.as_ptr(),
                    imports.as_mut_ptr(),
                    imports.len() as u32,
                );
                imports.truncate(n as usize);
                for import in imports {
                    let module = to_string(ffi::WasmEdge_ImportTypeGetModuleName(import));
                    if module != "wasi_snapshot_preview1" {
                        let name = to_string(ffi::WasmEdge_ImportTypeGetExternalName(import));
                        return Err(RuntimeError::Instantiate(format!(
                            "unknown import `{module}::{name}`: a command gets WASI preview 1 only"
                        ))
                        .into());
                    }
                }
                let wasi = ModuleInstance::from_raw(ffi::WasmEdge_ModuleInstanceCreateWASI(
                    args.as_ptr(),
                    args.len(),
                    envs.as_ptr(),
                    envs.len(),
                    preopens.as_ptr(),
                    preopens.len(),
                ))
                .ok_or_else(|| setup("creating the WASI module failed"))?;
                let store = Store::from_raw(ffi::WasmEdge_StoreCreate())
                    .ok_or_else(|| setup("creating a store failed"))?;
                let executor =
                    Executor::from_raw(ffi::WasmEdge_ExecutorCreate(config.as_ptr(), ptr::null_mut()))
                        .ok_or_else(|| setup("WasmEdge_ExecutorCreate failed"))?;
                check(ffi::WasmEdge_ExecutorRegisterImport(
                    executor.as_ptr(),
                    store.as_ptr(),
                    wasi.as_ptr(),
                ))
                .map_err(|f| setup(&format!("registering WASI: {f}")))?;
                let mut raw = ptr::null_mut();
                if let Err(f) = check(ffi::WasmEdge_ExecutorInstantiate(
                    executor.as_ptr(),
                    &mut raw,
                    store.as_ptr(),
                    ast.as_ptr(),
                )) {
                    drop(ModuleInstance::from_raw(raw));
                    // Unknown imports and bad types are the module's fault;
                    // a trap in a start function the guest's.
                    return Err(
                        if f.code == ffi::WasmEdge_ErrCode_UnknownImport
                            || f.code == ffi::WasmEdge_ErrCode_IncompatibleImportType
                        {
                            CommandError::Setup(RuntimeError::Instantiate(format!(
                                "{f} (a command gets WASI preview 1 only)"
                            )))
                        } else {
                            CommandError::Guest(f.into_trap())
                        },
                    );
                }
                let guest = ModuleInstance::from_raw(raw).ok_or_else(|| setup("instantiation failed"))?;
                let start = ffi::WasmEdge_ModuleInstanceFindFunction(guest.as_ptr(), wasm_str("_start"));
                if start.is_null() {
                    return Err(RuntimeError::Abi("not a WASI command: no `_start`".into()).into());
                }
                let call = AsyncCall::from_raw(ffi::WasmEdge_ExecutorAsyncInvoke(
                    executor.as_ptr(),
                    start,
                    ptr::null(),
                    0,
                ))
                .ok_or_else(|| setup("WasmEdge_ExecutorAsyncInvoke failed"))?;
                let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
                let mut timed_out = false;
                if !ffi::WasmEdge_AsyncWaitFor(call.as_ptr(), millis) {
                    timed_out = true;
                    ffi::WasmEdge_AsyncCancel(call.as_ptr());
                    ffi::WasmEdge_AsyncWait(call.as_ptr());
                }
                let result = check(ffi::WasmEdge_AsyncGet(call.as_ptr(), ptr::null_mut(), 0));
                drop(call);
                match result {
                    Ok(()) => Ok(0),
                    Err(f) if f.code == ffi::WasmEdge_ErrCode_Terminated => {
                        Ok(ffi::WasmEdge_ModuleInstanceWASIGetExitCode(wasi.as_ptr()) as i32)
                    }
                    Err(f) if f.code == ffi::WasmEdge_ErrCode_Interrupted || timed_out => {
                        Err(CallError::Timeout(timeout).into())
                    }
                    Err(f) => Err(f.into_trap().into()),
                }
            }
        }
    }
}
