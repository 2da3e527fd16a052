#!/usr/bin/env bash
# The golden regression checks. GOLDEN_ROOT holds one folder of
# golden reports per OpenBLAS kernel (GOLDEN_ROOT/<kernel>/CASE.json and
# GOLDEN_ROOT/<kernel>/targets/TARGET.json): every float moves with the
# kernel, so a run is compared with the reports of the kernel it ran, and is
# skipped (exit 77) with a message when that kernel has none. Golden runs run
# through golden_platform.sh, which forces one kernel on every CPU with AVX2
# and FMA, so one folder serves them all. Modes:
#   case GOLDEN_RUNS CLI GOLDEN_ROOT TOLERANCES CASE
#       reruns one golden case and compares it with <kernel>/CASE.json
#   report CLI GOLDEN_ROOT TARGET NEW TOLERANCES
#       compares a report just written (a target's smoke report) with <kernel>/targets/TARGET.json
#   complete GOLDEN_RUNS CLI GOLDEN_ROOT TOLERANCES CASE...
#       the cases golden_runs knows, the ones CMake tests and each kernel's files agree
#   targets GOLDEN_ROOT TARGET...
#       each kernel has a smoke report for every reproduction target, and no other
# A difference prints each metric with its old and new value and the rule it
# broke, then how to accept an intended change.
set -euo pipefail
mode="$1"
shift
fail() { echo "check_golden: FAIL: $*" >&2; exit 1; }
regenerate="if the change of numbers is intended, run 'make golden' and say why in the commit message"

# blas_core of a report's context ("" when absent).
blas_core() { /usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("context", {}).get("blas_core", ""))' "$1"; }

# The kernel folders of GOLDEN_ROOT, one per line.
kernels() { find "$1" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort; }

# kernel_dir_or_skip GOLDEN_ROOT CORE: prints GOLDEN_ROOT/CORE, or exits 77
# (skipped) when no golden reports were made with the OpenBLAS kernel CORE.
kernel_dir_or_skip() {
  if [ -z "$2" ] || [ ! -d "$1/$2" ]; then
    echo "check_golden: skipped: no golden reports for the OpenBLAS kernel '$2' (there are for:" \
         "$(kernels "$1" | tr '\n' ' ')), and float results differ between kernels;" \
         "'make golden-kernel' on this machine adds them for unchanged code" >&2
    exit 77
  fi
  echo "$1/$2"
}

# compare CLI GOLDEN NEW TOLERANCES: exit 0 equal within the rules, 1 differ.
compare() {
  local cli="$1" golden="$2" new="$3" tolerances="$4" code=0
  [ -f "$golden" ] || fail "no golden report $golden; run 'make golden' to write it"
  [ -f "$new" ] || fail "the run wrote no report $new"
  [ "$(blas_core "$golden")" = "$(blas_core "$new")" ] \
    || fail "$golden was made with the OpenBLAS kernel '$(blas_core "$golden")', not the '$(blas_core "$new")' of its folder"
  "$cli" compare --tolerances "$tolerances" "$golden" "$new" > "$work/compare.txt" || code=$?
  if [ "$code" -eq 1 ]; then
    cat "$work/compare.txt"
    fail "$new differs from the golden $golden (above: metric, old -> new, rule); $regenerate"
  fi
  [ "$code" -eq 0 ] || { cat "$work/compare.txt"; fail "repairbench compare failed with exit $code"; }
  tail -n 1 "$work/compare.txt"
}

# same_list WHAT EXPECTED ACTUAL: fails naming WHAT unless the two sorted lists agree.
same_list() { [ "$2" = "$3" ] || fail "$1"; }

platform="$(dirname "$0")/golden_platform.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case "$mode" in
  case)
    runs="$1" cli="$2" root="$3" tolerances="$4" name="$5"
    # Decided before the run: a kernel without goldens is skipped without computing anything.
    dir=$(kernel_dir_or_skip "$root" "$("$platform" "$runs" --blas-core)") || exit $?
    [ -f "$dir/$name.json" ] || fail "no golden report $dir/$name.json; run 'make golden' to write it"
    timeout 600 "$platform" "$runs" "$work" "$name" > "$work/run.log" 2>&1 || { cat "$work/run.log"; fail "golden_runs $name failed"; }
    compare "$cli" "$dir/$name.json" "$work/$name.json" "$tolerances"
    echo "check_golden: ok: $name equals its golden report ($dir)"
    ;;
  report)
    cli="$1" root="$2" target="$3" new="$4" tolerances="$5"
    [ -f "$new" ] || fail "the run wrote no report $new"
    dir=$(kernel_dir_or_skip "$root" "$(blas_core "$new")") || exit $?
    compare "$cli" "$dir/targets/$target.json" "$new" "$tolerances"
    echo "check_golden: ok: $new equals its golden report ($dir)"
    ;;
  complete)
    runs="$1" root="$3"
    shift 4
    listed=$("$runs" --list | sort)
    same_list "golden_runs --list and tests/regression/CMakeLists.txt name different cases" \
      "$listed" "$(printf '%s\n' "$@" | sort)"
    [ -n "$(kernels "$root")" ] || fail "no golden reports in $root; run 'make golden'"
    for k in $(kernels "$root"); do
      same_list "golden_runs --list and the files in $root/$k differ; run 'make golden'" "$listed" \
        "$(find "$root/$k" -maxdepth 1 -name '*.json' -printf '%f\n' | sed 's/\.json$//' | sort)"
    done
    echo "check_golden: ok: $(echo "$listed" | wc -l) golden cases, each tested and committed for" \
         "$(kernels "$root" | tr '\n' ' ')"
    ;;
  targets)
    root="$1"
    shift
    [ -n "$(kernels "$root")" ] || fail "no golden reports in $root; run 'make golden'"
    for k in $(kernels "$root"); do
      same_list "the reports in $root/$k/targets and the reproduction targets differ; run 'make golden'" \
        "$(printf '%s\n' "$@" | sort)" \
        "$(find "$root/$k/targets" -maxdepth 1 -name '*.json' -printf '%f\n' 2>/dev/null | sed 's/\.json$//' | sort)"
    done
    echo "check_golden: ok: a golden smoke report for each of the $# targets, for $(kernels "$root" | tr '\n' ' ')"
    ;;
  *) fail "unknown mode '$mode'" ;;
esac
