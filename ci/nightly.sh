#!/usr/bin/env bash
# Nightly regression gate: build, run the nightly scenario with its trials
# for the report and the trend, then gate on a same-run A/B: the gate
# scenario with this revision's trials paired back to back with the last
# good revision's, on this machine in this run; and on counted work: the
# instructions of both revisions under callgrind (`instructions`).
#
#   ci/nightly.sh [SCENARIO.toml]          (default: scenarios/nightly.toml)
#
# Exit codes: 0 no regression (or nothing to gate against yet: the gate is
# skipped and says why), 3 a regression passed both the significance test
# and its noise threshold, anything else: the run itself failed.
#
# Environment:
#   BLUEPRINT_GATE_SCENARIO  the A/B gate's scenario (default: scenarios/gate.toml)
#   BLUEPRINT_GATE_REV       the revision to gate against (default: the last
#                            good one, kept in $BLUEPRINT_NIGHTLY_DIR/last-good)
#   BLUEPRINT_GATE_BASELINE  instead: the gate's baseline as `ab` parts, e.g.
#                            "daprd=/opt/old/daprd" (space-separated)
#   BLUEPRINT_GATE_CANDIDATE `ab` parts for the candidate (default: this checkout)
#   BLUEPRINT_MACHINE        baseline name (default: the host name)
#   BLUEPRINT_BASELINES_DIR  where baselines live (default: results/baselines)
#   BLUEPRINT_NIGHTLY_DIR    where runs go (default: results/runs/nightly, git-ignored)
#   BLUEPRINT_BIN            a built blueprint-bench to use instead of building
#   BLUEPRINT_NIGHT          which night's share of a [rotation] to run
#                            (default: days since 1970-01-01 UTC)
#   COMPARE_ARGS             extra `ab`/`compare` flags, e.g. "--threshold p99=30"
#   BLUEPRINT_COUNT_ARGS     `instructions` flags for the counted-work gate
#                            (default: "--languages rust")
#   GITHUB_STEP_SUMMARY      when set (GitHub Actions), the Markdown is appended to it
set -uo pipefail
cd "$(dirname "$0")/.."

scenario="${1:-scenarios/nightly.toml}"
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

# The trend: against the stored baseline, for the record, not the gate
# (absolute figures move with the machine's load between runs).
baseline="$baselines/$machine.json"
if [[ -f "$baseline" ]]; then
  echo "== trend: compare against $baseline (not gating)"
  # shellcheck disable=SC2086  # COMPARE_ARGS is a list of flags
  "$bin" compare "$baseline" "$results" ${COMPARE_ARGS:-} > "$run_dir/trend.md"
  "$bin" compare "$baseline" "$results" ${COMPARE_ARGS:-} --json > "$run_dir/trend.json"
else
  echo "== trend: no baseline for machine \`$machine\` ($baseline); to keep this run as one: blueprint-bench baseline promote $results --machine $machine"
fi

# The gate: same-run A/B against the last good revision (or what
# BLUEPRINT_GATE_BASELINE names), this checkout as the candidate.
gate_scenario="${BLUEPRINT_GATE_SCENARIO:-scenarios/gate.toml}"
last_good_file="$nightly_dir/last-good"
gate_rev="${BLUEPRINT_GATE_REV:-$(cat "$last_good_file" 2>/dev/null || true)}"
head_rev="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
gate_baseline="${BLUEPRINT_GATE_BASELINE:-}"
gate_baseline_given="$gate_baseline"
gate_code=0
skip_reason=""
if [[ -z "$gate_baseline" ]]; then
  if [[ -z "$gate_rev" ]]; then
    skip_reason="No last good revision yet (\`$last_good_file\`): this run's revision becomes it if the run passes. To gate against a revision now: \`BLUEPRINT_GATE_REV=<rev> ci/nightly.sh\`."
  elif [[ "$(git rev-parse "$gate_rev" 2>/dev/null)" == "$head_rev" && -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    skip_reason="Nothing changed since the last good revision ($gate_rev)."
  else
    gate_baseline="rev=$gate_rev"
  fi
fi
if [[ -n "$skip_reason" ]]; then
  printf '## Regression gate skipped\n\n%s\n' "$skip_reason" > "$run_dir/compare.md"
else
  ab_args=()
  for part in $gate_baseline; do ab_args+=(--baseline "$part"); done
  for part in ${BLUEPRINT_GATE_CANDIDATE:-}; do ab_args+=(--candidate "$part"); done
  echo "== gate: ab $gate_scenario ${ab_args[*]}"
  # shellcheck disable=SC2086  # COMPARE_ARGS is a list of flags
  "$bin" ab "$gate_scenario" "${ab_args[@]}" --out "$run_dir/ab" ${COMPARE_ARGS:-} > "$run_dir/compare.md"
  gate_code=$?
  if (( gate_code != 0 && gate_code != 3 )); then
    cat "$run_dir/compare.md"
    echo "error: the A/B gate failed (exit $gate_code)" >&2
    exit "$gate_code"
  fi
fi

# Counted work: the instructions this build executes per phase against the
# last good revision's (its binary from the A/B cache, its own guests), under
# callgrind. Counts do not move with the machine's load.
counts_code=0
if [[ -z "$skip_reason" && -n "$gate_rev" && -z "$gate_baseline_given" ]]; then
  cache_dir="${BLUEPRINT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/blueprint-bench}"
  base_sha="$(git rev-parse "$gate_rev")"
  base_bin="$cache_dir/ab/bin/$base_sha/blueprint-bench"
  base_tree="$cache_dir/ab/trees/$base_sha"
  # The Rust guests' pure workloads, and `counter`'s Dapr calls behind a
  # real daprd where the baseline's binary can count them too (its help
  # says so; older revisions refused workloads that call Dapr).
  default_count_args="--languages rust"
  if "$base_bin" instructions --help 2>/dev/null | grep -q "run against a real daprd"; then
    default_count_args="--languages rust --workloads noop,transform,compute,counter"
  fi
  # shellcheck disable=SC2206  # BLUEPRINT_COUNT_ARGS is a list of flags
  count_args=(${BLUEPRINT_COUNT_ARGS:-$default_count_args})
  if ! "$base_bin" instructions --help >/dev/null 2>&1; then
    printf '\n## Instruction counts skipped\n\nRevision %s has no `instructions` command.\n' "$gate_rev" >> "$run_dir/compare.md"
  else
    echo "== counted work: instructions ${count_args[*]} (this build against $gate_rev)"
    (cd "$base_tree" && BLUEPRINT_PROJECT_DIR="$base_tree" "$base_bin" instructions "${count_args[@]}" \
      --out "$run_dir/instructions-baseline.json" > "$run_dir/instructions-baseline.md")
    base_code=$?
    if (( base_code != 0 )); then
      echo "error: counting the baseline's instructions failed (exit $base_code)" >&2
      exit "$base_code"
    fi
    { echo; "$bin" instructions "${count_args[@]}" --out "$run_dir/instructions.json" \
        --against "$run_dir/instructions-baseline.json"; } >> "$run_dir/compare.md"
    counts_code=$?
    if (( counts_code != 0 && counts_code != 3 )); then
      cat "$run_dir/compare.md"
      echo "error: counting instructions failed (exit $counts_code)" >&2
      exit "$counts_code"
    fi
  fi
fi
cat "$run_dir/compare.md"

if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
  { cat "$run_dir/compare.md"; echo; cat "$run_dir/report/report.md"; } >> "$GITHUB_STEP_SUMMARY"
fi

echo
echo "results: $results"
echo "report:  $run_dir/report/report.html"
if (( gate_code == 3 )); then
  echo "REGRESSION against ${gate_baseline} (same-run A/B, exit 3)"
  exit 3
fi
if (( counts_code == 3 )); then
  echo "REGRESSION against ${gate_baseline} (instruction counts, exit 3)"
  exit 3
fi
if (( run_code != 0 )); then
  echo "the run had failed cells (exit $run_code)"
  exit "$run_code"
fi
# A clean checkout that passed becomes the revision the next night gates
# against, and the binary built from it becomes that revision's in the A/B
# cache, so the next night's gate does not build it again.
if [[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" && "$head_rev" != unknown ]]; then
  echo "$head_rev" > "$last_good_file.tmp" && mv "$last_good_file.tmp" "$last_good_file"
  if [[ -z "${BLUEPRINT_BIN:-}" ]]; then
    ab_bin="${BLUEPRINT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/blueprint-bench}/ab/bin/$head_rev"
    mkdir -p "$ab_bin" && cp "$bin" "$ab_bin/blueprint-bench.partial" \
      && mv "$ab_bin/blueprint-bench.partial" "$ab_bin/blueprint-bench"
  fi
fi
exit 0
