#!/usr/bin/env bash
# Reproduce a submission: bootstrap .venv, then run the notebook chain 00 → 06 with papermill.
#   ./run_all.sh                         # synthetic twin, default profile (≤ 10 minutes on 2 CPU cores)
#   ./run_all.sh --data DIR              # real train.csv / test.csv in DIR
#   ./run_all.sh --profile smoke|default|full --run NAME --device auto|cpu|cuda --seed N --force
#   ./run_all.sh --set 03_towers_cv.epochs=40 --stages 00_eda,01_preprocess
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
exec spam_run "$@"
