package main

// Guest linear memories backed by buffers of closed instances. Every request
// has a fresh instance, and a fresh instance's memory (1.1 MB for the Rust
// noop, several MB for Go guests) was a new Go heap allocation each time:
// the garbage collector that followed cost more than everything else in
// instantiation (600 µs against 23 µs with GOGC=off, bench_test.go). This is
// what HOST.md calls pooling, as Wasmtime's pooling allocator does it: the
// instance is still new, and its memory reads as zeros like a new one.

import (
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero/experimental"
)

// maxIdleMemoryBytes bounds what the pool keeps between requests, so a burst
// of concurrent requests does not pin its peak memory for the rest of the run.
const maxIdleMemoryBytes = 256 << 20

// maxPooledMemoryBytes is the largest buffer the pool keeps. The workloads'
// memories start at 64 KiB to 16 MiB (Zig) and a growing one doubles its
// buffer, so a memory past this is no workload's everyday size but a guest
// that grew towards its cap (64 MiB by default; a memory bomb). Kept, it
// would stay resident, zeroed, for the rest of the run, and its growth left
// as much again in garbage that the Go runtime returns to the system only
// slowly. It is dropped instead, and the runtime is asked to give the memory
// back (returnMemory).
const maxPooledMemoryBytes = 48 << 20

var (
	// lastReturn is when returnMemory's collection last ran, in Unix nanoseconds.
	lastReturn atomic.Int64
	// returnPending says a collection is scheduled already.
	returnPending atomic.Bool
)

// returnMemory schedules a collection that hands freed memory back to the
// system: in the background, at most once a second (it stops the world for
// about a millisecond on this host's small heap), and never dropped, so the
// last of a series of large memories is returned too.
func returnMemory() {
	if !returnPending.CompareAndSwap(false, true) {
		return
	}
	wait := time.Until(time.Unix(0, lastReturn.Load()).Add(time.Second))
	time.AfterFunc(max(wait, 0), func() {
		returnPending.Store(false)
		lastReturn.Store(time.Now().UnixNano())
		debug.FreeOSMemory()
	})
}

// memoryPool hands out zeroed buffers. Invariant: every idle buffer is zero
// up to its capacity.
type memoryPool struct {
	mu        sync.Mutex
	idle      [][]byte
	idleBytes int
}

var _ experimental.MemoryAllocator = (*memoryPool)(nil)

// Allocate implements experimental.MemoryAllocator; the buffer is taken at
// the first Reallocate, when the size is known.
func (p *memoryPool) Allocate(capBytes, maxBytes uint64) experimental.LinearMemory {
	return &pooledMemory{pool: p, hint: capBytes, max: maxBytes}
}

// get returns a zeroed buffer of length size, an idle one when one is large
// enough (the most recently freed first: its pages are likely still resident).
func (p *memoryPool) get(size, hint uint64) []byte {
	p.mu.Lock()
	for i := len(p.idle) - 1; i >= 0; i-- {
		if b := p.idle[i]; uint64(cap(b)) >= size {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			p.idleBytes -= cap(b)
			p.mu.Unlock()
			return b[:size]
		}
	}
	p.mu.Unlock()
	return make([]byte, size, max(size, hint))
}

// put zeroes what the instance could have written and keeps the buffer if
// the pool has room for it.
func (p *memoryPool) put(b []byte) {
	if cap(b) > maxPooledMemoryBytes {
		returnMemory()
		return
	}
	clear(b)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idleBytes+cap(b) > maxIdleMemoryBytes {
		return
	}
	p.idle = append(p.idle, b[:0])
	p.idleBytes += cap(b)
}

// pooledMemory is one instance's linear memory. Wasm memories never shrink,
// so the bytes an instance could have written are buf[:len(buf)] and the
// rest of the capacity is still zero.
type pooledMemory struct {
	pool      *memoryPool
	buf       []byte
	hint, max uint64
}

// Reallocate implements experimental.LinearMemory.
func (m *pooledMemory) Reallocate(size uint64) []byte {
	switch {
	case size > m.max:
		return nil
	case m.buf == nil:
		m.buf = m.pool.get(size, m.hint)
	case size <= uint64(cap(m.buf)):
		m.buf = m.buf[:size]
	default:
		// Doubling, as append does, keeps a guest growing page by page from
		// copying its memory on every memory.grow. The old buffer goes to
		// the garbage collector: nothing guarantees no host call still
		// holds a view of it.
		grown := make([]byte, size, min(max(size, 2*uint64(cap(m.buf))), m.max))
		copy(grown, m.buf)
		m.buf = grown
	}
	return m.buf
}

// Free implements experimental.LinearMemory. Wazero calls it once the
// instance is closed and no guest code runs in it any more (after a timeout,
// only when the interrupted call has returned).
func (m *pooledMemory) Free() {
	if m.buf != nil {
		m.pool.put(m.buf)
		m.buf = nil
	}
}
