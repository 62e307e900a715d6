#!/usr/bin/env bash
# The project's test command (CI runs exactly this): bootstrap .venv, check notebooks are clean and the package is
# in sync with them, run every notebook as a test (nbdev_test), then the pytest suite in tests/.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "== notebooks clean (nbdev_clean) and package in sync (nbdev_export)"
  nbdev_clean
  nbdev_export
  drift="$(git status --porcelain -- nbs spam_llms)"
  if [ -n "$drift" ]; then
    echo "FAIL: nbdev_clean / nbdev_export changed these files; run them and commit the result:"; echo "$drift"
    git --no-pager diff --stat -- nbs spam_llms; exit 1
  fi
else
  echo "(not a git checkout: skipping the clean/sync check)"
fi
echo "== nbdev_test (every notebook at its smoke defaults)"
nbdev_test --n_workers "${NBDEV_WORKERS:-2}" --timing
echo "== pytest tests/"
python -m pytest tests -q -p no:cacheprovider "$@"
