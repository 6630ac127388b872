#!/usr/bin/env bash
# Compute chapters' parts on the lent GPU machine, from the repository root there, after
# scripts/device_stage.sh has staged .whl/ and .data/ here (both named in the device call's `carry`):
#   LIMIT=540 bash scripts/device_run.sh standard 3                    # chapter 3's missing standard parts
#   LIMIT=540 bash scripts/device_run.sh standard 3 -- --parts width-4 width-8   # only these parts
#   bash scripts/device_run.sh standard tests bench 2                  # CUDA tests and benchmarks first
# The parts go into the committed store results/<profile>/<stem>/parts/, each the moment it is done: a call
# stopped by LIMIT keeps every finished part, and the next call (results/ travels with the tree) computes only
# what is still missing. Everything new under results/ (and the benchmark JSON) comes back in $OUT:
# parts.tar.gz, to unpack here from the repository root (tar -xzf parts.tar.gz); then
#   python -m helpers run --chapter N --profile standard --store results --force
# renders the page from the stored parts (no compute) and writes results/<profile>/<stem>/results.json.
# Options after -- go to `helpers run`, except --force: it is refused (exit 2), so a device call never replaces
# committed evidence; locks and temporary files never come back in parts.tar.gz.
# A part longer than one call (chapter 2's sweeps) saves checkpoints every HELPERS_CHECKPOINT_S seconds (60 here)
# into results/**/<part>.s0.ckpt/, git-ignored: they stay on a warm machine between calls, so the next call
# resumes that part (helpers.checkpoint); they do not come back in $OUT and are lost when the machine is released.
# A part's pieces (finished seeds of chapter 2's Tables 2-3 and chapter 3, <part>.s0.pieces/) do come back: commit them, and the next
# call or session trains only the seeds still missing.
set -uo pipefail
profile="${1:?usage: $0 PROFILE [tests] [bench] CHAPTER... [-- RUN OPTIONS]}"; shift
OUT="${OUT:-$PWD/_build/device}"
LIMIT="${LIMIT:-0}"   # seconds for the chapters; 0 = no limit
chapters=(); bench=0; tests=0; extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; extra=("$@"); break ;;
    bench) bench=1 ;; tests) tests=1 ;; *) chapters+=("$1") ;;
  esac
  shift
done
for opt in "${extra[@]}"; do   # committed evidence is replaced only by a person, here, never on the device
  case "$opt" in --force|--forc|--for|--fo|--f) echo "device_run.sh never forwards --force (replacing committed evidence is done here, not on the device)" >&2; exit 2 ;; esac
done
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || { echo "wheel install failed" >&2; exit 3; }
export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}" PATH="/tmp/site/bin:$PATH"
export HELPERS_DATA="$PWD/.data" HELPERS_PROGRESS=0 PYTHONUNBUFFERED=1 MPLBACKEND=Agg
export HELPERS_CHECKPOINT_S="${HELPERS_CHECKPOINT_S:-60}"
mkdir -p "$OUT"
# timeout sends SIGTERM: helpers then releases its part locks and removes its temporary files before it exits
limit() { if [ "$LIMIT" -gt 0 ]; then timeout "$LIMIT" "$@"; else "$@"; fi; }
touch "$OUT/.start"
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
    python3 -m benchmarks.ch2_step --profile "$profile" --out "$OUT" > "$OUT/log-ch2-step.txt" 2>&1 || rc=$?
    python3 -m benchmarks.mixed_precision --out "$OUT" > "$OUT/log-mixed-precision.txt" 2>&1 || rc=$?
    echo "benchmarks: done after $(( $(date +%s) - t0 )) s"
  fi
  if [ ${#chapters[@]} -gt 0 ]; then
    limit python3 -m helpers run --chapter "${chapters[@]}" --profile "$profile" --store results --no-pages \
      "${extra[@]}" || rc=$?
    python3 -m helpers parts --chapter "${chapters[@]}" --profile "$profile" --store results
  fi
  find results -newer "$OUT/.start" -type f -not -path '*.ckpt/*' -not -name '*.lock' -not -name '.*.tmp' \
    | tar -czf "$OUT/parts.tar.gz" -T -   # never a lock or a temporary file
  echo "new files under results/: $(tar -tzf "$OUT/parts.tar.gz" | wc -l)"
  echo "exit $rc after $(( $(date +%s) - t0 )) s"; exit $rc
} 2>&1 | tee "$OUT/log.txt"
