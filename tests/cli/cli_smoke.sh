#!/usr/bin/env bash
# End-to-end smoke test of the repairbench CLI on the real Fashion-MNIST files
# (tiny model, two batches per epoch): train two models, evaluate one, merge
# them with every correction, and check the exit codes of bad input.
set -euo pipefail
bin="$1"
target="$2"   # a reproduction target binary (repro_mlp_datasets)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export REPAIRBENCH_DATA="$work/empty-data-dir"   # Fashion-MNIST falls back to Debian's package

fail() { echo "cli_smoke: FAIL: $*" >&2; exit 1; }

for seed in 1 2; do
  "$bin" train --width 16 --depth 2 --epochs 1 --max-batches 2 --seed "$seed" \
    --out "$work/m$seed.pt" --export-pytorch "$work/m$seed.state_dict.pt" > "$work/train$seed.log" 2>&1 \
    || { cat "$work/train$seed.log"; fail "train exited non-zero"; }
  grep -q "test accuracy" "$work/train$seed.log" || fail "train printed no test accuracy"
done
"$bin" eval --checkpoint "$work/m1.pt" | grep -q "accuracy" || fail "eval of a native checkpoint"
"$bin" eval --checkpoint "$work/m1.state_dict.pt" --model mlp --width 16 --depth 2 | grep -q "accuracy" \
  || fail "eval of an exported PyTorch state_dict"

"$bin" merge --a "$work/m1.pt" --b "$work/m2.pt" --repair repair,closed-form --alphas 0,0.5,1 \
  --endpoint-epochs 1 --merged-epochs 1 --out "$work/report.json" > "$work/merge.log" 2>&1 \
  || { cat "$work/merge.log"; fail "merge exited non-zero"; }
grep -q "reduction" "$work/merge.log" || fail "merge printed no barrier reduction"
/usr/bin/python3 - "$work/report.json" <<'PY' || fail "merge report is incomplete"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["format_version"] == 1 and r["kind"] == "merge"
assert r["results"]["alignment"]["data_passes"] == 1, r["results"]["alignment"]
assert [c["name"] for c in r["results"]["curves"]] == ["interpolated", "repair", "closed-form"]
assert all(len(c["points"]) == 3 for c in r["results"]["curves"])
assert r["results"]["curves"][1]["barriers"]["test_accuracy"]["midpoint"] is not None
assert len(r["results"]["variance_ratios"]) == 3
for key in ("git_commit", "torch_version", "threads", "blas_core", "date"):
    assert key in r["context"], key
PY
"$bin" merge --a "$work/m1.pt" --b "$work/m2.pt" --match weight --repair none --alphas 0.5 \
  --no-variance-ratios > /dev/null 2>&1 || fail "weight matching merge"

# Bad input: one line on stderr and a distinct exit code per kind of error.
expect_exit() {
  local code=$1; shift
  set +e
  "$@" > "$work/out.log" 2> "$work/err.log"
  local got=$?
  set -e
  [ "$got" -eq "$code" ] || { cat "$work/err.log"; fail "expected exit $code, got $got: $*"; }
  [ "$(wc -l < "$work/err.log")" -eq 1 ] || { cat "$work/err.log"; fail "expected one error line: $*"; }
}
expect_exit 2 "$bin" train --no-such-flag
expect_exit 2 "$bin" frobnicate
expect_exit 3 "$bin" train --dataset cifar10 --data-dir "$work/nowhere"
grep -q "datasets/README.md" "$work/err.log" || fail "missing data set message does not point at datasets/README.md"
printf 'not a checkpoint' > "$work/garbage.pt"
expect_exit 4 "$bin" eval --checkpoint "$work/garbage.pt"
"$bin" train --width 32 --depth 2 --epochs 1 --max-batches 1 --out "$work/wide.pt" > /dev/null 2>&1
expect_exit 2 "$bin" merge --a "$work/m1.pt" --b "$work/wide.pt" --alphas 0.5
grep -q "width" "$work/err.log" || fail "merging different widths does not say what differs"
# A reproduction target whose data set is absent stops at once, naming it.
expect_exit 3 "$target" --datasets cifar10 --data-dir "$work/nowhere" --cache-dir "$work/cache" --out-dir "$work/r"
grep -q "cifar10" "$work/err.log" || fail "missing data set message does not name the data set"
[ ! -d "$work/cache" ] || fail "the target trained something before finding its data missing"
# compare: a report against itself has no changes; check-report accepts a merge report.
"$bin" compare "$work/report.json" "$work/report.json" | grep -q "0 change(s)" || fail "compare of identical reports"
"$bin" check-report "$work/report.json" > /dev/null || fail "check-report rejects a merge report"
echo "cli_smoke: OK"
