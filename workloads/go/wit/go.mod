// The wasi:http bindings of the component flavour, as a module of their own:
// only export_wasi_http_incoming_handler/ is written by hand; the harness
// copies this folder into its cache and generates the rest beside it from
// workloads/wit/ (wit-bindgen's Go generator, its library from crates.io).
// A module of its own keeps it out of `go vet ./...` and `go test ./...` in
// workloads/go, which build without the generated packages.
module blueprint-bench/wit

go 1.26

// The runtime support the generated code imports: the version wit-bindgen
// 0.62's Go generator names (go.bytecodealliance.org/pkg, its source is
// github.com/bytecodealliance/go-pkg).
require go.bytecodealliance.org/pkg v0.2.3
