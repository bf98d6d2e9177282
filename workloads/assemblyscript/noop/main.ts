// noop (workloads/ABI.md): returns its input unchanged. It touches no Dapr
// API, so it measures the fixed cost of one call. Like the Rust and Go noop
// it copies the request, so every language does the same work per byte.

import { Buf, Status, serve } from "../guest/bb";

function handle(input: Uint8Array, out: Buf): Status {
  out.append(input);
  return Status.Ok;
}

serve("noop", handle);
