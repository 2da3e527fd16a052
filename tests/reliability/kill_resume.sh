#!/usr/bin/env bash
# Crash safety: `repairbench train` killed with SIGKILL at random
# moments and rerun with the same command ends with weights bitwise equal to an
# uninterrupted run (CPU). Real Fashion-MNIST, a small MLP with the GradScaler
# emulation, 12 epochs of 4 batches, a training state written after every epoch.
set -euo pipefail
bin="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export REPAIRBENCH_DATA="$work/empty-data-dir"   # Fashion-MNIST from Debian's package

fail() { echo "kill_resume: FAIL: $*" >&2; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# The same command every time, as a user would rerun it; only the folder differs
# between the reference and the killed run.
command_in() {
  mkdir -p "$work/$1"
  cmd=("$bin" train --width 128 --depth 3 --epochs 12 --batch-size 500 --max-batches 4 --seed 4 --grad-scaler
       --out "$work/$1/model.pt" --export-pytorch "$work/$1/weights.pt")
}

start=$(now_ms)
command_in reference
"${cmd[@]}" > "$work/reference.log" 2>&1 || { cat "$work/reference.log"; fail "uninterrupted run failed"; }
duration=$(( $(now_ms) - start ))

# Three kills, then a run left to finish. Each attempt is killed at a random
# moment up to 0.3 s after it has written a training state of its own (an
# epoch done), so the kills land during training on a fast machine as on a
# slow one.
command_in killed
for attempt in 1 2 3; do
  touch "$work/attempt$attempt.start"
  "${cmd[@]}" > "$work/attempt$attempt.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 6000); do
    [ "$work/killed/model.pt.state" -nt "$work/attempt$attempt.start" ] && break
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.01
  done
  sleep "0.$(printf '%03d' $(( RANDOM % 300 )))"
  kill -KILL "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
done
"${cmd[@]}" > "$work/final.log" 2>&1 || { cat "$work/final.log"; fail "the rerun after the kills failed"; }
[ ! -e "$work/killed/model.pt.state" ] || fail "the training state was left behind after a finished run"
cmp -s "$work/reference/weights.pt" "$work/killed/weights.pt" \
  || fail "weights after the kills differ from the uninterrupted run"
resumes=$(cat "$work"/attempt*.log "$work/final.log" | grep -c "resuming from the training state" || true)
[ "$resumes" -gt 0 ] || fail "no rerun found a training state to resume"
echo "kill_resume: ok: 3 SIGKILLs (an uninterrupted run takes ${duration} ms), ${resumes} rerun(s) resumed;" \
     "final weights bitwise equal to the uninterrupted run ($(grep '^resumed' "$work/final.log" || echo 'last rerun started fresh'))"
