package main

// A few-dozen-line WebAssembly assembler for fault probes: wazero has no
// text-format parser, and probes need just one memory, the three ABI exports
// and a hand-written bb_handle body.

// Instructions used by the probes.
const (
	opUnreachable  = 0x00
	opLoop         = 0x03
	opBr           = 0x0c
	opEnd          = 0x0b
	opCall         = 0x10
	opCallIndirect = 0x11
	opDrop         = 0x1a
	opLocalGet     = 0x20
	opI64Load      = 0x29
	opI32Const     = 0x41
	opI64Const     = 0x42
	opI32DivS      = 0x6d
	opI32DivU      = 0x6e
	blockVoid      = 0x40
)

// Function indices and types in every probe: 0 bb_abi_version, 1 bb_alloc,
// 2 bb_handle, 3 _initialize (if any).
const (
	typeVoidI32   = 0 // () -> i32
	typeI32I32    = 1 // (i32) -> i32
	typeHandle    = 2 // (i32, i32) -> i64
	typeVoidVoid  = 3 // () -> ()
	funcHandleIdx = 2
)

// probe describes one hand-assembled guest.
type probe struct {
	version    int32  // what bb_abi_version returns (0 means the ABI's 1)
	alloc      int32  // what bb_alloc returns (default 1024)
	allocZero  bool   // bb_alloc returns 0 (its failure value)
	handle     []byte // bb_handle's instructions, ending in opEnd
	handleType byte   // defaults to typeHandle; others break the ABI
	initialize []byte // _initialize's instructions, or nil for none
	noHandle   bool   // omit the bb_handle export
	table      bool   // a one-slot funcref table, left empty
	memPages   uint32 // initial memory pages (default 1)
	data       []byte // bytes placed at dataAt
	dataAt     uint32
}

func uleb(v uint64) []byte {
	var out []byte
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(out, b)
		}
		out = append(out, b|0x80)
	}
}

func sleb(v int64) []byte {
	var out []byte
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && b&0x40 == 0) || (v == -1 && b&0x40 != 0) {
			return append(out, b)
		}
		out = append(out, b|0x80)
	}
}

func i32Const(v int32) []byte { return append([]byte{opI32Const}, sleb(int64(v))...) }
func i64Const(v int64) []byte { return append([]byte{opI64Const}, sleb(v)...) }

// packed builds a bb_handle result: ptr high, error flag at bit 31, len low.
func packed(ptr, length uint32, isError bool) int64 {
	low := uint64(length)
	if isError {
		low |= errorFlag
	}
	return int64(uint64(ptr)<<32 | low)
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func section(id byte, items ...[]byte) []byte {
	body := cat(uleb(uint64(len(items))), cat(items...))
	return cat([]byte{id}, uleb(uint64(len(body))), body)
}

func str(s string) []byte { return cat(uleb(uint64(len(s))), []byte(s)) }

func funcBody(instrs []byte) []byte {
	body := cat([]byte{0x00}, instrs) // no locals
	return cat(uleb(uint64(len(body))), body)
}

func (p probe) bytes() []byte {
	version, alloc, handleType, pages := p.version, p.alloc, p.handleType, p.memPages
	if version == 0 {
		version = abiVersion
	}
	if alloc == 0 && !p.allocZero {
		alloc = 1024
	}
	if handleType == 0 {
		handleType = typeHandle
	}
	if pages == 0 {
		pages = 1
	}
	const i32, i64, fn = 0x7f, 0x7e, 0x60
	types := section(1,
		[]byte{fn, 0, 1, i32},
		[]byte{fn, 1, i32, 1, i32},
		[]byte{fn, 2, i32, i32, 1, i64},
		[]byte{fn, 0, 0},
	)
	funcs := [][]byte{{typeVoidI32}, {typeI32I32}, {handleType}}
	code := [][]byte{
		funcBody(cat(i32Const(version), []byte{opEnd})),
		funcBody(cat(i32Const(alloc), []byte{opEnd})),
		funcBody(p.handle),
	}
	exports := [][]byte{
		cat(str("memory"), []byte{0x02, 0}),
		cat(str("bb_abi_version"), []byte{0x00, 0}),
		cat(str("bb_alloc"), []byte{0x00, 1}),
	}
	if !p.noHandle {
		exports = append(exports, cat(str("bb_handle"), []byte{0x00, funcHandleIdx}))
	}
	if p.initialize != nil {
		funcs = append(funcs, []byte{typeVoidVoid})
		code = append(code, funcBody(p.initialize))
		exports = append(exports, cat(str("_initialize"), []byte{0x00, 3}))
	}
	out := cat([]byte("\x00asm"), []byte{1, 0, 0, 0}, types, section(3, funcs...))
	if p.table {
		out = append(out, section(4, []byte{0x70, 0x00, 1})...)
	}
	out = append(out, section(5, cat([]byte{0x00}, uleb(uint64(pages))))...)
	out = append(out, section(7, exports...)...)
	out = append(out, section(10, code...)...)
	if p.data != nil {
		seg := cat([]byte{0x00}, i32Const(int32(p.dataAt)), []byte{opEnd}, uleb(uint64(len(p.data))), p.data)
		out = append(out, section(11, seg)...)
	}
	return out
}
