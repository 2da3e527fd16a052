#!/usr/bin/python3
"""Writes the torch.save fixtures that tests/io reads, and their expected contents.

Run with Debian's Python, which has PyTorch 1.13 (the python3 first on PATH may not):

    /usr/bin/python3 tools/make_pytorch_fixtures.py

Output goes to tests/fixtures/pytorch/: a few small .pt files and expected.json,
which describes every readable fixture exactly (structure, dtypes, shapes and
every number), so the C++ tests compare without Python. The fixtures are
committed; rerun this only to change them.
"""

import collections
import json
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "pytorch")


class TinyNet(torch.nn.Module):
    """Linear + BatchNorm1d: an OrderedDict state_dict with _metadata, float32 and int64."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)
        self.bn = torch.nn.BatchNorm1d(2)

    def forward(self, x):
        return self.bn(self.fc(x))


def describe(value):
    """A JSON description that the C++ tests compare a PyValue against."""
    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).replace("torch.", "")
        if value.dtype.is_floating_point:
            values = value.detach().double().flatten().tolist()
        else:
            values = [int(v) for v in value.flatten().tolist()]
        return {"tensor": {"dtype": dtype, "shape": list(value.shape), "values": values}}
    if isinstance(value, dict):
        return {
            "dict": [[describe(k), describe(v)] for k, v in value.items()],
            "ordered": isinstance(value, collections.OrderedDict),
        }
    if isinstance(value, list):
        return {"list": [describe(v) for v in value]}
    if isinstance(value, tuple):
        return {"tuple": [describe(v) for v in value]}
    if isinstance(value, bool):
        return {"bool": value}
    if isinstance(value, int):
        return {"int": value}
    if isinstance(value, float):
        return {"float": value}
    if isinstance(value, str):
        return {"str": value}
    if isinstance(value, bytes):
        return {"bytes": list(value)}
    if value is None:
        return {"none": None}
    raise TypeError(f"cannot describe {type(value)}")


def trained_net():
    torch.manual_seed(0)
    net = TinyNet()
    net.train()
    net(torch.randn(4, 3))  # moves the running statistics and num_batches_tracked
    return net


def dtypes():
    return {
        "float64": torch.tensor([1.5, -2.25, 1e-300], dtype=torch.float64),
        "float16": torch.tensor([0.5, -65504.0, 0.0999755859375], dtype=torch.float16),
        "bfloat16": torch.tensor([[1.0, -3.0], [0.0078125, 256.0]], dtype=torch.bfloat16),
        "int32": torch.tensor([-(2**31), 2**31 - 1, 7], dtype=torch.int32),
        "int64": torch.tensor([-(2**62), 3], dtype=torch.int64),
        "int16": torch.tensor([-300, 300], dtype=torch.int16),
        "int8": torch.tensor([-128, 127], dtype=torch.int8),
        "uint8": torch.tensor([0, 255, 17], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(3.25),
        "empty": torch.zeros(0, 3),
    }


def views():
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    column = torch.arange(3, dtype=torch.float32).reshape(3, 1)
    value = {
        "base": base,
        "transposed": base.t(),
        "strided": base[1:, ::2],
        "row": base[2],
        "expanded": column.expand(3, 4),
    }
    assert value["strided"].storage_offset() == 4 and not value["transposed"].is_contiguous()
    return value


def nested():
    return {
        "name": "resnet20",
        "epoch": 7,
        "lr": 0.1,
        "flags": [True, False, None],
        "big": 2**40,
        "neg": -5,
        "neg_big": -(2**40) - 3,
        "tuple": (1, "a", 2.5, None),
        "nested": {"a": [1, 2, {"b": "c"}], "empty_list": [], "empty_dict": {}},
        "bytes": b"\x00\xff\x10",
        "empty_bytes": b"",
        "unicode": "Gr\u00f6\u00dfe \u2713",
        "int_keys": {1: "one", 2: "two"},
        "tensor_list": [torch.tensor([1.0, 2.0]), torch.tensor([3])],
        "state": collections.OrderedDict([("w", torch.ones(2, 2))]),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    net = trained_net()
    readable = {
        "state_dict.pt": (net.state_dict(), {}),
        "parameters.pt": (net.state_dict(keep_vars=True), {}),
        "dtypes.pt": (dtypes(), {}),
        "views.pt": (views(), {}),
        "nested.pt": (nested(), {}),
        "nested_protocol4.pt": (nested(), {"pickle_protocol": 4}),
    }
    expected = {}
    for name, (value, kwargs) in readable.items():
        path = os.path.join(OUT, name)
        torch.save(value, path, **kwargs)
        expected[name] = describe(torch.load(path))
    # Files that the reader must refuse, each with its own message.
    torch.save(net, os.path.join(OUT, "whole_model.pt"))
    torch.save(net.state_dict(), os.path.join(OUT, "legacy.pt"), _use_new_zipfile_serialization=False)
    torch.jit.save(torch.jit.script(net), os.path.join(OUT, "torchscript.pt"))
    torch.save({"z": torch.zeros(2, dtype=torch.complex64)}, os.path.join(OUT, "complex.pt"))
    # One fixture per line keeps the file small and its diffs readable.
    lines = [f"{json.dumps(name)}: {json.dumps(value)}" for name, value in expected.items()]
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")


if __name__ == "__main__":
    main()
