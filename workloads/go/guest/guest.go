// Package guest is the Go side of blueprint-bench's guest ABI v1
// (workloads/ABI.md, which is normative; this package only implements it).
// It mirrors the Rust guest library (workloads/rust/guest) behaviour for
// behaviour and message for message.
//
// A workload is one package main that registers its handler in init and
// hands main to the package:
//
//	func init() { guest.Handle("noop", echo) }
//	func main() { guest.Main() }
//
// The same source builds into every flavour of ABI.md; a build tag picks
// which one (README.md has the exact commands):
//
//   - embedded (no tag), a WASI reactor (-buildmode=c-shared): the ABI
//     exports bb_abi_version, bb_alloc and bb_handle (abi.go), and the
//     typed wrappers [StateGet], [StateSet], [StateDelete], [Publish],
//     [InvokeBinding] and [Log] call the "dapr" import module;
//   - http (tag bb_http), a reactor with the same exports, whose wrappers
//     build Dapr HTTP API requests themselves and send them through the
//     generic "http" import (daprhttp.go);
//   - middleware (tag bb_middleware), a reactor exporting http-wasm's
//     handle_request and handle_response for daprd's middleware.http.wasm
//     (middleware.go);
//   - command (tag bb_command), a WASI command (plain go build): main reads
//     stdin, runs the handler once and writes stdout (command.go).
//
// In a reactor main never runs: Go's _initialize export runs the runtime
// start and every init, which the hosts call first. In the command flavour
// main is the program, so every workload's main calls [Main].
//
// Middleware and command modules have no Dapr access: their wrappers return
// [ErrNotPermitted] and the linker drops every Dapr import (the linker keeps
// only what something calls, so a workload that calls no wrapper imports
// nothing from "dapr" in any flavour).
package guest

import "runtime"

// Handler is a workload: it gets the request bytes and returns the response
// bytes, or an error whose Error() the host reports as a guest error (HTTP
// 422) with exactly that message.
//
// The request slice is the handler's to keep or return; returning it (or any
// slice of it) as the response is safe.
type Handler func(request []byte) ([]byte, error)

var (
	handler Handler
	// workload is the name given to Handle; the middleware flavour names it
	// in a request header.
	workload string
	// handled says a call into the handler already ran in this instance
	// (see yieldAfterFirstCall).
	handled bool
)

// Handle registers the workload's handler under its name (the vector file's
// "workload"). Call it exactly once, from the workload's init function: a
// reactor's main never runs, and hosts call in only after _initialize (which
// runs init) returned. A nil handler, an empty name or a second call panics,
// which fails the module's start, so a host refuses the module at start-up.
func Handle(name string, h Handler) {
	if h == nil {
		panic("guest.Handle: nil handler")
	}
	if name == "" {
		panic("guest.Handle: empty workload name")
	}
	if handler != nil {
		panic("guest.Handle: called twice")
	}
	handler, workload = h, name
}

// run runs the registered handler.
func run(request []byte) ([]byte, error) {
	if handler == nil {
		return nil, errNoHandler
	}
	return handler(request)
}

type guestError string

func (e guestError) Error() string { return string(e) }

const errNoHandler = guestError("the workload registered no handler (guest.Handle)")

// yieldAfterFirstCall lets the runtime's other goroutines run once per call
// into an instance, except on its first call.
//
// Go runs other goroutines only when the running one yields, and a
// wasmexport call returns to the host without yielding. A GC cycle started
// during one call therefore may never finish unless a later call lets the
// runtime's mark workers run: on an instance that serves several requests
// (a pooled http-wasm guest, a host reusing instances) the heap would grow
// until memory runs out (observed with 64 KiB requests after about 3000
// calls on a 64 MiB limit). One yield per call fixes that. It costs a few
// µs (5 to 10 on wazero), so the first call of an instance, which has no
// earlier cycle to finish (and, with runtimes/HOST.md's fresh instance per
// request, is the only call), skips it.
func yieldAfterFirstCall() {
	if handled {
		runtime.Gosched()
	}
	handled = true
}
