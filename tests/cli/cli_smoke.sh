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

# expect_status CODE COMMAND...: runs it, its output in out.log and err.log, and
# fails unless it exits with CODE.
expect_status() {
  local code=$1; shift
  set +e
  "$@" > "$work/out.log" 2> "$work/err.log"
  local got=$?
  set -e
  [ "$got" -eq "$code" ] || { cat "$work/out.log" "$work/err.log"; fail "expected exit $code, got $got: $*"; }
}
# Bad input: one line on stderr and a distinct exit code per kind of error.
expect_exit() {
  expect_status "$@"
  [ "$(wc -l < "$work/err.log")" -eq 1 ] || { cat "$work/err.log"; fail "expected one error line: ${*:2}"; }
}
# --stats-order sequential reads the training set in stored order without
# augmentation and --weight-order spec sweeps in the network's group order:
# then no seed can change the permutations (what another implementation can
# reproduce batch for batch).
for seed in 1 2; do
  "$bin" merge --a "$work/m1.pt" --b "$work/m2.pt" --repair repair --alphas 0.5 --stats-order sequential \
    --stats-batch-size 500 --endpoint-epochs 1 --merged-epochs 1 --no-variance-ratios --seed "$seed" \
    --out "$work/seq$seed.json" > /dev/null 2>&1 || fail "merge --stats-order sequential"
  "$bin" merge --a "$work/m1.pt" --b "$work/m2.pt" --match weight --weight-order spec --repair none --alphas 0.5 \
    --no-variance-ratios --seed "$seed" --out "$work/wm$seed.json" > /dev/null 2>&1 || fail "merge --weight-order spec"
done
/usr/bin/python3 - "$work" <<'PY' || fail "sequential statistics or spec-order weight matching depend on the seed"
import json, sys
def groups(name):
    r = json.load(open(f"{sys.argv[1]}/{name}"))
    return r, [g["permutation"] for g in r["results"]["alignment"]["groups"]]
r1, p1 = groups("seq1.json")
_, p2 = groups("seq2.json")
assert p1 == p2
assert r1["settings"]["statistics_data"]["order"] == "sequential"
assert r1["settings"]["statistics_data"]["augment"] == "none"
w1, q1 = groups("wm1.json")
_, q2 = groups("wm2.json")
assert q1 == q2 and w1["settings"]["weight_order"] == "spec"
PY
expect_exit 2 "$bin" merge --a "$work/m1.pt" --b "$work/m2.pt" --stats-order sequential --stats-augment flip
expect_exit 2 "$bin" merge --a "$work/m1.pt" --b "$work/m2.pt" --stats-order random
expect_exit 2 "$bin" merge --a "$work/m1.pt" --b "$work/m2.pt" --match weight --weight-order sorted
expect_exit 2 "$bin" train --no-such-flag
expect_exit 2 "$bin" frobnicate
expect_exit 3 "$bin" train --dataset cifar10 --data-dir "$work/nowhere"
grep -q "datasets/README.md" "$work/err.log" || fail "missing data set message does not point at datasets/README.md"
printf 'not a checkpoint' > "$work/garbage.pt"
expect_exit 4 "$bin" eval --checkpoint "$work/garbage.pt"
"$bin" train --width 32 --depth 2 --epochs 1 --max-batches 1 --out "$work/wide.pt" > /dev/null 2>&1
expect_exit 2 "$bin" merge --a "$work/m1.pt" --b "$work/wide.pt" --alphas 0.5
grep -q "width 16 vs 32" "$work/err.log" || fail "merging different widths does not say what differs"
# Model flags that do not fit the checkpoints: refused, saying what differs.
expect_exit 4 "$bin" merge --a "$work/m1.pt" --b "$work/m2.pt" --width 32 --depth 2 --alphas 0.5
grep -q "m1.pt .*(width 16 vs 32)" "$work/err.log" || fail "a checkpoint of another width was not refused by name"
expect_exit 4 "$bin" eval --checkpoint "$work/m1.state_dict.pt" --model mlp --width 32 --depth 2
grep -q "m1.state_dict.pt does not fit the model: shape mismatch" "$work/err.log" \
  || fail "a state_dict of another width does not say which shapes differ"
# Damaged checkpoints: exit 4, the line names the file and the problem.
head -c 2000 "$work/m1.pt" > "$work/cut.pt"
expect_exit 4 "$bin" eval --checkpoint "$work/cut.pt"
grep -q "cut.pt.*truncated" "$work/err.log" || fail "a truncated checkpoint is not named"
/usr/bin/python3 - "$work/m1.state_dict.pt" "$work/nan.pt" <<'PY'
import sys, torch
state = torch.load(sys.argv[1])
state["fc1.weight"][0, 0] = float("nan")
torch.save(state, sys.argv[2])
PY
expect_exit 4 "$bin" eval --checkpoint "$work/nan.pt" --model mlp --width 16 --depth 2
grep -q "nan.pt: entry 'fc1.weight' holds 1 non-finite" "$work/err.log" || fail "NaN weights were not refused"
# Damaged data files: exit 3, the line names the file. An IDX header that
# promises 60000 images of 28x28 with no pixels after it:
mkdir -p "$work/bad-data/mnist"
printf '\0\0\010\003\0\0\352\140\0\0\0\034\0\0\0\034' > "$work/bad-data/mnist/train-images-idx3-ubyte"
for f in train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  : > "$work/bad-data/mnist/$f"
done
expect_exit 3 "$bin" eval --checkpoint "$work/m1.pt" --dataset mnist --data-dir "$work/bad-data"
grep -q "bad-data/mnist/train-images-idx3-ubyte has IDX dims (60000, 28, 28)" "$work/err.log" \
  || fail "a truncated IDX file is not named"
# A CIFAR-10 test batch whose one record has label 10.
c10="$work/bad-data/cifar10/cifar-10-batches-bin"
mkdir -p "$c10"
record() { printf "\\$(printf %03o "$1")"; head -c 3072 /dev/zero; }
for i in 1 2 3 4 5; do record 1 > "$c10/data_batch_$i.bin"; done
record 10 > "$c10/test_batch.bin"
expect_exit 3 "$bin" eval --checkpoint "$work/m1.pt" --dataset cifar10 --data-dir "$work/bad-data"
grep -q "test_batch.bin has label 10 in record 0" "$work/err.log" || fail "an out-of-range CIFAR label is not named"
# A --data-dir the user gives is used alone (no silent fallback to
# Debian's Fashion-MNIST), and a file in its place is refused by name.
mkdir -p "$work/no-fashion"
expect_exit 3 "$bin" train --width 16 --depth 2 --epochs 1 --data-dir "$work/no-fashion" --out "$work/x.pt"
grep -q "no-fashion/fashion-mnist/" "$work/err.log" || fail "a --data-dir without Fashion-MNIST does not say where it looked"
expect_exit 3 "$bin" eval --checkpoint "$work/m1.pt" --data-dir "$work/garbage.pt"
grep -q "garbage.pt is a file, not a directory" "$work/err.log" || fail "a file given as --data-dir is not refused by name"
expect_exit 3 "$target" --data-dir "$work/no-fashion" --datasets fashion-mnist --cache-dir "$work/cache-nf" \
  --out-dir "$work/r-nf"
[ ! -d "$work/cache-nf" ] || fail "the target trained something although its --data-dir has no Fashion-MNIST"
# A REPAIRBENCH_THREADS that is not a thread count is refused naming it (exit 2).
for threads in -3 abc 0; do
  REPAIRBENCH_THREADS=$threads expect_exit 2 "$bin" eval --checkpoint "$work/m1.pt"
  grep -q "REPAIRBENCH_THREADS='$threads' is not a thread count" "$work/err.log" \
    || fail "REPAIRBENCH_THREADS=$threads was not refused by name"
done
REPAIRBENCH_THREADS=abc expect_exit 2 "$target" --smoke --out-dir "$work/r-t" --cache-dir "$work/cache-t"
# merge --out naming one of its inputs (also through ./ or a link) is refused; the input survives.
cp "$work/m1.pt" "$work/m1.copy.pt"
ln -s "$work/m1.pt" "$work/m1.link.pt"
for out in "$work/m1.pt" "$work/./m2.pt" "$work/m1.link.pt"; do
  expect_exit 2 "$bin" merge --a "$work/m1.pt" --b "$work/m2.pt" --alphas 0.5 --out "$out"
  grep -q "is the input" "$work/err.log" || fail "merge --out $out over an input was not refused"
done
cmp -s "$work/m1.pt" "$work/m1.copy.pt" || fail "merge --out replaced its input checkpoint"
# Numeric recipe flags are checked before any work starts (no training state, no output).
for flag in "--lr nan" "--lr -0.1" "--momentum 1.5" "--weight-decay inf" "--epochs 0" "--batch-size -5" \
            "--label-smoothing 1" "--warmup-epochs nan"; do
  # shellcheck disable=SC2086
  expect_exit 2 "$bin" train --width 16 --depth 2 $flag --out "$work/bad-flag.pt"
  grep -q -- "${flag%% *} must be" "$work/err.log" || fail "train $flag was not refused naming the flag"
  [ ! -e "$work/bad-flag.pt" ] && [ ! -e "$work/bad-flag.pt.state" ] || fail "train $flag started work"
done
# A reproduction target whose data set is absent stops at once, naming it.
expect_exit 3 "$target" --datasets cifar10 --data-dir "$work/nowhere" --cache-dir "$work/cache" --out-dir "$work/r"
grep -q "cifar10" "$work/err.log" || fail "missing data set message does not name the data set"
[ ! -d "$work/cache" ] || fail "the target trained something before finding its data missing"
# An unusable --out-dir (below a regular file) is refused before any training.
touch "$work/a-file"
expect_exit 2 "$target" --smoke --out-dir "$work/a-file/reports" --cache-dir "$work/cache-od"
grep -q -- "--out-dir $work/a-file/reports cannot be created" "$work/err.log" || fail "an unusable --out-dir was not named"
[ ! -d "$work/cache-od" ] || fail "the target trained before finding its --out-dir unusable"
# compare: a report against itself has no changes; check-report accepts a merge report.
"$bin" compare "$work/report.json" "$work/report.json" | grep -q "0 change(s)" || fail "compare of identical reports"
"$bin" check-report "$work/report.json" > /dev/null || fail "check-report rejects a merge report"
# compare's exit status separates "the reports differ" (1) from errors (2 usage, 6 I/O).
/usr/bin/python3 - "$work/report.json" "$work/moved.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["results"]["curves"][0]["points"][0]["test"]["loss"] += 1.0
json.dump(r, open(sys.argv[2], "w"))
PY
tolerances="$(dirname "$0")/../regression/tolerances.json"
expect_status 1 "$bin" compare --tolerances "$tolerances" "$work/report.json" "$work/moved.json"
grep -q "test/loss: .*beyond rule '\*loss\*'" "$work/out.log" || fail "compare does not name the metric and its rule"
expect_status 0 "$bin" compare --tolerances "$tolerances" "$work/report.json" "$work/report.json"
printf '{"rules": [{"pattern": "*"}]}' > "$work/no-why.json"
expect_exit 2 "$bin" compare --tolerances "$work/no-why.json" "$work/report.json" "$work/report.json"
expect_exit 6 "$bin" compare --tolerances "$tolerances" "$work/report.json" "$work/missing.json"
# Bad reports: a number that overflows a double (exit 6) and wrongly typed fields (exit 2).
printf '{"results": {"barrier": 1e999}}' > "$work/overflow.json"
expect_exit 6 "$bin" compare "$work/overflow.json" "$work/report.json"
grep -q "overflow.json is not valid JSON: .*number overflow" "$work/err.log" \
  || fail "a report with an overflowing number is not refused by name"
printf '{"format_version": "1", "kind": 3}' > "$work/typed.json"
expect_exit 2 "$bin" check-report "$work/typed.json"
grep -q "typed.json does not follow the report schema: format_version is not 1" "$work/err.log" \
  || fail "a wrongly typed report is not refused by name"
echo "cli_smoke: OK"
