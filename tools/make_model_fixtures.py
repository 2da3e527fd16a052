#!/usr/bin/env python3
"""Writes the model-zoo golden files in tests/fixtures/models/ with PyTorch.

Run with Debian's interpreter, which has python3-torch and python3-torchvision:
    /usr/bin/python3 tools/make_model_fixtures.py

The Python models below restate the architectures of the REPAIR paper's
official code (github.com/KellerJordan/REPAIR; see
docs/reference/algorithm.md §3) and torchvision's ResNets.
Outputs:
  keys.json        state_dict key -> shape for every family the C++ zoo builds
  <name>.pt        a small model's state_dict (torch.save of the OrderedDict)
  <name>_legacy.pt the same in the legacy format of PyTorch < 1.6 (mlp_h16_l2 only)
  <name>.json      the input batch and the logits PyTorch computes for it
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "models")


class MLP(nn.Module):
    def __init__(self, h, layers, in_dim, bn=False):
        super().__init__()
        self.bn = bn
        self.fc1 = nn.Linear(in_dim, h, bias=not bn)
        if bn:
            self.bn1 = nn.BatchNorm1d(h)
        mid = []
        for _ in range(layers):
            mid.append(nn.Linear(h, h, bias=not bn))
            if bn:
                mid.append(nn.BatchNorm1d(h))
            mid.append(nn.ReLU())
        self.layers = nn.Sequential(*mid)
        self.fc2 = nn.Linear(h, 10)

    def forward(self, x):
        x = x.reshape(x.size(0), -1)
        x = self.fc1(x)
        if self.bn:
            x = self.bn1(x)
        x = self.layers(F.relu(x))
        return self.fc2(x)


VGG_CFG = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}


class VGG(nn.Module):
    def __init__(self, name, w, bn=False):
        super().__init__()
        layers, c = [], 3
        for x in VGG_CFG[name]:
            if x == "M":
                layers.append(nn.MaxPool2d(2, 2))
                continue
            layers.append(nn.Conv2d(c, w * x, 3, padding=1))
            if bn:
                layers.append(nn.BatchNorm2d(w * x))
            layers.append(nn.ReLU())
            c = w * x
        layers.append(nn.AvgPool2d(1, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(512 * w, 10)

    def forward(self, x):
        return self.classifier(self.features(x).reshape(x.size(0), -1))


class LayerNorm2d(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        x = x - x.mean(1, keepdim=True)
        x = x / x.std(1, keepdim=True, unbiased=False)
        return x * self.weight.reshape(1, -1, 1, 1) + self.bias.reshape(1, -1, 1, 1)


def norm_layer(kind, c):
    return nn.BatchNorm2d(c) if kind == "bn" else LayerNorm2d(c)


class Block(nn.Module):
    def __init__(self, cin, cout, stride, norm, shortcut_kernel):
        super().__init__()
        bias = norm != "bn"
        self.norm = norm
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=bias)
        if norm != "none":
            self.bn1 = norm_layer(norm, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=bias)
        if norm != "none":
            self.bn2 = norm_layer(norm, cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            parts = [nn.Conv2d(cin, cout, shortcut_kernel, stride, shortcut_kernel // 2, bias=bias)]
            if norm != "none":
                parts.append(norm_layer(norm, cout))
            self.shortcut = nn.Sequential(*parts)

    def forward(self, x):
        out = self.conv1(x)
        if self.norm != "none":
            out = self.bn1(out)
        out = self.conv2(F.relu(out))
        if self.norm != "none":
            out = self.bn2(out)
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """resnet20: 3x3 conv shortcuts (train/resnet-*-cifar); resnet18: kuangliu, 1x1 shortcuts."""

    def __init__(self, blocks, widths, norm, shortcut_kernel):
        super().__init__()
        self.norm = norm
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=norm != "bn")
        if norm != "none":
            self.bn1 = norm_layer(norm, widths[0])
        c = widths[0]
        for s, (n, w) in enumerate(zip(blocks, widths)):
            layer = []
            for b in range(n):
                layer.append(Block(c, w, 2 if (b == 0 and s > 0) else 1, norm, shortcut_kernel))
                c = w
            setattr(self, "layer%d" % (s + 1), nn.Sequential(*layer))
        self.nstages = len(blocks)
        self.linear = nn.Linear(c, 10)

    def forward(self, x):
        out = self.conv1(x)
        if self.norm != "none":
            out = self.bn1(out)
        out = F.relu(out)
        for s in range(self.nstages):
            out = getattr(self, "layer%d" % (s + 1))(out)
        return self.linear(out.mean((2, 3)))


def resnet20(w, norm):
    model = CifarResNet([3, 3, 3], [16 * w, 32 * w, 64 * w], norm, 3)
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_normal_(m.weight)
    return model


def add_junctures(model):
    for layer in [model.layer1, model.layer2, model.layer3, model.layer4]:
        for block in layer:
            if block.downsample is None:
                c = block.conv1.in_channels
                conv = nn.Conv2d(c, c, 1, bias=False)
                conv.weight.data = torch.eye(c).reshape(c, c, 1, 1)
                block.downsample = conv
    return model


def families():
    return {
        "mlp_h128_l10": lambda: MLP(128, 10, 784),
        "mlp_bn_h128_l3": lambda: MLP(128, 3, 784, bn=True),
        "mlp_h64_l2_cifar": lambda: MLP(64, 2, 3072),
        "vgg11_w1": lambda: VGG("vgg11", 1),
        "vgg13_w1": lambda: VGG("vgg13", 1),
        "vgg16_w1": lambda: VGG("vgg16", 1),
        "vgg19_w1": lambda: VGG("vgg19", 1),
        "vgg11_bn_w2": lambda: VGG("vgg11", 2, bn=True),
        "resnet20_bn_w1": lambda: resnet20(1, "bn"),
        "resnet20_bn_w4": lambda: resnet20(4, "bn"),
        "resnet20_ln_w2": lambda: resnet20(2, "ln"),
        "resnet20_none_w1": lambda: resnet20(1, "none"),
        "resnet18_cifar": lambda: CifarResNet([2, 2, 2, 2], [64, 128, 256, 512], "bn", 1),
        "resnet18_imagenet": lambda: torchvision.models.resnet18(),
        "resnet18_imagenet_junctures": lambda: add_junctures(torchvision.models.resnet18()),
        "resnet50": lambda: torchvision.models.resnet50(),
        "wide_resnet50_2": lambda: torchvision.models.wide_resnet50_2(),
    }


def write_logits_fixture(name, model, shape, seed, legacy=False):
    torch.manual_seed(seed)
    # Non-trivial BN running statistics, so eval-mode BN is really exercised.
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(*shape) * 1.5 + 0.3)
    model.eval()
    x = torch.randn(*shape)
    with torch.no_grad():
        logits = model(x)
    torch.save(model.state_dict(), os.path.join(OUT, name + ".pt"))
    if legacy:
        # Older published checkpoints are in this format; its storage keys are
        # memory addresses, so this file differs from run to run.
        torch.save(model.state_dict(), os.path.join(OUT, name + "_legacy.pt"),
                   _use_new_zipfile_serialization=False)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump({"format_version": 1, "torch_version": torch.__version__, "seed": seed,
                   "input_shape": list(shape), "input": x.flatten().tolist(),
                   "logits": logits.flatten().tolist()}, f)


def main():
    os.makedirs(OUT, exist_ok=True)
    keys = {}
    for name, make in families().items():
        sd = make().state_dict()
        keys[name] = [[k, list(v.shape)] for k, v in sd.items()]
    with open(os.path.join(OUT, "keys.json"), "w") as f:
        json.dump({"format_version": 1, "torch_version": torch.__version__,
                   "torchvision_version": torchvision.__version__, "models": keys}, f, indent=0)
    torch.manual_seed(0)
    write_logits_fixture("mlp_h16_l2", MLP(16, 2, 784), (4, 1, 28, 28), 1, legacy=True)
    torch.manual_seed(0)
    write_logits_fixture("mlp_bn_h16_l2", MLP(16, 2, 784, bn=True), (4, 1, 28, 28), 2)
    torch.manual_seed(0)
    write_logits_fixture("resnet20_bn_w1", resnet20(1, "bn"), (2, 3, 32, 32), 3)
    torch.manual_seed(0)
    write_logits_fixture("resnet20_ln_w1", resnet20(1, "ln"), (2, 3, 32, 32), 4)
    return 0


if __name__ == "__main__":
    sys.exit(main())
