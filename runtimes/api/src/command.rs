//! Running a WASI preview 1 *command* module: what `blueprint-bench wasi-run`
//! asks of an adapter, so that every runtime's WASI can be checked the same
//! way.
//!
//! This is apart from the guest ABI on purpose. An ABI guest is a reactor
//! that gets WASI with no capabilities (`workloads/ABI.md`); a command gets
//! real ones: its arguments, an environment, preopened host directories and
//! the host process's stdin, stdout and stderr. An adapter implements
//! [`CommandRunner`] next to its [`crate::Runtime`]:
//!
//! ```text
//! CommandRunner::run_command(bytes, &WasiCommand) -> exit code
//! ```
//!
//! compiles the module, links WASI preview 1 (and nothing else), calls
//! `_start` once and returns the guest's exit code: `0` when `_start`
//! returns, `n` when the guest calls `proc_exit(n)`.
//!
//! Limits: the runtime's [`crate::Limits`] apply as to a request:
//! `max_memory_pages` caps the memory, and `call_timeout` bounds the whole
//! run (instantiation and `_start`), stopping guest code that runs past it.
//! A host call that blocks (a read of stdin that never ends) is not cut
//! short; the guest stops when it returns.
//!
//! Errors: a module that cannot be compiled, has no `_start`, or imports
//! something other than WASI preview 1 is a [`CommandError::Setup`]; a trap
//! or timeout during the run is a [`CommandError::Guest`], and
//! [`CommandError::exit_code`] turns either into the process exit code a
//! command line reports ([`EXIT_TRAP`], [`EXIT_TIMEOUT`]).

use std::path::PathBuf;

use crate::{CallError, RuntimeError};

/// The process exit code for a guest that trapped: 128 + SIGABRT, as
/// Wasmtime's own command line and a native program that aborts.
pub const EXIT_TRAP: i32 = 134;
/// The process exit code for a guest stopped at the time limit (as GNU
/// `timeout`).
pub const EXIT_TIMEOUT: i32 = 124;
/// The process exit code when the module could not be run at all (bad
/// module, no `_start`, an import the runtime does not provide).
pub const EXIT_SETUP: i32 = 125;

/// A host directory the guest sees as a preopened directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreopenDir {
    /// The directory on the host.
    pub host: PathBuf,
    /// The name the guest opens it by (`fd_prestat_dir_name`), e.g. `/data` or `.`.
    pub guest: String,
}

/// What the guest gets besides its module bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WasiCommand {
    /// `argv`, program name first (`args_get`).
    pub args: Vec<String>,
    /// The environment, in order (`environ_get` gives `KEY=VALUE`).
    pub env: Vec<(String, String)>,
    /// Preopened directories, read and write, given file descriptors 3, 4, … in this order.
    pub dirs: Vec<PreopenDir>,
}

/// Why a command did not end with an exit code of its own.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The module could not be run: compile, link or WASI set-up failed.
    #[error(transparent)]
    Setup(#[from] RuntimeError),
    /// The guest trapped or ran past the time limit.
    #[error(transparent)]
    Guest(#[from] CallError),
}

impl CommandError {
    /// The process exit code to report: [`EXIT_TIMEOUT`] for a timeout,
    /// [`EXIT_TRAP`] for any other guest failure, [`EXIT_SETUP`] when the
    /// module could not be run.
    pub fn exit_code(&self) -> i32 {
        match self {
            CommandError::Setup(_) => EXIT_SETUP,
            CommandError::Guest(CallError::Timeout(_)) => EXIT_TIMEOUT,
            CommandError::Guest(_) => EXIT_TRAP,
        }
    }
}

/// An adapter that can run WASI preview 1 command modules.
pub trait CommandRunner: Send + Sync {
    /// Runs `wasm`'s `_start` once with `command`'s arguments, environment
    /// and preopened directories, and the host process's stdio.
    ///
    /// # Errors
    /// See [`CommandError`]; a guest that calls `proc_exit(n)` is `Ok(n)`,
    /// not an error.
    fn run_command(&self, wasm: &[u8], command: &WasiCommand) -> Result<i32, CommandError>;
}
