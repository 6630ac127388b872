#!/usr/bin/env bash
# Stage what a run on the lent GPU machine needs, here, in the repository root (see scripts/README.md):
#   bash scripts/device_stage.sh mnist fmnist      # ch1
#   bash scripts/device_stage.sh mnist cifar       # ch2, ch3, ch4
# Writes .whl/ (the wheels of scripts/device-wheels.txt for CPython 3.12 on x86-64 Linux) and .data/
# (copies of the named datasets from $HELPERS_DATA, default ../shared/data). Both folders are git-ignored
# and must be named in the device call's `carry`; the tree travels only up to 64 MiB in all, so stage
# MNIST + Fashion-MNIST (42 MB) or MNIST + the CIFAR-10 subset (39 MB), not all three.
set -euo pipefail
cd "$(dirname "$0")/.."
src="${HELPERS_DATA:-../shared/data}"
[ $# -gt 0 ] || { echo "usage: $0 DATASET... (mnist, fmnist, cifar)" >&2; exit 2; }
rm -rf .data && mkdir -p .data
for name in "$@"; do
  case "$name" in
    mnist)  mkdir -p .data/MNIST && cp -r "$src/MNIST/raw" .data/MNIST/ ;;
    fmnist) mkdir -p .data/FashionMNIST && cp -r "$src/FashionMNIST/raw" .data/FashionMNIST/ ;;
    cifar)  if [ -d "$src/cifar-10-batches-py" ]; then cp -r "$src/cifar-10-batches-py" .data/;
            else cp -r "$src/cifar-10-subset" .data/; fi ;;
    *) echo "unknown dataset '$name'; valid: mnist, fmnist, cifar" >&2; exit 2 ;;
  esac
done
if [ ! -f .whl/.complete ] || [ scripts/device-wheels.txt -nt .whl/.complete ]; then
  rm -rf .whl && mkdir -p .whl
  grep -v '^#' scripts/device-wheels.txt | xargs python3 -m pip download -q --no-deps --only-binary=:all: \
    --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl
  touch .whl/.complete
fi
du -sh .data .whl
git ls-files -z | xargs -0 du -cb | tail -1 | awk '{printf "tracked tree: %.1f MB\n", $1/1e6}'
