//! The guest ABI's `dapr` and `http` import modules as WasmEdge host functions.
//!
//! Each function only reads its `i32` arguments, borrows the calling guest's
//! memory (memory 0 of the calling frame's module) and hands both to the
//! instance's [`HostState`], so the semantics are the API crate's, byte for
//! byte the same as on every other runtime.
//!
//! One WASI function is ours too: `poll_oneoff` ([`serve_poll_oneoff`]), so
//! that a guest's sleep sleeps, and ends at the call's time limit.
//!
//! WasmEdge calls a host function as `extern "C" fn(data, frame, params,
//! returns)`. All of them share one trampoline; `data` points at a [`Binding`]
//! that says which body to run and for which instance. A panic in a body (a
//! `DaprHost` implementation that panics) is caught and ends the guest call
//! as a host-function failure instead of unwinding into C++.

use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::{self, NonNull};

use blueprint_runtime_api::abi::{self, HostState};
use blueprint_runtime_api::wasi::{self, DeadlineReached};
use wasmedge_sys::ffi;

use crate::ffi::{FunctionType, ModuleInstance, memory_bytes, wasm_str};

/// What a body gets: the state, the guest memory, the `i32` arguments.
type Body = fn(&mut HostState, &mut [u8], &[i32]) -> i64;

/// Most parameters any import takes (`state_set`).
const MAX_PARAMS: usize = 9;

const D: &str = abi::IMPORT_MODULE;
const H: &str = abi::IMPORT_HTTP_MODULE;

/// Module, name, parameter count, whether it returns an `i64`, body.
const IMPORTS: [(&str, &str, usize, bool, Body); 10] = [
    (D, "state_get", 4, true, |s, m, a| {
        s.state_get(m, (a[0], a[1]), (a[2], a[3]))
    }),
    (D, "state_get_bulk", 4, true, |s, m, a| {
        s.state_get_bulk(m, (a[0], a[1]), (a[2], a[3]))
    }),
    (D, "state_set", 9, true, |s, m, a| {
        s.state_set(m, (a[0], a[1]), (a[2], a[3]), (a[4], a[5]), (a[6], a[7]), a[8])
    }),
    (D, "state_delete", 7, true, |s, m, a| {
        s.state_delete(m, (a[0], a[1]), (a[2], a[3]), (a[4], a[5]), a[6])
    }),
    (D, "publish", 8, true, |s, m, a| {
        s.publish(m, (a[0], a[1]), (a[2], a[3]), (a[4], a[5]), (a[6], a[7]))
    }),
    (D, "invoke_binding", 6, true, |s, m, a| {
        s.invoke_binding(m, (a[0], a[1]), (a[2], a[3]), (a[4], a[5]))
    }),
    (D, "log", 3, false, |s, m, a| {
        s.log(m, a[0], (a[1], a[2]));
        0
    }),
    (D, "take_result", 2, true, |s, m, a| {
        s.take_result(m, (a[0], a[1]))
    }),
    (H, "request", 8, true, |s, m, a| {
        s.http_request(m, (a[0], a[1]), (a[2], a[3]), (a[4], a[5]), (a[6], a[7]))
    }),
    (H, "take_result", 2, true, |s, m, a| {
        s.take_result(m, (a[0], a[1]))
    }),
];

/// The host import modules, each built from its rows of [`IMPORTS`].
pub(crate) const IMPORT_MODULES: [&str; 2] = [D, H];

/// The function types of [`IMPORTS`], created once per runtime (WasmEdge
/// copies a type into every function instance made from it).
pub(crate) struct ImportTypes {
    types: Vec<FunctionType>,
    /// WASI's `poll_oneoff`: `(i32, i32, i32, i32) -> i32`.
    poll_oneoff: FunctionType,
}

impl ImportTypes {
    pub(crate) fn new() -> Option<Self> {
        let types = IMPORTS
            .iter()
            .map(|&(_, _, params, returns, _)| FunctionType::i32s_to(params, returns))
            .collect::<Option<_>>()?;
        Some(Self {
            types,
            poll_oneoff: FunctionType::i32s_to_i32(4)?,
        })
    }

    /// The type of the import `module::name`, if the ABI has one.
    pub(crate) fn get(&self, module: &str, name: &str) -> Option<&FunctionType> {
        let index = IMPORTS.iter().position(|(m, n, ..)| *m == module && *n == name)?;
        self.types.get(index)
    }
}

/// The per-instance side of the imports: the ABI's host state and what a
/// trampoline needs to find it.
pub(crate) struct HostCell {
    pub(crate) state: HostState,
    /// The message of a body that panicked, reported with the failed call.
    pub(crate) panic: Option<String>,
    bindings: Vec<Binding>,
}

#[derive(Clone, Copy)]
struct Binding {
    cell: NonNull<HostCell>,
    params: usize,
    returns: bool,
    body: Body,
}

/// An owned [`HostCell`] at a stable address (the host functions point into
/// it). Must outlive the `dapr` module instance made from it.
pub(crate) struct HostCellBox(NonNull<HostCell>);

impl HostCellBox {
    pub(crate) fn new(state: HostState) -> Self {
        let cell = Box::new(HostCell {
            state,
            panic: None,
            bindings: Vec::with_capacity(IMPORTS.len()),
        });
        let ptr = NonNull::from(Box::leak(cell));
        // SAFETY: just leaked; nothing else refers to it yet.
        let bindings = unsafe { &mut (*ptr.as_ptr()).bindings };
        bindings.extend(IMPORTS.iter().map(|&(_, _, params, returns, body)| Binding {
            cell: ptr,
            params,
            returns,
            body,
        }));
        Self(ptr)
    }

    /// Takes the message of a panicked body, if one did.
    ///
    /// Call only while no guest code of the instance runs.
    pub(crate) fn take_panic(&mut self) -> Option<String> {
        // SAFETY: no host function runs (see above), so this is the only access.
        unsafe { (*self.0.as_ptr()).panic.take() }
    }

    /// Builds the import module instance `module_name` (one of [`IMPORT_MODULES`])
    /// whose functions act on this cell.
    pub(crate) fn import_module(&self, types: &ImportTypes, module_name: &str) -> Option<ModuleInstance> {
        // SAFETY: the module name is copied; each function instance gets a
        // pointer to a binding inside the cell, which outlives the module
        // (the instance drops the module first); `AddFunction` takes
        // ownership of the function instance.
        unsafe {
            let module = ModuleInstance::from_raw(ffi::WasmEdge_ModuleInstanceCreate(wasm_str(module_name)))?;
            let bindings = &(*self.0.as_ptr()).bindings;
            for ((owner, name, ..), (binding, ty)) in IMPORTS.iter().zip(bindings.iter().zip(&types.types)) {
                if *owner != module_name {
                    continue;
                }
                let func = ffi::WasmEdge_FunctionInstanceCreate(
                    ty.as_ptr(),
                    Some(trampoline),
                    (binding as *const Binding).cast_mut().cast(),
                    0,
                );
                if func.is_null() {
                    return None;
                }
                ffi::WasmEdge_ModuleInstanceAddFunction(module.as_ptr(), wasm_str(name), func);
            }
            Some(module)
        }
    }
}

impl Drop for HostCellBox {
    fn drop(&mut self) {
        // SAFETY: leaked in `new`, freed once here.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

// SAFETY: the cell is only touched by the thread running a call into its
// instance (through the trampolines) or by the instance's owner between calls.
unsafe impl Send for HostCellBox {}

/// The user-level error code of a host function that panicked; the call
/// then fails with the panic's message.
const PANICKED: u32 = 1;

/// The user-level error code of a host function whose wait the call's time
/// limit ended; the call is then a timeout.
pub(crate) const DEADLINE_REACHED: u32 = 2;

/// Serves `poll_oneoff` in `wasi`, a WASI module instance not yet registered,
/// with the API crate's ([`wasi::poll_oneoff`]) in place of WasmEdge's.
///
/// Why: WasmEdge's own sleeps as asked, but the stop flag the time limit
/// sets is not seen inside a host function, so a guest asking for an hour's
/// sleep held its call for the hour (the fault suite's
/// `a_long_wasi_sleep_ends_at_the_time_limit` ran past ten times the limit
/// on both engines). The API crate's sleeps until the subscription is due
/// or the call's [`wasi::CallDeadline`] comes, whichever is first.
///
/// A function added under a name the module already exports replaces that
/// export (WasmEdge keeps exports in a map and assigns); `None` if creating
/// it failed or the module still exports another.
pub(crate) fn serve_poll_oneoff(wasi: &ModuleInstance, types: &ImportTypes) -> Option<()> {
    const NAME: &str = "poll_oneoff";
    // SAFETY: the type is copied into the new function instance, which
    // `AddFunction` takes ownership of; the module is live and, fresh, not
    // yet finalized; the name is copied.
    unsafe {
        let func = ffi::WasmEdge_FunctionInstanceCreate(
            types.poll_oneoff.as_ptr(),
            Some(poll_oneoff),
            ptr::null_mut(),
            0,
        );
        if func.is_null() {
            return None;
        }
        ffi::WasmEdge_ModuleInstanceAddFunction(wasi.as_ptr(), wasm_str(NAME), func);
        (ffi::WasmEdge_ModuleInstanceFindFunction(wasi.as_ptr(), wasm_str(NAME)) == func).then_some(())
    }
}

/// WASI's `poll_oneoff(in, out, nsubscriptions, nevents) -> errno`.
unsafe extern "C" fn poll_oneoff(
    _data: *mut c_void,
    frame: *const ffi::WasmEdge_CallingFrameContext,
    params: *const ffi::WasmEdge_Value,
    returns: *mut ffi::WasmEdge_Value,
) -> ffi::WasmEdge_Result {
    // SAFETY: WasmEdge passes the four `i32` parameters of the function type
    // and room for its result; guest code is suspended while this runs, so
    // the memory slice is not aliased.
    unsafe {
        let arg = |i: usize| ffi::WasmEdge_ValueGetI32(*params.add(i));
        let (input, output, count, nevents) = (arg(0), arg(1), arg(2), arg(3));
        let memory = memory_bytes(ffi::WasmEdge_CallingFrameGetMemoryInstance(frame, 0));
        // Nothing in it should panic; if it did, unwinding into C++ must not.
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            wasi::poll_oneoff(memory, input, output, count, nevents)
        }));
        match outcome {
            Ok(Ok(errno)) => {
                *returns = ffi::WasmEdge_ValueGenI32(errno);
                ffi::WasmEdge_Result { Code: 0 }
            }
            Ok(Err(DeadlineReached)) => {
                ffi::WasmEdge_ResultGen(ffi::WasmEdge_ErrCategory_UserLevelError, DEADLINE_REACHED)
            }
            Err(_) => ffi::WasmEdge_ResultGen(ffi::WasmEdge_ErrCategory_UserLevelError, PANICKED),
        }
    }
}

unsafe extern "C" fn trampoline(
    data: *mut c_void,
    frame: *const ffi::WasmEdge_CallingFrameContext,
    params: *const ffi::WasmEdge_Value,
    returns: *mut ffi::WasmEdge_Value,
) -> ffi::WasmEdge_Result {
    // SAFETY: `data` is the binding this function instance was created with;
    // WasmEdge passes as many parameters as the function type has (checked
    // against the import when the module was compiled) and room for its
    // result. Guest code is suspended while this runs, so the memory slice
    // and the cell are not aliased.
    unsafe {
        // A copy: no reference into the cell stays alive across the body.
        let binding = *(data as *const Binding);
        let mut args = [0i32; MAX_PARAMS];
        for (i, arg) in args.iter_mut().enumerate().take(binding.params) {
            *arg = ffi::WasmEdge_ValueGetI32(*params.add(i));
        }
        let memory = memory_bytes(ffi::WasmEdge_CallingFrameGetMemoryInstance(frame, 0));
        let cell = binding.cell.as_ptr();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            (binding.body)(&mut (*cell).state, memory, &args[..binding.params])
        }));
        match outcome {
            Ok(value) => {
                if binding.returns {
                    *returns = ffi::WasmEdge_ValueGenI64(value);
                }
                ffi::WasmEdge_Result { Code: 0 }
            }
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a host function panicked".into());
                (*cell).panic = Some(message);
                ffi::WasmEdge_ResultGen(ffi::WasmEdge_ErrCategory_UserLevelError, PANICKED)
            }
        }
    }
}
