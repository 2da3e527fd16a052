#!/usr/bin/env python3
"""Does channels-last memory order speed up oneDNN convolutions here?

Times one SGD training step (forward, backward, update) at batch 500 on
32x32 inputs for a ResNet20-sized conv/BN/ReLU stack (16-64 channels) and for
VGG11 (64-512 channels), in PyTorch's default (contiguous NCHW) and in
channels-last (NHWC) order, with Debian's python3-torch on the same ATen and
oneDNN as repairbench's LibTorch. The two layouts' steps alternate (the
machine's speed drifts within a minute) and the medians of 7 each are printed.
A layout is worth choosing only where it measurably helps; run with
    OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 tools/channels_last_check.py
"""
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn_relu(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


def resnet20_sized():
    # The channel widths and resolutions of ResNet20 (width 1) without the
    # shortcuts, which add no convolution work worth a layout choice.
    return nn.Sequential(conv_bn_relu(3, 16), conv_bn_relu(16, 16), conv_bn_relu(16, 16), conv_bn_relu(16, 32),
                         nn.MaxPool2d(2), conv_bn_relu(32, 32), conv_bn_relu(32, 64), nn.MaxPool2d(2),
                         conv_bn_relu(64, 64), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def vgg11():
    layers, channels = [], 3
    for v in [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(channels, v, 3, padding=1), nn.ReLU()]
            channels = v
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, 10))


def make_step(make, channels_last):
    torch.manual_seed(0)
    net = make()
    x = torch.randn(500, 3, 32, 32)
    y = torch.randint(0, 10, (500,))
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def step():
        start = time.perf_counter()
        optimizer.zero_grad()
        F.cross_entropy(net(x), y).backward()
        optimizer.step()
        return time.perf_counter() - start

    step()  # warm-up: oneDNN primitive creation
    return step


def medians(make, rounds=7):
    steps = {"NCHW": make_step(make, False), "channels-last": make_step(make, True)}
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            times[name].append(step())
    return {name: sorted(t)[len(t) // 2] for name, t in times.items()}


def main():
    torch.set_num_threads(2)
    print("oneDNN available: %s, threads: %d" % (torch.backends.mkldnn.is_available(), torch.get_num_threads()))
    for name, make in [("resnet20-sized", resnet20_sized), ("vgg11", vgg11)]:
        m = medians(make)
        nchw, nhwc = m["NCHW"], m["channels-last"]
        print("%-15s NCHW %.3f s  channels-last %.3f s  (channels-last / NCHW = %.2f)" % (name, nchw, nhwc, nhwc / nchw))


if __name__ == "__main__":
    main()
