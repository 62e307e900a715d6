"""Time FAISS kNN at challenge scale: 75,000 queries x 384 dims against 60,000 indexed rows (one fold's training part).

    .venv/bin/python bench/bench_knn.py                      # flat (exact), IVF and HNSW, k=100, 2 threads
    .venv/bin/python bench/bench_knn.py --kinds flat --k 50 --out bench/_work/knn.json

Vectors are a clustered synthetic stand-in for sentence embeddings (products come in families: `--clusters` centres,
each row a noisy copy of one), L2-normalized; random isotropic vectors would make every approximate index look worse
than it is on real embeddings. Recall@10 of the approximate indexes is measured against the exact flat search.
Nothing here is a test; numbers depend on the machine and on what else runs on it.
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
    a = ap.parse_args()
    faiss.omp_set_num_threads(a.threads)
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
