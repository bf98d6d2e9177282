//! The `dapr` import module (workloads/ABI.md) as raw natives on `__bb`.
//!
//! Each native makes one import call and returns what the ABI returns: a
//! negative number for an error code, or the result the host left in the
//! result slot. The calls, the copy out of the result slot and the split of a
//! state result are the Rust guest library's (`blueprint_guest`), as Rust
//! workloads make them. `guest.js` turns the codes into `DaprError`s and
//! names; keeping the natives this thin keeps the language's library in the
//! language.

use blueprint_guest::{Error, raw};
use rquickjs::{Ctx, Function, Object, Value};

use crate::js_bytes::{bytes_arg, uint8_array};

/// A JS number for an import's return code.
fn code(ret: i64) -> f64 {
    ret as f64
}

/// The number for a failed call whose result the guest library copied out.
fn error<'js>(ctx: Ctx<'js>, err: Error) -> Value<'js> {
    Value::new_number(ctx, code(err.code()))
}

pub(crate) fn install<'js>(ctx: &Ctx<'js>, natives: &Object<'js>) -> rquickjs::Result<()> {
    // stateGet(store, key) -> {etag: string | null, value: Uint8Array} | code
    natives.set(
        "stateGet",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, store: String, key: String| {
            let entry = match blueprint_guest::state_get(&store, &key) {
                Ok(Some(entry)) => entry,
                Ok(None) => return Ok(error(ctx, Error::NotFound)),
                Err(err) => return Ok(error(ctx, err)),
            };
            let object = Object::new(ctx.clone())?;
            object.set("etag", entry.etag)?;
            object.set("value", uint8_array(&ctx, entry.value)?)?;
            Ok::<_, rquickjs::Error>(object.into_value())
        })?,
    )?;
    // stateSet(store, key, value, etag, concurrency) -> code
    natives.set(
        "stateSet",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, store: String, key: String, value: Value<'js>, etag: String, concurrency: i32| {
                let value = bytes_arg(&ctx, &value)?;
                let ret = raw::state_set(
                    store.as_bytes(),
                    key.as_bytes(),
                    &value,
                    etag.as_bytes(),
                    concurrency,
                );
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
                code(raw::state_delete(
                    store.as_bytes(),
                    key.as_bytes(),
                    etag.as_bytes(),
                    concurrency,
                ))
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
                let ret = raw::publish(
                    pubsub.as_bytes(),
                    topic.as_bytes(),
                    &data,
                    content_type.as_bytes(),
                );
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
                match blueprint_guest::invoke_binding(&name, &operation, &data) {
                    Ok(bytes) => uint8_array(&ctx, bytes),
                    Err(err) => Ok(error(ctx, err)),
                }
            },
        )?,
    )?;
    // log(level, message)
    natives.set(
        "log",
        Function::new(ctx.clone(), |level: i32, message: String| {
            raw::log(level, message.as_bytes());
        })?,
    )?;
    Ok(())
}
