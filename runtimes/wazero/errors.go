package main

// Why a request produced no response, and how that reads over HTTP
// (HOST.md's status table).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tetratelabs/wazero/sys"
)

type failureKind int

const (
	failGuest   failureKind = iota // the workload refused (ABI error flag): 422
	failTrap                       // the guest trapped: 500
	failTimeout                    // the call hit --call-timeout-ms: 504
	failABI                        // the guest broke the ABI, or instantiation failed: 502
)

// callError is a request that ended without a response.
type callError struct {
	kind    failureKind
	trap    string // a TrapKind name, for failTrap
	message string
}

func (e *callError) Error() string { return string(e.body()) }

func (e *callError) status() int {
	switch e.kind {
	case failGuest:
		return http.StatusUnprocessableEntity
	case failTrap:
		return http.StatusInternalServerError
	case failTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

func (e *callError) body() []byte {
	switch e.kind {
	case failTrap:
		return []byte(fmt.Sprintf("trap (%s): %s", e.trap, e.message))
	case failTimeout:
		return []byte("timeout")
	}
	return []byte(e.message)
}

func abiError(format string, args ...any) *callError {
	return &callError{kind: failABI, message: fmt.Sprintf(format, args...)}
}

// trapKinds maps wazero's runtime error texts (internal/wasmruntime, which
// callers cannot match with errors.Is) onto HOST.md's TrapKind names, the same
// grouping the Wasmtime adapter uses.
var trapKinds = map[string]string{
	"unreachable":                   "unreachable",
	"out of bounds memory access":   "memory-out-of-bounds",
	"unaligned atomic":              "memory-out-of-bounds",
	"integer divide by zero":        "division-by-zero",
	"integer overflow":              "integer-overflow",
	"invalid conversion to integer": "integer-overflow",
	"stack overflow":                "stack-overflow",
	"invalid table access":          "bad-indirect-call",
	"indirect call type mismatch":   "bad-indirect-call",
}

// classifyCall turns an error from calling into the guest into a timeout or
// a trap. Wazero formats traps as "wasm error: <what>\nwasm stack trace:…";
// the message keeps the first line (the stack trace is runtime-specific
// noise in a response body).
func classifyCall(err error) *callError {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return &callError{kind: failTimeout}
		case sys.ExitCodeContextCanceled:
			return &callError{kind: failTrap, trap: "other", message: "call canceled"}
		}
		// A guest that exits (WASI proc_exit) has stopped without answering:
		// a fault of its own, worded as the Wasmtime adapter words it.
		return &callError{kind: failTrap, trap: "other", message: fmt.Sprintf("guest called proc_exit(%d)", exit.ExitCode())}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &callError{kind: failTimeout}
	}
	message, _, _ := strings.Cut(err.Error(), "\n")
	what := strings.TrimPrefix(message, "wasm error: ")
	kind, ok := trapKinds[what]
	if !ok {
		kind = "other"
	}
	return &callError{kind: failTrap, trap: kind, message: message}
}
