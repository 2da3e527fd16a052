#!/usr/bin/env bash
# The main job (`make repro`): the paper's Fashion-MNIST MLP experiment at width
# 128 (10 extra hidden layers, Table 1's MLP recipe). Trains two endpoints
# with seeds 1 and 2 (skipped when their checkpoints exist; about 2 minutes
# each on 2 cores), then aligns, interpolates and REPAIRs them and prints our
# numbers beside the paper's. Writes reports/mlp_fashion-mnist/merge_w128.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${BUILD_DIR:-build}/apps/repairbench"
for seed in 1 2; do
  ckpt="checkpoints/mlp_w128_d10_none_fashion-mnist_seed${seed}.pt"
  if [ -f "$ckpt" ]; then
    echo "repro: using $ckpt (delete it to retrain)"
  else
    "$bin" train --model mlp --width 128 --depth 10 --dataset fashion-mnist --seed "$seed" --out "$ckpt"
  fi
done
"$bin" merge \
  --a checkpoints/mlp_w128_d10_none_fashion-mnist_seed1.pt \
  --b checkpoints/mlp_w128_d10_none_fashion-mnist_seed2.pt \
  --match activation --repair repair,closed-form --alphas 0:1:11 \
  --out reports/mlp_fashion-mnist/merge_w128.json
