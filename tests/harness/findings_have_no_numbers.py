#!/usr/bin/env python3
"""The findings a target always reports (TargetSpec::notes) and the text of
what it knows of its differences from the paper (known_differences) hold no
digit: a number in a report's findings must be one that run produced
(sweep_findings computes them). Reads every reproductions/*/main.cpp, finds
the constants assigned to spec.notes or spec.known_differences, and fails
naming each constant that holds a digit. --self-test first shows that a
planted digit is caught."""
import glob
import os
import re
import sys

CONSTANT = re.compile(r'constexpr\s+const\s+char\s*\*\s*(k\w+)\s*=\s*((?:\s*"(?:[^"\\]|\\.)*")+)\s*;')
USED = re.compile(r'spec\.(?:notes|known_differences)\s*=\s*\{?([^;]*)\}?;')


def offending(source):
    """(constant, text) of every notes/known-differences constant holding a digit."""
    used = set()
    for m in USED.finditer(source):
        used.update(re.findall(r'\bk\w+', m.group(1)))
    out = []
    for m in CONSTANT.finditer(source):
        name = m.group(1)
        text = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(2)))
        if name in used and re.search(r'\d', text):
            out.append((name, text))
    return out


def self_test():
    planted = ('constexpr const char* kKnownDifferences =\n    "ours is " "2 points below";\n'
               'constexpr const char* kOther = "9";\nint main() { spec.known_differences = kKnownDifferences; }\n')
    found = offending(planted)
    assert [n for n, _ in found] == ["kKnownDifferences"], found
    clean = planted.replace("2 points", "some points")
    assert offending(clean) == [], offending(clean)


def main():
    self_test()
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    files = sorted(glob.glob(os.path.join(root, "reproductions", "*", "main.cpp")))
    assert files, "no reproductions/*/main.cpp under " + root
    bad, checked = [], 0
    for path in files:
        source = open(path, encoding="utf-8").read()
        checked += len(USED.findall(source))
        bad += [(path, n, t) for n, t in offending(source)]
    for path, name, text in bad:
        print(f"{path}: {name} holds a number ({text[:80]}...); findings' numbers must come from the run")
    assert checked > 0, "found no spec.notes or spec.known_differences: the pattern no longer matches the code"
    print(f"findings_have_no_numbers: {checked} assignments in {len(files)} targets, {len(bad)} with a number")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
