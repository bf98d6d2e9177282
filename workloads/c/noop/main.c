/* noop (workloads/ABI.md): returns its input unchanged. It touches no Dapr
 * API, so it measures the fixed cost of one call. Like the Rust and Go noop
 * it copies the request, so every language does the same work per byte. */
#include "bb_guest.h"

bb_status bb_workload(const uint8_t *input, size_t len, bb_buf *out) {
    bb_buf_append(out, input, len);
    return BB_OK;
}
