#!/usr/bin/env bash
# Copies the built guests out of blueprint-bench's cache layout
# (…/target-<language>/<flavour>/wasm32-wasip1/release/<workload>.wasm) into
# the layout the rendered manifests name: <language>/<workload>.<flavour>.wasm.
set -euo pipefail
from=$1 to=$2
find "$from" -path '*/target-*/*/wasm32-wasip1/release/*.wasm' -not -path '*/deps/*' | while read -r f; do
  rel=${f#*/target-}
  language=${rel%%/*}
  flavour=$(echo "$rel" | cut -d/ -f2)
  workload=$(basename "$f" .wasm)
  mkdir -p "$to/$language"
  cp "$f" "$to/$language/$workload.$flavour.wasm"
done
