#!/usr/bin/env bash
# Cache lock and determinism, on a small target (mlp_datasets --smoke:
# 8 endpoints on synthetic data):
# 1. three processes that need the same endpoints start at once on one cache:
#    every endpoint is trained exactly once and the others load it;
# 2. the same command with training redone in a fresh cache gives a report with
#    the same numbers (repairbench compare at tolerance 0), so do the three;
# 3. with two threads a pair's endpoints train side by side, one thread each
#    (TargetSettings::concurrent_endpoints), and come out bit for bit as in
#    the one-thread run: the two trainings do not disturb each other;
# 4. a cache the user cannot write (here: another user, nobody) whose
#    endpoints are all present is read without locks, to the same report; one
#    that lacks an endpoint is refused naming a writable --cache-dir.
set -euo pipefail
cli="$1"
target="$2"   # repro_mlp_datasets
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "shared_cache: FAIL: $*" >&2; exit 1; }

for run in 1 2 3; do
  "$target" --smoke --cache-dir "$work/cache" --out-dir "$work/run$run" > "$work/run$run.log" 2>&1 &
  pids[$run]=$!
done
for run in 1 2 3; do
  wait "${pids[$run]}" || { cat "$work/run$run.log"; fail "concurrent run $run failed"; }
done
"$target" --smoke --retrain --cache-dir "$work/fresh-cache" --out-dir "$work/fresh" > "$work/fresh.log" 2>&1 \
  || { cat "$work/fresh.log"; fail "the run with a fresh cache failed"; }

REPAIRBENCH_THREADS=2 "$target" --smoke --retrain --cache-dir "$work/side-cache" --out-dir "$work/side" \
  > "$work/side.log" 2>&1 || { cat "$work/side.log"; fail "the run training endpoints side by side failed"; }
grep -q "side by side, 1 thread(s) each" "$work/side.log" || fail "two threads did not train the endpoints side by side"

endpoints=$(grep -c "^  training" "$work/fresh.log")
[ "$endpoints" -ge 2 ] || fail "the fresh run trained $endpoints endpoints"
trained=$(cat "$work"/run?.log | grep -c "^  training" || true)
loaded=$(cat "$work"/run?.log | grep -c "^  loaded" || true)
[ "$trained" -eq "$endpoints" ] || fail "$trained trainings by three concurrent runs for $endpoints endpoints"
[ "$loaded" -eq $(( 2 * endpoints )) ] || fail "$loaded loads by three concurrent runs, expected $(( 2 * endpoints ))"
leftovers=$(find "$work/cache" -name '*.state' -o -name '*.tmp*' | wc -l)
[ "$leftovers" -eq 0 ] || fail "$leftovers training states or temporary files left in the cache"

for run in run1 run2 run3 fresh side; do
  "$cli" check-report "$work/$run/report.json" > /dev/null || fail "$run's report fails its schema"
done
# The side-by-side endpoints equal the one-thread ones weight for weight (the
# merges after them ran with two threads, so their float sums differ).
/usr/bin/python3 - "$work/fresh-cache" "$work/side-cache" <<'PY' || fail "endpoints trained side by side differ"
import glob, os, sys, torch
fresh = sorted(glob.glob(os.path.join(sys.argv[1], "*.pt")))
assert fresh, "no endpoints in the fresh cache"
for path in fresh:
    a = torch.load(path)["state_dict"]
    b = torch.load(os.path.join(sys.argv[2], os.path.basename(path)))["state_dict"]
    assert a.keys() == b.keys(), path
    for key in a:
        assert torch.equal(a[key], b[key]), f"{os.path.basename(path)} {key}"
PY
for run in run2 run3 fresh; do
  "$cli" compare "$work/run1/report.json" "$work/$run/report.json" --tolerance 0 > "$work/compare.txt" \
    || { cat "$work/compare.txt"; fail "run1 and $run report different numbers"; }
done

# 4. Read-only for nobody: folders 755, files 644, root's. setpriv drops to nobody.
chmod 755 "$work"
chmod -R u=rwX,go=rX "$work/cache"
mkdir -m 777 "$work/ro"   # the reports' root (index.html) and both output folders
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/nonexistent "$@"; }
as_nobody "$target" --smoke --cache-dir "$work/cache" --out-dir "$work/ro/a" > "$work/ro.log" 2>&1 \
  || { cat "$work/ro.log"; fail "a read-only cache with every endpoint present was refused"; }
grep -q "the endpoint cache is read-only: reading" "$work/ro.log" || fail "the read-only cache was not said to be read-only"
if grep -q "^  training" "$work/ro.log"; then fail "the read-only run trained"; fi
"$cli" compare "$work/run1/report.json" "$work/ro/a/report.json" --tolerance 0 > "$work/compare.txt" \
  || { cat "$work/compare.txt"; fail "the read-only cache gave other numbers"; }
code=0
as_nobody "$target" --smoke --pairs 2 --cache-dir "$work/cache" --out-dir "$work/ro/b" > "$work/ro2.log" 2>&1 \
  || code=$?
[ "$code" -eq 6 ] && grep -q "read-only and lacks this endpoint: give a writable --cache-dir" "$work/ro2.log" \
  || { cat "$work/ro2.log"; fail "a read-only cache without the endpoint gave exit $code"; }
echo "shared_cache: ok: 3 concurrent runs trained each of $endpoints endpoints once ($loaded loads);" \
     "a retrained run's report has the same numbers; endpoints trained side by side are the same weights"
