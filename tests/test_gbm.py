"End-to-end checks of spam_llms.gbm: leak-freedom of the kNN features inside LightGBM, determinism, the stage's artifacts."
from spam_llms import gbm, knn   # first: it sets OMP_WAIT_POLICY before lightgbm loads OpenMP
import re
import numpy as np
import pandas as pd
import pytest
from pathlib import Path
import lightgbm as lgb
from spam_llms.core import smape_log, load_json, load_preds, RunPaths
from spam_llms.upstream import ensure_upstream


def noise_inputs(n=1500, m=200, d=24, seed=0):
    "Prices that are pure noise; embeddings unrelated to them. No honest model can beat the median here."
    rng = np.random.default_rng(seed)
    tr = pd.DataFrame({"sample_id": np.arange(n), "num_x": rng.normal(size=n), "cat_c": rng.integers(0, 4, n),
                       "log_price": rng.normal(3, 1, n), "fold": np.arange(n) % 5})
    tr["price"] = np.expm1(tr.log_price)
    te = pd.DataFrame({"sample_id": np.arange(n, n + m), "num_x": rng.normal(size=m), "cat_c": rng.integers(0, 4, m)})
    v = rng.normal(size=(n + m, d)).astype(np.float32)
    return {"train": tr, "test": te, "blocks_train": {"text": v[:n]}, "blocks_test": {"text": v[n:]},
            "has_image_train": np.ones(n, bool), "has_image_test": np.ones(m, bool)}


# the neighbour switches off: each test turns on the spaces it checks
FAST = gbm.LgbmParams.smoke(svd_dims=2, ks="5,20", num_boost_round=400, early_stopping=30, tfidf_knn=False, name_knn=False, unit_price_knn=False)


def leaky_oof_neighbours(vectors, folds, k, query_vectors=None, **kw):
    "A deliberately wrong search: every training row's neighbours come from all rows, itself included."
    idx = knn.build_index(vectors)
    s, i = knn.search(idx, vectors, k)
    ts, ti = knn.search(idx, query_vectors, k)
    return knn.OOFNeighbours(s, i, ts, ti)


def test_knn_features_do_not_leak_into_oof_scores(tmp_path, monkeypatch):
    inp = noise_inputs(); y = inp["train"].log_price.to_numpy()
    base = smape_log(y, np.full(len(y), np.median(y)))
    params = gbm.lgbm_params(n_threads=1, learning_rate=0.1)
    score = lambda name: gbm.fit_lgbm_stage(inp, tmp_path/name, FAST, use_knn=True, params=params)[0]["oof_smape"]
    honest = score("honest")
    # a broken search that returns each row itself is still harmless: the nested fold features drop the holdout fold
    monkeypatch.setattr(knn, "oof_neighbours", leaky_oof_neighbours)
    nested_only = score("nested_only")
    # positive control: with the nesting switched off too, the leak shows, so this check can fail
    plain = knn.fold_knn_features
    monkeypatch.setattr(gbm, "fold_knn_features", lambda nbs, y, folds, holdout=None, **kw: plain(nbs, y, folds, None, **kw))
    leaky = score("leaky")
    print(f"base {base:.1f} honest {honest:.1f} nested_only {nested_only:.1f} leaky {leaky:.1f}")
    assert leaky < 0.5 * base, (leaky, base)
    assert honest > 0.95 * base, (honest, base)
    assert nested_only > 0.95 * base, (nested_only, base)


def test_nested_fold_features_ignore_the_holdout_fold():
    inp = noise_inputs(n=800, m=100); tr = inp["train"]; y, folds = tr.log_price.to_numpy(), tr.fold.to_numpy()
    spaces = knn.knn_spaces(inp["blocks_train"], inp["blocks_test"], inp["has_image_train"], inp["has_image_test"])
    nbs = knn.search_spaces(spaces, folds, 40)
    rng = np.random.default_rng(1)
    for f in range(5):
        y2 = y.copy(); y2[folds == f] = rng.normal(10, 5, (folds == f).sum())
        for a, b in zip(knn.fold_knn_features(nbs, y, folds, f, ks=(5, 20)), knn.fold_knn_features(nbs, y2, folds, f, ks=(5, 20))):
            pd.testing.assert_frame_equal(a, b)


def test_lgbm_is_deterministic_and_early_stops(tmp_path):
    inp = noise_inputs(n=400, m=50)
    params = gbm.lgbm_params(n_threads=2, learning_rate=0.1, seed=3)   # two threads: determinism must not need one
    a, _ = gbm.fit_lgbm_stage(inp, tmp_path/"a", FAST, params=params)
    b, _ = gbm.fit_lgbm_stage(inp, tmp_path/"b", FAST, params=params)
    pd.testing.assert_frame_equal(load_preds(tmp_path/"a/oof.parquet"), load_preds(tmp_path/"b/oof.parquet"))
    pd.testing.assert_frame_equal(load_preds(tmp_path/"a/test.parquet"), load_preds(tmp_path/"b/test.parquet"))
    assert max(a["best_iterations"]) < FAST.num_boost_round           # noise: stops early
    assert (tmp_path/"a/fold0.txt").read_text() == (tmp_path/"b/fold0.txt").read_text()


def test_knn_features_help_when_neighbours_share_prices(tmp_path):
    "Products come in families with a shared price; the embedding knows the family, the tabular features do not."
    rng = np.random.default_rng(2); n, m, fam = 1500, 200, 150
    f_of = rng.integers(0, fam, n + m); fam_price = rng.normal(3, 1, fam)
    centres = rng.normal(size=(fam, 32))
    v = (centres[f_of] + rng.normal(0, 0.3, (n + m, 32))).astype(np.float32)
    lp = fam_price[f_of] + rng.normal(0, 0.1, n + m)
    tr = pd.DataFrame({"sample_id": np.arange(n), "num_x": rng.normal(size=n), "log_price": lp[:n], "fold": np.arange(n) % 5})
    tr["price"] = np.expm1(tr.log_price)
    te = pd.DataFrame({"sample_id": np.arange(n, n + m), "num_x": rng.normal(size=m)})
    inp = {"train": tr, "test": te, "blocks_train": {"text": v[:n]}, "blocks_test": {"text": v[n:]},
           "has_image_train": np.ones(n, bool), "has_image_test": np.ones(m, bool)}
    params = gbm.lgbm_params(n_threads=1, learning_rate=0.1)
    with_knn, _ = gbm.fit_lgbm_stage(inp, tmp_path/"k", FAST.but(svd_dims=0), use_knn=True, params=params)
    without, _ = gbm.fit_lgbm_stage(inp, tmp_path/"n", FAST.but(svd_dims=0), use_knn=False, params=params)
    assert with_knn["oof_smape"] < 0.5 * without["oof_smape"], (with_knn["oof_smape"], without["oof_smape"])
    test_pred = load_preds(tmp_path/"k/test.parquet").set_index("sample_id").pred
    assert smape_log(lp[n:], test_pred.loc[te.sample_id].to_numpy()) < 0.5 * without["oof_smape"]


def test_lgbm_stage_end_to_end_on_a_small_twin(tmp_path):
    "The stage on a real (small) twin, with embeddings from the embedding stage's tiny random test encoders (fast)."
    from spam_llms.embed import EmbedParams, run_embed
    from spam_llms.testing import tiny_test_models
    from spam_llms.preprocess import ensure_preprocessed
    run = tmp_path/"outputs"/"run"
    ensure_preprocessed(run, n_train=200, n_test=60, seed=3)
    tiny = tiny_test_models(tmp_path/"models")
    run_embed(EmbedParams.smoke(run_dir=str(run), data_dir="", text_encoder=tiny["bert"], image_encoder="", joint_encoder=tiny["clip"], device="cpu"),
              progress=False, log=lambda *a: None)
    p = gbm.LgbmParams.smoke(run_dir=str(run), n_train=200, n_test=60, seed=3, svd_dims=4, ks="3,10", learning_rate=0.2, num_boost_round=200,
                             early_stopping=20, min_data_in_leaf=5, num_leaves=7, tfidf_knn=False, name_knn=False, unit_price_knn=False)
    m = gbm.run_lgbm(p, use_knn=True)
    m0 = gbm.run_lgbm(p, use_knn=False)
    tr = pd.read_parquet(RunPaths(run).preprocessed/"train.parquet")
    for name, met in [("lgbm", m), ("lgbm_noknn", m0)]:
        oof = load_preds(run/name/"oof.parquet").merge(tr[["sample_id", "fold", "log_price"]], on="sample_id", suffixes=("", "_pre"))
        assert len(oof) == len(tr) and (oof.fold == oof.fold_pre).all()
        assert met["oof_smape"] == pytest.approx(smape_log(oof.log_price, oof.pred))
        assert len(load_preds(run/name/"test.parquet")) == 60
        assert sorted(p.name for p in (run/name).glob("fold*.txt")) == [f"fold{k}.txt" for k in range(5)]
        assert (RunPaths(run).figures/f"{name}_importance.png").stat().st_size > 1000
    names = lgb.Booster(model_file=str(run/"lgbm/fold0.txt")).feature_name()
    assert {"knn_text_mean3", "knn_joint_text_mean3", "knn_joint_image_mean3", "knn_concat_mean3", "text_pc0", "joint_image_pc0"} <= set(names)
    assert m["knn_spaces"] == ["text", "joint_text", "joint_image", "concat"]
    assert not any(n.startswith("knn_") for n in lgb.Booster(model_file=str(run/"lgbm_noknn/fold0.txt")).feature_name())
    cmp = gbm.compare_models(run, oracle=gbm.oracle_smape(tr, RunPaths(run).data))
    assert cmp.model.tolist() == ["lgbm_noknn", "lgbm", "oracle floor"]
    assert list(gbm.run_lgbm_stage(p.but(lgbm_noknn=False))) == ["lgbm"]                # the switch full uses at 75k
    assert list(gbm.run_lgbm_stage(p)) == ["lgbm_noknn", "lgbm"]
    assert (run/"lgbm/comparison.csv").exists()


# ---- TF-IDF neighbours, the TF-IDF neighbour model and the text peers

def with_noise_text(inp, seed=0, vocab=300, words=6):
    "Give the noise inputs random catalog text: no word says anything about the (noise) price."
    rng = np.random.default_rng(seed)
    voc = np.array([f"w{i}" for i in range(vocab)])
    for s in ["train", "test"]:
        inp[s] = inp[s].assign(catalog_content=[" ".join(rng.choice(voc, words)) for _ in range(len(inp[s]))])
    return inp


def leaky_sparse_oof_neighbours(vectors, folds, k, query_vectors=None, **kw):
    "A deliberately wrong sparse search: every training row's neighbours come from all rows, itself included."
    s, i = knn.sparse_topk(vectors, vectors, k)
    return knn.OOFNeighbours(s, i, *knn.sparse_topk(query_vectors, vectors, k))


def test_tfidf_knn_features_do_not_leak_into_oof_scores(tmp_path, monkeypatch):
    inp = with_noise_text(noise_inputs()); y = inp["train"].log_price.to_numpy()
    base = smape_log(y, np.full(len(y), np.median(y)))
    params = gbm.lgbm_params(n_threads=1, learning_rate=0.1)
    def score(name):
        m, _ = gbm.fit_lgbm_stage(inp, tmp_path/name, FAST.but(tfidf_knn=True), use_knn=False, params=params)
        assert m["knn_spaces"] == ["tfidf"]
        return m["oof_smape"]
    honest = score("honest")
    monkeypatch.setattr(knn, "sparse_oof_neighbours", leaky_sparse_oof_neighbours)   # rows find themselves...
    nested_only = score("nested_only")                                                 # ...and the nesting still hides them
    plain = knn.fold_knn_features
    monkeypatch.setattr(gbm, "fold_knn_features", lambda nbs, y, folds, holdout=None, **kw: plain(nbs, y, folds, None, **kw))
    leaky = score("leaky")                                                             # positive control: now the leak shows
    print(f"base {base:.1f} honest {honest:.1f} nested_only {nested_only:.1f} leaky {leaky:.1f}")
    assert leaky < 0.5 * base, (leaky, base)
    assert honest > 0.95 * base, (honest, base)
    assert nested_only > 0.95 * base, (nested_only, base)


def test_tfidf_knn_features_help_when_listings_share_words(tmp_path):
    "Product families named by a shared word pair; only the text knows the family."
    rng = np.random.default_rng(4); n, m, fam = 1500, 200, 150
    f_of = rng.integers(0, fam, n + m); fam_price = rng.normal(3, 1, fam)
    text = [f"family{f} line{f} " + " ".join(rng.choice([f"w{i}" for i in range(500)], 5)) for f in f_of]
    lp = fam_price[f_of] + rng.normal(0, 0.1, n + m)
    tr = pd.DataFrame({"sample_id": np.arange(n), "num_x": rng.normal(size=n), "log_price": lp[:n], "fold": np.arange(n) % 5,
                       "catalog_content": text[:n]})
    te = pd.DataFrame({"sample_id": np.arange(n, n + m), "num_x": rng.normal(size=m), "catalog_content": text[n:]})
    inp = {"train": tr, "test": te}
    params = gbm.lgbm_params(n_threads=1, learning_rate=0.1)
    with_knn, _ = gbm.fit_lgbm_stage(inp, tmp_path/"k", FAST.but(svd_dims=0, tfidf_knn=True), use_knn=False, params=params)
    without, _ = gbm.fit_lgbm_stage(inp, tmp_path/"n", FAST.but(svd_dims=0), use_knn=False, params=params)
    assert with_knn["oof_smape"] < 0.5 * without["oof_smape"], (with_knn["oof_smape"], without["oof_smape"])
    test_pred = load_preds(tmp_path/"k/test.parquet").set_index("sample_id").pred
    assert smape_log(lp[n:], test_pred.loc[te.sample_id].to_numpy()) < 0.5 * without["oof_smape"]


def test_unit_price_neighbours_on_real_rows(real_rows):
    "On real listings: each estimate is the weighted median of same-unit, other-fold neighbours' log price per unit plus the row's own log quantity."
    from spam_llms.preprocess import preprocess_frame
    tr, te = real_rows; y, folds = tr.log_price.to_numpy(), tr.fold.to_numpy()
    unit = knn.unit_inputs(preprocess_frame(tr), preprocess_frame(te)); (q, _), (g, _) = unit["log_qty"], unit["group"]
    nb = knn.tfidf_neighbours(tr.catalog_content, te.catalog_content, folds, 20)
    checked, skipped_other_units = 0, 0
    for f in range(5):
        ftr, _ = knn.fold_knn_features({"tfidf": nb}, y, folds, holdout=f, ks=(5,), unit=unit, unit_ks=(20,))
        for r in np.flatnonzero(folds != f)[:6]:
            j, s = nb.train_idx[r], nb.train_sim[r]
            keep = (j >= 0) & (folds[np.maximum(j, 0)] != f) & (g[np.maximum(j, 0)] == g[r]) & ~np.isnan(q[np.maximum(j, 0)])
            skipped_other_units += int(((j >= 0) & (g[np.maximum(j, 0)] != g[r])).sum() > 0)
            got = ftr.knn_tfidf_uprice20[r]
            assert ftr.knn_tfidf_uprice_n20[r] == keep.sum()
            if np.isnan(q[r]) or not keep.any(): assert np.isnan(got); continue
            want = knn.weighted_median((y - q)[j[keep]][None], (np.clip(s[keep], 0, None) ** 2 + 1e-12)[None])[0] + q[r]
            assert got == pytest.approx(want, abs=1e-4); checked += 1
    assert checked >= 15 and skipped_other_units >= 3   # the rule was exercised: real neighbours of other unit groups were left out
    with pytest.raises(ValueError, match="num_log_base_qty"): knn.unit_inputs(tr, te)


def test_item_name_neighbours_on_real_rows(real_rows):
    "On real listings: the item-name space finds other folds' rows whose names share words, and is another view than the whole text."
    from spam_llms.preprocess import parse_catalog
    tr, te = real_rows; folds = tr.fold.to_numpy()
    inp = {s: d.assign(item_name=[parse_catalog(t)["item_name"] for t in d.catalog_content]) for s, d in (("train", tr), ("test", te))}
    nbs = knn.stage_neighbours(inp, folds, 10, use_knn=False, tfidf_knn=True, name_knn=True)
    assert list(nbs) == ["tfidf", "name"]
    name, text = nbs["name"], nbs["tfidf"]; found = name.train_idx >= 0
    assert (folds[name.train_idx[found]] != np.broadcast_to(folds[:, None], found.shape)[found]).all()   # other folds only
    words = [set(re.findall(r"\w+", n.lower())) for n in inp["train"].item_name]
    top = np.flatnonzero(found[:, 0] & (name.train_sim[:, 0] > 0))   # names with a word another fold's name also has
    assert len(top) > 100 and all(words[r] & words[name.train_idx[r, 0]] for r in top), len(top)   # the nearest name shares one
    assert np.mean(name.train_idx[:, 0] != text.train_idx[:, 0]) > 0.2, np.mean(name.train_idx[:, 0] != text.train_idx[:, 0])
    with pytest.raises(ValueError, match="item_name"): knn.stage_neighbours({"train": tr, "test": te}, folds, 10, use_knn=False, name_knn=True)


@pytest.fixture(scope="module")
def real_inp(real_rows):
    "The real rows as `lgbm_features` reads them in a run: preprocessed, raw catalog and item name attached, a random embedding block."
    from spam_llms.preprocess import preprocess_frame, parse_catalog
    tr, te = real_rows; rng = np.random.default_rng(0)
    frame = lambda d: preprocess_frame(d).assign(catalog_content=d.catalog_content.to_numpy(), item_name=[parse_catalog(t)["item_name"] for t in d.catalog_content])
    return {"train": frame(tr).assign(fold=tr.fold.to_numpy()), "test": frame(te),
            "blocks_train": {"text": rng.normal(size=(len(tr), 16)).astype(np.float32)}, "blocks_test": {"text": rng.normal(size=(len(te), 16)).astype(np.float32)},
            "has_image_train": np.ones(len(tr), bool), "has_image_test": np.ones(len(te), bool)}


def test_lgbm_features_wire_every_setting_to_its_part(real_inp, tmp_path, monkeypatch):
    "04's inputs on real rows: the features equal their parts built by hand, and the search and the fold features get the stage's values, none a default."
    p = FAST.but(svd_dims=3, tfidf_svd=1, tfidf_knn_char="2,4", tfidf_knn=True, name_knn=True, unit_price_knn=True, sparse_search="topn",
                 spaces="text", ks="3,6", lam=2.5, knn_index="hnsw", tfidf_knn_max_df=0.9, seed=5, device="cpu")
    calls, search = [], gbm.stage_neighbours
    def spy(*a, **k): calls.append((a, k, search(*a, **k))); return calls[-1][2]
    monkeypatch.setattr(gbm, "stage_neighbours", spy)
    svd_calls, svd = [], gbm.tfidf_svd_features   # the SVD's arguments as well: its seed cannot be seen in a one-component result
    monkeypatch.setattr(gbm, "tfidf_svd_features", lambda *a: svd_calls.append(a[2:]) or svd(*a))
    Xtr, Xte, cats, ff, spaces, secs = gbm.lgbm_features(real_inp, p, cache_dir=tmp_path/"nb")   # use_knn at its default: embedding spaces on
    tr, te = real_inp["train"], real_inp["test"]; y, folds = tr.log_price.to_numpy(), tr.fold.to_numpy()
    btr, bte, bcats = gbm.build_base_features(real_inp, 3, 5)
    ztr, zte = svd(tr.catalog_content, te.catalog_content, 1, 5, (2, 4))   # a one-component SVD still counts
    pd.testing.assert_frame_equal(Xtr, pd.concat([btr, ztr], axis=1)); pd.testing.assert_frame_equal(Xte, pd.concat([bte, zte], axis=1))
    assert svd_calls == [(1, 5, (2, 4))] and cats == bcats and list(ztr.columns) == ["tfidf_svd0"] and len(Xtr) == len(tr) and len(Xte) == len(te)
    (args, kw, nbs), = calls
    assert args[0] is real_inp and np.array_equal(args[1], folds)
    assert args[2:] == (12, True, True, ("text",), (2, 4), 0.9, True, "topn")   # k = 2 * max(ks); then use_knn ... sparse_search
    assert kw == {"seconds": secs, "cache_dir": tmp_path/"nb", "kind": "hnsw", "use_gpu": False, "seed": 5}
    assert spaces == ["text", "tfidf", "name"] == list(nbs) and set(secs) == {"embeddings", "tfidf", "name"}
    unit = knn.unit_inputs(tr, te)
    for f in (0, 3):   # each fold's features: nested on that fold, with the stage's ks, lam and unit-price inputs
        for got, want in zip(ff(f), knn.fold_knn_features(nbs, y, folds, holdout=f, ks=(3, 6), lam=2.5, unit=unit)):
            pd.testing.assert_frame_equal(got, want)
    assert {"knn_tfidf_uprice5", "knn_text_median6"} <= set(ff(0)[0].columns), list(ff(0)[0].columns)


@pytest.mark.parametrize("device, found, want", [("cpu", "cpu", False), ("auto", "cpu", False), ("auto", "cuda", "auto"), ("cuda:0", "cuda:0", "auto")])
def test_lgbm_features_search_on_a_gpu_only_when_the_run_has_one(real_inp, monkeypatch, device, found, want):
    "FAISS is asked for a GPU exactly when the stage's device resolves to CUDA; with every neighbour space off there are no fold features."
    seen = {}
    monkeypatch.setattr(gbm, "resolve_device", lambda d: found)
    monkeypatch.setattr(gbm, "stage_neighbours", lambda *a, **k: seen.update(k) or {})
    *_, ff, spaces, _ = gbm.lgbm_features(real_inp, FAST.but(device=device, tfidf_svd=0), use_knn=False)
    assert seen["use_gpu"] == want and type(seen["use_gpu"]) is type(want) and ff is None and spaces == []


def test_cv_lgbm_wires_each_fold_on_real_rows(real_inp):
    "Each fold's booster learns from the other folds' rows plus that fold's own extra features; OOF and test rows are its predictions at its best iteration."
    tr, te = real_inp["train"], real_inp["test"]; y, folds = tr.log_price.to_numpy(), tr.fold.to_numpy(); ks = list(range(5))
    X, Xt, cats = gbm.build_base_features(real_inp, 0)
    def extra(k):
        rng = np.random.default_rng(k); return pd.DataFrame({"fold_extra": rng.normal(size=len(tr))}), pd.DataFrame({"fold_extra": rng.normal(size=len(te))})
    asked, reported = [], []
    params = gbm.lgbm_params(n_threads=1, learning_rate=0.1, seed=0) | dict(bagging_fraction=1.0, bagging_freq=0, min_data_in_leaf=5, min_data_per_group=5)
    oof, test, scores, boosters = gbm.cv_lgbm(X, Xt, y, folds, params, cats, lambda k: asked.append(k) or extra(k), num_boost_round=300, early_stopping=5,
                                              on_fold=lambda k, s: reported.append((k, s)))
    assert asked == ks and len(boosters) == 5 and cats
    t = np.zeros(len(te))
    for k, b in zip(ks, boosters):
        (ftr, fte), va = extra(k), folds == k
        A, B = pd.concat([X, ftr], axis=1), pd.concat([Xt, fte], axis=1)
        np.testing.assert_array_equal(oof[va], b.predict(A[va], num_iteration=b.best_iteration))
        t += b.predict(B, num_iteration=b.best_iteration) / 5
        info = b.dump_model()
        assert info["tree_info"][0]["tree_structure"]["internal_count"] == (~va).sum()   # trained on the other folds' rows, all of them
        assert b.feature_name() == list(A.columns) and all(info["feature_infos"][c]["values"] for c in cats)   # categorical columns stay categorical
        assert 1 <= b.best_iteration == b.num_trees() < 300   # stopped early, the model cut at its best iteration
        l1 = [np.abs(b.predict(A[va], num_iteration=i) - y[va]).mean() for i in range(1, b.num_trees() + 1)]
        assert b.best_iteration == np.argmin(l1) + 1, (k, b.best_iteration, np.argmin(l1) + 1)   # stopped on the fold's own prices (its L1)
    np.testing.assert_allclose(test, t)
    assert scores == [smape_log(y[folds == k], oof[folds == k]) for k in ks] and reported == list(zip(ks, scores))
    slow = params | {"learning_rate": 0.01}   # the round budget is the caller's: 7 rounds, patience never reached
    assert max(b.num_trees() for b in gbm.cv_lgbm(X, Xt, y, folds, slow, cats, num_boost_round=7, early_stopping=1000)[3]) == 7


def test_cv_lgbm_seeds_average_their_runs_and_build_fold_features_once(real_inp):
    "Two seeds on real rows: seeds seed and seed + 1, each run the plain `cv_lgbm` of its seed, averaged in log space; a fold's extra features are built once."
    tr, te = real_inp["train"], real_inp["test"]; y, folds = tr.log_price.to_numpy(), tr.fold.to_numpy()
    X, Xt, cats = gbm.build_base_features(real_inp, 0)
    params = {k: v for k, v in gbm.lgbm_params(n_threads=1, learning_rate=0.01, seed=0).items() if k != "seed"} | dict(min_data_in_leaf=5, min_data_per_group=5)
    asked = []
    def extra(k): asked.append(k); return pd.DataFrame({"z": np.random.default_rng(k).normal(size=len(tr))}), pd.DataFrame({"z": np.zeros(len(te))})
    kw = dict(cat_cols=cats, num_boost_round=7, early_stopping=1000)
    oof, test, scores, runs = gbm.cv_lgbm_seeds(X, Xt, y, folds, params | {"seed": 3}, 2, fold_features=extra, **kw)
    assert sorted(asked) == [0, 1, 2, 3, 4] and [[b.params["seed"] for b in r] for r in runs] == [[3] * 5, [4] * 5]
    assert max(b.num_trees() for r in runs for b in r) == 7   # the caller's arguments reach every run
    one = [gbm.cv_lgbm(X, Xt, y, folds, params | {"seed": s}, fold_features=extra, **kw) for s in (3, 4)]
    np.testing.assert_allclose(oof, (one[0][0] + one[1][0]) / 2); np.testing.assert_allclose(test, (one[0][1] + one[1][1]) / 2)
    assert scores == [smape_log(y[folds == f], oof[folds == f]) for f in range(5)]
    o1, t1, _, r1 = gbm.cv_lgbm_seeds(X, Xt, y, folds, params, **kw)   # one seed by default, seed 0 when params hold none; no fold features
    assert len(r1) == 1 and {b.params["seed"] for b in r1[0]} == {0} and r1[0][0].feature_name() == list(X.columns)
    with pytest.raises(ValueError, match=r"^n_seeds must be at least 1, got 0$"): gbm.cv_lgbm_seeds(X, Xt, y, folds, params, 0)
