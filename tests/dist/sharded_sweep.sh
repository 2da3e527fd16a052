#!/usr/bin/env bash
# Issue #7 item 3: a sweep run as 3 shards (--shard k/3, at the same time, on
# one fresh endpoint cache) and collated with `repairbench report merge`
# equals the unsharded run: `repairbench compare` at tolerance 0 finds no
# change in results or verdict. Collating before every shard is done fails
# with exit 2 naming the missing shard. Every process is bounded in time.
set -euo pipefail
cli="$1"
target="$2"   # repro_mlp_datasets: --smoke has 4 points (data sets) x 1 pair
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "sharded_sweep: FAIL: $*" >&2; exit 1; }
args=(--smoke --datasets mnist,fashion-mnist,svhn,cifar10 --cache-dir "$work/cache-sharded" --out-dir "$work/sharded")

timeout 300 "$target" --smoke --datasets mnist,fashion-mnist,svhn,cifar10 --cache-dir "$work/cache-one" \
  --out-dir "$work/one" > "$work/one.log" 2>&1 || { cat "$work/one.log"; fail "the unsharded run failed"; }

for k in 1 2; do
  timeout 300 "$target" "${args[@]}" --shard "$k/3" > "$work/shard$k.log" 2>&1 &
  pids[$k]=$!
done
for k in 1 2; do
  wait "${pids[$k]}" || { cat "$work/shard$k.log"; fail "shard $k failed"; }
done
grep -q "shard done: 2 run(s)" "$work/shard1.log" || { cat "$work/shard1.log"; fail "shard 1 did not run 2 runs"; }
[ ! -e "$work/sharded/report.json" ] || fail "a shard wrote the target's report"

code=0
timeout 60 "$cli" report merge --shards "$work/sharded/shards" > "$work/early.log" 2>&1 || code=$?
[ "$code" -eq 2 ] && grep -q "shard 3 of 3 has no report" "$work/early.log" \
  || { cat "$work/early.log"; fail "collating without shard 3 gave exit $code"; }

timeout 300 "$target" "${args[@]}" --shard 3/3 > "$work/shard3.log" 2>&1 || { cat "$work/shard3.log"; fail "shard 3 failed"; }
timeout 300 "$cli" report merge --shards "$work/sharded/shards" > "$work/merge.log" 2>&1 \
  || { cat "$work/merge.log"; fail "report merge failed"; }
if grep -q "^  training\|^  loaded\|merging: match" "$work/merge.log"; then
  cat "$work/merge.log"; fail "collating trained, loaded or merged instead of reading the shards"
fi
"$cli" check-report "$work/sharded/report.json" > /dev/null || fail "the collated report fails its schema"
"$cli" compare "$work/one/report.json" "$work/sharded/report.json" --tolerance 0 > "$work/compare.txt" \
  || { cat "$work/compare.txt"; fail "the collated report differs from the unsharded run"; }
for plot in $(cd "$work/one" && ls *.png); do
  [ -s "$work/sharded/$plot" ] || fail "the collated run has no $plot"
done
echo "sharded_sweep: 3 shards collated = the unsharded run ($(tail -n1 "$work/compare.txt"))"
