package main

import (
	"context"
	"reflect"
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

func TestStateCacheBulkReadsHitTheCacheAndReadTheMissesInOneCall(t *testing.T) {
	ctx := context.Background()
	store := newMemDapr()
	if err := store.stateSet(ctx, "s", "b", []byte("7"), "", lastWrite); err != nil {
		t.Fatal(err)
	}
	c := newStateCache(store, time.Minute, 16)
	_, _ = c.stateGet(ctx, "s", "a")
	got, err := c.stateGetBulk(ctx, "s", []string{"a", "b", "c", "b"})
	if err != nil || len(got) != 4 || got[0] != nil || got[2] != nil || string(got[1].value) != "7" ||
		string(got[3].value) != "7" {
		t.Fatalf("stateGetBulk = %+v, %v", got, err)
	}
	if calls := store.bulkCalls(); !reflect.DeepEqual(calls, [][]string{{"b", "c"}}) {
		t.Errorf("bulk calls %q, want one for b and c", calls)
	}
	if got := c.stats(); got != (cacheStats{Hits: 1, Misses: 4}) {
		t.Errorf("stats %+v", got)
	}
	// All cached now: no call at all.
	if _, err := c.stateGetBulk(ctx, "s", []string{"c", "b"}); err != nil || len(store.bulkCalls()) != 1 {
		t.Errorf("a fully cached read called Dapr: %v, %q", err, store.bulkCalls())
	}
	if got := c.stats(); got != (cacheStats{Hits: 3, Misses: 4}) {
		t.Errorf("stats %+v", got)
	}
	// A write drops its key: the next bulk read asks for it alone.
	if err := c.stateSet(ctx, "s", "c", []byte("1"), "", lastWrite); err != nil {
		t.Fatal(err)
	}
	got, err = c.stateGetBulk(ctx, "s", []string{"b", "c"})
	if err != nil || string(got[1].value) != "1" {
		t.Fatalf("after the write: %+v, %v", got, err)
	}
	if calls := store.bulkCalls(); !reflect.DeepEqual(calls[1], []string{"c"}) {
		t.Errorf("bulk calls %q", calls)
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

// slowDapr reads, then waits before returning, once armed: the slow read of a
// miss that a write overtakes.
type slowDapr struct {
	*memDapr
	armed        bool
	read, resume chan struct{}
}

func (d *slowDapr) stateGet(ctx context.Context, store, key string) (*stateEntry, error) {
	e, err := d.memDapr.stateGet(ctx, store, key)
	if d.armed {
		d.armed = false
		d.read <- struct{}{}
		<-d.resume
	}
	return e, err
}

func TestStateCacheFillOvertakenByAWriteDoesNotStoreTheOldValue(t *testing.T) {
	ctx := context.Background()
	store := &slowDapr{memDapr: newMemDapr(), read: make(chan struct{}), resume: make(chan struct{})}
	c := newStateCache(store, time.Minute, 16)
	if err := c.stateSet(ctx, "s", "k", []byte("old"), "", lastWrite); err != nil {
		t.Fatal(err)
	}
	store.armed = true
	got := make(chan string, 1)
	go func() {
		e, err := c.stateGet(ctx, "s", "k")
		if err != nil || e == nil {
			got <- "error"
			return
		}
		got <- string(e.value)
	}()
	<-store.read // the miss has read "old" …
	if err := c.stateSet(ctx, "s", "k", []byte("new"), "", lastWrite); err != nil {
		t.Fatal(err) // … a write lands …
	}
	store.resume <- struct{}{} // … and the miss goes on to store what it read
	if v := <-got; v != "old" {
		t.Fatalf("the overtaken read returned %q", v)
	}
	e, err := c.stateGet(ctx, "s", "k")
	if err != nil || e == nil || string(e.value) != "new" {
		t.Fatalf("after the write the cache serves %v %v, want new", e, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.written) != 0 || len(c.fills) != 0 {
		t.Errorf("stamps left with nothing in flight: %v %v", c.written, c.fills)
	}
}

// counter on one key: every request reads (a miss after the last write),
// caches, writes and drops the key. Each refill used to add a place in the
// order that the sweep kept, since the key was live, so the order grew by one
// per request and the sweep ran on every fill.
func TestStateCacheHotKeyWrittenOnEveryRequestLeavesTheOrderBounded(t *testing.T) {
	ctx := context.Background()
	const capacity = 8
	c := newStateCache(newMemDapr(), time.Minute, capacity)
	for range 1000 {
		e, err := c.stateGet(ctx, "s", "hot")
		if err != nil {
			t.Fatal(err)
		}
		etag := ""
		if e != nil {
			etag = e.etag
		}
		if err := c.stateSet(ctx, "s", "hot", []byte("v"), etag, firstWrite); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = c.stateGet(ctx, "s", "hot")
	if len(c.order) > 2*capacity+1 {
		t.Errorf("order holds %d places for %d live key(s)", len(c.order), len(c.entries))
	}
}

func TestStateCacheStalePlaceDoesNotEvictAFreshEntry(t *testing.T) {
	ctx := context.Background()
	c := newStateCache(newMemDapr(), time.Minute, 2)
	_, _ = c.stateGet(ctx, "s", "a") // a's first place
	if err := c.stateSet(ctx, "s", "a", []byte("1"), "", lastWrite); err != nil {
		t.Fatal(err) // dropped
	}
	_, _ = c.stateGet(ctx, "s", "b")
	_, _ = c.stateGet(ctx, "s", "a") // cached again, behind b
	_, _ = c.stateGet(ctx, "s", "c") // over capacity: b is the oldest live entry
	misses := c.stats().Misses
	_, _ = c.stateGet(ctx, "s", "a")
	if got := c.stats().Misses; got != misses {
		t.Errorf("a, the newest but one, was evicted")
	}
	_, _ = c.stateGet(ctx, "s", "b")
	if got := c.stats().Misses; got != misses+1 {
		t.Errorf("b should have been evicted")
	}
}
