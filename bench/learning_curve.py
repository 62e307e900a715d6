#!/usr/bin/env python
"""Learning curve on a real data folder: how test SMAPE moves with the number of training rows.

    .venv/bin/python bench/learning_curve.py ../shared/realdata/amazon2025_dev
    .venv/bin/python bench/learning_curve.py DIR --fractions 0.25,0.5,1 --reps 3 --run outputs/real_DIR

Reads a finished real run (default `outputs/real_<folder>`, made by `./run_all.sh --data DIR --profile real`; missing
inputs are built through the library). For each fraction it keeps a random share of the training rows (their fold
column unchanged), then fits two models exactly as the `real` profile configures them and scores both on the folder's
full `test_truth.csv`:
- `lgbm`: stage 04's LightGBM with its nested neighbour prices and unit prices (one seed, not the profile's average);
- `tfidf`: the in-chain peer, TF-IDF word + char -> Ridge on log1p.
Writes bench/LEARNING_CURVE.md: per fraction the mean (min-max over `--reps` draws) of OOF and test SMAPE, the ratio
lgbm / peer, and the change in test SMAPE per doubling of the rows (least squares on log2 rows). Runs on demand, never in CI.
"""
from __future__ import annotations
import argparse, sys, tempfile, time
from pathlib import Path
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from run_scale import machine  # noqa: E402
from spam_llms.core import smape_log  # noqa: E402
from spam_llms.config import resolve_stage  # noqa: E402
from spam_llms.gbm import LgbmParams, fit_lgbm_stage  # noqa: E402
from spam_llms.peers import PeersParams, tfidf_ridge_cv  # noqa: E402
from spam_llms.knn import parse_range  # noqa: E402
from spam_llms.runio import load_inputs, with_catalog  # noqa: E402


def stage_params(cls=LgbmParams, notebook:str="04_lgbm_baseline", profile:str="real"):
    "A stage's parameter set as the profile resolves it (notebook defaults, then the profile chain)."
    return cls(**{k: s.value for k, s in resolve_stage(ROOT/f"nbs/{notebook}.ipynb", ROOT/"configs", profile).items()})


def subset(inp:dict, rows) -> dict:
    "The inputs with only these training rows (frames and embedding blocks alike)."
    out = dict(inp); out["train"] = inp["train"].iloc[rows].reset_index(drop=True)
    if "blocks_train" in inp: out["blocks_train"] = {k: v[rows] for k, v in inp["blocks_train"].items()}
    if "has_image_train" in inp: out["has_image_train"] = inp["has_image_train"][rows]
    return out


def fit_lgbm(inp:dict, p:LgbmParams, seed:int, tmp:Path) -> tuple[np.ndarray, np.ndarray]:
    "Stage 04's LightGBM (the profile's values, one seed, FAISS on the CPU): OOF and test log1p predictions."
    fit_lgbm_stage(inp, tmp/"lgbm", p.but(seed=seed, lgbm_seeds=1, device="cpu"), use_knn=True)
    return pd.read_parquet(tmp/"lgbm/oof.parquet").pred.to_numpy(), pd.read_parquet(tmp/"lgbm/test.parquet").pred.to_numpy()


def doubling_slope(n, s) -> float:
    "Least-squares change of `s` per doubling of `n`."
    return float(np.polyfit(np.log2(np.asarray(n, float)), np.asarray(s, float), 1)[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", help="real data folder with train.csv, test.csv and test_truth.csv")
    ap.add_argument("--run", default="", help="finished real run (default outputs/real_<folder>)")
    ap.add_argument("--fractions", default="0.25,0.5,0.75,1", help="shares of the training rows (comma-separated)")
    ap.add_argument("--reps", type=int, default=2, help="random draws per fraction below 1")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=str(ROOT/"bench/LEARNING_CURVE.md"))
    a = ap.parse_args()
    data = Path(a.data).resolve(); run = Path(a.run) if a.run else ROOT/"outputs"/f"real_{data.name}"
    if not (data/"test_truth.csv").exists(): sys.exit(f"{data}/test_truth.csv is missing: the curve scores the test rows against it")
    p4, pc = stage_params(), stage_params(PeersParams, "04c_peers")  # 04's LightGBM and 04c's TF-IDF + Ridge peer
    t0 = time.time()
    full = with_catalog(load_inputs(run, with_blocks=True), run, str(data), item_name=True)
    truth = pd.read_csv(data/"test_truth.csv").set_index("sample_id").price.reindex(full["test"].sample_id).to_numpy()
    if np.isnan(truth).any(): sys.exit(f"test_truth.csv lacks {int(np.isnan(truth).sum())} test sample_id(s)")
    rows, n = [], len(full["train"])
    for frac in [float(f) for f in a.fractions.split(",")]:
        for rep in range(a.reps if frac < 1 else 1):
            keep = np.sort(np.random.default_rng(a.seed + 1000 * rep + int(frac * 100)).choice(n, int(round(frac * n)), replace=False))
            inp = subset(full, keep); y = inp["train"].log_price.to_numpy(float)
            with tempfile.TemporaryDirectory() as d:
                lo, lt = fit_lgbm(inp, p4, a.seed, Path(d))
            po, pt, _ = tfidf_ridge_cv(inp["train"], inp["test"], "catalog_content", pc.tfidf_alpha, pc.tfidf_max_features, 2,
                                       parse_range(pc.tfidf_char), a.seed, pc.tfidf_solver)
            r = {"fraction": frac, "rep": rep, "rows": len(keep), "lgbm_oof": smape_log(y, lo), "lgbm_test": smape_log(np.log1p(truth), lt),
                 "tfidf_oof": smape_log(y, po.pred), "tfidf_test": smape_log(np.log1p(truth), pt.pred)}
            rows.append(r); print({k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()}, flush=True)
    df = pd.DataFrame(rows); write_report(df, data, run, a, time.time() - t0)


def write_report(df:pd.DataFrame, data:Path, run:Path, a, seconds:float):
    "bench/LEARNING_CURVE.md from the per-draw scores."
    g = df.groupby("rows")
    fmt = lambda c, r: f"{r[c]['mean']:.2f}" + (f" ({r[c]['min']:.2f}-{r[c]['max']:.2f})" if r[c]["min"] != r[c]["max"] else "")
    agg = g[["lgbm_oof", "lgbm_test", "tfidf_oof", "tfidf_test"]].agg(["mean", "min", "max"])
    lines = ["# Learning curve on real data", "",
             f"Produced by: `python bench/learning_curve.py {a.data} --fractions {a.fractions} --reps {a.reps}`  ",
             f"Machine: {machine()}  ", f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {seconds / 60:.1f} min  ",
             f"Inputs: run `{run.name}` (profile `real`); test rows: all {len(pd.read_csv(data/'test_truth.csv')):,} of `test_truth.csv`.", "",
             "Each row of the table keeps a random share of the training rows (fold column unchanged) and fits stage 04's LightGBM "
             "(nested neighbour prices and unit prices, one seed) and the TF-IDF + Ridge peer as the `real` profile sets them; "
             "mean over the draws, (min-max) where there were several.", "",
             "| training rows | lgbm OOF | lgbm test | peer OOF | peer test | lgbm / peer (test) |", "|---:|---:|---:|---:|---:|---:|"]
    for n, r in agg.iterrows():
        lines.append(f"| {n:,} | {fmt('lgbm_oof', r)} | {fmt('lgbm_test', r)} | {fmt('tfidf_oof', r)} | {fmt('tfidf_test', r)} | "
                     f"{r['lgbm_test']['mean'] / r['tfidf_test']['mean']:.3f} |")
    sl, sp = doubling_slope(df.rows, df.lgbm_test), doubling_slope(df.rows, df.tfidf_test)
    lines += ["", f"Test SMAPE per doubling of the training rows (least squares over every draw): lgbm {sl:+.2f}, peer {sp:+.2f}.", ""]
    out = Path(a.out); tmp = out.with_suffix(".md.tmp"); tmp.write_text("\n".join(lines)); tmp.replace(out)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
