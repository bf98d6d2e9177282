//go:build bb_command

// The command flavour: a WASI command for daprd's bindings.wasm
// (components-contrib bindings/wasm), which instantiates the module once per
// "execute" call with the request data on stdin and returns what it wrote
// to stdout.

package guest

import "os"

// Main reads all of stdin, runs the workload once and writes its output to
// stdout (exit code 0), or its error message to stderr with exit code 1.
func Main() {
	os.Exit(command(os.Stdin, os.Stdout, os.Stderr))
}
