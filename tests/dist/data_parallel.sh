#!/usr/bin/env bash
# `repairbench train` launched as two ranks over Gloo on loopback (the
# environment torchrun sets) ends with the weights of one process trained with
# the same global batch, up to float summation order: max |difference| < 1e-5
# on weights of size ~0.2 (measured: 3e-8). Then `repairbench merge` of the
# two trained models as two ranks (statistics passes and evaluation shared and
# all-reduced) reports one process's permutation-dependent numbers within
# 1e-6. Every process is bounded in time.
set -euo pipefail
bin="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export REPAIRBENCH_DATA="$work/empty-data-dir"   # Fashion-MNIST from Debian's package
export REPAIRBENCH_THREADS=1
fail() { echo "data_parallel: FAIL: $*" >&2; exit 1; }

args=(train --width 64 --depth 2 --epochs 2 --batch-size 500 --max-batches 6 --checkpoint-every 0)
timeout 300 "$bin" "${args[@]}" --seed 3 --out "$work/one/m.pt" --export-pytorch "$work/one/w.pt" > "$work/one.log" 2>&1 \
  || { cat "$work/one.log"; fail "the single process failed"; }

free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# two_ranks NAME ARGS...: runs `repairbench ARGS` as ranks 0 and 1 of one job, logs in $work/NAME.rankR.log.
two_ranks() {
  local name="$1" port rank
  shift
  port=$(free_port)
  for rank in 0 1; do
    RANK=$rank WORLD_SIZE=2 LOCAL_RANK=$rank MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
      timeout 300 "$bin" "$@" > "$work/$name.rank$rank.log" 2>&1 &
    pids[$rank]=$!
  done
  for rank in 0 1; do
    wait "${pids[$rank]}" || { cat "$work/$name.rank$rank.log"; fail "$name: rank $rank failed"; }
  done
}

# Small gradient buckets: several all-reduces per step, started during backward.
two_ranks train "${args[@]}" --seed 3 --bucket-mb 0.05 --out "$work/two/m.pt" --export-pytorch "$work/two/w.pt"
grep -q "data-parallel over 2 processes" "$work/train.rank0.log" \
  || { cat "$work/train.rank0.log"; fail "rank 0 did not run data-parallel"; }

/usr/bin/python3 - "$work/one/w.pt" "$work/two/w.pt" <<'PY' || fail "weights differ beyond the tolerance"
import sys, torch
one, two = torch.load(sys.argv[1]), torch.load(sys.argv[2])
assert one.keys() == two.keys()
diff = max((one[k] - two[k]).abs().max().item() for k in one)
moved = max((one[k]).abs().max().item() for k in one)
print(f"data_parallel: max |one process - two processes| = {diff:.3g} (largest weight {moved:.3g})")
assert diff < 1e-5, diff
PY

# Merge: model A from the first run, model B trained from another seed.
timeout 300 "$bin" "${args[@]}" --seed 4 --out "$work/b/m.pt" > "$work/b.log" 2>&1 \
  || { cat "$work/b.log"; fail "training model B failed"; }
merge=(merge --a "$work/one/m.pt" --b "$work/b/m.pt" --alphas 0.5 --repair repair,closed-form --endpoint-epochs 1
  --merged-epochs 1 --stats-augment flip)
timeout 300 "$bin" "${merge[@]}" --out "$work/merge1.json" > "$work/merge1.log" 2>&1 \
  || { cat "$work/merge1.log"; fail "the single-process merge failed"; }
two_ranks merge "${merge[@]}" --out "$work/merge2.json"
grep -q "data-parallel statistics and evaluation over 2 processes" "$work/merge.rank0.log" \
  || { cat "$work/merge.rank0.log"; fail "the merge did not run data-parallel"; }
[ ! -s "$work/merge.rank1.log" ] || { cat "$work/merge.rank1.log"; fail "rank 1 printed output"; }
"$bin" compare --old "$work/merge1.json" --new "$work/merge2.json" --tolerance 1e-6 > "$work/compare.log" \
  || { cat "$work/compare.log"; fail "the two-rank merge report differs from one process's"; }
echo "data_parallel: two-rank merge report equals one process's within 1e-6"
