// Command wazero-host is blueprint-bench's wazero host: the `embedded`
// blueprint's app process for Go's wazero runtime, following
// runtimes/HOST.md (command line, HTTP interface, shutdown) and
// workloads/ABI.md (the guest ABI and its `dapr` imports, which go to daprd
// through the official Dapr Go SDK).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
)

// shutdownGrace is how long in-flight requests may take after SIGTERM (HOST.md).
const shutdownGrace = 5 * time.Second

func main() {
	if len(os.Args) > 1 && os.Args[1] == "wasi-run" {
		os.Exit(wasiRun(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "instance-rss" {
		os.Exit(instanceRSS(os.Args[2:], os.Stdout))
	}
	os.Exit(run(os.Args[1:]))
}

// run returns the exit code: 0 after a signal, 1 on a start-up error (one
// line on stderr, as HOST.md asks) or if serving fails.
func run(args []string) int {
	log.SetPrefix("wazero-host: ")
	cfg, err := parseFlags(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return startupError("%v", err)
	}

	// Signals are caught from the start, so a SIGTERM during compilation
	// also ends in an orderly exit.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	var dapr daprAPI = noDapr{}
	if cfg.daprGRPCPort != 0 {
		sdk := newSDKDapr(cfg.daprGRPCPort)
		defer sdk.close()
		dapr = sdk
	}
	var cache *stateCache
	if cfg.cacheTTL > 0 {
		cache = newStateCache(dapr, cfg.cacheTTL, cfg.cacheEntries)
		dapr = cache
	}
	var outbound outboundAPI
	if cfg.daprHTTPPort != 0 {
		outbound = newSidecarHTTP(cfg.daprHTTPPort)
	}
	eng, err := newEngine(context.Background(), engineConfig{
		maxMemoryPages: cfg.maxMemoryPages,
		callTimeout:    cfg.callTimeout,
		cacheDir:       cfg.cacheDir,
		reuse:          cfg.reuse,
		dapr:           dapr,
		outbound:       outbound,
	})
	if err != nil {
		return startupError("%v", err)
	}
	defer eng.close(context.Background())

	handler, err := newServer(context.Background(), eng, cfg.modules, cfg.maxMemoryPages)
	if err != nil {
		return startupError("%v", err)
	}
	handler.cache = cache
	if cfg.bindingInput != "" {
		if handler.bindingInput, err = readBindingInput(cfg.bindingInput, handler.maxBody); err != nil {
			return startupError("%v", err)
		}
	}
	// From the environment, never a flag, so it stays out of process lists.
	handler.appToken = os.Getenv("APP_API_TOKEN")

	// Listening only now is what makes /healthz mean "every module compiled".
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return startupError("%v", err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	var grpcSrv *grpc.Server
	if cfg.grpc {
		// One port: HTTP/2 connections (daprd's gRPC) to AppCallback, the
		// others to the HTTP routes.
		split := newSplitListener(ln)
		grpcSrv = newGRPCServer(handler)
		ln = split.http
		go func() {
			if err := grpcSrv.Serve(split.grpc); err != nil {
				log.Printf("grpc serve: %v", err)
			}
		}()
	}
	log.Printf("serving %d module(s) on http://%s (app protocol grpc: %v)", len(handler.guests), ln.Addr(), cfg.grpc)
	return serve(ctx, stop, srv, grpcSrv, ln)
}

// serve runs srv (and grpcSrv, when daprd calls over gRPC) until ctx ends (a
// signal), then stops accepting and gives in-flight requests shutdownGrace
// to finish.
func serve(ctx context.Context, stop context.CancelFunc, srv *http.Server, grpcSrv *grpc.Server, ln net.Listener) int {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		log.Printf("serve: %v", err)
		return 1
	case <-ctx.Done():
	}
	// A second signal now kills the process the default way.
	stop()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if grpcSrv != nil {
		stopped := make(chan struct{})
		go func() { grpcSrv.GracefulStop(); close(stopped) }()
		defer func() {
			select {
			case <-stopped:
			case <-shutdownCtx.Done():
				grpcSrv.Stop()
			}
		}()
	}
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Printf("shutdown: %v; closing the remaining connections", err)
		_ = srv.Close()
	}
	return 0
}

func startupError(format string, args ...any) int {
	msg := strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", "; ")
	fmt.Fprintf(os.Stderr, "wazero-host: %s\n", msg)
	return 1
}
