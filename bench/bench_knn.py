"""Time FAISS kNN at challenge scale: 75,000 queries x 384 dims against 60,000 indexed rows (one fold's training part).

    .venv/bin/python bench/bench_knn.py                      # flat (exact), IVF and HNSW, k=100, 2 threads
    .venv/bin/python bench/bench_knn.py --kinds flat --k 50 --out bench/_work/knn.json

Vectors are a clustered synthetic stand-in for sentence embeddings (products come in families: `--clusters` centres,
each row a noisy copy of one), L2-normalized; random isotropic vectors would make every approximate index look worse
than it is on real embeddings. Recall@10 of the approximate indexes is measured against the exact flat search.
Nothing here is a test; numbers depend on the machine and on what else runs on it.

    .venv/bin/python bench/bench_knn.py --tfidf DIR --tfidf-rows 75000     # the TF-IDF neighbour space instead

`--tfidf DIR` times the exact sparse search of the TF-IDF neighbour space (binary word 1-2 grams, `knn.sparse_topk`)
on real catalog text from DIR/train.csv + test.csv, grown to `--tfidf-rows` documents by perturbed copies (each copy
drops a random quarter of the words and gets a random pack count, so copies are near- but not exact duplicates).
It searches `--tfidf-queries` sampled rows against all rows and extrapolates to the stage's n + n_test queries;
`--topn` times `knn.sparse_topn` (sparse_dot_topn) on the whole search (n out-of-fold + n test queries) and checks its
neighbours against the exact ones on the sampled queries; and it compares an approximate alternative: TruncatedSVD(`--svd-dims`) of the same matrix + FAISS flat, recall@10 vs exact.
"""
from __future__ import annotations
import argparse, json, os, platform, time
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import numpy as np
import faiss
from spam_llms.knn import build_index, search, l2_normalize


def clustered(n:int, dim:int, centres:np.ndarray, noise:float, rng) -> np.ndarray:
    "n rows, each a centre plus Gaussian noise, L2-normalized (float32)."
    c = centres[rng.integers(0, len(centres), n)]
    return l2_normalize(c + rng.normal(0, noise, (n, dim)).astype(np.float32))


def recall_at(ids:np.ndarray, exact:np.ndarray, r:int=10) -> float:
    "Share of the exact top-r neighbours the approximate search also returns in its top r."
    hits = [len(np.intersect1d(a[:r], b[:r])) for a, b in zip(ids, exact)]
    return float(np.mean(hits) / r)


def grown_documents(data_dir:str, n:int, seed:int) -> list[str]:
    "Real catalog texts, grown to n documents by perturbed copies."
    import pandas as pd
    docs = pd.concat([pd.read_csv(f"{data_dir}/{s}.csv").catalog_content for s in ("train", "test")]).fillna("").astype(str).tolist()
    rng, out = np.random.default_rng(seed), list(docs[:n])
    while len(out) < n:
        w = docs[int(rng.integers(len(docs)))].split()
        keep = rng.random(len(w)) > 0.25
        out.append(" ".join(np.asarray(w)[keep].tolist() + [f"(Pack of {int(rng.integers(1, 24))})"]))
    return out


def bench_tfidf(a) -> dict:
    "Time the exact sparse TF-IDF search and an SVD + FAISS approximation on grown real text."
    from spam_llms.knn import tfidf_matrix
    from spam_llms.knn import sparse_topk, sparse_l2_normalize
    from sklearn.decomposition import TruncatedSVD
    docs = grown_documents(a.tfidf, a.tfidf_rows, a.seed)
    t0 = time.perf_counter(); X, _ = tfidf_matrix(docs, [], word_range=(1, 2), char_range=None, binary=True, max_df=a.max_df); t1 = time.perf_counter()
    q = np.random.default_rng(a.seed).choice(len(docs), min(a.tfidf_queries, len(docs)), replace=False)
    sims, exact = sparse_topk(X[q], X, a.k, chunk=a.chunk); t2 = time.perf_counter()
    per_query = (t2 - t1) / len(q)
    res = {"rows": len(docs), "max_df": a.max_df, "vocab": X.shape[1], "nnz_per_row": round(X.nnz / X.shape[0], 1), "k": a.k, "chunk": a.chunk,
           "tfidf_s": round(t1 - t0, 1), "queries_timed": len(q), "search_ms_per_query": round(1000 * per_query, 2),
           "stage_search_s_estimate": round(per_query * len(docs), 1)}
    if a.topn:  # the library search on the whole stage: every row out of fold (5 folds) and as many test rows, k neighbours each
        from spam_llms.knn import sparse_oof_neighbours
        folds = np.random.default_rng(a.seed).integers(0, 5, len(docs))
        t6 = time.perf_counter(); nb = sparse_oof_neighbours(X, folds, a.k, query_vectors=X, method="topn"); t7 = time.perf_counter()
        top = nb.test_idx[q]
        res |= {"topn_stage_search_s": round(t7 - t6, 1), "topn_queries": 2 * len(docs), "topn_same_as_exact_rank_le_20": round(float((top[:, :20] == exact[:, :20]).mean()), 4),
                "exact_stage_search_s_estimate": round(per_query * 2 * len(docs), 1)}
    if a.svd_dims > 0:
        t3 = time.perf_counter(); z = TruncatedSVD(a.svd_dims, random_state=a.seed).fit_transform(sparse_l2_normalize(X)); t4 = time.perf_counter()
        ids = search(build_index(z, "flat", use_gpu=False), z[q], a.k)[1]; t5 = time.perf_counter()
        res |= {"svd_dims": a.svd_dims, "svd_fit_s": round(t4 - t3, 1), "svd_search_ms_per_query": round(1000 * (t5 - t4) / len(q), 2),
                "svd_recall_at_10": round(recall_at(ids, exact), 4)}
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-index", type=int, default=60_000, help="indexed rows")
    ap.add_argument("--n-query", type=int, default=75_000, help="query rows")
    ap.add_argument("--dim", type=int, default=384, help="vector dimension")
    ap.add_argument("--k", type=int, default=100, help="neighbours per query (the stage searches 2 * max(ks) = 100)")
    ap.add_argument("--kinds", default="flat,ivf,hnsw", help="index kinds to time")
    ap.add_argument("--nprobe", type=int, default=16, help="IVF cells searched")
    ap.add_argument("--ef-search", type=int, default=128, help="HNSW search breadth")
    ap.add_argument("--clusters", type=int, default=3000, help="product families in the synthetic vectors")
    ap.add_argument("--noise", type=float, default=0.03, help="per-dimension noise around a family centre (0.03: cosine ~0.75 within a family)")
    ap.add_argument("--threads", type=int, default=2, help="faiss OpenMP threads")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default="", help="optional JSON file for the results")
    ap.add_argument("--tfidf", default="", help="folder with real train.csv/test.csv: bench the sparse TF-IDF search instead")
    ap.add_argument("--tfidf-rows", type=int, default=75_000, help="documents (real ones, then perturbed copies)")
    ap.add_argument("--tfidf-queries", type=int, default=2048, help="queries timed (the stage estimate extrapolates)")
    ap.add_argument("--max-df", type=float, default=1.0, help="TF-IDF document-frequency cap (the stage's tfidf_knn_max_df)")
    ap.add_argument("--chunk", type=int, default=512, help="queries per sparse block")
    ap.add_argument("--svd-dims", type=int, default=256, help="SVD dims of the approximate alternative (0 = skip)")
    ap.add_argument("--topn", action="store_true", help="also time knn.sparse_topn (sparse_dot_topn) on the whole stage search: n OOF + n test queries")
    a = ap.parse_args()
    faiss.omp_set_num_threads(a.threads)
    if a.tfidf:
        res = bench_tfidf(a) | {"threads": a.threads, "load_avg_1m": os.getloadavg()[0], "nproc": os.cpu_count()}
        print(json.dumps(res))
        if a.out:
            os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
            with open(a.out, "w") as f: json.dump(res, f, indent=2)
        return
    rng = np.random.default_rng(a.seed)
    centres = rng.normal(0, 1 / np.sqrt(a.dim), (a.clusters, a.dim)).astype(np.float32)
    xb, xq = clustered(a.n_index, a.dim, centres, a.noise, rng), clustered(a.n_query, a.dim, centres, a.noise, rng)
    res = {"n_index": a.n_index, "n_query": a.n_query, "dim": a.dim, "k": a.k, "threads": a.threads, "faiss": faiss.__version__,
           "cpu": platform.processor() or platform.machine(), "nproc": os.cpu_count(), "load_avg_1m_start": os.getloadavg()[0], "runs": []}
    exact = None
    for kind in a.kinds.split(","):
        t0 = time.perf_counter(); index = build_index(xb, kind, use_gpu="auto", nprobe=a.nprobe, ef_search=a.ef_search, seed=a.seed)
        t1 = time.perf_counter(); sims, ids = search(index, xq, a.k); t2 = time.perf_counter()
        run = {"kind": kind, "on_gpu": index.on_gpu, "build_s": round(t1 - t0, 2), "search_s": round(t2 - t1, 2),
               "queries_per_s": round(a.n_query / (t2 - t1)), "missing_ids": int((ids < 0).sum())}
        if kind == "flat": exact = ids
        elif exact is not None: run["recall_at_10"] = round(recall_at(ids, exact), 4)
        res["runs"].append(run); print(json.dumps(run), flush=True)
    res["load_avg_1m_end"] = os.getloadavg()[0]
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f: json.dump(res, f, indent=2)
    print(json.dumps({k: v for k, v in res.items() if k != "runs"}))


if __name__ == "__main__":
    main()
