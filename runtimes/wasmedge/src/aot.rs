//! WasmEdge's ahead-of-time compiler (engine `aot`, the `wasmedge` runtime):
//! what WasmEdge's users run (`wasmedge compile`, then `wasmedge run`), where
//! the interpreter (`wasmedge-interp`) is a fallback for machines without
//! its LLVM backend.
//!
//! - A module is compiled once into a shared library in the build cache,
//!   keyed by its bytes, the WasmEdge version and the compiler settings
//!   below, written under a temporary name and renamed into place, so that
//!   concurrent hosts and an interrupted compile never leave a half-written
//!   library. Later runs load it from the cache: the compile time a result
//!   records is then the load time, as for a cached Wasmtime module.
//! - The library is loaded with WasmEdge's run mode `AOT` from its file. A
//!   shared library that cannot be loaded is an error: WasmEdge's silent
//!   fall-back to the interpreter applies only to universal Wasm files,
//!   which are not written here, so `engine = aot` is what ran.
//! - Compiled code must stay stoppable by the call time limit: the compiler
//!   is told to make it interruptible (WasmEdge's stop flag is then checked
//!   where each block, loop and `if` begins), and every function body is
//!   first wrapped in a block, so that the flag is checked on every call too
//!   ([`crate::entry_checks`]: without it, unbounded recursion ran for ever).
//! - A WasmEdge built without LLVM has no compiler (`WasmEdge_CompilerCreate`
//!   returns NULL): the runtime reports that, and the interpreter still runs.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use blueprint_runtime_api::RuntimeError;
use sha2::{Digest, Sha256};
use wasmedge_sys::ffi;

use crate::ffi::{Compiler, Config, check};

/// The compiler settings, in the cache key: O2 (WasmEdge's `wasmedge
/// compile` default), a native shared library, interruptible code, function
/// bodies wrapped in a block ([`crate::entry_checks`]).
const SETTINGS: &str = "O2,native,interruptible,entry-blocks";

/// The compiler and its cache.
pub(crate) struct AotCompiler {
    /// `WasmEdge_CompilerCompileFromBytes` is not documented as thread-safe.
    compiler: Mutex<Compiler>,
    /// `<cache>/wasmedge-aot/<version>`.
    dir: PathBuf,
}

// SAFETY: the compiler context is only used under the mutex.
unsafe impl Send for AotCompiler {}
unsafe impl Sync for AotCompiler {}

/// Why this WasmEdge cannot compile ahead of time, if it cannot. Probed
/// once per process: the runtime table asks on every look.
pub(crate) fn unavailable() -> Option<(String, String)> {
    static PROBED: std::sync::OnceLock<Option<(String, String)>> = std::sync::OnceLock::new();
    PROBED.get_or_init(probe).clone()
}

fn probe() -> Option<(String, String)> {
    // SAFETY: a compiler on the default configuration, deleted at once.
    let compiler = unsafe { Compiler::from_raw(ffi::WasmEdge_CompilerCreate(std::ptr::null())) };
    match compiler {
        Some(_) => None,
        None => Some((
            format!(
                "the linked WasmEdge {} has no AOT compiler (it was built without its LLVM backend)",
                crate::engine::linked_version()
            ),
            "build WasmEdge with -DWASMEDGE_USE_LLVM=ON (Debian: llvm-15-dev liblld-15-dev), or use \
             the interpreter, `wasmedge-interp`"
                .into(),
        )),
    }
}

impl AotCompiler {
    /// A compiler with [`SETTINGS`] and the run's memory cap, caching under
    /// `cache`.
    pub(crate) fn new(max_memory_pages: u32, cache: &Path, version: &str) -> Result<Self, RuntimeError> {
        let fail = |what: &str| RuntimeError::Config(format!("WasmEdge AOT compiler: {what}"));
        // SAFETY: C API constructors and setters on fresh contexts; the
        // compiler copies the configuration.
        let compiler = unsafe {
            let config =
                Config::from_raw(ffi::WasmEdge_ConfigureCreate()).ok_or_else(|| fail("configure failed"))?;
            ffi::WasmEdge_ConfigureSetMaxMemoryPage(config.as_ptr(), u64::from(max_memory_pages));
            ffi::WasmEdge_ConfigureCompilerSetOptimizationLevel(
                config.as_ptr(),
                ffi::WasmEdge_CompilerOptimizationLevel_O2,
            );
            ffi::WasmEdge_ConfigureCompilerSetOutputFormat(
                config.as_ptr(),
                ffi::WasmEdge_CompilerOutputFormat_Native,
            );
            ffi::WasmEdge_ConfigureCompilerSetInterruptible(config.as_ptr(), true);
            Compiler::from_raw(ffi::WasmEdge_CompilerCreate(config.as_ptr()))
        };
        let compiler = compiler.ok_or_else(|| {
            let (reason, fix) = unavailable().unwrap_or_else(|| ("creating it failed".into(), String::new()));
            fail(&format!("{reason} (fix: {fix})"))
        })?;
        Ok(Self {
            compiler: Mutex::new(compiler),
            dir: cache.join("wasmedge-aot").join(version),
        })
    }

    /// The shared library for `wasm`: from the cache, or compiled into it.
    pub(crate) fn library(&self, wasm: &[u8]) -> Result<PathBuf, RuntimeError> {
        let mut key = Sha256::new();
        key.update(SETTINGS.as_bytes());
        key.update(wasm);
        let path = self.dir.join(format!("{}.so", hex::encode(key.finalize())));
        if path.is_file() {
            return Ok(path);
        }
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| RuntimeError::Compile(format!("creating {}: {e}", self.dir.display())))?;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let partial = self.dir.join(format!(
            ".{}.{}.{}.partial.so",
            path.file_stem().unwrap_or_default().to_string_lossy(),
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let out = CString::new(partial.as_os_str().as_bytes())
            .map_err(|_| RuntimeError::Compile(format!("{} has a NUL in its path", partial.display())))?;
        let wasm = crate::entry_checks::add(wasm).map_err(RuntimeError::Compile)?;
        let compiled = {
            let compiler = self
                .compiler
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // SAFETY: the bytes and the path outlive the call.
            unsafe {
                check(ffi::WasmEdge_CompilerCompileFromBytes(
                    compiler.as_ptr(),
                    ffi::WasmEdge_BytesWrap(
                        wasm.as_ptr(),
                        u32::try_from(wasm.len())
                            .map_err(|_| RuntimeError::Compile("module larger than 4 GiB".into()))?,
                    ),
                    out.as_ptr(),
                ))
            }
        };
        let done = compiled
            .map_err(|f| RuntimeError::Compile(format!("WasmEdge AOT compile: {f}")))
            .and_then(|()| {
                std::fs::rename(&partial, &path)
                    .map_err(|e| RuntimeError::Compile(format!("storing {}: {e}", path.display())))
            });
        if done.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        done.map(|()| path)
    }
}
