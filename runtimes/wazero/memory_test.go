package main

import (
	"bytes"
	"net/http"
	"testing"
)

const (
	opI32Load    = 0x28
	opI32Store   = 0x36
	opMemoryGrow = 0x40
)

// A pooled buffer comes back zeroed, up to its capacity, whatever the last
// instance wrote and however far it grew.
func TestMemoryPoolHandsOutZeroedBuffers(t *testing.T) {
	pool := &memoryPool{}
	m := pool.Allocate(2*pageSize, 8*pageSize)
	b := m.Reallocate(pageSize)
	for i := range b {
		b[i] = 0xaa
	}
	b = m.Reallocate(2 * pageSize) // within the capacity hint
	for i := range b {
		b[i] = 0xbb
	}
	b = m.Reallocate(3 * pageSize) // past it: a new, larger buffer
	if !bytes.Equal(b[2*pageSize:], make([]byte, pageSize)) {
		t.Fatal("grown pages are not zero")
	}
	b[len(b)-1] = 0xcc
	if m.Reallocate(9*pageSize) != nil {
		t.Error("grew past the maximum")
	}
	m.Free()

	again := pool.Allocate(pageSize, 8*pageSize).Reallocate(pageSize)
	if cap(again) < 3*pageSize {
		t.Fatalf("the freed buffer was not reused: cap %d", cap(again))
	}
	if !bytes.Equal(again[:cap(again)], make([]byte, cap(again))) {
		t.Error("a reused buffer is not zero up to its capacity")
	}
}

func TestMemoryPoolDropsAMemoryGrownTowardsItsCap(t *testing.T) {
	pool := &memoryPool{}
	m := pool.Allocate(pageSize, 2*maxPooledMemoryBytes)
	m.Reallocate(maxPooledMemoryBytes + pageSize)
	m.Free()
	if len(pool.idle) != 0 || pool.idleBytes != 0 {
		t.Fatalf("the pool kept %d bytes of a memory past %d", pool.idleBytes, maxPooledMemoryBytes)
	}
	if !returnPending.Load() && lastReturn.Load() == 0 {
		t.Error("dropping it did not ask the runtime to return memory")
	}
}

// Through the host: each request's fresh instance reads zeros where the
// previous one wrote, in its initial page and in one it grows.
func TestFreshInstancesSeeZeroedMemory(t *testing.T) {
	load := func(at int32) []byte { return cat(i32Const(at), []byte{opI32Load, 2, 0}) }
	store := func(at, v int32) []byte { return cat(i32Const(at), i32Const(v), []byte{opI32Store, 2, 0}) }
	dirty := probe{handle: cat(
		i32Const(1), []byte{opMemoryGrow, 0, opDrop},
		// Report what the fresh instance found, then leave marks behind.
		i32Const(400), load(300), []byte{opI32Store, 2, 0},
		i32Const(404), load(pageSize+8), []byte{opI32Store, 2, 0},
		store(300, 0x74726964), store(pageSize+8, 0x74726964),
		i64Const(packed(400, 8, false)), []byte{opEnd},
	)}
	ts := startHost(t, testConfig(), moduleArg{"dirty", writeProbe(t, "dirty", dirty)})
	for i := range 5 {
		if status, body := post(t, ts.URL+"/dirty", nil); status != http.StatusOK || !bytes.Equal(body, make([]byte, 8)) {
			t.Fatalf("request %d: %d %q, want 8 zero bytes", i, status, body)
		}
	}
}

const pageSize = 65536
