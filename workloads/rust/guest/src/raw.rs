//! The raw Dapr calls, exactly the `dapr` imports' semantics (slices instead
//! of pointer pairs), served by whichever backend this build has:
//!
//! - `wasm32`, `embedded` flavour: the `dapr` import module;
//! - `wasm32`, `http` flavour: Dapr's HTTP API over the `http` import
//!   ([`crate::http_api`]), keeping the result slot in the guest;
//! - `wasm32`, `component` flavour: the same calls over
//!   `wasi:http/outgoing-handler` ([`crate::component`]);
//! - `wasm32`, `middleware`/`command`: no Dapr at all, every call is
//!   `NOT_PERMITTED` (these flavours run pure workloads only);
//! - anything else: the host's [`crate::native::NativeImports`].
//!
//! [`crate::dapr`] builds the typed API on top, once for all of them. The
//! calls are public for guests that keep their own typed layer in another
//! language (the JavaScript engine hands them to QuickJS as they are).

/// `NOT_PERMITTED`: the module runs without Dapr access.
#[cfg(any(not(target_arch = "wasm32"), feature = "middleware", feature = "command"))]
pub(crate) const NOT_PERMITTED: i64 = -7;

#[cfg(all(
    target_arch = "wasm32",
    not(any(
        feature = "http",
        feature = "middleware",
        feature = "command",
        feature = "component"
    ))
))]
pub use imports::*;

#[cfg(all(target_arch = "wasm32", any(feature = "http", feature = "component")))]
pub use crate::http_api::wasm::*;

#[cfg(all(target_arch = "wasm32", any(feature = "middleware", feature = "command")))]
pub use denied::*;

#[cfg(not(target_arch = "wasm32"))]
pub use native_backend::*;

#[cfg(all(
    target_arch = "wasm32",
    not(any(
        feature = "http",
        feature = "middleware",
        feature = "command",
        feature = "component"
    ))
))]
mod imports {
    /// The imports as ABI.md lists them. On `wasm32` a pointer and a `usize`
    /// are both an `i32`, so these are the ABI's signatures.
    mod sys {
        #[link(wasm_import_module = "dapr")]
        unsafe extern "C" {
            pub fn state_get(store: *const u8, store_len: usize, key: *const u8, key_len: usize) -> i64;
            pub fn state_get_bulk(
                store: *const u8,
                store_len: usize,
                keys: *const u8,
                keys_len: usize,
            ) -> i64;
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

    // SAFETY (every function below): each pair describes a live slice; the
    // host only reads them, except `take_result`, which writes at most
    // `buf.len()` bytes into `buf`.

    pub fn state_get(store: &[u8], key: &[u8]) -> i64 {
        // SAFETY: see above.
        unsafe { sys::state_get(store.as_ptr(), store.len(), key.as_ptr(), key.len()) }
    }

    pub fn state_get_bulk(store: &[u8], keys: &[u8]) -> i64 {
        // SAFETY: see above.
        unsafe { sys::state_get_bulk(store.as_ptr(), store.len(), keys.as_ptr(), keys.len()) }
    }

    pub fn state_set(store: &[u8], key: &[u8], value: &[u8], etag: &[u8], concurrency: i32) -> i64 {
        // SAFETY: see above.
        unsafe {
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
        }
    }

    pub fn state_delete(store: &[u8], key: &[u8], etag: &[u8], concurrency: i32) -> i64 {
        // SAFETY: see above.
        unsafe {
            sys::state_delete(
                store.as_ptr(),
                store.len(),
                key.as_ptr(),
                key.len(),
                etag.as_ptr(),
                etag.len(),
                concurrency,
            )
        }
    }

    pub fn publish(pubsub: &[u8], topic: &[u8], data: &[u8], content_type: &[u8]) -> i64 {
        // SAFETY: see above.
        unsafe {
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
        }
    }

    pub fn invoke_binding(name: &[u8], operation: &[u8], data: &[u8]) -> i64 {
        // SAFETY: see above.
        unsafe {
            sys::invoke_binding(
                name.as_ptr(),
                name.len(),
                operation.as_ptr(),
                operation.len(),
                data.as_ptr(),
                data.len(),
            )
        }
    }

    pub fn log(level: i32, message: &[u8]) {
        // SAFETY: see above.
        unsafe { sys::log(level, message.as_ptr(), message.len()) }
    }

    pub fn take_result(buf: &mut [u8]) -> i64 {
        // SAFETY: see above.
        unsafe { sys::take_result(buf.as_mut_ptr(), buf.len()) }
    }
}

#[cfg(all(target_arch = "wasm32", any(feature = "middleware", feature = "command")))]
mod denied {
    use super::NOT_PERMITTED;

    pub fn state_get(_: &[u8], _: &[u8]) -> i64 {
        NOT_PERMITTED
    }
    pub fn state_get_bulk(_: &[u8], _: &[u8]) -> i64 {
        NOT_PERMITTED
    }
    pub fn state_set(_: &[u8], _: &[u8], _: &[u8], _: &[u8], _: i32) -> i64 {
        NOT_PERMITTED
    }
    pub fn state_delete(_: &[u8], _: &[u8], _: &[u8], _: i32) -> i64 {
        NOT_PERMITTED
    }
    pub fn publish(_: &[u8], _: &[u8], _: &[u8], _: &[u8]) -> i64 {
        NOT_PERMITTED
    }
    pub fn invoke_binding(_: &[u8], _: &[u8], _: &[u8]) -> i64 {
        NOT_PERMITTED
    }
    pub fn log(_: i32, _: &[u8]) {}
    pub fn take_result(_: &mut [u8]) -> i64 {
        // `NO_RESULT`: no call ever fills the slot.
        -5
    }
}

/// Outside wasm32: the raw calls served by the backend `native::with_imports`
/// installed on this thread.
#[cfg(not(target_arch = "wasm32"))]
mod native_backend {
    use super::NOT_PERMITTED;
    use crate::native::current;

    pub fn state_get(store: &[u8], key: &[u8]) -> i64 {
        current(|i| i.state_get(store, key), NOT_PERMITTED)
    }
    pub fn state_get_bulk(store: &[u8], keys: &[u8]) -> i64 {
        current(|i| i.state_get_bulk(store, keys), NOT_PERMITTED)
    }
    pub fn state_set(store: &[u8], key: &[u8], value: &[u8], etag: &[u8], concurrency: i32) -> i64 {
        current(
            |i| i.state_set(store, key, value, etag, concurrency),
            NOT_PERMITTED,
        )
    }
    pub fn state_delete(store: &[u8], key: &[u8], etag: &[u8], concurrency: i32) -> i64 {
        current(|i| i.state_delete(store, key, etag, concurrency), NOT_PERMITTED)
    }
    pub fn publish(pubsub: &[u8], topic: &[u8], data: &[u8], content_type: &[u8]) -> i64 {
        current(|i| i.publish(pubsub, topic, data, content_type), NOT_PERMITTED)
    }
    pub fn invoke_binding(name: &[u8], operation: &[u8], data: &[u8]) -> i64 {
        current(|i| i.invoke_binding(name, operation, data), NOT_PERMITTED)
    }
    pub fn log(level: i32, message: &[u8]) {
        current(|i| i.log(level, message), ());
    }
    pub fn take_result(buf: &mut [u8]) -> i64 {
        // `NO_RESULT`: without a backend no call ever filled the slot.
        current(|i| i.take_result(buf), -5)
    }
}
