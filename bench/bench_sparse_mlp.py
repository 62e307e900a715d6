"""Training and inference rows/s of the sparse MLP (stage 04b) on a real data folder, at a profile's settings.

Builds the stage's sparse inputs exactly as `run_sparse_mlp` does (raw catalog text, item name, num_*, cat_*), then
trains ONE (fold 0, seed 0) network on the other folds' rows and predicts the held-out fold and the test rows.
Training rows/s counts rows seen over all epochs (training rows x epochs / seconds); `fold_cpu_seconds` is the
process's CPU time, the better figure on a shared machine. Run it on an idle machine:

    .venv/bin/python bench/bench_sparse_mlp.py --data ../shared/realdata/amazon2025_dev          # real profile
    .venv/bin/python bench/bench_sparse_mlp.py --data DIR --config full --threads 1
    .venv/bin/python bench/bench_sparse_mlp.py --data DIR --set epochs=2 --set hidden=128,64,64   # quick look

A whole stage costs about `fold_seconds x folds x n_seeds + feature_seconds`, plus, with `knn_features` (on in the real
profile), the neighbour search once (~15-20 s on the dev set); the dense neighbour columns themselves are left out here.
"""
from __future__ import annotations
import argparse, dataclasses, json, platform, shutil, tempfile, time
from pathlib import Path
import numpy as np
import torch

from spam_llms.config import resolve_stage
from spam_llms.core import smape_log
from spam_llms.runio import load_inputs, with_catalog
from spam_llms.sparse_mlp import SparseMlpParams, fit_sparse_mlp, predict_sparse_mlp, sparse_inputs

ROOT = Path(__file__).resolve().parents[1]
FEATURE_KEYS = ("text_col", "max_features", "min_df", "char_ngrams", "use_name", "use_num", "use_cat")
FIT_KEYS = ("epochs", "batch_size", "growth", "lr", "hidden", "loss", "huber_delta")


def profile(name: str, sets: list[str], run: dict) -> SparseMlpParams:
    "The stage's parameters as a chain run resolves them for profile `name` (its files, then --set key=value), with the run values."
    resolved = resolve_stage(ROOT/"nbs"/"04b_sparse_mlp.ipynb", ROOT/"configs", name, run=run, sets=dict(s.split("=", 1) for s in sets))
    return SparseMlpParams(**{k: s.value for k, s in resolved.items()})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder with train.csv and test.csv (real data)")
    ap.add_argument("--config", default="real", help="profile whose configs/<name>/04b_sparse_mlp.yaml is used")
    ap.add_argument("--set", action="append", default=[], help="override a parameter, e.g. epochs=4")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--run-dir", default="", help="run folder with preprocessed/ to reuse (default: a temp folder, preprocessed here)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=str(ROOT/"bench/_work/bench_sparse_mlp.json"))
    a = ap.parse_args()

    run_dir = a.run_dir or tempfile.mkdtemp(prefix="bench_smlp_")
    p = profile(a.config, a.set, dict(run_dir=run_dir, data_dir=a.data, seed=a.seed, device="cpu")); torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    inp = load_inputs(run_dir, with_blocks=False)
    inp = with_catalog(inp, run_dir, a.data, item_name=True); tr, te = inp["train"], inp["test"]
    t1 = time.perf_counter()
    Xtr, Xte = sparse_inputs(tr, te, **{k: getattr(p, k) for k in FEATURE_KEYS})
    t2, c2 = time.perf_counter(), time.process_time()
    fit = {k: getattr(p, k) for k in FIT_KEYS} | {"hidden": tuple(int(h) for h in str(p.hidden).split(","))}
    y, folds = tr.log_price.to_numpy(float), tr.fold.to_numpy()
    trn, va = np.flatnonzero(folds != folds.min()), np.flatnonzero(folds == folds.min()); mu = y[trn].mean()
    net = fit_sparse_mlp(Xtr[trn], y[trn] - mu, a.seed, **fit)
    t3, c3 = time.perf_counter(), time.process_time()
    p_va = predict_sparse_mlp(net, Xtr[va]) + mu; predict_sparse_mlp(net, Xte)
    t4 = time.perf_counter()
    epochs = p.epochs
    res = {"config": a.config, "params": dataclasses.asdict(p), "threads": a.threads, "machine": platform.processor() or platform.machine(),
           "train_rows": len(trn), "n_features": Xtr.shape[1], "nnz_per_row": round(Xtr.nnz / Xtr.shape[0], 1),
           "load_seconds": round(t1 - t0, 2), "feature_seconds": round(t2 - t1, 2), "fold_seconds": round(t3 - t2, 2), "fold_cpu_seconds": round(c3 - c2, 2),
           "train_rows_per_s": round(len(trn) * epochs / (t3 - t2), 1), "infer_rows_per_s": round((len(va) + Xte.shape[0]) / (t4 - t3), 1),
           "fold0_smape": round(smape_log(y[va], p_va), 3)}
    print(json.dumps(res, indent=1))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(json.dumps(res, indent=1))
    if not a.run_dir: shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
