"End-to-end checks of spam_llms.sparse_mlp: the artifact contract, determinism, resume, leak-freedom of OOF rows, bad input."
import shutil
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from spam_llms import sparse_mlp as smlp
from spam_llms.upstream import ensure_upstream
from spam_llms.runio import with_catalog
from spam_llms.core import smape_log, load_json, load_preds, RunPaths
from spam_llms.data import read_challenge_csv
from spam_llms.preprocess import parse_catalog

SMALL = dict(epochs=3, batch_size=32, hidden="32,16,16", n_seeds=2, device="cpu", knn_features=False)


def run(run_dir, data_dir, out_name="sparse_mlp", on_unit=None, on_fold=None, **changes):
    "The stage at SMALL sizes (the notebook's smoke values otherwise), some values changed."
    p = smlp.SparseMlpParams.smoke(run_dir=str(run_dir), data_dir=str(data_dir), **(SMALL | changes))
    ensure_upstream(p.run_dir, needs=["preprocessed"] + ["embeddings"] * p.knn_features, data_dir=p.data_dir, n_train=p.n_train, n_test=p.n_test, seed=p.seed)
    return smlp.run_sparse_mlp(p, out_name, on_unit, on_fold)


@pytest.fixture(scope="module")
def real_run(tmp_path_factory, real_dir):
    "A data folder of the 132 real train rows and the organisers' 100 test rows."
    d = tmp_path_factory.mktemp("real")/"data"; d.mkdir()
    shutil.copy(real_dir/"amazon2025_train_head132.csv", d/"train.csv"); shutil.copy(real_dir/"amazon2025_sample_test.csv", d/"test.csv")
    return d


def preds(run_dir, name="sparse_mlp"):
    out = RunPaths(run_dir).stage(name)
    return load_preds(out/"oof.parquet"), load_preds(out/"test.parquet"), load_json(out/"metrics.json")


def test_contract_on_real_rows(tmp_path, real_run):
    m = run(tmp_path, real_run)
    oof, test, m2 = preds(tmp_path)
    train = pd.read_parquet(tmp_path/"preprocessed"/"train.parquet")
    test_ids = read_challenge_csv(real_run/"test.csv", "test").sample_id
    assert len(oof) == 132 and set(oof.sample_id) == set(train.sample_id)
    stored = train.set_index("sample_id").fold.reindex(oof.sample_id).to_numpy()
    assert np.array_equal(oof.fold.to_numpy(), stored)  # the stored folds, never new ones
    assert sorted(test.sample_id) == sorted(test_ids) and np.isfinite(test.pred).all()
    assert m2["oof_smape"] == pytest.approx(m["oof_smape"]) and len(m2["fold_smape"]) == train.fold.nunique()
    assert m["units_reused"] == 0 and len(list((tmp_path/"sparse_mlp"/"units").rglob("*.npz"))) == train.fold.nunique() * 2


def test_same_seed_same_predictions_and_resume(tmp_path, real_run):
    a = run(tmp_path, real_run, "a")
    b = run(tmp_path, real_run, "b")
    c = run(tmp_path, real_run, "c", seed=7)
    (oa, ta, _), (ob, tb, _), (oc, _, _) = preds(tmp_path, "a"), preds(tmp_path, "b"), preds(tmp_path, "c")
    assert a["units_reused"] == b["units_reused"] == 0
    pd.testing.assert_frame_equal(oa, ob); pd.testing.assert_frame_equal(ta, tb)
    assert not np.allclose(oa.pred, oc.pred)

    # a run killed after its first unit: the rerun reuses it and ends with the same predictions
    def boom(fold, k):
        raise KeyboardInterrupt("killed")
    with pytest.raises(KeyboardInterrupt): run(tmp_path, real_run, "d", on_unit=boom)
    assert not (tmp_path/"d"/"oof.parquet").exists() and len(list((tmp_path/"d"/"units").rglob("*.npz"))) == 1
    d = run(tmp_path, real_run, "d")
    assert d["units_reused"] == 1
    od, td, _ = preds(tmp_path, "d"); pd.testing.assert_frame_equal(oa, od); pd.testing.assert_frame_equal(ta, td)

    # final outputs deleted, units kept: everything is reused, nothing changes
    for f in ["oof.parquet", "test.parquet", "metrics.json"]: (tmp_path/"d"/f).unlink()
    seen = []; e = run(tmp_path, real_run, "d", on_fold=lambda f, s: seen.append((int(f), s)))
    assert e["units_reused"] == 2 * len(e["fold_smape"]); pd.testing.assert_frame_equal(oa, preds(tmp_path, "d")[0])
    assert seen == list(enumerate(e["fold_smape"]))  # on_fold: once per fold, with its SMAPE

    # another configuration never reuses these units
    f = run(tmp_path, real_run, "d", epochs=2)
    assert f["units_reused"] == 0


def real_frames(real_dir, seed=0):
    "The real rows with a pure-noise log price and 5 folds; the stage's text columns attached."
    df = read_challenge_csv(real_dir/"amazon2025_train_head132.csv", "train")
    rng = np.random.default_rng(seed)
    df = df.assign(item_name=[parse_catalog(t)["item_name"] for t in df.catalog_content], log_price=rng.normal(3, 1, len(df)),
                   fold=rng.permutation(np.arange(len(df)) % 5))
    return df, df.head(10).drop(columns=["log_price", "fold"])


def test_oof_rows_never_see_their_fold(real_dir, tmp_path, monkeypatch):
    tr, te = real_frames(real_dir)
    Xtr, Xte = smlp.sparse_inputs(tr, te, min_df=1)
    # last column = the row number: a spy reads which rows each fit was given
    Xtr = sp.hstack([Xtr, sp.csr_matrix(np.arange(1, len(tr) + 1, dtype=np.float32)[:, None])]).tocsr()
    Xte = sp.hstack([Xte, sp.csr_matrix(np.zeros((len(te), 1), np.float32))]).tocsr()
    seen, fit = [], smlp.fit_sparse_mlp
    def spy(X, y, seed, **kw):
        seen.append(np.asarray(X[:, -1].todense()).ravel().astype(int) - 1); return fit(X, y, seed, **kw)
    monkeypatch.setattr(smlp, "fit_sparse_mlp", spy)
    fit_kw = dict(epochs=25, batch_size=8, growth=1.0, hidden=(64, 32, 32))
    y, folds = tr.log_price.to_numpy(), tr.fold.to_numpy()
    oof, _, _, _ = smlp.cv_sparse_mlp(Xtr, Xte, y, folds, tmp_path/"u", n_seeds=1, seed=0, **fit_kw)
    for f, rows in zip(np.unique(folds), seen): assert set(rows) == set(np.flatnonzero(folds != f))
    # leak control: noise prices cannot be predicted out of fold, though the same network memorises them in sample
    base = smape_log(y, np.full(len(y), y.mean()))
    net = fit(Xtr, y - y.mean(), 0, **fit_kw)
    in_sample = smape_log(y, smlp.predict_sparse_mlp(net, Xtr) + y.mean())
    assert in_sample < 0.5 * base, (in_sample, base)
    assert smape_log(y, oof) > 0.9 * base, (smape_log(y, oof), base)


@pytest.mark.parametrize("loss", ["huber", "smape"])
def test_learns_on_the_twin(tmp_path, twin_small, loss):
    m = run(tmp_path, twin_small, n_seeds=1, epochs=4, loss=loss)
    train = pd.read_parquet(tmp_path/"preprocessed"/"train.parquet"); y = train.log_price.to_numpy()
    # the median scores ~73; the text-only MLP ~59 at 4 epochs (a third of the twin's listings show their pack only in the photo)
    assert m["loss"] == loss and m["oof_smape"] < 0.85 * smape_log(y, np.full(len(y), np.median(y)))


def test_smape_loss_is_the_metric_on_real_prices(real_dir):
    import torch
    tr, _ = real_frames(real_dir); y = tr.price.to_numpy(float); p = y * np.random.default_rng(0).lognormal(0, 0.8, len(y))
    got = smlp.smape_loss(torch.tensor(np.log(p)), torch.tensor(np.log(y))).item() * 100
    assert got == pytest.approx(smape_log(np.log1p(y), np.log1p(p)), rel=1e-9)


def test_bad_input(tmp_path, real_run, real_dir):
    with pytest.raises(ValueError, match="'description' is missing"): run(tmp_path, real_run, text_col="description")
    with pytest.raises(ValueError, match="loss must be"): run(tmp_path, real_run, loss="mse")
    tr, te = real_frames(real_dir); X, _ = smlp.sparse_inputs(tr, te, min_df=1)
    y = tr.log_price.to_numpy().copy(); y[5] = np.nan
    with pytest.raises(ValueError, match="training row 5"): smlp.fit_sparse_mlp(X, y)
    with pytest.raises(ValueError, match="rows but"): smlp.fit_sparse_mlp(X[:10], y)
    with pytest.raises(ValueError, match="rerun preprocessing"):
        with_catalog({"train": tr.drop(columns="catalog_content").assign(sample_id=tr.sample_id + 10**7), "test": te}, "", str(real_run))


def test_neighbour_inputs_are_nested_on_real_rows(real_dir, tmp_path):
    "Noise prices on real rows: the nested neighbour inputs cannot predict them out of fold; the row's own price as an input can (control)."
    from spam_llms import knn
    tr, te = real_frames(real_dir); y, folds = tr.log_price.to_numpy(), tr.fold.to_numpy()
    Xtr, Xte = smlp.sparse_inputs(tr, te, min_df=1)
    nbs = knn.stage_neighbours({"train": tr, "test": te}, folds, 20, use_knn=False, tfidf_knn=True, name_knn=True)
    nested = lambda f: knn.fold_knn_features(nbs, y, folds, holdout=f, ks=(5, 10))
    own = lambda f: (pd.DataFrame({"own": y}), pd.DataFrame({"own": np.zeros(len(te))}))
    fit_kw = dict(n_seeds=1, seed=0, epochs=25, batch_size=8, growth=1.0, hidden=(64, 32, 32))
    base = smape_log(y, np.full(len(y), y.mean()))
    honest = smape_log(y, smlp.cv_sparse_mlp(Xtr, Xte, y, folds, tmp_path/"a", fold_features=nested, **fit_kw)[0])
    leaky = smape_log(y, smlp.cv_sparse_mlp(Xtr, Xte, y, folds, tmp_path/"b", fold_features=own, **fit_kw)[0])
    assert honest > 0.9 * base and leaky < 0.5 * base, (honest, leaky, base)


def test_stage_with_neighbour_inputs_on_real_rows(tmp_path, real_run, monkeypatch):
    seen, nested = [], smlp.fold_knn_features  # the stage asks for each fold's nested features (holdout = that fold), never plain OOF ones
    monkeypatch.setattr(smlp, "fold_knn_features", lambda *a, **k: seen.append(k.get("holdout")) or nested(*a, **k))
    m = run(tmp_path, real_run, knn_features=True, knn_ks="5,10")
    assert seen == list(range(len(m["fold_smape"]))), seen
    plain = run(tmp_path, real_run, "plain")
    assert m["knn_features"] and m["knn_spaces"] == ["text", "tfidf", "name"] and not plain["knn_features"]
    assert m["unit_key"] != plain["unit_key"] and np.isfinite(preds(tmp_path)[1].pred).all()
    assert not np.allclose(preds(tmp_path)[0].pred, preds(tmp_path, "plain")[0].pred)
    def no_search(*a, **k): raise AssertionError("searched although every unit was on disk")
    monkeypatch.setattr(smlp, "stage_neighbours", no_search)  # a rerun reuses every unit and never searches
    again = run(tmp_path, real_run, knn_features=True, knn_ks="5,10")
    assert again["unit_key"] == m["unit_key"] and again["units_reused"] == again["n_seeds"] * len(m["fold_smape"])
    shutil.rmtree(tmp_path/"sparse_mlp"/"units"/m["unit_key"])  # with a unit missing it must search, and says so
    with pytest.raises(AssertionError, match="searched"): run(tmp_path, real_run, knn_features=True, knn_ks="5,10")


def test_stages_share_the_runs_neighbour_searches(tmp_path, real_run, monkeypatch):
    "04 searches the TF-IDF spaces once; 04b on the same run reads them from the run's neighbour cache, and learns what it learns from its own."
    from spam_llms import gbm, knn
    fresh = run(tmp_path/"own", real_run, knn_features=True, knn_ks="5,10")  # 04b alone: its own searches
    p = gbm.LgbmParams.smoke(run_dir=str(tmp_path/"run"), data_dir=str(real_run), spaces="text", ks="5,10", tfidf_knn=True, name_knn=True,
                             unit_price_knn=False, num_boost_round=50, lgbm_seeds=1)
    ensure_upstream(p.run_dir, needs=["preprocessed", "embeddings"], data_dir=p.data_dir, n_train=p.n_train, n_test=p.n_test, seed=p.seed)
    gbm.run_lgbm(p)
    cache = RunPaths(tmp_path/"run").neighbour_cache
    assert len(list(cache.glob("*.npz"))) == 2  # the TF-IDF and item-name spaces (embedding spaces are searched by each stage)
    def no_search(*a, **k): raise AssertionError("searched although the run's cache holds this search")
    monkeypatch.setattr(knn, "sparse_oof_neighbours", no_search)
    shared = run(tmp_path/"run", real_run, knn_features=True, knn_ks="5,10")
    assert shared["knn_spaces"] == fresh["knn_spaces"] == ["text", "tfidf", "name"] and len(list(cache.glob("*.npz"))) == 2
    pd.testing.assert_frame_equal(preds(tmp_path/"run")[0], preds(tmp_path/"own")[0])
    pd.testing.assert_frame_equal(preds(tmp_path/"run")[1], preds(tmp_path/"own")[1])


def test_changed_prices_or_text_retrain_every_unit(tmp_path, real_run):
    "The unit cache is keyed by content: fold 0's prices corrected (same ids, same folds) retrain every unit, and so does one row's text."
    a = run(tmp_path, real_run, text_col="text"); n = len(list((tmp_path/"sparse_mlp"/"units").rglob("*.npz")))
    assert a["units_reused"] == 0 and run(tmp_path, real_run, text_col="text")["units_reused"] == n  # unchanged inputs: every unit reused
    pre = tmp_path/"preprocessed"/"train.parquet"; tr = pd.read_parquet(pre); f0 = tr.fold == 0
    tr.loc[f0, "price"] *= 1.5; tr.loc[f0, "log_price"] = np.log1p(tr.loc[f0, "price"]); tr.to_parquet(pre, index=False)
    b = run(tmp_path, real_run, text_col="text")
    assert b["units_reused"] == 0 and b["unit_key"] != a["unit_key"]
    tr = pd.read_parquet(pre); tr.loc[tr.index[0], "text"] = tr.text.iloc[0] + " refurbished gold edition"; tr.to_parquet(pre, index=False)
    c = run(tmp_path, real_run, text_col="text")
    assert c["units_reused"] == 0 and c["unit_key"] != b["unit_key"]


def test_cv_averages_its_units_on_the_price_scale(real_dir, tmp_path):
    "Two folds, two seeds on real rows: an OOF row is the mean of its fold's networks, a test row the mean of all four, each with its fold's mean added back."
    tr, te = real_frames(real_dir); y, folds = tr.log_price.to_numpy(), tr.fold.to_numpy() % 2   # two folds are enough
    Xtr, _ = smlp.sparse_inputs(tr, te, min_df=1); Xte = Xtr[:10]   # the test rows: copies of the first training rows
    rng = np.random.default_rng(0); extra = pd.DataFrame({"z": rng.normal(size=len(y))})
    asked, units = [], []
    def fold_features(f): asked.append(f); return extra, extra.head(10)
    oof, test, fold_smape, reused = smlp.cv_sparse_mlp(Xtr, Xte, y, folds, tmp_path, n_seeds=2, seed=0, on_unit=lambda f, k: units.append((f, k)),
                                                       fold_features=fold_features, epochs=2, batch_size=16, hidden=(16, 8, 8))
    assert asked == [0, 1] and units == [(0, 0), (0, 1), (1, 0), (1, 1)] and reused == 0   # each fold's own features, each unit reported
    u = {fk: dict(np.load(tmp_path/f"fold{fk[0]}_seed{fk[1]}.npz")) for fk in units}
    for f in (0, 1):
        va = np.flatnonzero(folds == f)
        np.testing.assert_allclose(oof[va], (u[f, 0]["valid"] + u[f, 1]["valid"]) / 2)
        copies = np.flatnonzero(folds[:10] == f)   # a network predicts a test copy of its own validation row alike: same scale, same mean added
        for k in (0, 1): np.testing.assert_allclose(u[f, k]["test"][copies], u[f, k]["valid"][np.searchsorted(va, copies)], rtol=1e-5)
    np.testing.assert_allclose(test, sum(v["test"] for v in u.values()) / 4)
    assert fold_smape == [smape_log(y[folds == f], oof[folds == f]) for f in (0, 1)]
    with pytest.raises(ValueError, match=r"need at least 2 folds, the fold column holds \[0\]"):
        smlp.cv_sparse_mlp(Xtr, Xte, y, np.zeros(len(y), int), tmp_path/"one", n_seeds=1)
