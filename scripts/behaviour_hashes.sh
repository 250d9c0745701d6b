#!/usr/bin/env bash
# sha256 of the outputs a behaviour-unchanged refactor must leave byte-identical (docs/development.md):
# the default suite, both planted-evidence suites and their contrast, the 10-seed study, each with 8 images,
# 30 training steps and one process, from an empty cache. Usage: scripts/behaviour_hashes.sh OUT_DIR [PYTHON]
set -euo pipefail
out="${1:?usage: behaviour_hashes.sh OUT_DIR [PYTHON]}"
py="${2:-.venv/bin/python}"
mkdir -p "$out"
export OMP_NUM_THREADS=1
quick=(--samples 8 --set train.max_steps=30 --jobs 1 --quiet --out "$out/reports" --cache-dir "$out/cache")
run_id() { find "$out/reports/$1" -mindepth 1 -maxdepth 1 -type d | head -n 1; }
"$py" -m iabench run --suite ia-vit-study "${quick[@]}" & study=$!  # the longest, beside the others
"$py" -m iabench run --suite faithfulness "${quick[@]}"
"$py" -m iabench run --suite ground-truth --set 'seeds=[0]' "${quick[@]}"
"$py" -m iabench run --suite ground-truth-garment --set 'seeds=[0]' "${quick[@]}"
"$py" -m iabench contrast "$(run_id ground-truth)" "$(run_id ground-truth-garment)" >/dev/null
wait "$study"
cd "$out/reports"
for f in $(find . \( -name results.csv -o -name summary.csv -o -name verdict.csv -o -name truth.csv \
             -o -name reliance.csv -o -name contrast.csv \) | sort); do sha256sum "$f"; done
# faithfulness correlation (Quantus) draws its pixel subsets from numpy's global generator, which nothing seeds: its
# scores differ between two runs of the same code, so each file is hashed once more without its rows
for f in $(find . \( -name results.csv -o -name summary.csv \) | sort); do
  printf '%s  %s (without faithfulness-correlation)\n' "$(grep -v ',faithfulness-correlation,' "$f" | sha256sum \
    | cut -d' ' -f1)" "$f"
done
# report.md without its block of configuration, versions, commit and timings
for f in $(find . -name report.md | sort); do
  printf '%s  %s\n' "$(awk '/^<details><summary>Configuration/{skip=1} !skip{print} skip&&/^<\/details>/{skip=0}' "$f" \
    | sha256sum | cut -d' ' -f1)" "$f"
done
