package main

// The wazero runtime and the guest modules compiled on it.

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// engineConfig is what the command line sets.
type engineConfig struct {
	maxMemoryPages uint32
	callTimeout    time.Duration
	cacheDir       string // "" = in-memory compilation cache
	reuse          bool   // keep warm instances between requests
	dapr           daprAPI
	outbound       outboundAPI // nil: no outbound HTTP for guests
}

// engine is one wazero runtime (compiler mode) with WASI and the `dapr`
// host module instantiated, shared by every request.
type engine struct {
	rt       wazero.Runtime
	cache    wazero.CompilationCache
	modCfg   wazero.ModuleConfig
	timeout  time.Duration
	dapr     daprAPI
	outbound outboundAPI
	memory   *memoryPool
	reuse    bool
}

// guest is a compiled workload, instantiated afresh for every request, or
// (--instances reuse) served from a pool of warm instances.
type guest struct {
	name      string
	path      string
	sizeBytes int
	compileNs int64
	compiled  wazero.CompiledModule
	stats     phaseCounters // GET /stats; the start-up probe is not counted
	pool      *instancePool // nil: a fresh instance per request
}

func newEngine(ctx context.Context, cfg engineConfig) (*engine, error) {
	cache := wazero.NewCompilationCache()
	if cfg.cacheDir != "" {
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.cacheDir); err != nil {
			return nil, fmt.Errorf("compilation cache %s: %w", cfg.cacheDir, err)
		}
	}
	rc := wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(cache).
		// Lets a per-call context deadline stop a guest stuck in a loop: the
		// compiled code checks for termination only with this on. It costs
		// one goroutine per guest call (wazero watches the context), four
		// per request, a few µs against the hundreds instantiation took
		// before memories were pooled; there is no cheaper way to keep the
		// time limit.
		WithCloseOnContextDone(true).
		// memory.grow past the cap fails inside the guest (returns -1), as
		// the spec says and as the Rust hosts' store limits do.
		WithMemoryLimitPages(cfg.maxMemoryPages)
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	e := &engine{
		rt:    rt,
		cache: cache,
		// ABI.md: no arguments, empty environment, no stdio (wazero's
		// defaults: stdin empty, stdout/stderr discarded), no preopens.
		// Clocks and randomness are real, as Wasmtime's WASI gives them;
		// wazero's defaults would be fake and deterministic. The name is
		// empty so that concurrent instances of one module do not collide,
		// and no start function runs by itself: _initialize is called
		// explicitly (and a command's _start never).
		modCfg: wazero.NewModuleConfig().
			WithName("").
			WithStartFunctions().
			WithSysWalltime().
			WithSysNanotime().
			WithSysNanosleep().
			WithRandSource(rand.Reader),
		timeout:  cfg.callTimeout,
		dapr:     cfg.dapr,
		outbound: cfg.outbound,
		memory:   &memoryPool{},
		reuse:    cfg.reuse,
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		e.close(ctx)
		return nil, fmt.Errorf("WASI: %w", err)
	}
	if err := registerDapr(ctx, rt); err != nil {
		e.close(ctx)
		return nil, fmt.Errorf("dapr imports: %w", err)
	}
	return e, nil
}

func (e *engine) close(ctx context.Context) {
	_ = e.rt.Close(ctx)
	_ = e.cache.Close(ctx)
}

// load compiles a module and proves it speaks guest ABI v1: the exports have
// the ABI's signatures, and a probe instance (which resolves every import,
// runs _initialize and calls bb_abi_version) starts. HOST.md makes any of
// that failing a start-up error rather than a 502 on every request.
func (e *engine) load(ctx context.Context, name, path string) (*guest, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	compiled, err := e.rt.CompileModule(ctx, wasm)
	elapsed := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	g := &guest{name: name, path: abs, sizeBytes: len(wasm), compileNs: elapsed.Nanoseconds(), compiled: compiled}
	if err := checkExports(compiled); err != nil {
		return nil, fmt.Errorf("guest ABI: %w", err)
	}
	// The probe gets no Dapr access: start-up must not reach the sidecar.
	probeCtx, cancel := context.WithTimeout(withInstance(ctx, &instanceState{dapr: noDapr{}, module: name}), e.timeout)
	defer cancel()
	inst, cerr := e.start(probeCtx, g)
	if cerr != nil {
		return nil, fmt.Errorf("probe instance: %s", cerr.body())
	}
	inst.close()
	if e.reuse {
		g.pool = &instancePool{}
	}
	return g, nil
}

// checkExports compares the exports with ABI.md's table.
func checkExports(m wazero.CompiledModule) error {
	if _, ok := m.ExportedMemories()[exportMemory]; !ok {
		return fmt.Errorf("module does not export `%s` as a memory", exportMemory)
	}
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	want := []struct {
		name            string
		params, results []api.ValueType
		optional        bool
	}{
		{exportABIVersion, nil, []api.ValueType{i32}, false},
		{exportAlloc, []api.ValueType{i32}, []api.ValueType{i32}, false},
		{exportHandle, []api.ValueType{i32, i32}, []api.ValueType{i64}, false},
		{exportInitialize, nil, nil, true},
	}
	funcs := m.ExportedFunctions()
	for _, w := range want {
		f, ok := funcs[w.name]
		if !ok {
			if w.optional {
				continue
			}
			return fmt.Errorf("module does not export `%s`", w.name)
		}
		if !slices.Equal(f.ParamTypes(), w.params) || !slices.Equal(f.ResultTypes(), w.results) {
			return fmt.Errorf("`%s` has type %s, the ABI says %s",
				w.name, signature(f.ParamTypes(), f.ResultTypes()), signature(w.params, w.results))
		}
	}
	return nil
}

func signature(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) []string {
		out := make([]string, len(ts))
		for i, t := range ts {
			out[i] = api.ValueTypeName(t)
		}
		return out
	}
	return fmt.Sprintf("%v -> %v", names(params), names(results))
}
