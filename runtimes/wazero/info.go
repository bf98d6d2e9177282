package main

// GET /info: what the harness records next to every figure (HOST.md).

import (
	"encoding/json"
	"runtime/debug"
	"strings"
)

const (
	runtimeName = "wazero"
	// Only the compiler is used (NewRuntimeConfigCompiler); wazero's
	// interpreter would be a different figure and a different engine name.
	engineName = "compiler"
	wazeroPath = "github.com/tetratelabs/wazero"
)

type runtimeInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Engine  string `json:"engine"`
}

type moduleInfo struct {
	Path      string `json:"path"`
	SizeBytes int    `json:"size_bytes"`
	CompileNs int64  `json:"compile_ns"`
}

type hostInfo struct {
	Runtime runtimeInfo           `json:"runtime"`
	Modules map[string]moduleInfo `json:"modules"`
}

// wazeroVersion is the version of the wazero module linked into this binary
// (not the one go.mod asks for, should a replace or a workspace differ),
// without the leading "v", as the Rust hosts report theirs.
func wazeroVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, dep := range bi.Deps {
		if dep.Path != wazeroPath {
			continue
		}
		if dep.Replace != nil {
			dep = dep.Replace
		}
		return strings.TrimPrefix(dep.Version, "v")
	}
	return "unknown"
}

// infoJSON renders the /info body once: nothing in it changes after start-up.
func infoJSON(guests map[string]*guest) ([]byte, error) {
	info := hostInfo{
		Runtime: runtimeInfo{Name: runtimeName, Version: wazeroVersion(), Engine: engineName},
		Modules: make(map[string]moduleInfo, len(guests)),
	}
	for name, g := range guests {
		info.Modules[name] = moduleInfo{Path: g.path, SizeBytes: g.sizeBytes, CompileNs: g.compileNs}
	}
	return json.Marshal(info)
}
