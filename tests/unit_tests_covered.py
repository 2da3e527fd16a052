#!/usr/bin/python3
"""Every suite of the unit_tests binary runs in some module's CTest test.

    unit_tests_covered.py <unit_tests binary> <suite>...

The modules' tests filter the one binary by the suites CMake read from their
TEST lines (cmake/RepairbenchHelpers.cmake). This lists the binary's suites
(--gtest_list_tests) and fails naming any that no filter names; --self-test
shows that an unnamed suite is caught.
"""
import subprocess
import sys


def binary_suites(listing):
    """Suite names of a --gtest_list_tests listing ("Prefix/Suite." -> "Suite")."""
    out = set()
    for line in listing.splitlines():
        if line and not line.startswith(" ") and line.rstrip().endswith("."):
            out.add(line.strip()[:-1].split("/")[-1])
    return out


def uncovered(listing, named):
    return sorted(binary_suites(listing) - set(named))


if __name__ == "__main__":
    sample = "Alpha.\n  One\nPrefix/Beta.\n  Two/0  # GetParam() = 1\n"
    if uncovered(sample, ["Alpha"]) != ["Beta"] or uncovered(sample, ["Alpha", "Beta"]):
        sys.exit("self-test: an unnamed suite was not caught, or a named one was")
    listing = subprocess.run([sys.argv[1], "--gtest_list_tests"], check=True, capture_output=True, text=True).stdout
    missing = uncovered(listing, sys.argv[2:])
    if missing:
        sys.exit("suites of unit_tests that no module's test runs: " + ", ".join(missing))
    print(f"{len(binary_suites(listing))} suites, every one run by a module's test")
