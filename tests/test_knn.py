"Heavier checks of spam_llms.knn: exactness against brute force, leak-freedom of out-of-fold search, approximate recall."
import numpy as np
import pandas as pd
import pytest
from spam_llms.knn import (build_index, search, l2_normalize, oof_neighbours, knn_price_features, gpu_available, concat_spaces)


def clustered(n, d, n_clusters, noise, seed):
    rng = np.random.default_rng(seed)
    c = rng.normal(0, 1 / np.sqrt(d), (n_clusters, d))
    return l2_normalize(c[rng.integers(0, n_clusters, n)] + rng.normal(0, noise, (n, d))), rng


def test_flat_matches_numpy_brute_force():
    x, rng = clustered(2000, 64, 50, 0.05, 0)
    q = l2_normalize(rng.normal(size=(300, 64)))
    sims, ids = search(build_index(x), q, 20)
    full = q @ x.T
    np.testing.assert_allclose(sims, -np.sort(-full, axis=1)[:, :20], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.take_along_axis(full, ids, 1), sims, atol=1e-5)   # ids point at those similarities


@pytest.mark.parametrize("kind,kw", [("ivf", dict(nprobe=8)), ("hnsw", dict(ef_search=128))])
def test_approximate_indexes_recall(kind, kw):
    x, _ = clustered(20_000, 64, 400, 0.03, 1)
    q = x[:500] + 0.01
    exact = search(build_index(x), q, 10)[1]
    approx = search(build_index(x, kind, **kw), q, 10)[1]
    recall = np.mean([len(np.intersect1d(a, b)) / 10 for a, b in zip(approx, exact)])
    assert recall > 0.9, recall


def test_ivf_is_reproducible_with_its_seed():
    x, _ = clustered(5000, 32, 100, 0.05, 2)
    a, b = (search(build_index(x, "ivf", nprobe=2, seed=7), x[:200], 5)[1] for _ in range(2))
    np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(gpu_available(), reason="a GPU is present")
def test_gpu_request_without_gpu_is_a_clear_error():
    with pytest.raises(RuntimeError, match="faiss-gpu"): build_index(np.eye(4), use_gpu=True)


def test_oof_neighbours_never_own_fold_and_test_sees_all():
    x, rng = clustered(3000, 32, 60, 0.05, 3)
    folds = rng.integers(0, 5, len(x))
    nb = oof_neighbours(x, folds, 25, query_vectors=x[:400])
    assert (nb.train_idx >= 0).all()
    assert (folds[nb.train_idx] != folds[:, None]).all()
    # test queries that are training rows find themselves first: they search every training row
    np.testing.assert_array_equal(nb.test_idx[:, 0], np.arange(400))
    # out-of-fold results are the exact top-k among the other folds
    f0 = folds == 0
    ref_sim, ref = search(build_index(x[~f0]), x[f0], 25)
    np.testing.assert_allclose(nb.train_sim[f0], ref_sim, atol=1e-5)
    assert (nb.train_idx[f0] == np.flatnonzero(~f0)[ref]).mean() > 0.99   # ids may swap only among float ties


def test_scrambling_a_fold_never_moves_its_own_features():
    x, rng = clustered(2500, 32, 40, 0.05, 4)
    folds, y = np.arange(len(x)) % 5, rng.normal(3, 1, len(x))
    nb = oof_neighbours(x, folds, 100, query_vectors=x[:300] + 0.01)
    for f in range(5):
        y2 = y.copy(); y2[folds == f] = rng.permutation(y2[folds == f]) + rng.normal(0, 2, (folds == f).sum())
        a, b = (knn_price_features(nb.train_sim, nb.train_idx, yy) for yy in (y, y2))
        pd.testing.assert_frame_equal(a[folds == f], b[folds == f])
        assert (a[folds != f] - b[folds != f]).abs().to_numpy().max() > 0.1          # the check has teeth
        for s, i in [(nb.train_sim, nb.train_idx), (nb.test_sim, nb.test_idx)]:     # nested: no row sees fold f
            a, b = (knn_price_features(s, i, yy, neighbour_fold=folds, exclude_fold=f) for yy in (y, y2))
            pd.testing.assert_frame_equal(a, b)


def test_features_match_a_direct_computation():
    x, rng = clustered(1000, 16, 20, 0.1, 5)
    y = rng.normal(2, 1, len(x)); folds = np.arange(len(x)) % 4
    nb = oof_neighbours(x, folds, 40)
    ft = knn_price_features(nb.train_sim, nb.train_idx, y, ks=(7, 40), lam=5.0, neighbour_fold=folds, exclude_fold=1)
    for r in [0, 1, 2, 999]:
        keep = [(s, j) for s, j in zip(nb.train_sim[r], nb.train_idx[r]) if folds[j] != 1][:7]
        s, j = np.array([a for a, _ in keep]), np.array([b for _, b in keep])
        w = np.exp(-5.0 * ((1 - s) - (1 - s[0])))
        np.testing.assert_allclose(ft.loc[r, ["knn_mean7", "knn_median7", "knn_std7", "knn_wmean7", "knn_d1"]].to_numpy(float),
                                   [y[j].mean(), np.median(y[j]), y[j].std(), (w * y[j]).sum() / w.sum(), 1 - s[0]], rtol=1e-4, atol=1e-5)


def test_concat_space_cosine_is_mean_of_block_cosines():
    rng = np.random.default_rng(6); a, b = rng.normal(size=(50, 8)), rng.normal(size=(50, 5))
    c = concat_spaces(a, b); an, bn = l2_normalize(a), l2_normalize(b)
    np.testing.assert_allclose(c @ c.T, (an @ an.T + bn @ bn.T) / 2, atol=1e-5)


# ---- sparse (TF-IDF) search and the weighted-median neighbour regressor
import scipy.sparse as sp
from spam_llms.knn import sparse_topk, sparse_oof_neighbours, weighted_median, knn_regress


def sparse_rows(n, d, seed, density=0.02):
    "Random non-negative sparse rows, like TF-IDF: most pairs share nothing."
    return sp.random(n, d, density=density, random_state=seed, format="csr", dtype=np.float32)


def test_sparse_topk_is_exact_and_blocking_does_not_matter():
    X = sparse_rows(1500, 800, 0); Q = sparse_rows(200, 800, 1)
    dense_x, dense_q = l2_normalize(X.toarray()), l2_normalize(Q.toarray())
    full = dense_q @ dense_x.T
    s, i = sparse_topk(Q, X, 30, chunk=64)
    np.testing.assert_allclose(s, -np.sort(-full, axis=1)[:, :30], atol=1e-5)
    np.testing.assert_allclose(np.take_along_axis(full, i, 1), s, atol=1e-5)
    s2, i2 = sparse_topk(Q, X, 30, chunk=1000)
    np.testing.assert_array_equal(i, i2); np.testing.assert_array_equal(s, s2)


def test_sparse_oof_neighbours_match_the_dense_search():
    X = sparse_rows(1200, 300, 2, density=0.05); folds = np.arange(1200) % 5
    sp_nb = sparse_oof_neighbours(X, folds, 20, query_vectors=X[:100])
    de_nb = oof_neighbours(X.toarray(), folds, 20, query_vectors=X[:100].toarray())
    assert (folds[sp_nb.train_idx] != folds[:, None]).all()
    np.testing.assert_allclose(sp_nb.train_sim, de_nb.train_sim, atol=1e-5)
    np.testing.assert_allclose(sp_nb.test_sim, de_nb.test_sim, atol=1e-5)
    assert (sp_nb.train_idx == de_nb.train_idx).mean() > 0.99      # ids may swap only among float ties
    np.testing.assert_array_equal(sp_nb.test_idx[:, 0], np.arange(100))


def brute_weighted_median(v, w):
    "Lower weighted median of one row, by the definition."
    keep = ~np.isnan(v); v, w = v[keep], w[keep]
    if w.sum() <= 0: return np.nan
    return min(x for x in v if w[v <= x].sum() >= 0.5 * w.sum())


def test_weighted_median_matches_its_definition():
    rng = np.random.default_rng(7)
    v = rng.integers(0, 6, (500, 9)).astype(float); v[rng.random(v.shape) < 0.2] = np.nan   # ties and gaps
    w = rng.random(v.shape) * (rng.random(v.shape) < 0.8)
    got = weighted_median(v, w)
    ref = np.array([brute_weighted_median(a, b) for a, b in zip(v, w)])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref)); np.testing.assert_allclose(got[~np.isnan(ref)], ref[~np.isnan(ref)])


def test_knn_regress_never_reads_its_own_fold_and_is_deterministic():
    X = sparse_rows(1000, 200, 3, density=0.05); folds = np.arange(1000) % 5
    rng = np.random.default_rng(8); y = rng.normal(3, 1, 1000)
    nb = sparse_oof_neighbours(X, folds, 15)
    p = knn_regress(nb.train_sim, nb.train_idx, y, k=15, power=4)
    np.testing.assert_array_equal(p, knn_regress(nb.train_sim, nb.train_idx, y, k=15, power=4))
    for f in range(5):
        y2 = y.copy(); y2[folds == f] = rng.normal(9, 3, (folds == f).sum())
        p2 = knn_regress(nb.train_sim, nb.train_idx, y2, k=15, power=4)
        np.testing.assert_array_equal(p2[folds == f], p[folds == f])
        assert np.abs(p2[folds != f] - p[folds != f]).max() > 1        # the check has teeth


@pytest.mark.parametrize("column", ["catalog_content", "item_name"])
def test_sparse_topn_returns_the_exact_neighbours_on_real_rows(real_rows, column):
    "On real listings (whole text, item names): the library search finds the exact search's neighbours at every rank where a row shares an n-gram with the query."
    from spam_llms.knn import tfidf_matrix, sparse_topn
    from spam_llms.preprocess import parse_catalog
    tr, te = real_rows; folds = tr.fold.to_numpy()
    text = lambda df: df.catalog_content if column == "catalog_content" else df.catalog_content.map(lambda s: parse_catalog(s)["item_name"] or "")
    Xtr, Xte = tfidf_matrix(text(tr), text(te), word_range=(1, 2), char_range=None, binary=True, min_df=1)
    for q, qf, rf in [(Xtr, folds, folds), (Xte, None, None)]:
        es, ei = sparse_topk(q, Xtr, 30, qf, rf)
        ts, ti = sparse_topn(q, Xtr, 30, qf, rf, n_threads=1)
        np.testing.assert_allclose(ts, es, atol=1e-6)                       # same similarity at every rank
        pos = es > 0
        assert pos.mean() > 0.3 and (ti[pos] == ei[pos]).all()              # same rows wherever the rows share an n-gram
        np.testing.assert_array_equal(sparse_topn(q, Xtr, 30, qf, rf, n_threads=2)[1], ti)   # the thread count changes nothing
        if qf is not None: assert (folds[ti] != folds[:, None]).all()       # never a row of the query's own fold


def test_neighbour_cache_is_keyed_by_the_texts(tmp_path, real_rows):
    "A TF-IDF neighbour search is read back only for the same documents: one text changed under the same ids and folds searches again."
    from spam_llms.knn import tfidf_neighbours
    tr, te = real_rows; folds = tr.fold.to_numpy(); a_tr, a_te = tr.catalog_content.tolist(), te.catalog_content.tolist()
    a = tfidf_neighbours(a_tr, a_te, folds, 5, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    b = tfidf_neighbours(a_tr, a_te, folds, 5, cache_dir=tmp_path)  # same inputs: read back, nothing new
    assert len(list(tmp_path.glob("*.npz"))) == 1 and np.array_equal(a.train_idx, b.train_idx)
    c_tr = list(a_tr); c_tr[0] = a_te[0]  # row 0 now reads like the first test row
    c = tfidf_neighbours(c_tr, a_te, folds, 5, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 2 and not np.array_equal(a.test_idx, c.test_idx)


def test_fold_features_are_the_nested_price_and_unit_price_features_of_every_space():
    "fold_knn_features = knn_price_features + knn_unit_price_features of each space, every one nested on the holdout fold."
    from spam_llms.knn import fold_knn_features, knn_unit_price_features
    x, rng = clustered(1500, 16, 30, 0.05, 9)
    folds, y = np.arange(len(x)) % 5, rng.normal(3, 1, len(x))
    nbs = {"a": oof_neighbours(x, folds, 40, query_vectors=x[:200] + 0.01), "b": oof_neighbours(x[:, ::-1].copy(), folds, 40, query_vectors=x[200:400])}
    q, g = rng.normal(5, 1, len(x)), rng.integers(0, 3, len(x)); unit = {"log_qty": (q, q[:200]), "group": (g, g[:200])}
    tr, te = fold_knn_features(nbs, y, folds, holdout=2, ks=(5, 20), lam=7.0, unit=unit, unit_ks=(5, 10))
    for s, nb in nbs.items():
        kw = dict(log_price=y, neighbour_fold=folds, exclude_fold=2)
        want = pd.concat([knn_price_features(nb.train_sim, nb.train_idx, ks=(5, 20), lam=7.0, prefix=f"knn_{s}", **kw),
                          knn_unit_price_features(nb.train_sim, nb.train_idx, query_log_qty=q, query_group=g, prefix=f"knn_{s}", log_qty=q, group=g, ks=(5, 10), **kw)], axis=1)
        pd.testing.assert_frame_equal(tr[want.columns], want)
        assert any(c.startswith(f"knn_{s}_uprice") for c in te.columns)
    assert len(tr) == len(x) and len(te) == 200 and len(set(tr.columns)) == tr.shape[1] == te.shape[1]
    y2 = y.copy(); y2[folds == 2] = rng.permutation(y2[folds == 2]) + 3.0  # fold 2's prices change: no feature may move
    tr2, te2 = fold_knn_features(nbs, y2, folds, holdout=2, ks=(5, 20), lam=7.0, unit=unit, unit_ks=(5, 10))
    pd.testing.assert_frame_equal(tr, tr2); pd.testing.assert_frame_equal(te, te2)
    moved = fold_knn_features(nbs, y2, folds, holdout=None, ks=(5, 20), lam=7.0, unit=unit, unit_ks=(5, 10))[1]
    assert (moved - te).abs().to_numpy().max() > 0.5  # without a holdout, test rows see fold 2 (the check has teeth)


def test_weighted_median_edges():
    "Lower median on an exact half, the largest value when it holds all the weight, NaN without weight, named errors."
    v = np.array([[1.0, 2, 3, 4], [4, 3, 2, 1], [5, 1, 7, 2], [1, 2, np.nan, 3], [1, 2, 3, 4]])
    w = np.array([[1.0, 1, 1, 1], [1, 1, 1, 1], [0, 0, 3, 0], [0, 0, 5, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(weighted_median(v, w), [2.0, 2.0, 7.0, np.nan, np.nan])
    with pytest.raises(ValueError, match=r"weighted_median: values \(5, 4\) and weights \(5, 3\) differ"): weighted_median(v, w[:, :3])
    with pytest.raises(ValueError, match="weighted_median: weights must be non-negative"): weighted_median(v, -w)


def test_price_features_read_row_zero_and_keep_missing_neighbours_out():
    "Neighbour 0 is a row like any other; -1 (no neighbour) stays out also when a fold is excluded; output is float32."
    sim = np.array([[0.9, 0.8, 0.5], [0.7, 0.6, 0.5]]); idx = np.array([[0, 2, -1], [-1, 1, 0]])
    y, folds = np.array([1.0, 2.0, 4.0]), np.array([0, 1, 1])
    f = knn_price_features(sim, idx, y, ks=(3,), lam=0.0)
    np.testing.assert_allclose(f.knn_mean3, [2.5, 1.5]); np.testing.assert_allclose(f.knn_wmean3, [2.5, 1.5])
    np.testing.assert_allclose(f.knn_d1, [0.1, 0.4], rtol=1e-6); np.testing.assert_allclose(f.knn_dmean3, [0.15, 0.45], rtol=1e-6)
    assert (f.dtypes == np.float32).all()
    g = knn_price_features(sim, idx, y, ks=(3,), lam=0.0, neighbour_fold=folds, exclude_fold=1)  # -1 points at row 0 (fold 0): still out
    np.testing.assert_allclose(g.knn_mean3, [1.0, 1.0]); np.testing.assert_allclose(g.knn_d1, [0.1, 0.5], rtol=1e-6)
    with pytest.raises(ValueError, match=r"knn_price_features: sim \(2, 3\) and idx \(2, 2\) differ"): knn_price_features(sim, idx[:, :2], y)


def test_masks_keep_rows_out_of_the_index_and_queries_unsearched(monkeypatch):
    "train_mask rows are never neighbours and get none; query_mask rows get none; a pool too small leaves -1; index options reach build_index."
    import spam_llms.knn as knn
    x, rng = clustered(300, 8, 10, 0.1, 11); folds = np.arange(300) % 3
    tm = rng.random(300) < 0.7; qm = np.r_[np.ones(20, bool), np.zeros(10, bool)]
    seen = []; build = knn.build_index
    monkeypatch.setattr(knn, "build_index", lambda v, **kw: seen.append(kw) or build(v, **kw))
    nb = knn.oof_neighbours(x, folds, 5, query_vectors=x[:30], train_mask=tm, query_mask=qm, kind="flat", seed=3)
    assert seen and all(kw == {"kind": "flat", "seed": 3} for kw in seen)
    assert tm[nb.train_idx[tm]].all() and tm[nb.test_idx[qm]].all()             # only usable rows are neighbours
    assert (nb.train_idx[~tm] == -1).all() and np.isnan(nb.train_sim[~tm]).all()  # unusable rows get none
    assert (nb.test_idx[~qm] == -1).all() and (nb.test_idx[qm] >= 0).all()
    tiny = knn.oof_neighbours(x[:6], np.array([0, 0, 0, 1, 1, 1]), 4)            # 3 rows in the other fold for k = 4
    assert (tiny.train_idx[:, 3] == -1).all() and (tiny.train_idx[:, :3] >= 0).all() and np.isnan(tiny.train_sim[:, 3]).all()
    with pytest.raises(ValueError, match="oof_neighbours: 5 folds for 6 rows"): knn.oof_neighbours(x[:6], folds[:5], 2)
