// Package guest is the Go side of blueprint-bench's guest ABI v1
// (workloads/ABI.md, which is normative; this package only implements it).
// It mirrors the Rust guest library (workloads/rust/guest) behaviour for
// behaviour and message for message.
//
// A workload is one package main that registers its handler in init:
//
//	func init() { guest.Handle(echo) }
//	func main() {} // required, but a reactor never runs it
//
// and is built as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o noop.wasm ./noop
//
// Importing this package gives the module its ABI exports:
//
//   - bb_abi_version() -> i32 returns [ABIVersion];
//   - bb_alloc(len) -> ptr hands out a zeroed buffer the host writes the
//     request into. Buffers stay referenced from a package-level arena until
//     the next bb_handle empties it, so the garbage collector (which never
//     moves heap objects) keeps them where the host wrote;
//   - bb_handle(ptr, len) -> i64 takes the request buffer back out of the
//     arena, runs the handler and returns the packed response below. The
//     bytes stay referenced until the next bb_handle, because the host reads
//     them after the call has returned.
//
// The packed response (E = 1 marks the bytes as a UTF-8 error message):
//
//	 63                32 31 30                    0
//	+--------------------+--+-----------------------+
//	|  ptr (u32)         |E |  len (31 bits)        |
//	+--------------------+--+-----------------------+
//
// The handler reaches Dapr through [StateGet], [StateSet], [StateDelete],
// [Publish], [InvokeBinding] and [Log] over the "dapr" import module. Imports
// that produce a result leave it in the host's result slot and return its
// size; the wrappers then copy it out with dapr.take_result into a buffer of
// exactly that size. A workload that calls none of the wrappers imports
// nothing from "dapr" (the linker drops what nothing calls), so it runs on
// hosts without Dapr access.
//
// The _initialize export (Go's runtime and package initialisation, including
// the workload's init) is Go's own; hosts call it first, as ABI.md says.
package guest

import (
	"errors"
	"runtime"
	"strconv"
	"unsafe"
)

// ABIVersion is the guest ABI version this package implements; bb_abi_version
// returns it.
const ABIVersion = 1

const (
	// maxResponseLen is the largest response length the packed i64 can carry.
	maxResponseLen = 0x7fff_ffff
	errorFlag      = 0x8000_0000
)

// Handler is a workload: it gets the request bytes and returns the response
// bytes, or an error whose Error() the host reports as a guest error (HTTP
// 422) with exactly that message.
//
// The request slice is the handler's to keep or return; returning it (or any
// slice of it) as the response is safe.
type Handler func(request []byte) ([]byte, error)

var (
	handler Handler
	// arena holds the buffers handed out by bb_alloc and not yet passed to
	// bb_handle. Being reachable from here keeps them alive (and, Go's heap
	// being non-moving, at the address the host was given).
	arena [][]byte
	// response is the last response, which the host reads after bb_handle
	// returned; it stays referenced until the next bb_handle replaces it.
	response []byte
	// handled says a bb_handle already ran in this instance (see bbHandle).
	handled bool
)

// Handle registers the workload's handler. Call it exactly once, from the
// workload's init function: a reactor's main never runs, and the host calls
// bb_handle only after _initialize (which runs init) returned. A nil handler
// or a second call panics, which fails the module's _initialize, so a host
// refuses the module at start-up.
func Handle(h Handler) {
	if h == nil {
		panic("guest.Handle: nil handler")
	}
	if handler != nil {
		panic("guest.Handle: called twice")
	}
	handler = h
}

//go:wasmexport bb_abi_version
func bbABIVersion() int32 {
	return ABIVersion
}

//go:wasmexport bb_alloc
func bbAlloc(length int32) uint32 {
	return alloc(length)
}

//go:wasmexport bb_handle
func bbHandle(ptr, length int32) int64 {
	// Go runs other goroutines only when the running one yields, and a
	// wasmexport call returns to the host without yielding. A GC cycle
	// started during one call therefore may never finish unless a later call
	// lets the runtime's mark workers run: on an instance that serves
	// several requests the heap would grow until memory runs out (observed
	// with 64 KiB requests after about 3000 calls on a 64 MiB limit). One
	// yield per call fixes that. It costs a few µs (5 to 10 on wazero), so
	// the first call of an instance, which has no earlier cycle to finish
	// (and, with runtimes/HOST.md's fresh instance per request, is the only
	// call), skips it.
	if handled {
		runtime.Gosched()
	}
	handled = true
	return handle(ptr, length)
}

// alloc is bb_alloc: a pointer to length zeroed bytes, or 0 if length is
// negative. Every buffer has at least one byte of capacity, so even
// bb_alloc(0) is a distinct, non-zero heap address (a zero-size make would
// return the runtime's shared zero-size address).
//
// Unlike the Rust guest, an allocation the memory limit cannot satisfy does
// not return 0: Go's runtime treats running out of memory as a fatal error
// and aborts with an `unreachable` trap (as it does on any unrecovered
// panic), which hosts report as a guest fault.
func alloc(length int32) uint32 {
	if length < 0 {
		return 0
	}
	buf := make([]byte, length, max(length, 1))
	arena = append(arena, buf)
	return addr(buf)
}

// handle is bb_handle: runs the handler on the request at ptr..ptr+length and
// returns the packed response.
func handle(ptr, length int32) int64 {
	var (
		out []byte
		err error
	)
	request, ok := takeRequest(ptr, length)
	switch {
	case !ok:
		err = errors.New("bb_handle(" + strconv.Itoa(int(ptr)) + ", " + strconv.Itoa(int(length)) +
			"): the request is not in a buffer from bb_alloc")
	case handler == nil:
		err = errors.New("the workload registered no handler (guest.Handle)")
	default:
		out, err = handler(request)
	}
	return respond(out, err)
}

// takeRequest takes the request out of the arena and empties the rest of it:
// buffers the host allocated but never handed over are released here, which
// bounds the arena on a reused instance.
//
// Looking the pointer up, instead of trusting it, keeps bb_handle safe
// whatever the host passes. An empty request needs no buffer at all.
func takeRequest(ptr, length int32) ([]byte, bool) {
	if length < 0 {
		return nil, false
	}
	var request []byte
	found := false
	for _, buf := range arena {
		if addr(buf) == uint32(ptr) && len(buf) >= int(length) {
			request, found = buf, true
			break
		}
	}
	clear(arena) // drop the references, not only the length
	arena = arena[:0]
	switch {
	case found:
		return request[:length], true
	case length == 0:
		return []byte{}, true
	}
	return nil, false
}

// respond keeps the response alive in the instance and packs where it lies.
func respond(out []byte, err error) int64 {
	isError := err != nil
	switch {
	case isError:
		out = []byte(err.Error())
	case len(out) > maxResponseLen:
		out = []byte("response of " + strconv.Itoa(len(out)) + " bytes exceeds the ABI limit of " +
			strconv.Itoa(maxResponseLen))
		isError = true
	}
	// Only an absurd error message can be this long; cutting it keeps the
	// length from spilling into the error flag.
	if len(out) > maxResponseLen {
		out = out[:maxResponseLen]
	}
	response = out
	return pack(addr(out), len(out), isError)
}

// pack builds the packed response: ptr in the high 32 bits, the error flag
// in bit 31, the length below it.
func pack(ptr uint32, length int, isError bool) int64 {
	packed := uint64(ptr)<<32 | uint64(uint32(length))
	if isError {
		packed |= errorFlag
	}
	return int64(packed)
}

// addr is where b's bytes lie in linear memory. On wasm it is the whole
// address; on a 64-bit test machine only its low 32 bits, which is enough
// for the lookups the tests exercise.
func addr(b []byte) uint32 {
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}
