package main

// The command line of HOST.md, checked before anything starts.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// moduleArg is one --module name=path.
type moduleArg struct {
	name, path string
}

type config struct {
	listen         string
	daprGRPCPort   int           // 0 = no Dapr access
	daprHTTPPort   int           // 0 = no outbound HTTP for `http` flavour guests
	cacheTTL       time.Duration // 0 = no state cache
	cacheEntries   int
	modules        []moduleArg
	maxMemoryPages uint32
	callTimeout    time.Duration
	cacheDir       string
	reuse          bool   // --instances reuse: warm instances kept between requests
	grpc           bool   // --app-protocol grpc: also serve Dapr's AppCallback (app_callback.go)
	bindingInput   string // --binding-input: the input of a firing without data ("" = empty)
}

// moduleList collects repeated --module flags.
type moduleList []moduleArg

func (m *moduleList) String() string { return fmt.Sprint(*m) }

func (m *moduleList) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	switch {
	case !ok || path == "":
		return fmt.Errorf("want <name>=<path.wasm>, got %q", v)
	case name == "" || strings.Contains(name, "/"):
		return fmt.Errorf("module name %q must be non-empty and contain no '/'", name)
	case name == "healthz" || name == "info":
		// Those paths are the host's own endpoints.
		return fmt.Errorf("module name %q is reserved", name)
	}
	for _, have := range *m {
		if have.name == name {
			return fmt.Errorf("module %q given twice", name)
		}
	}
	*m = append(*m, moduleArg{name, path})
	return nil
}

func parseFlags(args []string, usage io.Writer) (*config, error) {
	fs := flag.NewFlagSet("wazero-host", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by the caller
	var (
		cfg        config
		modules    moduleList
		pages      uint
		timeoutMs  int
		runtime    string
		cacheTTLMs int
		instances  string
		protocol   string
	)
	fs.StringVar(&cfg.listen, "listen", "", "address to serve on: 127.0.0.1:<port> (required)")
	fs.IntVar(&cfg.daprGRPCPort, "dapr-grpc-port", 0, "daprd's gRPC port on 127.0.0.1; omit for no Dapr access")
	fs.IntVar(&cfg.daprHTTPPort, "dapr-http-port", 0, "daprd's HTTP port on 127.0.0.1, for the `http` import; omit to refuse it")
	fs.IntVar(&cacheTTLMs, "state-cache-ttl-ms", 0, "put a read-through state cache in front of Dapr, entries living this long (embedded+cache)")
	fs.IntVar(&cfg.cacheEntries, "state-cache-entries", 10000, "most keys the state cache holds")
	fs.Var(&modules, "module", "<name>=<path.wasm>, served at POST /<name> (repeatable)")
	fs.UintVar(&pages, "max-memory-pages", 1024, "largest guest linear memory, in 64 KiB pages")
	fs.IntVar(&timeoutMs, "call-timeout-ms", 10000, "time limit of one request's guest calls")
	fs.StringVar(&cfg.cacheDir, "cache-dir", "", "directory of wazero's compilation cache (default: in memory)")
	fs.StringVar(&instances, "instances", "fresh", "fresh: a new instance per request; reuse: a pool of warm instances, one returned only after a request that succeeded")
	fs.StringVar(&cfg.bindingInput, "binding-input", "", "file whose bytes an input-binding firing without data (bindings.cron) runs the workload on")
	fs.StringVar(&protocol, "app-protocol", "http", "how daprd calls this app: http, or grpc (also Dapr's AppCallback service over h2c on the same port)")
	// HOST.md gives --runtime to the Rust host; accepting "wazero" lets a
	// harness pass the same command line to every host.
	fs.StringVar(&runtime, "runtime", "wazero", "must be wazero if given")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(usage)
			fs.PrintDefaults()
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := checkListen(cfg.listen); err != nil {
		return nil, err
	}
	if cfg.daprGRPCPort < 0 || cfg.daprGRPCPort > 65535 {
		return nil, fmt.Errorf("--dapr-grpc-port %d is not a port", cfg.daprGRPCPort)
	}
	if cfg.daprHTTPPort < 0 || cfg.daprHTTPPort > 65535 {
		return nil, fmt.Errorf("--dapr-http-port %d is not a port", cfg.daprHTTPPort)
	}
	if len(modules) == 0 {
		return nil, errors.New("at least one --module <name>=<path.wasm> is required")
	}
	if pages == 0 || pages > 65536 {
		return nil, fmt.Errorf("--max-memory-pages %d must be within 1..65536", pages)
	}
	if timeoutMs <= 0 {
		return nil, fmt.Errorf("--call-timeout-ms %d must be positive", timeoutMs)
	}
	if runtime != "wazero" {
		return nil, fmt.Errorf("--runtime %q: this host runs wazero only", runtime)
	}
	if cacheTTLMs < 0 || cfg.cacheEntries < 1 {
		return nil, fmt.Errorf("--state-cache-ttl-ms %d / --state-cache-entries %d must be positive", cacheTTLMs, cfg.cacheEntries)
	}
	switch instances {
	case "fresh":
	case "reuse":
		cfg.reuse = true
	default:
		return nil, fmt.Errorf("--instances %q: want fresh or reuse", instances)
	}
	switch protocol {
	case "http":
	case "grpc":
		cfg.grpc = true
	default:
		return nil, fmt.Errorf("--app-protocol %q: want http or grpc", protocol)
	}
	cfg.cacheTTL = time.Duration(cacheTTLMs) * time.Millisecond
	cfg.modules = modules
	cfg.maxMemoryPages = uint32(pages)
	cfg.callTimeout = time.Duration(timeoutMs) * time.Millisecond
	return &cfg, nil
}

// checkListen accepts 127.0.0.1:<port> only: HOST.md forbids listening
// anywhere but loopback, and the harness always passes that literal form.
func checkListen(addr string) error {
	if addr == "" {
		return errors.New("--listen 127.0.0.1:<port> is required")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", addr, err)
	}
	if host != "127.0.0.1" {
		return fmt.Errorf("--listen %q: only 127.0.0.1 is allowed", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("--listen %q: %q is not a port", addr, port)
	}
	return nil
}
