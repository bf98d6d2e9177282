package main

// One request on a fresh instance: instantiate, _initialize, check the ABI
// version, bb_alloc, write the request, bb_handle, read the packed response,
// close (ABI.md's lifecycle). With --instances reuse, an instance whose
// request succeeded goes back to its guest's pool instead of being closed.

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"
)

// instance is a started instance of a guest. Every ExportedFunction builds
// a new call engine (its own native stack, grown again on first use), so the
// exports a request calls are looked up once per instance and kept; an
// api.Function is not safe for concurrent use, and neither is an instance,
// which belongs to one request.
type instance struct {
	mod    api.Module
	mem    api.Memory
	alloc  api.Function // nil until the first call
	handle api.Function
	// stack holds CallWithStack's parameters and results, so a call
	// allocates nothing; two slots fit every ABI export.
	stack [2]uint64
	// sleep is WASI's sleep, bound at instantiation; it follows the
	// context of the request the instance is serving now.
	sleep *requestSleep
}

// instancePool holds a guest's warm instances. It never holds more than the
// most requests that ran at once: every instance in it was started for a
// request and put back after it.
type instancePool struct {
	mu   sync.Mutex
	idle []*instance
}

func (p *instancePool) take() *instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	inst := p.idle[n-1]
	p.idle = p.idle[:n-1]
	return inst
}

func (p *instancePool) put(inst *instance) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idle = append(p.idle, inst)
}

func (i *instance) close() { _ = i.mod.Close(context.Background()) }

// handle runs one request on a fresh instance of g. Every guest call shares
// one deadline of --call-timeout-ms, from instantiation to the response. It
// counts the request and its phase times in g.stats, whether or not it
// succeeds.
func (e *engine) handle(parent context.Context, g *guest, request []byte) ([]byte, *callError) {
	first := g.stats.begin()
	ctx, cancel := context.WithTimeout(parent, e.timeout)
	defer cancel()
	st := &instanceState{dapr: e.dapr, outbound: e.outbound, module: g.name}
	ctx = withInstance(ctx, st)

	began := time.Now()
	var inst *instance
	if g.pool != nil {
		inst = g.pool.take()
	}
	var cerr *callError
	if inst != nil {
		inst.sleep.set(ctx)
		g.stats.reused.Add(1)
	} else if inst, cerr = e.start(ctx, g); cerr == nil {
		g.stats.created.Add(1)
	}
	called := time.Now()
	instantiate := called.Sub(began)
	if cerr != nil {
		g.stats.end(first, instantiate, 0)
		return nil, cerr
	}

	response, cerr := inst.call(ctx, request)
	g.stats.end(first, instantiate, time.Since(called))
	if cerr != nil && st.expired {
		// The guest only saw UNAVAILABLE; the request ran out of time.
		cerr = &callError{kind: failTimeout}
	}
	// Only an instance whose request succeeded serves again: a trap or a
	// time-out stops the guest mid-way, and a guest error or a host call
	// that could not reach the sidecar may leave its allocator or globals
	// half-updated. Closing is in
	// neither phase, and takes a live context of its own: ctx may be past
	// its deadline here.
	if cerr == nil && !st.unavailable && g.pool != nil {
		inst.sleep.set(context.Background())
		g.pool.put(inst)
	} else {
		inst.close()
	}
	return response, cerr
}

// call writes the request into the instance through bb_alloc, runs
// bb_handle and copies the response out.
func (i *instance) call(ctx context.Context, request []byte) ([]byte, *callError) {
	if len(request) > math.MaxInt32 {
		return nil, abiError("request of %d bytes does not fit an i32 length", len(request))
	}
	if i.alloc == nil {
		i.alloc, i.handle = i.mod.ExportedFunction(exportAlloc), i.mod.ExportedFunction(exportHandle)
	}
	n := int32(len(request))
	i.stack[0] = api.EncodeI32(n)
	if err := i.alloc.CallWithStack(ctx, i.stack[:]); err != nil {
		return nil, classifyCall(err)
	}
	ptr := api.DecodeU32(i.stack[0])
	if ptr == 0 && n > 0 {
		return nil, abiError("bb_alloc returned 0")
	}
	if !i.mem.Write(ptr, request) {
		return nil, abiError("bb_alloc returned %d, outside memory", int32(ptr))
	}

	i.stack[0], i.stack[1] = api.EncodeU32(ptr), api.EncodeI32(n)
	if err := i.handle.CallWithStack(ctx, i.stack[:]); err != nil {
		return nil, classifyCall(err)
	}
	return readResponse(i.mem, i.stack[0])
}

// start instantiates g with a pooled memory, runs _initialize if exported
// and checks bb_abi_version. Failures are 502s (instantiation failed, or the
// module speaks another ABI), except a timeout, which stays a timeout.
func (e *engine) start(ctx context.Context, g *guest) (*instance, *callError) {
	sleep := &requestSleep{}
	sleep.set(ctx)
	cfg := e.modCfg.WithNanosleep(sleep.nanosleep)
	mod, err := e.rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, e.memory), g.compiled, cfg)
	if err != nil {
		return nil, startFailure("", err)
	}
	inst := &instance{mod: mod, mem: mod.ExportedMemory(exportMemory), sleep: sleep}
	fail := func(cerr *callError) (*instance, *callError) {
		inst.close()
		return nil, cerr
	}
	if init := mod.ExportedFunction(exportInitialize); init != nil {
		if err := init.CallWithStack(ctx, nil); err != nil {
			return fail(startFailure(exportInitialize+": ", err))
		}
	}
	if err := mod.ExportedFunction(exportABIVersion).CallWithStack(ctx, inst.stack[:]); err != nil {
		return fail(startFailure(exportABIVersion+": ", err))
	}
	if v := api.DecodeI32(inst.stack[0]); v != abiVersion {
		return fail(abiError("module speaks guest ABI %d, this host speaks %d", v, abiVersion))
	}
	return inst, nil
}

// requestSleep is WASI's sleep (poll_oneoff's clock) for the request an
// instance serves: it ends when that request's context does. wazero stops a
// guest at its deadline only while guest code runs, so a guest asking for an
// hour's sleep would otherwise hold its goroutine for an hour. Woken by the
// context, the sleep ends the call there (a guest returning right after its
// sleep would otherwise answer as if it had kept its limit). The context
// changes when a pooled instance takes its next request; an instance serves
// one request at a time, but the pool hands it between goroutines, hence the
// lock.
type requestSleep struct {
	mu  sync.Mutex
	ctx context.Context
}

func (s *requestSleep) set(ctx context.Context) {
	s.mu.Lock()
	s.ctx = ctx
	s.mu.Unlock()
}

// sleepWithin is WASI's sleep bound to one context for good.
func sleepWithin(ctx context.Context) sys.Nanosleep {
	return (&requestSleep{ctx: ctx}).nanosleep
}

func (s *requestSleep) nanosleep(ns int64) {
	s.mu.Lock()
	ctx := s.ctx
	s.mu.Unlock()
	t := time.NewTimer(time.Duration(ns))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		// wazero returns a host function's *sys.ExitError as the call's error,
		// as it does when it stops guest code at the deadline itself.
		code := uint32(sys.ExitCodeContextCanceled)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			code = sys.ExitCodeDeadlineExceeded
		}
		panic(sys.NewExitError(code))
	}
}

func startFailure(stage string, err error) *callError {
	cerr := classifyCall(err)
	if cerr.kind == failTimeout {
		return cerr
	}
	return abiError("instantiate: %s%s", stage, cerr.message)
}

// readResponse decodes bb_handle's packed i64 (ptr in the high 32 bits, the
// error flag in bit 31, the length below it) and copies the bytes out before
// the instance is closed.
func readResponse(mem api.Memory, packed uint64) ([]byte, *callError) {
	low := uint32(packed)
	ptr, length, isError := uint32(packed>>32), low&^errorFlag, low&errorFlag != 0
	b, ok := mem.Read(ptr, length)
	if !ok {
		return nil, abiError("response at %d+%d lies outside guest memory of %d bytes", ptr, length, mem.Size())
	}
	if isError {
		if !utf8.Valid(b) {
			return nil, abiError("guest error message is not UTF-8")
		}
		return nil, &callError{kind: failGuest, message: string(b)}
	}
	return append([]byte(nil), b...), nil
}
