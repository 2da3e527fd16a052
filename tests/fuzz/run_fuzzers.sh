#!/bin/sh
# Usage: run_fuzzers.sh <fuzz build dir> <seconds per target> <target>...
# Runs each libFuzzer target for a bounded time from the committed seeds plus
# what earlier runs grew, then prints runs, seconds and findings per target.
# libFuzzer stops a target at its first finding and saves the input under
# <build dir>/findings/<target>/. Exits non-zero when anything was found.
set -u
build=$1
seconds=$2
shift 2
seeds=$(cd "$(dirname "$0")" && pwd)/corpus
status=0
summary=""
for target in "$@"; do
  corpus=$build/corpus/$target
  findings=$build/findings/$target
  log=$build/logs/$target.log
  mkdir -p "$corpus" "$findings" "$(dirname "$log")"
  before=$(ls "$findings" | wc -l)
  start=$(date +%s)
  # 2 GiB covers a LibTorch process with headroom; a reader that needs more
  # for a small input is a finding (libFuzzer's malloc limit defaults to it).
  "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" "$seeds/$target" > "$log" 2>&1
  code=$?
  elapsed=$(( $(date +%s) - start ))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  found=$(( $(ls "$findings" | wc -l) - before ))
  if [ "$code" -ne 0 ] && [ "$found" -eq 0 ]; then found="failed (exit $code)"; fi
  if [ "$found" != 0 ]; then
    status=1
    echo "fuzz_$target: finding, see $log"
    grep -m 3 -E "ERROR|runtime error|uncaught|terminate" "$log"
  fi
  # The campaign's numbers for tools/results.py collect-fuzz.
  printf '{"target": "%s", "seconds": %s, "executions": %s, "inputs": %s, "findings": "%s"}\n' "$target" \
    "$elapsed" "${runs:-null}" "$(ls "$corpus" | wc -l)" "$found" > "$build/logs/$target.json"
  summary="$summary$(printf '%-14s %8s s %12s runs %6s inputs  findings: %s' "$target" "$elapsed" \
    "${runs:-?}" "$(ls "$corpus" | wc -l)" "$found")
"
done
printf '%s' "$summary"
exit $status
