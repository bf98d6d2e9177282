package main

// Micro-benchmarks of the wazero host, mirroring harness/benches/adapters.rs
// for the Rust adapters (same guests, same phases), with Go's benchmark
// tooling:
//
//	BLUEPRINT_GUEST_DIR=<rust guests> BLUEPRINT_BENCH_WASM_DIR=<raw.wasm, hostcall.wasm> \
//	  go test -run '^$' -bench . -benchtime 2s
//
// `cargo bench --bench adapters` sets both and prints these rows in its
// table. Without BLUEPRINT_GUEST_DIR every benchmark skips; without
// BLUEPRINT_BENCH_WASM_DIR the raw-call and host-call ones do.
//
//   - BenchmarkCompile/<module>: CompileModule of the Rust noop and counter
//     guests on a fresh runtime each time (no compilation cache).
//   - BenchmarkInstantiate: the host's fresh instance of noop (instantiate
//     with a pooled memory, _initialize, bb_abi_version) and its Close.
//   - BenchmarkCall/empty: bb_alloc + bb_handle of an empty request on one
//     reused noop instance; BenchmarkCall/raw: a call of `(func (export
//     "nop"))` through api.Function.Call; BenchmarkCall/wat: the empty
//     request on the minimal WAT guest.
//   - BenchmarkCallCachedFunctions: Call/wat through api.Function.Call on
//     exports looked up once, without the host's instance.call.
//   - BenchmarkHostCall: the WAT guest's request that makes one
//     dapr.state_get, answered at once by immediateDapr.
//   - BenchmarkFreshRequest: what the host does per request (engine.handle:
//     deadline, fresh instance, call, close).

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
)

// immediateDapr answers every call at once: a benchmark stub for the Wasm
// boundary cost, not a Dapr imitation.
type immediateDapr struct{ noDapr }

func (immediateDapr) stateGet(context.Context, string, string) (*stateEntry, error) { return nil, nil }

func benchGuest(b *testing.B, name string) []byte {
	b.Helper()
	dir := os.Getenv("BLUEPRINT_GUEST_DIR")
	if dir == "" {
		b.Skip("BLUEPRINT_GUEST_DIR is not set (cargo bench --bench adapters sets it)")
	}
	wasm, err := os.ReadFile(filepath.Join(dir, name+".wasm"))
	if err != nil {
		b.Fatalf("BLUEPRINT_GUEST_DIR is set but the %s guest is missing: %v", name, err)
	}
	return wasm
}

func benchWasm(b *testing.B, name string) string {
	b.Helper()
	dir := os.Getenv("BLUEPRINT_BENCH_WASM_DIR")
	if dir == "" {
		b.Skip("BLUEPRINT_BENCH_WASM_DIR is not set (cargo bench --bench adapters sets it)")
	}
	return filepath.Join(dir, name+".wasm")
}

// benchEngine is the host's engine with the command line's defaults.
func benchEngine(b *testing.B, dapr daprAPI) *engine {
	b.Helper()
	cfg := testConfig()
	cfg.dapr = dapr
	eng, err := newEngine(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { eng.close(context.Background()) })
	return eng
}

// loadFile compiles a guest the way the host does.
func loadFile(b *testing.B, eng *engine, name, path string) *guest {
	b.Helper()
	g, err := eng.load(context.Background(), name, path)
	if err != nil {
		b.Fatal(err)
	}
	return g
}

func guestFile(b *testing.B, name string) string {
	benchGuest(b, name) // skips or fails as it should
	return filepath.Join(os.Getenv("BLUEPRINT_GUEST_DIR"), name+".wasm")
}

// started is a started instance with the context its calls use.
func started(b *testing.B, eng *engine, g *guest, dapr daprAPI) (context.Context, *instance) {
	b.Helper()
	ctx := withInstance(context.Background(), &instanceState{dapr: dapr, module: g.name})
	inst, cerr := eng.start(ctx, g)
	if cerr != nil {
		b.Fatal(cerr)
	}
	b.Cleanup(inst.close)
	return ctx, inst
}

// hostcallInstance is a started instance of the WAT host-call guest, its
// Dapr calls answered at once.
func hostcallInstance(b *testing.B) (context.Context, *instance) {
	b.Helper()
	eng := benchEngine(b, immediateDapr{})
	g := loadFile(b, eng, "hostcall", benchWasm(b, "hostcall"))
	return started(b, eng, g, immediateDapr{})
}

func BenchmarkCompile(b *testing.B) {
	for _, name := range []string{"noop", "counter"} {
		b.Run(name, func(b *testing.B) {
			wasm := benchGuest(b, name)
			ctx := context.Background()
			for b.Loop() {
				rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
				if _, err := rt.CompileModule(ctx, wasm); err != nil {
					b.Fatal(err)
				}
				_ = rt.Close(ctx)
			}
		})
	}
}

func BenchmarkInstantiate(b *testing.B) {
	eng := benchEngine(b, noDapr{})
	g := loadFile(b, eng, "noop", guestFile(b, "noop"))
	ctx := withInstance(context.Background(), &instanceState{dapr: noDapr{}, module: g.name})
	for b.Loop() {
		inst, cerr := eng.start(ctx, g)
		if cerr != nil {
			b.Fatal(cerr)
		}
		inst.close()
	}
}

func BenchmarkCall(b *testing.B) {
	b.Run("empty", func(b *testing.B) {
		eng := benchEngine(b, noDapr{})
		g := loadFile(b, eng, "noop", guestFile(b, "noop"))
		ctx, inst := started(b, eng, g, noDapr{})
		for b.Loop() {
			if _, cerr := inst.call(ctx, nil); cerr != nil {
				b.Fatal(cerr)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		path := benchWasm(b, "raw")
		wasm, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
		defer rt.Close(ctx)
		mod, err := rt.Instantiate(ctx, wasm)
		if err != nil {
			b.Fatal(err)
		}
		nop := mod.ExportedFunction("nop")
		for b.Loop() {
			if _, err := nop.Call(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wat", func(b *testing.B) {
		ctx, inst := hostcallInstance(b)
		for b.Loop() {
			if _, cerr := inst.call(ctx, nil); cerr != nil {
				b.Fatal(cerr)
			}
		}
	})
}

// BenchmarkCallCachedFunctions is Call/wat through api.Function.Call on
// exports looked up once, without the host's instance.call (which keeps its
// own looked-up exports and calls them with CallWithStack): the floor of
// Call/wat.
func BenchmarkCallCachedFunctions(b *testing.B) {
	ctx, inst := hostcallInstance(b)
	alloc, handle := inst.mod.ExportedFunction(exportAlloc), inst.mod.ExportedFunction(exportHandle)
	for b.Loop() {
		ptr, err := alloc.Call(ctx, 0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := handle.Call(ctx, ptr[0], 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHostCall(b *testing.B) {
	ctx, inst := hostcallInstance(b)
	request := []byte("s")
	for b.Loop() {
		if _, cerr := inst.call(ctx, request); cerr != nil {
			b.Fatal(cerr)
		}
	}
}

func BenchmarkFreshRequest(b *testing.B) {
	eng := benchEngine(b, noDapr{})
	g := loadFile(b, eng, "noop", guestFile(b, "noop"))
	ctx := context.Background()
	for b.Loop() {
		if _, cerr := eng.handle(ctx, g, nil); cerr != nil {
			b.Fatal(cerr)
		}
	}
}
