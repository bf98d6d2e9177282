package main

// The embedded blueprint's "local state and caching" variation
// (`embedded+cache`): a read-through cache of state gets in front of the
// sidecar, bounded in entries and age. Same rules as the Rust host's
// harness/src/host/state_cache.rs: writes go through and drop the key (Dapr's
// save returns no new etag, and a cached value without it would fail the next
// first-write); any write outcome, mismatch included, drops the key.

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

type cacheKey struct{ store, key string }

type cached struct {
	entry *stateEntry // nil: the key is known to have no value
	at    time.Time
}

// stateCache wraps a daprAPI; it is safe for concurrent use.
type stateCache struct {
	daprAPI
	ttl      time.Duration
	capacity int

	mu      sync.Mutex
	entries map[cacheKey]cached
	order   []cacheKey // insertion order, for first-in-first-out eviction

	hits, misses atomic.Uint64
}

type cacheStats struct {
	Hits   uint64 `json:"hits"`
	Misses uint64 `json:"misses"`
}

func newStateCache(inner daprAPI, ttl time.Duration, capacity int) *stateCache {
	return &stateCache{daprAPI: inner, ttl: ttl, capacity: max(capacity, 1), entries: map[cacheKey]cached{}}
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
	entry, err := c.daprAPI.stateGet(ctx, store, key)
	if err != nil {
		return nil, err
	}
	c.remember(k, copyEntry(entry))
	return entry, nil
}

func (c *stateCache) remember(k cacheKey, entry *stateEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, had := c.entries[k]; !had {
		c.order = append(c.order, k)
	}
	c.entries[k] = cached{entry, time.Now()}
	for len(c.entries) > c.capacity && len(c.order) > 0 {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
	if len(c.order) > 2*c.capacity {
		live := c.order[:0]
		for _, o := range c.order {
			if _, ok := c.entries[o]; ok {
				live = append(live, o)
			}
		}
		c.order = live
	}
}

func (c *stateCache) forget(store, key string) {
	c.mu.Lock()
	delete(c.entries, cacheKey{store, key})
	c.mu.Unlock()
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
