#!/usr/bin/python3
"""The library's module order, declared once, holds for every include.

src/repairbench/CMakeLists.txt lists the modules in layers
(REPAIRBENCH_MODULE_LAYERS); a module may include its own headers and those
of lower layers, never those of its layer's neighbours or of higher ones, and
no library file may include the reproduction harness (harness/...). Fails
naming the file, the line and the include; also fails when a folder of
src/repairbench is in no layer. --self-test first shows that a planted upward
include, a sideways one and a harness include are caught.
"""
import pathlib
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"(repairbench/([a-z_]+)/[^"]+|harness/[^"]+)"')


def layers(cmake_text):
    m = re.search(r"set\(REPAIRBENCH_MODULE_LAYERS\s+(.*?)\)", cmake_text, re.S)
    if not m:
        sys.exit("src/repairbench/CMakeLists.txt declares no REPAIRBENCH_MODULE_LAYERS")
    rank = {}
    for level, group in enumerate(re.findall(r'"([^"]*)"', m.group(1))):
        for module in group.split():
            rank[module] = level
    return rank


def violations(module, name, text, rank):
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        m = INCLUDE.match(line)
        if not m:
            continue
        if m.group(1).startswith("harness/"):
            out.append(f"{name}:{number}: the library includes the reproduction harness ({m.group(1)})")
            continue
        other = m.group(2)
        if other == module:
            continue
        if other not in rank:
            out.append(f"{name}:{number}: includes {m.group(1)}, of a module in no layer")
        elif rank[other] >= rank[module]:
            how = "its own layer" if rank[other] == rank[module] else "a higher layer"
            out.append(f"{name}:{number}: {module} includes {m.group(1)}, of {how} ({other})")
    return out


def check(root):
    src = root / "src" / "repairbench"
    rank = layers((src / "CMakeLists.txt").read_text())
    found = []
    for folder in sorted(p for p in src.iterdir() if p.is_dir()):
        if folder.name not in rank:
            found.append(f"src/repairbench/{folder.name}: a module in no layer of REPAIRBENCH_MODULE_LAYERS")
            continue
        for f in sorted(folder.rglob("*")):
            if f.suffix in (".h", ".cpp"):
                found += violations(folder.name, f.relative_to(root).as_posix(), f.read_text(), rank)
    return found


def self_test():
    rank = layers('set(REPAIRBENCH_MODULE_LAYERS\n  "core"\n  "data models"\n  "pipeline")')
    planted = {
        "an upward include": ("models", '#include "repairbench/pipeline/merge.h"'),
        "a sideways include": ("models", '#include "repairbench/data/loader.h"'),
        "a harness include": ("core", '#include "harness/sweep.h"'),
        "an undeclared module": ("pipeline", '#include "repairbench/extra/x.h"'),
    }
    for what, (module, line) in planted.items():
        if not violations(module, "planted", line, rank):
            sys.exit(f"self-test: {what} was not caught")
    if violations("pipeline", "clean", '#include "repairbench/core/error.h"\n#include "repairbench/pipeline/x.h"', rank):
        sys.exit("self-test: a downward include was refused")


if __name__ == "__main__":
    if "--self-test" in sys.argv:
        self_test()
    root = pathlib.Path(sys.argv[-1] if sys.argv[-1] != "--self-test" else ".").resolve()
    found = check(root)
    for line in found:
        print(line)
    if found:
        sys.exit(f"{len(found)} include(s) against the module order of src/repairbench/CMakeLists.txt")
    print("every include follows the module order")
