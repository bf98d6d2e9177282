//! WASI preview 1 commands on Wasmer's own WASI, `wasmer-wasix` (the `wasix`
//! feature): what `blueprint-bench wasi-run --runtime wasmer` runs when this
//! crate is built with it, so that a conformance row labelled "wasmer" is
//! Wasmer's WASI and not this crate's subset (`src/command.rs`).
//!
//! The command gets what Wasmer's own `wasmer run` gives one: its arguments
//! and environment (only the ones given), the host process's stdin, stdout
//! and stderr, and each preopened directory as a host directory mounted at
//! its guest path (a `virtual_fs` host file system rooted there, so no path
//! leads out of it) in an otherwise empty file system.
//!
//! What stays this crate's, so that the limits apply as to a request:
//!
//! - the store: built on this runtime's engine, whose tunables cap memory;
//! - the time limit: the watchdog interrupts a command past its deadline.
//!   `wasmer-wasix`'s functions run on the guest's stack like any import, so
//!   each is wrapped in a function that runs it through the store's
//!   [`ImportGate`] (`src/watchdog.rs` says why a signal must never land in
//!   host code). A function that blocks (a read of stdin, a long
//!   `poll_oneoff` sleep) is not cut short; the command stops when it returns.
//!
//! `wasmer-wasix` runs its I/O on Tokio: each run gets a small runtime of its
//! own (`wasi-run` runs commands on a thread outside the harness's).

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use blueprint_runtime_api::wasi::DeadlineReached;
use blueprint_runtime_api::{CommandError, CommandRunner, RuntimeError, WasiCommand};
use wasmer::{Extern, Function, FunctionEnv, FunctionEnvMut, Imports, InstantiationError, Store};
use wasmer_wasix::virtual_fs::{self, host_fs, mem_fs};
use wasmer_wasix::{WasiEnv, WasiError, WasiVersion};

use crate::WasmerRuntime;
use crate::watchdog::{ImportGate, Interrupt};

impl CommandRunner for WasmerRuntime {
    fn run_command(&self, wasm: &[u8], command: &WasiCommand) -> Result<i32, CommandError> {
        let io = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("wasmer-wasix-io")
            .enable_all()
            .build()
            .map_err(|e| RuntimeError::Config(format!("starting wasmer-wasix's Tokio runtime: {e}")))?;
        let _entered = io.enter();
        let module =
            wasmer::Module::new(&self.engine, wasm).map_err(|e| RuntimeError::Compile(e.to_string()))?;

        let mut store = Store::new(self.engine.clone());
        let mut wasi = environment(command, &io)?
            .engine(self.engine.clone())
            .finalize(&mut store)
            .map_err(|e| RuntimeError::Instantiate(format!("wasmer-wasix: {e}")))?;
        // A module with no WASI imports at all still gets preview 1 (and is
        // refused below if it imports anything else).
        let version = wasmer_wasix::get_wasi_version(&module, false).unwrap_or(WasiVersion::Snapshot1);
        let wasi_imports = wasmer_wasix::generate_import_object_from_env(&mut store, &wasi.env, version);
        let gate = Arc::new(ImportGate::default());
        let mut imports = Imports::new();
        for import in module.imports() {
            let (m, n) = (import.module(), import.name());
            let Some(export) = wasi_imports.get_export(m, n) else {
                return Err(RuntimeError::Instantiate(format!(
                    "unknown import `{m}::{n}`: commands on this runtime get wasmer-wasix's WASI"
                ))
                .into());
            };
            let export = match export {
                Extern::Function(inner) => Extern::Function(gated(&mut store, &inner, &gate)),
                other => other,
            };
            imports.define(m, n, export);
        }

        let timeout = self.limits.call_timeout;
        let _armed = self.watchdog.handle().arm(
            Interrupt::for_call_on_this_thread(store.interrupter(), gate),
            timeout,
        );
        let started = std::time::Instant::now();
        let exit = |e: wasmer::RuntimeError| match e.downcast_ref::<WasiError>() {
            Some(WasiError::Exit(code)) => Ok(code.raw()),
            _ => Err(CommandError::Guest(crate::command_error(e, timeout, started))),
        };
        let instance = match wasmer::Instance::new(&mut store, &module, &imports) {
            Ok(instance) => instance,
            Err(InstantiationError::Start(e)) => return exit(e),
            Err(other) => return Err(RuntimeError::Instantiate(other.to_string()).into()),
        };
        wasi.initialize(&mut store, instance.clone())
            .map_err(|e| RuntimeError::Instantiate(format!("wasmer-wasix: {e}")))?;
        let start = crate::start_function(&instance, &store)?;
        let outcome = match start.call(&mut store) {
            Ok(()) => Ok(0),
            Err(e) => exit(e),
        };
        wasi.on_exit(&mut store, None);
        outcome
    }
}

/// The command's WASI environment: arguments, environment and its
/// directories, each mounted at its guest path and preopened there.
fn environment(
    command: &WasiCommand,
    io: &tokio::runtime::Runtime,
) -> Result<wasmer_wasix::WasiEnvBuilder, RuntimeError> {
    let program = command.args.first().cloned().unwrap_or_default();
    let mut builder = WasiEnv::builder(program);
    builder.add_args(command.args.iter().skip(1));
    builder.add_envs(command.env.iter().cloned());

    let root = virtual_fs::MountFileSystem::new();
    root.mount(Path::new("/"), Arc::new(mem_fs::FileSystem::default()))
        .map_err(|e| RuntimeError::Config(format!("wasmer-wasix: mounting an empty root: {e}")))?;
    for dir in &command.dirs {
        let setup = |what: &str, e: &dyn std::fmt::Display| {
            RuntimeError::Config(format!(
                "preopening {} as `{}`: {what}: {e}",
                dir.host.display(),
                dir.guest
            ))
        };
        let guest = mount_point(&dir.guest).map_err(|e| setup("guest path", &e))?;
        let host = host_fs::FileSystem::new(io.handle().clone(), &dir.host)
            .map_err(|e| setup("host directory", &e))?;
        if guest == Path::new("/") {
            root.set_mount(&guest, Arc::new(host))
        } else {
            root.mount(&guest, Arc::new(host))
        }
        .map_err(|e| setup("mounting", &e))?;
        let name = dir.guest.clone();
        builder
            .add_preopen_build(|p| {
                let p = p.directory(&guest).read(true).write(true).create(true);
                // An absolute guest path is its own name; `.` and other
                // relative names are kept as given.
                if name.starts_with('/') { p } else { p.alias(&name) }
            })
            .map_err(|e| setup("preopening", &e))?;
    }
    builder.set_mount_fs(root);
    Ok(builder)
}

/// Where a guest directory name is mounted: `/data` at `/data`, `.` at `/`,
/// `data` at `/data`; `..` above the root is refused.
fn mount_point(guest: &str) -> Result<PathBuf, String> {
    let mut out = PathBuf::from("/");
    for part in Path::new(guest).components() {
        match part {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(name) => out.push(name),
            Component::ParentDir if out != Path::new("/") => {
                out.pop();
            }
            Component::ParentDir | Component::Prefix(_) => return Err(format!("`{guest}` leaves the root")),
        }
    }
    Ok(out)
}

/// `inner` (one of `wasmer-wasix`'s functions) run through the store's
/// import gate: never entered once the call is past its deadline, and ending
/// the call as a time-out when it returns past it.
fn gated(store: &mut Store, inner: &Function, gate: &Arc<ImportGate>) -> Function {
    let ty = inner.ty(store);
    let env = FunctionEnv::new(store, (inner.clone(), gate.clone()));
    Function::new_with_env(
        store,
        &env,
        ty,
        |mut env: FunctionEnvMut<'_, (Function, Arc<ImportGate>)>, args: &[wasmer::Value]| {
            let (inner, gate) = env.data().clone();
            match gate.run(|| inner.call(&mut env, args)) {
                Ok(result) => result.map(|values| values.into_vec()),
                Err(DeadlineReached) => Err(wasmer::RuntimeError::user(Box::new(DeadlineReached))),
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_paths_mount_inside_the_root() {
        assert_eq!(mount_point("/data").unwrap(), PathBuf::from("/data"));
        assert_eq!(mount_point(".").unwrap(), PathBuf::from("/"));
        assert_eq!(mount_point("data/./x/..").unwrap(), PathBuf::from("/data"));
        assert!(mount_point("../up").is_err());
    }
}
