package main

// One request on a fresh instance: instantiate, _initialize, check the ABI
// version, bb_alloc, write the request, bb_handle, read the packed response,
// close (ABI.md's lifecycle).

import (
	"context"
	"math"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/api"
)

// handle runs one request on a fresh instance of g. Every guest call shares
// one deadline of --call-timeout-ms, from instantiation to the response. It
// counts the request and its phase times in g.stats, whether or not it
// succeeds.
func (e *engine) handle(parent context.Context, g *guest, request []byte) ([]byte, *callError) {
	first := g.stats.begin()
	ctx, cancel := context.WithTimeout(parent, e.timeout)
	defer cancel()
	ctx = withInstance(ctx, &instanceState{dapr: e.dapr, outbound: e.outbound, module: g.name})

	began := time.Now()
	mod, cerr := e.start(ctx, g)
	called := time.Now()
	instantiate := called.Sub(began)
	if cerr != nil {
		g.stats.end(first, instantiate, 0)
		return nil, cerr
	}
	// Close with a live context: ctx may be past its deadline here. Closing
	// is in neither phase.
	defer mod.Close(context.Background())

	response, cerr := call(ctx, mod, request)
	g.stats.end(first, instantiate, time.Since(called))
	return response, cerr
}

// call writes the request into mod through bb_alloc, runs bb_handle and
// copies the response out.
func call(ctx context.Context, mod api.Module, request []byte) ([]byte, *callError) {
	if len(request) > math.MaxInt32 {
		return nil, abiError("request of %d bytes does not fit an i32 length", len(request))
	}
	n := int32(len(request))
	res, err := mod.ExportedFunction(exportAlloc).Call(ctx, api.EncodeI32(n))
	if err != nil {
		return nil, classifyCall(err)
	}
	ptr := api.DecodeU32(res[0])
	if ptr == 0 && n > 0 {
		return nil, abiError("bb_alloc returned 0")
	}
	mem := mod.ExportedMemory(exportMemory)
	if !mem.Write(ptr, request) {
		return nil, abiError("bb_alloc returned %d, outside memory", int32(ptr))
	}

	res, err = mod.ExportedFunction(exportHandle).Call(ctx, api.EncodeU32(ptr), api.EncodeI32(n))
	if err != nil {
		return nil, classifyCall(err)
	}
	return readResponse(mem, res[0])
}

// start instantiates g, runs _initialize if exported and checks
// bb_abi_version. Failures are 502s (instantiation failed, or the module
// speaks another ABI), except a timeout, which stays a timeout.
func (e *engine) start(ctx context.Context, g *guest) (api.Module, *callError) {
	mod, err := e.rt.InstantiateModule(ctx, g.compiled, e.modCfg)
	if err != nil {
		return nil, startFailure("", err)
	}
	fail := func(cerr *callError) (api.Module, *callError) {
		_ = mod.Close(context.Background())
		return nil, cerr
	}
	if init := mod.ExportedFunction(exportInitialize); init != nil {
		if _, err := init.Call(ctx); err != nil {
			return fail(startFailure(exportInitialize+": ", err))
		}
	}
	res, err := mod.ExportedFunction(exportABIVersion).Call(ctx)
	if err != nil {
		return fail(startFailure(exportABIVersion+": ", err))
	}
	if v := api.DecodeI32(res[0]); v != abiVersion {
		return fail(abiError("module speaks guest ABI %d, this host speaks %d", v, abiVersion))
	}
	return mod, nil
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
