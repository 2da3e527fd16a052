#!/usr/bin/python3
"""The repository speaks of itself only, and every citation in it resolves.

Reads README.md, docs/ and every text file under src/, reproductions/, apps/,
tools/, tests/, benchmarks/, scripts/ and datasets/, and fails naming file and
line for:
  - a citation of docs/reference/algorithm.md whose section (§2c, §5.7, ...)
    has no heading there, or whose quoted subsection name ("Why it works")
    the file does not contain;
  - a path docs/<page>.md that does not exist;
  - a reference to a file outside the repository (../shared/reference,
    repair_reference.md), a tracker number ("issue #N"), an old-style
    "pitfall N", or the word "session".
--self-test first shows that each kind of planted mistake is caught.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(sys.argv[-1] if len(sys.argv) > 1 and sys.argv[-1] != "--self-test" else ".").resolve()
REFERENCE = "docs/reference/algorithm.md"
TREES = ["src", "reproductions", "apps", "tools", "tests", "benchmarks", "scripts", "datasets", "docs"]
SUFFIXES = {".cpp", ".h", ".py", ".sh", ".md", ".txt", ".json", ".cmake", ""}
SKIP = ("tests/fuzz/regressions", "tests/docs/check_docs.py")  # this file names what it refuses

FORBIDDEN = [
    (re.compile(r"shared/reference|repair_reference\.md"), "cites a file outside the repository"),
    (re.compile(r"\b[Ii]ssue #\d"), "cites a tracker number"),
    (re.compile(r"\b[Pp]itfalls? \d"), "cites a pitfall by its old number (use docs/reference/algorithm.md §5.N)"),
    (re.compile(r"\bsessions?\b", re.I), "speaks of a session (call it a run)"),
]
SECTION = re.compile(r"§(\d(?:\.\d+)?[a-d]?)")
QUOTED = re.compile(r"§(\d(?:\.\d+)?[a-d]?),? \(?\"([^\"]+)\"")
PAGE = re.compile(r"\bdocs/[\w./-]+\.md\b")


def sections(reference_text):
    return {m.group(1) for m in re.finditer(r"^#+ §(\d(?:\.\d+)?[a-d]?)\b", reference_text, re.M)}


def problems(path_name, text, known, reference_text, exists):
    out = []
    cites_reference = False
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{path_name}:{number}"
        for pattern, why in FORBIDDEN:
            if pattern.search(line):
                out.append(f"{where}: {why}: {line.strip()[:120]}")
        if REFERENCE in line:
            cites_reference = True
        # A § on a line of a file that cites the reference refers to it.
        if cites_reference or REFERENCE in line:
            for m in SECTION.finditer(line):
                if m.group(1) not in known:
                    out.append(f"{where}: §{m.group(1)} is no section of {REFERENCE}")
            for m in QUOTED.finditer(line):
                if m.group(2).lower().rstrip(".") not in reference_text.lower():
                    out.append(f"{where}: {REFERENCE} §{m.group(1)} has no \"{m.group(2)}\"")
        for m in PAGE.finditer(line):
            if not exists(m.group(0)):
                out.append(f"{where}: {m.group(0)} does not exist")
    return out


def files(root):
    yield root / "README.md"
    for tree in TREES:
        for p in sorted((root / tree).rglob("*")):
            rel = p.relative_to(root).as_posix()
            if p.is_file() and p.suffix in SUFFIXES and not rel.startswith(SKIP) and rel != REFERENCE:
                yield p


def check(root):
    reference_text = (root / REFERENCE).read_text()
    known = sections(reference_text)
    found = []
    for p in files(root):
        try:
            text = p.read_text()
        except UnicodeDecodeError:
            continue
        found += problems(p.relative_to(root).as_posix(), text, known, reference_text,
                          lambda page: (root / page).exists())
    return found


def self_test():
    reference = "# x\n## §2 A\n### §2c R\n#### Why it works\n### §5.3 P\n"
    known = sections(reference)
    planted = {
        "a missing section": f"// {REFERENCE} §2e",
        "a missing subsection name": f"// {REFERENCE} §2c, \"How it fails\"",
        # Built from parts, so that this file does not itself hold what it refuses.
        "an outside file": "// see ../" + "shared/reference/" + "repair_reference.md",
        "a tracker number": "// (" + "issue" + " #12)",
        "an old pitfall number": "// (" + "pitfall" + " 3)",
        "the word session": "// this " + "session's seconds",
        "a missing docs page": "// docs/nowhere.md",
    }
    for what, line in planted.items():
        if not problems("planted", line, known, reference, lambda page: False):
            sys.exit(f"self-test: {what} was not caught")
    clean = f"// {REFERENCE} §2c, \"Why it works\"; §5.3\n"
    if problems("clean", clean, known, reference, lambda page: True):
        sys.exit("self-test: a correct citation was refused")


if __name__ == "__main__":
    if "--self-test" in sys.argv:
        self_test()
    found = check(ROOT)
    for line in found:
        print(line)
    if found:
        sys.exit(f"{len(found)} problem(s): the repository must cite only itself, and every citation must resolve")
    print("every citation resolves; nothing cites outside the repository")
