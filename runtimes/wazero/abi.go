package main

// The guest ABI v1 `dapr` import module (workloads/ABI.md). The semantics
// mirror runtimes/api/src/abi.rs line by line (argument checks in the same
// order, the same codes, the same result slot and state_get layout) so that a
// guest gets the same answers here as on the Rust hosts.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"strings"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// ABI constants (ABI.md).
const (
	abiVersion = 1

	exportMemory     = "memory"
	exportABIVersion = "bb_abi_version"
	exportAlloc      = "bb_alloc"
	exportHandle     = "bb_handle"
	exportInitialize = "_initialize"
	importModule     = "dapr"
	importHTTPModule = "http"

	// Bit 31 of the packed response's low word: the bytes are an error message.
	errorFlag = 0x8000_0000
)

// Error codes returned by `dapr` imports.
const (
	codeNotFound        int64 = -1
	codeEtagMismatch    int64 = -2
	codeInvalidArgument int64 = -3
	codeUnavailable     int64 = -4
	codeNoResult        int64 = -5
	codeBufferTooSmall  int64 = -6
	codeNotPermitted    int64 = -7
)

// guestMemory is the part of api.Memory the imports use. Read returns a view
// of guest memory, so writing into it writes the guest's memory (take_result
// relies on that). A small interface keeps the semantics testable on a plain
// byte slice.
type guestMemory interface {
	Read(offset, byteCount uint32) ([]byte, bool)
}

// instanceState is the host side of one instance's `dapr` imports: the Dapr
// client and the result slot. Wazero hands host functions the context of the
// guest call, so each request puts its instance's state there.
type instanceState struct {
	dapr     daprAPI
	outbound outboundAPI // nil: the `http` import is not permitted
	module   string      // for log lines

	slot    []byte
	hasSlot bool // an empty result is still a result: NO_RESULT needs the difference
	// expired: a host call failed because the request's deadline passed, so
	// the request ends in a timeout whatever the guest makes of UNAVAILABLE.
	expired bool
	// unavailable: a host call could not reach the sidecar. The guest may
	// still answer; with --instances reuse its instance is dropped anyway.
	unavailable bool
}

type instanceKey struct{}

func withInstance(ctx context.Context, st *instanceState) context.Context {
	return context.WithValue(ctx, instanceKey{}, st)
}

// instanceFrom finds the state of the instance making a call. A call without
// one (a context the host did not build) gets a state that refuses Dapr, so
// it still answers with a code rather than a panic.
func instanceFrom(ctx context.Context) *instanceState {
	if st, ok := ctx.Value(instanceKey{}).(*instanceState); ok {
		return st
	}
	return &instanceState{dapr: noDapr{}}
}

// slice reads len bytes at ptr, or reports that they are not all in memory.
// Pointers and lengths are the guest's i32 values read as unsigned, as
// abi.rs does.
func slice(mem guestMemory, ptr, length uint32) ([]byte, bool) {
	if mem == nil {
		return nil, false
	}
	return mem.Read(ptr, length)
}

// args reads a call's (ptr, len) pairs in the order abi.rs checks them. The
// first pair outside guest memory, or a name that is not UTF-8, clears ok and
// makes every later read empty, so a call reads all its arguments and then
// checks ok once: INVALID_ARGUMENT before any side effect.
type args struct {
	mem   guestMemory
	pairs []uint32
	ok    bool
}

func readArgs(mem guestMemory, pairs []uint32) *args { return &args{mem: mem, pairs: pairs, ok: true} }

// bytes is the next pair's bytes: a view of guest memory.
func (a *args) bytes() []byte {
	ptr, length := a.pairs[0], a.pairs[1]
	a.pairs = a.pairs[2:]
	if !a.ok {
		return nil
	}
	b, ok := slice(a.mem, ptr, length)
	a.ok = ok
	return b
}

// name is the next pair as a UTF-8 string: a copy, since strings outlive
// the call.
func (a *args) name() string {
	b := a.bytes()
	if !a.ok || !utf8.Valid(b) {
		a.ok = false
		return ""
	}
	return string(b)
}

func concurrencyArg(raw int32) (concurrency, bool) {
	switch raw {
	case 0:
		return lastWrite, true
	case 1:
		return firstWrite, true
	}
	return 0, false
}

func (st *instanceState) fillSlot(result []byte) int64 {
	st.slot, st.hasSlot = result, true
	return int64(len(result))
}

// failed turns a Dapr error into its code; real failures are logged, since
// the guest only sees UNAVAILABLE.
func (st *instanceState) failed(ctx context.Context, what string, err error) int64 {
	switch {
	case errors.Is(err, errEtagMismatch):
		return codeEtagMismatch
	case errors.Is(err, errNotPermitted):
		return codeNotPermitted
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		st.expired = true
	}
	st.unavailable = true
	log.Printf("guest %s: warn: dapr.%s failed: %v", st.module, what, err)
	return codeUnavailable
}

// stateGet: `dapr.state_get(store, key) -> i64`.
func (st *instanceState) stateGet(ctx context.Context, mem guestMemory, storeP, storeL, keyP, keyL uint32) int64 {
	in := readArgs(mem, []uint32{storeP, storeL, keyP, keyL})
	store, key := in.name(), in.name()
	if !in.ok {
		return codeInvalidArgument
	}
	entry, err := st.dapr.stateGet(ctx, store, key)
	if err != nil {
		return st.failed(ctx, "state_get", err)
	}
	if entry == nil {
		return codeNotFound
	}
	// Layout: etag_len u32 LE, etag, value.
	out := make([]byte, 4, 4+len(entry.etag)+len(entry.value))
	binary.LittleEndian.PutUint32(out, uint32(len(entry.etag)))
	out = append(out, entry.etag...)
	out = append(out, entry.value...)
	return st.fillSlot(out)
}

// Limits of `dapr.state_get_bulk`'s key list (ABI.md).
const (
	maxBulkKeys      = 64
	maxBulkKeysBytes = 64 * 1024
)

// decodeBulkKeys reads state_get_bulk's keys argument: count (u32 LE), then
// per key its length (u32 LE) and UTF-8 bytes; ok only for 1 to maxBulkKeys
// keys in at most maxBulkKeysBytes, with nothing after the last. The keys
// are copies (the argument is guest memory).
func decodeBulkKeys(raw []byte) ([]string, bool) {
	if len(raw) < 4 || len(raw) > maxBulkKeysBytes {
		return nil, false
	}
	count := binary.LittleEndian.Uint32(raw)
	raw = raw[4:]
	if count < 1 || count > maxBulkKeys {
		return nil, false
	}
	keys := make([]string, 0, count)
	for range count {
		if len(raw) < 4 {
			return nil, false
		}
		n := binary.LittleEndian.Uint32(raw)
		raw = raw[4:]
		if uint64(len(raw)) < uint64(n) || !utf8.Valid(raw[:n]) {
			return nil, false
		}
		keys = append(keys, string(raw[:n]))
		raw = raw[n:]
	}
	return keys, len(raw) == 0
}

// encodeBulkResult packs a bulk read's answers: per key 0 (no value), or 1,
// etag_len (u32 LE), etag, value_len (u32 LE), value.
func encodeBulkResult(entries []*stateEntry) []byte {
	var out []byte
	for _, e := range entries {
		if e == nil {
			out = append(out, 0)
			continue
		}
		out = append(out, 1)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(e.etag)))
		out = append(out, e.etag...)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(e.value)))
		out = append(out, e.value...)
	}
	return out
}

// stateGetBulk: `dapr.state_get_bulk(store, keys) -> i64`.
func (st *instanceState) stateGetBulk(ctx context.Context, mem guestMemory, storeP, storeL, keysP, keysL uint32) int64 {
	in := readArgs(mem, []uint32{storeP, storeL, keysP, keysL})
	store, raw := in.name(), in.bytes()
	if !in.ok {
		return codeInvalidArgument
	}
	keys, ok := decodeBulkKeys(raw)
	if !ok {
		return codeInvalidArgument
	}
	entries, err := st.dapr.stateGetBulk(ctx, store, keys)
	if err == nil && len(entries) != len(keys) {
		err = fmt.Errorf("%d answers for %d keys", len(entries), len(keys))
	}
	if err != nil {
		return st.failed(ctx, "state_get_bulk", err)
	}
	return st.fillSlot(encodeBulkResult(entries))
}

// stateSet: `dapr.state_set(store, key, value, etag, concurrency) -> i64`.
func (st *instanceState) stateSet(ctx context.Context, mem guestMemory, a [8]uint32, rawConcurrency int32) int64 {
	in := readArgs(mem, a[:])
	store, key, value, etag := in.name(), in.name(), in.bytes(), in.name()
	cc, ok := concurrencyArg(rawConcurrency)
	if !in.ok || !ok {
		return codeInvalidArgument
	}
	if err := st.dapr.stateSet(ctx, store, key, value, etag, cc); err != nil {
		return st.failed(ctx, "state_set", err)
	}
	return 0
}

// stateDelete: `dapr.state_delete(store, key, etag, concurrency) -> i64`.
func (st *instanceState) stateDelete(ctx context.Context, mem guestMemory, a [6]uint32, rawConcurrency int32) int64 {
	in := readArgs(mem, a[:])
	store, key, etag := in.name(), in.name(), in.name()
	cc, ok := concurrencyArg(rawConcurrency)
	if !in.ok || !ok {
		return codeInvalidArgument
	}
	if err := st.dapr.stateDelete(ctx, store, key, etag, cc); err != nil {
		return st.failed(ctx, "state_delete", err)
	}
	return 0
}

// publish: `dapr.publish(pubsub, topic, data, content_type) -> i64`.
func (st *instanceState) publish(ctx context.Context, mem guestMemory, a [8]uint32) int64 {
	in := readArgs(mem, a[:])
	pubsub, topic, data, contentType := in.name(), in.name(), in.bytes(), in.name()
	if !in.ok {
		return codeInvalidArgument
	}
	if contentType == "" {
		contentType = "application/json"
	}
	if err := st.dapr.publish(ctx, pubsub, topic, data, contentType); err != nil {
		return st.failed(ctx, "publish", err)
	}
	return 0
}

// invokeBinding: `dapr.invoke_binding(name, operation, data) -> i64`.
func (st *instanceState) invokeBinding(ctx context.Context, mem guestMemory, a [6]uint32) int64 {
	in := readArgs(mem, a[:])
	binding, operation, data := in.name(), in.name(), in.bytes()
	if !in.ok {
		return codeInvalidArgument
	}
	out, err := st.dapr.invokeBinding(ctx, binding, operation, data)
	if err != nil {
		return st.failed(ctx, "invoke_binding", err)
	}
	return st.fillSlot(out)
}

// logLine: `dapr.log(level, message)`; a bad pointer drops the line, an
// unknown level counts as debug, invalid UTF-8 is replaced (as abi.rs's
// from_utf8_lossy does).
func (st *instanceState) logLine(mem guestMemory, level int32, msgP, msgL uint32) {
	msg, ok := slice(mem, msgP, msgL)
	if !ok {
		return
	}
	label := "debug"
	switch level {
	case 0:
		label = "error"
	case 1:
		label = "warn"
	case 2:
		label = "info"
	}
	log.Printf("guest %s: %s: %s", st.module, label, strings.ToValidUTF8(string(msg), "\uFFFD"))
}

// takeResult: `dapr.take_result(buf_ptr, buf_len) -> i64`.
func (st *instanceState) takeResult(mem guestMemory, bufP, bufL uint32) int64 {
	if !st.hasSlot {
		return codeNoResult
	}
	dst, ok := slice(mem, bufP, bufL)
	if !ok {
		return codeInvalidArgument
	}
	if len(dst) < len(st.slot) {
		return codeBufferTooSmall // the slot is kept
	}
	n := copy(dst, st.slot)
	st.slot, st.hasSlot = nil, false
	return int64(n)
}

// httpRequest: `http.request(method, url, headers, body) -> i64`, the status
// in the high word and the staged size (header block, then body) below it.
func (st *instanceState) httpRequest(ctx context.Context, mem guestMemory, a [8]uint32) int64 {
	in := readArgs(mem, a[:])
	method, url, headerText, body := in.name(), in.name(), in.name(), in.bytes()
	if !in.ok || method == "" ||
		strings.IndexFunc(method, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
		return codeInvalidArgument
	}
	var headers [][2]string
	for _, line := range strings.Split(strings.TrimSuffix(headerText, "\n"), "\n") {
		if headerText == "" {
			break
		}
		k, v, found := strings.Cut(line, ":")
		if !found || strings.TrimSpace(k) == "" {
			return codeInvalidArgument
		}
		headers = append(headers, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	if st.outbound == nil {
		return codeNotPermitted
	}
	resp, err := st.outbound.do(ctx, method, url, headers, body)
	if err != nil {
		return st.failed(ctx, "http.request", err)
	}
	var block strings.Builder
	for _, h := range resp.headers {
		block.WriteString(h[0] + ": " + h[1] + "\n")
	}
	out := make([]byte, 4, 4+block.Len()+len(resp.body))
	binary.LittleEndian.PutUint32(out, uint32(block.Len()))
	out = append(out, block.String()...)
	out = append(out, resp.body...)
	size := st.fillSlot(out)
	return int64(resp.status)<<32 | size
}

// registerDapr instantiates the `dapr` host module in r. Functions use the
// stack-based GoModuleFunc form: no reflection on the hot path.
func registerDapr(ctx context.Context, r wazero.Runtime) error {
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	params := func(n int) []api.ValueType {
		p := make([]api.ValueType, n)
		for i := range p {
			p[i] = i32
		}
		return p
	}
	u32 := func(stack []uint64, i int) uint32 { return api.DecodeU32(stack[i]) }
	mem := func(m api.Module) guestMemory {
		if m.Memory() == nil {
			return nil // a nil api.Memory must not become a non-nil interface
		}
		return m.Memory()
	}
	ret := func(stack []uint64, v int64) { stack[0] = uint64(v) }
	// fill copies the call's first len(a) parameters, read as u32, into a.
	fill := func(a []uint32, stack []uint64) {
		for i := range a {
			a[i] = u32(stack, i)
		}
	}

	b := r.NewHostModuleBuilder(importModule)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
		ret(s, instanceFrom(ctx).stateGet(ctx, mem(m), u32(s, 0), u32(s, 1), u32(s, 2), u32(s, 3)))
	}), params(4), []api.ValueType{i64}).Export("state_get")

	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
		ret(s, instanceFrom(ctx).stateGetBulk(ctx, mem(m), u32(s, 0), u32(s, 1), u32(s, 2), u32(s, 3)))
	}), params(4), []api.ValueType{i64}).Export("state_get_bulk")

	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
		var a [8]uint32
		fill(a[:], s)
		ret(s, instanceFrom(ctx).stateSet(ctx, mem(m), a, api.DecodeI32(s[8])))
	}), params(9), []api.ValueType{i64}).Export("state_set")

	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
		var a [6]uint32
		fill(a[:], s)
		ret(s, instanceFrom(ctx).stateDelete(ctx, mem(m), a, api.DecodeI32(s[6])))
	}), params(7), []api.ValueType{i64}).Export("state_delete")

	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
		var a [8]uint32
		fill(a[:], s)
		ret(s, instanceFrom(ctx).publish(ctx, mem(m), a))
	}), params(8), []api.ValueType{i64}).Export("publish")

	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
		var a [6]uint32
		fill(a[:], s)
		ret(s, instanceFrom(ctx).invokeBinding(ctx, mem(m), a))
	}), params(6), []api.ValueType{i64}).Export("invoke_binding")

	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
		instanceFrom(ctx).logLine(mem(m), api.DecodeI32(s[0]), u32(s, 1), u32(s, 2))
	}), params(3), nil).Export("log")

	// Both modules' take_result read the one result slot.
	takeResult := api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
		ret(s, instanceFrom(ctx).takeResult(mem(m), u32(s, 0), u32(s, 1)))
	})
	b.NewFunctionBuilder().WithGoModuleFunction(takeResult, params(2), []api.ValueType{i64}).Export("take_result")

	if _, err := b.Instantiate(ctx); err != nil {
		return err
	}

	// The `http` flavour's outbound call.
	h := r.NewHostModuleBuilder(importHTTPModule)
	h.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
		var a [8]uint32
		fill(a[:], s)
		ret(s, instanceFrom(ctx).httpRequest(ctx, mem(m), a))
	}), params(8), []api.ValueType{i64}).Export("request")
	h.NewFunctionBuilder().WithGoModuleFunction(takeResult, params(2), []api.ValueType{i64}).Export("take_result")
	_, err := h.Instantiate(ctx)
	return err
}
