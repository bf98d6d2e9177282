package main

// The embedded blueprint's "local state and caching" variation
// (`embedded+cache`): a read-through cache of state gets in front of the
// sidecar, bounded in entries and age. Same rules as the Rust host's
// runtimes/host/src/state_cache.rs: writes go through and drop the key (Dapr's
// save returns no new etag, and a cached value without it would fail the next
// first-write); any write outcome, mismatch included, drops the key.
//
// A miss reads Dapr without holding the lock, so a write can land between
// that read and the store of what it read; storing it then would serve the
// old value for a whole TTL. Each write stamps its key with a fresh tick of a
// clock, and a fill stores only if no write to its key was stamped after the
// fill started. Stamps are kept only while a fill that started before them is
// still in flight.

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

type cacheKey struct{ store, key string }

type cached struct {
	entry *stateEntry // nil: the key is known to have no value
	at    time.Time
	seq   uint64 // the number of its place in order
}

// place is a key's place in the insertion order. A key dropped by a write and
// cached again leaves a stale place behind: only the place whose seq is the
// entry's own counts.
type place struct {
	seq uint64
	key cacheKey
}

// stateCache wraps a daprAPI; it is safe for concurrent use.
type stateCache struct {
	daprAPI
	ttl      time.Duration
	capacity int

	mu      sync.Mutex
	entries map[cacheKey]cached
	order   []place             // insertion order, for first-in-first-out eviction
	nextSeq uint64              // numbers the places in order
	clock   uint64              // ticks once per write
	written map[cacheKey]uint64 // tick of the last write per key, while a fill may need it
	fills   map[uint64]int      // fills in flight, by the tick they started at

	hits, misses atomic.Uint64
}

type cacheStats struct {
	Hits   uint64 `json:"hits"`
	Misses uint64 `json:"misses"`
}

func newStateCache(inner daprAPI, ttl time.Duration, capacity int) *stateCache {
	return &stateCache{daprAPI: inner, ttl: ttl, capacity: max(capacity, 1),
		entries: map[cacheKey]cached{}, written: map[cacheKey]uint64{}, fills: map[uint64]int{}}
}

func (c *stateCache) stats() cacheStats {
	return cacheStats{Hits: c.hits.Load(), Misses: c.misses.Load()}
}

func (c *stateCache) stateGet(ctx context.Context, store, key string) (*stateEntry, error) {
	k := cacheKey{store, key}
	c.mu.Lock()
	hit, ok := c.entries[k]
	c.mu.Unlock()
	if ok && time.Since(hit.at) < c.ttl {
		c.hits.Add(1)
		return copyEntry(hit.entry), nil
	}
	c.misses.Add(1)
	start := c.beginFill()
	entry, err := c.daprAPI.stateGet(ctx, store, key)
	c.endFill(k, start, err == nil, copyEntry(entry))
	if err != nil {
		return nil, err
	}
	return entry, nil
}

// stateGetBulk answers the keys it holds from the cache and reads the others
// (each distinct key once) in one bulk call, none when all are cached; each
// key asked counts as one hit or one miss, and misses fill the cache as
// single gets do.
func (c *stateCache) stateGetBulk(ctx context.Context, store string, keys []string) ([]*stateEntry, error) {
	out := make([]*stateEntry, len(keys))
	answered := make([]bool, len(keys))
	var missing []string
	c.mu.Lock()
	for i, key := range keys {
		if hit, ok := c.entries[cacheKey{store, key}]; ok && time.Since(hit.at) < c.ttl {
			out[i], answered[i] = copyEntry(hit.entry), true
		} else if !slices.Contains(missing, key) {
			missing = append(missing, key)
		}
	}
	c.mu.Unlock()
	hits := 0
	for _, a := range answered {
		if a {
			hits++
		}
	}
	c.hits.Add(uint64(hits))
	c.misses.Add(uint64(len(keys) - hits))
	if len(missing) == 0 {
		return out, nil
	}
	start := c.beginFills(len(missing))
	read, err := c.daprAPI.stateGetBulk(ctx, store, missing)
	if err == nil && len(read) != len(missing) {
		err = fmt.Errorf("%d answers for %d keys", len(read), len(missing))
	}
	byKey := make(map[string]*stateEntry, len(missing))
	for i, key := range missing {
		var entry *stateEntry
		if err == nil {
			entry = read[i]
			byKey[key] = entry
		}
		c.endFill(cacheKey{store, key}, start, err == nil, copyEntry(entry))
	}
	if err != nil {
		return nil, err
	}
	for i, key := range keys {
		if !answered[i] {
			out[i] = copyEntry(byKey[key])
		}
	}
	return out, nil
}

// beginFill registers a miss about to read Dapr: the tick to check its store
// against.
func (c *stateCache) beginFill() uint64 { return c.beginFills(1) }

// beginFills registers n misses read together (one bulk call): one tick for
// all, each ended by its own endFill.
func (c *stateCache) beginFills(n int) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fills[c.clock] += n
	return c.clock
}

// endFill ends a fill that started at start; what it read (if ok) is stored
// only if no write to k came since.
func (c *stateCache) endFill(k cacheKey, start uint64, ok bool, entry *stateEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fills[start]--; c.fills[start] <= 0 {
		delete(c.fills, start)
	}
	tick, written := c.written[k]
	current := !written || tick <= start
	// A stamp no older than the oldest fill in flight can matter to it; the
	// others cannot.
	if len(c.fills) == 0 {
		clear(c.written)
	} else {
		oldest := uint64(math.MaxUint64)
		for s := range c.fills {
			oldest = min(oldest, s)
		}
		for wk, t := range c.written {
			if t <= oldest {
				delete(c.written, wk)
			}
		}
	}
	if ok && current {
		c.remember(k, entry)
	}
}

// remember stores entry for k; c.mu is held.
func (c *stateCache) remember(k cacheKey, entry *stateEntry) {
	seq := c.nextSeq
	c.nextSeq++
	if had, ok := c.entries[k]; ok {
		// Refreshed in place: it keeps its place in the order.
		c.entries[k] = cached{entry, time.Now(), had.seq}
	} else {
		c.entries[k] = cached{entry, time.Now(), seq}
		c.order = append(c.order, place{seq, k})
	}
	for len(c.entries) > c.capacity && len(c.order) > 0 {
		oldest := c.order[0]
		c.order = c.order[1:]
		if e, ok := c.entries[oldest.key]; ok && e.seq == oldest.seq {
			delete(c.entries, oldest.key)
		}
	}
	// Keys dropped by writes leave stale places in order (one per drop and
	// refill: a hot key written on every request leaves one per request);
	// drop them once they outnumber the live ones, which keeps order under
	// twice the capacity and the sweep's cost amortised over as many fills as
	// it removes.
	if len(c.order) > 2*c.capacity {
		live := c.order[:0]
		for _, o := range c.order {
			if e, ok := c.entries[o.key]; ok && e.seq == o.seq {
				live = append(live, o)
			}
		}
		c.order = live
	}
}

// forget drops a written key and stamps it, so fills that read it before the
// write do not store what they read.
func (c *stateCache) forget(store, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cacheKey{store, key}
	delete(c.entries, k)
	c.clock++
	if len(c.fills) > 0 {
		c.written[k] = c.clock
	}
}

func (c *stateCache) stateSet(ctx context.Context, store, key string, value []byte, etag string, cc concurrency) error {
	err := c.daprAPI.stateSet(ctx, store, key, value, etag, cc)
	c.forget(store, key)
	return err
}

func (c *stateCache) stateDelete(ctx context.Context, store, key, etag string, cc concurrency) error {
	err := c.daprAPI.stateDelete(ctx, store, key, etag, cc)
	c.forget(store, key)
	return err
}

// copyEntry keeps cached bytes away from callers (and guest memory).
func copyEntry(e *stateEntry) *stateEntry {
	if e == nil {
		return nil
	}
	return &stateEntry{value: append([]byte(nil), e.value...), etag: e.etag}
}
