#!/usr/bin/env bash
# Issue #7: `repairbench train` launched as two ranks over Gloo on loopback (the
# environment torchrun sets) ends with the weights of one process trained with
# the same global batch, up to float summation order: max |difference| < 1e-5
# on weights of size ~0.2 (measured: 3e-8). Every process is bounded in time.
set -euo pipefail
bin="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export REPAIRBENCH_DATA="$work/empty-data-dir"   # Fashion-MNIST from Debian's package
export REPAIRBENCH_THREADS=1
fail() { echo "data_parallel: FAIL: $*" >&2; exit 1; }

args=(train --width 64 --depth 2 --epochs 2 --batch-size 500 --max-batches 6 --seed 3 --checkpoint-every 0)
timeout 300 "$bin" "${args[@]}" --out "$work/one/m.pt" --export-pytorch "$work/one/w.pt" > "$work/one.log" 2>&1 \
  || { cat "$work/one.log"; fail "the single process failed"; }

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for rank in 0 1; do
  RANK=$rank WORLD_SIZE=2 LOCAL_RANK=$rank MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
    timeout 300 "$bin" "${args[@]}" --out "$work/two/m.pt" --export-pytorch "$work/two/w.pt" \
    > "$work/rank$rank.log" 2>&1 &
  pids[$rank]=$!
done
for rank in 0 1; do
  wait "${pids[$rank]}" || { cat "$work/rank$rank.log"; fail "rank $rank failed"; }
done
grep -q "data-parallel over 2 processes" "$work/rank0.log" || { cat "$work/rank0.log"; fail "rank 0 did not run data-parallel"; }

/usr/bin/python3 - "$work/one/w.pt" "$work/two/w.pt" <<'PY' || fail "weights differ beyond the tolerance"
import sys, torch
one, two = torch.load(sys.argv[1]), torch.load(sys.argv[2])
assert one.keys() == two.keys()
diff = max((one[k] - two[k]).abs().max().item() for k in one)
moved = max((one[k]).abs().max().item() for k in one)
print(f"data_parallel: max |one process - two processes| = {diff:.3g} (largest weight {moved:.3g})")
assert diff < 1e-5, diff
PY
