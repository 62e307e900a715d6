"""Time stage 01 (preprocess) at challenge scale: 75,000 train + 75,000 test rows.

The rows are the 232 real catalogs (tests/fixtures/realdata) resampled with a unique token in each item name, so the
text mix (HTML, emoji, long descriptions) is the real one and every catalog is distinct (75k fold groups, the worst
case for grouping). Usage:

    .venv/bin/python bench/bench_preprocess.py [--rows 75000] [--jobs 0]

Prints one timing line per step and writes bench/_work/preprocess/timings.json.
"""
from __future__ import annotations
import argparse, json, os, time
from pathlib import Path
import numpy as np
import pandas as pd
from spam_llms.data import read_challenge_csv, load_challenge
from spam_llms.preprocess import preprocess_frame, make_folds, run_preprocess

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT/"tests"/"fixtures"/"realdata"


def make_rows(n:int, seed:int, start_id:int) -> pd.DataFrame:
    "n distinct catalogs resampled from the real rows."
    real = pd.concat([read_challenge_csv(REAL/"amazon2025_train_head132.csv"),
                      read_challenge_csv(REAL/"amazon2025_sample_test.csv").assign(price=15.99)], ignore_index=True)
    rng = np.random.default_rng(seed)
    df = real.iloc[rng.integers(len(real), size=n)].reset_index(drop=True)
    df["catalog_content"] = [c.replace("\n", f" lot{start_id + i}\n", 1) for i, c in enumerate(df.catalog_content)]
    df["sample_id"] = np.arange(start_id, start_id + n)
    df["price"] = np.round(df.price.to_numpy() * np.exp(rng.normal(0, 0.3, n)), 2).clip(0.13)
    return df


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=75_000)
    ap.add_argument("--jobs", type=int, default=0, help="worker processes (0 = all cores)")
    a = ap.parse_args()
    work = ROOT/"bench"/"_work"/"preprocess"; data = work/"data"; data.mkdir(parents=True, exist_ok=True)
    tr, te = make_rows(a.rows, 0, 0), make_rows(a.rows, 1, 10_000_000).drop(columns="price")
    tr[["sample_id", "catalog_content", "image_link", "price"]].to_csv(data/"train.csv", index=False)
    te[["sample_id", "catalog_content", "image_link"]].to_csv(data/"test.csv", index=False)
    res = {"rows": a.rows, "cores": os.cpu_count(), "jobs": a.jobs,
           "mean_catalog_chars": float(tr.catalog_content.str.len().mean())}

    def timed(name, fn):
        t = time.perf_counter(); out = fn(); res[name] = round(time.perf_counter() - t, 2)
        print(f"{name:<40} {res[name]:7.2f} s", flush=True); return out

    raw_tr, _ = timed("load_challenge (2 x rows)", lambda: load_challenge(data))
    timed("preprocess_frame (rows, 1 process)", lambda: preprocess_frame(raw_tr, n_jobs=1))
    f = timed("preprocess_frame (rows, --jobs)", lambda: preprocess_frame(raw_tr, n_jobs=a.jobs))
    timed("make_folds (rows)", lambda: make_folds(f.assign(catalog_content=raw_tr.catalog_content), 5, 42))
    timed("run_preprocess end to end (2 x rows)", lambda: run_preprocess(data, work/"preprocessed", n_jobs=a.jobs, progress=False))
    (work/"timings.json").write_text(json.dumps(res, indent=2))
    print(json.dumps(res))


if __name__ == "__main__":
    main()
