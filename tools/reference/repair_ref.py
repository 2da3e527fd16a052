#!/usr/bin/env python3
"""Python reference implementation of REPAIR (Jordan et al., ICLR 2023), written
from docs/reference/algorithm.md ("the reference"; sections
cited as "docs/reference/algorithm.md §2a", "§5.6", ...). It exists to produce parity fixtures for
repairbench's C++ implementation (make_parity_fixtures.py), so it favours being
literal and readable over being fast.

Conventions
  * A state dict is an OrderedDict key -> tensor in the official key layout
    (tools/make_model_fixtures.py builds the modules).
  * A permutation perm of a group is an int64 (C) tensor; perm[i] is the channel
    of net1 that goes to position i (docs/reference/algorithm.md §2a: perm = col of the assignment).
  * Statistics are float64; rows of a batch are its N*H*W positions.
  * A "batch iterator" is a zero-argument callable returning an iterable of
    normalized float32 input batches, in the same order each call.

Python 1.13 / Debian python3-torch; CPU only; no autocast (the notebooks use fp16
autocast for their stats passes, docs/reference/algorithm.md §5.11; this reference stays in fp32/fp64).
"""
import copy
import os
import sys
from collections import OrderedDict

import numpy as np
import scipy.optimize
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import make_model_fixtures as zoo  # noqa: E402  (the official module layouts)

MATCH_EPS = 1e-4  # corr = cov / (std0 std1^T + 1e-4)   (docs/reference/algorithm.md §2a)


# =============================================================================
# Models (ref section 3; modules and keys from tools/make_model_fixtures.py)
# =============================================================================

def build_model(cfg):
    """cfg: the "model" object of case.json."""
    fam, w, norm = cfg["family"], cfg["width"], cfg["norm"]
    if fam == "mlp":
        assert cfg["num_classes"] == 10, "zoo.MLP has a 10-way fc2"
        return zoo.MLP(w, cfg["depth"], cfg["in_channels"] * cfg["image_size"] ** 2, bn=(norm == "bn"))
    if fam in zoo.VGG_CFG:
        assert cfg["in_channels"] == 3 and cfg["image_size"] == 32 and cfg["num_classes"] == 10
        assert norm in ("none", "bn")
        return zoo.VGG(fam, w, bn=(norm == "bn"))
    if fam == "resnet20":
        assert cfg["in_channels"] == 3 and cfg["num_classes"] == 10
        return zoo.resnet20(w, norm)  # none / bn / ln; kaiming_normal_ init (ref 3)
    if fam == "resnet18":  # kuangliu CIFAR ResNet18, 1x1 conv+BN shortcuts (docs/reference/algorithm.md §5.8)
        assert norm == "bn" and cfg["in_channels"] == 3 and cfg["num_classes"] == 10
        return zoo.CifarResNet([2, 2, 2, 2], [64 * w, 128 * w, 256 * w, 512 * w], "bn", 1)
    if fam == "resnet18_imagenet":
        assert norm == "bn" and w == 1 and cfg["in_channels"] == 3
        model = torchvision.models.resnet18(num_classes=cfg["num_classes"])
        if cfg["junctures"]:
            zoo.add_junctures(model)  # identity 1x1 `downsample` convs (docs/reference/algorithm.md §2a, §5.8)
        return model
    raise ValueError("unknown family " + fam)


def is_bn(m):
    return isinstance(m, nn.modules.batchnorm._BatchNorm)


# =============================================================================
# Permutation specs (docs/reference/algorithm.md §2a "Where the matched activation is taken"; §5.7)
# =============================================================================

class Group:
    """One set of channels permuted together.
    point: module whose output is the matched activation; relu: apply ReLU to
    that output first (post-ReLU matching, docs/reference/algorithm.md §2a / §5.6)."""

    def __init__(self, name, size, point, relu):
        self.name, self.size, self.point, self.relu = name, size, point, relu

    def __repr__(self):
        return "Group(%s, %d, %s%s)" % (self.name, self.size, self.point, "+relu" if self.relu else "")


class Spec:
    """groups: list in spec order; axes: key -> tuple (group name or None per axis),
    Git Re-Basin's axes_to_perm. Keys not listed are never permuted."""

    def __init__(self):
        self.groups = []
        self.axes = OrderedDict()

    def group(self, name, size, point, relu):
        self.groups.append(Group(name, size, point, relu))
        return name

    def set(self, key, *axes):
        self.axes[key] = tuple(axes)

    # producer on axis 0, consumer on axis 1 (docs/reference/algorithm.md §2a "Apply to model1 ONLY")
    def layer(self, prefix, out, inp, bias):            # Linear (O,I) or Conv (O,I,kh,kw)
        self.set(prefix + ".weight", out, inp)
        if bias:
            self.set(prefix + ".bias", out)

    def batch_norm(self, prefix, g):                      # weight, bias, running stats: axis 0
        for k in ("weight", "bias", "running_mean", "running_var"):
            self.set(prefix + "." + k, g)

    def layer_norm(self, prefix, g):                      # LayerNorm2d affine (docs/reference/algorithm.md §2a LN note)
        for k in ("weight", "bias"):
            self.set(prefix + "." + k, g)

    def group_names(self):
        return [g.name for g in self.groups]


def _pad_axes(spec, sd):
    """Completes each axes tuple to the tensor's rank with None (conv kernels)."""
    for k, axes in spec.axes.items():
        assert k in sd, "spec names missing key " + k
        spec.axes[k] = tuple(axes) + (None,) * (sd[k].dim() - len(axes))
    return spec


def mlp_spec(model):
    """MLP (docs/reference/algorithm.md §2a "MLP"): one group per hidden Linear, named by its prefix
    (fc1, layers.0, layers.2, ... ; BN nets fc1, layers.0, layers.3, ...),
    matched post-(BN-)ReLU; the input permutation goes to the next Linear / fc2."""
    spec, bn = Spec(), model.bn
    h = model.fc1.out_features
    hidden = [("fc1", "bn1" if bn else None)]
    for i, m in enumerate(model.layers):
        if isinstance(m, nn.Linear):
            hidden.append(("layers.%d" % i, "layers.%d" % (i + 1) if bn else None))
    prev = None  # fc1's input (pixels) is never permuted
    for lin, norm in hidden:
        g = spec.group(lin, h, norm or lin, relu=True)
        spec.layer(lin, g, prev, bias=not bn)
        if norm:
            spec.batch_norm(norm, g)
        prev = g
    spec.layer("fc2", None, prev, bias=True)
    return _pad_axes(spec, model.state_dict())


def vgg_spec(model):
    """VGG (docs/reference/algorithm.md §2a "VGG"): group features.<i> per conv, matched post-ReLU
    (VGG-BN: post-BN-ReLU); consumer = next conv or the classifier."""
    spec, prev = Spec(), None
    feats = list(model.features)
    for i, m in enumerate(feats):
        if not isinstance(m, nn.Conv2d):
            continue
        bn = i + 1 < len(feats) and isinstance(feats[i + 1], nn.BatchNorm2d)
        name = "features.%d" % i
        g = spec.group(name, m.out_channels, "features.%d" % (i + 1) if bn else name, relu=True)
        spec.layer(name, g, prev, bias=m.bias is not None)
        if bn:
            spec.batch_norm("features.%d" % (i + 1), g)
        prev = g
    spec.layer("classifier", None, prev, bias=True)
    return _pad_axes(spec, model.state_dict())


def cifar_resnet_spec(model, family, stream3_at_last_block=False):
    """ResNet20 (train/resnet-*-cifar) and kuangliu ResNet18 (docs/reference/algorithm.md §2a, §5.7).
    Groups: residual streams stream1..S first, then the intra-block groups
    layerS.B.conv1 in network order.
      resnet20: stream s matched at the output of the stage's last block, except
        stream3 at layer3.1 (the kk=[3,6,8] quirk) unless stream3_at_last_block;
        intra-block at post-(norm-)ReLU of conv1.
      resnet18: raw conv outputs before BN: stream1 at the stem conv1, stream
        s>=2 at layer<s>.0.conv2, intra-block at layerS.B.conv1.
    Stream s permutes: outputs of the stem (s=1), every block's conv2(+norm2) and
    the stage's shortcut conv(+norm); inputs of its blocks' conv1, the next
    stage's first conv1 + shortcut, and the linear layer."""
    norm = model.norm
    spec = Spec()
    stages = [getattr(model, "layer%d" % (s + 1)) for s in range(model.nstages)]
    raw = family == "resnet18"
    streams = []
    for s, stage in enumerate(stages):
        c = stage[0].conv2.out_channels
        if raw:
            point = "conv1" if s == 0 else "layer%d.0.conv2" % (s + 1)
        else:
            b = len(stage) - 1
            if family == "resnet20" and s == 2 and not stream3_at_last_block:
                b = 1  # Permute-CIFAR10-ResNet20 quirk (docs/reference/algorithm.md §2a)
            point = "layer%d.%d" % (s + 1, b)  # block output: post-add, post-ReLU
        streams.append(spec.group("stream%d" % (s + 1), c, point, relu=False))

    def conv_norm(conv, nrm, out, inp):
        m = model.get_submodule(conv)
        spec.layer(conv, out, inp, bias=m.bias is not None)
        if norm == "bn":
            spec.batch_norm(nrm, out)
        elif norm == "ln":
            spec.layer_norm(nrm, out)

    conv_norm("conv1", "bn1", streams[0], None)
    incoming = streams[0]
    for s, stage in enumerate(stages):
        for b, block in enumerate(stage):
            p = "layer%d.%d." % (s + 1, b)
            point = p + "conv1" if (raw or norm == "none") else p + "bn1"
            g = spec.group(p + "conv1", block.conv1.out_channels, point, relu=not raw)
            conv_norm(p + "conv1", p + "bn1", g, incoming)
            conv_norm(p + "conv2", p + "bn2", streams[s], g)
            if len(block.shortcut) > 0:
                conv_norm(p + "shortcut.0", p + "shortcut.1", streams[s], incoming)
            incoming = streams[s]
    spec.layer("linear", None, incoming, bias=True)
    return _pad_axes(spec, model.state_dict())


def torchvision_resnet18_spec(model):
    """torchvision ResNet18 (docs/reference/algorithm.md §2a "ImageNet ResNet18/50"). With junctures every
    block has a downsample, so the stem has its own group stream0 (matched after
    maxpool) and stage s has stream s, matched at the output of its last block
    (get_permk: 1-2 -> 2, ...), applied to every block's conv2+bn2 and downsample
    outputs. Intra-block: layerS.B.conv1 matched after conv1,bn1,relu.
    Without junctures the stem shares stream1."""
    spec = Spec()
    stages = [model.layer1, model.layer2, model.layer3, model.layer4]
    stem_alone = stages[0][0].downsample is not None
    if stem_alone:
        stem = spec.group("stream0", model.conv1.out_channels, "maxpool", relu=False)
    streams = [spec.group("stream%d" % (s + 1), st[-1].conv2.out_channels,
                          "layer%d.%d" % (s + 1, len(st) - 1), relu=False) for s, st in enumerate(stages)]
    if not stem_alone:
        stem = streams[0]
    spec.layer("conv1", stem, None, bias=False)
    spec.batch_norm("bn1", stem)
    incoming = stem
    for s, stage in enumerate(stages):
        for b, block in enumerate(stage):
            p = "layer%d.%d." % (s + 1, b)
            g = spec.group(p + "conv1", block.conv1.out_channels, p + "bn1", relu=True)
            spec.layer(p + "conv1", g, incoming, bias=False)
            spec.batch_norm(p + "bn1", g)
            spec.layer(p + "conv2", streams[s], g, bias=False)
            spec.batch_norm(p + "bn2", streams[s])
            if isinstance(block.downsample, nn.Conv2d):       # juncture: identity 1x1 conv, no BN
                spec.layer(p + "downsample", streams[s], incoming, bias=False)
            elif block.downsample is not None:                 # conv 1x1 stride 2 + BN
                spec.layer(p + "downsample.0", streams[s], incoming, bias=False)
                spec.batch_norm(p + "downsample.1", streams[s])
            incoming = streams[s]
    spec.layer("fc", None, incoming, bias=True)
    return _pad_axes(spec, model.state_dict())


def permutation_spec(model, family, **kw):
    if family == "mlp":
        return mlp_spec(model)
    if family in zoo.VGG_CFG:
        return vgg_spec(model)
    if family in ("resnet20", "resnet18"):
        return cifar_resnet_spec(model, family, **kw)
    if family == "resnet18_imagenet":
        return torchvision_resnet18_spec(model)
    raise ValueError(family)


def apply_permutations(spec, sd, perms):
    """New state dict: every axis the spec names is index_select-ed by its group's
    perm (docs/reference/algorithm.md §2a: producers W[perm], consumers W[:, perm]). Unlisted entries
    (num_batches_tracked, fc1's input axis, ...) are copied unchanged."""
    out = OrderedDict()
    for k, v in sd.items():
        v = v.clone()
        for axis, g in enumerate(spec.axes.get(k, ())):
            if g is not None:
                assert v.shape[axis] == perms[g].numel(), (k, axis, g)
                v = v.index_select(axis, perms[g])
        out[k] = v
    return out


def identity_perms(spec):
    return OrderedDict((g.name, torch.arange(g.size)) for g in spec.groups)


# =============================================================================
# Forward hooks: observing / replacing a module's output
# =============================================================================

def add_hooks(model, fns):
    """fns: module name -> fn(output) -> replacement or None. Returns handles."""
    handles = []
    for name, fn in fns.items():
        mod = model.get_submodule(name)
        handles.append(mod.register_forward_hook(lambda m, i, o, fn=fn: fn(o)))
    return handles


def remove_hooks(handles):
    for h in handles:
        h.remove()


def rows(x):
    """(N,C,H,W) -> (N*H*W, C) float64; (N,C) -> (N,C) float64 (docs/reference/algorithm.md §2a)."""
    if x.dim() == 4:
        x = x.permute(0, 2, 3, 1)
    return x.reshape(-1, x.shape[-1]).double()


class PairAccumulator:
    """Equal-weight averages over batches (each batch weighted 1/n) of per-batch
    statistics of two nets' activations at one point (docs/reference/algorithm.md §2a; §5.1):
    mean, unbiased var, unbiased std, E[x^2], optionally outer = A^T B / rows and
    the per-channel unbiased cross covariance (closed-form REPAIR, docs/reference/algorithm.md §2c)."""

    def __init__(self, n_batches, outer=False, cross=False):
        self.n, self.want_outer, self.want_cross = n_batches, outer, cross
        self.s = {}
        self.count = 0

    def _add(self, k, v):
        self.s[k] = self.s.get(k, 0) + v / self.n

    def add(self, a, b):
        a, b = rows(a), rows(b)  # (R, C) float64
        r = a.shape[0]
        for tag, x in (("0", a), ("1", b)):
            self._add("mean" + tag, x.mean(0))
            self._add("var" + tag, x.var(0, unbiased=True))
            self._add("std" + tag, x.std(0, unbiased=True))
            self._add("sq" + tag, (x * x).mean(0))
        if self.want_outer:
            self._add("outer", a.t() @ b / r)
        if self.want_cross:
            self._add("cross", ((a - a.mean(0)) * (b - b.mean(0))).sum(0) / (r - 1))
        self.count += 1

    def __getitem__(self, k):
        assert self.count == self.n, (self.count, self.n)
        return self.s[k]


def _capture(model, points):
    """Hooks storing the output at each point (name -> (module, relu))."""
    store = {}

    def make(name, relu):
        def fn(o):
            store[name] = F.relu(o) if relu else o
        return fn
    return store, add_hooks(model, {mod: make(name, relu) for name, (mod, relu) in points.items()})


def pair_stats(net0, net1, batches, points, n_batches, outer=False, cross=False, train_bn_reset=False):
    """One pass of both nets over the batches, accumulating PairAccumulator at
    every point (name -> (module name, relu)).
    train_bn_reset=False: eval mode (activation matching, docs/reference/algorithm.md §2a / §5.6).
    train_bn_reset=True: copies in train mode with every BN reset, momentum=None
      (reset_bn_stats on the TrackLayer nets, docs/reference/algorithm.md §2c step 1 / §5.3)."""
    nets = [net0, net1]
    if train_bn_reset:
        nets = [copy.deepcopy(n) for n in nets]
        for n in nets:
            reset_bn_stats_modules(n)
            n.train()
    else:
        for n in nets:
            n.eval()
    acc = {p: PairAccumulator(n_batches, outer, cross) for p in points}
    st0, h0 = _capture(nets[0], points)
    st1, h1 = _capture(nets[1], points)
    with torch.no_grad():
        for x in batches():
            nets[0](x)
            nets[1](x)
            for p in points:
                acc[p].add(st0[p], st1[p])
    remove_hooks(h0 + h1)
    return acc


# =============================================================================
# 2a. Activation matching
# =============================================================================

def correlation(acc, std_estimate):
    """corr = cov / (outer(std0, std1) + 1e-4), nan_to_num (docs/reference/algorithm.md §2a).
    std_estimate "average": mean of per-batch unbiased stds;
                 "moment":  sqrt(mean E[x^2] - mean^2)."""
    cov = acc["outer"] - torch.outer(acc["mean0"], acc["mean1"])        # (C, C)
    if std_estimate == "average":
        s0, s1 = acc["std0"], acc["std1"]
    elif std_estimate == "moment":
        s0 = (acc["sq0"] - acc["mean0"] ** 2).sqrt()
        s1 = (acc["sq1"] - acc["mean1"] ** 2).sqrt()
    else:
        raise ValueError(std_estimate)
    corr = cov / (torch.outer(s0, s1) + MATCH_EPS)
    return torch.nan_to_num(corr)  # rows = net0 channels, cols = net1 channels


def solve_lap(cost):
    """Maximum-weight assignment; perm[i] = column matched to row i."""
    row, col = scipy.optimize.linear_sum_assignment(cost.numpy(), maximize=True)
    assert (row == np.arange(cost.shape[0])).all()
    return torch.from_numpy(col.astype(np.int64))


def activation_matching(spec, net0, net1, batches, n_batches, std_estimate):
    """docs/reference/algorithm.md §2a / §5.6: both nets in eval mode, no_grad, float64, one pass over
    the data for every group at once (the notebooks go layer by layer and permute
    net1 in between, which gives the same result because permuting other groups
    preserves the function and this group's channel order)."""
    points = OrderedDict((g.name, (g.point, g.relu)) for g in spec.groups)
    acc = pair_stats(net0, net1, batches, points, n_batches, outer=True)
    corrs, perms = OrderedDict(), OrderedDict()
    for g in spec.groups:
        corrs[g.name] = correlation(acc[g.name], std_estimate)
        perms[g.name] = solve_lap(corrs[g.name])
    return corrs, perms


# =============================================================================
# 2b. Weight matching (Ainsworth et al., Git Re-Basin; not in the official repo)
# =============================================================================

def weight_matching(spec, sd0, sd1, max_sweeps=1000):
    """Coordinate ascent on sum over parameters of <W0, P(W1)>. For group g,
    cost[i, j] = sum over (key, axis) with g on that axis of
        W0 (axis moved first, flattened) . W1 (every OTHER axis permuted by its
        group's current perm; axis moved first, flattened)^T
    over parameters only (weights, biases, BN/LN weight and bias; not running
    stats). Start from identity; sweep groups in spec order; a group's perm is
    replaced only when the LAP optimum beats the current perm's objective by
    more than 1e-12 * max(1, |old|); stop after a sweep that replaced none."""
    members = {g.name: [] for g in spec.groups}
    for k, axes in spec.axes.items():
        if k.endswith("running_mean") or k.endswith("running_var"):
            continue
        for a, g in enumerate(axes):
            if g is not None:
                members[g].append((sd0[k].double(), sd1[k].double(), axes, a))
    perms = identity_perms(spec)
    sweeps = 0
    for sweeps in range(1, max_sweeps + 1):
        improved = False
        for grp in spec.groups:
            n = grp.size
            cost = torch.zeros(n, n, dtype=torch.float64)
            for w0, w1, axes, a in members[grp.name]:
                for b, h in enumerate(axes):
                    if b != a and h is not None:
                        w1 = w1.index_select(b, perms[h])
                cost += w0.movedim(a, 0).reshape(n, -1) @ w1.movedim(a, 0).reshape(n, -1).t()
            new = solve_lap(cost)
            old_v = cost[torch.arange(n), perms[grp.name]].sum().item()
            new_v = cost[torch.arange(n), new].sum().item()
            if new_v > old_v + 1e-12 * max(1.0, abs(old_v)):
                perms[grp.name] = new
                improved = True
        if not improved:
            break
    return perms, sweeps


# =============================================================================
# Interpolation (docs/reference/algorithm.md §5.9)
# =============================================================================

def interpolate(sd0, sd1, alpha):
    """(1-a) theta0 + a theta1 for every entry, BN running stats included;
    integer entries (num_batches_tracked) are interpolated and rounded
    (torch.round: half to even)."""
    out = OrderedDict()
    for k in sd0:
        a, b = sd0[k], sd1[k]
        if a.is_floating_point():
            out[k] = (1 - alpha) * a + alpha * b
        else:
            out[k] = torch.round((1 - alpha) * a.double() + alpha * b.double()).to(a.dtype)
    return out


def load(model, sd):
    model.load_state_dict(sd)
    model.eval()
    return model


# =============================================================================
# 2c. REPAIR
# =============================================================================

def reset_bn_stats_modules(model):
    """reset_bn_stats without the pass: every BatchNorm (1d and 2d, the net's own
    included, docs/reference/algorithm.md §5.3) gets momentum=None and reset running stats."""
    n = 0
    for m in model.modules():
        if is_bn(m):
            m.momentum = None
            m.reset_running_stats()
            n += 1
    return n


def reset_bn_stats(model, batches, epochs=1):
    """BN reset (docs/reference/algorithm.md §2c reset_bn_stats; §5.1): train mode, one pass, every BN
    re-estimated as the equal-weight average of per-batch means and unbiased
    variances. Returns the number of BatchNorms; leaves the model in eval mode."""
    n = reset_bn_stats_modules(model)
    model.train()
    with torch.no_grad():
        for _ in range(epochs):
            for x in batches():
                model(x)
    model.eval()
    return n


def repair_points(model, family, method):
    """REPAIR points (name -> module name), network order.
    repair / closed-form: the pre-activations, i.e. every Linear/Conv output
      except the logits (norm-free and LayerNorm nets) or every BN output (BN nets).
    repair-blocks: every residual block output layerS.B and the logits (fc).
    reset-bn: none."""
    if method == "repair-blocks":
        names = [n for n, m in model.named_modules()
                 if n.count(".") == 1 and n.startswith("layer") and
                 isinstance(m, (zoo.Block, torchvision.models.resnet.BasicBlock,
                                torchvision.models.resnet.Bottleneck))]
        return names + ["fc" if family == "resnet18_imagenet" else "linear"]
    if method not in ("repair", "closed-form"):
        return []
    logits = {"mlp": "fc2", "resnet20": "linear", "resnet18": "linear", "resnet18_imagenet": "fc"}.get(
        family, "classifier")
    bn = any(is_bn(m) for m in model.modules())
    out = []
    for n, m in model.named_modules():
        if bn and is_bn(m):
            out.append(n)
        elif not bn and isinstance(m, (nn.Linear, nn.Conv2d)) and n != logits:
            out.append(n)
    return out


def endpoint_stats(net0, net1p, points, batches, n_batches, cross=False):
    """docs/reference/algorithm.md §2c step 1: TrackLayer nets in train mode after reset_bn_stats
    (docs/reference/algorithm.md §5.3); mu = running_mean, sigma = sqrt(running_var), i.e. the mean of
    per-batch means and sqrt of the mean of per-batch unbiased variances, of the
    pre-activation (the point's output). net1p: net1 already permuted."""
    pts = OrderedDict((p, (p, False)) for p in points)
    acc = pair_stats(net0, net1p, batches, pts, n_batches, cross=cross, train_bn_reset=True)
    out = OrderedDict()
    for p in points:
        a = acc[p]
        out[p] = {"mean0": a["mean0"], "std0": a["var0"].sqrt(), "var0": a["var0"],
                  "mean1": a["mean1"], "std1": a["var1"].sqrt(), "var1": a["var1"],
                  "cross": a.s.get("cross")}
    return out


def targets(stats, alpha):
    """docs/reference/algorithm.md §5.4: mu* = (1-a) mu0 + a mu1, sigma* = (1-a) sigma0 + a sigma1 (STDS)."""
    return OrderedDict((p, ((1 - alpha) * s["mean0"] + alpha * s["mean1"],
                            (1 - alpha) * s["std0"] + alpha * s["std1"])) for p, s in stats.items())


class Correction:
    """Eval-mode map of one point: y = scale * (x - mean) / sqrt(var + bn_eps) + shift,
    all (C) float64 (a ResetLayer's BN in eval mode)."""

    def __init__(self, scale, shift, mean, var):
        self.scale, self.shift, self.mean, self.var = scale, shift, mean, var

    def affine(self, bn_eps):
        """(a, b) with y = a x + b."""
        a = self.scale / (self.var + bn_eps).sqrt()
        return a, self.shift - a * self.mean


def _bshape(t, x):
    shape = [1] * x.dim()
    shape[1] = -1
    return t.to(x.dtype).view(shape)


def apply_corrections(model, corrections, bn_eps):
    """Hooks making `model` the wrapped (unfused) net: each point's output goes
    through its Correction. Returns the handles."""
    def make(c):
        def fn(o):
            return _bshape(c.scale, o) * (o - _bshape(c.mean, o)) / (_bshape(c.var, o) + bn_eps).sqrt() + \
                _bshape(c.shift, o)
        return fn
    return add_hooks(model, {p: make(c) for p, c in corrections.items()})


def merged_pass(merged, tgts, batches, n_batches, target_std_eps, bn_eps, epochs=1):
    """docs/reference/algorithm.md §2c step 3 / §5.2: a copy of the merged net with a ResetLayer at
    every point (weight = sqrt(sigma*^2 + target_std_eps), bias = mu*) and every
    BN (own ones included) reset; ONE train-mode pass where each ResetLayer
    normalizes with the current batch's statistics, so downstream statistics see
    upstream layers already repaired batch-wise. m, v = average of per-batch mean
    and unbiased variance of the point's output before its ResetLayer.
    Returns (the BN-reset merged copy, eval mode, no hooks; {point: Correction})."""
    model = copy.deepcopy(merged)
    reset_bn_stats_modules(model)
    model.train()
    acc = {p: {"mean": 0, "var": 0, "k": 0} for p in tgts}
    wb = {p: ((std * std + target_std_eps).sqrt(), mu) for p, (mu, std) in tgts.items()}

    def make(p):
        w, b = wb[p]

        def fn(o):
            r = rows(o)
            n = n_batches * epochs
            acc[p]["mean"] = acc[p]["mean"] + r.mean(0) / n
            acc[p]["var"] = acc[p]["var"] + r.var(0, unbiased=True) / n
            acc[p]["k"] += 1
            return F.batch_norm(o, None, None, w.float(), b.float(), training=True, momentum=0.0, eps=bn_eps)
        return fn
    handles = add_hooks(model, {p: make(p) for p in tgts})
    with torch.no_grad():
        for _ in range(epochs):
            for x in batches():
                model(x)
    remove_hooks(handles)
    model.eval()
    corr = OrderedDict()
    for p in tgts:
        assert acc[p]["k"] == n_batches * epochs
        corr[p] = Correction(wb[p][0], wb[p][1], acc[p]["mean"], acc[p]["var"])
    return model, corr


def closed_form(stats, alpha, target_std_eps):
    """docs/reference/algorithm.md §2c "Closed-form REPAIR", MLP notebook variant: predicted statistics of
    x_a = (1-a) x0 + a x1 from the endpoints' pre-activation mean, var and
    per-channel covariance (per-batch unbiased, averaged):
    m = (1-a) m0 + a m1, v = (1-a)^2 v0 + 2a(1-a) cov + a^2 v1 (clamped at 0);
    scale = sqrt(sigma*^2 + eps), shift = mu*."""
    out = OrderedDict()
    for p, s in stats.items():
        mu = (1 - alpha) * s["mean0"] + alpha * s["mean1"]
        std = (1 - alpha) * s["std0"] + alpha * s["std1"]
        v = (1 - alpha) ** 2 * s["var0"] + 2 * alpha * (1 - alpha) * s["cross"] + alpha ** 2 * s["var1"]
        out[p] = Correction((std * std + target_std_eps).sqrt(), mu, mu.clone(), v.clamp_min(0))
    return out


def fuse(sd, point, c, bn_eps):
    """docs/reference/algorithm.md §5.10: fold y = scale (x - m)/sqrt(v + eps) + shift into the producer
    `point` (Linear, Conv or BN affine): g = scale / sqrt(v + eps),
    W' = W g (axis 0), b' = shift + g (b - m). In place on sd (float64 math)."""
    w, b = sd[point + ".weight"], sd.get(point + ".bias")
    if b is None:
        raise ValueError("cannot fuse into bias-free " + point)
    g = c.scale / (c.var + bn_eps).sqrt()
    shape = [-1] + [1] * (w.dim() - 1)
    sd[point + ".weight"] = (w.double() * g.view(shape)).to(w.dtype)
    sd[point + ".bias"] = (c.shift + g * (b.double() - c.mean)).to(b.dtype)


# =============================================================================
# Evaluation
# =============================================================================

def logits(model, batches):
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x) for x in batches()]).float()
