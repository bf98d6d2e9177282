#!/usr/bin/env bash
# Nightly regression gate: build, run the nightly scenario with its trials,
# keep the results under a name with the date and the git revision, compare
# them against this machine's stored baseline, render the report.
#
#   ci/nightly.sh [SCENARIO.toml]          (default: scenarios/blueprints.toml)
#
# Exit codes: 0 no regression (or no baseline yet: the gate is skipped and
# says so), 3 a regression passed both the significance test and its noise
# threshold, anything else: the run itself failed (a cell failed without a
# baseline to judge it, or the harness stopped).
#
# Environment:
#   BLUEPRINT_MACHINE        baseline name (default: the host name)
#   BLUEPRINT_BASELINES_DIR  where baselines live (default: results/baselines)
#   BLUEPRINT_NIGHTLY_DIR    where runs go (default: results/runs/nightly, git-ignored)
#   BLUEPRINT_BIN            a built blueprint-bench to use instead of building
#   COMPARE_ARGS             extra `compare` flags, e.g. "--threshold p99=30"
#   GITHUB_STEP_SUMMARY      when set (GitHub Actions), the Markdown is appended to it
set -uo pipefail
cd "$(dirname "$0")/.."

scenario="${1:-scenarios/blueprints.toml}"
machine="${BLUEPRINT_MACHINE:-$(hostname)}"
baselines="${BLUEPRINT_BASELINES_DIR:-results/baselines}"
nightly_dir="${BLUEPRINT_NIGHTLY_DIR:-results/runs/nightly}"

if [[ -n "${BLUEPRINT_BIN:-}" ]]; then
  bin="$BLUEPRINT_BIN"
else
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/blueprint-bench/target}"
  echo "== build (release)"
  cargo build --release -p blueprint-bench || exit 1
  bin="$CARGO_TARGET_DIR/release/blueprint-bench"
fi

revision="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
  revision="$revision-dirty"
fi
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
name="$(basename "$scenario" .toml)"
run_dir="$nightly_dir/$stamp-$revision"
results="$run_dir/$name.json"
mkdir -p "$run_dir"

echo "== run $scenario -> $results"
"$bin" run "$scenario" --out "$results"
run_code=$?
if [[ ! -s "$results" ]]; then
  echo "error: the run wrote no results (exit $run_code)" >&2
  exit "$(( run_code == 0 ? 1 : run_code ))"
fi

echo "== report"
"$bin" report "$results" --out "$run_dir/report" || exit 1

baseline="$baselines/$machine.json"
gate_code=0
if [[ -f "$baseline" ]]; then
  echo "== compare against $baseline"
  # shellcheck disable=SC2086  # COMPARE_ARGS is a list of flags
  "$bin" compare "$baseline" "$results" ${COMPARE_ARGS:-} > "$run_dir/compare.md"
  gate_code=$?
  "$bin" compare "$baseline" "$results" ${COMPARE_ARGS:-} --json > "$run_dir/compare.json"
  cat "$run_dir/compare.md"
  if (( gate_code != 0 && gate_code != 3 )); then
    echo "error: compare failed (exit $gate_code)" >&2
    exit "$gate_code"
  fi
else
  {
    echo "## Regression gate skipped"
    echo
    echo "No baseline for machine \`$machine\` (\`$baseline\`), so nothing was compared."
    echo "To make this run the baseline: \`blueprint-bench baseline promote $results --machine $machine\`"
  } > "$run_dir/compare.md"
  cat "$run_dir/compare.md"
fi

if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
  { cat "$run_dir/compare.md"; echo; cat "$run_dir/report/report.md"; } >> "$GITHUB_STEP_SUMMARY"
fi

echo
echo "results: $results"
echo "report:  $run_dir/report/report.html"
if (( gate_code == 3 )); then
  echo "REGRESSION against $baseline (exit 3)"
  exit 3
fi
if (( run_code != 0 )); then
  echo "the run had failed cells (exit $run_code)"
  exit "$run_code"
fi
exit 0
