//! WASI preview 1 commands on Wasmer (`blueprint-bench wasi-run`): a
//! command-mode WASI of this crate's own, on the runtime's engine, so the
//! memory cap (tunables) and the time limit (the watchdog, over
//! instantiation and `_start`) apply as to a request.
//!
//! Built without the `wasix` feature only: with it, commands run on
//! Wasmer's own WASI (`src/wasix.rs`).
//!
//! # Why a subset at all
//!
//! `wasmer-wasix` 0.704.2 (the release for Wasmer 7.4.2 that builds with Rust
//! 1.95) pulls about 340 more crates into this package's tree (268 → 605
//! with `sys-minimal`) and about 8 minutes into a cold build
//! (`results/README.md` has the figure), more than `cargo run` on a fresh
//! machine should pay for one subcommand. So without the feature this file
//! gives commands the part of WASI preview 1 that command-line programs use,
//! and `wasi-run` says whose WASI ran:
//!
//! | imports | behaviour |
//! |---|---|
//! | `args_*`, `environ_*` | the command's arguments and environment |
//! | `fd_read`, `fd_write` | stdin (0), stdout (1), stderr (2): the host process's; files |
//! | `fd_seek`, `fd_tell`, `fd_close`, `fd_sync`, `fd_datasync` | files |
//! | `fd_fdstat_get`, `fd_fdstat_set_flags`, `fd_filestat_get` | every open fd |
//! | `fd_prestat_get`, `fd_prestat_dir_name` | the preopened directories, fd 3, 4, … |
//! | `path_open`, `path_filestat_get`, `path_create_directory`, `path_unlink_file`, `path_remove_directory` | inside a preopened directory |
//! | `proc_exit` | ends the run with that exit code |
//! | `clock_time_get`, `random_get`, `poll_oneoff`, `sched_yield` | as for ABI guests (`src/imports.rs`) |
//!
//! Paths are resolved inside their directory only: absolute paths, `..`
//! above the preopened directory and symbolic links that lead out of it get
//! `ENOTCAPABLE`. A module importing anything else (`fd_readdir`, sockets,
//! `path_rename`, …) is refused before it runs, with the import's name.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use blueprint_runtime_api::abi::HostState;
use blueprint_runtime_api::wasi::DeadlineReached;
use blueprint_runtime_api::{CommandError, CommandRunner, NoDapr, RuntimeError, WasiCommand};
use wasmer::{
    AsStoreMut, ExternType, Function, FunctionEnv, FunctionEnvMut, Imports, InstantiationError, Memory, Store,
};

use crate::imports::{self, Env, WASI_MODULE, errno};
use crate::watchdog::{ImportGate, Interrupt};
use crate::{ProcExit, WasmerRuntime};

/// WASI file types.
mod filetype {
    pub const UNKNOWN: u8 = 0;
    pub const CHARACTER_DEVICE: u8 = 2;
    pub const DIRECTORY: u8 = 3;
    pub const REGULAR_FILE: u8 = 4;
    pub const SYMBOLIC_LINK: u8 = 7;
}

/// Every right preview 1 defines (bits 0..=28): the host, not rights, decides.
const ALL_RIGHTS: u64 = (1 << 29) - 1;
const RIGHT_FD_READ: u64 = 1 << 1;
const RIGHT_FD_WRITE: u64 = 1 << 6;
const OFLAG_CREAT: i32 = 1;
const OFLAG_DIRECTORY: i32 = 2;
const OFLAG_EXCL: i32 = 4;
const OFLAG_TRUNC: i32 = 8;
const FDFLAG_APPEND: i32 = 1;
const LOOKUP_SYMLINK_FOLLOW: i32 = 1;

/// One open file descriptor.
enum Fd {
    Stdin,
    Stdout,
    Stderr,
    /// A directory: `root` is the preopened directory it lies in (canonical),
    /// `path` the directory itself; `preopen` the guest name of a preopen.
    Dir {
        root: PathBuf,
        path: PathBuf,
        preopen: Option<String>,
    },
    File {
        file: File,
        append: bool,
    },
}

/// Per-run data behind the command's WASI functions.
struct CommandEnv {
    memory: Option<Memory>,
    /// NUL-terminated `argv` and `KEY=VALUE` entries.
    args: Vec<Vec<u8>>,
    env: Vec<Vec<u8>>,
    fds: Vec<Option<Fd>>,
    /// Shared with the watchdog and the clock, random and sleep imports.
    gate: Arc<ImportGate>,
}

impl CommandRunner for WasmerRuntime {
    fn run_command(&self, wasm: &[u8], command: &WasiCommand) -> Result<i32, CommandError> {
        let timeout = self.limits.call_timeout;
        let module =
            wasmer::Module::new(&self.engine, wasm).map_err(|e| RuntimeError::Compile(e.to_string()))?;
        let mut fds = vec![Some(Fd::Stdin), Some(Fd::Stdout), Some(Fd::Stderr)];
        for dir in &command.dirs {
            let root = dir.host.canonicalize().map_err(|e| {
                RuntimeError::Config(format!(
                    "preopening {} as `{}`: {e}",
                    dir.host.display(),
                    dir.guest
                ))
            })?;
            fds.push(Some(Fd::Dir {
                path: root.clone(),
                root,
                preopen: Some(dir.guest.clone()),
            }));
        }
        let nul_terminated = |s: String| {
            let mut bytes = s.into_bytes();
            bytes.push(0);
            bytes
        };
        let mut store = Store::new(self.engine.clone());
        let gate = Arc::new(ImportGate::default());
        let env = FunctionEnv::new(
            &mut store,
            CommandEnv {
                memory: None,
                args: command.args.iter().cloned().map(nul_terminated).collect(),
                env: command
                    .env
                    .iter()
                    .map(|(k, v)| nul_terminated(format!("{k}={v}")))
                    .collect(),
                fds,
                gate: gate.clone(),
            },
        );
        // Clocks, randomness and sleeping behave as for ABI guests.
        let shared = FunctionEnv::new(
            &mut store,
            Env {
                host: HostState::new(Arc::new(NoDapr)),
                memory: None,
                gate: gate.clone(),
            },
        );
        let mut imports = Imports::new();
        for import in module.imports() {
            let (m, n) = (import.module(), import.name());
            let func = match (m, n) {
                (WASI_MODULE, "clock_time_get" | "random_get" | "poll_oneoff" | "sched_yield") => {
                    imports::function(&mut store, &shared, m, n)
                }
                (WASI_MODULE, _) => function(&mut store, &env, n),
                _ => None,
            };
            let Some(func) = func else {
                return Err(RuntimeError::Instantiate(format!(
                    "unknown import `{m}::{n}`: commands on this runtime get the part of WASI preview 1 \
                     listed in runtimes/wasmer/src/command.rs"
                ))
                .into());
            };
            let host_ty = ExternType::Function(func.ty(&store));
            if import.ty() != &host_ty {
                return Err(RuntimeError::Instantiate(format!(
                    "import `{m}::{n}` has type {:?}, the host's is {host_ty:?}",
                    import.ty()
                ))
                .into());
            }
            imports.define(m, n, func);
        }

        let _armed = self.watchdog.handle().arm(
            Interrupt::for_call_on_this_thread(store.interrupter(), gate),
            timeout,
        );
        let _deadline = crate::imports::CallDeadline::set(timeout);
        let started = std::time::Instant::now();
        let call_error = |e| crate::command_error(e, timeout, started);
        let instance = wasmer::Instance::new(&mut store, &module, &imports).map_err(|e| match e {
            InstantiationError::Start(e) => CommandError::Guest(call_error(e)),
            other => CommandError::Setup(RuntimeError::Instantiate(other.to_string())),
        })?;
        if let Ok(memory) = instance.exports.get_memory("memory") {
            env.as_mut(&mut store).memory = Some(memory.clone());
            shared.as_mut(&mut store).memory = Some(memory.clone());
        }
        let start = crate::start_function(&instance, &store)?;
        match start.call(&mut store) {
            Ok(()) => Ok(0),
            Err(e) => match e.downcast_ref::<ProcExit>() {
                Some(ProcExit(code)) => Ok(*code),
                None => Err(CommandError::Guest(call_error(e))),
            },
        }
    }
}

/// Runs `f` on the guest memory and the run's data through the import gate
/// (`src/watchdog.rs`), `EFAULT` before there is a memory.
fn with(
    env: &mut FunctionEnvMut<'_, CommandEnv>,
    f: impl FnOnce(&mut [u8], &mut CommandEnv) -> i32,
) -> Result<i32, DeadlineReached> {
    let (data, store) = env.data_and_store_mut();
    let gate = data.gate.clone();
    gate.run(|| {
        let Some(memory) = data.memory.clone() else {
            return errno::FAULT;
        };
        let view = memory.view(&store);
        // SAFETY: the guest is single-threaded and its memory is not shared:
        // while an import runs nothing else touches it, and the slice is gone
        // before the import returns, so it cannot outlive a `memory.grow`.
        let mem = unsafe { view.data_unchecked_mut() };
        f(mem, data)
    })
}

fn range(mem: &[u8], ptr: i32, len: usize) -> Option<std::ops::Range<usize>> {
    let start = ptr as u32 as usize;
    let end = start.checked_add(len)?;
    (end <= mem.len()).then_some(start..end)
}

fn put(mem: &mut [u8], ptr: i32, bytes: &[u8]) -> Result<(), i32> {
    let r = range(mem, ptr, bytes.len()).ok_or(errno::FAULT)?;
    mem[r].copy_from_slice(bytes);
    Ok(())
}

fn get_u32(mem: &[u8], ptr: u32) -> Result<u32, i32> {
    let r = range(mem, ptr as i32, 4).ok_or(errno::FAULT)?;
    Ok(u32::from_le_bytes(mem[r].try_into().map_err(|_| errno::FAULT)?))
}

/// The `(buf, len)` pairs of an iovec array, bounds-checked.
fn iovecs(mem: &[u8], iovs: i32, count: i32) -> Result<Vec<std::ops::Range<usize>>, i32> {
    (0..count as u32)
        .map(|i| {
            let at = (iovs as u32)
                .checked_add(i.checked_mul(8).ok_or(errno::FAULT)?)
                .ok_or(errno::FAULT)?;
            let buf = get_u32(mem, at)?;
            let len = get_u32(mem, at.checked_add(4).ok_or(errno::FAULT)?)?;
            range(mem, buf as i32, len as usize).ok_or(errno::FAULT)
        })
        .collect()
}

/// `*_sizes_get`: the entry count and the total bytes with NUL terminators.
fn sizes(mem: &mut [u8], entries: &[Vec<u8>], count_ptr: i32, size_ptr: i32) -> Result<(), i32> {
    let total: usize = entries.iter().map(Vec::len).sum();
    put(mem, count_ptr, &(entries.len() as u32).to_le_bytes())?;
    put(mem, size_ptr, &(total as u32).to_le_bytes())
}

/// `args_get` / `environ_get`: the pointer array and the strings.
fn entries(mem: &mut [u8], entries: &[Vec<u8>], ptrs: i32, buf: i32) -> Result<(), i32> {
    let mut at = buf as u32;
    for (i, entry) in entries.iter().enumerate() {
        put(mem, ptrs.wrapping_add(i as i32 * 4), &at.to_le_bytes())?;
        put(mem, at as i32, entry)?;
        at = at.checked_add(entry.len() as u32).ok_or(errno::FAULT)?;
    }
    Ok(())
}

/// A host I/O error as a WASI errno.
fn io_errno(e: &std::io::Error) -> i32 {
    match e.raw_os_error() {
        Some(1) => errno::PERM,
        Some(2) => errno::NOENT,
        Some(9) => errno::BADF,
        Some(13) => errno::ACCES,
        Some(17) => errno::EXIST,
        Some(20) => errno::NOTDIR,
        Some(21) => errno::ISDIR,
        Some(22) => errno::INVAL,
        Some(28) => errno::NOSPC,
        Some(29) => errno::SPIPE,
        Some(30) => errno::ROFS,
        Some(36) => errno::NAMETOOLONG,
        Some(39) => errno::NOTEMPTY,
        Some(40) => errno::LOOP,
        _ => match e.kind() {
            std::io::ErrorKind::NotFound => errno::NOENT,
            std::io::ErrorKind::PermissionDenied => errno::ACCES,
            std::io::ErrorKind::AlreadyExists => errno::EXIST,
            std::io::ErrorKind::InvalidInput => errno::INVAL,
            _ => errno::IO,
        },
    }
}

fn code(result: Result<(), i32>) -> i32 {
    result.err().unwrap_or(errno::SUCCESS)
}

fn fd_entry(data: &mut CommandEnv, fd: i32) -> Result<&mut Fd, i32> {
    usize::try_from(fd)
        .ok()
        .and_then(|i| data.fds.get_mut(i))
        .and_then(Option::as_mut)
        .ok_or(errno::BADF)
}

/// Resolves `path` (guest memory) against directory `fd`, inside that
/// directory's preopen. Returns `(root, host path)`.
fn resolve(
    mem: &[u8],
    data: &mut CommandEnv,
    fd: i32,
    path: i32,
    len: i32,
) -> Result<(PathBuf, PathBuf), i32> {
    let Fd::Dir { root, path: dir, .. } = fd_entry(data, fd)? else {
        return Err(errno::NOTDIR);
    };
    let r = range(mem, path, len as u32 as usize).ok_or(errno::FAULT)?;
    let guest = std::str::from_utf8(&mem[r]).map_err(|_| errno::INVAL)?;
    let mut inside: Vec<std::ffi::OsString> = dir
        .strip_prefix(&*root)
        .map_err(|_| errno::NOTCAPABLE)?
        .components()
        .map(|c| c.as_os_str().to_owned())
        .collect();
    for component in Path::new(guest).components() {
        match component {
            Component::Normal(part) => inside.push(part.to_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                inside.pop().ok_or(errno::NOTCAPABLE)?;
            }
            Component::RootDir | Component::Prefix(_) => return Err(errno::NOTCAPABLE),
        }
    }
    let host: PathBuf = inside.iter().fold(root.clone(), |p, c| p.join(c));
    // A symbolic link on the way may lead out: the deepest existing ancestor
    // must still be inside the preopen once links are followed.
    let existing = host
        .ancestors()
        .find_map(|a| a.canonicalize().ok())
        .ok_or(errno::NOENT)?;
    if !existing.starts_with(&*root) {
        return Err(errno::NOTCAPABLE);
    }
    Ok((root.clone(), host))
}

fn filetype_of(meta: &fs::Metadata) -> u8 {
    let ty = meta.file_type();
    if ty.is_dir() {
        filetype::DIRECTORY
    } else if ty.is_file() {
        filetype::REGULAR_FILE
    } else if ty.is_symlink() {
        filetype::SYMBOLIC_LINK
    } else {
        filetype::UNKNOWN
    }
}

/// A `filestat` (64 bytes) at `buf`.
fn put_filestat(mem: &mut [u8], buf: i32, meta: &fs::Metadata, ty: u8) -> Result<(), i32> {
    use std::os::unix::fs::MetadataExt;
    let nanos = |s: i64, ns: i64| (s as u64).saturating_mul(1_000_000_000).saturating_add(ns as u64);
    let mut stat = [0u8; 64];
    stat[0..8].copy_from_slice(&meta.dev().to_le_bytes());
    stat[8..16].copy_from_slice(&meta.ino().to_le_bytes());
    stat[16] = ty;
    stat[24..32].copy_from_slice(&meta.nlink().to_le_bytes());
    stat[32..40].copy_from_slice(&meta.len().to_le_bytes());
    stat[40..48].copy_from_slice(&nanos(meta.atime(), meta.atime_nsec()).to_le_bytes());
    stat[48..56].copy_from_slice(&nanos(meta.mtime(), meta.mtime_nsec()).to_le_bytes());
    stat[56..64].copy_from_slice(&nanos(meta.ctime(), meta.ctime_nsec()).to_le_bytes());
    put(mem, buf, &stat)
}

fn fd_read(
    mem: &mut [u8],
    data: &mut CommandEnv,
    fd: i32,
    iovs: i32,
    count: i32,
    nread: i32,
) -> Result<(), i32> {
    let bufs = iovecs(mem, iovs, count)?;
    let mut reader: Box<dyn Read + '_> = match fd_entry(data, fd)? {
        Fd::Stdin => Box::new(std::io::stdin().lock()),
        Fd::File { file, .. } => Box::new(file),
        Fd::Dir { .. } => return Err(errno::ISDIR),
        Fd::Stdout | Fd::Stderr => return Err(errno::BADF),
    };
    let mut total = 0usize;
    for buf in bufs {
        let want = buf.len();
        let got = reader.read(&mut mem[buf]).map_err(|e| io_errno(&e))?;
        total += got;
        // A short read ends the call, as readv does.
        if got < want {
            break;
        }
    }
    drop(reader);
    put(mem, nread, &(total as u32).to_le_bytes())
}

fn fd_write(
    mem: &mut [u8],
    data: &mut CommandEnv,
    fd: i32,
    iovs: i32,
    count: i32,
    nwritten: i32,
) -> Result<(), i32> {
    let bufs = iovecs(mem, iovs, count)?;
    let mut total = 0usize;
    {
        let mut writer: Box<dyn Write + '_> = match fd_entry(data, fd)? {
            Fd::Stdout => Box::new(std::io::stdout().lock()),
            Fd::Stderr => Box::new(std::io::stderr().lock()),
            Fd::File { file, append } => {
                if *append {
                    file.seek(SeekFrom::End(0)).map_err(|e| io_errno(&e))?;
                }
                Box::new(file)
            }
            Fd::Dir { .. } => return Err(errno::ISDIR),
            Fd::Stdin => return Err(errno::BADF),
        };
        for buf in bufs {
            writer.write_all(&mem[buf.clone()]).map_err(|e| io_errno(&e))?;
            total += buf.len();
        }
        // Unbuffered, as a file descriptor is: stdout must not wait for exit.
        writer.flush().map_err(|e| io_errno(&e))?;
    }
    put(mem, nwritten, &(total as u32).to_le_bytes())
}

fn fd_seek(
    mem: &mut [u8],
    data: &mut CommandEnv,
    fd: i32,
    offset: i64,
    whence: i32,
    out: i32,
) -> Result<(), i32> {
    let Fd::File { file, .. } = fd_entry(data, fd)? else {
        return Err(errno::SPIPE);
    };
    let pos = match whence {
        0 => SeekFrom::Start(u64::try_from(offset).map_err(|_| errno::INVAL)?),
        1 => SeekFrom::Current(offset),
        2 => SeekFrom::End(offset),
        _ => return Err(errno::INVAL),
    };
    let at = file.seek(pos).map_err(|e| io_errno(&e))?;
    put(mem, out, &at.to_le_bytes())
}

fn fd_fdstat_get(mem: &mut [u8], data: &mut CommandEnv, fd: i32, buf: i32) -> Result<(), i32> {
    let (ty, flags) = match fd_entry(data, fd)? {
        Fd::Stdin | Fd::Stdout | Fd::Stderr => (filetype::CHARACTER_DEVICE, 0u16),
        Fd::Dir { .. } => (filetype::DIRECTORY, 0),
        Fd::File { append, .. } => (filetype::REGULAR_FILE, u16::from(*append)),
    };
    let mut stat = [0u8; 24];
    stat[0] = ty;
    stat[2..4].copy_from_slice(&flags.to_le_bytes());
    stat[8..16].copy_from_slice(&ALL_RIGHTS.to_le_bytes());
    stat[16..24].copy_from_slice(&ALL_RIGHTS.to_le_bytes());
    put(mem, buf, &stat)
}

fn fd_filestat_get(mem: &mut [u8], data: &mut CommandEnv, fd: i32, buf: i32) -> Result<(), i32> {
    let meta = match fd_entry(data, fd)? {
        Fd::File { file, .. } => file.metadata(),
        Fd::Dir { path, .. } => fs::metadata(&*path),
        Fd::Stdin | Fd::Stdout | Fd::Stderr => {
            let mut stat = [0u8; 64];
            stat[16] = filetype::CHARACTER_DEVICE;
            return put(mem, buf, &stat);
        }
    }
    .map_err(|e| io_errno(&e))?;
    put_filestat(mem, buf, &meta, filetype_of(&meta))
}

#[allow(clippy::too_many_arguments)]
fn path_open(
    mem: &mut [u8],
    data: &mut CommandEnv,
    fd: i32,
    lookup: i32,
    path: i32,
    len: i32,
    oflags: i32,
    rights: i64,
    fdflags: i32,
    out: i32,
) -> Result<(), i32> {
    let (root, host) = resolve(mem, data, fd, path, len)?;
    let follow = lookup & LOOKUP_SYMLINK_FOLLOW != 0;
    let meta = if follow {
        fs::metadata(&host)
    } else {
        fs::symlink_metadata(&host)
    };
    let entry = match meta {
        Ok(meta) if meta.is_dir() => {
            if oflags & (OFLAG_CREAT | OFLAG_EXCL) == OFLAG_CREAT | OFLAG_EXCL {
                return Err(errno::EXIST);
            }
            if oflags & OFLAG_TRUNC != 0
                || rights as u64 & RIGHT_FD_WRITE != 0 && oflags & OFLAG_DIRECTORY == 0
            {
                return Err(errno::ISDIR);
            }
            Fd::Dir {
                root,
                path: host.canonicalize().map_err(|e| io_errno(&e))?,
                preopen: None,
            }
        }
        _ if oflags & OFLAG_DIRECTORY != 0 => {
            return Err(if host.exists() {
                errno::NOTDIR
            } else {
                errno::NOENT
            });
        }
        _ => {
            let rights = rights as u64;
            let write = rights & RIGHT_FD_WRITE != 0;
            let append = fdflags & FDFLAG_APPEND != 0;
            let mut options = OpenOptions::new();
            options
                .read(rights & RIGHT_FD_READ != 0 || !write)
                .write(write || append)
                .create(oflags & OFLAG_CREAT != 0)
                .create_new(oflags & (OFLAG_CREAT | OFLAG_EXCL) == OFLAG_CREAT | OFLAG_EXCL)
                .truncate(oflags & OFLAG_TRUNC != 0);
            let file = options.open(&host).map_err(|e| io_errno(&e))?;
            Fd::File { file, append }
        }
    };
    let slot = match data.fds.iter().position(Option::is_none) {
        Some(free) => free,
        None => {
            data.fds.push(None);
            data.fds.len() - 1
        }
    };
    put(mem, out, &(slot as u32).to_le_bytes())?;
    data.fds[slot] = Some(entry);
    Ok(())
}

fn path_filestat_get(
    mem: &mut [u8],
    data: &mut CommandEnv,
    fd: i32,
    lookup: i32,
    path: i32,
    len: i32,
    buf: i32,
) -> Result<(), i32> {
    let (_, host) = resolve(mem, data, fd, path, len)?;
    let meta = if lookup & LOOKUP_SYMLINK_FOLLOW != 0 {
        fs::metadata(&host)
    } else {
        fs::symlink_metadata(&host)
    }
    .map_err(|e| io_errno(&e))?;
    put_filestat(mem, buf, &meta, filetype_of(&meta))
}

fn prestat(data: &mut CommandEnv, fd: i32) -> Result<String, i32> {
    match fd_entry(data, fd)? {
        Fd::Dir {
            preopen: Some(name), ..
        } => Ok(name.clone()),
        _ => Err(errno::BADF),
    }
}

/// Creates the host function for WASI import `name`, or `None` if this
/// command WASI does not provide it.
/// A `path_*` import that resolves one path under a preopen and applies `op`
/// to it (create or remove a directory, unlink a file).
fn path_op(
    store: &mut impl AsStoreMut,
    env: &FunctionEnv<CommandEnv>,
    op: fn(PathBuf) -> std::io::Result<()>,
) -> Function {
    Function::new_typed_with_env(
        store,
        env,
        move |mut c: FunctionEnvMut<'_, CommandEnv>, fd: i32, path: i32, len: i32| {
            with(&mut c, |mem, d| {
                code(resolve(mem, d, fd, path, len).and_then(|(_, host)| op(host).map_err(|e| io_errno(&e))))
            })
        },
    )
}

fn function(store: &mut impl AsStoreMut, env: &FunctionEnv<CommandEnv>, name: &str) -> Option<Function> {
    type E<'a> = FunctionEnvMut<'a, CommandEnv>;
    let f = match name {
        "args_sizes_get" => Function::new_typed_with_env(store, env, |mut c: E, n: i32, size: i32| {
            with(&mut c, |mem, d| code(sizes(mem, &d.args, n, size)))
        }),
        "args_get" => Function::new_typed_with_env(store, env, |mut c: E, ptrs: i32, buf: i32| {
            with(&mut c, |mem, d| code(entries(mem, &d.args, ptrs, buf)))
        }),
        "environ_sizes_get" => Function::new_typed_with_env(store, env, |mut c: E, n: i32, size: i32| {
            with(&mut c, |mem, d| code(sizes(mem, &d.env, n, size)))
        }),
        "environ_get" => Function::new_typed_with_env(store, env, |mut c: E, ptrs: i32, buf: i32| {
            with(&mut c, |mem, d| code(entries(mem, &d.env, ptrs, buf)))
        }),
        "fd_read" => {
            Function::new_typed_with_env(store, env, |mut c: E, fd: i32, iovs: i32, n: i32, out: i32| {
                with(&mut c, |mem, d| code(fd_read(mem, d, fd, iovs, n, out)))
            })
        }
        "fd_write" => {
            Function::new_typed_with_env(store, env, |mut c: E, fd: i32, iovs: i32, n: i32, out: i32| {
                with(&mut c, |mem, d| code(fd_write(mem, d, fd, iovs, n, out)))
            })
        }
        "fd_seek" => Function::new_typed_with_env(
            store,
            env,
            |mut c: E, fd: i32, offset: i64, whence: i32, out: i32| {
                with(&mut c, |mem, d| code(fd_seek(mem, d, fd, offset, whence, out)))
            },
        ),
        "fd_tell" => Function::new_typed_with_env(store, env, |mut c: E, fd: i32, out: i32| {
            with(&mut c, |mem, d| code(fd_seek(mem, d, fd, 0, 1, out)))
        }),
        "fd_close" => Function::new_typed_with_env(store, env, |mut c: E, fd: i32| {
            with(&mut c, |_, d| match fd_entry(d, fd) {
                Ok(_) => {
                    d.fds[fd as usize] = None;
                    errno::SUCCESS
                }
                Err(e) => e,
            })
        }),
        "fd_sync" | "fd_datasync" => Function::new_typed_with_env(store, env, |mut c: E, fd: i32| {
            with(&mut c, |_, d| match fd_entry(d, fd) {
                Ok(Fd::File { file, .. }) => code(file.sync_all().map_err(|e| io_errno(&e))),
                Ok(_) => errno::SUCCESS,
                Err(e) => e,
            })
        }),
        "fd_fdstat_get" => Function::new_typed_with_env(store, env, |mut c: E, fd: i32, buf: i32| {
            with(&mut c, |mem, d| code(fd_fdstat_get(mem, d, fd, buf)))
        }),
        "fd_fdstat_set_flags" => Function::new_typed_with_env(store, env, |mut c: E, fd: i32, flags: i32| {
            with(&mut c, |_, d| match fd_entry(d, fd) {
                Ok(Fd::File { append, .. }) => {
                    *append = flags & FDFLAG_APPEND != 0;
                    errno::SUCCESS
                }
                Ok(_) => errno::SUCCESS,
                Err(e) => e,
            })
        }),
        "fd_filestat_get" => Function::new_typed_with_env(store, env, |mut c: E, fd: i32, buf: i32| {
            with(&mut c, |mem, d| code(fd_filestat_get(mem, d, fd, buf)))
        }),
        "fd_prestat_get" => Function::new_typed_with_env(store, env, |mut c: E, fd: i32, buf: i32| {
            with(&mut c, |mem, d| {
                // `{ tag: u8 = 0 (directory), name_len: u32 at 4 }`
                code(prestat(d, fd).and_then(|name| {
                    let mut stat = [0u8; 8];
                    stat[4..8].copy_from_slice(&(name.len() as u32).to_le_bytes());
                    put(mem, buf, &stat)
                }))
            })
        }),
        "fd_prestat_dir_name" => {
            Function::new_typed_with_env(store, env, |mut c: E, fd: i32, buf: i32, len: i32| {
                with(&mut c, |mem, d| {
                    code(prestat(d, fd).and_then(|name| {
                        let n = name.len().min(len as u32 as usize);
                        put(mem, buf, &name.as_bytes()[..n])
                    }))
                })
            })
        }
        "path_open" => Function::new_typed_with_env(
            store,
            env,
            |mut c: E,
             fd: i32,
             lookup: i32,
             path: i32,
             len: i32,
             oflags: i32,
             rights: i64,
             _inheriting: i64,
             fdflags: i32,
             out: i32| {
                with(&mut c, |mem, d| {
                    code(path_open(
                        mem, d, fd, lookup, path, len, oflags, rights, fdflags, out,
                    ))
                })
            },
        ),
        "path_filestat_get" => Function::new_typed_with_env(
            store,
            env,
            |mut c: E, fd: i32, lookup: i32, path: i32, len: i32, buf: i32| {
                with(&mut c, |mem, d| {
                    code(path_filestat_get(mem, d, fd, lookup, path, len, buf))
                })
            },
        ),
        "path_create_directory" => path_op(store, env, fs::create_dir),
        "path_unlink_file" => path_op(store, env, fs::remove_file),
        "path_remove_directory" => path_op(store, env, fs::remove_dir),
        "proc_exit" => Function::new_typed_with_env(store, env, |_: E, code: i32| -> Result<(), ProcExit> {
            Err(ProcExit(code))
        }),
        _ => return None,
    };
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with_dir(root: &Path) -> CommandEnv {
        let root = root.canonicalize().unwrap();
        CommandEnv {
            memory: None,
            args: Vec::new(),
            env: Vec::new(),
            fds: vec![
                Some(Fd::Stdin),
                Some(Fd::Stdout),
                Some(Fd::Stderr),
                Some(Fd::Dir {
                    path: root.clone(),
                    root,
                    preopen: Some("/data".into()),
                }),
            ],
            gate: Arc::default(),
        }
    }

    fn resolve_str(data: &mut CommandEnv, path: &str) -> Result<PathBuf, i32> {
        let mut mem = vec![0u8; 256];
        mem[..path.len()].copy_from_slice(path.as_bytes());
        resolve(&mem, data, 3, 0, path.len() as i32).map(|(_, p)| p)
    }

    #[test]
    fn paths_stay_inside_their_preopen() {
        let dir = tempfile_dir();
        let mut data = env_with_dir(&dir);
        let root = dir.canonicalize().unwrap();
        assert_eq!(resolve_str(&mut data, "a/../b.txt"), Ok(root.join("b.txt")));
        assert_eq!(resolve_str(&mut data, "./c"), Ok(root.join("c")));
        assert_eq!(resolve_str(&mut data, "../x"), Err(errno::NOTCAPABLE));
        assert_eq!(resolve_str(&mut data, "/etc/passwd"), Err(errno::NOTCAPABLE));
        std::os::unix::fs::symlink("/", dir.join("out")).unwrap();
        assert_eq!(resolve_str(&mut data, "out/etc"), Err(errno::NOTCAPABLE));
        assert_eq!(resolve(&[], &mut data, 1, 0, 0), Err(errno::NOTDIR));
        assert_eq!(resolve(&[], &mut data, 9, 0, 0), Err(errno::BADF));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn args_are_nul_terminated_with_a_pointer_array() {
        let list = vec![b"prog\0".to_vec(), b"a b\0".to_vec()];
        let mut mem = vec![0u8; 64];
        sizes(&mut mem, &list, 0, 4).unwrap();
        assert_eq!(get_u32(&mem, 0), Ok(2));
        assert_eq!(get_u32(&mem, 4), Ok(9));
        entries(&mut mem, &list, 16, 32).unwrap();
        assert_eq!(get_u32(&mem, 16), Ok(32));
        assert_eq!(get_u32(&mem, 20), Ok(37));
        assert_eq!(&mem[32..41], b"prog\0a b\0");
        assert_eq!(entries(&mut mem, &list, 16, 60), Err(errno::FAULT));
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wasmer-command-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }
}
