package main

// GET /stats: per-module phase counters, cumulative since start-up
// (HOST.md). The request path only adds to atomics; /stats reads them.

import (
	"encoding/json"
	"sync/atomic"
	"time"
)

// phaseCounters live in each guest and are shared by its concurrent
// requests. Every field is an atomic, so a guest must not be copied (go vet
// checks that).
type phaseCounters struct {
	requests      atomic.Uint64 // requests that reached instantiation
	instantiateNs atomic.Uint64 // engine.start: InstantiateModule, _initialize, bb_abi_version
	callNs        atomic.Uint64 // bb_alloc to the response bytes copied out
	firstCallNs   atomic.Uint64 // instantiate + call of the first request; 0 before it ends
	created       atomic.Uint64 // instances started for requests
	reused        atomic.Uint64 // requests served on a warm instance from the pool
}

// begin counts a request and reports whether it is the module's first since
// start-up. Exactly one request gets true, even under concurrency.
func (c *phaseCounters) begin() bool {
	return c.requests.Add(1) == 1
}

// end adds a request's phase times; a phase the request never reached is 0.
// The first request also records its sum (at least 1 ns, so that it never
// reads as "no request yet").
func (c *phaseCounters) end(first bool, instantiate, call time.Duration) {
	i, k := nanos(instantiate), nanos(call)
	c.instantiateNs.Add(i)
	c.callNs.Add(k)
	if first {
		c.firstCallNs.Store(max(i+k, 1))
	}
}

func nanos(d time.Duration) uint64 { return uint64(max(d, 0)) }

type moduleStats struct {
	Requests           uint64 `json:"requests"`
	InstantiateNsTotal uint64 `json:"instantiate_ns_total"`
	CallNsTotal        uint64 `json:"call_ns_total"`
	FirstCallNs        uint64 `json:"first_call_ns"`
	InstancesCreated   uint64 `json:"instances_created"`
	InstancesReused    uint64 `json:"instances_reused"`
}

type hostStats struct {
	Modules    map[string]moduleStats `json:"modules"`
	StateCache *cacheStats            `json:"state_cache,omitempty"`
}

func (c *phaseCounters) snapshot() moduleStats {
	return moduleStats{
		Requests:           c.requests.Load(),
		InstantiateNsTotal: c.instantiateNs.Load(),
		CallNsTotal:        c.callNs.Load(),
		FirstCallNs:        c.firstCallNs.Load(),
		InstancesCreated:   c.created.Load(),
		InstancesReused:    c.reused.Load(),
	}
}

// statsJSON renders the /stats body. Each counter is read on its own, so a
// snapshot taken under load may be a few requests apart between fields; at
// rest it is exact.
func statsJSON(guests map[string]*guest, cache *stateCache) ([]byte, error) {
	stats := hostStats{Modules: make(map[string]moduleStats, len(guests))}
	if cache != nil {
		s := cache.stats()
		stats.StateCache = &s
	}
	for name, g := range guests {
		stats.Modules[name] = g.stats.snapshot()
	}
	return json.Marshal(stats)
}
