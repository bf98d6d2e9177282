/*
 * WASI functions the embedded flavour answers itself, for the embedded
 * flavour only (the command flavour reads stdin through the host's WASI).
 *
 * CPython for WASI references most of WASI preview 1 (files, directories,
 * sockets) from its `os`, `io` and `socket` code, so the linker would import
 * it all, although these modules never touch a file: the standard-library
 * modules they use are frozen in, and hosts give embedded modules no
 * preopened directory and no stdio (workloads/ABI.md). Defining the imported
 * symbols here resolves them at link time instead, so the module imports only
 * the WASI functions every host of the ABI provides (args, environ, fd_write,
 * clocks, random, poll_oneoff, sched_yield, proc_exit) and behaves the same
 * on all of them: descriptors 0-2 are character devices (stdin empty,
 * writes go to the host's fd_write, which discards them), every other
 * descriptor is invalid and there are no preopens.
 */
#include <stdint.h>

#define WASI_EBADF 8
#define WASI_ENOSYS 52

#define STUB(name, ret, ...) \
    int32_t __imported_wasi_snapshot_preview1_##name(__VA_ARGS__) { return ret; }
STUB(fd_advise, WASI_EBADF, int32_t a0, int64_t a1, int64_t a2, int32_t a3)
STUB(fd_close, WASI_EBADF, int32_t a0)
STUB(fd_datasync, WASI_EBADF, int32_t a0)
STUB(fd_fdstat_set_flags, WASI_EBADF, int32_t a0, int32_t a1)
STUB(fd_filestat_set_size, WASI_EBADF, int32_t a0, int64_t a1)
STUB(fd_filestat_set_times, WASI_EBADF, int32_t a0, int64_t a1, int64_t a2, int32_t a3)
STUB(fd_pread, WASI_EBADF, int32_t a0, int32_t a1, int32_t a2, int64_t a3, int32_t a4)
STUB(fd_prestat_get, WASI_EBADF, int32_t a0, int32_t a1)
STUB(fd_prestat_dir_name, WASI_EBADF, int32_t a0, int32_t a1, int32_t a2)
STUB(fd_pwrite, WASI_EBADF, int32_t a0, int32_t a1, int32_t a2, int64_t a3, int32_t a4)
STUB(fd_readdir, WASI_EBADF, int32_t a0, int32_t a1, int32_t a2, int64_t a3, int32_t a4)
STUB(fd_seek, WASI_EBADF, int32_t a0, int64_t a1, int32_t a2, int32_t a3)
STUB(fd_sync, WASI_EBADF, int32_t a0)
STUB(fd_tell, WASI_EBADF, int32_t a0, int32_t a1)
STUB(path_create_directory, WASI_ENOSYS, int32_t a0, int32_t a1, int32_t a2)
STUB(path_filestat_get, WASI_ENOSYS, int32_t a0, int32_t a1, int32_t a2, int32_t a3, int32_t a4)
STUB(path_filestat_set_times, WASI_ENOSYS, int32_t a0, int32_t a1, int32_t a2, int32_t a3, int64_t a4, int64_t a5, int32_t a6)
STUB(path_link, WASI_ENOSYS, int32_t a0, int32_t a1, int32_t a2, int32_t a3, int32_t a4, int32_t a5, int32_t a6)
STUB(path_open, WASI_ENOSYS, int32_t a0, int32_t a1, int32_t a2, int32_t a3, int32_t a4, int64_t a5, int64_t a6, int32_t a7, int32_t a8)
STUB(path_readlink, WASI_ENOSYS, int32_t a0, int32_t a1, int32_t a2, int32_t a3, int32_t a4, int32_t a5)
STUB(path_remove_directory, WASI_ENOSYS, int32_t a0, int32_t a1, int32_t a2)
STUB(path_rename, WASI_ENOSYS, int32_t a0, int32_t a1, int32_t a2, int32_t a3, int32_t a4, int32_t a5)
STUB(path_symlink, WASI_ENOSYS, int32_t a0, int32_t a1, int32_t a2, int32_t a3, int32_t a4)
STUB(path_unlink_file, WASI_ENOSYS, int32_t a0, int32_t a1, int32_t a2)
STUB(sock_accept, WASI_EBADF, int32_t a0, int32_t a1, int32_t a2)
STUB(sock_recv, WASI_EBADF, int32_t a0, int32_t a1, int32_t a2, int32_t a3, int32_t a4, int32_t a5)
STUB(sock_send, WASI_EBADF, int32_t a0, int32_t a1, int32_t a2, int32_t a3, int32_t a4)
STUB(sock_shutdown, WASI_EBADF, int32_t a0, int32_t a1)

/* Clocks are real (clock_time_get is the host's); their resolution is
 * reported as 1 ns. */
int32_t __imported_wasi_snapshot_preview1_clock_res_get(int32_t clock, int32_t resolution) {
    (void)clock;
    *(uint64_t *)(uintptr_t)resolution = 1;
    return 0;
}

#define WASI_FILETYPE_CHARACTER_DEVICE 2

static int is_stdio(int32_t fd) { return fd >= 0 && fd <= 2; }

/* fdstat: filetype u8, flags u16, rights_base u64, rights_inheriting u64. */
int32_t __imported_wasi_snapshot_preview1_fd_fdstat_get(int32_t fd, int32_t stat) {
    if (!is_stdio(fd)) {
        return WASI_EBADF;
    }
    uint8_t *p = (uint8_t *)(uintptr_t)stat;
    for (int i = 0; i < 24; i++) {
        p[i] = 0;
    }
    p[0] = WASI_FILETYPE_CHARACTER_DEVICE;
    *(uint64_t *)(p + 8) = ~(uint64_t)0;
    *(uint64_t *)(p + 16) = ~(uint64_t)0;
    return 0;
}

/* filestat: dev, ino, filetype (u8 at 16), nlink, size, atim, mtim, ctim. */
int32_t __imported_wasi_snapshot_preview1_fd_filestat_get(int32_t fd, int32_t stat) {
    if (!is_stdio(fd)) {
        return WASI_EBADF;
    }
    uint8_t *p = (uint8_t *)(uintptr_t)stat;
    for (int i = 0; i < 64; i++) {
        p[i] = 0;
    }
    p[16] = WASI_FILETYPE_CHARACTER_DEVICE;
    return 0;
}

/* stdin is empty: every read is end of file. */
int32_t __imported_wasi_snapshot_preview1_fd_read(int32_t fd, int32_t iovs, int32_t iovs_len,
                                                  int32_t nread) {
    (void)iovs;
    (void)iovs_len;
    if (!is_stdio(fd)) {
        return WASI_EBADF;
    }
    *(uint32_t *)(uintptr_t)nread = 0;
    return 0;
}
