#!/bin/sh
# golden_platform.sh CMD [ARG...]: runs CMD on the numeric platform the golden
# regression reports are made and checked on, so that one set of them holds
# on every x86-64 machine with AVX2 and FMA.
#
# Float results move with the kernels a run picks, and two libraries pick
# them from the CPU: OpenBLAS (its core type) and oneDNN (its instruction
# set; LibTorch's convolutions run on oneDNN). Measured on
# 2026-12-02: the SkylakeX-kernel reports made on an AMD EPYC with AVX-512
# did not hold on an Intel Xeon with AVX-512 (the ImageNet smoke target's
# correlations moved by up to 8e-6 and its permutations changed), while the
# reports made on an AVX2-only AMD EPYC (OpenBLAS Haswell, oneDNN AVX2) held on
# that Xeon, every case and target, once it ran the same two kernels. So the
# golden runs force those two here; the Makefile's `golden` targets and the
# regression and smoke tests all run through this script.
#
# A CPU without AVX2 or FMA keeps its own kernels, and check_golden.sh skips
# the golden checks there (no reports of its kernel).
if grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo 2>/dev/null; then
  export OPENBLAS_CORETYPE=Haswell ONEDNN_MAX_CPU_ISA=AVX2
fi
exec "$@"
