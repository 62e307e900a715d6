"""Training time per fold of the tower model at challenge scale (75,000 training rows) on this machine's CPU.

Random embeddings with the real block widths (384 text, 1,280 image; joint blocks optional) and the tabular features
of `make_toy_inputs` stand in for the real inputs: the cost of a fold depends on shapes, not on values. One fold
trains on 4/5 of the rows and early-stops on the other 1/5, exactly as in `cross_validate`.

    .venv/bin/python bench/bench_towers.py                         # default profile's model, 2 threads
    .venv/bin/python bench/bench_towers.py --config reference      # the reference design's 512-wide towers
    .venv/bin/python bench/bench_towers.py --epochs 3 --threads 1  # quick look
    .venv/bin/python bench/bench_towers.py --patience 1000         # every epoch (no early stop): worst case per fold

Random targets make early stopping meaningless here (the toy problem is learned in an epoch or two), so the honest
per-fold figure is `fold_seconds` with `--patience 1000`, or `seconds_per_epoch` × the epochs a real fold runs.
"""
from __future__ import annotations
import argparse, json, platform, time
from pathlib import Path
import numpy as np
import torch
import yaml

from spam_llms.testing import make_toy_inputs  # noqa: E402
from spam_llms.towers import fit_scaler, head_latency_us, scale_inputs, tabular_shape, torch_threads, train_fold

ROOT = Path(__file__).resolve().parents[1]


def model_config(name: str) -> dict:
    "Model and fit settings of a profile (configs/<name>/03_towers_cv.yaml) or of the reference design."
    if name == "reference":
        return dict(tower_dim=512, tower_depth=1, dropout=0.1, head_dims=[1024, 256], epochs=30, batch_size=256, lr=1e-3,
                    weight_decay=1e-4, patience=5)
    cfg = yaml.safe_load((ROOT/f"configs/{name}/03_towers_cv.yaml").read_text())
    return {k: cfg[k] for k in ("tower_dim", "tower_depth", "dropout", "head_dims", "epochs", "batch_size", "lr",
                                "weight_decay", "patience") if k in cfg}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=75_000, help="training rows (the challenge has 75,000)")
    ap.add_argument("--config", default="default", help="smoke | default | full (configs/<name>/) | reference")
    ap.add_argument("--epochs", type=int, default=0, help="override the maximum epochs (0 = the config's)")
    ap.add_argument("--patience", type=int, default=-1, help="override early-stopping patience (-1 = the config's; "
                    "a large value trains every epoch, the worst case per fold)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--joint", action="store_true", help="add 512-wide joint_text and joint_image blocks")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=str(ROOT/"bench/_work/bench_towers.json"))
    a = ap.parse_args()

    cfg = model_config(a.config)
    epochs = a.epochs or cfg.pop("epochs"); cfg.pop("epochs", None)
    fit = {k: cfg.pop(k) for k in ("batch_size", "lr", "weight_decay", "patience") if k in cfg}
    if a.patience >= 0: fit["patience"] = a.patience
    dims = {"text": 384, "image": 1280} | ({"joint_text": 512, "joint_image": 512} if a.joint else {})
    t0 = time.perf_counter()
    train, test = make_toy_inputs(a.rows, 1024, dims=dims, seed=a.seed)
    tr, va = np.flatnonzero(train.fold != 0), np.flatnonzero(train.fold == 0)
    st = fit_scaler(train, tr)
    xtr, xva = scale_inputs(train, st, tr), scale_inputs(train, st, va)
    n_num, cards = tabular_shape(train, test)
    model_kw = dict(cfg, head_dims=tuple(cfg["head_dims"]), block_dims=dims, n_num=n_num, cat_cardinalities=cards)
    prep = time.perf_counter() - t0
    with torch_threads(a.threads):
        r = train_fold(xtr, train.y[tr], xva, train.y[va], model_kw, epochs=epochs, seed=a.seed, device="cpu",
                       patience=fit.pop("patience", 5), **fit)
        lat = head_latency_us(r["model"], scale_inputs(test, st))
    res = dict(config=a.config, rows=a.rows, train_rows=len(tr), threads=a.threads, blocks=dims, n_params=r["model"].n_params,
               max_epochs=epochs, epochs_run=len(r["history"]), best_epoch=r["best_epoch"], fold_seconds=r["seconds"],
               seconds_per_epoch=r["seconds"] / len(r["history"]), fold_seconds_at_max_epochs=r["seconds"] / len(r["history"]) * epochs,
               five_fold_seconds_est=5 * r["seconds"], prep_seconds=prep, head_latency_us_per_sample=lat,
               fit=dict(fit, **cfg), cpu=platform.processor() or platform.machine(), torch=torch.__version__)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
