//! WASI preview 1 commands on Wasmtime: `wasmtime-wasi`'s preview 1 with the
//! command's arguments, environment, preopened directories (read and write)
//! and the process's stdio, on the runtime's own engine, so the memory cap
//! (store limits) and the time limit (epoch deadline over the whole run)
//! apply as to a request.

use blueprint_runtime_api::{CommandError, CommandRunner, RuntimeError, WasiCommand};
use wasmtime::{Linker, Store, StoreLimits, StoreLimitsBuilder, Trap};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use crate::{EPOCH_TICK, WasmtimeRuntime, call_error};

struct CommandData {
    wasi: WasiP1Ctx,
    limits: StoreLimits,
}

impl CommandRunner for WasmtimeRuntime {
    fn run_command(&self, wasm: &[u8], command: &WasiCommand) -> Result<i32, CommandError> {
        let timeout = self.limits.call_timeout;
        let module =
            wasmtime::Module::new(&self.engine, wasm).map_err(|e| RuntimeError::Compile(format!("{e:#}")))?;
        let mut linker: Linker<CommandData> = Linker::new(&self.engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |d: &mut CommandData| &mut d.wasi)
            .map_err(|e| RuntimeError::Config(format!("WASI: {e:#}")))?;

        let mut wasi = WasiCtxBuilder::new();
        wasi.inherit_stdio().args(&command.args).envs(&command.env);
        for dir in &command.dirs {
            wasi.preopened_dir(&dir.host, &dir.guest, FsPerms::ReadWrite)
                .map_err(|e| {
                    RuntimeError::Config(format!(
                        "preopening {} as `{}`: {e:#}",
                        dir.host.display(),
                        dir.guest
                    ))
                })?;
        }
        let data = CommandData {
            wasi: wasi.build_p1(),
            limits: StoreLimitsBuilder::new()
                .memory_size(self.limits.max_memory_pages as usize * 65536)
                .build(),
        };
        let mut store = Store::new(&self.engine, data);
        store.limiter(|d| &mut d.limits);
        // One deadline for the whole run; the next tick may come at once.
        let ticks = timeout
            .as_micros()
            .div_ceil(EPOCH_TICK.as_micros())
            .saturating_add(1);
        store.set_epoch_deadline(ticks.min(u128::from(u64::MAX)) as u64);

        // A start function that traps or loops is the guest's fault; any
        // other instantiation failure (a missing import) is the module's.
        let instance = linker.instantiate(&mut store, &module).map_err(|e| {
            if e.downcast_ref::<Trap>().is_some() {
                CommandError::Guest(call_error(e, timeout))
            } else {
                CommandError::Setup(RuntimeError::Instantiate(format!("{e:#}")))
            }
        })?;
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .map_err(|e| {
                RuntimeError::Abi(format!(
                    "not a WASI command: no `_start` of type [] -> [] ({e:#})"
                ))
            })?;
        match start.call(&mut store, ()) {
            Ok(()) => Ok(0),
            // For a command, proc_exit is the normal way to end.
            Err(e) => match e.downcast_ref::<I32Exit>() {
                Some(exit) => Ok(exit.0),
                None => Err(CommandError::Guest(call_error(e, timeout))),
            },
        }
    }
}
