// Package export_wasi_http_incoming_handler is the export side of
// wasi:http/incoming-handler: the generated wit_exports package calls
// [Handle] for every request the server hands the component. The package
// only forwards the request to [Serve], which the guest package's component
// flavour sets in its init: the generated packages cannot import the guest,
// which imports them.
package export_wasi_http_incoming_handler

import types "blueprint-bench/wit/wasi_http_types"

// Serve serves one request. A component that leaves it nil was built
// without a workload, and panics (a trap) on its first request.
var Serve func(request *types.IncomingRequest, out *types.ResponseOutparam)

// Handle is wasi:http/incoming-handler's handle.
func Handle(request *types.IncomingRequest, out *types.ResponseOutparam) {
	Serve(request, out)
}
