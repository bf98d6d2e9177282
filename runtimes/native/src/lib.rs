//! The `native` mode's "runtime": the Rust workloads compiled into the host,
//! the floor that shows what Wasm costs. It implements the same traits as the
//! Wasm adapters, so the host serves it exactly like them; a workload's
//! `dapr` calls reach the host's [`DaprHost`] through
//! [`blueprint_guest::native`], and [`HostState`] gives them the same
//! semantics (argument checks, codes, result slot) as every runtime's imports.

use std::cell::RefCell;
use std::sync::Arc;

use blueprint_guest::native::NativeImports;
use blueprint_runtime_api::abi::HostState;
use blueprint_runtime_api::{CallError, DaprHost, Instance, Module, RuntimeError, RuntimeInfo};

/// A workload's handler, as each workload crate exports it.
type Handler = fn(&[u8]) -> Result<Vec<u8>, String>;

/// Every Rust workload linked in, by name.
const WORKLOADS: &[(&str, Handler)] = &[
    ("noop", noop::handle),
    ("counter", counter::handle),
    ("transform", transform::handle),
    ("validate", validate::handle),
    ("aggregate", aggregate::handle),
    ("compute", compute::handle),
    ("fanout", fanout::handle),
    ("fanout-bulk", fanout_bulk::handle),
    ("lookup", lookup::handle),
];

/// The names of the linked workloads.
pub fn workloads() -> Vec<&'static str> {
    WORKLOADS.iter().map(|(name, _)| *name).collect()
}

/// What the results record for native cells.
pub fn info() -> RuntimeInfo {
    RuntimeInfo {
        name: "native".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        engine: "Rust compiled into the host (no Wasm)".into(),
    }
}

/// The linked workload `name`.
///
/// # Errors
/// No workload of that name is linked in.
pub fn module(name: &str) -> Result<Arc<dyn Module>, RuntimeError> {
    WORKLOADS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, handler)| Arc::new(NativeModule { handler }) as Arc<dyn Module>)
        .ok_or_else(|| {
            RuntimeError::Compile(format!(
                "no native workload `{name}` (linked: {})",
                workloads().join(", ")
            ))
        })
}

struct NativeModule {
    handler: Handler,
}

impl Module for NativeModule {
    fn instantiate(&self, host: Arc<dyn DaprHost>) -> Result<Box<dyn Instance>, RuntimeError> {
        Ok(Box::new(NativeInstance {
            handler: self.handler,
            bridge: Bridge {
                state: RefCell::new(HostState::new(host)),
                scratch: RefCell::new(Vec::new()),
            },
        }))
    }
}

struct NativeInstance {
    handler: Handler,
    bridge: Bridge,
}

impl Instance for NativeInstance {
    fn handle(&mut self, request: &[u8]) -> Result<Vec<u8>, CallError> {
        blueprint_guest::native::with_imports(&self.bridge, || (self.handler)(request))
            .map_err(CallError::Guest)
    }
}

/// The native imports over [`HostState`]: arguments are laid out in a
/// scratch buffer that stands in for guest memory, so the host-side code and
/// its answers are byte for byte those of the Wasm adapters.
struct Bridge {
    state: RefCell<HostState>,
    scratch: RefCell<Vec<u8>>,
}

impl Bridge {
    /// Copies `args` into the scratch memory and calls `f` with their slices.
    fn call<const N: usize>(
        &self,
        args: [&[u8]; N],
        f: impl FnOnce(&mut HostState, &[u8], [(i32, i32); N]) -> i64,
    ) -> i64 {
        let mut scratch = self.scratch.borrow_mut();
        scratch.clear();
        let mut slices = [(0, 0); N];
        for (slot, arg) in slices.iter_mut().zip(args) {
            // Guest pointers are 32-bit: a larger argument cannot be passed.
            let (Ok(ptr), Ok(len)) = (i32::try_from(scratch.len()), i32::try_from(arg.len())) else {
                return blueprint_runtime_api::abi::code::INVALID_ARGUMENT;
            };
            *slot = (ptr, len);
            scratch.extend_from_slice(arg);
        }
        f(&mut self.state.borrow_mut(), &scratch, slices)
    }
}

impl NativeImports for Bridge {
    fn state_get(&self, store: &[u8], key: &[u8]) -> i64 {
        self.call([store, key], |s, m, [a, b]| s.state_get(m, a, b))
    }

    fn state_get_bulk(&self, store: &[u8], keys: &[u8]) -> i64 {
        self.call([store, keys], |s, m, [a, b]| s.state_get_bulk(m, a, b))
    }

    fn state_set(&self, store: &[u8], key: &[u8], value: &[u8], etag: &[u8], concurrency: i32) -> i64 {
        self.call([store, key, value, etag], |s, m, [a, b, c, d]| {
            s.state_set(m, a, b, c, d, concurrency)
        })
    }

    fn state_delete(&self, store: &[u8], key: &[u8], etag: &[u8], concurrency: i32) -> i64 {
        self.call([store, key, etag], |s, m, [a, b, c]| {
            s.state_delete(m, a, b, c, concurrency)
        })
    }

    fn publish(&self, pubsub: &[u8], topic: &[u8], data: &[u8], content_type: &[u8]) -> i64 {
        self.call([pubsub, topic, data, content_type], |s, m, [a, b, c, d]| {
            s.publish(m, a, b, c, d)
        })
    }

    fn invoke_binding(&self, name: &[u8], operation: &[u8], data: &[u8]) -> i64 {
        self.call([name, operation, data], |s, m, [a, b, c]| {
            s.invoke_binding(m, a, b, c)
        })
    }

    fn log(&self, level: i32, message: &[u8]) {
        self.call([message], |s, m, [a]| {
            s.log(m, level, a);
            0
        });
    }

    fn take_result(&self, buf: &mut [u8]) -> i64 {
        let Ok(len) = i32::try_from(buf.len()) else {
            return blueprint_runtime_api::abi::code::INVALID_ARGUMENT;
        };
        let mut scratch = self.scratch.borrow_mut();
        scratch.clear();
        scratch.resize(buf.len(), 0);
        let copied = self.state.borrow_mut().take_result(&mut scratch, (0, len));
        if let Ok(n) = usize::try_from(copied) {
            buf[..n].copy_from_slice(&scratch[..n]);
        }
        copied
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blueprint_runtime_api::NoDapr;

    #[test]
    fn linked_workloads_answer_like_their_vectors_say() {
        let mut noop = module("noop").unwrap().instantiate(Arc::new(NoDapr)).unwrap();
        assert_eq!(noop.handle(b"hi").unwrap(), b"hi");
        // Without Dapr access the counter's state call is refused, and the
        // workload reports it as a guest error, as it does under Wasm.
        let mut counter = module("counter").unwrap().instantiate(Arc::new(NoDapr)).unwrap();
        assert!(matches!(counter.handle(b"k"), Err(CallError::Guest(m)) if m.starts_with("dapr:")));
        assert!(matches!(counter.handle(b""), Err(CallError::Guest(m)) if m == "key must not be empty"));
        assert!(module("nope").is_err());
    }

    #[test]
    fn the_state_workloads_pass_their_vectors_against_an_in_memory_store() {
        use blueprint_runtime_api::testing::{MemoryStore, vector_file, vectors};
        for workload in ["counter", "fanout", "fanout-bulk", "lookup"] {
            let store = Arc::new(MemoryStore::default());
            let module = module(workload).unwrap();
            for case in vectors(workload) {
                let mut instance = module.instantiate(store.clone()).unwrap();
                assert_eq!(
                    instance.handle(&case.input),
                    case.expected.clone().map_err(CallError::Guest),
                    "{workload}: case `{}`",
                    case.name
                );
            }
            for (key, value) in vector_file(workload).final_state {
                assert_eq!(
                    store.value(&key).as_deref(),
                    Some(value.as_bytes()),
                    "{workload}: final state of `{key}`"
                );
            }
        }
    }
}
