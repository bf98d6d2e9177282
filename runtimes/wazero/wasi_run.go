package main

// `wazero-host wasi-run`: runs a WASI preview 1 command module (its
// `_start`) under wazero's own WASI, with arguments, an environment,
// preopened directories and this process's stdio, and exits with the
// guest's exit code. `blueprint-bench wasi-run --runtime wazero` runs this,
// so every runtime's WASI is checked through one command line (README.md).
//
// Exit codes: the guest's own (0 when `_start` returns, n on proc_exit(n));
// 134 when the guest trapped; 124 when it ran past --call-timeout-ms; 125
// when the module could not be run (the same as the Rust adapters,
// runtimes/api/src/command.rs).

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

const (
	exitTrap    = 134
	exitTimeout = 124
	exitSetup   = 125
)

// dirMount is one --dir HOST::GUEST.
type dirMount struct{ host, guest string }

type dirList []dirMount

func (d *dirList) String() string { return fmt.Sprint(*d) }

func (d *dirList) Set(v string) error {
	host, guest, ok := strings.Cut(v, "::")
	if !ok {
		guest = host
	}
	if host == "" || guest == "" {
		return fmt.Errorf("want <host dir>[::<guest dir>], got %q", v)
	}
	info, err := os.Stat(host)
	if err != nil {
		return fmt.Errorf("--dir %q: %w", v, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("--dir %q: %s is not a directory", v, host)
	}
	*d = append(*d, dirMount{host, guest})
	return nil
}

type envList [][2]string

func (e *envList) String() string { return fmt.Sprint(*e) }

func (e *envList) Set(v string) error {
	key, value, ok := strings.Cut(v, "=")
	if !ok || key == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	*e = append(*e, [2]string{key, value})
	return nil
}

type wasiRunConfig struct {
	dirs           dirList
	env            envList
	maxMemoryPages uint32
	timeout        time.Duration
	module         string
	args           []string // argv after the program name
}

func parseWasiRunFlags(args []string, usage io.Writer) (*wasiRunConfig, error) {
	fs := flag.NewFlagSet("wazero-host wasi-run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		cfg       wasiRunConfig
		pages     uint
		timeoutMs int
	)
	fs.Var(&cfg.dirs, "dir", "<host dir>[::<guest dir>] to preopen, read and write (repeatable)")
	fs.Var(&cfg.env, "env", "KEY=VALUE for the guest's environment (repeatable)")
	fs.UintVar(&pages, "max-memory-pages", 1024, "largest guest linear memory, in 64 KiB pages")
	fs.IntVar(&timeoutMs, "call-timeout-ms", 10000, "time limit of the whole run")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(usage, "usage: wazero-host wasi-run [flags] MODULE.wasm [ARGS...]")
			fs.SetOutput(usage)
			fs.PrintDefaults()
		}
		return nil, err
	}
	if fs.NArg() == 0 {
		return nil, errors.New("wasi-run needs a module: wasi-run [flags] MODULE.wasm [ARGS...]")
	}
	if pages == 0 || pages > 65536 {
		return nil, fmt.Errorf("--max-memory-pages %d must be within 1..65536", pages)
	}
	if timeoutMs <= 0 {
		return nil, fmt.Errorf("--call-timeout-ms %d must be positive", timeoutMs)
	}
	cfg.maxMemoryPages = uint32(pages)
	cfg.timeout = time.Duration(timeoutMs) * time.Millisecond
	cfg.module = fs.Arg(0)
	cfg.args = fs.Args()[1:]
	return &cfg, nil
}

// wasiRun is the `wasi-run` subcommand; it returns the process exit code.
func wasiRun(args []string) int {
	cfg, err := parseWasiRunFlags(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "wazero-host wasi-run: %v\n", err)
		return exitSetup
	}
	return runCommand(cfg, os.Stdin, os.Stdout, os.Stderr)
}

// runCommand compiles and runs cfg.module with the given stdio.
func runCommand(cfg *wasiRunConfig, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "wazero-host wasi-run: %s\n", fmt.Sprintf(format, args...))
		return code
	}
	wasm, err := os.ReadFile(cfg.module)
	if err != nil {
		return fail(exitSetup, "%v", err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(cfg.maxMemoryPages))
	defer rt.Close(ctx)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return fail(exitSetup, "WASI: %v", err)
	}
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return fail(exitSetup, "compile %s: %v", cfg.module, err)
	}
	if _, ok := compiled.ExportedFunctions()["_start"]; !ok {
		return fail(exitSetup, "%s is not a WASI command: no `_start`", cfg.module)
	}
	// Checked here so that a module wazero cannot link is a set-up error
	// and every instantiation error after this is the guest's own.
	for _, f := range compiled.ImportedFunctions() {
		if module, name, _ := f.Import(); module != wasi_snapshot_preview1.ModuleName {
			return fail(exitSetup, "unknown import `%s::%s`: a command gets WASI preview 1 only", module, name)
		}
	}
	if len(compiled.ImportedMemories()) > 0 {
		return fail(exitSetup, "%s imports a memory: a command gets WASI preview 1 only", cfg.module)
	}
	fsConfig := wazero.NewFSConfig()
	for _, d := range cfg.dirs {
		fsConfig = fsConfig.WithDirMount(d.host, d.guest)
	}
	modCfg := wazero.NewModuleConfig().
		WithName("").
		WithArgs(append([]string{cfg.module}, cfg.args...)...).
		WithStdin(stdin).
		WithStdout(stdout).
		WithStderr(stderr).
		WithFSConfig(fsConfig).
		// Real clocks and randomness, as the other runtimes' WASI gives them
		// (wazero's defaults are fake and deterministic).
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(rand.Reader)
	for _, kv := range cfg.env {
		modCfg = modCfg.WithEnv(kv[0], kv[1])
	}
	runCtx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	// Instantiation runs `_start`; a guest that returns from it exits 0.
	mod, err := rt.InstantiateModule(runCtx, compiled, modCfg)
	if err == nil {
		_ = mod.Close(ctx)
		return 0
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() != sys.ExitCodeDeadlineExceeded &&
		exit.ExitCode() != sys.ExitCodeContextCanceled {
		return int(exit.ExitCode())
	}
	if errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeContextCanceled {
		return fail(exitTrap, "trap (other): the run was canceled")
	}
	// Instantiation wraps the trap ("module[] function[_start] failed: wasm
	// error: unreachable"); classifyCall reads the part from "wasm error:".
	if at := strings.Index(err.Error(), "wasm error: "); at > 0 {
		err = errors.New(err.Error()[at:])
	}
	ce := classifyCall(err)
	if ce.kind == failTimeout {
		return fail(exitTimeout, "timeout: the run took longer than %v", cfg.timeout)
	}
	return fail(exitTrap, "%s", ce.body())
}
