#!/usr/bin/env python3
"""Prints the table of a `make bench` run from the Google Benchmark JSON files
in reports/bench/: time per iteration, items/s, GFLOP/s, and for training
steps the fraction of the sgemm peak measured in the same run (BM_Sgemm), so
the figure is a ratio on one machine at one time, not an absolute claim.
Repeated benchmarks (aggregates only) are shown by their median.

    python3 tools/bench_summary.py [reports/bench]
"""
import json
import os
import sys


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "reports", "bench")
    rows, peak, context = [], None, {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(folder, name)) as f:
            data = json.load(f)
        context = data.get("context", context)
        for b in data.get("benchmarks", []):
            if b.get("run_type") == "aggregate":
                if b.get("aggregate_name") != "median":
                    continue
                b = dict(b, name=b["run_name"] + " (median of %s)" % b.get("repetitions", "?"))
            if b.get("error_occurred"):
                rows.append((b["name"], "REFUSED: " + b.get("error_message", ""), "", "", ""))
                continue
            gflops = b.get("GFLOP/s")
            if b["name"].startswith("BM_Sgemm"):
                peak = gflops
            rows.append((b["name"], "%.1f %s" % (b["real_time"], b["time_unit"]),
                         "%.0f" % b["items_per_second"] if "items_per_second" in b else "",
                         "%.1f" % gflops if gflops else "", b["name"]))
    print("commit %s, LibTorch %s, %s threads, BLAS core %s, %s CPUs at %s MHz, %s" % (
        context.get("repairbench_git_commit", "?"), context.get("repairbench_torch_version", "?"),
        context.get("repairbench_threads", "?"), context.get("repairbench_blas_core", "?"),
        context.get("num_cpus", "?"), context.get("mhz_per_cpu", "?"), context.get("date", "?")))
    print("%-44s %14s %12s %9s %14s" % ("benchmark", "time", "items/s", "GFLOP/s", "of sgemm peak"))
    for name, time, items, gflops, key in rows:
        share = ""
        if peak and gflops and key.startswith("BM_TrainStep"):
            share = "%.0f%%" % (100 * float(gflops) / peak)
        print("%-44s %14s %12s %9s %14s" % (name, time, items, gflops, share))
    return 0


if __name__ == "__main__":
    sys.exit(main())
