#!/usr/bin/env python3
"""Copies the paper's stored figure points that a reproduction target needs
into reproductions/<target>/reference.json, each with its source.

Input: docs/reference/figure_data.csv (every point the paper's figures
were drawn from, read out of notebooks/figure_objects/*.pt of the official
code, github.com/KellerJordan/REPAIR at commit e90263d; see
docs/reference/algorithm.md). Accuracies are in percent.

    python3 tools/extract_reference.py [--csv PATH]
"""
import argparse
import csv
import json
import math
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DEFAULT_CSV = os.path.join(ROOT, "docs", "reference", "figure_data.csv")
DATASET_NAMES = {"mnist": "mnist", "fashionmnist": "fashion-mnist", "svhn": "svhn", "cifar10": "cifar10"}
# Figure-object variant -> our curve name.
VARIANTS = {"v1": "endpoint0", "v2": "endpoint1", "vanilla": "interpolated_unaligned",
            "permute": "interpolated", "permute_correct": "repair"}


def number(text):
    """A CSV value as a float, or None (JSON null) when it is empty or not finite."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def metrics(row):
    return {"train_accuracy": number(row["train_acc"]), "train_loss": number(row["train_loss"]),
            "test_accuracy": number(row["test_acc"]), "test_loss": number(row["test_loss"]),
            "alpha": number(row["alpha"])}


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
        "notes": "docs/reference/algorithm.md §4.4: F-MNIST h=4096 and CIFAR-10 h=4096 have a degenerate "
                 "endpoint; exclude them.",
        "points": sorted(points.values(), key=lambda p: (p["dataset"], p["width"])),
    }


SOURCE = ("figure_data.csv rows of %s.pt (KellerJordan/REPAIR notebooks/figure_objects, commit e90263d); "
          "single runs; see docs/reference/algorithm.md §4")


def points_by_key(rows, source_pt, parse_key, variants):
    """Midpoint tables: one point per key, one metrics object per variant.
    Variants with several alphas (curves) keep the alpha-0.5 row as the
    midpoint and the whole curve under "curves"."""
    points = {}
    for row in rows:
        if row["source_pt"] != source_pt or row["variant"] not in variants:
            continue
        coords = parse_key(row["key"])
        if coords is None:
            raise SystemExit("unexpected key %r in %s" % (row["key"], source_pt))
        point = points.setdefault(row["key"], dict(coords, key=row["key"], source_pt=source_pt))
        name = variants[row["variant"]]
        curve = point.setdefault("curves", {}).setdefault(name, {"alpha": [], "test_accuracy": [], "test_loss": []})
        curve["alpha"].append(float(row["alpha"]))
        curve["test_accuracy"].append(number(row["test_acc"]))
        curve["test_loss"].append(number(row["test_loss"]))
        if abs(float(row["alpha"]) - 0.5) < 1e-9 or name.startswith("endpoint"):
            point[name] = metrics(row)
    for point in points.values():
        curves = point.pop("curves")
        full = {k: v for k, v in curves.items() if len(v["alpha"]) > 1}
        if full:
            point["curves"] = full
            first = next(iter(full.values()))
            if "endpoint0" not in point:
                ends = full.get("interpolated", first)
                point["endpoint0"] = {"test_accuracy": ends["test_accuracy"][0], "test_loss": ends["test_loss"][0],
                                      "alpha": 0.0}
                point["endpoint1"] = {"test_accuracy": ends["test_accuracy"][-1], "test_loss": ends["test_loss"][-1],
                                      "alpha": 1.0}
    return list(points.values())


def reference(target, sources, points, notes=""):
    return {"format_version": 1, "target": target,
            "source": "; ".join(SOURCE % s for s in sources), "notes": notes, "points": points}


RESNET20_VARIANTS = {"model_v1": "endpoint0", "model_v2": "endpoint1", "permute": "interpolated"}


def mlp_depth(rows):
    variants = {"v1": "endpoint0", "v2": "endpoint1", "vanilla": "interpolated_unaligned",
                "permute": "interpolated", "permute_correct": "repair", "permute_correct_formula": "closed-form"}

    def parse(key):
        m = re.fullmatch(r"mlp_e50_l(\d+)_h128", key)
        return m and {"dataset": "mnist", "depth": int(m.group(1)), "width": 128, "epochs": 50}
    points = sorted(points_by_key(rows, "mlp_barriers_layers1to50", parse, variants), key=lambda p: p["depth"])
    return reference("mlp_depth", ["mlp_barriers_layers1to50"], points,
                     "Trained with BatchNorm, fused before merging (Train-and-Permute-MNIST-MLP-BatchNorm.ipynb). "
                     "'depth' is the number of extra hidden layers l (the plot's x axis is l+1). For l >= 41 at "
                     "least one endpoint failed to train (docs/reference/algorithm.md §4.4).")


def resnet20_cifar(rows):
    def parse_bn(key):
        m = re.fullmatch(r"resnet20x(\d+)", key)
        return m and {"dataset": "cifar10", "norm": "bn", "width": int(m.group(1))}

    def parse_ln(key):
        m = re.fullmatch(r"layernorm_resnet20x(\d+)", key)
        return m and {"dataset": "cifar10", "norm": "ln", "width": int(m.group(1))}
    bn = points_by_key(rows, "batchnorm_resnet20_barriers", parse_bn, dict(RESNET20_VARIANTS, permute_renorm="reset-bn"))
    ln = points_by_key(rows, "layernorm_resnet20_e250_barriers", parse_ln, dict(RESNET20_VARIANTS, permute_renorm="repair"))
    return reference("resnet20_cifar", ["batchnorm_resnet20_barriers", "layernorm_resnet20_e250_barriers"],
                     sorted(bn + ln, key=lambda p: (p["norm"], p["width"])),
                     "BN nets: 'reset-bn' = permute_renorm (REPAIR of a BN net is a BN reset). LN nets (250 epochs): "
                     "'repair' = permute_renorm; how the official code corrects LN nets is not in its repo "
                     "(docs/reference/algorithm.md §2c).")


def resnet20_datasets(rows):
    names = {"mnist": "mnist", "fashionmnist": "fashion-mnist", "svhn": "svhn"}
    points = []
    for prefix, dataset in names.items():
        def parse(key, dataset=dataset):
            m = re.fullmatch(r"resnet20x(\d+)", key)
            return m and {"dataset": dataset, "norm": "bn", "width": int(m.group(1))}
        points += points_by_key(rows, prefix + "_resnet20_barriers", parse,
                                dict(RESNET20_VARIANTS, permute_renorm="reset-bn"))
    return reference("resnet20_datasets", [p + "_resnet20_barriers" for p in names], 
                     sorted(points, key=lambda p: (p["dataset"], p["width"])),
                     "BatchNorm ResNet20s (keys resnet20x<w>); their training recipe is not in the official repo "
                     "(docs/reference/algorithm.md §3).")


def vgg_cifar(rows):
    variants = dict(RESNET20_VARIANTS, permute_renorm="reset-bn", vanilla="interpolated_unaligned",
                    renorm="reset_unaligned")

    def parse(key):
        m = re.fullmatch(r"vgg(\d+)", key)
        return m and {"dataset": "cifar10", "norm": "bn", "depth": int(m.group(1)), "width": 1}
    points = sorted(points_by_key(rows, "vgg_barriers", parse, variants), key=lambda p: p["depth"])
    demo = {"key": "vgg11_demo", "dataset": "cifar10", "norm": "none", "depth": 11, "width": 1,
            "source_pt": "notebook output",
            "endpoint0": {"test_accuracy": 89.4}, "endpoint1": {"test_accuracy": 89.8},
            "interpolated": {"test_accuracy": 67.3}, "repair": {"test_accuracy": 84.9},
            "closed-form": {"test_accuracy": 84.3},
            "source": "Train-Merge-REPAIR-VGG11.ipynb output (docs/reference/algorithm.md §1 and §4.4: "
                      "89.4/89.8 -> 67.3 -> 84.9, closed-form 84.3; the notebook expects +-5 / +-1 points)"}
    return reference("vgg_cifar", ["vgg_barriers"], points + [demo],
                     "vgg_barriers endpoints (92-94%) fit BatchNorm VGGs, so 'reset-bn' = permute_renorm; which "
                     "variant the paper's VGG figure uses is ambiguous (docs/reference/algorithm.md §4.4). The demo point is "
                     "the norm-free VGG11 of the README notebook.")


def resnet18_cifar(rows):
    variants = {"resnet18": "interpolated_unaligned", "resnet18_permute": "interpolated",
                "resnet18_permute_renorm": "reset-bn", "resnet18_renorm": "reset_unaligned"}
    points = points_by_key(rows, "resnet18_interp", lambda k: {"dataset": "cifar10", "width": 1}, variants)
    return reference("resnet18_cifar", ["resnet18_interp"], points,
                     "101 alphas. Endpoints are the permuted curve's alpha 0 and 1. Barrier 29.59 -> 1.53 points "
                     "(docs/reference/algorithm.md §4.2).")


def imagenet(rows):
    variants = {"vanilla": "interpolated_unaligned", "renorm": "reset_unaligned", "permute": "interpolated",
                "permute_renorm": "reset-bn", "permute_renorm_plus": "repair-blocks"}
    models = {"resnet18j_imagenet_barrier50pp": "resnet18", "resnet50j_imagenet_barrier50pp": "resnet50",
              "resnet50x2_imagenet_barriers": "wide_resnet50_2"}
    points = []
    for source, model in models.items():
        points += points_by_key(rows, source, lambda k, model=model: {"dataset": "imagenet", "model": model},
                                variants)
    return reference("imagenet", list(models), points,
                     "51 alphas on val5k with flip-TTA. 'repair-blocks' = permute_renorm_plus (the paper's ImageNet "
                     "'REPAIR'); its curve away from alpha 0.5 carries the official notebook's alpha bug "
                     "(docs/reference/algorithm.md §5.12): only its midpoint is a valid REPAIR value.")


def cifar100_split(rows):
    point = {"key": "cifar100_split", "dataset": "cifar100", "curves": {}}
    for row in rows:
        if row["source_pt"] != "cifar100_split":
            continue
        v = row["variant"]
        if v == "full":
            point["combined_data"] = metrics(dict(row, alpha="nan"))
        elif v in ("interpolate", "ensemble"):
            name = "repair" if v == "interpolate" else "ensemble"
            curve = point["curves"].setdefault(name, {"alpha": [], "test_accuracy": [], "test_loss": []})
            curve["alpha"].append(float(row["alpha"]))
            curve["test_accuracy"].append(number(row["test_acc"]))
            curve["test_loss"].append(number(row["test_loss"]))
    rep = point["curves"]["repair"]
    point["endpoint0"] = {"test_accuracy": rep["test_accuracy"][0], "test_loss": rep["test_loss"][0], "alpha": 0.0}
    point["endpoint1"] = {"test_accuracy": rep["test_accuracy"][-1], "test_loss": rep["test_loss"][-1], "alpha": 1.0}
    mid = rep["alpha"].index(0.5)
    point["repair"] = {"test_accuracy": rep["test_accuracy"][mid], "test_loss": rep["test_loss"][mid], "alpha": 0.5}
    ens = point["curves"]["ensemble"]
    point["ensemble"] = {"test_accuracy": ens["test_accuracy"][mid], "test_loss": ens["test_loss"][mid], "alpha": 0.5}
    return reference("cifar100_split", ["cifar100_split"], [point],
                     "21 alphas. No 'without REPAIR' curve was stored; the architecture is not recoverable from the "
                     "official repo (docs/reference/algorithm.md §3 and §4.3). The adjusted_v1a/v1b sweeps are not used.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default=DEFAULT_CSV)
    args = parser.parse_args()
    with open(args.csv, newline="") as f:
        rows = list(csv.DictReader(f))
    targets = {"mlp_datasets": mlp_datasets(rows), "mlp_depth": mlp_depth(rows), "resnet20_cifar": resnet20_cifar(rows),
               "resnet20_datasets": resnet20_datasets(rows), "vgg_cifar": vgg_cifar(rows),
               "resnet18_cifar": resnet18_cifar(rows), "imagenet": imagenet(rows),
               "cifar100_split": cifar100_split(rows)}
    for name, data in targets.items():
        out = os.path.join(ROOT, "reproductions", name, "reference.json")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            json.dump(data, f, indent=1, allow_nan=False)
            f.write("\n")
        print("wrote", os.path.relpath(out, ROOT), "(%d points)" % len(data["points"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
