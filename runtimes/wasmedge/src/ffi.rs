//! Owned handles over the WasmEdge C API (`wasmedge_sys::ffi`, the bindings
//! `wasmedge-sdk` itself is built on) and the few helpers the adapter needs.
//!
//! Every handle deletes its context when dropped. The contexts are plain heap
//! objects of the C++ library with no thread affinity; which of them may be
//! used from several threads at once is said where they are shared (see
//! `engine.rs`).

use std::ffi::{CStr, c_void};
use std::ptr::{self, NonNull};

use blueprint_runtime_api::{CallError, RuntimeError, TrapKind};
use wasmedge_sys::ffi;

/// A failed WasmEdge call: its error category, code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// `WasmEdge_ErrCategory_UserLevelError`: a host function failed (here:
    /// one of ours panicked).
    pub(crate) user: bool,
    /// The WasmEdge error code (`WasmEdge_ErrCode_*` for the WASM category).
    pub(crate) code: u32,
    /// WasmEdge's text for the code, e.g. `integer divide by zero`.
    pub(crate) message: String,
}

/// Parses and validates a module: the AST that every instance made from it
/// shares. Any failure is a compile error.
pub(crate) fn load_and_validate(config: &Config, wasm: &[u8]) -> Result<AstModule, RuntimeError> {
    let len =
        u32::try_from(wasm.len()).map_err(|_| RuntimeError::Compile("module larger than 4 GiB".into()))?;
    // SAFETY: the byte buffer outlives the parse (WasmEdge copies what it keeps).
    parse_and_validate(config, |loader, raw| unsafe {
        ffi::WasmEdge_LoaderParseFromBytes(loader, raw, ffi::WasmEdge_BytesWrap(wasm.as_ptr(), len))
    })
}

/// Parses and validates a module WasmEdge's AOT compiler wrote as a shared
/// library. With the run mode `AOT` in `config` it runs the library's
/// machine code; a library that cannot be loaded is an error, never a
/// fallback to the interpreter (WasmEdge falls back silently only for a
/// universal Wasm file, which this adapter does not write).
pub(crate) fn load_compiled(config: &Config, path: &std::path::Path) -> Result<AstModule, RuntimeError> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| RuntimeError::Compile(format!("{} has a NUL in its path", path.display())))?;
    // SAFETY: the path outlives the parse.
    parse_and_validate(config, |loader, raw| unsafe {
        ffi::WasmEdge_LoaderParseFromFile(loader, raw, path.as_ptr())
    })
}

fn parse_and_validate(
    config: &Config,
    parse: impl FnOnce(
        *mut ffi::WasmEdge_LoaderContext,
        *mut *mut ffi::WasmEdge_ASTModuleContext,
    ) -> ffi::WasmEdge_Result,
) -> Result<AstModule, RuntimeError> {
    // SAFETY: C API calls on live contexts.
    unsafe {
        let loader = Loader::from_raw(ffi::WasmEdge_LoaderCreate(config.as_ptr()))
            .ok_or_else(|| RuntimeError::Compile("WasmEdge_LoaderCreate failed".into()))?;
        let mut raw = ptr::null_mut();
        check(parse(loader.as_ptr(), &mut raw)).map_err(|f| RuntimeError::Compile(format!("load: {f}")))?;
        let ast = AstModule::from_raw(raw).ok_or_else(|| RuntimeError::Compile("load: no module".into()))?;
        let validator = Validator::from_raw(ffi::WasmEdge_ValidatorCreate(config.as_ptr()))
            .ok_or_else(|| RuntimeError::Compile("WasmEdge_ValidatorCreate failed".into()))?;
        check(ffi::WasmEdge_ValidatorValidate(validator.as_ptr(), ast.as_ptr()))
            .map_err(|f| RuntimeError::Compile(format!("validate: {f}")))?;
        Ok(ast)
    }
}

impl Failure {
    /// The guest fault this code stands for, as the ABI's trap kinds.
    pub(crate) fn into_trap(self) -> CallError {
        let kind = match self.code {
            ffi::WasmEdge_ErrCode_Unreachable => TrapKind::Unreachable,
            ffi::WasmEdge_ErrCode_MemoryOutOfBounds | ffi::WasmEdge_ErrCode_UnalignedAtomicAccess => {
                TrapKind::MemoryOutOfBounds
            }
            ffi::WasmEdge_ErrCode_DivideByZero => TrapKind::DivisionByZero,
            ffi::WasmEdge_ErrCode_IntegerOverflow | ffi::WasmEdge_ErrCode_InvalidConvToInt => {
                TrapKind::IntegerOverflow
            }
            ffi::WasmEdge_ErrCode_TableOutOfBounds
            | ffi::WasmEdge_ErrCode_UninitializedElement
            | ffi::WasmEdge_ErrCode_UndefinedElement
            | ffi::WasmEdge_ErrCode_IndirectCallTypeMismatch
            | ffi::WasmEdge_ErrCode_AccessNullFunc => TrapKind::BadIndirectCall,
            _ => TrapKind::Other,
        };
        CallError::Trap {
            kind,
            message: self.message,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Turns a `WasmEdge_Result` into `Ok` or the [`Failure`].
///
/// `WasmEdge_ResultOK` also counts `Terminated` (a WASI `proc_exit`) as
/// success; here only code 0 is.
pub(crate) fn check(result: ffi::WasmEdge_Result) -> Result<(), Failure> {
    if result.Code == 0 {
        return Ok(());
    }
    // SAFETY: these only decode the integer in `result`; the message is a
    // static string owned by the library.
    unsafe {
        let message = ffi::WasmEdge_ResultGetMessage(result);
        Err(Failure {
            user: ffi::WasmEdge_ResultGetCategory(result) == ffi::WasmEdge_ErrCategory_UserLevelError,
            code: ffi::WasmEdge_ResultGetCode(result),
            message: if message.is_null() {
                "unknown WasmEdge error".into()
            } else {
                CStr::from_ptr(message).to_string_lossy().into_owned()
            },
        })
    }
}

/// A `WasmEdge_String` that borrows `s` (WasmEdge copies what it keeps).
pub(crate) fn wasm_str(s: &str) -> ffi::WasmEdge_String {
    ffi::WasmEdge_String {
        Length: s.len() as u32,
        Buf: s.as_ptr().cast(),
    }
}

/// Copies a `WasmEdge_String` the library owns.
pub(crate) fn to_string(s: ffi::WasmEdge_String) -> String {
    if s.Buf.is_null() || s.Length == 0 {
        return String::new();
    }
    // SAFETY: WasmEdge strings are `Length` bytes at `Buf`.
    let bytes = unsafe { std::slice::from_raw_parts(s.Buf.cast::<u8>(), s.Length as usize) };
    String::from_utf8_lossy(bytes).into_owned()
}

macro_rules! handle {
    ($(#[$doc:meta])* $name:ident, $ctx:ty, $delete:path) => {
        $(#[$doc])*
        pub(crate) struct $name(NonNull<$ctx>);

        impl $name {
            /// Takes ownership of a context the C API created, or `None` for NULL.
            pub(crate) fn from_raw(ptr: *mut $ctx) -> Option<Self> {
                NonNull::new(ptr).map(Self)
            }

            /// The raw context, still owned by `self`.
            pub(crate) fn as_ptr(&self) -> *mut $ctx {
                self.0.as_ptr()
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                // SAFETY: created by the matching C API constructor, owned here.
                unsafe { $delete(self.0.as_ptr()) }
            }
        }
    };
}

handle!(
    /// `WasmEdge_ConfigureContext`.
    Config,
    ffi::WasmEdge_ConfigureContext,
    ffi::WasmEdge_ConfigureDelete
);
handle!(
    /// `WasmEdge_LoaderContext`.
    Loader,
    ffi::WasmEdge_LoaderContext,
    ffi::WasmEdge_LoaderDelete
);
handle!(
    /// `WasmEdge_CompilerContext`: WasmEdge's ahead-of-time compiler.
    Compiler,
    ffi::WasmEdge_CompilerContext,
    ffi::WasmEdge_CompilerDelete
);
handle!(
    /// `WasmEdge_ValidatorContext`.
    Validator,
    ffi::WasmEdge_ValidatorContext,
    ffi::WasmEdge_ValidatorDelete
);
handle!(
    /// A loaded and validated module (`WasmEdge_ASTModuleContext`).
    AstModule,
    ffi::WasmEdge_ASTModuleContext,
    ffi::WasmEdge_ASTModuleDelete
);
handle!(
    /// `WasmEdge_ExecutorContext`.
    Executor,
    ffi::WasmEdge_ExecutorContext,
    ffi::WasmEdge_ExecutorDelete
);
handle!(
    /// `WasmEdge_StoreContext`.
    Store,
    ffi::WasmEdge_StoreContext,
    ffi::WasmEdge_StoreDelete
);
handle!(
    /// A module instance: a guest instance or a host module (`dapr`, WASI).
    ModuleInstance,
    ffi::WasmEdge_ModuleInstanceContext,
    ffi::WasmEdge_ModuleInstanceDelete
);
handle!(
    /// A function instance not (yet) owned by a module instance.
    FunctionInstance,
    ffi::WasmEdge_FunctionInstanceContext,
    ffi::WasmEdge_FunctionInstanceDelete
);
handle!(
    /// `WasmEdge_FunctionTypeContext`.
    FunctionType,
    ffi::WasmEdge_FunctionTypeContext,
    ffi::WasmEdge_FunctionTypeDelete
);
handle!(
    /// The result of `WasmEdge_ExecutorAsyncInvoke` (see `engine.rs` for
    /// what it is kept for).
    AsyncCall,
    ffi::WasmEdge_Async,
    ffi::WasmEdge_AsyncDelete
);

impl FunctionType {
    /// `(i32 × params) -> (i64 if returns_i64)`.
    pub(crate) fn i32s_to(params: usize, returns_i64: bool) -> Option<Self> {
        // SAFETY: a value-type constructor.
        let i64 = unsafe { ffi::WasmEdge_ValTypeGenI64() };
        Self::i32s_returning(params, returns_i64.then_some(i64))
    }

    /// `(i32 × params) -> i32`: a WASI function's errno.
    pub(crate) fn i32s_to_i32(params: usize) -> Option<Self> {
        // SAFETY: a value-type constructor.
        Self::i32s_returning(params, Some(unsafe { ffi::WasmEdge_ValTypeGenI32() }))
    }

    fn i32s_returning(params: usize, result: Option<ffi::WasmEdge_ValType>) -> Option<Self> {
        // SAFETY: value-type constructors; the list buffers outlive the call
        // and WasmEdge copies them.
        unsafe {
            let params = vec![ffi::WasmEdge_ValTypeGenI32(); params];
            let returns: Vec<_> = result.into_iter().collect();
            Self::from_raw(ffi::WasmEdge_FunctionTypeCreate(
                params.as_ptr(),
                params.len() as u32,
                returns.as_ptr(),
                returns.len() as u32,
            ))
        }
    }
}

/// The parameter and result types of a function type, as short names
/// (`i32`, `i64`, `f32`, `f64`, `v128`, `ref`).
pub(crate) fn signature(
    ty: *const ffi::WasmEdge_FunctionTypeContext,
) -> (Vec<&'static str>, Vec<&'static str>) {
    if ty.is_null() {
        return (Vec::new(), Vec::new());
    }
    let name = |t: ffi::WasmEdge_ValType| {
        // SAFETY: predicates on a plain value.
        unsafe {
            if ffi::WasmEdge_ValTypeIsI32(t) {
                "i32"
            } else if ffi::WasmEdge_ValTypeIsI64(t) {
                "i64"
            } else if ffi::WasmEdge_ValTypeIsF32(t) {
                "f32"
            } else if ffi::WasmEdge_ValTypeIsF64(t) {
                "f64"
            } else if ffi::WasmEdge_ValTypeIsV128(t) {
                "v128"
            } else {
                "ref"
            }
        }
    };
    // SAFETY: `ty` is a live function type; the buffers have the lengths
    // WasmEdge reported.
    unsafe {
        let mut params =
            vec![ffi::WasmEdge_ValTypeGenI32(); ffi::WasmEdge_FunctionTypeGetParametersLength(ty) as usize];
        ffi::WasmEdge_FunctionTypeGetParameters(ty, params.as_mut_ptr(), params.len() as u32);
        let mut returns =
            vec![ffi::WasmEdge_ValTypeGenI32(); ffi::WasmEdge_FunctionTypeGetReturnsLength(ty) as usize];
        ffi::WasmEdge_FunctionTypeGetReturns(ty, returns.as_mut_ptr(), returns.len() as u32);
        (
            params.into_iter().map(name).collect(),
            returns.into_iter().map(name).collect(),
        )
    }
}

/// Formats a signature as `(i32, i32) -> i64`.
pub(crate) fn show_signature((params, returns): &(Vec<&str>, Vec<&str>)) -> String {
    let returns = match returns.as_slice() {
        [] => "()".to_owned(),
        [one] => (*one).to_owned(),
        many => format!("({})", many.join(", ")),
    };
    format!("({}) -> {returns}", params.join(", "))
}

/// Invokes `func` on `executor` with `i32`/`i64` arguments.
///
/// # Safety
/// `executor` and `func` must be live, and no other thread may run a call on
/// `executor` at the same time.
pub(crate) unsafe fn invoke(
    executor: &Executor,
    func: *const ffi::WasmEdge_FunctionInstanceContext,
    params: &[ffi::WasmEdge_Value],
    returns: &mut [ffi::WasmEdge_Value],
) -> Result<(), Failure> {
    // SAFETY: the buffers have the lengths passed; see the caller's contract.
    check(unsafe {
        ffi::WasmEdge_ExecutorInvoke(
            executor.as_ptr(),
            func,
            params.as_ptr(),
            params.len() as u32,
            returns.as_mut_ptr(),
            returns.len() as u32,
        )
    })
}

/// A zero value to fill return buffers with.
pub(crate) fn zero() -> ffi::WasmEdge_Value {
    // SAFETY: a value constructor.
    unsafe { ffi::WasmEdge_ValueGenI32(0) }
}

/// The whole linear memory `mem` as a byte slice (empty for NULL or zero pages).
///
/// # Safety
/// `mem` must be NULL or a live memory instance, and nothing may grow, shrink
/// or otherwise access it while the slice is alive (no guest code runs).
pub(crate) unsafe fn memory_bytes<'a>(mem: *mut ffi::WasmEdge_MemoryInstanceContext) -> &'a mut [u8] {
    if mem.is_null() {
        return &mut [];
    }
    // SAFETY: see the contract; `GetPointer` checks the range.
    unsafe {
        let len = ffi::WasmEdge_MemoryInstanceGetPageSize(mem).saturating_mul(65536);
        let data = if len == 0 {
            ptr::null_mut()
        } else {
            ffi::WasmEdge_MemoryInstanceGetPointer(mem, 0, len)
        };
        if data.is_null() {
            &mut []
        } else {
            std::slice::from_raw_parts_mut(data, len as usize)
        }
    }
}

/// A host function that does nothing (see `engine.rs`).
pub(crate) unsafe extern "C" fn noop_host_function(
    _data: *mut c_void,
    _frame: *const ffi::WasmEdge_CallingFrameContext,
    _params: *const ffi::WasmEdge_Value,
    _returns: *mut ffi::WasmEdge_Value,
) -> ffi::WasmEdge_Result {
    ffi::WasmEdge_Result { Code: 0 }
}
