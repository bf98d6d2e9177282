//! The host functions a guest may import: the ABI's `dapr` module and a
//! minimal WASI preview 1.
//!
//! `dapr` functions only borrow the guest memory and the instance's
//! [`HostState`] together and hand both to it, so the semantics are the API
//! crate's, byte for byte the same as on every other runtime.
//!
//! # Why a minimal WASI instead of `wasmer-wasix`
//!
//! The guest ABI (`workloads/ABI.md`) gives guests WASI with no preopened
//! directories, no arguments, an empty environment and no stdio, and the Rust
//! guests import only `environ_get`, `environ_sizes_get`, `fd_write` and
//! `proc_exit`. `wasmer-wasix` 0.704 (the release that matches Wasmer 7.4)
//! pulls in about a hundred more crates even with `sys-minimal` (the package
//! registry client `webc`, a journal, virtual file systems and networking,
//! `zstd` built from C), needs a Tokio runtime behind every `WasiEnv`, and sets
//! up a WASIX process, thread and file system for each instance, which would
//! be counted in this runtime's per-request instantiation time although it is
//! not WebAssembly work. So this adapter implements the small "no capabilities"
//! WASI the ABI describes itself:
//!
//! | import | behaviour |
//! |---|---|
//! | `environ_sizes_get` / `args_sizes_get` | `0` entries, `0` bytes |
//! | `environ_get` / `args_get` | nothing to write, success |
//! | `fd_write` | fd 1 and 2: discards the bytes and reports them all written; other fds: `EBADF` |
//! | `proc_exit` | stops the call with [`ProcExit`], reported as a trap |
//! | `clock_time_get` | realtime and monotonic clocks (as Wasmtime's WASI); CPU-time clocks: `EINVAL` |
//! | `random_get` | the host's random generator |
//! | `sched_yield` | success (one guest thread: nothing to yield to) |
//! | `poll_oneoff` | the API crate's ([`blueprint_runtime_api::wasi::poll_oneoff`]): clock subscriptions sleep until the earliest is due, at most until the call's own deadline ([`CallDeadline`], then the call ends as a time-out: [`DeadlineReached`]); fd subscriptions get `EBADF` events |
//!
//! The Go runtime needs the last four; the Rust guests do not import them.
//!
//! Every import but `proc_exit` (which ends the call itself) runs through the
//! instance's [`ImportGate`], where a call past its time limit ends
//! (`src/watchdog.rs` says why the watchdog does not interrupt host code).
//!
//! Bad pointers get `EFAULT`, never a trap. A module importing any other WASI
//! function (or anything else) is refused at compile time with the import's
//! name, rather than failing later at run time.

use std::fmt;
use std::sync::Arc;

use blueprint_runtime_api::abi::{self, HostState};
pub(crate) use blueprint_runtime_api::wasi::{CallDeadline, MODULE as WASI_MODULE, errno};
use blueprint_runtime_api::wasi::{
    DeadlineReached, monotonic_ns, poll_oneoff, read_u32, realtime_ns, write_u32, write_u64,
};
use wasmer::{AsStoreMut, Function, FunctionEnv, FunctionEnvMut, Memory};

use crate::watchdog::ImportGate;

/// Per-instance data behind every import.
pub(crate) struct Env {
    pub(crate) host: HostState,
    /// The guest's `memory` export, set right after instantiation (a start
    /// function calling an import earlier gets an error code, not a panic).
    pub(crate) memory: Option<Memory>,
    /// Shared with the watchdog: every import runs through it.
    pub(crate) gate: Arc<ImportGate>,
}

/// The guest called `proc_exit`; it ends the call like a trap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcExit(pub i32);

impl fmt::Display for ProcExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "guest called proc_exit({})", self.0)
    }
}

impl std::error::Error for ProcExit {}

/// Runs `f` on the guest memory and the instance's host state through the
/// import gate, or returns `no_memory` before the memory is known.
fn with_memory<R>(
    env: &mut FunctionEnvMut<'_, Env>,
    no_memory: R,
    f: impl FnOnce(&mut [u8], &mut HostState) -> R,
) -> Result<R, DeadlineReached> {
    let (Env { host, memory, gate }, store) = env.data_and_store_mut();
    gate.run(|| {
        let Some(memory) = memory.as_ref() else {
            return no_memory;
        };
        let view = memory.view(&store);
        // SAFETY: the guest is single-threaded and its memory is not shared:
        // while this import runs nothing else reads or writes it, and the
        // slice is gone before the import returns, so it cannot outlive a
        // `memory.grow`.
        let mem = unsafe { view.data_unchecked_mut() };
        f(mem, host)
    })
}

fn dapr(
    env: &mut FunctionEnvMut<'_, Env>,
    f: impl FnOnce(&mut [u8], &mut HostState) -> i64,
) -> Result<i64, DeadlineReached> {
    with_memory(env, abi::code::INVALID_ARGUMENT, f)
}

fn wasi(env: &mut FunctionEnvMut<'_, Env>, f: impl FnOnce(&mut [u8]) -> i32) -> Result<i32, DeadlineReached> {
    with_memory(env, errno::FAULT, |mem, _| f(mem))
}

/// An import that touches nothing, through the gate.
fn plain(env: &FunctionEnvMut<'_, Env>, value: i32) -> Result<i32, DeadlineReached> {
    env.data().gate.run(|| value)
}

/// `*count_ptr = 0; *size_ptr = 0` for `environ_sizes_get` / `args_sizes_get`.
fn zero_sizes(mem: &mut [u8], count_ptr: i32, size_ptr: i32) -> i32 {
    if write_u32(mem, count_ptr as u32, 0) && write_u32(mem, size_ptr as u32, 0) {
        errno::SUCCESS
    } else {
        errno::FAULT
    }
}

/// `fd_write` to a discarding stdout/stderr.
fn fd_write(mem: &mut [u8], fd: i32, iovs: i32, iovs_len: i32, nwritten: i32) -> i32 {
    if fd != 1 && fd != 2 {
        return errno::BADF;
    }
    let mut total: u32 = 0;
    for i in 0..iovs_len as u32 {
        // Each iovec is `{ buf: u32, buf_len: u32 }`.
        let Ok(entry) = u32::try_from(u64::from(iovs as u32) + u64::from(i) * 8) else {
            return errno::FAULT;
        };
        let len_at = entry.checked_add(4);
        let (Some(buf), Some(len)) = (read_u32(mem, entry), len_at.and_then(|p| read_u32(mem, p))) else {
            return errno::FAULT;
        };
        if abi::slice(mem, buf as i32, len as i32).is_none() {
            return errno::FAULT;
        }
        let Some(sum) = total.checked_add(len) else {
            return errno::OVERFLOW;
        };
        total = sum;
    }
    if write_u32(mem, nwritten as u32, total) {
        errno::SUCCESS
    } else {
        errno::FAULT
    }
}

/// `clock_time_get(id, precision, out)`: 0 = realtime, 1 = monotonic.
fn clock_time_get(mem: &mut [u8], id: i32, out: i32) -> i32 {
    let now = match id {
        0 => realtime_ns(),
        1 => monotonic_ns(),
        _ => return errno::INVAL,
    };
    if write_u64(mem, out as u32, now) {
        errno::SUCCESS
    } else {
        errno::FAULT
    }
}

fn random_get(mem: &mut [u8], buf: i32, len: i32) -> i32 {
    let (start, len) = (buf as u32 as usize, len as u32 as usize);
    match start.checked_add(len).and_then(|end| mem.get_mut(start..end)) {
        Some(dst) => {
            rand::RngCore::fill_bytes(&mut rand::rng(), dst);
            errno::SUCCESS
        }
        None => errno::FAULT,
    }
}

/// Creates the host function for one import, or `None` if this host does not
/// provide it.
pub(crate) fn function(
    store: &mut impl AsStoreMut,
    env: &FunctionEnv<Env>,
    module: &str,
    name: &str,
) -> Option<Function> {
    type E<'a> = FunctionEnvMut<'a, Env>;
    let f = match (module, name) {
        (abi::IMPORT_MODULE, "state_get") => {
            Function::new_typed_with_env(store, env, |mut c: E, sp: i32, sl: i32, kp: i32, kl: i32| {
                dapr(&mut c, |mem, host| host.state_get(mem, (sp, sl), (kp, kl)))
            })
        }
        (abi::IMPORT_MODULE, "state_get_bulk") => {
            Function::new_typed_with_env(store, env, |mut c: E, sp: i32, sl: i32, kp: i32, kl: i32| {
                dapr(&mut c, |mem, host| host.state_get_bulk(mem, (sp, sl), (kp, kl)))
            })
        }
        (abi::IMPORT_MODULE, "state_set") => Function::new_typed_with_env(
            store,
            env,
            |mut c: E, sp: i32, sl: i32, kp: i32, kl: i32, vp: i32, vl: i32, ep: i32, el: i32, cc: i32| {
                dapr(&mut c, |mem, host| {
                    host.state_set(mem, (sp, sl), (kp, kl), (vp, vl), (ep, el), cc)
                })
            },
        ),
        (abi::IMPORT_MODULE, "state_delete") => Function::new_typed_with_env(
            store,
            env,
            |mut c: E, sp: i32, sl: i32, kp: i32, kl: i32, ep: i32, el: i32, cc: i32| {
                dapr(&mut c, |mem, host| {
                    host.state_delete(mem, (sp, sl), (kp, kl), (ep, el), cc)
                })
            },
        ),
        (abi::IMPORT_MODULE, "publish") => Function::new_typed_with_env(
            store,
            env,
            |mut c: E, pp: i32, pl: i32, tp: i32, tl: i32, dp: i32, dl: i32, cp: i32, cl: i32| {
                dapr(&mut c, |mem, host| {
                    host.publish(mem, (pp, pl), (tp, tl), (dp, dl), (cp, cl))
                })
            },
        ),
        (abi::IMPORT_MODULE, "invoke_binding") => Function::new_typed_with_env(
            store,
            env,
            |mut c: E, np: i32, nl: i32, op: i32, ol: i32, dp: i32, dl: i32| {
                dapr(&mut c, |mem, host| {
                    host.invoke_binding(mem, (np, nl), (op, ol), (dp, dl))
                })
            },
        ),
        (abi::IMPORT_MODULE, "log") => {
            Function::new_typed_with_env(store, env, |mut c: E, level: i32, p: i32, l: i32| {
                with_memory(&mut c, (), |mem, host| host.log(mem, level, (p, l)))
            })
        }
        (abi::IMPORT_MODULE | abi::IMPORT_HTTP_MODULE, "take_result") => {
            Function::new_typed_with_env(store, env, |mut c: E, p: i32, l: i32| {
                dapr(&mut c, |mem, host| host.take_result(mem, (p, l)))
            })
        }
        (abi::IMPORT_HTTP_MODULE, "request") => Function::new_typed_with_env(
            store,
            env,
            |mut c: E, mp: i32, ml: i32, up: i32, ul: i32, hp: i32, hl: i32, bp: i32, bl: i32| {
                dapr(&mut c, |mem, host| {
                    host.http_request(mem, (mp, ml), (up, ul), (hp, hl), (bp, bl))
                })
            },
        ),
        (WASI_MODULE, "environ_sizes_get" | "args_sizes_get") => {
            Function::new_typed_with_env(store, env, |mut c: E, count: i32, size: i32| {
                wasi(&mut c, |mem| zero_sizes(mem, count, size))
            })
        }
        (WASI_MODULE, "environ_get" | "args_get") => {
            Function::new_typed_with_env(store, env, |c: E, _ptrs: i32, _buf: i32| {
                plain(&c, errno::SUCCESS)
            })
        }
        (WASI_MODULE, "fd_write") => Function::new_typed_with_env(
            store,
            env,
            |mut c: E, fd: i32, iovs: i32, iovs_len: i32, nwritten: i32| {
                wasi(&mut c, |mem| fd_write(mem, fd, iovs, iovs_len, nwritten))
            },
        ),
        (WASI_MODULE, "clock_time_get") => {
            Function::new_typed_with_env(store, env, |mut c: E, id: i32, _precision: i64, out: i32| {
                wasi(&mut c, |mem| clock_time_get(mem, id, out))
            })
        }
        (WASI_MODULE, "random_get") => {
            Function::new_typed_with_env(store, env, |mut c: E, buf: i32, len: i32| {
                wasi(&mut c, |mem| random_get(mem, buf, len))
            })
        }
        (WASI_MODULE, "sched_yield") => {
            Function::new_typed_with_env(store, env, |c: E| plain(&c, errno::SUCCESS))
        }
        (WASI_MODULE, "poll_oneoff") => Function::new_typed_with_env(
            store,
            env,
            |mut c: E, input: i32, output: i32, count: i32, nevents: i32| -> Result<i32, DeadlineReached> {
                with_memory(&mut c, Ok(errno::FAULT), |mem, _| {
                    poll_oneoff(mem, input, output, count, nevents)
                })
                .and_then(std::convert::identity)
            },
        ),
        (WASI_MODULE, "proc_exit") => {
            Function::new_typed_with_env(store, env, |_: E, code: i32| -> Result<(), ProcExit> {
                Err(ProcExit(code))
            })
        }
        _ => return None,
    };
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use blueprint_runtime_api::wasi::read_u64;

    fn iov(mem: &mut [u8], at: usize, buf: u32, len: u32) {
        mem[at..at + 4].copy_from_slice(&buf.to_le_bytes());
        mem[at + 4..at + 8].copy_from_slice(&len.to_le_bytes());
    }

    #[test]
    fn fd_write_discards_and_counts() {
        let mut mem = vec![0u8; 64];
        iov(&mut mem, 0, 32, 5);
        iov(&mut mem, 8, 40, 7);
        assert_eq!(fd_write(&mut mem, 1, 0, 2, 16), errno::SUCCESS);
        assert_eq!(read_u32(&mem, 16), Some(12));
        assert_eq!(fd_write(&mut mem, 2, 0, 0, 16), errno::SUCCESS);
        assert_eq!(read_u32(&mem, 16), Some(0));
        assert_eq!(fd_write(&mut mem, 3, 0, 2, 16), errno::BADF);
    }

    #[test]
    fn fd_write_bad_pointers_fault() {
        let mut mem = vec![0u8; 64];
        iov(&mut mem, 0, 60, 5); // buffer runs past the end
        assert_eq!(fd_write(&mut mem, 1, 0, 1, 16), errno::FAULT);
        iov(&mut mem, 0, 0, 1);
        assert_eq!(fd_write(&mut mem, 1, 60, 1, 16), errno::FAULT); // iovec past the end
        assert_eq!(fd_write(&mut mem, 1, 0, 1, 62), errno::FAULT); // nwritten past the end
        assert_eq!(fd_write(&mut mem, 1, -8, 2, 16), errno::FAULT); // wraps around
    }

    #[test]
    fn clocks_and_random_write_where_asked() {
        let mut mem = vec![0u8; 64];
        assert_eq!(clock_time_get(&mut mem, 0, 8), errno::SUCCESS);
        let realtime = read_u64(&mem, 8).unwrap();
        assert!(
            realtime > 1_600_000_000_000_000_000,
            "realtime is nanoseconds since 1970"
        );
        assert_eq!(clock_time_get(&mut mem, 1, 16), errno::SUCCESS);
        assert_eq!(clock_time_get(&mut mem, 2, 16), errno::INVAL);
        assert_eq!(clock_time_get(&mut mem, 1, 60), errno::FAULT);
        assert_eq!(random_get(&mut mem, 32, 32), errno::SUCCESS);
        assert_ne!(&mem[32..64], &[0u8; 32]);
        assert_eq!(random_get(&mut mem, 40, 32), errno::FAULT);
    }

    #[test]
    fn sizes_are_zero() {
        let mut mem = vec![0xffu8; 16];
        assert_eq!(zero_sizes(&mut mem, 0, 4), errno::SUCCESS);
        assert_eq!(&mem[..8], &[0; 8]);
        assert_eq!(zero_sizes(&mut mem, 0, 14), errno::FAULT);
    }
}
