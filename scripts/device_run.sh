#!/usr/bin/env bash
# Run chapters (and optionally the benchmarks) on the lent GPU machine, from the repository root there,
# after scripts/device_stage.sh has staged .whl/ and .data/ here (both named in `carry`):
#   bash scripts/device_run.sh standard 1            # chapter 1 in the standard profile
#   bash scripts/device_run.sh standard 2 4 bench    # chapters 2 and 4, then `python -m benchmarks`
# Everything lands under $OUT (at most 8 files come back, two folders down): runs/<stem>/results.json,
# the executed notebooks, benchmark JSON, and log.txt. Copy results.json to results/<profile>/<stem>/.
set -uo pipefail
profile="${1:?usage: $0 PROFILE CHAPTER... [bench]}"; shift
OUT="${OUT:-$PWD/_build/device}"; mkdir -p "$OUT/runs"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || { echo "wheel install failed" >&2; exit 3; }
export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}" PATH="/tmp/site/bin:$PATH"
export HELPERS_DATA="$PWD/.data" HELPERS_PROGRESS=0 PYTHONUNBUFFERED=1 MPLBACKEND=Agg
chapters=(); bench=0
for a in "$@"; do if [ "$a" = bench ]; then bench=1; else chapters+=("$a"); fi; done
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'cuda', torch.cuda.is_available())"
  rc=0
  if [ ${#chapters[@]} -gt 0 ]; then
    python3 -m helpers run --chapter "${chapters[@]}" --profile "$profile" --out "$OUT/runs" || rc=$?
  fi
  if [ $bench = 1 ]; then
    python3 -m benchmarks --out "$OUT" || rc=$?
  fi
  echo "exit $rc"; exit $rc
} 2>&1 | tee "$OUT/log.txt"
