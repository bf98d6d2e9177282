//go:build !bb_middleware && !bb_command && !bb_component

// The guest ABI v1 exports (embedded and http flavours): bb_abi_version,
// bb_alloc and bb_handle, the request arena and the packed response.

package guest

import (
	"errors"
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

var (
	// arena holds the buffers handed out by bb_alloc and not yet passed to
	// bb_handle. Being reachable from here keeps them alive (and, Go's heap
	// being non-moving, at the address the host was given).
	arena [][]byte
	// response is the last response, which the host reads after bb_handle
	// returned; it stays referenced until the next bb_handle replaces it.
	response []byte
)

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
	yieldAfterFirstCall()
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
	default:
		out, err = run(request)
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
