#!/usr/bin/env python3
"""Writes REPAIR parity fixtures for repairbench's C++ tests from the Python
reference (repair_ref.py). Run with Debian's interpreter:

    /usr/bin/python3 tools/reference/make_parity_fixtures.py --out DIR [--cases a,b] [--self-test]

One folder per case, DIR/<case>/: case.json, data.pt, net0.pt, net1.pt,
expected.pt (format in README.md beside this file). Deterministic: every random
draw is seeded; single-threaded.
"""
import argparse
import copy
import gzip
import json
import os
import sys
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import repair_ref as R  # noqa: E402

torch.set_num_threads(1)

# Reference section 3, on the 0..255 pixel scale.
NORMALIZATION = {
    "fashion-mnist": ([72.9404], [90.0212]),
    "cifar10": ([125.307, 122.961, 113.8575], [51.5865, 50.847, 51.255]),
    "imagenet": ([0.485 * 255, 0.456 * 255, 0.406 * 255], [0.229 * 255, 0.224 * 255, 0.225 * 255]),
}
FASHION_DIR = "/usr/share/datasets/fashion-mnist"


# -----------------------------------------------------------------------------
# Data
# -----------------------------------------------------------------------------

def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion_mnist(start, n):
    """Training images [start, start+n) as (n,1,28,28) uint8 and (n) int64 labels."""
    x = read_idx(os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz"))[start:start + n]
    y = read_idx(os.path.join(FASHION_DIR, "train-labels-idx1-ubyte.gz"))[start:start + n]
    return torch.from_numpy(x.copy()).unsqueeze(1), torch.from_numpy(y.astype(np.int64))


def synthetic(n, channels, size, seed, classes=10, template_seed=1234):
    """uint8 images with learnable labels: a class template (random 4x4 pattern
    per channel, upsampled, plus a class colour) plus noise. The templates depend only on
    template_seed, so fixture data and training data share the classes."""
    gt = torch.Generator().manual_seed(template_seed)
    templates = torch.randn(classes, channels, 4, 4, generator=gt) + torch.randn(classes, channels, 1, 1, generator=gt)
    templates = F.interpolate(templates, size=(size, size), mode="bilinear", align_corners=False)
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, classes, (n,), generator=g)
    x = 128 + 45 * templates[labels] + 35 * torch.randn(n, channels, size, size, generator=g)
    return x.round().clamp(0, 255).to(torch.uint8), labels


def normalize(images, mean, std):
    m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    return (images.float() - m) / s


def batch_iterator(images, mean, std, batch_size):
    """Stored order, consecutive batches, no augmentation."""
    n = images.shape[0]
    assert n % batch_size == 0
    xs = [normalize(images[i:i + batch_size], mean, std) for i in range(0, n, batch_size)]
    return (lambda: xs), len(xs)


# -----------------------------------------------------------------------------
# Endpoint nets
# -----------------------------------------------------------------------------

def train(model, images, labels, mean, std, steps, batch, lr, seed, wd=5e-4):
    """Brief SGD (momentum 0.9) in train mode, so BN running stats are training's."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=wd)
    model.train()
    first = last = None
    for _ in range(steps):
        idx = torch.randint(0, images.shape[0], (batch,), generator=g)
        loss = F.cross_entropy(model(normalize(images[idx], mean, std)), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
        last = loss.item()
    model.eval()
    return first, last


def revive(model, family, batches, min_active=0.25, target_active=0.5, rounds=3):
    """Fixture construction only (not part of REPAIR): small nets trained for a
    few steps have dead or rarely active ReLU units; a dead unit has an all-zero
    correlation row, which makes the assignment a tie that two LAP solvers may
    break differently. At every post-ReLU matching point, a channel active on
    fewer than min_active of the rows gets its pre-ReLU bias (Linear/Conv bias,
    BN/LN beta, or the block's last one for a block output) shifted so that
    target_active of the rows are positive. One forward pass per round, all
    points at once; rounds repeat until none is changed. Returns the number of
    channel changes."""
    model.eval()
    mods = dict(model.named_modules())
    spec = R.permutation_spec(model, family)
    plan = []  # (group, parts whose outputs sum to the pre-ReLU value, producer with the bias)
    for g in spec.groups:
        mod = mods[g.point]
        if g.relu:
            plan.append((g, [g.point], g.point))
        elif g.point == "maxpool":
            plan.append((g, ["bn1"], "bn1"))
        elif isinstance(mod, (R.zoo.Block, R.torchvision.models.resnet.BasicBlock)):
            last = g.point + (".conv2" if family == "resnet20" and model.norm == "none" else ".bn2")
            sc = g.point + (".shortcut" if family in ("resnet20", "resnet18") else ".downsample")
            plan.append((g, [last, sc if mods.get(sc) is not None else g.point + "#input"], last))
    total = 0
    for _ in range(rounds):
        store, handles = {}, []
        for _, parts, _ in plan:
            for p in parts:
                if p in store:
                    continue
                store[p] = []
                if p.endswith("#input"):
                    handles.append(mods[p[:-6]].register_forward_hook(
                        lambda m, i, o, p=p: store[p].append(R.rows(i[0]))))
                else:
                    handles.append(mods[p].register_forward_hook(lambda m, i, o, p=p: store[p].append(R.rows(o))))
        with torch.no_grad():
            for x in batches():
                model(x)
        R.remove_hooks(handles)
        changed = 0
        for g, parts, producer in plan:
            pre = sum(torch.cat(store[p]) for p in parts)  # (rows, C) float64
            low = (pre > 0).double().mean(0) < min_active
            if low.any():
                q = torch.quantile(pre[:, low], 1 - target_active, dim=0)
                b = mods[producer].bias
                with torch.no_grad():
                    b[low] -= q.to(b.dtype)
                changed += int(low.sum())
        total += changed
        if not changed:
            break
    return total


def lsuv(model, family, x):
    """Fixture construction only: data-dependent init of a norm-free net (each
    Linear/Conv except the logits, in module order, rescaled to unit output std
    and zero mean plus 0.1 on one batch), so a short training run starts from
    healthy activations instead of vanishing (VGG) or exploding (ResNet20)
    ones."""
    logits = {"mlp": "fc2", "resnet20": "linear"}.get(family, "classifier")
    model.eval()
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)) and name != logits:
            out = {}
            h = m.register_forward_hook(lambda mod, i, o: out.__setitem__("y", R.rows(o)))
            with torch.no_grad():
                model(x)
                h.remove()
                y = out["y"]
                s, mu = y.std(0), y.mean(0)
                m.weight.div_(s.view([-1] + [1] * (m.weight.dim() - 1)).float())
                m.bias.copy_(((m.bias.double() - mu) / s + 0.1).float())


def make_nets(cfg, pool, mean, std, steps, batch, lr, seeds=(10, 11), post=None, init="default",
              revive_batches=None, bn_momentum=0.5):
    """Two nets (seeds 10 and 11), each trained on the pool, then `post`
    (add_junctures: after training, as the ImageNet notebooks add them to
    trained nets) and `revive`. Returns (state dicts, (first, last) losses,
    revived channel counts)."""
    sds, losses, revived = [], [], []
    for k, seed in enumerate(seeds):
        torch.manual_seed(seed)
        build = dict(cfg, junctures=False) if post else cfg
        model = R.build_model(build)
        if init == "lsuv":
            lsuv(model, cfg["family"], normalize(pool[0][:8], mean, std))
        # A short run leaves BN running stats far from the final weights' batch
        # statistics with momentum 0.1; a larger training momentum keeps eval
        # mode meaningful (the running stats are still training's).
        for m in model.modules():
            if R.is_bn(m):
                m.momentum = bn_momentum
        # Step counts differ by 2 so BN num_batches_tracked differ but never
        # interpolate to an exact .5.
        losses.append(train(model, pool[0], pool[1], mean, std, steps + 2 * k, batch, lr, seed))
        for m in model.modules():
            if R.is_bn(m):
                m.momentum = 0.1
        if post:
            post(model)
        if revive_batches is not None:
            revived.append(revive(model, cfg["family"], revive_batches))
        sds.append(OrderedDict((k2, v.detach().clone()) for k2, v in model.state_dict().items()))
    return sds, losses, revived


# -----------------------------------------------------------------------------
# Cases
# -----------------------------------------------------------------------------

def model_cfg(family, width, norm, in_channels, image_size, num_classes=10, depth=0, junctures=False):
    return {"family": family, "width": width, "depth": depth, "norm": norm, "junctures": junctures,
            "in_channels": in_channels, "image_size": image_size, "num_classes": num_classes}


def case(name, model, dataset, batch_size, match, std_estimate, repair, target_std_eps, source):
    return {"name": name, "model": model,
            "normalization": {"mean": NORMALIZATION[dataset][0], "std": NORMALIZATION[dataset][1]},
            "dataset": dataset, "batch_size": batch_size, "alpha": 0.5, "match": match,
            "std_estimate": std_estimate, "repair": repair, "target_std_eps": target_std_eps,
            "bn_eps": 1e-5, "endpoint_epochs": 1, "merged_epochs": 1, "source": source}


MLP = model_cfg("mlp", 16, "none", 1, 28, depth=3)
MLP_BN = model_cfg("mlp", 16, "bn", 1, 28, depth=2)
CASES = OrderedDict([
    ("mlp_repair", (case("mlp_repair", MLP, "fashion-mnist", 250, "activation", "average", "repair", 1e-7,
                         "Permute-Datasets-MLP: post-ReLU activation matching with averaged stds (2a), "
                         "forward-pass REPAIR on fc1 and hidden Linears, ResetLayer eps 1e-7 (2c, docs/reference/algorithm.md §5.14)"),
                    "mlp")),
    ("mlp_closed_form", (case("mlp_closed_form", MLP, "fashion-mnist", 250, "activation", "average",
                              "closed-form", 1e-7,
                              "Train-and-Permute-MNIST-MLP-BatchNorm closed-form REPAIR (2c, MLP variant: "
                              "predicted var from endpoint var and covariance, weight sqrt(sigma*^2+1e-7))"),
                         "mlp")),
    ("mlp_weight", (case("mlp_weight", MLP, "fashion-mnist", 250, "weight", "average", "repair", 1e-7,
                         "Git Re-Basin weight matching (2b; fixed group order from identity), then "
                         "Permute-Datasets-MLP forward-pass REPAIR (2c)"),
                    "mlp")),
    ("mlp_bn_reset", (case("mlp_bn_reset", MLP_BN, "fashion-mnist", 250, "activation", "average", "reset-bn",
                           1e-7, "Train-and-Permute-MNIST-MLP-BatchNorm, unfused BN model: post-BN-ReLU "
                           "matching (2a), BN reset of the merged net (2c)"),
                      "mlp_bn")),
    ("vgg11_repair", (case("vgg11_repair", model_cfg("vgg11", 1, "none", 3, 32), "cifar10", 32, "activation",
                           "moment", "repair", 0.0,
                           "Train-Merge-REPAIR-VGG11: post-ReLU matching with moment stds (2a), TrackLayer/"
                           "ResetLayer REPAIR on every conv, weight = sigma* (eps 0) (2c)"),
                      "vgg11")),
    ("vgg11_bn_reset", (case("vgg11_bn_reset", model_cfg("vgg11", 1, "bn", 3, 32), "cifar10", 32, "activation",
                             "average", "reset-bn", 0.0,
                             "Train-and-Permute-CIFAR10-VGG11-BatchNorm: post-BN-ReLU matching (2a), "
                             "permuted + BN reset (2c)"),
                        "vgg11_bn")),
    ("resnet20_bn_reset", (case("resnet20_bn_reset", model_cfg("resnet20", 1, "bn", 3, 32), "cifar10", 32,
                                "activation", "average", "reset-bn", 0.0,
                                "Permute-CIFAR10-ResNet20: streams (stream3 at layer3.1, kk=[3,6,8]) and "
                                "intra-block post-BN-ReLU matching (2a), BN reset (2c)"),
                           "resnet20_bn")),
    ("resnet20_ln_repair", (case("resnet20_ln_repair", model_cfg("resnet20", 1, "ln", 3, 32), "cifar10", 32,
                                 "activation", "average", "repair", 0.0,
                                 "[inf] LN ResNet20 (code not in repo): ResNet20 matching scheme (2a), "
                                 "forward-pass REPAIR of every conv output as Train-Merge-REPAIR-VGG11, "
                                 "weight = sigma* (eps 0) (2c)"),
                            "resnet20_ln")),
    ("resnet20_none_repair", (case("resnet20_none_repair", model_cfg("resnet20", 1, "none", 3, 32), "cifar10",
                                   32, "activation", "average", "repair", 0.0,
                                   "[inf] norm-free ResNet20 (Fixup code not in repo): ResNet20 matching "
                                   "scheme (2a), forward-pass REPAIR of every conv output as "
                                   "Train-Merge-REPAIR-VGG11, weight = sigma* (eps 0) (2c)"),
                              "resnet20_none")),
    ("resnet18_cifar_reset", (case("resnet18_cifar_reset", model_cfg("resnet18", 1, "bn", 3, 8), "cifar10", 32,
                                   "activation", "average", "reset-bn", 0.0,
                                   "Permute-CIFAR10-ResNet18: matching on raw pre-BN conv outputs (stem "
                                   "conv1, layerS.0.conv2, conv1s; 2a), permuted + BN reset (2c); 8x8 "
                                   "inputs to keep the fixture fast"),
                              "resnet18")),
    ("resnet18_imagenet_blocks", (case("resnet18_imagenet_blocks",
                                       model_cfg("resnet18_imagenet", 1, "bn", 3, 64, num_classes=1000,
                                                 junctures=True), "imagenet", 16, "activation", "moment",
                                       "repair-blocks", 1e-5,
                                       "Permute-ImageNet-ResNet18 permute_renorm_plus: junctures, stream0 after "
                                       "maxpool, streams at each stage's last block (2a); BN reset plus "
                                       "ResetLayer on every block output and on fc in one train pass, eps "
                                       "1e-5 (2c); moment stds as Merge-ResNet50"),
                                  "resnet18_imagenet")),
])

# Net pairs (shared by cases with the same key): data.pt, training pool, training recipe.
NETS = {
    "mlp": dict(n=1000, steps=100, batch=100, lr=0.05),
    "mlp_bn": dict(n=1000, steps=100, batch=100, lr=0.05),
    "vgg11": dict(n=64, steps=10, batch=16, lr=0.005, init="lsuv"),
    "vgg11_bn": dict(n=64, steps=10, batch=16, lr=0.01),
    "resnet20_bn": dict(n=64, steps=16, batch=16, lr=0.05),
    "resnet20_ln": dict(n=64, steps=12, batch=16, lr=0.008),
    "resnet20_none": dict(n=64, steps=16, batch=16, lr=0.003, init="lsuv"),
    "resnet18": dict(n=256, steps=12, batch=16, lr=0.02),
    "resnet18_imagenet": dict(n=32, steps=12, batch=16, lr=0.03),
}


def make_pair(key, c):
    """(data, (sd0, sd1), losses) for a net key."""
    recipe = NETS[key]
    cfg = c["model"]
    mean, std = c["normalization"]["mean"], c["normalization"]["std"]
    if c["dataset"] == "fashion-mnist":
        data = fashion_mnist(0, recipe["n"])
        pool = fashion_mnist(recipe["n"], 10000)
    else:
        data = synthetic(recipe["n"], cfg["in_channels"], cfg["image_size"], seed=1)
        pool = synthetic(512, cfg["in_channels"], cfg["image_size"], seed=2)
    post = R.zoo.add_junctures if cfg.get("junctures") else None
    batches, _ = batch_iterator(data[0], mean, std, c["batch_size"])
    sds, losses, revived = make_nets(cfg, pool, mean, std, recipe["steps"], recipe["batch"], recipe["lr"],
                                     post=post, init=recipe.get("init", "default"), revive_batches=batches)
    return data, sds, (losses, revived)


# -----------------------------------------------------------------------------
# Expected values
# -----------------------------------------------------------------------------

def accuracy(logits, labels):
    return 100.0 * (logits.argmax(1) == labels).double().mean().item()


def max_rel(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()


def lap_stability(corr, perm, trials=3):
    """Largest relative noise level (1e-3 ... 1e-9, times max|corr|) at which
    every one of `trials` perturbed copies of corr has the same assignment; 0 if
    even 1e-9 changes it (a tie, e.g. two dead units)."""
    g = torch.Generator().manual_seed(0)
    scale = corr.abs().max().item()
    for level in (1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9):
        if all(torch.equal(R.solve_lap(corr + level * scale * torch.randn(corr.shape, generator=g,
                                                                           dtype=torch.float64)), perm)
               for _ in range(trials)):
            return level
    return 0.0


def compute_expected(c, data, sd0, sd1, notes):
    cfg, fam = c["model"], c["model"]["family"]
    mean, std = c["normalization"]["mean"], c["normalization"]["std"]
    batches, nb = batch_iterator(data[0], mean, std, c["batch_size"])
    alpha, eps_t, bn_eps = c["alpha"], c["target_std_eps"], c["bn_eps"]
    build = lambda sd: R.load(R.build_model(cfg), sd)  # noqa: E731
    m0, m1 = build(sd0), build(sd1)
    spec = R.permutation_spec(m0, fam)
    exp = OrderedDict()
    stability = OrderedDict()

    # Alignment (2a / 2b)
    if c["match"] == "activation":
        corrs, perms = R.activation_matching(spec, m0, m1, batches, nb, c["std_estimate"])
        for g in spec.groups:
            exp["corr." + g.name] = corrs[g.name]
            stability[g.name] = lap_stability(corrs[g.name], perms[g.name])
            dead = int(((corrs[g.name].abs().sum(1) == 0).sum() + (corrs[g.name].abs().sum(0) == 0).sum()).item())
            if dead:
                notes.append("WARNING: %s has %d all-zero correlation rows/columns (dead units)" % (g.name, dead))
        notes.append("assignment stable under relative noise: " + " ".join(
            "%s:%.0e" % (k, v) for k, v in stability.items()))
    else:
        perms, sweeps = R.weight_matching(spec, sd0, sd1)
        notes.append("weight matching: %d sweeps" % sweeps)
    for g in spec.groups:
        exp["perm." + g.name] = perms[g.name]
        moved = (perms[g.name] != torch.arange(g.size)).sum().item()
        if moved == 0:
            notes.append("WARNING: perm of %s is the identity" % g.name)
    sd1p = R.apply_permutations(spec, sd1, perms)
    for k, v in sd1p.items():
        exp["permuted1." + k] = v
    m1p = build(sd1p)

    l0, l1, l1p = R.logits(m0, batches), R.logits(m1, batches), R.logits(m1p, batches)
    err = max_rel(l1p, l1)
    assert err < 1e-5, "permuting net1 changed its function: %g" % err
    exp["logits.net0"], exp["logits.net1_permuted"] = l0, l1p

    # Interpolation (docs/reference/algorithm.md §5.9)
    sdm = R.interpolate(sd0, sd1p, alpha)
    mm = build(sdm)
    exp["logits.interpolated"] = R.logits(mm, batches)

    # REPAIR (2c)
    method = c["repair"]
    points = R.repair_points(m0, fam, method)
    if method in ("repair", "closed-form", "repair-blocks"):
        stats = R.endpoint_stats(m0, m1p, points, batches, nb, cross=(method == "closed-form"))
        tgts = R.targets(stats, alpha)
        for p in points:
            for t in ("0", "1"):
                exp["endpoint_mean%s.%s" % (t, p)] = stats[p]["mean" + t]
                exp["endpoint_std%s.%s" % (t, p)] = stats[p]["std" + t]
            exp["target_mean." + p], exp["target_std." + p] = tgts[p]

    if method == "reset-bn":
        rm = copy.deepcopy(mm)
        n = R.reset_bn_stats(rm, batches)
        assert n > 0
        sdr = rm.state_dict()
        lrep = R.logits(rm, batches)
    elif method in ("repair", "closed-form"):
        if method == "repair":
            base, corr = R.merged_pass(mm, tgts, batches, nb, eps_t, bn_eps)
        else:
            base, corr = copy.deepcopy(mm), R.closed_form(stats, alpha, eps_t)
        sdr = OrderedDict((k, v.clone()) for k, v in base.state_dict().items())
        for p in points:
            R.fuse(sdr, p, corr[p], bn_eps)
        lrep = R.logits(build(sdr), batches)
        h = R.apply_corrections(base, corr, bn_eps)
        lwrap = R.logits(base, batches)
        R.remove_hooks(h)
        err = max_rel(lrep, lwrap)
        assert err < 1e-4, "fused and wrapped REPAIR differ: %g" % err
        notes.append("fused vs wrapped logits: max rel diff %.2e" % err)
    elif method == "repair-blocks":
        base, corr = R.merged_pass(mm, tgts, batches, nb, eps_t, bn_eps)
        sdr = OrderedDict((k, v.clone()) for k, v in base.state_dict().items())
        for p in points:
            a, b = corr[p].affine(bn_eps)
            exp["block_scale." + p], exp["block_shift." + p] = a, b
        h = R.apply_corrections(base, corr, bn_eps)
        lrep = R.logits(base, batches)
        R.remove_hooks(h)
        # The logit correction has a producer (fc), so it is fused into
        # repaired.fc.*, as the C++ repair() does; the block corrections have
        # none and stay affine maps (block_scale.fc/block_shift.fc are written
        # too, for reference only). Check that this form has the same function.
        fc = points[-1]
        R.fuse(sdr, fc, corr[fc], bn_eps)
        mf = build(sdr)
        h = R.apply_corrections(mf, OrderedDict((p, corr[p]) for p in points[:-1]), bn_eps)
        lf = R.logits(mf, batches)
        R.remove_hooks(h)
        err = max_rel(lf, lrep)
        assert err < 1e-4, "fused-fc and wrapped repair-blocks differ: %g" % err
        notes.append("fc fused vs wrapped logits: max rel diff %.2e" % err)
    else:
        raise ValueError(method)
    if method in ("repair", "closed-form", "repair-blocks"):
        for p in points:
            exp["merged_mean." + p], exp["merged_var." + p] = corr[p].mean, corr[p].var
    for k, v in sdr.items():
        exp["repaired." + k] = v
    exp["logits.repaired"] = lrep
    return exp, spec, points, stability, (l0, l1p, exp["logits.interpolated"], lrep)


# -----------------------------------------------------------------------------
# Self-test: planted permutations are recovered
# -----------------------------------------------------------------------------

def self_test(c, data, sd0):
    cfg, fam = c["model"], c["model"]["family"]
    mean, std = c["normalization"]["mean"], c["normalization"]["std"]
    batches, nb = batch_iterator(data[0], mean, std, c["batch_size"])
    m0 = R.load(R.build_model(cfg), sd0)
    spec = R.permutation_spec(m0, fam)
    g = torch.Generator().manual_seed(5)
    planted = OrderedDict((gr.name, torch.randperm(gr.size, generator=g)) for gr in spec.groups)
    sdp = R.apply_permutations(spec, sd0, planted)
    mp = R.load(R.build_model(cfg), sdp)
    assert max_rel(R.logits(mp, batches), R.logits(m0, batches)) < 1e-5
    out = []
    for how in ("activation", "weight"):
        if how == "activation":
            _, found = R.activation_matching(spec, m0, mp, batches, nb, c["std_estimate"])
        else:
            found, _ = R.weight_matching(spec, sd0, sdp)
        wrong = [gr.name for gr in spec.groups if not torch.equal(found[gr.name], torch.argsort(planted[gr.name]))]
        back = R.apply_permutations(spec, sdp, found)
        exact = all(torch.equal(back[k], sd0[k]) for k in sd0)
        out.append("%s: %d/%d groups recovered%s, state dict restored exactly: %s" % (
            how, len(spec.groups) - len(wrong), len(spec.groups), (" (missed %s)" % wrong) if wrong else "",
            exact))
    return out


# -----------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--self-test", action="store_true", help="also check planted-permutation recovery")
    args = ap.parse_args()
    names = [s for s in args.cases.split(",") if s]
    for n in names:
        if n not in CASES:
            sys.exit("unknown case %s; known: %s" % (n, ", ".join(CASES)))
    t_all = time.time()
    pairs = {}
    for name in names:
        t0 = time.time()
        c, key = CASES[name]
        c = copy.deepcopy(c)
        if key not in pairs:
            pairs[key] = make_pair(key, c)
        data, (sd0, sd1), (losses, revived) = pairs[key]
        notes = []
        exp, spec, points, stability, (l0, l1p, li, lr) = compute_expected(c, data, sd0, sd1, notes)
        c["groups"] = spec.group_names()
        c["points"] = points
        if stability:
            c["perm_stability"] = stability
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "case.json"), "w") as f:
            json.dump(c, f, indent=1)
        torch.save({"images": data[0], "labels": data[1]}, os.path.join(d, "data.pt"))
        torch.save(sd0, os.path.join(d, "net0.pt"))
        torch.save(sd1, os.path.join(d, "net1.pt"))
        torch.save(exp, os.path.join(d, "expected.pt"))
        y = data[1]
        print("%-26s %5.1fs  train loss %.2f->%.2f / %.2f->%.2f  acc net0 %.1f net1 %.1f interp %.1f "
              "repaired %.1f  |logits| interp %.3g repaired %.3g" % (
                  name, time.time() - t0, losses[0][0], losses[0][1], losses[1][0], losses[1][1],
                  accuracy(l0, y), accuracy(l1p, y), accuracy(li, y), accuracy(lr, y),
                  li.abs().mean().item(), lr.abs().mean().item()), flush=True)
        print("    revived channels net0 %d net1 %d" % tuple(revived))
        for n in notes:
            print("    " + n)
        if args.self_test:
            for line in self_test(c, data, sd0):
                print("    planted " + line)
    print("total %.1fs" % (time.time() - t_all))


if __name__ == "__main__":
    main()
