#!/usr/bin/env python
"""The two sparse (TF-IDF) neighbour searches side by side: agreement and seconds, on a real run's spaces.

    .venv/bin/python bench/bench_sparse_search.py --run outputs/<real run> --data ../shared/realdata/amazon2025_dev
    .venv/bin/python bench/bench_sparse_search.py --run outputs/<run> --max-df 0.05 --out bench/_work/sparse.json

For the TF-IDF space of `catalog_content` and the item-name space, exactly as 04_lgbm_baseline builds them (binary word
1-2 grams, the run's folds, k = 2 x the largest neighbour count), both `knn.sparse_topk` (exact, blocked products) and
`knn.sparse_topn` (sparse_dot_topn) search the training rows out of fold and the test rows against all training rows.
Agreement = share of (query, rank <= R) pairs where both return the same row, over all pairs and over the pairs with a
positive similarity (a query with fewer than R rows sharing an n-gram is padded with zero-similarity rows; the exact
search takes those in argpartition's order, the top-n search by row id: both are arbitrary fillers); also the share of
queries whose first R neighbours are the same set, and the largest similarity difference at equal rank. Runs on demand, never in CI.
"""
import argparse, json, os, time
from pathlib import Path
import numpy as np
from spam_llms.runio import load_inputs, with_catalog
from spam_llms.knn import tfidf_neighbours
from spam_llms.core import atomic_path


def compare(a, b, ranks:int) -> dict:
    "Agreement of two (sim, idx) results over their first `ranks` columns."
    (sa, ia), (sb, ib) = a, b; ia, ib, sa, sb = ia[:, :ranks], ib[:, :ranks], sa[:, :ranks], sb[:, :ranks]
    same_set = np.mean([set(x) == set(y) for x, y in zip(ia, ib)])
    pos = sa > 0  # pairs that share at least one n-gram (zero-similarity rows are fillers: any row of another fold would do)
    return {"pairs": int(ia.size), "same_row_at_rank": round(float((ia == ib).mean()), 5), "same_set_per_query": round(float(same_set), 5),
            "positive_pairs": int(pos.sum()), "same_row_at_rank_positive": round(float((ia == ib)[pos].mean()), 5),
            "zero_similarity_pairs": int((sa == 0).sum()), "max_abs_sim_diff_at_rank": float(np.nanmax(np.abs(sa - sb)))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="a run folder with preprocessed/ (its folds are used)")
    ap.add_argument("--data", default="", help="the run's data folder (empty: the run's own twin)")
    ap.add_argument("--k", type=int, default=100, help="neighbours per row (04: 2 x max(ks))")
    ap.add_argument("--ranks", type=int, default=20, help="ranks compared")
    ap.add_argument("--max-df", type=float, default=1.0, help="document-frequency cap of the catalog TF-IDF space")
    ap.add_argument("--out", default="", help="also write the JSON here")
    a = ap.parse_args()
    inp = with_catalog(load_inputs(a.run, with_blocks=False), a.run, a.data, item_name=True); tr, te = inp["train"], inp["test"]
    folds, res = tr.fold.to_numpy(), {"run": a.run, "rows": [len(tr), len(te)], "k": a.k, "ranks": a.ranks, "max_df": a.max_df, "spaces": {}}
    for space, (xtr, xte, kw) in {"tfidf": (tr.catalog_content, te.catalog_content, {"max_df": a.max_df}),
                                 "name": (tr.item_name.fillna(""), te.item_name.fillna(""), {})}.items():
        out, secs = {}, {}
        for method in ("exact", "topn"):
            t0 = time.perf_counter(); out[method] = tfidf_neighbours(xtr, xte, folds, a.k, method=method, **kw); secs[method] = round(time.perf_counter() - t0, 2)
        e, t = out["exact"], out["topn"]
        res["spaces"][space] = {"seconds": secs, "train_oof": compare((e.train_sim, e.train_idx), (t.train_sim, t.train_idx), a.ranks),
                                "test": compare((e.test_sim, e.test_idx), (t.test_sim, t.test_idx), a.ranks)}
        print(space, json.dumps(res["spaces"][space]), flush=True)
    res |= {"threads": os.cpu_count(), "load_avg_1m": os.getloadavg()[0]}
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(a.out) as tmp: Path(tmp).write_text(json.dumps(res, indent=1))


if __name__ == "__main__": main()
