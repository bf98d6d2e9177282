//! WasmEdge adapter: the guest ABI on WasmEdge, compiled ahead of time or
//! interpreted.
//!
//! WasmEdge is a C++ library that Debian does not package, so this crate
//! builds in two shapes:
//!
//! - **without the `wasmedge` feature** (the default) it is a stub that links
//!   nothing: [`availability`] says why WasmEdge cannot run in this build and
//!   what would fix it (whether a WasmEdge install was found at build time,
//!   where, and the rebuild command), [`version`] is `None` and [`create`]
//!   fails with the same words. `cargo build --workspace` works everywhere.
//! - **with the `wasmedge` feature** it links WasmEdge 0.17.1 through
//!   `wasmedge-sdk` 0.17.1 and [`WasmEdgeRuntime`] implements
//!   [`blueprint_runtime_api::Runtime`].
//!
//! # Engines: AOT and the interpreter
//!
//! Two runtimes, one per [`Mode`], each recording its engine in
//! [`RuntimeInfo::engine`](blueprint_runtime_api::RuntimeInfo):
//!
//! - `wasmedge`, engine `aot`: every module compiled by WasmEdge's LLVM AOT
//!   compiler into a cached shared library and run from it (`src/aot.rs`),
//!   as WasmEdge's users run it. It needs a WasmEdge built with LLVM; one
//!   without is reported unavailable with that reason.
//! - `wasmedge-interp`, engine `interpreter`: WasmEdge's interpreter, with
//!   the run mode set explicitly so that even a module carrying AOT code is
//!   interpreted. Its figures are one to two orders of magnitude slower.
//!
//! WASI commands (`wasi-run`) run interpreted on both (`src/command.rs`).
//!
//! # Building the real adapter
//!
//! See `README.md` next to this crate: WasmEdge 0.17.1 installed under a
//! prefix, `libclang` for the sdk's bindgen, then
//! `WASMEDGE_DIR=<prefix> cargo build --release --features wasmedge` and
//! `LD_LIBRARY_PATH=<prefix>/lib` at run time.

use std::sync::Arc;

use blueprint_runtime_api::{Runtime, RuntimeConfig, RuntimeError};

#[cfg(feature = "wasmedge")]
mod aot;
mod command;
#[cfg(feature = "wasmedge")]
mod engine;
#[cfg(feature = "wasmedge")]
mod entry_checks;
#[cfg(feature = "wasmedge")]
mod ffi;
#[cfg(feature = "wasmedge")]
mod imports;
#[cfg(feature = "wasmedge")]
mod watchdog;

pub use command::command_runner;
#[cfg(feature = "wasmedge")]
pub use engine::WasmEdgeRuntime;

/// The runtime's name in scenarios and results.
pub const NAME: &str = "wasmedge";
/// How the adapter runs guests: the two runtimes it gives scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Compiled ahead of time by WasmEdge's LLVM backend (`src/aot.rs`):
    /// the runtime `wasmedge`, as WasmEdge's users run it.
    Aot,
    /// WasmEdge's interpreter: the runtime `wasmedge-interp`.
    Interpreter,
}

impl Mode {
    /// The runtime's name in scenarios and results.
    pub fn runtime_name(self) -> &'static str {
        match self {
            Mode::Aot => NAME,
            Mode::Interpreter => "wasmedge-interp",
        }
    }

    /// The engine label recorded in results.
    pub fn engine(self) -> &'static str {
        match self {
            Mode::Aot => "aot",
            Mode::Interpreter => "interpreter",
        }
    }
}
/// The WasmEdge library release the pinned `wasmedge-sdk` is made for.
pub const REQUIRED_WASMEDGE: &str = "0.17.1";
/// The `wasmedge-sdk` version Cargo resolved (read from Cargo.lock at build time).
pub const SDK_VERSION: &str = env!("BLUEPRINT_LOCKED_VERSION");
/// Where WasmEdge's install instructions are.
pub const INSTALL_DOCS: &str = "https://wasmedge.org/docs/start/install";

/// Whether WasmEdge can run in this build: `Ok(())`, or `Err((reason, fix))`.
///
/// Without the `wasmedge` feature it is always unavailable; the reason says
/// whether (and where) a WasmEdge install was found when this crate was
/// built. With the feature it checks that the linked library is the 0.17
/// release the sdk is made for.
///
/// # Errors
/// `(reason, fix)` when WasmEdge cannot be used.
pub fn availability(mode: Mode) -> Result<(), (String, String)> {
    #[cfg(feature = "wasmedge")]
    {
        engine::check_linked_version()?;
        match mode {
            Mode::Aot => aot::unavailable().map_or(Ok(()), Err),
            Mode::Interpreter => Ok(()),
        }
    }
    #[cfg(not(feature = "wasmedge"))]
    {
        let _ = mode;
        Err(stub::unavailable())
    }
}

/// The linked WasmEdge library's version (`WasmEdge_VersionGet`), or `None`
/// in a build without the `wasmedge` feature.
pub fn version() -> Option<String> {
    #[cfg(feature = "wasmedge")]
    {
        Some(engine::linked_version())
    }
    #[cfg(not(feature = "wasmedge"))]
    {
        None
    }
}

/// Creates the runtime as a trait object, so that a host can name WasmEdge
/// without its own `cfg`: in a build without the `wasmedge` feature this
/// fails with the reason and the fix.
///
/// # Errors
/// [`RuntimeError::Config`] when WasmEdge is unavailable or rejects `config`.
pub fn create(config: &RuntimeConfig, mode: Mode) -> Result<Arc<dyn Runtime>, RuntimeError> {
    #[cfg(feature = "wasmedge")]
    {
        Ok(Arc::new(WasmEdgeRuntime::new(config, mode)?))
    }
    #[cfg(not(feature = "wasmedge"))]
    {
        let _ = (config, mode);
        let (reason, fix) = stub::unavailable();
        Err(RuntimeError::Config(format!(
            "WasmEdge is unavailable: {reason} (fix: {fix})"
        )))
    }
}

/// What the build script found, for the stub's messages.
#[cfg(not(feature = "wasmedge"))]
mod stub {
    use super::{INSTALL_DOCS, REQUIRED_WASMEDGE, SDK_VERSION};

    const FOUND_LIB: &str = env!("BLUEPRINT_WASMEDGE_FOUND_LIB");
    const FOUND_VERSION: &str = env!("BLUEPRINT_WASMEDGE_FOUND_VERSION");
    const FOUND_ORIGIN: &str = env!("BLUEPRINT_WASMEDGE_FOUND_ORIGIN");
    const FOUND_ENV: &str = env!("BLUEPRINT_WASMEDGE_FOUND_ENV");
    const FOUND_SHARED: &str = env!("BLUEPRINT_WASMEDGE_FOUND_SHARED");
    const SEARCHED: &str = env!("BLUEPRINT_WASMEDGE_SEARCHED");

    /// Building `wasmedge-sys` runs bindgen, which loads libclang.
    const LIBCLANG: &str = "building it needs libclang; Debian: apt-get install libclang-dev";

    pub(super) fn unavailable() -> (String, String) {
        let generic_fix = format!(
            "install WasmEdge {REQUIRED_WASMEDGE} ({INSTALL_DOCS}) and rebuild with \
             `WASMEDGE_DIR=<prefix> cargo build --release --features wasmedge` ({LIBCLANG}); \
             at run time set LD_LIBRARY_PATH=<prefix>/lib"
        );
        if FOUND_LIB.is_empty() {
            let reason = format!(
                "built without the `wasmedge` feature, and no WasmEdge install was found at build \
                 time (looked at {SEARCHED})"
            );
            return (reason, generic_fix);
        }
        let found = format!(
            "WasmEdge {FOUND_VERSION} was found at build time ({FOUND_ORIGIN}, library directory {FOUND_LIB})"
        );
        if FOUND_VERSION != REQUIRED_WASMEDGE {
            let reason = format!(
                "built without the `wasmedge` feature; {found}, but wasmedge-sdk {SDK_VERSION} needs \
                 WasmEdge {REQUIRED_WASMEDGE}"
            );
            return (reason, generic_fix);
        }
        if FOUND_SHARED.is_empty() {
            let reason = format!(
                "built without the `wasmedge` feature; {found}, but it has no shared library \
                 (libwasmedge.so)"
            );
            return (reason, generic_fix);
        }
        let reason = format!("built without the `wasmedge` feature; {found}");
        let env = if FOUND_ENV.is_empty() {
            String::new()
        } else {
            format!("{FOUND_ENV} ")
        };
        let fix = format!(
            "rebuild with `{env}cargo build --release --features wasmedge` ({LIBCLANG}); at \
             run time set LD_LIBRARY_PATH={FOUND_LIB}"
        );
        (reason, fix)
    }
}
