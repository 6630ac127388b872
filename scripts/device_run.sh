#!/usr/bin/env bash
# Run chapters (and optionally the benchmarks) on the lent GPU machine, from the repository root there,
# after scripts/device_stage.sh has staged .whl/ and .data/ here (both named in `carry`):
#   bash scripts/device_run.sh standard 1            # chapter 1 in the standard profile
#   bash scripts/device_run.sh standard 2 4 bench    # chapters 2 and 4, then `python -m benchmarks`
#   PARALLEL=1 LIMIT=560 bash scripts/device_run.sh standard 2 3 4
#       # the chapters at the same time on the one GPU (4 CPU threads each), each stopped after LIMIT s
#   bash scripts/device_run.sh standard tests bench 1
#       # first the tests with CUDA-only cases (tests/test_training.py, tests/test_similarity.py) and the
#       # benchmarks (BENCH_ARGS="--only training" passes options), then chapter 1
#   ALSO="python3 scripts/ch3_cpu_parts.py --device cuda ..." PARALLEL=1 bash scripts/device_run.sh standard 4
#       # one more command beside the parallel chapters (log-also.txt, the same LIMIT)
# Everything lands under $OUT: log.txt (and log-<chapter>.txt in parallel), the benchmark JSON, and
# runs.tar.gz with runs/<stem>/results.json and the executed notebooks (one archive, because at most 8
# files come back). Copy each results.json to results/<profile>/<stem>/.
set -uo pipefail
profile="${1:?usage: $0 PROFILE CHAPTER... [bench]}"; shift
OUT="${OUT:-$PWD/_build/device}"; mkdir -p "$OUT/runs"
LIMIT="${LIMIT:-0}"   # seconds per chapter; 0 = no limit
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || { echo "wheel install failed" >&2; exit 3; }
export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}" PATH="/tmp/site/bin:$PATH"
export HELPERS_DATA="$PWD/.data" HELPERS_PROGRESS=0 PYTHONUNBUFFERED=1 MPLBACKEND=Agg
chapters=(); bench=0; tests=0
for a in "$@"; do
  case "$a" in bench) bench=1 ;; tests) tests=1 ;; *) chapters+=("$a") ;; esac
done
limit() { if [ "$LIMIT" -gt 0 ]; then timeout "$LIMIT" "$@"; else "$@"; fi; }
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'cuda', torch.cuda.is_available())"
  rc=0; t0=$(date +%s)
  if [ $tests = 1 ]; then
    python3 -m pytest -q -p no:cacheprovider tests/test_training.py tests/test_similarity.py || rc=$?
    echo "tests: done after $(( $(date +%s) - t0 )) s"
  fi
  if [ $bench = 1 ]; then
    python3 -m benchmarks --out "$OUT" ${BENCH_ARGS:-} || rc=$?
    python3 -m benchmarks.profile_step --out "$OUT" > "$OUT/log-profile.txt" 2>&1 || rc=$?
    echo "benchmarks: done after $(( $(date +%s) - t0 )) s"
  fi
  if [ -n "${ALSO:-}" ]; then
    limit bash -c "$ALSO" > "$OUT/log-also.txt" 2>&1 & also=$!
  fi
  if [ ${#chapters[@]} -gt 0 ] && [ "${PARALLEL:-0}" = 1 ]; then
    pids=()
    for c in "${chapters[@]}"; do
      OMP_NUM_THREADS=4 limit python3 -m helpers run --chapter "$c" --profile "$profile" --out "$OUT/runs" \
        > "$OUT/log-$c.txt" 2>&1 & pids+=($!)
    done
    for i in "${!pids[@]}"; do
      wait "${pids[$i]}"; r=$?; echo "chapter ${chapters[$i]}: exit $r after $(( $(date +%s) - t0 )) s"
      [ $r = 0 ] || rc=$r
    done
  elif [ ${#chapters[@]} -gt 0 ]; then
    limit python3 -m helpers run --chapter "${chapters[@]}" --profile "$profile" --out "$OUT/runs" || rc=$?
  fi
  if [ -n "${ALSO:-}" ]; then
    wait $also; r=$?; echo "ALSO: exit $r after $(( $(date +%s) - t0 )) s"; [ $r = 0 ] || rc=$r
  fi
  tar -czf "$OUT/runs.tar.gz" -C "$OUT" runs && rm -rf "$OUT/runs"
  echo "exit $rc after $(( $(date +%s) - t0 )) s"; exit $rc
} 2>&1 | tee "$OUT/log.txt"
