#!/usr/bin/python3
"""Committed results and the tables rendered from them.

Every table of measured numbers in README.md and docs/ sits between
`<!-- results NAME -->` and `<!-- /results -->` and is rendered from
results/NAME.json, a small summary of one run: its numbers, the command, the
commit, CPU and BLAS kernel and the date, taken from the run's report.

  tools/results.py collect KIND REPORT NAME   summarize a report into results/NAME.json
  tools/results.py collect-build NAME COMMAND LABEL=LOG...
                                              summarize cold builds (each LOG: the output of
                                              `/usr/bin/time -f "%e s wall, %U user, %S sys" make build`)
  tools/results.py collect-ctest NAME COMMAND LOG   summarize a ctest run's outcome (its output in LOG)
  tools/results.py collect-fuzz NAME COMMAND SUMMARY...
                                              summarize fuzz campaigns (the <fuzz build>/logs/<target>.json
                                              that tests/fuzz/run_fuzzers.sh writes) into results/NAME.json
  tools/results.py render                     rewrite every block from its result file
  tools/results.py check                      exit 1 when a block differs from its result file

KIND says which table a report gives: `variance_collapse` (the per-layer std
ratios of each model) or `study` (midpoint accuracy per correction and
matcher, and the claims' outcomes). `check` runs in `make test`
(results_tables), so a table cannot drift from its data.
"""
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))] if (ROOT / "docs").exists() else [ROOT / "README.md"]
BLOCK = re.compile(r"(<!-- results ([\w.-]+) -->\n)(.*?)(<!-- /results -->)", re.S)


def provenance(report):
    c = report["context"]
    return {"command": c["command"], "commit": c["git_commit"], "cpu": c.get("cpu", "unknown"),
            "blas_core": c.get("blas_core", ""), "threads": c.get("threads"), "date": c["date"]}


def fmt(mean, std=None):
    return f"{mean:.2f}" if std is None else f"{mean:.2f} +- {std:.2f}"


def collect_variance_collapse(report):
    header = ["model", "layer", "test set: before", "test set: after REPAIR", "statistics data: before",
              "statistics data: after REPAIR"]
    rows = [[r["model"], r["point"], f"{r['test_set_before']:.3f}", f"{r['test_set_after_repair']:.3f}",
             f"{r['statistics_data_before']:.3f}", f"{r['statistics_data_after_repair']:.3f}"]
            for r in report["variance_ratios"]]
    return {"header": header, "rows": rows}


def collect_study(report):
    cells = [c for c in report["study_cells"] if c.get("budget") == "default" and "correction" in c]
    matchers = list(dict.fromkeys(c["matcher"] for c in cells))
    corrections = list(dict.fromkeys(c["correction"] for c in cells))
    family = cells[0]["family"]
    header = ["correction"] + matchers
    rows = []
    for corr in corrections:
        row = [corr]
        for m in matchers:
            cell = [c for c in cells if c["matcher"] == m and c["correction"] == corr and c["family"] == family]
            acc = cell[0]["midpoint_test_accuracy"] if cell else None
            row.append(fmt(acc["mean"], acc["std"]) if acc else "")
        rows.append(row)
    def decide(c):
        if c["pairs_to_decide"]:
            return str(c["pairs_to_decide"])
        return "none up to 100" if c["outcome"] == "inconclusive" else ""
    claims = [[c["metric"], c["outcome"], fmt(c["ours"], c["ours_std"]),
               f"{c['interval'][0]:.2f} .. {c['interval'][1]:.2f}", decide(c)]
              for c in report["verdict"]["checks"]]
    extra = [{"header": ["claim", "outcome", "mean +- std (points)", "95 % interval of the mean",
                         "pairs that would decide"], "rows": claims}]
    budget = report.get("study_budget", [])
    if budget:
        sizes = sorted({b["batches"] for b in budget})
        names = list(dict.fromkeys(b["correction"] for b in budget))
        rows_b = []
        for name in names:
            by = {b["batches"]: b["midpoint_test_accuracy"] for b in budget if b["correction"] == name}
            default = [c for c in cells if c["family"] == family and c["matcher"] == "activation"
                       and c["correction"] == name]
            rows_b.append([name] + [fmt(by[n]["mean"]) if n in by else "" for n in sizes]
                          + [fmt(default[0]["midpoint_test_accuracy"]["mean"]) if default else ""])
        extra.append({"caption": "statistics budget, activation matching: midpoint test accuracy (%) against "
                                 "batches per statistics pass (mean over pairs)",
                      "header": ["correction"] + [f"{n:g} batch(es)" for n in sizes] + ["default"], "rows": rows_b})
    many = report.get("many_models", [])
    if many:
        extra.append({"caption": "many-model merging (seeds 1..N aligned to seed 1): test accuracy (%)",
                      "header": ["N", "best endpoint", "aligned average", "+ " + many[0]["correction"],
                                 "output ensemble"],
                      "rows": [[str(m["models"]), fmt(m["best_endpoint"]), fmt(m["averaged"]), fmt(m["corrected"]),
                                fmt(m["ensemble"])] for m in many]})
    return {"header": header, "rows": rows, "caption": f"{family}: midpoint test accuracy (%), mean +- std over "
                                                       f"{report['context']['pairs']} pairs",
            "extra": extra}


KINDS = {"variance_collapse": collect_variance_collapse, "study": collect_study}


def cell(x):
    return str(x).replace("|", "\\|")  # a literal bar inside a cell (|ratio - 1|)


def table(t):
    lines = ["| " + " | ".join(cell(h) for h in t["header"]) + " |", "|" + "---|" * len(t["header"])]
    lines += ["| " + " | ".join(cell(x) for x in row) + " |" for row in t["rows"]]
    return "\n".join(lines) + "\n"


def render_result(result):
    out = ""
    if "caption" in result["table"]:
        out += result["table"]["caption"] + ":\n\n"
    out += table(result["table"])
    for t in result["table"].get("extra", []):
        out += "\n" + (t["caption"] + ":\n\n" if "caption" in t else "") + table(t)
    p = result["provenance"]
    kernel = f", OpenBLAS kernel {p['blas_core'] or 'unknown'}" if result.get("kind") not in ("fuzz", "build", "ctest") else ""
    out += (f"\n`{p['command']}` at commit {p['commit'][:12]}, {p['cpu']}{kernel}, {p['threads']} thread(s), "
            f"{p['date']} (`results/{result['name']}.json`).\n")
    return out


def load(name):
    path = RESULTS / f"{name}.json"
    if not path.exists():
        raise SystemExit(f"results.py: a docs block names results/{name}.json, which does not exist")
    return json.loads(path.read_text())


def rendered(text):
    return BLOCK.sub(lambda m: m.group(1) + render_result(load(m.group(2))) + m.group(4), text)


def self_test():
    """A block whose table was edited by hand is caught."""
    result = {"name": "t", "table": {"header": ["a"], "rows": [["1.00"]]},
              "provenance": {"command": "c", "commit": "abc", "cpu": "x", "blas_core": "", "threads": 1, "date": "d"}}
    good = "<!-- results t -->\n" + render_result(result) + "<!-- /results -->"
    fake = good.replace("1.00", "1.01")
    sub = lambda text: BLOCK.sub(lambda m: m.group(1) + render_result(result) + m.group(4), text)
    assert sub(good) == good and sub(fake) != fake


def machine():
    """The CPU's model name, and the commit of this tree (with -dirty for uncommitted changes)."""
    import subprocess
    cpu = "unknown"
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "diff", "--quiet", "HEAD"]).returncode != 0
    return cpu, commit + ("-dirty" if dirty else "")


def collect_fuzz(name, command, summaries):
    """One row per libFuzzer campaign: its seconds (one process, one core each), executions, the corpus it
    ended with and its findings."""
    import datetime
    rows = []
    for path in summaries:
        s = json.loads(pathlib.Path(path).read_text())
        rows.append([s["target"], str(s["seconds"]), f"{s['executions']:,}" if s["executions"] is not None else "?",
                     str(s["inputs"]), str(s["findings"])])
    cpu, commit = machine()
    date = datetime.datetime.fromtimestamp(max(pathlib.Path(p).stat().st_mtime for p in summaries),
                                           datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"name": name, "kind": "fuzz",
            "table": {"header": ["target", "seconds", "executions", "corpus inputs", "findings"], "rows": rows},
            "provenance": {"command": command, "commit": commit, "cpu": cpu, "blas_core": "", "threads": 1,
                           "date": date}}


def collect_build(name, command, labelled_logs):
    """One row per cold build: its wall and CPU seconds and its build steps, from the log's last lines."""
    import datetime
    rows = []
    for item in labelled_logs:
        label, log = item.split("=", 1)
        text = pathlib.Path(log).read_text()
        timing = re.findall(r"([\d.]+) s wall, ([\d.]+) user, ([\d.]+) sys", text)
        steps = re.findall(r"^\[\d+/(\d+)\]", text, re.M)
        if not timing or "rc=0" not in text:
            raise SystemExit(f"results.py: {log} holds no finished build's timing")
        wall, user, system = (float(x) for x in timing[-1])
        rows.append([label, f"{wall:.0f}", f"{wall / 60:.1f}", f"{user + system:.0f}", steps[-1] if steps else "?"])
    cpu, commit = machine()
    date = datetime.datetime.fromtimestamp(max(pathlib.Path(i.split("=", 1)[1]).stat().st_mtime for i in labelled_logs),
                                           datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"name": name, "kind": "build",
            "table": {"header": ["build", "wall (s)", "wall (min)", "CPU (s)", "build steps"], "rows": rows},
            "provenance": {"command": command, "commit": commit, "cpu": cpu, "blas_core": "",
                           "threads": __import__("os").cpu_count(), "date": date}}


def collect_ctest(name, command, log):
    """One row: the tests that passed, failed and were skipped, from ctest's output (no time: a sanitizer
    run's says nothing of speed)."""
    import datetime
    text = pathlib.Path(log).read_text()
    total = re.findall(r"(\d+)% tests passed, (\d+) tests? failed out of (\d+)", text)
    wall = re.findall(r"Total Test time \(real\) = +([\d.]+) sec", text)
    if not total or not wall:
        raise SystemExit(f"results.py: {log} holds no finished ctest run")
    _, failed, count = total[-1]
    skipped = len(re.findall(r"\*\*\*Skipped|Not Run", text))
    cpu, commit = machine()
    date = datetime.datetime.fromtimestamp(pathlib.Path(log).stat().st_mtime, datetime.timezone.utc)
    return {"name": name, "kind": "ctest",
            "table": {"header": ["tests", "passed", "failed", "skipped"],
                      "rows": [[count, str(int(count) - int(failed) - skipped), failed, str(skipped)]]},
            "provenance": {"command": command, "commit": commit, "cpu": cpu, "blas_core": "",
                           "threads": __import__("os").cpu_count(), "date": date.strftime("%Y-%m-%dT%H:%M:%SZ")}}


def write_result(result):
    """Writes results/<name>.json and says so."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{result['name']}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"results/{result['name']}.json")
    return 0


def main(argv):
    if len(argv) == 4 and argv[0] == "collect-ctest":
        return write_result(collect_ctest(argv[1], argv[2], argv[3]))
    if len(argv) >= 4 and argv[0] == "collect-build":
        return write_result(collect_build(argv[1], argv[2], argv[3:]))
    if len(argv) >= 4 and argv[0] == "collect-fuzz":
        return write_result(collect_fuzz(argv[1], argv[2], argv[3:]))
    if len(argv) >= 1 and argv[0] == "collect" and len(argv) == 4:
        kind, report_path, name = argv[1:]
        report = json.loads(pathlib.Path(report_path).read_text())
        return write_result({"name": name, "kind": kind, "table": KINDS[kind](report),
                             "provenance": provenance(report)})
    if argv == ["render"] or argv == ["check"]:
        self_test()
        stale, blocks = [], 0
        for doc in DOCS:
            text = doc.read_text()
            blocks += len(BLOCK.findall(text))
            new = rendered(text)
            if new != text:
                if argv[0] == "render":
                    doc.write_text(new)
                stale.append(doc.relative_to(ROOT))
        if argv[0] == "check":
            for d in stale:
                print(f"results.py: a table in {d} differs from its results/ file; run tools/results.py render")
            print(f"results.py: {blocks} tables checked, {len(stale)} file(s) stale")
            return 1 if stale else 0
        print(f"results.py: {blocks} tables, {len(stale)} file(s) rewritten")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
