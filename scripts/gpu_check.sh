#!/usr/bin/env bash
# The prepared GPU check, in at most ~5 minutes on one H200: the CUDA tests (tests/cuda/), then
# `python -m iabench.gpucheck` (training, explainers, scores, curves against Quantus; one JSON and a text summary).
# Usage: scripts/gpu_check.sh [--out DIR] [ARGS of python -m iabench.gpucheck, e.g. --tiny --device cpu]
# Writes DIR/cuda-tests.txt, DIR/gpu-check.json and DIR/gpu-check.txt (DIR default reports/gpu-check).
# Exit status: 0 when every test and check passed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
out=reports/gpu-check
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[i]}" = "--out" ] && out="${args[i+1]}"
done
mkdir -p "$out"
status=0
if "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu_check: the CUDA tests"
  OMP_NUM_THREADS=1 timeout 150 "$PY" -m pytest -q -p no:cacheprovider -m cuda tests/cuda/test_cuda.py tests/cuda/test_cuda_families.py -rs \
    2>&1 | tee "$out/cuda-tests.txt"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
else
  echo "gpu_check: torch sees no GPU here; the CUDA tests are skipped" | tee "$out/cuda-tests.txt"
fi
echo "gpu_check: python -m iabench.gpucheck ${args[*]}"
timeout 300 "$PY" -m iabench.gpucheck "${args[@]}" || status=1
exit $status
