"Timing of the kNN refinement (05) and the blend (06) on synthetic predictions at a given scale: python bench/bench_refine_submit.py [n_train] [n_models]."
import sys, time
import numpy as np
from spam_llms import refine, submit, knn

n = int(sys.argv[1]) if len(sys.argv) > 1 else 75_000; M = int(sys.argv[2]) if len(sys.argv) > 2 else 6; m = n
rng = np.random.default_rng(0); fam = max(n // 20, 10)
f = rng.integers(0, fam, n + m); v = (rng.normal(size=(fam, 384))[f] + rng.normal(0, 0.5, (n + m, 384))).astype(np.float32)
y = rng.normal(3, 0.8, n + m) + 0.4 * rng.normal(size=fam)[f]; folds = np.arange(n) % 5
P = np.column_stack([y + rng.normal(0, 0.4 + 0.05 * i, n + m) for i in range(M)])
t0 = time.time(); nb = knn.oof_neighbours(v[:n], folds, 50, query_vectors=v[n:], kind="ivf" if n > 20_000 else "flat")
t_knn = time.time() - t0; grid = refine.parse_grid()
t0 = time.time(); adj, tadj, met = refine.refine_model(nb, y[:n], folds, P[:n, 0], P[n:, 0], grid); t_one = time.time() - t0
t0 = time.time(); bl = submit.choose_blend(P[:n], y[:n], folds, P[n:], "auto"); t_blend = time.time() - t0
print(f"n={n:,} models={M}: neighbour search {t_knn:.1f}s, refine one model {t_one:.1f}s (gain {met['gain']:.2f}), "
      f"blend auto {t_blend:.1f}s (nested {bl['blend_oof_smape']:.2f} vs best single {min(smape for smape in [submit.smape_log(y[:n], P[:n, i]) for i in range(M)]):.2f})")
