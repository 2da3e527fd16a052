#!/usr/bin/env bash
# A sweep run as 3 shards (--shard k/3, at the same time, on
# one fresh endpoint cache) and collated with `repairbench report merge`
# equals the unsharded run: `repairbench compare` at tolerance 0 finds no
# change in results or verdict. Collating before every shard is done fails
# with exit 2 naming the missing shard. A shard report is data: a program or
# flag planted in one is never run, a target name outside the build's table
# is refused, and crafted or mistyped shard fields are refused with exit 2
# naming the file. Every process is bounded in time.
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
# The collating process computed nothing: its own stage times are zero and
# the shards' sums are named as such, so they cannot be read as its time.
/usr/bin/python3 - "$work/sharded/report.json" <<'PY' || fail "the collated report's stage times can be misread"
import json, sys
c = json.load(open(sys.argv[1]))["context"]
own, summed = c["stage_seconds"], c["shards_stage_seconds_summed"]
assert own["training"] == own["alignment"] == own["curves"] == 0, own
assert summed["alignment"] > 0 and summed["curves"] > 0, summed
PY
for plot in $(cd "$work/one" && ls *.png); do
  [ -s "$work/sharded/$plot" ] || fail "the collated run has no $plot"
done
# Planted programs: the "binary" field older shard reports carried, and a
# flag the target does not know. Neither may run; a copied shard folder
# collates where it now is.
cp -r "$work/sharded" "$work/planted"
rm -f "$work/planted"/*.json "$work/planted"/*.png
printf '#!/bin/sh\ntouch "%s/pwned"\n' "$work" > "$work/evil.sh"
chmod +x "$work/evil.sh"
edit() {  # edit <shard file> <python statement on the JSON `j`>
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
path, statement = sys.argv[1], sys.argv[2]
j = json.load(open(path))
exec(statement)
json.dump(j, open(path, "w"))
PY
}
for f in "$work/planted/shards"/*.json; do edit "$f" "j['binary'] = '$work/evil.sh'"; done
timeout 300 "$cli" report merge --shards "$work/planted/shards/" > "$work/planted.log" 2>&1 \
  || { cat "$work/planted.log"; fail "collating shards with a planted binary failed"; }
[ ! -e "$work/pwned" ] || fail "report merge ran the program a shard report named"
grep -q "evil" "$work/planted.log" && { cat "$work/planted.log"; fail "the planted binary reached the command line"; }
"$cli" compare "$work/one/report.json" "$work/planted/report.json" --tolerance 0 > "$work/compare2.txt" \
  || { cat "$work/compare2.txt"; fail "the copied shard folder collates to another report"; }

expect_refused() {  # expect_refused <what> <text the message must hold>
  local code=0
  timeout 60 "$cli" report merge --shards "$work/bad/shards" > "$work/bad.log" 2>&1 || code=$?
  [ "$code" -eq 2 ] && grep -q -- "$2" "$work/bad.log" && [ ! -e "$work/pwned" ] \
    || { cat "$work/bad.log"; fail "$1: exit $code"; }
}
crafted() {  # crafted <python statement applied to every shard>
  rm -rf "$work/bad" && cp -r "$work/planted" "$work/bad"
  for f in "$work/bad/shards"/*.json; do edit "$f" "$1"; done
}
crafted "j['target'] = '../../../bin/sh'"
expect_refused "a target outside the table" "which this build does not have"
crafted "j['arguments'].append('--exec=$work/evil.sh')"
expect_refused "an unknown flag in the shards' arguments" "unrecognised option '--exec"
crafted "j['shard']['count'] = 0"
expect_refused "a shard count of 0" "a shard is k of n"
crafted "j['shard']['index'] = '1'"
expect_refused "a mistyped shard index" "\"index\" must be an integer, not string"
crafted "j['runs'][0]['pair'] = 'one'"
expect_refused "a mistyped run field" "-of-3.json, run 0: "
crafted "j['context'] = []"
expect_refused "a context that is no object" "\"context\" must be an object"
echo "sharded_sweep: 3 shards collated = the unsharded run ($(tail -n1 "$work/compare.txt"))"
