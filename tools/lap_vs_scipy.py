#!/usr/bin/python3
"""Compare repairbench's linear assignment solver with scipy's on the same matrices.

Run with Debian's Python, which has numpy and scipy:

    /usr/bin/python3 tools/lap_vs_scipy.py [--lap-timer PATH] [--sizes 64,128,...]

For every size n and matrix kind it times scipy.optimize.linear_sum_assignment(w,
maximize=True) in this process and benchmarks/lap_timer (the C++ solver) on the same
matrix with the same number of repeats, checks that the C++ result is a permutation
whose total weight equals scipy's to 1e-9 relative, and prints one table row.
Matrix kinds:
  randn  i.i.d. standard normal weights;
  corr   correlations between n units and a noisy, permuted copy of them (128 features,
         noise 1.5), which is what neuron alignment feeds the solver;
  ties   standard normal rounded to one decimal: many equal weights and many optimal
         matchings.
Both solvers run single-threaded (scipy's solver is; the C++ one is too, and BLAS
threads are pinned to 1). Times are wall-clock milliseconds of the solve call only,
input checks included, file reading excluded.
"""

import os

# Before numpy loads: one BLAS thread, so the matrix generation and scipy stay on one core.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy.optimize import linear_sum_assignment  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = ("randn", "corr", "ties")
# Solves per matrix, the same for both solvers; fewer for the slow large sizes.
REPEATS = {64: 30, 128: 30, 256: 20, 512: 10, 1024: 5, 2048: 3, 4096: 3}


def make_matrix(kind, n, rng):
    if kind == "randn":
        return rng.standard_normal((n, n))
    if kind == "ties":
        return np.round(rng.standard_normal((n, n)), 1)
    features = 128
    a = rng.standard_normal((n, features))
    b = a[rng.permutation(n)] + 1.5 * rng.standard_normal((n, features))

    def standardize(x):
        x = x - x.mean(axis=1, keepdims=True)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    return np.ascontiguousarray(standardize(a) @ standardize(b).T)


def time_scipy(w, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        rows, cols = linear_sum_assignment(w, maximize=True)
        times.append((time.perf_counter() - t0) * 1e3)
    return times, math.fsum(w[rows, cols])


def run_lap_timer(lap_timer, path, repeats):
    out = subprocess.run(
        [lap_timer, "--repeats", str(repeats), "--write-assignments", path],
        check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] == "RESULT":
            return float(fields[3]), float(fields[4])
    raise RuntimeError(f"no RESULT line from lap_timer:\n{out}")


def find_lap_timer():
    for build in ("build-lap", "build", "build-release"):
        path = os.path.join(REPO, build, "benchmarks", "lap_timer")
        if os.access(path, os.X_OK):
            return path
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lap-timer", default=find_lap_timer(),
                        help="path of the lap_timer executable (default: found under build*/)")
    parser.add_argument("--sizes", default="64,128,256,512,1024,2048,4096",
                        help="comma-separated matrix sizes")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated kinds")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not args.lap_timer:
        sys.exit("lap_timer not found; build it (ninja lap_timer) or pass --lap-timer")
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = args.kinds.split(",")
    for kind in kinds:
        if kind not in KINDS:
            sys.exit(f"unknown kind {kind}; choose from {', '.join(KINDS)}")

    print(f"# scipy {scipy.__version__}, numpy {np.__version__}; lap_timer {args.lap_timer}")
    print("# both solvers single-threaded; maximize=True; ms = median wall-clock of the "
          "repeated solves (min in brackets)")
    print(f"# load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    header = (f"{'n':>5}  {'kind':<6} {'reps':>4}  {'scipy ms':>18}  {'ours ms':>18}  "
              f"{'ratio':>6}  {'rel obj diff':>12}")
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(args.seed)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="lap_vs_scipy_") as tmp:
        for n in sizes:
            repeats = REPEATS.get(n, 3)
            for kind in kinds:
                w = make_matrix(kind, n, rng)
                path = os.path.join(tmp, f"{kind}_{n}.bin")
                w.astype("<f8").tofile(path)
                scipy_times, scipy_obj = time_scipy(w, repeats)
                ours_min, ours_median = run_lap_timer(args.lap_timer, path, repeats)
                cols = np.fromfile(path + ".cols", dtype="<i8")
                permutation = cols.shape == (n,) and np.array_equal(np.sort(cols), np.arange(n))
                ours_obj = math.fsum(w[np.arange(n), cols]) if permutation else float("nan")
                rel = abs(ours_obj - scipy_obj) / max(1.0, abs(scipy_obj))
                ok = permutation and rel <= 1e-9
                failures += not ok
                scipy_median = statistics.median(scipy_times)
                scipy_col = f"{scipy_median:.3f} [{min(scipy_times):.3f}]"
                ours_col = f"{ours_median:.3f} [{ours_min:.3f}]"
                print(f"{n:>5}  {kind:<6} {repeats:>4}  {scipy_col:>18}  {ours_col:>18}  "
                      f"{scipy_median / ours_median:>6.2f}  {rel:>12.1e}"
                      f"{'' if ok else '  MISMATCH' if permutation else '  NOT A PERMUTATION'}",
                      flush=True)
                os.remove(path)
                os.remove(path + ".cols")
    print("# ratio = scipy median / ours median")
    if failures:
        print(f"# {failures} matrices where the results disagree")
        sys.exit(1)
    print("# all objectives agree to 1e-9 relative")


if __name__ == "__main__":
    main()
