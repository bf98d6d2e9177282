//go:build bb_middleware && wasm

// The middleware flavour's exports: an http-wasm guest
// (https://http-wasm.io/http-handler-abi/) for daprd's middleware.http.wasm.

package guest

// handle_request runs the workload on the request body (filter in
// httpwasm.go): 1 continues to the app with the output as the body, 0
// answers the client directly with the guest error.
//
//go:wasmexport handle_request
func handleRequest() int64 {
	yieldAfterFirstCall()
	return filter(httpHandlerImports{})
}

// handle_response has nothing to do: the workload changes only the request.
//
//go:wasmexport handle_response
func handleResponse(reqCtx, isError int32) {}
