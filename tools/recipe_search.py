#!/usr/bin/python3
"""The Fashion-MNIST MLP recipe search (docs/fashion-mnist-recipe.md).

Trains the paper's 10-layer MLP (width 128 unless --width) with `repairbench train` under each
candidate recipe, two seeds each, and records test and un-augmented train accuracy and loss beside
the paper's endpoints (docs/reference/figure_data.csv, rows
`fashionmnist_e100_l10_h<width>` v1 / v2):

    /usr/bin/python3 tools/recipe_search.py --out-dir reports/recipe_search [--variants a,b] [--seeds 1,2]

--jobs 2 trains two runs at a time with one thread each (REPAIRBENCH_THREADS=1), which on the
2-core machine finishes two runs sooner than two two-thread runs one after the other; every run
records the thread count it trained with. Each run's checkpoint and log are kept in --out-dir; a rerun skips runs whose result is already in
results.json (so a killed search resumes, and `repairbench train` itself resumes a killed run from
its state file). The table (markdown) is printed at the end and written to table.md.

The metrics come from the lines `repairbench train` prints ("test accuracy X% (loss Y, ...); train
accuracy A% (loss B)") and the per-epoch lines ("epoch k/E loss L ..."); a run that exits non-zero
is recorded as failed with the last line it printed (e.g. a diverged loss).
"""

import argparse
import concurrent.futures
import csv
import json
import os
import re
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name -> (flags added to the stated recipe, what the variant tests). The stated recipe is
# repairbench's `mlp` recipe: Table 1 of the paper (docs/reference/algorithm.md §3).
VARIANTS = {
    "stated": ([], "Table 1: batch 2000, 100 epochs, SGD 0.9, lr 0.2, 5 warm-up epochs then linear to 0, wd 0, translate 4"),
    "flip_translate": (["--augment", "flip+translate4"], "flip + translate 4 (the loader of Permute-Datasets-MLP.ipynb)"),
    "no_augment": (["--augment", "none"], "no augmentation"),
    "lr0.05": (["--lr", "0.05"], "peak lr 0.05"),
    "lr0.1": (["--lr", "0.1"], "peak lr 0.1"),
    "lr0.4": (["--lr", "0.4"], "peak lr 0.4"),
    "b1000_lr0.05_e50": (["--batch-size", "1000", "--lr", "0.05", "--epochs", "50"],
                         "batch 1000, lr 0.05, 50 epochs (Train-and-Permute-MNIST-MLP-NoBatchNorm.ipynb)"),
    "wd5e-4": (["--weight-decay", "5e-4"], "weight decay 5e-4"),
    "grad_scaler": (["--grad-scaler"], "GradScaler skip rule emulated (fp16 overflow steps skipped)"),
    "translate_fill_mean": (["--augment", "translate4-fillmean"], "translate 4, border filled with the data set's mean"),
    "translate_half_open": (["--augment", "translate4-halfopen"], "translate 4, offsets drawn in [0, 8) instead of [0, 8]"),
    "kaiming_init": (["--kaiming-init"], "He init N(0, 2/fan_in), zero biases, instead of PyTorch's default"),
    "kaiming_no_augment": (["--kaiming-init", "--augment", "none"], "He init, no augmentation"),
    "kaiming_flip_translate": (["--kaiming-init", "--augment", "flip+translate4"], "He init, flip + translate 4"),
    "kaiming_grad_scaler": (["--kaiming-init", "--grad-scaler"], "He init, GradScaler skip rule emulated"),
    "kaiming_no_augment_grad_scaler": (["--kaiming-init", "--augment", "none", "--grad-scaler"],
                                       "He init, no augmentation, GradScaler skip rule emulated"),
    # repairbench's mlp_he preset is Table 1 + He init + the skip rule, so this is the
    # kaiming_grad_scaler variant at half the peak learning rate.
    "mlp_he_lr0.1": (["--recipe", "mlp_he", "--lr", "0.1"], "He init, GradScaler skip rule emulated, peak lr 0.1"),
}

RESULT_LINE = re.compile(r"test accuracy ([0-9.]+)% \(loss ([0-9.naif]+), [0-9]+ images\); "
                         r"train accuracy ([0-9.]+)% \(loss ([0-9.naif]+)\)")
THREADS_LINE = re.compile(r"seed [0-9]+, ([0-9]+) threads")
EPOCH_LINE = re.compile(r"^epoch ([0-9]+)/([0-9]+) loss ([0-9.naif]+)")


def paper_endpoints(width):
    """(train_acc, train_loss, test_acc, test_loss) of the paper's two endpoints at this width."""
    path = os.path.join(REPO, "docs", "reference", "figure_data.csv")
    rows = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row["experiment"] == f"fashionmnist_e100_l10_h{width}" and row["variant"] in ("v1", "v2"):
                rows[row["variant"]] = tuple(float(row[k]) for k in ("train_acc", "train_loss", "test_acc", "test_loss"))
    if len(rows) != 2:
        raise SystemExit(f"figure_data.csv has no fashionmnist_e100_l10_h{width} v1/v2 rows")
    return rows["v1"], rows["v2"]


def run_one(binary, out_dir, name, flags, seed, width, threads):
    stem = os.path.join(out_dir, f"{name}_w{width}_seed{seed}")
    # --recipe mlp unless the variant names its preset: every variant starts from
    # Table 1 as stated (PyTorch's default init), whatever repairbench's default for the MLP is.
    base = [] if "--recipe" in flags else ["--recipe", "mlp"]
    cmd = [binary, "train", "--model", "mlp", "--width", str(width), "--depth", "10", "--dataset", "fashion-mnist",
           "--seed", str(seed), "--eval-train", "--out", stem + ".pt"] + base + flags
    env = dict(os.environ)
    if threads:
        env["REPAIRBENCH_THREADS"] = str(threads)
    start = time.time()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    wall = time.time() - start
    with open(stem + ".log", "w") as f:
        f.write(proc.stdout)
    lines = proc.stdout.splitlines()
    result = {"variant": name, "seed": seed, "width": width, "command": cmd, "wall_seconds": round(wall, 1),
              "exit_code": proc.returncode}
    m = THREADS_LINE.search(proc.stdout)
    if m:
        result["threads"] = int(m.group(1))
    # The first epoch whose mean training loss is below 2.0: how long the run sat on the
    # initial plateau (loss 2.3026 = ln 10).
    for line in lines:
        m = EPOCH_LINE.match(line)
        if m and float(m.group(3)) < 2.0:
            result["first_epoch_below_2"] = int(m.group(1))
            break
    m = next((RESULT_LINE.search(line) for line in lines if RESULT_LINE.search(line)), None)
    if proc.returncode != 0 or m is None:
        result["failed"] = lines[-1] if lines else "(no output)"
        return result
    result.update(test_acc=float(m.group(1)), test_loss=float(m.group(2)), train_acc=float(m.group(3)),
                  train_loss=float(m.group(4)))
    return result


def short_failure(text):
    """The reason of a failed run in a few words, e.g. 'diverged at epoch 24'."""
    m = re.search(r"diverged at epoch ([0-9]+)", text) or re.search(r"every step of epoch ([0-9]+) overflowed", text)
    return f"diverged at epoch {m.group(1)}" if m else text


def fmt(values, key, digits):
    got = [v[key] for v in values if key in v]
    if not got:
        return "failed"
    return " / ".join(f"{x:.{digits}f}" for x in got)


def table(results, width):
    (p1, p2) = paper_endpoints(width)
    lines = [
        "| recipe | test acc % | train acc % | test loss | train loss | first epoch with loss < 2 (logged every 10) | threads |",
        "|---|---|---|---|---|---|---|",
        f"| paper (`figure_data.csv`, `fashionmnist_e100_l10_h{width}` v1 / v2) | {p1[2]:.2f} / {p2[2]:.2f} | "
        f"{p1[0]:.2f} / {p2[0]:.2f} | {p1[3]:.3f} / {p2[3]:.3f} | {p1[1]:.3f} / {p2[1]:.3f} | n/a | GPU, fp16 |",
    ]
    for name, (_, what) in VARIANTS.items():
        runs = [r for r in results if r["variant"] == name and r["width"] == width]
        if not runs:
            continue
        runs.sort(key=lambda r: r["seed"])
        plateau = " / ".join(str(r.get("first_epoch_below_2", "never")) for r in runs)
        threads = " / ".join(str(r.get("threads", "?")) for r in runs)
        failed = [f"seed {r['seed']}: {short_failure(r['failed'])}" for r in runs if "failed" in r]
        note = f" ({'; '.join(failed)})" if failed else ""
        lines.append(f"| `{name}`: {what}{note} | {fmt(runs, 'test_acc', 2)} | {fmt(runs, 'train_acc', 2)} | "
                     f"{fmt(runs, 'test_loss', 3)} | {fmt(runs, 'train_loss', 3)} | {plateau} | {threads} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", default=os.path.join(REPO, "checkpoints", "recipe_search"))
    parser.add_argument("--binary", default=os.path.join(REPO, "build", "apps", "repairbench"))
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names: " + ", ".join(VARIANTS))
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (each with one thread when > 1)")
    args = parser.parse_args()

    names = [v for v in args.variants.split(",") if v]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    os.makedirs(args.out_dir, exist_ok=True)
    results_path = os.path.join(args.out_dir, "results.json")
    results = []
    if os.path.exists(results_path):
        with open(results_path) as f:
            results = json.load(f)
    for r in results:  # runs recorded before the thread count was: read it from their logs
        log = os.path.join(args.out_dir, f"{r['variant']}_w{r['width']}_seed{r['seed']}.log")
        if "threads" not in r and os.path.exists(log):
            with open(log) as f:
                m = THREADS_LINE.search(f.read())
            if m:
                r["threads"] = int(m.group(1))
    done = {(r["variant"], r["seed"], r["width"]) for r in results}
    todo = [(name, seed) for name in names for seed in seeds if (name, seed, args.width) not in done]
    threads = 1 if args.jobs > 1 else 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_one, args.binary, args.out_dir, name, VARIANTS[name][0], seed, args.width, threads)
                   for name, seed in todo]
        for future in concurrent.futures.as_completed(futures):
            result = future.result()
            results.append(result)
            tmp = results_path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(results, f, indent=1)
            os.replace(tmp, results_path)
            print(f"{result['variant']} seed {result['seed']}: " + (result.get("failed") or
                  f"test {result['test_acc']:.2f} % train {result['train_acc']:.2f} % ({result['wall_seconds']} s)"),
                  flush=True)
    text = table(results, args.width)
    with open(os.path.join(args.out_dir, f"table_w{args.width}.md"), "w") as f:
        f.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
