//! The `dapr` import module (workloads/ABI.md) as raw natives on `__bb`.
//!
//! Each native makes one import call and returns what the ABI returns: a
//! negative number for an error code, or the result the host left in the
//! result slot (copied out with `take_result`). `guest.js` turns the codes
//! into `DaprError`s and names; keeping the natives this thin keeps the
//! language's library in the language.

use rquickjs::{Ctx, Function, Object, Value};

use crate::engine::{bytes_arg, uint8_array};

mod sys {
    #[link(wasm_import_module = "dapr")]
    unsafe extern "C" {
        pub fn state_get(store: *const u8, store_len: usize, key: *const u8, key_len: usize) -> i64;
        pub fn state_set(
            store: *const u8,
            store_len: usize,
            key: *const u8,
            key_len: usize,
            value: *const u8,
            value_len: usize,
            etag: *const u8,
            etag_len: usize,
            concurrency: i32,
        ) -> i64;
        pub fn state_delete(
            store: *const u8,
            store_len: usize,
            key: *const u8,
            key_len: usize,
            etag: *const u8,
            etag_len: usize,
            concurrency: i32,
        ) -> i64;
        pub fn publish(
            pubsub: *const u8,
            pubsub_len: usize,
            topic: *const u8,
            topic_len: usize,
            data: *const u8,
            data_len: usize,
            content_type: *const u8,
            content_type_len: usize,
        ) -> i64;
        pub fn invoke_binding(
            name: *const u8,
            name_len: usize,
            operation: *const u8,
            operation_len: usize,
            data: *const u8,
            data_len: usize,
        ) -> i64;
        pub fn log(level: i32, message: *const u8, message_len: usize);
        pub fn take_result(buf: *mut u8, buf_len: usize) -> i64;
    }
}

/// `Ok(result bytes)` for a size, `Err(code)` for a negative return.
fn take(size: i64) -> Result<Vec<u8>, i64> {
    let len = usize::try_from(size).map_err(|_| size)?;
    let mut buf = vec![0u8; len];
    // SAFETY: `buf` is `len` writable bytes.
    let copied = unsafe { sys::take_result(buf.as_mut_ptr(), buf.len()) };
    match usize::try_from(copied) {
        Ok(n) if n <= len => {
            buf.truncate(n);
            Ok(buf)
        }
        _ => Err(copied.min(-5)),
    }
}

/// A JS number for an import's return code.
fn code(ret: i64) -> f64 {
    ret as f64
}

pub(crate) fn install<'js>(ctx: &Ctx<'js>, natives: &Object<'js>) -> rquickjs::Result<()> {
    // stateGet(store, key) -> {etag: string | null, value: Uint8Array} | code
    natives.set(
        "stateGet",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, store: String, key: String| {
            // SAFETY: each pointer/length pair is a live string.
            let size = unsafe { sys::state_get(store.as_ptr(), store.len(), key.as_ptr(), key.len()) };
            let raw = match take(size) {
                Ok(raw) => raw,
                Err(c) => return Ok(Value::new_number(ctx, code(c))),
            };
            // Layout: etag_len u32 LE, etag, value.
            let Some((etag, value)) = split_state(&raw) else {
                return Ok(Value::new_number(ctx, code(-3)));
            };
            let entry = Object::new(ctx.clone())?;
            entry.set("etag", etag)?;
            entry.set("value", uint8_array(&ctx, value.to_vec())?)?;
            Ok::<_, rquickjs::Error>(entry.into_value())
        })?,
    )?;
    // stateSet(store, key, value, etag, concurrency) -> code
    natives.set(
        "stateSet",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, store: String, key: String, value: Value<'js>, etag: String, concurrency: i32| {
                let value = bytes_arg(&ctx, &value)?;
                // SAFETY: each pointer/length pair is a live buffer.
                let ret = unsafe {
                    sys::state_set(
                        store.as_ptr(),
                        store.len(),
                        key.as_ptr(),
                        key.len(),
                        value.as_ptr(),
                        value.len(),
                        etag.as_ptr(),
                        etag.len(),
                        concurrency,
                    )
                };
                Ok::<_, rquickjs::Error>(code(ret))
            },
        )?,
    )?;
    // stateDelete(store, key, etag, concurrency) -> code
    natives.set(
        "stateDelete",
        Function::new(
            ctx.clone(),
            |store: String, key: String, etag: String, concurrency: i32| {
                // SAFETY: each pointer/length pair is a live string.
                let ret = unsafe {
                    sys::state_delete(
                        store.as_ptr(),
                        store.len(),
                        key.as_ptr(),
                        key.len(),
                        etag.as_ptr(),
                        etag.len(),
                        concurrency,
                    )
                };
                code(ret)
            },
        )?,
    )?;
    // publish(pubsub, topic, data, contentType) -> code
    natives.set(
        "publish",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, pubsub: String, topic: String, data: Value<'js>, content_type: String| {
                let data = bytes_arg(&ctx, &data)?;
                // SAFETY: each pointer/length pair is a live buffer.
                let ret = unsafe {
                    sys::publish(
                        pubsub.as_ptr(),
                        pubsub.len(),
                        topic.as_ptr(),
                        topic.len(),
                        data.as_ptr(),
                        data.len(),
                        content_type.as_ptr(),
                        content_type.len(),
                    )
                };
                Ok::<_, rquickjs::Error>(code(ret))
            },
        )?,
    )?;
    // invokeBinding(name, operation, data) -> Uint8Array | code
    natives.set(
        "invokeBinding",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, name: String, operation: String, data: Value<'js>| {
                let data = bytes_arg(&ctx, &data)?;
                // SAFETY: each pointer/length pair is a live buffer.
                let size = unsafe {
                    sys::invoke_binding(
                        name.as_ptr(),
                        name.len(),
                        operation.as_ptr(),
                        operation.len(),
                        data.as_ptr(),
                        data.len(),
                    )
                };
                match take(size) {
                    Ok(bytes) => uint8_array(&ctx, bytes),
                    Err(c) => Ok(Value::new_number(ctx, code(c))),
                }
            },
        )?,
    )?;
    // log(level, message)
    natives.set(
        "log",
        Function::new(ctx.clone(), |level: i32, message: String| {
            // SAFETY: the pointer/length pair is a live string.
            unsafe { sys::log(level, message.as_ptr(), message.len()) }
        })?,
    )?;
    Ok(())
}

/// Splits a `state_get` result into its etag (`None` when the store keeps
/// none) and value; `None` if the layout is broken or the etag not UTF-8.
fn split_state(raw: &[u8]) -> Option<(Option<String>, &[u8])> {
    let len_bytes: [u8; 4] = raw.get(..4)?.try_into().ok()?;
    let etag_len = usize::try_from(u32::from_le_bytes(len_bytes)).ok()?;
    let etag = raw.get(4..4 + etag_len)?;
    let value = &raw[4 + etag_len..];
    let etag = if etag.is_empty() {
        None
    } else {
        Some(String::from_utf8(etag.to_vec()).ok()?)
    };
    Some((etag, value))
}
