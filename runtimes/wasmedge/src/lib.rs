//! WasmEdge adapter: the guest ABI on WasmEdge's interpreter.
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
//! # Engine: interpreter
//!
//! The adapter runs every module in WasmEdge's **interpreter**
//! ([`ENGINE`] is recorded in [`RuntimeInfo::engine`](blueprint_runtime_api::RuntimeInfo)):
//! it sets the run mode explicitly, so even a module carrying WasmEdge AOT
//! code is interpreted. WasmEdge's AOT compiler needs a library built with
//! LLVM and a compile step this adapter does not have; interpreted figures
//! are about an order of magnitude slower than the compiling runtimes', which
//! is why the label is part of every result.
//!
//! # Building the real adapter
//!
//! See `README.md` next to this crate: WasmEdge 0.17.1 installed under a
//! prefix, `libclang` for the sdk's bindgen, then
//! `WASMEDGE_DIR=<prefix> cargo build --release --features wasmedge` and
//! `LD_LIBRARY_PATH=<prefix>/lib` at run time.

use std::sync::Arc;

use blueprint_runtime_api::{Runtime, RuntimeConfig, RuntimeError};

mod command;
#[cfg(feature = "wasmedge")]
mod engine;
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
/// The engine label recorded in results: this adapter always interprets.
pub const ENGINE: &str = "interpreter";
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
pub fn availability() -> Result<(), (String, String)> {
    #[cfg(feature = "wasmedge")]
    {
        engine::check_linked_version()
    }
    #[cfg(not(feature = "wasmedge"))]
    {
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
pub fn create(config: &RuntimeConfig) -> Result<Arc<dyn Runtime>, RuntimeError> {
    #[cfg(feature = "wasmedge")]
    {
        Ok(Arc::new(WasmEdgeRuntime::new(config)?))
    }
    #[cfg(not(feature = "wasmedge"))]
    {
        let _ = config;
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
