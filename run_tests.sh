#!/usr/bin/env bash
# The project's test command (CI runs exactly this): bootstrap .venv, check notebooks are clean and the package and
# README.md are in sync with them (README.md: scripts/make_readme.py from nbs/index.ipynb + bench/real.json), check the
# package's import layers (lint-imports), run every notebook as a test (nbdev_test), then the pytest suite in tests/.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "== notebooks clean (nbdev_clean), package in sync (nbdev_export), README made from nbs/index.ipynb + bench/real.json"
  nbdev_clean
  nbdev_export
  python scripts/make_readme.py
  drift="$(git status --porcelain -- nbs spam_llms README.md)"
  if [ -n "$drift" ]; then
    echo "FAIL: nbdev_clean / nbdev_export / scripts/make_readme.py changed these files; run them and commit the result:"; echo "$drift"
    git --no-pager diff --stat -- nbs spam_llms README.md; exit 1
  fi
else
  echo "(not a git checkout: skipping the clean/sync check; README checked against nbs/index.ipynb)"
  python scripts/make_readme.py --check
fi
echo "== committed notebook outputs hold no machine path or timing (scripts/fill_outputs.py --check)"
python scripts/fill_outputs.py --check
echo "== the package imports downward only (lint-imports: the layers contract in pyproject.toml)"
lint-imports --no-cache
echo "== nbdev_test (every notebook at its smoke defaults)"
nbdev_test --n_workers "${NBDEV_WORKERS:-2}" --timing
echo "== pytest tests/"
python -m pytest tests -q -p no:cacheprovider "$@"
