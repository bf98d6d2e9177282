package main

// The `dapr` imports' semantics on a plain byte slice, case for case with
// runtimes/api/src/abi.rs's tests, plus the SDK error classification.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// byteMem is guest memory as a slice; Read returns a view, as wazero's does.
type byteMem []byte

func (m byteMem) Read(off, n uint32) ([]byte, bool) {
	end := uint64(off) + uint64(n)
	if end > uint64(len(m)) {
		return nil, false
	}
	return m[off:end], true
}

// failingDapr fails every call with a transport error.
type failingDapr struct{ noDapr }

func (failingDapr) stateGet(context.Context, string, string) (*stateEntry, error) {
	return nil, errors.New("connection refused")
}

func TestBadArgumentsReturnCodesNotTraps(t *testing.T) {
	ctx := context.Background()
	st := &instanceState{dapr: noDapr{}}
	mem := byteMem(bytes.Repeat([]byte{0xff}, 8))
	if got := st.stateGet(ctx, mem, 6, 4, 0, 1); got != codeInvalidArgument {
		t.Errorf("name out of bounds: %d", got)
	}
	if got := st.stateGet(ctx, mem, 0xffff_fffe, 4, 0, 1); got != codeInvalidArgument {
		t.Errorf("ptr+len wrapping past 2^32: %d", got)
	}
	if got := st.stateGet(ctx, mem, 0, 2, 0, 1); got != codeInvalidArgument {
		t.Errorf("not UTF-8: %d", got)
	}
	if got := st.stateGet(ctx, nil, 0, 0, 0, 0); got != codeInvalidArgument {
		t.Errorf("no memory: %d", got)
	}
	mem = byteMem("storekey")
	if got := st.stateSet(ctx, mem, [8]uint32{0, 5, 5, 3, 0, 0, 0, 0}, 7); got != codeInvalidArgument {
		t.Errorf("unknown concurrency: %d", got)
	}
	if got := st.stateDelete(ctx, mem, [6]uint32{0, 5, 5, 3, 0, 0}, -1); got != codeInvalidArgument {
		t.Errorf("unknown concurrency (delete): %d", got)
	}
	if got := st.stateSet(ctx, mem, [8]uint32{0, 5, 5, 3, 0, 0, 7, 9}, 0); got != codeInvalidArgument {
		t.Errorf("etag out of bounds: %d", got)
	}
	// Valid arguments reach the host, which refuses in the pure mode.
	if got := st.stateGet(ctx, mem, 0, 5, 5, 3); got != codeNotPermitted {
		t.Errorf("pure host: %d", got)
	}
	if got := st.stateSet(ctx, mem, [8]uint32{0, 5, 5, 3, 0, 0, 0, 0}, 1); got != codeNotPermitted {
		t.Errorf("pure host (set): %d", got)
	}
	if got := st.publish(ctx, mem, [8]uint32{0, 5, 5, 3, 0, 8, 0, 0}); got != codeNotPermitted {
		t.Errorf("pure host (publish): %d", got)
	}
	if got := st.invokeBinding(ctx, mem, [6]uint32{0, 5, 5, 3, 9, 1}); got != codeInvalidArgument {
		t.Errorf("binding data out of bounds: %d", got)
	}
}

func TestTakeResultNeedsAResultAndRoom(t *testing.T) {
	st := &instanceState{dapr: noDapr{}}
	mem := make(byteMem, 8)
	if got := st.takeResult(mem, 0, 8); got != codeNoResult {
		t.Errorf("empty slot: %d", got)
	}
	st.fillSlot([]byte("hello"))
	if got := st.takeResult(mem, 0, 4); got != codeBufferTooSmall {
		t.Errorf("small buffer: %d", got)
	}
	if got := st.takeResult(mem, 6, 5); got != codeInvalidArgument {
		t.Errorf("buffer out of bounds: %d", got)
	}
	if got := st.takeResult(mem, 1, 5); got != 5 || string(mem[1:6]) != "hello" {
		t.Errorf("copy: %d %q", got, mem)
	}
	if got := st.takeResult(mem, 0, 8); got != codeNoResult {
		t.Errorf("slot not emptied: %d", got)
	}
	// An empty result is a result: it is taken once.
	st.fillSlot([]byte{})
	if got := st.takeResult(mem, 0, 0); got != 0 {
		t.Errorf("empty result: %d", got)
	}
	if got := st.takeResult(mem, 0, 0); got != codeNoResult {
		t.Errorf("empty result taken twice: %d", got)
	}
}

func TestStateGetLayoutAndCodes(t *testing.T) {
	ctx := context.Background()
	d := newMemDapr()
	st := &instanceState{dapr: d}
	mem := make(byteMem, 64)
	copy(mem, "statestorekey42e-1")
	if got := st.stateGet(ctx, mem, 0, 10, 10, 3); got != codeNotFound {
		t.Fatalf("missing key: %d", got)
	}
	// First-write without etag: inserts; a second time it is a mismatch.
	set := [8]uint32{0, 10, 10, 3, 13, 2, 0, 0}
	if got := st.stateSet(ctx, mem, set, int32(firstWrite)); got != 0 {
		t.Fatalf("insert: %d", got)
	}
	if got := st.stateSet(ctx, mem, set, int32(firstWrite)); got != codeEtagMismatch {
		t.Fatalf("second insert: %d", got)
	}
	size := st.stateGet(ctx, mem, 0, 10, 10, 3)
	want := binary.LittleEndian.AppendUint32(nil, 1)
	want = append(want, "1"...) // memDapr's first etag
	want = append(want, "42"...)
	if size != int64(len(want)) || !bytes.Equal(st.slot, want) {
		t.Fatalf("state_get: %d %q, want %q", size, st.slot, want)
	}
	// A wrong etag is a mismatch; last-write without etag always writes.
	wrong := [8]uint32{0, 10, 10, 3, 13, 2, 15, 3}
	if got := st.stateSet(ctx, mem, wrong, int32(firstWrite)); got != codeEtagMismatch {
		t.Errorf("wrong etag: %d", got)
	}
	if got := st.stateSet(ctx, mem, set, int32(lastWrite)); got != 0 {
		t.Errorf("last-write: %d", got)
	}
	if got := st.stateDelete(ctx, mem, [6]uint32{0, 10, 10, 3, 15, 3}, int32(firstWrite)); got != codeEtagMismatch {
		t.Errorf("delete with wrong etag: %d", got)
	}
	if got := st.stateDelete(ctx, mem, [6]uint32{0, 10, 10, 3, 0, 0}, int32(lastWrite)); got != 0 {
		t.Errorf("delete: %d", got)
	}
	if got := st.stateGet(ctx, mem, 0, 10, 10, 3); got != codeNotFound {
		t.Errorf("deleted key: %d", got)
	}
	// A transport failure is UNAVAILABLE.
	st = &instanceState{dapr: failingDapr{}}
	if got := st.stateGet(ctx, mem, 0, 10, 10, 3); got != codeUnavailable {
		t.Errorf("failing sidecar: %d", got)
	}
}

func TestBulkKeyListsAndResultsHaveTheABILayout(t *testing.T) {
	packed := []byte{3, 0, 0, 0, 1, 0, 0, 0, 'a', 0, 0, 0, 0, 2, 0, 0, 0, 0xc3, 0xa9}
	if keys, ok := decodeBulkKeys(packed); !ok || !reflect.DeepEqual(keys, []string{"a", "", "é"}) {
		t.Errorf("decodeBulkKeys = %q, %v", keys, ok)
	}
	tooMany := binary.LittleEndian.AppendUint32(nil, 65)
	for range 65 {
		tooMany = binary.LittleEndian.AppendUint32(tooMany, 0)
	}
	big := binary.LittleEndian.AppendUint32([]byte{1, 0, 0, 0}, maxBulkKeysBytes)
	big = append(big, bytes.Repeat([]byte{'k'}, maxBulkKeysBytes)...)
	for _, bad := range [][]byte{
		{0, 0, 0, 0}, tooMany, big, append(slices.Clone(packed), 0), packed[:len(packed)-1],
		{1, 0, 0, 0, 1, 0, 0, 0, 0xff}, {1, 0, 0},
	} {
		if keys, ok := decodeBulkKeys(bad); ok {
			t.Errorf("decodeBulkKeys(%v) = %q, want refused", bad[:min(len(bad), 12)], keys)
		}
	}
	got := encodeBulkResult([]*stateEntry{nil, {value: []byte("12"), etag: "3"}, {value: []byte{}}})
	want := []byte{0, 1, 1, 0, 0, 0, '3', 2, 0, 0, 0, '1', '2', 1, 0, 0, 0, 0, 0, 0, 0, 0}
	if !bytes.Equal(got, want) {
		t.Errorf("encodeBulkResult = %v, want %v", got, want)
	}
}

func TestStateGetBulkAnswersInOrderThroughTheSlot(t *testing.T) {
	ctx := context.Background()
	store := newMemDapr()
	if err := store.stateSet(ctx, "s", "b", []byte("7"), "", lastWrite); err != nil {
		t.Fatal(err)
	}
	st := &instanceState{dapr: store, module: "test"}
	keys := []byte{3, 0, 0, 0, 1, 0, 0, 0, 'a', 1, 0, 0, 0, 'b', 1, 0, 0, 0, 'a'}
	mem := append(byteMem("s"), keys...)
	mem = append(mem, make([]byte, 64)...)
	size := st.stateGetBulk(ctx, mem, 0, 1, 1, uint32(len(keys)))
	e, _ := store.stateGet(ctx, "s", "b")
	want := encodeBulkResult([]*stateEntry{nil, e, nil})
	if size != int64(len(want)) {
		t.Fatalf("size %d, want %d", size, len(want))
	}
	if got := st.takeResult(mem, 40, uint32(size)); got != size || !bytes.Equal(mem[40:40+size], want) {
		t.Errorf("take_result %d: %v, want %v", got, mem[40:40+size], want)
	}
	if got := st.stateGetBulk(ctx, mem, 0, 1, 1, 3); got != codeInvalidArgument {
		t.Errorf("a cut key list: %d", got)
	}
	pure := &instanceState{dapr: noDapr{}}
	if got := pure.stateGetBulk(ctx, mem, 0, 1, 1, uint32(len(keys))); got != codeNotPermitted {
		t.Errorf("without Dapr: %d", got)
	}
}

func TestPublishAndBinding(t *testing.T) {
	ctx := context.Background()
	d := newMemDapr()
	st := &instanceState{dapr: d}
	mem := byteMem("pubsubtopic{}text/plain")
	if got := st.publish(ctx, mem, [8]uint32{0, 6, 6, 5, 11, 2, 0, 0}); got != 0 {
		t.Fatalf("publish: %d", got)
	}
	if got := st.publish(ctx, mem, [8]uint32{0, 6, 6, 5, 11, 2, 13, 10}); got != 0 {
		t.Fatalf("publish with content type: %d", got)
	}
	want := []string{"pubsub/topic application/json {}", "pubsub/topic text/plain {}"}
	if fmt.Sprint(d.published) != fmt.Sprint(want) {
		t.Errorf("published %q, want %q", d.published, want)
	}
	if got := st.invokeBinding(ctx, mem, [6]uint32{0, 6, 6, 5, 11, 2}); got != int64(len("pubsub.topic({})")) {
		t.Fatalf("invoke_binding: %d", got)
	}
	out := make(byteMem, 32)
	if n := st.takeResult(out, 0, 32); string(out[:n]) != "pubsub.topic({})" {
		t.Errorf("binding result %q", out[:max(n, 0)])
	}
}

func TestSDKErrorClassification(t *testing.T) {
	cases := []struct {
		err      error
		mismatch bool
	}{
		{status.Error(codes.Aborted, "failed saving state: possible etag mismatch"), true},
		{fmt.Errorf("error saving state: %w", status.Error(codes.Aborted, "x")), true},
		{status.Error(codes.FailedPrecondition, "x"), true},
		{status.Error(codes.InvalidArgument, "invalid etag value: strconv.ParseUint"), true},
		{status.Error(codes.Unavailable, "connection to the etag service refused"), false},
		{status.Error(codes.Internal, "state store is down"), false},
		{errors.New("missing required arguments: key required"), false},
	}
	for _, c := range cases {
		got := errors.Is(classify(c.err), errEtagMismatch)
		if got != c.mismatch {
			t.Errorf("%v: mismatch=%v, want %v", c.err, got, c.mismatch)
		}
	}
	if classify(nil) != nil {
		t.Error("nil error classified")
	}
}
