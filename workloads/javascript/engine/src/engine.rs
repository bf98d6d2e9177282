//! QuickJS with the guest library and one workload loaded.
//!
//! Natives the JS guest library (`guest.js`) builds on live in the global
//! `__bb` object: `utf8Decode`/`utf8Encode` (QuickJS has no `TextDecoder`)
//! and, with the `dapr` feature, the raw `dapr` imports.
//!
//! What the workload throws becomes the guest error message: a string as it
//! is; an `Error` by its `message`; any other kind of error (a `TypeError`
//! from a bug, a `DaprError`) as `<name>: <message>`, so a fault is told
//! apart from a refusal.

use rquickjs::context::EvalOptions;
use rquickjs::{Context, Ctx, Function, Object, Runtime, TypedArray, Value};

use crate::js_bytes::{bytes_arg, bytes_of};

/// The JS guest library, evaluated before the workload.
const GUEST_JS: &str = include_str!("../../guest.js");
/// The workload, copied into `OUT_DIR` by `build.rs`.
const WORKLOAD_JS: &str = include_str!(concat!(env!("OUT_DIR"), "/workload.js"));

/// The JS stack QuickJS may use, in bytes, of the module's 1 MiB stack.
const JS_STACK_LIMIT: usize = 512 * 1024;

/// A QuickJS runtime with the workload loaded.
pub struct Engine {
    // Dropped after the context that lives in it.
    context: Context,
    _runtime: Runtime,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Engine")
    }
}

impl Engine {
    /// Starts QuickJS and evaluates the guest library and the workload.
    ///
    /// # Errors
    /// QuickJS cannot start, a script throws, or the workload has no `handle`.
    pub fn new() -> Result<Self, String> {
        let runtime = Runtime::new().map_err(|e| format!("starting QuickJS: {e}"))?;
        // QuickJS's default limit is 1 MiB below the stack top it saw at start,
        // which on wasm32 (a 1 MiB shadow stack growing down towards 0) wraps
        // around and fails every check. Half the stack leaves the frames above
        // the engine room, and the check still fires before the shadow stack
        // overflows into static data (wasm has no guard page).
        runtime.set_max_stack_size(JS_STACK_LIMIT);
        let context = Context::full(&runtime).map_err(|e| format!("starting QuickJS: {e}"))?;
        context.with(|ctx| {
            install_natives(&ctx).map_err(|e| format!("installing the natives: {e}"))?;
            evaluate(&ctx, "guest.js", GUEST_JS)?;
            evaluate(&ctx, "workload.js", WORKLOAD_JS)?;
            let handle: Value = ctx
                .globals()
                .get("handle")
                .map_err(|e| format!("reading `handle`: {e}"))?;
            if handle.is_function() {
                Ok(())
            } else {
                Err("workload.js defines no global function `handle(input)`".to_owned())
            }
        })?;
        Ok(Self {
            context,
            _runtime: runtime,
        })
    }

    /// Calls the workload's `handle` with `input` as a `Uint8Array`.
    ///
    /// # Errors
    /// What the workload threw, or a return value that is not bytes or text.
    pub fn call(&self, input: &[u8]) -> Result<Vec<u8>, String> {
        self.context.with(|ctx| {
            let handle: Function = ctx
                .globals()
                .get("handle")
                .map_err(|e| format!("reading `handle`: {e}"))?;
            let arg = TypedArray::<u8>::new_copy(ctx.clone(), input)
                .map_err(|e| format!("passing the request: {e}"))?;
            match handle.call::<_, Value>((arg,)) {
                Ok(value) => output_bytes(&value),
                Err(rquickjs::Error::Exception) => Err(thrown_message(&ctx.catch())),
                Err(e) => Err(e.to_string()),
            }
        })
    }
}

fn evaluate(ctx: &Ctx<'_>, name: &str, source: &str) -> Result<(), String> {
    let mut options = EvalOptions::default();
    options.global = true;
    options.strict = true;
    options.filename = Some(name.to_owned());
    match ctx.eval_with_options::<(), _>(source, options) {
        Ok(()) => Ok(()),
        Err(rquickjs::Error::Exception) => Err(format!("{name}: {}", thrown_message(&ctx.catch()))),
        Err(e) => Err(format!("{name}: {e}")),
    }
}

/// What `handle` returned, as the response bytes.
fn output_bytes(value: &Value<'_>) -> Result<Vec<u8>, String> {
    if let Some(text) = value.as_string() {
        return text
            .to_string()
            .map(String::into_bytes)
            .map_err(|e| format!("handle returned a string that is not valid Unicode: {e}"));
    }
    bytes_of(value).ok_or_else(|| {
        format!(
            "handle must return a string or a Uint8Array, not {}",
            value.type_name()
        )
    })
}

/// The guest error message for a thrown value (module docs).
fn thrown_message(thrown: &Value<'_>) -> String {
    if let Some(text) = thrown.as_string() {
        return text.to_string().unwrap_or_else(|e| e.to_string());
    }
    if let Some(object) = thrown.as_object() {
        let message: Option<String> = object.get("message").ok();
        let name: Option<String> = object.get("name").ok();
        if let Some(message) = message {
            return match name.as_deref() {
                None | Some("Error") => message,
                Some(name) => format!("{name}: {message}"),
            };
        }
    }
    format!("the workload threw a {}", thrown.type_name())
}

fn install_natives<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<()> {
    let natives = Object::new(ctx.clone())?;
    natives.set(
        "utf8Decode",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, bytes: Value<'js>| {
            let bytes = bytes_arg(&ctx, &bytes)?;
            // Nothing (`undefined`) for invalid UTF-8: workloads turn it into
            // their own error.
            Ok::<_, rquickjs::Error>(String::from_utf8(bytes).ok())
        })?,
    )?;
    natives.set(
        "utf8Encode",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, text: String| {
            TypedArray::<u8>::new(ctx, text.into_bytes())
        })?,
    )?;
    #[cfg(feature = "dapr")]
    crate::dapr::install(ctx, &natives)?;
    ctx.globals().set("__bb", natives)?;
    Ok(())
}
