#!/usr/bin/env bash
# Install everything iabench needs on a fresh Debian machine (Python 3.10+), idempotently:
#   - the Fashion-MNIST files (Debian package dataset-fashion-mnist) when missing and apt is usable;
#   - a virtual environment in .venv (override with VENV=...) with torch, torchvision and iabench[test,docs,hf]
#     (hf: Hugging Face transformers, so that the tests of that model family run rather than skip).
# A second call with nothing changed returns in a second.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "install: Fashion-MNIST (Debian package dataset-fashion-mnist)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
  else
    echo "install: Fashion-MNIST not found and apt-get unusable here (needs root); pass --data-root DIR to iabench" >&2
  fi
fi

# The report's browser test (make test) needs Chromium: the system package (Playwright's own download is not
# reachable everywhere). Installed when asked for (IABENCH_BROWSER=1) and apt is usable.
if [ "${IABENCH_BROWSER:-0}" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "install: chromium (Debian package, for the report's browser test)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "install: chromium not found and apt-get unusable here (needs root); the browser test will skip" >&2
  fi
fi

stamp="$VENV/.iabench-installed"
want="$(cat setup.cfg pyproject.toml scripts/install.sh | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# torch first, pinned to the release this project is tested with (torchvision must match it exactly).
case "$(uname -m)" in
  aarch64|arm64) TORCH="torch==2.9.1 torchvision==0.24.1" ;;
  *) TORCH="torch==2.14.1 torchvision==0.29.1" ;;
esac
echo "install: $TORCH"
"$VENV/bin/python" -m pip install -q $TORCH
echo "install: iabench and its dependencies"
"$VENV/bin/python" -m pip install -q -e ".[test,docs,hf]"
echo "$want" > "$stamp"
