//! Outside `wasm32`: the workload crates are ordinary rlibs the harness's
//! native mode calls directly, and their Dapr calls go to a backend the host
//! installs for the calling thread. The interface mirrors the `dapr` imports
//! one to one, so the host serves both with the same code.

use std::cell::Cell;

/// The host side of the `dapr` imports, for native builds. Arguments and
/// return values are those of workloads/ABI.md's imports, with slices for
/// pointer pairs; a result is kept in the implementation's result slot until
/// [`take_result`](NativeImports::take_result).
pub trait NativeImports {
    /// `dapr.state_get`.
    fn state_get(&self, store: &[u8], key: &[u8]) -> i64;
    /// `dapr.state_get_bulk`.
    fn state_get_bulk(&self, store: &[u8], keys: &[u8]) -> i64;
    /// `dapr.state_set`.
    fn state_set(&self, store: &[u8], key: &[u8], value: &[u8], etag: &[u8], concurrency: i32) -> i64;
    /// `dapr.state_delete`.
    fn state_delete(&self, store: &[u8], key: &[u8], etag: &[u8], concurrency: i32) -> i64;
    /// `dapr.publish`.
    fn publish(&self, pubsub: &[u8], topic: &[u8], data: &[u8], content_type: &[u8]) -> i64;
    /// `dapr.invoke_binding`.
    fn invoke_binding(&self, name: &[u8], operation: &[u8], data: &[u8]) -> i64;
    /// `dapr.log`.
    fn log(&self, level: i32, message: &[u8]);
    /// `dapr.take_result`.
    fn take_result(&self, buf: &mut [u8]) -> i64;
}

thread_local! {
    /// The backend serving this thread, while [`with_imports`] runs.
    static CURRENT: Cell<Option<*const (dyn NativeImports + 'static)>> = const { Cell::new(None) };
}

/// Runs `f` with `imports` serving this thread's dapr calls.
///
/// Calls made outside any `with_imports` answer `NOT_PERMITTED`, like a
/// module run without Dapr access. Nested calls restore the outer backend
/// when they end, panics included.
pub fn with_imports<R>(imports: &dyn NativeImports, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<*const (dyn NativeImports + 'static)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.set(self.0);
        }
    }
    // SAFETY: only the lifetime is erased. The pointer is readable only
    // through `current`, only while this frame is alive: `Restore` puts the
    // previous value back before `imports`' borrow ends, even on unwinding.
    let erased: *const (dyn NativeImports + 'static) = unsafe {
        std::mem::transmute::<*const (dyn NativeImports + '_), *const (dyn NativeImports + 'static)>(imports)
    };
    let _restore = Restore(CURRENT.replace(Some(erased)));
    f()
}

/// Calls `f` on this thread's backend, or answers `NOT_PERMITTED`.
pub(crate) fn current<R>(f: impl FnOnce(&dyn NativeImports) -> R, none: R) -> R {
    match CURRENT.get() {
        // SAFETY: set by `with_imports`, whose frame outlives this call (see
        // there).
        Some(imports) => f(unsafe { &*imports }),
        None => none,
    }
}
