"The text peers (spam_llms.peers): the TF-IDF neighbour model's fold masking and arithmetic on real rows, every peer's artifacts."
from spam_llms import peers, knn   # first: it sets OMP_WAIT_POLICY before lightgbm loads OpenMP
import numpy as np
import pandas as pd
import pytest
from spam_llms.core import smape_log, load_json, load_preds, RunPaths
from spam_llms.upstream import ensure_upstream


def test_tfidf_stage_on_a_small_twin(tmp_path):
    run = tmp_path/"run"
    p = peers.PeersParams.smoke(run_dir=str(run), n_train=300, n_test=100, seed=1, tfidf_max_features=20_000)
    ensure_upstream(run, needs=["preprocessed"], n_train=300, n_test=100, seed=1)
    m = peers.run_tfidf(p)
    tr = pd.read_parquet(RunPaths(run).preprocessed/"train.parquet")
    oof, test = load_preds(run/"tfidf/oof.parquet"), load_preds(run/"tfidf/test.parquet")
    assert set(oof.sample_id) == set(tr.sample_id) and len(test) == 100
    merged = oof.merge(tr[["sample_id", "fold", "log_price"]], on="sample_id", suffixes=("", "_pre"))
    assert (merged.fold == merged.fold_pre).all()
    assert m["oof_smape"] == pytest.approx(smape_log(merged.log_price, merged.pred))
    assert m["oof_smape"] < smape_log(tr.log_price, np.full(len(tr), tr.log_price.median()))
    assert load_json(run/"tfidf/metrics.json")["fold_smape"] == m["fold_smape"]


def test_knn_tfidf_oof_uses_only_other_folds_on_real_rows(real_rows):
    tr, te = real_rows; folds = tr.fold.to_numpy()
    oof, test, m = peers.knn_tfidf_cv(tr, te, k=5, power=4.0)
    rng = np.random.default_rng(0)
    for f in range(5):
        tr2 = tr.copy(); tr2.loc[folds == f, "log_price"] = rng.normal(8, 3, (folds == f).sum())
        o2, t2, _ = peers.knn_tfidf_cv(tr2, te, k=5, power=4.0)
        np.testing.assert_array_equal(o2.pred[folds == f], oof.pred[folds == f])   # own fold's prices never used
        assert not np.array_equal(o2.pred[folds != f], oof.pred[folds != f])       # the check has teeth
        assert not np.array_equal(t2.pred, test.pred)                             # test rows use every training row
    again = peers.knn_tfidf_cv(tr, te, k=5, power=4.0)
    pd.testing.assert_frame_equal(again[0], oof); pd.testing.assert_frame_equal(again[1], test)
    assert m["oof_smape"] == pytest.approx(smape_log(tr.log_price, oof.pred))
    assert len(m["fold_smape"]) == 5 and np.isfinite(oof.pred).all() and np.isfinite(test.pred).all()


def test_knn_tfidf_prediction_is_the_weighted_median_of_its_neighbours(real_rows):
    tr, te = real_rows; y, folds = tr.log_price.to_numpy(), tr.fold.to_numpy()
    oof, test, _ = peers.knn_tfidf_cv(tr, te, k=7, power=4.0)
    Xtr, Xte = knn.tfidf_matrix(tr.catalog_content, te.catalog_content, word_range=(1, 2), char_range=None, binary=True)
    dense = knn.l2_normalize(Xtr.toarray()); dte = knn.l2_normalize(Xte.toarray())
    for r in [0, 1, 50, 131]:
        s = dense[r] @ dense.T; s[folds == folds[r]] = -np.inf
        j = np.argsort(-s, kind="stable")[:7]; w = np.clip(s[j], 0, None) ** 4 + 1e-12
        o = np.argsort(y[j], kind="stable"); cw = np.cumsum(w[o])
        assert oof.pred[r] == pytest.approx(y[j][o][np.searchsorted(cw, 0.5 * cw[-1])], abs=1e-9)
    s = dte[0] @ dense.T; j = np.argsort(-s, kind="stable")[:7]; w = np.clip(s[j], 0, None) ** 4 + 1e-12
    o = np.argsort(y[j], kind="stable"); cw = np.cumsum(w[o])
    assert test.pred[0] == pytest.approx(y[j][o][np.searchsorted(cw, 0.5 * cw[-1])], abs=1e-9)


def contract_ok(run, name, n_test):
    "A model folder honours the artifact contract against the run's preprocessed rows."
    tr = pd.read_parquet(RunPaths(run).preprocessed/"train.parquet")
    oof, test = load_preds(run/name/"oof.parquet"), load_preds(run/name/"test.parquet")
    merged = oof.merge(tr[["sample_id", "fold", "log_price"]], on="sample_id", suffixes=("", "_pre"))
    assert len(merged) == len(tr) == len(oof) and (merged.fold == merged.fold_pre).all()
    assert len(test) == n_test and np.isfinite(test.pred).all() and np.isfinite(oof.pred).all()
    m = load_json(run/name/"metrics.json")
    assert m["oof_smape"] == pytest.approx(smape_log(merged.log_price, merged.pred)) and len(m["fold_smape"]) == 5
    return m


def test_text_peers_write_the_model_contract_on_a_small_twin(tmp_path):
    run = tmp_path/"run"
    p = peers.PeersParams.smoke(run_dir=str(run), n_train=300, n_test=100, seed=1, knn_tfidf_k=15, knn_tfidf_power=4.0)
    ensure_upstream(run, needs=["preprocessed"], n_train=300, n_test=100, seed=1)
    peers.run_knn_tfidf(p)
    peers.run_peer_svd_lgbm(p.but(peer_svd_dims=16, peer_learning_rate=0.2, num_boost_round=300, early_stopping=30))
    peers.run_tfidf(p.but(tfidf_char="3,5", tfidf_alpha=2.0, tfidf_max_features=20_000))
    tr = pd.read_parquet(RunPaths(run).preprocessed/"train.parquet")
    base = smape_log(tr.log_price, np.full(len(tr), tr.log_price.median()))
    for name in ["knn_tfidf", "peer_svd_lgbm", "tfidf"]:
        assert contract_ok(run, name, 100)["oof_smape"] < base, name
    assert load_json(run/"peer_svd_lgbm/metrics.json")["recipe"].endswith("SVD16 -> LightGBM(l1)")
    assert "char_wb(3, 5)" in load_json(run/"tfidf/metrics.json")["recipe"]
    first = load_preds(run/"knn_tfidf/oof.parquet")
    peers.run_knn_tfidf(p, out_name="knn_again")                  # same seed, same predictions
    pd.testing.assert_frame_equal(first, load_preds(run/"knn_again/oof.parquet"))
