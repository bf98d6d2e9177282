//! Wasmtime adapter: the guest ABI on Wasmtime's Cranelift engine.
//!
//! - One [`wasmtime::Engine`] per runtime, with the pooling instance allocator
//!   (instances are created per request, so slot reuse matters) and epoch
//!   interruption for the call time limit. The epoch ticker thread runs as
//!   long as anything uses the engine (modules and instances keep it alive
//!   after the runtime is dropped).
//! - `compile` checks the ABI's exports with their types and builds an
//!   [`InstancePre`]: imports are resolved once, so a module that cannot link
//!   is refused at compile time and a fresh instance per request costs only
//!   the instantiation itself.
//! - Memory caps go through [`StoreLimits`]: a guest growing past the cap sees
//!   `memory.grow` fail, as the Wasm spec says, rather than a host error.
//! - WASI is `wasmtime-wasi`'s preview 1 except `poll_oneoff`: an epoch cannot
//!   interrupt a host function, and `wasmtime-wasi` sleeps as long as the
//!   guest asks, so requests get the API crate's sleep that ends at the
//!   call's deadline ([`wasi::poll_oneoff`]); both read one monotonic clock.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use blueprint_runtime_api::abi::{self, HostState, PackedResponse};
use blueprint_runtime_api::wasi::{self, CallDeadline, DeadlineReached};
use blueprint_runtime_api::{
    CallError, DaprHost, Instance, Limits, Module, Runtime, RuntimeConfig, RuntimeError, RuntimeInfo,
    TrapKind,
};
use wasmtime::{
    Caller, Config, Engine, ExternType, InstanceAllocationStrategy, InstancePre, Linker, Memory,
    PoolingAllocationConfig, Store, StoreLimits, StoreLimitsBuilder, Trap, TypedFunc, ValType,
};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{HostMonotonicClock, WasiCtxBuilder};

mod command;
pub mod proxy;

/// The runtime's name in scenarios and results.
pub const NAME: &str = "wasmtime";
/// The linked Wasmtime version (read from Cargo.lock at build time).
pub const VERSION: &str = env!("BLUEPRINT_LOCKED_VERSION");

/// How often the epoch ticks; the time limit is enforced to this precision.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);
/// Concurrent instances the pool holds; more live instances than this fail to
/// instantiate (the harness never runs more workers than this).
const POOL_INSTANCES: u32 = 256;

/// Per-store data: WASI, the `dapr` import state, the memory cap.
struct StoreData {
    wasi: WasiP1Ctx,
    host: HostState,
    limits: StoreLimits,
    memory: Option<Memory>,
}

/// Wasmtime with Cranelift, the pooling allocator and epoch interruption.
pub struct WasmtimeRuntime {
    engine: Engine,
    limits: Limits,
    /// Set up for counting: serial compile, instances on demand.
    counting: bool,
}

impl WasmtimeRuntime {
    /// Creates an engine for `config`.
    ///
    /// # Errors
    /// An engine configuration Wasmtime rejects.
    pub fn new(config: &RuntimeConfig) -> Result<Self, RuntimeError> {
        let limits = config.limits.clone();
        let mut pool = PoolingAllocationConfig::default();
        pool.total_core_instances(POOL_INSTANCES)
            .total_memories(POOL_INSTANCES)
            .total_tables(POOL_INSTANCES)
            .max_memory_size(limits.max_memory_pages as usize * 65536);
        let mut cfg = Config::new();
        cfg.epoch_interruption(true);
        if config.counting {
            // Counted on one thread, in Valgrind's address space: see
            // `RuntimeConfig::counting`.
            cfg.parallel_compilation(false)
                .allocation_strategy(InstanceAllocationStrategy::OnDemand);
        } else {
            cfg.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&cfg).map_err(|e| RuntimeError::Config(format!("{e:#}")))?;
        start_epoch_ticker(&engine, "wasmtime-epoch")?;
        Ok(Self {
            engine,
            limits,
            counting: config.counting,
        })
    }

    fn linker(&self) -> Result<Linker<StoreData>, RuntimeError> {
        let mut linker = Linker::new(&self.engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s: &mut StoreData| &mut s.wasi)
            .map_err(|e| RuntimeError::Config(format!("WASI: {e:#}")))?;
        add_dapr_imports(&mut linker).map_err(|e| RuntimeError::Config(format!("dapr imports: {e:#}")))?;
        linker.allow_shadowing(true);
        linker
            .func_wrap(
                wasi::MODULE,
                "poll_oneoff",
                |mut c: Caller<'_, StoreData>, input: i32, output: i32, count: i32, nevents: i32| {
                    let Some(memory) = c.data().memory else {
                        return Ok(wasi::errno::FAULT);
                    };
                    wasi::poll_oneoff(memory.data_mut(&mut c), input, output, count, nevents)
                        .map_err(wasmtime::Error::new)
                },
            )
            .map_err(|e| RuntimeError::Config(format!("WASI poll_oneoff: {e:#}")))?;
        Ok(linker)
    }
}

/// Starts the thread that ticks `engine`'s epoch every [`EPOCH_TICK`]. It
/// stops when the last user of the engine is gone, not with the runtime:
/// compiled modules and live instances hold the engine and still need their
/// time limit.
pub(crate) fn start_epoch_ticker(engine: &Engine, name: &str) -> Result<(), RuntimeError> {
    let weak_engine = engine.weak();
    thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            loop {
                thread::sleep(EPOCH_TICK);
                match weak_engine.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(drop)
        .map_err(|e| RuntimeError::Config(format!("epoch thread: {e}")))
}

/// The monotonic clock `poll_oneoff` reads, served to `clock_time_get` too, so
/// an absolute sleep waits until the time the guest read.
struct SharedMonotonicClock;

impl HostMonotonicClock for SharedMonotonicClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        wasi::monotonic_ns()
    }
}

impl Runtime for WasmtimeRuntime {
    fn info(&self) -> RuntimeInfo {
        RuntimeInfo {
            name: NAME.into(),
            version: VERSION.into(),
            engine: if self.counting {
                "cranelift+ondemand".into()
            } else {
                "cranelift+pooling".into()
            },
        }
    }

    fn compile(&self, wasm: &[u8]) -> Result<Arc<dyn Module>, RuntimeError> {
        let module =
            wasmtime::Module::new(&self.engine, wasm).map_err(|e| RuntimeError::Compile(format!("{e:#}")))?;
        check_exports(&module)?;
        let pre = self
            .linker()?
            .instantiate_pre(&module)
            .map_err(|e| RuntimeError::Instantiate(format!("{e:#}")))?;
        Ok(Arc::new(WasmtimeModule {
            pre,
            limits: self.limits.clone(),
        }))
    }
}

/// The ABI's exports, with their types, so a module that breaks the ABI is
/// refused at compile time rather than on every instantiation.
fn check_exports(module: &wasmtime::Module) -> Result<(), RuntimeError> {
    use ValType::{I32, I64};
    match module.get_export(abi::EXPORT_MEMORY) {
        Some(ExternType::Memory(_)) => {}
        Some(other) => {
            return Err(RuntimeError::Abi(format!(
                "`memory` is not a memory but {other:?}"
            )));
        }
        None => return Err(RuntimeError::Abi("module does not export `memory`".into())),
    }
    let functions: [(&str, &[ValType], &[ValType]); 3] = [
        (abi::EXPORT_ABI_VERSION, &[], &[I32]),
        (abi::EXPORT_ALLOC, &[I32], &[I32]),
        (abi::EXPORT_HANDLE, &[I32, I32], &[I64]),
    ];
    for (name, params, results) in functions {
        check_function(module, name, params, results, true)?;
    }
    check_function(module, abi::EXPORT_INITIALIZE, &[], &[], false)
}

/// Checks that `name` is an exported function of type `params -> results`
/// (or, when not `required`, absent).
fn check_function(
    module: &wasmtime::Module,
    name: &str,
    params: &[ValType],
    results: &[ValType],
    required: bool,
) -> Result<(), RuntimeError> {
    let same = |got: &mut dyn ExactSizeIterator<Item = ValType>, wanted: &[ValType]| {
        got.len() == wanted.len() && got.zip(wanted).all(|(a, b)| ValType::eq(&a, b))
    };
    let wanted = || {
        let list = |types: &[ValType]| {
            types
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        format!("[{}] -> [{}]", list(params), list(results))
    };
    match module.get_export(name) {
        Some(ExternType::Func(ty)) if same(&mut ty.params(), params) && same(&mut ty.results(), results) => {
            Ok(())
        }
        Some(ExternType::Func(ty)) => Err(RuntimeError::Abi(format!(
            "`{name}` has type {ty}, the ABI says {}",
            wanted()
        ))),
        Some(other) => Err(RuntimeError::Abi(format!(
            "`{name}` is not a function but {other:?}"
        ))),
        None if required => Err(RuntimeError::Abi(format!("module does not export `{name}`"))),
        None => Ok(()),
    }
}

struct WasmtimeModule {
    pre: InstancePre<StoreData>,
    limits: Limits,
}

impl WasmtimeModule {
    /// Epoch ticks for one call: the next tick may come at once, so one more
    /// than the limit holds, and a call is never stopped before its limit.
    fn ticks(&self) -> u64 {
        self.limits
            .call_timeout
            .as_micros()
            .div_ceil(EPOCH_TICK.as_micros())
            .saturating_add(1)
            .min(u64::MAX as u128) as u64
    }
}

impl Module for WasmtimeModule {
    fn instantiate(&self, host: Arc<dyn DaprHost>) -> Result<Box<dyn Instance>, RuntimeError> {
        // Start function, `_initialize` and `bb_abi_version` run under the
        // same time limit as a call.
        let timeout = self.limits.call_timeout;
        let fail = |e: wasmtime::Error| {
            if timed_out(&e) {
                RuntimeError::Instantiate(format!("timeout: initialisation ran longer than {timeout:?}"))
            } else {
                RuntimeError::Instantiate(format!("{e:#}"))
            }
        };
        let data = StoreData {
            wasi: WasiCtxBuilder::new()
                .monotonic_clock(SharedMonotonicClock)
                .build_p1(),
            host: HostState::new(host),
            limits: StoreLimitsBuilder::new()
                .memory_size(self.limits.max_memory_pages as usize * 65536)
                .build(),
            memory: None,
        };
        let mut store = Store::new(self.pre.module().engine(), data);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(self.ticks());
        let _deadline = CallDeadline::set(timeout);
        let instance = self.pre.instantiate(&mut store).map_err(fail)?;
        let memory = instance
            .get_memory(&mut store, abi::EXPORT_MEMORY)
            .ok_or_else(|| RuntimeError::Abi("`memory` is not a memory".into()))?;
        store.data_mut().memory = Some(memory);
        let typed = |e: wasmtime::Error| RuntimeError::Abi(format!("{e:#}"));
        // `compile` checked its type: present means callable as `[] -> []`.
        if instance.get_export(&mut store, abi::EXPORT_INITIALIZE).is_some() {
            instance
                .get_typed_func::<(), ()>(&mut store, abi::EXPORT_INITIALIZE)
                .map_err(typed)?
                .call(&mut store, ())
                .map_err(fail)?;
        }
        let version = instance
            .get_typed_func::<(), i32>(&mut store, abi::EXPORT_ABI_VERSION)
            .map_err(typed)?
            .call(&mut store, ())
            .map_err(fail)?;
        if version != abi::ABI_VERSION {
            return Err(RuntimeError::Abi(format!(
                "module speaks guest ABI {version}, this host speaks {}",
                abi::ABI_VERSION
            )));
        }
        Ok(Box::new(WasmtimeInstance {
            alloc: instance
                .get_typed_func(&mut store, abi::EXPORT_ALLOC)
                .map_err(typed)?,
            handle: instance
                .get_typed_func(&mut store, abi::EXPORT_HANDLE)
                .map_err(typed)?,
            store,
            memory,
            ticks: self.ticks(),
            timeout,
        }))
    }
}

struct WasmtimeInstance {
    store: Store<StoreData>,
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    handle: TypedFunc<(i32, i32), i64>,
    ticks: u64,
    timeout: Duration,
}

impl Instance for WasmtimeInstance {
    fn handle(&mut self, request: &[u8]) -> Result<Vec<u8>, CallError> {
        self.store.set_epoch_deadline(self.ticks);
        let _deadline = CallDeadline::set(self.timeout);
        let len =
            i32::try_from(request.len()).map_err(|_| CallError::Abi("request larger than 2 GiB".into()))?;
        let ptr = self
            .alloc
            .call(&mut self.store, len)
            .map_err(|e| call_error(e, self.timeout))?;
        if ptr == 0 && len > 0 {
            return Err(CallError::Abi("bb_alloc returned 0".into()));
        }
        self.memory
            .write(&mut self.store, ptr as u32 as usize, request)
            .map_err(|_| CallError::Abi(format!("bb_alloc returned {ptr}, outside memory")))?;
        let packed = self
            .handle
            .call(&mut self.store, (ptr, len))
            .map_err(|e| call_error(e, self.timeout))?;
        PackedResponse::decode(packed).read(self.memory.data(&self.store))
    }
}

/// The call ran into its time limit: in guest code (the epoch) or asleep in
/// WASI (the deadline).
fn timed_out(err: &wasmtime::Error) -> bool {
    matches!(err.downcast_ref::<Trap>(), Some(Trap::Interrupt))
        || err.downcast_ref::<DeadlineReached>().is_some()
}

/// Maps a Wasmtime call error to the ABI's error kinds.
fn call_error(err: wasmtime::Error, timeout: Duration) -> CallError {
    if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return CallError::Trap {
            kind: TrapKind::Other,
            message: format!("guest called proc_exit({})", exit.0),
        };
    }
    if timed_out(&err) {
        return CallError::Timeout(timeout);
    }
    let kind = match err.downcast_ref::<Trap>() {
        Some(Trap::UnreachableCodeReached) => TrapKind::Unreachable,
        Some(Trap::MemoryOutOfBounds | Trap::HeapMisaligned) => TrapKind::MemoryOutOfBounds,
        Some(Trap::IntegerDivisionByZero) => TrapKind::DivisionByZero,
        Some(Trap::IntegerOverflow | Trap::BadConversionToInteger) => TrapKind::IntegerOverflow,
        Some(Trap::StackOverflow) => TrapKind::StackOverflow,
        Some(Trap::TableOutOfBounds | Trap::IndirectCallToNull | Trap::BadSignature) => {
            TrapKind::BadIndirectCall
        }
        Some(Trap::AllocationTooLarge) => TrapKind::MemoryLimit,
        _ => TrapKind::Other,
    };
    CallError::Trap {
        kind,
        message: format!("{err:#}"),
    }
}

/// Registers the guest ABI's `dapr` and `http` import modules. Each function borrows the
/// guest memory and the store's [`HostState`] together and hands both over.
fn add_dapr_imports(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    // Imports run only after `instantiate` stored the memory; a start
    // function calling in earlier gets INVALID_ARGUMENT instead of a panic.
    fn with(caller: &mut Caller<'_, StoreData>, f: impl FnOnce(&mut [u8], &mut HostState) -> i64) -> i64 {
        let Some(memory) = caller.data().memory else {
            return abi::code::INVALID_ARGUMENT;
        };
        let (mem, data) = memory.data_and_store_mut(caller);
        f(mem, &mut data.host)
    }
    let m = abi::IMPORT_MODULE;
    linker.func_wrap(
        m,
        "state_get",
        |mut c: Caller<'_, StoreData>, sp: i32, sl: i32, kp: i32, kl: i32| {
            with(&mut c, |mem, host| host.state_get(mem, (sp, sl), (kp, kl)))
        },
    )?;
    linker.func_wrap(
        m,
        "state_get_bulk",
        |mut c: Caller<'_, StoreData>, sp: i32, sl: i32, kp: i32, kl: i32| {
            with(&mut c, |mem, host| host.state_get_bulk(mem, (sp, sl), (kp, kl)))
        },
    )?;
    linker.func_wrap(
        m,
        "state_set",
        |mut c: Caller<'_, StoreData>,
         sp: i32,
         sl: i32,
         kp: i32,
         kl: i32,
         vp: i32,
         vl: i32,
         ep: i32,
         el: i32,
         cc: i32| {
            with(&mut c, |mem, host| {
                host.state_set(mem, (sp, sl), (kp, kl), (vp, vl), (ep, el), cc)
            })
        },
    )?;
    linker.func_wrap(
        m,
        "state_delete",
        |mut c: Caller<'_, StoreData>, sp: i32, sl: i32, kp: i32, kl: i32, ep: i32, el: i32, cc: i32| {
            with(&mut c, |mem, host| {
                host.state_delete(mem, (sp, sl), (kp, kl), (ep, el), cc)
            })
        },
    )?;
    linker.func_wrap(
        m,
        "publish",
        |mut c: Caller<'_, StoreData>,
         pp: i32,
         pl: i32,
         tp: i32,
         tl: i32,
         dp: i32,
         dl: i32,
         cp: i32,
         cl: i32| {
            with(&mut c, |mem, host| {
                host.publish(mem, (pp, pl), (tp, tl), (dp, dl), (cp, cl))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "invoke_binding",
        |mut c: Caller<'_, StoreData>, np: i32, nl: i32, op: i32, ol: i32, dp: i32, dl: i32| {
            with(&mut c, |mem, host| {
                host.invoke_binding(mem, (np, nl), (op, ol), (dp, dl))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "log",
        |mut c: Caller<'_, StoreData>, level: i32, p: i32, l: i32| {
            if let Some(memory) = c.data().memory {
                let (mem, data) = memory.data_and_store_mut(&mut c);
                data.host.log(mem, level, (p, l));
            }
        },
    )?;
    // The `http` flavour's generic outbound call.
    let h = abi::IMPORT_HTTP_MODULE;
    linker.func_wrap(
        h,
        "request",
        |mut c: Caller<'_, StoreData>,
         mp: i32,
         ml: i32,
         up: i32,
         ul: i32,
         hp: i32,
         hl: i32,
         bp: i32,
         bl: i32| {
            with(&mut c, |mem, host| {
                host.http_request(mem, (mp, ml), (up, ul), (hp, hl), (bp, bl))
            })
        },
    )?;
    // Both modules' `take_result` read the one result slot.
    for module in [m, h] {
        linker.func_wrap(
            module,
            "take_result",
            |mut c: Caller<'_, StoreData>, p: i32, l: i32| {
                with(&mut c, |mem, host| host.take_result(mem, (p, l)))
            },
        )?;
    }
    Ok(())
}
