#!/usr/bin/env bash
# The golden regression checks (issue #13). Modes:
#   case GOLDEN_RUNS CLI GOLDEN_DIR TOLERANCES CASE
#       reruns one golden case and compares it with GOLDEN_DIR/CASE.json
#   report CLI GOLDEN NEW TOLERANCES
#       compares a report just written (a target's smoke report) with its golden copy
#   complete GOLDEN_RUNS CLI GOLDEN_DIR TOLERANCES CASE...
#       the cases golden_runs knows, the ones CMake tests and the committed files agree
#   targets GOLDEN_TARGETS_DIR TARGET...
#       there is a committed smoke report for every reproduction target, and no other
# A difference prints each metric with its old and new value and the rule it
# broke, then how to accept an intended change. The golden numbers are those
# of one machine kind's BLAS kernel: on another kernel the check is skipped
# (exit 77) with a message, since every float would move.
set -euo pipefail
mode="$1"
shift
fail() { echo "check_golden: FAIL: $*" >&2; exit 1; }
regenerate="if the change of numbers is intended, run 'make golden' and say why in the commit message"

# blas_core of a report's context ("" when absent).
blas_core() { /usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("context", {}).get("blas_core", ""))' "$1"; }

# compare CLI GOLDEN NEW TOLERANCES: exit 0 equal within the rules, 1 differ.
compare() {
  local cli="$1" golden="$2" new="$3" tolerances="$4" code=0 old_core new_core
  [ -f "$golden" ] || fail "no golden report $golden; run 'make golden' to write it"
  [ -f "$new" ] || fail "the run wrote no report $new"
  old_core=$(blas_core "$golden")
  new_core=$(blas_core "$new")
  if [ "$old_core" != "$new_core" ]; then
    echo "check_golden: skipped: $golden was made with the OpenBLAS kernel '$old_core', this run used" \
         "'$new_core', so float results differ everywhere; run 'make golden' on this machine kind to check here"
    exit 77
  fi
  "$cli" compare --tolerances "$tolerances" "$golden" "$new" > "$work/compare.txt" || code=$?
  if [ "$code" -eq 1 ]; then
    cat "$work/compare.txt"
    fail "$new differs from the golden $golden (above: metric, old -> new, rule); $regenerate"
  fi
  [ "$code" -eq 0 ] || { cat "$work/compare.txt"; fail "repairbench compare failed with exit $code"; }
  tail -n 1 "$work/compare.txt"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case "$mode" in
  case)
    runs="$1" cli="$2" golden_dir="$3" tolerances="$4" name="$5"
    timeout 600 "$runs" "$work" "$name" > "$work/run.log" 2>&1 || { cat "$work/run.log"; fail "golden_runs $name failed"; }
    compare "$cli" "$golden_dir/$name.json" "$work/$name.json" "$tolerances"
    echo "check_golden: ok: $name equals its golden report"
    ;;
  report)
    cli="$1" golden="$2" new="$3" tolerances="$4"
    compare "$cli" "$golden" "$new" "$tolerances"
    echo "check_golden: ok: $new equals its golden report"
    ;;
  complete)
    runs="$1" golden_dir="$3"
    shift 4
    listed=$("$runs" --list | sort)
    tested=$(printf '%s\n' "$@" | sort)
    committed=$(find "$golden_dir" -maxdepth 1 -name '*.json' -printf '%f\n' | sed 's/\.json$//' | sort)
    [ "$listed" = "$tested" ] || fail "golden_runs --list and tests/regression/CMakeLists.txt name different cases"
    [ "$listed" = "$committed" ] || fail "golden_runs --list and the files in $golden_dir differ; run 'make golden'"
    echo "check_golden: ok: $(echo "$listed" | wc -l) golden cases, each tested and committed"
    ;;
  targets)
    dir="$1"
    shift
    committed=$(find "$dir" -maxdepth 1 -name '*.json' -printf '%f\n' | sed 's/\.json$//' | sort)
    [ "$committed" = "$(printf '%s\n' "$@" | sort)" ] \
      || fail "the reports in $dir and the reproduction targets differ; run 'make golden'"
    echo "check_golden: ok: a golden smoke report for each of the $# targets"
    ;;
  *) fail "unknown mode '$mode'" ;;
esac
