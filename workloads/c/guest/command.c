/*
 * The command flavour: a WASI command for daprd's bindings.wasm, which runs
 * the module once per `execute` with the request data as stdin and returns
 * stdout. The workload's response goes to stdout with exit code 0; a guest
 * error's message goes to stderr with exit code 1 (the binding reports the
 * non-zero exit as the invocation's error).
 */
#include <errno.h>
#include <unistd.h>

#include "bb_guest.h"

static bool write_all(int fd, const uint8_t *bytes, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, bytes, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes += n;
        len -= (size_t)n;
    }
    return true;
}

int main(void) {
    bb_buf input = {0};
    for (;;) {
        bb_buf_reserve(&input, 64 * 1024);
        ssize_t n = read(0, input.data + input.len, input.cap - input.len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            static const char message[] = "reading stdin failed";
            write_all(2, (const uint8_t *)message, sizeof message - 1);
            return 2;
        }
        if (n == 0) break;
        input.len += (size_t)n;
    }
    bb_buf out = {0};
    bb_status status = bb_workload(input.data, input.len, &out);
    bool ok = status == BB_OK;
    if (!write_all(ok ? 1 : 2, out.data, out.len)) return 2;
    return ok ? 0 : 1;
}
