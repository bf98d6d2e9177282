//go:build !wasm

// Package workloads_test checks the built Go guests from the outside: their
// module shape in every flavour (exports and imports as workloads/ABI.md
// lists them), the golden vectors of workloads/vectors run on the wazero
// host (the counter against a real daprd), and the middleware and command
// flavours of every pure workload run by daprd itself
// (flavours_daprd_test.go). Go cannot run wasm under go test, so the tests
// build the modules with the README's commands and run them in other
// processes:
//
//	BLUEPRINT_WAZERO_HOST     the wazero host binary (runtimes/wazero);
//	                          unset skips the tests that run modules there
//	BLUEPRINT_DAPRD           a daprd binary; unset skips the tests through
//	                          Dapr
//	BLUEPRINT_GO_GUEST_DIR    take the <workload>.<flavour>.wasm modules
//	                          from here (e.g. the harness's build) instead of
//	                          building them
//	BLUEPRINT_RUST_GUEST_DIR  also run the Rust guests (noop.wasm,
//	                          counter.wasm) through the noop and counter
//	                          checks, proving the two languages answer byte
//	                          for byte alike
package workloads_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"blueprint-bench/workloads/go/vectors"
)

// workloads are every workload with a Go implementation, pure ones marked.
var workloads = []struct {
	name string
	pure bool
}{
	{"noop", true}, {"counter", false}, {"transform", true}, {"validate", true},
	{"aggregate", false}, {"compute", true}, {"fanout", false}, {"fanout-bulk", false}, {"lookup", false},
}

// flavours are the build tag and mode of each flavour (README.md).
var flavours = []struct {
	name, tag string
	reactor   bool
	pureOnly  bool
}{
	{"embedded", "", true, false},
	{"http", "bb_http", true, false},
	{"middleware", "bb_middleware", true, true},
	{"command", "bb_command", false, true},
}

// goModule is the file name of a workload in a flavour.
func goModule(workload, flavour string) string { return workload + "." + flavour + ".wasm" }

var (
	buildOnce sync.Once
	builtDir  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// goGuestDir is where the Go modules are: $BLUEPRINT_GO_GUEST_DIR, or a
// temporary directory the README's build command filled once.
func goGuestDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("BLUEPRINT_GO_GUEST_DIR"); dir != "" {
		for _, w := range workloads {
			if _, err := os.Stat(filepath.Join(dir, goModule(w.name, "embedded"))); err != nil {
				t.Fatalf("BLUEPRINT_GO_GUEST_DIR is set but %v", err)
			}
		}
		return dir
	}
	if testing.Short() {
		t.Skip("-short: building the wasm modules takes a while")
	}
	buildOnce.Do(func() {
		if builtDir, buildErr = os.MkdirTemp("", "bb-go-guests-"); buildErr != nil {
			return
		}
		for _, w := range workloads {
			for _, f := range flavours {
				if f.pureOnly && !w.pure {
					continue
				}
				// The README's commands; GOCACHE and friends come from
				// the environment.
				out := filepath.Join(builtDir, goModule(w.name, f.name))
				args := []string{"build", "-tags=" + f.tag, "-trimpath", "-buildvcs=false", "-ldflags=-s", "-o", out, "./" + w.name}
				if f.reactor {
					args = append([]string{"build", "-buildmode=c-shared"}, args[1:]...)
				}
				cmd := exec.Command("go", args...)
				cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
				if log, err := cmd.CombinedOutput(); err != nil {
					buildErr = fmt.Errorf("go %v: %v\n%s", args, err, log)
					return
				}
				if f.name == "middleware" {
					cmd := exec.Command("go", "run", "./tools/startexport", out)
					if log, err := cmd.CombinedOutput(); err != nil {
						buildErr = fmt.Errorf("startexport %s: %v\n%s", out, err, log)
						return
					}
				}
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtDir
}

// impl is one language's build of the workloads.
type impl struct {
	lang string
	dir  string
}

// module is the embedded flavour of workload: <workload>.embedded.wasm as
// the harness names it, or <workload>.wasm as Rust's cargo does.
func (i impl) module(workload string) string {
	path := filepath.Join(i.dir, goModule(workload, "embedded"))
	if _, err := os.Stat(path); err != nil && i.lang == "rust" {
		return filepath.Join(i.dir, workload+".wasm")
	}
	return path
}

// impls is Go, plus Rust when $BLUEPRINT_RUST_GUEST_DIR is set.
func impls(t *testing.T) []impl {
	t.Helper()
	out := []impl{{"go", goGuestDir(t)}}
	if dir := os.Getenv("BLUEPRINT_RUST_GUEST_DIR"); dir != "" {
		rust := impl{"rust", dir}
		for _, w := range []string{"noop", "counter"} {
			if _, err := os.Stat(rust.module(w)); err != nil {
				t.Fatalf("BLUEPRINT_RUST_GUEST_DIR is set but %v", err)
			}
		}
		out = append(out, rust)
	}
	return out
}

func binFromEnv(t *testing.T, name, what string) string {
	t.Helper()
	bin := os.Getenv(name)
	if bin == "" {
		t.Skipf("%s is not set (path of %s)", name, what)
	}
	return bin
}

// ---- module shape ----

// wasmModule is a module's interface; a function type reads
// "(i32,i32)->(i64)".
type wasmModule struct {
	imports map[string]string // "module.name" -> type, functions only
	exports map[string]string // name -> type, or "memory"
}

func readLEB(b []byte, i *int) uint32 {
	var r uint32
	for shift := 0; ; shift += 7 {
		x := b[*i]
		*i++
		r |= uint32(x&0x7f) << shift
		if x < 0x80 {
			return r
		}
	}
}

func readName(b []byte, i *int) string {
	n := int(readLEB(b, i))
	s := string(b[*i : *i+n])
	*i += n
	return s
}

// parseModule reads the type, import, function and export sections: just
// enough of the binary format to check a module's interface.
func parseModule(t *testing.T, path string) wasmModule {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		t.Fatalf("%s is not a wasm module", path)
	}
	valType := map[byte]string{0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64"}
	var types, funcs []string // funcs: the type of each function index
	m := wasmModule{imports: map[string]string{}, exports: map[string]string{}}
	for i := 8; i < len(b); {
		id := b[i]
		i++
		size := int(readLEB(b, &i))
		sec, j := b[i:i+size], 0
		i += size
		switch id {
		case 1: // types
			for n := readLEB(sec, &j); n > 0; n-- {
				j++ // 0x60
				var parts [2][]string
				for k := range parts {
					for c := readLEB(sec, &j); c > 0; c-- {
						parts[k] = append(parts[k], valType[sec[j]])
						j++
					}
				}
				types = append(types, "("+strings.Join(parts[0], ",")+")->("+strings.Join(parts[1], ",")+")")
			}
		case 2: // imports
			for n := readLEB(sec, &j); n > 0; n-- {
				name := readName(sec, &j) + "." + readName(sec, &j)
				kind := sec[j]
				j++
				if kind != 0 {
					t.Fatalf("%s imports %s, which is not a function", path, name)
				}
				typ := types[readLEB(sec, &j)]
				m.imports[name] = typ
				funcs = append(funcs, typ)
			}
		case 3: // functions
			for n := readLEB(sec, &j); n > 0; n-- {
				funcs = append(funcs, types[readLEB(sec, &j)])
			}
		case 7: // exports
			for n := readLEB(sec, &j); n > 0; n-- {
				name := readName(sec, &j)
				kind := sec[j]
				j++
				index := readLEB(sec, &j)
				switch kind {
				case 0:
					m.exports[name] = funcs[index]
				case 2:
					m.exports[name] = "memory"
				default:
					m.exports[name] = "kind " + strconv.Itoa(int(kind))
				}
			}
		}
	}
	return m
}

func TestModuleShape(t *testing.T) {
	dir := goGuestDir(t)
	abiExports := map[string]string{
		"memory":         "memory",
		"_initialize":    "()->()",
		"bb_abi_version": "()->(i32)",
		"bb_alloc":       "(i32)->(i32)",
		"bb_handle":      "(i32,i32)->(i64)",
	}
	wantExports := map[string]map[string]string{
		"embedded": abiExports,
		"http":     abiExports,
		// _start: renamed from _initialize (tools/startexport).
		"middleware": {"memory": "memory", "_start": "()->()", "handle_request": "()->(i64)", "handle_response": "(i32,i32)->()"},
		"command":    {"memory": "memory", "_start": "()->()"},
	}
	// Every import a flavour may have outside WASI, typed as ABI.md and
	// http-wasm-host-go declare them.
	importTypes := map[string]string{
		"dapr.state_get":                "(i32,i32,i32,i32)->(i64)",
		"dapr.state_get_bulk":           "(i32,i32,i32,i32)->(i64)",
		"dapr.state_set":                "(i32,i32,i32,i32,i32,i32,i32,i32,i32)->(i64)",
		"dapr.state_delete":             "(i32,i32,i32,i32,i32,i32,i32)->(i64)",
		"dapr.publish":                  "(i32,i32,i32,i32,i32,i32,i32,i32)->(i64)",
		"dapr.invoke_binding":           "(i32,i32,i32,i32,i32,i32)->(i64)",
		"dapr.log":                      "(i32,i32,i32)->()",
		"dapr.take_result":              "(i32,i32)->(i64)",
		"http.request":                  "(i32,i32,i32,i32,i32,i32,i32,i32)->(i64)",
		"http.take_result":              "(i32,i32)->(i64)",
		"http_handler.read_body":        "(i32,i32,i32)->(i64)",
		"http_handler.write_body":       "(i32,i32,i32)->()",
		"http_handler.add_header_value": "(i32,i32,i32,i32,i32)->()",
		"http_handler.set_header_value": "(i32,i32,i32,i32,i32)->()",
		"http_handler.set_status_code":  "(i32)->()",
	}
	middleware := []string{"http_handler.add_header_value", "http_handler.read_body",
		"http_handler.set_header_value", "http_handler.set_status_code", "http_handler.write_body"}
	// The non-WASI imports of each workload in each flavour: a pure
	// workload imports nothing from Dapr in any flavour, so it runs on
	// hosts without Dapr access.
	wantImports := map[string]map[string][]string{
		"counter": {
			"embedded": {"dapr.state_get", "dapr.state_set", "dapr.take_result"},
			"http":     {"http.request", "http.take_result"},
		},
		"aggregate": {
			"embedded": {"dapr.publish", "dapr.state_get", "dapr.state_set", "dapr.take_result"},
			"http":     {"http.request", "http.take_result"},
		},
		"fanout": {
			"embedded": {"dapr.state_get", "dapr.state_set", "dapr.take_result"},
			"http":     {"http.request", "http.take_result"},
		},
		"fanout-bulk": {
			"embedded": {"dapr.state_get_bulk", "dapr.state_set", "dapr.take_result"},
			"http":     {"http.request", "http.take_result"},
		},
		"lookup": {
			"embedded": {"dapr.state_get", "dapr.state_set", "dapr.take_result"},
			"http":     {"http.request", "http.take_result"},
		},
	}
	for _, w := range workloads {
		for _, f := range flavours {
			path := filepath.Join(dir, goModule(w.name, f.name))
			if f.pureOnly && !w.pure {
				if _, err := os.Stat(path); err == nil {
					t.Errorf("%s exists, but %s is not pure", path, w.name)
				}
				continue
			}
			what := goModule(w.name, f.name)
			m := parseModule(t, path)
			if !maps.Equal(m.exports, wantExports[f.name]) {
				t.Errorf("%s exports %v, want %v", what, m.exports, wantExports[f.name])
			}
			var got []string
			for name, typ := range m.imports {
				if strings.HasPrefix(name, "wasi_snapshot_preview1.") {
					continue
				}
				got = append(got, name)
				if importTypes[name] != typ {
					t.Errorf("%s: import %s has type %s, want %q", what, name, typ, importTypes[name])
				}
			}
			sort.Strings(got)
			want := wantImports[w.name][f.name]
			if f.name == "middleware" {
				want = middleware
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s imports %v besides WASI, want %v", what, got, want)
			}
		}
	}
}

// ---- vectors ----

var client = &http.Client{Timeout: 30 * time.Second}

// startHost runs the wazero host with modules (name=path) and returns its
// base URL. daprGRPC 0 means no Dapr access.
func startHost(t *testing.T, daprGRPC int, modules map[string]string) string {
	t.Helper()
	bin := binFromEnv(t, "BLUEPRINT_WAZERO_HOST", "the wazero host binary: cd runtimes/wazero && go build -o /tmp/wazero-host .")
	port := vectors.FreePort(t)
	args := []string{"--listen", vectors.Addr(port)}
	if daprGRPC != 0 {
		args = append(args, "--dapr-grpc-port", strconv.Itoa(daprGRPC))
	}
	for name, path := range modules {
		args = append(args, "--module", name+"="+path)
	}
	base := "http://" + vectors.Addr(port)
	done := vectors.StartProcess(t, "wazero host", exec.Command(bin, args...))
	// Compiling a 2 MB Go module takes about a second.
	vectors.WaitFor(t, "wazero host", base+"/healthz", http.StatusOK, done, 60*time.Second)
	return base
}

// sidecar is a running daprd with an in-memory state store and no app.
type sidecar struct {
	http, grpcPort int
}

func startDaprd(t *testing.T) sidecar {
	t.Helper()
	return startDaprdWith(t, daprdOptions{})
}

// daprdOptions are what a test adds to the sidecar's defaults.
type daprdOptions struct {
	// resources are more component files: name -> YAML.
	resources map[string]string
	// pipeline is the component name of an appHttpPipeline handler.
	pipeline string
	// appPort is the app's port on 127.0.0.1, 0 for none.
	appPort int
}

func startDaprdWith(t *testing.T, opts daprdOptions) sidecar {
	t.Helper()
	bin := binFromEnv(t, "BLUEPRINT_DAPRD", "a daprd binary")
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("resources/statestore.yaml", "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: statestore\n"+
		"spec:\n  type: state.in-memory\n  version: v1\n  metadata: []\n")
	// Name resolution from a SQLite file, not mDNS: nothing is announced
	// beyond loopback.
	// The aggregate publishes to "pubsub".
	write("resources/pubsub.yaml", "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: pubsub\n"+
		"spec:\n  type: pubsub.in-memory\n  version: v1\n  metadata: []\n")
	for name, text := range opts.resources {
		write("resources/"+name, text)
	}
	pipeline := ""
	if opts.pipeline != "" {
		pipeline = "  appHttpPipeline:\n    handlers:\n    - name: " + opts.pipeline + "\n      type: middleware.http.wasm\n"
	}
	write("config.yaml", fmt.Sprintf("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: bench\n"+
		"spec:\n%s  nameResolution:\n    component: sqlite\n    version: v1\n    configuration:\n"+
		"      connectionString: %q\n  metric:\n    enabled: false\n", pipeline, filepath.Join(dir, "nr.db")))
	ports := vectors.FreePorts(t, 4)
	s := sidecar{http: ports[0], grpcPort: ports[1]}
	cmd := exec.Command(bin, "--mode", "standalone", "--app-id", "bbgo",
		"--dapr-http-port", strconv.Itoa(s.http),
		"--dapr-grpc-port", strconv.Itoa(s.grpcPort),
		"--dapr-internal-grpc-port", strconv.Itoa(ports[2]),
		"--metrics-port", strconv.Itoa(ports[3]),
		"--dapr-listen-addresses", "127.0.0.1",
		"--dapr-internal-grpc-listen-address", "127.0.0.1",
		"--metrics-listen-address", "127.0.0.1",
		"--resources-path", "resources", "--config", "config.yaml",
		"--enable-profiling=false", "--dapr-graceful-shutdown-seconds", "1")
	if opts.appPort != 0 {
		cmd.Args = append(cmd.Args, "--app-port", strconv.Itoa(opts.appPort), "--app-channel-address", "127.0.0.1")
	}
	cmd.Dir = dir
	done := vectors.StartProcess(t, "daprd", cmd)
	vectors.WaitFor(t, "daprd", "http://"+vectors.Addr(s.http)+"/v1.0/healthz", http.StatusNoContent, done, 30*time.Second)
	return s
}

// state reads key back through Dapr's HTTP state API; ok is false when the
// key has no value.
func (s sidecar) state(t *testing.T, key string) (string, bool) {
	t.Helper()
	status, body := vectors.Get(t, "http://"+vectors.Addr(s.http)+"/v1.0/state/statestore/"+key)
	switch status {
	case http.StatusOK:
		return string(body), true
	case http.StatusNoContent:
		return "", false
	}
	t.Fatalf("GET state %q: %d %q", key, status, body)
	return "", false
}

// seed stores raw bytes under key through daprd's gRPC API (SaveState),
// spoken by hand over h2c: Dapr's HTTP API re-encodes values as JSON, so it
// cannot store the byte strings the counter's edge cases need, and this
// module takes no dependencies.
func (s sidecar) seed(t *testing.T, key string, value []byte) {
	t.Helper()
	item := append(protoField(1, []byte(key)), protoField(2, value)...) // common.v1.StateItem{key, value}
	msg := append(protoField(1, []byte("statestore")), protoField(2, item)...)
	if _, status, message := s.grpc(t, "SaveState", msg); status != "0" {
		t.Fatalf("SaveState %q: grpc-status %q: %s", key, status, message)
	}
}

// protoField is a length-delimited protobuf field.
func protoField(num byte, b []byte) []byte {
	out := append([]byte{num<<3 | 2}, binary.AppendUvarint(nil, uint64(len(b)))...)
	return append(out, b...)
}

// grpc calls method of dapr.proto.runtime.v1.Dapr with the encoded message
// msg over h2c and returns the answer's message, grpc-status and
// grpc-message.
func (s sidecar) grpc(t *testing.T, method string, msg []byte) ([]byte, string, string) {
	t.Helper()
	frame := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
	frame = append(frame, msg...)

	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Protocols: protocols}}
	req, err := http.NewRequest(http.MethodPost,
		"http://"+vectors.Addr(s.grpcPort)+"/dapr.proto.runtime.v1.Dapr/"+method, bytes.NewReader(frame))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	resp, body := vectors.Do(t, h2c, req)
	status, message := resp.Trailer.Get("Grpc-Status"), resp.Trailer.Get("Grpc-Message")
	if status == "" { // a trailers-only answer
		status, message = resp.Header.Get("Grpc-Status"), resp.Header.Get("Grpc-Message")
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: HTTP %d", method, resp.StatusCode)
	}
	if len(body) >= 5 {
		body = body[5:] // the one message's frame header
	}
	return body, status, message
}

// TestPureVectors runs every pure workload's vectors on a wazero host
// without Dapr access (the embedded flavour); the Rust guests only for the
// workloads BLUEPRINT_RUST_GUEST_DIR has.
func TestPureVectors(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.lang, func(t *testing.T) {
			modules := map[string]string{}
			for _, w := range workloads {
				if _, err := os.Stat(im.module(w.name)); w.pure && err == nil {
					modules[w.name] = im.module(w.name)
				}
			}
			// A pure workload needs no Dapr: the host gets no sidecar.
			base := startHost(t, 0, modules)
			for name := range modules {
				v := vectors.Load(t, name)
				if !v.Pure || len(v.FinalState) != 0 {
					t.Fatalf("%s.json: pure %v, final_state %v", name, v.Pure, v.FinalState)
				}
				vectors.RunURL(t, base+"/"+name, v)
			}
			// Larger than one page of a Go heap span, and every byte value.
			big := bytes.Repeat([]byte{0, 1, 2, 0xfe, 0xff}, 200_000)
			vectors.Expect(t, base+"/noop", "1 MB of binary", big, big, nil)
		})
	}
}

func ptr(s string) *string { return &s }

// TestCounterWithoutDapr checks the answers that need no sidecar: the key
// checks, and the wording of a host error ("dapr: <error>") on a host that
// gives the module no Dapr access.
func TestCounterWithoutDapr(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.lang, func(t *testing.T) {
			url := startHost(t, 0, map[string]string{"counter": im.module("counter")}) + "/counter"
			vectors.Expect(t, url, "empty key", nil, nil, ptr("key must not be empty"))
			vectors.Expect(t, url, "129-byte key", bytes.Repeat([]byte("k"), 129), nil, ptr("key must be at most 128 bytes"))
			vectors.Expect(t, url, "not UTF-8", []byte{0xc3, 0x28}, nil, ptr("key must be UTF-8"))
			vectors.Expect(t, url, "surrogate", []byte{0xed, 0xa0, 0x80}, nil, ptr("key must be UTF-8"))
			vectors.Expect(t, url, "no Dapr access", []byte("visits"), nil, ptr("dapr: not permitted"))
		})
	}
}

func TestCounterVectorsThroughDaprd(t *testing.T) {
	v := vectors.Load(t, "counter")
	for _, im := range impls(t) {
		t.Run(im.lang, func(t *testing.T) {
			// Every implementation gets its own daprd: the cases assume a
			// store that starts empty.
			dapr := startDaprd(t)
			url := startHost(t, dapr.grpcPort, map[string]string{"counter": im.module("counter")}) + "/counter"

			vectors.RunURL(t, url, v)
			v.CheckFinalState(t, func(key string) (string, bool) { return dapr.state(t, key) })
			t.Logf("final_state: %d keys checked", len(v.FinalState))

			const n = 40
			vectors.ConcurrentIncrements(t, url, n)
			if got, _ := dapr.state(t, "race"); got != strconv.Itoa(n) {
				t.Errorf("state of race = %q, want %d", got, n)
			}

			// Stored values the vectors do not cover.
			edges := []struct {
				key, stored, output, err, after string
			}{
				{"max-1", "18446744073709551614", "18446744073709551615", "", "18446744073709551615"},
				{"max", "18446744073709551615", "", "counter overflow", "18446744073709551615"},
				{"above", "18446744073709551616", "", "stored value is not a counter", "18446744073709551616"},
				{"zeros", "0041", "42", "", "42"},
				// 27 digits: ABI.md says "1 to 20 ASCII digits", the Rust
				// counter (and so this one) takes any number of leading zeros.
				{"long-zeros", "000000000000000000000000041", "42", "", "42"},
				{"plus", "+1", "", "stored value is not a counter", "+1"},
				{"quoted", `"5"`, "", "stored value is not a counter", `"5"`},
				{"space", " 1", "", "stored value is not a counter", " 1"},
				{"hex", "0x1f", "", "stored value is not a counter", "0x1f"},
			}
			for _, e := range edges {
				dapr.seed(t, e.key, []byte(e.stored))
				var wantErr *string
				if e.err != "" {
					wantErr = &e.err
				}
				vectors.Expect(t, url, "stored "+strconv.Quote(e.stored), []byte(e.key), []byte(e.output), wantErr)
				if got, _ := dapr.state(t, e.key); got != e.after {
					t.Errorf("state of %q after the increment = %q, want %q", e.key, got, e.after)
				}
			}
		})
	}
}

func TestAggregateThroughDaprd(t *testing.T) {
	v := vectors.Load(t, "aggregate")
	events := make(chan string, 100)
	dapr := startDaprdWith(t, daprdOptions{appPort: startSubscriber(t, "aggregates", events)})
	url := startHost(t, dapr.grpcPort, map[string]string{"aggregate": filepath.Join(goGuestDir(t), goModule("aggregate", "embedded"))}) + "/aggregate"
	vectors.RunURL(t, url, v)

	// One event per succeeding case: its output with the key first.
	var want []string
	for _, c := range v.Cases {
		if c.Error == nil {
			var in struct{ Key string }
			if err := json.Unmarshal(c.In(t), &in); err != nil {
				t.Fatal(err)
			}
			want = append(want, `{"key":`+strconv.Quote(in.Key)+`,`+(*c.Output)[1:])
		}
	}
	var got []string
	for range want {
		select {
		case e := <-events:
			got = append(got, e)
		case <-time.After(10 * time.Second):
			t.Fatalf("published events: got %d of %d", len(got), len(want))
		}
	}
	// daprd re-encodes a JSON event's data in its CloudEvent (members
	// sorted), so the events are compared as JSON values.
	for i, w := range want {
		var m map[string]any
		if err := json.Unmarshal([]byte(w), &m); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(m)
		want[i] = string(b)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("published events:\n got %q\nwant %q", got, want)
	}
	v.CheckFinalState(t, func(key string) (string, bool) { return dapr.state(t, key) })

	// Concurrent events on one key add up only through the etag retries.
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			in := `{"key":"race","amount":` + strconv.Itoa(i+1) + `}`
			if status, body, err := vectors.Post(url, []byte(in)); err != nil || status != http.StatusOK {
				t.Errorf("concurrent event: %d %q %v", status, body, err)
			}
		})
	}
	wg.Wait()
	if got, _ := dapr.state(t, "race"); got != `{"count":40,"max":40,"min":1,"sum":820}` {
		t.Errorf("after %d concurrent events: %s", n, got)
	}

	// Stored values the vectors do not cover.
	edges := []struct {
		key, stored, output, err string
	}{
		{"order", ` { "sum" : 5, "min": 5 ,"max":5,"count":1}`, `{"count":2,"max":5,"min":1,"sum":6}`, ""},
		{"top", `{"count":1,"max":0,"min":0,"sum":9223372036854775807}`, "", "aggregate overflow"},
		{"zero", `{"count":0,"max":0,"min":0,"sum":0}`, "", "stored value is not an aggregate"},
		{"three", `{"count":1,"max":0,"min":0}`, "", "stored value is not an aggregate"},
		{"extra", `{"count":1,"max":0,"min":0,"sum":0,"avg":0}`, "", "stored value is not an aggregate"},
		{"text", `{"count":"1","max":0,"min":0,"sum":0}`, "", "stored value is not an aggregate"},
		{"number", `7`, "", "stored value is not an aggregate"},
	}
	for _, e := range edges {
		dapr.seed(t, e.key, []byte(e.stored))
		var wantErr *string
		if e.err != "" {
			wantErr = &e.err
		}
		vectors.Expect(t, url, "stored "+e.stored, []byte(`{"key":"`+e.key+`","amount":1}`), []byte(e.output), wantErr)
	}
}

// TestFanoutAndLookupThroughDaprd runs the workloads' vectors (fanout,
// fanout-bulk, lookup) on one sidecar each, then the stored values the
// vectors cannot cover.
func TestFanoutAndLookupThroughDaprd(t *testing.T) {
	guests := goGuestDir(t)
	module := func(w string) string { return filepath.Join(guests, goModule(w, "embedded")) }
	// fanout-bulk makes the same reads in one bulk call: the same vectors,
	// state and edges.
	for _, name := range []string{"fanout", "fanout-bulk"} {
		t.Run(name, func(t *testing.T) {
			dapr := startDaprd(t)
			url := startHost(t, dapr.grpcPort, map[string]string{name: module(name)}) + "/" + name
			v := vectors.Load(t, name)
			vectors.RunURL(t, url, v)
			v.CheckFinalState(t, func(key string) (string, bool) { return dapr.state(t, key) })
			edges := []struct {
				key, stored, output, err string
			}{
				// 7 mod 2: the second counter is incremented.
				{"zeros", "0007", `{"found":1,"sum":7}`, ""},
				{"plus", "+1", "", "stored value is not a counter"},
				{"top", "9223372036854775807", "", "counter overflow"},
				{"below", "9223372036854775806", `{"found":1,"sum":9223372036854775806}`, ""},
			}
			for _, e := range edges {
				dapr.seed(t, e.key+".0", []byte(e.stored))
				var wantErr *string
				if e.err != "" {
					wantErr = &e.err
				}
				vectors.Expect(t, url, "stored "+strconv.Quote(e.stored), []byte(`{"key":"`+e.key+`","k":2}`), []byte(e.output), wantErr)
			}
			if got, _ := dapr.state(t, "zeros.1"); got != "1" {
				t.Errorf("zeros.1 = %q, want 1", got)
			}
			if got, _ := dapr.state(t, "below.0"); got != "9223372036854775807" {
				t.Errorf("below.0 = %q, want 9223372036854775807", got)
			}
		})
	}
	t.Run("lookup", func(t *testing.T) {
		dapr := startDaprd(t)
		url := startHost(t, dapr.grpcPort, map[string]string{"lookup": module("lookup")}) + "/lookup"
		v := vectors.Load(t, "lookup")
		vectors.RunURL(t, url, v)
		v.CheckFinalState(t, func(key string) (string, bool) { return dapr.state(t, key) })
		// A stored value is the answer, byte for byte, whatever it is.
		dapr.seed(t, "seeded", []byte(`{"any":"value"}`))
		vectors.Expect(t, url, "a seeded key", []byte("seeded"), []byte(`{"any":"value"}`), nil)
		// Racing first requests agree on one value.
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if status, body, err := vectors.Post(url, []byte("race")); err != nil || status != http.StatusOK || string(body) != "4" {
					t.Errorf("racing first lookup: %d %q %v", status, body, err)
				}
			})
		}
		wg.Wait()
	})
}

// startSubscriber serves an app subscribed to topic on pubsub that sends the
// data of every event it gets (as compact JSON) to events.
func startSubscriber(t *testing.T, topic string, events chan<- string) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /dapr/subscribe", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `[{"pubsubname":"pubsub","topic":%q,"route":"/events"}]`, topic)
	})
	mux.HandleFunc("POST /events", func(w http.ResponseWriter, r *http.Request) {
		var envelope struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&envelope); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var compact bytes.Buffer
		_ = json.Compact(&compact, envelope.Data)
		events <- compact.String()
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}
