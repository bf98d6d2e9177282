package main

import (
	"context"
	"testing"
	"time"
)

func TestStateCacheHitsRepeatedGetsAndNeverServesAWriteStale(t *testing.T) {
	ctx := context.Background()
	store := newMemDapr()
	c := newStateCache(store, time.Minute, 16)
	if e, err := c.stateGet(ctx, "s", "k"); err != nil || e != nil {
		t.Fatalf("missing key: %v %v", e, err)
	}
	_, _ = c.stateGet(ctx, "s", "k")
	if got := c.stats(); got != (cacheStats{Hits: 1, Misses: 1}) {
		t.Errorf("stats %+v", got)
	}
	if err := c.stateSet(ctx, "s", "k", []byte("1"), "", firstWrite); err != nil {
		t.Fatal(err)
	}
	e, err := c.stateGet(ctx, "s", "k")
	if err != nil || e == nil || string(e.value) != "1" {
		t.Fatalf("after write: %v %v", e, err)
	}
	if err := c.stateSet(ctx, "s", "k", []byte("2"), e.etag, firstWrite); err != nil {
		t.Fatalf("first-write with the etag read through the cache: %v", err)
	}
}

func TestStateCacheEvictsTheOldestAndExpires(t *testing.T) {
	ctx := context.Background()
	c := newStateCache(newMemDapr(), 30*time.Millisecond, 2)
	for _, k := range []string{"a", "b", "c", "c", "a"} {
		_, _ = c.stateGet(ctx, "s", k)
	}
	if got := c.stats(); got != (cacheStats{Hits: 1, Misses: 4}) {
		t.Errorf("stats %+v", got)
	}
	time.Sleep(40 * time.Millisecond)
	_, _ = c.stateGet(ctx, "s", "a")
	if got := c.stats().Misses; got != 5 {
		t.Errorf("expired entry served: misses %d", got)
	}
}
