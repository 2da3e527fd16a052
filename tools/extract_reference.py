#!/usr/bin/env python3
"""Copies the paper's stored figure points that a reproduction target needs
into reproductions/<target>/reference.json, each with its source.

Input: ../shared/reference/figure_data.csv (every point the paper's figures
were drawn from, read out of notebooks/figure_objects/*.pt of the official
code, github.com/KellerJordan/REPAIR at commit e90263d; see
../shared/reference/repair_reference.md). Accuracies are in percent.

    python3 tools/extract_reference.py [--csv PATH]
"""
import argparse
import csv
import json
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DEFAULT_CSV = os.path.join(ROOT, "..", "shared", "reference", "figure_data.csv")
DATASET_NAMES = {"mnist": "mnist", "fashionmnist": "fashion-mnist", "svhn": "svhn", "cifar10": "cifar10"}
# Figure-object variant -> our curve name.
VARIANTS = {"v1": "endpoint0", "v2": "endpoint1", "vanilla": "interpolated_unaligned",
            "permute": "interpolated", "permute_correct": "repair"}


def metrics(row):
    return {"train_accuracy": float(row["train_acc"]), "train_loss": float(row["train_loss"]),
            "test_accuracy": float(row["test_acc"]), "test_loss": float(row["test_loss"]),
            "alpha": float(row["alpha"])}


def mlp_datasets(rows):
    points = {}
    for row in rows:
        if row["source_pt"] != "mlp_barriers_datasets":
            continue
        m = re.fullmatch(r"(\w+?)_e100_l(\d+)_h(\d+)", row["key"])
        if m is None or row["variant"] not in VARIANTS:
            raise SystemExit("unexpected row %r" % row)
        dataset, depth, width = DATASET_NAMES[m.group(1)], int(m.group(2)), int(m.group(3))
        point = points.setdefault((dataset, width), {"dataset": dataset, "width": width, "depth": depth,
                                                     "epochs": 100, "key": row["key"]})
        point[VARIANTS[row["variant"]]] = metrics(row)
    return {
        "format_version": 1,
        "target": "mlp_datasets",
        "source": "figure_data.csv rows of mlp_barriers_datasets.pt (KellerJordan/REPAIR "
                  "notebooks/figure_objects, commit e90263d), produced by notebooks/Permute-Datasets-MLP.ipynb; "
                  "single runs. 'interpolated' = permute (aligned, alpha 0.5), 'repair' = permute_correct "
                  "(forward-pass REPAIR), 'interpolated_unaligned' = vanilla.",
        "notes": "repair_reference.md section 4.4: F-MNIST h=4096 and CIFAR-10 h=4096 have a degenerate "
                 "endpoint; exclude them.",
        "points": sorted(points.values(), key=lambda p: (p["dataset"], p["width"])),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default=DEFAULT_CSV)
    args = parser.parse_args()
    with open(args.csv, newline="") as f:
        rows = list(csv.DictReader(f))
    targets = {"mlp_datasets": mlp_datasets(rows)}
    for name, data in targets.items():
        out = os.path.join(ROOT, "reproductions", name, "reference.json")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
        print("wrote", os.path.relpath(out, ROOT), "(%d points)" % len(data["points"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
